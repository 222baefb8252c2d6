package worker

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/changewatch/changewatch/raster"
)

// checkRasterLegends opens the published rasters as gdalinfo (and so QGIS, through GDAL)
// does: change_class.tif is a palette with the quicklook's colours and the class names
// as categories; every single-band raster says what its band holds and in which unit;
// the true-colour composites are red, green and blue bands with an internal mask.
func checkRasterLegends(t *testing.T, out string) {
	t.Helper()
	for _, l := range rasterLayers {
		data, err := exec.Command("gdalinfo", "-json", filepath.Join(out, l.file)).Output()
		if err != nil {
			t.Fatalf("gdalinfo %s: %v", l.file, err)
		}
		var info struct {
			Bands []struct {
				Description         string   `json:"description"`
				Unit                string   `json:"unit"`
				ColorInterpretation string   `json:"colorInterpretation"`
				NoDataValue         *float64 `json:"noDataValue"`
				Mask                struct {
					Flags []string `json:"flags"`
				} `json:"mask"`
				Categories []string `json:"categories"`
				ColorTable *struct {
					Entries [][4]uint8 `json:"entries"`
				} `json:"colorTable"`
			} `json:"bands"`
		}
		if err := json.Unmarshal(data, &info); err != nil {
			t.Fatalf("gdalinfo -json %s: %v", l.file, err)
		}
		if l.opts.RGB {
			if len(info.Bands) != 3 {
				t.Fatalf("%s: %d bands, want 3", l.file, len(info.Bands))
			}
			for i, b := range info.Bands {
				// JPEG: no nodata value, the internal mask instead.
				if want := []string{"Red", "Green", "Blue"}[i]; b.ColorInterpretation != want || b.NoDataValue != nil ||
					len(b.Mask.Flags) != 1 || b.Mask.Flags[0] != "PER_DATASET" {
					t.Errorf("%s band %d: %s, nodata %v, mask %v, want %s, no nodata, a PER_DATASET mask", l.file, i+1, b.ColorInterpretation, b.NoDataValue, b.Mask.Flags, want)
				}
				if want := l.opts.Description + ": " + []string{"red", "green", "blue"}[i]; b.Description != want || b.Unit != l.opts.Unit {
					t.Errorf("%s band %d: description %q unit %q, want %q %q", l.file, i+1, b.Description, b.Unit, want, l.opts.Unit)
				}
			}
			continue
		}
		if len(info.Bands) != 1 {
			t.Fatalf("%s: %d bands, want 1", l.file, len(info.Bands))
		}
		b := info.Bands[0]
		if b.Description == "" || b.Unit == "" || b.Description != l.opts.Description || b.Unit != l.opts.Unit {
			t.Errorf("%s: description %q unit %q, want %q %q", l.file, b.Description, b.Unit, l.opts.Description, l.opts.Unit)
		}
		if l.file != "change_class.tif" {
			continue
		}
		want := []string{"no_change", "vegetation_to_bare", "vegetation_to_water", "burn_scar", "vegetation_loss"}
		if !slices.Equal(b.Categories, want) {
			t.Errorf("%s: categories %q, want %q", l.file, b.Categories, want)
		}
		if b.ColorInterpretation != "Palette" || b.ColorTable == nil || len(b.ColorTable.Entries) != len(want) {
			t.Fatalf("%s: colour interpretation %s, table %v: want a palette of %d entries", l.file, b.ColorInterpretation, b.ColorTable, len(want))
		}
		for _, c := range raster.ClassLegend() {
			if got, want := b.ColorTable.Entries[c.Value], [4]uint8{c.Color.R, c.Color.G, c.Color.B, c.Color.A}; got != want {
				t.Errorf("%s: colour of %s %v, want %v", l.file, c.Name, got, want)
			}
		}
		if b.ColorTable.Entries[raster.ClassBare] != [4]uint8{255, 140, 0, 255} {
			t.Errorf("%s: vegetation_to_bare is %v, not the quicklook's orange", l.file, b.ColorTable.Entries[raster.ClassBare])
		}
	}
}
