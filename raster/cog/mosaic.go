package cog

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
)

// Mosaic assembles a raster of a large grid (one band, or true colour with Options.RGB)
// window by window on disk, so memory holds one window at a time, then streams it into a
// COG. The scratch file (path+".mosaic.raw") holds the raw pixels row by row; it is
// sparse: only the windows written take space, and Finish fills every pixel no window
// covered with nodata.
type Mosaic struct {
	mu      sync.Mutex
	f       *os.File
	scratch string
	g       Grid
	typ     cogType
	px      int // bytes per pixel
	path    string
	opts    Options
	rects   [][4]int // windows written: col, row, width, height
}

// NewMosaic creates the scratch file of g (path+".mosaic.raw") for samples of the type of
// sample ([]uint8, []uint16, []int16, []int32 or []float32; []uint8 with o.RGB, whose
// windows then hold 3 interleaved samples a pixel); Finish writes the COG at path with the
// options o (o.NoData must be a value of that type, NaN only for float32).
func NewMosaic(path string, g Grid, sample any, o Options) (*Mosaic, error) {
	typ := cogTypeOf(sample)
	cw, err := newCOGWriter(path, g, typ, o)
	if err != nil {
		return nil, fmt.Errorf("mosaic: %w", err)
	}
	px := cw.spp * typ.size()
	scratch := path + ".mosaic.raw"
	f, err := os.Create(scratch)
	if err == nil {
		// Sized without writing: the file is a hole until windows land in it.
		err = f.Truncate(int64(g.Pixels()) * int64(px))
		if err != nil {
			f.Close()
			os.Remove(scratch)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mosaic %s: %w", path, err)
	}
	return &Mosaic{f: f, scratch: scratch, g: g, typ: typ, px: px, path: path, opts: o}, nil
}

// Write puts data (w x h pixels, the mosaic's type) at (col,row).
func (m *Mosaic) Write(col, row, w, h int, data any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return fmt.Errorf("mosaic: write window %d,%d %dx%d after finish or discard", col, row, w, h)
	}
	if t := cogTypeOf(data); t != m.typ {
		return fmt.Errorf("mosaic: write window %d,%d %dx%d: data of type %T, want %s", col, row, w, h, data, m.typ)
	}
	b := cogBytes(data)
	if w <= 0 || h <= 0 || col < 0 || row < 0 || col+w > m.g.Width || row+h > m.g.Height || len(b) != w*h*m.px {
		return fmt.Errorf("mosaic: write window %d,%d %dx%d (%d values) outside the %dx%d grid or of the wrong size",
			col, row, w, h, len(b)/m.typ.size(), m.g.Width, m.g.Height)
	}
	size := int64(m.px)
	rowBytes := int64(w) * size
	for r := range h {
		off := (int64(row+r)*int64(m.g.Width) + int64(col)) * size
		if w == m.g.Width { // whole rows: one write
			if _, err := m.f.WriteAt(b, off); err != nil {
				return fmt.Errorf("mosaic: write window %d,%d %dx%d: %w", col, row, w, h, err)
			}
			break
		}
		if _, err := m.f.WriteAt(b[int64(r)*rowBytes:int64(r+1)*rowBytes], off); err != nil {
			return fmt.Errorf("mosaic: write window %d,%d %dx%d: %w", col, row, w, h, err)
		}
	}
	m.rects = append(m.rects, [4]int{col, row, w, h})
	return nil
}

// Finish streams the mosaic into its COG and removes the scratch file.
func (m *Mosaic) Finish(ctx context.Context) error {
	path := m.path
	defer m.Discard()
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f == nil {
		return fmt.Errorf("mosaic %s: finish after discard", path)
	}
	w, err := newCOGWriter(path, m.g, m.typ, m.opts)
	if err != nil {
		return fmt.Errorf("mosaic: %w", err)
	}
	w.src = m
	defer w.Discard()
	return w.Finish(ctx, nil)
}

// readRows reads rows row0..row0+n-1 of the scratch file into dst and sets the pixels no
// written window covers to nodata (a cogRowSource for Finish).
func (m *Mosaic) readRows(row0, n int, dst []byte) error {
	size := m.px
	rowBytes := m.g.Width * size
	dst = dst[:n*rowBytes]
	if _, err := m.f.ReadAt(dst, int64(row0)*int64(rowBytes)); err != nil {
		return fmt.Errorf("read mosaic rows %d..%d: %w", row0, row0+n-1, err)
	}
	pat := m.typ.noDataBytes(m.opts.NoData)
	var block [][4]int // the windows that meet these rows
	for _, r := range m.rects {
		if r[1] < row0+n && r[1]+r[3] > row0 {
			block = append(block, r)
		}
	}
	var spans [][2]int
	for y := row0; y < row0+n; y++ {
		spans = spans[:0]
		for _, r := range block {
			if y >= r[1] && y < r[1]+r[3] {
				spans = append(spans, [2]int{r[0], r[0] + r[2]})
			}
		}
		slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
		line := dst[(y-row0)*rowBytes : (y-row0+1)*rowBytes]
		x := 0
		for _, s := range spans {
			if s[0] > x {
				cogFill(line[x*size:s[0]*size], pat)
			}
			x = max(x, s[1])
		}
		if x < m.g.Width {
			cogFill(line[x*size:], pat)
		}
	}
	return nil
}

// Discard closes and removes the scratch file.
func (m *Mosaic) Discard() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.f != nil {
		m.f.Close()
		m.f = nil
	}
	os.Remove(m.scratch)
}
