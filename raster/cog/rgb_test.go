package cog

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/airbusgeo/godal"
)

// cogTestRGB is a w x h true-colour image, 3 interleaved bytes a pixel: smooth fields with
// noise in 1..255, pixels of no observation (0 0 0) in a patch and here and there, and a
// few pixels where a single band is 0 (nodata for that band only, as GDAL reads it).
func cogTestRGB(w, h int, seed uint64) []uint8 { return cogTestRGBNoise(w, h, seed, 0.4) }

// cogTestRGBNoise is cogTestRGB with noise of amplitude noise (0.4 in cogTestRGB: 36
// levels from pixel to pixel, in each band on its own).
func cogTestRGBNoise(w, h int, seed uint64, noise float64) []uint8 {
	rng := rand.New(rand.NewPCG(seed, 5))
	b := make([]uint8, 3*w*h)
	for i := range w * h {
		x, y := float64(i%w), float64(i/w)
		for c := range 3 {
			f := math.Sin(x/(30+float64(10*c)))*math.Cos(y/45) + noise*rng.Float64()
			b[3*i+c] = uint8(max(1, min(255, 128+90*f)))
		}
		switch {
		case rng.IntN(40) == 0 || (i%w > 100 && i%w < 700 && i/w > 30 && i/w < 90):
			b[3*i], b[3*i+1], b[3*i+2] = 0, 0, 0
		case rng.IntN(200) == 0:
			b[3*i+rng.IntN(3)] = 0
		}
	}
	return b
}

// openRGBFile opens the true-colour COG at path and checks its structure (3 Byte bands of
// grid g's size), georeferencing and the IMAGE_STRUCTURE metadata want.
func openRGBFile(t *testing.T, path string, g Grid, want map[string]string) *godal.Dataset {
	t.Helper()
	ds, err := godal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st := ds.Structure()
	if st.SizeX != g.Width || st.SizeY != g.Height || st.NBands != 3 || st.DataType != godal.Byte {
		ds.Close()
		t.Fatalf("structure %+v, want %dx%d, 3 Byte bands", st, g.Width, g.Height)
	}
	if gt, err := ds.GeoTransform(); err != nil || gt != g.GeoTransform() {
		t.Errorf("geotransform %v (%v), want %v", gt, err, g.GeoTransform())
	}
	if code := fileEPSG(ds.SpatialRef()); code != g.EPSG {
		t.Errorf("epsg %d, want %d", code, g.EPSG)
	}
	for key, w := range want {
		if got := ds.Metadata(key, godal.Domain("IMAGE_STRUCTURE")); got != w {
			t.Errorf("%s=%q, want %q", key, got, w)
		}
	}
	return ds
}

// cogBand is band c of interleaved rgb as values.
func cogBand(rgb []uint8, c int) []float64 {
	out := make([]float64, len(rgb)/3)
	for i := range out {
		out[i] = float64(rgb[3*i+c])
	}
	return out
}

// checkRGBFile reads the true-colour COG at path back with GDAL and compares it with rgb:
// structure, photometric interpretation, nodata, layout, full resolution, and every
// overview, band by band, with cogRefDownsample (AVERAGE ignoring 0).
func checkRGBFile(t *testing.T, path string, g Grid, rgb []uint8) {
	t.Helper()
	ds := openRGBFile(t, path, g, map[string]string{"LAYOUT": "COG", "COMPRESSION": "DEFLATE", "PREDICTOR": "2", "INTERLEAVE": "PIXEL"})
	defer ds.Close()
	wantSizes := gdalCOGSizes(t, g.Width, g.Height)
	for c, band := range ds.Bands() {
		if want := []godal.ColorInterp{godal.CIRed, godal.CIGreen, godal.CIBlue}[c]; band.ColorInterp() != want {
			t.Errorf("band %d colour %v, want %v", c+1, band.ColorInterp(), want)
		}
		if bs := band.Structure(); bs.BlockSizeX != 512 || bs.BlockSizeY != 512 {
			t.Errorf("band %d blocks %dx%d", c+1, bs.BlockSizeX, bs.BlockSizeY)
		}
		if nd, ok := band.NoData(); !ok || nd != 0 {
			t.Errorf("band %d nodata %v %v, want 0", c+1, nd, ok)
		}
		vals := cogBand(rgb, c)
		got := make([]float64, g.Pixels())
		if err := band.Read(0, 0, got, g.Width, g.Height); err != nil {
			t.Fatal(err)
		}
		cogComparePixels(t, fmt.Sprintf("band %d full resolution", c+1), got, vals, g.Width)
		ovrs := band.Overviews()
		if len(ovrs) != len(wantSizes) {
			t.Fatalf("band %d: %d overviews, gdal makes %d (%v)", c+1, len(ovrs), len(wantSizes), wantSizes)
		}
		cur, cw, ch := vals, g.Width, g.Height
		for i, o := range ovrs {
			cur, cw, ch = cogRefDownsample(cur, cw, ch, "AVERAGE", 0, false)
			if ost := o.Structure(); ost.SizeX != wantSizes[i][0] || ost.SizeY != wantSizes[i][1] || cw != ost.SizeX || ch != ost.SizeY {
				t.Fatalf("band %d overview %d: %dx%d, gdal %v, expected %dx%d", c+1, i, ost.SizeX, ost.SizeY, wantSizes[i], cw, ch)
			}
			buf := make([]float64, cw*ch)
			if err := o.Read(0, 0, buf, cw, ch); err != nil {
				t.Fatal(err)
			}
			cogComparePixels(t, fmt.Sprintf("band %d overview %d", c+1, i), buf, cur, cw)
		}
	}
}

func TestCOGWriterRGB(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		w, h     int
		deferred bool
	}{
		{"1100x1030", 1100, 1030, false},
		{"513x700-deferred", 513, 700, true},
		{"1x600", 1, 600, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := cogTestGrid(32635, c.w, c.h)
			rgb := cogTestRGB(c.w, c.h, 1)
			path := filepath.Join(dir, c.name+".tif")
			w, err := NewWriter(path, g, []uint8(nil), Options{RGB: true, Resampling: "AVERAGE", Deferred: c.deferred})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Discard()
			if err := w.WriteRows(rgb[:c.w]); err == nil && c.w > 1 {
				t.Error("a third of a row was accepted")
			}
			for r, i := 0, 0; r < c.h; i++ {
				n := min([]int{1, 7, 300, 511, 2}[i%5], c.h-r)
				if err := w.WriteRows(rgb[3*r*c.w : 3*(r+n)*c.w]); err != nil {
					t.Fatal(err)
				}
				r += n
			}
			if err := w.Finish(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			cogOnlyFile(t, dir, path)
			checkRGBFile(t, path, g, rgb)
			validateCOGFile(t, path)
		})
	}
	if _, err := NewWriter(filepath.Join(dir, "x.tif"), cogTestGrid(32635, 10, 10), []int16(nil), Options{RGB: true}); err == nil {
		t.Error("an Int16 RGB writer was created")
	}
}

// TestCOGWriterRGBMatchesGDAL writes the same true colour with the Writer and with GDAL's
// COG driver (as the runs wrote it before the Writer had RGB: DEFLATE, PREDICTOR=YES,
// AVERAGE overviews, nodata 0 on each band) and compares the two through GDAL: the same
// full resolution, overviews of the same sizes, within 1 of GDAL's (rounding) where the
// level they come from has even sides (exact 2x2 windows). A level halved from an odd
// side differs more: GDAL stretches its windows over the whole level (ratio n/(n/2)) and
// weighs the partial rows and columns, the Writer takes the 2x2 window at (2x,2y)
// (cogLevelSizes); it stays close on average.
func TestCOGWriterRGBMatchesGDAL(t *testing.T) {
	for _, c := range []struct{ w, h int }{{2048, 1536}, {2200, 1300}} {
		t.Run(fmt.Sprintf("%dx%d", c.w, c.h), func(t *testing.T) {
			g := cogTestGrid(32635, c.w, c.h)
			rgb := cogTestRGB(g.Width, g.Height, 2)
			dir := t.TempDir()
			ours := filepath.Join(dir, "ours.tif")
			w, err := NewWriter(ours, g, []uint8(nil), Options{RGB: true, Resampling: "AVERAGE"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteRows(rgb); err != nil {
				t.Fatal(err)
			}
			if err := w.Finish(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			theirs := filepath.Join(dir, "gdal.tif")
			gdalRGBWrite(t, theirs, g, rgb)

			a, b := cogReadAllRGB(t, ours), cogReadAllRGB(t, theirs)
			if len(a) != len(b) {
				t.Fatalf("%d levels, gdal %d", len(a), len(b))
			}
			sizes := gdalCOGSizes(t, g.Width, g.Height)
			for l := range a {
				if len(a[l]) != len(b[l]) {
					t.Fatalf("level %d: %d samples, gdal %d", l, len(a[l]), len(b[l]))
				}
				maxDiff, sum := 0, 0
				for i := range a[l] {
					d := int(a[l][i]) - int(b[l][i])
					maxDiff, sum = max(maxDiff, d, -d), sum+max(d, -d)
				}
				mean := float64(sum) / float64(len(a[l]))
				t.Logf("level %d: max difference %d, mean %.4f", l, maxDiff, mean)
				even := l > 0 && sizes[l-1][0]%2 == 0 && sizes[l-1][1]%2 == 0
				switch {
				case l == 0 && maxDiff != 0:
					t.Errorf("full resolution differs from gdal's (by up to %d)", maxDiff)
				case even && maxDiff > 1:
					t.Errorf("overview %d differs from gdal's by up to %d", l, maxDiff)
				case mean > 3:
					t.Errorf("overview %d differs from gdal's by %.2f on average", l, mean)
				}
			}
			sa, _ := os.Stat(ours)
			sb, _ := os.Stat(theirs)
			t.Logf("ours %d bytes, gdal %d", sa.Size(), sb.Size())
		})
	}
}

// gdalRGBWrite writes interleaved rgb as a 3-band COG with GDAL's COG driver.
func gdalRGBWrite(t *testing.T, path string, g Grid, rgb []uint8) {
	t.Helper()
	mem, err := godal.Create(godal.Memory, "", 3, godal.Byte, g.Width, g.Height)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	sr, err := godal.NewSpatialRefFromEPSG(g.EPSG)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	if err := mem.SetSpatialRef(sr); err != nil {
		t.Fatal(err)
	}
	if err := mem.SetGeoTransform(g.GeoTransform()); err != nil {
		t.Fatal(err)
	}
	for i, b := range mem.Bands() {
		if err := b.SetNoData(0); err != nil {
			t.Fatal(err)
		}
		if err := b.SetColorInterp([]godal.ColorInterp{godal.CIRed, godal.CIGreen, godal.CIBlue}[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mem.Write(0, 0, rgb, g.Width, g.Height, godal.PixelSpacing(3), godal.LineSpacing(3*g.Width), godal.BandSpacing(1)); err != nil {
		t.Fatal(err)
	}
	out, err := mem.Translate(path, []string{"-of", "COG"}, godal.CreationOption(
		"COMPRESS=DEFLATE", "PREDICTOR=YES", "LEVEL=1", "BLOCKSIZE=512", "OVERVIEW_RESAMPLING=AVERAGE", "NUM_THREADS=ALL_CPUS"))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// cogReadAllRGB reads every level of a 3-band Byte file, interleaved.
func cogReadAllRGB(t *testing.T, path string) [][]uint8 {
	t.Helper()
	ds, err := godal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	st := ds.Structure()
	buf := make([]uint8, 3*st.SizeX*st.SizeY)
	if err := ds.Read(0, 0, buf, st.SizeX, st.SizeY, godal.PixelSpacing(3), godal.LineSpacing(3*st.SizeX), godal.BandSpacing(1)); err != nil {
		t.Fatal(err)
	}
	levels := [][]uint8{buf}
	bands := ds.Bands()
	for i := range bands[0].Overviews() {
		var lv []uint8
		for c, b := range bands {
			o := b.Overviews()[i]
			ost := o.Structure()
			plane := make([]uint8, ost.SizeX*ost.SizeY)
			if err := o.Read(0, 0, plane, ost.SizeX, ost.SizeY); err != nil {
				t.Fatal(err)
			}
			if lv == nil {
				lv = make([]uint8, 3*len(plane))
			}
			for j, v := range plane {
				lv[3*j+c] = v
			}
		}
		levels = append(levels, lv)
	}
	return levels
}

func TestMosaicRGB(t *testing.T) {
	g := cogTestGrid(32635, 1300, 1100)
	path := filepath.Join(t.TempDir(), "mosaic.tif")
	m, err := NewMosaic(path, g, []uint8(nil), Options{RGB: true, Resampling: "AVERAGE"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Discard()
	want := make([]uint8, 3*g.Pixels()) // 0 0 0 where no window is written
	for k, win := range [][4]int{{600, 0, 700, 500}, {0, 900, 300, 200}, {0, 0, 600, 900}} {
		ww, wh := win[2], win[3]
		part := cogTestRGB(ww, wh, uint64(10+k))
		if err := m.Write(win[0], win[1], ww, wh, part); err != nil {
			t.Fatal(err)
		}
		for y := range wh {
			copy(want[3*((win[1]+y)*g.Width+win[0]):], part[3*y*ww:3*(y+1)*ww])
		}
	}
	if err := m.Write(0, 0, 2, 2, make([]uint8, 4)); err == nil {
		t.Error("a window of single samples was accepted")
	}
	if err := m.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkRGBFile(t, path, g, want)
	validateCOGFile(t, path)
}

// TestCOGDownsampleRGB checks the whole-pixel true-colour downsample against the
// sample-by-sample one, on widths odd and even, with nodata sprinkled.
func TestCOGDownsampleRGB(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		w, n  int
		nd    uint8
		holes float64 // share of nodata samples
	}{{2, 2, 0, 0}, {3, 3, 0, 0.1}, {7, 4, 0, 0}, {64, 9, 0, 0.02}, {513, 6, 0, 0.3}, {100, 4, 255, 0.05}, {1024, 2, 0, 0}} {
		src := make([]uint8, 3*c.w*c.n)
		for i := range src {
			src[i] = uint8(rng.IntN(256))
			if rng.Float64() < c.holes {
				src[i] = c.nd
			}
		}
		ow, oh := c.w/2, (c.n+1)/2
		e := &cogEngine[uint8]{nd: c.nd, spp: 3, mode: "AVERAGE"}
		want, got := make([]uint8, 3*ow*oh), make([]uint8, 3*ow*oh)
		e.downsampleSamples(want, src, c.w, c.n, ow, 0, oh)
		cogDownsampleRGB(got, src, c.w, c.n, ow, 0, oh, c.nd, func(y0, y1 int) { e.downsampleSamples(got, src, c.w, c.n, ow, y0, y1) })
		if !bytes.Equal(got, want) {
			t.Errorf("%dx%d nd %d: whole-pixel downsample differs from the sample-by-sample one", c.w, c.n, c.nd)
		}
	}
}

func BenchmarkCOGDownsampleRGB(b *testing.B) {
	const w, n = 5490, 64
	src := cogTestRGB(w, n, 3)
	ow, oh := w/2, n/2
	dst := make([]uint8, 3*ow*oh)
	e := &cogEngine[uint8]{nd: 0, spp: 3, mode: "AVERAGE"}
	b.Run("whole-pixel", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			cogDownsampleRGB(dst, src, w, n, ow, 0, oh, 0, func(y0, y1 int) { e.downsampleSamples(dst, src, w, n, ow, y0, y1) })
		}
	})
	b.Run("sample-by-sample", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			e.downsampleSamples(dst, src, w, n, ow, 0, oh)
		}
	})
}

// TestCOGDownsampleInt16 checks the Int16 AVERAGE downsample against the sample-by-sample
// one, with nodata sprinkled, odd sizes and extreme values.
func TestCOGDownsampleInt16(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		w, n  int
		nd    int16
		holes float64
	}{{2, 2, -32768, 0}, {3, 3, -32768, 0.2}, {9, 5, -32768, 0.5}, {512, 7, -32768, 0.05}, {100, 4, 0, 0.1}} {
		src := make([]int16, c.w*c.n)
		for i := range src {
			switch r := rng.Float64(); {
			case r < c.holes:
				src[i] = c.nd
			case r < c.holes+0.05:
				src[i] = []int16{32767, -32767, -1, 1, -2}[rng.IntN(5)]
			default:
				src[i] = int16(rng.IntN(2000) - 1000)
			}
		}
		ow, oh := c.w/2, (c.n+1)/2
		e := &cogEngine[int16]{nd: c.nd, spp: 1, mode: "AVERAGE"}
		want, got := make([]int16, ow*oh), make([]int16, ow*oh)
		e.downsampleSamples(want, src, c.w, c.n, ow, 0, oh)
		cogDownsampleInt16(got, src, c.w, c.n, ow, 0, oh, c.nd, func(y0, y1 int) { e.downsampleSamples(got, src, c.w, c.n, ow, y0, y1) })
		if !slices.Equal(got, want) {
			t.Errorf("%dx%d nd %d: Int16 downsample differs from the sample-by-sample one", c.w, c.n, c.nd)
		}
	}
}

// TestUnpredict16 holds the C predictor loop against the Go one on widths that are and are
// not multiples of its eight-sample blocks, with sums that wrap.
func TestUnpredict16(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ w, n int }{{1, 3}, {7, 2}, {8, 1}, {9, 5}, {512, 5}, {513, 3}, {1000, 2}} {
		want := make([]uint16, c.w*c.n)
		for i := range want {
			want[i] = uint16(rng.IntN(65536))
		}
		got := slices.Clone(want)
		undoPredictor(want, c.w)
		unpredict16(got, c.w)
		if !slices.Equal(got, want) {
			t.Errorf("%dx%d: unpredict16 differs from undoPredictor", c.w, c.n)
		}
	}
}

func BenchmarkUnpredict16(b *testing.B) {
	p := make([]uint16, 512*512)
	b.SetBytes(int64(2 * len(p)))
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			undoPredictor(p, 512)
		}
	})
	b.Run("c", func(b *testing.B) {
		for b.Loop() {
			unpredict16(p, 512)
		}
	})
}
