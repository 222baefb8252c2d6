package worker

import (
	"cmp"
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
	"time"

	"github.com/changewatch/changewatch/baseline"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

// Kept baselines. A run whose output is a run of an AOI's ledger layout
// (<out>/<aoi id>/<YYYY-MM>_<YYYY-MM>) keeps its before composite in
// <out>/<aoi id>/.baseline/<window>/<yyyymmddThhmmssZ>-<key>.cwb (package baseline), and
// a later run over the same window whose before period chose the same scenes (with the
// same masking and code) reads it instead of those scenes. It is a cache: an entry that is
// missing, damaged or holds something else is computed again (and logged), never trusted;
// entries are written whole (one PUT, or a rename); each window keeps its KeptBaselines
// newest entries (by the write time in their names), the older are removed after a write.

// Baseline states in jobs.Summary.Baseline.
const (
	baselineKept     = "kept"     // read from a kept composite
	baselineComputed = "computed" // computed, and kept for later runs
)

// keptFolder is the folder of an AOI's kept baselines for output, when output is a run
// of the ledger layout.
func keptFolder(output string) (string, bool) {
	out := strings.TrimRight(output, "/")
	i := strings.LastIndex(out, "/")
	if i <= 0 || !jobs.ValidRun(out[i+1:]) {
		return "", false
	}
	return out[:i] + "/.baseline", true
}

// keptStore is where one window's kept baselines live (a folder or a bucket prefix).
type keptStore interface {
	workspace
	remove(ctx context.Context, name string) error
	// local returns the entry's path when it is a local file (read in place), else "".
	local(name string) string
}

func (d *dirWorkspace) remove(ctx context.Context, name string) error {
	return os.Remove(filepath.Join(d.dir, name))
}

func (d *dirWorkspace) local(name string) string { return filepath.Join(d.dir, name) }

func (s *s3Workspace) remove(ctx context.Context, name string) error {
	return s.store.Delete(ctx, s.bucket, s.prefix+name)
}

func (s *s3Workspace) local(string) string { return "" }

// keptBaseline is one Detect's use of the kept baseline of its window.
type keptBaseline struct {
	p            *Pipeline
	store        keptStore
	key          string
	w, h, scenes int
	state        string // baselineKept or baselineComputed
	reader       *baseline.Reader
	writer       *baseline.Writer
	tmp          string // a downloaded entry or the one being written
	log          []any
}

// keptBaseline returns the kept baseline of window win (empty: the whole grid) of a
// run to output with params, or nil when the run keeps none.
func (p *Pipeline) keptBaseline(output string, pl *plan, params *raster.DetectParams, win raster.Window) *keptBaseline {
	folder, ok := keptFolder(output)
	if !ok || p.KeptBaselines < 0 {
		return nil
	}
	if win.Empty() {
		win = raster.Window{Width: pl.grid.Width, Height: pl.grid.Height}
	}
	geom, err := json.Marshal(params.AOI)
	if err != nil {
		return nil
	}
	sub := fmt.Sprintf("%d_%d_%dx%d", win.Col, win.Row, win.Width, win.Height)
	var st keptStore
	if strings.HasPrefix(folder, "s3://") {
		if p.Store == nil {
			return nil
		}
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(folder, "s3://"), "/")
		st = &s3Workspace{store: p.Store, bucket: bucket, prefix: path.Join(prefix, sub) + "/"}
	} else {
		st = &dirWorkspace{dir: filepath.Join(folder, sub)}
	}
	key := baseline.Key(baseline.KeyParts{AOI: geom, Grid: pl.grid, Window: win, Scenes: params.Before,
		Mask: params.Mask, MaskBuffer: params.MaskBuffer})
	return &keptBaseline{p: p, store: st, key: key, w: win.Width, h: win.Height, scenes: len(params.Before),
		log: []any{"aoi_id", pl.area.ID, "window", sub, "key", key[:16]}}
}

// entries lists the window's kept entries, newest first.
func (kb *keptBaseline) entries(ctx context.Context) ([]string, error) {
	names, err := kb.store.list(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasSuffix(n, ".cwb") || strings.Contains(n, "/") })
	slices.Sort(names)
	slices.Reverse(names)
	return names, nil
}

// entryOf returns the newest entry of the key among names, or "".
func (kb *keptBaseline) entryOf(names []string) string {
	for _, n := range names {
		if strings.HasSuffix(n, "-"+kb.key+".cwb") {
			return n
		}
	}
	return ""
}

// use sets params to read the kept composite when there is a usable one, else to keep
// the composite it computes.
func (kb *keptBaseline) use(ctx context.Context, params *raster.DetectParams) {
	if kb == nil {
		return
	}
	log := kb.p.logger()
	if err := kb.open(ctx); err != nil {
		log.Warn("kept baseline unusable: computing it", append(kb.log, "err", err)...)
	}
	if kb.reader != nil {
		kb.state, params.BeforeFrom = baselineKept, kb.reader
		log.Info("before composite from the kept baseline", kb.log...)
		return
	}
	kb.compute(params)
}

// open opens the key's newest entry, if any.
func (kb *keptBaseline) open(ctx context.Context) error {
	names, err := kb.entries(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	name := kb.entryOf(names)
	if name == "" {
		return nil
	}
	p := kb.store.local(name)
	if p == "" {
		f, err := os.CreateTemp(kb.p.WorkDir, "changewatch-baseline-*.cwb")
		if err != nil {
			return err
		}
		f.Close()
		kb.tmp = f.Name()
		if err := kb.store.get(ctx, name, kb.tmp); err != nil {
			return fmt.Errorf("get %s: %w", name, err)
		}
		p = kb.tmp
	}
	r, err := baseline.Open(p, kb.key, kb.w, kb.h, kb.scenes)
	if err != nil {
		kb.drop(ctx, name)
		return fmt.Errorf("%s: %w", name, err)
	}
	kb.reader = r
	return nil
}

// drop removes a bad entry (another run would trip on it too).
func (kb *keptBaseline) drop(ctx context.Context, name string) {
	if err := kb.store.remove(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		kb.p.logger().Warn("kept baseline: remove a bad entry", append(kb.log, "entry", name, "err", err)...)
	}
}

// compute sets params to keep the composite Detect computes (nothing when the file
// cannot be started: the run goes on without keeping it).
func (kb *keptBaseline) compute(params *raster.DetectParams) {
	params.BeforeFrom = nil
	f, err := os.CreateTemp(kb.p.WorkDir, "changewatch-baseline-*.cwb")
	if err != nil {
		kb.p.logger().Warn("kept baseline: not kept", append(kb.log, "err", err)...)
		return
	}
	f.Close()
	kb.tmp = f.Name()
	if kb.writer, err = baseline.Create(kb.tmp, kb.key, kb.w, kb.h, kb.scenes); err != nil {
		kb.p.logger().Warn("kept baseline: not kept", append(kb.log, "err", err)...)
		return
	}
	kb.state, params.KeepBefore = baselineComputed, kb.writer.WriteRows
}

// retry tells whether a failed Detect (err) was the kept composite's fault, and then sets
// params to compute it instead: the entry is dropped and the failure logged.
func (kb *keptBaseline) retry(ctx context.Context, err error, params *raster.DetectParams) bool {
	if kb == nil || kb.reader == nil || !errors.Is(err, raster.ErrKeptComposite) || ctx.Err() != nil {
		return false
	}
	kb.p.logger().Warn("kept baseline unusable: computing it", append(kb.log, "err", err)...)
	kb.reader.Close()
	kb.reader = nil
	if names, lerr := kb.entries(ctx); lerr == nil {
		if n := kb.entryOf(names); n != "" {
			kb.drop(ctx, n)
		}
	}
	kb.removeTmp()
	kb.compute(params)
	return true
}

// finish, after a Detect that succeeded, keeps the composite it computed (unless another
// run kept the same meanwhile) and removes the window's entries beyond KeptBaselines. A
// failure is logged: the run does not depend on it.
func (kb *keptBaseline) finish(ctx context.Context) string {
	if kb == nil {
		return ""
	}
	if kb.writer == nil {
		return kb.state
	}
	err := kb.keep(ctx)
	if err != nil {
		kb.p.logger().Warn("kept baseline: not kept", append(kb.log, "err", err)...)
	}
	return kb.state
}

func (kb *keptBaseline) keep(ctx context.Context) error {
	w := kb.writer
	kb.writer = nil
	if err := w.Close(); err != nil {
		return err
	}
	names, err := kb.entries(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if kb.entryOf(names) == "" {
		name := time.Now().UTC().Format("20060102T150405Z") + "-" + kb.key + ".cwb"
		if p := kb.store.local(name); p != "" { // moved, not copied (read again) when it can be
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := moveFileAtomic(kb.tmp, p); err != nil {
				return fmt.Errorf("put %s: %w", name, err)
			}
		} else if err := kb.store.put(ctx, name, kb.tmp); err != nil {
			return fmt.Errorf("put %s: %w", name, err)
		}
		names = append([]string{name}, names...)
		kb.p.logger().Info("before composite kept", append(kb.log, "entry", name)...)
	}
	for _, n := range names[min(len(names), kb.p.keptBaselines()):] {
		if err := kb.store.remove(ctx, n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("evict %s: %w", n, err)
		}
	}
	return nil
}

// close releases what the run held.
func (kb *keptBaseline) close() {
	if kb == nil {
		return
	}
	if kb.reader != nil {
		kb.reader.Close()
	}
	if kb.writer != nil {
		kb.writer.Abort()
	}
	kb.removeTmp()
}

func (kb *keptBaseline) removeTmp() {
	if kb.tmp != "" {
		os.Remove(kb.tmp)
		kb.tmp = ""
	}
}

// keptBaselines is the number of entries a window keeps.
func (p *Pipeline) keptBaselines() int { return max(1, cmp.Or(p.KeptBaselines, 2)) }

// detectKept runs raster.Detect with the kept baseline of window win of the run to
// output: read from it when there is a usable one (computed when it fails), else computed
// and kept. newSink returns the receiver of an attempt's rows; an attempt that failed on
// the kept composite is started again with a fresh one.
func (p *Pipeline) detectKept(ctx context.Context, output string, pl *plan, params raster.DetectParams, win raster.Window,
	newSink func() (*cogSink, error)) (*raster.Result, string, error) {
	kb := p.keptBaseline(output, pl, &params, win)
	defer kb.close()
	kb.use(ctx, &params)
	for {
		sink, err := newSink()
		if err != nil {
			return nil, "", err
		}
		params.Rows, params.RowBuffers = sink.rows, sink.buffers
		res, err := raster.Detect(ctx, params)
		if err != nil {
			if kb.retry(ctx, err, &params) {
				continue
			}
			return nil, "", err
		}
		return res, kb.finish(ctx), nil
	}
}
