package raster

import (
	"errors"
	"fmt"
	"math/bits"
)

// Kept composites: a monthly run's before period is a long baseline (a year of scenes) that
// the next runs of the AOI often share. Detect can hand the before composite over strip by
// strip (DetectParams.KeepBefore) and take it back instead of reading the period's scenes
// (DetectParams.BeforeFrom): the per-pixel choice of observation, its clear count and bit
// set, and the chosen observation's digital numbers are all classifyRows needs from the
// before side, so a run from a kept composite gives the same outputs, bit for bit.

// CompositeVersion names how a period's composite is made (reading, masking, the choice of
// observation). It belongs in the key of every kept composite: change it with any change to
// what a composite holds.
const CompositeVersion = 1

// ErrKeptComposite marks a failure of a kept composite (DetectParams.BeforeFrom): a read
// error or values no composite can hold. The run can compute the composite instead.
var ErrKeptComposite = errors.New("kept composite unusable")

// CompositeRows are consecutive full-width rows of a period's composite over Detect's
// window, pixel i of row r at index r*width+i.
type CompositeRows struct {
	Row, Height int     // first window row, rows
	K           []int8  // the chosen observation: scene index in the period, -1 when none is clear
	N           []uint8 // clear observations
	Bits        []uint16
	// DN holds the chosen observation's digital numbers (blue, green, red, nir, swir16,
	// swir22; 0 when K is -1). A 20 m band's is its value on the 10 m grid.
	DN [nSpectral][]uint16
}

// NewCompositeRows returns rows for n pixels.
func NewCompositeRows(n int) *CompositeRows {
	c := &CompositeRows{K: make([]int8, n), N: make([]uint8, n), Bits: make([]uint16, n)}
	for b := range c.DN {
		c.DN[b] = make([]uint16, n)
	}
	return c
}

// Len is the number of pixels the rows hold.
func (c *CompositeRows) Len() int { return len(c.K) }

// slice returns c's first n pixels.
func (c *CompositeRows) slice(n int) CompositeRows {
	s := CompositeRows{Row: c.Row, Height: c.Height, K: c.K[:n], N: c.N[:n], Bits: c.Bits[:n]}
	for b := range c.DN {
		s.DN[b] = c.DN[b][:n]
	}
	return s
}

// CompositeSource gives the rows of a kept composite of Detect's window.
type CompositeSource interface {
	// ReadRows fills the first h*width pixels of dst with window rows [row, row+h);
	// Detect asks for the rows top to bottom.
	ReadRows(row, h int, dst *CompositeRows) error
}

// putKept records the before picks of strip row y (w columns from buffer column x0) in the
// strip's kept rows.
func (c *chunkBuffers) putKept(rs []sceneRow, p *picks, y, w, x0 int) {
	kr := c.keep
	j0 := y * w
	copy(kr.K[j0:j0+w], p.k)
	copy(kr.N[j0:j0+w], p.n)
	copy(kr.Bits[j0:j0+w], p.bits)
	for x, k := range p.k[:w] {
		j, bx := j0+x, x0+x
		if k < 0 {
			for b := range kr.DN {
				kr.DN[b][j] = 0
			}
			continue
		}
		s := &rs[k]
		for b := range 4 {
			kr.DN[b][j] = s.dn[b][bx]
		}
		kr.DN[4][j], kr.DN[5][j] = s.swirDN(0, bx), s.swirDN(1, bx)
	}
}

// newKeptBuffers returns buffers of w x rows pixels that hold a kept composite of the
// period's scenes: one buffer row set per distinct scaling of the scenes (usually one), the
// chosen observation's digital numbers in the set of its scene's scaling, 0 elsewhere.
func newKeptBuffers(scenes []Scene, w, rows int) *chunkBuffers {
	c := &chunkBuffers{group: make([]int8, len(scenes)), comp: NewCompositeRows(0)}
	for i, s := range scenes {
		off, scale := float32(s.DNOffset), s.scale()
		g := -1
		for j := range c.off {
			if c.off[j] == off && c.scale[j] == scale {
				g = j
			}
		}
		if g < 0 {
			g = len(c.off)
			c.off, c.scale = append(c.off, off), append(c.scale, scale)
			var dn [nSpectral][]uint16
			for b := range dn {
				dn[b] = make([]uint16, w*rows)
			}
			c.dn = append(c.dn, dn)
		}
		c.group[i] = int8(g)
	}
	c.swir, c.lazy = make([][2]lazyBand, len(c.dn)), make([][2]bool, len(c.dn))
	return c
}

// loadKept reads window rows [row, row+h) of the kept composite into c (kept buffers of
// nScenes scenes, bw pixels wide, w of the window's columns from buffer column x0, the
// rows from buffer row y0), checking that every pixel holds what a composite can.
func (c *chunkBuffers) loadKept(src CompositeSource, nScenes, row, h, w, bw, x0, y0 int) error {
	n := h * w
	if c.comp.Len() < n {
		c.comp = NewCompositeRows(n)
	}
	if err := src.ReadRows(row, h, c.comp); err != nil {
		return fmt.Errorf("%w: rows %d-%d: %w", ErrKeptComposite, row, row+h, err)
	}
	for g := range c.dn {
		for b := range c.dn[g] {
			clear(c.dn[g][b])
		}
	}
	kr := c.comp
	for y := range h {
		for x := range w {
			j := y*w + x
			k, cnt, set := kr.K[j], kr.N[j], kr.Bits[j]
			ok := set>>nScenes == 0 && bits.OnesCount16(set) == int(cnt)
			if k < 0 {
				ok = ok && k == -1 && cnt == 0
			} else {
				ok = ok && int(k) < nScenes && set&(1<<k) != 0 && kr.DN[0][j] != 0
			}
			if !ok {
				return fmt.Errorf("%w: window pixel %d,%d: scene %d, %d clear, bits %#x: not a composite of %d scenes",
					ErrKeptComposite, x, row+y, k, cnt, set, nScenes)
			}
			if k < 0 {
				continue
			}
			dn, bj := &c.dn[c.group[k]], (y0+y)*bw+x0+x
			for b := range dn {
				dn[b][bj] = kr.DN[b][j]
			}
		}
	}
	return nil
}

// keptPicks sets p to the kept composite's picks of strip row y (w columns): the scene as
// the index of its buffer row set.
func (c *chunkBuffers) keptPicks(y, w int, p *picks) {
	j0 := y * w
	copy(p.n, c.comp.N[j0:j0+w])
	copy(p.bits, c.comp.Bits[j0:j0+w])
	for x, k := range c.comp.K[j0 : j0+w] {
		if k >= 0 {
			k = c.group[k]
		}
		p.k[x] = k
	}
}
