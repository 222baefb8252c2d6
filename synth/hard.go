package synth

import (
	"math"
	"math/rand/v2"
)

// The hard mode (Config.Hard) adds the ground that real mining sites show and the default
// scenes lack, on top of every default object (the default objects and their places are
// the same as without it):
//
//   - sub-pixel edges: every change object covers its edge pixels in part; a pixel's after
//     spectrum is the covered fraction of the object's surface and the rest of what lies
//     beside it (linear mixing), and truth_fraction.tif holds the covered fraction;
//     truth.tif and truth.geojson keep the contract's pixel-centre rule;
//   - mining ground as a mosaic: half the scars are wet, dark spoil; older scars carry
//     partial regrowth (pioneer grass on 25-60 % of the ground, patchy), fresh ones little;
//     ponds carry mud, the free-standing ones are shallow, sediment-laden water over mud
//     (MNDWI near 0, red 0.16);
//   - burns with a severity gradient: char at the centre, mostly unburnt canopy at the rim
//     (severity falls with the square of the distance, patchy);
//   - roads one and one and a half pixels wide (10 and 15 m tracks) beside the 20 m one;
//   - clearings of 0.2-0.5 ha: exposed soil and drying slash.
//
// The sky is the default's: after periods composited from three partly cloudy dates with
// unflagged cloud rims and shadow penumbrae.

// mixLayer is the hard mode's per-pixel mixing: where frac is not 0, the pixel is frac/255
// of cover code (itself m/255 of its second surface, secondAfter) and the rest of cover
// bg; elsewhere it is its cover code alone.
type mixLayer struct {
	frac, code, bg, m []uint8
}

func newMixLayer(n int) *mixLayer {
	return &mixLayer{frac: make([]uint8, n*n), code: make([]uint8, n*n), bg: make([]uint8, n*n), m: make([]uint8, n*n)}
}

// hardObjects plants the hard mode's own objects (after every default one, with their own
// random stream, so the default objects do not move) and gives every change object its
// mixing field.
func (L *layout) hardObjects(rng *rand.Rand, count func(float64, int) int) {
	L.mix = newMixLayer(L.n)
	L.placeRoadWidth(rng, 0.5)
	L.placeRoadWidth(rng, 0.75)
	for range count(4, 2) {
		if b := L.placeBlob(rng, kindChange, uniform(rng, 20, 50), 0.2, uniform(rng, 1, 1.6)); b != nil {
			L.add(kindChange, "clearing", classBare, [][]pt{b.ring(0)}, cClearing, -1)
		}
	}
	nseed := rng.Uint64()
	for k, o := range L.objects {
		if o.Kind != "change" {
			continue
		}
		ns := mix64(nseed ^ uint64(k+1))
		switch o.cover {
		case cScar:
			if o.Name[:4] != "scar" {
				continue // roads stay plain
			}
			if rng.IntN(2) == 0 {
				o.cover = cScarWet
			}
			// older scars regrow (25-60 % pioneer cover), fresh ones hardly (0-12 %)
			r := uniform(rng, 0, 0.12)
			if rng.IntN(2) == 0 {
				r = uniform(rng, 0.25, 0.6)
			}
			o.mfn = func(x, y float64) float64 { return r * (1 + 0.8*valueNoise(ns, x, y, 6)) }
		case cPond:
			if !o.inScar {
				o.cover = cTurbid
			}
			o.mfn = func(x, y float64) float64 { return 0.15 * (1 + valueNoise(ns, x, y, 5)) }
		case cBurn:
			b := o.b
			o.mfn = func(x, y float64) float64 {
				d, rt := b.polar(x, y)
				q := d / rt
				sev := 1 - 0.85*q*q + 0.15*valueNoise(ns, x, y, 8)
				return 1 - sev
			}
		case cClearing:
			o.mfn = func(x, y float64) float64 { return 0.1 * (1 + valueNoise(ns, x, y, 4)) }
		}
	}
}

// paintMixed paints a change object with sub-pixel edges: the fraction of each pixel it
// covers (4 x 4 samples), its cover code where the pixel centre is inside (the contract's
// rule) and its mixing field.
func (L *layout) paintMixed(o *placed) {
	rings := o.rings[:1]
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range rings[0] {
		x0, y0, x1, y1 = min(x0, p[0]), min(y0, p[1]), max(x1, p[0]), max(y1, p[1])
	}
	c0, r0 := max(0, int(math.Floor(x0))-1), max(0, int(math.Floor(y0))-1)
	c1, r1 := min(L.n, int(math.Ceil(x1))+1), min(L.n, int(math.Ceil(y1))+1)
	bw, bh := c1-c0, r1-r0
	if bw <= 0 || bh <= 0 {
		return
	}
	const sub = 4
	fine := make([]pt, len(rings[0]))
	for i, p := range rings[0] {
		fine[i] = pt{(p[0] - float64(c0)) * sub, (p[1] - float64(r0)) * sub}
	}
	cnt := make([]uint8, bw*bh)
	scanRings([][]pt{fine}, bw*sub, bh*sub, func(row, a, b int) {
		for c := a; c < b; c++ {
			cnt[row/sub*bw+c/sub]++
		}
	})
	inside := make([]bool, bw*bh)
	scanRings(rings, L.n, L.n, func(row, a, b int) {
		for c := a; c < b; c++ {
			if c >= c0 && c < c1 && row >= r0 && row < r1 {
				inside[(row-r0)*bw+c-c0] = true
			}
		}
	})
	mx := L.mix
	for r := range bh {
		for c := range bw {
			k := r*bw + c
			if cnt[k] == 0 && !inside[k] {
				continue
			}
			i := (r0+r)*L.n + c0 + c
			prior := L.cover[i]
			if mx.frac[i] != 0 && cnt[k] < sub*sub {
				prior = mx.code[i] // an edge of the object beneath (a pond's scar)
			}
			mx.frac[i] = uint8((int(cnt[k])*255 + sub*sub/2) / (sub * sub))
			if mx.frac[i] == 0 {
				mx.frac[i] = 1 // centre inside, samples outside: a sliver
			}
			mx.code[i], mx.bg[i] = o.cover, prior
			if o.mfn != nil {
				m := o.mfn(float64(c0+c)+0.5, float64(r0+r)+0.5)
				mx.m[i] = uint8(255*max(0, min(1, m)) + 0.5)
			}
			if inside[k] {
				L.cover[i] = o.cover
			}
		}
	}
}

// truthFraction is the covered fraction of planted change per pixel, in percent.
func (L *layout) truthFraction() []uint8 {
	out := make([]uint8, len(L.cover))
	for i, c := range L.cover {
		if truthClass[c] != 0 {
			out[i] = 100
		}
		if L.mix == nil || L.mix.frac[i] == 0 {
			continue
		}
		f := float64(L.mix.frac[i]) / 255
		v := 0.0
		if truthClass[L.mix.code[i]] != 0 {
			v += f
		}
		if truthClass[L.mix.bg[i]] != 0 {
			v += 1 - f
		}
		out[i] = uint8(math.Round(100 * v))
	}
	return out
}

// valueNoise is smooth value noise in [-1,1] of period p pixels at (x, y).
func valueNoise(seed uint64, x, y, p float64) float64 {
	fx, fy := x/p, y/p
	ix, iy := math.Floor(fx), math.Floor(fy)
	tx, ty := float64(smooth(float32(fx-ix))), float64(smooth(float32(fy-iy)))
	i, j := int64(ix), int64(iy)
	v00, v10 := float64(lattice(seed, i, j)), float64(lattice(seed, i+1, j))
	v01, v11 := float64(lattice(seed, i, j+1)), float64(lattice(seed, i+1, j+1))
	a := v00 + (v10-v00)*tx
	b := v01 + (v11-v01)*tx
	return a + (b-a)*ty
}

// mixedRefl is band b of hard-mode pixel i (texture t) and the surface whose noise it takes.
func (sr *sceneRender) mixedRefl(b, i int, t float32) (float32, uint8) {
	mx := sr.mix
	f := float32(mx.frac[i]) / 255
	code, bg := mx.code[i], mx.bg[i]
	m := float32(mx.m[i]) / 255
	surfV := func(c uint8, m float32) float32 {
		p, q := sr.surf[c], sr.second[c]
		v := sr.spec[p][b] * (1 + texAmp[p]*t)
		if m > 0 {
			v += m * (sr.spec[q][b]*(1+texAmp[q]*t) - v)
		}
		return v
	}
	return f*surfV(code, m) + (1-f)*surfV(bg, 0), sr.surf[code]
}
