package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/watch"
)

// schedulerConfig is what the scheduler command runs with.
type schedulerConfig struct {
	redisURL, watch, catalog, out, logLevel string
	sync                                    time.Duration
	noCatchUp                               bool
	s3                                      s3Flags
}

// runScheduler re-checks every AOI of a watch list on its schedule (default monthly):
// it registers one periodic change:detect task per AOI file with asynq, re-reads the
// list every --sync, and first enqueues any run missed while it was down (catch-up).
func runScheduler(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scheduler", stderr)
	var c schedulerConfig
	redisURL := redisFlag(fs)
	fs.StringVar(&c.watch, "watch", env("", "CHANGEWATCH_WATCH"), "watch list: folder or s3://bucket/prefix of AOI GeoJSON files (*.geojson, *.json), one AOI each (env CHANGEWATCH_WATCH; required)")
	fs.StringVar(&c.catalog, "catalog", env("", "CHANGEWATCH_CATALOG"), "default STAC API URL or static STAC catalog (folder or s3://bucket/prefix); a file's \"catalog\" property overrides it (env CHANGEWATCH_CATALOG; required)")
	fs.StringVar(&c.out, "out", env("", "CHANGEWATCH_OUTPUT"), "default output folder or s3://bucket/prefix; <aoi id>/<YYYY-MM>_<YYYY-MM> is appended; a file's \"output\" property overrides it (env CHANGEWATCH_OUTPUT; required)")
	fs.DurationVar(&c.sync, "sync", time.Minute, "how often the watch list is re-read (added, changed and removed files take effect then)")
	fs.BoolVar(&c.noCatchUp, "no-catch-up", false, "do not enqueue, at start, the last scheduled run of each AOI (a run already enqueued or done is never repeated)")
	fs.StringVar(&c.logLevel, "log-level", env("info", "CHANGEWATCH_LOG_LEVEL"), "log level (env CHANGEWATCH_LOG_LEVEL)")
	c.s3.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.redisURL = *redisURL
	switch {
	case c.watch == "" || c.catalog == "" || c.out == "":
		return usagef("--watch, --catalog and --out are required")
	case c.sync < time.Second:
		return usagef("--sync %v: must be at least 1s", c.sync)
	}
	log, err := newJSONLogger(stderr, c.logLevel)
	if err != nil {
		return err
	}
	store, err := c.s3.setup(ctx, c.watch)
	if err != nil {
		return err
	}
	var src watch.Source
	if store != nil { // a nil *s3store.Client in the interface would not be nil
		src = store
	}
	loc, err := watch.ParseLocation(c.watch, src)
	if err != nil {
		return usagef("--watch: %v", err)
	}
	rdb, err := openRedis(ctx, c.redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()

	p := &watch.Provider{Watch: loc, Catalog: c.catalog, Output: c.out, Logger: log}
	if !c.noCatchUp {
		rep, err := p.CatchUp(ctx, asynq.NewClientFromRedisClient(rdb))
		if err != nil {
			log.Error("catch-up incomplete; the scheduler runs on", "err", err.Error())
		}
		log.Info("catch-up done", "enqueued", len(rep.Enqueued), "already_done", len(rep.AlreadyDone))
	}
	mgr, err := watch.NewManager(rdb, p, c.sync, log)
	if err != nil {
		return err
	}
	if err := mgr.Start(); err != nil {
		return fmt.Errorf("start scheduler: %w", err)
	}
	log.Info("scheduler started", "watch", loc.String(), "sync", c.sync.String(), "default_schedule", watch.DefaultSchedule)
	<-ctx.Done()
	log.Info("scheduler stopping")
	mgr.Shutdown()
	log.Info("scheduler stopped")
	return nil
}
