package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/changewatch/changewatch/internal/atomicfile"
)

// Store is the output root serve reads and writes: a local folder or an S3 prefix. Keys
// are slash paths relative to the root, built by serve from validated parts only.
type Store interface {
	// Get returns the object key; a missing one matches fs.ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put writes the object key atomically.
	Put(ctx context.Context, key string, body []byte, contentType string) error
	// List returns the keys starting with prefix.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes the object key (no error when it is missing).
	Delete(ctx context.Context, key string) error
	// Location is where key is, as GDAL and the worker name it (a path or an s3:// URL).
	Location(key string) string
	// ServeFile answers a download of key: a redirect to a short-lived presigned URL of
	// the object store, or the file itself with range support from a local folder.
	ServeFile(w http.ResponseWriter, r *http.Request, key string) error
}

// Bucket is what serve needs of an S3 client (*s3store.Client).
type Bucket interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	Delete(ctx context.Context, bucket, key string) error
	PresignGet(ctx context.Context, bucket, key string, expires time.Duration) (string, error)
}

// PresignExpiry is how long a download URL is valid.
const PresignExpiry = 5 * time.Minute

// S3Store is an output root under s3://Bucket/Prefix.
type S3Store struct {
	Client Bucket
	Bucket string
	Prefix string // "" or without slashes at either end
}

// NewStore returns the Store of root: s3://bucket/prefix (client must be set) or a folder.
func NewStore(root string, client Bucket) (Store, error) {
	if rest, ok := strings.CutPrefix(root, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("output %q: no bucket", root)
		}
		if client == nil {
			return nil, fmt.Errorf("output %q: no S3 client configured", root)
		}
		return &S3Store{Client: client, Bucket: bucket, Prefix: strings.Trim(prefix, "/")}, nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", root, err)
	}
	return DirStore(abs), nil
}

func (s *S3Store) key(k string) string { return path.Join(s.Prefix, k) }

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	return s.Client.Get(ctx, s.Bucket, s.key(key))
}

// Put implements Store.
func (s *S3Store) Put(ctx context.Context, key string, body []byte, contentType string) error {
	return s.Client.Put(ctx, s.Bucket, s.key(key), body, contentType)
}

// Delete implements Store.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	return s.Client.Delete(ctx, s.Bucket, s.key(key))
}

// List implements Store.
func (s *S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	p := s.key(prefix)
	if strings.HasSuffix(prefix, "/") {
		p += "/"
	}
	if s.Prefix != "" && prefix == "" {
		p = s.Prefix + "/"
	}
	keys, err := s.Client.List(ctx, s.Bucket, p)
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if s.Prefix != "" {
			k = strings.TrimPrefix(k, s.Prefix+"/")
		}
		out = append(out, k)
	}
	return out, nil
}

// Location implements Store.
func (s *S3Store) Location(key string) string { return "s3://" + s.Bucket + "/" + s.key(key) }

// ServeFile redirects to a presigned URL of the object (large files never stream
// through serve).
func (s *S3Store) ServeFile(w http.ResponseWriter, r *http.Request, key string) error {
	u, err := s.Client.PresignGet(r.Context(), s.Bucket, s.key(key), PresignExpiry)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// DirStore is an output root in a local folder (the embedded setup).
type DirStore string

func (d DirStore) path(key string) (string, error) {
	rel := filepath.FromSlash(key)
	if key != "" && !filepath.IsLocal(rel) {
		return "", fmt.Errorf("key %q is not inside %s: %w", key, string(d), fs.ErrNotExist)
	}
	return filepath.Join(string(d), rel), nil
}

// Get implements Store.
func (d DirStore) Get(ctx context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Put implements Store (a temporary file renamed into place).
func (d DirStore) Put(ctx context.Context, key string, body []byte, contentType string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(p, body)
}

// Delete implements Store.
func (d DirStore) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// List implements Store: regular files below the folder whose slash path starts with
// prefix (temporary files left out).
func (d DirStore) List(ctx context.Context, prefix string) ([]string, error) {
	root := string(d)
	start := root
	if dir, _ := path.Split(prefix); dir != "" {
		p, err := d.path(strings.TrimSuffix(dir, "/"))
		if err != nil {
			return nil, err
		}
		start = p
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Type().IsRegular() || strings.Contains(e.Name(), ".tmp") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	return keys, err
}

// Location implements Store.
func (d DirStore) Location(key string) string {
	p, _ := d.path(key)
	return p
}

// ServeFile serves the file with range requests (http.ServeContent).
func (d DirStore) ServeFile(w http.ResponseWriter, r *http.Request, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType(key))
	w.Header().Set("Content-Disposition", `attachment; filename="`+path.Base(key)+`"`)
	http.ServeContent(w, r, path.Base(key), st.ModTime(), f)
	return nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".tif":
		return "image/tiff; application=geotiff; profile=cloud-optimized"
	case ".png":
		return "image/png"
	case ".fgb":
		return "application/vnd.flatgeobuf"
	case ".gpkg":
		return "application/geopackage+sqlite3"
	case ".geojson":
		return "application/geo+json"
	case ".json":
		return "application/json"
	case ".qml":
		return "application/xml" // a QGIS layer style
	case ".csv":
		return "text/csv"
	case ".html":
		return "text/html; charset=utf-8"
	case ".pdf":
		return "application/pdf"
	}
	return "application/octet-stream"
}
