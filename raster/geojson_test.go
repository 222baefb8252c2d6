package raster

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
)

// TestGeoJSONMatchesGDAL holds writeGeoJSON byte for byte against GDAL's GeoJSON driver
// (COORDINATE_PRECISION=7, the options it replaced) on features of every field type,
// unset fields, strings that need escaping, reals of every form, holes, several parts
// and coordinates that round, and on an empty layer.
func TestGeoJSONMatchesGDAL(t *testing.T) {
	Init(S3Config{})
	sq := func(x, y, s float64) orb.Ring {
		return orb.Ring{{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}, {x, y}}
	}
	hole := orb.Ring{{28.2000001, 1.2000004}, {28.2000001, 1.20000049}, {28.20000049, 1.20000049}, {28.20000049, 1.2000004}, {28.2000001, 1.2000004}}
	day := time.Date(2024, 3, 31, 15, 4, 5, 0, time.FixedZone("EAT", 3*3600))
	feat := func(mp orb.MultiPolygon, name any, n any, r any, ok any, d any, l any) Feature {
		return Feature{Geometry: mp, Fields: []Field{{"name", name}, {"n", n}, {"r", r}, {"ok", ok}, {"day", d}, {"scenes", l}}}
	}
	schema := []Field{{"name", ""}, {"n", int64(0)}, {"r", 0.0}, {"ok", false}, {"day", time.Time{}}, {"scenes", []string{}}}
	feats := []Feature{
		feat(orb.MultiPolygon{{sq(28.1, 1.1, 0.001)}}, "plain", int64(1), 1.0, true, day, []string{"S2B_35NPB_20230114_0_L2A"}),
		feat(orb.MultiPolygon{{sq(28.2, 1.2, 0.000001), hole}, {sq(-28.123456789, -1.98765432, 0.00012345)}},
			"quote \" backslash \\ slash / tab \t é <&>", int64(-9007199254740993), 0.1+0.2, false, day, []string{}),
		feat(orb.MultiPolygon{{sq(0, 0, 1e-8)}}, nil, nil, 1e-7, nil, nil, nil),
		feat(orb.MultiPolygon{{sq(179.5, -89.5, 0.25)}}, "", int64(0), 1e21, true, time.Time{}, []string{"a", "b,c"}),
		feat(orb.MultiPolygon{{sq(10, 10, 2)}}, "neg", int64(7), -2.5e-5, false, day, []string{"x"}),
		feat(orb.MultiPolygon{{sq(10, 10, 2)}}, "big", int64(123456789012), 123456.789, true, day, nil),
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		feats []Feature
		same  bool // byte for byte; else as OGR reads it, coordinates within 1e-7
	}{{"features", feats, true}, {"empty", nil, true}, {"round-off", []Feature{
		// 179.99999995 prints as 179.9999999 here (correctly rounded) and as 180.0 in GDAL,
		// whose OGRFormatDouble folds a trailing run of 9s upwards; 179.5000001 as 179.5 in
		// GDAL, which takes zeros before a last digit for round-off.
		feat(orb.MultiPolygon{{sq(179.99999995, -89.99999995, 1e-7)}}, "edge", int64(2), 0.5, true, day, []string{"y"}),
		feat(orb.MultiPolygon{{sq(179.5, -89.5, 1e-7)}}, "zeros", int64(3), 0.25, false, day, nil),
	}, false}} {
		types := make([]godal.FieldType, len(schema))
		var defs []godal.CreateLayerOption
		for i, fd := range schema {
			ft, err := vecFieldType(fd.Value, "GeoJSON")
			if err != nil {
				t.Fatal(err)
			}
			types[i] = ft
			defs = append(defs, godal.NewFieldDefinition(fd.Name, ft))
		}
		ours, theirs := filepath.Join(dir, c.name+".ours.geojson"), filepath.Join(dir, c.name+".gdal.geojson")
		if err := writeGeoJSON(context.Background(), ours, "changes", schema, types, c.feats); err != nil {
			t.Fatal(err)
		}
		gdal := vecFormat{driver: "GeoJSON", ext: "geojson", lco: []string{"COORDINATE_PRECISION=7"}}
		if err := writeVectorGDAL(context.Background(), theirs, gdal, "changes", schema, types, defs, c.feats, vecOptions{}); err != nil {
			t.Fatal(err)
		}
		a, err := os.ReadFile(ours)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(theirs)
		if err != nil {
			t.Fatal(err)
		}
		if c.same {
			if !bytes.Equal(a, b) {
				t.Errorf("%s: writeGeoJSON differs from GDAL's driver:\n--- ours\n%s\n--- GDAL\n%s", c.name, a, b)
			}
			continue
		}
		fa, err := ReadVector(context.Background(), ours)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := ReadVector(context.Background(), theirs)
		if err != nil {
			t.Fatal(err)
		}
		if len(fa) != len(fb) {
			t.Fatalf("%s: %d features read back, GDAL's file %d", c.name, len(fa), len(fb))
		}
		for i := range fa {
			if !reflect.DeepEqual(fa[i].Fields, fb[i].Fields) {
				t.Errorf("%s: feature %d fields %v, GDAL's %v", c.name, i, fa[i].Fields, fb[i].Fields)
			}
			pa, pb := flatten(fa[i].Geometry), flatten(fb[i].Geometry)
			if len(pa) != len(pb) {
				t.Fatalf("%s: feature %d has %d points, GDAL's %d", c.name, i, len(pa), len(pb))
			}
			for k := range pa {
				if math.Abs(pa[k][0]-pb[k][0]) > 1.5e-7 || math.Abs(pa[k][1]-pb[k][1]) > 1.5e-7 {
					t.Errorf("%s: feature %d point %d %v, GDAL's %v", c.name, i, k, pa[k], pb[k])
				}
			}
		}
	}
}

// flatten lists the points of mp, part by part and ring by ring.
func flatten(mp orb.MultiPolygon) []orb.Point {
	var pts []orb.Point
	for _, p := range mp {
		for _, r := range p {
			pts = append(pts, r...)
		}
	}
	return pts
}
