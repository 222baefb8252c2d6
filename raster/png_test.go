package raster

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"
)

// TestEncodePNGRGB: images of several shapes, flat and noisy, come
// back from image/png's decoder and from GDAL's PNG driver with every pixel, and bad
// shapes are refused.
func TestEncodePNGRGB(t *testing.T) {
	Init(S3Config{})
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		w, h  int
		noisy bool
	}{{1, 1, false}, {7, 3, true}, {1175, 389, false}, {700, 500, true}} {
		pix := make([]uint8, 3*tc.w*tc.h)
		for i := range pix {
			if tc.noisy {
				pix[i] = uint8(rng.IntN(256))
			} else {
				pix[i] = uint8((i/3/17)*40 + i%3) // flat runs of 17 pixels
			}
		}
		var buf bytes.Buffer
		if err := encodePNGRGB(&buf, pix, tc.w, tc.h); err != nil {
			t.Fatalf("%dx%d: %v", tc.w, tc.h, err)
		}
		img, err := png.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%dx%d: image/png: %v", tc.w, tc.h, err)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Fatalf("%dx%d: decoded %v", tc.w, tc.h, b)
		}
		for y := range tc.h {
			for x := range tc.w {
				i := 3 * (y*tc.w + x)
				want := color.RGBA{pix[i], pix[i+1], pix[i+2], 255}
				if got := color.RGBAModel.Convert(img.At(x, y)); got != want {
					t.Fatalf("%dx%d: pixel %d,%d is %v, want %v", tc.w, tc.h, x, y, got, want)
				}
			}
		}
		path := filepath.Join(t.TempDir(), "q.png")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		ds, err := godal.Open(path, godal.RasterOnly())
		if err != nil {
			t.Fatalf("%dx%d: gdal: %v", tc.w, tc.h, err)
		}
		st := ds.Structure()
		if st.SizeX != tc.w || st.SizeY != tc.h || st.NBands != 3 {
			ds.Close()
			t.Fatalf("%dx%d: gdal reads %dx%d, %d bands", tc.w, tc.h, st.SizeX, st.SizeY, st.NBands)
		}
		got := make([]uint8, len(pix))
		if err := ds.Read(0, 0, got, tc.w, tc.h); err != nil {
			ds.Close()
			t.Fatal(err)
		}
		ds.Close()
		if !bytes.Equal(got, pix) {
			t.Fatalf("%dx%d: gdal reads other pixels", tc.w, tc.h)
		}
	}
	for _, bad := range [][3]int{{0, 1, 0}, {2, 2, 11}, {1 << 25, 1, 3 << 25}} {
		if err := encodePNGRGB(&bytes.Buffer{}, make([]uint8, bad[2]), bad[0], bad[1]); err == nil {
			t.Errorf("%dx%d with %d bytes: no error", bad[0], bad[1], bad[2])
		}
	}
}

// TestQuicklookPNG: the three panels of a quicklook of a 4 x 2 grid, one cell a pixel:
// before and after in the composites' stretch, grey where not observed, the overlay in
// the class colours (vegetation loss too) and the after panel dimmed elsewhere, white
// between the panels.
func TestQuicklookPNG(t *testing.T) {
	q := newQuicklook(4, 2, 400)
	for c := range 8 {
		if c == 5 {
			continue // not observed
		}
		q.n[c] = 2
		for k := range 3 {
			q.before[3*c+k] = 2 * 0.01 * float32(k+1)
			q.after[3*c+k] = 2 * 0.05 * float32(k+1)
		}
	}
	q.AddClasses(0, 0, 4, []uint8{0, ClassBare, ClassWater, ClassBurn, ClassLoss, 0, 0, 0})
	path := filepath.Join(t.TempDir(), "quicklook.png")
	if err := q.WritePNG(path); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, path)
	if b := img.Bounds(); b.Dx() != 3*4+2*4 || b.Dy() != 2 {
		t.Fatalf("quicklook is %v", b)
	}
	rgb := func(r [3]float32) color.RGBA { return color.RGBA{RGBByte(r[0]), RGBByte(r[1]), RGBByte(r[2]), 255} }
	before, after := rgb([3]float32{0.01, 0.02, 0.03}), rgb([3]float32{0.05, 0.10, 0.15})
	dim := color.RGBA{after.R / 2, after.G / 2, after.B / 2, 255}
	white := color.RGBA{255, 255, 255, 255}
	for c := range 8 {
		x, y := c%4, c/4
		want := [3]color.RGBA{before, after, dim}
		switch {
		case c == 5:
			want = [3]color.RGBA{NotObservedColor, NotObservedColor, NotObservedColor}
		case c >= 1 && c <= 4:
			want[2] = classColors[c]
		}
		for p := range 3 {
			if got := color.RGBAModel.Convert(img.At(p*(4+4)+x, y)); got != want[p] {
				t.Errorf("cell %d, panel %d: %v, want %v", c, p, got, want[p])
			}
		}
	}
	for x := 4; x < 8; x++ {
		if got := color.RGBAModel.Convert(img.At(x, 1)); got != white {
			t.Errorf("gap pixel %d: %v, want white", x, got)
		}
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
