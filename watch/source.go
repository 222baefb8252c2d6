package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Source lists and reads the files of a watch list. The methods are those of
// *s3store.Client and *s3store.Memory, so either serves an s3:// watch list; Dir serves
// a local folder. A missing file must match fs.ErrNotExist (s3store.ErrNotFound does).
type Source interface {
	// List returns every key in bucket starting with prefix.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	// Get returns the whole content of bucket/key.
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Dir is a local folder as a Source: the bucket is the folder's path and keys are
// slash-separated paths relative to it. List walks sub-folders too, like an S3 listing
// of a prefix, and leaves out hidden files and folders (names starting with "."), such
// as editors' temporary files.
type Dir struct{}

// List returns the regular files below the folder bucket whose relative slash path
// starts with prefix, in lexical order.
func (Dir) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(bucket, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path != bucket && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(bucket, path)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	return keys, nil
}

// Get reads the file key (a slash path relative to the folder bucket). Keys that would
// leave the folder are refused.
func (Dir) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	rel := filepath.FromSlash(key)
	if !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("read %s: key is not inside %s", key, bucket)
	}
	data, err := os.ReadFile(filepath.Join(bucket, rel))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return data, nil
}

// Location is where a watch list lives: the files under Prefix in Bucket of Source.
type Location struct {
	Source Source
	Bucket string // the folder (Dir) or the bucket
	Prefix string // key prefix, "" or ending in "/"
	s3     bool
}

// ParseLocation returns the Location of a watch list given as a local folder or as
// s3://bucket/prefix. store reads s3:// lists (an *s3store.Client) and may be nil for a
// folder. A folder must exist.
func ParseLocation(loc string, store Source) (Location, error) {
	if rest, ok := strings.CutPrefix(loc, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("watch list %q: no bucket", loc)
		}
		if store == nil {
			return Location{}, fmt.Errorf("watch list %q: no S3 client configured", loc)
		}
		prefix = strings.TrimSuffix(prefix, "/")
		if prefix != "" {
			prefix += "/"
		}
		return Location{Source: store, Bucket: bucket, Prefix: prefix, s3: true}, nil
	}
	if loc == "" {
		return Location{}, errors.New("watch list: empty location")
	}
	abs, err := filepath.Abs(loc)
	if err != nil {
		return Location{}, fmt.Errorf("watch list %q: %w", loc, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return Location{}, fmt.Errorf("watch list: %w", err)
	}
	if !st.IsDir() {
		return Location{}, fmt.Errorf("watch list %q: not a folder", loc)
	}
	return Location{Source: Dir{}, Bucket: abs}, nil
}

// String returns the location as a folder path or an s3:// URL.
func (l Location) String() string { return l.name("") }

// name returns where key (relative to Bucket) is, for messages.
func (l Location) name(key string) string {
	if l.s3 {
		return "s3://" + l.Bucket + "/" + key
	}
	if key == "" {
		return l.Bucket
	}
	return filepath.Join(l.Bucket, filepath.FromSlash(key))
}

// isAOIFile reports whether key names a watch list file: *.geojson or *.json, no path
// element hidden.
func isAOIFile(key string) bool {
	for _, part := range strings.Split(key, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	ext := strings.ToLower(filepath.Ext(key))
	return ext == ".geojson" || ext == ".json"
}
