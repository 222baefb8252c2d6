package raster

import "encoding/binary"

// Most tiles of a scene hold no nodata pixel (0): only those along the swath edge do. The
// clear mask tests red and NIR for no data at every pixel of every scene, a pass over
// memory long out of cache; a strip whose red and NIR tiles are known to hold no 0 is
// spared it. The tiles of those bands are scanned as they are decoded, while in cache.

// Zero states of a tileCache's tiles.
const (
	zeroUnknown = iota // not decoded by the tile cache yet, or not scanned
	zeroNone
	zeroSome
)

// scanZeros makes the tile reader of band i (when it has one) scan its tiles for 0.
func (r *sceneReader) scanZeros(i int) {
	for _, p := range r.bands[i] {
		if p.tiles != nil && p.tiles.img.BPS == 2 {
			p.tiles.scanZero = true
		}
	}
}

// dataEverywhere reports whether band i has data (a sample other than 0) at every grid
// pixel of the window at (col,row) of w x h. It is true only when the band is one image
// on the grid's lattice at the grid's resolution, read by tiles and scanned (scanZeros),
// that covers the window and whose tiles under it hold no 0.
func (r *sceneReader) dataEverywhere(i, col, row, w, h int) bool {
	if len(r.bands[i]) != 1 {
		return false
	}
	p := r.bands[i][0]
	a := p.aligned
	if a == nil || a.k != 1 || p.tiles == nil || !p.tiles.scanZero || !a.covers(col, row, w, h) {
		return false
	}
	sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, true)
	return p.tiles.zeroFree(sx0, sy0, sx1, sy1)
}

// zeroFree reports whether every tile covering the source pixels [sx0,sx1] x [sy0,sy1] is
// known to hold no 0 within the image.
func (c *tileCache) zeroFree(sx0, sy0, sx1, sy1 int) bool {
	if c.zero == nil {
		return false
	}
	img := c.img
	for ty := sy0 / img.TileH; ty <= sy1/img.TileH; ty++ {
		for tx := sx0 / img.TileW; tx <= sx1/img.TileW; tx++ {
			if c.zero[ty*img.Across+tx] != zeroNone {
				return false
			}
		}
	}
	return true
}

// setZero records the zero state of tile k.
func (c *tileCache) setZero(k int, state uint8) {
	if !c.scanZero {
		return
	}
	if c.zero == nil {
		c.zero = make([]uint8, c.img.Across*c.img.Down)
	}
	c.zero[k] = state
}

// scanTile records whether tile k, just decoded into buf, holds a 0 sample within the
// image (edge tiles are padded).
func (c *tileCache) scanTile(k int, buf []byte) {
	img := c.img
	tx, ty := k%img.Across, k/img.Across
	w, h := min(img.TileW, img.Width-tx*img.TileW), min(img.TileH, img.Height-ty*img.TileH)
	state := uint8(zeroNone)
	for y := range h {
		if hasZero16(buf[2*y*img.TileW : 2*(y*img.TileW+w)]) {
			state = zeroSome
			break
		}
	}
	c.setZero(k, state)
}

// hasZero16 reports whether any 16-bit sample of b is 0, eight samples at a time: a lane
// is zero exactly when subtracting 1 borrows into its top bit while the lane's own top
// bit was clear (the classic "has zero byte" test, on 16-bit lanes; exact as a whole).
func hasZero16(b []byte) bool {
	const ones, tops = 0x0001000100010001, 0x8000800080008000
	var acc0, acc1 uint64
	for len(b) >= 16 {
		v0, v1 := binary.NativeEndian.Uint64(b), binary.NativeEndian.Uint64(b[8:16])
		acc0 |= (v0 - ones) &^ v0
		acc1 |= (v1 - ones) &^ v1
		b = b[16:]
	}
	for ; len(b) >= 2; b = b[2:] {
		if b[0] == 0 && b[1] == 0 {
			return true
		}
	}
	return (acc0|acc1)&tops != 0
}
