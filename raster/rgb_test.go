package raster

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"
	"github.com/changewatch/changewatch/raster/cog"
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

// writeRGBCOG writes interleaved rgb (all of g's rows) as a true-colour COG, as the runs do.
func writeRGBCOG(t *testing.T, path string, g Grid, rgb []uint8) {
	t.Helper()
	Init(S3Config{}) // GDAL's drivers, for the reads
	w, err := cog.NewWriter(path, cog.Grid(g), []uint8(nil), cog.Options{RGB: true, Resampling: "AVERAGE"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Discard()
	if err := w.WriteRows(rgb); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// A true-colour COG reads back as written, through ReadRGBPixels and ReadWindowFile (the
// merge of a fanned-out run), with GDAL seeing red, green and blue bands of nodata 0.
func TestReadRGBFiles(t *testing.T) {
	g := Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 10, Width: 700, Height: 530}
	want := rgbPattern(g.Width, g.Height)
	clear(want[:3*g.Width*20]) // rows of no observation
	path := filepath.Join(t.TempDir(), "rgb.tif")
	writeRGBCOG(t, path, g, want)
	if got := readRGB(t, path, g); !bytes.Equal(got, want) {
		t.Fatal("ReadRGBPixels: the COG's pixels differ from the rows written")
	}
	got := make([]uint8, len(want))
	if err := ReadWindowFile(path, got, g.Width, g.Height); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("ReadWindowFile: the COG's pixels differ from the rows written")
	}
	if err := ReadWindowFile(path, got, g.Width, g.Height-1); err == nil {
		t.Error("ReadWindowFile read a file of another size")
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
