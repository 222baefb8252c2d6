package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

// The worker tests use Redis database 1 (other packages use others: asynq's keys are
// fixed, so packages running at once must not share a database).
const testRedisDB = 1

// Databases of the tests that wait a minute for asynq's recoverer, in parallel with each
// other (2 is the benchmarks'; 3-8 and 11-15 are other packages').
const (
	killedWorkerDB = 9
	killedLedgerDB = 10
)

func testRedis(t *testing.T) *redis.Client { t.Helper(); return testRedisOn(t, testRedisDB) }

// testRedisOn is testRedis on database db: a test of its own database can run in
// parallel with the others (asynq's key names are fixed).
func testRedisOn(t *testing.T, db int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t), DB: db})
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func noDelay(int, error, *asynq.Task) time.Duration { return 0 }

// startWorker runs an in-process worker until the test ends.
func startWorker(t *testing.T, rdb *redis.Client, h *Handler, concurrency int) *asynq.Server {
	t.Helper()
	srv := NewServer(rdb, ServerConfig{Concurrency: concurrency, ShutdownTimeout: 30 * time.Second, RetryDelay: noDelay,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := srv.Start(h.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}

// waitTask polls until the task reaches one of the states, or fails the test.
func waitTask(t testing.TB, ins *asynq.Inspector, queue, id string, timeout time.Duration, states ...asynq.TaskState) *asynq.TaskInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *asynq.TaskInfo
	for time.Now().Before(deadline) {
		info, err := ins.GetTaskInfo(queue, id)
		if err == nil {
			last = info
			for _, s := range states {
				if info.State == s {
					return info
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("task %s: state %s after %v, want %v (last error %q)", id, last.State, timeout, states, last.LastErr)
	}
	t.Fatalf("task %s not found after %v", id, timeout)
	return nil
}

func queuedRequest(t *testing.T, out string) jobs.DetectRequest {
	s := scenes(t)
	req := request(t, s.AOIGeoJSON, s.Root, out)
	req.AOIID, req.AOIName = "synthetic-7", "synthetic block"
	return req
}

// TestQueueEndToEnd: through Redis, a small AOI runs in one task and a big one (here:
// over 300 x 300 pixels) fans out into chunk tasks and a merge; both publish to the real S3
// server and report their summary through asynq's result.
func TestQueueEndToEnd(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	store, _, _, _ := testS3(t, "cw-queue")
	client := asynq.NewClientFromRedisClient(rdb)
	h := &Handler{Pipeline: &Pipeline{Store: store}, FanOut: &FanOut{Client: client, Pixels: 300 * 300, Chunk: 516}}
	startWorker(t, rdb, h, 2)
	ins := asynq.NewInspectorFromRedisClient(rdb)

	req := queuedRequest(t, "s3://cw-queue/results/block")
	task, err := jobs.NewDetectTask(req, jobs.QueueAdhoc)
	if err != nil {
		t.Fatal(err)
	}
	info, err := client.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	parent := waitTask(t, ins, jobs.QueueAdhoc, info.ID, time.Minute, asynq.TaskStateCompleted)
	var fan struct {
		Chunks int    `json:"chunks"`
		Merge  string `json:"merge_task"`
	}
	if err := json.Unmarshal(parent.Result, &fan); err != nil || fan.Chunks < 2 {
		t.Fatalf("parent result %s: want a fan-out", parent.Result)
	}
	merged := waitTask(t, ins, jobs.QueueAdhoc, fan.Merge, 2*time.Minute, asynq.TaskStateCompleted)
	var sum jobs.Summary
	if err := json.Unmarshal(merged.Result, &sum); err != nil {
		t.Fatalf("merge result %s: %v", merged.Result, err)
	}
	t.Logf("fanned out into %d chunks: %v", fan.Chunks, sum.Polygons)
	if len(sum.Polygons) == 0 {
		t.Fatal("no polygons")
	}
	local := t.TempDir()
	keys, err := store.List(ctx, "cw-queue", "results/block/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "/.work/") {
			t.Errorf("workspace left in the bucket: %s", k)
			continue
		}
		if err := store.GetFile(ctx, "cw-queue", k, local+"/"+k[len("results/block/"):]); err != nil {
			t.Fatal(err)
		}
	}
	checkOutputs(t, local, &sum)
}

func TestDuplicateEnqueueRunsOnce(t *testing.T) {
	rdb := testRedis(t)
	client := asynq.NewClientFromRedisClient(rdb)
	req := queuedRequest(t, t.TempDir())
	task, err := jobs.NewDetectTask(req, jobs.QueueAdhoc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	again, _ := jobs.NewDetectTask(req, jobs.QueueAdhoc)
	if _, err := client.Enqueue(again); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("second enqueue: %v, want a task id conflict", err)
	}
	startWorker(t, rdb, &Handler{Pipeline: &Pipeline{}}, 2)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	waitTask(t, ins, jobs.QueueAdhoc, req.TaskID(), time.Minute, asynq.TaskStateCompleted)
	// once done, the same request is still a duplicate while the task is retained
	if _, err := client.Enqueue(again); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("enqueue after completion: %v, want a task id conflict", err)
	}
	qi, err := ins.GetQueueInfo(jobs.QueueAdhoc)
	if err != nil {
		t.Fatal(err)
	}
	if qi.Completed != 1 || qi.Processed != 1 {
		t.Fatalf("completed %d processed %d, want 1 and 1", qi.Completed, qi.Processed)
	}
}

// Permanent failures are archived at once with their reason; a timed-out task stops its
// GDAL work (the context reaches the chunk loop) and fails with the deadline.
func TestFailuresThroughTheQueue(t *testing.T) {
	rdb := testRedis(t)
	client := asynq.NewClientFromRedisClient(rdb)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	startWorker(t, rdb, &Handler{Pipeline: &Pipeline{}}, 2)
	good := queuedRequest(t, t.TempDir())
	point := good
	point.AOI = []byte(`{"type":"Point","coordinates":[28.1,1.3]}`)
	noScenes := good
	noScenes.After, _ = jobs.ParsePeriod("2025-06-01/2025-06-30")
	tests := []struct {
		name    string
		task    func() *asynq.Task
		state   asynq.TaskState
		wantErr string
	}{
		{"bad aoi", func() *asynq.Task { tk, _ := jobs.NewDetectTask(point, jobs.QueueAdhoc); return tk }, asynq.TaskStateArchived, "Point"},
		{"no scenes", func() *asynq.Task { tk, _ := jobs.NewDetectTask(noScenes, jobs.QueueAdhoc); return tk }, asynq.TaskStateArchived, "no usable scenes"},
		{"unknown payload version", func() *asynq.Task {
			return asynq.NewTask(jobs.TypeDetectChange, []byte(`{"version":99}`), asynq.TaskID("v99"), asynq.Queue(jobs.QueueAdhoc))
		}, asynq.TaskStateArchived, "version 99"},
		{"timeout", func() *asynq.Task {
			tk, _ := jobs.NewDetectTask(good, jobs.QueueBackfill)
			return asynq.NewTask(tk.Type(), tk.Payload(), asynq.TaskID("timeout"), asynq.Queue(jobs.QueueBackfill), asynq.Timeout(time.Second), asynq.MaxRetry(0)) // asynq counts timeouts in whole seconds
		}, asynq.TaskStateArchived, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := client.Enqueue(tt.task())
			if err != nil {
				t.Fatal(err)
			}
			got := waitTask(t, ins, info.Queue, info.ID, time.Minute, tt.state)
			if !strings.Contains(got.LastErr, tt.wantErr) {
				t.Fatalf("last error %q, want it to mention %q", got.LastErr, tt.wantErr)
			}
			if tt.name != "timeout" && got.Retried != 0 {
				t.Fatalf("a permanent failure was retried %d times", got.Retried)
			}
		})
	}
}

// TestGracefulShutdown: Shutdown stops taking tasks but lets the running one finish.
func TestGracefulShutdown(t *testing.T) {
	rdb := testRedis(t)
	client := asynq.NewClientFromRedisClient(rdb)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	srv := NewServer(rdb, ServerConfig{Concurrency: 1, ShutdownTimeout: time.Minute})
	if err := srv.Start((&Handler{Pipeline: &Pipeline{}}).Mux()); err != nil {
		t.Fatal(err)
	}
	req := queuedRequest(t, t.TempDir())
	task, _ := jobs.NewDetectTask(req, jobs.QueueAdhoc)
	info, err := client.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	waitTask(t, ins, info.Queue, info.ID, time.Minute, asynq.TaskStateActive)
	srv.Shutdown()
	got, err := ins.GetTaskInfo(info.Queue, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != asynq.TaskStateCompleted {
		t.Fatalf("after a graceful shutdown the running task is %s (%q), want completed", got.State, got.LastErr)
	}
}

// childWorkerEnv makes this test binary run as a worker process (see TestMain).
const childWorkerEnv = "CHANGEWATCH_TEST_CHILD_WORKER"

// Settings of a child worker process (see TestMain), from its environment.
const (
	childDBEnv   = "CHANGEWATCH_TEST_CHILD_DB"   // Redis database
	childSlowEnv = "CHANGEWATCH_TEST_CHILD_SLOW" // wait 2 s before each task
)

// runChildWorker is the body of a worker child process: it serves tasks until killed,
// fanning out AOIs over 300 x 300 pixels into 516-pixel chunks.
func runChildWorker(addr string) {
	raster.Init(raster.S3Config{})
	db := testRedisDB
	fmt.Sscan(os.Getenv(childDBEnv), &db)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	srv := NewServer(rdb, ServerConfig{Concurrency: 1})
	h := &Handler{Pipeline: &Pipeline{}, FanOut: &FanOut{Client: asynq.NewClientFromRedisClient(rdb), Pixels: 300 * 300, Chunk: 516}}
	childLedgers(h, rdb)
	var handler asynq.Handler = h.Mux()
	if os.Getenv(childSlowEnv) != "" {
		// The child takes its time before working, so the parent's SIGKILL surely lands
		// while the task is active (a task is as long as its scenes make it).
		mux := h.Mux()
		handler = asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			time.Sleep(2 * time.Second)
			return mux.ProcessTask(ctx, t)
		})
	}
	if err := srv.Start(handler); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {}
}

// TestKilledWorkerTaskIsRetried: a worker process killed with SIGKILL in the middle of a
// task; once its lease expires another worker takes the task over, and the published
// result is complete and has no duplicate polygons.
func TestKilledWorkerTaskIsRetried(t *testing.T) {
	t.Parallel()
	rdb := testRedisOn(t, killedWorkerDB)
	client := asynq.NewClientFromRedisClient(rdb)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	out := t.TempDir()
	req := queuedRequest(t, out)
	task, _ := jobs.NewDetectTask(req, jobs.QueueAdhoc)
	info, err := client.Enqueue(task)
	if err != nil {
		t.Fatal(err)
	}
	child := startChild(t, killedWorkerDB, true)
	waitTask(t, ins, info.Queue, info.ID, time.Minute, asynq.TaskStateActive)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	if got, _ := ins.GetTaskInfo(info.Queue, info.ID); got == nil || got.State != asynq.TaskStateActive {
		t.Fatalf("the task is not left active by the killed worker: %+v", got)
	}
	// Another worker: asynq's recoverer finds the expired lease (30 s lease, checked every
	// minute) and the task runs again.
	startWorker(t, rdb, &Handler{Pipeline: &Pipeline{}}, 1)
	got := waitTask(t, ins, info.Queue, info.ID, 3*time.Minute, asynq.TaskStateCompleted)
	var sum jobs.Summary
	if err := json.Unmarshal(got.Result, &sum); err != nil {
		t.Fatalf("result %s: %v", got.Result, err)
	}
	t.Logf("retried %d time(s) after the kill; %v", got.Retried, sum.Polygons)
	checkOutputs(t, out, &sum)
}

// startChild starts this test binary as a worker process on Redis database db, with the
// environment variables env (key=value) added.
func startChild(t testing.TB, db int, slow bool, env ...string) *exec.Cmd {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	child.Env = append(os.Environ(), childWorkerEnv+"="+testenv.Redis(t), fmt.Sprintf("%s=%d", childDBEnv, db))
	child.Env = append(child.Env, env...)
	if slow {
		child.Env = append(child.Env, childSlowEnv+"=1")
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
	})
	return child
}
