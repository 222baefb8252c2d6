package aoi

import (
	"math"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
)

// buildPolygon validates the rings of one polygon, as written in the input,
// and returns them as an orb.Polygon with consecutive duplicate positions
// removed, the shell counter-clockwise and the holes clockwise. field is
// the path of the polygon's coordinates, used in errors.
//
// Rings are checked one by one here; makeValid and checkValid check them
// against each other.
func buildPolygon(field string, rings [][][]float64) (orb.Polygon, error) {
	poly := make(orb.Polygon, 0, len(rings))
	for i := 0; i < len(rings); i++ {
		rfield := field + "[" + strconv.Itoa(i) + "]"
		ring, err := buildRing(rfield, rings[i])
		if err != nil {
			return nil, err
		}
		want := orb.CCW
		if i > 0 {
			want = orb.CW
		}
		switch ring.Orientation() {
		case 0:
			return nil, invalid(rfield, "ring has zero area")
		case want:
		default:
			ring.Reverse()
		}
		poly = append(poly, ring)
	}
	return poly, nil
}

// buildRing checks one ring's positions, closure and simplicity.
func buildRing(field string, pos [][]float64) (orb.Ring, error) {
	if len(pos) < 4 {
		return nil, invalid(field, "ring has %d positions, at least 4 are required (first == last)", len(pos))
	}
	for i := 0; i < len(pos); i++ {
		pfield := field + "[" + strconv.Itoa(i) + "]"
		if len(pos[i]) < 2 {
			return nil, invalid(pfield, "position has %d number(s), [lon, lat] is required", len(pos[i]))
		}
		if err := checkLonLat(pfield, pos[i][0], pos[i][1]); err != nil {
			return nil, err
		}
	}
	first, last := pos[0], pos[len(pos)-1]
	if first[0] != last[0] || first[1] != last[1] {
		return nil, invalid(field, "ring is not closed: first position [%g, %g] differs from last [%g, %g]",
			first[0], first[1], last[0], last[1])
	}

	// Drop consecutive duplicates; orig maps each kept point to its index
	// in the input for error messages.
	ring := make(orb.Ring, 0, len(pos))
	orig := make([]int, 0, len(pos))
	for i := 0; i < len(pos); i++ {
		p := orb.Point{pos[i][0], pos[i][1]}
		if len(ring) > 0 && ring[len(ring)-1] == p {
			continue
		}
		ring = append(ring, p)
		orig = append(orig, i)
	}
	if len(ring) < 4 {
		return nil, invalid(field, "ring has fewer than 3 distinct positions")
	}
	if a, b, at, ok := selfIntersection(ring); ok {
		return nil, invalid(field, "ring self-intersects near [%.6f, %.6f]: edge from position %d crosses edge from position %d",
			at[0], at[1], orig[a], orig[b])
	}
	return ring, nil
}

// checkLonLat rejects non-finite and out-of-range coordinates, with a hint
// when the numbers look like swapped axes or projected metres.
func checkLonLat(field string, lon, lat float64) error {
	if math.IsNaN(lon) || math.IsInf(lon, 0) || math.IsNaN(lat) || math.IsInf(lat, 0) {
		return invalid(field, "coordinate is not a finite number")
	}
	alon, alat := math.Abs(lon), math.Abs(lat)
	switch {
	case alon <= 180 && alat <= 90:
		return nil
	case alon > 1000 || alat > 1000:
		return invalid(field, "[%g, %g] is out of range: coordinates look projected (metres), EPSG:4326 lon/lat is required", lon, lat)
	case alon <= 90 && alat <= 180:
		return invalid(field, "latitude %g is out of range [-90, 90]: the position looks like [lat, lon], geojson requires [lon, lat]", lat)
	case alon > 180:
		return invalid(field, "longitude %g is out of range [-180, 180]", lon)
	}
	return invalid(field, "latitude %g is out of range [-90, 90]", lat)
}

// selfIntersection reports whether two non-adjacent edges of the closed
// ring r cross at a point interior to both (a proper intersection); it
// returns the indexes of the edges' first points and the crossing point.
// Rings that merely touch themselves are left to makeValid and checkEdges.
//
// Edges are sorted by their smallest x and swept left to right, so that
// only pairs whose x ranges overlap are tested. That is O(n log n + k) for
// k overlapping pairs: a few milliseconds for boundaries with tens of
// thousands of vertices.
func selfIntersection(r orb.Ring) (a, b int, at orb.Point, ok bool) {
	n := len(r) - 1 // edges; edge i runs from r[i] to r[i+1]
	order := make([]int, n)
	for i := 0; i < n; i++ {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		mi := math.Min(r[i][0], r[i+1][0])
		mj := math.Min(r[j][0], r[j+1][0])
		switch {
		case mi < mj:
			return -1
		case mi > mj:
			return 1
		}
		return 0
	})
	for x := 0; x < n; x++ {
		i := order[x]
		p1, p2 := r[i], r[i+1]
		maxX := math.Max(p1[0], p2[0])
		minY, maxY := math.Min(p1[1], p2[1]), math.Max(p1[1], p2[1])
		for y := x + 1; y < n; y++ {
			j := order[y]
			q1, q2 := r[j], r[j+1]
			if math.Min(q1[0], q2[0]) > maxX {
				break
			}
			if math.Max(q1[1], q2[1]) < minY || math.Min(q1[1], q2[1]) > maxY {
				continue
			}
			if adjacent(i, j, n) {
				continue
			}
			if pt, ok := properIntersection(p1, p2, q1, q2); ok {
				return min(i, j), max(i, j), pt, true
			}
		}
	}
	return 0, 0, orb.Point{}, false
}

// adjacent reports whether edges i and j of a closed ring of n edges share
// a vertex by construction.
func adjacent(i, j, n int) bool {
	d := i - j
	return d == 1 || d == -1 || d == n-1 || d == 1-n
}

// properIntersection reports whether segments p1p2 and q1q2 cross at a
// single point interior to both, and returns that point.
func properIntersection(p1, p2, q1, q2 orb.Point) (orb.Point, bool) {
	d1 := cross(q1, q2, p1)
	d2 := cross(q1, q2, p2)
	if !(d1 > 0 && d2 < 0 || d1 < 0 && d2 > 0) {
		return orb.Point{}, false
	}
	d3 := cross(p1, p2, q1)
	d4 := cross(p1, p2, q2)
	if !(d3 > 0 && d4 < 0 || d3 < 0 && d4 > 0) {
		return orb.Point{}, false
	}
	t := d1 / (d1 - d2)
	return orb.Point{p1[0] + t*(p2[0]-p1[0]), p1[1] + t*(p2[1]-p1[1])}, true
}

// cross is the z component of (b-a) x (c-a): positive when a, b, c turn
// counter-clockwise.
func cross(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}
