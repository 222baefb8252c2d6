package cog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/airbusgeo/godal"
)

// The COG writer streams a band into a Cloud Optimized GeoTIFF without GDAL's COG driver.
// The full resolution is encoded one row of 512x512 tiles at a time (predictor, DEFLATE
// through libdeflate on every core; or, for true colour, JPEG through libjpeg-turbo with
// an internal mask) by a background goroutine, which downsamples each row
// of tiles into the next overview level as it goes, so every level streams and memory
// holds a few rows of tiles whatever the grid size. The rows of tiles come from WriteRows
// as soon as each is complete, so the encoding overlaps the caller's work; a writer whose
// rows need a fix-up first (Options.Deferred) keeps them in a raw temporary file, and
// Finish reads them back and feeds the same encoder. Finish then assembles the file in
// the layout of GDAL's COG driver (GDAL documentation, "COG -- Cloud Optimized GeoTIFF
// generator", and its "Header ghost area" section): header, GDAL's structural metadata,
// every IFD (full resolution first, overviews by decreasing size), then the tiles of the
// smallest overview first and the full resolution last, each tile preceded by its size and
// followed by its last 4 bytes, as GDAL writes them. GDAL recognises it (gdalinfo reports
// LAYOUT=COG) and validate_cloud_optimized_geotiff.py accepts it.

// Options describe the band of a COG.
type Options struct {
	NoData float64 // written as the GDAL_NODATA tag (NaN allowed for float32)
	// Resampling of the overviews: "NEAREST" (the default), "AVERAGE" (ignores nodata
	// pixels; all nodata gives nodata) or "MODE" (the most frequent valid value of each
	// 2x2 window, the first one in row order on a tie).
	Resampling string
	// Scale and Offset, when Scale != 0, are written in the GDAL_METADATA tag so that
	// GDAL's GetScale/GetOffset report them (value = raw*Scale+Offset).
	Scale, Offset float64
	// Deferred: the caller will pass a fix-up to Finish, so the rows are kept raw (in
	// path+".raw") until then. Otherwise each block row of 512 rows is encoded in the
	// background as soon as WriteRows completes it, and Finish takes no fix-up.
	Deferred bool
	// NoPredictor stores the samples as they are, without the type's TIFF predictor: for
	// noise-like values (dNDVI over stable ground), which differencing makes no more
	// compressible, deflate is faster and the file smaller without it.
	NoPredictor bool
	// Level is the DEFLATE level, 1-9 (zlib's range; libdeflate's goes on to 12); 0 means
	// 1, the fastest on noise-like samples (dNDVI: 320 against 160 MB/s at level 2, with
	// libdeflate, which Debian's GDAL uses). Byte samples without a predictor (classes,
	// counts) are run-length coded instead (rleDeflate: 6x libdeflate's fastest level on
	// our change and clear layers, files about 1.5x larger, still 30-50x smaller
	// than the samples); Level applies to the rare tile with too few runs for that.
	Level int
	// Description and Unit of the band, written in the GDAL_METADATA tag (GDAL's
	// GetDescription and GetUnitType).
	Description, Unit string
	// Classes of a uint8 band: its colour table (a palette image with a TIFF ColorMap)
	// and category names, which GDAL reads only from a PAM sidecar: Finish writes
	// path+AuxSuffix beside the COG (see bandinfo.go).
	Classes []Class
	// RGB: each pixel has three samples, red, green and blue, pixel-interleaved
	// (PlanarConfiguration 1, Photometric RGB: TIFF 6.0 section 6), for a true-colour
	// composite; the sample type must be uint8. Rows handed to WriteRows then hold 3*Width
	// bytes. NoData applies to each band (GDAL reads one nodata value for all of them),
	// and the overviews are resampled band by band. The horizontal predictor differences
	// each sample with the same band of the pixel to its left (TIFF 6.0 section 14).
	RGB bool
	// JPEGQuality, with RGB, compresses the tiles as JPEG at this quality (1-100,
	// libjpeg's scale; 0 is DEFLATE) instead of DEFLATE, as GDAL's COG driver writes
	// visual imagery (COMPRESS=JPEG): each tile a baseline JPEG stream in YCbCr with the
	// chroma subsampled 2x2 (TIFF Technical Note 2; Photometric YCbCr, YCbCrSubSampling
	// 2,2), about ten times smaller than DEFLATE and seven times faster to encode. A lossy
	// tile cannot keep a nodata value, so the pixels whose three samples are NoData go
	// into an internal mask instead (GDAL's GDAL_TIFF_INTERNAL_MASK layout: a 1-bit
	// DEFLATE subfile per level, NewSubfileType 4, or 5 for an overview's, each mask tile
	// right after its image tile), and the file has no GDAL_NODATA tag: GDAL reports the
	// mask as the bands' per-dataset mask band.
	JPEGQuality int
}

// Writer writes one band of a grid as a COG, row by row. Create it with NewWriter,
// append every row with WriteRows, then call Finish; Discard removes the temporaries of a
// writer that is abandoned (and is harmless after Finish). A Writer is used by one
// goroutine at a time.
type Writer struct {
	path       string
	g          Grid
	o          Options
	typ        cogType
	spp        int // samples per pixel: 3 for Options.RGB, else 1
	resampling string
	geographic bool
	forceBig   bool // write a BigTIFF whatever the size (tests)

	src       cogRowSource // where Finish reads the full-resolution rows; nil when they stream
	raw       *os.File     // Deferred: the rows appended by WriteRows, which src reads back
	enc       *cogEncoder  // the background encoder, from NewWriter (streaming) or Finish
	block     []byte       // streaming: the block row being filled, fill bytes of it so far
	fill      int
	rows      int    // rows appended by WriteRows so far
	lent      []byte // the rows NextRows lent, until CommitRows
	lentBlock bool   // lent is part of block (else of scratch)
	scratch   []byte
	finished  bool
	discarded bool
}

// cogRowSource gives Finish the full-resolution rows: readRows fills dst with rows
// row0..row0+n-1, little-endian samples.
type cogRowSource interface {
	readRows(row0, n int, dst []byte) error
}

// NewWriter starts a COG of grid g at path. sample gives the sample type only: a
// []uint8, []uint16, []int16, []int32 or []float32. Unless o.Deferred, the encoder starts
// at once; with it, the rows are kept in path+".raw" until Finish. The COG itself appears
// at path only when Finish succeeds.
func NewWriter(path string, g Grid, sample any, o Options) (*Writer, error) {
	w, err := newCOGWriter(path, g, cogTypeOf(sample), o)
	if err != nil {
		return nil, err
	}
	if o.Deferred {
		f, err := os.Create(w.rawPath())
		if err != nil {
			return nil, fmt.Errorf("cog %s: %w", path, err)
		}
		w.raw = f
		w.src = cogFileRows{f: f, rowBytes: int64(w.rowBytes())}
		return w, nil
	}
	if err := w.startEncoder(); err != nil {
		w.Discard()
		return nil, fmt.Errorf("cog %s: %w", path, err)
	}
	return w, nil
}

// newCOGWriter checks the grid, type, options and SRS of a COG and returns a writer
// without a row source.
func newCOGWriter(path string, g Grid, typ cogType, o Options) (*Writer, error) {
	if !cogLittleEndian {
		return nil, fmt.Errorf("cog %s: big-endian hosts are not supported", path)
	}
	if g.Width <= 0 || g.Height <= 0 {
		return nil, fmt.Errorf("cog %s: empty grid %dx%d", path, g.Width, g.Height)
	}
	if typ == 0 {
		return nil, fmt.Errorf("cog %s: unsupported sample type", path)
	}
	spp := 1
	if o.RGB {
		if typ != cogUint8 {
			return nil, fmt.Errorf("cog %s: rgb samples of type %s, want uint8", path, typ)
		}
		spp = 3
	}
	if err := typ.checkNoData(o.NoData); err != nil {
		return nil, fmt.Errorf("cog %s: %w", path, err)
	}
	if err := checkClasses(typ, o.Classes); err != nil {
		return nil, fmt.Errorf("cog %s: %w", path, err)
	}
	if o.RGB && len(o.Classes) > 0 {
		return nil, fmt.Errorf("cog %s: classes: a colour table needs a single band, not rgb", path)
	}
	if o.JPEGQuality < 0 || o.JPEGQuality > 100 {
		return nil, fmt.Errorf("cog %s: jpeg quality %d: want 0 (deflate) to 100", path, o.JPEGQuality)
	}
	if o.JPEGQuality > 0 && !o.RGB {
		return nil, fmt.Errorf("cog %s: jpeg compression needs rgb samples", path)
	}
	if o.Level < 0 || o.Level > 9 {
		return nil, fmt.Errorf("cog %s: deflate level %d: want 0 (default) to 9", path, o.Level)
	}
	res := strings.ToUpper(o.Resampling)
	switch res {
	case "":
		res = "NEAREST"
	case "NEAREST", "AVERAGE", "MODE":
	default:
		return nil, fmt.Errorf("cog %s: unsupported overview resampling %q (NEAREST, AVERAGE or MODE)", path, o.Resampling)
	}
	if g.EPSG <= 0 || g.EPSG > math.MaxUint16 {
		return nil, fmt.Errorf("cog %s: epsg:%d does not fit a GeoTIFF key", path, g.EPSG)
	}
	sr, err := godal.NewSpatialRefFromEPSG(g.EPSG)
	if err != nil {
		return nil, fmt.Errorf("cog %s: spatial reference epsg:%d: %w", path, g.EPSG, err)
	}
	geographic := sr.Geographic()
	sr.Close()
	return &Writer{path: path, g: g, o: o, typ: typ, spp: spp, resampling: res, geographic: geographic}, nil
}

// rowBytes is the size of one full-resolution row.
func (w *Writer) rowBytes() int { return w.g.Width * w.spp * w.typ.size() }

// WriteRows appends whole rows (len(data) a multiple of the grid width, times 3 for an
// RGB writer), top to bottom.
// data has the writer's sample type; it is copied, and may be reused once WriteRows
// returns. A streaming writer hands each complete block row to its encoder, waiting only
// when cogBlockBuffers block rows are already in use; an error of the encoder is returned
// by the next WriteRows (and by Finish).
func (w *Writer) WriteRows(data any) error {
	if w.finished || w.discarded {
		return fmt.Errorf("cog %s: write after finish or discard", w.path)
	}
	if w.lent != nil {
		return fmt.Errorf("cog %s: rows lent and not committed", w.path)
	}
	if w.enc != nil {
		if err := w.enc.failed(); err != nil {
			return fmt.Errorf("cog %s: %w", w.path, err)
		}
	}
	if t := cogTypeOf(data); t != w.typ {
		return fmt.Errorf("cog %s: rows of type %T, want %s", w.path, data, w.typ)
	}
	b := cogBytes(data)
	rowBytes := w.rowBytes()
	if len(b)%rowBytes != 0 {
		return fmt.Errorf("cog %s: %d values is not a whole number of %d-pixel rows of %d samples", w.path, len(b)/w.typ.size(), w.g.Width, w.spp)
	}
	if w.rows+len(b)/rowBytes > w.g.Height {
		return fmt.Errorf("cog %s: %d rows past the %d of the grid", w.path, w.rows+len(b)/rowBytes, w.g.Height)
	}
	if w.raw != nil {
		if _, err := w.raw.Write(b); err != nil {
			return fmt.Errorf("cog %s: %w", w.path, err)
		}
		w.rows += len(b) / rowBytes
		return nil
	}
	for len(b) > 0 {
		w.openBlock()
		k := copy(w.block[w.fill:], b)
		b = b[k:]
		w.filled(k)
	}
	return nil
}

// openBlock starts the next block row of a streaming writer, unless one is being filled.
func (w *Writer) openBlock() {
	if w.block == nil {
		w.block = w.enc.buffer()[:min(cogBlockSize, w.g.Height-w.rows)*w.rowBytes()]
		w.fill = 0
	}
}

// filled counts k more bytes (whole rows) of the block row, and hands it to the encoder
// once complete.
func (w *Writer) filled(k int) {
	w.fill += k
	w.rows += k / w.rowBytes()
	if w.fill == len(w.block) {
		w.enc.push(w.block)
		w.block = nil
	}
}

// NextRows returns a buffer for the next n rows (a slice of the writer's sample type, n
// rows of samples) for the caller to fill and append with CommitRows(n); WriteRows may
// not be called in between. A streaming writer lends the block row being filled when the
// n rows fit in it, so they are not copied.
func (w *Writer) NextRows(n int) (any, error) {
	if w.finished || w.discarded {
		return nil, fmt.Errorf("cog %s: write after finish or discard", w.path)
	}
	if w.lent != nil {
		return nil, fmt.Errorf("cog %s: rows lent and not committed", w.path)
	}
	if n <= 0 || w.rows+n > w.g.Height {
		return nil, fmt.Errorf("cog %s: %d rows past the %d of the grid", w.path, w.rows+n, w.g.Height)
	}
	if w.enc != nil {
		if err := w.enc.failed(); err != nil {
			return nil, fmt.Errorf("cog %s: %w", w.path, err)
		}
	}
	size := n * w.rowBytes()
	if w.raw == nil {
		w.openBlock()
		if w.fill+size <= len(w.block) {
			w.lent, w.lentBlock = w.block[w.fill:w.fill+size], true
			return w.typ.slice(w.lent), nil
		}
	}
	if cap(w.scratch) < size {
		w.scratch = make([]byte, size)
	}
	w.lent, w.lentBlock = w.scratch[:size], false
	return w.typ.slice(w.lent), nil
}

// CommitRows appends the n rows NextRows lent.
func (w *Writer) CommitRows(n int) error {
	lent := w.lent
	if lent == nil || len(lent) != n*w.rowBytes() {
		return fmt.Errorf("cog %s: commit of %d rows that were not lent", w.path, n)
	}
	w.lent = nil
	if !w.lentBlock {
		return w.WriteRows(w.typ.slice(lent))
	}
	w.filled(len(lent))
	return nil
}

// Finish completes the encoding and writes the COG at path (through path+".tmp", renamed
// when complete: on any error nothing is left at path). fix, only for a Deferred writer,
// is called when not nil with each block of at most 512 full-resolution rows (row0 its
// first row, rows a slice of the writer's type) before it is encoded and downsampled, and
// may modify it. ctx is checked between blocks and while waiting for the encoder; a
// cancelled ctx returns ctx.Err(). Every temporary is removed.
func (w *Writer) Finish(ctx context.Context, fix func(row0 int, rows any)) error {
	if w.finished {
		return fmt.Errorf("cog %s: finish called twice", w.path)
	}
	if w.discarded {
		return fmt.Errorf("cog %s: finish after discard", w.path)
	}
	w.finished = true
	defer w.Discard()
	if err := w.finish(ctx, fix); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return ctxErr
		}
		return fmt.Errorf("cog %s: %w", w.path, err)
	}
	return nil
}

// finish feeds the encoder the rows of src, if any, waits for it and assembles the COG.
func (w *Writer) finish(ctx context.Context, fix func(int, any)) error {
	streaming := w.src == nil
	if streaming && fix != nil {
		return errors.New("a fix-up needs a writer with Options.Deferred")
	}
	if w.enc != nil {
		if err := w.enc.failed(); err != nil {
			return err // the likely cause of missing rows
		}
	}
	if (streaming || w.raw != nil) && w.rows != w.g.Height {
		return fmt.Errorf("%d of %d rows written", w.rows, w.g.Height)
	}
	if !streaming {
		if err := w.startEncoder(); err != nil {
			return err
		}
		if err := w.feed(ctx, fix); err != nil {
			return err
		}
	}
	levels, err := w.enc.finish(ctx)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.assemble(levels)
}

// feed reads the block rows from src, applies fix and hands them to the encoder.
func (w *Writer) feed(ctx context.Context, fix func(int, any)) error {
	rowBytes := w.rowBytes()
	for row0 := 0; row0 < w.g.Height; row0 += cogBlockSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.enc.failed(); err != nil {
			return err
		}
		n := min(cogBlockSize, w.g.Height-row0)
		b := w.enc.buffer()[:n*rowBytes]
		if err := w.src.readRows(row0, n, b); err != nil {
			return err
		}
		if fix != nil {
			fix(row0, w.enc.e.typed(b))
		}
		w.enc.push(b)
	}
	return nil
}

// Discard stops the encoder and removes every temporary file of the writer (never path
// itself). It is safe to call more than once, and after Finish.
func (w *Writer) Discard() {
	w.discarded = true
	if w.enc != nil {
		w.enc.abort()
		w.enc = nil
	}
	w.block = nil
	if w.raw != nil {
		w.raw.Close()
		w.raw = nil
	}
	os.Remove(w.rawPath())
	os.Remove(w.tmpPath())
	for l := range cogLevelSizes(w.g.Width, w.g.Height) {
		os.Remove(w.levelPath(l))
	}
}

func (w *Writer) rawPath() string        { return w.path + ".raw" }
func (w *Writer) tmpPath() string        { return w.path + ".tmp" }
func (w *Writer) levelPath(l int) string { return w.path + ".level" + strconv.Itoa(l) }

// cogFileRows reads rows from the raw file WriteRows filled.
type cogFileRows struct {
	f        *os.File
	rowBytes int64
}

func (s cogFileRows) readRows(row0, n int, dst []byte) error {
	if _, err := s.f.ReadAt(dst[:int64(n)*s.rowBytes], int64(row0)*s.rowBytes); err != nil {
		return fmt.Errorf("read rows %d..%d: %w", row0, row0+n-1, err)
	}
	return nil
}

// cogMemRows reads rows from a slice in memory (WriteCOG).
type cogMemRows struct {
	b        []byte
	rowBytes int
}

func (s cogMemRows) readRows(row0, n int, dst []byte) error {
	copy(dst[:n*s.rowBytes], s.b[row0*s.rowBytes:])
	return nil
}

// cogLevelSizes returns the sizes of the full resolution and of the overviews, as GDAL's
// COG driver makes them: while the width or the height is larger than one block, halve
// both, rounding down but not below 1. (Measured with GDAL 3.6's gdal_translate -of COG:
// 1100x1030 gets 550x515 and 275x257, 513x700 gets 256x350, 1025x1025 gets 512x512.)
func cogLevelSizes(w, h int) [][2]int {
	sizes := [][2]int{{w, h}}
	for w > cogBlockSize || h > cogBlockSize {
		w, h = max(1, w/2), max(1, h/2)
		sizes = append(sizes, [2]int{w, h})
	}
	return sizes
}

// cogType is the sample type of a COG.
type cogType uint8

const (
	cogUint8 cogType = iota + 1
	cogUint16
	cogInt16
	cogInt32
	cogFloat32
)

// cogTypeOf returns the type of a []uint8, []uint16, []int16, []int32 or []float32, or 0.
func cogTypeOf(v any) cogType {
	switch v.(type) {
	case []uint8:
		return cogUint8
	case []uint16:
		return cogUint16
	case []int16:
		return cogInt16
	case []int32:
		return cogInt32
	case []float32:
		return cogFloat32
	}
	return 0
}

func (t cogType) String() string {
	return [...]string{"invalid", "uint8", "uint16", "int16", "int32", "float32"}[t]
}

func (t cogType) size() int { return [...]int{0, 1, 2, 2, 4, 4}[t] }

// slice is b, the memory of samples of type t, as a slice of that type.
func (t cogType) slice(b []byte) any {
	switch t {
	case cogUint8:
		return b
	case cogUint16:
		return cogBytesAs[uint16](b)
	case cogInt16:
		return cogBytesAs[int16](b)
	case cogInt32:
		return cogBytesAs[int32](b)
	case cogFloat32:
		return cogBytesAs[float32](b)
	}
	return nil
}

// sampleFormat is the TIFF SampleFormat of t (TIFF 6.0 section 19).
func (t cogType) sampleFormat() uint16 {
	switch t {
	case cogInt16, cogInt32:
		return sampleFormatInt
	case cogFloat32:
		return sampleFormatFloat
	}
	return sampleFormatUint
}

// predictor is the TIFF predictor used for t: 2, horizontal differencing (TIFF 6.0
// section 14), for 16 and 32-bit integers; 3, floating point (Adobe Photoshop TIFF
// Technical Note 3), for float32; none for bytes, which hold classes and counts in long
// runs that deflate packs as well without (GDAL's default too): the differencing cost
// 0.6 CPU-s on the three Byte layers of a full tile, for files 10 % smaller.
func (t cogType) predictor() uint16 {
	switch t {
	case cogFloat32:
		return predictorFloat
	case cogUint8:
		return predictorNone
	}
	return predictorHorizontal
}

// predictor is the TIFF predictor of w's DEFLATE samples. True colour is imagery, not
// runs: it gets the horizontal predictor (as GDAL's PREDICTOR=YES gave it before this
// writer).
func (w *Writer) predictor() uint16 {
	if w.o.NoPredictor {
		return predictorNone
	}
	if w.o.RGB {
		return predictorHorizontal
	}
	return w.typ.predictor()
}

// checkNoData tells whether nd is a value of type t (any float for float32).
func (t cogType) checkNoData(nd float64) error {
	var lo, hi float64
	switch t {
	case cogFloat32:
		return nil
	case cogUint8:
		lo, hi = 0, math.MaxUint8
	case cogUint16:
		lo, hi = 0, math.MaxUint16
	case cogInt16:
		lo, hi = math.MinInt16, math.MaxInt16
	case cogInt32:
		lo, hi = math.MinInt32, math.MaxInt32
	}
	if nd != math.Trunc(nd) || nd < lo || nd > hi {
		return fmt.Errorf("nodata %v is not a %s value", nd, t)
	}
	return nil
}

// noDataBytes is nd as one little-endian sample of type t.
func (t cogType) noDataBytes(nd float64) []byte {
	b := make([]byte, 4)
	switch t {
	case cogUint8:
		b[0] = uint8(nd)
	case cogUint16:
		binary.LittleEndian.PutUint16(b, uint16(nd))
	case cogInt16:
		binary.LittleEndian.PutUint16(b, uint16(int16(nd)))
	case cogInt32:
		binary.LittleEndian.PutUint32(b, uint32(int32(nd)))
	case cogFloat32:
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(nd)))
	}
	return b[:t.size()]
}

// masked tells whether w writes JPEG tiles with an internal mask (Options.JPEGQuality).
func (w *Writer) masked() bool { return w.o.JPEGQuality > 0 }

// cogLittleEndian: samples are handed to the encoder and to the raw files in memory
// order, which must be the file's (little-endian, "II").
var cogLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// cogSample is the set of sample types of a COG.
type cogSample interface {
	uint8 | uint16 | int16 | int32 | float32
}

// cogSliceBytes is the memory of s as bytes.
func cogSliceBytes[T cogSample](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
}

// cogBytesAs is b, the memory of a []T (cogSliceBytes), as that []T.
func cogBytesAs[T cogSample](b []byte) []T {
	if len(b) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
}

// cogBytes is the memory of a slice of a cogType as bytes.
func cogBytes(v any) []byte {
	switch s := v.(type) {
	case []uint8:
		return s
	case []uint16:
		return cogSliceBytes(s)
	case []int16:
		return cogSliceBytes(s)
	case []int32:
		return cogSliceBytes(s)
	case []float32:
		return cogSliceBytes(s)
	}
	return nil
}

// cogFill fills dst with copies of the sample pat.
func cogFill(dst, pat []byte) {
	if len(dst) == 0 {
		return
	}
	n := copy(dst, pat)
	for n < len(dst) {
		n += copy(dst[n:], dst[:n])
	}
}

// cogLevel is one level of the pyramid being encoded (0 the full resolution) and its
// temporary data file: each tile as GDAL's COG driver lays it out, a 4-byte little-endian
// leader holding the size, the DEFLATE stream, and a trailer repeating its last 4 bytes.
type cogLevel struct {
	w, h    int
	tilesX  int
	f       *os.File
	bw      *bufio.Writer
	size    int64    // bytes written to f
	offsets []uint64 // offset in f of each tile's stream (after its leader), row major
	counts  []uint64 // size of each tile's stream
	// The mask tiles of a JPEG level (Options.JPEGQuality), each right after its image
	// tile in f, as GDAL's COG driver interleaves them.
	maskOffsets, maskCounts []uint64
}

// cogEncoder runs a writer's cogBlockEncoder on a goroutine: it encodes the full-resolution
// block rows in the order they are pushed. Memory is bounded by cogBlockBuffers block
// rows: buffer waits for the encoder to free one when they are all in use. Every buffer
// pushed comes back to the free list, even after an error or abort (the rest of the queue
// is then only drained), so buffer never waits forever. The engine's state belongs to
// the goroutine until it returns (done closed); nbuf and closed belong to the writer's.
type cogEncoder struct {
	e      cogBlockEncoder
	queue  chan []byte   // block rows to encode, in order
	free   chan []byte   // buffers the encoder is done with
	nbuf   int           // buffers allocated
	closed bool          // queue closed
	done   chan struct{} // closed when the goroutine returns
	stop   atomic.Bool   // abort: skip the block rows left
	mu     sync.Mutex
	err    error // the first encoding error
}

// cogBlockBuffers is how many block rows a writer's encoder holds at most: the one
// WriteRows is filling and two queued or being encoded (for a 10980-pixel-wide Int16
// band a block row is 11 MB). They are allocated as needed.
const cogBlockBuffers = 3

// cogBlockEncoder is a cogEngine, whatever its sample type.
type cogBlockEncoder interface {
	newBlock() []byte               // a buffer of one full-resolution block row
	typed(b []byte) any             // b as a slice of the sample type
	encodeBlock(b []byte) error     // encodes the next full-resolution rows, b
	complete() ([]*cogLevel, error) // flushes and checks the levels once all is encoded
	close()                         // closes the level files
}

// startEncoder creates the level files of w and starts its encoder.
func (w *Writer) startEncoder() error {
	var e cogBlockEncoder
	var err error
	switch w.typ {
	case cogUint8:
		e, err = newCOGEngine[uint8](w)
	case cogUint16:
		e, err = newCOGEngine[uint16](w)
	case cogInt16:
		e, err = newCOGEngine[int16](w)
	case cogInt32:
		e, err = newCOGEngine[int32](w)
	case cogFloat32:
		e, err = newCOGEngine[float32](w)
	}
	if err != nil {
		return err
	}
	c := &cogEncoder{e: e, queue: make(chan []byte, cogBlockBuffers), free: make(chan []byte, cogBlockBuffers),
		done: make(chan struct{})}
	go c.run()
	w.enc = c
	return nil
}

// run encodes the block rows queued until the queue is closed.
func (c *cogEncoder) run() {
	defer close(c.done)
	for b := range c.queue {
		if !c.stop.Load() && c.failed() == nil {
			if err := c.e.encodeBlock(b); err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
			}
		}
		c.free <- b[:cap(b)]
	}
}

// buffer returns a buffer of a full-resolution block row, waiting for the encoder to free
// one when cogBlockBuffers are in use (the caller holds none when it asks).
func (c *cogEncoder) buffer() []byte {
	select {
	case b := <-c.free:
		return b
	default:
	}
	if c.nbuf < cogBlockBuffers {
		c.nbuf++
		return c.e.newBlock()
	}
	return <-c.free
}

// push queues the next block row (from buffer). It does not wait: the queue has room for
// every buffer.
func (c *cogEncoder) push(b []byte) { c.queue <- b }

// failed returns the first encoding error.
func (c *cogEncoder) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *cogEncoder) closeQueue() {
	if !c.closed {
		close(c.queue)
		c.closed = true
	}
}

// finish waits for the block rows pushed to be encoded and returns the levels.
func (c *cogEncoder) finish(ctx context.Context) ([]*cogLevel, error) {
	c.closeQueue()
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := c.failed(); err != nil {
		return nil, err
	}
	return c.e.complete()
}

// abort stops the encoder after the block row it is encoding, waits for it and closes
// the level files.
func (c *cogEncoder) abort() {
	c.stop.Store(true)
	c.closeQueue()
	<-c.done
	c.e.close()
}

// cogEngine encodes the levels of a COG of sample type T.
type cogEngine[T cogSample] struct {
	nd      T
	float   bool
	raw     bool // no predictor
	runs    bool // one Byte sample a pixel, no predictor, no JPEG: run-length coded (deflateRuns)
	huff    bool // one 16-bit sample a pixel, no predictor: literals and runs in one Huffman block (huff16)
	level   int  // DEFLATE level
	mode    string
	spp     int // samples per pixel
	workers int
	levels  []*cogLevel
	buf     [][]T    // pending rows of each overview level, up to one block row (nil for 0)
	rows    []int    // rows pending in buf
	done    []int    // rows of each level already encoded
	scratch [][]T    // a tile per worker
	out     [][]byte // compressed tiles of the block row being encoded, by tile column
	outN    []int
	uniform cogUniformTiles
	// JPEG tiles with an internal mask (Options.JPEGQuality > 0, T uint8, 3 samples).
	jpeg        int
	maskScratch [][]byte // a mask tile per worker, 1 bit a pixel
	maskOut     [][]byte // compressed mask tiles, by tile column
	maskN       []int
	maskUniform cogUniformTiles
}

// newCOGEngine creates the level files of w and an engine to encode them.
func newCOGEngine[T cogSample](w *Writer) (cogBlockEncoder, error) {
	var zero T
	raw := w.predictor() == predictorNone
	e := &cogEngine[T]{
		nd:      T(w.o.NoData),
		float:   w.typ == cogFloat32,
		raw:     raw,
		runs:    raw && w.typ == cogUint8 && w.spp == 1 && w.o.JPEGQuality == 0,
		huff:    raw && (w.typ == cogInt16 || w.typ == cogUint16) && w.spp == 1,
		level:   max(1, w.o.Level),
		mode:    w.resampling,
		spp:     w.spp,
		jpeg:    w.o.JPEGQuality,
		workers: max(1, runtime.GOMAXPROCS(0)),
	}
	sizes := cogLevelSizes(w.g.Width, w.g.Height)
	e.buf = make([][]T, len(sizes))
	for l, s := range sizes {
		f, err := os.Create(w.levelPath(l))
		if err != nil {
			e.close()
			return nil, err
		}
		tx, ty := (s[0]+cogBlockSize-1)/cogBlockSize, (s[1]+cogBlockSize-1)/cogBlockSize
		lv := &cogLevel{w: s[0], h: s[1], tilesX: tx, f: f,
			bw:      bufio.NewWriterSize(f, 1<<20),
			offsets: make([]uint64, 0, tx*ty), counts: make([]uint64, 0, tx*ty)}
		if e.jpeg > 0 {
			lv.maskOffsets, lv.maskCounts = make([]uint64, 0, tx*ty), make([]uint64, 0, tx*ty)
		}
		e.levels = append(e.levels, lv)
		if l > 0 {
			e.buf[l] = make([]T, min(cogBlockSize, s[1])*s[0]*e.spp)
		}
	}
	e.rows = make([]int, len(sizes))
	e.done = make([]int, len(sizes))
	tile := cogBlockSize * cogBlockSize * e.spp
	for range e.workers {
		e.scratch = append(e.scratch, make([]T, tile))
	}
	bound := zlibBound(tile * int(unsafe.Sizeof(zero)))
	if e.jpeg > 0 {
		bound = jpegBound(cogBlockSize, cogBlockSize)
		for range e.workers {
			e.maskScratch = append(e.maskScratch, make([]byte, cogMaskTileBytes))
		}
		for range e.levels[0].tilesX {
			e.maskOut = append(e.maskOut, make([]byte, zlibBound(cogMaskTileBytes)))
		}
		e.maskN = make([]int, e.levels[0].tilesX)
	}
	for range e.levels[0].tilesX {
		e.out = append(e.out, make([]byte, bound))
	}
	e.outN = make([]int, e.levels[0].tilesX)
	return e, nil
}

func (e *cogEngine[T]) newBlock() []byte {
	lv := e.levels[0]
	return cogSliceBytes(make([]T, min(cogBlockSize, lv.h)*lv.w*e.spp))
}

func (e *cogEngine[T]) typed(b []byte) any { return cogBytesAs[T](b) }

func (e *cogEngine[T]) encodeBlock(b []byte) error { return e.encode(0, cogBytesAs[T](b)) }

func (e *cogEngine[T]) complete() ([]*cogLevel, error) {
	for l, lv := range e.levels {
		if err := lv.bw.Flush(); err != nil {
			return nil, err
		}
		if e.done[l] != lv.h || len(lv.counts) != cap(lv.counts) {
			return nil, fmt.Errorf("level %d: %d of %d rows encoded", l, e.done[l], lv.h)
		}
	}
	return e.levels, nil
}

func (e *cogEngine[T]) close() {
	for _, lv := range e.levels {
		lv.f.Close()
	}
}

// encode encodes src, the next rows of level l (a whole block row, or the last one), and
// downsamples them into level l+1, whose block row is encoded in turn once complete.
func (e *cogEngine[T]) encode(l int, src []T) error {
	lv := e.levels[l]
	n := len(src) / (lv.w * e.spp)
	var next *cogLevel
	var dst []T
	outRows, strips := 0, 0
	if l+1 < len(e.levels) {
		next = e.levels[l+1]
		// Output row y comes from rows 2y and 2y+1: those whose window starts here.
		y0 := e.done[l] / 2
		outRows = max(0, min(next.h, (e.done[l]+n+1)/2)-y0)
		strips = min(outRows, 4*e.workers)
		dst = e.buf[l+1][e.rows[l+1]*next.w*e.spp:]
	}
	// Tiles first (the large jobs), then strips of the downsampling fill the gaps.
	err := cogParallel(lv.tilesX+strips, e.workers, func(worker, i int) error {
		if i < lv.tilesX {
			return e.encodeTile(worker, i, src, lv.w, n)
		}
		s := i - lv.tilesX
		e.downsample(dst, src, lv.w, n, next.w, outRows*s/strips, outRows*(s+1)/strips)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range lv.tilesX {
		off, err := lv.writeTile(e.out[i][:e.outN[i]])
		if err != nil {
			return err
		}
		lv.offsets = append(lv.offsets, off)
		lv.counts = append(lv.counts, uint64(e.outN[i]))
		if e.jpeg > 0 {
			if off, err = lv.writeTile(e.maskOut[i][:e.maskN[i]]); err != nil {
				return err
			}
			lv.maskOffsets = append(lv.maskOffsets, off)
			lv.maskCounts = append(lv.maskCounts, uint64(e.maskN[i]))
		}
	}
	e.done[l] += n
	if next == nil {
		return nil
	}
	e.rows[l+1] += outRows
	if k := e.rows[l+1]; outRows > 0 && (k == cogBlockSize || e.done[l+1]+k == next.h) {
		e.rows[l+1] = 0
		return e.encode(l+1, e.buf[l+1][:k*next.w*e.spp])
	}
	return nil
}

// writeTile appends a tile's stream to the level file as GDAL's COG driver lays it out
// (its size as a leader, the stream, its last 4 bytes repeated) and returns the stream's
// offset in the file.
func (lv *cogLevel) writeTile(data []byte) (uint64, error) {
	var lead [4]byte
	binary.LittleEndian.PutUint32(lead[:], uint32(len(data)))
	lv.bw.Write(lead[:])
	lv.bw.Write(data)
	if _, err := lv.bw.Write(data[len(data)-4:]); err != nil {
		return 0, err
	}
	off := uint64(lv.size) + 4
	lv.size += int64(len(data)) + 8
	return off, nil
}

// encodeTile cuts tile column tx out of the n rows src (w wide), pads it to a full
// 512x512 tile with nodata (TIFF 6.0 section 15: tiles are always full, the padding is
// ignored by readers), applies the predictor and compresses it into e.out[tx].
func (e *cogEngine[T]) encodeTile(worker, tx int, src []T, w, n int) error {
	if e.jpeg > 0 {
		return e.encodeJPEGTile(worker, tx, any(src).([]uint8), w, n)
	}
	const ts = cogBlockSize
	tile := e.scratch[worker]
	x0 := tx * ts
	cw := min(ts, w-x0)
	if e.spp > 1 {
		e.predictSamples(tile, src, w, x0, cw, n)
	} else if e.raw {
		// No predictor: rows copied, padded with nodata.
		for r := range ts {
			d := tile[r*ts : (r+1)*ts]
			k := 0
			if r < n {
				k = copy(d, src[r*w+x0:r*w+x0+cw])
			}
			for i := k; i < ts; i++ {
				d[i] = e.nd
			}
		}
	} else if e.float {
		cogPredictFloat(any(tile).([]float32), any(src).([]float32), w, x0, cw, n, any(e.nd).(float32))
	} else {
		// Predictor 2 (TIFF 6.0 section 14): each sample of a tile row is stored as the
		// difference with its left neighbour, the first one as is; the arithmetic wraps.
		for r := range ts {
			d := tile[r*ts : (r+1)*ts]
			if r >= n {
				d[0] = e.nd
				clear(d[1:])
				continue
			}
			var prev T
			for i, v := range src[r*w+x0 : r*w+x0+cw] {
				d[i] = v - prev
				prev = v
			}
			if cw < ts {
				d[cw] = e.nd - prev
				clear(d[cw+1:])
			}
		}
	}
	tb := cogSliceBytes(tile)
	var err error
	e.outN[tx], err = cogCompressOnce(&e.uniform, e.out[tx], tb, len(tb)/ts, func() (int, error) {
		if e.runs {
			return deflateRuns(e.out[tx], tb, e.level)
		}
		if e.huff {
			if n := huff16(e.out[tx], tb); n > 0 {
				return n, nil
			}
		}
		return zlibDeflate(e.out[tx], tb, e.level)
	})
	return err
}

// deflateRuns compresses src, samples in long runs (classes, counts, masks), into dst as
// runs (rleDeflate), or with libdeflate at level when dst has no room for that.
func deflateRuns(dst, src []byte, level int) (int, error) {
	if n := rleDeflate(dst, src); n > 0 {
		return n, nil
	}
	return zlibDeflate(dst, src, level)
}

// cogMaskTileBytes is the size of a mask tile: 1 bit a pixel, rows of whole bytes.
const cogMaskTileBytes = cogBlockSize * cogBlockSize / 8

// encodeJPEGTile is encodeTile for JPEG tiles (Options.JPEGQuality): tile column tx of
// the n RGB rows src (w pixels wide) is compressed as JPEG into e.out[tx], its mask
// (the pixels not nodata in all three samples) as DEFLATE into e.maskOut[tx]. The padding
// of a partial tile repeats the last column and row, which the mask hides, so the JPEG
// blocks along the grid's edges hold no false edge to ring around.
func (e *cogEngine[T]) encodeJPEGTile(worker, tx int, src []uint8, w, n int) error {
	const ts = cogBlockSize
	tile := any(e.scratch[worker]).([]uint8)
	mask := e.maskScratch[worker]
	nd := any(e.nd).(uint8)
	x0 := tx * ts
	cw := min(ts, w-x0)
	rs, mrs := 3*ts, ts/8 // a tile row in bytes, a mask row in bytes
	var valid [ts]int64   // valid pixels of each row
	maskRGB(mask, mrs, src[3*x0:], 3*w, cw, n, nd, valid[:])
	full := n == ts && cw == ts
	for r := range n {
		full = full && valid[r] == ts
	}
	clear(mask[n*mrs:])
	var err error
	if full {
		// A whole tile of valid pixels (most of them): encoded from the rows in place.
		if e.outN[tx], err = jpegEncode(e.out[tx], src[3*x0:], ts, ts, 3*w, e.jpeg); err != nil {
			return err
		}
	} else {
		for r := range ts {
			d := tile[r*rs : (r+1)*rs]
			if r >= n {
				copy(d, tile[(n-1)*rs:n*rs])
				continue
			}
			row := src[3*(r*w+x0) : 3*(r*w+x0+cw)]
			copy(d, row)
			for i := 3 * cw; i < rs; i += 3 {
				d[i], d[i+1], d[i+2] = row[3*cw-3], row[3*cw-2], row[3*cw-1]
			}
			if int(valid[r]) < cw {
				cogFillMasked(d, mask[r*mrs:(r+1)*mrs], int(valid[r]), r, rs, tile)
			}
		}
		if e.outN[tx], err = cogCompressOnce(&e.uniform, e.out[tx], tile, rs, func() (int, error) {
			return jpegEncode(e.out[tx], tile, ts, ts, rs, e.jpeg)
		}); err != nil {
			return err
		}
	}
	e.maskN[tx], err = cogCompressOnce(&e.maskUniform, e.maskOut[tx], mask, mrs, func() (int, error) {
		return deflateRuns(e.maskOut[tx], mask, 2)
	})
	return err
}

// cogCompressOnce returns the length of the stream compress writes into dst for tile
// (rows of rowLen bytes), taken from u when every row of tile repeats the first and u
// has such a tile's stream (and kept in u when it has not). A stream is at least 4 bytes:
// its trailer repeats them.
func cogCompressOnce(u *cogUniformTiles, dst, tile []byte, rowLen int, compress func() (int, error)) (int, error) {
	uniform := cogRowsRepeat(tile, rowLen)
	if uniform {
		if k := u.get(tile[:rowLen], dst); k > 0 {
			return k, nil
		}
	}
	k, err := compress()
	if err != nil {
		return 0, err
	}
	if k < 4 {
		return 0, errors.New("compressed stream shorter than its trailer")
	}
	if uniform {
		u.put(tile[:rowLen], dst[:k])
	}
	return k, nil
}

// cogFillMasked paints the masked pixels of tile row r, d (rs bytes, m its mask, valid
// pixels of it set), with their nearest valid neighbour to the left (to the right for a
// leading run), or, when none is valid, with the row above: the mask hides them, and a
// JPEG block that meets nodata then has no edge between dark nodata and the ground to
// ring around (with black left there, valid pixels next to nodata came back up to 55
// levels darker at quality 85; with the fill, as far as elsewhere).
func cogFillMasked(d, m []uint8, valid, r, rs int, tile []uint8) {
	if valid == 0 {
		if r > 0 {
			copy(d, tile[(r-1)*rs:r*rs])
		}
		return
	}
	np := rs / 3
	last := -1 // the last valid pixel so far
	for i := 0; i < np; i++ {
		if i&7 == 0 && i+8 <= np {
			switch m[i>>3] {
			case 0xFF:
				if last == i-1 { // eight valid pixels after a valid one: nothing to fill
					last = i + 7
					i += 7
					continue
				}
			case 0: // eight masked pixels: the run goes on
				i += 7
				continue
			}
		}
		if m[i>>3]&(0x80>>(i&7)) != 0 {
			if last < i-1 { // the run last+1..i-1 is masked
				src := last
				if last < 0 { // a leading run
					src = i
				}
				fillPixels(d[3*(last+1):3*i], d[3*src], d[3*src+1], d[3*src+2])
			}
			last = i
		}
	}
	fillPixels(d[3*(last+1):3*np], d[3*last], d[3*last+1], d[3*last+2])
}

// fillPixels sets every pixel of the RGB pixels d to a, b, c.
func fillPixels(d []uint8, a, b, c uint8) {
	for j := 0; j+2 < len(d); j += 3 {
		d[j], d[j+1], d[j+2] = a, b, c
	}
}

// predictSamples is encodeTile's copy of a tile column for pixels of e.spp samples: the
// rows of samples copied, padded with nodata pixels, and with the predictor each sample
// replaced by its difference with the same band of the pixel to its left (TIFF 6.0
// section 14), the first pixel's as they are.
func (e *cogEngine[T]) predictSamples(tile, src []T, w, x0, cw, n int) {
	s := e.spp
	rs, ws, cs := cogBlockSize*s, w*s, cw*s // tile row, source row and column width, in samples
	for r := range cogBlockSize {
		d := tile[r*rs : (r+1)*rs]
		if r >= n {
			if e.raw {
				for i := range d {
					d[i] = e.nd
				}
			} else {
				for i := range s {
					d[i] = e.nd
				}
				clear(d[s:])
			}
			continue
		}
		row := src[r*ws+x0*s : r*ws+x0*s+cs]
		if e.raw {
			copy(d, row)
			for i := cs; i < rs; i++ {
				d[i] = e.nd
			}
			continue
		}
		copy(d[:s], row)
		dd := d[s:cs]
		prev := row[:len(dd)]
		for i, v := range row[s:] {
			dd[i] = v - prev[i]
		}
		if cs < rs {
			for i := range s {
				d[cs+i] = e.nd - row[cs-s+i]
			}
			clear(d[cs+s:])
		}
	}
}

// cogRowsRepeat tells whether every row (rowLen bytes) of tile equals the first.
func cogRowsRepeat(tile []byte, rowLen int) bool {
	first := tile[:rowLen]
	for off := rowLen; off < len(tile); off += rowLen {
		if !bytes.Equal(tile[off:off+rowLen], first) {
			return false
		}
	}
	return true
}

// cogUniformTiles remembers the compressed streams of tiles whose rows all repeat one row
// (after the predictor): uniform tiles, such as the nodata outside a scene or the zeros of
// a class raster, are compressed once. DEFLATE is deterministic, so the file is the same.
type cogUniformTiles struct {
	mu      sync.Mutex
	entries []cogUniformTile
}

type cogUniformTile struct{ row, stream []byte }

// cogUniformTilesMax is how many distinct uniform tiles are remembered.
const cogUniformTilesMax = 8

// get copies the stream of a tile of rows row into dst and returns its length, or 0.
func (c *cogUniformTiles) get(row, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if bytes.Equal(e.row, row) {
			return copy(dst, e.stream)
		}
	}
	return 0
}

func (c *cogUniformTiles) put(row, stream []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) < cogUniformTilesMax {
		c.entries = append(c.entries, cogUniformTile{bytes.Clone(row), bytes.Clone(stream)})
	}
}

// cogPredictFloat writes into tile the float32 tile column at x0 (cw wide) of the n rows
// src (w wide), padded with nd, with the floating point predictor of Adobe Photoshop TIFF
// Technical Note 3: each tile row's samples are split into byte planes, most significant
// bytes of all samples first (big-endian order), and each byte of the row is then stored
// as the difference with the previous byte.
func cogPredictFloat(tile, src []float32, w, x0, cw, n int, nd float32) {
	const ts = cogBlockSize
	out := cogSliceBytes(tile)
	for r := range ts {
		b := out[r*ts*4 : (r+1)*ts*4]
		var row []float32
		if r < n {
			row = src[r*w+x0 : r*w+x0+cw]
		}
		p0, p1, p2, p3 := b[:ts], b[ts:2*ts], b[2*ts:3*ts], b[3*ts:]
		for i := range ts {
			v := nd
			if i < len(row) {
				v = row[i]
			}
			u := math.Float32bits(v)
			p0[i], p1[i], p2[i], p3[i] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
		}
		prev := b[0]
		for j := 1; j < len(b); j++ {
			cur := b[j]
			b[j] = cur - prev
			prev = cur
		}
	}
}

// downsample writes rows y0..y1-1 of the half-size level of the n rows src (w wide) into
// dst (ow wide): output pixel (x,y) comes from the window of columns 2x, 2x+1 and rows 2y,
// 2y+1 (counted from the first row of src), clipped to the source. NEAREST takes its
// top-left pixel; AVERAGE the mean of its valid pixels (neither nodata nor NaN), rounded
// half away from zero for integer types, nodata when none is valid; MODE the most
// frequent valid value (the first in row order on a tie), nodata when none is valid.
//
// Levels are halved rounding down (cogLevelSizes), so the last column or row of an
// odd-sized level has no window of its own and is left out, whereas GDAL spreads its
// windows over the whole level (ratio n/(n/2)): the two differ by at most one pixel of
// that level, towards the right and bottom edges. A level 1 pixel wide or high gives 1.
func (e *cogEngine[T]) downsample(dst, src []T, w, n, ow, y0, y1 int) {
	if e.spp == 3 && e.mode == "AVERAGE" {
		if d, ok := any(dst).([]uint8); ok {
			cogDownsampleRGB(d, any(src).([]uint8), w, n, ow, y0, y1, any(e.nd).(uint8),
				func(y0, y1 int) { e.downsampleSamples(dst, src, w, n, ow, y0, y1) })
			return
		}
	}
	if e.spp == 1 && e.mode == "AVERAGE" {
		if d, ok := any(dst).([]int16); ok {
			cogDownsampleInt16(d, any(src).([]int16), w, n, ow, y0, y1, any(e.nd).(int16),
				func(y0, y1 int) { e.downsampleSamples(dst, src, w, n, ow, y0, y1) })
			return
		}
	}
	e.downsampleSamples(dst, src, w, n, ow, y0, y1)
}

// cogDownsampleInt16 is downsample for one Int16 sample a pixel (dNDVI), AVERAGE: the
// same values as downsampleSamples (downInt16, in C), which slow computes for the rows
// whose windows are clipped to one source row.
func cogDownsampleInt16(dst, src []int16, w, n, ow, y0, y1 int, nd int16, slow func(y0, y1 int)) {
	m := min(y1, n/2) // rows below m have two source rows: 2y+1 < n
	downInt16(dst, src, w, ow, y0, m, nd)
	if m = max(m, y0); m < y1 {
		slow(m, y1)
	}
}

// cogDownsampleRGB is downsample for true colour, AVERAGE: whole pixels at a time (downRGB,
// in C), the same values as downsampleSamples, which slow runs for output rows y0..y1-1
// where this cannot: a level one pixel wide, or a row whose windows are clipped to one
// source row.
func cogDownsampleRGB(dst, src []uint8, w, n, ow, y0, y1 int, nd uint8, slow func(y0, y1 int)) {
	if w < 2 {
		slow(y0, y1)
		return
	}
	m := min(y1, n/2)
	downRGB(dst, src, w, ow, y0, m, nd)
	if m = max(m, y0); m < y1 {
		slow(m, y1)
	}
}

// downsampleSamples is downsample sample by sample, any type, resampling and samples a
// pixel.
func (e *cogEngine[T]) downsampleSamples(dst, src []T, w, n, ow, y0, y1 int) {
	nd := e.nd
	s := e.spp // pixels of s samples: widths in samples, and a window's columns s apart
	w, ow = w*s, ow*s
	for y := y0; y < y1; y++ {
		d := dst[y*ow : (y+1)*ow]
		r0 := src[2*y*w : (2*y+1)*w]
		r1 := r0
		twoRows := 2*y+1 < n
		if twoRows {
			r1 = src[(2*y+1)*w : (2*y+2)*w]
		}
		if e.mode == "NEAREST" {
			if s == 1 {
				for x := range d {
					d[x] = r0[2*x]
				}
				continue
			}
			for x := range d {
				d[x] = r0[2*x-x%s]
			}
			continue
		}
		both := [2][]T{r0, r1}
		rows := both[:1]
		if twoRows {
			rows = both[:2]
		}
		var win [4]T
		// c is the first sample of output sample x's window: sample x%s of pixel 2*(x/s).
		c, band := -(s + 1), s-1
		for x := range d {
			if band++; band == s {
				band, c = 0, c+s+1
			} else {
				c++
			}
			if e.mode == "AVERAGE" && twoRows && c+s < w {
				// Fast path: a whole window of valid pixels (the same sums as below).
				a, b, p, q := r0[c], r0[c+s], r1[c], r1[c+s]
				if a == a && b == b && p == p && q == q && a != nd && b != nd && p != nd && q != nd {
					if e.float {
						var s float64 // from +0, as below
						s += float64(a)
						s += float64(b)
						s += float64(p)
						s += float64(q)
						d[x] = T(s / 4)
					} else if s := int64(a) + int64(b) + int64(p) + int64(q); s >= 0 {
						d[x] = T((s + 2) / 4) // round half away from zero, like math.Round
					} else {
						d[x] = T(-((2 - s) / 4))
					}
					continue
				}
			}
			k := 0 // the valid pixels of the window, in row order
			for _, r := range rows {
				for i := c; i < min(c+2*s, w); i += s {
					if v := r[i]; v == v && v != nd {
						win[k] = v
						k++
					}
				}
			}
			if k == 0 {
				d[x] = nd
				continue
			}
			if e.mode == "MODE" {
				d[x] = cogMode(win[:k])
				continue
			}
			var sum float64
			for _, v := range win[:k] {
				sum += float64(v)
			}
			if e.float {
				d[x] = T(sum / float64(k))
			} else {
				d[x] = T(math.Round(sum / float64(k)))
			}
		}
	}
}

// cogMode is the most frequent value of v, the first in order on a tie.
func cogMode[T cogSample](v []T) T {
	best, bestN := v[0], 0
	for i, a := range v {
		c := 0
		for _, b := range v[i:] {
			if a == b {
				c++
			}
		}
		if c > bestN {
			best, bestN = a, c
		}
	}
	return best
}

// cogParallel runs f(worker, i) for every i in [0,n) on at most workers goroutines
// (worker in [0,workers) tells which runs it) and returns the first error.
func cogParallel(n, workers int, f func(worker, i int) error) error {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			if err := f(0, i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(k, i); err != nil {
					errs[k] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// GDAL's structural metadata, the "ghost area" GDAL's COG driver writes right after the
// TIFF header (GDAL documentation of the COG driver, "Header ghost area"): the IFDs come
// before the data, tiles are in row-major order, each preceded by its size as a uint32 and
// followed by a copy of its last 4 bytes. GDAL reports LAYOUT=COG for a file that
// declares all of it. The trailing space is GDAL's padding.
const cogGhostBody = "LAYOUT=IFDS_BEFORE_DATA\n" +
	"BLOCK_ORDER=ROW_MAJOR\n" +
	"BLOCK_LEADER=SIZE_AS_UINT4\n" +
	"BLOCK_TRAILER=LAST_4_BYTES_REPEATED\n" +
	"KNOWN_INCOMPATIBLE_EDITION=NO\n" +
	" "

// cogGhost is the ghost area with its size line; cogGhostMasked that of a file with
// internal masks, whose mask tiles follow their image tiles (as GDAL 3.6 writes it).
var (
	cogGhost       = cogGhostArea(cogGhostBody)
	cogGhostMasked = cogGhostArea(cogGhostBody + "MASK_INTERLEAVED_WITH_IMAGERY=YES\n")
)

func cogGhostArea(body string) string {
	return fmt.Sprintf("GDAL_STRUCTURAL_METADATA_SIZE=%06d bytes\n", len(body)) + body
}

// ghost is the ghost area of w's file.
func (w *Writer) ghost() string {
	if w.masked() {
		return cogGhostMasked
	}
	return cogGhost
}

// cogIFD is one IFD of the file: the image of level l, or its mask.
type cogIFD struct {
	l    int
	mask bool
}

// ifds lists the IFDs of a file of n levels in GDAL's order: the full resolution and its
// mask, the overviews by decreasing size, then their masks.
func (w *Writer) ifds(n int) []cogIFD {
	out := []cogIFD{{0, false}}
	if w.masked() {
		out = append(out, cogIFD{0, true})
	}
	for l := 1; l < n; l++ {
		out = append(out, cogIFD{l, false})
	}
	if w.masked() {
		for l := 1; l < n; l++ {
			out = append(out, cogIFD{l, true})
		}
	}
	return out
}

// TIFF and GeoTIFF values the writer uses beyond tifftags.go.
const (
	cogPhotometricBlackIsZero = 1 // TIFF 6.0 section 3
	cogPhotometricPalette     = 3 // TIFF 6.0 section 5
	cogPhotometricRGB         = 2 // TIFF 6.0 section 6
	cogPhotometricMask        = 4 // TIFF 6.0 section 8, transparency mask
	cogPhotometricYCbCr       = 6 // TIFF 6.0 section 21
	cogPlanarChunky           = 1 // TIFF 6.0 section 8, PlanarConfiguration
	cogSubfileReduced         = 1 // TIFF 6.0 section 8, NewSubfileType bit 0: reduced resolution
	cogSubfileMask            = 4 // bit 2: a transparency mask for another image of the file
	// GeoTIFF 1.1 (OGC 19-008r4) section 7, GeoKeys.
	cogKeyModelType      = 1024
	cogKeyRasterType     = 1025
	cogKeyGeographicType = 2048
	cogKeyProjectedType  = 3072
	cogModelProjected    = 1
	cogModelGeographic   = 2
	cogRasterPixelIsArea = 1
	cogKeyDirVersion     = 1
	cogKeyRevision       = 1
	cogKeyMinorRevision  = 0
	cogClassicMaxOffset  = math.MaxUint32
	cogClassicHeader     = 8
	cogBigHeader         = 16
	cogWordAlign         = 2
	cogEntryClassic      = 12
	cogEntryBig          = 20
	cogInlineClassic     = 4
	cogInlineBig         = 8
)

// assemble writes the COG from the encoded levels to path+".tmp" and renames it to path.
func (w *Writer) assemble(levels []*cogLevel) error {
	big := w.forceBig
	ifdAt, dataAt, end := w.layout(levels, big)
	if !big && end > cogClassicMaxOffset {
		big = true
		ifdAt, dataAt, end = w.layout(levels, big)
	}
	tmp := w.tmpPath()
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = w.writeCOG(f, levels, big, ifdAt, dataAt, end)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && len(w.o.Classes) > 0 {
		err = writeSidecar(w.path, w.o) // before the COG: a COG at path has its sidecar
	}
	if err == nil {
		if err = os.Rename(tmp, w.path); err != nil && len(w.o.Classes) > 0 {
			os.Remove(w.path + AuxSuffix)
		}
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// layout places the IFDs (each followed by its values; w.ifds' order, ifdAt holds their
// offsets) after the header and the ghost area, then the levels' data from the smallest
// overview to the full resolution.
func (w *Writer) layout(levels []*cogLevel, big bool) (ifdAt, dataAt []uint64, end uint64) {
	pos := uint64(cogClassicHeader)
	if big {
		pos = cogBigHeader
	}
	pos += uint64(len(w.ghost()))
	pos += pos % cogWordAlign // TIFF 6.0 section 2: an IFD begins on a word boundary
	ifds := w.ifds(len(levels))
	ifdAt = make([]uint64, len(ifds))
	for i, d := range ifds {
		ifdAt[i] = pos
		pos += uint64(len(cogEncodeIFD(w.ifdFields(d, levels[d.l], 0, big), 0, 0, big)))
	}
	dataAt = make([]uint64, len(levels))
	for l := len(levels) - 1; l >= 0; l-- {
		dataAt[l] = pos
		pos += uint64(levels[l].size)
	}
	return ifdAt, dataAt, pos
}

// writeCOG writes header, ghost area and IFDs, then copies the levels' data into place.
func (w *Writer) writeCOG(f *os.File, levels []*cogLevel, big bool, ifdAt, dataAt []uint64, end uint64) error {
	bw := bufio.NewWriterSize(f, 1<<16)
	// TIFF 6.0 section 2, "Image File Header"; BigTIFF: version 43, offset size 8.
	if big {
		var h [cogBigHeader]byte
		copy(h[:], "II")
		binary.LittleEndian.PutUint16(h[2:], 43)
		binary.LittleEndian.PutUint16(h[4:], 8)
		binary.LittleEndian.PutUint64(h[8:], ifdAt[0])
		bw.Write(h[:])
	} else {
		var h [cogClassicHeader]byte
		copy(h[:], "II")
		binary.LittleEndian.PutUint16(h[2:], 42)
		binary.LittleEndian.PutUint32(h[4:], uint32(ifdAt[0]))
		bw.Write(h[:])
	}
	bw.WriteString(w.ghost())
	pos := uint64(len(w.ghost())) + cogClassicHeader
	if big {
		pos += cogBigHeader - cogClassicHeader
	}
	if pos%cogWordAlign != 0 {
		bw.WriteByte(0)
	}
	for i, d := range w.ifds(len(levels)) {
		var next uint64
		if i+1 < len(ifdAt) {
			next = ifdAt[i+1]
		}
		bw.Write(cogEncodeIFD(w.ifdFields(d, levels[d.l], dataAt[d.l], big), ifdAt[i], next, big))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	for l := len(levels) - 1; l >= 0; l-- {
		lv := levels[l]
		if _, err := lv.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		n, err := io.Copy(f, lv.f)
		if err != nil {
			return fmt.Errorf("copy level %d: %w", l, err)
		}
		if n != lv.size {
			return fmt.Errorf("copy level %d: %d of %d bytes", l, n, lv.size)
		}
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if uint64(st.Size()) != end {
		return fmt.Errorf("assembled %d bytes, want %d", st.Size(), end)
	}
	return nil
}

// ifdFields are the tags of IFD d, of level lv, whose data starts at base in the file.
func (w *Writer) ifdFields(d cogIFD, lv *cogLevel, base uint64, big bool) []cogTIFFField {
	if d.mask {
		return w.maskFields(d, lv, base, big)
	}
	var fs []cogTIFFField
	if d.l > 0 {
		fs = append(fs, cogLongs(tagNewSubfileType, cogSubfileReduced))
	}
	compression := uint16(compressionDeflate)
	if w.masked() {
		compression = compressionJPEG
	}
	fs = append(fs,
		cogLongs(tagImageWidth, uint32(lv.w)),
		cogLongs(tagImageLength, uint32(lv.h)),
		cogShorts(tagBitsPerSample, w.perSample(uint16(8*w.typ.size()))...),
		cogShorts(tagCompression, compression),
		cogShorts(tagPhotometric, w.photometric()),
		cogShorts(tagSamplesPerPixel, uint16(w.spp)),
		cogShorts(tagPlanarConfig, cogPlanarChunky),
		cogShorts(tagTileWidth, cogBlockSize),
		cogShorts(tagTileLength, cogBlockSize),
	)
	if w.masked() {
		// TIFF Technical Note 2: each tile a complete JPEG stream (no JPEGTables), the
		// chroma subsampled 2x2, ReferenceBlackWhite that of JPEG's full-range YCbCr
		// (TIFF 6.0 section 21), as libtiff writes it; no predictor.
		fs = append(fs, cogShorts(tagYCbCrSubSampling, 2, 2), cogRationals(tagReferenceBW, 0, 255, 128, 255, 128, 255))
	} else {
		fs = append(fs, cogShorts(tagPredictor, w.predictor()))
	}
	fs = append(fs, w.tileFields(lv.offsets, lv.counts, base, big)...)
	fs = append(fs, cogShorts(tagSampleFormat, w.perSample(w.typ.sampleFormat())...))
	if len(w.o.Classes) > 0 {
		fs = append(fs, cogShorts(tagColorMap, colorMap(w.o.Classes)...))
	}
	if d.l == 0 {
		fs = append(fs, w.geoFields()...)
	}
	if w.masked() {
		return fs // the mask says what is nodata
	}
	return append(fs, cogASCII(tagGDALNoData, gdalNoDataString(w.o.NoData)))
}

// maskFields are the tags of the mask of level d.l (Options.JPEGQuality): 1 bit a pixel,
// DEFLATE, Photometric transparency mask, as GDAL writes its internal masks.
func (w *Writer) maskFields(d cogIFD, lv *cogLevel, base uint64, big bool) []cogTIFFField {
	sub := uint32(cogSubfileMask)
	if d.l > 0 {
		sub |= cogSubfileReduced
	}
	fs := []cogTIFFField{
		cogLongs(tagNewSubfileType, sub),
		cogLongs(tagImageWidth, uint32(lv.w)),
		cogLongs(tagImageLength, uint32(lv.h)),
		cogShorts(tagBitsPerSample, 1),
		cogShorts(tagCompression, compressionDeflate),
		cogShorts(tagPhotometric, cogPhotometricMask),
		cogShorts(tagSamplesPerPixel, 1),
		cogShorts(tagPlanarConfig, cogPlanarChunky),
		cogShorts(tagPredictor, predictorNone),
		cogShorts(tagTileWidth, cogBlockSize),
		cogShorts(tagTileLength, cogBlockSize),
	}
	fs = append(fs, w.tileFields(lv.maskOffsets, lv.maskCounts, base, big)...)
	return append(fs, cogShorts(tagSampleFormat, sampleFormatUint))
}

// tileFields are the TileOffsets and TileByteCounts of tiles at offsets (from base) with
// sizes counts.
func (w *Writer) tileFields(offs, counts []uint64, base uint64, big bool) []cogTIFFField {
	offsets := make([]uint64, len(offs))
	for i, o := range offs {
		offsets[i] = base + o
	}
	if big {
		return []cogTIFFField{cogLong8s(tagTileOffsets, offsets...), cogLong8s(tagTileByteCounts, counts...)}
	}
	return []cogTIFFField{cogLongs(tagTileOffsets, cogNarrow(offsets)...), cogLongs(tagTileByteCounts, cogNarrow(counts)...)}
}

// geoFields are the georeferencing and GDAL metadata tags of the full resolution.
// GeoTIFF 1.1 sections 7.2 and 7.3: one tie point at the top-left corner of pixel (0,0)
// (raster type PixelIsArea) and the pixel size; the CRS by its EPSG code.
func (w *Writer) geoFields() []cogTIFFField {
	g := w.g
	fs := []cogTIFFField{
		cogDoubles(tagModelPixelScale, g.Res, g.Res, 0),
		cogDoubles(tagModelTiepoint, 0, 0, 0, g.X0, g.Y0, 0)}
	model, crsKey := uint16(cogModelProjected), uint16(cogKeyProjectedType)
	if w.geographic {
		model, crsKey = cogModelGeographic, cogKeyGeographicType
	}
	fs = append(fs, cogShorts(tagGeoKeyDirectory,
		cogKeyDirVersion, cogKeyRevision, cogKeyMinorRevision, 3,
		cogKeyModelType, 0, 1, model,
		cogKeyRasterType, 0, 1, cogRasterPixelIsArea,
		crsKey, 0, 1, uint16(g.EPSG)))
	if md := gdalMetadataXML(w.o); md != "" {
		fs = append(fs, cogASCII(tagGDALMetadata, md))
	}
	return fs
}

// perSample is v once per sample of a pixel (BitsPerSample and SampleFormat have one
// value per sample: TIFF 6.0 sections 8 and 19).
func (w *Writer) perSample(v uint16) []uint16 {
	out := make([]uint16, w.spp)
	for i := range out {
		out[i] = v
	}
	return out
}

// cogNarrow converts offsets known to fit a classic TIFF (layout checked the file size).
func cogNarrow(v []uint64) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = uint32(x)
	}
	return out
}

// gdalNoDataString formats nd like GDAL's GDAL_NODATA tag: an ASCII number, "nan", "inf"
// or "-inf".
func gdalNoDataString(nd float64) string {
	switch {
	case math.IsNaN(nd):
		return "nan"
	case math.IsInf(nd, 1):
		return "inf"
	case math.IsInf(nd, -1):
		return "-inf"
	case nd == math.Trunc(nd) && math.Abs(nd) < 1e15:
		return strconv.FormatFloat(nd, 'f', -1, 64)
	}
	return strconv.FormatFloat(nd, 'g', -1, 64)
}

// cogTIFFField is one IFD entry: tag, field type, count and the little-endian values.
type cogTIFFField struct {
	tag, typ uint16
	count    uint64
	val      []byte
}

func cogShorts(tag uint16, v ...uint16) cogTIFFField { return cogField(tag, tiffShort, v) }
func cogLongs(tag uint16, v ...uint32) cogTIFFField  { return cogField(tag, tiffLong, v) }
func cogLong8s(tag uint16, v ...uint64) cogTIFFField { return cogField(tag, tiffLong8, v) }
func cogDoubles(tag uint16, v ...float64) cogTIFFField {
	return cogField(tag, tiffDouble, v)
}

// cogRationals is a field of whole numbers as TIFF RATIONALs (each v/1).
func cogRationals(tag uint16, v ...uint32) cogTIFFField {
	r := make([]uint32, 0, 2*len(v))
	for _, x := range v {
		r = append(r, x, 1)
	}
	f := cogField(tag, tiffRational, r)
	f.count = uint64(len(v))
	return f
}

// cogField is a field of values of a fixed-size type, little-endian.
func cogField[T uint16 | uint32 | uint64 | float64](tag, typ uint16, v []T) cogTIFFField {
	b, _ := binary.Append(nil, binary.LittleEndian, v) // fixed-size values: cannot fail
	return cogTIFFField{tag, typ, uint64(len(v)), b}
}

// cogASCII is a NUL-terminated ASCII field (TIFF 6.0 section 2: the count includes the
// NUL).
func cogASCII(tag uint16, s string) cogTIFFField {
	b := append([]byte(s), 0)
	return cogTIFFField{tag, tiffASCII, uint64(len(b)), b}
}

// cogEncodeIFD lays out an IFD at file offset at (TIFF 6.0 section 2, "Image File
// Directory"; BigTIFF: 8-byte count, 20-byte entries, 8-byte offsets): the entry count,
// the entries in ascending tag order, the offset of the next IFD, then the values too
// large for their entry, each starting on a word boundary. Its length does not depend on
// at and next.
func cogEncodeIFD(fields []cogTIFFField, at, next uint64, big bool) []byte {
	fields = slices.Clone(fields)
	slices.SortFunc(fields, func(a, b cogTIFFField) int { return int(a.tag) - int(b.tag) })
	entry, inline, head := cogEntryClassic, cogInlineClassic, 2
	if big {
		entry, inline, head = cogEntryBig, cogInlineBig, 8
	}
	dirLen := head + entry*len(fields) + inline
	buf := make([]byte, dirLen, dirLen+256)
	p := 0
	if big {
		binary.LittleEndian.PutUint64(buf, uint64(len(fields)))
	} else {
		binary.LittleEndian.PutUint16(buf, uint16(len(fields)))
	}
	p += head
	for _, f := range fields {
		e := buf[p : p+entry]
		binary.LittleEndian.PutUint16(e, f.tag)
		binary.LittleEndian.PutUint16(e[2:], f.typ)
		var v []byte
		if big {
			binary.LittleEndian.PutUint64(e[4:], f.count)
			v = e[12:20]
		} else {
			binary.LittleEndian.PutUint32(e[4:], uint32(f.count))
			v = e[8:12]
		}
		if len(f.val) <= inline {
			copy(v, f.val)
		} else {
			off := at + uint64(len(buf))
			if big {
				binary.LittleEndian.PutUint64(v, off)
			} else {
				binary.LittleEndian.PutUint32(v, uint32(off))
			}
			buf = append(buf, f.val...)
			if len(buf)%cogWordAlign != 0 {
				buf = append(buf, 0)
			}
		}
		p += entry
	}
	if big {
		binary.LittleEndian.PutUint64(buf[p:], next)
	} else {
		binary.LittleEndian.PutUint32(buf[p:], uint32(next))
	}
	return buf
}
