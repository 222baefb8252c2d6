package cog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/airbusgeo/godal"
)

// TestMain registers GDAL's drivers, which the tests use to check what the codec wrote
// and read (raster.Init does it in the program).
func TestMain(m *testing.M) {
	godal.RegisterAll()
	os.Exit(m.Run())
}

// cogCase is one COG written by the round-trip test.
type cogCase struct {
	name          string
	typ           cogType
	w, h          int
	nodata        float64
	res           string
	scale, offset float64
	epsg          int
	big           bool // force BigTIFF
	noPredictor   bool
	level         int
}

func TestCOGWriterRoundTrip(t *testing.T) {
	cases := []cogCase{
		{name: "u8", typ: cogUint8, w: 1100, h: 1030, nodata: 255, res: "NEAREST", epsg: 32635},
		{name: "u16", typ: cogUint16, w: 513, h: 700, nodata: 0, res: "AVERAGE", epsg: 32635},
		{name: "i16-scaled", typ: cogInt16, w: 1100, h: 1030, nodata: -32768, res: "AVERAGE", scale: 1e-4, offset: 0.5, epsg: 32635},
		{name: "i32-1x1-lonlat", typ: cogInt32, w: 1, h: 1, nodata: -1, res: "NEAREST", epsg: 4326},
		{name: "f32-nan", typ: cogFloat32, w: 1100, h: 1030, nodata: math.NaN(), res: "AVERAGE", epsg: 32635},
		{name: "f32-mode", typ: cogFloat32, w: 513, h: 700, nodata: -9999, res: "MODE", epsg: 32635},
		{name: "u8-1x1100", typ: cogUint8, w: 1, h: 1100, nodata: 0, res: "AVERAGE", epsg: 32635},
		{name: "i32-1025x1025", typ: cogInt32, w: 1025, h: 1025, nodata: math.MinInt32, res: "AVERAGE", epsg: 32635},
		{name: "u16-bigtiff", typ: cogUint16, w: 600, h: 1030, nodata: 0, res: "NEAREST", epsg: 32635, big: true},
		{name: "i16-no-predictor", typ: cogInt16, w: 1100, h: 530, nodata: -32768, res: "AVERAGE", scale: 1e-3, epsg: 32635, noPredictor: true},
		{name: "f32-no-predictor", typ: cogFloat32, w: 513, h: 700, nodata: math.NaN(), res: "AVERAGE", epsg: 32635, noPredictor: true},
		{name: "u8-level6", typ: cogUint8, w: 1100, h: 1030, nodata: 255, res: "NEAREST", epsg: 32635, level: 6},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := cogTestGrid(c.epsg, c.w, c.h)
			vals := cogTestValues(c, 1)
			data := cogTyped(c.typ, vals)
			path := filepath.Join(dir, c.name+".tif")
			w, err := NewWriter(path, g, data, Options{NoData: c.nodata, Resampling: c.res, Scale: c.scale, Offset: c.offset,
				NoPredictor: c.noPredictor, Level: c.level})
			if err != nil {
				t.Fatal(err)
			}
			w.forceBig = c.big
			// Uneven batches of rows.
			batches := []int{1, 7, 300, 511, 2}
			for r, i := 0, 0; r < c.h; i++ {
				n := min(batches[i%len(batches)], c.h-r)
				if err := w.WriteRows(cogRows(data, c.w, r, r+n)); err != nil {
					t.Fatal(err)
				}
				r += n
			}
			if err := w.Finish(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			w.Discard() // harmless after Finish
			cogOnlyFile(t, dir, path)
			checkCOGFile(t, path, c, g, vals)
			validateCOGFile(t, path)
			if c.big {
				b, err := os.ReadFile(path)
				if err != nil || len(b) < 4 || b[2] != 43 {
					t.Errorf("not a BigTIFF: %x (%v)", b[:4], err)
				}
			}
		})
	}
}

// The DEFLATE level is applied: the same pixels at levels 1 and 2 (the level of the class
// and clear layers) read back the same, from files of other sizes.
func TestCOGWriterLevel(t *testing.T) {
	c := cogCase{name: "u8", typ: cogUint8, w: 1100, h: 1030, nodata: 255, res: "NEAREST", epsg: 32635}
	g := cogTestGrid(c.epsg, c.w, c.h)
	vals := cogTestValues(c, 1)
	data := cogTyped(c.typ, vals)
	sizes := map[int]int64{}
	for _, level := range []int{1, 2} {
		path := filepath.Join(t.TempDir(), fmt.Sprint("level", level, ".tif"))
		w, err := NewWriter(path, g, data, Options{NoData: c.nodata, Resampling: c.res, Level: level})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRows(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		checkCOGFile(t, path, c, g, vals)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		sizes[level] = st.Size()
	}
	if sizes[1] == sizes[2] {
		t.Errorf("levels 1 and 2 wrote files of the same size, %d bytes", sizes[1])
	}
}

// TestCOGWriterMatchesGDALOverviews compares the first overview with GDAL's own
// BuildOverviews on a MEM copy (even sizes, where both use exact 2x2 windows).
func TestCOGWriterMatchesGDALOverviews(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []cogCase{
		{name: "i16-average", typ: cogInt16, w: 1100, h: 1030, nodata: -32768, res: "AVERAGE", epsg: 32635},
		{name: "f32-average", typ: cogFloat32, w: 1100, h: 1030, nodata: -9999, res: "AVERAGE", epsg: 32635},
		{name: "u8-nearest", typ: cogUint8, w: 1100, h: 1030, nodata: 255, res: "NEAREST", epsg: 32635},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := cogTestGrid(c.epsg, c.w, c.h)
			vals := cogTestValues(c, 2)
			data := cogTyped(c.typ, vals)
			path := filepath.Join(dir, c.name+".tif")
			if err := Write(context.Background(), path, g, data, c.nodata, c.res); err != nil {
				t.Fatal(err)
			}
			ours := cogReadOverview(t, path, 0)
			dtype, _, _, _ := cogDataType(data)
			mem, err := godal.Create(godal.Memory, "", 1, dtype, c.w, c.h)
			if err != nil {
				t.Fatal(err)
			}
			defer mem.Close()
			band := mem.Bands()[0]
			if err := band.SetNoData(c.nodata); err != nil {
				t.Fatal(err)
			}
			if err := band.Write(0, 0, data, c.w, c.h); err != nil {
				t.Fatal(err)
			}
			alg := godal.Nearest
			if c.res == "AVERAGE" {
				alg = godal.Average
			}
			if err := mem.BuildOverviews(godal.Levels(2), godal.Resampling(alg)); err != nil {
				t.Fatal(err)
			}
			ovr := band.Overviews()[0]
			ow, oh := ovr.Structure().SizeX, ovr.Structure().SizeY
			if ow != c.w/2 || oh != c.h/2 || len(ours) != ow*oh {
				t.Fatalf("gdal overview %dx%d, ours %d pixels", ow, oh, len(ours))
			}
			theirs := make([]float64, ow*oh)
			if err := ovr.Read(0, 0, theirs, ow, oh); err != nil {
				t.Fatal(err)
			}
			tol := 0.0
			if c.res == "AVERAGE" {
				tol = 1 // integer rounding
				if c.typ == cogFloat32 {
					tol = 1e-3
				}
			}
			for i := range ours {
				if math.Abs(ours[i]-theirs[i]) > tol {
					t.Fatalf("overview pixel %d,%d: %v, gdal %v", i%ow, i/ow, ours[i], theirs[i])
				}
			}
		})
	}
}

func TestCOGWriterFix(t *testing.T) {
	dir := t.TempDir()
	c := cogCase{typ: cogInt16, w: 700, h: 1100, nodata: -32768, res: "AVERAGE", epsg: 32635}
	g := cogTestGrid(c.epsg, c.w, c.h)
	vals := cogTestValues(c, 3)
	data := cogTyped(c.typ, vals).([]int16)
	path := filepath.Join(dir, "fix.tif")

	// A streaming writer takes no fix-up.
	w, err := NewWriter(path, g, data, Options{NoData: c.nodata, Resampling: c.res})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(context.Background(), func(int, any) {}); err == nil || !strings.Contains(err.Error(), "Deferred") {
		t.Errorf("fix-up on a streaming writer: %v", err)
	}
	cogOnlyFile(t, dir, "")

	w, err = NewWriter(path, g, data, Options{NoData: c.nodata, Resampling: c.res, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Discard()
	if err := w.WriteRows(data); err != nil {
		t.Fatal(err)
	}
	var calls [][2]int
	err = w.Finish(context.Background(), func(row0 int, rows any) {
		r := rows.([]int16)
		calls = append(calls, [2]int{row0, len(r)})
		for i := range r {
			if i%c.w < 100 { // clear a band of columns
				r[i] = -32768
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 512 * c.w}, {512, 512 * c.w}, {1024, 76 * c.w}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("fix calls %v, want %v", calls, want)
	}
	for i := range vals {
		if i%c.w < 100 {
			vals[i] = c.nodata
		}
	}
	checkCOGFile(t, path, c, g, vals) // the overviews are built from the fixed rows
	cogOnlyFile(t, dir, path)
}

func TestCOGWriterCancel(t *testing.T) {
	dir := t.TempDir()
	g := cogTestGrid(32635, 600, 1100)
	data := make([]uint8, g.Pixels())
	path := filepath.Join(dir, "c.tif")

	// Cancelled before Finish.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w, err := NewWriter(path, g, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx, nil); err != context.Canceled {
		t.Errorf("finish with a cancelled context: %v, want context.Canceled", err)
	}
	cogOnlyFile(t, dir, "")

	// The same for a deferred writer.
	w = deferredWriter(t, path, g, data)
	if err := w.Finish(ctx, nil); err != context.Canceled {
		t.Errorf("deferred finish with a cancelled context: %v, want context.Canceled", err)
	}
	cogOnlyFile(t, dir, "")

	// Cancelled while encoding: after the first block row.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	w = deferredWriter(t, path, g, data)
	if err := w.Finish(ctx, func(int, any) { cancel() }); err != context.Canceled {
		t.Errorf("finish cancelled midway: %v, want context.Canceled", err)
	}
	cogOnlyFile(t, dir, "")

	// WriteCOG too.
	if err := Write(ctx, path, g, data, 0, "NEAREST"); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteCOG cancelled: %v", err)
	}
	cogOnlyFile(t, dir, "")
}

func TestCOGWriterDiscardAndErrors(t *testing.T) {
	dir := t.TempDir()
	g := cogTestGrid(32635, 600, 600)
	path := filepath.Join(dir, "d.tif")
	w, err := NewWriter(path, g, []uint16(nil), Options{NoData: 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(make([]uint16, 3*600)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(make([]int16, 600)); err == nil {
		t.Error("rows of another type accepted")
	}
	if err := w.WriteRows(make([]uint16, 601)); err == nil {
		t.Error("partial row accepted")
	}
	if err := w.WriteRows(make([]uint16, 600*600)); err == nil {
		t.Error("rows past the grid accepted")
	}
	if err := w.Finish(context.Background(), nil); err == nil {
		t.Error("finish with missing rows succeeded")
	}
	cogOnlyFile(t, dir, "")

	w, err = NewWriter(path, g, []uint16(nil), Options{NoData: 0, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(make([]uint16, 3*600)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".raw"); err != nil {
		t.Errorf("raw rows: %v", err)
	}
	w.Discard()
	w.Discard()
	cogOnlyFile(t, dir, "")
	if err := w.WriteRows(make([]uint16, 600)); err == nil {
		t.Error("write after discard accepted")
	}
	if err := w.Finish(context.Background(), nil); err == nil {
		t.Error("finish after discard succeeded")
	}

	for _, c := range []struct {
		name   string
		g      Grid
		sample any
		o      Options
	}{
		{"float64", g, []float64(nil), Options{}},
		{"nan nodata for int16", g, []int16(nil), Options{NoData: math.NaN()}},
		{"nodata out of range", g, []uint8(nil), Options{NoData: 256}},
		{"resampling", g, []uint8(nil), Options{Resampling: "CUBIC"}},
		{"deflate level 10", g, []uint8(nil), Options{Level: 10}},
		{"deflate level -1", g, []uint8(nil), Options{Level: -1}},
		{"epsg 0", cogTestGrid(0, 10, 10), []uint8(nil), Options{}},
		{"empty grid", cogTestGrid(32635, 0, 10), []uint8(nil), Options{}},
	} {
		if w, err := NewWriter(path, c.g, c.sample, c.o); err == nil {
			w.Discard()
			t.Errorf("%s accepted", c.name)
		}
	}
	cogOnlyFile(t, dir, "")
}

// TestCOGWriterStreamingMatchesDeferred writes the same rows, in uneven batches, with a
// streaming writer, a deferred one (with and without a fix-up that changes nothing) and
// WriteCOG, and wants the same bytes from all.
func TestCOGWriterStreamingMatchesDeferred(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []cogCase{
		{name: "u8", typ: cogUint8, w: 1100, h: 1600, nodata: 255, res: "NEAREST"},
		{name: "u16", typ: cogUint16, w: 513, h: 700, nodata: 0, res: "AVERAGE"},
		{name: "i16", typ: cogInt16, w: 1030, h: 1537, nodata: -32768, res: "AVERAGE"},
		{name: "i32", typ: cogInt32, w: 1025, h: 1025, nodata: math.MinInt32, res: "AVERAGE"},
		{name: "f32", typ: cogFloat32, w: 700, h: 1100, nodata: math.NaN(), res: "AVERAGE"},
		{name: "f32-mode", typ: cogFloat32, w: 513, h: 511, nodata: -9999, res: "MODE"},
		{name: "u8-1x1", typ: cogUint8, w: 1, h: 1, nodata: 0, res: "NEAREST"},
		{name: "u8-1x1100", typ: cogUint8, w: 1, h: 1100, nodata: 0, res: "AVERAGE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := cogTestGrid(32635, c.w, c.h)
			data := cogTyped(c.typ, cogTestValues(c, 4))
			o := Options{NoData: c.nodata, Resampling: c.res, Scale: 0.5}
			write := func(name string, deferred bool, fix func(int, any), batches []int) []byte {
				path := filepath.Join(dir, c.name+"-"+name+".tif")
				o := o
				o.Deferred = deferred
				w, err := NewWriter(path, g, data, o)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Discard()
				for r, i := 0, 0; r < c.h; i++ {
					n := min(batches[i%len(batches)], c.h-r)
					if err := w.WriteRows(cogRows(data, c.w, r, r+n)); err != nil {
						t.Fatal(err)
					}
					r += n
				}
				if err := w.Finish(context.Background(), fix); err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				os.Remove(path)
				return b
			}
			calls := 0
			want := write("deferred", true, nil, []int{c.h})
			for name, b := range map[string][]byte{
				"streaming":       write("streaming", false, nil, []int{1, 7, 300, 511, 2, 1030}),
				"streaming-whole": write("streaming-whole", false, nil, []int{c.h}),
				"deferred-fix":    write("deferred-fix", true, func(int, any) { calls++ }, []int{3, 600}),
			} {
				if !bytes.Equal(b, want) {
					t.Errorf("%s: %d bytes differ from the deferred writer's %d", name, len(b), len(want))
				}
			}
			if blocks := (c.h + cogBlockSize - 1) / cogBlockSize; calls != blocks {
				t.Errorf("%d fix-up calls, want %d", calls, blocks)
			}
			path := filepath.Join(dir, c.name+"-writecog.tif")
			if c.res != "MODE" { // WriteCOG: no scale
				o.Scale = 0
				want = write("deferred-noscale", true, nil, []int{c.h})
				if err := Write(context.Background(), path, g, data, c.nodata, c.res); err != nil {
					t.Fatal(err)
				}
				if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, want) {
					t.Errorf("WriteCOG: %d bytes differ from the deferred writer's %d (%v)", len(b), len(want), err)
				}
				os.Remove(path)
			}
			cogOnlyFile(t, dir, "")
		})
	}
}

// cogFailWriter fails every write.
type cogFailWriter struct{ err error }

func (f cogFailWriter) Write([]byte) (int, error) { return 0, f.err }

// cogFailRows is a row source that fails.
type cogFailRows struct{ err error }

func (f cogFailRows) readRows(int, int, []byte) error { return f.err }

func TestCOGWriterEncoderErrors(t *testing.T) {
	dir := t.TempDir()
	g := cogTestGrid(32635, 600, 1100)
	path := filepath.Join(dir, "e.tif")
	data := make([]uint16, g.Pixels())
	errDisk := errors.New("disk full")

	// The encoder fails writing the first block row: the next WriteRows and Finish say so.
	w, err := NewWriter(path, g, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Before any block row is pushed, the encoder's goroutine does not touch the levels.
	w.enc.e.(*cogEngine[uint16]).levels[0].bw = bufio.NewWriterSize(cogFailWriter{errDisk}, 16)
	if err := w.WriteRows(data[:600*cogBlockSize]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); w.enc.failed() == nil && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := w.WriteRows(data[600*cogBlockSize : 600*(cogBlockSize+1)]); !errors.Is(err, errDisk) {
		t.Errorf("write after an encoder error: %v", err)
	}
	if err := w.Finish(context.Background(), nil); !errors.Is(err, errDisk) {
		t.Errorf("finish after an encoder error: %v", err)
	}
	cogOnlyFile(t, dir, "")

	// The same error, while the rest of the rows stream in: Finish returns it.
	w, err = NewWriter(path, g, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.enc.e.(*cogEngine[uint16]).levels[0].bw = bufio.NewWriterSize(cogFailWriter{errDisk}, 16)
	for r := 0; r < g.Height; r += 100 {
		// Rows may be refused once the encoder has failed.
		if err := w.WriteRows(data[r*600 : min(r+100, g.Height)*600]); err != nil {
			if !errors.Is(err, errDisk) {
				t.Errorf("write: %v", err)
			}
			break
		}
	}
	if err := w.Finish(context.Background(), nil); !errors.Is(err, errDisk) {
		t.Errorf("finish after an encoder error: %v", err)
	}
	cogOnlyFile(t, dir, "")

	// A row source that fails (a deferred writer's raw file).
	w = deferredWriter(t, path, g, data)
	w.src = cogFailRows{errDisk}
	if err := w.Finish(context.Background(), nil); !errors.Is(err, errDisk) {
		t.Errorf("finish with failing reads: %v", err)
	}
	cogOnlyFile(t, dir, "")
}

// TestCOGWriterDiscardMidStream abandons streaming writers while their encoder is busy:
// no file and no goroutine may be left.
func TestCOGWriterDiscardMidStream(t *testing.T) {
	dir := t.TempDir()
	g := cogTestGrid(32635, 2000, 2100)
	c := cogCase{typ: cogInt16, w: g.Width, h: g.Height, nodata: -32768}
	data := cogTyped(c.typ, cogTestValues(c, 5)).([]int16)
	before := runtime.NumGoroutine()
	var done []chan struct{}
	for k, rows := range []int{0, 100, 600, 1600, 2100} {
		w, err := NewWriter(filepath.Join(dir, fmt.Sprintf("m%d.tif", k)), g, data, Options{Resampling: "AVERAGE"})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRows(data[:rows*g.Width]); err != nil {
			t.Fatal(err)
		}
		done = append(done, w.enc.done)
		w.Discard()
		w.Discard()
		if err := w.WriteRows(data[:g.Width]); err == nil {
			t.Error("write after discard accepted")
		}
		if err := w.Finish(context.Background(), nil); err == nil {
			t.Error("finish after discard succeeded")
		}
	}
	for k, d := range done {
		select {
		case <-d:
		default:
			t.Errorf("writer %d: encoder still running after Discard", k)
		}
	}
	cogOnlyFile(t, dir, "")
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > before && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if n > before {
		t.Errorf("%d goroutines after Discard, %d before", n, before)
	}
}

func TestMosaicCOG(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []cogCase{
		{name: "f32", typ: cogFloat32, w: 1300, h: 1100, nodata: math.NaN(), res: "AVERAGE", epsg: 32635},
		{name: "u8", typ: cogUint8, w: 1300, h: 1100, nodata: 255, res: "NEAREST", epsg: 32635},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := cogTestGrid(c.epsg, c.w, c.h)
			path := filepath.Join(dir, c.name+".tif")
			m, err := NewMosaic(path, g, cogTyped(c.typ, nil), Options{NoData: c.nodata, Resampling: c.res})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Discard()
			// Chunk windows written out of order; [600,1300)x[500,900) and the last 200
			// rows right of column 300 are never written.
			windows := [][4]int{{600, 0, 700, 500}, {0, 900, 300, 200}, {0, 0, 600, 900}}
			want := make([]float64, g.Pixels())
			for i := range want {
				want[i] = c.nodata
			}
			for k, win := range windows {
				ww, wh := win[2], win[3]
				wc := cogCase{typ: c.typ, w: ww, h: wh, nodata: c.nodata}
				vals := cogTestValues(wc, uint64(10+k))
				if err := m.Write(win[0], win[1], ww, wh, cogTyped(c.typ, vals)); err != nil {
					t.Fatal(err)
				}
				for y := range wh {
					copy(want[(win[1]+y)*c.w+win[0]:], vals[y*ww:(y+1)*ww])
				}
			}
			if err := m.Write(1000, 1000, 400, 50, cogTyped(c.typ, make([]float64, 400*50))); err == nil {
				t.Error("window outside the grid accepted")
			}
			if err := m.Write(0, 0, 2, 2, make([]int32, 4)); err == nil {
				t.Error("window of another type accepted")
			}
			if err := m.Finish(context.Background()); err != nil {
				t.Fatal(err)
			}
			cogOnlyFile(t, dir, path)
			checkCOGFile(t, path, c, g, want)
			validateCOGFile(t, path)
			os.Remove(path)
		})
	}
}

// BenchmarkCOGWrite writes a 4096x4096 Int16 band like a dNDVI*1e4 raster (a smooth field
// plus noise of a few hundred), AVERAGE overviews, with the Writer (streaming rows, and
// WriteCOG straight from memory) and with GDAL's COG driver from a MEM dataset
// (DEFLATE level 1, predictor 2, all CPUs), as WriteCOG did before; then the same for a
// Byte band that is almost all zeros (a change class raster), NEAREST overviews. It
// reports the process CPU time per write, the file size, and each time over the
// Writer's (x-cogwriter).
//
//	go test -run '^$' -bench COGWrite -benchtime 3x ./raster/
func BenchmarkCOGWrite(b *testing.B) {
	const n = 4096
	g := cogTestGrid(32635, n, n)
	dir := b.TempDir()
	run := func(b *testing.B, write func(path string) error) float64 {
		path := filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".tif")
		b.ResetTimer()
		t0, cpu0 := time.Now(), processCPU()
		for range b.N {
			if err := write(path); err != nil {
				b.Fatal(err)
			}
		}
		ns := float64(time.Since(t0).Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		if st, err := os.Stat(path); err == nil {
			b.ReportMetric(float64(st.Size())/1e6, "MB")
		}
		return ns
	}
	bands := []struct {
		name   string
		data   any
		nodata float64
		res    string
	}{
		{"int16", cogNoisyDNDVI(n, n), -32768, "AVERAGE"},
		{"byte", cogSparseClasses(n, n), 0, "NEAREST"},
	}
	for _, band := range bands {
		b.Run(band.name, func(b *testing.B) {
			var writerNs float64
			b.Run("cogwriter", func(b *testing.B) {
				writerNs = run(b, func(path string) error {
					w, err := NewWriter(path, g, band.data, Options{NoData: band.nodata, Resampling: band.res})
					if err != nil {
						return err
					}
					defer w.Discard()
					for r := 0; r < n; r += 256 {
						if err := w.WriteRows(cogRows(band.data, n, r, r+256)); err != nil {
							return err
						}
					}
					return w.Finish(context.Background(), nil)
				})
			})
			b.Run("writecog", func(b *testing.B) {
				ns := run(b, func(path string) error {
					return Write(context.Background(), path, g, band.data, band.nodata, band.res)
				})
				if writerNs > 0 {
					b.ReportMetric(ns/writerNs, "x-cogwriter")
				}
			})
			b.Run("gdal", func(b *testing.B) {
				ns := run(b, func(path string) error {
					return gdalCOGWrite(path, g, band.data, band.nodata, band.res)
				})
				if writerNs > 0 {
					b.ReportMetric(ns/writerNs, "x-cogwriter")
				}
			})
		})
	}
}

// BenchmarkCOGWriteOverlap interleaves the WriteRows of a 4096x4096 Int16 band (the one of
// BenchmarkCOGWrite, 256-row strips like Detect's) with simulated work per strip: a CPU
// loop costing as much CPU as encoding the strip (measured first), on one goroutine
// (1core: a core is left idle, like Detect waiting on reads) or split over two (2core).
// work-only is the loop alone; deferred keeps the rows raw until Finish (as before
// streaming); streaming encodes while the work runs. It reports the wall time per band,
// the part of it spent in Finish (finish-ns/op) and the process CPU time.
//
//	go test -run '^$' -bench COGWriteOverlap -benchtime 3x ./raster/
func BenchmarkCOGWriteOverlap(b *testing.B) {
	const n, strip = 4096, 256
	g := cogTestGrid(32635, n, n)
	data := cogNoisyDNDVI(n, n)
	path := filepath.Join(b.TempDir(), "overlap.tif")
	o := Options{NoData: -32768, Resampling: "AVERAGE"}
	// write writes the band strip by strip with a writer of the mode ("deferred",
	// "streaming"; "work-only": none), running work, if any, after each strip, and returns
	// the time spent in Finish.
	write := func(mode string, work func()) (time.Duration, error) {
		var w *Writer
		if mode != "work-only" {
			o := o
			o.Deferred = mode == "deferred"
			var err error
			if w, err = NewWriter(path, g, data, o); err != nil {
				return 0, err
			}
			defer w.Discard()
		}
		for r := 0; r < n; r += strip {
			if w != nil {
				if err := w.WriteRows(data[r*n : (r+strip)*n]); err != nil {
					return 0, err
				}
			}
			if work != nil {
				work()
			}
		}
		if w == nil {
			return 0, nil
		}
		t0 := time.Now()
		err := w.Finish(context.Background(), nil)
		return time.Since(t0), err
	}

	// The CPU time of encoding a strip, and the speed of the loop.
	cpu0 := processCPU()
	if _, err := write("deferred", nil); err != nil {
		b.Fatal(err)
	}
	perStrip := (processCPU() - cpu0) / (n / strip)
	const probe = 1 << 24
	t0 := time.Now()
	cogSpinSink.Add(cogSpin(probe))
	spins := int(float64(probe) * float64(perStrip) / float64(time.Since(t0)))
	b.Logf("encoding: %v of CPU per strip, simulated by %d iterations", perStrip, spins)

	for _, cores := range []int{1, 2} {
		work := func() {
			var wg sync.WaitGroup
			for range cores {
				wg.Go(func() { cogSpinSink.Add(cogSpin(spins / cores)) })
			}
			wg.Wait()
		}
		var deferredNs float64
		for _, mode := range []string{"work-only", "deferred", "streaming"} {
			b.Run(fmt.Sprintf("%dcore/%s", cores, mode), func(b *testing.B) {
				var finish time.Duration
				t0, cpu0 := time.Now(), processCPU()
				for range b.N {
					d, err := write(mode, work)
					if err != nil {
						b.Fatal(err)
					}
					finish += d
				}
				ns := float64(time.Since(t0).Nanoseconds()) / float64(b.N)
				b.ReportMetric(float64(finish.Nanoseconds())/float64(b.N), "finish-ns/op")
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				switch mode {
				case "deferred":
					deferredNs = ns
				case "streaming":
					if deferredNs > 0 {
						b.ReportMetric(ns/deferredNs, "x-deferred")
					}
				}
			})
		}
	}
}

// cogSpinSink keeps the result of cogSpin alive.
var cogSpinSink atomic.Uint64

// cogSpin burns CPU: n steps of a xorshift generator.
func cogSpin(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// gdalCOGWrite writes data with GDAL's COG driver, as WriteCOG did before the Writer.
func gdalCOGWrite(path string, g Grid, data any, nodata float64, res string) error {
	dtype, _, _, err := cogDataType(data)
	if err != nil {
		return err
	}
	mem, err := godal.Create(godal.Memory, "", 1, dtype, g.Width, g.Height)
	if err != nil {
		return err
	}
	defer mem.Close()
	sr, err := godal.NewSpatialRefFromEPSG(g.EPSG)
	if err != nil {
		return err
	}
	defer sr.Close()
	if err := mem.SetSpatialRef(sr); err != nil {
		return err
	}
	if err := mem.SetGeoTransform(g.GeoTransform()); err != nil {
		return err
	}
	band := mem.Bands()[0]
	if err := band.SetNoData(nodata); err != nil {
		return err
	}
	if err := band.Write(0, 0, data, g.Width, g.Height); err != nil {
		return err
	}
	os.Remove(path)
	out, err := mem.Translate(path, []string{"-of", "COG"}, godal.CreationOption(
		"COMPRESS=DEFLATE", "LEVEL=1", "PREDICTOR=2", "BLOCKSIZE=512",
		"OVERVIEW_RESAMPLING="+res, "NUM_THREADS=ALL_CPUS"))
	if err != nil {
		return err
	}
	return out.Close()
}

// cogSparseClasses is a class raster that is almost all 0: a few hundred small blobs of
// classes 1..4.
func cogSparseClasses(w, h int) []uint8 {
	rng := rand.New(rand.NewPCG(5, 9))
	out := make([]uint8, w*h)
	for range 300 {
		cx, cy, r, class := rng.IntN(w), rng.IntN(h), 2+rng.IntN(12), uint8(1+rng.IntN(4))
		for y := max(0, cy-r); y < min(h, cy+r); y++ {
			for x := max(0, cx-r); x < min(w, cx+r); x++ {
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
					out[y*w+x] = class
				}
			}
		}
	}
	return out
}

// cogNoisyDNDVI is a dNDVI*1e4-like field: smooth variations of a few thousand plus uniform
// noise of +-300.
func cogNoisyDNDVI(w, h int) []int16 {
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([]int16, w*h)
	for y := range h {
		for x := range w {
			v := 2500*math.Sin(float64(x)/170)*math.Cos(float64(y)/230) + 800*math.Sin(float64(x+y)/50)
			out[y*w+x] = int16(v + float64(rng.IntN(601)-300))
		}
	}
	return out
}

// cogTestGrid is a w x h grid in epsg (UTM-like numbers, or lon/lat for 4326).
func cogTestGrid(epsg, w, h int) Grid {
	if epsg == 4326 {
		return Grid{EPSG: epsg, X0: 27.5, Y0: 1.5, Res: 0.0001, Width: w, Height: h}
	}
	return Grid{EPSG: epsg, X0: 600000, Y0: 160020, Res: 10, Width: w, Height: h}
}

// cogTestValues are w*h values of the case's type: a field with noise, nodata pixels in
// a patch and here and there, and, for float32, a few values that test bit exactness.
func cogTestValues(c cogCase, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	v := make([]float64, c.w*c.h)
	for i := range v {
		x, y := float64(i%c.w), float64(i/c.w)
		f := math.Sin(x/40)*math.Cos(y/55) + 0.3*rng.Float64()
		switch c.typ {
		case cogUint8: // f is in [-1, 1.3]
			v[i] = math.Floor(127 + 95*f)
		case cogUint16:
			v[i] = math.Floor(30000 + 25000*f)
		case cogInt16:
			v[i] = math.Floor(20000 * f)
		case cogInt32:
			v[i] = math.Floor(1e9 * f)
		case cogFloat32:
			v[i] = float64(float32(f * 1000))
			if c.res == "MODE" {
				v[i] = math.Round(f * 3) // few distinct values
			}
		}
		if rng.IntN(50) == 0 || (i%c.w > 40 && i%c.w < 90 && i/c.w > 20 && i/c.w < 77) {
			v[i] = c.nodata
		}
	}
	if c.typ == cogFloat32 && len(v) > 10 {
		v[3], v[5], v[7] = math.Inf(1), float64(float32(1e-40)), math.Copysign(0, -1)
	}
	return v
}

// cogTyped converts values to a slice of typ.
func cogTyped(typ cogType, v []float64) any {
	switch typ {
	case cogUint8:
		return cogConvert[uint8](v)
	case cogUint16:
		return cogConvert[uint16](v)
	case cogInt16:
		return cogConvert[int16](v)
	case cogInt32:
		return cogConvert[int32](v)
	}
	return cogConvert[float32](v)
}

func cogConvert[T cogSample](v []float64) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// cogRows is rows r0..r1-1 of data (w wide).
func cogRows(data any, w, r0, r1 int) any {
	switch d := data.(type) {
	case []uint8:
		return d[r0*w : r1*w]
	case []uint16:
		return d[r0*w : r1*w]
	case []int16:
		return d[r0*w : r1*w]
	case []int32:
		return d[r0*w : r1*w]
	case []float32:
		return d[r0*w : r1*w]
	}
	return nil
}

// cogRefDownsample halves a level the way the tests expect (written apart from the writer):
// each output pixel looks at the 2x2 window at (2x,2y) clipped to the image.
func cogRefDownsample(src []float64, w, h int, res string, nodata float64, float bool) ([]float64, int, int) {
	ow, oh := max(1, w/2), max(1, h/2)
	out := make([]float64, ow*oh)
	valid := func(v float64) bool { return !math.IsNaN(v) && v != nodata }
	for y := range oh {
		for x := range ow {
			if res == "NEAREST" {
				out[y*ow+x] = src[2*y*w+2*x]
				continue
			}
			var win []float64
			for _, p := range [][2]int{{2 * x, 2 * y}, {2*x + 1, 2 * y}, {2 * x, 2*y + 1}, {2*x + 1, 2*y + 1}} {
				if p[0] < w && p[1] < h && valid(src[p[1]*w+p[0]]) {
					win = append(win, src[p[1]*w+p[0]])
				}
			}
			o := nodata
			switch {
			case len(win) == 0:
			case res == "MODE":
				counts := map[float64]int{}
				best := 0
				for _, v := range win {
					counts[v]++
					if counts[v] > best {
						best = counts[v]
					}
				}
				for _, v := range win {
					if counts[v] == best {
						o = v
						break
					}
				}
			default:
				s := 0.0
				for _, v := range win {
					s += v
				}
				o = s / float64(len(win))
				if float {
					o = float64(float32(o))
				} else if o = math.Round(o); o == 0 {
					o = 0 // not -0
				}
			}
			out[y*ow+x] = o
		}
	}
	return out, ow, oh
}

var cogGDALSizes sync.Map // "WxH" -> [][2]int

// gdalCOGSizes are the overview sizes GDAL's COG driver gives a w x h raster.
func gdalCOGSizes(t *testing.T, w, h int) [][2]int {
	key := fmt.Sprintf("%dx%d", w, h)
	if s, ok := cogGDALSizes.Load(key); ok {
		return s.([][2]int)
	}
	godal.RegisterAll()
	mem, err := godal.Create(godal.Memory, "", 1, godal.Byte, w, h)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	name := "/vsimem/cogsizes-" + key + ".tif"
	out, err := mem.Translate(name, []string{"-of", "COG"}, godal.CreationOption("BLOCKSIZE=512", "COMPRESS=DEFLATE"))
	if err != nil {
		t.Fatal(err)
	}
	defer godal.VSIUnlink(name)
	defer out.Close()
	var sizes [][2]int
	for _, o := range out.Bands()[0].Overviews() {
		st := o.Structure()
		sizes = append(sizes, [2]int{st.SizeX, st.SizeY})
	}
	cogGDALSizes.Store(key, sizes)
	return sizes
}

// checkCOGFile reads path back with GDAL and compares everything with the case: values at full
// resolution, every overview's size (GDAL's) and values (cogRefDownsample), SRS, geotransform,
// nodata, layout, scale and offset.
func checkCOGFile(t *testing.T, path string, c cogCase, g Grid, vals []float64) {
	t.Helper()
	ds, err := godal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	st := ds.Structure()
	if st.SizeX != g.Width || st.SizeY != g.Height || st.NBands != 1 {
		t.Fatalf("structure %+v", st)
	}
	if gt, err := ds.GeoTransform(); err != nil || gt != g.GeoTransform() {
		t.Errorf("geotransform %v (%v), want %v", gt, err, g.GeoTransform())
	}
	if code := fileEPSG(ds.SpatialRef()); code != g.EPSG {
		t.Errorf("epsg %d, want %d", code, g.EPSG)
	}
	if lay := ds.Metadata("LAYOUT", godal.Domain("IMAGE_STRUCTURE")); lay != "COG" {
		t.Errorf("LAYOUT=%q, want COG", lay)
	}
	if comp := ds.Metadata("COMPRESSION", godal.Domain("IMAGE_STRUCTURE")); comp != "DEFLATE" {
		t.Errorf("COMPRESSION=%q", comp)
	}
	// GDAL reports PREDICTOR only when it is not 1 (none).
	want := map[cogType]string{cogUint8: "", cogFloat32: "3"}[c.typ]
	if _, ok := map[cogType]bool{cogUint16: true, cogInt16: true, cogInt32: true}[c.typ]; ok {
		want = "2"
	}
	if c.noPredictor {
		want = ""
	}
	if pred := ds.Metadata("PREDICTOR", godal.Domain("IMAGE_STRUCTURE")); pred != want {
		t.Errorf("PREDICTOR=%q, want %q", pred, want)
	}
	band := ds.Bands()[0]
	if bs := band.Structure(); bs.BlockSizeX != 512 || bs.BlockSizeY != 512 {
		t.Errorf("blocks %dx%d", bs.BlockSizeX, bs.BlockSizeY)
	}
	if nd, ok := band.NoData(); !ok || !cogSameValue(nd, c.nodata) {
		t.Errorf("nodata %v %v, want %v", nd, ok, c.nodata)
	}
	got := make([]float64, g.Pixels())
	if err := band.Read(0, 0, got, g.Width, g.Height); err != nil {
		t.Fatal(err)
	}
	cogComparePixels(t, "full resolution", got, vals, g.Width)

	wantSizes := gdalCOGSizes(t, g.Width, g.Height)
	ovrs := band.Overviews()
	if len(ovrs) != len(wantSizes) {
		t.Fatalf("%d overviews, gdal makes %d (%v)", len(ovrs), len(wantSizes), wantSizes)
	}
	cur, cw, ch := vals, g.Width, g.Height
	for i, o := range ovrs {
		cur, cw, ch = cogRefDownsample(cur, cw, ch, c.res, c.nodata, c.typ == cogFloat32)
		ost := o.Structure()
		if ost.SizeX != wantSizes[i][0] || ost.SizeY != wantSizes[i][1] || cw != ost.SizeX || ch != ost.SizeY {
			t.Fatalf("overview %d: %dx%d, gdal %v, expected %dx%d", i, ost.SizeX, ost.SizeY, wantSizes[i], cw, ch)
		}
		buf := make([]float64, cw*ch)
		if err := o.Read(0, 0, buf, cw, ch); err != nil {
			t.Fatal(err)
		}
		cogComparePixels(t, fmt.Sprintf("overview %d", i), buf, cur, cw)
	}

	// Scale and offset, as gdalinfo reports them.
	out, err := exec.Command("gdalinfo", "-json", path).Output()
	if err != nil {
		t.Fatalf("gdalinfo: %v", err)
	}
	var info struct {
		Bands []struct {
			Scale  *float64 `json:"scale"`
			Offset *float64 `json:"offset"`
		} `json:"bands"`
	}
	if err := json.Unmarshal(out, &info); err != nil || len(info.Bands) != 1 {
		t.Fatalf("gdalinfo -json: %v", err)
	}
	scale, offset := 1.0, 0.0
	if b := info.Bands[0]; b.Scale != nil {
		scale = *b.Scale
	}
	if b := info.Bands[0]; b.Offset != nil {
		offset = *b.Offset
	}
	wantScale, wantOffset := c.scale, c.offset
	if wantScale == 0 {
		wantScale, wantOffset = 1, 0
	}
	if scale != wantScale || offset != wantOffset {
		t.Errorf("scale %v offset %v, want %v %v", scale, offset, wantScale, wantOffset)
	}
}

func cogSameValue(a, b float64) bool {
	return a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b)
}

func cogComparePixels(t *testing.T, what string, got, want []float64, w int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d pixels, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !cogSameValue(got[i], want[i]) {
			t.Fatalf("%s: pixel %d,%d is %v, want %v", what, i%w, i/w, got[i], want[i])
		}
	}
}

// cogReadOverview reads overview i of the first band of path.
func cogReadOverview(t *testing.T, path string, i int) []float64 {
	t.Helper()
	ds, err := godal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	ovrs := ds.Bands()[0].Overviews()
	if len(ovrs) <= i {
		t.Fatalf("%s: %d overviews", path, len(ovrs))
	}
	st := ovrs[i].Structure()
	buf := make([]float64, st.SizeX*st.SizeY)
	if err := ovrs[i].Read(0, 0, buf, st.SizeX, st.SizeY); err != nil {
		t.Fatal(err)
	}
	return buf
}

// cogOnlyFile fails unless dir holds exactly keep (nothing when keep is ""), apart from
// .tif files of earlier subtests.
func cogOnlyFile(t *testing.T, dir, keep string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case p == keep:
			found = true
		case strings.HasSuffix(p, ".tif") && keep != "":
		default:
			t.Errorf("unexpected file %s", e.Name())
		}
	}
	if keep != "" && !found {
		t.Errorf("%s missing", keep)
	}
}

// cogValidator finds a python that imports GDAL's bindings, and the COG validation script.
var cogValidator = sync.OnceValues(func() ([2]string, error) {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		out, err := exec.Command(py, "-c", "import osgeo_utils, os; print(os.path.dirname(osgeo_utils.__file__))").Output()
		if err != nil {
			continue
		}
		script := filepath.Join(strings.TrimSpace(string(out)), "samples", "validate_cloud_optimized_geotiff.py")
		if _, err := os.Stat(script); err == nil {
			return [2]string{py, script}, nil
		}
	}
	return [2]string{}, errors.New("no python3 with osgeo_utils' validate_cloud_optimized_geotiff.py (install python3-gdal: scripts/setup.sh)")
})

// validateCOGFile runs GDAL's validate_cloud_optimized_geotiff.py (with its full check of the
// tile leaders and trailers) and fails on any error or warning.
func validateCOGFile(t *testing.T, path string) {
	t.Helper()
	v, err := cogValidator()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(v[0], v[1], "--full-check=yes", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is a valid cloud optimized GeoTIFF") || strings.Contains(string(out), "warning") {
		t.Errorf("validate_cloud_optimized_geotiff.py %s: %v\n%s", path, err, out)
	}
}

// deferredWriter is a deferred COG writer at path that holds data (all of g's rows).
func deferredWriter(t *testing.T, path string, g Grid, data any) *Writer {
	t.Helper()
	w, err := NewWriter(path, g, data, Options{Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRows(data); err != nil {
		t.Fatal(err)
	}
	return w
}

// cogDataType maps a typed slice to its GDAL type, length and COG PREDICTOR value
// (STANDARD = TIFF predictor 2, FLOATING_POINT = predictor 3).
func cogDataType(data any) (godal.DataType, int, string, error) {
	switch d := data.(type) {
	case []uint8:
		return godal.Byte, len(d), "STANDARD", nil
	case []uint16:
		return godal.UInt16, len(d), "STANDARD", nil
	case []int16:
		return godal.Int16, len(d), "STANDARD", nil
	case []int32:
		return godal.Int32, len(d), "STANDARD", nil
	case []float32:
		return godal.Float32, len(d), "FLOATING_POINT", nil
	}
	return godal.Unknown, 0, "", fmt.Errorf("unsupported data type %T", data)
}

// processCPU returns the user+system CPU time of this process so far (all threads).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fileEPSG is the EPSG code of a file's SRS, 0 when it has none.
func fileEPSG(sr *godal.SpatialRef) int {
	code := sr.AuthorityCode("")
	if code == "" {
		if err := sr.AutoIdentifyEPSG(); err == nil {
			code = sr.AuthorityCode("")
		}
	}
	if !strings.EqualFold(sr.AuthorityName(""), "EPSG") {
		return 0
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0
	}
	return n
}
