package raster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/changewatch/changewatch/raster"
)

// keptComposite holds a whole kept composite in memory: the rows Detect hands over
// (KeepBefore), given back in any strip height (a raster.CompositeSource).
type keptComposite struct {
	w    int
	rows raster.CompositeRows // every row
	next int                  // the next row KeepBefore must get
}

func (k *keptComposite) keep(r raster.CompositeRows) error {
	if r.Row != k.next {
		return fmt.Errorf("kept rows from %d, want %d", r.Row, k.next)
	}
	k.next += r.Height
	k.rows.K, k.rows.N, k.rows.Bits = append(k.rows.K, r.K...), append(k.rows.N, r.N...), append(k.rows.Bits, r.Bits...)
	for b := range r.DN {
		k.rows.DN[b] = append(k.rows.DN[b], r.DN[b]...)
	}
	return nil
}

func (k *keptComposite) ReadRows(row, h int, dst *raster.CompositeRows) error {
	i, j := row*k.w, (row+h)*k.w
	if j > len(k.rows.K) {
		return fmt.Errorf("rows %d-%d: the composite has %d", row, row+h, len(k.rows.K)/k.w)
	}
	copy(dst.K, k.rows.K[i:j])
	copy(dst.N, k.rows.N[i:j])
	copy(dst.Bits, k.rows.Bits[i:j])
	for b := range dst.DN {
		copy(dst.DN[b], k.rows.DN[b][i:j])
	}
	return nil
}

// streamed collects what Detect streams through DetectParams.Rows.
type streamed struct{ class, rgbBefore, rgbAfter []uint8 }

func (s *streamed) rows(r raster.Rows) error {
	s.class = append(s.class, r.Class...)
	s.rgbBefore, s.rgbAfter = append(s.rgbBefore, r.BeforeRGB...), append(s.rgbAfter, r.AfterRGB...)
	return nil
}

// A run whose before composite comes from an earlier run's kept composite gives that
// run's outputs exactly (rasters, true colour, regions with their statistics and scenes,
// quicklook), without reading the before scenes; whatever the strip heights of either.
func TestDetectKeptBeforeMatchesComputed(t *testing.T) {
	base := synthScenes(t, 512)
	for _, tc := range []struct {
		name             string
		win              raster.Window
		keepRows, useRow int
		stream           bool
	}{
		{"whole grid", raster.Window{}, 128, 128, false},
		{"window, other strips", raster.Window{Col: 97, Row: 133, Width: 311, Height: 250}, 64, 96, false},
		{"streamed rows", raster.Window{Col: 0, Row: 200, Width: 512, Height: 312}, 100, 37, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.Window = tc.win
			w := p.Grid.Width
			if !tc.win.Empty() {
				w = tc.win.Width
			}
			kept := &keptComposite{w: w}
			p.ChunkRows, p.KeepBefore = tc.keepRows, kept.keep
			var sa, sb streamed
			if tc.stream {
				p.Rows = sa.rows
			}
			computed, err := raster.Detect(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			p.KeepBefore, p.BeforeFrom, p.ChunkRows = nil, kept, tc.useRow
			p.Before = slices.Clone(p.Before)
			for i := range p.Before { // the before scenes must not be read
				p.Before[i].Hrefs = map[string]string{"red": "/nonexistent/B04.tif"}
			}
			if tc.stream {
				p.Rows = sb.rows
			}
			fromKept, err := raster.Detect(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRasters(computed, fromKept) || !slices.Equal(computed.Dropped, fromKept.Dropped) {
				t.Error("rasters differ")
			}
			if computed.Observed != fromKept.Observed || computed.NotObserved != fromKept.NotObserved {
				t.Errorf("observed %d/%d, from the kept composite %d/%d", computed.Observed, computed.NotObserved, fromKept.Observed, fromKept.NotObserved)
			}
			if !reflect.DeepEqual(sa, sb) {
				t.Error("streamed rows (class, true colour) differ")
			}
			if tc.stream && bytes.Count(sa.rgbBefore, []byte{0}) == len(sa.rgbBefore) {
				t.Error("no before colour streamed: the test does not exercise it")
			}
			qa, _ := computed.Quicklook.MarshalBinary()
			qb, _ := fromKept.Quicklook.MarshalBinary()
			if !bytes.Equal(qa, qb) {
				t.Error("quicklooks differ")
			}
			if len(computed.Regions) == 0 || !reflect.DeepEqual(computed.Regions, fromKept.Regions) {
				t.Errorf("%d regions computed, %d from the kept composite, or they differ", len(computed.Regions), len(fromKept.Regions))
			}
		})
	}
}

// A kept composite whose values no composite can hold fails the run with
// ErrKeptComposite (the caller then computes it), not a panic or a wrong result.
func TestDetectKeptBeforeRefusesBadValues(t *testing.T) {
	p := synthScenes(t, 256)
	kept := &keptComposite{w: p.Grid.Width}
	p.KeepBefore = kept.keep
	if _, err := raster.Detect(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	p.KeepBefore = nil
	n := len(p.Before)
	clearPix := slices.IndexFunc(kept.rows.K, func(k int8) bool { return k >= 0 })
	for _, tc := range []struct {
		name string
		edit func(r *raster.CompositeRows)
	}{
		{"scene out of range", func(r *raster.CompositeRows) { r.K[clearPix] = int8(n) }},
		{"count not the bits", func(r *raster.CompositeRows) { r.N[clearPix]++ }},
		{"bit of a missing scene", func(r *raster.CompositeRows) { r.Bits[clearPix] |= 1 << n; r.N[clearPix]++ }},
		{"chosen scene not clear", func(r *raster.CompositeRows) { r.DN[0][clearPix] = 0 }},
		{"none chosen but clear", func(r *raster.CompositeRows) { r.K[clearPix] = -1 }},
		{"negative scene", func(r *raster.CompositeRows) { r.K[clearPix] = -7 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := &keptComposite{w: kept.w, rows: raster.CompositeRows{K: slices.Clone(kept.rows.K), N: slices.Clone(kept.rows.N), Bits: slices.Clone(kept.rows.Bits)}}
			for b := range bad.rows.DN {
				bad.rows.DN[b] = slices.Clone(kept.rows.DN[b])
			}
			tc.edit(&bad.rows)
			p.BeforeFrom = bad
			if _, err := raster.Detect(context.Background(), p); !errors.Is(err, raster.ErrKeptComposite) {
				t.Fatalf("err %v, want ErrKeptComposite", err)
			}
		})
	}
	p.BeforeFrom = &keptComposite{w: kept.w} // empty: the read fails
	if _, err := raster.Detect(context.Background(), p); !errors.Is(err, raster.ErrKeptComposite) {
		t.Fatalf("err %v, want ErrKeptComposite", err)
	}
}

// compositeHashes pins what a composite holds at each CompositeVersion, on a fixed scene
// set: a kept composite is reused across deployments, so a change to masking or to the
// choice of observation that leaves CompositeVersion alone would mix composites of two
// codes. When this fails because such a change was made, bump CompositeVersion and add
// its hash; when the scene generator changed, update the hash of the current version.
var compositeHashes = map[int]string{1: "2bd289ce3afd2192d3ec8f28b12b0e4b58cbd0a1315b2e101c204b577ec87505"}

func TestCompositeVersionPinned(t *testing.T) {
	p := synthScenes(t, 256)
	kept := &keptComposite{w: p.Grid.Width}
	p.KeepBefore = kept.keep
	if _, err := raster.Detect(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	r := kept.rows
	for _, k := range r.K {
		h.Write([]byte{byte(k)})
	}
	h.Write(r.N)
	for _, plane := range append([][]uint16{r.Bits}, r.DN[:]...) {
		binary.Write(h, binary.LittleEndian, plane)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want := compositeHashes[raster.CompositeVersion]; got != want {
		t.Fatalf("composite of version %d hashes to %s, pinned %s: a change to what a composite holds needs a new raster.CompositeVersion", raster.CompositeVersion, got, want)
	}
}
