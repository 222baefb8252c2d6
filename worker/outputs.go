package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/changewatch/changewatch/internal/atomicfile"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

const manifestName = "manifest.json"

// writeOutputs writes every output but the manifest into dir and returns their manifest
// entries (names, sizes, SHA-256: each file is read once for them, for the item and the
// manifest).
func writeOutputs(ctx context.Context, dir string, pl *plan, req jobs.DetectRequest, out *result) ([]ManifestEntry, error) {
	rf := make([]raster.Feature, len(out.feats))
	for i := range out.feats {
		rf[i] = out.feats[i].Feature
	}
	// Each output is written on its own goroutine (GDAL datasets are independent); the
	// rasters are mostly waiting for their COGs to be finished. The quicklook comes after
	// them when they add the change classes to it (a fanned-out run's merge). A writer
	// hashes its files for the item and the manifest as soon as they are written (the
	// rasters each as soon as it is complete), while the others are still at work.
	type writer struct {
		files []string
		write func() ([]ManifestEntry, error) // and the entries of the files it hashed
	}
	done := func(f func() error) func() ([]ManifestEntry, error) {
		return func() ([]ManifestEntry, error) { return nil, f() }
	}
	quicklook := func() error { return out.quicklook.WritePNG(filepath.Join(dir, "quicklook.png")) }
	rasters := writer{files: rasterFiles(), write: func() ([]ManifestEntry, error) {
		hashed, err := out.rasters(ctx, dir)
		if err != nil {
			return nil, err
		}
		if out.rastersFillQuicklook {
			return hashed, quicklook()
		}
		return hashed, nil
	}}
	writers := []writer{rasters}
	if out.rastersFillQuicklook {
		writers[0].files = append(writers[0].files, "quicklook.png")
	} else {
		writers = append(writers, writer{[]string{"quicklook.png"}, done(quicklook)})
	}
	style := raster.ChangeClassStyle("changes")
	for _, v := range []struct{ name, format string }{
		{"changes.fgb", "FlatGeobuf"}, {"changes.gpkg", "GPKG"}, {"changes.geojson", "GeoJSON"},
	} {
		writers = append(writers, writer{[]string{v.name}, done(func() error {
			if err := raster.WriteVector(ctx, filepath.Join(dir, v.name), v.format, "changes", schema, rf, raster.WithStyle(style)); err != nil {
				return fmt.Errorf("write %s: %w", v.name, err)
			}
			return nil
		})})
	}
	// QGIS applies changes.qml to changes.fgb and changes.geojson next to it.
	writers = append(writers, writer{[]string{"changes.qml"}, done(func() error {
		return writeFileAtomic(filepath.Join(dir, "changes.qml"), []byte(style.QML))
	})})
	errs := make([]error, len(writers))
	var mu sync.Mutex
	written := map[string]ManifestEntry{}
	var wg sync.WaitGroup
	for i, w := range writers {
		wg.Go(func() {
			hashed, err := w.write()
			if err != nil {
				errs[i] = err
				return
			}
			known := map[string]ManifestEntry{}
			for _, e := range hashed {
				known[e.Name] = e
			}
			entries, err := hashFiles(dir, w.files, known) // those not hashed yet, side by side
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			for _, e := range entries {
				written[e.Name] = e
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The item comes last: it gives every other file's size and checksum.
	hashed, err := writeItem(dir, pl, req, out, written)
	if err != nil {
		return nil, err
	}
	return hashFiles(dir, outputNames(), hashed)
}

// ManifestEntry lists one published file.
type ManifestEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest is written last: a result folder without one is incomplete.
type Manifest struct {
	Files     []ManifestEntry `json:"files"`
	Created   time.Time       `json:"created"`
	Generator string          `json:"generator"`
}

// buildManifest is the manifest of files (their entries).
func buildManifest(files []ManifestEntry) ([]byte, error) {
	m := Manifest{Created: time.Now().UTC().Truncate(time.Second), Generator: "changewatch", Files: files}
	return json.MarshalIndent(m, "", "  ")
}

// hashFiles returns the manifest entries of names (in dir), taken from known when there
// and else hashed, side by side.
func hashFiles(dir string, names []string, known map[string]ManifestEntry) ([]ManifestEntry, error) {
	entries := make([]ManifestEntry, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range names {
		if e, ok := known[name]; ok {
			entries[i] = e
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			entries[i], errs[i] = hashFile(dir, name)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return entries, nil
}

// hashFile returns the manifest entry of file name in dir.
func hashFile(dir, name string) (ManifestEntry, error) {
	fh, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("manifest: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("manifest: hash %s: %w", name, err)
	}
	return ManifestEntry{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeFileAtomic writes data to p through a temporary file of its own in p's folder and a
// rename, so concurrent writers of the same file (publishes rewriting the STAC tree) each
// leave a whole file.
func writeFileAtomic(p string, data []byte) error {
	if err := atomicfile.Write(p, data); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(p), err)
	}
	return nil
}

// publisher moves staged files to their destination. The protocol is the same for every
// destination: remove the old manifest first (the result is now incomplete), put every
// file (each put is atomic), write the manifest last. A crash at any point leaves either
// no manifest or a manifest whose files are all in place.
type publisher interface {
	publish(ctx context.Context, stage string, files []ManifestEntry) error
}

func (p *Pipeline) publisher(out string) (publisher, error) {
	if strings.HasPrefix(out, "s3://") {
		if p.Store == nil {
			return nil, &jobs.BadRequest{Field: "output", Problem: "an s3:// output needs object storage to be configured"}
		}
		rest := strings.TrimPrefix(out, "s3://")
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, &jobs.BadRequest{Field: "output", Problem: fmt.Sprintf("%q has no bucket", out)}
		}
		return &s3Publisher{store: p.Store, bucket: bucket, prefix: strings.Trim(prefix, "/")}, nil
	}
	return &dirPublisher{dir: out}, nil
}

type dirPublisher struct{ dir string }

func (d *dirPublisher) publish(ctx context.Context, stage string, files []ManifestEntry) error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(d.dir, manifestName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	m, err := buildManifest(files)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := moveFileAtomic(filepath.Join(stage, f.Name), filepath.Join(d.dir, f.Name)); err != nil {
			return err
		}
	}
	return writeFileAtomic(filepath.Join(d.dir, manifestName), m)
}

// moveFileAtomic moves src (a staged file, not needed afterwards) to dst: a rename on the
// same file system, else an atomic copy.
func moveFileAtomic(src, dst string) error {
	if os.Rename(src, dst) == nil {
		return os.Chmod(dst, 0o644)
	}
	return copyFileAtomic(src, dst)
}

// copyFileAtomic copies src to dst through a temporary file in dst's folder and a rename
// (the staging folder may be on another file system).
func copyFileAtomic(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("copy %s: %w", filepath.Base(dst), err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

type s3Publisher struct {
	store          Store
	bucket, prefix string
}

func (s *s3Publisher) key(name string) string { return path.Join(s.prefix, name) }

func (s *s3Publisher) publish(ctx context.Context, stage string, files []ManifestEntry) error {
	if err := s.store.Delete(ctx, s.bucket, s.key(manifestName)); err != nil {
		return err
	}
	for _, f := range files {
		if err := s.store.PutFile(ctx, s.bucket, s.key(f.Name), filepath.Join(stage, f.Name), contentType(f.Name)); err != nil {
			return err
		}
	}
	m, err := buildManifest(files)
	if err != nil {
		return err
	}
	mp := filepath.Join(stage, manifestName)
	if err := writeFileAtomic(mp, m); err != nil {
		return err
	}
	return s.store.PutFile(ctx, s.bucket, s.key(manifestName), mp, "application/json")
}

func contentType(name string) string {
	switch filepath.Ext(name) {
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
	case ".xml":
		return "application/xml"
	case ".qml":
		return "application/xml" // a QGIS layer style
	}
	return "application/octet-stream"
}
