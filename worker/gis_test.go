package worker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/synth"
)

// checkVectorFiles opens base.{fgb,gpkg,geojson} in dir as a GIS client does (OGR and
// GEOS, through GDAL's Python bindings, not this module's code) and checks each: n
// features, every one a MultiPolygon that GEOS finds valid, the layer declared
// MultiPolygon, the dates Date fields (DateTime in FlatGeobuf, which has no date type), the lists string lists in GeoJSON; the GeoPackage
// carries its QGIS style as the layer's default, and base.qml lies next to the files.
func checkVectorFiles(t *testing.T, dir, base string, n int, dates, lists []string) {
	t.Helper()
	var paths []string
	for _, ext := range []string{"fgb", "gpkg", "geojson"} {
		paths = append(paths, filepath.Join(dir, base+"."+ext))
	}
	layers := testenv.OGRLayers(t, paths...)
	if len(layers) != len(paths) {
		t.Fatalf("%d layers in %v, want one each", len(layers), paths)
	}
	for _, l := range layers {
		name := filepath.Base(l.File)
		if l.Features != n {
			t.Errorf("%s: %d features, want %d", name, l.Features, n)
		}
		if len(l.Invalid) > 0 {
			t.Errorf("%s: GEOS finds %d of %d polygons invalid: %v", name, len(l.Invalid), l.Features, l.Invalid)
		}
		if l.Types["MULTIPOLYGON"] != l.Features || (n > 0 && l.GeomType != "Multi Polygon") {
			t.Errorf("%s: layer %s, features %v: want MultiPolygon everywhere", name, l.GeomType, l.Types)
		}
		for _, f := range dates {
			want := "Date"
			if filepath.Ext(name) == ".fgb" {
				want = "DateTime" // FlatGeobuf's only temporal column type: the day at 00:00
			}
			if l.Fields[f] != want {
				t.Errorf("%s: field %s is %q, want %s", name, f, l.Fields[f], want)
			}
		}
		for _, f := range lists {
			want := "String" // comma-joined: FlatGeobuf and GeoPackage have no list type in GDAL 3.6
			if filepath.Ext(name) == ".geojson" {
				want = "StringList"
			}
			if l.Fields[f] != want {
				t.Errorf("%s: field %s is %q, want %s", name, f, l.Fields[f], want)
			}
		}
		if filepath.Ext(name) == ".gpkg" {
			if len(l.Styles) != 1 || l.Styles[0].Default != 1 || l.Styles[0].Geometry != "geom" || l.Styles[0].QMLLength == 0 || l.Styles[0].SLDLength == 0 {
				t.Errorf("%s: layer_styles %+v, want one default style with QML and SLD", name, l.Styles)
			}
		}
	}
	if st, err := os.Stat(filepath.Join(dir, base+".qml")); err != nil || st.Size() == 0 {
		t.Errorf("%s.qml: %v", base, err)
	}
}

// TestVectorOutputsSeed3 runs the scene set GIS clients were tried on (synth --size 1024
// --seed 3, whose burn scar's outline touched itself at a pixel corner) and checks its
// change polygons as a GIS client does.
func TestVectorOutputsSeed3(t *testing.T) {
	scenes(t) // GDAL's drivers
	dir := t.TempDir()
	s, err := synth.Generate(context.Background(), dir, synth.Config{Size: 1024, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	sum, err := (&Pipeline{}).Detect(context.Background(), request(t, s.AOIGeoJSON, s.Root, out), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, out, sum)
	// The GeoJSON as RFC 7946 readers take it: ISO dates, scenes an array, no crs.
	data, err := os.ReadFile(filepath.Join(out, "changes.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		CRS      any `json:"crs"`
		Features []struct {
			Geometry   struct{ Type string }
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	if fc.CRS != nil || len(fc.Features) == 0 {
		t.Fatalf("crs %v, %d features", fc.CRS, len(fc.Features))
	}
	want := map[string]string{"before_start": "2023-01-01", "before_end": "2023-03-31", "after_start": "2024-01-01", "after_end": "2024-03-31"}
	for i, f := range fc.Features {
		for k, v := range want {
			if f.Properties[k] != v {
				t.Errorf("feature %d: %s %v, want %s", i, k, f.Properties[k], v)
			}
		}
		if sc, ok := f.Properties["scenes"].([]any); !ok || len(sc) == 0 {
			t.Errorf("feature %d: scenes %#v, want a non-empty array", i, f.Properties["scenes"])
		}
	}
}
