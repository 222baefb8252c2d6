package aoi

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
)

// FuzzParse: whatever the document, Parse returns an AOI or a ValidationError, never
// panics, and an accepted AOI keeps every promise of Parse: an id of jobs.IDPattern, an
// area within the limits, closed rings. Seeded with the real boundaries of
// ../shared/data/aoi and the fixtures of testdata/aoi.
func FuzzParse(f *testing.F) {
	shared := testenv.SharedData(f)
	for _, name := range []string{"okapi_wildlife_reserve_wri_2013.geojson", "itombwe_nature_reserve_wri_2013.geojson", "ipis_mines_inside_protected_areas.geojson"} {
		data, err := os.ReadFile(filepath.Join(shared, "aoi", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	fixtures, _ := filepath.Glob("../testdata/aoi/*.geojson")
	for _, p := range fixtures {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[28.1,1.3],[28.2,1.3],[28.2,1.4],[28.1,1.3]]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data, Limits{})
		if err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if jobs.CheckID("id", a.ID) != nil {
			t.Fatalf("accepted id %q", a.ID)
		}
		ha := a.AreaHa()
		if !(ha >= DefaultLimits.MinAreaHa) || ha > DefaultLimits.MaxAreaKm2*100*1.0001 {
			t.Fatalf("accepted area %g ha", ha)
		}
		for _, p := range a.Geometry {
			for _, r := range p {
				if len(r) < 4 || r[0] != r[len(r)-1] {
					t.Fatalf("accepted ring of %d positions, closed %v", len(r), len(r) > 0 && r[0] == r[len(r)-1])
				}
			}
		}
	})
}
