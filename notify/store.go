package notify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/changewatch/changewatch/internal/atomicfile"
	"github.com/changewatch/changewatch/jobs"
)

// Store is what notifications need from object storage (an *s3store.Client).
type Store interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
}

// root is an output root: a local folder or s3://bucket/prefix. Names are slash paths
// built from validated ids (jobs.ValidID, jobs.ValidRun) and fixed file names.
type root struct {
	store          Store
	bucket, prefix string // s3
	dir            string // local
}

func (h *Handler) root(output string) (*root, error) {
	if rest, ok := strings.CutPrefix(output, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, &jobs.BadRequest{Field: "output", Problem: fmt.Sprintf("%q has no bucket", output)}
		}
		if h.Store == nil {
			return nil, &jobs.BadRequest{Field: "output", Problem: "an s3:// output needs object storage to be configured"}
		}
		return &root{store: h.Store, bucket: bucket, prefix: strings.Trim(prefix, "/")}, nil
	}
	abs, err := filepath.Abs(output)
	if err != nil {
		return nil, &jobs.BadRequest{Field: "output", Problem: err.Error()}
	}
	return &root{dir: abs}, nil
}

func (r *root) key(name string) string { return path.Join(r.prefix, name) }

// location is where name is, for GDAL and for links: an s3:// URL or a local path.
func (r *root) location(name string) string {
	if r.store != nil {
		return "s3://" + r.bucket + "/" + r.key(name)
	}
	return filepath.Join(r.dir, filepath.FromSlash(name))
}

// get reads name; a missing file matches fs.ErrNotExist.
func (r *root) get(ctx context.Context, name string) ([]byte, error) {
	if r.store != nil {
		return r.store.Get(ctx, r.bucket, r.key(name))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.ReadFile(r.location(name))
}

// exists reports whether name exists.
func (r *root) exists(ctx context.Context, name string) (bool, error) {
	_, err := r.get(ctx, name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// put writes name atomically (a local file through a temporary file and a rename).
func (r *root) put(ctx context.Context, name string, data []byte, contentType string) error {
	if r.store != nil {
		return r.store.Put(ctx, r.bucket, r.key(name), data, contentType)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := r.location(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(p, data); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}
