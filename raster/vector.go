package raster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// Component is one 8-connected region of change pixels (labelled by labelSparse). The
// pixel bounding box is inclusive.
type Component struct {
	Label                          int32
	MinCol, MinRow, MaxCol, MaxRow int
}

// Field is one attribute of a Feature. Value is a string, int, int64, float64 or bool
// when written; see ReadVector for the types that come back.
type Field struct {
	Name  string
	Value any
}

// Feature is a polygonal vector feature; Geometry is in EPSG:4326, lon/lat order.
type Feature struct {
	Geometry orb.MultiPolygon
	Fields   []Field
}

// vecSeq makes the /vsimem names of this file unique within the process.
var vecSeq atomic.Uint64

// vecMemPath returns a fresh /vsimem path ending in name.
func vecMemPath(name string) string {
	return fmt.Sprintf("/vsimem/changewatch-vector-%d-%d/%s", os.Getpid(), vecSeq.Add(1), name)
}

// wgs84 returns EPSG:4326 in lon/lat order (godal sets the traditional GIS axis order).
// The caller closes it.
func wgs84() (*godal.SpatialRef, error) {
	sr, err := godal.NewSpatialRefFromEPSG(4326)
	if err != nil {
		return nil, fmt.Errorf("spatial reference epsg:4326: %w", err)
	}
	return sr, nil
}

// PolygonizePixels returns, for each component, its outline as a MultiPolygon in EPSG:4326
// (lon/lat), holes kept, pixel-exact and valid as GEOS checks it: one polygon per
// 4-connected piece of the component (pieces that meet at a pixel corner are parts that
// touch there; see traceOutline). Component i's pixels are pix[start[i]:start[i+1]], row-major indices into g.
// Each component is polygonized in a small window around its bounding box (its pixels
// 1, everything else, including a one-pixel border, 0), so the work scales with the
// changed pixels, not the raster; ctx is checked between components. Rings follow
// RFC 7946: exterior counter-clockwise, holes clockwise.
func PolygonizePixels(ctx context.Context, g Grid, comps []Component, pix []uint32, start []int) ([]orb.MultiPolygon, error) {
	if len(start) != len(comps)+1 || start[len(comps)] > len(pix) {
		return nil, fmt.Errorf("polygonize: %d pixel ranges for %d components", len(start)-1, len(comps))
	}
	out := make([]orb.MultiPolygon, len(comps))
	// Components are shared out among goroutines by contiguous ranges, each with its own
	// coordinate transformation (GDAL's are not safe for concurrent use).
	n := min(len(comps), runtime.GOMAXPROCS(0))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for t := range n {
		lo, hi := t*len(comps)/n, (t+1)*len(comps)/n
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[t] = polygonizeRange(ctx, g, comps, pix, start, out, lo, hi)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// polygonizeRange polygonizes components [lo,hi) into out (see PolygonizePixels).
func polygonizeRange(ctx context.Context, g Grid, comps []Component, pix []uint32, start []int, out []orb.MultiPolygon, lo, hi int) error {
	src, err := g.srs()
	if err != nil {
		return fmt.Errorf("polygonize: %w", err)
	}
	defer src.Close()
	dst, err := wgs84()
	if err != nil {
		return fmt.Errorf("polygonize: %w", err)
	}
	defer dst.Close()
	trn, err := godal.NewTransform(src, dst)
	if err != nil {
		return fmt.Errorf("polygonize: transform epsg:%d to epsg:4326: %w", g.EPSG, err)
	}
	defer trn.Close()
	var buf []uint8
	var tr tracer
	for i := lo; i < hi; i++ {
		c := comps[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		mp, err := polygonizeComponent(g, c, pix[start[i]:start[i+1]], &buf, &tr)
		if err != nil {
			return fmt.Errorf("polygonize region %d: %w", c.Label, err)
		}
		if err := transformMultiPolygon(trn, mp); err != nil {
			return fmt.Errorf("polygonize region %d: to epsg:4326: %w", c.Label, err)
		}
		orientRFC7946(mp)
		out[i] = mp
	}
	return nil
}

// polygonizeComponent traces the outline of pix (c's pixels) in a window of c's bounding
// box plus one pixel on every side, and returns it in g's CRS: one polygon per
// 4-connected piece, valid as GEOS checks it (see traceOutline). buf and tr are reused
// between calls.
func polygonizeComponent(g Grid, c Component, pix []uint32, buf *[]uint8, tr *tracer) (orb.MultiPolygon, error) {
	if c.MinCol < 0 || c.MinRow < 0 || c.MaxCol >= g.Width || c.MaxRow >= g.Height ||
		c.MinCol > c.MaxCol || c.MinRow > c.MaxRow {
		return nil, fmt.Errorf("bounding box [%d,%d]-[%d,%d] outside the %dx%d grid",
			c.MinCol, c.MinRow, c.MaxCol, c.MaxRow, g.Width, g.Height)
	}
	if len(pix) == 0 {
		return nil, errors.New("no pixel")
	}
	w, h := c.MaxCol-c.MinCol+3, c.MaxRow-c.MinRow+3
	win := grow(buf, w*h)
	clear(win)
	for _, j := range pix {
		x, y := int(j)%g.Width-c.MinCol, int(j)/g.Width-c.MinRow
		if x < 0 || y < 0 || x > c.MaxCol-c.MinCol || y > c.MaxRow-c.MinRow {
			return nil, fmt.Errorf("pixel %d outside the bounding box", j)
		}
		win[(y+1)*w+x+1] = 1
	}
	polys := tr.traceOutline(win, w, h)
	gt := g.Sub(c.MinCol-1, c.MinRow-1, w, h).GeoTransform()
	for _, p := range polys {
		for _, r := range p {
			for k, v := range r {
				r[k] = orb.Point{gt[0] + v[0]*gt[1] + v[1]*gt[2], gt[3] + v[0]*gt[4] + v[1]*gt[5]}
			}
		}
	}
	return orb.MultiPolygon(polys), nil
}

// featureMultiPolygon returns the geometry of ft as a MultiPolygon, in ft's CRS.
func featureMultiPolygon(ft *godal.Feature) (orb.MultiPolygon, error) {
	b, err := ft.Geometry().WKB()
	if err != nil {
		return nil, fmt.Errorf("no readable geometry: %w", err)
	}
	geom, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode geometry: %w", err)
	}
	switch v := geom.(type) {
	case orb.Polygon:
		return orb.MultiPolygon{v}, nil
	case orb.MultiPolygon:
		return v, nil
	}
	return nil, fmt.Errorf("geometry is a %s, not a polygon or multipolygon", geom.GeoJSONType())
}

// transformMultiPolygon reprojects every vertex of mp in place.
func transformMultiPolygon(trn *godal.Transform, mp orb.MultiPolygon) error {
	n := 0
	for _, p := range mp {
		for _, r := range p {
			n += len(r)
		}
	}
	if n == 0 {
		return nil
	}
	xs, ys := make([]float64, 0, n), make([]float64, 0, n)
	for _, p := range mp {
		for _, r := range p {
			for _, pt := range r {
				xs, ys = append(xs, pt[0]), append(ys, pt[1])
			}
		}
	}
	if err := trn.TransformEx(xs, ys, nil, nil); err != nil {
		return err
	}
	i := 0
	for _, p := range mp {
		for _, r := range p {
			for k := range r {
				r[k] = orb.Point{xs[i], ys[i]}
				i++
			}
		}
	}
	return nil
}

// orientRFC7946 makes exterior rings counter-clockwise and holes clockwise, in place.
func orientRFC7946(mp orb.MultiPolygon) {
	for _, p := range mp {
		for i, r := range p {
			want := orb.CW
			if i == 0 {
				want = orb.CCW
			}
			if o := r.Orientation(); o != 0 && o != want {
				r.Reverse()
			}
		}
	}
}

// vecFormat describes how WriteVector produces one output format.
type vecFormat struct {
	driver string
	ext    string
	lco    []string
}

// GeoJSON is encoded by writeGeoJSON as GDAL's GeoJSON driver writes it with
// COORDINATE_PRECISION=7, not in the driver's RFC7946 mode, which writes a MultiPolygon of
// one part as a Polygon (every format must give the same geometry type): the rings are
// already RFC 7946 oriented, coordinates are cut to 7 decimals, and no "crs" member is
// written (RFC 7946 GeoJSON is WGS84 lon/lat by definition).
var vecFormats = map[string]vecFormat{
	"FlatGeobuf": {driver: "FlatGeobuf", ext: "fgb", lco: []string{"SPATIAL_INDEX=YES"}},
	"GPKG":       {driver: "GPKG", ext: "gpkg", lco: []string{"SPATIAL_INDEX=YES"}},
	"GeoJSON":    {ext: "geojson"},
}

// vecFieldType returns the OGR type a Go attribute value is stored as in format: a
// []string is a string list in GeoJSON (a JSON array) and its items joined by commas in
// FlatGeobuf and GeoPackage (whose GDAL 3.6 drivers have no list type).
func vecFieldType(v any, format string) (godal.FieldType, error) {
	switch v.(type) {
	case []string:
		if format == "GeoJSON" {
			return godal.FTStringList, nil
		}
		return godal.FTString, nil
	case string:
		return godal.FTString, nil
	case int, int64:
		return godal.FTInt64, nil
	case float64:
		return godal.FTReal, nil
	case bool:
		return godal.FTInt, nil
	case time.Time:
		return godal.FTDate, nil
	}
	return 0, fmt.Errorf("unsupported type %T", v)
}

// vecFieldValue converts v to the Go type godal's SetFieldValue expects for OGR type t.
func vecFieldValue(t godal.FieldType, v any) (any, bool) {
	switch t {
	case godal.FTString:
		switch x := v.(type) {
		case string:
			return x, true
		case []string:
			return strings.Join(x, ","), true
		}
	case godal.FTStringList:
		x, ok := v.([]string)
		if x == nil {
			x = []string{}
		}
		return x, ok
	case godal.FTInt64:
		switch x := v.(type) {
		case int:
			return int64(x), true
		case int64:
			return x, true
		}
	case godal.FTReal:
		x, ok := v.(float64)
		return x, ok
	case godal.FTInt:
		b, ok := v.(bool)
		if b {
			return 1, ok
		}
		return 0, ok
	case godal.FTDate:
		d, ok := v.(time.Time)
		// The day, as a date without a time zone.
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), ok
	}
	return nil, false
}

// WriteVector writes feats to the local file path in format "FlatGeobuf", "GPKG" or
// "GeoJSON", as one layer named layer in EPSG:4326.
//
// The attribute schema is schema when it is not nil, else the fields of the first
// feature; every feature must carry the same field names in the same order, with values
// of the same Go type or nil (left unset). Strings are stored as strings, int and int64
// as 64-bit integers, float64 as reals, bool as 0/1 integers and time.Time as dates (the
// day only; ISO 8601 "YYYY-MM-DD" in GeoJSON); a []string is a list in GeoJSON (a JSON
// array) and its items joined by commas in FlatGeobuf and GPKG. An empty feature list
// writes a valid, empty layer with schema's fields. Every geometry is written as a
// MultiPolygon, in every format, and must be valid as GEOS checks it (CheckValid): an
// invalid one is an error naming the feature.
//
// GeoJSON follows RFC 7946 (7 decimals, counter-clockwise exteriors, no crs); GPKG and FlatGeobuf
// get a spatial index (FlatGeobuf's stores the features in Hilbert order, so readers see
// them in that order, not in feats' order). The file is built under /vsimem (GeoJSON: in
// memory, by writeGeoJSON), copied to path+".tmp" and renamed into place, so a crash never
// leaves a partial file at path.
func WriteVector(ctx context.Context, path, format, layer string, schema []Field, feats []Feature, opts ...VectorOption) error {
	var o vecOptions
	for _, opt := range opts {
		opt(&o)
	}
	vf, ok := vecFormats[format]
	if !ok {
		return fmt.Errorf("write vector %s: unknown format %q (want FlatGeobuf, GPKG or GeoJSON)", path, format)
	}
	if layer == "" {
		return fmt.Errorf("write vector %s: empty layer name", path)
	}
	if schema == nil && len(feats) > 0 {
		schema = feats[0].Fields
	}
	types := make([]godal.FieldType, len(schema))
	var defs []godal.CreateLayerOption
	seen := map[string]bool{}
	for i, fd := range schema {
		t, err := vecFieldType(fd.Value, format)
		if err != nil {
			return fmt.Errorf("write vector %s: field %q: %w", path, fd.Name, err)
		}
		if fd.Name == "" || seen[fd.Name] {
			return fmt.Errorf("write vector %s: empty or repeated field name %q", path, fd.Name)
		}
		seen[fd.Name] = true
		types[i] = t
		defs = append(defs, godal.NewFieldDefinition(fd.Name, t))
	}
	if format == "GeoJSON" {
		return writeGeoJSON(ctx, path, layer, schema, types, feats)
	}
	return writeVectorGDAL(ctx, path, vf, layer, schema, types, defs, feats, o)
}

// writeVectorGDAL is WriteVector through GDAL's driver vf.driver: the features in a memory
// layer of fields defs (schema's, of OGR types types), translated to the format.
func writeVectorGDAL(ctx context.Context, path string, vf vecFormat, layer string, schema []Field, types []godal.FieldType,
	defs []godal.CreateLayerOption, feats []Feature, o vecOptions) error {
	mem, err := godal.CreateVector(godal.Memory, "")
	if err != nil {
		return fmt.Errorf("write vector %s: create memory dataset: %w", path, err)
	}
	defer mem.Close()
	var sr *godal.SpatialRef // none for GeoJSON (the tests' reference for writeGeoJSON): no "crs"
	if vf.driver != "GeoJSON" {
		if sr, err = wgs84(); err != nil {
			return fmt.Errorf("write vector %s: %w", path, err)
		}
		defer sr.Close()
	}
	lyr, err := mem.CreateLayer(layer, sr, godal.GTMultiPolygon, defs...)
	if err != nil {
		return fmt.Errorf("write vector %s: create layer %q: %w", path, layer, err)
	}
	var handles []godal.Field // field handles, by schema index, taken from the first feature
	for i, ft := range feats {
		if err := vecCheckFeature(ctx, path, i, schema, types, ft); err != nil {
			return err
		}
		if handles, err = vecAddFeature(lyr, ft, types, handles); err != nil {
			return fmt.Errorf("write vector %s: feature %d: %w", path, i, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	tmp := vecMemPath(layer + "." + vf.ext)
	switches := []string{"-f", vf.driver, "-nln", layer}
	for _, o := range vf.lco {
		switches = append(switches, "-lco", o)
	}
	out, err := mem.VectorTranslate(tmp, switches)
	if err != nil {
		return fmt.Errorf("write vector %s: translate to %s: %w", path, vf.driver, err)
	}
	defer func() { _ = godal.VSIUnlink(tmp) }()
	if o.style != nil && vf.driver == "GPKG" {
		if err := writeLayerStyle(out, layer, *o.style, time.Now()); err != nil {
			_ = out.Close()
			return fmt.Errorf("write vector %s: %w", path, err)
		}
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write vector %s: close %s: %w", path, vf.driver, err)
	}
	if err := vecCopyOut(tmp, path); err != nil {
		return fmt.Errorf("write vector %s: %w", path, err)
	}
	return nil
}

// VectorOption adds to what WriteVector writes.
type VectorOption func(*vecOptions)

type vecOptions struct {
	style *LayerStyle
}

// WithStyle stores st in a GeoPackage's layer_styles table as the layer's default style
// (QGIS applies it when it opens the layer); the other formats take no style (publish
// st.QML as a .qml file of the same base name next to them: QGIS loads that).
func WithStyle(st LayerStyle) VectorOption {
	return func(o *vecOptions) { o.style = &st }
}

// vecCheckFeature is the writers' check before feature i is written: the context, every
// 256 features, and the feature's fields against the schema (vecCheckFields).
func vecCheckFeature(ctx context.Context, path string, i int, schema []Field, types []godal.FieldType, ft Feature) error {
	if i%256 == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := vecCheckFields(schema, types, ft.Fields); err != nil {
		return fmt.Errorf("write vector %s: feature %d: %w", path, i, err)
	}
	return nil
}

// vecCheckFields checks that fields match the schema names and types.
func vecCheckFields(schema []Field, types []godal.FieldType, fields []Field) error {
	if len(fields) != len(schema) {
		return fmt.Errorf("%d fields, schema has %d", len(fields), len(schema))
	}
	for j, fd := range fields {
		if fd.Name != schema[j].Name {
			return fmt.Errorf("field %d is %q, schema says %q", j, fd.Name, schema[j].Name)
		}
		if fd.Value == nil {
			continue
		}
		if _, ok := vecFieldValue(types[j], fd.Value); !ok {
			return fmt.Errorf("field %q: value of type %T, schema type %T", fd.Name, fd.Value, schema[j].Value)
		}
	}
	return nil
}

// vecAddFeature appends ft to lyr. handles caches the layer's field handles (nil before
// the first call) and is returned for the next call.
func vecAddFeature(lyr godal.Layer, ft Feature, types []godal.FieldType, handles []godal.Field) ([]godal.Field, error) {
	b, err := wkb.Marshal(ft.Geometry)
	if err != nil {
		return handles, fmt.Errorf("encode geometry: %w", err)
	}
	geom, err := godal.NewGeometryFromWKB(b, nil)
	if err != nil {
		return handles, fmt.Errorf("geometry: %w", err)
	}
	defer geom.Close()
	if !geom.Valid() {
		return handles, ErrInvalidGeometry
	}
	nf, err := lyr.NewFeature(geom)
	if err != nil {
		return handles, fmt.Errorf("create feature: %w", err)
	}
	defer nf.Close()
	if len(types) == 0 {
		return handles, nil
	}
	if handles == nil {
		byName := nf.Fields()
		for _, fd := range ft.Fields {
			handles = append(handles, byName[fd.Name])
		}
	}
	for j, fd := range ft.Fields {
		if fd.Value == nil {
			continue
		}
		v, _ := vecFieldValue(types[j], fd.Value)
		if err := nf.SetFieldValue(handles[j], v); err != nil {
			return handles, fmt.Errorf("set field %q: %w", fd.Name, err)
		}
	}
	if err := lyr.UpdateFeature(nf); err != nil {
		return handles, fmt.Errorf("store fields: %w", err)
	}
	return handles, nil
}

// vecCopyOut copies the GDAL (/vsimem) file src to path (writeFileAtomic).
func vecCopyOut(src, path string) error {
	in, err := godal.VSIOpen(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer func() { _ = in.Close() }()
	return writeFileAtomic(path, func(w io.Writer) error {
		if _, err := io.Copy(w, in); err != nil {
			return fmt.Errorf("copy to %s.tmp: %w", path, err)
		}
		return nil
	})
}

// writeFileAtomic writes a file at path through write into path+".tmp", syncs it and
// renames it into place, so a crash never leaves a partial file at path; on an error the
// temporary file is removed.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = out.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = write(out); err != nil {
		return err
	}
	if err = out.Sync(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadVector reads every feature of the first layer of an OGR-readable file (a local
// path, /vsis3/..., /vsicurl/...). Geometries are reprojected to EPSG:4326 (lon/lat; a
// layer without a CRS is taken to be EPSG:4326 already); polygons and multipolygons come
// back as MultiPolygon, any other geometry type, or a missing geometry, is an error naming
// the feature.
//
// Fields come back sorted by name (godal does not expose the layer's field order).
// Integer fields are int64 (so a bool written by WriteVector reads back as 0 or 1),
// reals float64, strings string, dates and times time.Time, lists []int64, []float64 or
// []string, binary []byte. A field that is not set has a nil Value; a field set to NULL
// (GPKG stores unset values so) reads as its type's zero value, as godal cannot tell.
func ReadVector(ctx context.Context, path string) ([]Feature, error) {
	ds, err := godal.Open(path, godal.VectorOnly())
	if err != nil {
		return nil, fmt.Errorf("read vector %s: %w", path, err)
	}
	defer ds.Close()
	// The first layer, skipping a GeoPackage's table of QGIS styles.
	layers := slices.DeleteFunc(ds.Layers(), func(l godal.Layer) bool { return l.Name() == "layer_styles" })
	if len(layers) == 0 {
		return nil, fmt.Errorf("read vector %s: no layer", path)
	}
	lyr := layers[0]
	dst, err := wgs84()
	if err != nil {
		return nil, fmt.Errorf("read vector %s: %w", path, err)
	}
	defer dst.Close()
	var trn *godal.Transform
	if src := lyr.SpatialRef(); vecHasSRS(src) && !src.IsSame(dst) {
		if trn, err = godal.NewTransform(src, dst); err != nil {
			return nil, fmt.Errorf("read vector %s: transform to epsg:4326: %w", path, err)
		}
		defer trn.Close()
	}

	var feats []Feature
	lyr.ResetReading()
	for ft := lyr.NextFeature(); ft != nil; ft = lyr.NextFeature() {
		i := len(feats)
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				ft.Close()
				return nil, err
			}
		}
		fields := vecReadFields(ft)
		mp, err := featureMultiPolygon(ft)
		ft.Close()
		if err != nil {
			return nil, fmt.Errorf("read vector %s: feature %d%s: %w", path, i, vecFeatureName(fields), err)
		}
		if trn != nil {
			if err := transformMultiPolygon(trn, mp); err != nil {
				return nil, fmt.Errorf("read vector %s: feature %d%s: to epsg:4326: %w", path, i, vecFeatureName(fields), err)
			}
		}
		feats = append(feats, Feature{Geometry: mp, Fields: fields})
	}
	return feats, nil
}

// vecHasSRS reports whether sr (from Layer.SpatialRef) is a real spatial reference.
func vecHasSRS(sr *godal.SpatialRef) bool {
	wkt, err := sr.WKT()
	return err == nil && wkt != ""
}

// vecReadFields converts ft's attributes to Fields sorted by name.
func vecReadFields(ft *godal.Feature) []Field {
	m := ft.Fields()
	if len(m) == 0 {
		return nil
	}
	out := make([]Field, 0, len(m))
	for name, fld := range m {
		out = append(out, Field{Name: name, Value: vecGoValue(fld)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// vecGoValue returns fld's value as a plain Go value (see ReadVector).
func vecGoValue(fld godal.Field) any {
	if !fld.IsSet() {
		return nil
	}
	switch fld.Type() {
	case godal.FTInt, godal.FTInt64:
		return fld.Int()
	case godal.FTReal:
		return fld.Float()
	case godal.FTString:
		return fld.String()
	case godal.FTDate, godal.FTTime, godal.FTDateTime:
		if t := fld.DateTime(); t != nil {
			return *t
		}
		return time.Time{}
	case godal.FTIntList, godal.FTInt64List:
		return fld.IntList()
	case godal.FTRealList:
		return fld.FloatList()
	case godal.FTStringList:
		return fld.StringList()
	case godal.FTBinary:
		return fld.Bytes()
	}
	return nil
}

// vecFeatureName returns ` ("<name>")` when fields carry a string "name", for messages.
func vecFeatureName(fields []Field) string {
	for _, fd := range fields {
		if s, ok := fd.Value.(string); ok && fd.Name == "name" && s != "" {
			return fmt.Sprintf(" (%q)", s)
		}
	}
	return ""
}
