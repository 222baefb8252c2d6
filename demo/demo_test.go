package demo

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changewatch/changewatch/internal/stacschema"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/notify/webhook"
)

// The demo is the README's first command: it must run end to end, on a redis-server
// child and on miniredis, and score well. Both runs share --out, so the second one reuses
// the scenes of the first.
func TestDemo(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		name      string
		miniredis bool
		want      string   // on stderr: which Redis was used
		months    []string // nil: all four
	}{
		{"redis-server", false, "redis: redis-server child process", nil},
		// On miniredis, two months (the overcast one and the first clear one) keep it short.
		{"miniredis", true, "redis: in-process miniredis", []string{"2023-12", "2024-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.miniredis {
				if _, err := exec.LookPath("redis-server"); err != nil {
					t.Fatal("redis-server is not installed: run the tests through ./scripts/test.sh, which installs it")
				}
			}
			var outBuf, errBuf bytes.Buffer
			c := Config{Out: out, Size: 512, Seed: 3, Miniredis: tc.miniredis, Timeout: 8 * time.Minute, Months: tc.months}
			months := c.months()
			err := Run(t.Context(), c, &outBuf, &errBuf, slog.New(slog.NewTextHandler(&errBuf, &slog.HandlerOptions{Level: slog.LevelWarn})))
			stdout, stderr := outBuf.String(), errBuf.String()
			if err != nil {
				t.Fatalf("demo: %v: %s", err, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			var got struct {
				Results []jobs.Summary `json:"results"`
				Scores  *struct{ F1 float64 }
				Ledgers []struct {
					AOIID     string   `json:"aoi_id"`
					Runs      []string `json:"runs"`
					Incidents int      `json:"incidents"`
				} `json:"ledgers"`
				Alerts *alertCounts `json:"alerts"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
			}
			if len(got.Results) != 2*len(months) {
				t.Fatalf("%d results, want %d:\n%s", len(got.Results), 2*len(months), stdout)
			}
			found := 0
			for _, r := range got.Results {
				found += total(r.Polygons)
				if len(r.Files) == 0 || !strings.HasPrefix(r.Output, "s3://results/"+r.AOIID+"/") {
					t.Errorf("%s: files %v, output %s", r.AOIID, r.Files, r.Output)
				}
				// Progress lines name the AOI and end with its publication.
				if !strings.Contains(stderr, r.AOIID) || !strings.Contains(stderr, "completed published") {
					t.Errorf("no progress lines for %s:\n%s", r.AOIID, stderr)
				}
				month := r.After.Start.Format("2006-01")
				local := filepath.Join(out, "results", r.AOIID, month+"_"+month)
				for _, f := range []string{"manifest.json", "changes.fgb", "report.html", "report.pdf"} {
					if _, err := os.Stat(filepath.Join(local, f)); err != nil {
						t.Errorf("local copy: %v", err)
					}
				}
				// The overcast month says it saw too little instead of "no change".
				if month == "2023-12" && !r.InsufficientView {
					t.Errorf("%s %s: %.0f %% observed, not reported as insufficient", r.AOIID, month, r.ObservedPct)
				}
			}
			if found == 0 {
				t.Error("no polygons in any run")
			}
			// The ledger of each AOI, next to its runs, holds every month.
			if len(got.Ledgers) != 2 {
				t.Fatalf("%d ledgers, want 2", len(got.Ledgers))
			}
			for _, l := range got.Ledgers {
				if len(l.Runs) != len(months) {
					t.Errorf("ledger of %s: runs %v, %d incidents", l.AOIID, l.Runs, l.Incidents)
				}
				for _, f := range []string{"ledger.json", "incidents.fgb", "incidents.gpkg", "incidents.geojson", "incident_history.csv"} {
					if _, err := os.Stat(filepath.Join(out, "results", l.AOIID, f)); err != nil {
						t.Errorf("ledger of %s: %v", l.AOIID, err)
					}
				}
			}
			aoiRuns := map[string][]string{}
			for _, l := range got.Ledgers {
				aoiRuns[l.AOIID] = l.Runs
			}
			checkLocalTree(t, filepath.Join(out, "results"), aoiRuns, len(months))
			if !strings.Contains(stderr, "incidents of ") {
				t.Errorf("no incidents printed:\n%s", stderr)
			}
			if tc.months != nil {
				return
			}
			checkAlerts(t, got.Alerts, stderr)
			if !strings.Contains(stderr, "growing") {
				t.Errorf("no incident growing over the months:\n%s", stderr)
			}
			// The block's March run against the truth (the change as it is in March).
			if got.Scores == nil || got.Scores.F1 < 0.85 {
				t.Errorf("block scores %+v, want F1 >= 0.85:\n%s", got.Scores, stderr)
			}
			if !strings.Contains(stderr, " active ") {
				t.Errorf("no progress line of a running task:\n%s", stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "scenes", demoStampName)); err != nil {
		t.Error(err)
	}
}

// The AOIs held in the binary are the ones in testdata/aoi.
func TestDemoAOIsMatchTestdata(t *testing.T) {
	for _, a := range demoAOIs {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "aoi", a.file))
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != a.geojson {
			t.Errorf("the demo's copy of %s differs from testdata/aoi/%s", a.file, a.file)
		}
	}
}

// The scene stamp makes a second run reuse the scenes; another size or seed regenerates.
func TestDemoScenesReuse(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	first, objects, reused, err := Scenes(ctx, dir, 256, 5)
	if err != nil || reused || objects == 0 || objects != len(first.Objects) {
		t.Fatalf("first: %d objects (%d listed), reused %v, err %v", objects, len(first.Objects), reused, err)
	}
	res, n, reused, err := Scenes(ctx, dir, 256, 5)
	if err != nil || !reused || n != objects {
		t.Fatalf("second: %d objects, want %d, reused %v, err %v", n, objects, reused, err)
	}
	if res.Root != dir || !strings.HasPrefix(res.TruthGeoJSON, dir) || len(res.ItemPaths) == 0 {
		t.Fatalf("reused result %+v", res)
	}
	// The stamp, which a static catalog search reads, does not list the objects.
	if fi, err := os.Stat(filepath.Join(dir, demoStampName)); err != nil || fi.Size() > 4096 {
		t.Fatalf("stamp: %v, err %v", fi, err)
	}
	if _, _, reused, err := Scenes(ctx, dir, 256, 6); err != nil || reused {
		t.Fatalf("other seed: reused %v, err %v", reused, err)
	}
}

// alertCounts is the "alerts" member of the demo's JSON document.
type alertCounts struct {
	Webhooks int    `json:"webhooks"`
	Repeats  int    `json:"webhook_repeats"`
	Emails   int    `json:"emails"`
	Dir      string `json:"dir"`
}

// checkAlerts: the new incidents of the clear months reach the demo's subscriber once
// each, by webhook and by e-mail, and every webhook body kept verifies with its headers
// as a receiver would check it (README's example).
func checkAlerts(t *testing.T, a *alertCounts, stderr string) {
	t.Helper()
	if a == nil {
		t.Fatalf("no alerts in the JSON document:\n%s", stderr)
	}
	if a.Webhooks == 0 || a.Repeats != 0 || a.Emails != a.Webhooks {
		t.Errorf("alerts %+v: want some webhooks, no repeat, one e-mail per webhook", *a)
	}
	if !strings.Contains(stderr, "ALERT (webhook, signature verified): muchacha run ") {
		t.Errorf("no alert for the mine site's new scar:\n%s", stderr)
	}
	bodies, _ := filepath.Glob(filepath.Join(a.Dir, "*", "body.json"))
	if len(bodies) != a.Webhooks {
		t.Fatalf("%d webhook bodies kept, want %d", len(bodies), a.Webhooks)
	}
	for _, b := range bodies {
		body, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		env, err := os.ReadFile(filepath.Join(filepath.Dir(b), "headers.env"))
		if err != nil {
			t.Fatal(err)
		}
		h, secret := http.Header{}, ""
		for _, line := range strings.Split(string(env), "\n") {
			k, v, _ := strings.Cut(line, "=")
			switch k {
			case "TS":
				h.Set(webhook.HeaderTimestamp, v)
			case "SIG":
				h.Set(webhook.HeaderSignature, v)
			case "CHANGEWATCH_WEBHOOK_SECRET":
				secret = v
			}
		}
		if err := webhook.Verify([]byte(secret), h, body, time.Now(), time.Hour); err != nil {
			t.Errorf("%s: %v", b, err)
		}
		if err := webhook.Verify([]byte(secret+"x"), h, body, time.Now(), time.Hour); err == nil {
			t.Errorf("%s: verifies with another secret", b)
		}
	}
}

// checkLocalTree: the local copy holds the STAC tree as the bucket does, valid STAC
// 1.0.0: the catalog links each AOI's collection, each collection every run's item, and
// every run's item links back to its collection and the catalog.
func checkLocalTree(t *testing.T, root string, aoiRuns map[string][]string, runs int) {
	t.Helper()
	read := func(p string) []struct{ Rel, Href string } {
		t.Helper()
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("local stac tree: %v", err)
		}
		if err := stacschema.Validate(data); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var doc struct{ Links []struct{ Rel, Href string } }
		json.Unmarshal(data, &doc)
		for _, l := range doc.Links {
			if l.Rel == "derived_from" {
				continue // the scenes are in the imagery bucket
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), l.Href)); err != nil {
				t.Errorf("%s: %s link: %v", p, l.Rel, err)
			}
		}
		return doc.Links
	}
	count := func(links []struct{ Rel, Href string }, rel string) (n int) {
		for _, l := range links {
			if l.Rel == rel {
				n++
			}
		}
		return n
	}
	if n := count(read(filepath.Join(root, "catalog.json")), "child"); n != len(aoiRuns) {
		t.Errorf("catalog: %d children, want %d", n, len(aoiRuns))
	}
	for id, rs := range aoiRuns {
		links := read(filepath.Join(root, id, "collection.json"))
		if n := count(links, "item"); n != runs {
			t.Errorf("collection of %s: %d items, want %d", id, n, runs)
		}
		for _, run := range rs {
			if n := count(read(filepath.Join(root, id, run, "item.json")), "derived_from"); n == 0 {
				t.Errorf("item of %s %s: no derived_from link", id, run)
			}
		}
	}
}
