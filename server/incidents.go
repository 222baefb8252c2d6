package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Incident is one entry of ledger.json (docs/contracts.md, "The monitoring layer").
type Incident struct {
	IncidentID     string             `json:"incident_id"`
	Class          string             `json:"class"`
	Status         string             `json:"status"`
	FirstSeen      string             `json:"first_seen"`
	LastSeen       string             `json:"last_seen"`
	AreaHa         float64            `json:"area_ha"`
	RunsSeen       int                `json:"runs_seen"`
	MaxConfidence  float64            `json:"max_confidence"`
	Runs           []string           `json:"runs"`
	AreaByRun      map[string]float64 `json:"area_by_run"`
	MergedFrom     []string           `json:"merged_from"`
	SplitFrom      string             `json:"split_from"`
	ProtectedArea  string             `json:"protected_area"`
	MineName       string             `json:"mine_name"`
	MineMineral    string             `json:"mine_mineral"`
	MineWorkers    int                `json:"mine_workers"`
	MineVisitDate  string             `json:"mine_visit_date"`
	MineDistanceKm float64            `json:"mine_distance_km"`
	Verdict        *Verdict           `json:"verdict"`
	Geometry       *geojson.Geometry  `json:"geometry"`
}

// Verdict is a reviewer's verdict object (<out>/<aoi>/verdicts/<name>.json).
type Verdict struct {
	IncidentID string `json:"incident_id,omitempty"`
	Verdict    string `json:"verdict"`
	Reason     string `json:"reason"`
	Comment    string `json:"comment"`
	By         string `json:"by"`
	At         string `json:"at"`
}

// Ledger is ledger.json.
type Ledger struct {
	AOIID     string      `json:"aoi_id"`
	Updated   string      `json:"updated"`
	Runs      []string    `json:"runs"`
	Incidents []*Incident `json:"incidents"`
}

// maxLedger bounds the ledger serve reads.
const maxLedger = 256 << 20

// ledger reads AOI id's ledger with the verdicts filed since it was written folded in
// (the latest verdict of an incident, by time then object name, sets its status, as the
// ledger does), so a review shows at once. A missing ledger is an empty one.
func (s *Server) ledger(ctx context.Context, id string) (*Ledger, error) {
	data, err := s.cfg.Store.Get(ctx, id+"/ledger.json")
	if errors.Is(err, fs.ErrNotExist) {
		return &Ledger{AOIID: id}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(data) > maxLedger {
		return nil, fmt.Errorf("ledger %s: %d bytes, more than %d", id, len(data), maxLedger)
	}
	var l Ledger
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", id, err)
	}
	vs, err := s.verdicts(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, inc := range l.Incidents {
		if v, ok := vs[inc.IncidentID]; ok {
			if inc.Verdict == nil || later(v, inc.Verdict) {
				inc.Verdict, inc.Status = v, v.Verdict
			}
		}
	}
	return &l, nil
}

type namedVerdict struct {
	*Verdict
	name string
}

// later reports whether verdict a was filed after b.
func later(a, b *Verdict) bool {
	ta, ea := time.Parse(time.RFC3339Nano, a.At)
	tb, eb := time.Parse(time.RFC3339Nano, b.At)
	if ea != nil || eb != nil {
		return a.At > b.At
	}
	return ta.After(tb)
}

// verdicts returns the latest verdict of each incident of AOI id.
func (s *Server) verdicts(ctx context.Context, id string) (map[string]*Verdict, error) {
	keys, err := s.cfg.Store.List(ctx, id+"/verdicts/")
	if err != nil {
		return nil, err
	}
	sort.Strings(keys) // names start with the time: the later of two equal times is the later name
	latest := map[string]namedVerdict{}
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") {
			continue
		}
		data, err := s.cfg.Store.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		var v Verdict
		if json.Unmarshal(data, &v) != nil || v.IncidentID == "" {
			s.log.Warn("verdict object skipped", "key", k)
			continue
		}
		if cur, ok := latest[v.IncidentID]; !ok || !later(cur.Verdict, &v) {
			latest[v.IncidentID] = namedVerdict{&v, k}
		}
	}
	out := make(map[string]*Verdict, len(latest))
	for id, v := range latest {
		out[id] = v.Verdict
	}
	return out, nil
}

// incidentFilter is the query of an incident listing (OGC API - Features parameters
// bbox, datetime, limit, plus offset, status, class).
type incidentFilter struct {
	bbox          *orb.Bound
	from, to      string // first_seen range, YYYY-MM-DD inclusive; "" open
	status, cls   []string
	limit, offset int
}

const (
	defaultLimit = 100
	maxLimit     = 1000
)

func parseFilter(q url.Values) (incidentFilter, error) {
	f := incidentFilter{limit: defaultLimit}
	if v := q.Get("bbox"); v != "" {
		p := strings.Split(v, ",")
		if len(p) != 4 {
			return f, errorf(http.StatusBadRequest, "bbox: want minlon,minlat,maxlon,maxlat")
		}
		var n [4]float64
		for i, s := range p {
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return f, errorf(http.StatusBadRequest, "bbox: %q is not a number", s)
			}
			n[i] = x
		}
		if n[0] > n[2] || n[1] > n[3] {
			return f, errorf(http.StatusBadRequest, "bbox: min above max")
		}
		f.bbox = &orb.Bound{Min: orb.Point{n[0], n[1]}, Max: orb.Point{n[2], n[3]}}
	}
	if v := q.Get("datetime"); v != "" {
		from, to, interval := strings.Cut(v, "/")
		if !interval {
			to = from
		}
		for _, p := range []*string{&from, &to} {
			if *p == ".." || *p == "" {
				*p = ""
				continue
			}
			t, err := time.Parse(time.RFC3339, *p)
			if err != nil {
				if t, err = time.Parse("2006-01-02", *p); err != nil {
					return f, errorf(http.StatusBadRequest, "datetime: %q: want RFC 3339 dates or an interval a/b (.. open)", *p)
				}
			}
			*p = t.UTC().Format("2006-01-02")
		}
		f.from, f.to = from, to
	}
	if v := q.Get("first_seen_from"); v != "" {
		f.from = v
	}
	if v := q.Get("first_seen_to"); v != "" {
		f.to = v
	}
	for _, p := range []string{f.from, f.to} {
		if _, err := time.Parse("2006-01-02", p); p != "" && err != nil {
			return f, errorf(http.StatusBadRequest, "first_seen: %q: want YYYY-MM-DD", p)
		}
	}
	if v := q.Get("status"); v != "" {
		f.status = strings.Split(v, ",")
	}
	if v := q.Get("class"); v != "" {
		f.cls = strings.Split(v, ",")
	}
	for name, dst := range map[string]*int{"limit": &f.limit, "offset": &f.offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, errorf(http.StatusBadRequest, "%s: want a whole number", name)
			}
			*dst = n
		}
	}
	if f.limit < 1 || f.limit > maxLimit {
		f.limit = min(max(f.limit, 1), maxLimit)
	}
	return f, nil
}

func (f *incidentFilter) match(inc *Incident) bool {
	if f.from != "" && inc.FirstSeen < f.from || f.to != "" && inc.FirstSeen > f.to {
		return false
	}
	if f.status != nil && !slices.Contains(f.status, inc.Status) || f.cls != nil && !slices.Contains(f.cls, inc.Class) {
		return false
	}
	if f.bbox != nil {
		if inc.Geometry == nil || !inc.Geometry.Geometry().Bound().Intersects(*f.bbox) {
			return false
		}
	}
	return true
}

// visibleIncidents applies the embargo: for a reader of a sensitive AOI, incidents first
// seen after the cutoff are left out and the others lose the runs after it.
func (s *Server) visibleIncidents(ctx context.Context, rec *aoiRecord, incs []*Incident) []*Incident {
	cut := s.embargoCutoff(ctx, rec)
	if cut.IsZero() {
		return incs
	}
	day := cut.Format("2006-01-02")
	var out []*Incident
	for _, inc := range incs {
		if inc.FirstSeen >= day {
			continue
		}
		c := *inc
		c.Runs, c.AreaByRun = nil, map[string]float64{}
		for _, r := range inc.Runs {
			if end, ok := runEnd(r); ok && !end.After(cut) {
				c.Runs = append(c.Runs, r)
				if a, ok := inc.AreaByRun[r]; ok {
					c.AreaByRun[r], c.AreaHa = a, a
				}
			}
		}
		c.RunsSeen = len(c.Runs)
		if c.LastSeen >= day {
			c.LastSeen = day
		}
		out = append(out, &c)
	}
	return out
}

// feature is an incident as a GeoJSON feature (its attributes as properties).
func feature(aoiID string, inc *Incident) map[string]any {
	props := map[string]any{}
	data, _ := json.Marshal(inc)
	json.Unmarshal(data, &props)
	delete(props, "geometry")
	props["aoi_id"] = aoiID
	return map[string]any{"type": "Feature", "id": inc.IncidentID, "geometry": inc.Geometry, "properties": props,
		"links": []link{{Href: "/api/v1/collections/" + aoiID + "/items/" + inc.IncidentID, Rel: "self", Type: "application/geo+json"}}}
}

// collectionIncidents returns the AOI's incidents the request may see.
func (s *Server) collectionIncidents(ctx context.Context, id string) ([]*Incident, error) {
	rec, err := s.loadRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	l, err := s.ledger(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.visibleIncidents(ctx, rec, l.Incidents), nil
}

// items answers /collections/{id}/items (one AOI) and /incidents (every AOI, or ?aoi=):
// a GeoJSON FeatureCollection of the matching incidents, paged with next links.
func (s *Server) items(w http.ResponseWriter, r *http.Request) error {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	ids := []string{r.PathValue("id")}
	if ids[0] == "" {
		if a := r.URL.Query().Get("aoi"); a != "" {
			ids = strings.Split(a, ",")
		} else if ids, err = s.aoiIDs(r.Context()); err != nil {
			return err
		}
	}
	type hit struct {
		aoi string
		inc *Incident
	}
	var hits []hit
	for _, id := range ids {
		if err := checkID("aoi", id); err != nil {
			return err
		}
		incs, err := s.collectionIncidents(r.Context(), id)
		if err != nil {
			return err
		}
		for _, inc := range incs {
			if f.match(inc) {
				hits = append(hits, hit{id, inc})
			}
		}
	}
	total := len(hits)
	lo, hi := min(f.offset, total), min(f.offset+f.limit, total)
	feats := make([]map[string]any, 0, hi-lo)
	for _, h := range hits[lo:hi] {
		feats = append(feats, feature(h.aoi, h.inc))
	}
	self := *r.URL
	links := []link{{Href: self.RequestURI(), Rel: "self", Type: "application/geo+json"}}
	if hi < total {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(hi))
		q.Set("limit", strconv.Itoa(f.limit))
		next := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		links = append(links, link{Href: next.RequestURI(), Rel: "next", Type: "application/geo+json"})
	}
	return writeTyped(w, http.StatusOK, "application/geo+json", map[string]any{
		"type": "FeatureCollection", "features": feats, "numberMatched": total, "numberReturned": len(feats),
		"timeStamp": s.cfg.Now().UTC().Format(time.RFC3339), "links": links})
}

func (s *Server) item(w http.ResponseWriter, r *http.Request) error {
	id, iid := r.PathValue("id"), r.PathValue("incident")
	if err := checkID("id", id); err != nil {
		return err
	}
	incs, err := s.collectionIncidents(r.Context(), id)
	if err != nil {
		return err
	}
	for _, inc := range incs {
		if inc.IncidentID == iid {
			return writeTyped(w, http.StatusOK, "application/geo+json", feature(id, inc))
		}
	}
	return errorf(http.StatusNotFound, "incident %q not found in %s", iid, id)
}

// collections lists one OGC API - Features collection of incidents per AOI.
func (s *Server) collections(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.aoiIDs(r.Context())
	if err != nil {
		return err
	}
	cs := []map[string]any{}
	for _, id := range ids {
		cs = append(cs, s.collectionDoc(r.Context(), id))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"collections": cs,
		"links": []link{{Href: "/api/v1/collections", Rel: "self", Type: "application/json"}}})
}

func (s *Server) collectionDoc(ctx context.Context, id string) map[string]any {
	base := "/api/v1/collections/" + id
	doc := map[string]any{"id": id, "title": "incidents of " + id, "itemType": "feature",
		"crs": []string{"http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
		"links": []link{{Href: base, Rel: "self", Type: "application/json"},
			{Href: base + "/items", Rel: "items", Type: "application/geo+json", Title: "incidents"}}}
	if incs, err := s.collectionIncidents(ctx, id); err == nil && len(incs) > 0 {
		var b orb.Bound
		first := true
		for _, inc := range incs {
			if inc.Geometry == nil {
				continue
			}
			gb := inc.Geometry.Geometry().Bound()
			if first {
				b, first = gb, false
			} else {
				b = b.Union(gb)
			}
		}
		if !first {
			doc["extent"] = map[string]any{"spatial": map[string]any{"bbox": [][]float64{{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}}}
		}
	}
	return doc
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		return err
	}
	ids, err := s.aoiIDs(r.Context())
	if err != nil {
		return err
	}
	if !slices.Contains(ids, id) {
		return errorf(http.StatusNotFound, "collection %q not found", id)
	}
	return writeJSON(w, http.StatusOK, s.collectionDoc(r.Context(), id))
}

// landing is the OGC API landing page.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"title": "changewatch", "description": "land-cover change incidents, runs and requests",
		"links": []link{
			{Href: "/api/v1/", Rel: "self", Type: "application/json"},
			{Href: "/api/v1/openapi.json", Rel: "service-desc", Type: "application/vnd.oai.openapi+json;version=3.0"},
			{Href: "/api/v1/conformance", Rel: "conformance", Type: "application/json"},
			{Href: "/api/v1/collections", Rel: "data", Type: "application/json"},
			{Href: "/stac/catalog.json", Rel: "data", Type: "application/json", Title: "STAC catalog"},
		}})
}

func (s *Server) conformance(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"conformsTo": []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	}})
}

// Review reasons a rejection may give.
var rejectReasons = []string{"cloud_or_shadow", "seasonal", "misregistration", "not_mining", "duplicate", "other"}

// review files a staff verdict on an incident: one new object under verdicts/, never
// rewritten (the latest sets the status), plus an audit record.
func (s *Server) review(w http.ResponseWriter, r *http.Request) error {
	id, iid := r.PathValue("id"), r.PathValue("incident")
	if err := checkID("id", id); err != nil {
		return err
	}
	var b struct {
		Verdict string `json:"verdict"`
		Reason  string `json:"reason"`
		Comment string `json:"comment"`
	}
	if err := decodeBody(w, r, 16<<10, &b); err != nil {
		return err
	}
	switch {
	case b.Verdict != "confirmed" && b.Verdict != "rejected":
		return errorf(http.StatusUnprocessableEntity, "verdict: want confirmed or rejected")
	case b.Verdict == "rejected" && !slices.Contains(rejectReasons, b.Reason):
		return errorf(http.StatusUnprocessableEntity, "reason: a rejection needs one of %s", strings.Join(rejectReasons, ", "))
	case b.Verdict == "confirmed" && b.Reason != "" && len(b.Reason) > 200:
		return errorf(http.StatusUnprocessableEntity, "reason: at most 200 characters")
	case len(b.Comment) > 4000:
		return errorf(http.StatusUnprocessableEntity, "comment: at most 4000 characters")
	}
	l, err := s.ledger(r.Context(), id)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(l.Incidents, func(i *Incident) bool { return i.IncidentID == iid }) {
		return errorf(http.StatusNotFound, "incident %q not found in %s", iid, id)
	}
	now := s.cfg.Now().UTC()
	v := Verdict{IncidentID: iid, Verdict: b.Verdict, Reason: b.Reason, Comment: b.Comment,
		By: principal(r.Context()).Name, At: now.Format(time.RFC3339Nano)}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Put(r.Context(), id+"/verdicts/"+objectName(now), data, "application/json"); err != nil {
		return err
	}
	if err := s.audit(r.Context(), "incident.review", id+"/"+iid, v); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}
