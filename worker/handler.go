package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/jobs"
)

// Handler serves changewatch's task types to an asynq server.
type Handler struct {
	Pipeline *Pipeline
	Logger   *slog.Logger
	// FanOut, when set, splits AOIs bigger than FanOut.Pixels into chunk tasks.
	FanOut *FanOut
	// Ledgers, when set, updates an AOI's incident ledger after every published run.
	Ledgers *Ledgers
}

// Mux routes each task type to its handler.
func (h *Handler) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(jobs.TypeDetectChange, h.detect)
	mux.HandleFunc(jobs.TypeDetectChunk, h.chunk)
	mux.HandleFunc(jobs.TypeMerge, h.merge)
	mux.HandleFunc(jobs.TypeLedgerUpdate, h.ledgerUpdate)
	return mux
}

func (h *Handler) logger(ctx context.Context, t *asynq.Task) *slog.Logger {
	l := h.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	id, _ := asynq.GetTaskID(ctx)
	retry, _ := asynq.GetRetryCount(ctx)
	return l.With("task_id", id, "type", t.Type(), "retry", retry)
}

// detect runs one change:detect task. The retry decision travels in the error: bad
// payloads, bad AOIs, periods without scenes and corrupt rasters are wrapped with
// asynq.SkipRetry (archived with the reason); anything else (storage, network, timeouts)
// is returned as is and retried with backoff.
func (h *Handler) detect(ctx context.Context, t *asynq.Task) error {
	log := h.logger(ctx, t)
	req, err := jobs.DecodeDetectRequest(t.Payload())
	if err != nil {
		log.Warn("refusing task", "err", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log = log.With("aoi_id", req.AOIID)
	log.Info("detect started", "before", req.Before, "after", req.After, "output", req.Output)
	rw := t.ResultWriter()
	progress := resultProgress(rw, log)
	defer h.Pipeline.grant(req.Catalog)()
	tm := newTimer()
	progress("search scenes", 0)
	pl, err := h.Pipeline.plan(ctx, req)
	if err != nil {
		return h.failed(log, err)
	}
	tm.lap("search")
	if h.FanOut != nil && pl.grid.Pixels() > h.FanOut.pixels() {
		queue, _ := asynq.GetQueueName(ctx)
		n, merge, err := h.fanOut(ctx, req, pl, queue)
		if err != nil {
			return h.failed(log, err)
		}
		log.Info("fanned out", "chunks", n, "merge_task", merge, "pixels", pl.grid.Pixels())
		data, _ := json.Marshal(map[string]any{"stage": "fanned out", "chunks": n, "merge_task": merge})
		_, err = rw.Write(data)
		return err
	}
	sum, err := h.Pipeline.detectPlanned(ctx, req, pl, progress, tm)
	if err != nil {
		return h.failed(log, err)
	}
	data, err := json.Marshal(sum)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	if _, err := rw.Write(data); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := h.afterPublish(ctx, log, req); err != nil {
		return err
	}
	log.Info("detect done", "polygons", sum.Polygons, "seconds", sum.Timings["total"])
	return nil
}

// failed logs err and returns it, wrapped with asynq.SkipRetry when retrying cannot help.
func (h *Handler) failed(log *slog.Logger, err error) error {
	if Permanent(err) {
		log.Warn("task failed permanently", "err", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log.Warn("task failed, will retry", "err", err)
	return err
}

// resultProgress writes the stage and percent into the task's result, at most every
// half second per stage, so `changewatch status` can show running tasks' progress, and
// logs each new stage at debug level (the soak suite kills workers by these lines).
func resultProgress(rw *asynq.ResultWriter, log *slog.Logger) ProgressFunc {
	var mu sync.Mutex
	var last time.Time
	lastStage := ""
	return func(stage string, frac float64) {
		mu.Lock()
		defer mu.Unlock()
		if stage == lastStage && time.Since(last) < 500*time.Millisecond && frac < 1 {
			return
		}
		if stage != lastStage {
			log.Debug("stage", "stage", stage)
		}
		last, lastStage = time.Now(), stage
		data, _ := json.Marshal(jobs.Progress{Stage: stage, Percent: float64(int(frac*1000)) / 10})
		rw.Write(data) // best effort: progress is informative
	}
}

// ServerConfig configures a worker process.
type ServerConfig struct {
	Concurrency     int           // tasks run at once; 0 = 1
	ShutdownTimeout time.Duration // how long running tasks may finish after SIGTERM; 0 = 30 s
	Logger          *slog.Logger
	// RetryDelay overrides asynq's exponential backoff between retries (tests).
	RetryDelay asynq.RetryDelayFunc
}

// NewServer returns an asynq server on rdb that serves the queues by priority. On
// Shutdown it stops taking tasks, lets running ones finish for ShutdownTimeout, then
// cancels them and hands them back to the queue (they are retried by another worker).
func NewServer(rdb redis.UniversalClient, cfg ServerConfig) *asynq.Server {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryDelay == nil {
		cfg.RetryDelay = retryDelay
	}
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          jobs.QueuePriorities,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Logger:          asynqLogger{log.With("component", "asynq")},
		LogLevel:        asynq.WarnLevel,
		RetryDelayFunc:  cfg.RetryDelay,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			log.Error("task failed", "task_id", id, "type", t.Type(), "err", err, "retried", !errors.Is(err, asynq.SkipRetry))
		}),
	})
}

// retryDelay waits jobs.NotifyRetryDelay between the tries of a notification or a ledger
// update and asynq's exponential backoff between those of anything else. A task whose
// worker died (its lease expired: killed, out of memory, cut off from Redis) is retried
// at once: asynq's recoverer finds it a minute or more after the death anyway, and the
// backoff is for failing dependencies, not for crashed workers.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return time.Second
	}
	switch t.Type() {
	case jobs.TypeNotifyRun, jobs.TypeNotifyDeliver, jobs.TypeLedgerUpdate:
		return jobs.NotifyRetryDelay(n)
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// asynqLogger adapts slog to asynq's logger interface.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
