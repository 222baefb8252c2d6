package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/raster/cog"
)

// rasterLayer is one output raster of a run.
type rasterLayer struct {
	file   string
	sample any
	opts   cog.Options
}

// pixelSamples is the number of samples of one pixel of the layer (3 for true colour).
func (l rasterLayer) pixelSamples() int {
	if l.opts.RGB {
		return 3
	}
	return 1
}

// lossless is the options of a chunk's copy of the layer, which the merge reads back
// and encodes again: a JPEG layer's pixels kept exact (DEFLATE, nodata 0) until then.
func (l rasterLayer) lossless() cog.Options {
	o := l.opts
	o.JPEGQuality = 0
	return o
}

// rgbJPEGQuality is the JPEG quality of the true-colour composites: libjpeg's scale,
// GDAL's COG driver defaults to 75. At 85 a synthetic composite's pixels come back within
// 1.4 levels on average (99 % within 5); a real scene's 10 m texture (the OSCD Aguas
// Claras window, peri-urban) within 4.2 (99 % within 16), against 4.8 at quality 75 and
// 3.0 at 95: most of it is the 2x2 chroma subsampling, at single-pixel colour detail. A
// full tile's pair of composites takes 1.6 instead of 6.2 CPU-s to encode (the JPEG 0.9
// of it, the mask and the filler under it the rest), in 44 instead of 437 MB.
const rgbJPEGQuality = 85

// rasterLayers are the per-pixel outputs, in the order of raster.Rows' fields.
// The class and clear layers are long runs: DEFLATE level 2, faster than 1 with libdeflate
// (see cog.Options.Level). The true-colour composites (BeforeRGB, AfterRGB) are 3-band
// Byte COGs for the map and the reports, JPEG with an internal mask of the pixels without
// a clear observation (0 in the rows), their overviews averaged.
var rasterLayers = []rasterLayer{
	// Deferred: finish clears the pixels of the regions under the minimum mapping unit.
	// With the classes' colour table and names (a palette image and its .aux.xml sidecar).
	{"change_class.tif", []uint8(nil), cog.Options{NoData: float64(raster.ClassNotObserved), Resampling: "NEAREST", Deferred: true, Level: 2,
		Description: "change class", Unit: "class", Classes: raster.ClassLegend()}},
	{"dndvi.tif", []int16(nil), cog.Options{NoData: float64(raster.DNDVINoData), Resampling: "AVERAGE", Scale: raster.DNDVIScale, NoPredictor: true,
		Description: "NDVI after minus NDVI before", Unit: "1"}},
	{"clear_before.tif", []uint8(nil), cog.Options{NoData: 255, Resampling: "NEAREST", Level: 2,
		Description: "clear observations, before period", Unit: "count"}},
	{"clear_after.tif", []uint8(nil), cog.Options{NoData: 255, Resampling: "NEAREST", Level: 2,
		Description: "clear observations, after period", Unit: "count"}},
	{"before_rgb.tif", []uint8(nil), cog.Options{RGB: true, NoData: 0, Resampling: "AVERAGE", JPEGQuality: rgbJPEGQuality,
		Description: "before composite, true colour (reflectance 0-0.25 stretched to 1-255)", Unit: "1"}},
	{"after_rgb.tif", []uint8(nil), cog.Options{RGB: true, NoData: 0, Resampling: "AVERAGE", JPEGQuality: rgbJPEGQuality,
		Description: "after composite, true colour (reflectance 0-0.25 stretched to 1-255)", Unit: "1"}},
}

// cogSink streams Detect's rows into the output COGs as they come (DetectParams.Rows),
// so a run holds no raster of the whole grid; all but the change classes are encoded
// while Detect runs, and finish completes them once the regions under the minimum
// mapping unit are known.
type cogSink struct {
	dir    string
	g      raster.Grid
	w      []*cog.Writer  // one per rasterLayers entry
	wg     sync.WaitGroup // the COGs being finished
	errs   []error
	cancel context.CancelFunc // stops them when the run fails
	// hashed holds each finished file's manifest entry when start was asked to hash them.
	mu     sync.Mutex
	hashed map[string]ManifestEntry
}

// newCOGSink starts the output rasters of grid g in a new folder of workDir; a chunk's
// (chunk) are lossless, for the merge to encode them once (rasterLayer.lossless).
func newCOGSink(workDir string, g raster.Grid, chunk bool) (*cogSink, error) {
	dir, err := os.MkdirTemp(workDir, "changewatch-rasters-")
	if err != nil {
		return nil, fmt.Errorf("raster folder: %w", err)
	}
	s := &cogSink{dir: dir, g: g}
	for _, l := range rasterLayers {
		o := l.opts
		if chunk {
			o = l.lossless()
		}
		w, err := cog.NewWriter(filepath.Join(dir, l.file), cog.Grid(g), l.sample, o)
		if err != nil {
			s.discard()
			return nil, err
		}
		s.w = append(s.w, w)
	}
	return s, nil
}

// buffers is a raster.DetectParams.RowBuffers function: the next h rows of each COG, in
// its writer's memory (cog.Writer.NextRows).
func (s *cogSink) buffers(h int) (raster.Rows, error) {
	var b [6]any
	for i, w := range s.w {
		var err error
		if b[i], err = w.NextRows(h); err != nil {
			return raster.Rows{}, fmt.Errorf("%s: %w", rasterLayers[i].file, err)
		}
	}
	return raster.Rows{Height: h, Class: b[0].([]uint8), DNDVI: b[1].([]int16), ClearBefore: b[2].([]uint8),
		ClearAfter: b[3].([]uint8), BeforeRGB: b[4].([]uint8), AfterRGB: b[5].([]uint8)}, nil
}

// rows is a raster.DetectParams.Rows function: it appends the rows buffers lent.
func (s *cogSink) rows(r raster.Rows) error {
	for i, w := range s.w {
		if err := w.CommitRows(r.Height); err != nil {
			return fmt.Errorf("%s: %w", rasterLayers[i].file, err)
		}
	}
	return nil
}

// start begins completing the COGs in the background (in the sink's folder), with the
// dropped pixels (row-major, ascending) cleared in the change classes; moveTo waits for
// them. The layers are finished side by side, while the caller traces polygons: each
// one's serial parts (the last block rows, assembling the file) fill the others' gaps.
// With hash, each file is hashed for the manifest as soon as it is complete.
func (s *cogSink) start(ctx context.Context, dropped []uint32, hash bool) {
	ctx, s.cancel = context.WithCancel(ctx)
	w := s.g.Width
	clearDropped := func(row0 int, rows any) {
		class := rows.([]uint8)
		lo, hi := uint32(row0*w), uint32(row0*w+len(class))
		i := sort.Search(len(dropped), func(i int) bool { return dropped[i] >= lo })
		for ; i < len(dropped) && dropped[i] < hi; i++ {
			class[dropped[i]-lo] = raster.ClassNone
		}
	}
	s.errs = make([]error, len(s.w))
	if hash {
		s.hashed = map[string]ManifestEntry{}
	}
	for i, cw := range s.w {
		var fix func(int, any)
		if i == 0 {
			fix = clearDropped
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := cw.Finish(ctx, fix); err != nil {
				s.errs[i] = fmt.Errorf("write %s: %w", rasterLayers[i].file, err)
				return
			}
			if hash {
				s.errs[i] = s.hash(rasterLayers[i])
			}
		}()
	}
}

// hash adds the manifest entries of layer l's file and sidecar to s.hashed.
func (s *cogSink) hash(l rasterLayer) error {
	names := []string{l.file}
	if len(l.opts.Classes) > 0 {
		names = append(names, l.file+cog.AuxSuffix)
	}
	for _, name := range names {
		e, err := hashFile(s.dir, name)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.hashed[name] = e
		s.mu.Unlock()
	}
	return nil
}

// moveTo waits for the COGs start began and moves them into dir. It returns the files'
// manifest entries when start hashed them.
func (s *cogSink) moveTo(dir string) ([]ManifestEntry, error) {
	s.wg.Wait()
	s.cancel()
	if err := errors.Join(s.errs...); err != nil {
		return nil, err
	}
	var entries []ManifestEntry
	for _, name := range s.files() {
		if err := os.Rename(filepath.Join(s.dir, name), filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		if e, ok := s.hashed[name]; ok {
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// files are the names of the sink's rasters and of their sidecars.
func (s *cogSink) files() []string {
	return rasterFiles()
}

// rasterFiles are the names of a run's rasters, each followed by its PAM sidecar when it
// has classes (cog.Options.Classes).
func rasterFiles() []string {
	names := make([]string, 0, len(rasterLayers)+1)
	for _, l := range rasterLayers {
		names = append(names, l.file)
		if len(l.opts.Classes) > 0 {
			names = append(names, l.file+cog.AuxSuffix)
		}
	}
	return names
}

// finish completes the COGs and moves them into dir.
func (s *cogSink) finish(ctx context.Context, dir string, dropped []uint32) error {
	s.start(ctx, dropped, false)
	_, err := s.moveTo(dir)
	return err
}

// discard removes everything the sink wrote.
func (s *cogSink) discard() {
	if s.cancel != nil {
		s.cancel() // a run that failed after start: stop finishing its COGs
	}
	s.wg.Wait()
	for _, w := range s.w {
		w.Discard()
	}
	os.RemoveAll(s.dir)
}
