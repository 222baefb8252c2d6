package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/changewatch/changewatch/raster"
)

// buildChangewatch builds the changewatch binary, whose detect and decode-floor commands
// bench runs as child processes.
func buildChangewatch(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "changewatch")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/changewatch/changewatch/cmd/changewatch")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// runBench runs bench as `changewatch bench` does: the report to jsonPath, the table
// returned.
func runBench(t *testing.T, c Config, jsonPath string) string {
	t.Helper()
	raster.Init(raster.S3Config{})
	rep, err := Run(t.Context(), c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	if err := WriteJSON(jsonPath, rep); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	Print(&out, rep)
	return out.String()
}

// needBaselineTools skips when GDAL's python tools are missing, except under CI, where
// they are installed (scripts/setup.sh) and their absence is a failure.
func needBaselineTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"gdal_calc.py", "gdal_sieve.py", "gdal_polygonize.py", "gdal_translate", "gdalinfo", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (./scripts/setup.sh installs gdal-bin and python3-gdal): %v", tool, err)
		}
	}
}

// TestBench runs every step of bench at 512 px (scenes, decode floor, detect and the
// gdal_calc baseline in child processes, scoring) and checks that the report has every
// figure; it then runs again on the same folder and checks the scenes are reused. Timings
// are only required to be present and positive.
func TestBench(t *testing.T) {
	needBaselineTools(t)
	out := t.TempDir()
	jsonPath := filepath.Join(t.TempDir(), "report", "bench.json")
	c := Config{Exe: buildChangewatch(t), Size: 512, Seed: 1, Out: out, Runs: 2, Threads: runtime.NumCPU(),
		Baseline: "../scripts/baseline_gdal.sh"}

	stdout := runBench(t, c, jsonPath)
	rep := readReport(t, jsonPath)
	if rep.Size != 512 || rep.GridPixels != 512*512 {
		t.Errorf("size %d, grid pixels %d", rep.Size, rep.GridPixels)
	}
	if rep.Scenes.Reused || rep.Scenes.Before != 2 || rep.Scenes.After != 3 || rep.Scenes.Files != 35 || rep.Scenes.MiB <= 0 {
		t.Errorf("scenes %+v: want 2 + 3 freshly generated scenes, 35 files", rep.Scenes)
	}
	if rep.Floor.Files != 35 || rep.Floor.Pixels <= 0 || rep.Floor.Bytes <= rep.Floor.Pixels {
		t.Errorf("floor %+v: want 35 files, 8 and 16 bit pixels", rep.Floor)
	}
	want := []string{"decode floor", "detect", "gdal_calc baseline"}
	if len(rep.Steps) != len(want) {
		t.Fatalf("steps %+v, want %v", rep.Steps, want)
	}
	for i, s := range rep.Steps {
		if s.Name != want[i] {
			t.Errorf("step %d is %q, want %q", i, s.Name, want[i])
		}
		if s.WallS <= 0 || s.CPUS <= 0 || s.PeakRSSMiB <= 0 || s.MpxPerS <= 0 || s.ProcessWallS < s.WallS {
			t.Errorf("step %s: figures not all positive: %+v", s.Name, s)
		}
	}
	// The floor and detect ran twice, in turn: each reports its lower median run.
	for _, s := range rep.Steps[:2] {
		if len(s.RunsWallS) != 2 || s.WallS != min(s.RunsWallS[0], s.RunsWallS[1]) {
			t.Errorf("step %s: wall %v s, runs %v: want the faster of two runs", s.Name, s.WallS, s.RunsWallS)
		}
	}
	if rep.Steps[2].RunsWallS != nil {
		t.Errorf("baseline runs %v, want one run", rep.Steps[2].RunsWallS)
	}
	if rep.Ratios.DetectOverFloor <= 0 || rep.Ratios.BaselineOverDetect <= 0 {
		t.Errorf("ratios %+v", rep.Ratios)
	}
	// Both find the planted change; detect at the accuracy of its own tests.
	if rep.Polygons.Detect == 0 || rep.Accuracy.Detect.F1 < 0.8 {
		t.Errorf("detect: %d polygons, %s", rep.Polygons.Detect, rep.Accuracy.Detect)
	}
	if rep.Polygons.Baseline == 0 || rep.Accuracy.Baseline.F1 <= 0 {
		t.Errorf("baseline: %d polygons, %s", rep.Polygons.Baseline, rep.Accuracy.Baseline)
	}
	for _, s := range want {
		if !strings.Contains(stdout, s) {
			t.Errorf("table lacks step %q:\n%s", s, stdout)
		}
	}
	if !strings.Contains(stdout, "detect / floor") || !strings.Contains(stdout, "baseline / detect") {
		t.Errorf("table lacks the ratios:\n%s", stdout)
	}
	// Without --keep the outputs are gone; the scenes stay for the next run.
	for _, p := range []string{"detect", "baseline"} {
		if _, err := os.Stat(filepath.Join(out, p)); !os.IsNotExist(err) {
			t.Errorf("%s outputs left without --keep (stat: %v)", p, err)
		}
	}

	// Second run: same size and seed, the scenes are reused; --keep keeps the outputs.
	c.Keep, c.Runs = true, 1
	runBench(t, c, jsonPath)
	if rep := readReport(t, jsonPath); !rep.Scenes.Reused {
		t.Errorf("second run generated the scenes again: %+v", rep.Scenes)
	}
	for _, p := range []string{"detect/changes.gpkg", "baseline/changes.gpkg", "baseline/sieved.tif"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("--keep: %v", err)
		}
	}
}

// TestBenchPair runs bench on one before and one after date (--pair): its own scene
// folder, 1 + 1 scenes, every step measured and both methods scored.
func TestBenchPair(t *testing.T) {
	needBaselineTools(t)
	out := t.TempDir()
	jsonPath := filepath.Join(out, "bench.json")
	c := Config{Exe: buildChangewatch(t), Size: 512, Seed: 1, Out: out, Runs: 1, Threads: runtime.NumCPU(),
		Baseline: "../scripts/baseline_gdal.sh", Pair: true}
	runBench(t, c, jsonPath)
	rep := readReport(t, jsonPath)
	if !rep.Pair || rep.Scenes.Before != 1 || rep.Scenes.After != 1 || rep.Scenes.Files != 14 {
		t.Errorf("pair %v, scenes %+v: want 1 + 1 scenes, 14 files", rep.Pair, rep.Scenes)
	}
	if _, err := os.Stat(filepath.Join(out, "scenes-512-seed1-pair", "truth.geojson")); err != nil {
		t.Errorf("pair scenes not in their own folder: %v", err)
	}
	if len(rep.Steps) != 3 || rep.Ratios.DetectOverFloor <= 0 || rep.Ratios.BaselineOverDetect <= 0 {
		t.Errorf("steps %+v, ratios %+v", rep.Steps, rep.Ratios)
	}
	if rep.Polygons.Detect == 0 || rep.Accuracy.Detect.Precision < 0.9 {
		t.Errorf("detect: %d polygons, %s", rep.Polygons.Detect, rep.Accuracy.Detect)
	}
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rep
}
