package worker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changewatch/changewatch/jobs"
)

// recentSpan chooses from the shortest span of the period's last months that gives every
// AOI pixel the target, in rank order; when none does, from the whole period.
func TestRecentSpan(t *testing.T) {
	type acq struct {
		name  string
		date  time.Time
		clear []bool
	}
	day := func(m, d int) time.Time { return time.Date(2023, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	all, left, right := []bool{true, true}, []bool{true, false}, []bool{false, true}
	per, _ := jobs.ParsePeriod("2023-01-01/2023-12-31")
	tests := []struct {
		name      string
		ranked    []acq // best first
		maxScenes int
		target    int
		want      []string
	}{
		{"december suffices", []acq{{"mar", day(3, 2), all}, {"dec", day(12, 30), all}}, 8, 1, []string{"dec"}},
		{"the last two months", []acq{{"mar", day(3, 2), all}, {"dec", day(12, 1), left}, {"nov", day(11, 1), right}}, 8, 1, []string{"dec", "nov"}},
		{"rank order inside the span", []acq{{"nov", day(11, 5), all}, {"oct", day(10, 5), all}, {"dec", day(12, 5), all}}, 8, 2, []string{"nov", "dec"}},
		{"max scenes inside the span", []acq{{"dec1", day(12, 1), left}, {"nov", day(11, 3), right}, {"dec2", day(12, 2), left}, {"jan", day(1, 3), all}}, 2, 1, []string{"dec1", "nov"}},
		{"never enough: the whole period's best", []acq{{"jan", day(1, 3), left}, {"dec", day(12, 3), left}, {"jun", day(6, 3), left}}, 2, 1, []string{"jan", "dec"}},
		{"target two", []acq{{"jan", day(1, 3), all}, {"dec", day(12, 3), all}, {"jul", day(7, 3), all}}, 8, 2, []string{"dec", "jul"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, met := recentSpan(tt.ranked, per, func(a acq) time.Time { return a.date }, func(a acq) []bool { return a.clear },
				[]bool{true, true}, tt.maxScenes, tt.target)
			if met != !strings.HasPrefix(tt.name, "never enough") {
				t.Errorf("enough %v", met)
			}
			var names []string
			for _, a := range got {
				names = append(names, a.name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("chose %v, want %v", names, tt.want)
			}
		})
	}
}

// The chain keeps a choice while its scenes are inside each month's window and makes a
// new one from the month's window otherwise.
func TestBaselineChain(t *testing.T) {
	type acq struct {
		name string
		date time.Time
	}
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	// One acquisition a month from January 2023 to May 2024, ranked newest first; a choice
	// is the window's best two.
	var ranked []acq
	for m := 17; m >= 1; m-- {
		d := day(2023, m, 10)
		ranked = append(ranked, acq{d.Format("2006-01"), d})
	}
	pick2 := func(cand []acq, _ jobs.Period) ([]acq, bool) { return cand[:min(2, len(cand))], len(cand) >= 2 }
	tests := []struct {
		month      string
		want       []string
		chosenIn   string
		wantWindow string
	}{
		// January 2024: its window 2023 gives December and November, kept until November
		// 2023 leaves the window (the run of December 2024 would re-choose).
		{"2024-01", []string{"2023-12", "2023-11"}, "2024-01", "2023-01-01/2023-12-31"},
		{"2024-05", []string{"2023-12", "2023-11"}, "2024-01", "2023-05-01/2024-04-30"},
	}
	for _, tt := range tests {
		t.Run(tt.month, func(t *testing.T) {
			m, _ := time.Parse("2006-01", tt.month)
			req := jobs.DetectRequest{Output: "out/aoi/" + tt.month + "_" + tt.month,
				Before: jobs.Period{Start: m.AddDate(-1, 0, 0), End: m.AddDate(0, 0, -1)}, After: jobs.Period{Start: m, End: m.AddDate(0, 1, -1)}}
			c := (&Pipeline{}).baselineChain(req)
			if c == nil {
				t.Fatal("no chain")
			}
			if got := c.window(c.month).String(); got != tt.wantWindow {
				t.Errorf("window %s, want %s", got, tt.wantWindow)
			}
			var names []string
			got, chosenIn := chainChoice(c, ranked, func(a acq) time.Time { return a.date }, pick2)
			for _, a := range got {
				names = append(names, a.name)
			}
			if !slices.Equal(names, tt.want) || chosenIn.Format("2006-01") != tt.chosenIn {
				t.Errorf("chose %v in %s, want %v in %s", names, chosenIn.Format("2006-01"), tt.want, tt.chosenIn)
			}
		})
	}
	// At the start of the catalog (nothing before January 2023) the first months' windows
	// hold too few scenes: their choices are not kept, March's is the first enough.
	c0 := &chain{first: day(2023, 1, 1), month: day(2023, 3, 1), months: 12}
	var first []string
	got0, in0 := chainChoice(c0, ranked, func(a acq) time.Time { return a.date }, pick2)
	for _, a := range got0 {
		first = append(first, a.name)
	}
	if !slices.Equal(first, []string{"2023-02", "2023-01"}) || in0.Month() != time.March {
		t.Errorf("chose %v in %s, want 2023-02 2023-01 in 2023-03", first, in0.Format("2006-01"))
	}
	// A choice whose scene leaves the window is made again from the month's window.
	oldest := func(cand []acq, _ jobs.Period) ([]acq, bool) { return cand[len(cand)-2:], true } // the window's two oldest
	m := day(2024, 3, 1)
	c := &chain{first: day(2024, 1, 1), month: m, months: 12}
	var names []string
	got, chosenIn := chainChoice(c, ranked, func(a acq) time.Time { return a.date }, oldest)
	for _, a := range got {
		names = append(names, a.name)
	}
	// January: 2023-02, 2023-01; February: January 2023 left, 2023-03, 2023-02;
	// March: February 2023 left, 2023-04, 2023-03.
	if !slices.Equal(names, []string{"2023-04", "2023-03"}) || !chosenIn.Equal(m) {
		t.Errorf("chose %v in %s, want 2023-04 2023-03 in 2024-03", names, chosenIn.Format("2006-01"))
	}
}

// Only monthly runs of the ledger layout whose before period is the whole months just
// before the after month have a chain.
func TestBaselineChainOnlyForMonthlyRuns(t *testing.T) {
	p := func(s string) jobs.Period { per, _ := jobs.ParsePeriod(s); return per }
	for _, tc := range []struct {
		out, before, after string
		months             int // 0: no chain
	}{
		{"s3://b/r/aoi/2024-03_2024-03", "2023-03-01/2024-02-29", "2024-03-01/2024-03-31", 12},
		{"out/aoi/2024-03_2024-03", "2023-12-01/2024-02-29", "2024-03-01/2024-03-31", 3},
		{"out/aoi/2024-03_2024-05", "2021-03-01/2024-02-29", "2024-03-01/2024-05-31", 36},
		{"out/aoi/run", "2023-03-01/2024-02-29", "2024-03-01/2024-03-31", 0},             // not the ledger layout
		{"out/aoi/2024-03_2024-03", "2023-03-01/2024-01-31", "2024-03-01/2024-03-31", 0}, // a gap
		{"out/aoi/2024-03_2024-03", "2023-03-05/2024-02-29", "2024-03-01/2024-03-31", 0}, // not whole months
		{"out/aoi/2024-03_2024-03", "2023-03-01/2024-02-29", "2024-03-02/2024-03-31", 0},
	} {
		c := (&Pipeline{}).baselineChain(jobs.DetectRequest{Output: tc.out, Before: p(tc.before), After: p(tc.after)})
		switch {
		case tc.months == 0 && c != nil:
			t.Errorf("%s %s: chain %+v, want none", tc.out, tc.before, c)
		case tc.months != 0 && (c == nil || c.months != tc.months):
			t.Errorf("%s %s: chain %+v, want %d months", tc.out, tc.before, c, tc.months)
		}
	}
	if c := (&Pipeline{KeptBaselines: -1}).baselineChain(jobs.DetectRequest{Output: "out/aoi/2024-03_2024-03",
		Before: p("2023-03-01/2024-02-29"), After: p("2024-03-01/2024-03-31")}); c != nil {
		t.Errorf("no kept baselines: chain %+v", c)
	}
}

// Runs of consecutive months choose the same baseline scenes in any order (the chain is
// a function of the catalog and the month), and the later month then reads the kept
// composite of the earlier.
func TestBaselineChainAcrossRuns(t *testing.T) {
	s := monthlyScenes(t)
	ctx := context.Background()
	month := func(m string) jobs.DetectRequest {
		req := monthlyRequest(t, s, s.Root, "")
		start, _ := time.Parse("2006-01", m)
		req.Before = jobs.Period{Start: start.AddDate(-1, 0, 0), End: start.AddDate(0, 0, -1)}
		req.After = jobs.Period{Start: start, End: start.AddDate(0, 1, -1)}
		return req
	}
	run := func(out string, req jobs.DetectRequest, want string) *jobs.Summary {
		t.Helper()
		req.Output = out + "/synth/" + req.After.Start.Format("2006-01") + "_" + req.After.Start.Format("2006-01")
		sum, err := (&Pipeline{WorkDir: t.TempDir()}).Detect(ctx, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want != "" && sum.Baseline != want {
			t.Fatalf("%s: baseline %q, want %q", req.After, sum.Baseline, want)
		}
		return sum
	}
	// In order: January chooses and keeps; February reads January's kept composite.
	inOrder := t.TempDir()
	jan := run(inOrder, month("2024-01"), baselineComputed)
	feb := run(inOrder, month("2024-02"), baselineKept)
	if !slices.Equal(jan.ScenesBefore, feb.ScenesBefore) {
		t.Fatalf("february's baseline %v, january's %v: the test needs a choice that serves both", feb.ScenesBefore, jan.ScenesBefore)
	}
	// February first, then January: the same scenes.
	reversed := t.TempDir()
	feb2 := run(reversed, month("2024-02"), baselineComputed)
	jan2 := run(reversed, month("2024-01"), baselineKept)
	if !slices.Equal(feb2.ScenesBefore, feb.ScenesBefore) || !slices.Equal(jan2.ScenesBefore, jan.ScenesBefore) {
		t.Errorf("in reverse order february %v, january %v; in order %v, %v", feb2.ScenesBefore, jan2.ScenesBefore,
			feb.ScenesBefore, jan.ScenesBefore)
	}
	// Outside the ledger layout the period is ranked on its own.
	req := month("2024-02")
	req.Output = t.TempDir() + "/plain"
	sum, err := (&Pipeline{WorkDir: t.TempDir()}).Detect(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Baseline != "" {
		t.Errorf("baseline %q outside the ledger layout", sum.Baseline)
	}
}
