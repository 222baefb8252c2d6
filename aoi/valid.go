package aoi

import (
	"math"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
)

// This file checks a parsed AOI the way GEOS's IsValidOp checks an OGC
// Simple Features (MultiPolygon) geometry (OGC 06-103r4, 6.1.11.1):
//
//   - the boundary of a polygon is a set of simple rings: a ring neither
//     crosses nor touches itself;
//   - rings of one polygon may touch at single points only, never cross or
//     share a segment, and the touches must not cut the interior in two
//     (GEOS: "Interior is disconnected");
//   - every hole lies inside its shell, and no hole lies inside another;
//   - the polygons of a MultiPolygon have disjoint interiors: they may touch
//     at points, but neither cross, share a segment nor nest.
//
// Two defects that published boundaries often carry, and whose meaning is
// not in doubt, are repaired instead of refused, as GEOS's MakeValid would:
// a zero-width spike (a-b-a) is removed, and a ring that passes through the
// same vertex twice is split there into simple rings (a loop inside the
// rest of a shell becomes a hole touching it at that vertex, a loop outside
// becomes a polygon of its own). The WRI boundaries of Itombwe and Luo need
// exactly these repairs. Everything else GEOS refuses is refused, so the
// area of an accepted AOI (AreaHa, the sum over its polygons) is the area
// of its union.

// ring is one ring of the geometry being checked.
type ring struct {
	pts   orb.Ring
	field string // where it came from in the input, for errors
	poly  int    // index of its polygon
	hole  bool
	bound orb.Bound
}

// removeSpikes drops zero-width spikes, vertices b of a-b-a, until none is
// left. r is closed and has no consecutive duplicates; so has the result.
func removeSpikes(r orb.Ring) orb.Ring {
	pts := slices.Clone(r[:len(r)-1]) // open ring
	for changed := true; changed && len(pts) >= 3; {
		changed = false
		for i := 0; i < len(pts) && len(pts) >= 3; i++ {
			n := len(pts)
			prev, next := pts[(i+n-1)%n], pts[(i+1)%n]
			if prev != next {
				continue
			}
			// prev, pts[i], next=prev: drop pts[i] and next.
			j := (i + 1) % n
			if j > i {
				pts = slices.Delete(pts, i, j+1)
			} else { // next is pts[0]
				pts = pts[1:i]
			}
			changed = true
			i = -1
		}
	}
	return append(pts, pts[0])
}

// splitAtRepeats splits a closed ring that passes through a vertex more than
// once into closed rings that pass through each vertex once.
func splitAtRepeats(r orb.Ring) []orb.Ring {
	seen := make(map[orb.Point]int, len(r))
	for j := 0; j < len(r)-1; j++ {
		i, ok := seen[r[j]]
		if !ok {
			seen[r[j]] = j
			continue
		}
		// r[i] == r[j]: the loop r[i..j] and the rest r[0..i] + r[j+1..].
		loop := slices.Clone(r[i : j+1])
		rest := append(slices.Clone(r[:i+1]), r[j+1:]...)
		return append(splitAtRepeats(loop), splitAtRepeats(rest)...)
	}
	return []orb.Ring{r}
}

// makeValid applies the two repairs to the polygons as built from the input
// (fields[i] is the path of polygon i) and returns the rings to check.
func makeValid(polys []orb.Polygon, fields []string) ([]ring, error) {
	var out []ring
	next := 0 // index of the next output polygon
	for p, poly := range polys {
		shells := splitAtRepeats(removeSpikes(poly[0]))
		sfield := fields[p] + "[0]"
		// A loop of a shell inside another loop of it is a hole of that
		// loop; loops inside no other are shells.
		parent := make([]int, len(shells))
		for i := range shells {
			parent[i] = -1
			for j := range shells {
				if i != j && len(shells[i]) >= 4 && ringInside(shells[i], shells[j]) {
					parent[i] = j
				}
			}
		}
		var mine []int // positions in out of this polygon's shells
		index := make([]int, len(shells))
		for i, s := range shells {
			if len(s) < 4 || parent[i] >= 0 {
				continue
			}
			index[i] = next
			mine = append(mine, len(out))
			out = append(out, newRing(orient(s, orb.CCW), sfield, next, false))
			next++
		}
		for i, s := range shells {
			if len(s) < 4 || parent[i] < 0 {
				continue
			}
			if parent[parent[i]] >= 0 {
				return nil, invalid(sfield, "ring loops inside itself more than once near [%.6f, %.6f]", s[0][0], s[0][1])
			}
			out = append(out, newRing(orient(s, orb.CW), sfield, index[parent[i]], true))
		}
		if len(mine) == 0 {
			return nil, invalid(sfield, "ring has zero area")
		}
		// Holes go to the shell that holds them.
		for h := 1; h < len(poly); h++ {
			hfield := fields[p] + "[" + strconv.Itoa(h) + "]"
			for _, hr := range splitAtRepeats(removeSpikes(poly[h])) {
				if len(hr) < 4 {
					continue
				}
				owner := -1
				for _, k := range mine {
					if ringInside(hr, out[k].pts) {
						owner = out[k].poly
						break
					}
				}
				if owner < 0 {
					return nil, invalid(hfield, "hole lies outside its shell (%s)", sfield)
				}
				out = append(out, newRing(orient(hr, orb.CW), hfield, owner, true))
			}
		}
	}
	return out, nil
}

func newRing(r orb.Ring, field string, poly int, hole bool) ring {
	return ring{pts: r, field: field, poly: poly, hole: hole, bound: r.Bound()}
}

func orient(r orb.Ring, want orb.Orientation) orb.Ring {
	if r.Orientation() != want {
		r = slices.Clone(r)
		r.Reverse()
	}
	return r
}

// checkValid reports the first way in which rings, as returned by
// makeValid, fail OGC validity, as a ValidationError on the field of the
// ring at fault.
func checkValid(rings []ring) error {
	touches, err := checkEdges(rings)
	if err != nil {
		return err
	}
	if err := checkNesting(rings); err != nil {
		return err
	}
	return checkConnected(rings, touches)
}

// edge is edge k of ring r: from rings[r].pts[k] to rings[r].pts[k+1].
type edge struct{ r, k int }

// touch is a point where two different rings of one polygon meet.
type touch struct {
	a, b int // rings, a < b
	at   orb.Point
}

// checkEdges sweeps the edges of all rings left to right, as
// selfIntersection does for one ring, and refuses crossings, shared
// segments and rings touching themselves. It returns the points where two
// rings of the same polygon touch.
func checkEdges(rings []ring) (map[touch]bool, error) {
	var edges []edge
	for r := range rings {
		for k := 0; k+1 < len(rings[r].pts); k++ {
			edges = append(edges, edge{r, k})
		}
	}
	minX := func(e edge) float64 {
		p := rings[e.r].pts
		return math.Min(p[e.k][0], p[e.k+1][0])
	}
	slices.SortFunc(edges, func(a, b edge) int {
		ma, mb := minX(a), minX(b)
		switch {
		case ma < mb:
			return -1
		case ma > mb:
			return 1
		}
		return 0
	})
	touches := make(map[touch]bool)
	for x := range edges {
		e := edges[x]
		pr := rings[e.r].pts
		p1, p2 := pr[e.k], pr[e.k+1]
		maxX := math.Max(p1[0], p2[0])
		minY, maxY := math.Min(p1[1], p2[1]), math.Max(p1[1], p2[1])
		for y := x + 1; y < len(edges); y++ {
			f := edges[y]
			qr := rings[f.r].pts
			q1, q2 := qr[f.k], qr[f.k+1]
			if math.Min(q1[0], q2[0]) > maxX {
				break
			}
			if math.Max(q1[1], q2[1]) < minY || math.Min(q1[1], q2[1]) > maxY {
				continue
			}
			kind, at := classify(p1, p2, q1, q2)
			if kind == meetApart {
				continue
			}
			same := e.r == f.r
			if same && adjacent(e.k, f.k, len(pr)-1) {
				// Consecutive edges meet at their shared vertex; they
				// overlap only if the ring doubles back on itself.
				if kind == meetOverlap {
					return nil, invalid(rings[e.r].field, "ring doubles back on itself near [%.6f, %.6f]", at[0], at[1])
				}
				continue
			}
			a, b := rings[e.r], rings[f.r]
			switch {
			case kind == meetCross && same:
				return nil, invalid(a.field, "ring self-intersects near [%.6f, %.6f]", at[0], at[1])
			case kind == meetOverlap && same:
				return nil, invalid(a.field, "ring runs along itself near [%.6f, %.6f]", at[0], at[1])
			case same:
				return nil, invalid(a.field, "ring touches itself near [%.6f, %.6f] (split it into two rings there)", at[0], at[1])
			case a.poly != b.poly && (kind == meetCross || kind == meetOverlap):
				return nil, invalid(b.field, "polygon overlaps polygon %s near [%.6f, %.6f]: dissolve them into one polygon", polyField(a.field), at[0], at[1])
			case kind == meetCross:
				return nil, invalid(b.field, "ring crosses ring %s near [%.6f, %.6f]", a.field, at[0], at[1])
			case kind == meetOverlap:
				return nil, invalid(b.field, "ring shares a segment with ring %s near [%.6f, %.6f]", a.field, at[0], at[1])
			case a.poly == b.poly:
				touches[touch{min(e.r, f.r), max(e.r, f.r), at}] = true
			}
		}
	}
	return touches, nil
}

// polyField is the path of the polygon that holds a ring's path.
func polyField(ringField string) string {
	for i := len(ringField) - 1; i >= 0; i-- {
		if ringField[i] == '[' {
			return ringField[:i]
		}
	}
	return ringField
}

type meeting int

const (
	meetApart   meeting = iota
	meetTouch           // at one point that is an end of at least one segment
	meetCross           // at one point interior to both
	meetOverlap         // collinear, sharing more than a point
)

// classify tells how segments p1p2 and q1q2 meet, and where.
func classify(p1, p2, q1, q2 orb.Point) (meeting, orb.Point) {
	if at, ok := properIntersection(p1, p2, q1, q2); ok {
		return meetCross, at
	}
	d1, d2 := cross(q1, q2, p1), cross(q1, q2, p2)
	d3, d4 := cross(p1, p2, q1), cross(p1, p2, q2)
	if d1 == 0 && d2 == 0 {
		// Collinear: project on the longer axis.
		ax := 0
		if math.Abs(p2[1]-p1[1]) > math.Abs(p2[0]-p1[0]) {
			ax = 1
		}
		plo, phi := math.Min(p1[ax], p2[ax]), math.Max(p1[ax], p2[ax])
		qlo, qhi := math.Min(q1[ax], q2[ax]), math.Max(q1[ax], q2[ax])
		lo, hi := math.Max(plo, qlo), math.Min(phi, qhi)
		switch {
		case lo > hi:
			return meetApart, orb.Point{}
		case lo < hi:
			for _, c := range []orb.Point{p1, p2, q1, q2} {
				if c[ax] == lo {
					return meetOverlap, c
				}
			}
		}
		for _, c := range []orb.Point{p1, p2} {
			if c[ax] == lo {
				return meetTouch, c
			}
		}
		return meetTouch, q1
	}
	switch {
	case d1 == 0 && onSegment(q1, q2, p1):
		return meetTouch, p1
	case d2 == 0 && onSegment(q1, q2, p2):
		return meetTouch, p2
	case d3 == 0 && onSegment(p1, p2, q1):
		return meetTouch, q1
	case d4 == 0 && onSegment(p1, p2, q2):
		return meetTouch, q2
	}
	return meetApart, orb.Point{}
}

// onSegment reports whether c, collinear with ab, lies within its box.
func onSegment(a, b, c orb.Point) bool {
	return math.Min(a[0], b[0]) <= c[0] && c[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= c[1] && c[1] <= math.Max(a[1], b[1])
}

// checkNesting refuses holes inside other holes of their polygon and
// polygons inside other polygons. Rings no longer cross, so one point of a
// ring that is not on the other ring tells on which side the whole ring is.
func checkNesting(rings []ring) error {
	for i := range rings {
		for j := range rings {
			a, b := rings[i], rings[j]
			if i == j || !b.bound.Contains(a.bound.Min) || !b.bound.Contains(a.bound.Max) {
				continue
			}
			switch {
			case a.hole && b.hole && a.poly == b.poly:
				if ringInside(a.pts, b.pts) {
					return invalid(a.field, "hole lies inside hole %s", b.field)
				}
			case !a.hole && !b.hole && a.poly != b.poly:
				if ringInside(a.pts, b.pts) && !inAHole(rings, a, b.poly) {
					return invalid(a.field, "polygon lies inside polygon %s: dissolve them into one polygon", polyField(b.field))
				}
			}
		}
	}
	return nil
}

// inAHole reports whether shell a lies in a hole of polygon poly.
func inAHole(rings []ring, a ring, poly int) bool {
	for _, h := range rings {
		if h.hole && h.poly == poly && ringInside(a.pts, h.pts) {
			return true
		}
	}
	return false
}

// checkConnected refuses polygons whose rings touch in a cycle (two rings
// at two points, or three rings pairwise), which cuts the interior in two.
// Rings and touch points are the nodes of a graph whose edges are "ring
// passes through point"; the interior is disconnected iff it has a cycle.
func checkConnected(rings []ring, touches map[touch]bool) error {
	parent := map[any]any{}
	var find func(x any) any
	find = func(x any) any {
		p, ok := parent[x]
		if !ok || p == x {
			parent[x] = x
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	linked := map[[2]any]bool{}
	link := func(r int, at orb.Point) bool {
		k := [2]any{r, at}
		if linked[k] {
			return true
		}
		linked[k] = true
		a, b := find(r), find(at)
		if a == b {
			return false
		}
		parent[a] = b
		return true
	}
	// Sorted for a deterministic error.
	ts := make([]touch, 0, len(touches))
	for t := range touches {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(x, y touch) int {
		if x.a != y.a {
			return x.a - y.a
		}
		if x.b != y.b {
			return x.b - y.b
		}
		if x.at[0] != y.at[0] {
			if x.at[0] < y.at[0] {
				return -1
			}
			return 1
		}
		if x.at[1] < y.at[1] {
			return -1
		}
		if x.at[1] > y.at[1] {
			return 1
		}
		return 0
	})
	for _, t := range ts {
		if !link(t.a, t.at) || !link(t.b, t.at) {
			return invalid(rings[t.b].field, "rings touch so that the polygon's interior is cut in two near [%.6f, %.6f]", t.at[0], t.at[1])
		}
	}
	return nil
}

// ringInside reports whether ring a lies inside ring b, judged by the first
// vertex of a (or midpoint of an edge of a) that is not on b.
func ringInside(a, b orb.Ring) bool {
	for k := 0; k+1 < len(a); k++ {
		for _, p := range []orb.Point{a[k], {(a[k][0] + a[k+1][0]) / 2, (a[k][1] + a[k+1][1]) / 2}} {
			switch pointInRing(p, b) {
			case 1:
				return true
			case -1:
				return false
			}
		}
	}
	return false // a runs along b everywhere: same ring, not inside
}

// pointInRing returns 1 if p is inside ring r, -1 if outside, 0 if on it
// (crossing number, with boundary points found exactly).
func pointInRing(p orb.Point, r orb.Ring) int {
	in := false
	for k := 0; k+1 < len(r); k++ {
		a, b := r[k], r[k+1]
		if cross(a, b, p) == 0 && onSegment(a, b, p) {
			return 0
		}
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	if in {
		return 1
	}
	return -1
}

// assemble builds the MultiPolygon of checked rings: each shell followed by
// its holes, in the order the rings came.
func assemble(rings []ring) orb.MultiPolygon {
	var mp orb.MultiPolygon
	index := map[int]int{}
	for _, r := range rings {
		if !r.hole {
			index[r.poly] = len(mp)
			mp = append(mp, orb.Polygon{r.pts})
		}
	}
	for _, r := range rings {
		if r.hole {
			mp[index[r.poly]] = append(mp[index[r.poly]], r.pts)
		}
	}
	return mp
}
