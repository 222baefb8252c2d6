package raster

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/internal/testenv"
)

// The real Earth Search scene (downsampled 10x by its source: 100 m / 200 m pixels) read
// through a warped window: only the window is read, 20 m-class bands are resampled onto
// the grid, SCL with nearest.
func TestOpenSceneRealCOGWindow(t *testing.T) {
	Init(S3Config{})
	dir := filepath.Join(testenv.SharedData(t), "sentinel2/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A")
	hrefs := map[string]string{}
	for _, k := range BandKeys {
		name := map[string]string{"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12", "scl": "SCL"}[k]
		hrefs[k] = filepath.Join(dir, name+".tif")
	}
	// a 6 km x 4 km window inside the tile (origin 199980, 2800020), on a 100 m grid
	g := Grid{EPSG: 32629, X0: 250000, Y0: 2750000, Res: 100, Width: 60, Height: 40}
	r, err := openScene(context.Background(), Scene{ID: "S2A_29RKH_20200219_0_L2A", Hrefs: hrefs}, g)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	for i, k := range BandKeys {
		var nonzero int
		if i == iSCL {
			buf := make([]uint8, g.Pixels())
			if err := r.read(i, 0, 0, g.Width, g.Height, buf); err != nil {
				t.Fatal(err)
			}
			for _, v := range buf {
				if v != 0 {
					nonzero++
				}
			}
		} else {
			buf := make([]uint16, g.Pixels())
			if err := r.read(i, 0, 0, g.Width, g.Height, buf); err != nil {
				t.Fatal(err)
			}
			for _, v := range buf {
				if v != 0 {
					nonzero++
				}
			}
		}
		if nonzero != g.Pixels() {
			t.Errorf("band %s: %d of %d pixels have data", k, nonzero, g.Pixels())
		}
	}
}

// Aligned reads (plain RasterIO, upsampling here) agree with GDAL's warper on the real
// scene: 10 m-class bands exactly, 20 m-class bands (bilinear) within rounding, SCL
// (nearest) exactly; a window reaching past the tile is 0 outside it.
func TestAlignedReadsMatchWarp(t *testing.T) {
	Init(S3Config{})
	dir := filepath.Join(testenv.SharedData(t), "sentinel2/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A")
	tests := []struct {
		band    string
		nearest bool
		tol     int
	}{{"B04", false, 0}, {"B11", false, 1}, {"SCL", true, 0}}
	// 100 m grid (the pixel size of the downsampled 10 m bands), partly west of the tile.
	g := Grid{EPSG: 32629, X0: 199980 - 3000, Y0: 2800020 - 50000, Res: 100, Width: 90, Height: 70}
	for _, tt := range tests {
		t.Run(tt.band, func(t *testing.T) {
			src, err := godal.Open(filepath.Join(dir, tt.band+".tif"))
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			a := align(src, g)
			if a == nil {
				t.Fatal("band not recognised as aligned")
			}
			alg := "bilinear"
			if tt.nearest {
				alg = "near"
			}
			te := g.Bounds()
			vrt, err := src.Warp("", []string{"-of", "VRT", "-te", f(te[0]), f(te[1]), f(te[2]), f(te[3]),
				"-tr", f(g.Res), f(g.Res), "-r", alg, "-srcnodata", "0", "-dstnodata", "0"})
			if err != nil {
				t.Fatal(err)
			}
			defer vrt.Close()
			for _, w := range []Window{{0, 0, 90, 70}, {13, 7, 41, 33}} {
				got, want := make([]uint16, w.Width*w.Height), make([]uint16, w.Width*w.Height)
				var err error
				if tt.nearest {
					g8 := make([]uint8, len(got))
					err = a.read(src.Bands()[0], w.Col, w.Row, w.Width, w.Height, g8, true)
					for i := range g8 {
						got[i] = uint16(g8[i])
					}
				} else {
					err = a.read(src.Bands()[0], w.Col, w.Row, w.Width, w.Height, got, false)
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := vrt.Bands()[0].Read(w.Col, w.Row, want, w.Width, w.Height); err != nil {
					t.Fatal(err)
				}
				zeros := 0
				for i := range got {
					d := int(got[i]) - int(want[i])
					if d < -tt.tol || d > tt.tol {
						// the warper and we may differ where the kernel meets the tile edge
						if x := w.Col + i%w.Width; x == 29 || x == 30 {
							continue
						}
						t.Fatalf("window %+v pixel %d: %d, warper %d", w, i, got[i], want[i])
					}
					if w.Col+i%w.Width < 30 && got[i] != 0 {
						t.Fatalf("pixel %d west of the tile is %d, want 0", i, got[i])
					}
					if got[i] == 0 {
						zeros++
					}
				}
				if w.Col == 0 && zeros < 30*w.Height {
					t.Fatalf("%d nodata pixels, want the %d west of the tile", zeros, 30*w.Height)
				}
			}
		})
	}
}
