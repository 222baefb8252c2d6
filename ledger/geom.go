package ledger

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// overlapRows bounds the scan lines used to measure the overlap of two footprints, so
// the cost of a comparison stays bounded whatever their size.
const overlapRows = 1024

// overlapRowStep is the finest scan-line spacing in degrees (about 1.1 m), well under a
// 10 m pixel: footprints traced on pixel edges are measured almost exactly.
const overlapRowStep = 1e-5

// overlap returns the area shared by footprints a and b (MultiPolygons in lon/lat, parts
// disjoint) in square degrees of longitude by latitude: the sum over horizontal scan lines
// across their common latitude range of the length both cover, times the line spacing.
// Footprints that only touch along an edge share nothing. It is a measure for comparing
// overlaps, not an area in hectares.
func overlap(a, b orb.MultiPolygon, ba, bb orb.Bound) float64 {
	if !ba.Intersects(bb) {
		return 0
	}
	lo, hi := max(ba.Min[1], bb.Min[1]), min(ba.Max[1], bb.Max[1])
	if hi <= lo {
		return 0
	}
	step := max(overlapRowStep, (hi-lo)/overlapRows)
	ea, eb := edgesOf(a), edgesOf(b)
	var xa, xb []float64
	total := 0.0
	for y := lo + step/2; y < hi; y += step {
		xa = crossings(ea, y, xa[:0])
		xb = crossings(eb, y, xb[:0])
		total += sharedLength(xa, xb)
	}
	return total * step
}

// edge is one ring segment with its latitude range, for scan lines.
type edge struct{ x0, y0, x1, y1 float64 }

func edgesOf(mp orb.MultiPolygon) []edge {
	var es []edge
	for _, p := range mp {
		for _, r := range p {
			for i := 0; i+1 < len(r); i++ {
				if r[i][1] != r[i+1][1] {
					es = append(es, edge{r[i][0], r[i][1], r[i+1][0], r[i+1][1]})
				}
			}
		}
	}
	return es
}

// crossings appends to xs the longitudes where the scan line at latitude y crosses the
// edges (half-open in latitude, so a vertex on the line is counted once), sorted.
func crossings(es []edge, y float64, xs []float64) []float64 {
	for _, e := range es {
		if (e.y0 <= y) != (e.y1 <= y) {
			xs = append(xs, e.x0+(y-e.y0)*(e.x1-e.x0)/(e.y1-e.y0))
		}
	}
	slices.Sort(xs)
	return xs
}

// sharedLength is the length covered by both span lists (pairs of sorted crossings, the
// even-odd rule).
func sharedLength(a, b []float64) float64 {
	total := 0.0
	i, j := 0, 0
	for i+1 < len(a) && j+1 < len(b) {
		lo, hi := max(a[i], b[j]), min(a[i+1], b[j+1])
		if hi > lo {
			total += hi - lo
		}
		if a[i+1] < b[j+1] {
			i += 2
		} else {
			j += 2
		}
	}
	return total
}

// metresPerDegree is the length of one degree of latitude (and of longitude at the
// equator) on the WGS84 authalic sphere, for short local distances.
const metresPerDegree = 6371007.1809 * math.Pi / 180

// gapMetres returns the shortest distance in metres between the outlines of two disjoint
// footprints, measured between vertices in a local equirectangular frame (outlines traced
// on pixel edges have a vertex at least every pixel, so the error is under a pixel).
func gapMetres(a, b orb.MultiPolygon, ba, bb orb.Bound, limit float64) float64 {
	lat := (ba.Center()[1] + bb.Center()[1]) / 2
	kx := metresPerDegree * math.Cos(lat*math.Pi/180)
	ky := metresPerDegree
	// Bounding boxes farther apart than limit cannot hold closer outlines.
	dx := max(0, max(ba.Min[0]-bb.Max[0], bb.Min[0]-ba.Max[0])) * kx
	dy := max(0, max(ba.Min[1]-bb.Max[1], bb.Min[1]-ba.Max[1])) * ky
	if math.Hypot(dx, dy) > limit {
		return math.Hypot(dx, dy)
	}
	best := math.Inf(1)
	for _, pa := range a {
		for _, ra := range pa {
			for _, p := range ra {
				for _, pb := range b {
					for _, rb := range pb {
						for _, q := range rb {
							if d := math.Hypot((p[0]-q[0])*kx, (p[1]-q[1])*ky); d < best {
								best = d
							}
						}
					}
				}
			}
		}
	}
	return best
}

// boundOf is the bounding box of a footprint.
func boundOf(mp orb.MultiPolygon) orb.Bound {
	if len(mp) == 0 {
		return orb.Bound{}
	}
	return mp.Bound()
}
