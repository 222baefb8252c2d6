package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
)

// The command tests of the queue use Redis database 3.
func queueRedisURL(t *testing.T) (string, *redis.Client) {
	t.Helper()
	addr := testenv.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: 3})
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return fmt.Sprintf("redis://%s/3", addr), rdb
}

func TestEnqueueAndStatus(t *testing.T) {
	url, rdb := queueRedisURL(t)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	args := []string{"enqueue", "--redis", url, "--aoi", "../../testdata/aoi/mine_site.geojson",
		"--catalog", "s3://imagery/catalog", "--out", "s3://results", "--after", "2024-01-01/2024-03-31"}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if !strings.HasPrefix(id, "detect:muchacha:20230101:20240331:") {
		t.Fatalf("task id %q", id)
	}
	info, err := ins.GetTaskInfo(jobs.QueueAdhoc, id)
	if err != nil {
		t.Fatal(err)
	}
	req, err := jobs.DecodeDetectRequest(info.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if req.Before.String() != "2023-01-01/2023-12-31" || req.Output != "s3://results/muchacha/2024-01_2024-03" {
		t.Fatalf("request: before %s, output %s (the before period defaults to the 12 months before)", req.Before, req.Output)
	}

	// the same request again: not enqueued twice, same id printed
	code, stdout, stderr = runCLI(t, args...)
	if code != 0 || strings.TrimSpace(stdout) != id || !strings.Contains(stderr, "already enqueued") {
		t.Fatalf("second enqueue: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// bad input: exit 2, nothing enqueued
	bad := append([]string{}, args...)
	bad[4] = "../../testdata/aoi/bad_self_intersecting.geojson"
	if code, _, stderr := runCLI(t, bad...); code != exitUsage || !strings.Contains(stderr, "self-intersect") {
		t.Fatalf("bad aoi: exit %d: %s", code, stderr)
	}
	badQueue := append(append([]string{}, args...), "--queue", "urgent")
	if code, _, stderr := runCLI(t, badQueue...); code != exitUsage || !strings.Contains(stderr, "queue") {
		t.Fatalf("bad queue: exit %d: %s", code, stderr)
	}
	qi, err := ins.GetQueueInfo(jobs.QueueAdhoc)
	if err != nil {
		t.Fatal(err)
	}
	if qi.Size != 1 {
		t.Fatalf("%d tasks queued, want 1", qi.Size)
	}

	code, stdout, stderr = runCLI(t, "status", "--redis", url)
	if code != 0 || !strings.Contains(stdout, "adhoc") || !strings.Contains(stdout, "running (0)") {
		t.Fatalf("status: exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "status", "--redis", url, id)
	if code != 0 || !strings.Contains(stdout, "state pending") {
		t.Fatalf("status of the task: exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "status", "--redis", url, "no-such-task"); code != exitUsage {
		t.Fatalf("status of a missing task: exit %d", code)
	}
}

// TestEnqueueBackfill: --backfill queues one monthly run per month on the backfill queue,
// each against the 12 months before it; again, none is queued twice.
func TestEnqueueBackfill(t *testing.T) {
	url, rdb := queueRedisURL(t)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	args := []string{"enqueue", "--redis", url, "--aoi", "../../testdata/aoi/mine_site.geojson",
		"--catalog", "s3://imagery/catalog", "--out", "s3://results", "--backfill", "2023-11/2024-02"}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("enqueue: exit %d: %s", code, stderr)
	}
	ids := strings.Fields(stdout)
	want := [][2]string{
		{"2022-11-01/2023-10-31", "s3://results/muchacha/2023-11_2023-11"},
		{"2022-12-01/2023-11-30", "s3://results/muchacha/2023-12_2023-12"},
		{"2023-01-01/2023-12-31", "s3://results/muchacha/2024-01_2024-01"},
		{"2023-02-01/2024-01-31", "s3://results/muchacha/2024-02_2024-02"},
	}
	if len(ids) != len(want) {
		t.Fatalf("%d tasks, want %d: %s", len(ids), len(want), stdout)
	}
	for i, id := range ids {
		info, err := ins.GetTaskInfo(jobs.QueueBackfill, id)
		if err != nil {
			t.Fatalf("task %s on the backfill queue: %v", id, err)
		}
		req, _ := jobs.DecodeDetectRequest(info.Payload)
		if req.Before.String() != want[i][0] || req.Output != want[i][1] {
			t.Errorf("run %d: before %s output %s, want %v", i, req.Before, req.Output, want[i])
		}
	}
	code, stdout, stderr = runCLI(t, args...)
	if code != 0 || strings.Count(stderr, "already enqueued") != 4 || strings.Join(strings.Fields(stdout), " ") != strings.Join(ids, " ") {
		t.Fatalf("again: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, bad := range [][]string{{"--backfill", "2024-02/2023-11"}, {"--backfill", "2023-11/2024-02", "--after", "2024-01-01/2024-01-31"}, {"--backfill", "2000-01/2024-01"}} {
		a := append(append([]string{}, args[:len(args)-2]...), bad...)
		if code, _, _ := runCLI(t, a...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
}
