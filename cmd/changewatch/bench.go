package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/changewatch/changewatch/bench"
	"github.com/changewatch/changewatch/raster"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	var c bench.Config
	var jsonPath, logLevel, floorList string
	var generateOnly, monthly bool
	var monthlyRun string
	fs.IntVar(&c.Size, "size", 2048, "pixels per side of the synthetic 10 m grid: 2048, 5490 or 10980 (any even number from 256 to 10980)")
	fs.Int64Var(&c.Seed, "seed", 1, "synthetic scene seed")
	fs.StringVar(&c.Out, "out", "bench-out", "folder for the scenes (kept and reused for the same size and seed), the outputs and bench.json")
	fs.StringVar(&jsonPath, "json", "", "write the report as JSON to this file (default OUT/bench.json)")
	fs.BoolVar(&c.Keep, "keep", false, "keep detect's and the baseline's outputs (default: removed once scored)")
	fs.IntVar(&c.Runs, "runs", 3, "runs of the decode floor and of detect, in turn; the median run of each is reported")
	fs.IntVar(&c.Threads, "threads", runtime.NumCPU(), "decoding threads of the floor")
	fs.BoolVar(&c.Pair, "pair", false, "bench one before and one after date instead of 2 + 3 (scenes in OUT/scenes-SIZE-seedN-pair)")
	fs.StringVar(&c.Baseline, "baseline", "scripts/baseline_gdal.sh", "the gdal_calc/gdal_sieve/gdal_polygonize baseline script")
	fs.StringVar(&logLevel, "log-level", env("info", "CHANGEWATCH_LOG_LEVEL"), "log level: debug, info, warn, error (env CHANGEWATCH_LOG_LEVEL)")
	fs.BoolVar(&monthly, "monthly", false, "bench a monthly run (12 baseline dates + 1 new month) cold and with its kept baseline, then 6 consecutive months chained and cold: bytes read and seconds (report in OUT/bench-monthly.json)")
	// The internal modes make this process one of bench's child processes.
	fs.StringVar(&monthlyRun, "monthly-run", "", "internal: run the monthly request in this JSON file and print its figures as JSON")
	fs.StringVar(&floorList, "decode-floor", "", "internal: decode the files listed in this file and print the figures as JSON")
	fs.BoolVar(&generateOnly, "generate-only", false, "internal: generate the scenes of --size and --seed under --out and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if floorList != "" {
		data, err := os.ReadFile(floorList)
		if err != nil {
			return usagef("--decode-floor: %v", err)
		}
		var paths []string
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				paths = append(paths, l)
			}
		}
		raster.Init(raster.S3Config{})
		return bench.DecodeFloor(ctx, paths, c.Threads, stdout)
	}
	if monthlyRun != "" {
		raster.Init(raster.S3Config{})
		return bench.MonthlyChild(ctx, monthlyRun, stdout)
	}
	if c.Size < 256 || c.Size > 10980 || c.Size%2 != 0 {
		return usagef("--size %d: want an even number from 256 to 10980", c.Size)
	}
	if c.Threads < 1 {
		return usagef("--threads must be at least 1")
	}
	if c.Runs < 1 {
		return usagef("--runs must be at least 1")
	}
	if monthly {
		return runMonthlyBench(ctx, c, jsonPath, logLevel, stdout, stderr)
	}
	if _, err := os.Stat(c.Baseline); err != nil {
		return usagef("--baseline: %v (run from the repository root or give the script's path)", err)
	}
	if err := checkOutDir("out", c.Out); err != nil {
		return err
	}
	if jsonPath == "" {
		jsonPath = filepath.Join(c.Out, "bench.json")
	}
	if generateOnly {
		raster.Init(raster.S3Config{})
		return bench.Generate(ctx, c)
	}
	log, err := newLogger(stderr, logLevel)
	if err != nil {
		return err
	}
	if c.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	raster.Init(raster.S3Config{})
	rep, err := bench.Run(ctx, c, log)
	if err != nil {
		return err
	}
	if err := bench.WriteJSON(jsonPath, rep); err != nil {
		return err
	}
	bench.Print(stdout, rep)
	return nil
}

// runMonthlyBench runs `bench --monthly`.
func runMonthlyBench(ctx context.Context, c bench.Config, jsonPath, logLevel string, stdout, stderr io.Writer) error {
	if jsonPath == "" {
		jsonPath = filepath.Join(c.Out, "bench-monthly.json")
	}
	log, err := newLogger(stderr, logLevel)
	if err != nil {
		return err
	}
	mc := bench.MonthlyConfig{Size: c.Size, Seed: c.Seed, Out: c.Out, Runs: c.Runs}
	if mc.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	raster.Init(raster.S3Config{})
	rep, err := bench.Monthly(ctx, mc, log)
	if err != nil {
		return err
	}
	if err := bench.WriteMonthlyJSON(jsonPath, rep); err != nil {
		return err
	}
	bench.PrintMonthly(stdout, rep)
	return nil
}
