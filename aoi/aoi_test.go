package aoi

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/changewatch/changewatch/internal/testenv"
)

// sharedAOI is the folder of real AOI files in the shared data (see internal/testenv).
func sharedAOI(t testing.TB) string { return filepath.Join(testenv.SharedData(t), "aoi") }

// mineBox is the mine_site.geojson ring: ±0.009° around the IPIS Muchacha
// point (28.139152 E, 1.317064 N), counter-clockwise.
const mineBox = `[[28.130152, 1.308064], [28.148152, 1.308064], [28.148152, 1.326064], [28.130152, 1.326064], [28.130152, 1.308064]]`

// checkOrientation fails unless every shell is CCW and every hole CW.
func checkOrientation(t *testing.T, mp orb.MultiPolygon) {
	t.Helper()
	for i := 0; i < len(mp); i++ {
		for j := 0; j < len(mp[i]); j++ {
			want := orb.CCW
			if j > 0 {
				want = orb.CW
			}
			if got := mp[i][j].Orientation(); got != want {
				t.Errorf("polygon %d ring %d: orientation %v, want %v", i, j, got, want)
			}
		}
	}
}

func TestParseGood(t *testing.T) {
	hashID := regexp.MustCompile(`^aoi-[0-9a-f]{12}$`)
	tests := []struct {
		name      string
		input     string
		file      string // read from testdata/aoi instead of input
		wantID    string // "hash" for a derived id
		wantName  string // "" means same as ID
		wantPolys int
		wantRings []int // rings per polygon
		wantVerts int   // positions in the first ring after cleaning
		wantHa    float64
	}{
		{
			name:      "polygon clockwise is reoriented",
			input:     `{"type":"Polygon","coordinates":[[[0,0],[0,0.01],[0.01,0.01],[0.01,0],[0,0]]]}`,
			wantID:    "hash",
			wantPolys: 1, wantRings: []int{1}, wantVerts: 5, wantHa: 123.09,
		},
		{
			name: "multipolygon with hole",
			input: `{"type":"MultiPolygon","coordinates":[
				[[[0,0],[0.02,0],[0.02,0.02],[0,0.02],[0,0]], [[0.005,0.005],[0.015,0.005],[0.015,0.015],[0.005,0.015],[0.005,0.005]]],
				[[[1,1],[1.01,1],[1.01,1.01],[1,1.01],[1,1]]]]}`,
			wantID:    "hash",
			wantPolys: 2, wantRings: []int{2, 1}, wantVerts: 5,
			wantHa: 4*123.09 - 123.09 + 123.07,
		},
		{
			name:      "feature file with id and name",
			file:      "mine_site.geojson",
			wantID:    "muchacha",
			wantName:  "Muchacha gold mine (IPIS)",
			wantPolys: 1, wantRings: []int{1}, wantVerts: 5, wantHa: 398.71,
		},
		{
			name:      "feature with aoi_id, NOM and 3d positions",
			input:     `{"type":"Feature","properties":{"aoi_id":"a-7","NOM":"Réserve"},"geometry":{"type":"Polygon","coordinates":[[[0,0,900],[0.01,0,900],[0.01,0.01,901],[0,0.01,902],[0,0,900]]]}}`,
			wantID:    "a-7",
			wantName:  "Réserve",
			wantPolys: 1, wantRings: []int{1}, wantVerts: 5, wantHa: 123.09,
		},
		{
			name:      "feature with numeric feature id and duplicate points",
			input:     `{"type":"Feature","id":42,"properties":null,"geometry":{"type":"Polygon","coordinates":[[[0,0],[0,0],[0.01,0],[0.01,0.01],[0.01,0.01],[0,0.01],[0,0]]]}}`,
			wantID:    "42",
			wantPolys: 1, wantRings: []int{1}, wantVerts: 5, wantHa: 123.09,
		},
		{
			name: "feature collection collects polygons, id from first feature",
			input: `{"type":"FeatureCollection","features":[
				{"type":"Feature","properties":{"id":"first","name":"First"},"geometry":{"type":"Polygon","coordinates":[` + mineBox + `]}},
				{"type":"Feature","properties":{"id":"second"},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[0.01,0],[0.01,0.01],[0,0.01],[0,0]]],[[[1,1],[1.01,1],[1.01,1.01],[1,1.01],[1,1]]]]}}]}`,
			wantID:    "first",
			wantName:  "First",
			wantPolys: 3, wantRings: []int{1, 1, 1}, wantVerts: 5,
			wantHa: 398.71 + 123.09 + 123.07,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a *AOI
			var err error
			if tt.file != "" {
				a, err = ParseFile(filepath.Join("..", "testdata", "aoi", tt.file), Limits{})
			} else {
				a, err = Parse([]byte(tt.input), Limits{})
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if tt.wantID == "hash" {
				if !hashID.MatchString(a.ID) {
					t.Errorf("ID = %q, want aoi-<12 hex>", a.ID)
				}
			} else if a.ID != tt.wantID {
				t.Errorf("ID = %q, want %q", a.ID, tt.wantID)
			}
			wantName := tt.wantName
			if wantName == "" {
				wantName = a.ID
			}
			if a.Name != wantName {
				t.Errorf("Name = %q, want %q", a.Name, wantName)
			}
			if len(a.Geometry) != tt.wantPolys {
				t.Fatalf("%d polygons, want %d", len(a.Geometry), tt.wantPolys)
			}
			for i := 0; i < len(tt.wantRings); i++ {
				if len(a.Geometry[i]) != tt.wantRings[i] {
					t.Errorf("polygon %d: %d rings, want %d", i, len(a.Geometry[i]), tt.wantRings[i])
				}
			}
			if n := len(a.Geometry[0][0]); n != tt.wantVerts {
				t.Errorf("first ring has %d positions, want %d", n, tt.wantVerts)
			}
			checkOrientation(t, a.Geometry)
			if got := a.AreaHa(); math.Abs(got-tt.wantHa) > 0.1 {
				t.Errorf("AreaHa = %.3f, want %.2f", got, tt.wantHa)
			}
		})
	}
}

func TestStableID(t *testing.T) {
	ccw := `{"type":"Polygon","coordinates":[[[0,0],[0.01,0],[0.01,0.01],[0,0.01],[0,0]]]}`
	// Same ring, clockwise, with a repeated position.
	cw := `{"type":"Polygon","coordinates":[[[0,0],[0,0.01],[0,0.01],[0.01,0.01],[0.01,0],[0,0]]]}`
	other := `{"type":"Polygon","coordinates":[[[0,0],[0.02,0],[0.02,0.02],[0,0.02],[0,0]]]}`
	ids := make([]string, 3)
	for i, in := range []string{ccw, cw, other} {
		a, err := Parse([]byte(in), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = a.ID
	}
	if ids[0] != ids[1] {
		t.Errorf("same area, different ids: %s, %s", ids[0], ids[1])
	}
	if ids[0] == ids[2] {
		t.Errorf("different areas, same id %s", ids[0])
	}
}

func TestParseBad(t *testing.T) {
	poly := func(ring string) string {
		return `{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[` + ring + `]}}`
	}
	tests := []struct {
		name        string
		input       string
		file        string // read from testdata/aoi instead of input
		lim         Limits
		wantField   string
		wantProblem string
	}{
		{name: "not json", input: `{"type":"Polygon"`, wantField: "json", wantProblem: "not valid json"},
		{name: "json array", input: `[1,2]`, wantField: "json", wantProblem: "not a geojson object: got a json array"},
		{name: "type not a string", input: `{"type":5}`, wantField: "type", wantProblem: "wrong json type: got number"},
		{name: "feature type not a string", input: `{"type":"FeatureCollection","features":[{"type":["Feature"]}]}`, wantField: "features[0].type", wantProblem: "wrong json type: got array"},
		{name: "no type", input: `{"coordinates":[]}`, wantField: "type", wantProblem: "missing geojson type"},
		{name: "unknown type", input: `{"type":"Polygone","coordinates":[]}`, wantField: "type", wantProblem: `unsupported geojson type "Polygone"`},
		{name: "bare point", input: `{"type":"Point","coordinates":[28.1,1.3]}`, wantField: "type", wantProblem: "Point is not an area; a Polygon or MultiPolygon is required"},
		{name: "linestring feature", input: `{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`, wantField: "geometry.type", wantProblem: "LineString is not an area"},
		{name: "geometry collection", input: `{"type":"GeometryCollection","geometries":[]}`, wantField: "type", wantProblem: "GeometryCollection is not supported"},
		{name: "point feature file", file: "bad_point.geojson", wantField: "geometry.type", wantProblem: "Point is not an area"},
		{name: "null geometry", input: `{"type":"Feature","properties":{},"geometry":null}`, wantField: "geometry", wantProblem: "empty geometry"},
		{name: "empty polygon", input: `{"type":"Polygon","coordinates":[]}`, wantField: "coordinates", wantProblem: "empty geometry"},
		{name: "null coordinates", input: `{"type":"Feature","geometry":{"type":"Polygon","coordinates":null}}`, wantField: "geometry.coordinates", wantProblem: "empty geometry"},
		{name: "empty multipolygon member", input: `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[]]}`, wantField: "coordinates[1]", wantProblem: "empty polygon"},
		{name: "empty collection", input: `{"type":"FeatureCollection","features":[]}`, wantField: "features", wantProblem: "no polygon features"},
		{name: "collection without features", input: `{"type":"FeatureCollection"}`, wantField: "features", wantProblem: "no polygon features"},
		{
			name:      "collection with a point feature",
			input:     `{"type":"FeatureCollection","features":[` + poly(mineBox) + `,{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[28.1,1.3]}}]}`,
			wantField: "features[1].geometry.type", wantProblem: "Point is not an area",
		},
		{
			name:      "collection member not a feature",
			input:     `{"type":"FeatureCollection","features":[{"type":"Polygon","coordinates":[` + mineBox + `]}]}`,
			wantField: "features[0].type", wantProblem: `expected a Feature, got "Polygon"`,
		},
		{name: "properties not an object", input: `{"type":"Feature","properties":[1],"geometry":{"type":"Polygon","coordinates":[` + mineBox + `]}}`, wantField: "properties", wantProblem: "not an object"},
		{name: "coordinates not numbers", input: poly(`[["a","b"]]`), wantField: "geometry.coordinates", wantProblem: "not nested arrays of [lon, lat] numbers"},
		{name: "infinite number", input: poly(`[[1e999,0],[1,0],[1,1],[1e999,0]]`), wantField: "geometry.coordinates", wantProblem: "1e999"},
		{name: "ring of 3 positions", input: poly(`[[0,0],[1,0],[0,0]]`), wantField: "geometry.coordinates[0]", wantProblem: "ring has 3 positions, at least 4 are required"},
		{name: "empty ring", input: poly(`[]`), wantField: "geometry.coordinates[0]", wantProblem: "ring has 0 positions"},
		{name: "ring not closed", input: poly(`[[0,0],[1,0],[1,1],[0,1]]`), wantField: "geometry.coordinates[0]", wantProblem: "ring is not closed: first position [0, 0] differs from last [0, 1]"},
		{name: "ring not closed file", file: "bad_not_closed.geojson", wantField: "coordinates[0]", wantProblem: "ring is not closed"},
		{name: "position with one number", input: poly(`[[0,0],[1,0],[1],[0,0]]`), wantField: "geometry.coordinates[0][2]", wantProblem: "position has 1 number(s), [lon, lat] is required"},
		{name: "longitude out of range", input: poly(`[[0,0],[200,0],[1,1],[0,0]]`), wantField: "geometry.coordinates[0][1]", wantProblem: "longitude 200 is out of range [-180, 180]"},
		{name: "latitude out of range", input: poly(`[[0,0],[1,0],[120,-95],[0,0]]`), wantField: "geometry.coordinates[0][2]", wantProblem: "latitude -95 is out of range [-90, 90]"},
		{name: "lat lon swapped", input: poly(`[[45,100],[46,100],[46,101],[45,100]]`), wantField: "geometry.coordinates[0][0]", wantProblem: "looks like [lat, lon], geojson requires [lon, lat]"},
		{name: "projected metres", input: poly(`[[626717.3,145597.3],[627717.3,145597.3],[627717.3,146597.3],[626717.3,145597.3]]`), wantField: "geometry.coordinates[0][0]", wantProblem: "coordinates look projected (metres), EPSG:4326 lon/lat is required"},
		{name: "projected metres file", file: "bad_projected.geojson", wantField: "geometry.coordinates[0][0]", wantProblem: "coordinates look projected (metres)"},
		{
			name:      "multipolygon position path",
			input:     `{"type":"MultiPolygon","coordinates":[[` + mineBox + `],[[[0,0],[1,0],[1,1],[0,0]],[[0.1,0.1],[0.2,0.1],[0.2,95],[0.1,0.1]]]]}`,
			wantField: "coordinates[1][1][2]", wantProblem: "latitude 95 is out of range",
		},
		{name: "bow tie", input: poly(`[[0,0],[1,0],[0,1],[1,1],[0,0]]`), wantField: "geometry.coordinates[0]", wantProblem: "ring self-intersects near [0.500000, 0.500000]: edge from position 1 crosses edge from position 3"},
		{name: "bow tie file", file: "bad_self_intersecting.geojson", wantField: "geometry.coordinates[0]", wantProblem: "self-intersects"},
		{name: "self-intersecting hole", input: poly(`[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.2,0.2],[0.8,0.2],[0.2,0.8],[0.8,0.8],[0.2,0.2]]`), wantField: "geometry.coordinates[1]", wantProblem: "self-intersects"},
		{name: "collinear ring", input: poly(`[[0,0],[1,0],[2,0],[0,0]]`), wantField: "geometry.coordinates[0]", wantProblem: "ring has zero area"},
		{name: "zero area hole", input: poly(`[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.2,0.2],[0.4,0.2],[0.6,0.2],[0.2,0.2]]`), wantField: "geometry.coordinates[1]", wantProblem: "ring has zero area"},
		{name: "fewer than 3 distinct positions", input: poly(`[[0,0],[0,0],[1,1],[1,1],[0,0]]`), wantField: "geometry.coordinates[0]", wantProblem: "fewer than 3 distinct positions"},
		{
			name:      "area above default limit",
			input:     poly(`[[27,-1],[30,-1],[30,2],[27,2],[27,-1]]`),
			wantField: "geometry", wantProblem: "area 110765.2 km² exceeds the limit of 50000 km²",
		},
		{
			name:      "area above custom limit",
			file:      "mine_site.geojson",
			lim:       Limits{MaxAreaKm2: 1},
			wantField: "geometry", wantProblem: "area 4.0 km² exceeds the limit of 1 km²",
		},
		{
			name:      "area above limit in a collection",
			input:     `{"type":"FeatureCollection","features":[` + poly(mineBox) + `]}`,
			lim:       Limits{MaxAreaKm2: 3.5},
			wantField: "features", wantProblem: "exceeds the limit of 3.5 km²",
		},
		{name: "too many vertices", file: "mine_site.geojson", lim: Limits{MaxVertices: 4}, wantField: "geometry", wantProblem: "too many vertices: 5, the limit is 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.file != "" {
				_, err = ParseFile(filepath.Join("..", "testdata", "aoi", tt.file), tt.lim)
			} else {
				_, err = Parse([]byte(tt.input), tt.lim)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%v is not a *ValidationError", err)
			}
			if ve.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (error %v)", ve.Field, tt.wantField, err)
			}
			if !strings.Contains(ve.Problem, tt.wantProblem) {
				t.Errorf("Problem = %q, want it to contain %q", ve.Problem, tt.wantProblem)
			}
			if want := "aoi: " + ve.Field + ": " + ve.Problem; ve.Error() != want {
				t.Errorf("Error() = %q, want %q", ve.Error(), want)
			}
			t.Log(err)
		})
	}
}

func TestCheckLonLatNotFinite(t *testing.T) {
	// JSON cannot carry NaN or Inf (see "infinite number" in TestParseBad),
	// so the check is exercised directly.
	tests := []struct {
		name     string
		lon, lat float64
	}{
		{"nan lon", math.NaN(), 0},
		{"nan lat", 0, math.NaN()},
		{"+inf", math.Inf(1), 0},
		{"-inf", 0, math.Inf(-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkLonLat("coordinates[0][0]", tt.lon, tt.lat)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "aoi: coordinates[0][0]: coordinate is not a finite number") {
				t.Errorf("got %v", err)
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	_, err := ParseFile(filepath.Join("..", "testdata", "aoi", "does_not_exist.geojson"), Limits{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("missing file must not match ErrInvalid: %v", err)
	}
	path := filepath.Join("..", "testdata", "aoi", "bad_point.geojson")
	_, err = ParseFile(path, Limits{})
	if !strings.HasPrefix(err.Error(), "parse aoi "+path+": aoi: geometry.type: ") {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestReserves(t *testing.T) {
	tests := []struct {
		file     string
		wantUTM  UTM
		wantName string
		// wantKm2 is the ellipsoidal (WGS84) area of the polygon from SpatiaLite,
		// ogrinfo -dialect SQLite -sql "SELECT ST_Area(geometry, 1)/1e6 ..."
		// (GDAL 3.6.2).
		wantKm2 float64
	}{
		{"okapi_wildlife_reserve_wri_2013.geojson", UTM{35, true}, "Réserve de faune à Okapis", 13939.5800422314},
		{"itombwe_nature_reserve_wri_2013.geojson", UTM{35, false}, "Réserve naturelle d'Itombwe", 6033.16821340347},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			start := time.Now()
			a, err := ParseFile(filepath.Join(sharedAOI(t), tt.file), Limits{})
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if took > time.Second {
				t.Errorf("parse took %v, want well under a second", took)
			}
			km2 := a.AreaHa() / 100
			t.Logf("%s: %s, %d vertices, geodesic area %.1f km², UTM %v, parsed in %v",
				a.ID, a.Name, len(a.Geometry[0][0]), km2, a.UTM(), took)
			if a.Name != tt.wantName {
				t.Errorf("Name = %q, want %q", a.Name, tt.wantName)
			}
			if got := a.UTM(); got != tt.wantUTM {
				t.Errorf("UTM = %v, want %v", got, tt.wantUTM)
			}
			if math.Abs(km2-tt.wantKm2) > 1e-5*tt.wantKm2 {
				t.Errorf("area %.4f km², want %.4f (SpatiaLite, WGS84 ellipsoid)", km2, tt.wantKm2)
			}
			// The WRI attribute Sup_SIG is the GIS area in hectares.
			supSIG, ok := a.Properties["Sup_SIG"].(float64)
			if !ok {
				t.Fatalf("no Sup_SIG attribute in %v", a.Properties)
			}
			if rel := a.AreaHa()/supSIG - 1; math.Abs(rel) > 0.03 {
				t.Errorf("area %.0f ha differs from Sup_SIG %.0f ha by %.1f%%", a.AreaHa(), supSIG, 100*rel)
			}
			checkOrientation(t, a.Geometry)
		})
	}
}

// TestAllDRCProtectedAreas parses each of the 50 features of the WRI layer
// (Salonga alone has 57 784 vertices) as an AOI of its own. GEOS calls
// Itombwe and Luo invalid because their rings pass twice through a vertex
// or double back on a spike: both are repaired. The layer as one AOI is
// refused: some areas overlap (a hunting domain and the park it borders).
func TestAllDRCProtectedAreas(t *testing.T) {
	path := filepath.Join(sharedAOI(t), "drc_protected_areas_wri_2013.geojson")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	polys := 0
	for i, f := range fc.Features {
		a, err := Parse(f, Limits{MaxAreaKm2: -1})
		if err != nil {
			t.Errorf("feature %d: %v", i, err)
			continue
		}
		polys += len(a.Geometry)
		checkOrientation(t, a.Geometry)
	}
	t.Logf("%d features, %d polygons, parsed in %v", len(fc.Features), polys, time.Since(start))
	if len(fc.Features) != 50 || polys < 57 {
		t.Errorf("%d features, %d polygons, want 50 and at least 57 (44 polygons and 6 multipolygons of 2, 3, 2, 2, 2, 2, and split rings)", len(fc.Features), polys)
	}
	_, err = ParseFile(path, Limits{MaxAreaKm2: -1})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "overlaps polygon") {
		t.Errorf("whole layer: got %v, want an overlap error", err)
	}
}

// bruteSelfIntersection is the O(n²) reference for selfIntersection.
func bruteSelfIntersection(r orb.Ring) bool {
	n := len(r) - 1
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if adjacent(i, j, n) {
				continue
			}
			if _, ok := properIntersection(r[i], r[i+1], r[j], r[j+1]); ok {
				return true
			}
		}
	}
	return false
}

func TestSelfIntersectionSweepMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	found := 0
	for k := 0; k < 2000; k++ {
		n := 4 + rng.IntN(40)
		r := make(orb.Ring, 0, n+1)
		star := k%2 == 0
		for i := 0; i < n; i++ {
			if star {
				// Star-shaped around the origin: simple unless an angle
				// step is perturbed backwards.
				ang := 2 * math.Pi * (float64(i) + 0.9*rng.Float64()) / float64(n)
				rad := 0.2 + rng.Float64()
				r = append(r, orb.Point{rad * math.Cos(ang), rad * math.Sin(ang)})
			} else {
				r = append(r, orb.Point{math.Round(rng.Float64()*20) / 10, math.Round(rng.Float64()*20) / 10})
			}
		}
		r = append(r, r[0])
		_, _, _, got := selfIntersection(r)
		want := bruteSelfIntersection(r)
		if got != want {
			t.Fatalf("ring %v: sweep %v, brute force %v", r, got, want)
		}
		if got {
			found++
		}
	}
	t.Logf("%d of 2000 random rings self-intersect", found)
	if found < 100 || found > 1900 {
		t.Errorf("test rings not varied enough: %d self-intersecting", found)
	}
}

func TestGeodesicAreaHa(t *testing.T) {
	const rad = math.Pi / 180
	// Exact area of a lon/lat box on the WGS84 ellipsoid: Δλ b² [F(φ2) − F(φ1)] with
	// F(φ) = sin φ / (2(1 − e² sin² φ)) + ln((1 + e sin φ)/(1 − e sin φ)) / (4e).
	const a, invF = 6378137.0, 298.257223563
	e2 := 2/invF - 1/(invF*invF)
	e := math.Sqrt(e2)
	F := func(phi float64) float64 {
		s := math.Sin(phi * rad)
		return s/(2*(1-e2*s*s)) + math.Log((1+e*s)/(1-e*s))/(4*e)
	}
	box := func(lon0, lat0, d float64) float64 {
		return d * rad * a * a * (1 - e2) * (F(lat0+d) - F(lat0)) / 1e4
	}
	square := func(lon0, lat0, d float64) orb.Ring {
		return orb.Ring{{lon0, lat0}, {lon0 + d, lat0}, {lon0 + d, lat0 + d}, {lon0, lat0 + d}, {lon0, lat0}}
	}
	reversed := func(r orb.Ring) orb.Ring {
		c := append(orb.Ring(nil), r...)
		c.Reverse()
		return c
	}
	tests := []struct {
		name string
		g    orb.Geometry
		want float64
	}{
		// from the closed form above: 123.09072 ha.
		{"0.01 degree square at the equator", orb.Polygon{square(0, 0, 0.01)}, 123.09072},
		{"same square clockwise", orb.Polygon{reversed(square(0, 0, 0.01))}, 123.09072},
		{"bare ring", square(0, 0, 0.01), 123.09072},
		{"bound", orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{0.01, 0.01}}, 123.09072},
		{"square at Muchacha", orb.Polygon{square(28.130152, 1.308064, 0.018)}, box(28.130152, 1.308064, 0.018)},
		{"1 degree square at 60 S", orb.Polygon{square(10, -60, 1)}, box(10, -60, 1)},
		{"hole subtracts", orb.Polygon{square(0, 0, 0.02), reversed(square(0.005, 0.005, 0.01))}, box(0, 0, 0.02) - box(0.005, 0.005, 0.01)},
		{"multipolygon sums", orb.MultiPolygon{{square(0, 0, 0.01)}, {square(1, 1, 0.01)}}, box(0, 0, 0.01) + box(1, 1, 0.01)},
		{"point has no area", orb.Point{1, 1}, 0},
		{"empty polygon", orb.Polygon{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GeodesicAreaHa(tt.g)
			if math.Abs(got-tt.want) > 1e-4+1e-9*tt.want {
				t.Errorf("GeodesicAreaHa = %.6f ha, want %.6f", got, tt.want)
			}
		})
	}
}

func TestUTMZoneOf(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		want     UTM
		epsg     int
		str      string
	}{
		{"okapi centre", 28.534, 1.722, UTM{35, true}, 32635, "35N"},
		{"itombwe centre", 28.572, -3.428, UTM{35, false}, 32735, "35S"},
		{"bunia", 30.25, 1.56, UTM{36, true}, 32636, "36N"},
		{"uvira", 29.14, -3.37, UTM{35, false}, 32735, "35S"},
		{"lake tanganyika east shore", 30.1, -5.0, UTM{36, false}, 32736, "36S"},
		{"equator is north", 28.0, 0, UTM{35, true}, 32635, "35N"},
		{"zone boundary 30 E", 30.0, 1, UTM{36, true}, 32636, "36N"},
		{"kinshasa", 15.31, -4.32, UTM{33, false}, 32733, "33S"},
		{"antimeridian east", 180, 0, UTM{60, true}, 32660, "60N"},
		{"antimeridian west", -180, 0, UTM{1, true}, 32601, "1N"},
		{"norway exception", 5, 60, UTM{32, true}, 32632, "32N"},
		{"svalbard exception", 15, 78, UTM{33, true}, 32633, "33N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UTMZoneOf(tt.lon, tt.lat)
			if got != tt.want || got.EPSG() != tt.epsg || got.String() != tt.str {
				t.Errorf("UTMZoneOf(%v, %v) = %v (EPSG %d), want %v (EPSG %d)", tt.lon, tt.lat, got, got.EPSG(), tt.want, tt.epsg)
			}
		})
	}
}

// Reference values from PROJ through GDAL 3.6.2, for example
//
//	echo "28.139 1.317" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:32635 -output_xy
var utmReference = []struct {
	name     string
	u        UTM
	lon, lat float64
	e, n     float64
}{
	{"central meridian at equator", UTM{35, true}, 27, 0, 500000, 0},
	{"muchacha 35N", UTM{35, true}, 28.139, 1.317, 626717.319722603, 145597.279938408},
	{"muchacha in 35S", UTM{35, false}, 28.139, 1.317, 626717.319722603, 10145597.2799384},
	{"okapi NE 35N", UTM{35, true}, 29.084, 2.478, 731732.878537262, 274077.441224244},
	{"itombwe 35S", UTM{35, false}, 28.57, -3.43, 674412.644923388, 9620734.40264313},
	{"bukavu 35S", UTM{35, false}, 28.86, -2.51, 706810.62129172, 9722420.75402858},
	{"goma 35S", UTM{35, false}, 29.22, -1.68, 746987.060137546, 9814168.65373743},
	{"bunia 36N", UTM{36, true}, 30.25, 1.56, 193988.37849944, 172627.341338424},
	{"west edge of 35", UTM{35, true}, 24.0, 0.5, 166034.098266795, 55341.388215555},
	{"36S", UTM{36, false}, 30.0, -5.0, 167286.201261557, 9446576.01311667},
	{"one zone beyond 35S", UTM{35, false}, 33.0, -4.0, 1167251.17456618, 9555428.72427978},
	{"9 degrees east of 35N", UTM{35, true}, 36.0, 2.0, 1505028.11053561, 223833.173540045},
	{"oslo 32N", UTM{32, true}, 10.75, 59.91, 597868.381063372, 6642681.51016147},
}

func TestUTMForward(t *testing.T) {
	for _, tt := range utmReference {
		t.Run(tt.name, func(t *testing.T) {
			e, n := tt.u.Forward(tt.lon, tt.lat)
			if math.Abs(e-tt.e) > 0.001 || math.Abs(n-tt.n) > 0.001 {
				t.Errorf("Forward(%v, %v) = %.4f, %.4f, want %.4f, %.4f (diff %.2g, %.2g m)",
					tt.lon, tt.lat, e, n, tt.e, tt.n, e-tt.e, n-tt.n)
			}
		})
	}
}

func TestUTMInverse(t *testing.T) {
	// gdaltransform -s_srs EPSG:327zz/326zz -t_srs EPSG:4326 -output_xy
	tests := []struct {
		name     string
		u        UTM
		e, n     float64
		lon, lat float64
	}{
		{"35N", UTM{35, true}, 600000, 200000, 27.8990829047473, 1.8092325753746},
		{"35S", UTM{35, false}, 700000, 9600000, 28.8006169612535, -3.61708304999581},
		{"36N", UTM{36, true}, 250000, 50000, 30.7538230506561, 0.452015688236892},
		{"35S far west", UTM{35, false}, 166000, 9000000, 23.9623390353187, -9.03397884623141},
	}
	// 1e-7 degree is about 1.1 cm on the ground.
	const tol = 1e-7
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lon, lat := tt.u.Inverse(tt.e, tt.n)
			if math.Abs(lon-tt.lon) > tol || math.Abs(lat-tt.lat) > tol {
				t.Errorf("Inverse(%v, %v) = %.10f, %.10f, want %.10f, %.10f", tt.e, tt.n, lon, lat, tt.lon, tt.lat)
			}
		})
	}
	for _, tt := range utmReference {
		t.Run("inverse of "+tt.name, func(t *testing.T) {
			lon, lat := tt.u.Inverse(tt.e, tt.n)
			if math.Abs(lon-tt.lon) > tol || math.Abs(lat-tt.lat) > tol {
				t.Errorf("Inverse(%v, %v) = %.10f, %.10f, want %v, %v", tt.e, tt.n, lon, lat, tt.lon, tt.lat)
			}
		})
	}
}

func TestUTMRoundTrip(t *testing.T) {
	// Eastern DRC and well beyond, in zones 35 and 36, both hemispheres,
	// up to 9 degrees from the central meridian.
	zones := []UTM{{35, true}, {35, false}, {36, true}, {36, false}}
	for _, u := range zones {
		t.Run(u.String(), func(t *testing.T) {
			cm := u.centralMeridian()
			for lon := cm - 9; lon <= cm+9; lon += 0.75 {
				for lat := -12.0; lat <= 12; lat += 0.5 {
					e, n := u.Forward(lon, lat)
					lon2, lat2 := u.Inverse(e, n)
					e2, n2 := u.Forward(lon2, lat2)
					if math.Hypot(e2-e, n2-n) > 1e-6 || math.Abs(lon2-lon) > 1e-11 || math.Abs(lat2-lat) > 1e-11 {
						t.Fatalf("(%v, %v) -> (%v, %v) -> (%v, %v)", lon, lat, e, n, lon2, lat2)
					}
				}
			}
		})
	}
}

// Corners of the mine_site.geojson box in EPSG:32635 from gdaltransform.
var mineCornersUTM = [4]orb.Point{
	{625733.269492973, 144608.936841878},
	{627736.098462893, 144609.845980151},
	{627735.181767754, 146599.799165195},
	{625732.367178704, 146598.877525293},
}

func TestProjectBoundAndRings(t *testing.T) {
	a, err := ParseFile(filepath.Join("..", "testdata", "aoi", "mine_site.geojson"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	u := a.UTM()
	if u != (UTM{35, true}) || u.EPSG() != 32635 {
		t.Fatalf("UTM = %v (EPSG %d), want 35N", u, u.EPSG())
	}
	minE, minN, maxE, maxN := u.ProjectBound(a.Bound())
	want := [4]float64{625732.367178704, 144608.936841878, 627736.098462893, 146599.799165195}
	got := [4]float64{minE, minN, maxE, maxN}
	for i := 0; i < 4; i++ {
		if math.Abs(got[i]-want[i]) > 0.01 {
			t.Errorf("ProjectBound = %v, want %v", got, want)
			break
		}
	}

	pr := a.ProjectRings(u)
	if len(pr) != 1 || len(pr[0]) != 1 || len(pr[0][0]) != 5 {
		t.Fatalf("ProjectRings shape: %v", pr)
	}
	for i := 0; i < 4; i++ {
		if d := math.Hypot(pr[0][0][i][0]-mineCornersUTM[i][0], pr[0][0][i][1]-mineCornersUTM[i][1]); d > 0.01 {
			t.Errorf("corner %d: %v, want %v", i, pr[0][0][i], mineCornersUTM[i])
		}
	}
	checkOrientation(t, pr)
	// Planar UTM area against the geodesic area: the UTM scale factor
	// here is about 0.99966, so areas agree to within 0.1%.
	planarHa := 0.0
	r := pr[0][0]
	for i := 0; i+1 < len(r); i++ {
		planarHa += (r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]) / 2 / 1e4
	}
	if rel := planarHa/a.AreaHa() - 1; math.Abs(rel) > 0.01 {
		t.Errorf("UTM area %.2f ha vs geodesic %.2f ha (%.2f%%)", planarHa, a.AreaHa(), 100*rel)
	}
}

func TestFixturesListed(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "aoi", "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "testdata", "aoi", "*.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(files); i++ {
		if name := filepath.Base(files[i]); !strings.Contains(string(src), "`"+name+"`") {
			t.Errorf("%s is not described in testdata/aoi/SOURCES.md", name)
		}
	}
}

func BenchmarkParseOkapi(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(sharedAOI(b), "okapi_wildlife_reserve_wri_2013.geojson"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
