package baseline_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changewatch/changewatch/baseline"
	"github.com/changewatch/changewatch/raster"
)

const key = "0123456789abcdef"

// rows returns w x h pixels of arbitrary values (the format does not care what they mean).
func rows(w, h int) *raster.CompositeRows {
	rng := rand.New(rand.NewPCG(1, 2))
	r := raster.NewCompositeRows(w * h)
	r.Height = h
	for i := range r.K {
		r.K[i], r.N[i], r.Bits[i] = int8(rng.IntN(9)-1), uint8(rng.IntN(9)), uint16(rng.Uint32())
		for b := range r.DN {
			r.DN[b][i] = uint16(1000 + rng.IntN(3000))
		}
	}
	return r
}

// sub returns rows [y, y+h) of r (w wide).
func sub(r *raster.CompositeRows, w, y, h int) raster.CompositeRows {
	s := raster.CompositeRows{Row: y, Height: h, K: r.K[y*w : (y+h)*w], N: r.N[y*w : (y+h)*w], Bits: r.Bits[y*w : (y+h)*w]}
	for b := range r.DN {
		s.DN[b] = r.DN[b][y*w : (y+h)*w]
	}
	return s
}

// write writes r (w x h) to a file in strips of the given height.
func write(t *testing.T, r *raster.CompositeRows, w, h, strip int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.cwb")
	wr, err := baseline.Create(path, key, w, h, 8)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y += strip {
		if err := wr.WriteRows(sub(r, w, y, min(strip, h-y))); err != nil {
			t.Fatal(err)
		}
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Rows written in strips of one height come back in strips of any other.
func TestRoundTrip(t *testing.T) {
	const w, h = 37, 101
	want := rows(w, h)
	for _, tc := range []struct{ write, read int }{{101, 101}, {10, 7}, {7, 10}, {1, 33}, {50, 1}} {
		r, err := baseline.Open(write(t, want, w, h, tc.write), key, w, h, 8)
		if err != nil {
			t.Fatal(err)
		}
		got := raster.NewCompositeRows(w * h)
		for y := 0; y < h; y += tc.read {
			n := min(tc.read, h-y)
			part := raster.NewCompositeRows(w * n)
			if err := r.ReadRows(y, n, part); err != nil {
				t.Fatalf("strips %+v: rows %d+%d: %v", tc, y, n, err)
			}
			dst := sub(got, w, y, n)
			copy(dst.K, part.K)
			copy(dst.N, part.N)
			copy(dst.Bits, part.Bits)
			for b := range dst.DN {
				copy(dst.DN[b], part.DN[b])
			}
		}
		r.Close()
		got.Height = h
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("strips %+v: rows differ", tc)
		}
	}
}

// A file that is not exactly what the reader asks for is refused (at open, or when the
// damaged strip is read), never read as if it were.
func TestRefusesWrongOrDamaged(t *testing.T) {
	const w, h = 40, 30
	good := write(t, rows(w, h), w, h, 8)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	hdrLen := int(binary.LittleEndian.Uint32(data[len(data)-12:]))
	hdrAt := len(data) - 12 - hdrLen
	var hdr baseline.Header
	if err := json.Unmarshal(data[hdrAt:hdrAt+hdrLen], &hdr); err != nil {
		t.Fatal(err)
	}
	withHeader := func(edit func(h *baseline.Header)) []byte {
		hd := hdr
		hd.Strips = append([]baseline.Strip(nil), hdr.Strips...)
		edit(&hd)
		js, _ := json.Marshal(hd)
		out := append([]byte(nil), data[:hdrAt]...)
		out = append(out, js...)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(js)))
		return append(out, "CWBASEv1"...)
	}
	flip := func(at int) []byte {
		d := append([]byte(nil), data...)
		d[at] ^= 0x40
		return d
	}
	for _, tc := range []struct {
		name          string
		data          []byte
		key           string
		w, h, scenes  int
		failsOnlyRead bool
	}{
		{name: "other key", data: data, key: "fedcba9876543210"},
		{name: "other width", data: data, w: w + 1},
		{name: "other height", data: data, h: h - 1},
		{name: "other scenes", data: data, scenes: 7},
		{name: "truncated", data: data[:len(data)-5]},
		{name: "empty", data: nil},
		{name: "bad magic", data: flip(2)},
		{name: "header length", data: flip(len(data) - 10)},
		{name: "strip bytes", data: flip(20), failsOnlyRead: true},
		{name: "strip gap", data: withHeader(func(h *baseline.Header) { h.Strips[1].Offset++ })},
		{name: "strip rows", data: withHeader(func(h *baseline.Header) { h.Strips[0].Rows-- })},
		{name: "strip size", data: withHeader(func(h *baseline.Header) { h.Strips[3].Size += 1 << 30 })},
		{name: "checksum", data: withHeader(func(h *baseline.Header) { h.Strips[2].CRC32++ }), failsOnlyRead: true},
		{name: "version", data: withHeader(func(h *baseline.Header) { h.Version = 2 })},
		{name: "no strips", data: withHeader(func(h *baseline.Header) { h.Strips = nil })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "b.cwb")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			k, ww, hh, sc := cmpOr(tc.key, key), cmpOr(tc.w, w), cmpOr(tc.h, h), cmpOr(tc.scenes, 8)
			r, err := baseline.Open(path, k, ww, hh, sc)
			if !tc.failsOnlyRead {
				if !errors.Is(err, baseline.ErrInvalid) {
					t.Fatalf("open: err %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer r.Close()
			err = r.ReadRows(0, h, raster.NewCompositeRows(w*h))
			if !errors.Is(err, baseline.ErrInvalid) {
				t.Fatalf("read: err %v, want ErrInvalid", err)
			}
		})
	}
}

func cmpOr[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// The key changes with anything the composite depends on, and only with that.
func TestKey(t *testing.T) {
	day := time.Date(2023, 5, 1, 8, 30, 0, 0, time.UTC)
	base := baseline.KeyParts{
		AOI:  json.RawMessage(`{"type":"Polygon","coordinates":[[[28,1],[28.1,1],[28.1,1.1],[28,1]]]}`),
		Grid: raster.Grid{EPSG: 32735, X0: 500000, Y0: 100000, Res: 10, Width: 100, Height: 80},
		Scenes: []raster.Scene{{ID: "a", Date: day, Hrefs: map[string]string{"red": "s3://x/a/B04.tif", "nir": "s3://x/a/B08.tif"}, DNOffset: 1000},
			{ID: "b", Date: day.AddDate(0, 1, 0), Hrefs: map[string]string{"red": "s3://x/b/B04.tif"}, DNOffset: 1000}},
		Mask: true, MaskBuffer: 5,
	}
	k0 := baseline.Key(base)
	same := base
	same.Scenes = []raster.Scene{base.Scenes[0], base.Scenes[1]}
	same.Scenes[0].Hrefs = map[string]string{"nir": "s3://x/a/B08.tif", "red": "s3://x/a/B04.tif"}
	if baseline.Key(same) != k0 {
		t.Error("the same parts give another key")
	}
	for name, edit := range map[string]func(p *baseline.KeyParts){
		"aoi":         func(p *baseline.KeyParts) { p.AOI = json.RawMessage(strings.Replace(string(p.AOI), "28.1", "28.2", 1)) },
		"grid":        func(p *baseline.KeyParts) { p.Grid.X0 += 10 },
		"window":      func(p *baseline.KeyParts) { p.Window = raster.Window{Col: 0, Row: 0, Width: 50, Height: 80} },
		"scene order": func(p *baseline.KeyParts) { p.Scenes = []raster.Scene{p.Scenes[1], p.Scenes[0]} },
		"scene gone":  func(p *baseline.KeyParts) { p.Scenes = p.Scenes[:1] },
		"href":        func(p *baseline.KeyParts) { p.Scenes[1].Hrefs = map[string]string{"red": "s3://x/c/B04.tif"} },
		"dn offset":   func(p *baseline.KeyParts) { p.Scenes[1].DNOffset = 0 },
		"mask":        func(p *baseline.KeyParts) { p.Mask = false },
		"buffer":      func(p *baseline.KeyParts) { p.MaskBuffer = 4 },
	} {
		p := base
		p.Scenes = []raster.Scene{base.Scenes[0], base.Scenes[1]}
		edit(&p)
		if baseline.Key(p) == k0 {
			t.Errorf("%s changed: same key", name)
		}
	}
}
