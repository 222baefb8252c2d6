package raster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/paulmach/orb"
)

// DetectParams says what to compare and how.
type DetectParams struct {
	Grid          Grid             // the analysis grid (AOI's UTM zone, 10 m)
	AOI           orb.MultiPolygon // in Grid's CRS; pixels outside are not analysed; nil = whole grid
	Before, After []Scene          // at least one scene each, at most 16 each
	Mask          bool             // mask clouds, shadows, nodata with SCL
	MaskBuffer    int              // pixels added around masked cloud/shadow/cirrus (unflagged edges)
	Rules         Rules
	MinPixels     int // minimum mapping unit in pixels (8-connected)
	// MinClear is the number of clear observations a pixel needs in each period to be
	// analysed; with fewer it is "not observed" (never "no change"). 0 means 1.
	MinClear int
	// KeepEdgeRegions keeps regions touching the window's border whatever their size: in a
	// chunk of a fanned-out AOI they may continue in the next chunk (the merge applies the
	// minimum mapping unit to the stitched region).
	KeepEdgeRegions bool
	// ChunkRows is the height of the strips processed at a time; 0 = 128 (the tile cache
	// decodes each tile row once whatever the height; two strips are in memory at a time,
	// one read while the other is classified, about 12 MB per 1000 columns at 128 rows with
	// 5 scenes; measured as fast as 256 and 512 rows).
	ChunkRows int
	// Window, when not empty, restricts the work to that part of Grid (a chunk of a
	// fanned-out AOI). Pixels near its edges are masked exactly as in a whole-grid run:
	// the cloud-mask buffer reads a halo around the window.
	Window Window
	// Rows, when set, receives the per-pixel outputs strip by strip, top to bottom (its
	// slices are reused once it returns), and Result's rasters stay nil: memory then does
	// not grow with the window. The change classes it sees are before the minimum mapping
	// unit: Result.Dropped lists the pixels to clear.
	Rows func(Rows) error
	// RowBuffers, when set with Rows, gives the buffers each strip of h rows is classified
	// into (Detect writes every pixel of them) before Rows receives them, so that the
	// receiver can lend its own memory (the COG writers' block rows) and copy nothing.
	RowBuffers func(h int) (Rows, error)
	// Progress, when set, is told the stage and fraction done.
	Progress func(stage string, frac float64)
	// KeepBefore, when set, receives the before period's composite strip by strip, top to
	// bottom (its slices are reused once it returns), to be kept for later runs.
	KeepBefore func(CompositeRows) error
	// BeforeFrom, when set, gives the before period's composite, kept by an earlier run
	// over the same window, scenes (Before, in the same order) and masking: the before
	// scenes are not read. Its failures wrap ErrKeptComposite.
	BeforeFrom CompositeSource
}

// Rows are consecutive full-width rows of Detect's window.
type Rows struct {
	Row, Height             int // first window row, rows
	Class                   []uint8
	DNDVI                   []int16
	ClearBefore, ClearAfter []uint8
	// BeforeRGB and AfterRGB are the composites in true colour, 3 bytes a pixel (red,
	// green, blue; see RGBByte), 0 0 0 where the period has no clear observation.
	BeforeRGB, AfterRGB []uint8
}

// dNDVI is stored as a scaled integer (the convention of Sentinel-2 L2A reflectances):
// dNDVI = raw * DNDVIScale; DNDVINoData marks pixels not observed. The 1e-3 step is far
// below the noise of NDVI itself (a few hundredths over stable ground from L2A
// reflectances) and well inside any change threshold, and it compresses: at 1e-4 the
// noise digits made dndvi.tif of a full tile 216 MB and its compression 1.5 CPU-s dearer
// (142 MB at 1e-3).
const (
	DNDVIScale        = 1e-3
	DNDVINoData int16 = math.MinInt16
)

// quantizeDNDVI returns the raw value of a dNDVI (NaN: nodata), rounded half away from
// zero.
func quantizeDNDVI(v float32) int16 {
	f := v * (1 / DNDVIScale)
	if !(f > -math.MaxInt16 && f < math.MaxInt16) { // NaN or out of range: rare
		switch {
		case f != f:
			return DNDVINoData
		case f > 0:
			return math.MaxInt16
		}
		return -math.MaxInt16
	}
	// f + 0.5 with f's sign, truncated: no branch on the sign, which is noise
	half := math.Float32frombits(math.Float32bits(f)&(1<<31) | math.Float32bits(0.5))
	return int16(f + half)
}

// Window is a pixel rectangle of a grid.
type Window struct{ Col, Row, Width, Height int }

// Empty reports whether w has no pixels.
func (w Window) Empty() bool { return w.Width <= 0 || w.Height <= 0 }

// MaxScenesPerPeriod bounds the scenes composited per period (clear-observation bit sets are 16 bits).
const MaxScenesPerPeriod = 16

// Classes masked by SCL (ESA L2A product definition): 0 no data, 1 saturated or defective,
// 3 cloud shadow, 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus.
// Of those, the cloud and shadow classes are buffered since their edges are often missed.
const (
	sclCodeInvalid  = 1
	sclCodeBuffered = 2
)

var sclCode = [256]uint8{0: sclCodeInvalid, 1: sclCodeInvalid,
	3: sclCodeBuffered, 8: sclCodeBuffered, 9: sclCodeBuffered, 10: sclCodeBuffered}

// Region is one change polygon before vectorization: a connected component of equal class
// with its statistics.
type Region struct {
	Component
	Class                                 uint8
	Pixels                                int
	Seeds                                 int     // pixels that passed the strong rules (the rest passed weak tests)
	Confidence, DNDVI, DNBR, DMNDWI, DBSI float64 // means over the region
	ClearBefore, ClearAfter               float64 // mean clear observations per pixel
	BeforeScenes, AfterScenes             []string
	// AnchorX, AnchorY: centre of the region's first pixel in raster order, in grid CRS.
	// The same region on the same grid always has the same anchor (stable ids).
	AnchorX, AnchorY float64
	Geometry         orb.MultiPolygon // EPSG:4326, set by Vectorize
}

// stats points at the region's per-pixel statistics (means once a region is complete).
func (r *Region) stats() [7]*float64 {
	return [7]*float64{&r.Confidence, &r.DNDVI, &r.DNBR, &r.DMNDWI, &r.DBSI, &r.ClearBefore, &r.ClearAfter}
}

// ScaleStats multiplies every statistic by k: by the pixel count to turn means into sums,
// by its inverse to turn sums back into means.
func (r *Region) ScaleStats(k float64) {
	for _, v := range r.stats() {
		*v *= k
	}
}

// AddStats adds o's statistics to r's.
func (r *Region) AddStats(o *Region) {
	ov := o.stats()
	for i, v := range r.stats() {
		*v += *ov[i]
	}
}

// Result is the per-pixel and per-region outcome of Detect.
type Result struct {
	Grid Grid // the grid of the pixels below: DetectParams.Grid, or its Window
	Full Grid // DetectParams.Grid
	// Per-pixel rasters of Grid (nil when DetectParams.Rows received them instead):
	// change class (ClassNone, ClassBare, ClassWater, ClassBurn, ClassNotObserved), dNDVI
	// (after - before NDVI, scaled: see DNDVIScale), clear observations per pixel in each
	// period (0 outside the AOI).
	Class                   []uint8
	DNDVI                   []int16
	ClearBefore, ClearAfter []uint8
	Regions                 []Region
	// Dropped lists the pixels (row-major in Grid, ascending) that passed the change rules
	// but whose region is under the minimum mapping unit: ClassNone in Class.
	Dropped []uint32
	// Pixels inside the AOI with / without a clear observation in both periods.
	Observed, NotObserved int
	// MaskedTiles counts the tiles of full-resolution bands not decoded because the SCL
	// masks all of their pixels (masked.go).
	MaskedTiles int
	Quicklook   *Quicklook // covers the Full grid
	pix         []uint32   // the regions' pixels, region after region, raster order
	start       []int      // region i's pixels are pix[start[i]:start[i+1]]
}

// RegionPixels returns the pixels (row-major in Grid) of Regions[i].
func (r *Result) RegionPixels(i int) []uint32 { return r.pix[r.start[i]:r.start[i+1]] }

// CountClasses adds the regions' pixels to the quicklook's change overlay.
func (r *Result) CountClasses() {
	col := int(math.Round((r.Grid.X0 - r.Full.X0) / r.Full.Res))
	row := int(math.Round((r.Full.Y0 - r.Grid.Y0) / r.Full.Res))
	w := r.Grid.Width
	for i := range r.Regions {
		c := r.Regions[i].Class
		for _, j := range r.RegionPixels(i) {
			r.Quicklook.addClass(col+int(j)%w, row+int(j)/w, c)
		}
	}
}

// pixelRec keeps the per-pixel values of change pixels until regions are known.
type pixelRec struct {
	idx                       uint32
	conf, dndvi, dnbr, dmndwi float32
	dbsi                      float32
	bits                      uint32 // clear before scenes | clear after scenes << 16
	nb, na                    uint8
	cls                       uint8
	strong                    bool // passed the strong rules (weak pixels need one in their region)
}

// Detect reads both periods strip by strip (the next strip is read while the current one
// is classified; a cancelled context stops it within a strip), composites each period, applies the change rules, then labels regions with the
// minimum mapping unit. Vectorize turns the regions into polygons.
func Detect(ctx context.Context, p DetectParams) (*Result, error) {
	g := p.Grid
	if g.Width <= 0 || g.Height <= 0 {
		return nil, errors.New("detect: empty grid")
	}
	if len(p.Before) == 0 || len(p.After) == 0 {
		return nil, errors.New("detect: need at least one scene in each period")
	}
	if len(p.Before) > MaxScenesPerPeriod || len(p.After) > MaxScenesPerPeriod {
		return nil, fmt.Errorf("detect: at most %d scenes per period", MaxScenesPerPeriod)
	}
	if p.ChunkRows <= 0 {
		p.ChunkRows = 128
	}
	if p.MaskBuffer < 0 {
		return nil, fmt.Errorf("detect: mask buffer %d: want 0 or more pixels", p.MaskBuffer)
	}
	progress := p.Progress
	if progress == nil {
		progress = func(string, float64) {}
	}
	progress("read, composite, classify", 0)
	win := p.Window
	if win.Empty() {
		win = Window{0, 0, g.Width, g.Height}
	}
	if win.Col < 0 || win.Row < 0 || win.Col+win.Width > g.Width || win.Row+win.Height > g.Height {
		return nil, fmt.Errorf("detect: window %+v outside the %dx%d grid", win, g.Width, g.Height)
	}
	wg := g.Sub(win.Col, win.Row, win.Width, win.Height)
	var aoiMask []bool // the AOI over the current strip
	if p.AOI != nil {
		aoiMask = make([]bool, p.ChunkRows*win.Width)
	}

	open := func(scenes []Scene) ([]*sceneReader, error) {
		rs := make([]*sceneReader, 0, len(scenes))
		for _, s := range scenes {
			r, err := openScene(ctx, s, g)
			if err != nil {
				closeAll(rs)
				return nil, err
			}
			if p.Mask && !r.hasSCL() {
				closeAll(append(rs, r))
				return nil, fmt.Errorf("scene %s: masking needs an scl band", s.ID)
			}
			rs = append(rs, r)
		}
		return rs, nil
	}
	if p.KeepBefore != nil && p.BeforeFrom != nil {
		return nil, errors.New("detect: a kept before composite is either read or written, not both")
	}
	var before []*sceneReader // none when the composite is kept
	if p.BeforeFrom == nil {
		var err error
		if before, err = open(p.Before); err != nil {
			return nil, err
		}
		defer closeAll(before)
	}
	after, err := open(p.After)
	if err != nil {
		return nil, err
	}
	defer closeAll(after)

	res := &Result{Grid: wg, Full: g, Quicklook: newQuicklook(g.Width, g.Height, 400)}
	w := win.Width
	var out Rows
	if p.Rows == nil {
		res.Class = make([]uint8, wg.Pixels())
		res.DNDVI = make([]int16, wg.Pixels())
		res.ClearBefore = make([]uint8, wg.Pixels())
		res.ClearAfter = make([]uint8, wg.Pixels())
	} else {
		n := p.ChunkRows * w
		out = Rows{Class: make([]uint8, n), DNDVI: make([]int16, n), ClearBefore: make([]uint8, n), ClearAfter: make([]uint8, n),
			BeforeRGB: make([]uint8, 3*n), AfterRGB: make([]uint8, 3*n)}
	}
	halo := 0
	if p.Mask {
		halo = p.MaskBuffer
	}
	// Columns read: the window and its halo, within the grid.
	c0, c1 := max(0, win.Col-halo), min(g.Width, win.Col+win.Width+halo)
	// Strips are read one ahead of the one being classified: two buffer sets go round
	// between the reader and the classifier, so reading (decoding) overlaps computing.
	type strip struct {
		row, h, r0 int
		cb, ca     *chunkBuffers
		err        error
	}
	free := make(chan strip, 2)
	for range 2 {
		st := strip{ca: newChunkBuffers(after, c1-c0, p.ChunkRows+2*halo)}
		st.ca.boundSWIR22 = true
		if p.BeforeFrom != nil {
			st.cb = newKeptBuffers(p.Before, c1-c0, p.ChunkRows+2*halo)
		} else {
			st.cb = newChunkBuffers(before, c1-c0, p.ChunkRows+2*halo)
			if p.KeepBefore != nil {
				st.cb.keep = NewCompositeRows(p.ChunkRows * w)
			}
		}
		free <- st
	}
	ready := make(chan strip, 1)
	rctx, stop := context.WithCancel(ctx)
	// On any return the reader is stopped and waited for before the scenes are closed.
	defer func() {
		stop()
		for range ready {
		}
	}()
	go func() {
		defer close(ready)
		for row := win.Row; row < win.Row+win.Height; row += p.ChunkRows {
			var st strip
			select {
			case st = <-free:
			case <-rctx.Done():
				return
			}
			st.row, st.h = row, min(p.ChunkRows, win.Row+win.Height-row)
			st.r0 = max(0, row-halo)
			r1 := min(g.Height, row+st.h+halo)
			st.err = loadStrip(rctx, st.cb, before, st.ca, after, c0, st.r0, c1-c0, r1-st.r0, p.Mask, p.MaskBuffer)
			if st.err == nil && p.BeforeFrom != nil {
				st.err = st.cb.loadKept(p.BeforeFrom, len(p.Before), row-win.Row, st.h, w, c1-c0, win.Col-c0, row-st.r0)
			}
			ready <- st
			if st.err != nil {
				return
			}
		}
	}()
	var recs [][]pixelRec // each part's records, in raster order
	for st := range ready {
		if st.err != nil {
			return nil, st.err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		row, h := st.row, st.h
		if p.Rows != nil && p.RowBuffers != nil {
			var err error
			if out, err = p.RowBuffers(h); err != nil {
				return nil, err
			}
		}
		out.Row, out.Height = row-win.Row, h
		if p.Rows == nil {
			i0, i1 := out.Row*w, (out.Row+h)*w
			out.Class, out.DNDVI = res.Class[i0:i1], res.DNDVI[i0:i1]
			out.ClearBefore, out.ClearAfter = res.ClearBefore[i0:i1], res.ClearAfter[i0:i1]
		}
		var stripAOI []bool
		if aoiMask != nil {
			stripAOI = rasterizeInto(aoiMask, wg.Sub(0, out.Row, w, h), p.AOI)
		}
		recs = p.classifyParallel(res, &out, stripAOI, st.cb, st.ca, win, row, h, row-st.r0, win.Col-c0, c1-c0, recs)
		if p.KeepBefore != nil {
			kr := st.cb.keep.slice(h * w)
			kr.Row, kr.Height = out.Row, h
			if err := p.KeepBefore(kr); err != nil {
				return nil, err
			}
		}
		free <- st
		if p.Rows != nil {
			n := h * w
			if err := p.Rows(Rows{Row: out.Row, Height: h, Class: out.Class[:n], DNDVI: out.DNDVI[:n],
				ClearBefore: out.ClearBefore[:n], ClearAfter: out.ClearAfter[:n],
				BeforeRGB: out.BeforeRGB[:3*n], AfterRGB: out.AfterRGB[:3*n]}); err != nil {
				return nil, err
			}
		}
		progress("read, composite, classify", float64(row+h-win.Row)/float64(win.Height))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, rs := range [][]*sceneReader{before, after} {
		for _, r := range rs {
			res.MaskedTiles += r.maskedTiles()
		}
	}
	progress("regions", 0)
	regions(res, recs, p.MinPixels, p.KeepEdgeRegions, p.Before, p.After)
	progress("regions", 1)
	return res, nil
}

func closeAll(rs []*sceneReader) {
	for _, r := range rs {
		r.close()
	}
}

// chunkBuffers hold one period's scenes for one strip and its halo: digital numbers per band. Once
// masked, a scene's blue DN is 0 wherever the observation is not clear, so the blue band
// doubles as the clear mask.
type chunkBuffers struct {
	off, scale []float32 // per scene: reflectance = (DN - off) * scale
	uniform    bool      // every scene has the same offset and scale: DNs order like reflectances
	dn         [][nSpectral][]uint16
	// swir holds, per scene, the SWIR bands (swir16, swir22) kept at their 20 m source
	// resolution when lazy is set for them: interpolated only where the rules look (a few
	// pixels per pixel instead of every scene's); otherwise dn holds them upsampled.
	swir [][2]lazyBand
	lazy [][2]bool
	// boundSWIR22 (the after period's) gives a lazy SWIR2 band its bound, for the burn
	// test's shortcut in classifyRows.
	boundSWIR22 bool
	scl         [][]uint8
	// sclSrc holds, per scene, the SCL at its source resolution when sclLazy is set for it
	// (sclmask.go); otherwise scl holds it upsampled.
	sclSrc  []classBand
	sclLazy []bool
	// redNIRData says, per scene, that red and NIR have data at every pixel of the strip
	// (nodata.go): their no-data test is skipped.
	redNIRData [][2]bool
	tmp        [][2][]bool // scratch masks of each masking goroutine
	// keep receives the strip's composite (DetectParams.KeepBefore).
	keep *CompositeRows
	// comp holds the strip's kept composite (DetectParams.BeforeFrom; newKeptBuffers):
	// then dn holds one set of buffers per scaling of the scenes, group[k] the set of
	// scene k.
	comp  *CompositeRows
	group []int8
}

func newChunkBuffers(rs []*sceneReader, w, rows int) *chunkBuffers {
	n := len(rs)
	c := &chunkBuffers{off: make([]float32, n), scale: make([]float32, n),
		dn: make([][nSpectral][]uint16, n), swir: make([][2]lazyBand, n), lazy: make([][2]bool, n),
		scl: make([][]uint8, n), sclSrc: make([]classBand, n), sclLazy: make([]bool, n), redNIRData: make([][2]bool, n), tmp: make([][2][]bool, min(n, runtime.GOMAXPROCS(0)))}
	for i := range c.tmp {
		c.tmp[i] = [2][]bool{make([]bool, w*rows), make([]bool, w*rows)}
	}
	for i := 0; i < n; i++ {
		for b := 0; b < 4; b++ { // the SWIR bands' buffers are made when first needed
			c.dn[i][b] = make([]uint16, w*rows)
		}
		c.off[i], c.scale[i] = float32(rs[i].scene.DNOffset), rs[i].scale()
	}
	c.uniform = true
	for i := range n {
		c.uniform = c.uniform && c.off[i] == c.off[0] && c.scale[i] == c.scale[0]
	}
	return c
}

// loadStrip reads rows [row,row+h) of every spectral band (and, with mask, the SCL) of
// every scene of both periods, on a few goroutines (each band part has its own GDAL
// dataset or tile reader, used by one goroutine at a time), then computes the clear masks.
// The SCL bands come first: a scene's spectral bands wait for its SCL, which marks the
// tiles it masks entirely, not to be decoded (masked.go). Full-resolution bands come next,
// so that the short 20 m reads fill the end.
func loadStrip(ctx context.Context, cb *chunkBuffers, before []*sceneReader, ca *chunkBuffers, after []*sceneReader, col, row, w, h int, mask bool, buffer int) error {
	type job struct {
		c    *chunkBuffers
		r    *sceneReader
		i    int           // scene index in its period
		b    int           // band
		scl  chan struct{} // closed once the scene's SCL is read (nil: no wait)
		done chan struct{} // the SCL job's: closes it
	}
	var jobs []job
	scl := map[*sceneReader]chan struct{}{}
	add := func(b int) {
		for _, p := range []struct {
			c  *chunkBuffers
			rs []*sceneReader
		}{{cb, before}, {ca, after}} {
			for i, r := range p.rs {
				if b == iSCL && !r.hasSCL() {
					continue
				}
				j := job{c: p.c, r: r, i: i, b: b}
				if b < 4 { // the 10 m bands, whose masked tiles the SCL marks
					j.scl = scl[r]
				}
				if b == iSCL {
					j.done = make(chan struct{})
					scl[r] = j.done
				}
				jobs = append(jobs, j)
			}
		}
	}
	if mask {
		add(iSCL)
	}
	for _, b := range []int{0, 1, 2, 3, 4, 5} { // BandKeys order: four 10 m, then 20 m bands
		add(b)
	}
	next := make(chan job, len(jobs))
	for _, j := range jobs {
		next <- j
	}
	close(next)
	n := w * h
	errs := make([]error, 4)
	lctx, cancel := context.WithCancel(ctx) // cancelled by the first failure
	defer cancel()
	var wg sync.WaitGroup
	for t := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if err := loadBand(lctx, j.c, j.r, j.i, j.b, j.scl, col, row, w, h, n); err != nil {
					errs[t] = errors.Join(errs[t], err)
					cancel() // before the scene's spectral reads are released
				}
				if j.done != nil {
					close(j.done)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cb.masks(before, w, h, mask, buffer)
	ca.masks(after, w, h, mask, buffer)
	return nil
}

// loadBand reads band b of scene i (reader r) of a period into c (see loadStrip), after
// scl is closed when it is set; the SCL band also marks the masked tiles.
func loadBand(ctx context.Context, c *chunkBuffers, r *sceneReader, i, b int, scl chan struct{}, col, row, w, h, n int) error {
	if scl != nil {
		select {
		case <-scl:
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		return nil // stopped: loadStrip reports why
	}
	if b == 4 || b == 5 {
		s := b - 4
		lazy, err := r.readSource(b, col, row, w, h, &c.swir[i][s])
		c.lazy[i][s] = lazy
		if lazy && b == 5 && c.boundSWIR22 && err == nil {
			c.swir[i][s].bound()
		}
		if lazy || err != nil {
			return err
		}
		if len(c.dn[i][b]) < n {
			c.dn[i][b] = make([]uint16, len(c.dn[i][0]))
		}
	}
	if b != iSCL {
		if err := r.read(b, col, row, w, h, c.dn[i][b][:n]); err != nil {
			return err
		}
		if b == 2 || b == 3 {
			c.redNIRData[i][b-2] = r.dataEverywhere(b, col, row, w, h)
		}
		return nil
	}
	lazy, err := r.readClassSource(col, row, w, h, &c.sclSrc[i])
	c.sclLazy[i] = lazy
	if err != nil {
		return err
	}
	if !lazy {
		if len(c.scl[i]) < n {
			c.scl[i] = make([]uint8, len(c.dn[i][0]))
		}
		if err := r.read(b, col, row, w, h, c.scl[i][:n]); err != nil {
			return err
		}
	}
	r.markMasked(col, row, w, h)
	return nil
}

// masks sets to 0 the blue DN of every observation that is not clear among the loaded
// w x h pixels: no data in a band the rules need or, with mask, an SCL class that is
// invalid or within buffer pixels (square) of a class whose edges are buffered. Scenes
// are masked in parallel.
func (c *chunkBuffers) masks(rs []*sceneReader, w, h int, mask bool, buffer int) {
	next := make(chan int, len(rs))
	for i := range rs {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for t := range c.tmp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c.mask(i, mask && rs[i].hasSCL(), w, h, buffer, c.tmp[t][0], c.tmp[t][1])
			}
		}()
	}
	wg.Wait()
}

// mask masks scene i (see masks), with scratch buffers bad and tmp.
func (c *chunkBuffers) mask(i int, useSCL bool, w, h, buffer int, bad, tmp []bool) {
	n := w * h
	dn := &c.dn[i]
	blue, red, nir := dn[0][:n], dn[2][:n], dn[3][:n]
	red, nir = red[:len(blue)], nir[:len(blue)]
	// SWIR1 must have data too: upsampled, or its 20 m source pixel.
	if c.lazy[i][0] {
		c.swir[i][0].clearNoData(blue, w)
	} else {
		for j, v := range dn[4][:n] {
			if v == 0 {
				blue[j] = 0
			}
		}
	}
	// Red and NIR need no no-data test where their tiles hold no 0 (nodata.go).
	testRedNIR := c.redNIRData[i] != [2]bool{true, true}
	if !useSCL {
		if testRedNIR {
			for j := range blue {
				if red[j] == 0 || nir[j] == 0 {
					blue[j] = 0
				}
			}
		}
		return
	}
	if c.sclLazy[i] {
		if !testRedNIR {
			red, nir = nil, nil
		}
		maskSource(blue, red, nir, &c.sclSrc[i], w, h, buffer)
		return
	}
	scl, bad := c.scl[i][:n], bad[:n]
	var any uint8
	for j := range blue {
		code := sclCode[scl[j]]
		// a zero DN wraps to the top bit: branch-free "no data in red or NIR"
		none := (uint32(red[j]) - 1) | (uint32(nir[j]) - 1)
		if none>>31|uint32(code&sclCodeInvalid) != 0 {
			blue[j] = 0
		}
		bad[j] = code&sclCodeBuffered != 0
		any |= code
	}
	if any&sclCodeBuffered == 0 {
		return
	}
	dilate(bad, tmp[:n], w, h, buffer)
	for j, b := range bad {
		if b {
			blue[j] = 0
		}
	}
}

// sceneRow views one buffer row of a scene's bands: classifyRows looks its pixels up by
// buffer column, with no per-pixel indirection through the chunk buffers.
type sceneRow struct {
	dn         [nSpectral][]uint16 // a SWIR band's is nil when it is kept at 20 m (lazy)
	lazy       [2]lazyRow          // the SWIR bands kept at 20 m
	off, scale float32
	rgb        *[1 << 16]uint8 // the true-colour byte of each digital number (rgbTable)
}

// refl is the reflectance of digital number v.
func (s *sceneRow) refl(v uint16) float32 { return (float32(v) - s.off) * s.scale }

// swirRefl returns SWIR band i's (0 swir16, 1 swir22) reflectance at buffer column x.
func (s *sceneRow) swirRefl(i, x int) float32 { return s.refl(s.swirDN(i, x)) }

// swirDN returns SWIR band i's (0 swir16, 1 swir22) digital number at buffer column x.
func (s *sceneRow) swirDN(i, x int) uint16 {
	if d := s.dn[4+i]; d != nil {
		return d[x]
	}
	return s.lazy[i].at(x)
}

// spectrum returns the reflectances at buffer column x.
func (s *sceneRow) spectrum(x int) Spectrum {
	return Spectrum{s.refl(s.dn[0][x]), s.refl(s.dn[1][x]), s.refl(s.dn[2][x]), s.refl(s.dn[3][x]),
		s.swirRefl(0, x), s.swirRefl(1, x)}
}

// rowViews sets rs to every scene's view of buffer row y (the buffers are bw pixels wide).
func (c *chunkBuffers) rowViews(rs []sceneRow, y, bw int) []sceneRow {
	rs = rs[:0]
	for i := range c.dn {
		s := sceneRow{off: c.off[i], scale: c.scale[i], rgb: rgbTable(c.off[i], c.scale[i])}
		for b := range nSpectral {
			switch {
			case b < 4 || !c.lazy[i][b-4]:
				s.dn[b] = c.dn[i][b][y*bw : (y+1)*bw]
			default:
				s.lazy[b-4] = c.swir[i][b-4].row(y)
			}
		}
		if s.scale <= 0 {
			s.lazy[1].hi = nil // reflectance not rising with the DN: no bound to try
		}
		rs = append(rs, s)
	}
	return rs
}

// picks is one row's choice of observation in one period (pickRow), per column.
type picks struct {
	k    []int8   // the scene, -1 when none is clear
	n    []uint8  // the number of clear observations
	bits []uint16 // their bit set
}

// resize makes p w columns long.
func (p *picks) resize(w int) {
	p.k, p.n, p.bits = grow(&p.k, w), grow(&p.n, w), grow(&p.bits, w)
}

// pickRow chooses the composite's observation at columns [x0, x0+len(p.k)) of the scenes'
// rows: among the clear observations, the one whose blue reflectance is the lower median
// (a medoid-like choice: all bands come from one real observation, and ties lean to the
// darker, less hazy one; cf. Flood 2013, "Seasonal composite Landsat TM/ETM+ images using
// the medoid"). Uniform says every scene has the same offset and scale.
func pickRow(rs []sceneRow, uniform bool, x0 int, p *picks) {
	w := len(p.k)
	if len(rs) == 1 {
		pick1Row(rs[0].dn[0][x0:x0+w], p)
		return
	}
	if uniform {
		switch len(rs) {
		case 2:
			pick2Row(rs[0].dn[0][x0:x0+w], rs[1].dn[0][x0:x0+w], p)
			return
		case 3:
			pick3Row(rs[0].dn[0][x0:x0+w], rs[1].dn[0][x0:x0+w], rs[2].dn[0][x0:x0+w], p)
			return
		}
	}
	pickInsertion(rs, x0, p)
}

// pickInsertion is pickRow's general path: each column's clear observations sorted by
// blue reflectance by insertion.
func pickInsertion(rs []sceneRow, x0 int, p *picks) {
	for x := range len(p.k) {
		var keys [MaxScenesPerPeriod]float32
		var ids [MaxScenesPerPeriod]int8
		n := 0
		var bits uint16
		for i := range rs {
			v := rs[i].dn[0][x0+x]
			if v == 0 { // not clear
				continue
			}
			key := rs[i].refl(v)
			m := n // insertion: a handful of scenes, equal keys keep scene order
			for m > 0 && keys[m-1] > key {
				keys[m], ids[m] = keys[m-1], ids[m-1]
				m--
			}
			keys[m], ids[m] = key, int8(i)
			n++
			bits |= 1 << i
		}
		p.k[x], p.n[x], p.bits[x] = -1, uint8(n), bits
		if n > 0 {
			p.k[x] = ids[(n-1)/2]
		}
	}
}

// dnKey packs a blue DN v of scene i with i below it, so that keys order by DN then scene
// (the order pickRow's insertion keeps), without branches: not clear (0) is the largest key,
// whose low byte is -1 as an int8. It also returns 1 when v is clear, else 0.
func dnKey(v uint16, i uint32) (uint32, uint32) {
	clear := (uint32(v) + 0xffff) >> 16
	return uint32(v)<<8 | i | (clear - 1), clear
}

// pick2Row is pickRow for two scenes of equal scaling (blue rows v0, v1): the lower median
// of one or two clear observations is the smaller.
func pick2Row(v0, v1 []uint16, p *picks) {
	v1 = v1[:len(v0)]
	k, n, bits := p.k[:len(v0)], p.n[:len(v0)], p.bits[:len(v0)]
	for x := range v0 {
		a, ca := dnKey(v0[x], 0)
		b, cb := dnKey(v1[x], 1)
		k[x], n[x], bits[x] = int8(min(a, b)), uint8(ca+cb), uint16(ca|cb<<1)
	}
}

// pick3Row is pickRow for three scenes of equal scaling: a three-element sorting
// network; the lower median is the middle key with three clear observations, else the
// smallest.
func pick3Row(v0, v1, v2 []uint16, p *picks) {
	v1, v2 = v1[:len(v0)], v2[:len(v0)]
	k, n, bits := p.k[:len(v0)], p.n[:len(v0)], p.bits[:len(v0)]
	for x := range v0 {
		a, ca := dnKey(v0[x], 0)
		b, cb := dnKey(v1[x], 1)
		d, cd := dnKey(v2[x], 2)
		lo, hi := min(a, b), max(a, b)
		lo, mid := min(lo, d), max(lo, d)
		mid = min(mid, hi)
		c := ca + cb + cd
		if c == 3 {
			lo = mid
		}
		k[x], n[x], bits[x] = int8(lo), uint8(c), uint16(ca|cb<<1|cd<<2)
	}
}

// classified is what classifying some rows produced.
type classified struct {
	recs                  []pixelRec
	observed, notObserved int
}

// classifyParallel classifies rows [row,row+h) of a loaded chunk on every core: the rows
// are split at multiples of the quicklook's cell height, so each goroutine writes its own
// pixels and quicklook cells; each part's records are appended to recs as they are (not
// copied into one slice: a 10980 px scene has millions), so recs stays in raster order.
func (p *DetectParams) classifyParallel(res *Result, out *Rows, aoiMask []bool, cb, ca *chunkBuffers, win Window, row, h, rowOff, colOff, bw int, recs [][]pixelRec) [][]pixelRec {
	step := res.Quicklook.step
	n := runtime.GOMAXPROCS(0)
	per := max(step, (h+n-1)/n/step*step)
	var parts []classified
	var wg sync.WaitGroup
	var bounds [][2]int
	for y0 := 0; y0 < h; {
		y1 := min(h, (row+y0+per)/step*step-row) // end on a quicklook cell boundary
		if y1 <= y0 {
			y1 = min(h, y0+per)
		}
		bounds = append(bounds, [2]int{y0, y1})
		y0 = y1
	}
	parts = make([]classified, len(bounds))
	for i, b := range bounds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i] = p.classifyRows(res, out, aoiMask, cb, ca, win, row, b[0], b[1], rowOff, colOff, bw)
		}()
	}
	wg.Wait()
	for _, c := range parts {
		if len(c.recs) > 0 {
			recs = append(recs, c.recs)
		}
		res.Observed += c.observed
		res.NotObserved += c.notObserved
	}
	return recs
}

// classifyRows classifies rows [row+y0,row+y1) (grid rows) of the window. The chunk
// buffers are bw pixels wide; window column 0 is buffer column colOff, grid row `row` is
// buffer row rowOff.
func (p *DetectParams) classifyRows(res *Result, o *Rows, aoiMask []bool, cb, ca *chunkBuffers, win Window, row, y0, y1, rowOff, colOff, bw int) classified {
	var out classified
	w := win.Width
	rules := &p.Rules
	minClear := max(1, p.MinClear)
	q := res.Quicklook
	cellX := make([]int, w) // quicklook column of each window column
	for x := range cellX {
		cellX[x] = (win.Col + x) / q.step
	}
	// With an after NDVI at or above onlyBurn, neither the water, bare-soil nor loss rules
	// nor their weak tests can fire (see Rules.Classify, ClassifyWeak): only the burn rule
	// and its weak test are left, which need red below burnRed and NBR below burnNBR.
	onlyBurn := max(rules.WaterNDVI, rules.BareNDVI, rules.DullNDVI, rules.LossNDVI, rules.WeakNDVI)
	burnRed, burnNBR := max(rules.BurnRed, rules.WeakBurnRed), max(rules.BurnNBR, rules.WeakNBR)
	vegBefore := min(rules.VegBefore, rules.DenseBefore)
	tests := screenTests{minClear: uint8(min(minClear, 255)), veg: vegBefore - ndMargin, onlyBurn: onlyBurn + ndMargin, burn: burnRed, burnNBR: burnNBR + ndMargin}
	sc := newScreen(cb, ca, w)
	defer sc.Close()
	var rb, ra []sceneRow
	var pb, pa picks
	pb.resize(w)
	pa.resize(w)
	for y := y0; y < y1; y++ {
		by := rowOff + y
		rb, ra = cb.rowViews(rb, by, bw), ca.rowViews(ra, by, bw)
		if cb.comp != nil {
			cb.keptPicks(y, w, &pb)
		} else {
			pickRow(rb, cb.uniform, colOff, &pb)
			if cb.keep != nil {
				cb.putKept(rb, &pb, y, w, colOff)
			}
		}
		pickRow(ra, ca.uniform, colOff, &pa)
		k0 := y * w // the row in the strip
		oc, od := o.Class[k0:k0+w], o.DNDVI[k0:k0+w]
		ob, oa := o.ClearBefore[k0:k0+w], o.ClearAfter[k0:k0+w]
		var rgbB, rgbA []uint8 // nil when the caller holds the rasters (no Rows function)
		if o.BeforeRGB != nil {
			rgbB, rgbA = o.BeforeRGB[3*k0:3*(k0+w)], o.AfterRGB[3*k0:3*(k0+w)]
		}
		var inAOI []bool
		if aoiMask != nil {
			inAOI = aoiMask[k0 : k0+w]
		}
		if rgbB != nil {
			rgbRow(rgbB, rb, pb.k[:w], colOff, inAOI)
			rgbRow(rgbA, ra, pa.k[:w], colOff, inAOI)
		}
		idx0 := (row - win.Row + y) * w // the row in the window
		// The first pass (cw_screen, in C): clear counts, dNDVI and no change for every
		// pixel, not observed where it is; most pixels stop there, and the rest, cand,
		// come to the rules below. The NDVIs are kept as fractions (nd's numerator and
		// sum): their difference takes one division, and the tests against thresholds none.
		cand, observed, notObserved := sc.row(rb, ra, colOff, &pb, &pa, inAOI, &tests, oc, od, ob, oa)
		out.observed += observed
		out.notObserved += notObserved
		// The quicklook's colours average one row of pixels per cell row.
		if (row+y)%q.step == q.step/2 || q.step == 1 {
			cellRow := (row + y) / q.step * q.w
			for x, c := range oc {
				if c != ClassNotObserved {
					q.addRGB(cellRow+cellX[x], &rb[pb.k[x]], &ra[pa.k[x]], colOff+x)
				}
			}
		}
		for _, cx := range cand {
			x := int(cx)
			bx := colOff + x
			nb, na := int(pb.n[x]), int(pa.n[x])
			sb, sa := &rb[pb.k[x]], &ra[pa.k[x]]
			redA, nirA := sa.refl(sa.dn[2][bx]), sa.refl(sa.dn[3][bx])
			// With the after NDVI above onlyBurn (and red below burnRed), only the burn rule
			// is left; cw_screen tried its NBR test at the bound of SWIR2, and here it is
			// tried at the interpolated value.
			if above(nirA-redA, nirA+redA, onlyBurn) && ndAbove(nirA, sa.swirRefl(1, bx), burnNBR) {
				continue
			}
			specB, specA := sb.spectrum(bx), sa.spectrum(bx)
			ib, ia := specB.Index(), specA.Index()
			cls, str := rules.Classify(&specB, &specA, &ib, &ia)
			strong := cls != ClassNone
			if !strong {
				// A weak pixel: kept if its region holds a strong one (regions).
				if cls = rules.ClassifyWeak(&specB, &specA, &ib, &ia); cls == ClassNone {
					continue
				}
				str = 0.5
			}
			oc[x] = cls
			// Agreement over time: how many clear after-observations show the same change
			// on their own (GLAD-style confirmation: seen twice is stronger than once).
			agree := 0
			for i := range ra {
				if ra[i].dn[0][bx] != 0 { // clear
					s := ra[i].spectrum(bx)
					is := s.Index()
					c, _ := rules.Classify(&specB, &s, &ib, &is)
					if c == ClassNone && !strong {
						c = rules.ClassifyWeak(&specB, &s, &ib, &is)
					}
					if c == cls {
						agree++
					}
				}
			}
			conf := str * (0.5 + 0.5*float32(agree)/float32(max(na, 2)))
			if !strong {
				conf *= 0.5
			}
			out.recs = append(out.recs, pixelRec{strong: strong,
				idx: uint32(idx0 + x), conf: conf, dndvi: ia.NDVI - ib.NDVI, dnbr: ib.NBR - ia.NBR,
				dmndwi: ia.MNDWI - ib.MNDWI, dbsi: ia.BSI - ib.BSI,
				bits: uint32(pb.bits[x]) | uint32(pa.bits[x])<<16, nb: uint8(nb), na: uint8(na), cls: cls,
			})
		}
	}
	return out
}

// regions labels the change regions of the records (parts in raster order), drops those
// under the minimum mapping unit (clearing them in res.Class when it is held) and
// aggregates the records into region statistics.
func regions(res *Result, parts [][]pixelRec, minPixels int, keepEdge bool, before, after []Scene) {
	g := res.Grid
	n := 0
	for _, part := range parts {
		n += len(part)
	}
	idx := make([]uint32, n)
	cls := make([]uint8, n)
	strong := make([]bool, n)
	i := 0
	for _, part := range parts {
		for _, r := range part {
			idx[i], cls[i], strong[i] = r.idx, r.cls, r.strong
			i++
		}
	}
	labels, comps, sizes, seeds := labelSparse(idx, cls, strong, g.Width, g.Height, max(1, minPixels), keepEdge)
	regs := make([]Region, len(comps))
	bits := make([]uint32, len(comps))
	res.start = make([]int, len(comps)+1)
	for i := range regs {
		regs[i].Component = comps[i]
		regs[i].Pixels = sizes[i]
		regs[i].Seeds = seeds[i]
		res.start[i+1] = res.start[i] + sizes[i]
	}
	res.pix = make([]uint32, res.start[len(comps)])
	next := slices.Clone(res.start[:len(comps)])
	labels = labels[:n]
	for _, part := range parts {
		for i := range part {
			r := &part[i]
			l := labels[i]
			if l == 0 {
				res.Dropped = append(res.Dropped, r.idx)
				if res.Class != nil {
					res.Class[r.idx] = ClassNone
				}
				continue
			}
			res.pix[next[l-1]] = r.idx
			next[l-1]++
			rg := &regs[l-1]
			if rg.Class == 0 {
				x, y := int(r.idx)%g.Width, int(r.idx)/g.Width
				rg.AnchorX = g.X0 + (float64(x)+0.5)*g.Res
				rg.AnchorY = g.Y0 - (float64(y)+0.5)*g.Res
				rg.Class = r.cls
			}
			rg.Confidence += float64(r.conf)
			rg.DNDVI += float64(r.dndvi)
			rg.DNBR += float64(r.dnbr)
			rg.DMNDWI += float64(r.dmndwi)
			rg.DBSI += float64(r.dbsi)
			rg.ClearBefore += float64(r.nb)
			rg.ClearAfter += float64(r.na)
			bits[l-1] |= r.bits
		}
		labels = labels[len(part):]
	}
	for i := range regs {
		rg := &regs[i]
		rg.ScaleStats(1 / float64(rg.Pixels))
		for k, s := range before {
			if bits[i]&(1<<k) != 0 {
				rg.BeforeScenes = append(rg.BeforeScenes, s.ID)
			}
		}
		for k, s := range after {
			if bits[i]&(1<<(16+k)) != 0 {
				rg.AfterScenes = append(rg.AfterScenes, s.ID)
			}
		}
	}
	res.Regions = regs
}

// Vectorize sets each region's Geometry (EPSG:4326) from its pixels (PolygonizePixels).
func (r *Result) Vectorize(ctx context.Context) error {
	comps := make([]Component, len(r.Regions))
	for i := range r.Regions {
		comps[i] = r.Regions[i].Component
	}
	geoms, err := PolygonizePixels(ctx, r.Grid, comps, r.pix, r.start)
	if err != nil {
		return fmt.Errorf("vectorize: %w", err)
	}
	for i := range r.Regions {
		r.Regions[i].Geometry = geoms[i]
	}
	return nil
}
