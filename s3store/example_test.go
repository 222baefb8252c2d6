package s3store_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/changewatch/changewatch/s3store"
)

// Memory stands in for a Client in unit tests; code written against a small interface
// accepts either.
func ExampleMemory() {
	ctx := context.Background()
	var store interface {
		Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
		Get(ctx context.Context, bucket, key string) ([]byte, error)
		List(ctx context.Context, bucket, prefix string) ([]string, error)
	} = s3store.NewMemory("results")

	bucket, prefix, err := s3store.ParseURL("s3://results/aoi-1/2024-01")
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = store.Put(ctx, bucket, prefix+"/change.geojson", []byte(`{"type":"FeatureCollection"}`), "application/geo+json")
	keys, _ := store.List(ctx, bucket, prefix+"/")
	fmt.Println(keys)

	_, err = store.Get(ctx, bucket, prefix+"/manifest.json")
	fmt.Println(errors.Is(err, s3store.ErrNotFound), s3store.IsTransient(err))
	// Output:
	// [aoi-1/2024-01/change.geojson]
	// true false
}
