package cog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/internal/testenv"
)

// sentinelCOGs is the folder of the real Earth Search L2A COGs in ../shared/data.
const sentinelCOGs = "sentinel2/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A"

// fuzzSeeds are the seed files of FuzzTileReader, built from ../shared/data at test time:
// small real files whole (GDAL-written COGs with their ghost areas, sparse and band
// layouts as they come), and small windows of the real Sentinel-2 COGs re-encoded by
// Write (one 16-bit reflectance band, one 8-bit SCL band), so that every seed is a few
// kB and mutations reach the tiles quickly.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	data := testenv.SharedData(f)
	var seeds [][]byte
	for _, p := range []string{
		filepath.Join(sentinelCOGs, "SCL.tif"),
		"sentinel2/oscd_aguasclaras/20171015/B10.tif",
		"sentinel2/oscd_aguasclaras/20150916/B01.tif",
		"sentinel2/oscd_aguasclaras/change_label/aguasclaras-cm_georef.tif",
	} {
		b, err := os.ReadFile(filepath.Join(data, p))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	dir := f.TempDir()
	window := func(src string, x0, y0, w, h int, buf any) {
		img, err := Open(filepath.Join(data, sentinelCOGs, src))
		if err != nil {
			f.Fatal(err)
		}
		defer img.Close()
		if err := img.ReadWindow(x0, y0, w, h, buf); err != nil {
			f.Fatal(err)
		}
		out := filepath.Join(dir, src)
		g := Grid{EPSG: 32629, X0: 300000, Y0: 3300000, Res: 10, Width: w, Height: h}
		if err := Write(context.Background(), out, g, buf, 0, "NEAREST"); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	window("B04.tif", 200, 200, 48, 40, make([]uint16, 48*40))
	window("SCL.tif", 10, 10, 40, 33, make([]uint8, 40*33))
	return seeds
}

// FuzzTileReader: whatever the bytes of a .tif, the tile reader opens it and reads a
// window at each corner of it or returns an error marked ErrCorrupt or ErrUnsupported
// (which the worker turns into a permanent failure, or a read through GDAL); it never
// panics, never reads outside the file and allocates no more than its layout bounds.
func FuzzTileReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "B04.tif")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := Open(path)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("open: %v: neither corrupt nor unsupported", err)
			}
			return
		}
		defer img.Close()
		if img.Width < 1 || img.Height < 1 || img.TileW < 1 || img.TileH < 1 || img.TileBytes() > 64<<20 ||
			len(img.Offsets) != img.Across*img.Down || len(img.Counts) != len(img.Offsets) {
			t.Fatalf("accepted layout out of bounds: %dx%d, tiles %dx%d of %d bytes, %d offsets",
				img.Width, img.Height, img.TileW, img.TileH, img.TileBytes(), len(img.Offsets))
		}
		w, h := min(img.Width, 64), min(img.Height, 64)
		var buf any = make([]uint8, w*h)
		if img.BPS == 2 {
			buf = make([]uint16, w*h)
		}
		for _, c := range [][2]int{{0, 0}, {img.Width - w, img.Height - h}} {
			if err := img.ReadWindow(c[0], c[1], w, h, buf); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("window at %d,%d: %v: not marked corrupt", c[0], c[1], err)
			}
		}
	})
}
