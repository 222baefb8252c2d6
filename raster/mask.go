package raster

import (
	"bytes"
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
	mask := make([]bool, g.Pixels())
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
	if r <= 0 {
		return
	}
	// Rows without a set pixel (most rows of most scenes) cost a vectorized scan and a clear.
	full := make([]bool, h) // rows of tmp with a set pixel
	// horizontal: tmp[x] = any m in [x-r, x+r]
	for y := 0; y < h; y++ {
		row := m[y*w : (y+1)*w]
		out := tmp[y*w : (y+1)*w]
		if !anySet(row) {
			clear(out)
			continue
		}
		full[y] = true
		n := 0
		for x := 0; x < min(r, w); x++ {
			if row[x] {
				n++
			}
		}
		for x := 0; x < w; x++ {
			if x+r < w && row[x+r] {
				n++
			}
			if x-r-1 >= 0 && row[x-r-1] {
				n--
			}
			out[x] = n > 0
		}
	}
	// vertical: m[y] = any tmp in [y-r, y+r]
	counts := make([]int32, w)
	active := 0 // rows with a set pixel in the window [y-r, y+r]
	add := func(y int, d int32) {
		if !full[y] {
			return
		}
		active += int(d)
		for x, v := range tmp[y*w : (y+1)*w] {
			if v {
				counts[x] += d
			}
		}
	}
	for y := 0; y < min(r, h); y++ {
		add(y, 1)
	}
	for y := 0; y < h; y++ {
		if y+r < h {
			add(y+r, 1)
		}
		if y-r-1 >= 0 {
			add(y-r-1, -1)
		}
		out := m[y*w : (y+1)*w]
		if active == 0 {
			clear(out)
			continue
		}
		for x := range out {
			out[x] = counts[x] > 0
		}
	}
}

// anySet reports whether a pixel of row is set (a vectorized byte search).
func anySet(row []bool) bool {
	if len(row) == 0 {
		return false
	}
	return bytes.IndexByte(unsafe.Slice((*byte)(unsafe.Pointer(&row[0])), len(row)), 1) >= 0
}
