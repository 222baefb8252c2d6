package raster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/airbusgeo/godal"
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
	// DNOffset is subtracted from digital numbers before scaling:
	// reflectance = (DN - DNOffset) * Scale. 1000 from processing baseline 04.00 on.
	DNOffset float64
	Scale    float64 // 0 means 1e-4
}

// sceneReader reads windows of one scene's bands resampled onto an analysis grid. GDAL
// fetches only the source blocks a window touches (range requests for remote COGs).
//
// When a band's grid is aligned with the analysis grid (same CRS, north-up, a pixel size
// that is a whole multiple of the grid's, origins on each other's pixel edges: the usual
// case, since the grid is snapped to the 60 m lattice of Sentinel-2 tiles), the window is
// read with plain RasterIO and 20 m bands are upsampled here, bilinearly for reflectance
// and by nearest neighbour for SCL (aligned.go); this is 3-4x faster than the warper.
// Otherwise (a tile of another UTM zone, a lon/lat file) the band goes through a warped VRT
// that reprojects and resamples the same way.
// A sceneReader's datasets are used by one goroutine per band at a time.
type sceneReader struct {
	scene   Scene
	paths   [len(BandKeys)]string
	src     [len(BandKeys)]*godal.Dataset
	vrt     [len(BandKeys)]*godal.Dataset
	aligned [len(BandKeys)]*alignment
}

func openScene(ctx context.Context, s Scene, g Grid) (*sceneReader, error) {
	r := &sceneReader{scene: s}
	te := g.Bounds()
	for i, key := range BandKeys {
		if err := ctx.Err(); err != nil {
			r.close()
			return nil, err
		}
		href, ok := s.Hrefs[key]
		if !ok {
			if key == "scl" {
				continue
			}
			r.close()
			return nil, fmt.Errorf("scene %s: no %s band", s.ID, key)
		}
		path := GDALPath(href)
		src, err := godal.Open(path, godal.RasterOnly())
		if err != nil {
			r.close()
			return nil, fmt.Errorf("open scene %s band %s: %w", s.ID, key, classify(path, err))
		}
		r.src[i], r.paths[i] = src, path
		if a := align(src, g); a != nil {
			r.aligned[i] = a
			continue
		}
		alg, ot := "bilinear", "UInt16"
		if gt, err := src.GeoTransform(); err == nil && gt[1] == g.Res {
			alg = "near" // same resolution: an exact copy when the grids align
		}
		if key == "scl" {
			alg, ot = "near", "Byte"
		}
		sw := []string{"-of", "VRT", "-t_srs", "EPSG:" + strconv.Itoa(g.EPSG),
			"-te", f(te[0]), f(te[1]), f(te[2]), f(te[3]), "-tr", f(g.Res), f(g.Res),
			"-r", alg, "-ot", ot, "-srcnodata", "0", "-dstnodata", "0", "-wo", "NUM_THREADS=1"}
		vrt, err := src.Warp("", sw)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("warp scene %s band %s onto the analysis grid: %w", s.ID, key, classify(path, err))
		}
		r.vrt[i] = vrt
	}
	return r, nil
}

// ErrCorrupt marks a raster GDAL cannot open or decode (a truncated or damaged file, not a
// network failure): retrying will not help.
var ErrCorrupt = errors.New("corrupt or unreadable raster")

// classify wraps err with ErrCorrupt when it is about the file itself: any failure on a
// local file, or a format or TIFF decoding failure of a remote one that is not an HTTP
// or network error (those may pass on retry).
func classify(path string, err error) error {
	msg := err.Error()
	if !strings.HasPrefix(path, "/vsi") {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	network := strings.Contains(msg, "HTTP") || strings.Contains(msg, "curl") || strings.Contains(msg, "timed out")
	format := strings.Contains(msg, "not recognized as a supported file format") || strings.Contains(msg, "TIFF")
	if format && !network {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// read reads the w x h window at (col,row) of the grid from band i into dst (len w*h).
func (r *sceneReader) read(i, col, row, w, h int, dst any) error {
	var err error
	switch {
	case r.aligned[i] != nil:
		err = r.aligned[i].read(r.src[i].Bands()[0], col, row, w, h, dst, i == iSCL)
	case r.vrt[i] != nil:
		err = r.vrt[i].Bands()[0].Read(col, row, dst, w, h)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("read scene %s band %s rows %d-%d: %w", r.scene.ID, BandKeys[i], row, row+h, classify(r.paths[i], err))
	}
	return nil
}

// scale is the reflectance of one digital number.
func (r *sceneReader) scale() float32 {
	if r.scene.Scale == 0 {
		return 1e-4
	}
	return float32(r.scene.Scale)
}

func (r *sceneReader) hasSCL() bool { return r.src[iSCL] != nil }

func (r *sceneReader) close() {
	for i := range r.vrt {
		if r.vrt[i] != nil {
			r.vrt[i].Close()
			r.vrt[i] = nil
		}
		if r.src[i] != nil {
			r.src[i].Close()
			r.src[i] = nil
		}
	}
}
