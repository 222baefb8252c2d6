// Package aoi parses, validates and measures areas of interest (AOIs):
// GeoJSON polygons in EPSG:4326 lon/lat over which changewatch looks for
// land-cover change. It is pure Go on orb's value types and has no cgo.
//
// Parse reads a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection,
// rejects anything a detector cannot work with (with a ValidationError that
// names the offending field), normalizes ring orientation and returns an AOI.
// The AOI can then be measured (AreaHa, geodesic) and projected to its UTM
// zone (UTM, ProjectRings) for rasterizing a mask on a Sentinel-2 grid.
package aoi

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/changewatch/changewatch/jobs"
)

// ErrInvalid is matched (with errors.Is) by every error that means the AOI
// itself is unusable, as opposed to an I/O failure. Job handlers should not
// retry such errors.
var ErrInvalid = errors.New("invalid aoi")

// ValidationError reports what is wrong with an AOI and where.
type ValidationError struct {
	// Field is a path into the GeoJSON document, for example "json",
	// "geometry.type" or "features[2].geometry.coordinates[0][3]".
	Field string
	// Problem is a lower-case description of what is wrong.
	Problem string
}

// Error returns "aoi: <field>: <problem>".
func (e *ValidationError) Error() string {
	return "aoi: " + e.Field + ": " + e.Problem
}

// Is reports whether target is ErrInvalid, so that
// errors.Is(err, ErrInvalid) holds for every ValidationError.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Limits bound the size of an AOI that Parse accepts. A zero field takes its
// value from DefaultLimits; a negative field disables that check.
type Limits struct {
	// MaxAreaKm2 is the largest accepted geodesic area in km².
	MaxAreaKm2 float64
	// MaxVertices is the largest accepted number of positions, all rings
	// together, as written in the input.
	MaxVertices int
	// MaxBytes is the largest accepted document, checked before it is decoded.
	MaxBytes int
	// MinAreaHa is the smallest accepted geodesic area in hectares: a sliver
	// smaller than a few minimum mapping units cannot show any change.
	MinAreaHa float64
}

// DefaultLimits are the limits used for zero Limits fields: 50 000 km²
// (a few Sentinel-2 tiles), 200 000 vertices, documents of jobs.MaxAOIBytes
// (what a task may carry) and at least 1 ha (100 pixels of 10 m, five times
// the default minimum mapping unit).
var DefaultLimits = Limits{MaxAreaKm2: 50000, MaxVertices: 200000, MaxBytes: jobs.MaxAOIBytes, MinAreaHa: 1}

func (l Limits) withDefaults() Limits {
	if l.MaxAreaKm2 == 0 {
		l.MaxAreaKm2 = DefaultLimits.MaxAreaKm2
	}
	if l.MaxVertices == 0 {
		l.MaxVertices = DefaultLimits.MaxVertices
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MinAreaHa == 0 {
		l.MinAreaHa = DefaultLimits.MinAreaHa
	}
	return l
}

// AOI is a validated area of interest.
type AOI struct {
	// ID comes from the properties "id" or "aoi_id", else the GeoJSON
	// Feature "id", else it is "aoi-" followed by the first 12 hex digits
	// of the SHA-256 of the normalized geometry's little-endian WKB, so the
	// same area always gets the same id.
	ID string
	// Name comes from the properties "name", "NAME" or "NOM", else it is ID.
	Name string
	// Geometry is in EPSG:4326 lon/lat with consecutive duplicate positions
	// removed, outer rings counter-clockwise and holes clockwise.
	Geometry orb.MultiPolygon
	// Properties are the first feature's properties (nil for a bare geometry).
	Properties map[string]any
}

// Parse decodes and validates a GeoJSON Polygon, MultiPolygon, Feature or
// FeatureCollection. The polygons of all features of a collection are
// collected into one MultiPolygon (no dissolving); ID, Name and Properties
// come from the first feature. Every validation failure is a
// *ValidationError, which matches ErrInvalid.
//
// Parse rejects: non-JSON or non-GeoJSON input; non-areal types; empty or
// null geometries; rings of fewer than 4 positions or not closed; positions
// that are not finite or outside lon ±180, lat ±90 (with a hint for swapped
// axes or projected metres); rings of zero area; more vertices or more area
// than lim allows; and every geometry that GEOS calls invalid (see
// valid.go): rings that cross or touch themselves, holes outside their
// shell or inside another hole, rings that cut a polygon's interior in two,
// polygons (of a MultiPolygon or of the features of a collection) that
// overlap, share a segment or nest. It repairs, as published boundaries
// often need: consecutive duplicate positions and zero-width spikes
// (removed), and rings passing twice through a vertex (split there into a
// shell and a hole, or two polygons, touching at that vertex). The area of
// an accepted AOI is therefore the area of its union.
// Rings crossing the antimeridian are not supported.
func Parse(data []byte, lim Limits) (*AOI, error) {
	lim = lim.withDefaults()
	if lim.MaxBytes > 0 && len(data) > lim.MaxBytes {
		return nil, invalid("json", "document of %d bytes exceeds the limit of %d bytes (drop unneeded properties, simplify the boundary)", len(data), lim.MaxBytes)
	}
	doc, err := decode(data)
	if err != nil {
		return nil, err
	}
	if lim.MaxVertices > 0 && doc.vertices > lim.MaxVertices {
		return nil, invalid(doc.geomField, "too many vertices: %d, the limit is %d", doc.vertices, lim.MaxVertices)
	}
	polys := make([]orb.Polygon, 0, len(doc.polygons))
	fields := make([]string, 0, len(doc.polygons))
	for i := 0; i < len(doc.polygons); i++ {
		p, err := buildPolygon(doc.polygons[i].field, doc.polygons[i].rings)
		if err != nil {
			return nil, err
		}
		polys = append(polys, p)
		fields = append(fields, doc.polygons[i].field)
	}
	rings, err := makeValid(polys, fields)
	if err != nil {
		return nil, err
	}
	if err := checkValid(rings); err != nil {
		return nil, err
	}
	mp := assemble(rings)
	areaKm2 := GeodesicAreaHa(mp) / 100
	if !(areaKm2 > 0) {
		return nil, invalid(doc.geomField, "zero area")
	}
	if lim.MaxAreaKm2 > 0 && areaKm2 > lim.MaxAreaKm2 {
		return nil, invalid(doc.geomField, "area %.1f km² exceeds the limit of %g km²", areaKm2, lim.MaxAreaKm2)
	}
	if lim.MinAreaHa > 0 && areaKm2*100 < lim.MinAreaHa {
		return nil, invalid(doc.geomField, "area %.4g ha is below the minimum of %g ha (a sliver)", areaKm2*100, lim.MinAreaHa)
	}

	a := &AOI{Geometry: mp, Properties: doc.properties}
	a.ID = firstString(doc.properties, "id", "aoi_id")
	if a.ID == "" {
		a.ID = doc.featureID
	}
	if a.ID == "" {
		a.ID = stableID(mp)
	}
	if err := jobs.CheckID("id", a.ID); err != nil {
		var br *jobs.BadRequest
		errors.As(err, &br)
		return nil, invalid("properties.id", "%s", br.Problem)
	}
	a.Name = firstString(doc.properties, "name", "NAME", "NOM")
	if len(a.Name) > 256 {
		return nil, invalid("properties.name", "longer than 256 bytes")
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	return a, nil
}

// ParseFile reads the file at path and parses it with Parse.
func ParseFile(path string, lim Limits) (*AOI, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read aoi: %w", err)
	}
	a, err := Parse(data, lim)
	if err != nil {
		return nil, fmt.Errorf("parse aoi %s: %w", path, err)
	}
	return a, nil
}

// Bound returns the lon/lat bounding box of the AOI.
func (a *AOI) Bound() orb.Bound {
	return a.Geometry.Bound()
}

// AreaHa returns the AOI's geodesic area in hectares (see GeodesicAreaHa).
func (a *AOI) AreaHa() float64 {
	return GeodesicAreaHa(a.Geometry)
}

// UTM returns the UTM zone of the centre of the AOI's bounding box.
func (a *AOI) UTM() UTM {
	c := a.Bound().Center()
	return UTMZoneOf(c[0], c[1])
}

// ProjectRings returns the AOI geometry with every vertex projected to
// UTM zone u, in metres. Edges are not densified: at Sentinel-2 scales a
// straight lon/lat edge and a straight UTM edge between the same vertices
// differ by far less than a pixel. Orientation is preserved.
func (a *AOI) ProjectRings(u UTM) orb.MultiPolygon {
	out := make(orb.MultiPolygon, len(a.Geometry))
	for i := 0; i < len(a.Geometry); i++ {
		poly := make(orb.Polygon, len(a.Geometry[i]))
		for j := 0; j < len(a.Geometry[i]); j++ {
			ring := a.Geometry[i][j]
			pr := make(orb.Ring, len(ring))
			for k := 0; k < len(ring); k++ {
				e, n := u.Forward(ring[k][0], ring[k][1])
				pr[k] = orb.Point{e, n}
			}
			poly[j] = pr
		}
		out[i] = poly
	}
	return out
}

// firstString returns the first of keys present in props as a non-empty
// string or number, formatted as text.
func firstString(props map[string]any, keys ...string) string {
	for i := 0; i < len(keys); i++ {
		switch v := props[keys[i]].(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

// stableID derives an id from the normalized geometry.
func stableID(mp orb.MultiPolygon) string {
	b, err := wkb.Marshal(mp, binary.LittleEndian)
	if err != nil {
		// Cannot happen for a MultiPolygon; fall back to a fixed marker
		// rather than panic.
		return "aoi-unhashable"
	}
	sum := sha256.Sum256(b)
	return "aoi-" + hex.EncodeToString(sum[:])[:12]
}
