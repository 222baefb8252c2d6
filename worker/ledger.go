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
	"strings"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/ledger"
	"github.com/changewatch/changewatch/raster"
)

// LedgerFiles are the files of an AOI's ledger, in publishing order: ledger.json, which
// serve and notify read, comes last.
var LedgerFiles = []string{"incidents.fgb", "incidents.gpkg", "incidents.geojson", "incidents.qml", "incident_history.csv", "ledger.json"}

// runTarget splits a run's output <root>/<aoi id>/<run> into its root and run, when it
// has that form (a detect run with any other --out has no ledger).
func runTarget(req jobs.DetectRequest) (root, run string, ok bool) {
	out := strings.TrimSuffix(req.Output, "/")
	run = path.Base(out)
	aoiDir := path.Dir(out)
	if !ledger.IsRunName(run) || path.Base(aoiDir) != req.AOIID || !jobs.ValidID(req.AOIID) {
		return "", "", false
	}
	root = path.Dir(aoiDir)
	if strings.HasPrefix(out, "s3://") && !strings.HasPrefix(root, "s3://") { // s3://bucket/aoi/run
		root = "s3://" + strings.TrimPrefix(root, "s3:/")
	}
	return root, run, true
}

// UpdateLedger rebuilds the ledger of AOI aoiID under output root from all its published
// runs and verdicts, and publishes it: the vector files and the history first, ledger.json
// last, each put atomically. It is idempotent; callers serialize it per AOI (the
// ledger:update handler does). places may be nil (no context attributes).
func (p *Pipeline) UpdateLedger(ctx context.Context, root, aoiID string, places ledger.Locator, minObservedPct float64) (*ledger.Ledger, error) {
	if !jobs.ValidID(aoiID) {
		return nil, &jobs.BadRequest{Field: "aoi_id", Problem: fmt.Sprintf("%q is not an id", aoiID)}
	}
	src, put, err := p.aoiFolder(root, aoiID)
	if err != nil {
		return nil, err
	}
	in, err := ledger.Load(ctx, src, minObservedPct)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", aoiID, err)
	}
	for _, s := range in.Skipped {
		p.logger().Warn("ledger input left out", "aoi_id", aoiID, "problem", s)
	}
	l := ledger.Build(aoiID, in.Runs, in.Verdicts, ledger.Params{})
	if places != nil {
		l.Locate(places)
	}
	stage, err := os.MkdirTemp(p.WorkDir, "changewatch-ledger-")
	if err != nil {
		return nil, fmt.Errorf("staging folder: %w", err)
	}
	defer os.RemoveAll(stage)
	if err := writeLedger(ctx, stage, l); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", aoiID, err)
	}
	for _, name := range LedgerFiles {
		if err := put(ctx, name, filepath.Join(stage, name)); err != nil {
			return nil, fmt.Errorf("ledger %s: publish %s: %w", aoiID, name, err)
		}
	}
	p.logger().Info("ledger published", "aoi_id", aoiID, "runs", len(l.Runs), "incidents", len(l.Incidents))
	return l, nil
}

// writeLedger writes the ledger's files into dir.
func writeLedger(ctx context.Context, dir string, l *ledger.Ledger) error {
	data, err := l.Encode()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "ledger.json"), data); err != nil {
		return err
	}
	if data, err = l.HistoryCSV(); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "incident_history.csv"), data); err != nil {
		return err
	}
	feats := make([]raster.Feature, len(l.Incidents))
	for i, inc := range l.Incidents {
		feats[i] = incidentFeature(l.AOIID, inc)
		// Footprints come from published runs; those of runs written before the outlines
		// were traced valid may not be (one ring through a pixel corner twice): repaired.
		g, err := raster.MakeValid(feats[i].Geometry)
		if err != nil {
			return fmt.Errorf("incident %s: %w", inc.ID, err)
		}
		feats[i].Geometry = g
	}
	style := raster.ChangeClassStyle("incidents")
	for _, v := range []struct{ name, format string }{
		{"incidents.fgb", "FlatGeobuf"}, {"incidents.gpkg", "GPKG"}, {"incidents.geojson", "GeoJSON"},
	} {
		if err := raster.WriteVector(ctx, filepath.Join(dir, v.name), v.format, "incidents", incidentSchema, feats, raster.WithStyle(style)); err != nil {
			return fmt.Errorf("write %s: %w", v.name, err)
		}
	}
	return writeFileAtomic(filepath.Join(dir, "incidents.qml"), []byte(style.QML))
}

// incidentSchema is the attribute table of incidents.{fgb,gpkg,geojson}.
var incidentSchema = []raster.Field{
	{Name: "incident_id", Value: ""}, {Name: "class", Value: ""}, {Name: "status", Value: ""},
	{Name: "first_seen", Value: time.Time{}}, {Name: "last_seen", Value: time.Time{}},
	{Name: "area_ha", Value: 0.0}, {Name: "runs_seen", Value: 0}, {Name: "max_confidence", Value: 0.0},
	{Name: "runs", Value: ""}, {Name: "area_by_run", Value: ""},
	{Name: "merged_from", Value: ""}, {Name: "merged_into", Value: ""}, {Name: "split_from", Value: ""},
	{Name: "protected_area", Value: ""}, {Name: "mine_name", Value: ""}, {Name: "mine_mineral", Value: ""},
	{Name: "mine_workers", Value: 0}, {Name: "mine_visit_date", Value: time.Time{}}, {Name: "mine_distance_km", Value: 0.0},
	{Name: "verdict", Value: ""}, {Name: "aoi_id", Value: ""},
}

func incidentFeature(aoiID string, inc *ledger.Incident) raster.Feature {
	byRun, _ := json.Marshal(inc.AreaByRun) // map keys sorted: stable bytes
	verdict := ""
	if inc.Verdict != nil {
		verdict = inc.Verdict.Verdict
	}
	return raster.Feature{Geometry: inc.Geometry, Fields: []raster.Field{
		{Name: "incident_id", Value: inc.ID}, {Name: "class", Value: inc.Class}, {Name: "status", Value: inc.Status},
		{Name: "first_seen", Value: date(inc.FirstSeen)}, {Name: "last_seen", Value: date(inc.LastSeen)},
		{Name: "area_ha", Value: inc.AreaHa}, {Name: "runs_seen", Value: inc.RunsSeen}, {Name: "max_confidence", Value: inc.MaxConfidence},
		{Name: "runs", Value: strings.Join(inc.Runs, ",")}, {Name: "area_by_run", Value: string(byRun)},
		{Name: "merged_from", Value: strings.Join(inc.MergedFrom, ",")}, {Name: "merged_into", Value: inc.MergedInto},
		{Name: "split_from", Value: inc.SplitFrom},
		{Name: "protected_area", Value: inc.ProtectedArea}, {Name: "mine_name", Value: inc.MineName},
		{Name: "mine_mineral", Value: inc.MineMineral}, {Name: "mine_workers", Value: inc.MineWorkers},
		{Name: "mine_visit_date", Value: date(inc.MineVisitDate)}, {Name: "mine_distance_km", Value: inc.MineDistanceKm},
		{Name: "verdict", Value: verdict}, {Name: "aoi_id", Value: aoiID},
	}}
}

// date is a YYYY-MM-DD string as a Date field's value; nil (unset) when empty or not a date.
func date(s string) any {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil
	}
	return d
}

// putFunc puts a local file under a name of the AOI's folder, atomically.
type putFunc func(ctx context.Context, name, localPath string) error

// aoiFolder returns the reader and the writer of <root>/<aoi id>/.
func (p *Pipeline) aoiFolder(root, aoiID string) (ledger.Source, putFunc, error) {
	if strings.HasPrefix(root, "s3://") {
		if p.Store == nil {
			return nil, nil, &jobs.BadRequest{Field: "output", Problem: "an s3:// output needs object storage to be configured"}
		}
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(root, "s3://"), "/")
		if bucket == "" {
			return nil, nil, &jobs.BadRequest{Field: "output", Problem: fmt.Sprintf("%q has no bucket", root)}
		}
		prefix = path.Join(strings.Trim(prefix, "/"), aoiID) + "/"
		src := &s3Source{store: p.Store, bucket: bucket, prefix: prefix}
		return src, func(ctx context.Context, name, local string) error {
			return p.Store.PutFile(ctx, bucket, prefix+name, local, ledgerContentType(name))
		}, nil
	}
	dir := filepath.Join(root, aoiID)
	return &dirSource{dir: dir}, func(ctx context.Context, name, local string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return copyFileAtomic(local, filepath.Join(dir, name))
	}, nil
}

func ledgerContentType(name string) string {
	if strings.HasSuffix(name, ".csv") {
		return "text/csv"
	}
	return contentType(name)
}

// maxLedgerObject bounds one object read for the ledger (a run's change polygons).
const maxLedgerObject = 1 << 30

// maxLedgerKeys bounds the keys listed under an AOI's folder.
const maxLedgerKeys = 2_000_000

type s3Source struct {
	store          Store
	bucket, prefix string
}

func (s *s3Source) List(ctx context.Context, sub string) ([]string, error) {
	keys, err := s.store.List(ctx, s.bucket, s.prefix+sub)
	if err != nil {
		return nil, err
	}
	if len(keys) > maxLedgerKeys {
		return nil, fmt.Errorf("%d keys under s3://%s/%s: more than %d", len(keys), s.bucket, s.prefix, maxLedgerKeys)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if rel, ok := strings.CutPrefix(k, s.prefix); ok {
			out = append(out, rel)
		}
	}
	return out, nil
}

func (s *s3Source) Get(ctx context.Context, key string) ([]byte, error) {
	return s.store.Get(ctx, s.bucket, s.prefix+key)
}

type dirSource struct{ dir string }

func (d *dirSource) List(ctx context.Context, sub string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(filepath.Join(d.dir, sub), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == filepath.Join(d.dir, sub) {
				return filepath.SkipAll
			}
			return err
		}
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") && p != d.dir {
			return filepath.SkipDir // .work and other hidden folders
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(d.dir, p)
			out = append(out, filepath.ToSlash(rel))
			if len(out) > maxLedgerKeys {
				return fmt.Errorf("more than %d files under %s", maxLedgerKeys, d.dir)
			}
		}
		return ctx.Err()
	})
	return out, err
}

func (d *dirSource) Get(ctx context.Context, key string) ([]byte, error) {
	p := filepath.Join(d.dir, filepath.FromSlash(key))
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxLedgerObject {
		return nil, fmt.Errorf("%s: %d bytes: more than %d", key, st.Size(), maxLedgerObject)
	}
	return os.ReadFile(p)
}

// ledgerLockTTL is how long a ledger update's lock outlives a worker that stopped
// refreshing it (killed): the next update of the AOI waits at most this long.
const ledgerLockTTL = 30 * time.Second
