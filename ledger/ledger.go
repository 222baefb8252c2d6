// Package ledger follows change across an AOI's published runs: an incident is a change
// region that keeps its id from one run to the next. The ledger is a pure function of the
// runs, taken in time order, and of reviewers' verdicts (Build): replaying them gives the
// same ledger, byte for byte. It is pure Go (no GDAL); the worker writes the ledger's
// vector files.
//
// Matching is by overlap with the previous state, not by the runs' periods: each polygon
// of a new run goes to the incident of its class whose footprint it overlaps most (or,
// overlapping none, that it touches: within MatchGap). An
// incident overlapped by polygons that all went to others is merged into the one that took
// them (merged_from / merged_into); the polygons an incident takes form its new footprint,
// and groups of them farther than SplitGap from the main group split off as new incidents
// (split_from).
package ledger

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Statuses of an incident.
const (
	StatusNew       = "new"       // first seen in the latest run
	StatusGrowing   = "growing"   // seen again in the latest run, larger than before
	StatusActive    = "active"    // seen again in the latest run (or the latest run saw too little to tell)
	StatusQuiet     = "quiet"     // not seen in the latest run, not reverted
	StatusConfirmed = "confirmed" // a reviewer confirmed it
	StatusRejected  = "rejected"  // a reviewer rejected it
)

// Polygon is one change polygon of a published run.
type Polygon struct {
	ID         string
	Class      string
	AreaHa     float64
	Confidence float64
	Geometry   orb.MultiPolygon // EPSG:4326, lon/lat
	// FirstObs and LastObs are the dates of the first and last clear after-period
	// observations inside the polygon.
	FirstObs, LastObs time.Time
}

// Run is one published run of the AOI.
type Run struct {
	Name string // "<YYYY-MM>_<YYYY-MM>" of the after period; runs sort by name in time order
	// Published is when the run was published (its manifest's time); the ledger's
	// "updated" is the latest of these and of the verdicts' times.
	Published time.Time
	// Insufficient says the run saw too little of the AOI clear to tell "not seen" from
	// "not observed": incidents it does not see keep their standing instead of turning quiet.
	Insufficient bool
	Polygons     []Polygon
}

// Verdict is one reviewer's decision on an incident (one object under
// <out>/<aoi>/verdicts/). The latest of an incident, by At then Name, sets its status.
type Verdict struct {
	IncidentID string    `json:"incident_id"`
	Verdict    string    `json:"verdict"` // "confirmed" or "rejected"
	Reason     string    `json:"reason"`
	Comment    string    `json:"comment"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	Name       string    `json:"-"` // the verdict object's name, the tie-breaker
}

// Incident is one change region followed across runs.
type Incident struct {
	ID            string             `json:"incident_id"`
	Class         string             `json:"class"`
	Status        string             `json:"status"`
	FirstSeen     string             `json:"first_seen"` // YYYY-MM-DD: first clear observation that showed it
	LastSeen      string             `json:"last_seen"`  // YYYY-MM-DD: last clear observation that showed it
	AreaHa        float64            `json:"area_ha"`    // at its last detection
	RunsSeen      int                `json:"runs_seen"`
	MaxConfidence float64            `json:"max_confidence"`
	Runs          []string           `json:"runs"`
	AreaByRun     map[string]float64 `json:"area_by_run"`
	MergedFrom    []string           `json:"merged_from"`
	SplitFrom     string             `json:"split_from"`
	// MergedInto is set on an incident absorbed by another: it is kept for its history
	// and no longer matched.
	MergedInto     string   `json:"merged_into"`
	ProtectedArea  string   `json:"protected_area"`
	MineName       string   `json:"mine_name"`
	MineMineral    string   `json:"mine_mineral"`
	MineWorkers    int      `json:"mine_workers"`
	MineVisitDate  string   `json:"mine_visit_date"`
	MineDistanceKm float64  `json:"mine_distance_km"`
	Verdict        *Verdict `json:"verdict"`
	// Geometry is the footprint at the last detection.
	Geometry orb.MultiPolygon `json:"-"`
}

// Event is one line of an incident's history: its state after one run.
type Event struct {
	IncidentID string
	Run        string
	ObsDate    string  // last clear observation showing it in this run; "" when not seen
	AreaHa     float64 // 0 when not seen
	Confidence float64 // 0 when not seen
	Status     string
	Note       string // "split from X", "merged from X Y", "merged into X", "not observed"
}

// Ledger is the state of an AOI's incidents after its runs.
type Ledger struct {
	AOIID     string
	Updated   time.Time
	Runs      []string
	Incidents []*Incident // sorted by id
	History   []Event     // by run, then incident id
}

// Params tune matching. The zero value means the defaults.
type Params struct {
	// MatchGap: a polygon within this distance (metres) of an incident's footprint matches
	// it even without overlapping it (change growing out of a scar's edge).
	MatchGap float64
	// SplitGap: polygons taken by one incident farther apart than this (metres) split it.
	SplitGap float64
	// GrowthFrac and GrowthMinHa: an incident is growing when its area rose by more than
	// this fraction and by at least this many hectares since its previous detection.
	GrowthFrac  float64
	GrowthMinHa float64
}

// Defaults of Params.
const (
	DefaultMatchGap    = 15
	DefaultSplitGap    = 100
	DefaultGrowthFrac  = 0.1
	DefaultGrowthMinHa = 0.1
)

func (p Params) withDefaults() Params {
	p.MatchGap = cmp.Or(p.MatchGap, DefaultMatchGap)
	p.SplitGap = cmp.Or(p.SplitGap, DefaultSplitGap)
	p.GrowthFrac = cmp.Or(p.GrowthFrac, DefaultGrowthFrac)
	p.GrowthMinHa = cmp.Or(p.GrowthMinHa, DefaultGrowthMinHa)
	return p
}

// state is an incident while the runs are replayed.
type state struct {
	*Incident
	bound    orb.Bound
	lastConf float64 // confidence at the last detection
	seen     bool    // detected in the run being applied
}

// Build replays runs (sorted by name here) and verdicts into the AOI's ledger. It is
// deterministic: the same runs and verdicts give the same ledger whatever their order.
func Build(aoiID string, runs []Run, verdicts []Verdict, params Params) *Ledger {
	params = params.withDefaults()
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b Run) int { return cmp.Compare(a.Name, b.Name) })
	b := &builder{aoi: aoiID, params: params}
	l := &Ledger{AOIID: aoiID}
	for _, r := range runs {
		l.Runs = append(l.Runs, r.Name)
		if r.Published.After(l.Updated) {
			l.Updated = r.Published
		}
		b.apply(r)
	}
	for _, v := range latestVerdicts(verdicts) {
		if v.At.After(l.Updated) {
			l.Updated = v.At
		}
		if st := b.byID[v.IncidentID]; st != nil {
			vv := v
			st.Verdict = &vv
			st.Status = v.Verdict
		}
	}
	for _, st := range b.all {
		l.Incidents = append(l.Incidents, st.Incident)
	}
	sort.Slice(l.Incidents, func(i, j int) bool { return l.Incidents[i].ID < l.Incidents[j].ID })
	l.History = b.history
	l.Updated = l.Updated.UTC().Truncate(time.Second)
	return l
}

// latestVerdicts keeps the latest valid verdict of each incident (by At, then Name).
func latestVerdicts(vs []Verdict) []Verdict {
	latest := map[string]Verdict{}
	for _, v := range vs {
		if v.Verdict != StatusConfirmed && v.Verdict != StatusRejected {
			continue
		}
		cur, ok := latest[v.IncidentID]
		if !ok || v.At.After(cur.At) || (v.At.Equal(cur.At) && v.Name > cur.Name) {
			latest[v.IncidentID] = v
		}
	}
	out := make([]Verdict, 0, len(latest))
	for _, v := range latest {
		v.At = v.At.UTC()
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IncidentID < out[j].IncidentID })
	return out
}

type builder struct {
	aoi     string
	params  Params
	all     []*state // in creation order
	byID    map[string]*state
	history []Event
}

// adjacent is the overlap measure of footprints that only touch (or nearly): below any
// real overlap (a scan line of 1e-5 degrees by a sliver of 1e-7 degrees is 1e-12).
const adjacent = 1e-20

// candidate is a polygon's overlap with an incident.
type candidate struct {
	inc     *state
	overlap float64
}

// apply folds one run into the state.
func (b *builder) apply(r Run) {
	if b.byID == nil {
		b.byID = map[string]*state{}
	}
	polys := slices.Clone(r.Polygons)
	slices.SortFunc(polys, func(a, c Polygon) int { return cmp.Compare(a.ID, c.ID) })
	bounds := make([]orb.Bound, len(polys))
	for i := range polys {
		bounds[i] = boundOf(polys[i].Geometry)
	}
	live := make([]*state, 0, len(b.all))
	for _, st := range b.all {
		st.seen = false
		if st.MergedInto == "" {
			live = append(live, st)
		}
	}
	// Every polygon goes to the incident of its class it overlaps most (older first on ties).
	owner := make([]*state, len(polys))
	cands := make([][]candidate, len(polys))
	for i, p := range polys {
		for _, st := range live {
			if st.Class != p.Class {
				continue
			}
			ov := overlap(p.Geometry, st.Geometry, bounds[i], st.bound)
			if ov == 0 && gapMetres(p.Geometry, st.Geometry, bounds[i], st.bound, b.params.MatchGap) <= b.params.MatchGap {
				ov = adjacent // touching or nearly: the same place, ranked below any real overlap
			}
			if ov > 0 {
				cands[i] = append(cands[i], candidate{st, ov})
			}
		}
		for _, c := range cands[i] {
			if owner[i] == nil || c.overlap > bestOverlap(cands[i], owner[i]) {
				owner[i] = c.inc
			}
		}
	}
	taken := map[*state][]int{}
	for i, o := range owner {
		if o != nil {
			taken[o] = append(taken[o], i)
		}
	}
	// Incidents overlapped only by polygons that went elsewhere merge into the owner of
	// the polygon they overlap most.
	mergedInto := map[*state]*state{}
	for _, st := range live {
		if len(taken[st]) > 0 {
			continue
		}
		var into *state
		best := 0.0
		for i := range polys {
			for _, c := range cands[i] {
				if c.inc == st && c.overlap > best {
					into, best = owner[i], c.overlap
				}
			}
		}
		if into != nil {
			mergedInto[st] = into
		}
	}
	notes := map[*state]string{}
	var created []*state
	// Incidents that took polygons continue, split if their polygons fall apart.
	for _, st := range live {
		idx := taken[st]
		if len(idx) == 0 {
			continue
		}
		groups := b.groups(polys, bounds, idx, st)
		b.continueWith(st, r, polys, groups[0])
		for _, g := range groups[1:] {
			child := b.create(r, polys, g, st.FirstSeen)
			child.SplitFrom = st.ID
			child.Status = StatusActive
			notes[child] = "split from " + st.ID
			created = append(created, child)
		}
	}
	absorbed := map[*state][]string{}
	for st, into := range mergedInto {
		st.MergedInto = into.ID
		st.Status = StatusQuiet
		notes[st] = "merged into " + into.ID
		absorbed[into] = append(absorbed[into], st.ID)
	}
	for into, ids := range absorbed {
		slices.Sort(ids)
		into.MergedFrom = append(into.MergedFrom, ids...)
		slices.Sort(into.MergedFrom)
		into.MergedFrom = slices.Compact(into.MergedFrom)
		notes[into] = "merged from " + strings.Join(ids, " ")
	}
	// Polygons no incident claimed are new incidents.
	for i, o := range owner {
		if o == nil {
			st := b.create(r, polys, []int{i}, "")
			st.Status = StatusNew
			created = append(created, st)
		}
	}
	for _, st := range live {
		if st.seen || st.MergedInto != "" {
			continue
		}
		switch {
		case !r.Insufficient:
			st.Status = StatusQuiet
		case st.Status != StatusQuiet:
			st.Status = StatusActive
			notes[st] = "not observed"
		}
	}
	// History: the state of every incident of this run (merged ones once, when absorbed).
	var events []Event
	for _, st := range append(live, created...) {
		if st.MergedInto != "" && mergedInto[st] == nil {
			continue
		}
		ev := Event{IncidentID: st.ID, Run: r.Name, Status: st.Status, Note: notes[st]}
		if st.seen {
			ev.ObsDate, ev.AreaHa, ev.Confidence = st.LastSeen, st.AreaByRun[r.Name], st.lastConf
		}
		events = append(events, ev)
	}
	sort.Slice(events, func(i, j int) bool { return events[i].IncidentID < events[j].IncidentID })
	b.history = append(b.history, events...)
}

func bestOverlap(cs []candidate, st *state) float64 {
	for _, c := range cs {
		if c.inc == st {
			return c.overlap
		}
	}
	return 0
}

// groups clusters the polygons idx taken by st: polygons within SplitGap of each other
// are one group. The group holding the polygon of largest overlap with st comes first;
// the others by their first polygon.
func (b *builder) groups(polys []Polygon, bounds []orb.Bound, idx []int, st *state) [][]int {
	n := len(idx)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			a, c := idx[i], idx[j]
			if find(i) != find(j) && gapMetres(polys[a].Geometry, polys[c].Geometry, bounds[a], bounds[c], b.params.SplitGap) <= b.params.SplitGap {
				parent[find(j)] = find(i)
			}
		}
	}
	main, best := 0, -1.0
	for k, i := range idx {
		if ov := overlap(polys[i].Geometry, st.Geometry, bounds[i], st.bound); ov > best {
			main, best = k, ov
		}
	}
	byRoot := map[int][]int{}
	var roots []int
	for k, i := range idx {
		r := find(k)
		if _, ok := byRoot[r]; !ok {
			roots = append(roots, r)
		}
		byRoot[r] = append(byRoot[r], i)
	}
	out := [][]int{byRoot[find(main)]}
	for _, r := range roots {
		if r != find(main) {
			out = append(out, byRoot[r])
		}
	}
	return out
}

// footprint joins polygons idx into one footprint and its totals.
func footprint(polys []Polygon, idx []int) (mp orb.MultiPolygon, areaHa, conf float64, first, last time.Time) {
	for _, i := range idx {
		p := polys[i]
		mp = append(mp, p.Geometry...)
		areaHa += p.AreaHa
		conf = max(conf, p.Confidence)
		if first.IsZero() || (!p.FirstObs.IsZero() && p.FirstObs.Before(first)) {
			first = p.FirstObs
		}
		if p.LastObs.After(last) {
			last = p.LastObs
		}
	}
	return mp, round4(areaHa), conf, first, last
}

func (b *builder) continueWith(st *state, r Run, polys []Polygon, idx []int) {
	mp, area, conf, _, last := footprint(polys, idx)
	prev := st.AreaHa
	st.Geometry, st.bound, st.AreaHa, st.seen = mp, boundOf(mp), area, true
	st.lastConf = conf
	st.MaxConfidence = max(st.MaxConfidence, conf)
	st.RunsSeen++
	st.Runs = append(st.Runs, r.Name)
	st.AreaByRun[r.Name] = area
	if d := dateOf(last); d > st.LastSeen {
		st.LastSeen = d
	}
	if area > prev*(1+b.params.GrowthFrac) && area-prev >= b.params.GrowthMinHa {
		st.Status = StatusGrowing
	} else {
		st.Status = StatusActive
	}
}

// create starts an incident from polygons idx of run r. Its id is derived from the AOI,
// the run and its first polygon's id (itself derived from place, class and periods), so
// a replay gives the same ids.
func (b *builder) create(r Run, polys []Polygon, idx []int, firstSeen string) *state {
	mp, area, conf, first, last := footprint(polys, idx)
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s", b.aoi, r.Name, polys[idx[0]].ID))
	id := "inc-" + b.aoi + "-" + hex.EncodeToString(h[:4])
	for n := 5; b.byID[id] != nil; n++ { // a clash of 32-bit prefixes: a longer one
		id = "inc-" + b.aoi + "-" + hex.EncodeToString(h[:n])
	}
	inc := &Incident{
		ID: id, Class: polys[idx[0]].Class,
		FirstSeen: cmp.Or(firstSeen, dateOf(first)), LastSeen: dateOf(last),
		AreaHa: area, RunsSeen: 1, MaxConfidence: conf, Runs: []string{r.Name},
		AreaByRun: map[string]float64{r.Name: area}, MergedFrom: []string{}, Geometry: mp,
	}
	st := &state{Incident: inc, bound: boundOf(mp), seen: true, lastConf: conf}
	b.all = append(b.all, st)
	b.byID[inc.ID] = st
	return st
}

func dateOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// Place is where an incident lies: the protected area holding it and the nearest mining
// site (package places answers it from the bundled or configured layers).
type Place struct {
	ProtectedArea  string
	MineName       string
	MineMineral    string
	MineWorkers    int
	MineVisitDate  string  // YYYY-MM-DD of the site's last visit
	MineDistanceKm float64 // geodesic, from the footprint (0 when the site is inside it)
}

// Locator places a footprint (EPSG:4326).
type Locator interface {
	Locate(footprint orb.MultiPolygon) Place
}

// Locate sets every incident's place from loc. Like Build it is deterministic, so the
// ledger stays a function of its runs, its verdicts and the context layers.
func (l *Ledger) Locate(loc Locator) {
	for _, inc := range l.Incidents {
		p := loc.Locate(inc.Geometry)
		inc.ProtectedArea, inc.MineName, inc.MineMineral = p.ProtectedArea, p.MineName, p.MineMineral
		inc.MineWorkers, inc.MineVisitDate = p.MineWorkers, p.MineVisitDate
		inc.MineDistanceKm = math.Round(p.MineDistanceKm*1000) / 1000
	}
}
