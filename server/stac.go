package server

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"github.com/changewatch/changewatch/stactree"
)

// stac serves the STAC tree written into the output root on each publish:
// /stac/catalog.json, /stac/<aoi>/collection.json, /stac/<aoi>/<run>/item.json. The
// links inside are relative, so they resolve under /stac/ as they do in the bucket. For a
// reader, the embargoed runs of a sensitive AOI are left out (its collection is built from
// the runs it may see). When the root has no catalog.json or collection.json yet, they are
// built from the published runs, by the builder the worker writes them with.
func (s *Server) stac(w http.ResponseWriter, r *http.Request) error {
	p := r.PathValue("path")
	parts := strings.Split(p, "/")
	ctx := r.Context()
	switch {
	case p == "catalog.json":
		data, err := s.cfg.Store.Get(ctx, "catalog.json")
		if errors.Is(err, fs.ErrNotExist) {
			return s.builtCatalog(w, r)
		}
		if err != nil {
			return err
		}
		return writeRaw(w, data)
	case len(parts) == 2 && parts[1] == "collection.json":
		id := parts[0]
		if err := checkID("aoi", id); err != nil {
			return err
		}
		data, err := s.cfg.Store.Get(ctx, id+"/collection.json")
		if errors.Is(err, fs.ErrNotExist) {
			return s.builtCollection(w, r, id)
		}
		if err != nil {
			return err
		}
		rec, err := s.loadRecord(ctx, id)
		if err != nil {
			return err
		}
		if cut := s.embargoCutoff(ctx, rec); !cut.IsZero() {
			// The stored collection lists (and its extent covers) every run: build the
			// reader's from the runs it may see.
			return s.builtCollection(w, r, id)
		}
		return writeRaw(w, data)
	case len(parts) == 3 && parts[2] == "item.json":
		r.SetPathValue("id", parts[0])
		r.SetPathValue("run", parts[1])
		v, err := s.runVisible(r)
		if err != nil {
			return err
		}
		data, err := s.cfg.Store.Get(ctx, v.AOIID+"/"+v.Run+"/item.json")
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/geo+json")
		_, err = w.Write(data)
		return err
	}
	return errorf(http.StatusNotFound, "stac: %q: want catalog.json, <aoi>/collection.json or <aoi>/<run>/item.json", p)
}

func writeRaw(w http.ResponseWriter, data []byte) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(data)
	return err
}

// builtCatalog is the catalog of the AOIs with published runs, for a root that has none
// (the one the worker writes, from the same builder).
func (s *Server) builtCatalog(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.aoiIDs(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, stactree.Catalog(ids))
}

// builtCollection is the collection of an AOI's visible runs, for a root that has none
// (the one the worker writes, from the same builder).
func (s *Server) builtCollection(w http.ResponseWriter, r *http.Request, id string) error {
	rec, err := s.loadRecord(r.Context(), id)
	if err != nil {
		return err
	}
	runs, err := s.runs(r.Context(), id)
	if err != nil {
		return err
	}
	runs = s.visibleRuns(r.Context(), rec, runs)
	if len(runs) == 0 && rec == nil {
		return errorf(http.StatusNotFound, "collection %q not found", id)
	}
	items := make([]stactree.Run, len(runs))
	for i, run := range runs {
		items[i] = run.stac
	}
	return writeJSON(w, http.StatusOK, stactree.Collection(id, items))
}
