package bench

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/changewatch/changewatch/raster"
)

// TestMonthly runs the monthly bench at 512 px: the cold run computes and keeps the
// baseline, the warm run reads it and no baseline scene, with the same outputs, and
// reads fewer bytes while reading and compositing (bytes are counted, not timed: the
// seconds are only required to be present).
func TestMonthly(t *testing.T) {
	raster.Init(raster.S3Config{})
	c := MonthlyConfig{Exe: buildChangewatch(t), Size: 512, Seed: 2, Out: t.TempDir(), Runs: 1}
	rep, err := Monthly(t.Context(), c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scenes.BaselineDates != 12 || rep.Scenes.NewDates != 1 {
		t.Errorf("scenes %+v: want 12 baseline dates and 1 new", rep.Scenes)
	}
	cold, warm := rep.Cold, rep.Warm
	if cold.Baseline != "computed" || warm.Baseline != "kept" || !rep.Identical {
		t.Errorf("cold %q, warm %q, identical %v", cold.Baseline, warm.Baseline, rep.Identical)
	}
	if len(cold.ScenesBefore) < 2 || len(warm.ScenesAfter) != 1 {
		t.Errorf("%d baseline scenes chosen, %d new", len(cold.ScenesBefore), len(warm.ScenesAfter))
	}
	// The warm run reads the new month's scene and the kept baseline, smaller than the
	// baseline's scenes.
	if warm.DetectReadMiB <= 0 || warm.DetectReadMiB >= cold.DetectReadMiB || rep.KeptMiB <= 0 || rep.KeptMiB >= cold.DetectReadMiB {
		t.Errorf("read while compositing: cold %.2f MiB, warm %.2f MiB, kept baseline %.2f MiB", cold.DetectReadMiB, warm.DetectReadMiB, rep.KeptMiB)
	}
	for _, r := range []MonthlyRun{cold, warm} {
		if r.WallS <= 0 || r.CPUS <= 0 || r.ReadMiB < r.DetectReadMiB+r.PlanReadMiB {
			t.Errorf("run %+v: figures missing", r)
		}
	}
	var out bytes.Buffer
	PrintMonthly(&out, rep)
	rows := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 2 && rows[f[0]] == "" {
			rows[f[0]] = f[1]
		}
	}
	if rows["cold"] != "computed" || rows["warm"] != "kept" || !strings.Contains(out.String(), "outputs identical: true") {
		t.Errorf("table:\n%s", out.String())
	}
}
