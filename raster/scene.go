package raster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/raster/cog"
)

// Band keys (Earth Search v1 asset keys) in the order they are read. The first six are
// surface reflectance, the last the scene classification layer.
var BandKeys = [...]string{"blue", "green", "red", "nir", "swir16", "swir22", "scl"}

const (
	nSpectral = 6
	iSCL      = 6
)

// Scene is one acquisition to read: where each band lies and how to scale it.
type Scene struct {
	ID   string
	Date time.Time
	// Hrefs maps band keys to a local path, s3:// or https:// URL. "scl" may be absent
	// (e.g. L1C data) when masking is off.
	Hrefs map[string]string
	// More holds further tiles of the same acquisition (same platform and day: an AOI
	// across MGRS tiles, possibly in two UTM zones). They are read into the same
	// observation: where tiles overlap the first with data wins, so the overlap is used
	// and not counted twice.
	More []map[string]string
	// DNOffset is subtracted from digital numbers before scaling:
	// reflectance = (DN - DNOffset) * Scale. 1000 from processing baseline 04.00 on.
	DNOffset float64
	Scale    float64 // 0 means 1e-4
	// Items are the hrefs of the STAC items of the acquisition's tiles, as they were
	// read (provenance: the run's item links to them).
	Items []string
}

// sceneReader reads windows of one scene's bands resampled onto an analysis grid. GDAL
// fetches only the source blocks a window touches (range requests for remote COGs).
//
// When a tile's band is aligned with the analysis grid (same CRS, north-up, a pixel size
// that is a whole multiple of the grid's, origins on each other's pixel edges: the usual
// case, since the grid is snapped to the 60 m lattice of Sentinel-2 tiles), the window is
// read without the warper and 20 m bands are upsampled here, bilinearly for reflectance
// and by nearest neighbour for SCL (aligned.go); this is 3-4x faster than the warper. The
// pixels of such a band come from its tiles decoded directly (raster/cog, tilecache.go), each tile once
// per run thanks to a cache of the tile rows the next strip needs; a file of another layout
// (strips, LZW, ...) is read with GDAL's RasterIO.
// Otherwise (a tile of another UTM zone, a lon/lat file) the band goes through a warped VRT
// that reprojects and resamples the same way.
// A sceneReader's datasets are used by one goroutine per band at a time; the goroutine of
// the SCL also marks the masked tiles of the 10 m bands, before their reads (masked.go).
type sceneReader struct {
	scene Scene
	bands [len(BandKeys)][]*bandPart // one part per tile
}

// bandPart is one tile of one band.
type bandPart struct {
	path    string
	src     *godal.Dataset
	vrt     *godal.Dataset // when not aligned
	aligned *alignment
	tiles   *tileCache // when aligned and the file's layout is one cog.Open reads
	u16     []uint16   // scratch for the tiles after the first
	u8      []uint8
}

func openScene(ctx context.Context, s Scene, g Grid) (*sceneReader, error) {
	r := &sceneReader{scene: s}
	for t, hrefs := range append([]map[string]string{s.Hrefs}, s.More...) {
		var grids []bandGrid
		for i, key := range BandKeys {
			if err := ctx.Err(); err != nil {
				r.close()
				return nil, err
			}
			href, ok := hrefs[key]
			if !ok {
				if key == "scl" {
					continue
				}
				r.close()
				return nil, fmt.Errorf("scene %s tile %d: no %s band", s.ID, t+1, key)
			}
			part, err := openHref(ctx, href, key, g)
			if err != nil {
				r.close()
				return nil, fmt.Errorf("scene %s band %s: %w", s.ID, key, err)
			}
			r.bands[i] = append(r.bands[i], part)
			bg, err := describeBand(key, part.src)
			if err != nil {
				r.close()
				return nil, fmt.Errorf("scene %s tile %d: %w", s.ID, t+1, err)
			}
			grids = append(grids, bg)
		}
		if err := checkBands(grids); err != nil {
			r.close()
			return nil, fmt.Errorf("scene %s tile %d: %w", s.ID, t+1, err)
		}
	}
	r.scanZeros(2) // red and NIR: the clear mask's no-data test (nodata.go)
	r.scanZeros(3)
	return r, nil
}

// openHref opens the band at href (see GDALPath) with openPart. A remote open runs on its
// own goroutine so that cancelling ctx returns at once even when the host never answers
// (GDAL ignores ctx; its HTTP timeouts, set by Init, end the abandoned open, which then
// closes what it opened).
func openHref(ctx context.Context, href, key string, g Grid) (*bandPart, error) {
	path, err := GDALPath(href)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(path, "/vsi") {
		return openPart(path, key, g)
	}
	type opened struct {
		part *bandPart
		err  error
	}
	done := make(chan opened, 1)
	go func() {
		p, err := openPart(path, key, g)
		done <- opened{p, err}
	}()
	select {
	case o := <-done:
		return o.part, o.err
	case <-ctx.Done():
		go func() {
			if o := <-done; o.part != nil {
				o.part.close()
			}
		}()
		return nil, fmt.Errorf("open %s: %w", href, ctx.Err())
	}
}

// openPart opens one tile's band on grid g: aligned, or through a warped VRT. Only the
// GTiff driver may open it (rasterDrivers).
func openPart(path, key string, g Grid) (*bandPart, error) {
	src, err := godal.Open(path, godal.RasterOnly(), godal.Drivers(rasterDrivers...))
	if err != nil {
		return nil, fmt.Errorf("open: %w", classify(path, err))
	}
	part := &bandPart{path: path, src: src}
	if part.aligned = align(src, g); part.aligned != nil {
		// The direct tile reader when it handles the file; any failure to open it (an
		// unsupported layout above all) leaves the band to GDAL.
		if img, err := cog.Open(path); err == nil {
			if img.Width == part.aligned.sw && img.Height == part.aligned.sh {
				part.tiles = newTileCache(img)
			} else {
				img.Close()
			}
		}
		return part, nil
	}
	alg, ot := "bilinear", "UInt16"
	if gt, err := src.GeoTransform(); err == nil && gt[1] == g.Res {
		alg = "near" // same resolution: an exact copy when the grids align
	}
	if key == "scl" {
		alg, ot = "near", "Byte"
	}
	te := g.Bounds()
	sw := []string{"-of", "VRT", "-t_srs", "EPSG:" + strconv.Itoa(g.EPSG),
		"-te", f(te[0]), f(te[1]), f(te[2]), f(te[3]), "-tr", f(g.Res), f(g.Res),
		"-r", alg, "-ot", ot, "-srcnodata", "0", "-dstnodata", "0", "-wo", "NUM_THREADS=1"}
	vrt, err := src.Warp("", sw)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("warp onto the analysis grid: %w", classify(path, err))
	}
	part.vrt = vrt
	return part, nil
}

func (p *bandPart) read(col, row, w, h int, dst any, nearest bool) error {
	if p.aligned != nil {
		if p.tiles != nil && p.tiles.img.Fits(dst) {
			return p.aligned.readTiles(p.tiles, col, row, w, h, dst, nearest)
		}
		return p.aligned.read(p.src.Bands()[0], col, row, w, h, dst, nearest)
	}
	return p.vrt.Bands()[0].Read(col, row, dst, w, h)
}

func (p *bandPart) close() {
	if p.tiles != nil {
		p.tiles.close()
	}
	if p.vrt != nil {
		p.vrt.Close()
	}
	p.src.Close()
}

// ErrCorrupt marks a raster GDAL or the tile reader cannot open or decode (a truncated or
// damaged file, not a network failure): retrying will not help. It is cog.ErrCorrupt.
var ErrCorrupt = cog.ErrCorrupt

// classify wraps err with ErrCorrupt when it is about the file itself: any failure on a
// local file; of a remote one, a decoding failure (the bytes arrived and are wrong), or a
// format or TIFF failure that is not an HTTP or network error when the file, opened
// again, has a header that does not parse or tiles past its end. A remote format failure
// on a file whose header and tiles check out came from a transfer cut short (GDAL reports
// a body that ended early as libtiff's "Read error ... got N bytes, expected M"): it may
// pass on retry, like HTTP and network errors.
func classify(path string, err error) error {
	forgetRemote(path)
	msg := err.Error()
	if !strings.HasPrefix(path, "/vsi") {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	network := strings.Contains(msg, "HTTP") || strings.Contains(msg, "curl") || strings.Contains(msg, "timed out")
	format := strings.Contains(msg, "not recognized as a supported file format") || strings.Contains(msg, "TIFF")
	if !format || network {
		return err
	}
	decoding := strings.Contains(msg, "Decod") || strings.Contains(msg, "inflate")
	if !decoding {
		if cerr := cog.CheckTiles(path); !errors.Is(cerr, ErrCorrupt) {
			return fmt.Errorf("%w (the file's header and tiles check out: a transfer cut short?)", err)
		}
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// read reads the w x h window at (col,row) of the grid from band i into dst (len w*h): the
// first tile, then each further tile where the window has no data yet.
func (r *sceneReader) read(i, col, row, w, h int, dst any) error {
	for t, part := range r.bands[i] {
		var err error
		if t == 0 {
			err = part.read(col, row, w, h, dst, i == iSCL)
		} else {
			err = part.fill(col, row, w, h, dst, i == iSCL)
		}
		if err != nil {
			return fmt.Errorf("read scene %s band %s rows %d-%d: %w", r.scene.ID, BandKeys[i], row, row+h, classify(part.path, err))
		}
	}
	return nil
}

// readSource fills lb with band i's source pixels under the grid window at (col,row) and
// their bilinear taps, for interpolation on demand, and reports true; or reports false
// when the band is not a single 20 m tile read directly (then read it with read).
func (r *sceneReader) readSource(i, col, row, w, h int, lb *lazyBand) (bool, error) {
	if len(r.bands[i]) != 1 {
		return false, nil
	}
	p := r.bands[i][0]
	if p.aligned == nil || p.aligned.k != 2 || p.tiles == nil || !p.tiles.img.Fits([]uint16(nil)) {
		return false, nil
	}
	if err := p.aligned.readSource(p.tiles, col, row, w, h, lb); err != nil {
		return true, fmt.Errorf("read scene %s band %s rows %d-%d: %w", r.scene.ID, BandKeys[i], row, row+h, classify(p.path, err))
	}
	return true, nil
}

// fill reads the window into scratch and copies it where dst is 0 (nodata).
func (p *bandPart) fill(col, row, w, h int, dst any, nearest bool) error {
	switch d := dst.(type) {
	case []uint16:
		buf := grow(&p.u16, w*h)
		if err := p.read(col, row, w, h, buf, nearest); err != nil {
			return err
		}
		fillZeros(d[:w*h], buf)
	case []uint8:
		buf := grow(&p.u8, w*h)
		if err := p.read(col, row, w, h, buf, nearest); err != nil {
			return err
		}
		fillZeros(d[:w*h], buf)
	default:
		return fmt.Errorf("unsupported buffer %T", dst)
	}
	return nil
}

func fillZeros[T uint8 | uint16](dst, src []T) {
	for i, v := range dst {
		if v == 0 {
			dst[i] = src[i]
		}
	}
}

// scale is the reflectance of one digital number.
func (r *sceneReader) scale() float32 { return r.scene.scale() }

// scale is the reflectance of one digital number of s.
func (s Scene) scale() float32 {
	if s.Scale == 0 {
		return 1e-4
	}
	return float32(s.Scale)
}

func (r *sceneReader) hasSCL() bool { return len(r.bands[iSCL]) > 0 }

func (r *sceneReader) close() {
	for i := range r.bands {
		for _, p := range r.bands[i] {
			p.close()
		}
		r.bands[i] = nil
	}
}
