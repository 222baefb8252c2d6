package server

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/changewatch/changewatch/stactree"
)

// runName is a published run's folder: <YYYY-MM>_<YYYY-MM> of the after period.
var runName = regexp.MustCompile(`^(\d{4})-(\d{2})_(\d{4})-(\d{2})$`)

// RunView is one published run of an AOI.
type RunView struct {
	Run      string             `json:"run"`
	AOIID    string             `json:"aoi_id"`
	AOIName  string             `json:"aoi_name"`
	Before   string             `json:"before"`
	After    string             `json:"after"`
	Created  string             `json:"created,omitempty"`
	Polygons map[string]int     `json:"polygons"`
	Hectares map[string]float64 `json:"hectares"`
	Files    []FileView         `json:"files"`
	Links    []link             `json:"links"`
	end      time.Time          // the after period's end (the embargo compares it)
	geometry orb.Geometry
	stac     stactree.Run // what the AOI's STAC collection says of the run
}

// FileView is one file of a run.
type FileView struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	Href string `json:"href"`
}

// runEnd is the end of the last month of run name (the first instant after it).
func runEnd(name string) (time.Time, bool) {
	m := runName.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01", m[3]+"-"+m[4])
	if err != nil {
		return time.Time{}, false
	}
	return t.AddDate(0, 1, 0), true
}

// runs returns the published runs (those with a manifest) of AOI id, newest first.
func (s *Server) runs(ctx context.Context, id string) ([]*RunView, error) {
	keys, err := s.cfg.Store.List(ctx, id+"/")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, k := range keys {
		parts := strings.Split(k, "/")
		if len(parts) == 3 && parts[2] == "manifest.json" && runName.MatchString(parts[1]) {
			names = append(names, parts[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	out := make([]*RunView, 0, len(names))
	for _, n := range names {
		v, err := s.loadRun(ctx, id, n)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // being republished
			}
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// loadRun reads a run's manifest and item.
func (s *Server) loadRun(ctx context.Context, id, run string) (*RunView, error) {
	base := id + "/" + run + "/"
	mdata, err := s.cfg.Store.Get(ctx, base+"manifest.json")
	if err != nil {
		return nil, err
	}
	var m struct {
		Files []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"files"`
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(mdata, &m); err != nil {
		return nil, errorf(http.StatusBadGateway, "run %s/%s: manifest: %v", id, run, err)
	}
	idata, err := s.cfg.Store.Get(ctx, base+"item.json")
	if err != nil {
		return nil, err
	}
	var item struct {
		Geometry   *geojson.Geometry `json:"geometry"`
		Properties struct {
			Name     string             `json:"changewatch:aoi_name"`
			Before   string             `json:"changewatch:before"`
			After    string             `json:"changewatch:after"`
			Polygons map[string]int     `json:"changewatch:polygons"`
			Hectares map[string]float64 `json:"changewatch:hectares"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(idata, &item); err != nil {
		return nil, errorf(http.StatusBadGateway, "run %s/%s: item.json: %v", id, run, err)
	}
	end, _ := runEnd(run)
	api := "/api/v1/aois/" + id + "/runs/" + run
	v := &RunView{Run: run, AOIID: id, AOIName: item.Properties.Name, Before: item.Properties.Before, After: item.Properties.After,
		Polygons: item.Properties.Polygons, Hectares: item.Properties.Hectares, end: end,
		Links: []link{{Href: api, Rel: "self", Type: "application/json"},
			{Href: "/stac/" + id + "/" + run + "/item.json", Rel: "item", Type: "application/geo+json", Title: "STAC item"}}}
	if !m.Created.IsZero() {
		v.Created = m.Created.UTC().Format(time.RFC3339)
	}
	if v.Polygons == nil {
		v.Polygons = map[string]int{}
	}
	if v.Hectares == nil {
		v.Hectares = map[string]float64{}
	}
	if item.Geometry != nil {
		v.geometry = item.Geometry.Geometry()
	}
	if v.stac, err = stactree.ParseRun(run, idata); err != nil {
		return nil, errorf(http.StatusBadGateway, "run %s/%s: %v", id, run, err)
	}
	v.Files = append(v.Files, FileView{Name: "manifest.json", Size: int64(len(mdata)), Href: api + "/files/manifest.json"})
	for _, f := range m.Files {
		if safeID.MatchString(f.Name) {
			v.Files = append(v.Files, FileView{Name: f.Name, Size: f.Size, Href: api + "/files/" + f.Name})
		}
	}
	return v, nil
}

// visibleRuns leaves out the runs the request's principal may not see (the embargo).
func (s *Server) visibleRuns(ctx context.Context, rec *aoiRecord, runs []*RunView) []*RunView {
	cut := s.embargoCutoff(ctx, rec)
	if cut.IsZero() {
		return runs
	}
	out := make([]*RunView, 0, len(runs))
	for _, r := range runs {
		if !r.end.After(cut) {
			out = append(out, r)
		}
	}
	return out
}

// runVisible returns the run of the request or an error (404 for unknown or embargoed runs).
func (s *Server) runVisible(r *http.Request) (*RunView, error) {
	id, run := r.PathValue("id"), r.PathValue("run")
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	if !runName.MatchString(run) {
		return nil, errorf(http.StatusNotFound, "run %q: want YYYY-MM_YYYY-MM", run)
	}
	rec, err := s.loadRecord(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v, err := s.loadRun(r.Context(), id, run)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(http.StatusNotFound, "run %s of %s not found", run, id)
	}
	if err != nil {
		return nil, err
	}
	if len(s.visibleRuns(r.Context(), rec, []*RunView{v})) == 0 {
		return nil, errorf(http.StatusNotFound, "run %s of %s not found", run, id)
	}
	return v, nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		return err
	}
	rec, err := s.loadRecord(r.Context(), id)
	if err != nil {
		return err
	}
	runs, err := s.runs(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"aoi_id": id, "runs": s.visibleRuns(r.Context(), rec, runs)})
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	v, err := s.runVisible(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// getFile answers a download: a presigned URL of the object store (a redirect, or JSON
// with ?redirect=false), or the file with range support from a local folder.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	v, err := s.runVisible(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if !slices.ContainsFunc(v.Files, func(f FileView) bool { return f.Name == name }) {
		return errorf(http.StatusNotFound, "file %q is not in run %s", name, v.Run)
	}
	key := path.Join(v.AOIID, v.Run, name)
	s.m.downloads.WithLabelValues(path.Ext(name)).Inc()
	return s.serveKey(w, r, key)
}

func (s *Server) serveKey(w http.ResponseWriter, r *http.Request, key string) error {
	if st, ok := s.cfg.Store.(*S3Store); ok && r.URL.Query().Get("redirect") == "false" {
		u, err := st.Client.PresignGet(r.Context(), st.Bucket, st.key(key), PresignExpiry)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"url": u, "expires_in_s": int(PresignExpiry.Seconds())})
	}
	return s.cfg.Store.ServeFile(w, r, key)
}

// ledgerFiles are an AOI's ledger exports that can be downloaded.
var ledgerFiles = []string{"incidents.fgb", "incidents.gpkg", "incidents.geojson", "incidents.qml", "incident_history.csv"}

// getAOIFile downloads one of an AOI's ledger exports; for readers of a sensitive AOI it
// is refused (the files hold every incident, embargoed ones too).
func (s *Server) getAOIFile(w http.ResponseWriter, r *http.Request) error {
	id, name := r.PathValue("id"), r.PathValue("name")
	if err := checkID("id", id); err != nil {
		return err
	}
	if !slices.Contains(ledgerFiles, name) {
		return errorf(http.StatusNotFound, "file %q: want one of %s", name, strings.Join(ledgerFiles, ", "))
	}
	rec, err := s.loadRecord(r.Context(), id)
	if err != nil {
		return err
	}
	if !s.embargoCutoff(r.Context(), rec).IsZero() {
		return errorf(http.StatusForbidden, "aoi %s is under embargo: its incident files are for staff", id)
	}
	return s.serveKey(w, r, path.Join(id, name))
}
