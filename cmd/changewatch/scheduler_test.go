package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
)

// schedulerTestDB is the Redis database of the scheduler command's tests (watch/ uses
// 5 and 6): asynq's key names are fixed, so tests that run at the same time need their
// own database.
const schedulerTestDB = 8

// schedClearEnv unsets the environment the scheduler's flags default from.
func schedClearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"CHANGEWATCH_WATCH", "CHANGEWATCH_CATALOG", "CHANGEWATCH_OUTPUT", "CHANGEWATCH_REDIS_URL", "CHANGEWATCH_LOG_LEVEL"} {
		t.Setenv(k, "")
	}
}

func TestSchedulerBadInput(t *testing.T) {
	schedClearEnv(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "aoi.geojson", "{}")
	base := []string{"--redis", "redis://127.0.0.1:1/0", "--catalog", dir, "--out", dir}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no watch", base, "--watch, --catalog and --out are required"},
		{"no catalog", []string{"--watch", dir, "--out", dir}, "required"},
		{"no out", []string{"--watch", dir, "--catalog", dir}, "required"},
		{"sync too short", append([]string{"--watch", dir, "--sync", "10ms"}, base...), "--sync"},
		{"bad sync", append([]string{"--watch", dir, "--sync", "soon"}, base...), "sync"},
		{"missing folder", append([]string{"--watch", filepath.Join(dir, "nope")}, base...), "--watch"},
		{"a file", append([]string{"--watch", file}, base...), "not a folder"},
		{"no bucket", append([]string{"--watch", "s3://"}, base...), "no bucket"},
		{"bad redis url", append([]string{"--watch", dir}, append(base, "--redis", "nope://x")...), "--redis"},
		{"bad log level", append([]string{"--watch", dir, "--log-level", "loud"}, base...), "--log-level"},
		{"argument", append([]string{"--watch", dir, "extra"}, base...), "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"scheduler"}, tc.args...)...)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("stderr %q does not mention %q (stdout %q)", stderr, tc.want, stdout)
			}
		})
	}
	if code, _, stderr := runCLI(t, "help"); code != 0 || !strings.Contains(stderr, "scheduler") {
		t.Errorf("usage does not list scheduler: %q", stderr)
	}
}

// schedBuffer is a bytes.Buffer safe for the scheduler's goroutines.
type schedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *schedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records with msg.
func (b *schedBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// TestSchedulerRun starts the command twice on a watch list folder: the first start
// catches up (enqueues each AOI's last scheduled run), the periodic tasks tick, SIGTERM
// (ctx) stops it cleanly; the second start finds every run already enqueued.
func TestSchedulerRun(t *testing.T) {
	schedClearEnv(t)
	addr := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: schedulerTestDB})
	defer rdb.Close()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	ins := asynq.NewInspectorFromRedisClient(rdb)

	dir := t.TempDir()
	site, err := os.ReadFile("../../testdata/aoi/mine_site.geojson")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "mine_site.geojson", string(site))
	writeFile(t, dir, "fast.geojson", `{"type":"Feature","properties":{"id":"fast","schedule":"@every 1s"},
		"geometry":{"type":"Polygon","coordinates":[[[28.1,1.3],[28.11,1.3],[28.11,1.31],[28.1,1.31],[28.1,1.3]]]}}`)
	writeFile(t, dir, "broken.geojson", `{"type":"Feature"`)
	args := []string{"scheduler", "--redis", "redis://" + addr + "/" + strconv.Itoa(schedulerTestDB), "--watch", dir,
		"--catalog", "s3://imagery/catalog", "--out", "s3://results", "--sync", "1s"}

	start := func(t *testing.T, wait func(*schedBuffer) bool) *schedBuffer {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stdout bytes.Buffer
		stderr := &schedBuffer{}
		done := make(chan error, 1)
		go func() { done <- runScheduler(ctx, args[1:], &stdout, stderr) }()
		deadline := time.Now().Add(10 * time.Second)
		for !wait(stderr) {
			select {
			case err := <-done:
				t.Fatalf("scheduler returned early: %v; log:\n%s", err, stderr.buf.String())
			default:
			}
			if time.Now().After(deadline) {
				cancel()
				<-done
				t.Fatalf("condition not met in 10 s; log:\n%s", stderr.buf.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("scheduler: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("scheduler did not stop within 10 s of cancellation")
		}
		if len(stderr.records(t, "scheduler stopped")) != 1 {
			t.Errorf("no 'scheduler stopped' record")
		}
		return stderr
	}
	pending := func() []*asynq.TaskInfo {
		tasks, err := ins.ListPendingTasks(jobs.QueueMonthly)
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Fatal(err)
		}
		return tasks
	}

	// First start: both AOIs caught up; the fast one then ticks (and conflicts).
	logs := start(t, func(logs *schedBuffer) bool {
		return len(pending()) == 2 && len(logs.records(t, "scheduled run already enqueued or done: not enqueued again")) > 0
	})
	tasks := pending()
	ids := map[string]bool{}
	for _, ti := range tasks {
		ids[ti.ID] = true
		if ti.Type != jobs.TypeDetectChange || ti.Queue != jobs.QueueMonthly {
			t.Errorf("task %+v", ti)
		}
	}
	if c := logs.records(t, "catch-up done"); len(c) != 1 || c[0]["enqueued"] != 2.0 {
		t.Errorf("catch-up records %v", c)
	}
	if w := logs.records(t, "watch list file skipped"); len(w) != 1 || !strings.HasSuffix(w[0]["file"].(string), "broken.geojson") {
		t.Errorf("warnings %v", w)
	}

	// Second start: nothing new.
	logs2 := start(t, func(logs *schedBuffer) bool { return len(logs.records(t, "scheduler started")) == 1 })
	if c := logs2.records(t, "catch-up done"); len(c) != 1 || c[0]["enqueued"] != 0.0 || c[0]["already_done"] != 2.0 {
		t.Errorf("second catch-up records %v", c)
	}
	after := pending()
	if len(after) != 2 || !ids[after[0].ID] || !ids[after[1].ID] {
		t.Errorf("monthly queue after the second start: %v", after)
	}
}
