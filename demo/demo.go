// Package demo is the embedded deployment behind `changewatch demo`: no account, no cloud,
// no configuration. It generates synthetic Sentinel-2 scenes, starts a Redis (redis-server child or
// miniredis) and an S3 server (gofakes3) in or under this process, seeds a bucket with
// the scenes in the Earth Search layout, runs a worker, enqueues the bundled AOIs, shows
// their progress, copies the results from the bucket to a local folder, summarises them
// and scores the block against the planted truth.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/places"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/synth"
	"github.com/changewatch/changewatch/worker"
)

// The demo monitors its AOIs month after month: one run per month of demoMonths, each
// against a baseline of the 12 months before it, like the scheduler's runs. The scenes
// (Scenes) hold a baseline year, an overcast December (a month that sees too little to
// say "no change") and two dates in each of the next three months, over which change
// appears and grows.
var demoMonths = []string{"2023-12", "2024-01", "2024-02", "2024-03"}

// demoScoredMonth is the run scored against the planted truth (which holds the change as
// it is on the last clear month).
const demoScoredMonth = "2024-03"

const (
	demoImagery       = "imagery"
	demoResults       = "results"
	demoCatalogPrefix = "catalog"
	// demoConcurrency is the number of tasks the embedded worker runs at once.
	demoConcurrency = 2
)

// Config is one demo run's settings.
type Config struct {
	// Out holds the generated scenes (scenes/, reused for the same Size and Seed) and the
	// local copy of the results (results/).
	Out string
	// Size is the pixels (10 m) per side of the synthetic scenes: even, 256..10980.
	Size int
	// Seed is the random seed of the synthetic scenes.
	Seed int64
	// Redis, when set, is used instead of starting one (the demo's worker takes any task
	// queued there). The caller owns and closes it.
	Redis *redis.Client
	// Miniredis forces the in-process miniredis even when redis-server is installed.
	Miniredis bool
	// Timeout bounds the run (not the serving that follows it with Serve).
	Timeout time.Duration
	// Serve keeps everything running after the run and serves the API and map over it
	// (changewatch serve on a free loopback port) until ctx is done.
	Serve bool
	// Months are the months monitored (YYYY-MM, among the scenes'); nil means all four,
	// December 2023 to March 2024.
	Months []string
}

func (c Config) months() []string {
	if len(c.Months) == 0 {
		return demoMonths
	}
	return c.Months
}

// Run does one demo: progress on stderr, the summary JSON on stdout.
func Run(ctx context.Context, c Config, stdout, stderr io.Writer, log *slog.Logger) error {
	// Progress lines come from several goroutines (the task poller, the alert receivers).
	d := &demo{cfg: c, stdout: stdout, stderr: &syncWriter{w: stderr}, log: log, t0: time.Now(), serveCtx: ctx}
	ctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("timed out after %s (--timeout)", c.Timeout))
	defer cancel()
	err := d.run(ctx)
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); errors.Is(cause, context.Canceled) {
			err = fmt.Errorf("interrupted: %w", err)
		} else {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}

// demo is one run of the embedded deployment.
type demo struct {
	cfg            Config
	stdout, stderr io.Writer
	log            *slog.Logger
	t0             time.Time
	serveCtx       context.Context // bounds serving (Config.Serve): the caller's, without the timeout
	alerts         *alerts         // the receiving side of the demo's subscription, once the alerts are in
}

// syncWriter serialises writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// say prints one line on stderr, prefixed with the seconds since the start.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.stderr, "%6.1fs  %s\n", time.Since(d.t0).Seconds(), fmt.Sprintf(format, args...))
}

// run does the whole demo. Everything it starts is stopped, in reverse order, on every
// path out: the worker (its running tasks go back to the queue), the Redis client and
// server, the S3 server, the temporary folder.
func (d *demo) run(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "changewatch-demo-")
	if err != nil {
		return fmt.Errorf("temp folder: %w", err)
	}
	defer os.RemoveAll(tmp)

	// Scenes, and the AOIs fitted to them.
	scenesDir := filepath.Join(d.cfg.Out, "scenes")
	syn, objects, reused, err := SeriesScenes(ctx, scenesDir, d.cfg.Size, d.cfg.Seed)
	if err != nil {
		return err
	}
	verb := "generated"
	if reused {
		verb = "reusing"
	}
	d.say("scenes: %s %d synthetic Sentinel-2 L2A scenes (%d x %d px, seed %d, %d planted objects) in %s",
		verb, len(syn.ItemPaths), d.cfg.Size, d.cfg.Size, d.cfg.Seed, objects, scenesDir)
	areas, err := d.areas(syn)
	if err != nil {
		return err
	}

	// Queue.
	r, err := startDemoRedis(ctx, d.cfg.Redis, d.cfg.Miniredis, tmp)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer r.Close()
	d.say("redis: %s", r.what)

	// Object storage, seeded with the scenes.
	s3srv, err := startDemoS3(filepath.Join(tmp, "s3"), d.log)
	if err != nil {
		return err
	}
	defer s3srv.Close()
	store, err := s3store.New(ctx, s3srv.storeConfig())
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	raster.Init(s3srv.rasterConfig())
	for _, b := range []string{demoImagery, demoResults} {
		if err := store.EnsureBucket(ctx, b); err != nil {
			return fmt.Errorf("s3: %w", err)
		}
	}
	files, size, err := uploadCatalog(ctx, store, syn.Root, demoImagery, demoCatalogPrefix)
	if err != nil {
		return err
	}
	d.say("s3: in-process S3 server (gofakes3, disk-backed) at %s: buckets %q and %q; put %d files (%.1f MiB) under s3://%s/%s/",
		s3srv.endpoint, demoImagery, demoResults, files, float64(size)/(1<<20), demoImagery, demoCatalogPrefix)

	// Worker. The block fans out into chunk tasks (and a merge), the small site does not.
	client := asynq.NewClientFromRedisClient(r.rdb)
	layers, err := places.Bundled()
	if err != nil {
		return err
	}
	h := &worker.Handler{Pipeline: &worker.Pipeline{Store: store, Logger: d.log, WorkDir: tmp}, Logger: d.log,
		Ledgers: &worker.Ledgers{Client: client, Redis: r.rdb, Places: layers, Notify: true}}
	if h.FanOut = demoFanOut(client, areas); h.FanOut != nil {
		d.say("worker: fan-out above %d pixels, in chunks of %d x %d pixels", h.FanOut.Pixels, h.FanOut.Chunk, h.FanOut.Chunk)
	}

	// Alerts: a webhook receiver and an SMTP sink on loopback, and a watch list
	// (<out>/watch, which --serve shows too) subscribing both to new incidents.
	al, err := startAlerts(filepath.Join(d.cfg.Out, "alerts"), d.say)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	defer al.Close()
	wdir := filepath.Join(d.cfg.Out, "watch")
	if err := al.writeWatch(wdir, areas); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	nh, err := al.handler(store, client, wdir, d.log)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	d.say("alerts: webhook receiver at %s (verifies the HMAC signature, dedupes on Idempotency-Key), SMTP sink at %s; %s subscribes both to new incidents",
		al.hookURL, al.smtpAddr, wdir)

	mux := h.Mux()
	nh.Register(mux)
	srv := worker.NewServer(r.rdb, worker.ServerConfig{Concurrency: demoConcurrency, ShutdownTimeout: 5 * time.Second, Logger: d.log})
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer srv.Shutdown()
	d.say("worker: in-process, concurrency %d, queues %s, %s, %s, %s, %s; after every published run it updates the AOI's incident ledger, then writes the run's report and sends its alerts",
		demoConcurrency, jobs.QueueAdhoc, jobs.QueueMonthly, jobs.QueueBackfill, jobs.QueueLedger, jobs.QueueNotify)

	// Enqueue, wait, collect.
	ins := asynq.NewInspectorFromRedisClient(r.rdb)
	tasks, err := d.enqueue(ctx, client, ins, areas)
	if err != nil {
		return err
	}
	if err := d.wait(ctx, ins, store, tasks); err != nil {
		return err
	}
	ledgers, err := d.waitLedgers(ctx, store, areas, tasks)
	if err != nil {
		return err
	}
	if err := d.waitNotify(ctx, ins, store, tasks); err != nil {
		return err
	}
	d.alerts = al
	if err := d.report(ctx, store, syn, tasks, ledgers); err != nil || !d.cfg.Serve {
		return err
	}
	return d.serve(d.serveCtx, r.rdb, store)
}

// areas parses the bundled AOIs and fits them to the scene.
func (d *demo) areas(syn *synth.Result) ([]demoArea, error) {
	data, err := os.ReadFile(syn.AOIGeoJSON)
	if err != nil {
		return nil, fmt.Errorf("scene footprint: %w", err)
	}
	fp, err := aoi.Parse(data, aoi.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("scene footprint %s: %w", syn.AOIGeoJSON, err)
	}
	var out []demoArea
	for _, a := range demoAOIs {
		da, err := fitAOI([]byte(a.geojson), fp.Bound())
		if err != nil {
			return nil, fmt.Errorf("bundled %s: %w", a.file, err)
		}
		note := "inside the scene"
		if da.clipped {
			note = fmt.Sprintf("clipped to the scene (%.2f km wide at --size %d)", float64(d.cfg.Size)/100, d.cfg.Size)
		}
		d.say("aoi: %s %q, %.0f ha, %s", da.area.ID, da.area.Name, da.area.AreaHa(), note)
		out = append(out, da)
	}
	return out, nil
}

// demoFanOut sets the worker's fan-out so that the block is cut into about 2 x 2 chunks
// and the small site runs as one task: the threshold lies halfway between their sizes
// (1 ha is 100 pixels of 10 m). nil when the two are the same size (--size 256).
func demoFanOut(client *asynq.Client, areas []demoArea) *worker.FanOut {
	small := areas[0].area.AreaHa() * 100
	block := areas[demoBlockIndex].area.AreaHa() * 100
	if block < 2*small {
		return nil
	}
	half := math.Sqrt(block) / 2
	return &worker.FanOut{Client: client, Pixels: int((small + block) / 2), Chunk: int(math.Ceil(half/6))*6 + 6}
}
