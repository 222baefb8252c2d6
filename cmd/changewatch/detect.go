package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/worker"
)

// s3Flags configure object storage, from flags or the usual environment variables.
type s3Flags struct {
	endpoint, region string
	pathStyle        bool
	anonymous        bool
}

func (s *s3Flags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.endpoint, "s3-endpoint", env("", "CHANGEWATCH_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "S3-compatible endpoint URL (env CHANGEWATCH_S3_ENDPOINT); empty for AWS")
	fs.StringVar(&s.region, "s3-region", env("us-west-2", "AWS_REGION", "AWS_DEFAULT_REGION"), "S3 region (env AWS_REGION)")
	ps, _ := strconv.ParseBool(env("false", "CHANGEWATCH_S3_PATH_STYLE"))
	fs.BoolVar(&s.pathStyle, "s3-path-style", ps, "path-style S3 addressing, for self-hosted servers (env CHANGEWATCH_S3_PATH_STYLE)")
	an, _ := strconv.ParseBool(env("false", "CHANGEWATCH_S3_ANONYMOUS"))
	fs.BoolVar(&s.anonymous, "s3-anonymous", an, "unsigned S3 requests, for public buckets (env CHANGEWATCH_S3_ANONYMOUS)")
}

func (s *s3Flags) config() s3store.Config {
	return s3store.Config{Endpoint: s.endpoint, Region: s.region, PathStyle: s.pathStyle, Anonymous: s.anonymous,
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
}

// setup initialises GDAL and, when any path is s3://, the S3 client.
func (s *s3Flags) setup(ctx context.Context, paths ...string) (*s3store.Client, error) {
	c := s.config()
	raster.Init(raster.S3Config{Endpoint: c.Endpoint, Region: c.Region, PathStyle: c.PathStyle,
		Anonymous: c.Anonymous, AccessKey: c.AccessKey, SecretKey: c.SecretKey})
	for _, p := range paths {
		if strings.HasPrefix(p, "s3://") {
			cl, err := s3store.New(ctx, c)
			if err != nil {
				return nil, fmt.Errorf("s3: %w", err)
			}
			return cl, nil
		}
	}
	return nil, nil
}

// detectFlags are the flags of detect (and the request part of demo).
type detectFlags struct {
	aoiPath, catalog, before, after, out string
	minArea                              float64
	noMask                               bool
	maskBuffer, maxScenes                int
	maxCloud                             float64
	chunk, minClear                      int
	logLevel, cpuProfile, memProfile     string
	s3                                   s3Flags
	access                               accessFlags
}

func (d *detectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.aoiPath, "aoi", "", "area of interest: GeoJSON Polygon/MultiPolygon, Feature or FeatureCollection, EPSG:4326 (required)")
	fs.StringVar(&d.catalog, "catalog", "", "STAC API URL (http(s)://, e.g. https://earth-search.aws.element84.com/v1) or static STAC catalog: folder or s3://bucket/prefix of Sentinel-2 L2A item JSON files (required)")
	fs.StringVar(&d.before, "before", "", "before period START/END, e.g. 2023-01-01/2023-03-31 (required)")
	fs.StringVar(&d.after, "after", "", "after period START/END, e.g. 2024-01-01/2024-03-31 (required)")
	fs.StringVar(&d.out, "out", "", "output folder or s3://bucket/prefix (required)")
	fs.Float64Var(&d.minArea, "min-area", jobs.DefaultMinAreaHa, "minimum mapping unit in hectares")
	fs.BoolVar(&d.noMask, "no-mask", false, "do not mask clouds with SCL (L1C data without SCL)")
	fs.IntVar(&d.maskBuffer, "mask-buffer", jobs.DefaultMaskBuffer, "pixels (10 m) added around SCL clouds and shadows")
	fs.IntVar(&d.maxScenes, "max-scenes", jobs.DefaultMaxScenes, "scenes composited per period (least cloudy first, at most 16)")
	fs.Float64Var(&d.maxCloud, "max-cloud", jobs.DefaultMaxCloud, "skip scenes whose eo:cloud_cover is above this percentage")
	fs.IntVar(&d.minClear, "min-clear", 1, "clear observations a pixel needs in each period; with fewer it is marked not observed")
	fs.IntVar(&d.chunk, "chunk", 10980, "grids wider or taller than this many pixels are processed in chunks of this side and merged (rasters stream to disk, so memory follows the grid's width)")
	fs.StringVar(&d.cpuProfile, "cpuprofile", "", "write a Go CPU profile (pprof) of the run to this file")
	fs.StringVar(&d.memProfile, "memprofile", "", "write a Go heap profile (pprof: bytes allocated and in use at the end) of the run to this file")
	fs.StringVar(&d.logLevel, "log-level", env("warn", "CHANGEWATCH_LOG_LEVEL"), "log level: debug, info, warn, error (env CHANGEWATCH_LOG_LEVEL)")
	d.s3.register(fs)
	d.access.register(fs)
}

func (d *detectFlags) request() (jobs.DetectRequest, error) {
	for _, f := range []struct{ name, v string }{{"aoi", d.aoiPath}, {"catalog", d.catalog}, {"before", d.before}, {"after", d.after}, {"out", d.out}} {
		if f.v == "" {
			return jobs.DetectRequest{}, usagef("--%s is required", f.name)
		}
	}
	data, err := os.ReadFile(d.aoiPath)
	if err != nil {
		return jobs.DetectRequest{}, usagef("--aoi: %v", err)
	}
	before, err := jobs.ParsePeriod(d.before)
	if err != nil {
		return jobs.DetectRequest{}, usagef("--before: %v", err)
	}
	after, err := jobs.ParsePeriod(d.after)
	if err != nil {
		return jobs.DetectRequest{}, usagef("--after: %v", err)
	}
	req := jobs.DetectRequest{
		Version: jobs.PayloadVersion, AOI: data, Before: before, After: after,
		Catalog: d.catalog, Output: d.out,
		Options: jobs.Options{MinAreaHa: d.minArea, NoMask: d.noMask, MaskBuffer: &d.maskBuffer, MaxScenes: d.maxScenes, MaxCloud: d.maxCloud, MinClear: d.minClear},
	}
	if err := req.Validate(); err != nil {
		return req, err
	}
	// Validate the AOI and the output now, so bad input fails before anything else happens.
	if _, err := aoi.Parse(data, aoi.DefaultLimits); err != nil {
		return req, err
	}
	return req, checkOutDir("out", d.out)
}

func runDetect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("detect", stderr)
	var d detectFlags
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	req, err := d.request()
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, d.logLevel)
	if err != nil {
		return err
	}
	if d.cpuProfile != "" {
		f, err := os.Create(d.cpuProfile)
		if err != nil {
			return usagef("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sum, err := detect(ctx, &d, req, log, stderr)
	if err != nil {
		return err
	}
	if d.memProfile != "" {
		f, err := os.Create(d.memProfile)
		if err != nil {
			return usagef("--memprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return printJSON(stdout, sum)
}

func detect(ctx context.Context, d *detectFlags, req jobs.DetectRequest, log *slog.Logger, stderr io.Writer) (*jobs.Summary, error) {
	store, err := d.s3.setup(ctx, req.Catalog, req.Output)
	if err != nil {
		return nil, err
	}
	pol, err := d.access.policy()
	if err != nil {
		return nil, err
	}
	eg, stop, err := startEgress(pol, &d.s3, log)
	if err != nil {
		return nil, err
	}
	defer stop()
	p := &worker.Pipeline{Logger: log, ChunkSide: d.chunk, Access: pol, Egress: eg}
	if store != nil {
		p.Store = store
	}
	return p.Detect(ctx, req, progressPrinter(stderr))
}

// progressPrinter prints one line when a stage starts and when it has moved on by a
// quarter, so a long run shows it is alive without flooding the terminal.
func progressPrinter(w io.Writer) func(stage string, frac float64) {
	var mu sync.Mutex
	last, lastFrac := "", -1.0
	start := time.Now()
	return func(stage string, frac float64) {
		mu.Lock()
		defer mu.Unlock()
		if stage == last && frac-lastFrac < 0.25 && frac < 1 {
			return
		}
		if stage == last && frac >= 1 && lastFrac >= 1 {
			return
		}
		last, lastFrac = stage, frac
		fmt.Fprintf(w, "%6.1fs  %-28s %3.0f%%\n", time.Since(start).Seconds(), stage, 100*frac)
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
