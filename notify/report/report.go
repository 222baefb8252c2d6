// Package report lays out the report of one run of one AOI, as a self-contained HTML
// page (report.html, images embedded) and an A4 PDF (report.pdf) that a researcher can
// attach as it is: a map of the run's new and growing incidents over the after
// composite (north arrow, scale bar, legend), the table of the AOI's incidents, before
// and after chips per new or growing incident, the AOI's totals by month and class from
// the ledger, and the scenes and parameters used. It takes rendered pictures
// (notify/evidence) and plain values; it reads nothing itself.
package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Report is everything a report shows.
type Report struct {
	AOIID, AOIName string
	Run            string // <YYYY-MM>_<YYYY-MM>
	Before, After  string // periods, START/END
	LedgerUpdated  string // when the ledger was last updated (the report's "as of")
	Map            *Picture
	Incidents      []Row   // every incident of the ledger, in the order shown
	Totals         []Total // by run and class
	Classes        []string
	Provenance     Provenance
	Files          []Link // the run's files
}

// Picture is a PNG and the ground size of its pixels (for the scale bar).
type Picture struct {
	PNG            []byte
	Width, Height  int
	MetresPerPixel float64
	Imagery        bool // false: outlines on a plain background (no true-colour raster)
}

// Row is one incident of the table.
type Row struct {
	ID, Class, Status string
	AreaHa            float64
	FirstSeen         string
	Reserve           string
	Mine              string   // nearest IPIS site: name (mineral)
	MineKm            *float64 // its distance; nil when none is known
	Confidence        float64
	// InRun: mapped in this run; New: first mapped in this run; GrowthHa: growth since
	// its previous run (0 when none).
	InRun, New bool
	GrowthHa   float64
	Before     *Picture // chips, for new and growing incidents
	After      *Picture
}

// Highlight reports whether the row is new or growing in this run (drawn on the map,
// with chips).
func (r *Row) Highlight() bool { return r.New || r.GrowthHa > 0 }

// Tag is "new", "grew +x ha" or "".
func (r *Row) Tag() string {
	switch {
	case r.New:
		return "new"
	case r.GrowthHa > 0:
		return fmt.Sprintf("grew +%.2f ha", r.GrowthHa)
	}
	return ""
}

// MineText is "Muchacha (gold), 0.4 km" or "-".
func (r *Row) MineText() string {
	if r.Mine == "" || r.MineKm == nil {
		return "-"
	}
	return fmt.Sprintf("%s, %.1f km", r.Mine, *r.MineKm)
}

// Total is the mapped area and count of one class in one run.
type Total struct {
	Run, Class string
	Hectares   float64
	Count      int
}

// Provenance is where the result came from.
type Provenance struct {
	ScenesBefore, ScenesAfter []string
	Options                   []KV // the method's parameters
	Grid                      string
	Item                      string // the run's STAC item
}

// KV is one named value.
type KV struct{ Key, Value string }

// Link is one file of the run.
type Link struct{ Name, Href string }

// Month is the label of a run: "2024-03" or "2024-01 to 2024-03".
func Month(run string) string {
	a, b, _ := strings.Cut(run, "_")
	if a == b {
		return a
	}
	return a + " to " + b
}

// Counts returns how many incidents of the run are new and growing, and their hectares.
func (r *Report) Counts() (newN, growN int, newHa, growHa float64) {
	for i := range r.Incidents {
		x := &r.Incidents[i]
		switch {
		case x.New:
			newN++
			newHa += x.AreaHa
		case x.GrowthHa > 0:
			growN++
			growHa += x.GrowthHa
		}
	}
	return
}

// TotalsTable returns the runs (rows) and the hectares and counts by class (columns).
func (r *Report) TotalsTable() (runs []string, ha [][]float64, n [][]int) {
	for _, t := range r.Totals {
		if !slices.Contains(runs, t.Run) {
			runs = append(runs, t.Run)
		}
	}
	slices.Sort(runs)
	ha = make([][]float64, len(runs))
	n = make([][]int, len(runs))
	for i := range runs {
		ha[i] = make([]float64, len(r.Classes))
		n[i] = make([]int, len(r.Classes))
	}
	for _, t := range r.Totals {
		i, j := slices.Index(runs, t.Run), slices.Index(r.Classes, t.Class)
		if j < 0 {
			continue
		}
		ha[i][j] += t.Hectares
		n[i][j] += t.Count
	}
	return runs, ha, n
}

// ScaleBar picks a round length for a scale bar at most maxPx pixels long on a picture
// of metresPerPixel: its metres, pixels and label.
func ScaleBar(metresPerPixel, maxPx float64) (metres, px float64, label string) {
	if metresPerPixel <= 0 {
		return 0, 0, ""
	}
	limit := metresPerPixel * maxPx
	metres = 1
	for _, step := range []float64{1, 2, 5} {
		for e := 0.0; e < 7; e++ {
			if v := step * math.Pow(10, e); v <= limit && v > metres {
				metres = v
			}
		}
	}
	px = metres / metresPerPixel
	if metres >= 1000 {
		return metres, px, fmt.Sprintf("%g km", metres/1000)
	}
	return metres, px, fmt.Sprintf("%g m", metres)
}

// ClassLabel is a class name for people.
func ClassLabel(c string) string {
	switch c {
	case "vegetation_to_bare":
		return "vegetation to bare soil"
	case "vegetation_to_water":
		return "vegetation to water"
	case "burn_scar":
		return "burn scar"
	}
	return c
}

// ShortClass is the class for a narrow column: what the vegetation became.
func ShortClass(c string) string {
	switch c {
	case "vegetation_to_bare":
		return "bare soil"
	case "vegetation_to_water":
		return "water"
	case "burn_scar":
		return "burn scar"
	}
	return c
}
