package worker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/synth"
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
			got := recentSpan(tt.ranked, per, func(a acq) time.Time { return a.date }, func(a acq) []bool { return a.clear },
				[]bool{true, true}, tt.maxScenes, tt.target)
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

// A kept choice serves a period only with every scene found in it, unchanged and inside.
func TestKeptChoiceReuse(t *testing.T) {
	scene := func(id string, m int, href string) raster.Scene {
		return raster.Scene{ID: id, Date: time.Date(2023, time.Month(m), 10, 0, 0, 0, 0, time.UTC),
			Hrefs: map[string]string{"red": href}, DNOffset: 1000, Items: []string{"items/" + id + ".json"}}
	}
	kept := &keptChoice{Scenes: []raster.Scene{scene("a", 7, "a.tif"), scene("b", 9, "b.tif")}}
	per, _ := jobs.ParsePeriod("2023-02-01/2024-01-31")
	moved := scene("b", 9, "b.tif")
	moved.DNOffset = 0
	tests := []struct {
		name  string
		per   string
		found []raster.Scene
		why   string // "" when reused
	}{
		{"served", "", []raster.Scene{scene("x", 3, "x.tif"), scene("a", 7, "a.tif"), scene("b", 9, "b.tif")}, ""},
		{"a scene gone from the catalog", "", []raster.Scene{scene("a", 7, "a.tif")}, "scene b is not in"},
		{"a band moved", "", []raster.Scene{scene("a", 7, "a2.tif"), scene("b", 9, "b.tif")}, "scene a has changed"},
		{"rescaled", "", []raster.Scene{scene("a", 7, "a.tif"), moved}, "scene b has changed"},
		{"outside the period", "2023-08-01/2024-07-31", []raster.Scene{scene("a", 7, "a.tif"), scene("b", 9, "b.tif")}, "outside the period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := per
			if tt.per != "" {
				p, _ = jobs.ParsePeriod(tt.per)
			}
			got, why := kept.reuse(p, tt.found)
			switch {
			case tt.why == "" && (why != "" || len(got) != 2 || got[0].ID != "a" || got[1].ID != "b"):
				t.Errorf("got %v (%s), want a and b", sceneIDs(got), why)
			case tt.why != "" && (got != nil || !strings.Contains(why, tt.why)):
				t.Errorf("got %v (%s), want refused: %s", sceneIDs(got), why, tt.why)
			}
		})
	}
}

// Consecutive runs of an AOI use its kept choice of baseline scenes while it serves their
// period, and so its kept composite; a choice that no longer serves, or a file that cannot
// be trusted, makes the run rank the scenes anew and keep its own choice.
func TestKeptChoiceAcrossRuns(t *testing.T) {
	s := monthlyScenes(t)
	ctx := context.Background()
	out := t.TempDir()
	p := &Pipeline{WorkDir: t.TempDir()}
	choiceFile := filepath.Join(out, "synth", ".baseline", choiceName)
	readKept := func() keptChoice {
		t.Helper()
		data, err := os.ReadFile(choiceFile)
		if err != nil {
			t.Fatal(err)
		}
		var c keptChoice
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	run := func(before string, want string) *jobs.Summary {
		t.Helper()
		req := monthlyRequest(t, s, s.Root, out)
		req.Before, _ = jobs.ParsePeriod(before)
		sum, err := p.Detect(ctx, req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Baseline != want {
			t.Fatalf("before %s: baseline %q, want %q", before, sum.Baseline, want)
		}
		return sum
	}
	first := run("2023-01-01/2023-12-31", baselineComputed)
	c := readKept()
	if !slices.Equal(sceneIDs(c.Scenes), first.ScenesBefore) || c.Period.String() != "2023-01-01/2023-12-31" {
		t.Fatalf("kept choice %v of %s, run's baseline %v", sceneIDs(c.Scenes), c.Period, first.ScenesBefore)
	}
	// The choice is of the year's last months: a window without January still holds it.
	if c.Scenes[0].Date.Month() == time.January {
		t.Fatalf("choice %v starts in January: the test needs a later one", sceneIDs(c.Scenes))
	}
	later := run("2023-02-01/2023-12-31", baselineKept)
	if !slices.Equal(later.ScenesBefore, first.ScenesBefore) {
		t.Errorf("baseline %v, want the kept choice %v", later.ScenesBefore, first.ScenesBefore)
	}

	// A window that ends before the choice's last scene: ranked anew, and kept.
	last := c.Scenes[len(c.Scenes)-1].Date
	end := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	short := run("2023-01-01/"+end.Format(time.DateOnly), baselineComputed)
	if slices.Equal(short.ScenesBefore, first.ScenesBefore) {
		t.Errorf("baseline %v: the kept choice, though %s is outside", short.ScenesBefore, last.Format(time.DateOnly))
	}
	if got := readKept(); !slices.Equal(sceneIDs(got.Scenes), short.ScenesBefore) {
		t.Errorf("kept choice %v, want the new %v", sceneIDs(got.Scenes), short.ScenesBefore)
	}

	// The bucket is untrusted: a choice naming a scene with another href, or that is not
	// JSON, or of another AOI, is not used (the run ranks anew and keeps its choice).
	run("2023-01-01/2023-12-31", baselineKept) // back to the first choice, kept
	for _, tamper := range []func(c *keptChoice) []byte{
		func(c *keptChoice) []byte {
			for k := range c.Scenes[0].Hrefs {
				c.Scenes[0].Hrefs[k] = "/etc/passwd"
			}
			data, _ := json.Marshal(c)
			return data
		},
		func(c *keptChoice) []byte { c.Key = strings.Repeat("0", 64); data, _ := json.Marshal(c); return data },
		func(*keptChoice) []byte { return []byte("{not json") },
	} {
		c := readKept()
		if err := os.WriteFile(choiceFile, tamper(&c), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := run("2023-01-01/2023-12-31", baselineKept) // the same ranking, so the kept composite
		if !slices.Equal(sum.ScenesBefore, first.ScenesBefore) {
			t.Errorf("baseline %v, want %v", sum.ScenesBefore, first.ScenesBefore)
		}
		if got := readKept(); got.Key != choiceKey(mustPlan(t, p, s, out)) || got.Scenes[0].Hrefs["red"] == "/etc/passwd" {
			t.Errorf("the tampered choice was kept: %+v", got)
		}
	}
}

// mustPlan parses the monthly request of out.
func mustPlan(t *testing.T, p *Pipeline, s *synth.Result, out string) *plan {
	t.Helper()
	pl, err := p.parse(monthlyRequest(t, s, s.Root, out))
	if err != nil {
		t.Fatal(err)
	}
	return pl
}
