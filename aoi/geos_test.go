package aoi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGEOSValidityCases runs the fixtures of testdata/aoi/geos, one per
// OGC validity rule: invalid geometries are refused with a ValidationError
// naming the problem, repairable and valid ones are accepted. Overlapping
// parts are refused, so an accepted area is the area of the union.
func TestGEOSValidityCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "aoi", "geos", "*.geojson"))
	if err != nil || len(files) < 10 {
		t.Fatalf("fixtures: %v, %d files", err, len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".geojson"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := fixtureExpectation(t, data)
			a, err := Parse(data, Limits{})
			if want.Expect != "valid" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !strings.Contains(ve.Problem, want.Expect) {
					t.Fatalf("got %v, want a ValidationError containing %q", err, want.Expect)
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Geometry) != want.Polygons {
				t.Errorf("%d polygons, want %d: %v", len(a.Geometry), want.Polygons, a.Geometry)
			}
			checkOrientation(t, a.Geometry)
			// The repaired geometry passes the check as it stands.
			var polys []string
			for i := range a.Geometry {
				polys = append(polys, "p"+string(rune('0'+i)))
			}
			rings, err := makeValid(a.Geometry, polys)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkValid(rings); err != nil {
				t.Errorf("repaired geometry fails its own check: %v", err)
			}
		})
	}
}

type expectation struct {
	Expect   string `json:"expect"`
	Polygons int    `json:"polygons"`
}

func fixtureExpectation(t *testing.T, data []byte) expectation {
	t.Helper()
	var doc struct {
		Properties expectation `json:"properties"`
		Features   []struct {
			Properties expectation `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Features) > 0 {
		return doc.Features[0].Properties
	}
	return doc.Properties
}

func TestOverlapAreaWouldCountTwice(t *testing.T) {
	// The case: parts whose sum is more than their union are
	// refused rather than measured wrong.
	doc := `{"type":"MultiPolygon","coordinates":[[[[28.1,1.3],[28.12,1.3],[28.12,1.32],[28.1,1.32],[28.1,1.3]]],[[[28.11,1.31],[28.13,1.31],[28.13,1.33],[28.11,1.33],[28.11,1.31]]]]}`
	if _, err := Parse([]byte(doc), Limits{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("overlapping parts accepted: %v", err)
	}
}
