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
	if rep.Scenes.BaselineDates != 12 || rep.Scenes.NewDates != monthlySequence {
		t.Errorf("scenes %+v: want 12 baseline dates and %d new", rep.Scenes, monthlySequence)
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
	// The sequence: the first chained month chooses and keeps its baseline, the next ones
	// reuse it while its scenes are in their window, reading only their month's scene.
	if len(rep.Sequence) != monthlySequence || rep.Sequence[0].Chained.Baseline != "computed" {
		t.Fatalf("sequence %+v", rep.Sequence)
	}
	for i, st := range rep.Sequence {
		if st.Cold.Baseline != "computed" || st.Cold.ScenesRead() < 2 {
			t.Errorf("%s cold: baseline %q, %d scenes read", st.Month, st.Cold.Baseline, st.Cold.ScenesRead())
		}
		if i > 0 && st.Chained.Baseline == "kept" && st.Chained.ScenesRead() != 1 {
			t.Errorf("%s chained: kept baseline but %d scenes read", st.Month, st.Chained.ScenesRead())
		}
	}
	if rep.SequenceKept < monthlySequence/2 || rep.SequenceChainedMiB >= rep.SequenceColdMiB {
		t.Errorf("chained: %d of %d months kept, %.1f MiB read (cold %.1f)", rep.SequenceKept, monthlySequence,
			rep.SequenceChainedMiB, rep.SequenceColdMiB)
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
