package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/changewatch/changewatch/places"
	"github.com/changewatch/changewatch/s3store"
)

// loadPlaces returns the context layers of the incidents: the bundled ones, or either
// replaced by a GeoJSON file or s3://bucket/key.
func loadPlaces(ctx context.Context, store *s3store.Client, areasPath, minesPath string) (*places.Layers, error) {
	if areasPath == "" && minesPath == "" {
		return places.Bundled()
	}
	areas, mines := places.BundledData()
	var err error
	if areasPath != "" {
		if areas, err = readPath(ctx, store, areasPath); err != nil {
			return nil, usagef("--protected-areas: %v", err)
		}
	}
	if minesPath != "" {
		if mines, err = readPath(ctx, store, minesPath); err != nil {
			return nil, usagef("--mines: %v", err)
		}
	}
	l, err := places.Load(areas, mines)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return l, nil
}

// readPath reads a local file or an s3://bucket/key object.
func readPath(ctx context.Context, store *s3store.Client, p string) ([]byte, error) {
	rest, ok := strings.CutPrefix(p, "s3://")
	if !ok {
		return os.ReadFile(p)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" || key == "" {
		return nil, fmt.Errorf("%q: want s3://bucket/key", p)
	}
	if store == nil {
		return nil, fmt.Errorf("%q: object storage is not configured", p)
	}
	return store.Get(ctx, bucket, key)
}
