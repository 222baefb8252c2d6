package stac

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/changewatch/changewatch/internal/testenv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// sharedData is where the real Earth Search documents live (see internal/testenv);
// a missing folder fails the test.
func sharedData(t *testing.T) string {
	t.Helper()
	return testenv.SharedData(t)
}

const (
	v1Items  = "stac/earth-search-v1/items"
	cogsItem = "sentinel2/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A/S2A_29RKH_20200219_0_L2A.json"
)

func readShared(t *testing.T, rel string) ([]byte, string) {
	t.Helper()
	p := filepath.Join(sharedData(t), rel)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data, p
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestParseItemReal(t *testing.T) {
	tests := []struct {
		file       string
		id         string
		collection string
		datetime   string
		platform   string
		tile       string
		seq        int
		baseline   string
		epsg       int
		cloud      float64
		offset     float64
		usable     bool
	}{
		{v1Items + "/S2A_30XWN_20240318_0_L2A.json", "S2A_30XWN_20240318_0_L2A", "sentinel-2-l2a", "2024-03-18T13:29:29.38Z", "sentinel-2a", "30XWN", 0, "05.10", 32630, 50.25726, 1000, true},
		{v1Items + "/S2A_T30XWN_20240318T132853_L2A.c1.json", "S2A_T30XWN_20240318T132853_L2A", "sentinel-2-c1-l2a", "2024-03-18T13:29:29.38Z", "sentinel-2a", "30XWN", 0, "05.10", 32630, 50.25726, 1000, true},
		{v1Items + "/S2B_23KNT_20240318_0_L2A.json", "S2B_23KNT_20240318_0_L2A", "sentinel-2-l2a", "2024-03-18T13:07:57.388Z", "sentinel-2b", "23KNT", 0, "05.10", 32723, 34.341976, 1000, true},
		{v1Items + "/S2B_42MUT_20240319_0_L2A.json", "S2B_42MUT_20240319_0_L2A", "sentinel-2-l2a", "2024-03-19T05:51:05.524Z", "sentinel-2b", "42MUT", 0, "05.10", 32742, 3.13958, 1000, true},
		{v1Items + "/S2B_42MUT_20240319_1_L2A.json", "S2B_42MUT_20240319_1_L2A", "sentinel-2-l2a", "2024-03-19T05:50:58.661Z", "sentinel-2b", "42MUT", 1, "05.10", 32742, 4.832827, 1000, true},
		{cogsItem, "S2A_29RKH_20200219_0_L2A", "sentinel-2-l2a", "2020-02-19T11:34:25.405Z", "sentinel-2a", "29RKH", 0, "02.14", 32629, 4.051854, 0, true},
		// Earth Search v0, parsed best effort (baseline from sentinel:product_id).
		{"stac/earth-search-v0/S2A_29RKH_20200219_0_L2A.v0.json", "S2A_29RKH_20200219_0_L2A", "sentinel-s2-l2a-cogs", "2020-02-19T11:34:25Z", "sentinel-2a", "29RKH", 0, "02.14", 32629, 1.8, 0, false},
		{"stac/earth-search-v0/S2A_31NBJ_20190524_0_L2A.v0.json", "S2A_31NBJ_20190524_0_L2A", "sentinel-s2-l2a-cogs", "2019-05-24T10:28:59Z", "sentinel-2a", "31NBJ", 0, "02.12", 32631, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+filepath.Base(tt.file), func(t *testing.T) {
			data, p := readShared(t, tt.file)
			it, err := ParseItem(data, p)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprint(it.ID, it.Collection, it.Platform, it.MGRSTile, it.Sequence, it.ProcessingBaseline, it.EPSG, it.CloudCover, it.DNOffset())
			want := fmt.Sprint(tt.id, tt.collection, tt.platform, tt.tile, tt.seq, tt.baseline, tt.epsg, tt.cloud, tt.offset)
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if !it.Datetime.Equal(mustTime(t, tt.datetime)) || it.Datetime.Location() != time.UTC {
				t.Errorf("datetime %v, want %s UTC", it.Datetime, tt.datetime)
			}
			if it.Href != p {
				t.Errorf("href %q, want %q", it.Href, p)
			}
			if _, ok := it.Geometry.(orb.Polygon); !ok {
				t.Errorf("geometry %T, want orb.Polygon", it.Geometry)
			}
			b := it.Geometry.Bound()
			if b.Min.X() < it.BBox[0]-1e-6 || b.Max.Y() > it.BBox[3]+1e-6 {
				t.Errorf("geometry bound %v outside bbox %v", b, it.BBox)
			}
			if missing := it.MissingAssets(); (len(missing) == 0) != tt.usable {
				t.Errorf("missing assets %v, usable want %v", missing, tt.usable)
			}
			if tt.usable {
				red := it.Assets["red"].Href
				if !strings.HasPrefix(red, "https://") || !strings.HasSuffix(red, "/B04.tif") {
					t.Errorf("red href %q, want the https COG kept as is", red)
				}
			}
		})
	}
}

func TestParseItemHarvestedS3Href(t *testing.T) {
	// The harvested documents collapsed "s3://" to "s3:/"; ParseItem repairs it.
	data, p := readShared(t, v1Items+"/S2B_23KNT_20240318_0_L2A.json")
	it, err := ParseItem(data, p)
	if err != nil {
		t.Fatal(err)
	}
	want := "s3://sentinel-s2-l2a/tiles/23/K/NT/2024/3/18/0/B04.jp2"
	if got := it.Assets["red-jp2"].Href; got != want {
		t.Errorf("red-jp2 href %q, want %q", got, want)
	}
}

func TestParseItemNotItem(t *testing.T) {
	collection, _ := readShared(t, "stac/earth-search-v1/collection_sentinel-2-l2a.json")
	payload, _ := readShared(t, "stac/earth-search-v1/stac-task_sentinel2-l2a-j2k-payload.json")
	tests := []struct {
		name    string
		data    string
		notItem bool // else: a malformed item
	}{
		{"collection", string(collection), true},
		{"feature collection", string(payload), true},
		{"object", `{"hello": "world"}`, true},
		{"array", `[1, 2, 3]`, true},
		{"null", `null`, true},
		{"type not a string", `{"type": 5}`, true},
		{"catalog", `{"type": "Catalog", "stac_version": "1.0.0", "id": "c", "links": []}`, true},
		{"plain geojson feature", `{"type": "Feature", "geometry": null, "properties": {}}`, true},
		{"truncated", `{"type": "Feature", "stac_version": "1.0.0", "id": "x"`, false},
		{"no datetime", `{"type": "Feature", "stac_version": "1.0.0", "id": "x", "bbox": [0,0,1,1], "geometry": null, "properties": {}, "assets": {}}`, false},
		{"bad datetime", `{"type": "Feature", "stac_version": "1.0.0", "id": "x", "bbox": [0,0,1,1], "geometry": null, "properties": {"datetime": "yesterday"}, "assets": {}}`, false},
		{"no footprint", `{"type": "Feature", "stac_version": "1.0.0", "id": "x", "geometry": null, "properties": {"datetime": "2024-01-01T00:00:00Z"}, "assets": {}}`, false},
		{"bad geometry", `{"type": "Feature", "stac_version": "1.0.0", "id": "x", "geometry": {"type": "Blob"}, "properties": {"datetime": "2024-01-01T00:00:00Z"}, "assets": {}}`, false},
		{"no id", `{"type": "Feature", "stac_version": "1.0.0", "bbox": [0,0,1,1], "properties": {"datetime": "2024-01-01T00:00:00Z"}, "assets": {}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseItem([]byte(tt.data), "mem.json")
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNotItem) != tt.notItem {
				t.Errorf("error %v: errors.Is(ErrNotItem) = %v, want %v", err, !tt.notItem, tt.notItem)
			}
			if !strings.HasPrefix(err.Error(), "parse item mem.json: ") {
				t.Errorf("error %q lacks the href label", err)
			}
		})
	}
}

// minimalItem is a small Earth Search v1 style item with relative hrefs.
func minimalItem(id string, props map[string]any, assets map[string]string) []byte {
	p := map[string]any{"datetime": "2024-01-15T08:32:11Z", "platform": "sentinel-2b"}
	for k, v := range props {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	a := map[string]any{}
	for k, h := range assets {
		a[k] = map[string]string{"href": h}
	}
	doc := map[string]any{
		"type": "Feature", "stac_version": "1.0.0", "id": id, "collection": "sentinel-2-l2a",
		"bbox":       []float64{27.9, 0.9, 28.9, 1.9},
		"geometry":   map[string]any{"type": "Polygon", "coordinates": [][][2]float64{{{27.9, 0.9}, {28.9, 0.9}, {28.9, 1.9}, {27.9, 1.9}, {27.9, 0.9}}}},
		"properties": p,
		"assets":     a,
		"links":      []map[string]string{{"rel": "self", "href": "s3://self-bucket/items/" + id + ".json"}},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return data
}

func TestParseItemRelativeHrefs(t *testing.T) {
	assets := map[string]string{
		"red":       "./B04.tif",
		"nir":       "B08.tif",
		"scl":       "../other/SCL.tif",
		"thumbnail": "https://example.com/thumb.jpg?x=1",
		"jp2":       "s3:/sentinel-s2-l2a/tiles/B04.jp2",
		"abs":       "/data/cogs/B02.tif",
	}
	data := minimalItem("S2B_35NPB_20240115_0_L2A", nil, assets)
	tests := []struct {
		name string
		href string
		want map[string]string
	}{
		{"local", "/cat/35/N/PB/S2B_35NPB_20240115_0_L2A/item.json", map[string]string{
			"red": "/cat/35/N/PB/S2B_35NPB_20240115_0_L2A/B04.tif",
			"nir": "/cat/35/N/PB/S2B_35NPB_20240115_0_L2A/B08.tif",
			"scl": "/cat/35/N/PB/other/SCL.tif",
			"abs": "/data/cogs/B02.tif",
		}},
		{"s3", "s3://bucket/prefix/item.json", map[string]string{
			"red": "s3://bucket/prefix/B04.tif",
			"nir": "s3://bucket/prefix/B08.tif",
			"scl": "s3://bucket/other/SCL.tif",
			"abs": "s3://bucket/data/cogs/B02.tif",
		}},
		{"https", "https://cat.example.org/v1/items/item.json", map[string]string{
			"red": "https://cat.example.org/v1/items/B04.tif",
			"scl": "https://cat.example.org/v1/other/SCL.tif",
			"abs": "https://cat.example.org/data/cogs/B02.tif",
		}},
		{"unknown: self link", "", map[string]string{
			"red": "s3://self-bucket/items/B04.tif",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := ParseItem(data, tt.href)
			if err != nil {
				t.Fatal(err)
			}
			tt.want["thumbnail"] = "https://example.com/thumb.jpg?x=1"
			tt.want["jp2"] = "s3://sentinel-s2-l2a/tiles/B04.jp2"
			for k, want := range tt.want {
				if got := it.Assets[k].Href; got != want {
					t.Errorf("%s: href %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestParseItemFallbacks(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		props    map[string]any
		tile     string
		seq      int
		baseline string
		platform string
		epsg     int
	}{
		{"mgrs props win", "S2B_35NPB_20240115_1_L2A", map[string]any{"mgrs:utm_zone": 35, "mgrs:latitude_band": "N", "mgrs:grid_square": "PB", "s2:sequence": "1"}, "35NPB", 1, "", "sentinel-2b", 0},
		{"s2:mgrs_tile with zero", "x", map[string]any{"s2:mgrs_tile": "05CNL", "s2:sequence": 2}, "5CNL", 2, "", "sentinel-2b", 0},
		{"grid:code", "x", map[string]any{"grid:code": "MGRS-35NPB"}, "35NPB", 0, "", "sentinel-2b", 0},
		{"from id", "S2C_35NPB_20240115_3_L2A", map[string]any{"platform": nil}, "35NPB", 3, "", "sentinel-2c", 0},
		{"c1 id", "S2A_T35NPB_20240115T083211_L2A", map[string]any{"platform": nil}, "35NPB", 0, "", "sentinel-2a", 0},
		{"old baseline key", "x", map[string]any{"sentinel2:processing_baseline": "04.00"}, "", 0, "04.00", "sentinel-2b", 0},
		{"baseline from product uri", "x", map[string]any{"s2:product_uri": "S2B_MSIL2A_20240115T082209_N0510_R121_T35NPB_20240115T111111.SAFE"}, "", 0, "05.10", "sentinel-2b", 0},
		{"proj:code", "x", map[string]any{"proj:code": "EPSG:32735", "platform": "Sentinel-2A"}, "", 0, "", "sentinel-2a", 32735},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := ParseItem(minimalItem(tt.id, tt.props, nil), "")
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprint(it.MGRSTile, it.Sequence, it.ProcessingBaseline, it.Platform, it.EPSG)
			want := fmt.Sprint(tt.tile, tt.seq, tt.baseline, tt.platform, tt.epsg)
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestDNOffset(t *testing.T) {
	day := func(s string) time.Time { return mustTime(t, s+"T10:00:00Z") }
	tests := []struct {
		baseline string
		date     time.Time
		want     float64
	}{
		{"05.10", day("2024-03-18"), 1000},
		{"04.00", day("2022-01-25"), 1000},
		{"02.14", day("2020-02-19"), 0},
		{"03.01", day("2022-01-24"), 0},
		// Reprocessed archive (collection 1): the baseline, not the date, decides.
		{"05.00", day("2018-06-01"), 1000},
		{"", day("2022-01-24"), 0},
		{"", mustTime(t, "2022-01-25T00:00:00Z"), 1000},
		{"", day("2024-01-15"), 1000},
		{"n/a", day("2019-01-01"), 0},
		{"n/a", day("2023-01-01"), 1000},
	}
	for _, tt := range tests {
		t.Run(tt.baseline+"_"+tt.date.Format(time.DateOnly), func(t *testing.T) {
			it := Item{ProcessingBaseline: tt.baseline, Datetime: tt.date}
			if got := it.DNOffset(); got != tt.want {
				t.Errorf("DNOffset() = %g, want %g", got, tt.want)
			}
		})
	}
}

func parseShared(t *testing.T, rel string) Item {
	t.Helper()
	data, p := readShared(t, rel)
	it, err := ParseItem(data, p)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func ids(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// square is an item footprint: the lon/lat rectangle x0..x1, y0..y1.
func square(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Bound{Min: orb.Point{x0, y0}, Max: orb.Point{x1, y1}}.ToPolygon()
}

func TestDedupe(t *testing.T) {
	seq0 := parseShared(t, v1Items+"/S2B_42MUT_20240319_0_L2A.json")
	seq1 := parseShared(t, v1Items+"/S2B_42MUT_20240319_1_L2A.json")
	other := parseShared(t, v1Items+"/S2B_23KNT_20240318_0_L2A.json")
	noTile := Item{ID: "no-tile", Datetime: seq0.Datetime}
	otherPlatform := seq0
	otherPlatform.ID, otherPlatform.Platform = "S2A_42MUT_20240319_0_L2A", "sentinel-2a"
	nextDay := seq0
	nextDay.ID, nextDay.Datetime = "S2B_42MUT_20240320_0_L2A", seq0.Datetime.Add(24*time.Hour)

	// Synthetic reprocessings of one acquisition over tile 35NPB.
	synth := func(seq int, baseline string, fp orb.Geometry) Item {
		return Item{
			ID:       fmt.Sprintf("S2B_35NPB_20240115_%d_L2A", seq),
			Datetime: mustTime(t, "2024-01-15T08:32:11Z").Add(time.Duration(seq) * time.Second),
			Platform: "sentinel-2b", MGRSTile: "35NPB", Sequence: seq, ProcessingBaseline: baseline,
			Geometry: fp,
		}
	}
	tile := square(27.9, 0.9, 28.9, 1.9)
	s0, s1 := synth(0, "05.10", tile), synth(1, "05.10", tile)
	s1Larger := synth(1, "05.10", orb.Polygon{{{27.8, 0.8}, {29, 0.85}, {28.95, 2}, {27.85, 1.95}, {27.8, 0.8}}})
	s1Smaller := synth(1, "05.10", square(27.9, 0.9, 28.9, 1.5))     // covers 60 % of _0
	s1AlmostAll := synth(1, "05.10", square(27.9, 0.9, 28.9, 1.895)) // 99.5 %
	s1MostOf := synth(1, "05.10", square(27.9, 0.9, 28.9, 1.88))     // 98 %: a sliver stays
	s2Half := synth(2, "05.10", square(27.9, 0.9, 28.9, 1.4))
	s0NoGeom := s0
	s0NoGeom.Geometry, s0NoGeom.BBox = nil, [4]float64{28, 1, 28.5, 1.5} // bbox inside _1
	s0Newer := synth(0, "05.11", tile)
	s0Newer.ID = "S2B_35NPB_20240115_0_L2A_b" // same sequence, newer baseline

	tests := []struct {
		name string
		in   []Item
		want []string
	}{
		// The real pair overlaps on 20 % of _0 and 45 % of _1: two datastrips, both kept.
		{"real pair", []Item{seq0, seq1}, []string{seq0.ID, seq1.ID}},
		{"real pair reversed", []Item{seq1, seq0}, []string{seq1.ID, seq0.ID}},
		{"others kept in order", []Item{other, seq0, noTile, seq1, otherPlatform, nextDay}, []string{other.ID, seq0.ID, noTile.ID, seq1.ID, otherPlatform.ID, nextDay.ID}},
		{"_1 same footprint", []Item{s0, s1}, []string{s1.ID}},
		{"_1 same footprint reversed", []Item{s1, s0}, []string{s1.ID}},
		{"_1 covers _0", []Item{s0, s1Larger}, []string{s1Larger.ID}},
		{"_1 covers 99.5 %", []Item{s0, s1AlmostAll}, []string{s1AlmostAll.ID}},
		{"_1 covers 98 %", []Item{s0, s1MostOf}, []string{s0.ID, s1MostOf.ID}},
		{"_1 inside _0: both kept", []Item{s0, s1Smaller}, []string{s0.ID, s1Smaller.ID}},
		{"_0 without geometry, bbox inside _1", []Item{s0NoGeom, s1}, []string{s1.ID}},
		// _2 covers half of _0; _1 (kept) covers all of it.
		{"three sequences", []Item{s2Half, s0, s1}, []string{s2Half.ID, s1.ID}},
		{"same sequence, newer baseline", []Item{s0, s0Newer}, []string{s0Newer.ID}},
		{"exact duplicate", []Item{s1, s0, s1}, []string{s1.ID}},
		{"empty", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(Dedupe(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("Dedupe = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUsable(t *testing.T) {
	full := parseShared(t, v1Items+"/S2B_23KNT_20240318_0_L2A.json")
	partial := full
	partial.ID = "partial"
	partial.Assets = map[string]Asset{"red": {Href: "x"}, "scl": {Href: ""}}
	usable, incomplete := Usable([]Item{full, partial})
	if !slices.Equal(ids(usable), []string{full.ID}) || !slices.Equal(ids(incomplete), []string{"partial"}) {
		t.Fatalf("usable %v, incomplete %v", ids(usable), ids(incomplete))
	}
	if got, want := partial.MissingAssets(), []string{"blue", "green", "nir", "swir16", "swir22", "scl"}; !slices.Equal(got, want) {
		t.Errorf("MissingAssets = %v, want %v", got, want)
	}
}

func TestIntersects(t *testing.T) {
	sq := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Bound{Min: orb.Point{x0, y0}, Max: orb.Point{x1, y1}}.ToPolygon()
	}
	// An L-shaped polygon: its bound covers (1.5, 1.5) but its area does not.
	ell := orb.Polygon{{{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {0, 2}, {0, 0}}}
	withHole := orb.Polygon{{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}, {{2, 2}, {8, 2}, {8, 8}, {2, 8}, {2, 2}}}
	tests := []struct {
		name string
		a, b orb.Geometry
		want bool
	}{
		{"overlap", sq(0, 0, 2, 2), sq(1, 1, 3, 3), true},
		{"disjoint", sq(0, 0, 1, 1), sq(2, 2, 3, 3), false},
		{"contained", sq(0, 0, 10, 10), sq(4, 4, 5, 5), true},
		{"contains", sq(4, 4, 5, 5), sq(0, 0, 10, 10), true},
		{"cross, no vertex inside", sq(0, 4, 10, 6), sq(4, 0, 6, 10), true},
		{"touching edge", sq(0, 0, 1, 1), sq(1, 0, 2, 1), true},
		{"bounds overlap, areas do not", ell, sq(1.2, 1.2, 1.8, 1.8), false},
		{"in the hole", withHole, sq(4, 4, 5, 5), false},
		{"across the hole edge", withHole, sq(1, 4, 3, 5), true},
		{"multipolygon", orb.MultiPolygon{sq(0, 0, 1, 1), sq(5, 5, 6, 6)}, sq(5.5, 5.5, 7, 7), true},
		{"bound", orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{1, 1}}, sq(0.5, 0.5, 2, 2), true},
		{"point inside", sq(0, 0, 1, 1), orb.Point{0.5, 0.5}, true},
		{"point in L notch", ell, orb.Point{1.5, 1.5}, false},
		{"line crossing", sq(0, 0, 1, 1), orb.LineString{{-1, 0.5}, {2, 0.5}}, true},
		{"degenerate ring", orb.Polygon{{}}, sq(0, 0, 1, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := intersects(tt.a, tt.b); got != tt.want {
				t.Errorf("intersects = %v, want %v", got, tt.want)
			}
			if got := intersects(tt.b, tt.a); got != tt.want {
				t.Errorf("intersects (swapped) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueryMatch(t *testing.T) {
	base, err := ParseItem(minimalItem("S2B_35NPB_20240115_0_L2A", map[string]any{"mgrs:utm_zone": 35, "eo:cloud_cover": 40}, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	noCollection := base
	noCollection.Collection = ""
	plainNoCollection, err := ParseItem(minimalItem("plain", nil, nil), "")
	if err != nil {
		t.Fatal(err)
	}
	plainNoCollection.Collection = ""
	antimeridian := base
	antimeridian.BBox = [4]float64{179.5, -17, -179.5, -16}
	antimeridian.Geometry = nil

	start, end := mustTime(t, "2024-01-15T00:00:00Z"), mustTime(t, "2024-01-15T23:59:59.999999999Z")
	okapi := orb.Bound{Min: orb.Point{28.2, 1.2}, Max: orb.Point{28.6, 1.6}}
	tests := []struct {
		name string
		q    Query
		it   Item
		want bool
	}{
		{"zero query", Query{}, base, true},
		{"inclusive day", Query{Start: start, End: end, Bound: okapi}, base, true},
		{"end before acquisition", Query{End: mustTime(t, "2024-01-15T08:00:00Z")}, base, false},
		{"start after acquisition", Query{Start: mustTime(t, "2024-01-15T09:00:00Z")}, base, false},
		{"bound outside", Query{Bound: orb.Bound{Min: orb.Point{30, 1}, Max: orb.Point{31, 2}}}, base, false},
		{"intersects only", Query{Intersects: okapi.ToPolygon()}, base, true},
		{"intersects outside", Query{Intersects: orb.Bound{Min: orb.Point{30, 1}, Max: orb.Point{31, 2}}.ToPolygon()}, base, false},
		{"cloud ok", Query{MaxCloudCover: 40}, base, true},
		{"too cloudy", Query{MaxCloudCover: 39.9}, base, false},
		{"other collection", Query{Collections: []string{"sentinel-2-c1-l2a"}}, base, false},
		{"no collection, earth search like", Query{}, noCollection, true},
		{"no collection, not earth search like", Query{}, plainNoCollection, false},
		{"antimeridian east", Query{Bound: orb.Bound{Min: orb.Point{179.8, -16.5}, Max: orb.Point{179.9, -16.4}}}, antimeridian, true},
		{"antimeridian west", Query{Intersects: orb.Bound{Min: orb.Point{-179.9, -16.5}, Max: orb.Point{-179.8, -16.4}}.ToPolygon()}, antimeridian, true},
		{"antimeridian miss", Query{Bound: orb.Bound{Min: orb.Point{0, -16.5}, Max: orb.Point{1, -16.4}}}, antimeridian, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Match(tt.it); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueryValidate(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		q    Query
		ok   bool
	}{
		{"zero", Query{}, true},
		{"end before start", Query{Start: now, End: now.Add(-time.Second)}, false},
		{"cloud above 100", Query{MaxCloudCover: 101}, false},
		{"negative cloud", Query{MaxCloudCover: -1}, false},
		{"inverted bound", Query{Bound: orb.Bound{Min: orb.Point{2, 0}, Max: orb.Point{1, 1}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.q.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// catalogFiles builds a nested static catalog from the real documents: relative path in
// the catalog -> content.
func catalogFiles(t *testing.T) map[string][]byte {
	t.Helper()
	read := func(rel string) []byte {
		data, _ := readShared(t, rel)
		return data
	}
	item := func(zone, band, sq, yyyy, m, id string) string {
		return strings.Join([]string{"sentinel-s2-l2a-cogs", zone, band, sq, yyyy, m, id, id + ".json"}, "/")
	}
	// The 30XWN item loses its scl asset.
	var doc map[string]any
	if err := json.Unmarshal(read(v1Items+"/S2A_30XWN_20240318_0_L2A.json"), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["assets"].(map[string]any), "scl")
	incomplete, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		item("23", "K", "NT", "2024", "3", "S2B_23KNT_20240318_0_L2A"):                                        read(v1Items + "/S2B_23KNT_20240318_0_L2A.json"),
		item("42", "M", "UT", "2024", "3", "S2B_42MUT_20240319_0_L2A"):                                        read(v1Items + "/S2B_42MUT_20240319_0_L2A.json"),
		item("42", "M", "UT", "2024", "3", "S2B_42MUT_20240319_1_L2A"):                                        read(v1Items + "/S2B_42MUT_20240319_1_L2A.json"),
		item("30", "X", "WN", "2024", "3", "S2A_30XWN_20240318_0_L2A"):                                        incomplete,
		item("29", "R", "KH", "2020", "2", "S2A_29RKH_20200219_0_L2A"):                                        read(cogsItem),
		"sentinel-2-c1-l2a/30/X/WN/2024/3/S2A_T30XWN_20240318T132853_L2A/S2A_T30XWN_20240318T132853_L2A.json": read(v1Items + "/S2A_T30XWN_20240318T132853_L2A.c1.json"),
		"v0/S2A_29RKH_20200219_0_L2A.json":                                                                    read("stac/earth-search-v0/S2A_29RKH_20200219_0_L2A.v0.json"),
		"collections/sentinel-2-l2a.json":                                                                     read("stac/earth-search-v1/collection_sentinel-2-l2a.json"),
		"payload.json":                                                                                        read("stac/earth-search-v1/stac-task_sentinel2-l2a-j2k-payload.json"),
		"junk.json":                                                                                           []byte(`{"hello": "world"}`),
		"array.JSON":                                                                                          []byte(`[1, 2, 3]`),
		"notes.txt":                                                                                           []byte("not json at all"),
		"broken/S2A_99XXX_20240318_0_L2A.json":                                                                []byte(`{"type": "Feature", "stac_version": "1.0.0", "id": "S2A_99XXX`),
	}
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger() (*slog.Logger, *lockedBuffer) {
	var buf lockedBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// staticCases are the searches run against the same catalog, local and in a bucket.
type staticCase struct {
	name string
	q    Query
	want []string
	// incomplete: the query matches the item stripped of its scl asset, so a warning is due.
	incomplete bool
}

func staticCases(t *testing.T) []staticCase {
	march, endMarch := mustTime(t, "2024-03-01T00:00:00Z"), mustTime(t, "2024-03-31T23:59:59.999999999Z")
	world := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	const (
		knt  = "S2B_23KNT_20240318_0_L2A"
		mut0 = "S2B_42MUT_20240319_0_L2A"
		mut1 = "S2B_42MUT_20240319_1_L2A"
		rkh  = "S2A_29RKH_20200219_0_L2A"
	)
	// West of S2B_42MUT_20240319_0_L2A's footprint but inside its bbox; outside _1's bbox.
	westOfMUT := orb.Bound{Min: orb.Point{67.33, -6.57}, Max: orb.Point{67.37, -6.53}}
	return []staticCase{
		{"march", Query{Bound: world, Start: march, End: endMarch}, []string{knt, mut1, mut0}, true},
		{"end of 18 march", Query{Bound: world, Start: march, End: mustTime(t, "2024-03-18T23:59:59.999999999Z")}, []string{knt}, true},
		{"brazil", Query{Bound: orb.Bound{Min: orb.Point{-45, -21}, Max: orb.Point{-43, -19}}, Start: march, End: endMarch}, []string{knt}, false},
		{"indian ocean", Query{Bound: orb.Bound{Min: orb.Point{67, -8}, Max: orb.Point{69, -6}}}, []string{mut1, mut0}, false},
		{"north of 42MUT: only _1 covers it", Query{Intersects: orb.Bound{Min: orb.Point{67.6, -6.45}, Max: orb.Point{67.7, -6.4}}.ToPolygon()}, []string{mut1}, false},
		{"south of 42MUT: only _0 covers it", Query{Intersects: orb.Bound{Min: orb.Point{67.5, -7.2}, Max: orb.Point{67.6, -7.1}}.ToPolygon()}, []string{mut0}, false},
		{"bbox only", Query{Bound: westOfMUT}, []string{mut0}, false},
		{"geometry refines bbox", Query{Bound: westOfMUT, Intersects: westOfMUT.ToPolygon()}, nil, false},
		{"all time", Query{}, []string{rkh, knt, mut1, mut0}, true},
		{"2020", Query{Start: mustTime(t, "2020-01-01T00:00:00Z"), End: mustTime(t, "2020-12-31T23:59:59Z")}, []string{rkh}, false},
		// _1 (4.8 %) fails the cloud filter, _0 (3.1 %) passes it.
		{"max cloud 4", Query{MaxCloudCover: 4}, []string{mut0}, false},
		{"collection 1", Query{Collections: []string{"sentinel-2-c1-l2a"}}, []string{"S2A_T30XWN_20240318T132853_L2A"}, false},
		{"nothing", Query{Bound: orb.Bound{Min: orb.Point{28, 1}, Max: orb.Point{29, 2}}}, nil, false},
	}
}

func checkLogs(t *testing.T, logs string, incomplete bool) {
	t.Helper()
	wants := []string{`msg="skip malformed stac item"`, "S2A_99XXX_20240318_0_L2A.json"}
	if incomplete {
		wants = append(wants, `msg="skip stac item missing required assets" item=S2A_30XWN_20240318_0_L2A`, "missing=[scl]")
	} else if strings.Contains(logs, "missing required assets") {
		t.Errorf("warning about an incomplete item the query does not match:\n%s", logs)
	}
	for _, want := range wants {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, quiet := range []string{"junk.json", "array.JSON", "payload.json", "collections", "notes.txt", "S2A_29RKH_20200219_0_L2A.json\""} {
		if strings.Contains(logs, quiet) {
			t.Errorf("logs mention %q, which should be ignored silently:\n%s", quiet, logs)
		}
	}
}

func TestStaticLocal(t *testing.T) {
	root := t.TempDir()
	for rel, data := range catalogFiles(t) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range staticCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := testLogger()
			cat, err := NewStatic(root, nil, logger)
			if err != nil {
				t.Fatal(err)
			}
			items, err := cat.Search(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(items); !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("Search = %v, want %v", got, tt.want)
			}
			for _, it := range items {
				if !strings.HasPrefix(it.Href, root+string(filepath.Separator)) {
					t.Errorf("%s: href %q not below %s", it.ID, it.Href, root)
				}
			}
			checkLogs(t, logs.String(), tt.incomplete)
		})
	}
}

func TestStaticLocalRelativeHrefs(t *testing.T) {
	cat, err := NewStatic(filepath.Join("..", "testdata", "stac"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := cat.Search(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(items), []string{"S2B_35NPB_20240115_1_L2A"}; !slices.Equal(got, want) {
		t.Fatalf("Search = %v, want %v", got, want)
	}
	abs, err := filepath.Abs(filepath.Join("..", "testdata", "stac", "sentinel-s2-l2a-cogs", "35", "N", "PB", "2024", "1", "S2B_35NPB_20240115_1_L2A"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := items[0].Assets["swir22"].Href, filepath.Join(abs, "B12.tif"); got != want {
		t.Errorf("swir22 href %q, want %q", got, want)
	}
}

// memStore is an in-memory ObjectStore: bytes copied in and out under a mutex, a real
// not-found error for missing keys.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte // "bucket/key" -> data
	gets    int
	failGet error // returned by every Get when set
}

func newMemStore() *memStore { return &memStore{objects: map[string][]byte{}} }

func (m *memStore) Put(bucket, key string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[bucket+"/"+key] = bytes.Clone(data)
}

func (m *memStore) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objects {
		if key, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func (m *memStore) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.failGet != nil {
		return nil, m.failGet
	}
	data, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, fs.ErrNotExist)
	}
	return bytes.Clone(data), nil
}

func TestStaticS3(t *testing.T) {
	store := newMemStore()
	for rel, data := range catalogFiles(t) {
		store.Put("cogs", "catalog/"+rel, data)
	}
	// Outside the prefix: never read.
	store.Put("cogs", "catalog-old/S2B_23KNT_20240318_0_L2A.json", minimalItem("S2B_23KNT_20240318_0_L2A", nil, nil))
	store.Put("other", "catalog/x.json", minimalItem("x", nil, nil))

	for _, tt := range staticCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := testLogger()
			cat, err := NewStatic("s3://cogs/catalog", store, logger)
			if err != nil {
				t.Fatal(err)
			}
			items, err := cat.Search(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(items); !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("Search = %v, want %v", got, tt.want)
			}
			for _, it := range items {
				if !strings.HasPrefix(it.Href, "s3://cogs/catalog/") {
					t.Errorf("%s: href %q", it.ID, it.Href)
				}
			}
			checkLogs(t, logs.String(), tt.incomplete)
		})
	}

	t.Run("relative hrefs", func(t *testing.T) {
		data, err := os.ReadFile("../testdata/stac/sentinel-s2-l2a-cogs/35/N/PB/2024/1/S2B_35NPB_20240115_0_L2A/S2B_35NPB_20240115_0_L2A.json")
		if err != nil {
			t.Fatal(err)
		}
		store := newMemStore()
		store.Put("sentinel-cogs", "sentinel-s2-l2a-cogs/35/N/PB/2024/1/S2B_35NPB_20240115_0_L2A/S2B_35NPB_20240115_0_L2A.json", data)
		cat, err := NewStatic("s3://sentinel-cogs/", store, nil)
		if err != nil {
			t.Fatal(err)
		}
		items, err := cat.Search(context.Background(), Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Fatalf("got %v", ids(items))
		}
		want := "s3://sentinel-cogs/sentinel-s2-l2a-cogs/35/N/PB/2024/1/S2B_35NPB_20240115_0_L2A/B04.tif"
		if got := items[0].Assets["red"].Href; got != want {
			t.Errorf("red href %q, want %q", got, want)
		}
	})
}

// vanishingStore lists a key that Get no longer finds.
type vanishingStore struct{ *memStore }

func (v vanishingStore) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	keys, err := v.memStore.List(ctx, bucket, prefix)
	return append(keys, prefix+"gone.json"), err
}

func TestStaticErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := NewStatic("s3://bucket/prefix", nil, nil); err == nil {
		t.Error("s3 root without a store: no error")
	}
	if _, err := NewStatic(filepath.Join(t.TempDir(), "missing"), nil, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing folder: %v, want fs.ErrNotExist", err)
	}
	if _, err := NewStatic("https://example.com/catalog", nil, nil); err == nil {
		t.Error("https root: no error")
	}

	item := minimalItem("S2B_35NPB_20240115_0_L2A", nil, nil)

	t.Run("store trouble fails the search", func(t *testing.T) {
		store := newMemStore()
		store.Put("b", "p/a.json", item)
		store.failGet = errors.New("connection reset")
		cat, err := NewStatic("s3://b/p", store, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cat.Search(ctx, Query{})
		if err == nil || !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), "s3://b/p/a.json") {
			t.Errorf("Search error %v", err)
		}
	})

	t.Run("vanished key is skipped", func(t *testing.T) {
		store := newMemStore()
		store.Put("b", "p/a.json", item)
		logger, logs := testLogger()
		cat, err := NewStatic("s3://b/p", vanishingStore{store}, logger)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.Search(ctx, Query{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "s3://b/p/gone.json") {
			t.Errorf("no warning for the vanished key:\n%s", logs)
		}
	})

	t.Run("invalid query", func(t *testing.T) {
		cat, err := NewStatic(t.TempDir(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.Search(ctx, Query{MaxCloudCover: -5}); err == nil {
			t.Error("no error")
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		store := newMemStore()
		for i := range 100 {
			store.Put("b", fmt.Sprintf("p/%03d.json", i), item)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		cat, err := NewStatic("s3://b/p", store, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.Search(cctx, Query{}); !errors.Is(err, context.Canceled) {
			t.Errorf("Search error %v, want context.Canceled", err)
		}

		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "a.json"), item, 0o644); err != nil {
			t.Fatal(err)
		}
		local, err := NewStatic(root, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := local.Search(cctx, Query{}); !errors.Is(err, context.Canceled) {
			t.Errorf("local Search error %v, want context.Canceled", err)
		}
	})

	t.Run("many items", func(t *testing.T) {
		// More documents than workers; each tile and day is distinct, so all survive.
		store := newMemStore()
		day := mustTime(t, "2024-01-01T08:00:00Z")
		for i := range 200 {
			d := day.Add(time.Duration(i) * 24 * time.Hour)
			id := fmt.Sprintf("S2B_35NPB_%s_0_L2A", d.Format("20060102"))
			assets := map[string]string{}
			for _, k := range RequiredAssets {
				assets[k] = "./" + k + ".tif"
			}
			store.Put("b", "p/"+id+".json", minimalItem(id, map[string]any{"datetime": d.Format(time.RFC3339)}, assets))
		}
		cat, err := NewStatic("s3://b/p", store, nil)
		if err != nil {
			t.Fatal(err)
		}
		items, err := cat.Search(ctx, Query{Start: day.Add(10 * 24 * time.Hour), End: day.Add(19 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 10 || !items[0].Datetime.Equal(day.Add(10*24*time.Hour)) || !slices.IsSortedFunc(items, func(a, b Item) int { return a.Datetime.Compare(b.Datetime) }) {
			t.Errorf("got %v", ids(items))
		}
	})
}
