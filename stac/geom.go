package stac

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// rawGeometry is a GeoJSON geometry before its coordinates are decoded. It is decoded
// here rather than with orb/geojson, which would pull the BSON driver into the module.
type rawGeometry struct {
	Type        string            `json:"type"`
	Coordinates json.RawMessage   `json:"coordinates"`
	Geometries  []json.RawMessage `json:"geometries"`
}

// decodeGeometry decodes a GeoJSON geometry; null or absent gives nil.
func decodeGeometry(data json.RawMessage) (orb.Geometry, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, nil
	}
	var rg rawGeometry
	if err := json.Unmarshal(data, &rg); err != nil {
		return nil, err
	}
	var (
		g   orb.Geometry
		err error
	)
	switch rg.Type {
	case "Point":
		g, err = unmarshalAs[orb.Point](rg.Coordinates)
	case "MultiPoint":
		g, err = unmarshalAs[orb.MultiPoint](rg.Coordinates)
	case "LineString":
		g, err = unmarshalAs[orb.LineString](rg.Coordinates)
	case "MultiLineString":
		g, err = unmarshalAs[orb.MultiLineString](rg.Coordinates)
	case "Polygon":
		g, err = unmarshalAs[orb.Polygon](rg.Coordinates)
	case "MultiPolygon":
		g, err = unmarshalAs[orb.MultiPolygon](rg.Coordinates)
	case "GeometryCollection":
		var c orb.Collection
		for _, raw := range rg.Geometries {
			sub, err := decodeGeometry(raw)
			if err != nil {
				return nil, err
			}
			if sub != nil {
				c = append(c, sub)
			}
		}
		g = c
	default:
		return nil, fmt.Errorf("unsupported geometry type %q", rg.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s coordinates: %w", rg.Type, err)
	}
	return g, nil
}

// bboxGeometry turns an item bbox into a polygon (two across the antimeridian).
func bboxGeometry(b [4]float64) orb.Geometry {
	if b[0] > b[2] {
		return orb.MultiPolygon{
			orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{180, b[3]}}.ToPolygon(),
			orb.Bound{Min: orb.Point{-180, b[1]}, Max: orb.Point{b[2], b[3]}}.ToPolygon(),
		}
	}
	return orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}.ToPolygon()
}

// bboxIntersects reports whether an item bbox (possibly crossing the antimeridian)
// overlaps q. Touching counts.
func bboxIntersects(b [4]float64, q orb.Bound) bool {
	if b[0] > b[2] {
		return orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{180, b[3]}}.Intersects(q) ||
			orb.Bound{Min: orb.Point{-180, b[1]}, Max: orb.Point{b[2], b[3]}}.Intersects(q)
	}
	return orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}.Intersects(q)
}

// intersects is a planar intersection test, enough for footprints against areas of
// interest: the bounds overlap, and a vertex of one lies in the other's area (polygonal
// parts only, holes respected) or two edges cross or touch.
func intersects(a, b orb.Geometry) bool {
	if a == nil || b == nil || !a.Bound().Intersects(b.Bound()) {
		return false
	}
	pa, pb := areas(a, nil), areas(b, nil)
	va, vb := vertices(a, nil), vertices(b, nil)
	for _, v := range va {
		if planar.MultiPolygonContains(pb, v) {
			return true
		}
	}
	for _, v := range vb {
		if planar.MultiPolygonContains(pa, v) {
			return true
		}
	}
	ea, eb := edges(a, nil), edges(b, nil)
	for _, e := range ea {
		eBound := orb.MultiPoint{e[0], e[1]}.Bound()
		for _, f := range eb {
			if eBound.Intersects(orb.MultiPoint{f[0], f[1]}.Bound()) && segmentsIntersect(e[0], e[1], f[0], f[1]) {
				return true
			}
		}
	}
	return false
}

// areas collects the polygonal parts of g, dropping degenerate rings (planar's
// containment tests index ring[0]).
func areas(g orb.Geometry, out orb.MultiPolygon) orb.MultiPolygon {
	addPolygon := func(p orb.Polygon) {
		if len(p) == 0 || len(p[0]) < 3 {
			return
		}
		clean := orb.Polygon{p[0]}
		for _, hole := range p[1:] {
			if len(hole) >= 3 {
				clean = append(clean, hole)
			}
		}
		out = append(out, clean)
	}
	switch g := g.(type) {
	case orb.Polygon:
		addPolygon(g)
	case orb.MultiPolygon:
		for _, p := range g {
			addPolygon(p)
		}
	case orb.Ring:
		addPolygon(orb.Polygon{g})
	case orb.Bound:
		addPolygon(g.ToPolygon())
	case orb.Collection:
		for _, sub := range g {
			out = areas(sub, out)
		}
	}
	return out
}

// vertices collects every point of g.
func vertices(g orb.Geometry, out []orb.Point) []orb.Point {
	switch g := g.(type) {
	case orb.Point:
		out = append(out, g)
	case orb.MultiPoint:
		out = append(out, g...)
	case orb.LineString:
		out = append(out, g...)
	case orb.Ring:
		out = append(out, g...)
	case orb.MultiLineString:
		for _, ls := range g {
			out = append(out, ls...)
		}
	case orb.Polygon:
		for _, r := range g {
			out = append(out, r...)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			out = vertices(p, out)
		}
	case orb.Bound:
		out = append(out, g.ToRing()...)
	case orb.Collection:
		for _, sub := range g {
			out = vertices(sub, out)
		}
	}
	return out
}

// edges collects every segment of g; rings are closed even if the last point is not
// repeated.
func edges(g orb.Geometry, out [][2]orb.Point) [][2]orb.Point {
	line := func(pts []orb.Point, closed bool) {
		for i := 1; i < len(pts); i++ {
			out = append(out, [2]orb.Point{pts[i-1], pts[i]})
		}
		if closed && len(pts) > 2 && pts[0] != pts[len(pts)-1] {
			out = append(out, [2]orb.Point{pts[len(pts)-1], pts[0]})
		}
	}
	switch g := g.(type) {
	case orb.LineString:
		line(g, false)
	case orb.MultiLineString:
		for _, ls := range g {
			line(ls, false)
		}
	case orb.Ring:
		line(g, true)
	case orb.Polygon:
		for _, r := range g {
			line(r, true)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			out = edges(p, out)
		}
	case orb.Bound:
		line(g.ToRing(), true)
	case orb.Collection:
		for _, sub := range g {
			out = edges(sub, out)
		}
	}
	return out
}

// segmentsIntersect reports whether segments pq and rs share a point.
func segmentsIntersect(p, q, r, s orb.Point) bool {
	o1, o2 := orientation(p, q, r), orientation(p, q, s)
	o3, o4 := orientation(r, s, p), orientation(r, s, q)
	if o1 != o2 && o3 != o4 {
		return true
	}
	return o1 == 0 && onSegment(p, r, q) ||
		o2 == 0 && onSegment(p, s, q) ||
		o3 == 0 && onSegment(r, p, s) ||
		o4 == 0 && onSegment(r, q, s)
}

// orientation is the sign of the cross product (b-a) x (c-a).
func orientation(a, b, c orb.Point) int {
	v := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// onSegment reports whether q, collinear with p and r, lies within their box.
func onSegment(p, q, r orb.Point) bool {
	return min(p[0], r[0]) <= q[0] && q[0] <= max(p[0], r[0]) &&
		min(p[1], r[1]) <= q[1] && q[1] <= max(p[1], r[1])
}

// unmarshalAs decodes GeoJSON coordinates into the orb type T.
func unmarshalAs[T orb.Geometry](coords json.RawMessage) (orb.Geometry, error) {
	var v T
	err := json.Unmarshal(coords, &v)
	return v, err
}
