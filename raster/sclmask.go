package raster

import (
	"fmt"

	"github.com/changewatch/changewatch/raster/cog"
)

// The cloud mask of a scene whose SCL is one tile read directly (20 m, on the grid's
// lattice) is computed from the SCL at its own resolution: the classes are looked up and
// the buffer is grown over a quarter of the pixels, and the SCL is never upsampled. The
// result is exactly the mask of the upsampled SCL (tested): a run of buffered classes in a
// source row covers a run of grid columns, which grows by the buffer in grid pixels; a
// grid row takes the grown rows of the source rows under the grid rows within the buffer.

// classBand is a class band (SCL) kept at its source resolution over a grid window, with
// the nearest source column and row of each window column and row (-1 outside the
// source): the pixel upsampling would give window pixel (x, y) is src[ny[y]*sw+nx[x]].
type classBand struct {
	src    []uint8
	sw, sh int
	nx, ny []int
	lo, hi []int        // first and last window column of each source column
	runs   [][][2]int32 // scratch of maskSource
}

// readClassSource loads into cb the source window under the grid window at (col,row) of
// w x h from the tiles of c, for nearest-neighbour lookups.
func (a *alignment) readClassSource(c *tileCache, col, row, w, h int, cb *classBand) error {
	sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, true)
	cb.sw, cb.sh = max(0, sx1-sx0+1), max(0, sy1-sy0+1)
	nearestSource(&cb.nx, col, a.ox, a.k, w, sx0, cb.sw)
	nearestSource(&cb.ny, row, a.oy, a.k, h, sy0, cb.sh)
	cb.lo, cb.hi = grow(&cb.lo, cb.sw), grow(&cb.hi, cb.sw)
	for x := w - 1; x >= 0; x-- {
		if s := cb.nx[x]; s >= 0 {
			cb.lo[s] = x
		}
	}
	for x, s := range cb.nx {
		if s >= 0 {
			cb.hi[s] = x
		}
	}
	cb.src = grow(&cb.src, cb.sw*cb.sh)
	if cb.sw == 0 || cb.sh == 0 {
		return nil
	}
	if err := c.load(sx0, sy0, sx1, sy1); err != nil {
		return err
	}
	defer c.done(sy0, sy1)
	cog.CopyTiles(cb.src, cb.sw, &c.img.Layout, c.tile, sx0, sy0, cb.sw, cb.sh)
	return nil
}

// readClassSource fills cb with the SCL's source pixels under the grid window at (col,row)
// and reports true; or reports false when the SCL is not a single tile read directly
// (then read it with read).
func (r *sceneReader) readClassSource(col, row, w, h int, cb *classBand) (bool, error) {
	if len(r.bands[iSCL]) != 1 {
		return false, nil
	}
	p := r.bands[iSCL][0]
	if p.aligned == nil || p.tiles == nil || !p.tiles.img.Fits([]uint8(nil)) {
		return false, nil
	}
	if err := p.aligned.readClassSource(p.tiles, col, row, w, h, cb); err != nil {
		return true, fmt.Errorf("read scene %s band scl rows %d-%d: %w", r.scene.ID, row, row+h, classify(p.path, err))
	}
	return true, nil
}

// maskSource is the SCL part of mask for an SCL kept at source resolution: it sets to 0
// the blue DN of the w x h window where red or NIR have no data (not tested when they are
// nil), the SCL has no pixel or an invalid class, or a buffered class lies within buffer
// pixels.
func maskSource(blue, red, nir []uint16, s *classBand, w, h, buffer int) {
	// The runs of buffered classes of each source row, grown sideways by the buffer, in
	// window columns [lo, hi).
	var any uint8
	rs := grow(&s.runs, s.sh)
	for sy := range s.sh {
		src := s.src[sy*s.sw : (sy+1)*s.sw]
		out := rs[sy][:0]
		for sx := 0; sx < len(src); {
			code := sclCode[src[sx]]
			any |= code
			if code&sclCodeBuffered == 0 {
				sx++
				continue
			}
			a := sx
			for sx++; sx < len(src); sx++ {
				c := sclCode[src[sx]]
				any |= c
				if c&sclCodeBuffered == 0 {
					break
				}
			}
			// source columns [a, sx) cover window columns [lo[a], hi[sx-1]]
			lo, hi := int32(max(0, s.lo[a]-buffer)), int32(min(w, s.hi[sx-1]+buffer+1))
			if k := len(out) - 1; k >= 0 && lo <= out[k][1] {
				out[k][1] = hi // overlaps the previous grown run
			} else {
				out = append(out, [2]int32{lo, hi})
			}
		}
		rs[sy] = out
	}
	// Window rows with a source row: [y0, y1].
	y0, y1 := 0, h-1
	for y0 < h && s.ny[y0] < 0 {
		y0++
	}
	for y1 >= 0 && s.ny[y1] < 0 {
		y1--
	}
	edges := s.nx[0] < 0 || s.nx[w-1] < 0
	for y := range h {
		b := blue[y*w : (y+1)*w]
		if s.ny[y] < 0 {
			clear(b) // no SCL: invalid
			continue
		}
		// the grown runs of the source rows under the window rows within the buffer
		if lo, hi := max(y-buffer, y0), min(y+buffer, y1); lo <= hi && any&sclCodeBuffered != 0 {
			for sy := s.ny[lo]; sy <= s.ny[hi]; sy++ {
				for _, r := range rs[sy] {
					clear(b[r[0]:r[1]])
				}
			}
		}
		if any&sclCodeInvalid != 0 || edges {
			src := s.src[s.ny[y]*s.sw : (s.ny[y]+1)*s.sw]
			for x, sx := range s.nx[:w] {
				if sx < 0 || sclCode[src[sx]]&sclCodeInvalid != 0 {
					b[x] = 0
				}
			}
		}
		if red == nil {
			continue
		}
		r, n := red[y*w:(y+1)*w], nir[y*w:(y+1)*w]
		r, n = r[:len(b)], n[:len(b)]
		for x := range b {
			// a zero DN wraps to the top bit: branch-free "no data in red or NIR"
			if ((uint32(r[x])-1)|(uint32(n[x])-1))>>31 != 0 {
				b[x] = 0
			}
		}
	}
}
