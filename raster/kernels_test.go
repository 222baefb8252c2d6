package raster

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScreenMatchesGo holds cw_screen (SSE2 four pixels at a time, and its one-pixel tail)
// against classifyRows' tests written with the Go helpers, on random reflectances and the
// edges: zero sums, NaN-making zeros, extreme ratios, thresholds hit exactly, pixels
// outside the AOI and without enough clear observations.
func TestScreenMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const minClear = 2
	veg, onlyBurn, burnRed, burnNBR := float32(0.5), float32(0.6), float32(0.09), float32(0.1)
	for _, w := range []int{1, 2, 3, 4, 5, 7, 64, 1001} {
		for rep := range 40 {
			aoi := rep%2 == 1
			rows := make([][]uint16, 4) // red before, NIR before, red after, NIR after (DN)
			for i := range rows {
				rows[i] = make([]uint16, w)
				for x := range rows[i] {
					switch r := rng.IntN(10); {
					case r < 3:
						rows[i][x] = 1000 // reflectance 0: zero sums
					case r == 1:
						rows[i][x] = uint16([]int{0, 1, 65535, 1001}[rng.IntN(4)])
					default:
						rows[i][x] = uint16(1000 + rng.IntN(6000))
					}
				}
			}
			nb, na := make([]uint8, w), make([]uint8, w)
			var inAOI []bool
			if aoi {
				inAOI = make([]bool, w)
			}
			for x := range w {
				nb[x], na[x] = uint8(rng.IntN(4)), uint8(rng.IntN(4))
				if aoi {
					inAOI[x] = rng.IntN(5) != 0
				}
			}
			scene := func(red, nir []uint16) sceneRow {
				r := sceneRow{off: 1000, scale: 1e-4}
				r.dn[2], r.dn[3] = red, nir
				return r
			}
			rb, ra := []sceneRow{scene(rows[0], rows[1])}, []sceneRow{scene(rows[2], rows[3])}
			var pb, pa picks
			pb.resize(w)
			pa.resize(w)
			for x := range w {
				pb.k[x], pa.k[x] = 0, 0
				pb.n[x], pa.n[x] = nb[x], na[x]
			}
			cb := &chunkBuffers{dn: [][nSpectral][]uint16{rb[0].dn}}
			ca := &chunkBuffers{dn: [][nSpectral][]uint16{ra[0].dn}}
			sc := newScreen(cb, ca, w)
			tests := screenTests{minClear: minClear, veg: veg - ndMargin, onlyBurn: onlyBurn + ndMargin, burn: burnRed, burnNBR: burnNBR + ndMargin}
			oc, od, ob, oa := make([]uint8, w), make([]int16, w), make([]uint8, w), make([]uint8, w)
			cand, obs, nobs := sc.row(rb, ra, 0, &pb, &pa, inAOI, &tests, oc, od, ob, oa)
			sc.Close()

			var wantCand []uint32
			wantObs, wantNobs := 0, 0
			for x := range w {
				var c uint8
				var d int16
				var b, a uint8
				switch {
				case inAOI != nil && !inAOI[x]:
					c, d = ClassNotObserved, DNDVINoData
				case nb[x] < minClear || na[x] < minClear:
					c, d, b, a = ClassNotObserved, DNDVINoData, nb[x], na[x]
					wantNobs++
				default:
					wantObs++
					b, a = nb[x], na[x]
					sb, sa := &rb[0], &ra[0]
					redB, nirB := sb.refl(sb.dn[2][x]), sb.refl(sb.dn[3][x])
					redA, nirA := sa.refl(sa.dn[2][x]), sa.refl(sa.dn[3][x])
					numB, sumB, numA, sumA := nirB-redB, nirB+redB, nirA-redA, nirA+redA
					d = quantizeDNDVI(ndDiff(numA, sumA, numB, sumB))
					if !below(numB, sumB, veg) && !(above(numA, sumA, onlyBurn) && redA >= burnRed) {
						wantCand = append(wantCand, uint32(x)) // no SWIR2 bound here: none is skipped
					}
				}
				if oc[x] != c || od[x] != d || ob[x] != b || oa[x] != a {
					t.Fatalf("w %d aoi %v pixel %d: got class %d dNDVI %d counts %d %d, want %d %d %d %d",
						w, aoi, x, oc[x], od[x], ob[x], oa[x], c, d, b, a)
				}
			}
			if !slices.Equal(cand, wantCand) || obs != wantObs || nobs != wantNobs {
				t.Errorf("w %d aoi %v: %d candidates, %d observed, %d not; want %d, %d, %d",
					w, aoi, len(cand), obs, nobs, len(wantCand), wantObs, wantNobs)
			}
		}
	}
	if quantizeDNDVI(float32(math.NaN())) != DNDVINoData {
		t.Error("quantizeDNDVI(NaN) is not no data")
	}
}
