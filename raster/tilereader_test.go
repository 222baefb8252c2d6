package raster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/raster/cog"
)

// realCOGDir is the real Earth Search scene of the shared data folder (10x downsampled by
// its source: 100 m and 200 m pixels, 512x512 DEFLATE tiles).
func realCOGDir(t testing.TB) string {
	return filepath.Join(testenv.SharedData(t), "sentinel2/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A")
}

// tiffGrid is the grid of the synthetic files: 10 m pixels on a 60 m lattice.
var tiffGrid = Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 10}

// testImage returns w x h pixels of type u16 or u8: smooth gradients plus noise, zeros
// (nodata) in a corner, and values over the whole range so the predictor wraps around.
func testImage(w, h int, u16 bool, seed uint64) any {
	rng := rand.New(rand.NewPCG(seed, 7))
	if u16 {
		p := make([]uint16, w*h)
		for i := range p {
			x, y := i%w, i/w
			p[i] = uint16(x*37 + y*101 + rng.IntN(300))
			if x+y < 20 {
				p[i] = 0
			}
		}
		return p
	}
	p := make([]uint8, w*h)
	for i := range p {
		x, y := i%w, i/w
		p[i] = uint8(x/7 + y/5 + rng.IntN(4))
		if x+y < 20 {
			p[i] = 0
		}
	}
	return p
}

// writeTestTIFF writes data (w x h, []uint16 or []uint8) on tiffGrid with GDAL's driver
// ("COG" or "GTiff") and creation options.
func writeTestTIFF(t testing.TB, path string, data any, w, h int, res float64, driver string, opts ...string) {
	t.Helper()
	dt := godal.Byte
	if _, ok := data.([]uint16); ok {
		dt = godal.UInt16
	}
	mem, err := godal.Create(godal.Memory, "", 1, dt, w, h)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	g := tiffGrid
	g.Res = res
	if err := mem.SetGeoTransform(g.GeoTransform()); err != nil {
		t.Fatal(err)
	}
	sr, err := g.srs()
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	if err := mem.SetSpatialRef(sr); err != nil {
		t.Fatal(err)
	}
	if err := mem.Bands()[0].SetNoData(0); err != nil {
		t.Fatal(err)
	}
	if err := mem.Bands()[0].Write(0, 0, data, w, h); err != nil {
		t.Fatal(err)
	}
	out, err := mem.Translate(path, []string{"-of", driver}, godal.CreationOption(opts...))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// testWindows returns windows of a w x h image with tw x th tiles: the whole image, single
// pixels at its corners and around a tile corner, windows straddling tile edges and along
// the image edges, and n random ones.
func testWindows(w, h, tw, th, n int, seed uint64) []Window {
	ws := []Window{
		{0, 0, w, h}, {0, 0, 1, 1}, {w - 1, h - 1, 1, 1}, {w - 1, 0, 1, 1}, {0, h - 1, 1, 1},
		{min(tw, w) - 1, min(th, h) - 1, 1, 1}, {min(tw, w-1), min(th, h-1), 1, 1},
		{max(0, min(tw, w)-3), max(0, min(th, h)-2), min(7, w), min(5, h)},
		{max(0, w-10), 0, min(10, w), h}, {0, h - 1, w, 1}, {0, max(0, h-th-3), w, min(h, th+3)},
	}
	for i := range ws { // clip to the image (tiny images)
		ws[i].Width, ws[i].Height = min(ws[i].Width, w-ws[i].Col), min(ws[i].Height, h-ws[i].Row)
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	for range n {
		x, y := rng.IntN(w), rng.IntN(h)
		ws = append(ws, Window{x, y, 1 + rng.IntN(w-x), 1 + rng.IntN(h-y)})
	}
	return ws
}

// checkAgainstGDAL reads every window with the tile reader and with GDAL's RasterIO and
// fails on the first differing pixel.
func checkAgainstGDAL(t *testing.T, path string, windows int) {
	t.Helper()
	img, err := cog.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer img.Close()
	ds, err := godal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	band := ds.Bands()[0]
	st := band.Structure()
	if img.Width != st.SizeX || img.Height != st.SizeY || img.TileW != st.BlockSizeX || img.TileH != st.BlockSizeY {
		t.Fatalf("image %dx%d tiles %dx%d, GDAL %dx%d blocks %dx%d", img.Width, img.Height, img.TileW, img.TileH,
			st.SizeX, st.SizeY, st.BlockSizeX, st.BlockSizeY)
	}
	for _, w := range testWindows(img.Width, img.Height, img.TileW, img.TileH, windows, uint64(len(path))) {
		n := w.Width * w.Height
		var got, want any
		if img.BPS == 2 {
			got, want = make([]uint16, n), make([]uint16, n)
		} else {
			got, want = make([]uint8, n), make([]uint8, n)
		}
		if err := img.ReadWindow(w.Col, w.Row, w.Width, w.Height, got); err != nil {
			t.Fatalf("window %+v: %v", w, err)
		}
		if err := band.Read(w.Col, w.Row, want, w.Width, w.Height); err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("window %+v: pixel (%d,%d) differs from GDAL's", w, i%w.Width, i/w.Width)
		}
	}
}

// firstDiff is the index of the first differing pixel of two []uint16 or []uint8, or -1.
func firstDiff(a, b any) int {
	switch a := a.(type) {
	case []uint16:
		b := b.([]uint16)
		for i := range a {
			if a[i] != b[i] {
				return i
			}
		}
	case []uint8:
		b := b.([]uint8)
		for i := range a {
			if a[i] != b[i] {
				return i
			}
		}
	}
	return -1
}

func TestTileReaderMatchesGDAL(t *testing.T) {
	Init(S3Config{})
	dir := t.TempDir()
	cases := []struct {
		name   string
		w, h   int
		u16    bool
		driver string
		opts   []string
	}{
		{"cog-u16-deflate-pred2-512", 1100, 900, true, "COG", []string{"COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=512"}},
		{"cog-u16-deflate-256", 700, 530, true, "COG", []string{"COMPRESS=DEFLATE", "BLOCKSIZE=256"}},
		{"cog-u8-deflate-pred2-256", 610, 333, false, "COG", []string{"COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=256"}},
		{"cog-u8-none-512", 530, 700, false, "COG", []string{"COMPRESS=NONE", "BLOCKSIZE=512"}},
		{"cog-u16-bigtiff-deflate-pred2-256", 600, 300, true, "COG", []string{"COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=256", "BIGTIFF=YES"}},
		{"gtiff-u16-bigendian-bigtiff-pred2", 530, 410, true, "GTiff", []string{"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=128", "COMPRESS=DEFLATE", "PREDICTOR=2", "BIGTIFF=YES", "ENDIANNESS=BIG"}},
		{"gtiff-u16-bigendian-none", 300, 270, true, "GTiff", []string{"TILED=YES", "BLOCKXSIZE=128", "BLOCKYSIZE=128", "ENDIANNESS=BIG"}},
		{"gtiff-u8-bigendian-deflate", 300, 270, false, "GTiff", []string{"TILED=YES", "BLOCKXSIZE=128", "BLOCKYSIZE=64", "COMPRESS=DEFLATE", "ENDIANNESS=BIG"}},
		{"gtiff-u16-small", 5, 3, true, "GTiff", []string{"TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", "COMPRESS=DEFLATE", "PREDICTOR=2"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".tif")
			writeTestTIFF(t, path, testImage(c.w, c.h, c.u16, uint64(i)), c.w, c.h, 10, c.driver, c.opts...)
			checkAgainstGDAL(t, path, 40)
		})
	}
	// a sparse file: missing tiles read as the nodata value
	t.Run("gtiff-sparse-nodata", func(t *testing.T) {
		path := filepath.Join(dir, "sparse.tif")
		ds, err := godal.Create(godal.GTiff, path, 1, godal.UInt16, 400, 300,
			godal.CreationOption("TILED=YES", "BLOCKXSIZE=128", "BLOCKYSIZE=128", "COMPRESS=DEFLATE", "SPARSE_OK=TRUE"))
		if err != nil {
			t.Fatal(err)
		}
		if err := ds.Bands()[0].SetNoData(7); err != nil {
			t.Fatal(err)
		}
		if err := ds.Bands()[0].Write(128, 128, testImage(128, 128, true, 3), 128, 128); err != nil {
			t.Fatal(err)
		}
		if err := ds.Close(); err != nil {
			t.Fatal(err)
		}
		img, err := cog.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if img.Fill != 7 {
			t.Errorf("fill value %d, want 7", img.Fill)
		}
		img.Close()
		checkAgainstGDAL(t, path, 20)
	})
	for _, name := range []string{"B04", "B11", "SCL"} {
		t.Run("earth-search-"+name, func(t *testing.T) {
			checkAgainstGDAL(t, filepath.Join(realCOGDir(t), name+".tif"), 40)
		})
	}
}

// Files of other layouts are reported unsupported; openPart then leaves the band to GDAL
// and a sceneReader reads it as before.
func TestTileReaderFallsBackToGDAL(t *testing.T) {
	Init(S3Config{})
	dir := t.TempDir()
	const w, h = 300, 200
	data := testImage(w, h, true, 1)
	cases := []struct {
		name   string
		data   any
		driver string
		opts   []string
	}{
		{"lzw", data, "COG", []string{"COMPRESS=LZW", "BLOCKSIZE=256"}},
		{"zstd", data, "COG", []string{"COMPRESS=ZSTD", "BLOCKSIZE=256"}},
		{"stripped", data, "GTiff", []string{"COMPRESS=DEFLATE"}},
		{"two-bands", data, "GTiff", []string{"TILED=YES"}}, // made two-band below
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".tif")
			if c.name == "two-bands" {
				src := filepath.Join(dir, "one-band.tif")
				writeTestTIFF(t, src, c.data, w, h, 10, "GTiff")
				ds, err := godal.Open(src)
				if err != nil {
					t.Fatal(err)
				}
				out, err := ds.Translate(path, []string{"-b", "1", "-b", "1"}, godal.CreationOption(c.opts...))
				ds.Close()
				if err != nil {
					t.Fatal(err)
				}
				out.Close()
			} else {
				writeTestTIFF(t, path, c.data, w, h, 10, c.driver, c.opts...)
			}
			if img, err := cog.Open(path); !errors.Is(err, cog.ErrUnsupported) {
				if img != nil {
					img.Close()
				}
				t.Fatalf("openTIFF: %v, want cog.ErrUnsupported", err)
			}
			part, r := openTestRed(t, path, c.name, w, h)
			defer r.close()
			if part.aligned == nil || part.tiles != nil {
				t.Fatalf("aligned %v, tile reader %v: want aligned, read by GDAL", part.aligned != nil, part.tiles != nil)
			}
			got := make([]uint16, 120*80)
			if err := r.read(0, 50, 70, 120, 80, got); err != nil {
				t.Fatal(err)
			}
			want := data.([]uint16)
			for y := range 80 {
				for x := range 120 {
					if got[y*120+x] != want[(70+y)*w+50+x] {
						t.Fatalf("pixel (%d,%d): %d, want %d", x, y, got[y*120+x], want[(70+y)*w+50+x])
					}
				}
			}
		})
	}
	// Float and signed samples, and a handful of layouts parseTIFF rejects.
	for _, c := range []struct {
		name string
		dt   godal.DataType
	}{{"float32", godal.Float32}, {"int16", godal.Int16}} {
		path := filepath.Join(dir, c.name+".tif")
		ds, err := godal.Create(godal.GTiff, path, 1, c.dt, 64, 64, godal.CreationOption("TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32"))
		if err != nil {
			t.Fatal(err)
		}
		ds.Close()
		if img, err := cog.Open(path); !errors.Is(err, cog.ErrUnsupported) {
			if img != nil {
				img.Close()
			}
			t.Errorf("%s: %v, want cog.ErrUnsupported", c.name, err)
		}
	}
}

// stripReads reads a band through part as Detect does: strips of chunk grid rows with
// halo rows above and below, and checks each strip against the GDAL path. It returns the
// most tile rows the cache kept between two reads, after the first.
func stripReads(t *testing.T, part *bandPart, g Grid, chunk, halo int, nearest, u8 bool) (kept int) {
	t.Helper()
	band := part.src.Bands()[0]
	ref := &alignment{k: part.aligned.k, ox: part.aligned.ox, oy: part.aligned.oy, sw: part.aligned.sw, sh: part.aligned.sh}
	for row := 0; row < g.Height; row += chunk {
		r0, r1 := max(0, row-halo), min(g.Height, row+chunk+halo)
		var got, want any
		if u8 {
			got, want = make([]uint8, g.Width*(r1-r0)), make([]uint8, g.Width*(r1-r0))
		} else {
			got, want = make([]uint16, g.Width*(r1-r0)), make([]uint16, g.Width*(r1-r0))
		}
		if err := part.read(0, r0, g.Width, r1-r0, got, nearest); err != nil {
			t.Fatal(err)
		}
		if err := ref.read(band, 0, r0, g.Width, r1-r0, want, nearest); err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("rows %d-%d: pixel (%d,%d) differs from the GDAL path", r0, r1, i%g.Width, r0+i/g.Width)
		}
		if row > 0 {
			kept = max(kept, len(part.tiles.rows))
		}
	}
	return kept
}

// The tile cache decodes every tile exactly once when a band is read strip by strip with
// halos (10 m bands copied, 20 m bands upsampled bilinearly or by nearest neighbour),
// holds at most three tile rows during a read and keeps one between reads (two when the
// next read needs rows of both); the pixels are those of the GDAL path, zeros outside the
// file included. Random windows in any order read correctly too.
func TestTileCacheDecodesEachTileOnce(t *testing.T) {
	Init(S3Config{})
	dir := t.TempDir()
	// The grid starts 60 m west and 120 m north of the files and reaches past them.
	g := Grid{EPSG: tiffGrid.EPSG, X0: tiffGrid.X0 - 60, Y0: tiffGrid.Y0 + 120, Res: 10, Width: 1150, Height: 1100}
	cases := []struct {
		name     string
		w, h     int
		res      float64
		u8       bool
		nearest  bool
		tile     int
		chunk    int
		halo     int
		maxTiles int // most tile rows held during a read
		kept     int // most tile rows kept between reads
	}{
		{"10m-chunk512-tiles256", 1060, 1010, 10, false, false, 256, 512, 5, 3, 1},
		{"10m-chunk512-tiles512", 1060, 1010, 10, false, false, 512, 512, 5, 2, 1},
		{"10m-chunk64-tiles256", 1060, 1010, 10, false, false, 256, 64, 5, 2, 1},
		// source rows 507-516 are read twice, across the tile rows 1 and 2: both are kept
		{"10m-chunk262-tiles256", 1060, 1010, 10, false, false, 256, 262, 5, 3, 2},
		{"20m-bilinear-tiles256", 530, 505, 20, false, false, 256, 512, 5, 2, 1},
		{"20m-nearest-u8-tiles256", 530, 505, 20, true, true, 256, 512, 5, 2, 1},
		{"20m-bilinear-chunk200-tiles128", 530, 505, 20, false, false, 128, 200, 7, 2, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".tif")
			writeTestTIFF(t, path, testImage(c.w, c.h, !c.u8, uint64(i)), c.w, c.h, c.res, "COG",
				"COMPRESS=DEFLATE", "PREDICTOR=2", fmt.Sprintf("BLOCKSIZE=%d", c.tile))
			part := openTiledPart(t, path, "red", g)
			if kept := stripReads(t, part, g, c.chunk, c.halo, c.nearest, c.u8); kept != c.kept {
				t.Errorf("%d tile rows kept between reads, want %d", kept, c.kept)
			}
			img := part.tiles.img
			if want := img.Across * img.Down; img.Decoded() != want {
				t.Errorf("%d tiles decoded, want each of the %d once", img.Decoded(), want)
			}
			if part.tiles.maxRows > c.maxTiles {
				t.Errorf("%d tile rows held at once, want at most %d", part.tiles.maxRows, c.maxTiles)
			}
			// random windows, in any order
			ref := &alignment{k: part.aligned.k, ox: part.aligned.ox, oy: part.aligned.oy, sw: part.aligned.sw, sh: part.aligned.sh}
			for _, w := range testWindows(g.Width, g.Height, c.tile, c.tile, 25, uint64(i)) {
				n := w.Width * w.Height
				var got, want any = make([]uint16, n), make([]uint16, n)
				if c.u8 {
					got, want = make([]uint8, n), make([]uint8, n)
				}
				if err := part.read(w.Col, w.Row, w.Width, w.Height, got, c.nearest); err != nil {
					t.Fatal(err)
				}
				if err := ref.read(part.src.Bands()[0], w.Col, w.Row, w.Width, w.Height, want, c.nearest); err != nil {
					t.Fatal(err)
				}
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("window %+v: pixel %d differs from the GDAL path", w, i)
				}
			}
		})
	}
}

// openTiledPart opens band key of path on g, closed at the end of the test, and fails the
// test unless the tile reader reads it.
func openTiledPart(t *testing.T, path, key string, g Grid) *bandPart {
	t.Helper()
	part, err := openPart(path, key, g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(part.close)
	if part.aligned == nil || part.tiles == nil {
		t.Fatalf("%s not read by the tile reader", key)
	}
	return part
}

// A COG whose tiles are damaged or cut off reads with an error wrapping ErrCorrupt.
func TestTileReaderCorruptFile(t *testing.T) {
	Init(S3Config{})
	dir := t.TempDir()
	const w, h = 600, 600
	good := filepath.Join(dir, "good.tif")
	writeTestTIFF(t, good, testImage(w, h, true, 9), w, h, 10, "COG", "COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=256")
	img, err := cog.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	off, n := img.Offsets[4], img.Counts[4] // the middle tile
	last := img.Offsets[len(img.Offsets)-1]
	img.Close()
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	damaged := append([]byte(nil), raw...)
	for i := off + n/3; i < off+n/3+64; i++ {
		damaged[i] ^= 0x5a
	}
	for _, c := range []struct {
		name string
		data []byte
	}{{"damaged", damaged}, {"truncated", raw[:last+10]}} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".tif")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			part, r := openTestRed(t, path, c.name, w, h)
			defer r.close()
			if part.tiles == nil {
				t.Fatal("not read by the tile reader")
			}
			err = r.read(0, 0, 0, w, h, make([]uint16, w*h))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read: %v, want ErrCorrupt", err)
			}
			// the tile reader's own error says so, before sceneReader classifies it
			img, err := cog.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			if err := img.ReadWindow(0, 0, w, h, make([]uint16, w*h)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("tile reader: %v, want ErrCorrupt", err)
			}
		})
	}
}

// Remote files (/vsicurl/ on a local HTTP server) read the same, a window's tiles in few
// requests; a server failure is an error that does not wrap ErrCorrupt (a retry may pass).
func TestTileReaderRemote(t *testing.T) {
	Init(S3Config{})
	dir := t.TempDir()
	const w, h = 1100, 700
	data := testImage(w, h, true, 4).([]uint16)
	writeTestTIFF(t, filepath.Join(dir, "remote.tif"), data, w, h, 10, "COG", "COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=256")
	var requests atomic.Int64
	var failing atomic.Bool
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if failing.Load() {
			http.Error(rw, "unavailable", http.StatusServiceUnavailable)
			return
		}
		files.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	checkAgainstGDAL(t, "/vsicurl/"+srv.URL+"/remote.tif", 10)

	// fresh copies: GDAL caches what it downloaded per URL
	raw, err := os.ReadFile(filepath.Join(dir, "remote.tif"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"count.tif", "fail.tif"} {
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := cog.Open("/vsicurl/" + srv.URL + "/count.tif")
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	requests.Store(0)
	got := make([]uint16, w*300)
	if err := img.ReadWindow(0, 200, w, 300, got); err != nil { // 2 rows of 5 tiles
		t.Fatal(err)
	}
	for i, v := range got {
		if v != data[200*w+i] {
			t.Fatalf("pixel %d: %d, want %d", i, v, data[200*w+i])
		}
	}
	if n := requests.Load(); n > 2 {
		t.Errorf("%d requests for two rows of tiles, want at most 2", n)
	}
	path := "/vsicurl/" + srv.URL + "/fail.tif"
	img2, err := cog.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer img2.Close()
	failing.Store(true)
	err = img2.ReadWindow(0, 500, w, 200, make([]uint16, w*200))
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(classify(path, err), ErrCorrupt) {
		t.Fatalf("server failure: %v, want an error not wrapping ErrCorrupt", err)
	}
	if strings.Contains(err.Error(), "TIFF") {
		t.Errorf("error %q mentions TIFF: classify would take it for a format error", err)
	}
}

// BenchmarkTileRead decodes a whole 4096x4096 uint16 DEFLATE+PREDICTOR=2 COG (512 tiles)
// in strips of one tile row: with the tile reader, and with GDAL's RasterIO (one decoding
// thread, a fresh dataset per run so its block cache starts empty). The gdal
// sub-benchmark reports its time over the tile reader's.
//
//	go test -run '^$' -bench TileRead -benchtime 3x ./raster/
func BenchmarkTileRead(b *testing.B) {
	Init(S3Config{})
	const size = 4096
	path := filepath.Join(b.TempDir(), "bench.tif")
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]uint16, size*size)
	for i := range data { // smooth fields and noise, like reflectance
		x, y := i%size, i/size
		data[i] = uint16(1000 + (x*3+y*5)%2000 + rng.IntN(200))
	}
	writeTestTIFF(b, path, data, size, size, 10, "COG", "COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=512", "LEVEL=6")
	buf := make([]uint16, size*512)
	var tileNs float64
	b.Run("tiffread", func(b *testing.B) {
		b.SetBytes(2 * size * size)
		t0 := time.Now()
		for range b.N {
			img, err := cog.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			for row := 0; row < size; row += 512 {
				if err := img.ReadWindow(0, row, size, 512, buf); err != nil {
					b.Fatal(err)
				}
			}
			img.Close()
		}
		tileNs = float64(time.Since(t0).Nanoseconds()) / float64(b.N)
	})
	b.Run("gdal", func(b *testing.B) {
		b.SetBytes(2 * size * size)
		t0 := time.Now()
		for range b.N {
			ds, err := godal.Open(path, godal.RasterOnly(), godal.DriverOpenOption("NUM_THREADS=1"))
			if err != nil {
				b.Fatal(err)
			}
			for row := 0; row < size; row += 512 {
				if err := ds.Bands()[0].Read(0, row, buf, size, 512); err != nil {
					b.Fatal(err)
				}
			}
			ds.Close()
		}
		if tileNs > 0 {
			b.ReportMetric(float64(time.Since(t0).Nanoseconds())/float64(b.N)/tileNs, "gdal/tiffread")
		}
	})
}

// openTestRed opens the w x h single-band file at path as the red band of a scene named
// id, on the test grid.
func openTestRed(t *testing.T, path, id string, w, h int) (*bandPart, *sceneReader) {
	t.Helper()
	g := tiffGrid
	g.Width, g.Height = w, h
	part, err := openPart(path, "red", g)
	if err != nil {
		t.Fatal(err)
	}
	r := &sceneReader{scene: Scene{ID: id}}
	r.bands[0] = []*bandPart{part}
	return part, r
}
