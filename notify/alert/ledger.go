// Package alert decides who is told what: the subscriptions of an AOI (channels and
// rules, as written in the watch list's properties) and the incidents of a run that each
// rule selects from the AOI's ledger. It is pure Go: the scheduler validates the watch
// list with it, the notification worker evaluates it.
package alert

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/changewatch/changewatch/jobs"
)

// Ledger is the part of an AOI's ledger.json (written by package ledger, see
// docs/contracts.md) that notifications and reports read.
type Ledger struct {
	AOIID     string     `json:"aoi_id"`
	Updated   string     `json:"updated"`
	Runs      []string   `json:"runs"`
	Incidents []Incident `json:"incidents"`
}

// Incident is one incident of the ledger.
type Incident struct {
	ID            string             `json:"incident_id"`
	Class         string             `json:"class"`
	Status        string             `json:"status"`
	FirstSeen     string             `json:"first_seen"`
	LastSeen      string             `json:"last_seen"`
	AreaHa        float64            `json:"area_ha"`
	RunsSeen      int                `json:"runs_seen"`
	MaxConfidence float64            `json:"max_confidence"`
	Runs          []string           `json:"runs"`
	AreaByRun     map[string]float64 `json:"area_by_run"`
	MergedFrom    []string           `json:"merged_from"`
	MergedInto    string             `json:"merged_into,omitempty"` // set when the incident became part of another
	SplitFrom     string             `json:"split_from"`
	ProtectedArea string             `json:"protected_area"`
	MineName      string             `json:"mine_name"`
	MineMineral   string             `json:"mine_mineral"`
	MineWorkers   int                `json:"mine_workers"`
	MineVisitDate string             `json:"mine_visit_date"`
	// MineDistanceKm is the distance to the nearest IPIS site; nil when the ledger knows
	// no site (no mining layer, or none near).
	MineDistanceKm *float64         `json:"mine_distance_km"`
	Verdict        *Verdict         `json:"verdict"`
	Geometry       *json.RawMessage `json:"geometry"`
}

// Verdict is a reviewer's latest verdict on an incident.
type Verdict struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Comment string `json:"comment"`
	By      string `json:"by"`
	At      string `json:"at"`
}

// Limits of a ledger read from storage.
const (
	MaxLedgerBytes     = 256 << 20
	MaxLedgerIncidents = 200000
	MaxLedgerRuns      = 2400 // 200 years of monthly runs
)

// DecodeLedger parses ledger.json and checks what notifications rely on: the AOI id, run
// names, incident ids (they name files and keys) and a bounded size.
func DecodeLedger(data []byte) (*Ledger, error) {
	if len(data) > MaxLedgerBytes {
		return nil, fmt.Errorf("ledger: %d bytes, more than %d", len(data), MaxLedgerBytes)
	}
	var l Ledger
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	switch {
	case !jobs.ValidID(l.AOIID):
		return nil, fmt.Errorf("ledger: aoi_id %q is not an id", l.AOIID)
	case len(l.Runs) > MaxLedgerRuns:
		return nil, fmt.Errorf("ledger: %d runs, more than %d", len(l.Runs), MaxLedgerRuns)
	case len(l.Incidents) > MaxLedgerIncidents:
		return nil, fmt.Errorf("ledger: %d incidents, more than %d", len(l.Incidents), MaxLedgerIncidents)
	}
	for i, r := range l.Runs {
		if !jobs.ValidRun(r) {
			return nil, fmt.Errorf("ledger: runs[%d] %q is not a run name", i, r)
		}
	}
	for i := range l.Incidents {
		inc := &l.Incidents[i]
		if !jobs.ValidID(inc.ID) {
			return nil, fmt.Errorf("ledger: incidents[%d].incident_id %q is not an id", i, inc.ID)
		}
		slices.Sort(inc.Runs)
	}
	return &l, nil
}

// Incident returns the incident with id, or nil.
func (l *Ledger) Incident(id string) *Incident {
	for i := range l.Incidents {
		if l.Incidents[i].ID == id {
			return &l.Incidents[i]
		}
	}
	return nil
}

// HasRun reports whether run is one of the ledger's runs.
func (l *Ledger) HasRun(run string) bool { return slices.Contains(l.Runs, run) }

// SeenIn reports whether the incident was mapped in run.
func (inc *Incident) SeenIn(run string) bool { return slices.Contains(inc.Runs, run) }

// NewIn reports whether run is the first run that mapped the incident. An incident that
// a merge or split created in run is new in run only if none of its parts was seen
// before (its runs then start earlier).
func (inc *Incident) NewIn(run string) bool { return len(inc.Runs) > 0 && inc.Runs[0] == run }

// Growth returns by how many hectares, and by what share of its previous area (0.25 is
// 25 %), the incident grew from the last run before run that mapped it to run; ok is
// false when run did not map it or no earlier run did.
func (inc *Incident) Growth(run string) (ha, share float64, ok bool) {
	i := slices.Index(inc.Runs, run)
	if i < 1 {
		return 0, 0, false
	}
	now, ok1 := inc.AreaByRun[run]
	prev, ok2 := inc.AreaByRun[inc.Runs[i-1]]
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	ha = now - prev
	if prev > 0 {
		share = ha / prev
	}
	return ha, share, true
}

// AreaIn returns the incident's area in run (its current area when the ledger does not
// break it down by run).
func (inc *Incident) AreaIn(run string) float64 {
	if a, ok := inc.AreaByRun[run]; ok {
		return a
	}
	return inc.AreaHa
}
