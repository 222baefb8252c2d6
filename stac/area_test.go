package stac

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

func TestOverlapArea(t *testing.T) {
	ell := orb.Polygon{{{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {0, 2}, {0, 0}}} // area 3
	withHole := orb.Polygon{{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}, {{2, 2}, {8, 2}, {8, 8}, {2, 8}, {2, 2}}}
	// A concave "comb" with two notches, clockwise and without the closing point.
	comb := orb.Polygon{{{0, 0}, {0, 3}, {1, 3}, {1, 1}, {2, 1}, {2, 3}, {3, 3}, {3, 1}, {4, 1}, {4, 3}, {5, 3}, {5, 0}}}
	triangle := orb.Polygon{{{0, 0}, {4, 0}, {0, 4}, {0, 0}}}
	diamond := orb.Polygon{{{1, 0}, {2, 1}, {1, 2}, {0, 1}, {1, 0}}} // area 2
	tests := []struct {
		name     string
		a, b     orb.MultiPolygon
		areaA    float64
		areaAB   float64
		symmetry bool // also check area(b ∩ a)
	}{
		{"overlap", orb.MultiPolygon{square(0, 0, 2, 2)}, orb.MultiPolygon{square(1, 1, 3, 3)}, 4, 1, true},
		{"identical", orb.MultiPolygon{square(0, 0, 2, 2)}, orb.MultiPolygon{square(0, 0, 2, 2)}, 4, 4, true},
		{"disjoint", orb.MultiPolygon{square(0, 0, 1, 1)}, orb.MultiPolygon{square(2, 2, 3, 3)}, 1, 0, true},
		{"touching edge", orb.MultiPolygon{square(0, 0, 1, 1)}, orb.MultiPolygon{square(1, 0, 2, 1)}, 1, 0, true},
		{"shared edge, inside", orb.MultiPolygon{square(0, 0, 1, 1)}, orb.MultiPolygon{square(0, 0, 2, 1)}, 1, 1, true},
		{"contained", orb.MultiPolygon{square(0, 0, 10, 10)}, orb.MultiPolygon{square(4, 4, 5, 5)}, 100, 1, true},
		{"cross, no vertex inside", orb.MultiPolygon{square(0, 4, 10, 6)}, orb.MultiPolygon{square(4, 0, 6, 10)}, 20, 4, true},
		{"L and its notch", orb.MultiPolygon{ell}, orb.MultiPolygon{square(1, 1, 2, 2)}, 3, 0, true},
		{"L and a square over its corner", orb.MultiPolygon{ell}, orb.MultiPolygon{square(0.5, 0.5, 1.5, 1.5)}, 3, 0.75, true},
		{"hole", orb.MultiPolygon{withHole}, orb.MultiPolygon{square(0, 0, 10, 10)}, 64, 64, true},
		{"inside the hole", orb.MultiPolygon{withHole}, orb.MultiPolygon{square(4, 4, 5, 5)}, 64, 0, true},
		{"across the hole edge", orb.MultiPolygon{withHole}, orb.MultiPolygon{square(1, 4, 3, 5)}, 64, 1, true},
		{"comb and a bar", orb.MultiPolygon{comb}, orb.MultiPolygon{square(-1, 2, 6, 2.5)}, 11, 1.5, true},
		{"triangle and square", orb.MultiPolygon{triangle}, orb.MultiPolygon{square(1, 1, 3, 3)}, 8, 2, true},
		{"diamond in square", orb.MultiPolygon{square(0, 0, 2, 2)}, orb.MultiPolygon{diamond}, 4, 2, true},
		{"diamond shifted", orb.MultiPolygon{square(1, 0, 3, 2)}, orb.MultiPolygon{diamond}, 4, 1, true},
		{"multipolygon", orb.MultiPolygon{square(0, 0, 1, 1), square(5, 5, 6, 6)}, orb.MultiPolygon{square(0.5, 0, 5.5, 6)}, 2, 1, true},
		{"overlapping parts counted once", orb.MultiPolygon{square(0, 0, 2, 2), square(1, 1, 3, 3)}, orb.MultiPolygon{square(0, 0, 3, 3)}, 7, 7, false},
		{"empty b", orb.MultiPolygon{square(0, 0, 2, 2)}, nil, 4, 0, false},
		{"empty a", nil, orb.MultiPolygon{square(0, 0, 2, 2)}, 0, 0, false},
		{"degenerate", orb.MultiPolygon{{{{0, 0}, {1, 1}, {2, 2}, {0, 0}}}}, orb.MultiPolygon{square(0, 0, 2, 2)}, 0, 0, false},
	}
	const eps = 1e-12
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ab := overlapArea(tt.a, tt.b)
			if math.Abs(a-tt.areaA) > eps || math.Abs(ab-tt.areaAB) > eps {
				t.Errorf("overlapArea = %g, %g; want %g, %g", a, ab, tt.areaA, tt.areaAB)
			}
			if tt.symmetry {
				if _, ba := overlapArea(tt.b, tt.a); math.Abs(ba-tt.areaAB) > eps {
					t.Errorf("area(b ∩ a) = %g, want %g", ba, tt.areaAB)
				}
			}
		})
	}
}

// TestOverlapAreaRandom checks overlapArea against the shoelace area and a point
// sample on random star-shaped (generally concave) polygons.
func TestOverlapAreaRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	star := func(cx, cy float64) orb.Polygon {
		n := 5 + rng.IntN(20)
		ring := make(orb.Ring, 0, n+1)
		for i := range n {
			ang := 2 * math.Pi * (float64(i) + 0.8*rng.Float64()) / float64(n)
			r := 0.3 + rng.Float64()
			ring = append(ring, orb.Point{cx + r*math.Cos(ang), cy + r*math.Sin(ang)})
		}
		return orb.Polygon{append(ring, ring[0])}
	}
	for i := range 20 {
		a := star(0, 0)
		b := star(rng.Float64()-0.5, rng.Float64()-0.5)
		gotA, gotAB := overlapArea(orb.MultiPolygon{a}, orb.MultiPolygon{b})
		if want := math.Abs(planar.Area(a)); math.Abs(gotA-want) > 1e-12 {
			t.Errorf("case %d: area %g, shoelace %g", i, gotA, want)
		}
		_, gotBA := overlapArea(orb.MultiPolygon{b}, orb.MultiPolygon{a})
		if math.Abs(gotAB-gotBA) > 1e-12 {
			t.Errorf("case %d: area(a ∩ b) %g != area(b ∩ a) %g", i, gotAB, gotBA)
		}
		// Sample on a 150 x 150 lattice over a's bound: the estimate errs only in the
		// cells along the boundaries (well under 1 % of a's area here).
		bd := a.Bound()
		const n = 150
		dx, dy := (bd.Max[0]-bd.Min[0])/n, (bd.Max[1]-bd.Min[1])/n
		hits := 0
		for ix := range n {
			for iy := range n {
				p := orb.Point{bd.Min[0] + (float64(ix)+0.5)*dx, bd.Min[1] + (float64(iy)+0.5)*dy}
				if planar.PolygonContains(a, p) && planar.PolygonContains(b, p) {
					hits++
				}
			}
		}
		est := float64(hits) * dx * dy
		if math.Abs(gotAB-est) > 0.01*gotA {
			t.Errorf("case %d: area(a ∩ b) %g, sampled %g", i, gotAB, est)
		}
	}
}

func TestCoverage(t *testing.T) {
	it := Item{Geometry: square(0, 0, 10, 10), BBox: [4]float64{0, 0, 10, 10}}
	noGeom := Item{BBox: [4]float64{0, 0, 10, 10}}
	antimeridian := Item{BBox: [4]float64{179, 0, -179, 1}}
	withHole := orb.Polygon{{{-5, 0}, {5, 0}, {5, 10}, {-5, 10}, {-5, 0}}, {{-4, 1}, {-1, 1}, {-1, 9}, {-4, 9}, {-4, 1}}}
	tests := []struct {
		name string
		it   Item
		aoi  orb.Geometry
		want float64
	}{
		{"inside", it, square(2, 2, 3, 3), 1},
		{"half outside", it, square(8, 0, 12, 10), 0.5},
		{"disjoint", it, square(20, 20, 21, 21), 0},
		{"bound", it, orb.Bound{Min: orb.Point{-10, 0}, Max: orb.Point{10, 10}}, 0.5},
		{"aoi with hole", it, withHole, 50.0 / 76},
		{"multipolygon aoi", it, orb.MultiPolygon{square(1, 1, 2, 2), square(11, 1, 12, 2)}, 0.5},
		{"bbox when no geometry", noGeom, square(5, 5, 15, 15), 0.25},
		{"antimeridian bbox", antimeridian, square(178.5, 0, 179.5, 1), 0.5},
		{"point inside", it, orb.Point{5, 5}, 1},
		{"point outside", it, orb.Point{15, 5}, 0},
		{"line crossing", it, orb.LineString{{-5, 5}, {5, 5}}, 1},
		{"nil", it, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.it.Coverage(tt.aoi); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Coverage = %g, want %g", got, tt.want)
			}
		})
	}

	t.Run("real footprints", func(t *testing.T) {
		seq0 := parseShared(t, v1Items+"/S2B_42MUT_20240319_0_L2A.json")
		seq1 := parseShared(t, v1Items+"/S2B_42MUT_20240319_1_L2A.json")
		// The shared strip is about 20 % of _0's footprint and 45 % of _1's.
		if got := seq1.Coverage(seq0.Geometry); math.Abs(got-0.2024) > 0.001 {
			t.Errorf("_1 covers %g of _0", got)
		}
		if got := seq0.Coverage(seq1.Geometry); math.Abs(got-0.4508) > 0.001 {
			t.Errorf("_0 covers %g of _1", got)
		}
		if got := seq0.Coverage(seq0.Geometry); got != 1 {
			t.Errorf("_0 covers %g of itself", got)
		}
	})
}
