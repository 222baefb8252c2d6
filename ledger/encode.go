package ledger

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// ledgerJSON is the form of ledger.json (docs/contracts.md, "The monitoring layer").
type ledgerJSON struct {
	AOIID     string         `json:"aoi_id"`
	Updated   string         `json:"updated"`
	Runs      []string       `json:"runs"`
	Incidents []incidentJSON `json:"incidents"`
}

type incidentJSON struct {
	*Incident
	Geometry *geojson.Geometry `json:"geometry"`
}

// MarshalJSON writes ledger.json: indented, keys in a fixed order, so the same ledger
// always gives the same bytes.
func (l *Ledger) MarshalJSON() ([]byte, error) {
	out := ledgerJSON{AOIID: l.AOIID, Updated: l.Updated.UTC().Format(time.RFC3339), Runs: l.Runs,
		Incidents: make([]incidentJSON, len(l.Incidents))}
	if out.Runs == nil {
		out.Runs = []string{}
	}
	for i, inc := range l.Incidents {
		mp := inc.Geometry
		if mp == nil {
			mp = orb.MultiPolygon{}
		}
		out.Incidents[i] = incidentJSON{Incident: inc, Geometry: geojson.NewGeometry(mp)}
	}
	return json.Marshal(out)
}

// Encode returns ledger.json's bytes (indented).
func (l *Ledger) Encode() ([]byte, error) {
	data, err := l.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode ledger: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", " "); err != nil {
		return nil, fmt.Errorf("encode ledger: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// Decode reads ledger.json.
func Decode(data []byte) (*Ledger, error) {
	var in struct {
		AOIID     string   `json:"aoi_id"`
		Updated   string   `json:"updated"`
		Runs      []string `json:"runs"`
		Incidents []struct {
			Incident
			Geometry *geojson.Geometry `json:"geometry"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("decode ledger: %w", err)
	}
	l := &Ledger{AOIID: in.AOIID, Runs: in.Runs}
	if in.Updated != "" {
		t, err := time.Parse(time.RFC3339, in.Updated)
		if err != nil {
			return nil, fmt.Errorf("decode ledger: updated: %w", err)
		}
		l.Updated = t
	}
	for _, x := range in.Incidents {
		inc := x.Incident
		if x.Geometry != nil {
			switch g := x.Geometry.Geometry().(type) {
			case orb.MultiPolygon:
				inc.Geometry = g
			case orb.Polygon:
				inc.Geometry = orb.MultiPolygon{g}
			}
		}
		l.Incidents = append(l.Incidents, &inc)
	}
	return l, nil
}

// HistoryCSV returns incident_history.csv: one row per incident and run from the run
// that first saw it (an incident merged into another ends with the run that absorbed it).
func (l *Ledger) HistoryCSV() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"incident_id", "run", "observation_date", "area_ha", "confidence", "status", "note"})
	num := func(v float64, seen bool) string {
		if !seen {
			return ""
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	for _, e := range l.History {
		seen := e.ObsDate != ""
		w.Write([]string{e.IncidentID, e.Run, e.ObsDate, num(e.AreaHa, seen), num(e.Confidence, seen), e.Status, e.Note})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("incident history: %w", err)
	}
	return buf.Bytes(), nil
}
