package raster

import (
	"math"

	"github.com/changewatch/changewatch/raster/cog"
)

// tileCache keeps the decoded tiles of one image by tile row for reads that come strip
// after strip, rows increasing, overlapping by a halo (Detect): the tiles of the rows a
// read may need again are kept, so every tile is decoded once. A read drops the tile rows
// above its first row before decoding; after it, at most its last two tile rows are kept,
// and only the last one when the next read, expected to overlap this one as this one
// overlapped the previous, will not reach the one before. Reads in another order are
// correct too, only slower (tiles decoded again).
type tileCache struct {
	img     *cog.Image
	rows    map[int][][]byte // tile row -> decoded tiles by tile column (nil: not decoded)
	prev    [2]int           // first and last source row of the previous read; prev[1] < 0: none
	maxRows int              // most tile rows held at once (tests)
	mark    []uint8          // per tile: tileMasked ones are filled with 0, not decoded (masked.go)
	// scanZero: each tile is scanned for 0 samples when decoded, the answer kept in zero
	// (nodata.go).
	scanZero bool
	zero     []uint8
	masked   int // tiles filled so
}

func newTileCache(img *cog.Image) *tileCache {
	return &tileCache{img: img, rows: map[int][][]byte{}, prev: [2]int{0, -1}}
}

// load makes the tiles covering the source pixels [sx0,sx1] x [sy0,sy1] (inclusive)
// available, decoding the missing ones in one batch.
func (c *tileCache) load(sx0, sy0, sx1, sy1 int) error {
	t := c.img
	ty0, ty1 := sy0/t.TileH, sy1/t.TileH
	tx0, tx1 := sx0/t.TileW, sx1/t.TileW
	c.drop(ty0)
	var tiles []int
	var bufs [][]byte
	for ty := ty0; ty <= ty1; ty++ {
		row := c.rows[ty]
		if row == nil {
			row = make([][]byte, t.Across)
			c.rows[ty] = row
		}
		for tx := tx0; tx <= tx1; tx++ {
			if row[tx] != nil {
				continue
			}
			buf := cog.TileBuf(t.TileBytes())
			if k := ty*t.Across + tx; c.mark != nil && c.mark[k] == tileMasked {
				cog.FillTile(buf, t.BPS, 0)
				row[tx] = buf
				c.masked++
				c.setZero(k, zeroSome)
				continue
			}
			tiles = append(tiles, ty*t.Across+tx)
			bufs = append(bufs, buf)
		}
	}
	c.maxRows = max(c.maxRows, len(c.rows))
	if len(tiles) == 0 {
		return nil
	}
	var each func(i int)
	if c.scanZero {
		each = func(i int) { c.scanTile(tiles[i], bufs[i]) }
	}
	if err := t.Decode(tiles, bufs, each); err != nil {
		for _, b := range bufs {
			cog.FreeTileBuf(b)
		}
		return err
	}
	for i, k := range tiles {
		c.rows[k/t.Across][k%t.Across] = bufs[i]
	}
	return nil
}

// tile returns a loaded tile.
func (c *tileCache) tile(tx, ty int) []byte { return c.rows[ty][tx] }

// drop releases the tile rows above tile row ty.
func (c *tileCache) drop(ty int) {
	for r, row := range c.rows {
		if r < ty {
			for _, b := range row {
				if b != nil {
					cog.FreeTileBuf(b)
				}
			}
			delete(c.rows, r)
		}
	}
}

// tileCacheMargin is how many source rows further up than expected the next read may
// start and still find its tiles (rounding in the 20 m source windows).
const tileCacheMargin = 4

// done is called after a read of source rows [sy0,sy1]: only its last two tile rows may
// serve the next read, and when this read went down and overlapped the previous one, only
// those from where the next read is expected to start, overlapping this one alike.
func (c *tileCache) done(sy0, sy1 int) {
	keep := sy1 - c.img.TileH // the last two tile rows
	if p := c.prev; p[1] >= 0 && sy0 > p[0] && sy0 <= p[1]+1 {
		overlap := p[1] + 1 - sy0
		keep = max(keep, sy1+1-overlap-tileCacheMargin)
	}
	c.prev = [2]int{sy0, sy1}
	c.drop(max(0, keep) / c.img.TileH)
}

func (c *tileCache) close() {
	c.drop(math.MaxInt)
	c.img.Close()
}
