package raster

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/raster/cog"
)

// decodeFixtures writes small DEFLATE COGs (one of two rows of 512 blocks, one of a single
// partial block; 16 and 8 bits) and returns their paths, pixels and decoded bytes.
func decodeFixtures(t *testing.T) (paths []string, pixels, bytes int64) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	g16 := Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 10, Width: 700, Height: 600}
	g8 := Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 20, Width: 300, Height: 250}
	u16 := make([]uint16, g16.Pixels())
	for i := range u16 {
		u16[i] = uint16(1000 + i%9000)
	}
	u8 := make([]uint8, g8.Pixels())
	for i := range u8 {
		u8[i] = uint8(i % 12)
	}
	for _, f := range []struct {
		name string
		g    Grid
		data any
	}{{"B04.tif", g16, u16}, {"SCL.tif", g8, u8}} {
		p := filepath.Join(dir, f.name)
		if err := cog.Write(ctx, p, cog.Grid(f.g), f.data, 0, "NEAREST"); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths, int64(g16.Pixels() + g8.Pixels()), int64(2*g16.Pixels() + g8.Pixels())
}

func TestDecodeFloor(t *testing.T) {
	Init(S3Config{})
	paths, pixels, bytes := decodeFixtures(t)
	for _, threads := range []int{1, 2, 5, 0} {
		st, err := DecodeFloor(context.Background(), paths, threads)
		if err != nil {
			t.Fatalf("threads %d: %v", threads, err)
		}
		if st.Files != 2 || st.Pixels != pixels || st.Bytes != bytes {
			t.Errorf("threads %d: read %d files, %d pixels, %d bytes; want 2, %d, %d", threads, st.Files, st.Pixels, st.Bytes, pixels, bytes)
		}
		if st.Strips != 3 { // 600 rows: 2 rows of blocks; 250 rows: 1
			t.Errorf("threads %d: %d strips, want 3", threads, st.Strips)
		}
		if threads > 0 && st.Threads != threads || st.Threads <= 0 {
			t.Errorf("threads %d: reported %d threads", threads, st.Threads)
		}
		if st.Wall <= 0 || st.CPU < 0 {
			t.Errorf("threads %d: wall %v cpu %v", threads, st.Wall, st.CPU)
		}
	}
}

func TestDecodeFloorErrors(t *testing.T) {
	Init(S3Config{})
	paths, _, _ := decodeFixtures(t)
	if _, err := DecodeFloor(context.Background(), nil, 1); err == nil {
		t.Error("no paths: no error")
	}
	missing := append(paths[:1:1], filepath.Join(t.TempDir(), "missing.tif"))
	if _, err := DecodeFloor(context.Background(), missing, 2); !errors.Is(err, ErrCorrupt) {
		t.Errorf("missing file: %v, want ErrCorrupt (a local file GDAL cannot open)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DecodeFloor(ctx, paths, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}
