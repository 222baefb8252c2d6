package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/jobs"
)

// Enqueuer enqueues tasks; *asynq.Client satisfies it.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// CatchUpReport lists the task ids CatchUp enqueued and those it found already enqueued
// or done.
type CatchUpReport struct {
	Enqueued    []string
	AlreadyDone []string
}

// CatchUp enqueues, for each AOI of the watch list, the run of its most recent past
// schedule time (Entry.LastFire), on jobs.QueueMonthly. A run that was already enqueued
// (pending, running, or finished within the queue's 45-day retention) conflicts on its
// task id and is counted as already done, so calling CatchUp at every start runs a
// month missed while the scheduler was down exactly once, and nothing else. AOIs whose
// schedule never fired in the last 400 days are left alone. Enqueue failures are
// logged and returned together after all AOIs were tried.
func (p *Provider) CatchUp(ctx context.Context, q Enqueuer) (CatchUpReport, error) {
	var rep CatchUpReport
	entries, err := p.Entries(ctx)
	if err != nil {
		return rep, fmt.Errorf("catch-up: %w", err)
	}
	log := p.logger()
	now := p.now()
	var errs []error
	for i := range entries {
		e := &entries[i]
		fire, ok := e.LastFire(now)
		if !ok {
			log.Debug("catch-up: no past run", "file", e.File, "aoi_id", e.AOI.ID, "schedule", e.Schedule)
			continue
		}
		req := e.Request(fire)
		task, err := jobs.NewDetectTask(req, jobs.QueueMonthly)
		if err != nil {
			log.Warn("watch list file skipped", "file", e.File, "problem", err.Error())
			continue
		}
		attrs := []any{"aoi_id", e.AOI.ID, "task_id", req.TaskID(), "before", req.Before.String(), "after", req.After.String(), "schedule_time", fire}
		_, err = q.EnqueueContext(ctx, task)
		switch {
		case errors.Is(err, asynq.ErrTaskIDConflict):
			rep.AlreadyDone = append(rep.AlreadyDone, req.TaskID())
			log.Info("catch-up: already enqueued or done", attrs...)
		case err != nil:
			errs = append(errs, fmt.Errorf("catch-up %s: %w", e.AOI.ID, err))
			log.Error("catch-up: enqueue failed", append(attrs, "err", err.Error())...)
		default:
			rep.Enqueued = append(rep.Enqueued, req.TaskID())
			log.Info("catch-up: enqueued a missed run", attrs...)
		}
	}
	return rep, errors.Join(errs...)
}

// NewManager returns an asynq.PeriodicTaskManager that registers p's periodic tasks in
// Redis through rdb and re-reads the watch list every syncInterval (added, changed and
// removed files take effect then). Its scheduler runs in UTC, logs through log, and
// logs a run refused as a duplicate (asynq.ErrTaskIDConflict: that month was already
// enqueued) at info level. The caller starts it (Start) and stops it (Shutdown, once);
// rdb stays the caller's to close.
func NewManager(rdb redis.UniversalClient, p *Provider, syncInterval time.Duration, log *slog.Logger) (*asynq.PeriodicTaskManager, error) {
	m, err := asynq.NewPeriodicTaskManager(asynq.PeriodicTaskManagerOpts{
		RedisUniversalClient:       rdb,
		PeriodicTaskConfigProvider: p,
		SyncInterval:               syncInterval,
		SchedulerOpts:              SchedulerOpts(log),
	})
	if err != nil {
		return nil, fmt.Errorf("periodic task manager: %w", err)
	}
	return m, nil
}

// SchedulerOpts are the asynq scheduler options of the watch list scheduler: UTC, asynq's
// own messages through log, and enqueue results logged with the AOI and task id.
//
// asynq's Scheduler does not log enqueue failures itself; it hands them to
// PostEnqueueFunc (without the task) and EnqueueErrorHandler (with it). The handler
// is deprecated in favour of PostEnqueueFunc but, in v0.26.0, is the only hook that
// says which task failed, so both are set: successes are logged from the first,
// failures from the second.
func SchedulerOpts(log *slog.Logger) *asynq.SchedulerOpts {
	if log == nil {
		log = slog.Default()
	}
	return &asynq.SchedulerOpts{
		Logger:   asynqLogger{log.With("component", "asynq")},
		LogLevel: asynq.DebugLevel, // filtered by log's handler
		Location: time.UTC,
		PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
			if err == nil && info != nil {
				log.Info("scheduled run enqueued", "task_id", info.ID, "queue", info.Queue)
			}
		},
		// EnqueueErrorHandler is deprecated for PostEnqueueFunc, but that one gets a nil
		// TaskInfo on failure, so it cannot say which AOI's run was not enqueued.
		//lint:ignore SA1019 the only hook that receives the task that failed
		EnqueueErrorHandler: func(task *asynq.Task, _ []asynq.Option, err error) {
			attrs := taskAttrs(task)
			if errors.Is(err, asynq.ErrTaskIDConflict) {
				log.Info("scheduled run already enqueued or done: not enqueued again", attrs...)
				return
			}
			log.Error("scheduled run not enqueued", append(attrs, "err", err.Error())...)
		},
	}
}

// taskAttrs names a change:detect task in logs.
func taskAttrs(task *asynq.Task) []any {
	if task == nil {
		return nil
	}
	r, err := jobs.DecodeDetectRequest(task.Payload())
	if err != nil {
		return []any{"task_type", task.Type()}
	}
	return []any{"aoi_id", r.AOIID, "task_id", r.TaskID(), "before", r.Before.String(), "after", r.After.String()}
}

// asynqLogger adapts slog to asynq's Logger.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }

// Error logs at error level, except the complaint of Scheduler.Shutdown that it cannot
// close a Redis client it was given (NewSchedulerFromRedisClient): that is by design,
// the client is ours to close.
func (a asynqLogger) Error(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.Contains(msg, "redis connection is shared") {
		a.l.Debug(msg)
		return
	}
	a.l.Error(msg)
}

// Fatal logs at error level; the scheduler code of asynq never calls it.
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
