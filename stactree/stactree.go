// Package stactree builds the STAC tree of published results (docs/contracts.md): a
// catalog at the output root with one child collection per AOI, and in each AOI's folder
// a collection with one item per run, all linked by relative hrefs so that the tree
// resolves wherever it is copied or served (a bucket, a local folder, serve's /stac/).
// The worker writes these documents on every publish and serve builds the same ones on
// the fly for a root that has none yet.
package stactree

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Version is the STAC version of the tree.
const Version = "1.0.0"

// File names of the tree.
const (
	CatalogFile    = "catalog.json"
	CollectionFile = "collection.json"
	ItemFile       = "item.json"
)

// CatalogID is the id of the root catalog.
const CatalogID = "changewatch"

// Media types of the links.
const (
	TypeJSON    = "application/json"
	TypeGeoJSON = "application/geo+json"
)

// Link is a STAC link object.
type Link struct {
	Rel   string `json:"rel"`
	Href  string `json:"href"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// CollectionID is the id of AOI aoiID's collection (and the "collection" of its items).
func CollectionID(aoiID string) string { return "changewatch-" + aoiID }

// Catalog is the root catalog of the AOIs aoiIDs (sorted, once each).
func Catalog(aoiIDs []string) map[string]any {
	ids := slices.Clone(aoiIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	links := []Link{{Rel: "self", Href: "./" + CatalogFile, Type: TypeJSON}, {Rel: "root", Href: "./" + CatalogFile, Type: TypeJSON}}
	for _, id := range ids {
		links = append(links, Link{Rel: "child", Href: "./" + id + "/" + CollectionFile, Type: TypeJSON, Title: id})
	}
	return map[string]any{"type": "Catalog", "stac_version": Version, "id": CatalogID,
		"description": "changewatch results: one collection per AOI, one item per run", "links": links}
}

// Run is what a collection says of one of its items: the run's folder, its footprint and
// its time span.
type Run struct {
	Name       string
	BBox       []float64 // lon/lat: west, south, east, north; nil when unknown
	Start, End time.Time // zero when unknown
}

// ParseRun reads what a collection needs from the item.json of run name.
func ParseRun(name string, item []byte) (Run, error) {
	var it struct {
		BBox       []float64 `json:"bbox"`
		Properties struct {
			Start string `json:"start_datetime"`
			End   string `json:"end_datetime"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(item, &it); err != nil {
		return Run{}, fmt.Errorf("item %s: %w", name, err)
	}
	r := Run{Name: name}
	if len(it.BBox) == 4 {
		r.BBox = it.BBox
	}
	r.Start, _ = time.Parse(time.RFC3339, it.Properties.Start)
	r.End, _ = time.Parse(time.RFC3339, it.Properties.End)
	return r, nil
}

// Collection is AOI aoiID's collection of runs (in name order in its links): its extent
// is the union of the runs' boxes and time spans (the whole world and an open interval
// when none is known).
func Collection(aoiID string, runs []Run) map[string]any {
	runs = slices.Clone(runs)
	slices.SortFunc(runs, func(a, b Run) int { return strings.Compare(a.Name, b.Name) })
	links := []Link{{Rel: "self", Href: "./" + CollectionFile, Type: TypeJSON},
		{Rel: "root", Href: "../" + CatalogFile, Type: TypeJSON},
		{Rel: "parent", Href: "../" + CatalogFile, Type: TypeJSON}}
	bbox := []float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	var start, end time.Time
	for _, r := range runs {
		links = append(links, Link{Rel: "item", Href: "./" + r.Name + "/" + ItemFile, Type: TypeGeoJSON, Title: r.Name})
		if r.BBox != nil {
			bbox = []float64{min(bbox[0], r.BBox[0]), min(bbox[1], r.BBox[1]), max(bbox[2], r.BBox[2]), max(bbox[3], r.BBox[3])}
		}
		if !r.Start.IsZero() && (start.IsZero() || r.Start.Before(start)) {
			start = r.Start
		}
		if !r.End.IsZero() && r.End.After(end) {
			end = r.End
		}
	}
	if math.IsInf(bbox[0], 1) {
		bbox = []float64{-180, -90, 180, 90}
	}
	interval := []any{nil, nil}
	if !start.IsZero() {
		interval[0] = start.UTC().Format(time.RFC3339)
	}
	if !end.IsZero() {
		interval[1] = end.UTC().Format(time.RFC3339)
	}
	return map[string]any{"type": "Collection", "stac_version": Version, "id": CollectionID(aoiID),
		"title": aoiID, "description": "changewatch runs of " + aoiID, "license": "proprietary",
		"extent": map[string]any{"spatial": map[string]any{"bbox": [][]float64{bbox}},
			"temporal": map[string]any{"interval": [][]any{interval}}},
		"links": links}
}

// ItemLinks are the links of a run's item: self, and when the run is in the tree
// (<root>/<aoi>/<run>/) its collection, parent and root; then one derived_from link per
// source scene item (hrefs as the run read them).
func ItemLinks(inTree bool, sources []Link) []Link {
	links := []Link{{Rel: "self", Href: "./" + ItemFile, Type: TypeGeoJSON}}
	if inTree {
		links = append(links,
			Link{Rel: "collection", Href: "../" + CollectionFile, Type: TypeJSON},
			Link{Rel: "parent", Href: "../" + CollectionFile, Type: TypeJSON},
			Link{Rel: "root", Href: "../../" + CatalogFile, Type: TypeJSON})
	}
	for _, s := range sources {
		s.Rel = "derived_from"
		if s.Type == "" {
			s.Type = TypeGeoJSON
		}
		links = append(links, s)
	}
	return links
}

// Runs returns the published runs among keys (paths relative to an AOI's folder: a run
// is published when <run>/manifest.json exists), sorted.
func Runs(keys []string) []string {
	var runs []string
	for _, k := range keys {
		if run, ok := strings.CutSuffix(k, "/manifest.json"); ok && run != "" && !strings.Contains(run, "/") && !strings.HasPrefix(run, ".") {
			runs = append(runs, run)
		}
	}
	slices.Sort(runs)
	return slices.Compact(runs)
}
