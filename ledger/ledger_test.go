package ledger

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// Footprints of the tests: rectangles in metres east and north of a point in the Okapi
// reserve, so sizes and gaps read as on the ground.
const lon0, lat0 = 28.5, 1.5

func rect(x0, y0, x1, y1 float64) orb.MultiPolygon {
	kx := metresPerDegree * math.Cos(lat0*math.Pi/180)
	p := func(x, y float64) orb.Point { return orb.Point{lon0 + x/kx, lat0 + y/metresPerDegree} }
	return orb.MultiPolygon{{{p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1), p(x0, y0)}}}
}

// poly is a change polygon of a run; its area is the rectangle's.
func poly(id, class string, x0, y0, x1, y1 float64, day string) Polygon {
	d, _ := time.Parse(time.DateOnly, day)
	return Polygon{ID: id, Class: class, AreaHa: (x1 - x0) * (y1 - y0) / 1e4, Confidence: 0.8,
		Geometry: rect(x0, y0, x1, y1), FirstObs: d, LastObs: d}
}

func run(name string, polys ...Polygon) Run {
	t, _ := time.Parse("2006-01", name[:7])
	return Run{Name: name, Published: t.AddDate(0, 1, 1), Polygons: polys}
}

const bare, water = "vegetation_to_bare", "vegetation_to_water"

// byRun returns the ids of the incidents seen in each run, and the incident of each id.
func find(l *Ledger, id string) *Incident {
	for _, inc := range l.Incidents {
		if inc.ID == id {
			return inc
		}
	}
	return nil
}

// only returns the single incident not merged away, failing otherwise.
func live(l *Ledger) []*Incident {
	var out []*Incident
	for _, inc := range l.Incidents {
		if inc.MergedInto == "" {
			out = append(out, inc)
		}
	}
	return out
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name  string
		runs  []Run
		check func(t *testing.T, l *Ledger)
	}{
		{"an object growing over three months keeps one id", []Run{
			run("2024-01_2024-01", poly("a1", bare, 0, 0, 200, 200, "2024-01-17")),
			run("2024-02_2024-02", poly("a2", bare, 0, 0, 300, 250, "2024-02-11")),
			run("2024-03_2024-03", poly("a3", bare, -50, 0, 400, 300, "2024-03-08")),
		}, func(t *testing.T, l *Ledger) {
			if len(l.Incidents) != 1 {
				t.Fatalf("%d incidents, want 1", len(l.Incidents))
			}
			inc := l.Incidents[0]
			want := Incident{Status: StatusGrowing, FirstSeen: "2024-01-17", LastSeen: "2024-03-08", AreaHa: 13.5, RunsSeen: 3}
			if inc.Status != want.Status || inc.FirstSeen != want.FirstSeen || inc.LastSeen != want.LastSeen ||
				inc.AreaHa != want.AreaHa || inc.RunsSeen != want.RunsSeen {
				t.Fatalf("got %+v", inc)
			}
			if !slices.Equal(inc.Runs, []string{"2024-01_2024-01", "2024-02_2024-02", "2024-03_2024-03"}) ||
				inc.AreaByRun["2024-01_2024-01"] != 4 || inc.AreaByRun["2024-02_2024-02"] != 7.5 {
				t.Fatalf("runs %v, areas %v", inc.Runs, inc.AreaByRun)
			}
			if !strings.HasPrefix(inc.ID, "inc-aoi-") {
				t.Fatalf("id %s", inc.ID)
			}
		}},
		{"same size again is active; not seen is quiet; seen again keeps its id", []Run{
			run("2024-01_2024-01", poly("a1", bare, 0, 0, 200, 200, "2024-01-17")),
			run("2024-02_2024-02", poly("a2", bare, 0, 0, 200, 205, "2024-02-11")),
			run("2024-03_2024-03"),
		}, func(t *testing.T, l *Ledger) {
			if len(l.Incidents) != 1 || l.Incidents[0].Status != StatusQuiet || l.Incidents[0].LastSeen != "2024-02-11" {
				t.Fatalf("got %+v", l.Incidents[0])
			}
			statuses := []string{}
			for _, e := range l.History {
				statuses = append(statuses, e.Status)
			}
			if !slices.Equal(statuses, []string{StatusNew, StatusActive, StatusQuiet}) {
				t.Fatalf("history statuses %v", statuses)
			}
		}},
		{"a run that saw too little does not make incidents quiet", []Run{
			run("2024-01_2024-01", poly("a1", bare, 0, 0, 200, 200, "2024-01-17")),
			{Name: "2024-02_2024-02", Insufficient: true},
		}, func(t *testing.T, l *Ledger) {
			if got := l.Incidents[0].Status; got != StatusActive {
				t.Fatalf("status %s, want active", got)
			}
			if n := l.History[len(l.History)-1].Note; n != "not observed" {
				t.Fatalf("note %q", n)
			}
		}},
		{"a quiet incident seen again comes back with its id", []Run{
			run("2024-01_2024-01", poly("a1", bare, 0, 0, 200, 200, "2024-01-17")),
			run("2024-02_2024-02"),
			run("2024-03_2024-03", poly("a3", bare, 10, 10, 190, 190, "2024-03-02")),
		}, func(t *testing.T, l *Ledger) {
			if len(l.Incidents) != 1 || l.Incidents[0].Status != StatusActive || l.Incidents[0].RunsSeen != 2 {
				t.Fatalf("got %+v", l.Incidents)
			}
		}},
		{"two incidents joined by one polygon merge into the one it overlaps most", []Run{
			run("2024-01_2024-01", poly("w", bare, 0, 0, 100, 100, "2024-01-17"), poly("e", bare, 300, 0, 500, 100, "2024-01-17")),
			run("2024-02_2024-02", poly("j", bare, 0, 0, 500, 100, "2024-02-11")),
		}, func(t *testing.T, l *Ledger) {
			if len(l.Incidents) != 2 {
				t.Fatalf("%d incidents, want 2 (one merged)", len(l.Incidents))
			}
			lv := live(l)
			if len(lv) != 1 || len(lv[0].MergedFrom) != 1 || lv[0].AreaHa != 5 || lv[0].Status != StatusGrowing {
				t.Fatalf("survivor %+v", lv)
			}
			gone := find(l, lv[0].MergedFrom[0])
			if gone == nil || gone.MergedInto != lv[0].ID || gone.Status != StatusQuiet || gone.AreaHa != 1 {
				t.Fatalf("merged %+v", gone)
			}
			if lv[0].AreaByRun["2024-01_2024-01"] != 2 {
				t.Fatalf("the survivor is the larger (eastern) one: %+v", lv[0])
			}
		}},
		{"polygons far apart split; close ones stay one incident", []Run{
			run("2024-01_2024-01", poly("big", bare, 0, 0, 1000, 100, "2024-01-17")),
			run("2024-02_2024-02",
				poly("p1", bare, 0, 0, 300, 100, "2024-02-11"),
				poly("p2", bare, 330, 0, 400, 100, "2024-02-11"),  // 30 m from p1: same incident
				poly("p3", bare, 700, 0, 1000, 100, "2024-02-11"), // 300 m from p2: splits off
			),
		}, func(t *testing.T, l *Ledger) {
			if len(l.Incidents) != 2 {
				t.Fatalf("%d incidents, want 2", len(l.Incidents))
			}
			var parent, child *Incident
			for _, inc := range l.Incidents {
				if inc.SplitFrom != "" {
					child = inc
				} else {
					parent = inc
				}
			}
			if parent == nil || child == nil || child.SplitFrom != parent.ID || parent.AreaHa != 3.7 || child.AreaHa != 3 ||
				child.FirstSeen != "2024-01-17" || child.Status != StatusActive || len(parent.Geometry) != 2 {
				t.Fatalf("parent %+v\nchild %+v", parent, child)
			}
		}},
		{"overlap of another class is another incident", []Run{
			run("2024-01_2024-01", poly("b", bare, 0, 0, 200, 200, "2024-01-17")),
			run("2024-02_2024-02", poly("b2", bare, 0, 0, 200, 200, "2024-02-11"), poly("w", water, 50, 250, 150, 300, "2024-02-11")),
			run("2024-03_2024-03", poly("w2", water, 50, 50, 150, 150, "2024-03-08")),
		}, func(t *testing.T, l *Ledger) {
			if len(l.Incidents) != 3 {
				t.Fatalf("%d incidents, want 3", len(l.Incidents))
			}
			for _, inc := range l.Incidents {
				if inc.Class == bare && inc.Status != StatusQuiet {
					t.Fatalf("bare %+v", inc)
				}
			}
		}},
		{"growth along the edge (touching, or within 15 m) is the same incident; farther is not", []Run{
			run("2024-01_2024-01", poly("a", bare, 0, 0, 100, 100, "2024-01-17")),
			run("2024-02_2024-02", poly("b", bare, 100, 0, 200, 100, "2024-02-11"), poly("far", bare, 0, 130, 100, 200, "2024-02-11")),
			run("2024-03_2024-03", poly("c", bare, 210, 0, 300, 100, "2024-03-08")),
		}, func(t *testing.T, l *Ledger) {
			if len(l.Incidents) != 2 {
				t.Fatalf("%d incidents, want 2", len(l.Incidents))
			}
			for _, inc := range l.Incidents {
				if inc.RunsSeen == 3 {
					return
				}
			}
			t.Fatalf("no incident followed the three runs: %+v %+v", l.Incidents[0], l.Incidents[1])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Build("aoi", tt.runs, nil, Params{})
			tt.check(t, l)
			checkHistory(t, l)
			// Replay in another order gives the same bytes.
			rev := slices.Clone(tt.runs)
			slices.Reverse(rev)
			a, err := l.Encode()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Build("aoi", rev, nil, Params{}).Encode()
			if !bytes.Equal(a, b) {
				t.Fatalf("replay differs:\n%s\n%s", a, b)
			}
		})
	}
}

// checkHistory: every history id is in the ledger, one row per incident and run.
func checkHistory(t *testing.T, l *Ledger) {
	t.Helper()
	data, err := l.HistoryCSV()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "incident_id,run,observation_date,area_ha,confidence,status,note" {
		t.Fatalf("header %s", got)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if find(l, r[0]) == nil {
			t.Fatalf("history id %s not in the ledger", r[0])
		}
		if k := r[0] + r[1]; seen[k] {
			t.Fatalf("two rows for %s in %s", r[0], r[1])
		} else {
			seen[k] = true
		}
	}
	for _, inc := range l.Incidents {
		for _, r := range inc.Runs {
			if !seen[inc.ID+r] {
				t.Fatalf("%s seen in %s has no history row", inc.ID, r)
			}
		}
	}
}

func TestVerdicts(t *testing.T) {
	runs := []Run{run("2024-01_2024-01", poly("a", bare, 0, 0, 200, 200, "2024-01-17"))}
	id := Build("aoi", runs, nil, Params{}).Incidents[0].ID
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct {
		name     string
		verdicts []Verdict
		want     string
	}{
		{"none", nil, StatusNew},
		{"confirmed", []Verdict{{IncidentID: id, Verdict: "confirmed", At: at("2024-03-01T10:00:00Z"), Name: "a"}}, StatusConfirmed},
		{"the latest wins", []Verdict{
			{IncidentID: id, Verdict: "rejected", At: at("2024-03-02T10:00:00Z"), Name: "b"},
			{IncidentID: id, Verdict: "confirmed", At: at("2024-03-01T10:00:00Z"), Name: "c"},
		}, StatusRejected},
		{"same time: the later name wins", []Verdict{
			{IncidentID: id, Verdict: "rejected", At: at("2024-03-01T10:00:00Z"), Name: "b"},
			{IncidentID: id, Verdict: "confirmed", At: at("2024-03-01T10:00:00Z"), Name: "a"},
		}, StatusRejected},
		{"an unknown verdict is ignored", []Verdict{{IncidentID: id, Verdict: "maybe", At: at("2024-03-01T10:00:00Z")}}, StatusNew},
		{"another incident's verdict", []Verdict{{IncidentID: "inc-x", Verdict: "rejected", At: at("2024-03-01T10:00:00Z")}}, StatusNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Build("aoi", runs, tt.verdicts, Params{})
			if got := l.Incidents[0].Status; got != tt.want {
				t.Fatalf("status %s, want %s", got, tt.want)
			}
			rev := slices.Clone(tt.verdicts)
			slices.Reverse(rev)
			a, _ := l.Encode()
			b, _ := Build("aoi", runs, rev, Params{}).Encode()
			if !bytes.Equal(a, b) {
				t.Fatal("verdict order changes the ledger")
			}
		})
	}
}

func TestEncodeDecode(t *testing.T) {
	l := Build("aoi", []Run{
		run("2024-01_2024-01", poly("a", bare, 0, 0, 200, 200, "2024-01-17")),
		run("2024-02_2024-02", poly("b", bare, 0, 0, 300, 200, "2024-02-11")),
	}, nil, Params{})
	data, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"aoi_id": "aoi"`, `"updated": "2024-03-02T00:00:00Z"`, `"first_seen": "2024-01-17"`,
		`"area_by_run": {`, `"merged_from": []`, `"split_from": ""`, `"type": "MultiPolygon"`, `"verdict": null`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("ledger.json lacks %s:\n%s", key, data)
		}
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Encode()
	if !bytes.Equal(data, again) {
		t.Fatalf("decode then encode differs:\n%s\n%s", data, again)
	}
}

func TestOverlap(t *testing.T) {
	tests := []struct {
		name string
		a, b orb.MultiPolygon
		want float64 // square metres
	}{
		{"same", rect(0, 0, 100, 100), rect(0, 0, 100, 100), 1e4},
		{"half", rect(0, 0, 100, 100), rect(50, 0, 150, 100), 5e3},
		{"inside", rect(0, 0, 100, 100), rect(20, 20, 40, 40), 400},
		{"touching", rect(0, 0, 100, 100), rect(100, 0, 200, 100), 0},
		{"apart", rect(0, 0, 100, 100), rect(300, 300, 400, 400), 0},
		{"hole", orb.MultiPolygon{{rect(0, 0, 100, 100)[0][0], rect(20, 20, 80, 80)[0][0]}}, rect(20, 20, 80, 80), 0},
	}
	kx := metresPerDegree * math.Cos(lat0*math.Pi/180)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := overlap(tt.a, tt.b, tt.a.Bound(), tt.b.Bound()) * kx * metresPerDegree
			if math.Abs(got-tt.want) > 0.01*tt.want+1 {
				t.Fatalf("overlap %.1f m², want %.1f", got, tt.want)
			}
		})
	}
}

func TestParseRun(t *testing.T) {
	manifest := []byte(`{"created":"2024-02-02T06:10:00Z"}`)
	item := func(obs string) []byte {
		return fmt.Appendf(nil, `{"properties":{"changewatch:after":"2024-01-01/2024-01-31","changewatch:scenes_after":["S2A_35NPB_20240105_0_L2A","S2B_35NPB_20240117_0_L2A+S2B_35NQB_20240117_0_L2A"]%s}}`, obs)
	}
	changes := []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[28.5,1.5],[28.501,1.5],[28.501,1.501],[28.5,1.5]]]},
	"properties":{"id":"cw-1","class":"vegetation_to_bare","area_ha":1.5,"confidence":0.9,"scenes":"S2A_35NPB_20230110_0_L2A,S2A_35NPB_20240105_0_L2A,S2B_35NPB_20240117_0_L2A+S2B_35NQB_20240117_0_L2A"}},
	{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[28.6,1.5],[28.601,1.5],[28.601,1.501],[28.6,1.5]]]]},
	"properties":{"id":"cw-2","class":"burn_scar","area_ha":0.5,"confidence":0.7,"scenes":["S2A_35NPB_20240105_0_L2A"]}}]}`)
	r, err := ParseRun("2024-01_2024-01", manifest, item(`,"changewatch:observed_pct":80`), changes, 50)
	if err != nil {
		t.Fatal(err)
	}
	if r.Insufficient || len(r.Polygons) != 2 || !r.Published.Equal(time.Date(2024, 2, 2, 6, 10, 0, 0, time.UTC)) {
		t.Fatalf("%+v", r)
	}
	p := r.Polygons[0]
	if dateOf(p.FirstObs) != "2024-01-05" || dateOf(p.LastObs) != "2024-01-17" || p.AreaHa != 1.5 || len(p.Geometry) != 1 {
		t.Fatalf("polygon %+v", p)
	}
	if q := r.Polygons[1]; dateOf(q.LastObs) != "2024-01-05" || q.Class != "burn_scar" {
		t.Fatalf("polygon %+v", q)
	}
	if r, _ := ParseRun("2024-01_2024-01", manifest, item(`,"changewatch:observed_pct":20`), changes, 50); !r.Insufficient {
		t.Fatal("20 % observed is not insufficient")
	}
	bad := []struct{ name, run, item, changes string }{
		{"run name", "2024-01", string(item("")), string(changes)},
		{"item", "2024-01_2024-01", `{`, string(changes)},
		{"after period", "2024-01_2024-01", `{"properties":{}}`, string(changes)},
		{"changes", "2024-01_2024-01", string(item("")), `{"type":"Feature"}`},
		{"no id", "2024-01_2024-01", string(item("")), `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}]}`},
	}
	for _, b := range bad {
		if _, err := ParseRun(b.run, manifest, []byte(b.item), []byte(b.changes), 50); err == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
}
