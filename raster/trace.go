package raster

import "github.com/paulmach/orb"

// Outline tracing: the boundary of a set of pixels as polygons that are valid in the OGC
// Simple Features sense, as GEOS checks it (rings simple, holes inside their shell and
// touching it or each other at single points at most, interiors connected, the parts of a
// MultiPolygon touching at single points at most).
//
// The interior of a union of closed pixel squares is connected exactly where the pixels
// are 4-connected: two pixels that share only a corner touch at a point. So each
// 4-connected piece of the set is one polygon, and an 8-connected region that holds
// several pieces is a MultiPolygon whose parts touch at pixel corners. The boundary is
// walked along pixel edges with the inside on the right; a corner where two inside pixels
// meet diagonally (a pinch) is passed twice, and the walk turns there so that every ring
// bounds one piece: when both pixels are in the same piece the ring keeps to the outside
// pixel it follows (so the piece's outline and the hole behind the pinch become a shell and
// a hole that touch at that corner), and when they are in different pieces it keeps to its
// own piece's pixel. Every ring then passes each corner once: a ring of a piece that
// returned to a corner would cut the piece in two through that corner.

// Directions of the walk in window pixel coordinates (x right, y down); turning right is
// d+1, turning left d+3 (mod 4).
const (
	dirE = iota
	dirS
	dirW
	dirN
)

var dirDX, dirDY = [4]int{1, 0, -1, 0}, [4]int{0, 1, 0, -1}

// tracer holds the buffers of traceOutline, reused between components.
type tracer struct {
	lab   []int32 // 4-connected piece of each window pixel, 0 outside
	seen  []uint8 // bit d set: the edge of direction d with this pixel on its right is walked
	stack []int
}

// rightLeft returns the window pixels on the right and on the left of the edge that
// leaves vertex (x, y) in direction d (pixel (c, r) covers [c, c+1] x [r, r+1]).
func rightLeft(x, y, d, w int) (right, left int) {
	switch d {
	case dirE:
		return y*w + x, (y-1)*w + x
	case dirS:
		return y*w + x - 1, y*w + x
	case dirW:
		return (y-1)*w + x - 1, y*w + x - 1
	default: // dirN
		return (y-1)*w + x, (y-1)*w + x - 1
	}
}

// traceOutline returns the outline of the nonzero pixels of win (w x h, row-major, with a
// border of zero pixels all around) as valid polygons in window pixel coordinates (a
// vertex (x, y) is the top-left corner of pixel (x, y)): one polygon per 4-connected piece,
// in the raster order of the pieces' first pixels, each with its exterior ring first and
// clockwise on screen (y down), holes counter-clockwise; rings are closed and have a
// vertex only where they turn.
func (t *tracer) traceOutline(win []uint8, w, h int) []orb.Polygon {
	n := w * h
	lab, seen := grow(&t.lab, n), grow(&t.seen, n) // zero: cleared after each use
	// Pieces: 4-connected flood fill, numbered in raster order of their first pixel.
	var pieces int32
	for i := range n {
		if win[i] == 0 || lab[i] != 0 {
			continue
		}
		pieces++
		lab[i] = pieces
		t.stack = append(t.stack[:0], i)
		for len(t.stack) > 0 {
			j := t.stack[len(t.stack)-1]
			t.stack = t.stack[:len(t.stack)-1]
			for _, k := range [4]int{j - 1, j + 1, j - w, j + w} {
				if win[k] != 0 && lab[k] == 0 { // the zero border keeps k in the window
					lab[k] = pieces
					t.stack = append(t.stack, k)
				}
			}
		}
	}
	shells, holes := make([]orb.Ring, pieces), make([][]orb.Ring, pieces)
	// Each boundary edge is found from the pixel on its right: its top side is walked east,
	// its right side south, its bottom side west, its left side north.
	for i := range n {
		if win[i] == 0 {
			continue
		}
		x, y := i%w, i/w
		starts := [4][2]int{{x, y}, {x + 1, y}, {x + 1, y + 1}, {x, y + 1}}
		out := [4]int{i - w, i + 1, i + w, i - 1}
		for d := range 4 {
			if win[out[d]] != 0 || seen[i]&(1<<d) != 0 {
				continue
			}
			r := walk(win, lab, seen, w, starts[d][0], starts[d][1], d)
			p := lab[i] - 1
			if ringArea2(r) > 0 {
				shells[p] = r
			} else {
				holes[p] = append(holes[p], r)
			}
		}
	}
	polys := make([]orb.Polygon, pieces)
	for p := range polys {
		polys[p] = append(orb.Polygon{shells[p]}, holes[p]...)
	}
	clear(lab)
	clear(seen)
	return polys
}

// walk follows the boundary from the edge leaving (x0, y0) in direction d0 until it is
// back, marks the edges walked and returns the closed ring of its turning vertices.
func walk(win []uint8, lab []int32, seen []uint8, w, x0, y0, d0 int) orb.Ring {
	var ring orb.Ring
	x, y, d := x0, y0, d0
	for {
		r, _ := rightLeft(x, y, d, w)
		seen[r] |= 1 << d
		x, y = x+dirDX[d], y+dirDY[d]
		// The pixels ahead of the vertex reached, to the right and to the left.
		ar, al := rightLeft(x, y, d, w)
		nd := d
		switch {
		case win[ar] == 0 && win[al] != 0 && lab[al] == lab[r]:
			nd = (d + 3) % 4 // a pinch inside one piece: keep to the outside pixel
		case win[ar] == 0:
			nd = (d + 1) % 4
		case win[al] != 0:
			nd = (d + 3) % 4
		}
		if nd != d {
			ring = append(ring, orb.Point{float64(x), float64(y)})
		}
		d = nd
		if x == x0 && y == y0 && d == d0 {
			break
		}
	}
	// Start at the first turn, closed.
	return append(ring, ring[0])
}

// ringArea2 is twice the signed area of a closed ring by the shoelace formula: positive
// when it runs clockwise on screen (y down).
func ringArea2(r orb.Ring) float64 {
	a := 0.0
	for i := 0; i+1 < len(r); i++ {
		a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return a
}
