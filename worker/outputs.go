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

	"github.com/paulmach/orb/geojson"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

const manifestName = "manifest.json"

// writeOutputs writes every output but the manifest into dir and returns their names.
func writeOutputs(ctx context.Context, dir string, pl *plan, req jobs.DetectRequest, out *result) ([]string, error) {
	rf := make([]raster.Feature, len(out.feats))
	for i := range out.feats {
		rf[i] = out.feats[i].Feature
	}
	// Each output is written on its own goroutine (GDAL datasets are independent); the
	// rasters are mostly waiting for their COGs to be finished. The quicklook comes after
	// them: a fanned-out run's rasters add the change classes to it.
	writers := []func() error{
		func() error {
			if err := out.rasters(ctx, dir); err != nil {
				return err
			}
			return out.quicklook.WritePNG(filepath.Join(dir, "quicklook.png"))
		},
		func() error { return writeItem(filepath.Join(dir, "item.json"), pl, req, out) },
	}
	style := raster.ChangeClassStyle("changes")
	for _, v := range []struct{ name, format string }{
		{"changes.fgb", "FlatGeobuf"}, {"changes.gpkg", "GPKG"}, {"changes.geojson", "GeoJSON"},
	} {
		writers = append(writers, func() error {
			if err := raster.WriteVector(ctx, filepath.Join(dir, v.name), v.format, "changes", schema, rf, raster.WithStyle(style)); err != nil {
				return fmt.Errorf("write %s: %w", v.name, err)
			}
			return nil
		})
	}
	// QGIS applies changes.qml to changes.fgb and changes.geojson next to it.
	writers = append(writers, func() error { return writeFileAtomic(filepath.Join(dir, "changes.qml"), []byte(style.QML)) })
	errs := make([]error, len(writers))
	var wg sync.WaitGroup
	for i, w := range writers {
		wg.Go(func() { errs[i] = w() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return outputNames(), nil
}

// writeItem writes a STAC 1.0 item describing the result: the AOI as geometry, the two
// periods, the source scenes and one asset per output file.
func writeItem(p string, pl *plan, req jobs.DetectRequest, out *result) error {
	area := pl.area
	geom := geojson.NewGeometry(area.Geometry)
	b := area.Bound()
	observed, notObserved, insufficient := out.view()
	counts := map[string]int{}
	hectares := map[string]float64{}
	for _, f := range out.feats {
		counts[f.class]++
		hectares[f.class] = round(hectares[f.class]+f.areaHa, 4)
	}
	asset := func(href, typ, title string, roles ...string) map[string]any {
		return map[string]any{"href": "./" + href, "type": typ, "title": title, "roles": roles}
	}
	item := map[string]any{
		"type":         "Feature",
		"stac_version": "1.0.0",
		"stac_extensions": []string{
			"https://stac-extensions.github.io/projection/v1.1.0/schema.json",
		},
		"id":       fmt.Sprintf("changewatch-%s-%s-%s", area.ID, req.Before.Start.Format("20060102"), req.After.End.Format("20060102")),
		"geometry": geom,
		"bbox":     []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		"properties": map[string]any{
			"datetime":                     nil,
			"start_datetime":               req.Before.Start.Format(time.RFC3339),
			"end_datetime":                 req.After.Last().Format(time.RFC3339),
			"created":                      time.Now().UTC().Format(time.RFC3339),
			"changewatch:aoi_id":           area.ID,
			"changewatch:aoi_name":         area.Name,
			"changewatch:before":           req.Before.String(),
			"changewatch:after":            req.After.String(),
			"changewatch:scenes_before":    sceneIDs(pl.before),
			"changewatch:scenes_after":     sceneIDs(pl.after),
			"changewatch:polygons":         counts,
			"changewatch:hectares":         hectares,
			"changewatch:options":          req.Options.WithDefaults(),
			"changewatch:observed_pct":     observed,
			"changewatch:not_observed_pct": notObserved,
			// Too little seen clear: where no change was found, none is known.
			"changewatch:insufficient_view": insufficient,
			"proj:epsg":                     out.grid.EPSG,
			"proj:shape":                    []int{out.grid.Height, out.grid.Width},
			"proj:transform":                out.grid.GeoTransform(),
		},
		"links": []any{},
		"assets": map[string]any{
			"changes":      asset("changes.fgb", "application/vnd.flatgeobuf", "change polygons (FlatGeobuf)", "data"),
			"changes_gpkg": asset("changes.gpkg", "application/geopackage+sqlite3", "change polygons (GeoPackage)", "data"),
			"changes_json": asset("changes.geojson", "application/geo+json", "change polygons (GeoJSON)", "data"),
			"change_class": asset("change_class.tif", "image/tiff; application=geotiff; profile=cloud-optimized", "change class: 0 none, 1 vegetation to bare, 2 vegetation to water, 3 burn scar, 255 not observed", "data"),
			"dndvi":        asset("dndvi.tif", "image/tiff; application=geotiff; profile=cloud-optimized", "NDVI after minus before", "data"),
			"clear_before": asset("clear_before.tif", "image/tiff; application=geotiff; profile=cloud-optimized", "clear observations per pixel, before period", "data"),
			"clear_after":  asset("clear_after.tif", "image/tiff; application=geotiff; profile=cloud-optimized", "clear observations per pixel, after period", "data"),
			"before_rgb":   asset("before_rgb.tif", "image/tiff; application=geotiff; profile=cloud-optimized", "before composite, true colour", "visual"),
			"after_rgb":    asset("after_rgb.tif", "image/tiff; application=geotiff; profile=cloud-optimized", "after composite, true colour", "visual"),
			"quicklook":    asset("quicklook.png", "image/png", "before | after | change", "overview"),
		},
	}
	data, err := json.MarshalIndent(item, "", "  ")
	if err != nil {
		return fmt.Errorf("item.json: %w", err)
	}
	return writeFileAtomic(p, data)
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

// buildManifest lists files (in dir) with their sizes and SHA-256, hashed side by side.
func buildManifest(dir string, files []string) ([]byte, error) {
	m := Manifest{Created: time.Now().UTC().Truncate(time.Second), Generator: "changewatch",
		Files: make([]ManifestEntry, len(files))}
	errs := make([]error, len(files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range files {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m.Files[i], errs[i] = hashFile(dir, name)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return json.MarshalIndent(m, "", "  ")
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

func writeFileAtomic(p string, data []byte) error {
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(p), err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(p), err)
	}
	return nil
}

// publisher moves staged files to their destination. The protocol is the same for every
// destination: remove the old manifest first (the result is now incomplete), put every
// file (each put is atomic), write the manifest last. A crash at any point leaves either
// no manifest or a manifest whose files are all in place.
type publisher interface {
	publish(ctx context.Context, stage string, files []string) error
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

func (d *dirPublisher) publish(ctx context.Context, stage string, files []string) error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(d.dir, manifestName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	m, err := buildManifest(stage, files)
	if err != nil {
		return err
	}
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := moveFileAtomic(filepath.Join(stage, name), filepath.Join(d.dir, name)); err != nil {
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

func (s *s3Publisher) publish(ctx context.Context, stage string, files []string) error {
	if err := s.store.Delete(ctx, s.bucket, s.key(manifestName)); err != nil {
		return err
	}
	for _, name := range files {
		if err := s.store.PutFile(ctx, s.bucket, s.key(name), filepath.Join(stage, name), contentType(name)); err != nil {
			return err
		}
	}
	m, err := buildManifest(stage, files)
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
