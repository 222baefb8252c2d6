package cog

/*
#include <stdio.h>
#include <stdlib.h>
#include "cpl_error.h"
#include "cpl_vsi.h"

// The helpers below run a VSI call with a quiet error handler and copy GDAL's message of
// the failure into err, all in one C call: GDAL's last error is per OS thread, and a
// goroutine may change threads between two cgo calls.

static void cw_last_error(char *err, size_t errlen) {
	const char *m = CPLGetLastErrorMsg();
	snprintf(err, errlen, "%s", m != NULL ? m : "");
}

static VSILFILE *cw_vsi_open(const char *path, unsigned long long *size, char *err, size_t errlen) {
	CPLPushErrorHandler(CPLQuietErrorHandler);
	CPLErrorReset();
	VSILFILE *fp = VSIFOpenL(path, "rb");
	if (fp == NULL) {
		cw_last_error(err, errlen);
	} else if (VSIFSeekL(fp, 0, SEEK_END) != 0) {
		cw_last_error(err, errlen);
		VSIFCloseL(fp);
		fp = NULL;
	} else {
		*size = VSIFTellL(fp);
	}
	CPLPopErrorHandler();
	return fp;
}

static size_t cw_vsi_read_at(VSILFILE *fp, unsigned long long off, void *buf, size_t n, char *err, size_t errlen) {
	CPLPushErrorHandler(CPLQuietErrorHandler);
	CPLErrorReset();
	size_t got = 0;
	if (VSIFSeekL(fp, off, SEEK_SET) == 0) {
		got = VSIFReadL(buf, 1, n, fp);
	}
	if (got != n) {
		cw_last_error(err, errlen);
	}
	CPLPopErrorHandler();
	return got;
}

// cw_vsi_read_ranges reads n ranges into consecutive parts of buf (one VSI call: remote
// files fetch them in parallel requests). 0 on success.
static int cw_vsi_read_ranges(VSILFILE *fp, int n, char *buf, const unsigned long long *offs,
		const unsigned long long *sizes, char *err, size_t errlen) {
	void **data = malloc(n * sizeof(void *));
	vsi_l_offset *o = malloc(n * sizeof(vsi_l_offset));
	size_t *s = malloc(n * sizeof(size_t));
	if (data == NULL || o == NULL || s == NULL) {
		free(data);
		free(o);
		free(s);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t pos = 0;
	for (int i = 0; i < n; i++) {
		data[i] = buf + pos;
		o[i] = offs[i];
		s[i] = sizes[i];
		pos += sizes[i];
	}
	CPLPushErrorHandler(CPLQuietErrorHandler);
	CPLErrorReset();
	int r = VSIFReadMultiRangeL(n, data, o, s, fp);
	if (r != 0) {
		cw_last_error(err, errlen);
	}
	CPLPopErrorHandler();
	free(data);
	free(o);
	free(s);
	return r;
}

static void cw_vsi_close(VSILFILE *fp) {
	CPLPushErrorHandler(CPLQuietErrorHandler);
	VSIFCloseL(fp);
	CPLPopErrorHandler();
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// This file reads the first (full-resolution) image of a tiled TIFF or BigTIFF directly,
// without GDAL's RasterIO and block cache: the bytes come through GDAL's VSI layer (local
// paths, /vsis3/, /vsicurl/ with the settings of Init), tiles are inflated with
// zlibInflate (libdeflate) and the predictor is undone here. Only the layout of the COGs
// changewatch reads is supported (tiled, one sample, 8 or 16-bit unsigned, no compression
// or deflate, predictor 1 or 2); anything else is ErrUnsupported and the caller reads
// through GDAL.
//
// Facts used, from the TIFF 6.0 specification (Adobe, 1992): the 8-byte header (byte
// order "II"/"MM", 42, offset of the first IFD) and the IFD of 12-byte entries (tag, type,
// count, value or offset; values of up to 4 bytes stored in the entry) in section 2; the
// field types and their sizes in section 2; default values of BitsPerSample (1),
// Compression (1), FillOrder (1), PlanarConfiguration (1), SamplesPerPixel (1) in section
// 8; tiles (TileWidth, TileLength, TileOffsets, TileByteCounts; tiles across =
// ceil(ImageWidth/TileWidth), stored row by row, edge tiles padded to the full tile size)
// in section 15; Predictor 2 (horizontal differencing: each sample of a row holds its
// difference from the previous one, modulo 2^BitsPerSample, undone after decompression and
// after byte swapping) in section 14; SampleFormat (default 1, unsigned) in section 19.
// Deflate as compression 8 (and the older 32946) is from the TIFF Technical Note / Adobe
// PageMaker 6.0 supplement. BigTIFF (the BigTIFF design, Aware Systems / libtiff): version
// 43, then the offset size (8) and 0, then an 8-byte IFD offset; IFDs with an 8-byte entry
// count, 20-byte entries (tag, type, 8-byte count, 8-byte value or offset) and types 16
// (LONG8), 17 (SLONG8), 18 (IFD8).

// ErrCorrupt marks a raster that cannot be decoded (a truncated or damaged file, not a
// network failure): retrying will not help.
var ErrCorrupt = errors.New("corrupt or unreadable raster")

// ErrUnsupported marks a file whose layout the tile reader does not handle.
var ErrUnsupported = errors.New("tile reader: unsupported layout")

// errNotTIFF marks a file without a TIFF header (with ErrUnsupported: GDAL may read other
// formats; for CheckTiles it is a damaged file).
var errNotTIFF = errors.New("not a tiff file")

// tiffMergeGap is the largest gap between two tiles read as one range: GDAL's COGs put 4
// bytes of size before each tile and repeat its last 4 bytes after it, so consecutive
// tiles are 8 bytes apart; a request costs far more than a few KiB.
const tiffMergeGap = 8 << 10

// tiffHeadSize is read at offset 0 to parse the header and the first IFD: GDAL's /vsicurl/
// downloads 16 KiB chunks, so the bytes GDAL read when it opened the file are cached.
const tiffHeadSize = 16 << 10

// Layout is the layout of a tiled TIFF's first image, as the tile reader reads it.
type Layout struct {
	Width, Height   int
	TileW, TileH    int
	Across, Down    int      // tiles per row and column
	BPS             int      // bytes per sample: 1 or 2
	Offsets, Counts []uint64 // of each tile's compressed bytes, row-major; a count of 0 is a missing tile
	Fill            uint16   // value of missing (sparse) tiles: GDAL's nodata, else 0
	order           binary.ByteOrder
	deflate         bool
	predictor       bool
}

// TileBytes is the size of one decoded tile.
func (l *Layout) TileBytes() int { return l.TileW * l.TileH * l.BPS }

// ifdEntry is one IFD entry, its value field still raw (4 or 8 bytes).
type ifdEntry struct {
	typ   uint16
	count uint64
	val   []byte
}

// tiffTypeSize is the byte size of a TIFF field type, 0 for an unknown type.
func tiffTypeSize(typ uint16) int {
	switch typ {
	case tiffByte, tiffASCII, tiffSByte, tiffUndef:
		return 1
	case tiffShort, tiffSShort:
		return 2
	case tiffLong, tiffSLong, tiffFloat:
		return 4
	case tiffRational, tiffSRat, tiffDouble, tiffLong8, tiffSLong8, tiffIFD8:
		return 8
	}
	return 0
}

// parseTIFF reads the first IFD of a TIFF or BigTIFF of size bytes. head holds the file's
// first bytes; fetch reads n bytes at off for what lies beyond.
func parseTIFF(head []byte, size uint64, fetch func(off uint64, n int) ([]byte, error)) (*Layout, error) {
	at := func(off uint64, n int) ([]byte, error) {
		if n < 0 || off > size || uint64(n) > size-off {
			return nil, fmt.Errorf("%w: %d bytes at offset %d past the end (%d bytes)", ErrCorrupt, n, off, size)
		}
		if off+uint64(n) <= uint64(len(head)) {
			return head[off : off+uint64(n)], nil
		}
		return fetch(off, n)
	}
	if len(head) < 8 {
		return nil, fmt.Errorf("%w: %d-byte file", ErrCorrupt, len(head))
	}
	var l Layout
	switch string(head[:2]) {
	case "II":
		l.order = binary.LittleEndian
	case "MM":
		l.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, errNotTIFF)
	}
	o := l.order
	var big bool
	var ifd uint64
	switch o.Uint16(head[2:]) {
	case 42:
		ifd = uint64(o.Uint32(head[4:]))
	case 43:
		if len(head) < 16 || o.Uint16(head[4:]) != 8 || o.Uint16(head[6:]) != 0 {
			return nil, fmt.Errorf("%w: bad bigtiff header", ErrCorrupt)
		}
		big = true
		ifd = o.Uint64(head[8:])
	default:
		return nil, fmt.Errorf("%w: %w: version %d", ErrUnsupported, errNotTIFF, o.Uint16(head[2:]))
	}

	// The IFD: entry count, then the entries.
	countSize, entrySize, valSize := 2, 12, 4
	if big {
		countSize, entrySize, valSize = 8, 20, 8
	}
	b, err := at(ifd, countSize)
	if err != nil {
		return nil, err
	}
	var n uint64
	if big {
		n = o.Uint64(b)
	} else {
		n = uint64(o.Uint16(b))
	}
	if n == 0 || n > 4096 {
		return nil, fmt.Errorf("%w: %d ifd entries", ErrCorrupt, n)
	}
	b, err = at(ifd+uint64(countSize), int(n)*entrySize)
	if err != nil {
		return nil, err
	}
	entries := make(map[uint16]ifdEntry, n)
	for i := range int(n) {
		e := b[i*entrySize : (i+1)*entrySize]
		var cnt uint64
		if big {
			cnt = o.Uint64(e[4:])
		} else {
			cnt = uint64(o.Uint32(e[4:]))
		}
		entries[o.Uint16(e)] = ifdEntry{typ: o.Uint16(e[2:]), count: cnt, val: e[entrySize-valSize:]}
	}
	// data returns the bytes of an entry's values: in the entry, or at its offset.
	data := func(e ifdEntry) ([]byte, error) {
		size := tiffTypeSize(e.typ)
		if size == 0 {
			return nil, fmt.Errorf("%w: field type %d", ErrUnsupported, e.typ)
		}
		if e.count > 1<<26 {
			return nil, fmt.Errorf("%w: %d values in a field", ErrUnsupported, e.count)
		}
		total := int(e.count) * size
		if total <= valSize {
			return e.val[:total], nil
		}
		var off uint64
		if big {
			off = o.Uint64(e.val)
		} else {
			off = uint64(o.Uint32(e.val))
		}
		return at(off, total)
	}
	// ints returns an entry's values as unsigned integers.
	ints := func(tag uint16) ([]uint64, error) {
		e, ok := entries[tag]
		if !ok {
			return nil, nil
		}
		d, err := data(e)
		if err != nil {
			return nil, err
		}
		v := make([]uint64, e.count)
		for i := range v {
			switch e.typ {
			case tiffByte:
				v[i] = uint64(d[i])
			case tiffShort:
				v[i] = uint64(o.Uint16(d[2*i:]))
			case tiffLong:
				v[i] = uint64(o.Uint32(d[4*i:]))
			case tiffLong8, tiffIFD8:
				v[i] = o.Uint64(d[8*i:])
			default:
				return nil, fmt.Errorf("%w: tag %d of type %d", ErrUnsupported, tag, e.typ)
			}
		}
		return v, nil
	}
	// one returns a tag's single value (all values equal, e.g. BitsPerSample), def when absent.
	one := func(tag uint16, def uint64) (uint64, error) {
		v, err := ints(tag)
		if err != nil {
			return 0, err
		}
		if len(v) == 0 {
			if _, ok := entries[tag]; ok {
				return 0, fmt.Errorf("%w: tag %d has no value", ErrCorrupt, tag)
			}
			return def, nil
		}
		for _, x := range v[1:] {
			if x != v[0] {
				return 0, fmt.Errorf("%w: tag %d values differ", ErrUnsupported, tag)
			}
		}
		return v[0], nil
	}
	get := func(tag uint16, def uint64) uint64 {
		if err == nil {
			var v uint64
			v, err = one(tag, def)
			return v
		}
		return 0
	}
	const tagFillOrder = 266 // TIFF 6.0 section 8
	if _, ok := entries[tagTileOffsets]; !ok {
		return nil, fmt.Errorf("%w: not tiled", ErrUnsupported)
	}
	subfile := get(tagNewSubfileType, 0)
	width, height := get(tagImageWidth, 0), get(tagImageLength, 0)
	tw, th := get(tagTileWidth, 0), get(tagTileLength, 0)
	spp := get(tagSamplesPerPixel, 1)
	bitsPS := get(tagBitsPerSample, 1)
	format := get(tagSampleFormat, sampleFormatUint)
	planar := get(tagPlanarConfig, 1)
	comp := get(tagCompression, compressionNone)
	pred := get(tagPredictor, predictorNone)
	fillOrder := get(tagFillOrder, 1)
	photometric := get(tagPhotometric, 1)
	if err != nil {
		return nil, err
	}
	switch {
	case subfile != 0:
		return nil, fmt.Errorf("%w: first image has NewSubfileType %d", ErrUnsupported, subfile)
	case spp != 1 || planar != 1:
		return nil, fmt.Errorf("%w: %d samples per pixel, planar configuration %d", ErrUnsupported, spp, planar)
	case bitsPS != 8 && bitsPS != 16 || format != sampleFormatUint:
		return nil, fmt.Errorf("%w: %d-bit samples of format %d", ErrUnsupported, bitsPS, format)
	case comp != compressionNone && comp != compressionDeflate && comp != compressionDeflateOld:
		return nil, fmt.Errorf("%w: compression %d", ErrUnsupported, comp)
	case pred != predictorNone && (pred != predictorHorizontal || comp == compressionNone):
		return nil, fmt.Errorf("%w: predictor %d with compression %d", ErrUnsupported, pred, comp)
	case fillOrder != 1 || photometric != 1 && photometric != 3:
		return nil, fmt.Errorf("%w: fill order %d, photometric %d", ErrUnsupported, fillOrder, photometric)
	case width == 0 || height == 0 || tw == 0 || th == 0 || width > 1<<24 || height > 1<<24 || tw*th*bitsPS/8 > 64<<20:
		return nil, fmt.Errorf("%w: image %dx%d, tiles %dx%d", ErrUnsupported, width, height, tw, th)
	}
	l.Width, l.Height, l.TileW, l.TileH = int(width), int(height), int(tw), int(th)
	l.Across, l.Down = (l.Width+l.TileW-1)/l.TileW, (l.Height+l.TileH-1)/l.TileH
	l.BPS = int(bitsPS / 8)
	l.deflate = comp != compressionNone
	l.predictor = pred == predictorHorizontal
	if l.Offsets, err = ints(tagTileOffsets); err != nil {
		return nil, err
	}
	if l.Counts, err = ints(tagTileByteCounts); err != nil {
		return nil, err
	}
	tiles := l.Across * l.Down
	if len(l.Offsets) != tiles || len(l.Counts) != tiles {
		return nil, fmt.Errorf("%w: %d tile offsets and %d byte counts for %d tiles", ErrUnsupported, len(l.Offsets), len(l.Counts), tiles)
	}
	sparse := false
	limit := uint64(2*l.TileBytes() + 4096) // a deflate stream of a tile is not much longer than the tile
	for _, c := range l.Counts {
		if c == 0 {
			sparse = true
		}
		if c > limit {
			return nil, fmt.Errorf("%w: a %d-byte tile", ErrUnsupported, c)
		}
	}
	// GDAL fills missing tiles with the band's nodata value (GDAL_NODATA, ASCII), or 0.
	if e, ok := entries[tagGDALNoData]; ok && e.typ == tiffASCII && sparse {
		d, err := data(e)
		if err != nil {
			return nil, err
		}
		s := strings.TrimSpace(strings.TrimRight(string(d), "\x00"))
		v, perr := strconv.ParseFloat(s, 64)
		if perr != nil || v != math.Trunc(v) || v < 0 || v >= float64(uint64(1)<<bitsPS) {
			return nil, fmt.Errorf("%w: sparse tiles and nodata %q", ErrUnsupported, s)
		}
		l.Fill = uint16(v)
	}
	return &l, nil
}

// Image is an open tiled TIFF read through VSI. One goroutine at a time.
type Image struct {
	Layout
	path    string
	local   bool // not a /vsi path: a failed read means a damaged file
	fp      *C.VSILFILE
	size    uint64
	decoded int // tiles decoded so far
}

// Decoded is the number of tiles decoded so far.
func (t *Image) Decoded() int { return t.decoded }

// Open opens path (a local path or a GDAL /vsi path) and parses its first image. The
// error wraps ErrUnsupported when the layout is not one the reader handles.
func Open(path string) (*Image, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var errbuf [512]byte
	var size C.ulonglong
	fp := C.cw_vsi_open(cpath, &size, (*C.char)(unsafe.Pointer(&errbuf[0])), C.size_t(len(errbuf)))
	if fp == nil {
		return nil, fmt.Errorf("tile reader: open: %s", cString(errbuf[:]))
	}
	t := &Image{path: path, local: !strings.HasPrefix(path, "/vsi"), fp: fp, size: uint64(size)}
	head := make([]byte, min(tiffHeadSize, t.size))
	if err := t.readAt(0, head); err != nil {
		t.Close()
		return nil, err
	}
	l, err := parseTIFF(head, t.size, func(off uint64, n int) ([]byte, error) {
		b := make([]byte, n)
		return b, t.readAt(off, b)
	})
	if err != nil {
		t.Close()
		return nil, err
	}
	t.Layout = *l
	return t, nil
}

// CheckTiles opens path and reports, wrapped with ErrCorrupt, the first tile of its first
// image that lies past the end of the file, or a header that does not parse; nil when
// every tile lies inside the file. A COG keeps its full-resolution tiles last, so a file
// cut short fails here. A remote read that came up short while CheckTiles passes was a
// transfer cut short, not a damaged file. Other errors (network, ErrUnsupported) say
// nothing about the file.
func CheckTiles(path string) error {
	img, err := Open(path)
	if errors.Is(err, errNotTIFF) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err != nil {
		return err
	}
	defer img.Close()
	for k, off := range img.Offsets {
		if n := img.Counts[k]; n > 0 && (off > img.size || n > img.size-off) {
			return fmt.Errorf("%w: tile %d (%d bytes at %d) past the end of the %d-byte file", ErrCorrupt, k, n, off, img.size)
		}
	}
	return nil
}

// cString is the NUL-terminated string at the start of b.
func cString(b []byte) string {
	if i := slices.Index(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return "no message"
	}
	return string(b)
}

// readErr is the error of a failed read: a damaged file when local (or when the file is
// shorter than its tiles say), else an I/O failure that may pass on retry.
func (t *Image) readErr(what, msg string) error {
	if t.local {
		return fmt.Errorf("%w: tile reader: %s: %s", ErrCorrupt, what, msg)
	}
	return fmt.Errorf("tile reader: %s: %s", what, msg)
}

// readAt fills b from offset off.
func (t *Image) readAt(off uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var errbuf [512]byte
	got := C.cw_vsi_read_at(t.fp, C.ulonglong(off), unsafe.Pointer(&b[0]), C.size_t(len(b)),
		(*C.char)(unsafe.Pointer(&errbuf[0])), C.size_t(len(errbuf)))
	if int(got) != len(b) {
		return t.readErr(fmt.Sprintf("read %d bytes at %d (got %d)", len(b), off, int(got)), cString(errbuf[:]))
	}
	return nil
}

// Close closes the file.
func (t *Image) Close() {
	if t.fp != nil {
		C.cw_vsi_close(t.fp)
		t.fp = nil
	}
}

// tileSpan is the compressed bytes of one tile within the raw buffer.
type tileSpan struct {
	i      int // index in the tile list
	off, n uint64
	pos    int // position in raw
}

// Decode reads and decodes the tiles of index tiles (row-major tile numbers) into bufs
// (tileBytes each, in the file's sample type, native byte order). The compressed bytes
// are fetched one range per run of tiles close together in the file (remote files: all
// ranges in one VSI call, requested in parallel). When each is set it is called with the
// position in tiles of every tile decoded, just after its decoding (while it is in cache).
func (t *Image) Decode(tiles []int, bufs [][]byte, each func(i int)) error {
	spans := make([]tileSpan, 0, len(tiles))
	for i, k := range tiles {
		if t.Counts[k] == 0 { // missing tile (sparse file)
			FillTile(bufs[i], t.BPS, t.Fill)
			t.decoded++
			if each != nil {
				each(i)
			}
			continue
		}
		off, n := t.Offsets[k], t.Counts[k]
		if off > t.size || n > t.size-off {
			return fmt.Errorf("%w: tile %d (%d bytes at %d) past the end of the %d-byte file", ErrCorrupt, k, n, off, t.size)
		}
		spans = append(spans, tileSpan{i: i, off: off, n: n})
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b tileSpan) int {
		if a.off < b.off {
			return -1
		}
		if a.off > b.off {
			return 1
		}
		return 0
	})
	if t.local {
		return t.decodeLocal(tiles, spans, bufs, each)
	}
	var offs, sizes []uint64
	total := 0
	for j := range spans {
		s := &spans[j]
		if r := len(offs) - 1; r >= 0 && s.off <= offs[r]+sizes[r]+tiffMergeGap {
			// extends the current run
			s.pos = total - int(sizes[r]) + int(s.off-offs[r])
			if end := s.off + s.n; end > offs[r]+sizes[r] {
				total += int(end - offs[r] - sizes[r])
				sizes[r] = end - offs[r]
			}
			continue
		}
		s.pos = total
		offs = append(offs, s.off)
		sizes = append(sizes, s.n)
		total += int(s.n)
	}
	rp, _ := rawPool.Get().(*[]byte)
	if rp == nil {
		rp = new([]byte)
	}
	defer rawPool.Put(rp)
	raw := grow(rp, total)
	var errbuf [512]byte
	r := C.cw_vsi_read_ranges(t.fp, C.int(len(offs)), (*C.char)(unsafe.Pointer(&raw[0])),
		(*C.ulonglong)(unsafe.Pointer(&offs[0])), (*C.ulonglong)(unsafe.Pointer(&sizes[0])),
		(*C.char)(unsafe.Pointer(&errbuf[0])), C.size_t(len(errbuf)))
	if r != 0 {
		return t.readErr(fmt.Sprintf("read %d tiles in %d ranges (%d bytes)", len(spans), len(offs), total), cString(errbuf[:]))
	}
	for _, s := range spans {
		if err := t.decodeTile(bufs[s.i], raw[s.pos:s.pos+int(s.n)]); err != nil {
			return fmt.Errorf("tile %d: %w", tiles[s.i], err)
		}
		if each != nil {
			each(s.i)
		}
	}
	return nil
}

// decodeLocal is Decode's for a local file: each tile is read on its own (a read from the
// page cache costs no round trip) and decoded while its bytes are still in cache, in one
// small buffer. (With GDAL 3.6's multi-range read of a local file the Go heap was
// corrupted now and then: "found bad pointer in Go heap" once in 1-10 test runs under
// GOGC=5; none in 50 runs range by range.)
func (t *Image) decodeLocal(tiles []int, spans []tileSpan, bufs [][]byte, each func(i int)) error {
	rp, _ := rawPool.Get().(*[]byte)
	if rp == nil {
		rp = new([]byte)
	}
	defer rawPool.Put(rp)
	for _, s := range spans {
		raw := grow(rp, int(s.n))
		if err := t.readAt(s.off, raw); err != nil {
			return err
		}
		if err := t.decodeTile(bufs[s.i], raw); err != nil {
			return fmt.Errorf("tile %d: %w", tiles[s.i], err)
		}
		if each != nil {
			each(s.i)
		}
	}
	return nil
}

// rawPool recycles the buffers of compressed tile bytes among all readers (only those
// decoding at the moment need one).
var rawPool sync.Pool // *[]byte

// decodeTile decompresses one tile's bytes src into dst and undoes the predictor.
func (t *Image) decodeTile(dst, src []byte) error {
	if t.deflate {
		n, err := zlibInflate(dst, src)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		if n != len(dst) {
			return fmt.Errorf("%w: tile inflates to %d bytes, want %d", ErrCorrupt, n, len(dst))
		}
	} else {
		if len(src) < len(dst) {
			return fmt.Errorf("%w: uncompressed tile of %d bytes, want %d", ErrCorrupt, len(src), len(dst))
		}
		copy(dst, src)
	}
	t.decoded++
	if t.BPS == 2 {
		p := Pixels[uint16](dst)
		if (t.order == binary.LittleEndian) != cogLittleEndian {
			for i, v := range p {
				p[i] = bits.ReverseBytes16(v)
			}
		}
		if t.predictor {
			unpredict16(p, t.TileW)
		}
	} else if t.predictor {
		undoPredictor(dst, t.TileW)
	}
	return nil
}

// undoPredictor turns the horizontal differences of each row of w samples back into
// samples (TIFF 6.0 section 14; modular arithmetic). 16-bit tiles go through unpredict16,
// its vectorised twin in C, which the tests hold against it.
func undoPredictor[T uint8 | uint16](p []T, w int) {
	r := 0
	// Four rows at a time: four independent running sums keep the adder busy (one row's
	// sum is a chain of dependent additions).
	for ; r+4*w <= len(p); r += 4 * w {
		r0 := p[r : r+w]
		// re-sliced to r0's length, so the compiler drops the bounds checks in the loop
		r1, r2, r3 := p[r+w : r+2*w][:len(r0)], p[r+2*w : r+3*w][:len(r0)], p[r+3*w : r+4*w][:len(r0)]
		a0, a1, a2, a3 := r0[0], r1[0], r2[0], r3[0]
		for i := 1; i < len(r0); i++ {
			a0 += r0[i]
			a1 += r1[i]
			a2 += r2[i]
			a3 += r3[i]
			r0[i], r1[i], r2[i], r3[i] = a0, a1, a2, a3
		}
	}
	for ; r+w <= len(p); r += w {
		row := p[r : r+w]
		acc := row[0]
		for i := 1; i < len(row); i++ {
			acc += row[i]
			row[i] = acc
		}
	}
}

// FillTile sets every sample of a decoded tile to v.
func FillTile(b []byte, bps int, v uint16) {
	if bps == 2 {
		p := Pixels[uint16](b)
		for i := range p {
			p[i] = v
		}
		return
	}
	for i := range b {
		b[i] = uint8(v)
	}
}

// Pixels views a decoded tile as samples (tile buffers are 8-byte aligned).
func Pixels[T uint8 | uint16](b []byte) []T {
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(z)))
}

// Fits reports whether dst ([]uint16 or []uint8) has the image's sample type.
func (l *Layout) Fits(dst any) bool {
	switch dst.(type) {
	case []uint16:
		return l.BPS == 2
	case []uint8:
		return l.BPS == 1
	}
	return false
}

// CopyTiles copies the source pixels [sx0,sx0+w) x [sy0,sy0+h) from the decoded tiles
// (tile(tx, ty)) into dst, whose rows are stride samples apart.
func CopyTiles[T uint8 | uint16](dst []T, stride int, l *Layout, tile func(tx, ty int) []byte, sx0, sy0, w, h int) {
	tw, th := l.TileW, l.TileH
	for ty := sy0 / th; ty <= (sy0+h-1)/th; ty++ {
		y0, y1 := max(sy0, ty*th), min(sy0+h, (ty+1)*th)
		for tx := sx0 / tw; tx <= (sx0+w-1)/tw; tx++ {
			x0, x1 := max(sx0, tx*tw), min(sx0+w, (tx+1)*tw)
			p := Pixels[T](tile(tx, ty))
			n := x1 - x0
			s := (y0-ty*th)*tw + x0 - tx*tw
			d := (y0-sy0)*stride + x0 - sx0
			for y := y0; y < y1; y++ {
				copy(dst[d:d+n], p[s:s+n])
				s += tw
				d += stride
			}
		}
	}
}

// tilePools recycles decoded-tile buffers by size (bytes) among all readers.
var tilePools sync.Map // int -> *sync.Pool of *[]byte

// TileBuf returns an 8-byte aligned buffer of n bytes for a decoded tile, recycled when
// FreeTileBuf gave one of that size back.
func TileBuf(n int) []byte {
	if p, ok := tilePools.Load(n); ok {
		if v := p.(*sync.Pool).Get(); v != nil {
			return *v.(*[]byte)
		}
	}
	words := make([]uint64, (n+7)/8) // 8-byte aligned for the sample views
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), n)
}

// FreeTileBuf hands a buffer of TileBuf back for reuse.
func FreeTileBuf(b []byte) {
	p, _ := tilePools.LoadOrStore(len(b), &sync.Pool{})
	p.(*sync.Pool).Put(&b)
}

// ReadWindow reads the source window [x0,x0+w) x [y0,y0+h) into dst ([]uint16 or []uint8
// of the image's type, len >= w*h), decoding every tile it touches (no cache).
func (t *Image) ReadWindow(x0, y0, w, h int, dst any) error {
	if w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0+w > t.Width || y0+h > t.Height {
		return fmt.Errorf("tile reader: window %d,%d %dx%d outside the %dx%d image", x0, y0, w, h, t.Width, t.Height)
	}
	if !t.Fits(dst) {
		return fmt.Errorf("tile reader: %T buffer for %d-byte samples", dst, t.BPS)
	}
	tx0, ty0, tx1, ty1 := x0/t.TileW, y0/t.TileH, (x0+w-1)/t.TileW, (y0+h-1)/t.TileH
	nx := tx1 - tx0 + 1
	var tiles []int
	var bufs [][]byte
	for ty := ty0; ty <= ty1; ty++ {
		for tx := tx0; tx <= tx1; tx++ {
			tiles = append(tiles, ty*t.Across+tx)
			bufs = append(bufs, TileBuf(t.TileBytes()))
		}
	}
	defer func() {
		for _, b := range bufs {
			FreeTileBuf(b)
		}
	}()
	if err := t.Decode(tiles, bufs, nil); err != nil {
		return err
	}
	tile := func(tx, ty int) []byte { return bufs[(ty-ty0)*nx+tx-tx0] }
	switch d := dst.(type) {
	case []uint16:
		CopyTiles(d, w, &t.Layout, tile, x0, y0, w, h)
	case []uint8:
		CopyTiles(d, w, &t.Layout, tile, x0, y0, w, h)
	}
	return nil
}

// grow returns s with length n, reallocated only when its capacity is short.
func grow[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	}
	return (*s)[:n]
}
