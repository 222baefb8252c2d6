package raster

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"
)

// rgbPattern is a w x h interleaved RGB image with a different value in every band.
func rgbPattern(w, h int) []uint8 {
	b := make([]uint8, 3*w*h)
	for i := range b {
		b[i] = uint8(1 + (i*7+i/(3*w))%250)
	}
	return b
}

// readRGB reads a 3-band Byte raster back interleaved, checking its grid and bands.
func readRGB(t *testing.T, path string, g Grid) []uint8 {
	t.Helper()
	ds, err := godal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	st := ds.Structure()
	if st.SizeX != g.Width || st.SizeY != g.Height || st.NBands != 3 || st.DataType != godal.Byte {
		t.Fatalf("%s: %dx%d, %d bands of %s, want %dx%d, 3 Byte bands", path, st.SizeX, st.SizeY, st.NBands, st.DataType, g.Width, g.Height)
	}
	gt, err := ds.GeoTransform()
	if err != nil || gt != g.GeoTransform() {
		t.Fatalf("%s: geotransform %v (%v), want %v", path, gt, err, g.GeoTransform())
	}
	for bi, b := range ds.Bands() {
		if want := []godal.ColorInterp{godal.CIRed, godal.CIGreen, godal.CIBlue}[bi]; b.ColorInterp() != want {
			t.Errorf("band %d colour %v, want %v", bi+1, b.ColorInterp(), want)
		}
		if nd, ok := b.NoData(); !ok || nd != 0 {
			t.Errorf("band %d nodata %v %v, want 0", bi+1, nd, ok)
		}
	}
	w, h, out, err := ReadRGBPixels(path)
	if err != nil || w != g.Width || h != g.Height {
		t.Fatalf("ReadRGBPixels %s: %dx%d, %v", path, w, h, err)
	}
	return out
}

func TestRGBWriterAndMosaic(t *testing.T) {
	g := Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 10, Width: 700, Height: 530}
	want := rgbPattern(g.Width, g.Height)
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.tif")
	w, err := NewRGBWriter(whole, g)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Discard()
	for r := 0; r < g.Height; r += 128 {
		n := min(128, g.Height-r)
		if err := w.WriteRows(want[3*r*g.Width : 3*(r+n)*g.Width]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteRows(make([]uint8, 5)); err == nil {
		t.Error("a partial row was accepted")
	}
	if err := w.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readRGB(t, whole, g); !bytes.Equal(got, want) {
		t.Fatal("the COG's pixels differ from the rows written")
	}

	// Two windows (left and right parts) mosaicked give the whole grid back.
	var parts []string
	for i, win := range []Window{{Col: 0, Row: 0, Width: 300, Height: g.Height}, {Col: 300, Row: 0, Width: 400, Height: g.Height}} {
		sg := g.Sub(win.Col, win.Row, win.Width, win.Height)
		p := filepath.Join(dir, []string{"a.tif", "b.tif"}[i])
		pw, err := NewRGBWriter(p, sg)
		if err != nil {
			t.Fatal(err)
		}
		rows := make([]uint8, 0, 3*sg.Pixels())
		for r := range win.Height {
			off := 3 * (r*g.Width + win.Col)
			rows = append(rows, want[off:off+3*win.Width]...)
		}
		if err := pw.WriteRows(rows); err != nil {
			t.Fatal(err)
		}
		if err := pw.Finish(context.Background()); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	mosaic := filepath.Join(dir, "mosaic.tif")
	if err := MosaicRGB(context.Background(), mosaic, g, parts); err != nil {
		t.Fatal(err)
	}
	if got := readRGB(t, mosaic, g); !bytes.Equal(got, want) {
		t.Fatal("the mosaic's pixels differ from the whole grid")
	}
}

func TestRGBByte(t *testing.T) {
	for _, c := range []struct {
		r    float32
		want uint8
	}{{-0.1, 1}, {0, 1}, {0.25, 255}, {1, 255}, {0.0625, 136}} {
		if got := RGBByte(c.r); got != c.want {
			t.Errorf("RGBByte(%v) = %d, want %d", c.r, got, c.want)
		}
	}
}
