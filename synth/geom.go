package synth

import (
	"math"
	"math/rand/v2"
	"slices"
)

// All geometry in this package is built in pixel coordinates of the 10 m grid: x grows to
// the east (columns), y to the south (rows), and the centre of pixel (col,row) is at
// (col+0.5, row+0.5). It is converted to UTM metres only for the recorded objects.

// pt is a point in pixel coordinates.
type pt = [2]float64

// lutN is the number of radius samples of a blob (one every 1.4 degrees).
const lutN = 256

// blob is a star-shaped "noisy radius" shape around (cx,cy): the radius at angle theta is
// r(theta) = R * exp(sum_k a_k cos(k theta + phi_k)). The exponential keeps the radius
// positive whatever the harmonics, and the 1/k^1.3 decay of a_k gives the smooth lobes of
// natural outlines (the same family of random star-shaped sets is used for synthetic
// shapes in the image-analysis literature; nothing here is copied from an implementation).
type blob struct {
	cx, cy float64
	r      [lutN]float64 // radius in pixels at angle 2*pi*i/lutN
}

// newBlob returns a blob of polygon area areaPx (pixels) and irregularity irr (standard
// deviation of the log radius, about 0.1 smooth .. 0.35 ragged); elong >= 1 stretches it
// along a random direction.
func newBlob(rng *rand.Rand, cx, cy, areaPx, irr, elong float64) *blob {
	b := &blob{cx: cx, cy: cy}
	const K = 9
	var a, phi [K + 1]float64
	for k := 1; k <= K; k++ {
		a[k] = irr * rng.NormFloat64() / math.Pow(float64(k), 1.3)
		phi[k] = rng.Float64() * 2 * math.Pi
	}
	dir := rng.Float64() * math.Pi
	for i := range lutN {
		th := 2 * math.Pi * float64(i) / lutN
		s := 0.0
		for k := 1; k <= K; k++ {
			s += a[k] * math.Cos(float64(k)*th+phi[k])
		}
		s += 0.03 * irr / 0.25 * rng.NormFloat64() // small ragged detail
		// An ellipse of axis ratio elong in polar form, direction dir.
		c, sn := math.Cos(th-dir), math.Sin(th-dir)
		e := 1 / math.Sqrt(c*c/(elong*elong)+sn*sn)
		b.r[i] = math.Exp(s) * e
	}
	b.scaleToArea(areaPx)
	return b
}

// scaleToArea rescales the radii so that the polygon of the lutN vertices has area areaPx.
func (b *blob) scaleToArea(areaPx float64) {
	f := math.Sqrt(areaPx / math.Abs(ringArea(b.ring(0))))
	for i := range b.r {
		b.r[i] *= f
	}
}

// maxR and minR are the extreme radii.
func (b *blob) maxR() float64 { return slices.Max(b.r[:]) }
func (b *blob) minR() float64 { return slices.Min(b.r[:]) }

// ring returns the closed polygon of the blob grown by add pixels (add may be negative).
func (b *blob) ring(add float64) []pt {
	out := make([]pt, 0, lutN+1)
	for i := range lutN {
		th := 2 * math.Pi * float64(i) / lutN
		r := max(b.r[i]+add, 0.05)
		out = append(out, pt{b.cx + r*math.Cos(th), b.cy + r*math.Sin(th)})
	}
	return append(out, out[0])
}

// polar returns, for a point, its distance to the centre d and the blob radius in its
// direction rt (linear interpolation of the radius table). d < rt means inside.
func (b *blob) polar(x, y float64) (d, rt float64) {
	dx, dy := x-b.cx, y-b.cy
	d = math.Hypot(dx, dy)
	th := math.Atan2(dy, dx)
	if th < 0 {
		th += 2 * math.Pi
	}
	f := th / (2 * math.Pi) * lutN
	i := int(f)
	t := f - float64(i)
	i %= lutN
	return d, b.r[i]*(1-t) + b.r[(i+1)%lutN]*t
}

// ringArea is the signed shoelace area of a closed ring.
func ringArea(r []pt) float64 {
	s := 0.0
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

// scanRings calls fn(row, c0, c1) for each run of pixels [c0,c1) of row whose centre is
// inside the polygon made of rings (even-odd rule, so a second ring is a hole), clipped
// to a w x h grid. This is the contract's rule: a pixel belongs to an object when its
// centre is inside the object's polygon.
func scanRings(rings [][]pt, w, h int, fn func(row, c0, c1 int)) {
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, r := range rings {
		for _, p := range r {
			ymin, ymax = min(ymin, p[1]), max(ymax, p[1])
		}
	}
	r0 := max(0, int(math.Floor(ymin-0.5)))
	r1 := min(h-1, int(math.Ceil(ymax-0.5)))
	var xs []float64
	for row := r0; row <= r1; row++ {
		yc := float64(row) + 0.5
		xs = xs[:0]
		for _, r := range rings {
			for i := 0; i+1 < len(r); i++ {
				p, q := r[i], r[i+1]
				if (p[1] <= yc) != (q[1] <= yc) {
					xs = append(xs, p[0]+(yc-p[1])*(q[0]-p[0])/(q[1]-p[1]))
				}
			}
		}
		slices.Sort(xs)
		for i := 0; i+1 < len(xs); i += 2 {
			// centres c+0.5 in [xs[i], xs[i+1])
			c0 := max(0, int(math.Ceil(xs[i]-0.5)))
			c1 := min(w, int(math.Ceil(xs[i+1]-0.5)))
			if c1 > c0 {
				fn(row, c0, c1)
			}
		}
	}
}

// countRings is the number of grid pixels inside the polygon.
func countRings(rings [][]pt, w, h int) int {
	n := 0
	scanRings(rings, w, h, func(_, c0, c1 int) { n += c1 - c0 })
	return n
}

// bufferLine turns a polyline into the closed polygon of the band of half width hw around
// it (mitred joins, flat ends). The polyline must turn gently (a few degrees per vertex)
// for the result to be simple.
func bufferLine(line []pt, hw float64) []pt {
	n := len(line)
	left := make([]pt, n)
	right := make([]pt, n)
	for i := range line {
		var tx, ty float64
		switch {
		case i == 0:
			tx, ty = line[1][0]-line[0][0], line[1][1]-line[0][1]
		case i == n-1:
			tx, ty = line[i][0]-line[i-1][0], line[i][1]-line[i-1][1]
		default:
			ax, ay := unit(line[i][0]-line[i-1][0], line[i][1]-line[i-1][1])
			bx, by := unit(line[i+1][0]-line[i][0], line[i+1][1]-line[i][1])
			tx, ty = ax+bx, ay+by
		}
		tx, ty = unit(tx, ty)
		nx, ny := -ty, tx
		m := hw
		if i > 0 && i < n-1 { // mitre length hw / cos(half turn)
			ax, ay := unit(line[i][0]-line[i-1][0], line[i][1]-line[i-1][1])
			m = hw / max(0.2, ax*tx+ay*ty)
		}
		left[i] = pt{line[i][0] + m*nx, line[i][1] + m*ny}
		right[i] = pt{line[i][0] - m*nx, line[i][1] - m*ny}
	}
	ring := append([]pt{}, left...)
	for i := n - 1; i >= 0; i-- {
		ring = append(ring, right[i])
	}
	return append(ring, left[0])
}

func unit(x, y float64) (float64, float64) {
	l := math.Hypot(x, y)
	if l == 0 {
		return 1, 0
	}
	return x / l, y / l
}

// distToSegment is the distance from p to the segment ab.
func distToSegment(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
	}
	return math.Hypot(px-ax-t*dx, py-ay-t*dy)
}

// Kinds of footprints for the spacing rules of placement.
const (
	kindChange = iota
	kindDecoy
	kindLand  // stable landscape: river, village, grass patches
	kindCloud // per-scene clouds, shadows, haze (their own index)
)

// disk is a circle of a footprint, in pixels.
type disk struct {
	x, y, r float64
	kind    int
}

// diskIndex is a bucket grid of disks for fast "is this footprint free" tests.
type diskIndex struct {
	cell  float64
	nx    int
	cells map[int][]disk
	maxR  float64
	gap   func(a, b int) float64
	maxG  float64
}

func newDiskIndex(cell float64, gap func(a, b int) float64, maxGap float64) *diskIndex {
	return &diskIndex{cell: cell, nx: 1 << 20, cells: map[int][]disk{}, gap: gap, maxG: maxGap}
}

func (ix *diskIndex) key(cx, cy int) int { return cy*ix.nx + cx }

// free reports whether none of ds comes closer to an indexed disk than the gap for their kinds.
func (ix *diskIndex) free(ds []disk) bool {
	for _, d := range ds {
		reach := d.r + ix.maxR + ix.maxG
		x0, x1 := int(math.Floor((d.x-reach)/ix.cell)), int(math.Floor((d.x+reach)/ix.cell))
		y0, y1 := int(math.Floor((d.y-reach)/ix.cell)), int(math.Floor((d.y+reach)/ix.cell))
		for cy := y0; cy <= y1; cy++ {
			for cx := x0; cx <= x1; cx++ {
				for _, o := range ix.cells[ix.key(cx, cy)] {
					if math.Hypot(d.x-o.x, d.y-o.y) < d.r+o.r+ix.gap(d.kind, o.kind) {
						return false
					}
				}
			}
		}
	}
	return true
}

// add indexes the disks (each in the cell of its centre).
func (ix *diskIndex) add(ds []disk) {
	for _, d := range ds {
		k := ix.key(int(math.Floor(d.x/ix.cell)), int(math.Floor(d.y/ix.cell)))
		ix.cells[k] = append(ix.cells[k], d)
		ix.maxR = max(ix.maxR, d.r)
	}
}
