package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/watch"
	"github.com/changewatch/changewatch/worker"
)

// redisFlag is the Redis URL shared by worker, enqueue, status and scheduler.
// Its password is never printed: the default shown by -h and the errors are redacted.
func redisFlag(fs *flag.FlagSet) *string {
	v := env("redis://127.0.0.1:6379/0", "CHANGEWATCH_REDIS_URL")
	fs.Var(secretURL{&v}, "redis", "Redis URL, redis://[user:password@]host:port/db (env CHANGEWATCH_REDIS_URL)")
	return &v
}

// openRedis connects and pings: a wrong address fails here, clearly, not later.
func openRedis(ctx context.Context, url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, usagef("--redis %q: %v", redactURL(url), strings.ReplaceAll(err.Error(), url, redactURL(url)))
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// One plain dial first: an unreachable server is one clear error, not the
	// client pool's retry log lines before it.
	d := net.Dialer{}
	conn, err := d.DialContext(pctx, opt.Network, opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w (is redis-server running? see --redis)", opt.Addr, err)
	}
	conn.Close()
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", opt.Addr, err)
	}
	return rdb, nil
}

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("worker", stderr)
	redisURL := redisFlag(fs)
	concurrency := fs.Int("concurrency", 1, "tasks processed at once by this process")
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "after SIGTERM, how long running tasks may finish before they are handed back to the queue")
	logLevel := fs.String("log-level", env("info", "CHANGEWATCH_LOG_LEVEL"), "log level (env CHANGEWATCH_LOG_LEVEL)")
	workDir := fs.String("work-dir", env("", "CHANGEWATCH_WORK_DIR"), "folder for staging outputs (env CHANGEWATCH_WORK_DIR; default the system temp folder)")
	fanPixels := fs.Int("fanout-pixels", 4080*4080, "AOI grids with more 10 m pixels than this are split into chunk tasks")
	keptBaselines := fs.Int("kept-baselines", 2, "baseline composites kept per AOI window for later monthly runs (<out>/<aoi>/.baseline/); 0 keeps none")
	chunk := fs.Int("chunk", 4080, "side of a chunk in pixels (rounded down to a multiple of 6); bounds a worker's memory")
	areasPath := fs.String("protected-areas", env("", "CHANGEWATCH_PROTECTED_AREAS"), "protected areas for the incidents' context: GeoJSON file or s3://bucket/key (env CHANGEWATCH_PROTECTED_AREAS; default the bundled WRI 2013 DRC layer)")
	minesPath := fs.String("mines", env("", "CHANGEWATCH_MINES"), "mining sites for the incidents' context: GeoJSON file or s3://bucket/key (env CHANGEWATCH_MINES; default the bundled IPIS sites)")
	var s3 s3Flags
	s3.register(fs)
	var nf notifyFlags
	nf.register(fs)
	var acc accessFlags
	acc.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pol, err := acc.policy()
	if err != nil {
		return err
	}
	if *concurrency < 1 {
		return usagef("--concurrency must be at least 1")
	}
	log, err := newJSONLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	rdb, err := openRedis(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store, err := s3.setup(ctx, "s3://") // a worker may meet s3:// catalogs and outputs
	if err != nil {
		return err
	}
	layers, err := loadPlaces(ctx, store, *areasPath, *minesPath)
	if err != nil {
		return err
	}
	eg, stop, err := startEgress(pol, &s3, log)
	if err != nil {
		return err
	}
	defer stop()
	client := asynq.NewClientFromRedisClient(rdb)
	nh, err := nf.handler(ctx, store, client, log)
	if err != nil {
		return err
	}
	// The notify handlers are registered below: ledger updates enqueue notify:run.
	h := &worker.Handler{Pipeline: &worker.Pipeline{Store: store, Logger: log, WorkDir: *workDir, Access: pol, Egress: eg, KeptBaselines: keptBaselinesOption(*keptBaselines)}, Logger: log,
		FanOut:  &worker.FanOut{Client: client, Pixels: *fanPixels, Chunk: *chunk},
		Ledgers: &worker.Ledgers{Client: client, Redis: rdb, Places: layers, Notify: true}}
	mux := h.Mux()
	nh.Register(mux)
	srv := worker.NewServer(rdb, worker.ServerConfig{Concurrency: *concurrency, ShutdownTimeout: *shutdown, Logger: log})
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	log.Info("worker started", "concurrency", *concurrency, "queues", jobs.QueuePriorities)
	<-ctx.Done()
	log.Info("worker stopping: no new tasks; running ones have until the shutdown timeout", "timeout", *shutdown)
	srv.Shutdown()
	log.Info("worker stopped")
	return nil
}

func runEnqueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("enqueue", stderr)
	redisURL := redisFlag(fs)
	aoiPath := fs.String("aoi", "", "area of interest GeoJSON, EPSG:4326 (required)")
	catalog := fs.String("catalog", env("", "CHANGEWATCH_CATALOG"), "STAC API URL or static STAC catalog (folder or s3://bucket/prefix) (env CHANGEWATCH_CATALOG; required)")
	out := fs.String("out", env("", "CHANGEWATCH_OUTPUT"), "output folder or s3://bucket/prefix; the AOI id and the after period are appended (env CHANGEWATCH_OUTPUT; required)")
	before := fs.String("before", "", "before period START/END; default: the after months one year earlier")
	after := fs.String("after", "", "after period START/END; default: the last full month")
	queue := fs.String("queue", jobs.QueueAdhoc, "queue: adhoc, monthly or backfill (--backfill: backfill)")
	minArea := fs.Float64("min-area", jobs.DefaultMinAreaHa, "minimum mapping unit in hectares")
	backfill := fs.String("backfill", "", "FIRST/LAST months (e.g. 2023-01/2024-06): one monthly run per month, on the backfill queue")
	baselineMonths := fs.Int("baseline-months", jobs.DefaultBaselineMonths, "months of the baseline window before the after period, when --before is not given")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *aoiPath == "" || *catalog == "" || *out == "" {
		return usagef("--aoi, --catalog and --out are required")
	}
	if *baselineMonths < 1 || *baselineMonths > jobs.MaxBaselineMonths {
		return usagef("--baseline-months must be between 1 and %d", jobs.MaxBaselineMonths)
	}
	var months []time.Time
	if *backfill != "" {
		if *before != "" || *after != "" {
			return usagef("--backfill sets the periods: no --before or --after with it")
		}
		var err error
		if months, err = jobs.ParseMonths(*backfill, maxBackfillMonths); err != nil {
			return usagef("--backfill: %v", err)
		}
		if !flagSet(fs, "queue") {
			*queue = jobs.QueueBackfill
		}
	}
	data, err := os.ReadFile(*aoiPath)
	if err != nil {
		return usagef("--aoi: %v", err)
	}
	area, err := aoi.Parse(data, aoi.DefaultLimits)
	if err != nil {
		return err
	}
	var reqs []jobs.DetectRequest
	if months == nil {
		req, err := buildRequest(area, data, *before, *after, *catalog, *out, *baselineMonths, time.Now())
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	for _, m := range months {
		b, a := jobs.MonthPeriods(m, *baselineMonths)
		req := watch.RequestFor(area, data, b, a, *catalog, *out)
		if err := req.Validate(); err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	tasks := make([]*asynq.Task, len(reqs))
	for i := range reqs {
		reqs[i].Options.MinAreaHa = *minArea
		task, err := jobs.NewDetectTask(reqs[i], *queue)
		if err != nil {
			return err
		}
		tasks[i] = task
	}
	rdb, err := openRedis(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	client := asynq.NewClientFromRedisClient(rdb)
	for i, task := range tasks {
		req := reqs[i]
		info, err := client.EnqueueContext(ctx, task)
		switch {
		case errors.Is(err, asynq.ErrTaskIDConflict):
			fmt.Fprintf(stderr, "already enqueued (same AOI, periods and options): %s not enqueued again\n", req.After)
			fmt.Fprintln(stdout, req.TaskID())
			continue
		case err != nil:
			return fmt.Errorf("enqueue %s: %w", req.After, err)
		}
		fmt.Fprintf(stderr, "enqueued %s on %s: %s %s -> %s\n", area.ID, info.Queue, area.Name, req.Before, req.After)
		fmt.Fprintln(stdout, info.ID)
	}
	return nil
}

// maxBackfillMonths bounds one --backfill (ten years of months).
const maxBackfillMonths = 120

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// buildRequest makes the request of one AOI; empty periods default to the monthly ones
// (jobs.MonthlyPeriods); an after period without a before one gets the baselineMonths
// months before it. The output prefix gets <aoi id>/<after period> appended, as the
// scheduler's (watch.RequestFor), so successive runs of one AOI sit side by side and a
// monthly request enqueued by hand is the scheduler's own (same task id).
func buildRequest(area *aoi.AOI, data []byte, before, after, catalog, out string, baselineMonths int, now time.Time) (jobs.DetectRequest, error) {
	_, month := jobs.MonthlyPeriods(now)
	b, a := jobs.MonthPeriods(month.Start, baselineMonths)
	var err error
	if after != "" {
		if a, err = jobs.ParsePeriod(after); err != nil {
			return jobs.DetectRequest{}, usagef("--after: %v", err)
		}
		if before == "" { // the baseline window just before it
			b = jobs.Period{Start: a.Start.AddDate(0, -baselineMonths, 0), End: a.Start.AddDate(0, 0, -1)}
		}
	}
	if before != "" {
		if b, err = jobs.ParsePeriod(before); err != nil {
			return jobs.DetectRequest{}, usagef("--before: %v", err)
		}
	}
	req := watch.RequestFor(area, data, b, a, catalog, out)
	return req, req.Validate()
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", stderr)
	redisURL := redisFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 1 {
		return usagef("usage: changewatch status [TASK_ID]")
	}
	rdb, err := openRedis(ctx, *redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	ins := asynq.NewInspectorFromRedisClient(rdb)
	if fs.NArg() == 1 {
		return taskStatus(ins, fs.Arg(0), *asJSON, stdout)
	}
	return queueStatus(ins, *asJSON, stdout)
}

// taskView is one task as status shows it.
type taskView struct {
	ID       string          `json:"id"`
	Queue    string          `json:"queue"`
	Type     string          `json:"type"`
	State    string          `json:"state"`
	Retried  int             `json:"retried"`
	MaxRetry int             `json:"max_retry"`
	LastErr  string          `json:"last_error,omitempty"`
	Failed   *time.Time      `json:"last_failed_at,omitempty"`
	Done     *time.Time      `json:"completed_at,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}

func view(t *asynq.TaskInfo) taskView {
	v := taskView{ID: t.ID, Queue: t.Queue, Type: t.Type, State: t.State.String(), Retried: t.Retried, MaxRetry: t.MaxRetry, LastErr: t.LastErr}
	if !t.LastFailedAt.IsZero() {
		v.Failed = &t.LastFailedAt
	}
	if !t.CompletedAt.IsZero() {
		v.Done = &t.CompletedAt
	}
	if json.Valid(t.Result) {
		v.Result = t.Result
	}
	return v
}

func taskStatus(ins *asynq.Inspector, id string, asJSON bool, w io.Writer) error {
	for q := range jobs.QueuePriorities {
		t, err := ins.GetTaskInfo(q, id)
		if err != nil {
			continue
		}
		v := view(t)
		if asJSON {
			return printJSON(w, v)
		}
		fmt.Fprintf(w, "task %s\nqueue %s, type %s, state %s, retried %d/%d\n", v.ID, v.Queue, v.Type, v.State, v.Retried, v.MaxRetry)
		if v.LastErr != "" {
			fmt.Fprintf(w, "last error: %s\n", v.LastErr)
		}
		if v.Result != nil {
			fmt.Fprintf(w, "result: %s\n", v.Result)
		}
		return nil
	}
	return usagef("task %q not found in queues adhoc, monthly, backfill", id)
}

// queueStatus prints queue sizes, running tasks with their progress, and the most
// recent permanent failures with their reasons.
func queueStatus(ins *asynq.Inspector, asJSON bool, w io.Writer) error {
	type queueView struct {
		Queue                                                  string
		Pending, Active, Scheduled, Retry, Archived, Completed int
	}
	var queues []queueView
	var running, failed []taskView
	for _, q := range []string{jobs.QueueAdhoc, jobs.QueueMonthly, jobs.QueueBackfill} {
		qi, err := ins.GetQueueInfo(q)
		if err != nil {
			queues = append(queues, queueView{Queue: q}) // a queue nobody used yet
			continue
		}
		queues = append(queues, queueView{q, qi.Pending, qi.Active, qi.Scheduled, qi.Retry, qi.Archived, qi.Completed})
		if act, err := ins.ListActiveTasks(q); err == nil {
			for _, t := range act {
				running = append(running, view(t))
			}
		}
		if arch, err := ins.ListArchivedTasks(q, asynq.PageSize(10)); err == nil {
			for _, t := range arch {
				failed = append(failed, view(t))
			}
		}
	}
	if asJSON {
		return printJSON(w, map[string]any{"queues": queues, "running": running, "failed": failed})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tPENDING\tACTIVE\tSCHEDULED\tRETRY\tFAILED\tDONE")
	for _, q := range queues {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", q.Queue, q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived, q.Completed)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nrunning (%d):\n", len(running))
	for _, t := range running {
		var p jobs.Progress
		json.Unmarshal(t.Result, &p)
		fmt.Fprintf(w, "  %s  %-26s %5.1f%%\n", t.ID, p.Stage, p.Percent)
	}
	fmt.Fprintf(w, "\nrecent failures, not retried (%d):\n", len(failed))
	for _, t := range failed {
		fmt.Fprintf(w, "  %s  %s\n", t.ID, t.LastErr)
	}
	return nil
}

// keptBaselinesOption turns --kept-baselines into worker.Pipeline.KeptBaselines (0 there
// means the default, negative none).
func keptBaselinesOption(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
