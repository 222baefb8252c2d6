// Package baseline keeps the before composite of a monthly run (its baseline) in a compact
// file, so that a later run over the same window, scenes and masking reads it instead of
// the baseline's scenes: the file format, with the key that names what it holds.
//
// A file is the magic "CWBASEv1", then strips of consecutive window rows, each
// DEFLATE-compressed (RFC 1951) and planar: the chosen scene (int8), clear observations
// (uint8), the clear bit set (uint16), then the six digital numbers (uint16); each 16-bit
// plane as its high bytes then its low bytes (byte shuffling, which DEFLATE compresses
// better). Then the JSON header, its length (uint32, little endian) and the magic again.
// The header names the key, the window's size, the number of scenes and every strip
// (rows, offset, size, CRC-32): a reader checks all of it against what it expects before
// use, and every strip's checksum and size when it reads it, since the bucket holding the
// file may hold anything.
package baseline

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/changewatch/changewatch/raster"
)

const magic = "CWBASEv1"

// FormatVersion is the version of the file format (in the header and the key).
const FormatVersion = 1

// ErrInvalid marks a file that is not a kept composite of what was asked for: wrong key,
// size or scenes, a damaged or truncated file.
var ErrInvalid = errors.New("invalid kept baseline")

// maxHeader bounds the header a reader accepts.
const maxHeader = 1 << 20

// bytesPerPixel is the uncompressed size of one pixel.
const bytesPerPixel = 1 + 1 + 2 + 2*6

// KeyParts is everything a before composite depends on.
type KeyParts struct {
	AOI        json.RawMessage // the AOI's geometry (GeoJSON)
	Grid       raster.Grid
	Window     raster.Window
	Scenes     []raster.Scene // in the order Detect gets them
	Mask       bool
	MaskBuffer int
}

// Key returns the hex SHA-256 of the parts, the composite's code version
// (raster.CompositeVersion) and the format version.
func Key(p KeyParts) string {
	type scene struct {
		ID       string
		Date     string
		Hrefs    map[string]string
		More     []map[string]string
		DNOffset float64
		Scale    float64
	}
	v := struct {
		Format, Composite int
		AOI               json.RawMessage
		Grid              raster.Grid
		Window            raster.Window
		Scenes            []scene
		Mask              bool
		MaskBuffer        int
	}{Format: FormatVersion, Composite: raster.CompositeVersion, AOI: p.AOI, Grid: p.Grid, Window: p.Window, Mask: p.Mask, MaskBuffer: p.MaskBuffer}
	for _, s := range p.Scenes {
		v.Scenes = append(v.Scenes, scene{s.ID, s.Date.UTC().Format("2006-01-02T15:04:05.999999999Z"), s.Hrefs, s.More, s.DNOffset, s.Scale})
	}
	b, err := json.Marshal(v) // maps marshal in key order: the encoding is canonical
	if err != nil {
		panic(fmt.Sprintf("baseline key: %v", err)) // plain data: cannot fail
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Header describes a file.
type Header struct {
	Version int     `json:"version"`
	Key     string  `json:"key"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	Scenes  int     `json:"scenes"`
	Strips  []Strip `json:"strips"`
}

// Strip is one compressed strip of rows.
type Strip struct {
	Row    int    `json:"row"`
	Rows   int    `json:"rows"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	CRC32  uint32 `json:"crc32"`
}

// Writer writes a file. Create it with Create, hand it every row in order with WriteRows,
// then Close; Abort removes the file.
type Writer struct {
	f    *os.File
	hdr  Header
	off  int64
	raw  []byte
	comp bytes.Buffer
	zw   *flate.Writer
}

// Create starts the file at path of a composite of scenes scenes over a w x h window.
func Create(path, key string, w, h, scenes int) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("kept baseline: %w", err)
	}
	zw, _ := flate.NewWriter(nil, flate.BestSpeed) // a valid level: no error
	wr := &Writer{f: f, hdr: Header{Version: FormatVersion, Key: key, Width: w, Height: h, Scenes: scenes}, off: int64(len(magic)), zw: zw}
	if _, err := f.WriteString(magic); err != nil {
		wr.Abort()
		return nil, fmt.Errorf("kept baseline: %w", err)
	}
	return wr, nil
}

// WriteRows appends rows (the next ones of the window) as one strip.
func (w *Writer) WriteRows(r raster.CompositeRows) error {
	next := 0
	if n := len(w.hdr.Strips); n > 0 {
		next = w.hdr.Strips[n-1].Row + w.hdr.Strips[n-1].Rows
	}
	n := r.Height * w.hdr.Width
	if r.Row != next || r.Height <= 0 || next+r.Height > w.hdr.Height || len(r.K) < n {
		return fmt.Errorf("kept baseline: rows %d-%d of %d pixels: want rows from %d of a %dx%d window", r.Row, r.Row+r.Height, len(r.K), next, w.hdr.Width, w.hdr.Height)
	}
	raw := w.raw[:0]
	for _, k := range r.K[:n] {
		raw = append(raw, byte(k))
	}
	raw = append(raw, r.N[:n]...)
	planes := append([][]uint16{r.Bits[:n]}, r.DN[:]...)
	for _, p := range planes {
		for _, v := range p[:n] {
			raw = append(raw, byte(v>>8))
		}
		for _, v := range p[:n] {
			raw = append(raw, byte(v))
		}
	}
	w.raw = raw
	w.comp.Reset()
	w.zw.Reset(&w.comp)
	if _, err := w.zw.Write(raw); err != nil {
		return fmt.Errorf("kept baseline: compress: %w", err)
	}
	if err := w.zw.Close(); err != nil {
		return fmt.Errorf("kept baseline: compress: %w", err)
	}
	if _, err := w.f.Write(w.comp.Bytes()); err != nil {
		return fmt.Errorf("kept baseline: %w", err)
	}
	size := int64(w.comp.Len())
	w.hdr.Strips = append(w.hdr.Strips, Strip{Row: r.Row, Rows: r.Height, Offset: w.off, Size: size, CRC32: crc32.ChecksumIEEE(w.comp.Bytes())})
	w.off += size
	return nil
}

// Close writes the header and closes the file; every row must have been written.
func (w *Writer) Close() error {
	if n := len(w.hdr.Strips); n == 0 || w.hdr.Strips[n-1].Row+w.hdr.Strips[n-1].Rows != w.hdr.Height {
		w.Abort()
		return fmt.Errorf("kept baseline: closed before its last row")
	}
	hdr, err := json.Marshal(w.hdr)
	if err != nil {
		w.Abort()
		return fmt.Errorf("kept baseline: %w", err)
	}
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(hdr)))
	hdr = append(hdr, magic...)
	if _, err := w.f.Write(hdr); err != nil {
		w.Abort()
		return fmt.Errorf("kept baseline: %w", err)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("kept baseline: %w", err)
	}
	return nil
}

// Abort closes and removes the file.
func (w *Writer) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// Reader reads a file's rows (a raster.CompositeSource). One goroutine at a time.
type Reader struct {
	f    *os.File
	hdr  Header
	next int // the next strip to decode
	cur  *raster.CompositeRows
	row0 int // the first row of cur
	rows int // rows in cur
	comp []byte
	raw  []byte
	zr   io.ReadCloser
}

// Open opens the file at path and checks that it holds a composite of key, over a w x h
// window, of scenes scenes, with strips that tile the window in order within the file.
func Open(path, key string, w, h, scenes int) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{f: f, cur: raster.NewCompositeRows(0)}
	if err := r.readHeader(key, w, h, scenes); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *Reader) readHeader(key string, w, h, scenes int) error {
	st, err := r.f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	tail := int64(4 + len(magic))
	if size < int64(len(magic))+tail {
		return fmt.Errorf("%w: %d bytes: too short", ErrInvalid, size)
	}
	buf := make([]byte, tail)
	if _, err := r.f.ReadAt(buf, size-tail); err != nil {
		return fmt.Errorf("%w: trailer: %w", ErrInvalid, err)
	}
	head := make([]byte, len(magic))
	if _, err := r.f.ReadAt(head, 0); err != nil {
		return fmt.Errorf("%w: magic: %w", ErrInvalid, err)
	}
	if string(buf[4:]) != magic || string(head) != magic {
		return fmt.Errorf("%w: not a kept baseline file (magic)", ErrInvalid)
	}
	n := int64(binary.LittleEndian.Uint32(buf))
	end := size - tail - n // where the strips end
	if n > maxHeader || end < int64(len(magic)) {
		return fmt.Errorf("%w: header of %d bytes in a file of %d", ErrInvalid, n, size)
	}
	js := make([]byte, n)
	if _, err := r.f.ReadAt(js, end); err != nil {
		return fmt.Errorf("%w: header: %w", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r.hdr); err != nil {
		return fmt.Errorf("%w: header: %w", ErrInvalid, err)
	}
	hd := &r.hdr
	switch {
	case hd.Version != FormatVersion:
		return fmt.Errorf("%w: version %d, want %d", ErrInvalid, hd.Version, FormatVersion)
	case hd.Key != key:
		return fmt.Errorf("%w: key %.16s, want %.16s (first 16 digits)", ErrInvalid, hd.Key, key)
	case hd.Width != w || hd.Height != h:
		return fmt.Errorf("%w: window %dx%d, want %dx%d", ErrInvalid, hd.Width, hd.Height, w, h)
	case hd.Scenes != scenes:
		return fmt.Errorf("%w: %d scenes, want %d", ErrInvalid, hd.Scenes, scenes)
	}
	row, off := 0, int64(len(magic))
	for i, s := range hd.Strips {
		if s.Row != row || s.Rows <= 0 || s.Rows > h-row || s.Offset != off || s.Size <= 0 || s.Size > end-off {
			return fmt.Errorf("%w: strip %d (rows %d+%d at %d, %d bytes) does not follow row %d at %d", ErrInvalid, i, s.Row, s.Rows, s.Offset, s.Size, row, off)
		}
		row, off = row+s.Rows, off+s.Size
	}
	if row != h || off != end {
		return fmt.Errorf("%w: strips cover %d of %d rows, %d of %d bytes", ErrInvalid, row, h, off, end)
	}
	return nil
}

// ReadRows fills dst with window rows [row, row+h) (raster.CompositeSource): after
// the rows read last.
func (r *Reader) ReadRows(row, h int, dst *raster.CompositeRows) error {
	w := r.hdr.Width
	if h <= 0 || row+h > r.hdr.Height || dst.Len() < h*w {
		return fmt.Errorf("kept baseline: rows %d-%d into %d pixels: out of the %dx%d window", row, row+h, dst.Len(), w, r.hdr.Height)
	}
	for done := 0; done < h; {
		y := row + done
		for y >= r.row0+r.rows { // decode on
			if err := r.decode(); err != nil {
				return err
			}
		}
		if y < r.row0 {
			return fmt.Errorf("kept baseline: row %d asked after row %d", y, r.row0)
		}
		n := min(h-done, r.row0+r.rows-y)
		i, j, d := (y-r.row0)*w, (y-r.row0+n)*w, done*w
		copy(dst.K[d:], r.cur.K[i:j])
		copy(dst.N[d:], r.cur.N[i:j])
		copy(dst.Bits[d:], r.cur.Bits[i:j])
		for b := range dst.DN {
			copy(dst.DN[b][d:], r.cur.DN[b][i:j])
		}
		done += n
	}
	return nil
}

// decode reads, checks and decompresses the next strip into cur.
func (r *Reader) decode() error {
	if r.next >= len(r.hdr.Strips) {
		return fmt.Errorf("%w: no strip after row %d", ErrInvalid, r.row0+r.rows)
	}
	s := r.hdr.Strips[r.next]
	r.comp = grow(r.comp, int(s.Size))
	if _, err := r.f.ReadAt(r.comp, s.Offset); err != nil {
		return fmt.Errorf("%w: strip %d: %w", ErrInvalid, r.next, err)
	}
	if crc32.ChecksumIEEE(r.comp) != s.CRC32 {
		return fmt.Errorf("%w: strip %d: checksum mismatch", ErrInvalid, r.next)
	}
	n := s.Rows * r.hdr.Width
	r.raw = grow(r.raw, n*bytesPerPixel)
	if r.zr == nil {
		r.zr = flate.NewReader(bytes.NewReader(r.comp))
	} else if err := r.zr.(flate.Resetter).Reset(bytes.NewReader(r.comp), nil); err != nil {
		return fmt.Errorf("%w: strip %d: %w", ErrInvalid, r.next, err)
	}
	// Exactly the strip's bytes: no more (the limit), no fewer (ReadFull).
	if _, err := io.ReadFull(r.zr, r.raw); err != nil {
		return fmt.Errorf("%w: strip %d: %w", ErrInvalid, r.next, err)
	}
	if k, err := r.zr.Read(make([]byte, 1)); k != 0 || err != io.EOF {
		return fmt.Errorf("%w: strip %d: more data than its %d rows", ErrInvalid, r.next, s.Rows)
	}
	if r.cur.Len() < n {
		r.cur = raster.NewCompositeRows(n)
	}
	raw := r.raw
	for i := range n {
		r.cur.K[i] = int8(raw[i])
	}
	copy(r.cur.N, raw[n:2*n])
	raw = raw[2*n:]
	planes := append([][]uint16{r.cur.Bits}, r.cur.DN[:]...)
	for _, p := range planes {
		hi, lo := raw[:n], raw[n:2*n]
		for i := range n {
			p[i] = uint16(hi[i])<<8 | uint16(lo[i])
		}
		raw = raw[2*n:]
	}
	r.row0, r.rows = s.Row, s.Rows
	r.next++
	return nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
