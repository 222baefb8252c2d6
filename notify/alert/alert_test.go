package alert

import (
	"slices"
	"strings"
	"testing"

	"github.com/changewatch/changewatch/jobs"
)

func TestParseSubscriptions(t *testing.T) {
	good := `[{"id":"gis","webhook":{"url":"https://h.example.org/cw","secret_env":"CHANGEWATCH_WEBHOOK_SECRET_GIS"},
	  "email":["gis@example.org"],"rules":[{"id":"new","new":true,"min_confidence":0.5,"classes":["burn_scar"]}]}]`
	tests := []struct {
		name, in, wantErr string
	}{
		{"good", good, ""},
		{"null", `null`, ""},
		{"empty list", `[]`, ""},
		{"not a list", `{"id":"x"}`, "subscriptions"},
		{"unknown field", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","new":true,"min_confidance":0.5}]}]`, "min_confidance"},
		{"bad id", `[{"id":"a b","email":["a@b.org"],"rules":[{"id":"r","new":true}]}]`, "subscriptions[0].id"},
		{"no channel", `[{"id":"a","rules":[{"id":"r","new":true}]}]`, "no channel"},
		{"ftp webhook", `[{"id":"a","webhook":{"url":"ftp://x.org/"},"rules":[{"id":"r","new":true}]}]`, "subscriptions[0].webhook.url"},
		{"secret env not ours", `[{"id":"a","webhook":{"url":"https://x.org/","secret_env":"AWS_SECRET_ACCESS_KEY"},"rules":[{"id":"r","new":true}]}]`, "secret_env"},
		{"bad address", `[{"id":"a","email":["not-an-address"],"rules":[{"id":"r","new":true}]}]`, "subscriptions[0].email[0]"},
		{"address twice", `[{"id":"a","email":["a@b.org","a@b.org"],"rules":[{"id":"r","new":true}]}]`, "email[1]"},
		{"no rules", `[{"id":"a","email":["a@b.org"],"rules":[]}]`, "subscriptions[0].rules"},
		{"rule never triggers", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","in_protected_area":true}]}]`, "never triggers"},
		{"confidence above 1", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","new":true,"min_confidence":1.5}]}]`, "rules[0].min_confidence"},
		{"negative growth", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","growth_ha":-1}]}]`, "growth_ha"},
		{"far mine", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","new":true,"near_mine_km":5000}]}]`, "near_mine_km"},
		{"unknown class", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","new":true,"classes":["urban"]}]}]`, "classes[0]"},
		{"rule id twice", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","new":true},{"id":"r","growth_ha":1}]}]`, "rules[1].id"},
		{"subscription id twice", `[{"id":"a","email":["a@b.org"],"rules":[{"id":"r","new":true}]},{"id":"a","email":["c@b.org"],"rules":[{"id":"r","new":true}]}]`, "subscriptions[1].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subs, err := ParseSubscriptions([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "good" && (len(subs) != 1 || subs[0].Webhook.SecretEnv == "" || subs[0].Rules[0].MinConfidence != 0.5) {
					t.Fatalf("parsed %+v", subs)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to name %q", err, tt.wantErr)
			}
		})
	}
}

func km(v float64) *float64 { return &v }

// testLedger: three runs; a is new in March inside the reserve near a mine, b grew from
// 4 to 6 ha in March, c was seen only in January, d is new in March but rejected, e grew
// by 0.2 ha (no mine known: distance 0 without a name), f was merged into a.
func testLedger() *Ledger {
	return &Ledger{AOIID: "muchacha", Runs: []string{"2024-01_2024-01", "2024-02_2024-02", "2024-03_2024-03"},
		Incidents: []Incident{
			{ID: "inc-a", Class: "vegetation_to_bare", Status: "new", MaxConfidence: 0.9, Runs: []string{"2024-03_2024-03"},
				AreaByRun: map[string]float64{"2024-03_2024-03": 2}, ProtectedArea: "Okapi Wildlife Reserve", MineName: "Muchacha", MineDistanceKm: km(0.4)},
			{ID: "inc-b", Class: "vegetation_to_water", Status: "growing", MaxConfidence: 0.7, Runs: []string{"2024-01_2024-01", "2024-03_2024-03"},
				AreaByRun: map[string]float64{"2024-01_2024-01": 4, "2024-03_2024-03": 6}, MineName: "Muchacha", MineDistanceKm: km(12)},
			{ID: "inc-c", Class: "vegetation_to_bare", Status: "quiet", MaxConfidence: 0.9, Runs: []string{"2024-01_2024-01"},
				AreaByRun: map[string]float64{"2024-01_2024-01": 3}},
			{ID: "inc-d", Class: "vegetation_to_bare", Status: "rejected", MaxConfidence: 0.9, Runs: []string{"2024-03_2024-03"},
				AreaByRun: map[string]float64{"2024-03_2024-03": 1}, ProtectedArea: "Okapi Wildlife Reserve"},
			{ID: "inc-e", Class: "burn_scar", Status: "active", MaxConfidence: 0.4, Runs: []string{"2024-02_2024-02", "2024-03_2024-03"},
				AreaByRun: map[string]float64{"2024-02_2024-02": 10, "2024-03_2024-03": 10.2}, MineDistanceKm: km(0)},
			{ID: "inc-f", Class: "vegetation_to_bare", Status: "new", MaxConfidence: 0.9, Runs: []string{"2024-03_2024-03"},
				AreaByRun: map[string]float64{"2024-03_2024-03": 1}, MergedInto: "inc-a", ProtectedArea: "Okapi Wildlife Reserve"},
		}}
}

func TestRuleSelect(t *testing.T) {
	l := testLedger()
	const run = "2024-03_2024-03"
	tests := []struct {
		name string
		rule Rule
		run  string
		want []string
	}{
		{"new", Rule{New: true}, run, []string{"inc-a"}},
		{"new in january", Rule{New: true}, "2024-01_2024-01", []string{"inc-b", "inc-c"}},
		{"growth 1 ha", Rule{GrowthHa: 1}, run, []string{"inc-b"}},
		{"growth 0.1 ha", Rule{GrowthHa: 0.1}, run, []string{"inc-b", "inc-e"}},
		{"growth 50 %", Rule{GrowthPct: 50}, run, []string{"inc-b"}},
		{"growth 51 %", Rule{GrowthPct: 51}, run, nil},
		{"growth 5 ha or 10 %", Rule{GrowthHa: 5, GrowthPct: 10}, run, []string{"inc-b"}},
		{"new or growing", Rule{New: true, GrowthHa: 0.1}, run, []string{"inc-a", "inc-b", "inc-e"}},
		{"in protected area", Rule{New: true, GrowthHa: 0.1, InProtectedArea: true}, run, []string{"inc-a"}},
		{"near a mine", Rule{New: true, GrowthHa: 0.1, NearMineKm: 15}, run, []string{"inc-a", "inc-b"}},
		{"within 1 km of a mine", Rule{New: true, GrowthHa: 0.1, NearMineKm: 1}, run, []string{"inc-a"}},
		{"confident", Rule{New: true, GrowthHa: 0.1, MinConfidence: 0.75}, run, []string{"inc-a"}},
		{"classes", Rule{New: true, GrowthHa: 0.1, Classes: []string{"burn_scar", "vegetation_to_water"}}, run, []string{"inc-b", "inc-e"}},
		{"unknown run", Rule{New: true}, "2023-12_2023-12", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range tt.rule.Select(l, tt.run) {
				got = append(got, m.Incident.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("selected %v, want %v", got, tt.want)
			}
		})
	}
	m := (&Rule{GrowthHa: 1}).Select(l, run)
	if r := m[0].Reason; r.New || r.GrowthHa != 2 || r.GrowthPct != 50 {
		t.Fatalf("reason %+v", r)
	}
}

func TestDeliveries(t *testing.T) {
	subs, err := ParseSubscriptions([]byte(`[
	 {"id":"gis","webhook":{"url":"https://h.example.org/cw"},"email":["a@x.org","b@x.org"],
	  "rules":[{"id":"new","new":true},{"id":"growth","growth_ha":100}]},
	 {"id":"field","email":["c@x.org"],"rules":[{"id":"water","new":true,"growth_ha":1,"classes":["vegetation_to_water"]}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	ds := Deliveries(subs, testLedger(), "2024-03_2024-03")
	var got []string
	keys := map[string]bool{}
	for _, d := range ds {
		target := d.Channel.URL
		if d.Channel.Kind == jobs.ChannelEmail {
			target = strings.Join(d.Channel.To, ",")
		}
		got = append(got, d.Subscription.ID+"/"+d.Rule.ID+" "+target+" "+d.Matches[0].Incident.ID)
		keys[jobs.DeliveryKey("muchacha", "2024-03_2024-03", d.Subscription.ID, d.Rule.ID, d.Channel)] = true
	}
	want := []string{
		"gis/new https://h.example.org/cw inc-a", "gis/new a@x.org inc-a", "gis/new b@x.org inc-a",
		"field/water c@x.org inc-b",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(keys) != len(ds) {
		t.Fatalf("%d deliveries share %d keys", len(ds), len(keys))
	}
	// The first run of the ledger is the baseline: everything is new there, nobody is told.
	if ds := Deliveries(subs, testLedger(), "2024-01_2024-01"); len(ds) != 0 {
		t.Fatalf("%d deliveries for the baseline run", len(ds))
	}
}

func TestDecodeLedger(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"good", `{"aoi_id":"muchacha","runs":["2024-01_2024-01"],"incidents":[{"incident_id":"inc-1","runs":["2024-01_2024-01"],"mine_distance_km":0.4}]}`, ""},
		{"no mine", `{"aoi_id":"muchacha","runs":[],"incidents":[{"incident_id":"inc-1","mine_distance_km":null}]}`, ""},
		{"bad aoi", `{"aoi_id":"../x"}`, "aoi_id"},
		{"bad run", `{"aoi_id":"a","runs":["2024-01"]}`, "runs[0]"},
		{"bad incident id", `{"aoi_id":"a","incidents":[{"incident_id":"a/b"}]}`, "incidents[0]"},
		{"not json", `{`, "ledger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := DecodeLedger([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "good" && (*l.Incidents[0].MineDistanceKm != 0.4 || !l.HasRun("2024-01_2024-01")) {
					t.Fatalf("decoded %+v", l)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
