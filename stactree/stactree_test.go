package stactree

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/changewatch/changewatch/internal/stacschema"
)

func valid(t *testing.T, doc map[string]any) {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := stacschema.Validate(data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
}

func TestCatalog(t *testing.T) {
	cases := []struct {
		name     string
		ids      []string
		children []string
	}{
		{"empty", nil, nil},
		{"sorted once each", []string{"muchacha", "block", "muchacha"}, []string{"./block/collection.json", "./muchacha/collection.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := Catalog(c.ids)
			valid(t, doc)
			var children []string
			for _, l := range doc["links"].([]Link) {
				if l.Rel == "child" {
					children = append(children, l.Href)
				}
			}
			if !slices.Equal(children, c.children) {
				t.Errorf("children %v, want %v", children, c.children)
			}
		})
	}
}

func TestCollection(t *testing.T) {
	day := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	cases := []struct {
		name     string
		runs     []Run
		bbox     []float64
		interval []any
		items    []string
	}{
		{"no runs", nil, []float64{-180, -90, 180, 90}, []any{nil, nil}, nil},
		{"union of runs", []Run{
			{Name: "2024-02_2024-02", BBox: []float64{28, 1, 29, 2}, Start: day("2023-02-01"), End: day("2024-02-29")},
			{Name: "2024-01_2024-01", BBox: []float64{27.5, 1.5, 28.5, 2.5}, Start: day("2023-01-01"), End: day("2024-01-31")},
			{Name: "2024-03_2024-03"}, // an item without box or dates
		}, []float64{27.5, 1, 29, 2.5}, []any{"2023-01-01T00:00:00Z", "2024-02-29T00:00:00Z"},
			[]string{"./2024-01_2024-01/item.json", "./2024-02_2024-02/item.json", "./2024-03_2024-03/item.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := Collection("muchacha", c.runs)
			valid(t, doc)
			ext := doc["extent"].(map[string]any)
			bbox := ext["spatial"].(map[string]any)["bbox"].([][]float64)[0]
			interval := ext["temporal"].(map[string]any)["interval"].([][]any)[0]
			if !slices.Equal(bbox, c.bbox) || !slices.Equal(interval, c.interval) {
				t.Errorf("extent %v %v, want %v %v", bbox, interval, c.bbox, c.interval)
			}
			var items []string
			for _, l := range doc["links"].([]Link) {
				if l.Rel == "item" {
					items = append(items, l.Href)
				}
			}
			if !slices.Equal(items, c.items) || doc["id"] != CollectionID("muchacha") {
				t.Errorf("items %v id %v, want %v", items, doc["id"], c.items)
			}
		})
	}
}

func TestItemLinks(t *testing.T) {
	src := []Link{{Href: "s3://imagery/catalog/S2A_35NPB_20240115_0_L2A.json"}}
	cases := []struct {
		name   string
		inTree bool
		rels   []string
	}{
		{"in the tree", true, []string{"self", "collection", "parent", "root", "derived_from"}},
		{"a folder of its own", false, []string{"self", "derived_from"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rels []string
			for _, l := range ItemLinks(c.inTree, src) {
				rels = append(rels, l.Rel)
				if l.Rel == "derived_from" && (l.Href != src[0].Href || l.Type != TypeGeoJSON) {
					t.Errorf("derived_from %+v", l)
				}
			}
			if !slices.Equal(rels, c.rels) {
				t.Errorf("rels %v, want %v", rels, c.rels)
			}
		})
	}
}

func TestListings(t *testing.T) {
	rel := []string{"2024-01_2024-01/manifest.json", "2024-01_2024-01/item.json", "2024-02_2024-02/item.json",
		"ledger.json", "2024-03_2024-03/manifest.json", ".work/x/manifest.json", "a/b/manifest.json"}
	if got := Runs(rel); !slices.Equal(got, []string{"2024-01_2024-01", "2024-03_2024-03"}) {
		t.Errorf("Runs %v", got)
	}
}

func TestParseRun(t *testing.T) {
	r, err := ParseRun("2024-01_2024-01", []byte(`{"bbox": [1, 2, 3, 4], "properties": {"start_datetime": "2023-01-01T00:00:00Z", "end_datetime": "2024-01-31T00:00:00Z"}}`))
	if err != nil || !slices.Equal(r.BBox, []float64{1, 2, 3, 4}) || r.Start.Year() != 2023 || r.End.Month() != time.January {
		t.Errorf("%+v %v", r, err)
	}
	if _, err := ParseRun("x", []byte("{")); err == nil {
		t.Error("a broken item parsed")
	}
}
