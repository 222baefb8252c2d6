package watch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/watch"
)

// Redis databases of this package's tests: asynq's key names are fixed, so each test
// gets a database of its own (cmd/changewatch's scheduler tests use 8).
const (
	dbCatchUp = 5
	dbManager = 6
)

// testRedis returns a client of the test redis-server on database db, emptied.
func testRedis(t *testing.T, db int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t), DB: db})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redis %s db %d: %v", testenv.Redis(t), db, err)
	}
	return rdb
}

// monthlyTasks returns the ids of the pending tasks of the monthly queue.
func monthlyTasks(t *testing.T, ins *asynq.Inspector) []string {
	t.Helper()
	tasks, err := ins.ListPendingTasks(jobs.QueueMonthly)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ti := range tasks {
		ids = append(ids, ti.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestCatchUp: a start after a missed run enqueues it once; the next start finds it
// already there and enqueues nothing.
func TestCatchUp(t *testing.T) {
	rdb := testRedis(t, dbCatchUp)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"mine_site.geojson": mineSite(t),
		"weekly.geojson":    square("weekly", map[string]any{"schedule": "@weekly"}),
		"never.geojson":     square("never", map[string]any{"schedule": "0 0 30 2 *"}),
	})
	// Started on 1 April 03:00: the default schedule last ran on 2 March (for February);
	// @weekly last ran on Sunday 31 March (for February too).
	p, logs := dirProvider(t, dir, time.Date(2024, 4, 1, 3, 0, 0, 0, time.UTC))
	client := asynq.NewClientFromRedisClient(rdb)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	ctx := context.Background()

	first, err := p.CatchUp(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Enqueued) != 2 || len(first.AlreadyDone) != 0 {
		t.Fatalf("first catch-up: %+v", first)
	}
	want := slices.Sorted(slices.Values(first.Enqueued))
	if want[0][:34] != "detect:muchacha:20230201:20240229:" || want[1][:32] != "detect:weekly:20230201:20240229:" {
		t.Errorf("task ids %v", want)
	}

	tests := []struct {
		name string
		now  time.Time
	}{
		{"restart", time.Date(2024, 4, 1, 3, 0, 0, 0, time.UTC)},
		{"restart later the same day", time.Date(2024, 4, 1, 23, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.Now = func() time.Time { return tc.now }
			rep, err := p.CatchUp(ctx, client)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Enqueued) != 0 || !slices.Equal(slices.Sorted(slices.Values(rep.AlreadyDone)), want) {
				t.Errorf("catch-up: %+v, want all of %v already done", rep, want)
			}
			if got := monthlyTasks(t, ins); !slices.Equal(got, want) {
				t.Errorf("monthly queue %v, want %v", got, want)
			}
		})
	}

	ti, err := ins.GetTaskInfo(jobs.QueueMonthly, want[0])
	if err != nil {
		t.Fatal(err)
	}
	if ti.Type != jobs.TypeDetectChange || ti.Retention != 45*24*time.Hour || ti.Timeout != jobs.DetectTimeout || ti.MaxRetry != jobs.DetectMaxRetry {
		t.Errorf("task %+v", ti)
	}
	if n := len(logs.find(t, "INFO", "catch-up: already enqueued or done")); n != 4 {
		t.Errorf("%d 'already done' records, want 4", n)
	}
}

// TestManagerEndToEnd runs asynq's PeriodicTaskManager on the provider: a task appears
// in the monthly queue, stays one task however many ticks pass (each further enqueue
// conflicts and is logged at info level), and a file added while it runs is picked up
// at the next sync.
func TestManagerEndToEnd(t *testing.T) {
	rdb := testRedis(t, dbManager)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a.geojson": square("fast", map[string]any{"schedule": "@every 1s"})})
	loc, err := watch.ParseLocation(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	log, logs := newLogger(slog.LevelInfo)
	p := &watch.Provider{Watch: loc, Catalog: "s3://imagery/catalog", Output: "s3://results", Logger: log}
	mgr, err := watch.NewManager(rdb, p, time.Second, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			mgr.Shutdown()
		}
	}
	defer stop()
	ins := asynq.NewInspectorFromRedisClient(rdb)

	waitFor := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ids := monthlyTasks(t, ins)
			if len(ids) >= n {
				return ids
			}
			if time.Now().After(deadline) {
				t.Fatalf("monthly queue %v after 10 s, want %d tasks", ids, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	ids := waitFor(1)
	_, after := jobs.MonthlyPeriods(time.Now().Add(-watch.FireGrace))
	wantPrefix := fmt.Sprintf("detect:fast:%s:%s:", after.Start.AddDate(-1, 0, 0).Format("20060102"), after.End.Format("20060102"))
	if len(ids) != 1 || len(ids[0]) <= len(wantPrefix) || ids[0][:len(wantPrefix)] != wantPrefix {
		t.Fatalf("monthly queue %v, want one task %s...", ids, wantPrefix)
	}
	time.Sleep(3500 * time.Millisecond) // three more ticks
	if got := monthlyTasks(t, ins); !slices.Equal(got, ids) {
		t.Errorf("after more ticks the monthly queue is %v, want %v", got, ids)
	}
	conflicts := logs.find(t, "INFO", "scheduled run already enqueued or done: not enqueued again")
	if len(conflicts) < 2 {
		t.Errorf("%d conflict records at info level, want at least 2", len(conflicts))
	} else if conflicts[0]["task_id"] != ids[0] || conflicts[0]["aoi_id"] != "fast" {
		t.Errorf("conflict record %v", conflicts[0])
	}
	if n := len(logs.find(t, "INFO", "scheduled run enqueued")); n != 1 {
		t.Errorf("%d 'enqueued' records, want 1", n)
	}

	// Added while running: registered at the next sync, without a restart.
	writeFiles(t, dir, map[string][]byte{"b.geojson": square("second", map[string]any{"schedule": "@every 1s"})})
	ids = waitFor(2)
	if len(ids) != 2 || ids[0][:12] != "detect:fast:" || ids[1][:14] != "detect:second:" {
		t.Errorf("monthly queue %v", ids)
	}

	stop()
	for _, r := range logs.records(t) {
		if r["level"] == "ERROR" || r["level"] == "WARN" {
			t.Errorf("log record %v", r)
		}
	}
}

// TestS3WatchList reads a watch list from the S3 test server (versitygw).
func TestS3WatchList(t *testing.T) {
	endpoint, access, secret := testenv.S3Endpoint(t)
	ctx := context.Background()
	client, err := s3store.New(ctx, s3store.Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("watch-%d", time.Now().UnixNano())
	if err := client.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	for key, data := range map[string][]byte{
		"aoi/mine_site.geojson":  mineSite(t),
		"aoi/sub/other.json":     square("other", map[string]any{"output": "s3://elsewhere"}),
		"aoi/bad.geojson":        []byte("not json"),
		"aoi/readme.txt":         []byte("AOIs to re-check monthly"),
		"aoix/outside.geojson":   square("outside", nil),
		"archive/old.geojson":    square("old", nil),
		"aoi/.hidden/x.geojson":  square("hidden", nil),
		"aoi/sub/.draft.geojson": square("draft", nil),
	} {
		if err := client.Put(ctx, bucket, key, data, "application/geo+json"); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := watch.ParseLocation("s3://"+bucket+"/aoi", client)
	if err != nil {
		t.Fatal(err)
	}
	log, logs := newLogger(slog.LevelInfo)
	p := &watch.Provider{Watch: loc, Catalog: "s3://imagery/catalog", Output: "s3://results", Logger: log,
		Now: func() time.Time { return time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC) }}
	// On 10 June the periodic task carries the run of 2 July, for June.

	steps := []struct {
		name  string
		apply func() error
		want  map[string]string // aoi id -> output
	}{
		{"initial", func() error { return nil }, map[string]string{
			"muchacha": "s3://results/muchacha/2024-06_2024-06",
			"other":    "s3://elsewhere/other/2024-06_2024-06",
		}},
		{"removed", func() error { return client.Delete(ctx, bucket, "aoi/mine_site.geojson") }, map[string]string{
			"other": "s3://elsewhere/other/2024-06_2024-06",
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.apply(); err != nil {
				t.Fatal(err)
			}
			configs, err := p.GetConfigs()
			if err != nil {
				t.Fatal(err)
			}
			got := make(map[string]string)
			for id, d := range decodeConfigs(t, configs) {
				got[id] = d.Req.Output
			}
			if fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Errorf("got %v, want %v", got, s.want)
			}
		})
	}
	w := logs.find(t, "WARN", "watch list file skipped")
	if len(w) != 1 || w[0]["file"] != "s3://"+bucket+"/aoi/bad.geojson" {
		t.Errorf("warnings %v, want one for bad.geojson", w)
	}
}
