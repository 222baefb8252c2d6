package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/synth"
	"github.com/changewatch/changewatch/worker"
)

// The monthly bench (`changewatch bench --monthly`): a monthly run of January 2024 against
// the 12 months before it, over a scene set of one date a month in 2023 and one in January
// 2024, run cold (no kept baseline: the baseline's scenes are read and composited, and the
// composite kept) and warm (the kept baseline read instead), each as a child process
// (`bench --monthly-run`) that reports the bytes it read (Linux /proc/self/io rchar: every
// byte passed to read(2) and pread(2), page-cached files included) per stage of the run.
// Then the sequence: the monthly runs of January to June 2024 (scenes of one date a month
// through June), each against the 12 months before it, run in turn as the scheduler runs
// them (each after the one before, sharing the AOI's kept baselines: "chained") and each
// on its own with nothing kept ("cold"), so that what a month of monitoring costs is
// measured over consecutive months whose windows slide, not only for a repeated run.

// Monthly bench periods.
const (
	monthlyBefore = "2023-01-01/2023-12-31"
	monthlyAfter  = "2024-01-01/2024-01-31"
	monthlyAOI    = "bench"
	// monthlySequence is the number of consecutive monthly runs of the sequence, from
	// January 2024.
	monthlySequence = 6
)

// MonthlyConfig is one monthly bench's settings.
type MonthlyConfig struct {
	Exe  string // the changewatch binary, for the child runs
	Size int
	Seed int64
	Out  string
	Runs int // cold and warm runs, in turn; the median of each is reported
}

// MonthlyRun is what one child run reports.
type MonthlyRun struct {
	Baseline string  `json:"baseline"` // jobs.Summary.Baseline: computed or kept
	WallS    float64 `json:"wall_s"`   // the run (Pipeline.Detect), inside the child
	DetectS  float64 `json:"detect_s"` // its read, composite and classify stage
	CPUS     float64 `json:"cpu_s"`    // the child process's user + system time
	// Bytes read by the child: in all, while planning (search, ranking scenes by their
	// clear view), while reading and compositing (scenes, kept baseline), and after
	// (polygons, outputs, their manifest's checksums).
	ReadMiB        float64  `json:"read_mib"`
	PlanReadMiB    float64  `json:"plan_read_mib"`
	DetectReadMiB  float64  `json:"detect_read_mib"`
	OutputsReadMiB float64  `json:"outputs_read_mib"`
	ScenesBefore   []string `json:"scenes_before"`
	ScenesAfter    []string `json:"scenes_after"`
}

// MonthlyReport is what the monthly bench prints and writes as JSON.
type MonthlyReport struct {
	Size       int   `json:"size"`
	Seed       int64 `json:"seed"`
	GridPixels int   `json:"grid_pixels"`
	Machine    Host  `json:"machine"`
	Scenes     struct {
		BaselineDates int     `json:"baseline_dates"`
		NewDates      int     `json:"new_dates"`
		MiB           float64 `json:"mib"`
	} `json:"scenes"`
	KeptMiB     float64       `json:"kept_baseline_mib"`
	Cold        MonthlyRun    `json:"cold"` // the median runs
	Warm        MonthlyRun    `json:"warm"`
	ColdRuns    []MonthlyRun  `json:"cold_runs"`
	WarmRuns    []MonthlyRun  `json:"warm_runs"`
	BytesRatio  float64       `json:"cold_over_warm_bytes"`
	DetectRatio float64       `json:"cold_over_warm_detect_bytes"`
	WallRatio   float64       `json:"cold_over_warm_seconds"`
	Identical   bool          `json:"outputs_identical"`
	Sequence    []MonthlyStep `json:"sequence"`
	// Chained and cold sums over the sequence: seconds and MiB read.
	SequenceChainedS, SequenceColdS     float64 `json:"-"`
	SequenceChainedMiB, SequenceColdMiB float64 `json:"-"`
	SequenceKept                        int     `json:"sequence_runs_kept"` // chained runs that read no baseline scene
}

// MonthlyStep is one month of the sequence.
type MonthlyStep struct {
	Month   string     `json:"month"` // YYYY-MM
	Chained MonthlyRun `json:"chained"`
	Cold    MonthlyRun `json:"cold"`
}

// Monthly runs the monthly bench.
func Monthly(ctx context.Context, c MonthlyConfig, log *slog.Logger) (*MonthlyReport, error) {
	rep := &MonthlyReport{Size: c.Size, Seed: c.Seed, GridPixels: c.Size * c.Size, Machine: benchMachine()}
	dir := filepath.Join(c.Out, fmt.Sprintf("monthly-scenes-%d-seed%d", c.Size, c.Seed))
	log.Info("scenes", "dir", dir)
	syn, err := monthlyScenes(ctx, dir, c.Size, c.Seed)
	if err != nil {
		return nil, fmt.Errorf("bench: scenes: %w", err)
	}
	files, before, after, err := benchBands(ctx, dir, syn.BeforeIDs)
	if err != nil {
		return nil, err
	}
	rep.Scenes.BaselineDates, rep.Scenes.NewDates = len(before), len(after)
	n, err := warmCache(ctx, files) // every run reads from the page cache
	if err != nil {
		return nil, err
	}
	rep.Scenes.MiB = round(float64(n)/(1<<20), 1)

	aoi, err := os.ReadFile(syn.AOIGeoJSON)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	bp, _ := jobs.ParsePeriod(monthlyBefore)
	ap, _ := jobs.ParsePeriod(monthlyAfter)
	root := filepath.Join(c.Out, "monthly-out")
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	req := jobs.DetectRequest{Version: jobs.PayloadVersion, AOIID: monthlyAOI, AOI: aoi, Before: bp, After: ap,
		Catalog: dir, Output: filepath.Join(root, monthlyAOI, "2024-01_2024-01")}
	reqPath := filepath.Join(c.Out, "monthly-request.json")
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(reqPath, data, 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.Remove(reqPath)
	keptDir := filepath.Join(root, monthlyAOI, ".baseline")
	coldCopy := filepath.Join(c.Out, "monthly-cold")
	defer os.RemoveAll(coldCopy)
	run := func(name string) (MonthlyRun, error) {
		m, err := runMeasured(ctx, filepath.Join(c.Out, "monthly-"+name+".log"), c.Exe, "bench", "--monthly-run", reqPath)
		if err != nil {
			return MonthlyRun{}, fmt.Errorf("bench: %s run: %w", name, err)
		}
		var r MonthlyRun
		if err := json.Unmarshal(m.stdout, &r); err != nil {
			return MonthlyRun{}, fmt.Errorf("bench: %s run: output: %w", name, err)
		}
		r.CPUS = round(m.cpu.Seconds(), 3)
		log.Info("run done", "run", name, "baseline", r.Baseline, "wall_s", r.WallS, "read_mib", r.ReadMiB)
		return r, nil
	}
	for i := range c.Runs {
		if err := os.RemoveAll(keptDir); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		cold, err := run("cold")
		if err != nil {
			return nil, err
		}
		if cold.Baseline != "computed" {
			return nil, fmt.Errorf("bench: cold run: baseline %q, want computed", cold.Baseline)
		}
		if i == 0 {
			if rep.KeptMiB, err = dirMiB(keptDir); err != nil {
				return nil, err
			}
			if err := copyFiles(req.Output, coldCopy); err != nil {
				return nil, err
			}
		}
		warm, err := run("warm")
		if err != nil {
			return nil, err
		}
		if warm.Baseline != "kept" {
			return nil, fmt.Errorf("bench: warm run: baseline %q, want kept", warm.Baseline)
		}
		rep.ColdRuns, rep.WarmRuns = append(rep.ColdRuns, cold), append(rep.WarmRuns, warm)
	}
	if rep.Identical, err = sameFiles(coldCopy, req.Output); err != nil {
		return nil, err
	}
	median := func(rs []MonthlyRun) MonthlyRun {
		s := slices.Clone(rs)
		slices.SortStableFunc(s, func(a, b MonthlyRun) int { return cmp.Compare(a.WallS, b.WallS) })
		return s[(len(s)-1)/2]
	}
	rep.Cold, rep.Warm = median(rep.ColdRuns), median(rep.WarmRuns)
	if err := monthlySequenceRuns(rep, req, reqPath, keptDir, run); err != nil {
		return nil, err
	}
	rep.BytesRatio = round(rep.Cold.ReadMiB/rep.Warm.ReadMiB, 2)
	rep.DetectRatio = round(rep.Cold.DetectReadMiB/rep.Warm.DetectReadMiB, 2)
	rep.WallRatio = round(rep.Cold.WallS/rep.Warm.WallS, 2)
	return rep, nil
}

// monthlySequenceRuns runs the sequence: every month cold, then all in turn chained.
func monthlySequenceRuns(rep *MonthlyReport, req jobs.DetectRequest, reqPath, keptDir string, run func(string) (MonthlyRun, error)) error {
	root := filepath.Dir(filepath.Dir(req.Output))
	month := func(i int, kind string) (MonthlyRun, error) {
		start := time.Date(2024, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC)
		r := req
		r.After = jobs.Period{Start: start, End: start.AddDate(0, 1, -1)}
		r.Before = jobs.Period{Start: start.AddDate(-1, 0, 0), End: start.AddDate(0, 0, -1)}
		m := rep.Sequence[i].Month
		r.Output = filepath.Join(root, monthlyAOI, m+"_"+m)
		data, err := json.Marshal(r)
		if err != nil {
			return MonthlyRun{}, fmt.Errorf("bench: %w", err)
		}
		if err := os.WriteFile(reqPath, data, 0o644); err != nil {
			return MonthlyRun{}, fmt.Errorf("bench: %w", err)
		}
		return run(m + " " + kind)
	}
	rep.Sequence = make([]MonthlyStep, monthlySequence)
	for i := range rep.Sequence {
		rep.Sequence[i].Month = time.Date(2024, time.Month(1+i), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	}
	for i := range monthlySequence {
		if err := os.RemoveAll(keptDir); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		r, err := month(i, "cold")
		if err != nil {
			return err
		}
		rep.Sequence[i].Cold = r
	}
	if err := os.RemoveAll(keptDir); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	for i := range monthlySequence {
		r, err := month(i, "chained")
		if err != nil {
			return err
		}
		st := &rep.Sequence[i]
		st.Chained = r
		rep.SequenceChainedS += r.WallS
		rep.SequenceColdS += st.Cold.WallS
		rep.SequenceChainedMiB += r.ReadMiB
		rep.SequenceColdMiB += st.Cold.ReadMiB
		if r.Baseline == "kept" {
			rep.SequenceKept++
		}
	}
	return nil
}

// monthlyStamp marks a complete monthly scene set.
const monthlyStamp = "monthly-scenes.json"

// monthlyScenes generates (or reuses) the monthly scene set in dir.
func monthlyScenes(ctx context.Context, dir string, size int, seed int64) (*synth.Result, error) {
	stamp := filepath.Join(dir, monthlyStamp)
	if data, err := os.ReadFile(stamp); err == nil {
		var r synth.Result
		if json.Unmarshal(data, &r) == nil && r.Grid.Width == size && r.Root == dir && len(r.AfterIDs) == monthlySequence {
			return &r, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	var before []time.Time
	for m := range 12 {
		before = append(before, time.Date(2023, time.Month(1+m), 12, 0, 0, 0, 0, time.UTC))
	}
	var after []time.Time
	for m := range monthlySequence {
		after = append(after, time.Date(2024, time.Month(1+m), 9, 0, 0, 0, 0, time.UTC))
	}
	r, err := synth.Generate(ctx, dir, synth.Config{Size: size, Seed: seed, Before: before, After: after})
	if err != nil {
		return nil, err
	}
	r.Objects = nil
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return r, os.WriteFile(stamp, data, 0o644)
}

// MonthlyChild runs the request in the JSON file at reqPath through the pipeline and
// writes its MonthlyRun as JSON to w (the `--monthly-run` child).
func MonthlyChild(ctx context.Context, reqPath string, w io.Writer) error {
	data, err := os.ReadFile(reqPath)
	if err != nil {
		return err
	}
	var req jobs.DetectRequest
	if err := json.Unmarshal(data, &req); err != nil {
		return fmt.Errorf("bench: request: %w", err)
	}
	// Bytes read at the start of each stage.
	var mu sync.Mutex
	var marks []struct {
		stage string
		read  int64
	}
	mark := func(stage string) {
		n, err := readBytes()
		if err != nil {
			n = -1
		}
		mu.Lock()
		defer mu.Unlock()
		if len(marks) == 0 || marks[len(marks)-1].stage != stage {
			marks = append(marks, struct {
				stage string
				read  int64
			}{stage, n})
		}
	}
	p := &worker.Pipeline{}
	t0 := time.Now()
	mark("start")
	sum, err := p.Detect(ctx, req, func(stage string, _ float64) {
		switch {
		case strings.HasPrefix(stage, "read"):
			mark("detect")
		case stage == "search scenes":
			mark("plan")
		case stage == "regions" || stage == "polygons" || stage == "write outputs" || stage == "publish":
			mark("outputs")
		}
	})
	if err != nil {
		return err
	}
	wall := time.Since(t0)
	mark("end")
	at := map[string]int64{}
	for _, m := range marks {
		at[m.stage] = m.read
	}
	if at["end"] < 0 {
		return errors.New("bench: bytes read: /proc/self/io unreadable (Linux only)")
	}
	mib := func(a, b string) float64 { return round(float64(at[b]-at[a])/(1<<20), 2) }
	r := MonthlyRun{Baseline: sum.Baseline, WallS: round(wall.Seconds(), 3), DetectS: sum.Timings["detect"],
		ReadMiB: mib("start", "end"), PlanReadMiB: mib("start", "detect"), DetectReadMiB: mib("detect", "outputs"),
		OutputsReadMiB: mib("outputs", "end"), ScenesBefore: sum.ScenesBefore, ScenesAfter: sum.ScenesAfter}
	return json.NewEncoder(w).Encode(r)
}

// readBytes returns this process's bytes read so far (rchar of /proc/self/io).
func readBytes() (int64, error) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "rchar:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("no rchar in /proc/self/io")
}

// dirMiB is the size of the files below dir.
func dirMiB(dir string) (float64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return round(float64(n)/(1<<20), 2), err
}

// comparedFiles are the outputs that do not hold the time they were written.
var comparedFiles = []string{"changes.fgb", "changes.geojson", "change_class.tif", "dndvi.tif", "clear_before.tif",
	"clear_after.tif", "before_rgb.tif", "after_rgb.tif", "quicklook.png"}

func copyFiles(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, name := range comparedFiles {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// sameFiles tells whether the compared outputs in a and b are byte for byte the same.
func sameFiles(a, b string) (bool, error) {
	for _, name := range comparedFiles {
		da, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			return false, fmt.Errorf("bench: %w", err)
		}
		db, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			return false, fmt.Errorf("bench: %w", err)
		}
		if !bytes.Equal(da, db) {
			return false, nil
		}
	}
	return true, nil
}

// PrintMonthly prints the monthly report as a table.
func PrintMonthly(w io.Writer, rep *MonthlyReport) {
	m := rep.Machine
	fmt.Fprintf(w, "changewatch bench --monthly: %dx%d grid, %d baseline dates + %d new (%.0f MiB of COGs); January 2024 against %s\n",
		rep.Size, rep.Size, rep.Scenes.BaselineDates, rep.Scenes.NewDates, rep.Scenes.MiB, monthlyBefore)
	fmt.Fprintf(w, "machine: %d CPUs %s, %.0f GiB, %s, GDAL %s\n\n", m.CPUs, m.Model, m.MemGiB, m.OS, m.GDAL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tbaseline\tscenes read\twall s\tdetect s\tCPU s\tread MiB\tplan\tdetect\toutputs\t")
	for _, r := range []struct {
		name string
		r    MonthlyRun
	}{{"cold", rep.Cold}, {"warm", rep.Warm}} {
		scenes := len(r.r.ScenesAfter)
		if r.r.Baseline != "kept" {
			scenes += len(r.r.ScenesBefore)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", r.name, r.r.Baseline, scenes, r.r.WallS, r.r.DetectS, r.r.CPUS,
			r.r.ReadMiB, r.r.PlanReadMiB, r.r.DetectReadMiB, r.r.OutputsReadMiB)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nbaseline: %d of %d dates chosen, kept in %.1f MiB\n", len(rep.Cold.ScenesBefore), rep.Scenes.BaselineDates, rep.KeptMiB)
	fmt.Fprintf(w, "cold / warm: %.2fx the bytes (%.2fx in the read and composite stage), %.2fx the seconds; outputs identical: %v (medians of %d runs each)\n",
		rep.BytesRatio, rep.DetectRatio, rep.WallRatio, rep.Identical, len(rep.ColdRuns))
	if len(rep.Sequence) == 0 {
		return
	}
	fmt.Fprintf(w, "\nconsecutive months, each against the 12 months before it: chained (in turn, the AOI's kept baselines shared) and cold (nothing kept)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "month\tchained baseline\tscenes read\twall s\tread MiB\tcold scenes read\tcold wall s\tcold read MiB\tbaseline dates (chained)\t")
	for _, st := range rep.Sequence {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.1f\t%d\t%.2f\t%.1f\t%s\t\n", st.Month, st.Chained.Baseline, st.Chained.ScenesRead(), st.Chained.WallS,
			st.Chained.ReadMiB, st.Cold.ScenesRead(), st.Cold.WallS, st.Cold.ReadMiB, sceneMonths(st.Chained.ScenesBefore))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d of %d chained months read no baseline scene; the %d months took %.1f s and read %.0f MiB chained, %.1f s and %.0f MiB cold (%.2fx the seconds, %.2fx the bytes)\n",
		rep.SequenceKept, len(rep.Sequence), len(rep.Sequence), rep.SequenceChainedS, rep.SequenceChainedMiB, rep.SequenceColdS, rep.SequenceColdMiB,
		rep.SequenceColdS/rep.SequenceChainedS, rep.SequenceColdMiB/rep.SequenceChainedMiB)
}

// ScenesRead is the number of scenes the run read: the new month's, and the baseline's
// unless it was kept.
func (r MonthlyRun) ScenesRead() int {
	n := len(r.ScenesAfter)
	if r.Baseline != "kept" {
		n += len(r.ScenesBefore)
	}
	return n
}

// sceneMonths lists the months of scene ids that hold a date (synth ids: ..._YYYYMMDD_...),
// e.g. "2023-07,2023-09".
func sceneMonths(ids []string) string {
	var ms []string
	for _, id := range ids {
		for _, f := range strings.Split(id, "_") {
			if len(f) == 8 && strings.Trim(f, "0123456789") == "" {
				ms = append(ms, f[:4]+"-"+f[4:6])
				break
			}
		}
	}
	return strings.Join(ms, ",")
}

// WriteMonthlyJSON writes rep as indented JSON to path.
func WriteMonthlyJSON(path string, rep *MonthlyReport) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
