// Package worker runs change detection requests: it plans (AOI, scene search and choice),
// drives the raster engine, builds the change polygons and publishes every output so that
// a failed or retried run never leaves a half result that looks complete.
package worker

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/changewatch/changewatch/access"
	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/stac"
)

// ErrNoScenes means a period has no usable scene over the AOI: retrying will not help
// until the catalog changes.
var ErrNoScenes = errors.New("no usable scenes")

// Permanent reports whether err can never succeed on retry (bad request, bad AOI, no
// scenes, a corrupt raster).
func Permanent(err error) bool {
	return errors.Is(err, jobs.ErrBadRequest) || errors.Is(err, aoi.ErrInvalid) ||
		errors.Is(err, ErrNoScenes) || errors.Is(err, raster.ErrCorrupt) || errors.Is(err, stac.ErrPermanent) ||
		errors.Is(err, ErrStaleChunk) || errors.Is(err, access.ErrRefused)
}

// ErrStaleChunk marks a chunk result written by a worker whose outputs differ from this
// one's (a deploy during a fanned-out run): the merge cannot mix them; run the request again.
var ErrStaleChunk = errors.New("chunk written by another version of the worker")

// Store is what the pipeline needs from object storage: read catalogs, publish outputs.
type Store interface {
	stac.ObjectStore
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
	PutFile(ctx context.Context, bucket, key, path, contentType string) error
	GetFile(ctx context.Context, bucket, key, path string) error
	Delete(ctx context.Context, bucket, key string) error
}

// Pipeline runs detection requests. Store may be nil when catalogs and outputs are local.
type Pipeline struct {
	Store  Store
	Logger *slog.Logger
	// AOILimits bound the AOIs accepted; zero means aoi.DefaultLimits.
	AOILimits aoi.Limits
	// WorkDir holds staging folders; "" means os.TempDir().
	WorkDir string
	// Access says where scenes may be read from (asset hrefs come from catalogs and
	// payloads): nil means access.Policy{Allow: access.DefaultAllow}.
	Access *access.Policy
	// Egress, when set, is the proxy GDAL's network reads go through (raster.Init's
	// HTTPProxy): each task grants it its catalog's host while it reads.
	Egress *access.Egress
	// ChunkSide bounds the grid processed in one piece by Detect: a grid wider or taller
	// is cut into chunks of ChunkSide pixels (rounded down to a multiple of 6), detected one
	// after the other and merged exactly as a fanned-out run. A piece streams its rasters
	// to disk, so memory follows its width. 0 means 10980 (a Sentinel-2 tile).
	ChunkSide int
	// KeptBaselines is the number of before composites kept per AOI window for later runs
	// (baseline.go), newest first: 0 means 2; negative keeps none.
	KeptBaselines int
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// grant lets GDAL reach the catalog's own host through the egress proxy until the
// returned func is called (a no-op without a proxy or for a catalog that is not a URL).
func (p *Pipeline) grant(catalog string) (release func()) {
	if p.Egress == nil {
		return func() {}
	}
	return p.Egress.Grant(catalog)
}

func (p *Pipeline) access() *access.Policy {
	if p.Access == nil {
		return &access.Policy{Allow: access.DefaultAllow}
	}
	return p.Access
}

// checkScenes refuses (permanently, naming the href) a scene with an href outside the
// access policy, before anything is read from it.
func (p *Pipeline) checkScenes(catalog string, scenes []raster.Scene) error {
	pol := p.access()
	for _, s := range scenes {
		for _, hrefs := range append([]map[string]string{s.Hrefs}, s.More...) {
			for k, h := range hrefs {
				if _, err := pol.Check(h, catalog); err != nil {
					return fmt.Errorf("scene %s band %s: %w", s.ID, k, err)
				}
			}
		}
	}
	return nil
}

func (p *Pipeline) chunkSide() int { return max(6, cmp.Or(p.ChunkSide, 10980)/6*6) }

// ProgressFunc is told each stage of a run and the fraction of it done.
type ProgressFunc func(stage string, frac float64)

// orNoop returns f, or a function that does nothing when f is nil.
func (f ProgressFunc) orNoop() ProgressFunc {
	if f == nil {
		return func(string, float64) {}
	}
	return f
}

// plan is what a run knows before it reads pixels.
type plan struct {
	area          *aoi.AOI
	utm           aoi.UTM
	grid          raster.Grid
	opts          jobs.Options
	catalog       string
	before, after []raster.Scene
}

// parse validates req and derives the AOI and its grid: the AOI's UTM zone, 10 m, edges on
// the 60 m lattice of Sentinel-2 tiles.
func (p *Pipeline) parse(req jobs.DetectRequest) (*plan, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	lim := p.AOILimits
	if lim == (aoi.Limits{}) {
		lim = aoi.DefaultLimits
	}
	area, err := aoi.Parse(req.AOI, lim)
	if err != nil {
		return nil, err
	}
	if err := p.access().CheckCatalog(req.Catalog); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if req.AOIID != "" {
		area.ID = req.AOIID
	}
	if req.AOIName != "" {
		area.Name = req.AOIName
	}
	u := area.UTM()
	minE, minN, maxE, maxN := u.ProjectBound(area.Bound())
	return &plan{area: area, utm: u, opts: req.Options.WithDefaults(), catalog: req.Catalog,
		grid: raster.SnapGrid(u.EPSG(), minE, minN, maxE, maxN, 10, 60)}, nil
}

// plan parses req and chooses the scenes of both periods.
func (p *Pipeline) plan(ctx context.Context, req jobs.DetectRequest) (*plan, error) {
	pl, err := p.parse(req)
	if err != nil {
		return nil, err
	}
	cat, err := p.catalog(req.Catalog)
	if err != nil {
		return nil, err
	}
	// The two periods are searched side by side (ranking scenes is mostly reads); the
	// first to fail stops the other, and its error is the one reported.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var errBefore, errAfter error
	var wg sync.WaitGroup
	ch := p.baselineChain(req)
	wg.Go(func() {
		if pl.before, errBefore = p.scenes(sctx, cat, pl, req.Before, "before", ch); errBefore != nil {
			cancel()
		}
	})
	if pl.after, errAfter = p.scenes(sctx, cat, pl, req.After, "after", nil); errAfter != nil {
		cancel()
	}
	wg.Wait()
	if err := firstFailure(ctx, errBefore, errAfter); err != nil {
		return nil, err
	}
	p.logger().Info("scenes chosen", "aoi_id", pl.area.ID, "before", sceneIDs(pl.before), "after", sceneIDs(pl.after))
	return pl, nil
}

// firstFailure returns the error of whichever of side-by-side steps failed first, the
// others having been cancelled by it (their cancellation is not the cause, unless ctx, the
// caller's context, was cancelled).
func firstFailure(ctx context.Context, errs ...error) error {
	for _, err := range errs {
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.Canceled)) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// minPixels is the minimum mapping unit in pixels of the grid.
func (pl *plan) minPixels() int {
	return int(math.Ceil(pl.opts.MinAreaHa * 1e4 / (pl.grid.Res * pl.grid.Res)))
}

func (pl *plan) params(progress ProgressFunc) raster.DetectParams {
	return raster.DetectParams{
		Grid: pl.grid, AOI: pl.area.ProjectRings(pl.utm), Before: pl.before, After: pl.after,
		Mask: !pl.opts.NoMask, MaskBuffer: *pl.opts.MaskBuffer, Rules: raster.DefaultRules,
		MinPixels: pl.minPixels(), MinClear: pl.opts.MinClear, Progress: progress,
	}
}

// timer records the seconds of each stage.
type timer struct {
	t0, last time.Time
	laps     map[string]float64
}

func newTimer() *timer {
	now := time.Now()
	return &timer{t0: now, last: now, laps: map[string]float64{}}
}

func (t *timer) lap(name string) {
	now := time.Now()
	t.laps[name] = round(now.Sub(t.last).Seconds(), 3)
	t.last = now
}

func (t *timer) total() map[string]float64 {
	t.laps["total"] = round(time.Since(t.t0).Seconds(), 3)
	return t.laps
}

// Detect runs one request end to end and returns its summary. The outputs are staged in a
// local folder and published manifest-last to req.Output. progress may be nil.
func (p *Pipeline) Detect(ctx context.Context, req jobs.DetectRequest, progress ProgressFunc) (*jobs.Summary, error) {
	progress = progress.orNoop()
	defer p.grant(req.Catalog)()
	tm := newTimer()
	progress("search scenes", 0)
	pl, err := p.plan(ctx, req)
	if err != nil {
		return nil, err
	}
	tm.lap("search")
	if side := p.chunkSide(); pl.grid.Width > side || pl.grid.Height > side {
		return p.detectChunked(ctx, req, pl, progress)
	}
	return p.detectPlanned(ctx, req, pl, progress, tm)
}

// detectChunked runs a big grid chunk after chunk in this process, with the fan-out's
// chunk and merge steps and a local workspace, so memory stays bounded by the chunk.
func (p *Pipeline) detectChunked(ctx context.Context, req jobs.DetectRequest, pl *plan, progress ProgressFunc) (*jobs.Summary, error) {
	dir, err := os.MkdirTemp(p.WorkDir, "changewatch-chunks-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ws := &dirWorkspace{dir: dir}
	t0 := time.Now()
	side := p.chunkSide()
	chunks := chunkRequests(req, pl, side)
	for i, c := range chunks {
		stage := fmt.Sprintf("chunk %d/%d", i+1, len(chunks))
		if _, err := p.chunk(ctx, c, ws, func(s string, f float64) { progress(stage+": "+s, f) }); err != nil {
			return nil, fmt.Errorf("%s: %w", stage, err)
		}
	}
	chunkTime := time.Since(t0)
	c := chunks[0]
	sum, err := p.merge(ctx, jobs.MergeRequest{Request: req, Run: c.Run, Before: c.Before, After: c.After, Count: c.Count}, ws, progress)
	if err != nil {
		return nil, err
	}
	sum.Timings["chunks"] = round(chunkTime.Seconds(), 3)
	sum.Timings["total"] = round(time.Since(t0).Seconds(), 3)
	return sum, nil
}

// detectPlanned runs a planned request in one piece, the rasters streamed to disk as
// they are computed.
func (p *Pipeline) detectPlanned(ctx context.Context, req jobs.DetectRequest, pl *plan, progress ProgressFunc, tm *timer) (*jobs.Summary, error) {
	var sink *cogSink
	defer func() {
		if sink != nil {
			sink.discard()
		}
	}()
	res, kept, err := p.detectKept(ctx, req.Output, pl, pl.params(progress), raster.Window{}, func() (*cogSink, error) {
		if sink != nil {
			sink.discard()
		}
		var err error
		sink, err = newCOGSink(p.WorkDir, pl.grid, false)
		return sink, err
	})
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	tm.lap("detect")
	p.logger().Debug("detected", "aoi_id", pl.area.ID, "observed_px", res.Observed, "not_observed_px", res.NotObserved,
		"masked_tiles_not_decoded", res.MaskedTiles)
	sink.start(ctx, res.Dropped, true)
	progress("polygons", 0)
	if err := res.Vectorize(ctx); err != nil {
		return nil, err
	}
	res.CountClasses()
	out := &result{
		grid: res.Grid, feats: features(pl.area, req, res.Regions), quicklook: res.Quicklook,
		observed: res.Observed, notObserved: res.NotObserved,
		rasters: func(ctx context.Context, dir string) ([]ManifestEntry, error) {
			return sink.moveTo(dir)
		},
	}
	tm.lap("polygonize")
	sum, err := p.publishResult(ctx, req, pl, out, progress, tm)
	if err != nil {
		return nil, err
	}
	sum.Baseline = kept
	return sum, nil
}

// result is what a run publishes: polygons, the rasters (written by a function, since a
// fanned-out run assembles them from chunks), the quicklook and coverage counts.
type result struct {
	grid                  raster.Grid
	feats                 []feature
	quicklook             *raster.Quicklook
	observed, notObserved int
	// rasters writes the rasters into dir and returns the manifest entries of those it
	// hashed on the way (the others are hashed after).
	rasters              func(ctx context.Context, dir string) ([]ManifestEntry, error)
	rastersFillQuicklook bool // rasters count the change classes into the quicklook
}

// view returns the shares of the AOI observed and not observed (percent), and whether
// too little was observed to tell no change from not seen.
func (out *result) view() (observed, notObserved float64, insufficient bool) {
	n := out.observed + out.notObserved
	if n == 0 {
		return 0, 100, true
	}
	observed = round(100*float64(out.observed)/float64(n), 2)
	return observed, round(100-observed, 2), observed < jobs.DefaultMinObservedPct
}

// publishResult writes every output in a staging folder, publishes it manifest last, and
// returns the summary.
func (p *Pipeline) publishResult(ctx context.Context, req jobs.DetectRequest, pl *plan, out *result, progress ProgressFunc, tm *timer) (*jobs.Summary, error) {
	progress("write outputs", 0)
	stage, err := os.MkdirTemp(p.WorkDir, "changewatch-stage-")
	if err != nil {
		return nil, fmt.Errorf("staging folder: %w", err)
	}
	defer os.RemoveAll(stage)
	files, err := writeOutputs(ctx, stage, pl, req, out)
	if err != nil {
		return nil, err
	}
	tm.lap("write")
	progress("publish", 0)
	pub, err := p.publisher(req.Output)
	if err != nil {
		return nil, err
	}
	if err := pub.publish(ctx, stage, files); err != nil {
		return nil, fmt.Errorf("publish to %s: %w", req.Output, err)
	}
	if root, ok := treeRoot(req, pl.area.ID); ok {
		if err := p.updateTree(ctx, root, pl.area.ID); err != nil {
			return nil, fmt.Errorf("publish to %s: %w", req.Output, err)
		}
	}
	tm.lap("publish")
	g := out.grid
	sum := &jobs.Summary{
		AOIID: pl.area.ID, AOIName: pl.area.Name, AOIAreaHa: round(pl.area.AreaHa(), 2),
		Before: req.Before, After: req.After,
		Polygons: map[string]int{}, Hectares: map[string]float64{},
		ScenesBefore: sceneIDs(pl.before), ScenesAfter: sceneIDs(pl.after),
		Grid:    fmt.Sprintf("EPSG:%d %g m %dx%d", g.EPSG, g.Res, g.Width, g.Height),
		Output:  req.Output,
		Files:   append(entryNames(files), manifestName),
		Timings: tm.total(),
	}
	sum.ObservedPct, sum.NotObservedPct, sum.InsufficientView = out.view()
	if sum.InsufficientView {
		p.logger().Info("too little clear view: no change found is not no change", "aoi_id", pl.area.ID,
			"observed_pct", sum.ObservedPct, "min_observed_pct", jobs.DefaultMinObservedPct)
	}
	for _, f := range out.feats {
		sum.Polygons[f.class]++
		sum.Hectares[f.class] = round(sum.Hectares[f.class]+f.areaHa, 4)
	}
	p.logger().Info("detection published", "aoi_id", pl.area.ID, "polygons", len(out.feats), "output", req.Output, "seconds", sum.Timings["total"])
	return sum, nil
}

func round(v float64, digits int) float64 {
	s := math.Pow(10, float64(digits))
	return math.Round(v*s) / s
}

func (p *Pipeline) catalog(root string) (stac.Searcher, error) {
	var store stac.ObjectStore
	if p.Store != nil {
		store = p.Store
	}
	if strings.HasPrefix(root, "s3://") && store == nil {
		return nil, &jobs.BadRequest{Field: "catalog", Problem: "an s3:// catalog needs object storage to be configured"}
	}
	cat, err := stac.Open(root, store, p.logger())
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", root, err)
	}
	return cat, nil
}

// acqDate is the date of an acquisition.
func acqDate(a *acquisition) time.Time { return a.items[0].Datetime }

// acquisition is one candidate acquisition of a period.
type acquisition struct {
	items    []stac.Item
	coverage float64 // share of the AOI covered, then seen clear
	cloud    float64
	scene    raster.Scene
	clear    []bool // coarse pixels seen clear
}

// scenes searches one period and keeps the best opts.MaxScenes acquisitions, in date
// order. With ch (the baseline of a monthly run, see baselineChain), the choice is the
// chain's: the windows of ch's months are searched and ranked too, and the scenes are the
// choice the chain holds at the period. An acquisition is every tile of one platform on
// one day (an AOI across MGRS tiles, possibly in two UTM zones, is read from all of them
// into one observation). Acquisitions are ranked by the share of the AOI they show clear,
// from their SCL over the AOI on a grid 8 times coarser (their overviews: a few reads
// each), not by the tile-wide eo:cloud_cover; without masking, by the share of the AOI
// their footprints cover. Shares within 1 % are equal; then the lower cloud cover wins.
func (p *Pipeline) scenes(ctx context.Context, cat stac.Searcher, pl *plan, per jobs.Period, name string, ch *chain) ([]raster.Scene, error) {
	area, opts := pl.area, pl.opts
	searched := per
	if ch != nil {
		searched.Start = ch.window(ch.first).Start
	}
	items, err := cat.Search(ctx, stac.Query{
		Bound: area.Bound(), Intersects: area.Geometry,
		Start: searched.Start, End: searched.Last(), Collections: []string{"sentinel-2-l2a"},
		MaxCloudCover: opts.MaxCloud, Assets: assetKeys(opts),
	})
	if err != nil {
		return nil, fmt.Errorf("search %s period %s: %w", name, per, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s period %s: %w over aoi %s", name, per, ErrNoScenes, area.ID)
	}
	var acqs []*acquisition
	byKey := map[string]*acquisition{}
	for _, it := range items { // items come sorted by datetime, then id
		key := it.Platform + "|" + it.Datetime.UTC().Format(time.DateOnly)
		a := byKey[key]
		if a == nil {
			a = &acquisition{}
			byKey[key] = a
			acqs = append(acqs, a)
		}
		a.items = append(a.items, it)
		a.coverage = min(1, a.coverage+it.Coverage(area.Geometry))
		a.cloud += it.CloudCover
	}
	aoiUTM := area.ProjectRings(pl.utm)
	var inAOI []bool
	for _, a := range acqs {
		a.cloud /= float64(len(a.items)) // mean over the acquisition's tiles
		// Where a reprocessed sequence (_1) overlaps an older one (_0) of the same tile
		// and day, the newer is read first and so wins; the older fills only what the
		// newer lacks.
		sort.SliceStable(a.items, func(i, j int) bool { return a.items[i].Sequence > a.items[j].Sequence })
		a.scene = acquisitionScene(a.items)
		if err := p.checkScenes(pl.catalog, []raster.Scene{a.scene}); err != nil {
			return nil, fmt.Errorf("%s period: %w", name, err)
		}
	}
	// The clear masks rank the acquisitions and say how many are enough; a lone one of a
	// period outside a chain is chosen whatever it shows (a pair's two scenes, 0.1 s).
	if !opts.NoMask && (len(acqs) > 1 || ch != nil) {
		// The clear masks are read side by side (a few overview reads each, mostly waiting
		// on storage for remote scenes).
		errs := make([]error, len(acqs))
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for i, a := range acqs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				clear, in, frac, err := raster.ClearMask(ctx, a.scene, pl.grid, aoiUTM, 8)
				if err != nil {
					errs[i] = fmt.Errorf("%s period: rank scenes: %w", name, err)
					return
				}
				a.coverage, a.clear = frac, clear
				if i == 0 {
					inAOI = in
				}
				p.logger().Debug("scene clear over the aoi", "scene", a.scene.ID, "clear", round(frac, 3), "cloud_cover", a.cloud)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(acqs, func(i, j int) bool {
		if ci, cj := acqs[i].coverage, acqs[j].coverage; math.Abs(ci-cj) > 0.01 {
			return ci > cj
		}
		return acqs[i].cloud < acqs[j].cloud
	})
	// choose returns the choice from a period's ranked acquisitions, and whether it is
	// enough: every AOI pixel seen clear as often as the period needs (without masking,
	// opts.MaxScenes acquisitions).
	choose := func(ranked []*acquisition, per jobs.Period) ([]*acquisition, bool) {
		target := max(opts.MinClear, clearTargetOf(per))
		if inAOI != nil && ch != nil {
			return recentSpan(ranked, per, acqDate, func(a *acquisition) []bool { return a.clear }, inAOI, opts.MaxScenes, target)
		}
		ranked = ranked[:min(len(ranked), opts.MaxScenes)]
		if inAOI == nil {
			return ranked, len(ranked) == opts.MaxScenes
		}
		k, met := enoughMet(len(ranked), func(i int) []bool { return ranked[i].clear }, inAOI, target)
		return ranked[:k], met
	}
	if ch != nil {
		var chosenIn time.Time
		acqs, chosenIn = chainChoice(ch, acqs, acqDate, choose)
		if len(acqs) == 0 {
			return nil, fmt.Errorf("%s period %s: %w over aoi %s", name, per, ErrNoScenes, area.ID)
		}
		p.logger().Info("baseline scenes of the chain", "aoi_id", area.ID, "from", ch.first.Format("2006-01"),
			"chosen_in", chosenIn.Format("2006-01"), "scenes", len(acqs))
	} else {
		acqs, _ = choose(acqs, per)
	}
	sort.SliceStable(acqs, func(i, j int) bool { return acqs[i].items[0].Datetime.Before(acqs[j].items[0].Datetime) })
	out := make([]raster.Scene, len(acqs))
	for i, a := range acqs {
		out[i] = a.scene
	}
	return out, nil
}

// clearTarget is the number of clear observations per pixel that is enough: the lower
// median of three rejects one bad observation (haze, an unflagged cloud edge).
const clearTarget = 3

// baselineClearTarget is clearTarget for a long period (a monthly run's baseline window
// of a year): the lower median of five also rejects change of the last months that the
// window already holds (two of five), so a scar that appeared two months ago is still
// seen against the forest it replaced.
const baselineClearTarget = 5

// clearTargetOf is the clear observations per pixel a period needs: baselineClearTarget
// for periods longer than a quarter, else clearTarget.
func clearTargetOf(per jobs.Period) int {
	if per.End.Sub(per.Start) > 92*24*time.Hour {
		return baselineClearTarget
	}
	return clearTarget
}

// recentSpan returns a new choice of the baseline chain, from ranked (the acquisitions of
// period per, best first): the shortest span of the period's last months (one month, two,
// ..., the whole period) whose best maxScenes acquisitions give every AOI pixel target
// clear observations, and of those as many as enough takes, in rank order. The chain
// keeps a choice while all its scenes are inside the next months' windows, which slide a
// month a run, so one from the last months serves the longest (from a year's window, a
// choice of its last three months serves the nine months after); when no span suffices it
// is the choice from the whole period, as for a period outside a chain.
func recentSpan[A any](ranked []A, per jobs.Period, date func(A) time.Time, clear func(A) []bool, inAOI []bool, maxScenes, target int) ([]A, bool) {
	for m := 1; ; m++ {
		start := time.Date(per.End.Year(), per.End.Month()-time.Month(m-1), 1, 0, 0, 0, 0, time.UTC)
		whole := !start.After(per.Start)
		var cand []A
		for _, a := range ranked {
			if (whole || !date(a).Before(start)) && len(cand) < maxScenes {
				cand = append(cand, a)
			}
		}
		k, met := enoughMet(len(cand), func(i int) []bool { return clear(cand[i]) }, inAOI, target)
		if met || whole {
			return cand[:k], met
		}
	}
}

// enoughMet returns how many of the ranked acquisitions to read: in rank order, until
// every AOI pixel (of the coarse clear masks) has target clear observations, or all n are
// taken; and whether the target was met.
func enoughMet(n int, clear func(int) []bool, inAOI []bool, target int) (int, bool) {
	counts := make([]uint8, len(inAOI)) // up to target (at most 16): a byte per pixel
	short := 0
	for _, in := range inAOI {
		if in {
			short++
		}
	}
	for k := 0; k < n; k++ {
		c := clear(k)[:len(inAOI)]
		for i, in := range inAOI {
			if in && c[i] && int(counts[i]) < target {
				if counts[i]++; int(counts[i]) == target {
					short--
				}
			}
		}
		if short == 0 {
			return k + 1, true
		}
	}
	return n, short == 0
}

// acquisitionScene is the scene of the tiles of one acquisition.
func acquisitionScene(items []stac.Item) raster.Scene {
	ids := make([]string, len(items))
	hrefs := make([]string, 0, len(items))
	tiles := make([]map[string]string, len(items))
	for t, it := range items {
		ids[t] = it.ID
		if it.Href != "" {
			hrefs = append(hrefs, it.Href)
		}
		tiles[t] = map[string]string{}
		for _, k := range raster.BandKeys {
			if as, ok := it.Assets[k]; ok {
				tiles[t][k] = as.Href
			}
		}
	}
	first := items[0]
	return raster.Scene{ID: strings.Join(ids, "+"), Date: first.Datetime, Hrefs: tiles[0], More: tiles[1:], DNOffset: first.DNOffset(), Items: hrefs}
}

// assetKeys are the bands a scene needs: all of raster.BandKeys, less the scene
// classification when masking is off (L1C data has none).
func assetKeys(opts jobs.Options) []string {
	keys := raster.BandKeys[:]
	if opts.NoMask {
		return slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "scl" })
	}
	return keys
}

// entryNames are the names of manifest entries.
func entryNames(files []ManifestEntry) []string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	return names
}

func sceneIDs(s []raster.Scene) []string {
	ids := make([]string, len(s))
	for i := range s {
		ids[i] = s[i].ID
	}
	return ids
}

// feature is one output polygon with the attributes the summary needs.
type feature struct {
	raster.Feature
	class  string
	areaHa float64
}

// Schema of the change polygons (the order of the attribute table).
var schema = []raster.Field{
	{Name: "id", Value: ""}, {Name: "class", Value: ""}, {Name: "area_ha", Value: 0.0},
	{Name: "confidence", Value: 0.0}, {Name: "dndvi", Value: 0.0}, {Name: "dnbr", Value: 0.0},
	{Name: "dmndwi", Value: 0.0}, {Name: "dbsi", Value: 0.0},
	{Name: "before_start", Value: time.Time{}}, {Name: "before_end", Value: time.Time{}},
	{Name: "after_start", Value: time.Time{}}, {Name: "after_end", Value: time.Time{}},
	{Name: "n_clear_obs", Value: 0}, {Name: "n_clear_before", Value: 0.0}, {Name: "n_clear_after", Value: 0.0},
	{Name: "scenes", Value: []string{}}, {Name: "aoi_id", Value: ""},
}

func features(area *aoi.AOI, req jobs.DetectRequest, regions []raster.Region) []feature {
	feats := make([]feature, 0, len(regions))
	for _, r := range regions {
		cls := raster.ClassName(r.Class)
		ha := aoi.GeodesicAreaHa(r.Geometry)
		scenes := slices.Concat(r.BeforeScenes, r.AfterScenes)
		f := raster.Feature{Geometry: r.Geometry, Fields: []raster.Field{
			{Name: "id", Value: regionID(area.ID, cls, req, r.AnchorX, r.AnchorY)},
			{Name: "class", Value: cls},
			{Name: "area_ha", Value: round(ha, 4)},
			{Name: "confidence", Value: round(r.Confidence, 3)},
			{Name: "dndvi", Value: round(r.DNDVI, 4)},
			{Name: "dnbr", Value: round(r.DNBR, 4)},
			{Name: "dmndwi", Value: round(r.DMNDWI, 4)},
			{Name: "dbsi", Value: round(r.DBSI, 4)},
			{Name: "before_start", Value: req.Before.Start}, {Name: "before_end", Value: req.Before.End},
			{Name: "after_start", Value: req.After.Start}, {Name: "after_end", Value: req.After.End},
			{Name: "n_clear_obs", Value: int(math.Round(r.ClearBefore + r.ClearAfter))},
			{Name: "n_clear_before", Value: round(r.ClearBefore, 2)},
			{Name: "n_clear_after", Value: round(r.ClearAfter, 2)},
			{Name: "scenes", Value: scenes},
			{Name: "aoi_id", Value: area.ID},
		}}
		feats = append(feats, feature{Feature: f, class: cls, areaHa: ha})
	}
	return feats
}

// regionID is stable: the same place (the region's first pixel on the AOI's grid), class,
// AOI and periods always give the same id.
func regionID(aoiID, class string, req jobs.DetectRequest, x, y float64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%s|%.1f|%.1f", aoiID, class, req.Before, req.After, x, y))
	return "cw-" + hex.EncodeToString(h[:8])
}

// outputs lists the staged files (manifest excluded) in publishing order.
func outputNames() []string {
	return slices.Concat([]string{"changes.fgb", "changes.gpkg", "changes.geojson", "changes.qml"}, rasterFiles(), []string{"quicklook.png", "item.json"})
}
