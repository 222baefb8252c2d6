package raster

import (
	"bytes"
	"encoding/binary"
	"math"
	"sort"
	"unsafe"

	"github.com/paulmach/orb"
)

// RasterizePolygons returns a mask of g's pixels whose centres fall inside mp (even-odd
// rule per polygon, so holes are honoured). mp is in g's CRS. Pure Go scanline fill:
// for each row, the x crossings of the row's centre line with every edge are sorted and
// filled pairwise.
func RasterizePolygons(g Grid, mp orb.MultiPolygon) []bool {
	return rasterizeInto(make([]bool, g.Pixels()), g, mp)
}

// rasterizeInto is RasterizePolygons into mask (g.Pixels() long), which is cleared first.
func rasterizeInto(mask []bool, g Grid, mp orb.MultiPolygon) []bool {
	mask = mask[:g.Pixels()]
	clear(mask)
	var xs []float64
	for _, poly := range mp {
		b := poly.Bound()
		r0 := max(0, int(math.Floor((g.Y0-b.Max[1])/g.Res)))
		r1 := min(g.Height-1, int(math.Ceil((g.Y0-b.Min[1])/g.Res)))
		for row := r0; row <= r1; row++ {
			y := g.Y0 - (float64(row)+0.5)*g.Res
			xs = xs[:0]
			for _, ring := range poly {
				for i := 0; i+1 < len(ring); i++ {
					p, q := ring[i], ring[i+1]
					if (p[1] <= y) == (q[1] <= y) {
						continue
					}
					xs = append(xs, p[0]+(y-p[1])*(q[0]-p[0])/(q[1]-p[1]))
				}
			}
			sort.Float64s(xs)
			for i := 0; i+1 < len(xs); i += 2 {
				// pixel col is inside when x0+(col+0.5)*res in [xs[i], xs[i+1])
				c0 := max(0, int(math.Ceil((xs[i]-g.X0)/g.Res-0.5)))
				c1 := min(g.Width-1, int(math.Ceil((xs[i+1]-g.X0)/g.Res-0.5))-1)
				off := row * g.Width
				for c := c0; c <= c1; c++ {
					mask[off+c] = true
				}
			}
		}
	}
	return mask
}

// dilate grows the true pixels of m (w x h) by r pixels in every direction (a square
// structuring element, done as two separable 1-D passes with running counts, so the cost
// does not depend on r). tmp must have len(m).
func dilate(m, tmp []bool, w, h, r int) {
	if r <= 0 || w == 0 {
		return
	}
	// horizontal: tmp[x] = any m in [x-r, x+r], run by run (vectorized byte searches: cloud
	// and shadow masks come in long runs).
	full := make([]bool, h) // rows of tmp with a set pixel
	for y := 0; y < h; y++ {
		row := asBytes(m[y*w : (y+1)*w])
		out := asBytes(tmp[y*w : (y+1)*w])
		clear(out)
		for x := 0; x < w; {
			i := bytes.IndexByte(row[x:], 1)
			if i < 0 {
				break
			}
			a := x + i
			e := bytes.IndexByte(row[a:], 0)
			b := w // run [a, b)
			if e >= 0 {
				b = a + e
			}
			lo, hi := max(0, a-r), min(w, b+r)
			for k := lo; k < hi; k++ {
				out[k] = 1
			}
			full[y] = true
			x = b
		}
	}
	// vertical: m[y] = any tmp in [y-r, y+r], eight pixels at a time.
	le := binary.LittleEndian
	for y := 0; y < h; y++ {
		out := asBytes(m[y*w : (y+1)*w])
		clear(out)
		for yy := max(0, y-r); yy <= min(h-1, y+r); yy++ {
			if !full[yy] {
				continue
			}
			src := asBytes(tmp[yy*w : (yy+1)*w])
			k := 0
			for ; k+8 <= w; k += 8 {
				le.PutUint64(out[k:], le.Uint64(out[k:])|le.Uint64(src[k:]))
			}
			for ; k < w; k++ {
				out[k] |= src[k]
			}
		}
	}
}

// asBytes views a mask as bytes (a Go bool is one byte, 0 or 1).
func asBytes(b []bool) []byte {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), len(b))
}
