package stac

import (
	"cmp"
	"slices"

	"github.com/paulmach/orb"
)

// supersedeCoverage is the share of a lower-sequence item's footprint that a higher
// sequence of the same tile, day and platform must cover for Dedupe to drop the lower
// one. The tolerance (1 % of the footprint's planar lon/lat area, e.g. a sliver about
// 1 km wide along one side of a full 110 km tile) absorbs the small differences in the
// traced data footprint between two processings of the same datastrip; a second
// datastrip of the same day covers a clearly different part of the tile (the real
// S2B_42MUT_20240319_0/_1 pair) and is kept.
const supersedeCoverage = 0.99

// footprint returns the item's geometry, else its bbox as a polygon.
func (it Item) footprint() orb.Geometry {
	if it.Geometry != nil {
		return it.Geometry
	}
	return bboxGeometry(it.BBox)
}

// Coverage returns the fraction (0..1) of aoi covered by the item's footprint (its
// geometry, else its bbox), computed planar on lon/lat: area(aoi ∩ footprint) /
// area(aoi). Polygonal parts of aoi are used (a Bound counts as its rectangle, holes
// are respected); an aoi without area (a point, a line, a degenerate ring) gives 1 if
// it intersects the footprint, else 0. A nil aoi gives 0.
//
// Tile-wide properties such as eo:cloud_cover say nothing about the AOI; a scene whose
// footprint (its valid data area, in Earth Search items) leaves part of the AOI in
// nodata can be ranked down by Coverage.
func (it Item) Coverage(aoi orb.Geometry) float64 {
	if aoi == nil {
		return 0
	}
	fp := it.footprint()
	areaAOI, inter := overlapArea(areas(aoi, nil), areas(fp, nil))
	if areaAOI <= 0 {
		if intersects(fp, aoi) {
			return 1
		}
		return 0
	}
	return min(max(inter/areaAOI, 0), 1)
}

// sweepEdge is a non-vertical polygon edge oriented left to right, tagged with the
// polygon it belongs to: geometry (0 is a, 1 is b) and part index.
type sweepEdge struct {
	x0, y0, x1, y1 float64 // x0 < x1
	geom, part     int
}

// y returns the edge's ordinate at x, x0 <= x <= x1.
func (e sweepEdge) y(x float64) float64 {
	return e.y0 + (e.y1-e.y0)*(x-e.x0)/(e.x1-e.x0)
}

// overlapArea returns the planar areas of a and of a ∩ b, where each multipolygon is
// read as the union of its parts (overlapping parts are not counted twice) and each
// part by the even-odd rule (holes subtract).
//
// It is an exact slab decomposition rather than polygon clipping: the plane is cut by
// vertical lines through every vertex and every crossing between edges of different
// polygons. Inside one slab no edges cross, so the length of a vertical cross-section
// of a (and of a ∩ b) is a linear function of x, and the slab's area is its width
// times the cross-section length at mid-slab. The cross-section is a set of intervals
// per polygon (pairs of edge ordinates), united per geometry and intersected. Nothing
// depends on orientation, convexity or the position of the origin; coincident edges,
// shared vertices and touching polygons need no special case; a crossing computed
// slightly off only misplaces a slab boundary, an error of the order of the rounding
// of the coordinates times the slab's height.
//
// The cost is O((V + C) · A) for V vertices, C crossings and A edges cut by a typical
// vertical line, plus O(E_a · E_b) to find the crossings between polygons whose bounds
// overlap.
func overlapArea(a, b orb.MultiPolygon) (areaA, areaAB float64) {
	if len(a) == 0 {
		return 0, 0
	}
	var (
		edges  []sweepEdge
		bounds []orb.Bound
		starts []int // first edge of each polygon in edges
	)
	addPolygons := func(mp orb.MultiPolygon, geom int) {
		for pi, p := range mp {
			starts = append(starts, len(edges))
			bounds = append(bounds, p.Bound())
			for _, r := range p {
				n := len(r)
				for i := range n {
					p0, p1 := r[i], r[(i+1)%n]
					switch {
					case p0[0] < p1[0]:
						edges = append(edges, sweepEdge{p0[0], p0[1], p1[0], p1[1], geom, pi})
					case p0[0] > p1[0]:
						edges = append(edges, sweepEdge{p1[0], p1[1], p0[0], p0[1], geom, pi})
					}
					// Vertical and zero-length edges bound no slab: skipped.
				}
			}
		}
	}
	addPolygons(a, 0)
	addPolygons(b, 1)
	starts = append(starts, len(edges))

	ab := a.Bound()
	xs := make([]float64, 0, 2*len(edges))
	for _, e := range edges {
		xs = append(xs, e.x0, e.x1)
	}
	// Crossings between edges of two different polygons (within one valid polygon
	// edges never cross).
	for i := range bounds {
		for j := i + 1; j < len(bounds); j++ {
			if !bounds[i].Intersects(bounds[j]) {
				continue
			}
			for _, e := range edges[starts[i]:starts[i+1]] {
				for _, f := range edges[starts[j]:starts[j+1]] {
					if x, ok := crossingX(e, f); ok {
						xs = append(xs, x)
					}
				}
			}
		}
	}
	xs = slices.DeleteFunc(xs, func(x float64) bool { return x < ab.Min[0] || x > ab.Max[0] })
	slices.Sort(xs)
	xs = slices.Compact(xs)

	slices.SortFunc(edges, func(e, f sweepEdge) int { return cmp.Compare(e.x0, f.x0) })
	type cut struct {
		geom, part int
		y          float64
	}
	var (
		active   []sweepEdge
		cuts     []cut
		spans    [2][]interval
		nextEdge int
	)
	for k := 0; k+1 < len(xs); k++ {
		xl, xr := xs[k], xs[k+1]
		for nextEdge < len(edges) && edges[nextEdge].x0 <= xl {
			active = append(active, edges[nextEdge])
			nextEdge++
		}
		// Every vertex is a slab boundary, so an edge still active past xl spans
		// the whole slab.
		active = slices.DeleteFunc(active, func(e sweepEdge) bool { return e.x1 <= xl })
		xm := xl + (xr-xl)/2
		cuts = cuts[:0]
		for _, e := range active {
			cuts = append(cuts, cut{e.geom, e.part, e.y(xm)})
		}
		slices.SortFunc(cuts, func(c, d cut) int {
			if c.geom != d.geom {
				return c.geom - d.geom
			}
			if c.part != d.part {
				return c.part - d.part
			}
			return cmp.Compare(c.y, d.y)
		})
		spans[0], spans[1] = spans[0][:0], spans[1][:0]
		for i := 0; i < len(cuts); {
			j := i
			for j < len(cuts) && cuts[j].geom == cuts[i].geom && cuts[j].part == cuts[i].part {
				j++
			}
			// Even-odd within one polygon: (y0, y1), (y2, y3), ...
			for m := i; m+1 < j; m += 2 {
				spans[cuts[i].geom] = append(spans[cuts[i].geom], interval{cuts[m].y, cuts[m+1].y})
			}
			i = j
		}
		sa := unite(spans[0])
		sb := unite(spans[1])
		w := xr - xl
		areaA += w * measure(sa)
		areaAB += w * overlapLength(sa, sb)
	}
	return areaA, areaAB
}

// crossingX returns the abscissa where e and f cross strictly inside their common
// x-range; ok is false when they do not, or only at an end of that range (already a
// slab boundary), or run along each other.
func crossingX(e, f sweepEdge) (x float64, ok bool) {
	l, r := max(e.x0, f.x0), min(e.x1, f.x1)
	if l >= r {
		return 0, false
	}
	dl, dr := e.y(l)-f.y(l), e.y(r)-f.y(r)
	if dl == 0 || dr == 0 || (dl > 0) == (dr > 0) {
		return 0, false
	}
	x = l + (r-l)*dl/(dl-dr)
	return x, x > l && x < r
}

// interval is a closed range [lo, hi] of ordinates.
type interval struct{ lo, hi float64 }

// unite sorts ivs and merges overlapping intervals, in place.
func unite(ivs []interval) []interval {
	if len(ivs) < 2 {
		return ivs
	}
	slices.SortFunc(ivs, func(p, q interval) int { return cmp.Compare(p.lo, q.lo) })
	out := ivs[:1]
	for _, iv := range ivs[1:] {
		last := &out[len(out)-1]
		if iv.lo <= last.hi {
			last.hi = max(last.hi, iv.hi)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// measure is the total length of disjoint intervals.
func measure(ivs []interval) float64 {
	var s float64
	for _, iv := range ivs {
		s += iv.hi - iv.lo
	}
	return s
}

// overlapLength is the length of the intersection of two sorted lists of disjoint
// intervals.
func overlapLength(p, q []interval) float64 {
	var s float64
	for i, j := 0, 0; i < len(p) && j < len(q); {
		lo, hi := max(p[i].lo, q[j].lo), min(p[i].hi, q[j].hi)
		if hi > lo {
			s += hi - lo
		}
		if p[i].hi < q[j].hi {
			i++
		} else {
			j++
		}
	}
	return s
}
