// Package bench measures detect against GDAL's decode floor and a gdal_calc baseline on
// synthetic scenes (`changewatch bench`): wall and CPU time, peak memory, accuracy.
package bench

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

	"github.com/changewatch/changewatch/demo"
	"github.com/changewatch/changewatch/internal/childproc"
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

// Config is one bench run's settings.
type Config struct {
	// Exe is the changewatch binary. Bench runs its steps as child processes of it, so
	// that each step's memory is its own: `detect`, `bench --decode-floor LIST --threads N`
	// and `bench --generate-only --size S --seed N --out OUT --baseline B`.
	Exe string
	// Size is the pixels per side of the synthetic 10 m grid (even, 256..10980).
	Size int
	// Seed is the synthetic scene seed.
	Seed int64
	// Out holds the scenes (kept and reused for the same Size and Seed) and the outputs.
	Out string
	// Keep keeps detect's and the baseline's outputs (else removed once scored).
	Keep bool
	// Runs is the number of runs of the decode floor and of detect, in turn; the median
	// run of each is reported.
	Runs int
	// Threads is the decode floor's number of decoding threads.
	Threads int
	// Baseline is the gdal_calc/gdal_sieve/gdal_polygonize baseline script.
	Baseline string
	// Pair benches a scene set of one before and one after date (synth.PairDates), where
	// the fixed costs weigh more than in the default 2 + 3 dates.
	Pair bool
}

// Step is one measured step of a bench run.
type Step struct {
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

// Report is what bench prints and writes as JSON.
type Report struct {
	Size       int   `json:"size"`
	Seed       int64 `json:"seed"`
	Pair       bool  `json:"pair"`
	GridPixels int   `json:"grid_pixels"`
	Machine    Host  `json:"machine"`
	Scenes     struct {
		Before    int     `json:"before"`
		After     int     `json:"after"`
		Files     int     `json:"files"`
		MiB       float64 `json:"mib"`
		Reused    bool    `json:"reused"`
		GenerateS float64 `json:"generate_s"`
	} `json:"scenes"`
	Floor  raster.DecodeStats `json:"floor"`
	Steps  []Step             `json:"steps"` // decode floor, detect, baseline
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

// Host describes the machine.
type Host struct {
	CPUs   int     `json:"cpus"`
	Model  string  `json:"cpu_model,omitempty"`
	MemGiB float64 `json:"mem_gib,omitempty"`
	OS     string  `json:"os"`
	GDAL   string  `json:"gdal"`
}

// Run runs the four steps: scenes, decode floor, detect, baseline; then scores.
func Run(ctx context.Context, c Config, log *slog.Logger) (*Report, error) {
	exe := c.Exe
	script, err := filepath.Abs(c.Baseline)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rep := &Report{Size: c.Size, Seed: c.Seed, Pair: c.Pair, GridPixels: c.Size * c.Size, Machine: benchMachine()}

	// 1. Scenes.
	dir := scenesDir(c)
	log.Info("scenes", "dir", dir, "size", c.Size, "seed", c.Seed)
	t0 := time.Now()
	reused := demo.SceneSetReady(dir, c.Size, c.Seed, c.Pair)
	if !reused {
		// Generated in a child process: on Linux a child's peak RSS (ru_maxrss) starts from
		// its parent's, so a generator's memory here would show in every later step.
		args := []string{"bench", "--generate-only",
			"--size", strconv.Itoa(c.Size), "--seed", strconv.FormatInt(c.Seed, 10), "--out", c.Out, "--baseline", script}
		if c.Pair {
			args = append(args, "--pair")
		}
		if _, err := runMeasured(ctx, filepath.Join(c.Out, "generate.log"), exe, args...); err != nil {
			return nil, fmt.Errorf("bench: scenes: %w", err)
		}
	}
	syn, _, _, err := demo.SceneSet(ctx, dir, c.Size, c.Seed, c.Pair)
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
	step := func(name string, wall, cpu time.Duration, rssKiB int64, procWall time.Duration) Step {
		s := Step{Name: name, WallS: round(wall.Seconds(), 3), CPUS: round(cpu.Seconds(), 3),
			PeakRSSMiB: round(float64(rssKiB)/1024, 1), ProcessWallS: round(procWall.Seconds(), 3)}
		if wall > 0 {
			s.MpxPerS = round(mpx/wall.Seconds(), 2)
		}
		log.Info("step done", "step", name, "wall_s", s.WallS, "cpu_s", s.CPUS, "peak_rss_mib", s.PeakRSSMiB)
		return s
	}

	// 2 and 3. The decode floor, and detect end to end as a user runs it, each in a child
	// process so that its memory is its own; run in turn c.Runs times, so that a passing
	// disturbance of the machine (page cache, frequency) shows in one run of each and not
	// in the ratio of their medians.
	list := filepath.Join(c.Out, "floor-files.txt")
	if err := os.WriteFile(list, []byte(strings.Join(files, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.Remove(list)
	detOut := filepath.Join(c.Out, "detect")
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
	for run := 1; run <= c.Runs; run++ {
		log.Info("decode floor", "run", run, "files", len(files), "threads", c.Threads)
		fr, err := runMeasured(ctx, filepath.Join(c.Out, "floor.log"), exe, "bench", "--decode-floor", list, "--threads", strconv.Itoa(c.Threads))
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
		dr, err := runMeasured(ctx, filepath.Join(c.Out, "detect.log"), exe, "detect", "--aoi", syn.AOIGeoJSON,
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
	if c.Runs > 1 {
		fs.RunsWallS, ds.RunsWallS = fwalls, dwalls
	}
	rep.Steps = append(rep.Steps, fs, ds)
	for _, v := range dm.sum.Polygons {
		rep.Polygons.Detect += v
	}
	dr := dm.m

	// 4. The gdal_calc / gdal_sieve / gdal_polygonize baseline.
	blOut := filepath.Join(c.Out, "baseline")
	if err := os.RemoveAll(blOut); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	log.Info("baseline", "script", script, "out", blOut)
	blArgs := append(append(append([]string{script, blOut}, beforeDirs...), "--"), afterDirs...)
	br, err := runMeasured(ctx, filepath.Join(c.Out, "baseline.log"), "bash", blArgs...)
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

	if !c.Keep {
		for _, p := range []string{detOut, blOut} {
			if err := os.RemoveAll(p); err != nil {
				log.Warn("cleanup", "path", p, "err", err)
			}
		}
	}
	return rep, nil
}

// scenesDir is where the scenes of c's size and seed live.
func scenesDir(c Config) string {
	if c.Pair {
		return filepath.Join(c.Out, fmt.Sprintf("scenes-%d-seed%d-pair", c.Size, c.Seed))
	}
	return filepath.Join(c.Out, fmt.Sprintf("scenes-%d-seed%d", c.Size, c.Seed))
}

// Generate writes the scenes of c's size and seed under c.Out (the `--generate-only` child).
func Generate(ctx context.Context, c Config) error {
	_, _, _, err := demo.SceneSet(ctx, scenesDir(c), c.Size, c.Seed, c.Pair)
	return err
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
	cmd.SysProcAttr = childproc.Attr()
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

// DecodeFloor decodes the files at paths with threads threads and writes the figures
// as JSON to w (the `--decode-floor` child).
func DecodeFloor(ctx context.Context, paths []string, threads int, w io.Writer) error {
	st, err := raster.DecodeFloor(ctx, paths, threads)
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(st)
}

// WriteJSON writes rep as indented JSON to path, creating its folder.
func WriteJSON(path string, rep *Report) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		f.Close()
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

// Print prints the report as a table.
func Print(w io.Writer, rep *Report) {
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
func benchMachine() Host {
	h := Host{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
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
