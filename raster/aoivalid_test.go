package raster

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb/geojson"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/internal/testenv"
)

// TestAOIValidityAgreesWithGEOS holds package aoi's pure-Go validity check
// against GEOS (through GDAL): on the fixtures of testdata/aoi/geos and on
// each of the 50 WRI protected areas of DRC, every AOI that aoi.Parse
// accepts is GEOS-valid as it leaves Parse, with the area of the input's
// union, and every input that GEOS calls invalid is refused or repaired.
func TestAOIValidityAgreesWithGEOS(t *testing.T) {
	type input struct {
		name string
		geom string // GeoJSON geometry as written
		doc  []byte // the document Parse reads
	}
	var inputs []input
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "aoi", "geos", "*.geojson"))
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fx struct {
			Geometry   json.RawMessage `json:"geometry"`
			Properties struct {
				GEOSInputValid bool `json:"geos_input_valid"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(doc, &fx); err != nil {
			t.Fatal(err)
		}
		if fx.Geometry == nil {
			continue // a collection: its parts are GEOS-valid one by one
		}
		g, err := godal.NewGeometryFromGeoJSON(string(fx.Geometry))
		if err != nil {
			t.Fatal(err)
		}
		if g.Valid() != fx.Properties.GEOSInputValid {
			t.Errorf("%s: GEOS says valid=%v, the fixture says geos_input_valid=%v", f, g.Valid(), fx.Properties.GEOSInputValid)
		}
		g.Close()
		inputs = append(inputs, input{filepath.Base(f), string(fx.Geometry), doc})
	}
	if len(inputs) < 10 {
		t.Fatalf("%d fixtures", len(inputs))
	}
	shared := filepath.Join(testenv.SharedData(t), "aoi", "drc_protected_areas_wri_2013.geojson")
	data, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	for i, f := range fc.Features {
		doc, _ := json.Marshal(map[string]any{"type": "Feature", "properties": map[string]any{"id": fmt.Sprintf("drc-%02d", i)}, "geometry": f.Geometry})
		inputs = append(inputs, input{fmt.Sprintf("drc feature %02d", i), string(f.Geometry), doc})
	}

	geos := func(t *testing.T, gj string) *godal.Geometry {
		t.Helper()
		g, err := godal.NewGeometryFromGeoJSON(gj)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		return g
	}
	accepted, repaired, refused := 0, 0, 0
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			g := geos(t, in.geom)
			a, err := aoi.Parse(in.doc, aoi.Limits{MaxAreaKm2: -1})
			if err != nil {
				if g.Valid() {
					t.Fatalf("GEOS-valid input refused: %v", err)
				}
				refused++
				return
			}
			out, err := geojson.NewGeometry(a.Geometry).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			og := geos(t, string(out))
			if !og.Valid() {
				t.Fatalf("accepted AOI is GEOS-invalid: %s", out)
			}
			// The area of what Parse returns is the area of the
			// input's union (a repaired input: of its valid form).
			want := g
			if !g.Valid() {
				repaired++
				u, err := g.Buffer(0, 8)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(u.Close)
				want = u
			} else {
				accepted++
			}
			if d := math.Abs(og.Area()/want.Area() - 1); d > 1e-9 {
				t.Errorf("area %.9g, GEOS %.9g (rel diff %.2g)", og.Area(), want.Area(), d)
			}
		})
	}
	t.Logf("%d accepted as written, %d repaired, %d refused (all GEOS-invalid)", accepted, repaired, refused)
}

// TestAOIValidityRandomAgainstGEOS draws random polygons and multipolygons
// on a coarse grid, where touches, shared segments, crossings and nesting
// are frequent, and requires aoi.Parse and GEOS to agree: GEOS-valid input
// is accepted unchanged in area, accepted output is GEOS-valid, and refused
// input is GEOS-invalid.
func TestAOIValidityRandomAgainstGEOS(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	ring := func(n int, x0, y0 float64) [][]float64 {
		r := make([][]float64, 0, n+1)
		for i := 0; i < n; i++ {
			// Multiples of 1/64° are exact in binary, so collinear
			// points are exactly collinear for both checks.
			r = append(r, []float64{28 + (x0+float64(rng.IntN(4)))/64, 1 + (y0+float64(rng.IntN(4)))/64})
		}
		return append(r, r[0])
	}
	polygon := func(x0, y0 float64) [][][]float64 {
		p := [][][]float64{ring(3+rng.IntN(5), x0, y0)}
		for h := rng.IntN(3); h > 0; h-- {
			p = append(p, ring(3+rng.IntN(2), x0, y0))
		}
		return p
	}
	counts := map[string]int{}
	for k := 0; k < 4000; k++ {
		var geom map[string]any
		if k%2 == 0 {
			geom = map[string]any{"type": "Polygon", "coordinates": polygon(0, 0)}
		} else {
			geom = map[string]any{"type": "MultiPolygon", "coordinates": [][][][]float64{polygon(0, 0), polygon(float64(rng.IntN(4)), float64(rng.IntN(4)))}}
		}
		gj, _ := json.Marshal(geom)
		g, err := godal.NewGeometryFromGeoJSON(string(gj))
		if err != nil {
			t.Fatal(err)
		}
		gValid := g.Valid()
		a, perr := aoi.Parse(gj, aoi.Limits{MinAreaHa: -1})
		switch {
		case perr != nil && gValid:
			t.Errorf("GEOS-valid input refused: %s: %v", gj, perr)
		case perr != nil:
			counts["refused"]++
		default:
			out, _ := geojson.NewGeometry(a.Geometry).MarshalJSON()
			og, err := godal.NewGeometryFromGeoJSON(string(out))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case !og.Valid():
				t.Errorf("accepted AOI is GEOS-invalid: %s -> %s", gj, out)
			case gValid && math.Abs(og.Area()/g.Area()-1) > 1e-9:
				t.Errorf("area changed: %s -> %s", gj, out)
			case gValid:
				counts["accepted"]++
			default:
				counts["repaired"]++
			}
			og.Close()
		}
		g.Close()
	}
	t.Logf("random geometries: %v", counts)
	if counts["accepted"] < 200 || counts["refused"] < 200 {
		t.Errorf("random geometries not varied enough: %v", counts)
	}
}
