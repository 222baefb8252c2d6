// Command changewatch finds land-cover change (mining scars, mining ponds, burns) in
// Sentinel-2 L2A imagery over areas of interest and writes change polygons and rasters.
//
// Usage:
//
//	changewatch detect --aoi AOI.geojson --catalog URL|DIR|s3://b/p --before A/B --after C/D --out DIR|s3://b/p
//	changewatch eval --truth truth.geojson --detections changes.fgb
//	changewatch synth --out DIR [--size 1024] [--seed 1]
//	changewatch demo [--out ./demo-out]
//	changewatch worker --redis URL --concurrency N
//	changewatch enqueue --aoi AOI.geojson --catalog ... --out ... [--before A/B] [--after C/D] [--queue adhoc]
//	changewatch status [TASK_ID]
//	changewatch scheduler --redis URL --watch DIR|s3://b/p --catalog C --out O [--sync 1m]
//	changewatch soak [--dir soak-out] [--tasks 500]
//
// This file is wiring only: flags and environment into config, config into the packages.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

// exitUsage is the exit code for bad input (flags, AOI, periods): nothing was done.
const exitUsage = 2

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"detect", "detect change over one AOI between two periods (no queue)", runDetect},
	{"eval", "score detections against a truth layer (precision, recall, F1, IoU)", runEval},
	{"synth", "generate a synthetic Sentinel-2 L2A scene pair with planted change and its truth", runSynth},
	{"demo", "everything embedded (Redis, S3, a worker): two bundled AOIs through the queue, scored; no account, no cloud, no config", runDemo},
	{"worker", "process queued tasks from Redis until SIGTERM", runWorker},
	{"enqueue", "validate an AOI and queue its change detection", runEnqueue},
	{"status", "queue sizes, running tasks with progress, recent failures; or one task", runStatus},
	{"scheduler", "re-check every watched AOI on its schedule (default monthly)", runScheduler},
	{"serve", "the web API and map: AOIs, requests, runs, incidents, review, STAC, metrics", runServe},
	{"ledger", "rebuild an AOI's incident ledger from its published runs (a replay, no queue)", runLedger},
	{"bench", "benchmark detect against GDAL's decode floor and a gdal_calc baseline", runBench},
	{"soak", "the fault and soak suite: workers SIGKILLed at every stage, Redis restarted, S3 faults, corrupt rasters; then a reconciliation", runSoak},
}

// defaultGOGC is the garbage collector's target unless GOGC is set: the heap may grow to
// 1.5 times its live size (Go's default is 2). Detection holds a few hundred MB of
// long-lived strip buffers and tile caches and produces little garbage, so collecting
// earlier costs almost nothing and keeps a full-tile run's peak memory well under 1.5 GB.
const defaultGOGC = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// go-redis logs its own troubles (failed dials, pool errors); they go out as JSON
	// through slog, never as plain text (services replace this with their logger).
	routeRedisLogs(slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "version" {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "changewatch %s: %v\n", c.name, err)
			if isUsage(err) {
				return exitUsage
			}
			return 1
		}
	}
	fmt.Fprintf(stderr, "changewatch: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

// versionLine is the module version and the VCS revision the binary was built from, as
// the Go toolchain recorded them (go build and go install stamp the revision; go run does not).
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "changewatch (no build information)"
	}
	setting := map[string]string{}
	for _, s := range bi.Settings {
		setting[s.Key] = s.Value
	}
	line := "changewatch " + bi.Main.Version
	if rev := setting["vcs.revision"]; rev != "" {
		line += " revision " + rev
		if setting["vcs.modified"] == "true" {
			line += " (modified)"
		}
		if t := setting["vcs.time"]; t != "" {
			line += " committed " + t
		}
	} else if rev := sourceRevision(); rev != "" {
		line += " revision " + rev + " (not stamped in the binary: read from the git checkout it was built from)"
	} else {
		line += " revision unknown (not recorded: build with go build -buildvcs=true; go run and GOFLAGS=-buildvcs=false leave it out)"
	}
	return line + " " + bi.GoVersion + " " + raster.GDALVersion()
}

// sourceRevision is the git revision of the checkout this file was compiled from, when the
// build info has none (go run, GOFLAGS=-buildvcs=false) and the checkout is still there:
// "" otherwise. The path comes from the compiler (runtime.Caller), so it is the source
// tree's, not the working directory's; -trimpath builds have none.
func sourceRevision() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	dir := filepath.Dir(file)
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	rev := strings.TrimSpace(string(out))
	if err != nil || len(rev) != 40 {
		return ""
	}
	if st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += " (modified)"
	}
	return rev
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: changewatch COMMAND [flags]   (changewatch COMMAND -h for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\n  --version  print the version, the VCS revision and the Go and GDAL versions")
}

// usageError marks bad command-line input (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u) || errors.Is(err, aoi.ErrInvalid) || errors.Is(err, jobs.ErrBadRequest)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("changewatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// env returns the first non-empty environment variable of keys, else def.
func env(def string, keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return def
}

func parseLevel(level string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return l, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	return l, nil
}

// newLogger is the text logger of the interactive commands.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// newJSONLogger is the logger of the services (worker, scheduler): JSON on stderr.
func newJSONLogger(w io.Writer, level string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
	routeRedisLogs(log)
	slog.SetDefault(log) // libraries' own lines (the AWS SDK's through s3store) as JSON too
	return log, nil
}

// checkOutDir fails, as a usage error naming the flag, unless dir is a local folder this
// process can write into: it creates the folder (as the run would) and a probe file in it,
// and removes the probe. Called after every other check and before any work, so that an
// unwritable --out does not fail only after the whole run. s3:// and http(s) outputs are
// left to the store, which checks them when it connects.
func checkOutDir(flagName, dir string) error {
	if strings.Contains(dir, "://") {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("--%s %s: cannot create the folder: %v", flagName, dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".changewatch-probe-*")
	if err != nil {
		return usagef("--%s %s: folder is not writable: %v", flagName, dir, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return usagef("--%s %s: %v", flagName, dir, err)
	}
	return nil
}

// unwrapPath drops the operation and path of a *fs.PathError (the message names them).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %w", pe.Op, pe.Path, pe.Err)
	}
	return err
}
