package raster

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// vtInit registers GDAL's drivers. It is called by every test of vector_test.go and
// score_test.go instead of a TestMain, so that other test files of the package stay free
// to declare one.
func vtInit(t *testing.T) {
	t.Helper()
	Init(S3Config{})
}

// vtTransform reprojects a copy of mp from EPSG:from to EPSG:to (lon/lat order for 4326).
func vtTransform(t *testing.T, mp orb.MultiPolygon, from, to int) orb.MultiPolygon {
	t.Helper()
	src, err := godal.NewSpatialRefFromEPSG(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := godal.NewSpatialRefFromEPSG(to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	trn, err := godal.NewTransform(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer trn.Close()
	out := mp.Clone()
	if err := transformMultiPolygon(trn, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// vtPixels returns the pixels of each component of a label raster, as PolygonizePixels
// takes them.
func vtPixels(labels []int32, comps []Component) ([]uint32, []int) {
	var pix []uint32
	start := []int{0}
	for _, c := range comps {
		for i, l := range labels {
			if l == c.Label {
				pix = append(pix, uint32(i))
			}
		}
		start = append(start, len(pix))
	}
	return pix, start
}

// vtComponents returns the components (bounding boxes) of a label raster.
func vtComponents(labels []int32, w int) []Component {
	idx := map[int32]int{}
	var comps []Component
	for i, l := range labels {
		if l == 0 {
			continue
		}
		x, y := i%w, i/w
		k, ok := idx[l]
		if !ok {
			idx[l] = len(comps)
			comps = append(comps, Component{Label: l, MinCol: x, MinRow: y, MaxCol: x, MaxRow: y})
			continue
		}
		c := &comps[k]
		c.MinCol, c.MaxCol = min(c.MinCol, x), max(c.MaxCol, x)
		c.MinRow, c.MaxRow = min(c.MinRow, y), max(c.MaxRow, y)
	}
	return comps
}

func TestPolygonizePixels(t *testing.T) {
	vtInit(t)
	// 12 x 10 pixels of 10 m in UTM 35N; '.' is background, digits are labels.
	rows := []string{
		"............",
		".1..2...333.",
		"....2...3.3.",
		"....222.333.",
		"............",
		".4..........",
		"..4........5",
		"...........5",
		"...........5",
		"..........55",
	}
	g := Grid{EPSG: 32635, X0: 500000, Y0: 4600000, Res: 10, Width: 12, Height: 10}
	labels := make([]int32, g.Pixels())
	for r, s := range rows {
		for c, ch := range s {
			if ch != '.' {
				labels[r*g.Width+c] = ch - '0'
			}
		}
	}
	comps := vtComponents(labels, g.Width)
	pix, start := vtPixels(labels, comps)
	mps, err := PolygonizePixels(context.Background(), g, comps, pix, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(mps) != len(comps) {
		t.Fatalf("%d outlines for %d components", len(mps), len(comps))
	}
	byLabel := map[int32]orb.MultiPolygon{}
	for i, c := range comps {
		byLabel[c.Label] = mps[i]
	}

	tests := []struct {
		name   string
		label  int32
		pixels int
		parts  int // polygons (4-connected pieces)
		rings  int // rings of the first polygon: 1 + holes
	}{
		{"single pixel", 1, 1, 1, 1},
		{"L shape", 2, 5, 1, 1},
		{"ring with a hole", 3, 8, 1, 2},
		{"diagonal pixels", 4, 2, 2, 1},
		{"touching the raster edge", 5, 5, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp := byLabel[tc.label]
			if len(mp) != tc.parts {
				t.Fatalf("%d polygons, want %d: %v", len(mp), tc.parts, mp)
			}
			if len(mp[0]) != tc.rings {
				t.Fatalf("%d rings, want %d", len(mp[0]), tc.rings)
			}
			for _, p := range mp {
				for i, r := range p {
					want := orb.CW
					if i == 0 {
						want = orb.CCW
					}
					if r.Orientation() != want {
						t.Errorf("ring %d orientation %v, want %v", i, r.Orientation(), want)
					}
				}
			}
			if err := CheckValid(mp); err != nil {
				t.Error(err)
			}
			b := mp.Bound()
			if b.Min[0] < 26 || b.Max[0] > 28 || b.Min[1] < 41 || b.Max[1] > 42 {
				t.Fatalf("bounds %v not in lon/lat near 27E 41.5N", b)
			}
			utm := vtTransform(t, mp, 4326, 32635)
			area, want := planar.Area(utm), float64(tc.pixels)*100
			if math.Abs(area-want) > want*0.001 {
				t.Errorf("area %.3f m², want %.0f (%d pixels)", area, want, tc.pixels)
			}
			// The outline's bounds are the component's pixel box, exactly.
			var c Component
			for _, cc := range comps {
				if cc.Label == tc.label {
					c = cc
				}
			}
			ub := utm.Bound()
			wantB := orb.Bound{
				Min: orb.Point{g.X0 + float64(c.MinCol)*g.Res, g.Y0 - float64(c.MaxRow+1)*g.Res},
				Max: orb.Point{g.X0 + float64(c.MaxCol+1)*g.Res, g.Y0 - float64(c.MinRow)*g.Res},
			}
			for k := range 2 {
				if math.Abs(ub.Min[k]-wantB.Min[k]) > 1e-3 || math.Abs(ub.Max[k]-wantB.Max[k]) > 1e-3 {
					t.Errorf("utm bounds %v, want %v", ub, wantB)
					break
				}
			}
		})
	}
}

func TestPolygonizePixelsErrors(t *testing.T) {
	vtInit(t)
	g := Grid{EPSG: 32635, X0: 500000, Y0: 4600000, Res: 10, Width: 3, Height: 3}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	centre := []Component{{Label: 1, MinCol: 1, MinRow: 1, MaxCol: 1, MaxRow: 1}}
	tests := []struct {
		name  string
		ctx   context.Context
		comps []Component
		pix   []uint32
		start []int
		is    error
	}{
		{"cancelled", ctx, centre, []uint32{4}, []int{0, 1}, context.Canceled},
		{"wrong range count", context.Background(), centre, []uint32{4}, []int{0}, nil},
		{"box outside grid", context.Background(), []Component{{Label: 1, MinCol: 1, MinRow: 1, MaxCol: 3, MaxRow: 1}}, []uint32{4}, []int{0, 1}, nil},
		{"no pixel", context.Background(), centre, nil, []int{0, 0}, nil},
		{"pixel outside its box", context.Background(), centre, []uint32{0}, []int{0, 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PolygonizePixels(tc.ctx, g, tc.comps, tc.pix, tc.start)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want %v", err, tc.is)
			}
		})
	}
}

// vtSquare returns an axis-aligned lon/lat square with a square hole, RFC 7946 oriented.
func vtSquare(lon, lat, size float64, hole bool) orb.MultiPolygon {
	p := orb.Polygon{{{lon, lat}, {lon + size, lat}, {lon + size, lat + size}, {lon, lat + size}, {lon, lat}}}
	if hole {
		a, b := lon+size/4, lon+3*size/4
		c, d := lat+size/4, lat+3*size/4
		p = append(p, orb.Ring{{a, c}, {a, d}, {b, d}, {b, c}, {a, c}})
	}
	return orb.MultiPolygon{p}
}

// vtName returns the "name" field of fields.
func vtName(fields []Field) string {
	for _, fd := range fields {
		if fd.Name == "name" {
			s, _ := fd.Value.(string)
			return s
		}
	}
	return ""
}

// vtSameGeometry reports whether a and b have the same rings and vertices within tol.
func vtSameGeometry(a, b orb.MultiPolygon, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if len(a[i][j]) != len(b[i][j]) {
				return false
			}
			for k := range a[i][j] {
				p, q := a[i][j][k], b[i][j][k]
				if math.Abs(p[0]-q[0]) > tol || math.Abs(p[1]-q[1]) > tol {
					return false
				}
			}
		}
	}
	return true
}

func TestWriteReadVector(t *testing.T) {
	vtInit(t)
	feats := []Feature{
		{Geometry: vtSquare(27.1234567, 41.5, 0.001, true), Fields: []Field{
			{"name", "scar-01"}, {"area_ha", 1.25}, {"count", 7}, {"big", int64(1) << 40}, {"flag", true}}},
		{Geometry: append(vtSquare(27.2, 41.6, 0.002, false), vtSquare(27.21, 41.6, 0.001, false)...), Fields: []Field{
			{"name", "pond-02 é"}, {"area_ha", 0.5}, {"count", -3}, {"big", int64(-5)}, {"flag", false}}},
		{Geometry: vtSquare(-0.5, -33.25, 0.0005, false), Fields: []Field{
			{"name", ""}, {"area_ha", 0.0}, {"count", 0}, {"big", int64(0)}, {"flag", nil}}},
	}
	// What ReadVector returns for the fields above: sorted by name, integers as int64.
	want := [][]Field{
		{{"area_ha", 1.25}, {"big", int64(1) << 40}, {"count", int64(7)}, {"flag", int64(1)}, {"name", "scar-01"}},
		{{"area_ha", 0.5}, {"big", int64(-5)}, {"count", int64(-3)}, {"flag", int64(0)}, {"name", "pond-02 é"}},
		{{"area_ha", 0.0}, {"big", int64(0)}, {"count", int64(0)}, {"flag", nil}, {"name", ""}},
	}
	dir := t.TempDir()
	for _, format := range []string{"FlatGeobuf", "GPKG", "GeoJSON"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(dir, "changes."+strings.ToLower(format))
			if err := WriteVector(context.Background(), path, format, "changes", nil, feats); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("%s.tmp left behind (%v)", path, err)
			}
			got, err := ReadVector(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(feats) {
				t.Fatalf("%d features, want %d", len(got), len(feats))
			}
			// FlatGeobuf's spatial index stores features in Hilbert order: match by name.
			byName := map[string]Feature{}
			for _, ft := range got {
				byName[vtName(ft.Fields)] = ft
			}
			for i := range feats {
				g, ok := byName[vtName(feats[i].Fields)]
				if !ok {
					t.Errorf("feature %d (%q) missing", i, vtName(feats[i].Fields))
					continue
				}
				if !vtSameGeometry(g.Geometry, feats[i].Geometry, 1e-7) {
					t.Errorf("feature %d geometry\n got %v\nwant %v", i, g.Geometry, feats[i].Geometry)
				}
				if len(g.Fields) != len(want[i]) {
					t.Errorf("feature %d fields %v, want %v", i, g.Fields, want[i])
					continue
				}
				for j, fd := range want[i] {
					if format == "GPKG" && fd.Value == nil {
						fd.Value = int64(0) // godal cannot tell a GPKG NULL from a value
					}
					if gf := g.Fields[j]; gf.Name != fd.Name || gf.Value != fd.Value {
						t.Errorf("feature %d field %d = %q %#v, want %q %#v", i, j, gf.Name, gf.Value, fd.Name, fd.Value)
					}
				}
			}
		})
		t.Run(format+"/empty", func(t *testing.T) {
			path := filepath.Join(dir, "empty."+strings.ToLower(format))
			schema := []Field{{"name", ""}, {"area_ha", 0.0}}
			if err := WriteVector(context.Background(), path, format, "changes", schema, nil); err != nil {
				t.Fatal(err)
			}
			got, err := ReadVector(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Fatalf("%d features, want 0", len(got))
			}
		})
	}
}

func TestWriteVectorErrors(t *testing.T) {
	vtInit(t)
	dir := t.TempDir()
	sq := vtSquare(27, 41, 0.001, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		format string
		schema []Field
		feats  []Feature
	}{
		{"unknown format", context.Background(), "Shapefile", nil, nil},
		{"unsupported type", context.Background(), "GeoJSON", []Field{{"x", float32(1)}}, nil},
		{"schema mismatch", context.Background(), "GeoJSON", nil, []Feature{
			{sq, []Field{{"a", 1}}}, {sq, []Field{{"b", 1}}}}},
		{"type mismatch", context.Background(), "GPKG", nil, []Feature{
			{sq, []Field{{"a", 1}}}, {sq, []Field{{"a", "one"}}}}},
		{"cancelled", ctx, "GPKG", nil, []Feature{{sq, nil}}},
		{"invalid geometry", context.Background(), "FlatGeobuf", nil, []Feature{{sq, nil},
			{orb.MultiPolygon{{{{27, 41}, {27.1, 41}, {27.1, 41.1}, {27.2, 41.1}, {27.2, 41.2}, {27.1, 41.2}, {27.1, 41.1}, {27, 41.1}, {27, 41}}}}, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := WriteVector(tc.ctx, path, tc.format, "l", tc.schema, tc.feats); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("%s exists after a failed write", path)
			}
		})
	}
}

// vtWriteOGR writes one feature per WKT geometry, in EPSG:epsg, with a "name" field, using
// godal directly (so ReadVector is tested on files WriteVector cannot produce).
func vtWriteOGR(t *testing.T, path string, epsg int, wkts ...string) {
	t.Helper()
	ds, err := godal.CreateVector(godal.GeoPackage, path)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := godal.NewSpatialRefFromEPSG(epsg)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	lyr, err := ds.CreateLayer("things", sr, godal.GTUnknown, godal.NewFieldDefinition("name", godal.FTString))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range wkts {
		g, err := godal.NewGeometryFromWKT(w, sr)
		if err != nil {
			t.Fatal(err)
		}
		ft, err := lyr.NewFeature(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := ft.SetFieldValue(ft.Fields()["name"], "thing-"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
		if err := lyr.UpdateFeature(ft); err != nil {
			t.Fatal(err)
		}
		ft.Close()
		g.Close()
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadVectorReprojectsAndRejects(t *testing.T) {
	vtInit(t)
	dir := t.TempDir()
	utm := filepath.Join(dir, "utm.gpkg")
	vtWriteOGR(t, utm, 32635, "POLYGON((500000 4600000,500100 4600000,500100 4600100,500000 4600100,500000 4600000))")
	got, err := ReadVector(context.Background(), utm)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d features", len(got))
	}
	// 500000 E is the central meridian of zone 35 (27° E).
	p := got[0].Geometry[0][0][0]
	if math.Abs(p[0]-27) > 1e-9 || p[1] < 41.4 || p[1] > 41.6 {
		t.Errorf("first vertex %v, want lon 27 lat ~41.5", p)
	}
	if a := planar.Area(vtTransform(t, got[0].Geometry, 4326, 32635)); math.Abs(a-10000) > 1e-3 {
		t.Errorf("area back in utm %v, want 10000", a)
	}

	mixed := filepath.Join(dir, "mixed.gpkg")
	vtWriteOGR(t, mixed, 4326, "POLYGON((27 41,27.1 41,27.1 41.1,27 41,27 41))", "POINT(27 41)")
	_, err = ReadVector(context.Background(), mixed)
	if err == nil || !strings.Contains(err.Error(), "feature 1") || !strings.Contains(err.Error(), "thing-b") {
		t.Fatalf("error %v, want one naming feature 1 (thing-b)", err)
	}

	if _, err := ReadVector(context.Background(), filepath.Join(dir, "missing.geojson")); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// time.Time values are written as Date fields (the day), which every format reads back.
func TestWriteVectorDates(t *testing.T) {
	vtInit(t)
	day := time.Date(2024, 2, 13, 17, 30, 0, 0, time.UTC)
	feats := []Feature{
		{Geometry: vtSquare(27.1, 41.5, 0.001, true), Fields: []Field{{"name", "a"}, {"first_seen", day}}},
		{Geometry: vtSquare(27.2, 41.5, 0.001, true), Fields: []Field{{"name", "b"}, {"first_seen", nil}}},
	}
	dir := t.TempDir()
	for _, format := range []string{"FlatGeobuf", "GPKG", "GeoJSON"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(dir, "dates."+strings.ToLower(format))
			if err := WriteVector(context.Background(), path, format, "dates", nil, feats); err != nil {
				t.Fatal(err)
			}
			got, err := ReadVector(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range got {
				if vtName(f.Fields) != "a" {
					continue
				}
				for _, fd := range f.Fields {
					if fd.Name != "first_seen" {
						continue
					}
					d, ok := fd.Value.(time.Time)
					if !ok || d.Format(time.DateOnly) != "2024-02-13" {
						t.Fatalf("first_seen %#v, want the date 2024-02-13", fd.Value)
					}
					return
				}
			}
			t.Fatal("no first_seen read back")
		})
	}
}

// TestWriteVectorTypesAndStyle: every format holds MultiPolygons only (GeoJSON too, for a
// MultiPolygon of one part), dates are ISO dates in GeoJSON, a []string is a JSON array in
// GeoJSON and comma-joined elsewhere, and a GeoPackage written with a style holds it in
// layer_styles as the layer's default (the table QGIS reads), which ReadVector skips.
func TestWriteVectorTypesAndStyle(t *testing.T) {
	vtInit(t)
	day := time.Date(2024, 2, 13, 0, 0, 0, 0, time.UTC)
	feats := []Feature{
		{Geometry: vtSquare(27.1, 41.5, 0.001, false), Fields: []Field{{"class", "burn_scar"}, {"day", day}, {"scenes", []string{"S2A_1", "S2B_2"}}}},
		{Geometry: append(vtSquare(27.2, 41.5, 0.001, false), vtSquare(27.3, 41.5, 0.001, true)...),
			Fields: []Field{{"class", "vegetation_to_bare"}, {"day", day}, {"scenes", []string(nil)}}},
	}
	st := ChangeClassStyle("changes")
	dir := t.TempDir()
	for _, format := range []string{"FlatGeobuf", "GPKG", "GeoJSON"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(dir, "types."+strings.ToLower(format))
			if err := WriteVector(context.Background(), path, format, "changes", nil, feats, WithStyle(st)); err != nil {
				t.Fatal(err)
			}
			ds, err := godal.Open(path, godal.VectorOnly())
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			var lyr godal.Layer
			for _, l := range ds.Layers() {
				if l.Name() == "changes" {
					lyr = l
				}
			}
			n := 0
			for ft := lyr.NextFeature(); ft != nil; ft = lyr.NextFeature() {
				if g := ft.Geometry(); g.Type() != godal.GTMultiPolygon {
					t.Errorf("feature %d is a %s, want a MultiPolygon", n, g.Name())
				}
				// FlatGeobuf's index reorders the features: the first is the burn scar.
				first := ft.Fields()["class"].String() == "burn_scar"
				scenes := ft.Fields()["scenes"]
				switch format {
				case "GeoJSON":
					if got := scenes.StringList(); first && strings.Join(got, "|") != "S2A_1|S2B_2" || !first && len(got) != 0 {
						t.Errorf("feature %d scenes %q", n, got)
					}
				default:
					if got := scenes.String(); first && got != "S2A_1,S2B_2" || !first && got != "" {
						t.Errorf("feature %d scenes %q", n, got)
					}
				}
				ft.Close()
				n++
			}
			if n != len(feats) {
				t.Fatalf("%d features, want %d", n, len(feats))
			}
			got, err := ReadVector(context.Background(), path)
			if err != nil || len(got) != len(feats) {
				t.Fatalf("read back %d features, %v", len(got), err)
			}
			switch format {
			case "GeoJSON":
				data, err := os.ReadFile(path)
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
				if fc.CRS != nil {
					t.Errorf("crs member %v (RFC 7946 has none)", fc.CRS)
				}
				for i, f := range fc.Features {
					if f.Geometry.Type != "MultiPolygon" || f.Properties["day"] != "2024-02-13" {
						t.Errorf("feature %d: %s, day %v", i, f.Geometry.Type, f.Properties["day"])
					}
					if _, ok := f.Properties["scenes"].([]any); !ok {
						t.Errorf("feature %d: scenes %#v, want an array", i, f.Properties["scenes"])
					}
				}
			case "GPKG":
				rs, err := ds.ExecuteSQL("SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, update_time FROM layer_styles")
				if err != nil {
					t.Fatal(err)
				}
				defer rs.Close()
				var rows []map[string]godal.Field
				for ft := rs.NextFeature(); ft != nil; ft = rs.NextFeature() {
					rows = append(rows, ft.Fields())
					defer ft.Close()
				}
				if len(rows) != 1 {
					t.Fatalf("%d styles, want 1", len(rows))
				}
				r := rows[0]
				if r["f_table_name"].String() != "changes" || r["f_geometry_column"].String() != "geom" ||
					r["styleName"].String() != "changes" || r["useAsDefault"].Int() != 1 ||
					r["styleQML"].String() != st.QML || r["styleSLD"].String() != st.SLD || !r["update_time"].IsSet() {
					t.Errorf("layer_styles row %v", r)
				}
			}
		})
	}
}

// TestChangeClassStyle: the QML and SLD are well-formed XML, categorise every change class
// by the class field in the quicklook's colours.
func TestChangeClassStyle(t *testing.T) {
	st := ChangeClassStyle("changes")
	var qml struct {
		Renderer struct {
			Type       string `xml:"type,attr"`
			Attr       string `xml:"attr,attr"`
			Categories []struct {
				Value  string `xml:"value,attr"`
				Symbol string `xml:"symbol,attr"`
				Label  string `xml:"label,attr"`
			} `xml:"categories>category"`
			Symbols []struct {
				Name  string `xml:"name,attr"`
				Props []struct {
					K string `xml:"k,attr"`
					V string `xml:"v,attr"`
				} `xml:"layer>prop"`
			} `xml:"symbols>symbol"`
		} `xml:"renderer-v2"`
	}
	d := xml.NewDecoder(strings.NewReader(st.QML))
	d.Strict = false // the DOCTYPE
	if err := d.Decode(&qml); err != nil {
		t.Fatal(err)
	}
	r := qml.Renderer
	if r.Type != "categorizedSymbol" || r.Attr != "class" || len(r.Categories) != 4 || len(r.Symbols) != 4 {
		t.Fatalf("renderer %+v", r)
	}
	fill := map[string]string{}
	for _, s := range r.Symbols {
		for _, p := range s.Props {
			if p.K == "color" {
				fill[s.Name] = p.V
			}
		}
	}
	want := map[string]string{"vegetation_to_bare": "255,140,0,128", "vegetation_to_water": "0,170,255,128",
		"burn_scar": "200,0,40,128", "vegetation_loss": "255,0,255,128"}
	for _, c := range r.Categories {
		if fill[c.Symbol] != want[c.Value] || c.Label == "" {
			t.Errorf("category %s: fill %q label %q, want fill %q", c.Value, fill[c.Symbol], c.Label, want[c.Value])
		}
	}
	var sld struct {
		Rules []struct {
			Name    string `xml:"Name"`
			Literal string `xml:"Filter>PropertyIsEqualTo>Literal"`
		} `xml:"NamedLayer>UserStyle>FeatureTypeStyle>Rule"`
	}
	if err := xml.Unmarshal([]byte(st.SLD), &sld); err != nil {
		t.Fatal(err)
	}
	if len(sld.Rules) != 4 || sld.Rules[0].Literal != "vegetation_to_bare" {
		t.Errorf("sld rules %+v", sld.Rules)
	}
}
