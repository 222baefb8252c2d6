package synth

import (
	"context"
	"math"
)

// mix64 is the SplitMix64 finaliser (Steele, Lea & Flood, "Fast splittable pseudorandom
// number generators", OOPSLA 2014): a bijective avalanche of a 64-bit key. Per-pixel noise
// is a pure function of (seed, scene, band, pixel), so strips can be computed in any order
// on any number of goroutines and the output stays byte-identical.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// gauss4 maps a 64-bit hash to an approximately standard normal number: the sum of four
// independent 16-bit uniforms (Irwin-Hall, n=4, variance 4/12) centred and scaled by sqrt(3).
// It is bounded by +-3.46, which suits sensor noise (no absurd outliers).
func gauss4(h uint64) float32 {
	s := (h & 0xffff) + (h >> 16 & 0xffff) + (h >> 32 & 0xffff) + (h >> 48)
	return (float32(s)/65535 - 2) * 1.7320508
}

// unit01 maps a hash to [0,1).
func unit01(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// octave of value noise: lattice period in pixels and amplitude.
type octave struct {
	period float64
	amp    float32
}

// textureOctaves build the forest canopy texture: value noise (random values on a lattice,
// smoothstep-interpolated; Perlin 1985 / Ebert et al. "Texturing & Modeling") summed over
// octaves. Periods of 3 px (30 m) stand for tree crowns and crown gaps (emergent crowns in
// Congo-basin forest are 10-30 m wide), 8 and 32 px for stand structure, 128 px for
// landscape-scale variation of canopy density.
var textureOctaves = []octave{{128, 0.30}, {32, 0.30}, {8, 0.25}, {3, 0.45}}

// texScale converts the stored int16 texture to about [-1,1].
const texScale = 1.0 / 16384

// makeTexture fills an int16 texture (value*16384) of w x h pixels with the octave sum,
// normalised to unit standard deviation (measured on the octave weights: value noise on a
// uniform[-1,1] lattice with smoothstep weights has a variance close to 0.16 per octave).
func makeTexture(ctx context.Context, seed uint64, w, h int) ([]int16, error) {
	tex := make([]int16, w*h)
	var sum float64
	for _, o := range textureOctaves {
		sum += float64(o.amp) * float64(o.amp) * 0.16
	}
	norm := float32(1 / math.Sqrt(sum))
	err := parallelRows(ctx, h, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			row := tex[r*w : (r+1)*w]
			acc := make([]float32, w)
			for k, o := range textureOctaves {
				oseed := mix64(seed ^ uint64(k+1)*0x51ed2701)
				fy := (float64(r) + 0.5) / o.period
				iy := int64(math.Floor(fy))
				ty := smooth(float32(fy - float64(iy)))
				for c := 0; c < w; {
					fx := (float64(c) + 0.5) / o.period
					ix := int64(math.Floor(fx))
					v00 := lattice(oseed, ix, iy)
					v10 := lattice(oseed, ix+1, iy)
					v01 := lattice(oseed, ix, iy+1)
					v11 := lattice(oseed, ix+1, iy+1)
					a := v00 + (v01-v00)*ty
					b := v10 + (v11-v10)*ty
					// all columns in this lattice cell share the four corners
					cend := min(w, int(math.Ceil(float64(ix+1)*o.period-0.5)))
					if cend <= c {
						cend = c + 1
					}
					for ; c < cend; c++ {
						tx := smooth(float32((float64(c)+0.5)/o.period - float64(ix)))
						acc[c] += o.amp * (a + (b-a)*tx)
					}
				}
			}
			for c, v := range acc {
				v *= norm
				v = max(-1.9, min(1.9, v))
				row[c] = int16(v * 16384)
			}
		}
	})
	return tex, err
}

func smooth(t float32) float32 { return t * t * (3 - 2*t) }

// lattice is the value-noise lattice: uniform in [-1,1].
func lattice(seed uint64, ix, iy int64) float32 {
	h := mix64(seed ^ uint64(ix)*0x9e3779b97f4a7c15 ^ uint64(iy)*0xc2b2ae3d27d4eb4f)
	return float32(h>>40)/(1<<23) - 1
}
