package worker

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

// TestFanOutMatchesSingleRun: a chunked run (16 chunks, regions cut by chunk borders
// stitched in the merge) publishes the same polygons, ids, areas and class raster as the
// unchunked run on the same scenes, and leaves no workspace behind.
func TestFanOutMatchesSingleRun(t *testing.T) {
	s := scenes(t)
	ctx := context.Background()
	single, chunked := t.TempDir(), t.TempDir()
	p := &Pipeline{}
	sum1, err := p.Detect(ctx, request(t, s.AOIGeoJSON, s.Root, single), nil)
	if err != nil {
		t.Fatal(err)
	}
	req := request(t, s.AOIGeoJSON, s.Root, chunked)
	mr, ws := runChunks(t, p, req)
	if mr.Count < 9 {
		t.Fatalf("%d chunks", mr.Count)
	}
	sum2, err := p.merge(ctx, mr, ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("single %v, chunked %v", sum1.Polygons, sum2.Polygons)
	for c, n := range sum1.Polygons {
		if sum2.Polygons[c] != n {
			t.Errorf("%s: %d polygons chunked, %d single", c, sum2.Polygons[c], n)
		}
		if a, b := sum1.Hectares[c], sum2.Hectares[c]; math.Abs(a-b) > 1e-3*a {
			t.Errorf("%s: %.4f ha chunked, %.4f single", c, b, a)
		}
	}
	read := func(dir string) map[string]raster.Feature {
		feats, err := raster.ReadVector(ctx, filepath.Join(dir, "changes.fgb"))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]raster.Feature{}
		for _, f := range feats {
			for _, fl := range f.Fields {
				if fl.Name == "id" {
					m[fl.Value.(string)] = f
				}
			}
		}
		return m
	}
	a, b := read(single), read(chunked)
	if len(a) != len(b) {
		t.Fatalf("%d polygons single, %d chunked", len(a), len(b))
	}
	// Regions stitched across chunk borders (a GEOS union of the pieces) stay valid.
	checkVectorFiles(t, chunked, "changes", len(b), []string{"before_start", "before_end", "after_start", "after_end"}, []string{"scenes"})
	for id, f := range a {
		g, ok := b[id]
		if !ok {
			t.Fatalf("polygon %s of the single run is missing from the chunked run", id)
		}
		fa, fb := field(f, "area_ha"), field(g, "area_ha")
		if math.Abs(fa-fb) > 1e-3*fa {
			t.Errorf("polygon %s: %.4f ha chunked, %.4f single", id, fb, fa)
		}
		if math.Abs(field(f, "dndvi")-field(g, "dndvi")) > 1e-3 {
			t.Errorf("polygon %s: dndvi %.4f chunked, %.4f single", id, field(g, "dndvi"), field(f, "dndvi"))
		}
	}
	for _, name := range []string{"change_class.tif", "clear_before.tif", "clear_after.tif"} {
		_, ca, _, err := raster.ReadAll(filepath.Join(single, name))
		if err != nil {
			t.Fatal(err)
		}
		_, cb, _, err := raster.ReadAll(filepath.Join(chunked, name))
		if err != nil {
			t.Fatal(err)
		}
		for i := range ca {
			if ca[i] != cb[i] {
				t.Fatalf("%s differs at pixel %d: %v chunked, %v single", name, i, cb[i], ca[i])
			}
		}
	}
	for _, name := range []string{"before_rgb.tif", "after_rgb.tif"} {
		_, _, ca, err := raster.ReadRGBPixels(filepath.Join(single, name))
		if err != nil {
			t.Fatal(err)
		}
		_, _, cb, err := raster.ReadRGBPixels(filepath.Join(chunked, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ca, cb) {
			t.Errorf("%s: the chunked run's composite differs from the single run's", name)
		}
	}
	if _, err := os.Stat(filepath.Join(chunked, ".work")); !os.IsNotExist(err) {
		t.Errorf("workspace left behind: %v", err)
	}
	checkOutputs(t, chunked, sum2)
}

func field(f raster.Feature, name string) float64 {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl.Value.(float64)
		}
	}
	return math.NaN()
}

// TestDetectChunkedInProcess: Detect cuts a grid wider than ChunkSide into chunks and merges
// them in the same process; the result equals the one-piece run.
func TestDetectChunkedInProcess(t *testing.T) {
	s := scenes(t)
	ctx := context.Background()
	single, chunked := t.TempDir(), t.TempDir()
	sum1, err := (&Pipeline{}).Detect(ctx, request(t, s.AOIGeoJSON, s.Root, single), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum2, err := (&Pipeline{ChunkSide: 402}).Detect(ctx, request(t, s.AOIGeoJSON, s.Root, chunked), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sum2.Timings["chunks"]; !ok {
		t.Fatalf("not chunked: timings %v", sum2.Timings)
	}
	for c, n := range sum1.Polygons {
		if sum2.Polygons[c] != n || math.Abs(sum1.Hectares[c]-sum2.Hectares[c]) > 1e-3*sum1.Hectares[c] {
			t.Errorf("%s: %d polygons / %.4f ha chunked, %d / %.4f single", c, sum2.Polygons[c], sum2.Hectares[c], n, sum1.Hectares[c])
		}
	}
	checkOutputs(t, chunked, sum2)
}

func TestEnoughScenes(t *testing.T) {
	in := []bool{true, true, true, false}
	masks := [][]bool{
		{true, true, false, false},
		{true, false, true, false},
		{false, true, true, true},
		{true, true, true, true},
	}
	tests := []struct{ target, want int }{
		{1, 2}, // the first two see every AOI pixel once
		{2, 3},
		{3, 4},
		{9, 4}, // never enough: read them all
	}
	for _, tt := range tests {
		got, met := enoughMet(len(masks), func(i int) []bool { return masks[i] }, in, tt.target)
		if got != tt.want || met != (tt.target <= 3) {
			t.Errorf("target %d: %d scenes (enough %v), want %d", tt.target, got, met, tt.want)
		}
	}
}

// A chunk result written with another dNDVI scale (a worker of another version) is
// refused by the merge, as a permanent failure, instead of being mosaicked.
func TestMergeRefusesStaleChunk(t *testing.T) {
	s := scenes(t)
	ctx := context.Background()
	p := &Pipeline{}
	mr, ws := runChunks(t, p, request(t, s.AOIGeoJSON, s.Root, t.TempDir()))
	// Rewrite chunk 1's result as an older worker would have written it.
	lp := filepath.Join(t.TempDir(), "c.gob")
	if err := ws.get(ctx, chunkName(1, ".gob"), lp); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(lp)
	if err != nil {
		t.Fatal(err)
	}
	var cr chunkResult
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&cr); err != nil {
		t.Fatal(err)
	}
	cr.DNDVIScale = 1e-4
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(cr); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lp, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ws.put(ctx, chunkName(1, ".gob"), lp); err != nil {
		t.Fatal(err)
	}
	_, err = p.merge(ctx, mr, ws, nil)
	if !errors.Is(err, ErrStaleChunk) || !Permanent(err) {
		t.Fatalf("merge: %v, want a permanent ErrStaleChunk", err)
	}
}

// runChunks runs every chunk of req (300 px) in turn, checking each one's count of chunks
// done, and returns the merge request and the run's workspace.
func runChunks(t *testing.T, p *Pipeline, req jobs.DetectRequest) (jobs.MergeRequest, workspace) {
	t.Helper()
	ctx := context.Background()
	pl, err := p.plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	chunks := chunkRequests(req, pl, 300)
	ws, err := p.workspace(req.Output, chunks[0].Run)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		done, err := p.chunk(ctx, c, ws, nil)
		if err != nil {
			t.Fatal(err)
		}
		if done != c.Index+1 {
			t.Fatalf("chunk %d: %d chunks done", c.Index, done)
		}
	}
	return jobs.MergeRequest{Request: req, Run: chunks[0].Run, Before: chunks[0].Before, After: chunks[0].After, Count: len(chunks)}, ws
}

// Of side-by-side steps, the first failure is reported, not the cancellation it caused in
// the others, unless the caller cancelled.
func TestFirstFailure(t *testing.T) {
	noScenes := fmt.Errorf("after period: %w", ErrNoScenes)
	stopped := fmt.Errorf("before period: rank scenes: %w", context.Canceled)
	live := context.Background()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		errs []error
		want error
	}{
		{"none", live, []error{nil, nil}, nil},
		{"one", live, []error{nil, noScenes}, noScenes},
		{"the cause, not the cancelled", live, []error{stopped, noScenes}, noScenes},
		{"only cancelled", live, []error{stopped, nil}, stopped},
		{"caller cancelled", gone, []error{stopped, noScenes}, stopped},
	} {
		if got := firstFailure(tt.ctx, tt.errs...); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
