package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/stac"
	"github.com/changewatch/changewatch/synth"
)

var (
	synthOnce sync.Once
	synthDir  string // the temporary folder the scenes are generated in
	synthRes  *synth.Result
	synthErr  error
)

// scenes generates the synthetic scene set once for all tests of the package.
func scenes(t testing.TB) *synth.Result {
	t.Helper()
	synthOnce.Do(func() {
		raster.Init(raster.S3Config{})
		synthDir, synthErr = os.MkdirTemp("", "changewatch-synth-")
		if synthErr != nil {
			return
		}
		synthRes, synthErr = synth.Generate(context.Background(), synthDir, synth.Config{Size: 1024, Seed: 7})
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return synthRes
}

func TestMain(m *testing.M) {
	if addr := os.Getenv(childWorkerEnv); addr != "" {
		runChildWorker(addr)
	}
	code := m.Run()
	if synthDir != "" {
		os.RemoveAll(synthDir)
	}
	if monthlyDir != "" {
		os.RemoveAll(monthlyDir)
	}
	os.Exit(code)
}

func request(t testing.TB, aoiPath, catalog, out string) jobs.DetectRequest {
	t.Helper()
	data, err := os.ReadFile(aoiPath)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := jobs.ParsePeriod("2023-01-01/2023-03-31")
	after, _ := jobs.ParsePeriod("2024-01-01/2024-03-31")
	return jobs.DetectRequest{Version: jobs.PayloadVersion, AOI: data, Before: before, After: after, Catalog: catalog, Output: out}
}

// TestSyntheticAccuracy is the accuracy gate: on the generated scenes (clouds with
// unflagged edges and shadows, haze, a nodata swath, seasonal browning, an illumination
// change and a radiometric offset between dates), change pixels are found with F1 >= 0.9
// and no decoy is reported.
func TestSyntheticAccuracy(t *testing.T) {
	s := scenes(t)
	out := t.TempDir()
	p := &Pipeline{}
	sum, err := p.Detect(context.Background(), request(t, s.AOIGeoJSON, s.Root, out), nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := raster.ScoreVectors(context.Background(), s.TruthGeoJSON, filepath.Join(out, "changes.fgb"), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("polygons %v hectares %v observed %.1f%%", sum.Polygons, sum.Hectares, sum.ObservedPct)
	t.Logf("synthetic accuracy: %s", sc)
	fmt.Printf("synthetic accuracy (1024 px, seed 7): %s\n", sc)
	if sc.F1 < 0.9 {
		t.Errorf("pixel F1 %.3f < 0.9", sc.F1)
	}
	if sc.DecoysReported != 0 {
		t.Errorf("%d of %d decoys reported", sc.DecoysReported, sc.Decoys)
	}
	checkOutputs(t, out, sum)
}

// TestHardSyntheticAccuracy is the gate on the hard scenes (synth --hard: mixed edge
// pixels, wet spoil, turbid ponds, regrowth, burn severity, 10-20 m roads, 0.2-0.5 ha
// clearings), seed 7 (tuning seeds 1-3, hold-out seeds 21-24: README, Accuracy): F1 >= 0.9,
// every object of 0.5 ha or more found, no decoy reported.
func TestHardSyntheticAccuracy(t *testing.T) {
	raster.Init(raster.S3Config{})
	dir := t.TempDir()
	s, err := synth.Generate(context.Background(), dir, synth.Config{Size: 1024, Seed: 7, Hard: true})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	p := &Pipeline{}
	if _, err := p.Detect(context.Background(), request(t, s.AOIGeoJSON, s.Root, out), nil); err != nil {
		t.Fatal(err)
	}
	sc, err := raster.ScoreVectors(context.Background(), s.TruthGeoJSON, filepath.Join(out, "changes.fgb"), 10)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("hard synthetic accuracy (1024 px, seed 7): %s\n", sc)
	if sc.F1 < 0.9 {
		t.Errorf("pixel F1 %.3f < 0.9", sc.F1)
	}
	if sc.LargeObjectsDetected != sc.LargeObjects {
		t.Errorf("%d of %d objects of %.1f ha or more found", sc.LargeObjectsDetected, sc.LargeObjects, raster.LargeObjectHa)
	}
	if sc.DecoysReported != 0 {
		t.Errorf("%d of %d decoys reported", sc.DecoysReported, sc.Decoys)
	}
}

// checkOutputs verifies the published folder: every file listed in the manifest with its
// size and hash, the polygons carrying every attribute, ids unique.
func checkOutputs(t *testing.T, out string, sum *jobs.Summary) {
	t.Helper()
	var m Manifest
	data, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	want := append(outputNames(), manifestName)
	if len(m.Files) != len(want)-1 {
		t.Fatalf("manifest lists %d files, want %d", len(m.Files), len(want)-1)
	}
	// Every published file hashed again, on its own.
	published, err := hashFiles(out, outputNames(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Files {
		if m.Files[i] != published[i] {
			t.Errorf("manifest entry %+v does not match the published file %+v", m.Files[i], published[i])
		}
	}
	checkRasterLegends(t, out)
	checkItem(t, out)
	feats, err := raster.ReadVector(context.Background(), filepath.Join(out, "changes.gpkg"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range sum.Polygons {
		n += c
	}
	if len(feats) != n {
		t.Fatalf("%d polygons in changes.gpkg, summary says %d", len(feats), n)
	}
	ids := map[string]bool{}
	for _, f := range feats {
		got := map[string]any{}
		for _, fl := range f.Fields {
			got[fl.Name] = fl.Value
		}
		for _, fl := range schema {
			if _, ok := got[fl.Name]; !ok {
				t.Fatalf("polygon lacks attribute %s: %v", fl.Name, got)
			}
		}
		id := got["id"].(string)
		if ids[id] {
			t.Errorf("duplicate id %s", id)
		}
		ids[id] = true
		if a := got["area_ha"].(float64); a < jobs.DefaultMinAreaHa*0.99 {
			t.Errorf("polygon %s of %.3f ha is under the minimum mapping unit", id, a)
		}
		if ga := aoi.GeodesicAreaHa(f.Geometry); abs(ga-got["area_ha"].(float64)) > 1e-3*ga+1e-4 {
			t.Errorf("polygon %s: area_ha %v, geometry %.4f ha", id, got["area_ha"], ga)
		}
		if c := got["confidence"].(float64); c <= 0 || c > 1 {
			t.Errorf("polygon %s: confidence %v", id, c)
		}
		if got["scenes"].(string) == "" || !strings.HasPrefix(id, "cw-") {
			t.Errorf("polygon %s: scenes %q", id, got["scenes"])
		}
	}
	checkVectorFiles(t, out, "changes", n, []string{"before_start", "before_end", "after_start", "after_end"}, []string{"scenes"})
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestStableIDs: the same AOI, scenes and periods give the same polygon ids.
func TestStableIDs(t *testing.T) {
	s := scenes(t)
	ids := func() []string {
		out := t.TempDir()
		if _, err := (&Pipeline{}).Detect(context.Background(), request(t, s.AOIGeoJSON, s.Root, out), nil); err != nil {
			t.Fatal(err)
		}
		feats, err := raster.ReadVector(context.Background(), filepath.Join(out, "changes.fgb"))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range feats {
			for _, fd := range f.Fields {
				if fd.Name == "id" {
					ids = append(ids, fd.Value.(string))
				}
			}
		}
		if len(ids) != len(feats) {
			t.Fatalf("%d ids for %d polygons", len(ids), len(feats))
		}
		return ids
	}
	a, b := ids(), ids()
	if strings.Join(a, ",") != strings.Join(b, ",") || len(a) == 0 {
		t.Fatalf("ids differ between runs:\n%v\n%v", a, b)
	}
}

// testS3 connects to the test S3 server, points GDAL's /vsis3/ at it and makes sure bucket
// exists.
func testS3(t testing.TB, bucket string) (store *s3store.Client, endpoint, access, secret string) {
	t.Helper()
	endpoint, access, secret = testenv.S3Endpoint(t)
	store, err := s3store.New(context.Background(), s3store.Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	raster.Init(raster.S3Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	if err := store.EnsureBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	return store, endpoint, access, secret
}

// TestS3CatalogAndOutput runs against the real S3-compatible server: the scenes are
// uploaded in the Earth Search layout, read by GDAL through /vsis3/ range requests, and
// the outputs published to the bucket, manifest last.
func TestS3CatalogAndOutput(t *testing.T) {
	s := scenes(t)
	ctx := context.Background()
	const bucket = "cw-e2e"
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
	p := &Pipeline{Store: store}
	req := request(t, s.AOIGeoJSON, "s3://"+bucket+"/catalog", "s3://"+bucket+"/results/synthetic")
	sum, err := p.Detect(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.List(ctx, bucket, "results/synthetic/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(outputNames())+1 {
		t.Fatalf("published keys %v", keys)
	}
	local := t.TempDir()
	for _, k := range keys {
		if err := store.GetFile(ctx, bucket, k, filepath.Join(local, filepath.Base(k))); err != nil {
			t.Fatal(err)
		}
	}
	checkOutputs(t, local, sum)
	if _, err := store.Get(ctx, bucket, "results/synthetic/manifest.json"); errors.Is(err, s3store.ErrNotFound) {
		t.Fatal("no manifest")
	}
}

// TestFailedRunLeavesNothing: a corrupt band fails the run after planning; the output
// folder gets no manifest and no file at all, and a rerun into a folder holding an old
// result never leaves that folder with a manifest that lists files of two runs.
func TestFailedRunLeavesNothing(t *testing.T) {
	s := scenes(t)
	cat := t.TempDir()
	err := filepath.WalkDir(s.Root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.Root, p)
		dst := filepath.Join(cat, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(rel, s.AfterIDs[0]) && filepath.Base(rel) == "B08.tif" {
			data = data[:len(data)/3] // truncated upload
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err = (&Pipeline{}).Detect(context.Background(), request(t, s.AOIGeoJSON, cat, out), nil)
	if err == nil {
		t.Fatal("detect succeeded on a corrupt band")
	}
	if !Permanent(err) {
		t.Errorf("a corrupt band is not a permanent failure: %v", err)
	}
	t.Logf("error: %v", err)
	left, _ := os.ReadDir(out)
	if len(left) != 0 {
		t.Fatalf("a failed run left %d files in the output folder", len(left))
	}
}

func TestBadInputIsPermanent(t *testing.T) {
	s := scenes(t)
	tests := []struct {
		name string
		edit func(r *jobs.DetectRequest)
	}{
		{"not json", func(r *jobs.DetectRequest) { r.AOI = []byte("{oops") }},
		{"point", func(r *jobs.DetectRequest) { r.AOI = []byte(`{"type":"Point","coordinates":[28.1,1.3]}`) }},
		{"unknown version", func(r *jobs.DetectRequest) { r.Version = 99 }},
		{"periods reversed", func(r *jobs.DetectRequest) { r.Before, r.After = r.After, r.Before }},
		{"no scenes in the period", func(r *jobs.DetectRequest) { r.After, _ = jobs.ParsePeriod("2025-06-01/2025-06-30") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			req := request(t, s.AOIGeoJSON, s.Root, out)
			tt.edit(&req)
			_, err := (&Pipeline{}).Detect(context.Background(), req, nil)
			if err == nil || !Permanent(err) {
				t.Fatalf("error %v: want a permanent error", err)
			}
		})
	}
}

// TestRealEarthSearchSceneThroughS3: the real Earth Search item and COGs, laid out in a
// bucket named sentinel-cogs on the real S3 server exactly as in the public bucket, are
// found through an s3:// catalog and read through the https://sentinel-cogs.s3.us-west-2.
// amazonaws.com hrefs of the item, remapped to the configured (local) endpoint.
func TestRealEarthSearchSceneThroughS3(t *testing.T) {
	ctx := context.Background()
	store, _, _, _ := testS3(t, "sentinel-cogs")
	const prefix = "sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A/"
	dir := filepath.Join(testenv.SharedData(t), "sentinel2/sentinel-cogs", prefix)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := store.PutFile(ctx, "sentinel-cogs", prefix+e.Name(), filepath.Join(dir, e.Name()), ""); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := stac.NewStatic("s3://sentinel-cogs/sentinel-s2-l2a-cogs", store, nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := cat.Search(ctx, stac.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || !strings.HasPrefix(items[0].Assets["red"].Href, "https://sentinel-cogs.s3.us-west-2.amazonaws.com/") {
		t.Fatalf("items %+v", items)
	}
	it := items[0]
	sc := raster.Scene{ID: it.ID, Date: it.Datetime, DNOffset: it.DNOffset(), Hrefs: map[string]string{}}
	for _, k := range raster.BandKeys {
		sc.Hrefs[k] = it.Assets[k].Href
	}
	// A 20 x 15 km window of the tile on its own 100 m grid (the sample is downsampled 10x).
	g := raster.Grid{EPSG: 32629, X0: 199980 + 30000, Y0: 2800020 - 40000, Res: 100, Width: 200, Height: 150}
	res, err := raster.Detect(ctx, raster.DetectParams{Grid: g, Before: []raster.Scene{sc}, After: []raster.Scene{sc},
		Mask: true, MaskBuffer: 1, Rules: raster.DefaultRules, MinPixels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Observed < g.Pixels()/2 || len(res.Regions) != 0 {
		t.Fatalf("observed %d of %d pixels, %d change regions (want most observed, no change between a scene and itself)", res.Observed, g.Pixels(), len(res.Regions))
	}
}

// TestScenesRankedByClearView: with two after-scenes allowed, the one with the nodata
// swath over the AOI (the least clear over it, though its tile-wide cloud cover is not the
// highest) is left out.
func TestScenesRankedByClearView(t *testing.T) {
	s := scenes(t)
	req := request(t, s.AOIGeoJSON, s.Root, t.TempDir())
	req.Options.MaxScenes = 2
	sum, err := (&Pipeline{}).Detect(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.ScenesAfter) != 2 || slices.Contains(sum.ScenesAfter, s.SwathID) {
		t.Fatalf("after scenes %v, want two without the swath scene %s", sum.ScenesAfter, s.SwathID)
	}
}
