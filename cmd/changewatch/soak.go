package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/soak"
)

// errSoakFailed: the reconciliation found lost or duplicated results (exit code 1).
var errSoakFailed = errors.New("lost or duplicated results (see the problems above)")

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("soak", stderr)
	var c soak.Config
	var jsonPath, logLevel string
	fs.StringVar(&c.Dir, "dir", "soak-out", "folder for the run: Redis's append-only file, the scenes, each worker's JSON log (worker-N.log)")
	fs.IntVar(&c.Tasks, "tasks", 500, "change:detect tasks (small AOIs over a synthetic scene pair)")
	fs.IntVar(&c.Corrupt, "corrupt", 4, "of which tasks read a corrupted catalog (0-4: truncated B04, garbled B08, truncated SCL, garbled SCL)")
	fs.IntVar(&c.Workers, "workers", 2, "worker processes")
	fs.IntVar(&c.Concurrency, "concurrency", 2, "tasks per worker process")
	fs.IntVar(&c.KillRounds, "kill-rounds", 2, "SIGKILLs of a worker at each stage (plan, read, compute, publish)")
	fs.IntVar(&c.RandomKills, "random-kills", 4, "further SIGKILLs at stages drawn at random")
	fs.IntVar(&c.RedisRestarts, "redis-restarts", 3, "redis-server SIGKILLed and restarted with tasks queued and running")
	fs.Float64Var(&c.FaultRate, "fault-rate", 0.02, "share of S3 requests failing (500, 503 SlowDown, reset mid-body, truncated range)")
	fs.Float64Var(&c.LatencyRate, "latency-rate", 0.05, "share of S3 requests delayed by up to --max-latency")
	fs.DurationVar(&c.MaxLatency, "max-latency", 300*time.Millisecond, "longest injected delay")
	fs.Float64Var(&c.FaultsUntil, "faults-until", 0, "stop the S3 faults once this share of the tasks is done (0: to the end)")
	fs.Int64Var(&c.Seed, "seed", 1, "seed of the scenes, the AOIs and the fault schedule")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&c.RedisServer, "redis-server", "redis-server", "the redis-server binary")
	fs.StringVar(&c.Versitygw, "versitygw", env("", "CHANGEWATCH_VERSITYGW"), "the versitygw binary (default: the one scripts/setup.sh installs, or on PATH)")
	fs.StringVar(&c.S3.Endpoint, "s3-endpoint", "", "use this S3 server (root keys from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) instead of starting versitygw")
	fs.StringVar(&jsonPath, "json", "", "also write the reconciliation as JSON to this file")
	fs.StringVar(&logLevel, "log-level", env("info", "CHANGEWATCH_LOG_LEVEL"), "log level of the soak's progress lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.Tasks < 1 || c.Workers < 1 || c.Concurrency < 1 || c.Corrupt < 0 || c.Corrupt > 4 || c.Corrupt >= c.Tasks {
		return usagef("--tasks, --workers, --concurrency must be at least 1 and --corrupt 0-4, fewer than --tasks")
	}
	if c.FaultRate < 0 || c.FaultRate > 1 || c.LatencyRate < 0 || c.LatencyRate > 1 || c.FaultsUntil < 0 || c.FaultsUntil > 1 {
		return usagef("--fault-rate, --latency-rate and --faults-until are shares from 0 to 1")
	}
	if c.S3.Endpoint != "" {
		c.S3.AccessKey, c.S3.SecretKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	log, err := newLogger(stderr, logLevel)
	if err != nil {
		return err
	}
	c.Log = log
	if c.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	raster.Init(raster.S3Config{})
	rep, err := soak.Run(ctx, c)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if jsonPath != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if !rep.OK() {
		return errSoakFailed
	}
	return nil
}
