package raster

// Tiles the cloud mask hides entirely are not decoded. Under a cloud, its shadow or cirrus
// every observation is masked (Detect never looks at its reflectances), so a tile of a
// full-resolution spectral band whose pixels the SCL marks all masked is filled with 0
// (nodata) instead of being inflated: the result is the same, and in the wet season over
// the Congo basin most of a scene is cloud. Only bands at the grid's resolution are
// skipped; a 20 m band's bilinear taps reach a pixel beyond its tile.

// Tile marks of a tileCache.
const (
	tileUnmarked = iota // not looked at: decoded
	tileDecode
	tileMasked // every pixel masked: filled with 0, not decoded
)

// markMasked marks, for the full-resolution spectral bands of the scene, the tiles the
// grid window at (col,row) of w x h touches and that are not marked yet: masked when the
// SCL, whose tiles under the window were just read, masks all of their pixels. It runs
// after the window's SCL read and before its spectral reads, on the goroutine of the SCL
// (the spectral reads of the scene wait for it).
//
// Only scenes of one tile are marked: in an acquisition of several tiles each band takes,
// pixel by pixel, the first tile with data, so near a tile's no-data edge the SCL and a
// spectral band may come from different tiles.
func (r *sceneReader) markMasked(col, row, w, h int) {
	scl := r.bands[iSCL]
	if len(scl) != 1 {
		return
	}
	for b := range nSpectral {
		if len(r.bands[b]) != 1 {
			return
		}
		if p := r.bands[b][0]; p.aligned != nil && p.aligned.k == 1 && p.tiles != nil {
			p.tiles.markMasked(p.aligned, scl[0], col, row, w, h)
		}
	}
}

// markMasked marks the tiles of c (the image of alignment a) under the grid window.
func (c *tileCache) markMasked(a *alignment, scl *bandPart, col, row, w, h int) {
	if c.mark == nil {
		c.mark = make([]uint8, c.img.Across*c.img.Down)
	}
	sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, true)
	if sx1 < sx0 || sy1 < sy0 {
		return
	}
	img := c.img
	for ty := sy0 / img.TileH; ty <= sy1/img.TileH; ty++ {
		for tx := sx0 / img.TileW; tx <= sx1/img.TileW; tx++ {
			k := ty*img.Across + tx
			if c.mark[k] != tileUnmarked {
				continue
			}
			c.mark[k] = tileDecode
			// the tile's pixels, in grid pixels
			gx0, gy0 := tx*img.TileW+a.ox, ty*img.TileH+a.oy
			gx1, gy1 := min((tx+1)*img.TileW, img.Width)+a.ox, min((ty+1)*img.TileH, img.Height)+a.oy
			if sclMasksAll(scl, gx0, gy0, gx1, gy1) {
				c.mark[k] = tileMasked
			}
		}
	}
}

// sclMasksAll reports whether the SCL part masks every grid pixel of [gx0,gx1) x [gy0,gy1):
// the part covers them, its tiles there are decoded and cached, and each class is one
// masking always (invalid or buffered: see sclCode).
func sclMasksAll(scl *bandPart, gx0, gy0, gx1, gy1 int) bool {
	a, c := scl.aligned, scl.tiles
	if a == nil || c == nil || c.img.BPS != 1 || !a.covers(gx0, gy0, gx1-gx0, gy1-gy0) {
		return false
	}
	sx0, sy0, sx1, sy1 := a.srcWindow(gx0, gy0, gx1-gx0, gy1-gy0, true)
	img := c.img
	for sy := sy0; sy <= sy1; sy++ {
		ty := sy / img.TileH
		row := c.rows[ty]
		if row == nil {
			return false
		}
		for tx := sx0 / img.TileW; tx <= sx1/img.TileW; tx++ {
			tile := row[tx]
			if tile == nil {
				return false
			}
			x0, x1 := max(sx0, tx*img.TileW), min(sx1+1, (tx+1)*img.TileW)
			off := (sy-ty*img.TileH)*img.TileW - tx*img.TileW
			for _, v := range tile[off+x0 : off+x1] {
				if sclCode[v] == 0 {
					return false
				}
			}
		}
	}
	return true
}

// maskedTiles is the number of tiles of the scene filled instead of decoded.
func (r *sceneReader) maskedTiles() int {
	n := 0
	for _, parts := range r.bands {
		for _, p := range parts {
			if p.tiles != nil {
				n += p.tiles.masked
			}
		}
	}
	return n
}
