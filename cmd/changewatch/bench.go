package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/stac"
)

// Periods of the synthetic scenes (synth's default dates: two in early 2023, three in
// early 2024).
const (
	benchBefore = "2023-01-01/2023-12-31"
	benchAfter  = "2024-01-01/2024-12-31"
)

// benchConfig is bench's command line.
type benchConfig struct {
	size     int
	seed     int64
	out      string
	jsonPath string
	keep     bool
	runs     int
	threads  int
	baseline string
	logLevel string
	// floorList, when set, makes this process the decode-floor child: it decodes the files
	// listed (one a line) in that file and prints raster.DecodeStats as JSON.
	floorList string
	// generateOnly makes this process the scene-generating child: it writes the scenes
	// and exits.
	generateOnly bool
}

// BenchStep is one measured step of a bench run.
type BenchStep struct {
	Name       string  `json:"name"`
	WallS      float64 `json:"wall_s"`
	CPUS       float64 `json:"cpu_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	MpxPerS    float64 `json:"mpx_per_s"` // grid pixels / wall time
	// ProcessWallS is the child process's lifetime (start-up and planning included);
	// for detect and the baseline it equals WallS.
	ProcessWallS float64 `json:"process_wall_s"`
	// RunsWallS lists the wall time of every run of a repeated step (--runs); the
	// step's figures are those of its median run.
	RunsWallS []float64 `json:"runs_wall_s,omitempty"`
}

// BenchReport is what bench prints and writes as JSON.
type BenchReport struct {
	Size       int       `json:"size"`
	Seed       int64     `json:"seed"`
	GridPixels int       `json:"grid_pixels"`
	Machine    benchHost `json:"machine"`
	Scenes     struct {
		Before    int     `json:"before"`
		After     int     `json:"after"`
		Files     int     `json:"files"`
		MiB       float64 `json:"mib"`
		Reused    bool    `json:"reused"`
		GenerateS float64 `json:"generate_s"`
	} `json:"scenes"`
	Floor  raster.DecodeStats `json:"floor"`
	Steps  []BenchStep        `json:"steps"` // decode floor, detect, baseline
	Ratios struct {
		DetectOverFloor    float64 `json:"detect_over_floor"`
		BaselineOverDetect float64 `json:"baseline_over_detect"`
	} `json:"ratios"`
	Accuracy struct {
		Detect   raster.Scores `json:"detect"`
		Baseline raster.Scores `json:"baseline"`
	} `json:"accuracy"`
	Polygons struct {
		Detect   int `json:"detect"`
		Baseline int `json:"baseline"`
	} `json:"polygons"`
}

// benchHost describes the machine.
type benchHost struct {
	CPUs   int     `json:"cpus"`
	Model  string  `json:"cpu_model,omitempty"`
	MemGiB float64 `json:"mem_gib,omitempty"`
	OS     string  `json:"os"`
	GDAL   string  `json:"gdal"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	var c benchConfig
	fs.IntVar(&c.size, "size", 2048, "pixels per side of the synthetic 10 m grid: 2048, 5490 or 10980 (any even number from 256 to 10980)")
	fs.Int64Var(&c.seed, "seed", 1, "synthetic scene seed")
	fs.StringVar(&c.out, "out", "bench-out", "folder for the scenes (kept and reused for the same size and seed), the outputs and bench.json")
	fs.StringVar(&c.jsonPath, "json", "", "write the report as JSON to this file (default OUT/bench.json)")
	fs.BoolVar(&c.keep, "keep", false, "keep detect's and the baseline's outputs (default: removed once scored)")
	fs.IntVar(&c.runs, "runs", 3, "runs of the decode floor and of detect, in turn; the median run of each is reported")
	fs.IntVar(&c.threads, "threads", runtime.NumCPU(), "decoding threads of the floor")
	fs.StringVar(&c.baseline, "baseline", "scripts/baseline_gdal.sh", "the gdal_calc/gdal_sieve/gdal_polygonize baseline script")
	fs.StringVar(&c.logLevel, "log-level", env("info", "CHANGEWATCH_LOG_LEVEL"), "log level: debug, info, warn, error (env CHANGEWATCH_LOG_LEVEL)")
	fs.StringVar(&c.floorList, "decode-floor", "", "internal: decode the files listed in this file and print the figures as JSON")
	fs.BoolVar(&c.generateOnly, "generate-only", false, "internal: generate the scenes of --size and --seed under --out and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.floorList != "" {
		return benchFloorChild(ctx, c, stdout)
	}
	if c.size < 256 || c.size > 10980 || c.size%2 != 0 {
		return usagef("--size %d: want an even number from 256 to 10980", c.size)
	}
	if c.threads < 1 {
		return usagef("--threads must be at least 1")
	}
	if c.runs < 1 {
		return usagef("--runs must be at least 1")
	}
	if _, err := os.Stat(c.baseline); err != nil {
		return usagef("--baseline: %v (run from the repository root or give the script's path)", err)
	}
	if c.jsonPath == "" {
		c.jsonPath = filepath.Join(c.out, "bench.json")
	}
	if c.generateOnly {
		raster.Init(raster.S3Config{})
		_, _, _, err := demoScenes(ctx, benchScenesDir(c), c.size, c.seed)
		return err
	}
	log, err := newLogger(stderr, c.logLevel)
	if err != nil {
		return err
	}
	raster.Init(raster.S3Config{})
	rep, err := bench(ctx, c, log)
	if err != nil {
		return err
	}
	if err := writeBenchJSON(c.jsonPath, rep); err != nil {
		return err
	}
	printBench(stdout, rep)
	return nil
}

// bench runs the four steps: scenes, decode floor, detect, baseline; then scores.
func bench(ctx context.Context, c benchConfig, log *slog.Logger) (*BenchReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	script, err := filepath.Abs(c.baseline)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rep := &BenchReport{Size: c.size, Seed: c.seed, GridPixels: c.size * c.size, Machine: benchMachine()}

	// 1. Scenes.
	dir := benchScenesDir(c)
	log.Info("scenes", "dir", dir, "size", c.size, "seed", c.seed)
	t0 := time.Now()
	_, _, reused := readDemoStamp(filepath.Join(dir, demoStampName), dir, c.size, c.seed)
	if !reused {
		// Generated in a child process: on Linux a child's peak RSS (ru_maxrss) starts from
		// its parent's, so a generator's memory here would show in every later step.
		if _, err := runMeasured(ctx, filepath.Join(c.out, "generate.log"), exe, "bench", "--generate-only",
			"--size", strconv.Itoa(c.size), "--seed", strconv.FormatInt(c.seed, 10), "--out", c.out, "--baseline", script); err != nil {
			return nil, fmt.Errorf("bench: scenes: %w", err)
		}
	}
	syn, _, _, err := demoScenes(ctx, dir, c.size, c.seed)
	if err != nil {
		return nil, fmt.Errorf("bench: scenes: %w", err)
	}
	rep.Scenes.Reused, rep.Scenes.GenerateS = reused, round(time.Since(t0).Seconds(), 2)
	log.Info("scenes ready", "reused", reused, "seconds", round(rep.Scenes.GenerateS, 1))
	files, beforeDirs, afterDirs, err := benchBands(ctx, dir, syn.BeforeIDs)
	if err != nil {
		return nil, err
	}
	rep.Scenes.Before, rep.Scenes.After, rep.Scenes.Files = len(beforeDirs), len(afterDirs), len(files)
	// Every step reads from the page cache: none pays for the disk.
	n, err := warmCache(ctx, files)
	if err != nil {
		return nil, err
	}
	rep.Scenes.MiB = round(float64(n)/(1<<20), 1)

	mpx := float64(rep.GridPixels) / 1e6
	step := func(name string, wall, cpu time.Duration, rssKiB int64, procWall time.Duration) BenchStep {
		s := BenchStep{Name: name, WallS: round(wall.Seconds(), 3), CPUS: round(cpu.Seconds(), 3),
			PeakRSSMiB: round(float64(rssKiB)/1024, 1), ProcessWallS: round(procWall.Seconds(), 3)}
		if wall > 0 {
			s.MpxPerS = round(mpx/wall.Seconds(), 2)
		}
		log.Info("step done", "step", name, "wall_s", s.WallS, "cpu_s", s.CPUS, "peak_rss_mib", s.PeakRSSMiB)
		return s
	}

	// 2 and 3. The decode floor, and detect end to end as a user runs it, each in a child
	// process so that its memory is its own; run in turn c.runs times, so that a passing
	// disturbance of the machine (page cache, frequency) shows in one run of each and not
	// in the ratio of their medians.
	list := filepath.Join(c.out, "floor-files.txt")
	if err := os.WriteFile(list, []byte(strings.Join(files, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.Remove(list)
	detOut := filepath.Join(c.out, "detect")
	type floorRun struct {
		stats raster.DecodeStats
		m     measured
	}
	type detectRun struct {
		sum jobs.Summary
		m   measured
	}
	var floors []floorRun
	var detects []detectRun
	for run := 1; run <= c.runs; run++ {
		log.Info("decode floor", "run", run, "files", len(files), "threads", c.threads)
		fr, err := runMeasured(ctx, filepath.Join(c.out, "floor.log"), exe, "bench", "--decode-floor", list, "--threads", strconv.Itoa(c.threads))
		if err != nil {
			return nil, fmt.Errorf("bench: decode floor: %w", err)
		}
		f := floorRun{m: fr}
		if err := json.Unmarshal(fr.stdout, &f.stats); err != nil {
			return nil, fmt.Errorf("bench: decode floor: output: %w", err)
		}
		floors = append(floors, f)
		log.Info("run done", "step", "decode floor", "run", run, "wall_s", round(f.stats.Wall.Seconds(), 3))

		if err := os.RemoveAll(detOut); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		log.Info("detect", "run", run, "aoi", syn.AOIGeoJSON, "out", detOut)
		dr, err := runMeasured(ctx, filepath.Join(c.out, "detect.log"), exe, "detect", "--aoi", syn.AOIGeoJSON,
			"--catalog", dir, "--before", benchBefore, "--after", benchAfter, "--out", detOut, "--log-level", "warn")
		if err != nil {
			return nil, fmt.Errorf("bench: detect: %w", err)
		}
		d := detectRun{m: dr}
		if err := json.Unmarshal(dr.stdout, &d.sum); err != nil {
			return nil, fmt.Errorf("bench: detect: summary: %w", err)
		}
		detects = append(detects, d)
		log.Info("run done", "step", "detect", "run", run, "wall_s", round(dr.wall.Seconds(), 3))
	}
	fwalls, dwalls := make([]float64, len(floors)), make([]float64, len(detects))
	for i := range floors {
		fwalls[i], dwalls[i] = round(floors[i].stats.Wall.Seconds(), 3), round(detects[i].m.wall.Seconds(), 3)
	}
	slices.SortStableFunc(floors, func(a, b floorRun) int { return cmp.Compare(a.stats.Wall, b.stats.Wall) })
	slices.SortStableFunc(detects, func(a, b detectRun) int { return cmp.Compare(a.m.wall, b.m.wall) })
	fm, dm := floors[(len(floors)-1)/2], detects[(len(detects)-1)/2] // the (lower) median runs
	rep.Floor = fm.stats
	fs := step("decode floor", rep.Floor.Wall, rep.Floor.CPU, fm.m.maxRSSKiB, fm.m.wall)
	ds := step("detect", dm.m.wall, dm.m.cpu, dm.m.maxRSSKiB, dm.m.wall)
	if c.runs > 1 {
		fs.RunsWallS, ds.RunsWallS = fwalls, dwalls
	}
	rep.Steps = append(rep.Steps, fs, ds)
	for _, v := range dm.sum.Polygons {
		rep.Polygons.Detect += v
	}
	dr := dm.m

	// 4. The gdal_calc / gdal_sieve / gdal_polygonize baseline.
	blOut := filepath.Join(c.out, "baseline")
	if err := os.RemoveAll(blOut); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	log.Info("baseline", "script", script, "out", blOut)
	blArgs := append(append(append([]string{script, blOut}, beforeDirs...), "--"), afterDirs...)
	br, err := runMeasured(ctx, filepath.Join(c.out, "baseline.log"), "bash", blArgs...)
	if err != nil {
		return nil, fmt.Errorf("bench: baseline: %w", err)
	}
	rep.Steps = append(rep.Steps, step("gdal_calc baseline", br.wall, br.cpu, br.maxRSSKiB, br.wall))

	rep.Ratios.DetectOverFloor = round(dr.wall.Seconds()/rep.Floor.Wall.Seconds(), 2)
	rep.Ratios.BaselineOverDetect = round(br.wall.Seconds()/dr.wall.Seconds(), 2)

	// Accuracy of both against the planted truth.
	if rep.Accuracy.Detect, err = raster.ScoreVectors(ctx, syn.TruthGeoJSON, filepath.Join(detOut, "changes.gpkg"), 10); err != nil {
		return nil, fmt.Errorf("bench: score detect: %w", err)
	}
	blVec := filepath.Join(blOut, "changes.gpkg")
	if rep.Accuracy.Baseline, err = raster.ScoreVectors(ctx, syn.TruthGeoJSON, blVec, 10); err != nil {
		return nil, fmt.Errorf("bench: score baseline: %w", err)
	}
	feats, err := raster.ReadVector(ctx, blVec)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rep.Polygons.Baseline = len(feats)

	if !c.keep {
		for _, p := range []string{detOut, blOut} {
			if err := os.RemoveAll(p); err != nil {
				log.Warn("cleanup", "path", p, "err", err)
			}
		}
	}
	return rep, nil
}

// benchScenesDir is where the scenes of c's size and seed live.
func benchScenesDir(c benchConfig) string {
	return filepath.Join(c.out, fmt.Sprintf("scenes-%d-seed%d", c.size, c.seed))
}

// benchBands returns every band file of the scene set under dir (what detect reads: all
// bands of every scene) and the scene folders of each period.
func benchBands(ctx context.Context, dir string, beforeIDs []string) (files, before, after []string, err error) {
	cat, err := stac.NewStatic(dir, nil, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bench: catalog: %w", err)
	}
	items, err := cat.Search(ctx, stac.Query{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bench: catalog: %w", err)
	}
	slices.SortFunc(items, func(a, b stac.Item) int { return a.Datetime.Compare(b.Datetime) })
	for _, it := range items {
		for _, k := range raster.BandKeys {
			a, ok := it.Assets[k]
			if !ok {
				return nil, nil, nil, fmt.Errorf("bench: item %s has no %s asset", it.ID, k)
			}
			files = append(files, a.Href)
		}
		d := filepath.Dir(it.Assets["red"].Href)
		if slices.Contains(beforeIDs, it.ID) {
			before = append(before, d)
		} else {
			after = append(after, d)
		}
	}
	if len(before) == 0 || len(after) == 0 {
		return nil, nil, nil, fmt.Errorf("bench: catalog %s: %d before and %d after scenes", dir, len(before), len(after))
	}
	return files, before, after, nil
}

// warmCache reads every file once so that each step finds them in the page cache, and
// returns the bytes read.
func warmCache(ctx context.Context, files []string) (int64, error) {
	var total int64
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		f, err := os.Open(p)
		if err != nil {
			return total, fmt.Errorf("bench: %w", err)
		}
		n, err := io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			return total, fmt.Errorf("bench: read %s: %w", p, err)
		}
		total += n
	}
	return total, nil
}

// measured is what a child process cost.
type measured struct {
	wall, cpu time.Duration
	maxRSSKiB int64 // the largest resident set of the child and the descendants it waited for
	stdout    []byte
}

// runMeasured runs name with args as a child process, its stdout captured and its stderr
// written to logPath, and returns its wall time, user+system CPU time and peak resident
// set size (getrusage of the child: on Linux its waited-for descendants count too). The
// child runs in its own process group, which is killed when ctx ends.
func runMeasured(ctx context.Context, logPath, name string, args ...string) (measured, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return measured{}, err
	}
	defer logf.Close()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, logf
	cmd.SysProcAttr = childProcAttr()
	cmd.Cancel = func() error {
		if cmd.SysProcAttr != nil && cmd.SysProcAttr.Setpgid {
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		return cmd.Process.Kill()
	}
	t0 := time.Now()
	err = cmd.Run()
	m := measured{wall: time.Since(t0), stdout: out.Bytes()}
	if err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		return m, fmt.Errorf("%s: %w%s", filepath.Base(name), err, logTail(logPath))
	}
	ps := cmd.ProcessState
	m.cpu = ps.UserTime() + ps.SystemTime()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		m.maxRSSKiB = int64(ru.Maxrss) // KiB on Linux
	}
	return m, nil
}

// logTail returns the last lines of a child's log, for error messages.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return "\n" + strings.Join(lines[max(0, len(lines)-10):], "\n")
}

// benchFloorChild is the decode-floor child process.
func benchFloorChild(ctx context.Context, c benchConfig, stdout io.Writer) error {
	data, err := os.ReadFile(c.floorList)
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
	st, err := raster.DecodeFloor(ctx, paths, c.threads)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(st)
}

func writeBenchJSON(path string, rep *BenchReport) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := printJSON(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// printBench prints the report as a table.
func printBench(w io.Writer, rep *BenchReport) {
	m := rep.Machine
	fmt.Fprintf(w, "changewatch bench: %dx%d grid (%.1f Mpx), %d before + %d after scenes, %d COGs (%.0f MiB, %s)\n",
		rep.Size, rep.Size, float64(rep.GridPixels)/1e6, rep.Scenes.Before, rep.Scenes.After, rep.Scenes.Files, rep.Scenes.MiB,
		map[bool]string{true: "reused", false: fmt.Sprintf("generated in %.1f s", rep.Scenes.GenerateS)}[rep.Scenes.Reused])
	fmt.Fprintf(w, "machine: %d CPUs %s, %.0f GiB, %s, GDAL %s\n\n", m.CPUs, m.Model, m.MemGiB, m.OS, m.GDAL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\twall s\tCPU s\tpeak RSS MiB\tMpx/s\truns (wall s)\t")
	for _, s := range rep.Steps {
		runs := ""
		if len(s.RunsWallS) > 1 {
			runs = strings.Trim(fmt.Sprintf("%.2f", s.RunsWallS), "[]") // "[8.47 8.31]"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.0f\t%.1f\t%s\t\n", s.Name, s.WallS, s.CPUS, s.PeakRSSMiB, s.MpxPerS, runs)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ndetect / floor: %.2fx   baseline / detect: %.2fx\n", rep.Ratios.DetectOverFloor, rep.Ratios.BaselineOverDetect)
	fmt.Fprintf(w, "detect:   %d polygons, %s\n", rep.Polygons.Detect, rep.Accuracy.Detect)
	fmt.Fprintf(w, "baseline: %d polygons, %s\n", rep.Polygons.Baseline, rep.Accuracy.Baseline)
}

// benchMachine describes this machine (Linux /proc where present).
func benchMachine() benchHost {
	h := benchHost{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if v := benchGDALVersion(); v != "" {
		h.GDAL = v
	}
	procField := func(path, key string) string {
		f, err := os.Open(path)
		if err != nil {
			return ""
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == key {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	h.Model = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		h.MemGiB = round(kb/(1<<20), 1)
	}
	return h
}

// benchGDALVersion asks gdalinfo, the tool the baseline uses, for GDAL's version.
func benchGDALVersion() string {
	out, err := exec.Command("gdalinfo", "--version").Output()
	if err != nil {
		return ""
	}
	v, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "GDAL "), ",")
	return v
}

// round rounds v to d decimals (NaN and infinities unchanged).
func round(v float64, d int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
