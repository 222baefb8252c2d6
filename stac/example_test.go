package stac_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"time"

	"github.com/paulmach/orb"

	"github.com/changewatch/changewatch/stac"
)

// Search a local static catalog for January 2024 scenes over part of the Okapi reserve.
// The catalog holds the _0 and _1 items of the same tile and day with the same
// footprint; only _1 is returned.
func ExampleStatic_Search() {
	cat, err := stac.NewStatic("../testdata/stac", nil, nil) // an s3://bucket/prefix root needs an ObjectStore
	if err != nil {
		log.Fatal(err)
	}
	items, err := cat.Search(context.Background(), stac.Query{
		Bound: orb.Bound{Min: orb.Point{28.2, 1.2}, Max: orb.Point{28.6, 1.6}},
		Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		End:   time.Date(2024, 1, 31, 23, 59, 59, 999999999, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Println(it.ID, it.MGRSTile, it.Sequence, it.ProcessingBaseline, it.DNOffset(), filepath.Base(it.Assets["red"].Href))
	}
	// Output:
	// S2B_35NPB_20240115_1_L2A 35NPB 1 05.10 1000 B04.tif
}

// Search a STAC API (here a stand-in for Earth Search answering POST /search with one
// page) for the scenes of January 2024 over an area of interest.
func ExampleAPI_Search() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if r.Method != http.MethodPost || r.URL.Path != "/v1/search" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, `{"code": "BadRequest", "description": "want POST /v1/search"}`, http.StatusBadRequest)
			return
		}
		fmt.Println("datetime:", body["datetime"], "limit:", body["limit"], "query:", body["query"])
		assets := map[string]any{}
		for _, k := range stac.RequiredAssets {
			assets[k] = map[string]string{"href": "./" + k + ".tif"}
		}
		json.NewEncoder(w).Encode(map[string]any{
			"type": "FeatureCollection",
			"features": []any{map[string]any{
				"type": "Feature", "stac_version": "1.0.0", "collection": "sentinel-2-l2a",
				"id":   "S2B_35NPB_20240115_0_L2A",
				"bbox": []float64{27.9, 0.9, 28.9, 1.9},
				"properties": map[string]any{
					"datetime": "2024-01-15T08:32:11Z", "eo:cloud_cover": 31.5, "s2:processing_baseline": "05.10",
				},
				"assets": assets,
				"links":  []any{map[string]string{"rel": "self", "href": "https://example.org/items/S2B_35NPB_20240115_0_L2A.json"}},
			}},
			"links": []any{}, // no "next": the last page
		})
	}))
	defer srv.Close()

	api, err := stac.NewAPI(srv.URL+"/v1", stac.APIOptions{RetryBase: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	aoi := orb.Bound{Min: orb.Point{28.2, 1.2}, Max: orb.Point{28.6, 1.6}}
	items, err := api.Search(context.Background(), stac.Query{
		Intersects:    aoi.ToPolygon(),
		Start:         time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		End:           time.Date(2024, 1, 31, 23, 59, 59, 999999999, time.UTC),
		MaxCloudCover: 60,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Println(it.ID, it.MGRSTile, it.CloudCover, it.Coverage(aoi), it.Assets["red"].Href)
	}
	// Output:
	// datetime: 2024-01-01T00:00:00Z/2024-02-01T00:00:00Z limit: 100 query: map[eo:cloud_cover:map[lte:60]]
	// S2B_35NPB_20240115_0_L2A 35NPB 31.5 1 https://example.org/items/red.tif
}
