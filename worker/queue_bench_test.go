package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
)

// Benchmarks use Redis database 2.
const benchRedisDB = 2

func benchRedis(b *testing.B) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(b), DB: benchRedisDB})
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rdb.Close() })
	return rdb
}

// BenchmarkQueueThroughput: tasks per second through Redis with a trivial handler
// (enqueue, dequeue, complete), 8 concurrent handlers in one process.
//
//	./scripts/test.sh -run '^$' -bench QueueThroughput ./worker/
func BenchmarkQueueThroughput(b *testing.B) {
	rdb := benchRedis(b)
	client := asynq.NewClientFromRedisClient(rdb)
	var done atomic.Int64
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 8, Queues: jobs.QueuePriorities, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("bench:noop", func(context.Context, *asynq.Task) error { done.Add(1); return nil })
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := client.Enqueue(asynq.NewTask("bench:noop", nil, asynq.Queue(jobs.QueueAdhoc))); err != nil {
			b.Fatal(err)
		}
	}
	for done.Load() < int64(b.N) {
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(t0)
	b.ReportMetric(float64(b.N)/el.Seconds(), "tasks/s")
}

// BenchmarkFanOutWorkers: end-to-end time of a fanned-out AOI (the 1024 x 1024 synthetic
// block cut into 4 chunks, then merged) with 1 and then 2 worker processes; prints the
// speed-up as a ratio measured in the same run.
//
//	./scripts/test.sh -run '^$' -bench FanOutWorkers -benchtime 1x ./worker/
func BenchmarkFanOutWorkers(b *testing.B) {
	s := scenes(b)
	ins := func(rdb *redis.Client) *asynq.Inspector { return asynq.NewInspectorFromRedisClient(rdb) }
	run := func(workers int) time.Duration {
		rdb := benchRedis(b)
		client := asynq.NewClientFromRedisClient(rdb)
		for i := 0; i < workers; i++ {
			startChild(b, benchRedisDB, false)
		}
		time.Sleep(time.Second) // let the workers connect
		req := request(b, s.AOIGeoJSON, s.Root, b.TempDir())
		req.AOIID = fmt.Sprintf("bench-%d", workers)
		task, err := jobs.NewDetectTask(req, jobs.QueueAdhoc)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		info, err := client.Enqueue(task)
		if err != nil {
			b.Fatal(err)
		}
		parent := waitTask(b, ins(rdb), jobs.QueueAdhoc, info.ID, 2*time.Minute, asynq.TaskStateCompleted)
		var fan struct {
			Merge string `json:"merge_task"`
		}
		json.Unmarshal(parent.Result, &fan)
		if fan.Merge == "" {
			b.Fatalf("no fan-out: %s", parent.Result)
		}
		waitTask(b, ins(rdb), jobs.QueueAdhoc, fan.Merge, 5*time.Minute, asynq.TaskStateCompleted)
		return time.Since(t0)
	}
	for i := 0; i < b.N; i++ {
		one := run(1)
		two := run(2)
		b.ReportMetric(one.Seconds(), "s-1worker")
		b.ReportMetric(two.Seconds(), "s-2workers")
		b.ReportMetric(one.Seconds()/two.Seconds(), "speedup")
		fmt.Printf("fanned-out AOI (4 chunks + merge): 1 worker %.1f s, 2 workers %.1f s, speed-up %.2fx\n", one.Seconds(), two.Seconds(), one.Seconds()/two.Seconds())
	}
}
