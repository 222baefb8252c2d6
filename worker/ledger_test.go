package worker

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/paulmach/orb"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/ledger"
	"github.com/changewatch/changewatch/places"
	"github.com/changewatch/changewatch/raster"
)

// A scar near the Muchacha pit that grows month after month: run k holds a rectangle
// 200 m tall and 200+100k m wide, so every run overlaps the one before.
func scarRun(k int) (run string, files map[string][]byte) {
	month := time.Date(2024, time.Month(1+k), 1, 0, 0, 0, 0, time.UTC)
	run = month.Format("2006-01") + "_" + month.Format("2006-01")
	day := month.AddDate(0, 0, 10)
	scene := "S2A_35NPB_" + day.Format("20060102") + "_0_L2A"
	const lon, lat = 28.1395, 1.3175
	kx := 111.32e3 * math.Cos(lat*math.Pi/180)
	w := 200.0 + 100*float64(k)
	ring := [][2]float64{{lon, lat}, {lon + w/kx, lat}, {lon + w/kx, lat + 200/110.57e3}, {lon, lat + 200/110.57e3}, {lon, lat}}
	coords := ""
	for i, p := range ring {
		if i > 0 {
			coords += ","
		}
		coords += fmt.Sprintf("[%.7f,%.7f]", p[0], p[1])
	}
	files = map[string][]byte{
		"changes.geojson": fmt.Appendf(nil, `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[%s]]},
"properties":{"id":"cw-%d","class":"vegetation_to_bare","area_ha":%g,"confidence":0.9,"scenes":"%s"}}]}`, coords, k, w*200/1e4, scene),
		"item.json": fmt.Appendf(nil, `{"properties":{"changewatch:after":"%s/%s","changewatch:scenes_after":["%s"],"changewatch:observed_pct":90}}`,
			month.Format(time.DateOnly), month.AddDate(0, 1, -1).Format(time.DateOnly), scene),
		"manifest.json": fmt.Appendf(nil, `{"created":"%s"}`, month.AddDate(0, 1, 1).Format(time.RFC3339)),
	}
	return run, files
}

// publishDir writes a run into <root>/<aoi>/<run>/, manifest last.
func publishDir(t *testing.T, root, aoiID string, k int) string {
	run, files := scarRun(k)
	dir := filepath.Join(root, aoiID, run)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"changes.geojson", "item.json", "manifest.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

func bundledPlaces(t testing.TB) *places.Layers {
	l, err := places.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// checkLedgerFiles opens the published ledger as a GIS analyst would and checks that one
// incident followed all runs.
func checkLedgerFiles(t *testing.T, dir string, runs []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "ledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Runs, runs) || len(l.Incidents) != 1 {
		t.Fatalf("ledger runs %v (want %v), %d incidents (want 1)", l.Runs, runs, len(l.Incidents))
	}
	inc := l.Incidents[0]
	if inc.RunsSeen != len(runs) || inc.ProtectedArea != "Okapi Faunal Reserve" || inc.MineName != "Muchacha" || inc.MineDistanceKm > 0.1 {
		t.Fatalf("incident %+v", inc)
	}
	for _, name := range []string{"incidents.fgb", "incidents.gpkg", "incidents.geojson"} {
		feats, err := raster.ReadVector(context.Background(), filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(feats) != 1 {
			t.Fatalf("%s: %d features", name, len(feats))
		}
		got := map[string]any{}
		for _, f := range feats[0].Fields {
			got[f.Name] = f.Value
		}
		for _, fl := range incidentSchema {
			if _, ok := got[fl.Name]; !ok {
				t.Fatalf("%s lacks %s", name, fl.Name)
			}
		}
		if got["incident_id"] != inc.ID {
			t.Fatalf("%s: id %v, want %s", name, got["incident_id"], inc.ID)
		}
		for _, f := range []string{"first_seen", "last_seen", "mine_visit_date"} {
			if _, ok := got[f].(time.Time); !ok {
				t.Fatalf("%s: %s is %#v, not a Date field", name, f, got[f])
			}
		}
	}
	checkVectorFiles(t, dir, "incidents", 1, []string{"first_seen", "last_seen", "mine_visit_date"}, nil)
	f, err := os.Open(filepath.Join(dir, "incident_history.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(runs) {
		t.Fatalf("%d history rows, want %d", len(rows)-1, len(runs))
	}
	for _, r := range rows[1:] {
		if r[0] != inc.ID {
			t.Fatalf("history row %v: not the incident", r)
		}
	}
}

// TestUpdateLedgerS3: the ledger of runs in the real S3 server is published next to them,
// and a second update (a retried or repeated one) publishes the same bytes.
func TestUpdateLedgerS3(t *testing.T) {
	ctx := context.Background()
	const bucket = "cw-ledger"
	store, _, _, _ := testS3(t, bucket)
	var runs []string
	for k := range 3 {
		run, files := scarRun(k)
		runs = append(runs, run)
		for _, name := range []string{"changes.geojson", "item.json", "manifest.json"} {
			if err := store.Put(ctx, bucket, "out/mine/"+run+"/"+name, files[name], "application/json"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A run being published (no manifest yet) is not in the ledger.
	if err := store.Put(ctx, bucket, "out/mine/2024-04_2024-04/changes.geojson", []byte(`{}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{Store: store}
	fetch := func() (string, map[string][]byte) {
		dir := t.TempDir()
		got := map[string][]byte{}
		for _, name := range LedgerFiles {
			if err := store.GetFile(ctx, bucket, "out/mine/"+name, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			got[name], _ = os.ReadFile(filepath.Join(dir, name))
		}
		return dir, got
	}
	if _, err := p.UpdateLedger(ctx, "s3://"+bucket+"/out", "mine", bundledPlaces(t), 50); err != nil {
		t.Fatal(err)
	}
	dir, first := fetch()
	checkLedgerFiles(t, dir, runs)
	if _, err := p.UpdateLedger(ctx, "s3://"+bucket+"/out", "mine", bundledPlaces(t), 50); err != nil {
		t.Fatal(err)
	}
	_, second := fetch()
	for _, name := range []string{"ledger.json", "incident_history.csv", "incidents.geojson"} {
		if !bytes.Equal(first[name], second[name]) {
			t.Errorf("%s differs on a second update", name)
		}
	}
}

func TestRunTarget(t *testing.T) {
	tests := []struct{ out, aoi, root, run string }{
		{"s3://b/results/mine/2024-01_2024-01", "mine", "s3://b/results", "2024-01_2024-01"},
		{"s3://b/mine/2024-01_2024-03/", "mine", "s3://b", "2024-01_2024-03"},
		{"/tmp/x/mine/2024-01_2024-01", "mine", "/tmp/x", "2024-01_2024-01"},
		{"/tmp/x/other/2024-01_2024-01", "mine", "", ""},
		{"/tmp/x/mine/2024Q1", "mine", "", ""},
	}
	for _, tt := range tests {
		root, run, ok := runTarget(jobs.DetectRequest{Output: tt.out, AOIID: tt.aoi})
		if root != tt.root || run != tt.run || ok != (tt.root != "") {
			t.Errorf("%s: %q %q %v", tt.out, root, run, ok)
		}
	}
}

// ledgerWorker is an in-process worker that updates ledgers.
func ledgerWorker(t *testing.T, concurrency int) (*asynq.Client, *asynq.Inspector, *Handler) {
	rdb := testRedis(t)
	client := asynq.NewClientFromRedisClient(rdb)
	h := &Handler{Pipeline: &Pipeline{}, Ledgers: &Ledgers{Client: client, Redis: rdb, Places: bundledPlaces(t)}}
	startWorker(t, rdb, h, concurrency)
	return client, asynq.NewInspectorFromRedisClient(rdb), h
}

func enqueueLedger(t *testing.T, client *asynq.Client, root, aoiID, run string) string {
	t.Helper()
	task, err := jobs.NewLedgerUpdateTask(jobs.LedgerUpdateRequest{Output: root, AOIID: aoiID, Run: run})
	if err != nil {
		t.Fatal(err)
	}
	info, err := client.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// TestLedgerUpdatesTogether: the updates of three runs finishing at the same moment (and
// one of them retried: enqueued twice) on a worker running two at a time: the ledger ends
// with every run, once.
func TestLedgerUpdatesTogether(t *testing.T) {
	client, ins, _ := ledgerWorker(t, 2)
	root := t.TempDir()
	var runs, ids []string
	for k := range 3 {
		runs = append(runs, publishDir(t, root, "mine", k))
	}
	for _, run := range append(runs, runs[1]) {
		ids = append(ids, enqueueLedger(t, client, root, "mine", run))
	}
	for _, id := range ids {
		waitTask(t, ins, jobs.QueueLedger, id, time.Minute, asynq.TaskStateCompleted)
	}
	checkLedgerFiles(t, filepath.Join(root, "mine"), runs)
}

// TestLedgerUpdateWhileLocked: an update that finds another one holding the AOI's lock
// leaves its run pending and ends; the holder rebuilds again before it lets go, so the run
// is in the ledger when the holder is done.
func TestLedgerUpdateWhileLocked(t *testing.T) {
	client, ins, h := ledgerWorker(t, 1)
	ctx := context.Background()
	root := t.TempDir()
	run0, run1 := publishDir(t, root, "mine", 0), publishDir(t, root, "mine", 1)
	keys := ledgerKeys("mine")
	// Another update holds the lock.
	if err := h.Ledgers.Redis.Set(ctx, keys[0], "other", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	waitTask(t, ins, jobs.QueueLedger, enqueueLedger(t, client, root, "mine", run1), time.Minute, asynq.TaskStateCompleted)
	if _, err := os.Stat(filepath.Join(root, "mine", "ledger.json")); err == nil {
		t.Fatal("an update ran while the lock was held")
	}
	if pending, _ := h.Ledgers.Redis.SMembers(ctx, keys[1]).Result(); !slices.Equal(pending, []string{run1}) {
		t.Fatalf("pending %v, want [%s]", pending, run1)
	}
	// The holder goes (here: its lock is removed); the next update takes the pending run too.
	h.Ledgers.Redis.Del(ctx, keys[0])
	waitTask(t, ins, jobs.QueueLedger, enqueueLedger(t, client, root, "mine", run0), time.Minute, asynq.TaskStateCompleted)
	checkLedgerFiles(t, filepath.Join(root, "mine"), []string{run0, run1})
	if n, _ := h.Ledgers.Redis.Exists(ctx, keys...).Result(); n != 0 {
		t.Fatalf("%d lock keys left", n)
	}
}

// slowPlaces makes a child worker's ledger update take a while once it holds the lock.
type slowPlaces struct{ *places.Layers }

func (s slowPlaces) Locate(fp orb.MultiPolygon) ledger.Place {
	time.Sleep(3 * time.Second)
	return s.Layers.Locate(fp)
}

// TestLedgerWorkerKilled: a worker killed in the middle of a ledger update (holding the
// AOI's lock) while another run is published: the lock expires, asynq hands the task to
// another worker, and the ledger ends with both runs.
func TestLedgerWorkerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for asynq's recoverer (about a minute)")
	}
	t.Parallel()
	rdb := testRedisOn(t, killedLedgerDB)
	ctx := context.Background()
	client := asynq.NewClientFromRedisClient(rdb)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	root := t.TempDir()
	run0 := publishDir(t, root, "mine", 0)
	id := enqueueLedger(t, client, root, "mine", run0)
	child := startLedgerChild(t, killedLedgerDB)
	keys := ledgerKeys("mine")
	deadline := time.Now().Add(time.Minute)
	for rdb.Exists(ctx, keys[0]).Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the child never took the ledger lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	// A run published meanwhile: its update finds the dead worker's lock and leaves its run pending.
	h := &Handler{Pipeline: &Pipeline{}, Ledgers: &Ledgers{Client: client, Redis: rdb, Places: bundledPlaces(t)}}
	startWorker(t, rdb, h, 1)
	run1 := publishDir(t, root, "mine", 1)
	waitTask(t, ins, jobs.QueueLedger, enqueueLedger(t, client, root, "mine", run1), time.Minute, asynq.TaskStateCompleted)
	got := waitTask(t, ins, jobs.QueueLedger, id, 3*time.Minute, asynq.TaskStateCompleted)
	t.Logf("the killed update was retried %d time(s)", got.Retried)
	checkLedgerFiles(t, filepath.Join(root, "mine"), []string{run0, run1})
}

// childLedgerEnv makes a child worker (see runChildWorker) update ledgers slowly.
const childLedgerEnv = "CHANGEWATCH_TEST_CHILD_LEDGER"

func startLedgerChild(t *testing.T, db int) *exec.Cmd {
	return startChild(t, db, false, childLedgerEnv+"=1")
}

// childLedgers configures a child worker's ledger updates when the test asks for them.
func childLedgers(h *Handler, rdb *redis.Client) {
	if os.Getenv(childLedgerEnv) == "" {
		return
	}
	l, err := places.Bundled()
	if err != nil {
		panic(err)
	}
	h.Ledgers = &Ledgers{Client: asynq.NewClientFromRedisClient(rdb), Redis: rdb, Places: slowPlaces{l}}
}
