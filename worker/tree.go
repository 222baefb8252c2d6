package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/ledger"
	"github.com/changewatch/changewatch/stactree"
)

// treeRoot returns the root of the STAC tree a run's output is in, when it has the
// <root>/<aoi id>/<run> form (the AOI id of the request, else the AOI's own: detect's).
func treeRoot(req jobs.DetectRequest, aoiID string) (string, bool) {
	if req.AOIID == "" {
		req.AOIID = aoiID
	}
	root, _, ok := runTarget(req)
	return root, ok
}

// treeRounds bounds the rewrites of a tree document while concurrent publishes change
// what it lists.
const treeRounds = 5

// updateTree rewrites the STAC tree above a run published at <root>/<aoi id>/<run>: the
// AOI's collection.json, then the root's catalog.json. Each lists what the folder holds
// (the AOI's published runs; the AOIs with a collection), so a rewrite never loses what
// another publish added: each document is written, listed again, and written again
// while the listing changed under it, so the last writer of each document has seen every
// run or AOI published before its final listing. Each put is atomic.
func (p *Pipeline) updateTree(ctx context.Context, root, aoiID string) error {
	src, put, err := p.treeFolder(root)
	if err != nil {
		return err
	}
	collection := func() ([]string, []byte, error) {
		keys, err := src.List(ctx, aoiID+"/")
		if err != nil {
			return nil, nil, err
		}
		rel := make([]string, 0, len(keys))
		for _, k := range keys {
			if r, ok := strings.CutPrefix(k, aoiID+"/"); ok {
				rel = append(rel, r)
			}
		}
		names := stactree.Runs(rel)
		runs := make([]stactree.Run, 0, len(names))
		for _, n := range names {
			data, err := src.Get(ctx, aoiID+"/"+n+"/"+stactree.ItemFile)
			if errors.Is(err, fs.ErrNotExist) {
				continue // being republished
			}
			if err != nil {
				return nil, nil, err
			}
			r, err := stactree.ParseRun(n, data)
			if err != nil {
				return nil, nil, err
			}
			runs = append(runs, r)
		}
		doc, err := json.MarshalIndent(stactree.Collection(aoiID, runs), "", "  ")
		return names, doc, err
	}
	catalog := func() ([]string, []byte, error) {
		ids, err := p.treeAOIs(ctx, root)
		if err != nil {
			return nil, nil, err
		}
		doc, err := json.MarshalIndent(stactree.Catalog(ids), "", "  ")
		return ids, doc, err
	}
	if err := settle(ctx, aoiID+"/"+stactree.CollectionFile, collection, put); err != nil {
		return err
	}
	return settle(ctx, stactree.CatalogFile, catalog, put)
}

// treeAOIs returns the AOIs of an output root: its folders named like an AOI id, not
// hidden. One delimiter listing (S3) or one directory read: the cost of a publish does
// not grow with the runs and files of every AOI of the root (a full listing made each
// publish of 500 AOIs in one root ten times slower in the soak). Each AOI's
// collection.json is written before the catalog by the publish that creates its folder.
func (p *Pipeline) treeAOIs(ctx context.Context, root string) ([]string, error) {
	var dirs []string
	if strings.HasPrefix(root, "s3://") {
		if p.Store == nil {
			return nil, &jobs.BadRequest{Field: "output", Problem: "an s3:// output needs object storage to be configured"}
		}
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(root, "s3://"), "/")
		if prefix = strings.Trim(prefix, "/"); prefix != "" {
			prefix += "/"
		}
		if dl, ok := p.Store.(interface {
			ListDirs(ctx context.Context, bucket, prefix string) ([]string, error)
		}); ok {
			var err error
			if dirs, err = dl.ListDirs(ctx, bucket, prefix); err != nil {
				return nil, err
			}
		} else { // a store without delimiter listings: every key
			keys, err := p.Store.List(ctx, bucket, prefix)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				if d, _, ok := strings.Cut(strings.TrimPrefix(k, prefix), "/"); ok {
					dirs = append(dirs, d)
				}
			}
		}
	} else {
		entries, err := os.ReadDir(root)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
	}
	var ids []string
	for _, d := range dirs {
		if !strings.HasPrefix(d, ".") && jobs.CheckID("aoi", d) == nil {
			ids = append(ids, d)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// settle writes the document build makes at key, then builds it again and rewrites it
// while what it lists changed meanwhile (at most treeRounds times).
func settle(ctx context.Context, key string, build func() ([]string, []byte, error), put func(context.Context, string, []byte) error) error {
	listed, doc, err := build()
	if err != nil {
		return fmt.Errorf("stac %s: %w", key, err)
	}
	for range treeRounds {
		if err := put(ctx, key, doc); err != nil {
			return fmt.Errorf("stac %s: %w", key, err)
		}
		again, next, err := build()
		if err != nil {
			return fmt.Errorf("stac %s: %w", key, err)
		}
		if slices.Equal(again, listed) {
			return nil
		}
		listed, doc = again, next
	}
	return fmt.Errorf("stac %s: still changing after %d rewrites", key, treeRounds)
}

// treeFolder returns the reader of an output root (keys relative to it) and a function
// that puts a document under it atomically.
func (p *Pipeline) treeFolder(root string) (ledger.Source, func(context.Context, string, []byte) error, error) {
	if strings.HasPrefix(root, "s3://") {
		if p.Store == nil {
			return nil, nil, &jobs.BadRequest{Field: "output", Problem: "an s3:// output needs object storage to be configured"}
		}
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(root, "s3://"), "/")
		if bucket == "" {
			return nil, nil, &jobs.BadRequest{Field: "output", Problem: fmt.Sprintf("%q has no bucket", root)}
		}
		if prefix = strings.Trim(prefix, "/"); prefix != "" {
			prefix += "/"
		}
		return &s3Source{store: p.Store, bucket: bucket, prefix: prefix}, func(ctx context.Context, key string, data []byte) error {
			return p.Store.Put(ctx, bucket, path.Join(prefix, key), data, "application/json")
		}, nil
	}
	return &dirSource{dir: root}, func(_ context.Context, key string, data []byte) error {
		dst := filepath.Join(root, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return writeFileAtomic(dst, data)
	}, nil
}
