// Package stac discovers Sentinel-2 L2A scenes described by STAC Items in the form
// Earth Search v1 publishes them (collection "sentinel-2-l2a", asset keys blue, green,
// red, nir, swir16, swir22, scl).
//
// A Searcher answers a Query with the items that cover an area in a time range. Two
// implement it: Static, over a static catalog (item JSON files below a local folder
// or an s3://bucket/prefix), and API, over a STAC API's Item Search (POST /search,
// following "next" links, with retries). Open picks one from a --catalog value. Both
// decode items with ParseItem, re-check Query.Match locally and end with the same
// selection: drop items missing the required assets (logged), Dedupe (a newer
// sequence replaces an older one only when it covers its footprint), sort by
// datetime then id. Item.Coverage measures how much of an AOI a scene's footprint
// covers, for ranking.
package stac

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paulmach/orb"
)

// CollectionL2A is the Earth Search v1 collection of Sentinel-2 L2A COGs, the collection
// searched when Query.Collections is empty.
const CollectionL2A = "sentinel-2-l2a"

// RequiredAssets are the asset keys every scene must carry to be processed.
var RequiredAssets = []string{"blue", "green", "red", "nir", "swir16", "swir22", "scl"}

// ErrNotItem is wrapped by ParseItem's error when the document is valid JSON but not a
// STAC Item (a collection, a catalog, a FeatureCollection, anything else).
var ErrNotItem = errors.New("not a stac item")

// Item is the part of a STAC Item that scene selection and reading need.
type Item struct {
	ID         string
	Collection string
	Datetime   time.Time  // acquisition time, UTC
	BBox       [4]float64 // west, south, east, north (lon/lat); west > east crosses the antimeridian
	Geometry   orb.Geometry
	Platform   string // lower case, e.g. "sentinel-2a"
	// MGRSTile is the MGRS tile, e.g. "35NPB", without leading zero in the UTM zone
	// ("5CNL"), as in Earth Search ids and bucket keys.
	MGRSTile string
	// Sequence is the "_1" in "S2B_42MUT_20240319_1_L2A": 0 if absent.
	Sequence int
	// ProcessingBaseline is ESA's processing baseline, "05.10"; empty if unknown.
	ProcessingBaseline string
	CloudCover         float64 // eo:cloud_cover in percent; 0 when absent
	EPSG               int     // proj:epsg (or proj:code "EPSG:n"); 0 when absent
	Assets             map[string]Asset
	Href               string // where the item document was read from

	// earthSearchLike records Earth Search style properties (mgrs:*, s2:*, earthsearch:*),
	// used to accept items whose collection field is missing.
	earthSearchLike bool
}

// Asset is one file of an item.
type Asset struct {
	// Href is absolute: a local file path, "s3://bucket/key" or "https://...". Relative
	// hrefs in the document are resolved against the item's own location.
	Href string
}

// offsetStart is the day ESA started processing baseline 04.00, which adds 1000 to the
// L2A digital numbers.
var offsetStart = time.Date(2022, time.January, 25, 0, 0, 0, 0, time.UTC)

// DNOffset returns the digital-number offset to subtract before scaling:
// reflectance = (DN - offset) / 10000. It is 1000 when the processing baseline is 04.00
// or later, else 0; without a (parsable) baseline it is 1000 for acquisitions from
// 25 January 2022 on. earthsearch:boa_offset_applied is deliberately ignored: it is wrong
// on some items.
func (it Item) DNOffset() float64 {
	if major, _, ok := parseBaseline(it.ProcessingBaseline); ok {
		if major >= 4 {
			return 1000
		}
		return 0
	}
	if !it.Datetime.IsZero() && !it.Datetime.Before(offsetStart) {
		return 1000
	}
	return 0
}

// MissingAssets returns the keys (RequiredAssets when none are given) the item lacks, in order.
func (it Item) MissingAssets(keys ...string) []string {
	if len(keys) == 0 {
		keys = RequiredAssets
	}
	var missing []string
	for _, k := range keys {
		if a, ok := it.Assets[k]; !ok || a.Href == "" {
			missing = append(missing, k)
		}
	}
	return missing
}

// Query selects items. The zero value of each field means "no constraint".
type Query struct {
	// Bound is the area of interest, lon/lat. The zero Bound means no spatial filter
	// (or Intersects' bound when Intersects is set).
	Bound orb.Bound
	// Intersects optionally refines Bound: an item matches only if its footprint
	// (geometry, else bbox) intersects it. Polygonal geometries are tested as areas.
	Intersects orb.Geometry
	// Start and End are inclusive: End is the last instant (callers pass end of day).
	Start, End time.Time
	// Collections defaults to []string{CollectionL2A}.
	Collections []string
	// MaxCloudCover keeps items with eo:cloud_cover <= MaxCloudCover; 0 means no filter.
	MaxCloudCover float64
	// Assets are the asset keys an item must carry; nil means RequiredAssets. (Data
	// without a scene classification, such as L1C, is searched without "scl".)
	Assets []string
}

// assets returns the asset keys q requires.
func (q Query) assets() []string {
	if q.Assets == nil {
		return RequiredAssets
	}
	return q.Assets
}

// Searcher finds the scenes matching a query, deduplicated, all carrying
// RequiredAssets, sorted by datetime then id. Searchers are safe for concurrent use.
type Searcher interface {
	Search(ctx context.Context, q Query) ([]Item, error)
}

// ObjectStore is what a static catalog needs from a bucket. Get must return an error
// for which errors.Is(err, fs.ErrNotExist) holds when the key does not exist; any other
// Get or List error fails the search (so that a job retries on storage trouble).
type ObjectStore interface {
	// List returns all keys below prefix.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Validate reports a query that cannot match anything sensible.
func (q Query) Validate() error {
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		return fmt.Errorf("invalid query: end %s before start %s", q.End.Format(time.RFC3339), q.Start.Format(time.RFC3339))
	}
	if q.MaxCloudCover < 0 || q.MaxCloudCover > 100 {
		return fmt.Errorf("invalid query: max cloud cover %g outside 0..100", q.MaxCloudCover)
	}
	if q.Bound != (orb.Bound{}) && (q.Bound.Min.X() > q.Bound.Max.X() || q.Bound.Min.Y() > q.Bound.Max.Y()) {
		return fmt.Errorf("invalid query: bound min %v above max %v", q.Bound.Min, q.Bound.Max)
	}
	return nil
}

// Match reports whether the item satisfies the query's collection, time, cloud and
// spatial constraints. An item with an empty collection is taken as CollectionL2A when
// it has Earth Search style properties.
func (q Query) Match(it Item) bool {
	wanted := q.Collections
	if len(wanted) == 0 {
		wanted = []string{CollectionL2A}
	}
	if !slices.Contains(wanted, it.Collection) &&
		(it.Collection != "" || !it.earthSearchLike || !slices.Contains(wanted, CollectionL2A)) {
		return false
	}
	if !q.Start.IsZero() && it.Datetime.Before(q.Start) {
		return false
	}
	if !q.End.IsZero() && it.Datetime.After(q.End) {
		return false
	}
	if q.MaxCloudCover > 0 && it.CloudCover > q.MaxCloudCover {
		return false
	}
	b := q.Bound
	if b == (orb.Bound{}) && q.Intersects != nil {
		b = q.Intersects.Bound()
	}
	if b != (orb.Bound{}) && !bboxIntersects(it.BBox, b) {
		return false
	}
	if q.Intersects != nil {
		fp := it.Geometry
		if fp == nil {
			fp = bboxGeometry(it.BBox)
		}
		if !intersects(fp, q.Intersects) {
			return false
		}
	}
	return true
}

// Dedupe drops the items superseded by a newer processing of the same acquisition.
// Within a group of items with the same MGRSTile, acquisition day (UTC) and Platform,
// items are ranked by Sequence (the "_1" in S2B_42MUT_20240319_1_L2A), then processing
// baseline, then id, highest first; an item is dropped only when an item kept before
// it covers its footprint (geometry, else bbox): at least 99 % of the footprint's
// planar area, see supersedeCoverage. Otherwise both are kept: Earth Search also uses
// the sequence for a second datastrip of the same tile and day (the real
// S2B_42MUT_20240319_0/_1 pair overlap on only part of their footprints), and these
// are two observations with different valid areas. An exact duplicate (same id
// returned twice) is dropped, the first one kept.
//
// Items with the same id are one item whatever their tile, wherever they were found (the
// same item copied into several folders of a static catalog is one observation): the one
// with the smallest Href is kept. Other items without an MGRS tile are kept as they are.
// The kept items keep their input order.
func Dedupe(items []Item) []Item {
	items = uniqueIDs(items)
	type key struct{ tile, day, platform string }
	groups := make(map[key][]int, len(items))
	for i, it := range items {
		if it.MGRSTile == "" {
			continue
		}
		k := key{it.MGRSTile, it.Datetime.UTC().Format(time.DateOnly), it.Platform}
		groups[k] = append(groups[k], i)
	}
	drop := make([]bool, len(items))
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		slices.SortStableFunc(g, func(i, j int) int {
			switch {
			case supersedes(items[i], items[j]):
				return -1
			case supersedes(items[j], items[i]):
				return 1
			}
			return 0
		})
		kept := g[:0:0]
		for _, i := range g {
			fp := items[i].footprint()
			for _, j := range kept {
				if items[j].Coverage(fp) >= supersedeCoverage {
					drop[i] = true
					break
				}
			}
			if !drop[i] {
				kept = append(kept, i)
			}
		}
	}
	out := make([]Item, 0, len(items))
	for i, it := range items {
		if !drop[i] {
			out = append(out, it)
		}
	}
	return out
}

// supersedes reports whether a ranks above b in Dedupe: higher sequence, then higher
// processing baseline, then greater id.
func supersedes(a, b Item) bool {
	if a.Sequence != b.Sequence {
		return a.Sequence > b.Sequence
	}
	if c := compareBaselines(a.ProcessingBaseline, b.ProcessingBaseline); c != 0 {
		return c > 0
	}
	return a.ID > b.ID
}

// Usable splits items into those having all RequiredAssets and the rest (which the
// caller logs, e.g. with Item.MissingAssets).
func Usable(items []Item, keys ...string) (usable, incomplete []Item) {
	for _, it := range items {
		if len(it.MissingAssets(keys...)) == 0 {
			usable = append(usable, it)
		} else {
			incomplete = append(incomplete, it)
		}
	}
	return usable, incomplete
}

// SortItems sorts items by datetime, then id.
func SortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int {
		if c := a.Datetime.Compare(b.Datetime); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// uniqueIDs keeps one item per id: the one with the smallest Href (so the choice does not
// depend on the order a concurrent scan found them in), at the first position of its id.
func uniqueIDs(items []Item) []Item {
	best := make(map[string]int, len(items))
	for i, it := range items {
		if j, ok := best[it.ID]; !ok || it.Href < items[j].Href {
			best[it.ID] = i
		}
	}
	if len(best) == len(items) {
		return items
	}
	out := make([]Item, 0, len(best))
	seen := make(map[string]bool, len(best))
	for _, it := range items {
		if !seen[it.ID] {
			seen[it.ID] = true
			out = append(out, items[best[it.ID]])
		}
	}
	return out
}
