package stac_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"time"

	"github.com/paulmach/orb"

	"github.com/changewatch/changewatch/stac"
)

// Search a local static catalog for January 2024 scenes over part of the Okapi reserve.
// The catalog holds the _0 and _1 items of the same tile and day; only _1 is returned.
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
