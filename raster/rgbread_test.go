package raster

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/raster/cog"
)

// TestReadRGB: a window of a true-colour COG by lon/lat box, enlarged and reduced, keeps
// its colours where they are; nodata is painted NoDataColor; a box off the file fails.
// Both kinds of composite: DEFLATE with nodata 0 (GDAL's COG driver), and JPEG with an
// internal mask (cog.Writer, as a run writes them), whose colours come back within a few
// levels.
func TestReadRGB(t *testing.T) {
	for _, format := range []struct {
		name  string
		tol   int
		write func(ctx context.Context, path string, g Grid, rgb []uint8) error
	}{
		{"deflate nodata 0", 0, WriteRGBCOG},
		{"jpeg internal mask", 4, func(ctx context.Context, path string, g Grid, rgb []uint8) error {
			w, err := cog.NewWriter(path, cog.Grid(g), []uint8(nil), cog.Options{RGB: true, NoData: 0, Resampling: "AVERAGE", JPEGQuality: 85})
			if err != nil {
				return err
			}
			if err := w.WriteRows(rgb); err != nil {
				w.Discard()
				return err
			}
			return w.Finish(ctx, nil)
		}},
	} {
		t.Run(format.name, func(t *testing.T) { testReadRGB(t, format.write, format.tol) })
	}
}

func testReadRGB(t *testing.T, write func(context.Context, string, Grid, []uint8) error, tol int) {
	ctx := context.Background()
	// 200 x 200 pixels of 10 m in UTM 35N near Muchacha: left half red, right half blue,
	// the bottom 20 rows nodata.
	g := Grid{EPSG: 32635, X0: 560000, Y0: 150000, Res: 10, Width: 200, Height: 200}
	rgb := make([]uint8, 3*g.Pixels())
	for r := 0; r < g.Height-20; r++ {
		for c := 0; c < g.Width; c++ {
			p := rgb[3*(r*g.Width+c):]
			if c < 100 {
				p[0] = 220
			} else {
				p[2] = 230
			}
		}
	}
	path := filepath.Join(t.TempDir(), "after_rgb.tif")
	if err := write(ctx, path, g, rgb); err != nil {
		t.Fatal(err)
	}
	// The file's corners in lon/lat.
	xs := []float64{g.X0, g.X0 + 2000}
	ys := []float64{g.Y0 - 2000, g.Y0}
	if err := TransformPoints(32635, 4326, xs, ys); err != nil {
		t.Fatal(err)
	}
	whole := [4]float64{xs[0], ys[0], xs[1], ys[1]}
	tests := []struct {
		name string
		box  [4]float64
		side int
	}{
		{"whole reduced", whole, 100},
		{"whole enlarged", whole, 400},
		{"left quarter enlarged", [4]float64{xs[0], ys[0], xs[0] + (xs[1]-xs[0])/4, ys[1]}, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ReadRGB(ctx, path, tt.box, tt.side)
			if err != nil {
				t.Fatal(err)
			}
			b := w.Image.Bounds()
			if max(b.Dx(), b.Dy()) != tt.side {
				t.Fatalf("image %v, want a longer side of %d", b, tt.side)
			}
			// Check a point on each side of the colour edge and in the nodata strip by
			// its map position.
			for _, p := range []struct {
				e, n float64
				want [3]uint8
			}{
				{g.X0 + 300, g.Y0 - 500, [3]uint8{220, 0, 0}},
				{g.X0 + 1700, g.Y0 - 500, [3]uint8{0, 0, 230}},
				{g.X0 + 300, g.Y0 - 1950, [3]uint8{NoDataColor.R, NoDataColor.G, NoDataColor.B}},
			} {
				lon, lat := []float64{p.e}, []float64{p.n}
				if err := TransformPoints(32635, 4326, lon, lat); err != nil {
					t.Fatal(err)
				}
				if err := w.ToPixels(lon, lat); err != nil {
					t.Fatal(err)
				}
				x, y := int(math.Floor(lon[0])), int(math.Floor(lat[0]))
				if !inImage(x, y, b.Dx(), b.Dy()) {
					continue // outside this window
				}
				c := w.Image.RGBAAt(x, y)
				if !nearRGB([3]uint8{c.R, c.G, c.B}, p.want, tol) {
					t.Errorf("pixel %d,%d (E %.0f N %.0f) is %v, want %v", x, y, p.e, p.n, c, p.want)
				}
			}
		})
	}
	if _, err := ReadRGB(ctx, path, [4]float64{10, 10, 10.1, 10.1}, 100); err == nil {
		t.Fatal("a box off the raster was read")
	}
}

func inImage(x, y, w, h int) bool { return x >= 0 && y >= 0 && x < w && y < h }

// nearRGB tells whether each sample of a is within tol of b's.
func nearRGB(a, b [3]uint8, tol int) bool {
	for i := range a {
		if d := int(a[i]) - int(b[i]); d > tol || d < -tol {
			return false
		}
	}
	return true
}
