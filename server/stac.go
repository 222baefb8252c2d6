package server

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strings"
)

// stac serves the STAC tree written into the output root on each publish:
// /stac/catalog.json, /stac/<aoi>/collection.json, /stac/<aoi>/<run>/item.json. The
// links inside are relative, so they resolve under /stac/ as they do in the bucket. For a
// reader, the embargoed runs of a sensitive AOI are left out. When the root has no
// catalog.json yet, one is built from the AOIs with published runs.
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
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				return err
			}
			links, _ := doc["links"].([]any)
			kept := links[:0]
			for _, l := range links {
				m, _ := l.(map[string]any)
				href, _ := m["href"].(string)
				if m["rel"] == "item" {
					seg := strings.Split(strings.TrimPrefix(href, "./"), "/")
					if end, ok := runEnd(seg[0]); !ok || end.After(cut) {
						continue
					}
				}
				kept = append(kept, l)
			}
			doc["links"] = kept
			return writeTyped(w, http.StatusOK, "application/json", doc)
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

// builtCatalog is the catalog of the AOIs with published runs, for a root that has none.
func (s *Server) builtCatalog(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.aoiIDs(r.Context())
	if err != nil {
		return err
	}
	links := []map[string]string{{"rel": "self", "href": "./catalog.json", "type": "application/json"},
		{"rel": "root", "href": "./catalog.json", "type": "application/json"}}
	for _, id := range ids {
		links = append(links, map[string]string{"rel": "child", "href": "./" + id + "/collection.json", "type": "application/json", "title": id})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"type": "Catalog", "stac_version": "1.0.0", "id": "changewatch",
		"description": "changewatch results: one collection per AOI, one item per run", "links": links})
}

// builtCollection is the collection of an AOI's visible runs, for a root that has none.
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
	links := []map[string]string{{"rel": "self", "href": "./collection.json", "type": "application/json"},
		{"rel": "root", "href": "../catalog.json", "type": "application/json"},
		{"rel": "parent", "href": "../catalog.json", "type": "application/json"}}
	bbox := []float64{-180, -90, 180, 90}
	for i, run := range runs {
		links = append(links, map[string]string{"rel": "item", "href": "./" + run.Run + "/item.json", "type": "application/geo+json"})
		if i == 0 && run.geometry != nil {
			b := run.geometry.Bound()
			bbox = []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"type": "Collection", "stac_version": "1.0.0", "id": "changewatch-" + id,
		"description": "changewatch runs of " + id, "license": "proprietary",
		"extent": map[string]any{"spatial": map[string]any{"bbox": [][]float64{bbox}}, "temporal": map[string]any{"interval": [][]any{{nil, nil}}}},
		"links":  links})
}
