package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/watch"
)

// safeID is what serve accepts as an AOI id or a run name: one path segment.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func checkID(field, id string) error {
	if !safeID.MatchString(id) || strings.Contains(id, "..") {
		return errorf(http.StatusUnprocessableEntity, "%s: %q is not a valid id (letters, digits and ._- only, at most 100)", field, id)
	}
	return nil
}

// aoiRecord is an uploaded AOI, kept at <out>/.aois/<id>.json.
type aoiRecord struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	GeoJSON       json.RawMessage `json:"geojson"`
	UploadedBy    string          `json:"uploaded_by,omitempty"`
	UploadedAt    time.Time       `json:"uploaded_at"`
	EmbargoMonths int             `json:"embargo_months"` // sensitive: readers do not see runs or incidents younger than this
}

// AOIView is an AOI as the API shows it.
type AOIView struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	AreaHa        float64           `json:"area_ha,omitempty"`
	BBox          []float64         `json:"bbox,omitempty"`
	Watched       bool              `json:"watched"`
	Sensitive     bool              `json:"sensitive"`
	EmbargoMonths int               `json:"embargo_months"`
	Runs          int               `json:"runs"`
	LatestRun     string            `json:"latest_run,omitempty"`
	Geometry      *geojson.Geometry `json:"geometry,omitempty"`
	Links         []link            `json:"links"`
}

type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

func aoiKey(id string) string { return ".aois/" + id + ".json" }

// loadRecord returns the uploaded AOI id, or nil when it was not uploaded through serve.
func (s *Server) loadRecord(ctx context.Context, id string) (*aoiRecord, error) {
	data, err := s.cfg.Store.Get(ctx, aoiKey(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec aoiRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("aoi record %s: %w", id, err)
	}
	return &rec, nil
}

// aoiIDs returns the ids of every AOI: uploaded ones and those with published results.
func (s *Server) aoiIDs(ctx context.Context) ([]string, error) {
	keys, err := s.cfg.Store.List(ctx, "")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, k := range keys {
		parts := strings.Split(k, "/")
		switch {
		case len(parts) == 2 && parts[0] == ".aois" && strings.HasSuffix(parts[1], ".json"):
			seen[strings.TrimSuffix(parts[1], ".json")] = true
		case len(parts) >= 2 && !strings.HasPrefix(parts[0], ".") &&
			(parts[len(parts)-1] == "manifest.json" && len(parts) == 3 || len(parts) == 2 && parts[1] == "ledger.json"):
			seen[parts[0]] = true
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		if safeID.MatchString(id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// watched returns the AOI ids on the watch list with the key of each one's file.
func (s *Server) watched(ctx context.Context) (map[string]string, error) {
	if s.cfg.Watch.Source == nil {
		return map[string]string{}, nil
	}
	p := &watch.Provider{Watch: s.cfg.Watch, Catalog: s.cfg.Catalog, Output: s.cfg.Output, Logger: s.log}
	entries, err := p.Entries(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch list: %w", err)
	}
	out := map[string]string{}
	for _, e := range entries {
		out[e.AOI.ID] = watchKey(s.cfg.Watch, e.File)
	}
	return out, nil
}

// watchKey turns an entry's file (a path or s3:// URL) back into its key in the list.
func watchKey(l watch.Location, file string) string {
	if rest, ok := strings.CutPrefix(file, "s3://"+l.Bucket+"/"); ok {
		return rest
	}
	rel := strings.TrimPrefix(file, l.Bucket)
	return strings.TrimPrefix(strings.ReplaceAll(rel, "\\", "/"), "/")
}

// aoiView builds the view of AOI id (404 when it is unknown).
func (s *Server) aoiView(ctx context.Context, id string, watched map[string]string, full bool) (*AOIView, error) {
	rec, err := s.loadRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	runs, err := s.runs(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &AOIView{ID: id, Name: id}
	var geom orb.Geometry
	if rec != nil {
		v.Name, v.EmbargoMonths = rec.Name, rec.EmbargoMonths
		if a, err := aoi.Parse(rec.GeoJSON, s.cfg.AOILimits); err == nil {
			geom, v.AreaHa = a.Geometry, a.AreaHa()
		}
	}
	visible := s.visibleRuns(ctx, rec, runs)
	if rec == nil && len(runs) == 0 {
		if _, err := s.cfg.Store.Get(ctx, id+"/ledger.json"); err != nil {
			return nil, errorf(http.StatusNotFound, "aoi %q not found", id)
		}
	}
	if len(visible) > 0 {
		last := visible[0]
		v.LatestRun = last.Run
		if geom == nil && last.geometry != nil {
			geom = last.geometry
			v.Name = last.AOIName
		}
	}
	v.Runs = len(visible)
	v.Sensitive = v.EmbargoMonths > 0
	_, v.Watched = watched[id]
	if geom != nil {
		b := geom.Bound()
		v.BBox = []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		if full {
			v.Geometry = geojson.NewGeometry(geom)
		}
	}
	base := "/api/v1/aois/" + id
	v.Links = []link{{Href: base, Rel: "self", Type: "application/json"},
		{Href: base + "/runs", Rel: "runs", Type: "application/json"},
		{Href: "/api/v1/collections/" + id + "/items", Rel: "items", Type: "application/geo+json", Title: "incidents"}}
	return v, nil
}

func (s *Server) listAOIs(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.aoiIDs(r.Context())
	if err != nil {
		return err
	}
	watched, err := s.watched(r.Context())
	if err != nil {
		return err
	}
	out := []*AOIView{}
	for _, id := range ids {
		v, err := s.aoiView(r.Context(), id, watched, r.URL.Query().Get("geometry") == "true")
		if err != nil {
			var he *httpError
			if errors.As(err, &he) {
				continue
			}
			return err
		}
		out = append(out, v)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"aois": out})
}

func (s *Server) getAOI(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		return err
	}
	watched, err := s.watched(r.Context())
	if err != nil {
		return err
	}
	v, err := s.aoiView(r.Context(), id, watched, true)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// uploadAOI validates a GeoJSON AOI exactly as detect does and keeps it.
func (s *Server) uploadAOI(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	a, err := aoi.Parse(data, s.cfg.AOILimits)
	if err != nil {
		return err
	}
	if err := checkID("properties.id", a.ID); err != nil {
		return err
	}
	months := 0
	if v, ok := a.Properties["embargo_months"]; ok {
		f, ok := v.(float64)
		if !ok || f < 0 || f > 120 || f != float64(int(f)) {
			return errorf(http.StatusUnprocessableEntity, "properties.embargo_months: want a whole number of months from 0 to 120")
		}
		months = int(f)
	}
	rec := aoiRecord{ID: a.ID, Name: a.Name, GeoJSON: data, UploadedBy: principal(r.Context()).Name,
		UploadedAt: s.cfg.Now().UTC(), EmbargoMonths: months}
	if old, err := s.loadRecord(r.Context(), a.ID); err != nil {
		return err
	} else if old != nil && old.EmbargoMonths > months {
		rec.EmbargoMonths = old.EmbargoMonths // an upload never lifts an embargo; PUT .../embargo does
	}
	if err := s.putRecord(r.Context(), &rec); err != nil {
		return err
	}
	if err := s.audit(r.Context(), "aoi.upload", a.ID, map[string]any{"name": a.Name, "area_ha": a.AreaHa(), "embargo_months": rec.EmbargoMonths}); err != nil {
		return err
	}
	watched, err := s.watched(r.Context())
	if err != nil {
		return err
	}
	v, err := s.aoiView(r.Context(), a.ID, watched, true)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/aois/"+a.ID)
	return writeJSON(w, http.StatusCreated, v)
}

func (s *Server) putRecord(ctx context.Context, rec *aoiRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return s.cfg.Store.Put(ctx, aoiKey(rec.ID), data, "application/json")
}

// aoiGeoJSON returns the GeoJSON of AOI id: its upload, else the latest run's item geometry.
func (s *Server) aoiGeoJSON(ctx context.Context, id string) ([]byte, error) {
	rec, err := s.loadRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		return rec.GeoJSON, nil
	}
	runs, err := s.runs(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 || runs[0].geometry == nil {
		return nil, errorf(http.StatusNotFound, "aoi %q not found (upload it first)", id)
	}
	f := geojson.NewFeature(runs[0].geometry)
	f.Properties = geojson.Properties{"id": id, "name": runs[0].AOIName}
	return json.Marshal(f)
}

// setWatch puts AOI id on the monthly watch list (PUT) or takes it off (DELETE): a file
// <id>.geojson in the scheduler's watch list, which stays the one source of truth.
func (s *Server) setWatch(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		return err
	}
	if s.cfg.WatchStore == nil {
		return errorf(http.StatusConflict, "no watch list is configured (serve --watch)")
	}
	ctx := r.Context()
	watched, err := s.watched(ctx)
	if err != nil {
		return err
	}
	on := r.Method == http.MethodPut
	switch {
	case on && watched[id] == "":
		data, err := s.aoiGeoJSON(ctx, id)
		if err != nil {
			return err
		}
		if err := s.cfg.WatchStore.Put(ctx, path.Clean(id+".geojson"), data, "application/geo+json"); err != nil {
			return err
		}
	case !on && watched[id] != "":
		if err := s.cfg.WatchStore.Delete(ctx, watched[id]); err != nil {
			return err
		}
	}
	if err := s.audit(ctx, map[bool]string{true: "watch.add", false: "watch.remove"}[on], id, nil); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": id, "watched": on})
}

// setEmbargo marks AOI id sensitive for N months (0 lifts it).
func (s *Server) setEmbargo(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		return err
	}
	var body struct {
		Months *int `json:"months"`
	}
	if err := decodeBody(w, r, 4096, &body); err != nil {
		return err
	}
	if body.Months == nil || *body.Months < 0 || *body.Months > 120 {
		return errorf(http.StatusUnprocessableEntity, "months: want a whole number from 0 to 120")
	}
	rec, err := s.loadRecord(r.Context(), id)
	if err != nil {
		return err
	}
	if rec == nil {
		data, err := s.aoiGeoJSON(r.Context(), id)
		if err != nil {
			return err
		}
		rec = &aoiRecord{ID: id, Name: id, GeoJSON: data, UploadedBy: principal(r.Context()).Name, UploadedAt: s.cfg.Now().UTC()}
		if a, err := aoi.Parse(data, s.cfg.AOILimits); err == nil {
			rec.Name = a.Name
		}
	}
	rec.EmbargoMonths = *body.Months
	if err := s.putRecord(r.Context(), rec); err != nil {
		return err
	}
	if err := s.audit(r.Context(), "aoi.embargo", id, map[string]int{"months": *body.Months}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"id": id, "embargo_months": rec.EmbargoMonths, "sensitive": rec.EmbargoMonths > 0})
}

// embargoCutoff is the time before which AOI rec's data is visible to p: the zero time
// when everything is (staff, or an AOI that is not sensitive).
func (s *Server) embargoCutoff(ctx context.Context, rec *aoiRecord) time.Time {
	if rec == nil || rec.EmbargoMonths <= 0 || principal(ctx).Staff() {
		return time.Time{}
	}
	return s.cfg.Now().UTC().AddDate(0, -rec.EmbargoMonths, 0)
}
