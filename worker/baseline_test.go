package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/synth"
)

var (
	monthlyOnce sync.Once
	monthlyDir  string // removed by TestMain
	monthlyRes  *synth.Result
	monthlyErr  error
)

// monthlyScenes generates (once) a scene set of 12 baseline dates, one a month of 2023,
// and two new months, January and February 2024.
func monthlyScenes(t *testing.T) *synth.Result {
	t.Helper()
	monthlyOnce.Do(func() {
		raster.Init(raster.S3Config{})
		monthlyDir, monthlyErr = os.MkdirTemp("", "changewatch-monthly-")
		if monthlyErr != nil {
			return
		}
		var before []time.Time
		for m := range 12 {
			before = append(before, time.Date(2023, time.Month(1+m), 12, 0, 0, 0, 0, time.UTC))
		}
		monthlyRes, monthlyErr = synth.Generate(context.Background(), monthlyDir, synth.Config{Size: 512, Seed: 11,
			Before: before, After: []time.Time{time.Date(2024, 1, 9, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 9, 0, 0, 0, 0, time.UTC)}})
	})
	if monthlyErr != nil {
		t.Fatal(monthlyErr)
	}
	return monthlyRes
}

// monthlyRequest is January 2024 against the 12 months before it, published to out as
// the run of AOI "synth" (the ledger layout, which keeps baselines).
func monthlyRequest(t *testing.T, s *synth.Result, catalog, out string) jobs.DetectRequest {
	req := request(t, s.AOIGeoJSON, catalog, out+"/synth/2024-01_2024-01")
	req.AOIID = "synth"
	req.Before, _ = jobs.ParsePeriod("2023-01-01/2023-12-31")
	req.After, _ = jobs.ParsePeriod("2024-01-01/2024-01-31")
	return req
}

// sameOutputs fails unless the runs published at a and b hold the same results: every
// raster, picture and the GeoJSON byte for byte, item.json but for its creation time and
// the assets' sizes and checksums, the
// GeoPackage's features (its metadata holds a time) and the FlatGeobuf's (once, in a full
// -race run of the package, its bytes differed with the same features in every format).
func sameOutputs(t *testing.T, a, b string) {
	t.Helper()
	for _, name := range outputNames() {
		da, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "item.json":
			var ia, ib map[string]any
			if err := json.Unmarshal(da, &ia); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(db, &ib); err != nil {
				t.Fatal(err)
			}
			// The creation time, and the assets' sizes and checksums (the files are
			// compared here themselves, and the GeoPackage's bytes hold a time).
			for _, it := range []map[string]any{ia, ib} {
				delete(it["properties"].(map[string]any), "created")
				for _, as := range it["assets"].(map[string]any) {
					delete(as.(map[string]any), "file:checksum")
					delete(as.(map[string]any), "file:size")
				}
			}
			if !reflect.DeepEqual(ia, ib) {
				t.Errorf("item.json differs:\n%s\n%s", da, db)
			}
		case "changes.gpkg", "changes.fgb":
			fa, err := raster.ReadVector(context.Background(), filepath.Join(a, name))
			if err != nil {
				t.Fatal(err)
			}
			fb, err := raster.ReadVector(context.Background(), filepath.Join(b, name))
			if err != nil {
				t.Fatal(err)
			}
			if len(fa) == 0 || !reflect.DeepEqual(fa, fb) {
				t.Errorf("%s: %d and %d features, or they differ", name, len(fa), len(fb))
			}
		default:
			if !bytes.Equal(da, db) {
				t.Errorf("%s differs", name)
			}
		}
	}
}

// kept lists the kept baselines of the AOI "synth" under out (window folder/entry.cwb).
func kept(t *testing.T, out string) []string {
	t.Helper()
	var names []string
	root := filepath.Join(out, "synth", ".baseline")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".cwb") {
			rel, _ := filepath.Rel(root, p)
			names = append(names, rel)
		}
		return nil
	})
	return names
}

// copyDir copies the published run at src into a new folder.
func copyRun(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range outputNames() {
		if err := copyFileAtomic(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A monthly run keeps its baseline composite; the next run with the same baseline scenes
// reads it instead of those scenes and publishes the same results. A kept entry that is
// damaged, or holds another composite under the key's name, is computed again (and
// replaced); each window keeps its two newest entries.
func TestKeptBaselineGivesTheSameRun(t *testing.T) {
	s := monthlyScenes(t)
	ctx := context.Background()
	out := t.TempDir()
	p := &Pipeline{WorkDir: t.TempDir()}
	req := monthlyRequest(t, s, s.Root, out)
	run := func(req jobs.DetectRequest, want string) *jobs.Summary {
		t.Helper()
		sum, err := p.Detect(ctx, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Baseline != want {
			t.Fatalf("baseline %q, want %q", sum.Baseline, want)
		}
		return sum
	}
	cold := run(req, baselineComputed)
	if len(cold.ScenesBefore) < 2 {
		t.Fatalf("%d baseline scenes chosen: the test needs several", len(cold.ScenesBefore))
	}
	computed := copyRun(t, req.Output)
	entries := kept(t, out)
	if len(entries) != 1 {
		t.Fatalf("kept %v, want one entry", entries)
	}
	entry := filepath.Join(out, "synth", ".baseline", entries[0])

	run(req, baselineKept)
	sameOutputs(t, computed, req.Output)

	// Damaged in a strip: found while reading, the run computes it again.
	data, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(data)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(entry, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	run(req, baselineComputed)
	sameOutputs(t, computed, req.Output)
	run(req, baselineKept) // kept again, as a new entry
	if entries = kept(t, out); len(entries) != 1 {
		t.Fatalf("kept %v, want one entry", entries)
	}
	entry = filepath.Join(out, "synth", ".baseline", entries[0])

	// Another composite (a mask buffer of 4) under the key's name: refused by its header.
	other := req
	other.Options.MaskBuffer = new(int)
	*other.Options.MaskBuffer = 4
	run(other, baselineComputed)
	entries = kept(t, out)
	if len(entries) != 2 {
		t.Fatalf("kept %v, want two entries", entries)
	}
	var otherEntry string
	for _, e := range entries {
		if p := filepath.Join(out, "synth", ".baseline", e); p != entry {
			otherEntry = p
		}
	}
	if err := copyFileAtomic(otherEntry, entry); err != nil {
		t.Fatal(err)
	}
	run(req, baselineComputed)
	sameOutputs(t, computed, req.Output)

	// A third composite: the oldest entry goes.
	*other.Options.MaskBuffer = 3
	run(other, baselineComputed)
	if entries := kept(t, out); len(entries) != 2 {
		t.Fatalf("kept %v, want the two newest", entries)
	}
}

// A run cut into chunks keeps one composite per chunk window, and the next run reads
// them all and publishes the same results.
func TestKeptBaselineChunked(t *testing.T) {
	s := monthlyScenes(t)
	out := t.TempDir()
	p := &Pipeline{WorkDir: t.TempDir(), ChunkSide: 300}
	req := monthlyRequest(t, s, s.Root, out)
	if _, err := p.Detect(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	computed := copyRun(t, req.Output)
	entries := kept(t, out)
	if len(entries) != 4 {
		t.Fatalf("kept %v, want one entry per chunk (4)", entries)
	}
	var logs bytes.Buffer
	p.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if _, err := p.Detect(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "before composite from the kept baseline"); n != 4 {
		t.Fatalf("%d chunks read the kept baseline, want 4:\n%s", n, logs.String())
	}
	sameOutputs(t, computed, req.Output)
}

// An output outside the ledger layout keeps nothing.
func TestKeptBaselineOnlyForLedgerRuns(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want string
		ok   bool
	}{
		{"s3://b/results/muchacha/2024-01_2024-01", "s3://b/results/muchacha/.baseline", true},
		{"/data/out/muchacha/2024-01_2024-03/", "/data/out/muchacha/.baseline", true},
		{"out/muchacha", "", false},
		{"2024-01_2024-01", "", false},
		{"s3://b/x/2024-13_2024-01", "", false},
	} {
		got, ok := keptFolder(tc.out)
		if got != tc.want || ok != tc.ok {
			t.Errorf("keptFolder(%q) = %q, %v; want %q, %v", tc.out, got, ok, tc.want, tc.ok)
		}
	}
}

// In a bucket (the real S3 server), the kept baseline is an object under the AOI's
// .baseline/ prefix, fetched by the next run, which publishes the same results.
func TestKeptBaselineInBucket(t *testing.T) {
	s := monthlyScenes(t)
	ctx := context.Background()
	const bucket = "cw-kept"
	store, _, _, _ := testS3(t, bucket)
	err := filepath.WalkDir(s.Root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.Root, p)
		return store.PutFile(ctx, bucket, "catalog/"+filepath.ToSlash(rel), p, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Store: store, WorkDir: t.TempDir()}
	req := monthlyRequest(t, s, "s3://"+bucket+"/catalog", "s3://"+bucket+"/results")
	fetch := func() string {
		t.Helper()
		dir := t.TempDir()
		for _, name := range outputNames() {
			if err := store.GetFile(ctx, bucket, "results/synth/2024-01_2024-01/"+name, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for i, want := range []string{baselineComputed, baselineKept} {
		sum, err := p.Detect(ctx, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Baseline != want {
			t.Fatalf("run %d: baseline %q, want %q", i+1, sum.Baseline, want)
		}
		if i == 0 {
			keys, err := store.List(ctx, bucket, "results/synth/.baseline/")
			if err != nil || len(keys) != 1 || !strings.HasSuffix(keys[0], ".cwb") {
				t.Fatalf("kept %v (%v), want one entry", keys, err)
			}
			first := fetch()
			defer func() { sameOutputs(t, first, fetch()) }()
		}
	}
}
