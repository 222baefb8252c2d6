package raster

import (
	"context"
	"path/filepath"
	"testing"

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
