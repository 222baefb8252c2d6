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
	"strings"
	"testing"

	"github.com/airbusgeo/godal"
)

// checkJPEGFile reads the JPEG true-colour COG at path back with GDAL and compares it
// with rgb (0 0 0 = nodata): structure, YCbCr JPEG, no nodata value but a per-dataset
// mask, exactly the valid pixels at full resolution and, in every overview, those whose
// 2x2 window holds one (as the AVERAGE overviews leave nodata only where none is); the
// colours of valid pixels within maxMean on average (JPEG is lossy), band by band, at
// full resolution and in every overview against cogRefDownsample.
func checkJPEGFile(t *testing.T, path string, g Grid, rgb []uint8, maxMean float64) {
	t.Helper()
	ds := openRGBFile(t, path, g, map[string]string{"LAYOUT": "COG", "COMPRESSION": "YCbCr JPEG", "INTERLEAVE": "PIXEL"})
	defer ds.Close()
	// The valid pixels, as a band of 0 (nodata) and 1, downsampled like the image.
	valid := make([]float64, g.Pixels())
	for i := range valid {
		if rgb[3*i] != 0 || rgb[3*i+1] != 0 || rgb[3*i+2] != 0 {
			valid[i] = 1
		}
	}
	wantSizes := gdalCOGSizes(t, g.Width, g.Height)
	for c, band := range ds.Bands() {
		if want := []godal.ColorInterp{godal.CIRed, godal.CIGreen, godal.CIBlue}[c]; band.ColorInterp() != want {
			t.Errorf("band %d colour %v, want %v", c+1, band.ColorInterp(), want)
		}
		if nd, ok := band.NoData(); ok {
			t.Errorf("band %d has nodata %v: the mask says what is valid", c+1, nd)
		}
		if f := band.MaskFlags(); f != 0x02 { // GMF_PER_DATASET
			t.Fatalf("band %d mask flags %#x, want GMF_PER_DATASET", c+1, f)
		}
		ovrs, movrs := band.Overviews(), band.MaskBand().Overviews()
		if len(ovrs) != len(wantSizes) || len(movrs) != len(wantSizes) {
			t.Fatalf("band %d: %d overviews and %d of the mask, gdal makes %d (%v)", c+1, len(ovrs), len(movrs), len(wantSizes), wantSizes)
		}
		vals, vmask, w, h := cogBand(rgb, c), valid, g.Width, g.Height
		for lv := 0; lv <= len(ovrs); lv++ {
			img, mask := band, band.MaskBand()
			if lv > 0 {
				img, mask = ovrs[lv-1], movrs[lv-1]
				vals, _, _ = cogRefDownsample(vals, w, h, "AVERAGE", 0, false)
				vmask, w, h = cogRefDownsample(vmask, w, h, "AVERAGE", 0, false)
			}
			what := fmt.Sprintf("band %d level %d", c+1, lv)
			if ost := img.Structure(); ost.SizeX != w || ost.SizeY != h {
				t.Fatalf("%s: %dx%d, want %dx%d", what, ost.SizeX, ost.SizeY, w, h)
			}
			got, gotMask := make([]float64, w*h), make([]float64, w*h)
			if err := img.Read(0, 0, got, w, h); err != nil {
				t.Fatal(err)
			}
			if err := mask.Read(0, 0, gotMask, w, h); err != nil {
				t.Fatal(err)
			}
			var sum float64
			n := 0
			for i := range got {
				if want := 255 * float64(min(1, int(vmask[i]))); gotMask[i] != want {
					t.Fatalf("%s: mask at %d,%d is %v, want %v", what, i%w, i/w, gotMask[i], want)
				}
				// A pixel valid but 0 in this band (nodata of no band here) compares with
				// the band's average of its non-zero samples only where it has some.
				if vmask[i] != 0 && vals[i] != 0 {
					sum += math.Abs(got[i] - vals[i])
					n++
				}
			}
			if mean := sum / float64(max(1, n)); mean > maxMean {
				t.Errorf("%s: mean error %.2f over %d valid pixels, want at most %.2f", what, mean, n, maxMean)
			}
		}
	}
}

func TestCOGWriterJPEG(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		w, h     int
		deferred bool
		gaps     bool // nodata pixels scattered everywhere, else in cogTestRGB's patch only
	}{
		{"1100x1030", 1100, 1030, false, true},
		{"1100x1030-whole-tiles", 1100, 1030, false, false},
		{"513x700-deferred", 513, 700, true, true},
		{"1x600", 1, 600, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := cogTestGrid(32635, c.w, c.h)
			rgb := cogTestRGBNoise(c.w, c.h, 1, 0.05)
			if !c.gaps { // tiles without nodata, encoded from the rows in place
				for i := 1; i < c.w*c.h; i++ {
					if x, y := i%c.w, i/c.w; !(x > 100 && x < 700 && y > 30 && y < 90) {
						for k := range 3 {
							if rgb[3*i+k] == 0 { // the field's value, as the pixel to the left
								rgb[3*i+k] = max(1, rgb[3*(i-1)+k])
							}
						}
					}
				}
			}
			path := filepath.Join(dir, c.name+".tif")
			w, err := NewWriter(path, g, []uint8(nil), Options{RGB: true, Resampling: "AVERAGE", Deferred: c.deferred, JPEGQuality: 85})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Discard()
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
			// Fields with a little noise, the nodata pixels here and there (the worst
			// case for the JPEG blocks around them); a composite's come back within 1.5.
			checkJPEGFile(t, path, g, rgb, 2.5)
			validateCOGFile(t, path)
		})
	}
	for _, o := range []Options{{RGB: true, JPEGQuality: 101}, {RGB: true, JPEGQuality: -1}, {JPEGQuality: 85}} {
		if _, err := NewWriter(filepath.Join(dir, "x.tif"), cogTestGrid(32635, 10, 10), []uint8(nil), o); err == nil {
			t.Errorf("a writer with %+v was created", o)
		}
	}
}

// TestMosaicJPEG: windows of true colour assembled into a JPEG COG, the pixels no window
// covers masked.
func TestMosaicJPEG(t *testing.T) {
	g := cogTestGrid(32635, 1300, 1100)
	path := filepath.Join(t.TempDir(), "mosaic.tif")
	m, err := NewMosaic(path, g, []uint8(nil), Options{RGB: true, Resampling: "AVERAGE", JPEGQuality: 85})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Discard()
	want := make([]uint8, 3*g.Pixels())
	for k, win := range [][4]int{{600, 0, 700, 500}, {0, 900, 300, 200}, {0, 0, 600, 900}} {
		ww, wh := win[2], win[3]
		part := cogTestRGBNoise(ww, wh, uint64(10+k), 0.05)
		if err := m.Write(win[0], win[1], ww, wh, part); err != nil {
			t.Fatal(err)
		}
		for y := range wh {
			copy(want[3*((win[1]+y)*g.Width+win[0]):], part[3*y*ww:3*(y+1)*ww])
		}
	}
	if err := m.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkJPEGFile(t, path, g, want, 2.5)
	validateCOGFile(t, path)
}

// TestJPEGEncodeErrors: libjpeg's errors come back as errors (not libjpeg's exit).
func TestJPEGEncodeErrors(t *testing.T) {
	tile := cogTestRGB(64, 64, 3)
	out := make([]byte, jpegBound(64, 64))
	n, err := jpegEncode(out, tile, 64, 64, 192, 85)
	if err != nil || n < 100 || out[0] != 0xFF || out[1] != 0xD8 || out[n-2] != 0xFF || out[n-1] != 0xD9 {
		t.Fatalf("encode: %d bytes, %v, want a JPEG stream (SOI ... EOI)", n, err)
	}
	if _, err := jpegEncode(out[:200], tile, 64, 64, 192, 85); err == nil || !strings.Contains(err.Error(), "buffer") {
		t.Errorf("a stream larger than its buffer: %v", err)
	}
	if _, err := jpegEncode(out, tile, 64, 65536, 192, 85); err == nil {
		t.Error("a tile larger than its pixels was encoded")
	}
}

// maskRow is maskRGB on the one row of pixels row, its mask m.
func maskRow(m, row []uint8, nd uint8) int {
	var valid [1]int64
	maskRGB(m, len(m), row, len(row), len(row)/3, 1, nd, valid[:])
	return int(valid[0])
}

// TestCOGMaskRow: the mask bits and count of rows of every length up to 40 pixels, with
// nodata 0 and 7, against a pixel-by-pixel reference.
func TestCOGMaskRow(t *testing.T) {
	for _, nd := range []uint8{0, 7} {
		for np := 0; np <= 40; np++ {
			row := make([]uint8, 3*np)
			for i := range row {
				if (i*7+np)%5 != 0 {
					row[i] = nd
				} else {
					row[i] = nd + 1
				}
			}
			m := make([]uint8, (np+7)/8+1)
			for i := range m {
				m[i] = 0xA5 // cleared by maskRGB but for the last byte, past the row's mask
			}
			got := maskRow(m[:len(m)-1], row, nd)
			want := 0
			for i := range np {
				v := row[3*i] != nd || row[3*i+1] != nd || row[3*i+2] != nd
				if v {
					want++
				}
				if bit := m[i>>3]&(0x80>>(i&7)) != 0; bit != v {
					t.Fatalf("nd %d, %d pixels: bit %d is %v, want %v", nd, np, i, bit, v)
				}
			}
			for i := np; i < 8*((np+7)/8); i++ {
				if m[i>>3]&(0x80>>(i&7)) != 0 {
					t.Fatalf("nd %d, %d pixels: bit %d past the row is set", nd, np, i)
				}
			}
			if got != want || m[len(m)-1] != 0xA5 {
				t.Fatalf("nd %d, %d pixels: %d valid, want %d (mask %x)", nd, np, got, want, m)
			}
		}
	}
	// Rows of imagery: mostly valid, a masked pixel or a sample equal to nd here and
	// there (the eight-pixel shortcut and its way out), then filled as the encoder does.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, nd := range []uint8{0, 200} {
		for _, np := range []int{7, 8, 9, 64, 100, 512} {
			for trial := range 40 {
				row := make([]uint8, 3*np)
				for i := range row {
					row[i] = uint8(rng.IntN(256))
				}
				for range trial % 6 {
					i := rng.IntN(np)
					row[3*i], row[3*i+1], row[3*i+2] = nd, nd, nd
				}
				if trial%3 == 0 {
					row[rng.IntN(len(row))] = nd
				}
				if trial%4 == 3 { // a cloud: a masked run of up to 40 pixels
					i := rng.IntN(np)
					for j := i; j < min(np, i+1+rng.IntN(40)); j++ {
						row[3*j], row[3*j+1], row[3*j+2] = nd, nd, nd
					}
				}
				m := make([]uint8, (np+7)/8)
				got := maskRow(m, row, nd)
				want, last := 0, -1
				fill := slices.Clone(row)
				for i := range np {
					v := row[3*i] != nd || row[3*i+1] != nd || row[3*i+2] != nd
					if bit := m[i>>3]&(0x80>>(i&7)) != 0; bit != v {
						t.Fatalf("nd %d, %d pixels, trial %d: bit %d is %v, want %v", nd, np, trial, i, bit, v)
					}
					if v {
						want++
						if last < 0 { // a leading masked run takes the first valid pixel
							for j := range i {
								copy(fill[3*j:3*j+3], row[3*i:3*i+3])
							}
						}
						last = i
					} else if last >= 0 {
						copy(fill[3*i:3*i+3], row[3*last:3*last+3])
					}
				}
				if got != want {
					t.Fatalf("nd %d, %d pixels, trial %d: %d valid, want %d", nd, np, trial, got, want)
				}
				if want == 0 {
					continue
				}
				d := slices.Clone(row)
				cogFillMasked(d, m, got, 0, len(d), d)
				if !slices.Equal(d, fill) {
					t.Fatalf("nd %d, %d pixels, trial %d: filled %v, want %v", nd, np, trial, d, fill)
				}
			}
		}
	}
}

// TestCOGWriterLendRows: rows filled in the buffers NextRows lends (in the block row when
// they fit, else in a scratch buffer) make the same file as WriteRows, streaming and
// deferred; misuse is refused.
func TestCOGWriterLendRows(t *testing.T) {
	dir := t.TempDir()
	w, h := 700, 1100
	g := cogTestGrid(32635, w, h)
	rgb := cogTestRGBNoise(w, h, 2, 0.05)
	for _, deferred := range []bool{false, true} {
		o := Options{RGB: true, Resampling: "AVERAGE", JPEGQuality: 85, Deferred: deferred}
		ref := filepath.Join(dir, fmt.Sprintf("ref-%v.tif", deferred))
		wr, err := NewWriter(ref, g, []uint8(nil), o)
		if err != nil {
			t.Fatal(err)
		}
		if err := wr.WriteRows(rgb); err != nil {
			t.Fatal(err)
		}
		if err := wr.Finish(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		lent := filepath.Join(dir, fmt.Sprintf("lent-%v.tif", deferred))
		wl, err := NewWriter(lent, g, []uint8(nil), o)
		if err != nil {
			t.Fatal(err)
		}
		for r, i := 0, 0; r < h; i++ {
			n := min([]int{128, 7, 300, 77, 128}[i%5], h-r) // some cross a block row's end
			buf, err := wl.NextRows(n)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if err := wl.WriteRows(rgb[:3*w]); err == nil {
					t.Error("WriteRows while rows are lent was accepted")
				}
				if _, err := wl.NextRows(1); err == nil {
					t.Error("a second lend before the commit was accepted")
				}
			}
			copy(buf.([]uint8), rgb[3*r*w:3*(r+n)*w])
			if err := wl.CommitRows(n); err != nil {
				t.Fatal(err)
			}
			r += n
		}
		if err := wl.CommitRows(1); err == nil {
			t.Error("a commit without a lend was accepted")
		}
		if _, err := wl.NextRows(1); err == nil {
			t.Error("rows past the grid were lent")
		}
		if err := wl.Finish(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		a, errA := os.ReadFile(ref)
		b, errB := os.ReadFile(lent)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("deferred %v: the file from lent rows differs from WriteRows' (%v %v)", deferred, errA, errB)
		}
	}
}
