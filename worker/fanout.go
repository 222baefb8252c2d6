package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/paulmach/orb"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/raster/cog"
)

// FanOut splits big AOIs into chunk tasks that any worker can take. The last chunk to
// finish enqueues the merge, which stitches regions cut by chunk borders and publishes.
// A worker's memory is then bounded by the chunk size, whatever the AOI's.
type FanOut struct {
	Client *asynq.Client // enqueues chunk and merge tasks
	// Pixels is the grid size above which a detect task fans out; 0 means 4080 x 4080.
	Pixels int
	// Chunk is the side of a chunk in pixels, rounded down to a multiple of 6 (60 m, so
	// chunk edges stay on the lattice of the 20 m bands); 0 means 4080.
	Chunk int
}

func (f *FanOut) pixels() int {
	if f.Pixels <= 0 {
		return 4080 * 4080
	}
	return f.Pixels
}

func (f *FanOut) chunk() int {
	c := f.Chunk
	if c <= 0 {
		c = 4080
	}
	return max(6, c/6*6)
}

// runID names a fan-out run; it is derived from the request, so a retried parent task
// plans the same run and its chunk tasks are recognised as already enqueued.
func runID(req jobs.DetectRequest) string {
	h := sha256.Sum256([]byte(req.TaskID()))
	return hex.EncodeToString(h[:8])
}

func toJobScenes(s []raster.Scene) []jobs.Scene {
	out := make([]jobs.Scene, len(s))
	for i, sc := range s {
		out[i] = jobs.Scene{ID: sc.ID, Date: sc.Date, Hrefs: sc.Hrefs, More: sc.More, DNOffset: sc.DNOffset, Items: sc.Items}
	}
	return out
}

func toRasterScenes(s []jobs.Scene) []raster.Scene {
	out := make([]raster.Scene, len(s))
	for i, sc := range s {
		out[i] = raster.Scene{ID: sc.ID, Date: sc.Date, Hrefs: sc.Hrefs, More: sc.More, DNOffset: sc.DNOffset, Items: sc.Items}
	}
	return out
}

// fanOut enqueues the chunk tasks of a planned request and returns their count.
func (h *Handler) fanOut(ctx context.Context, req jobs.DetectRequest, pl *plan, queue string) (int, string, error) {
	chunks := chunkRequests(req, pl, h.FanOut.chunk())
	for i, c := range chunks {
		t, err := jobs.NewChunkTask(c, queue)
		if err != nil {
			return 0, "", err
		}
		if _, err := h.FanOut.Client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return 0, "", fmt.Errorf("enqueue chunk %d of %d: %w", i, len(chunks), err)
		}
	}
	return len(chunks), "merge:" + runID(req), nil
}

// chunkRequests cuts a planned request's grid into side x side chunks.
func chunkRequests(req jobs.DetectRequest, pl *plan, side int) []jobs.ChunkRequest {
	g := pl.grid
	var out []jobs.ChunkRequest
	for row := 0; row < g.Height; row += side {
		for col := 0; col < g.Width; col += side {
			out = append(out, jobs.ChunkRequest{
				Request: req, Run: runID(req), Before: toJobScenes(pl.before), After: toJobScenes(pl.after),
				Index: len(out), Col: col, Row: row, Width: min(side, g.Width-col), Height: min(side, g.Height-row),
			})
		}
	}
	for i := range out {
		out[i].Count = len(out)
	}
	return out
}

// chunkResult is what a chunk leaves for the merge, besides its rasters.
type chunkResult struct {
	// DNDVIScale is the step of the chunk's dndvi.tif: the merge copies raw values, so a
	// chunk written by a worker of another scale (a deploy during a run) is refused.
	DNDVIScale               float64
	Index                    int
	Window                   raster.Window
	Regions                  []raster.Region // label i+1
	Top, Bottom, Left, Right []int32         // labels along the window's edges
	Pixels                   [][]uint32      // each region's pixels, row-major in the window
	Observed, NotObserved    int
	Quicklook                []byte
}

func chunkName(i int, suffix string) string { return fmt.Sprintf("chunk-%05d%s", i, suffix) }

// chunk runs one change:chunk task (see Pipeline.chunk); the chunk that finds every
// chunk done enqueues the merge (its task id is the run's, so racing chunks enqueue it once).
func (h *Handler) chunk(ctx context.Context, t *asynq.Task) error {
	log := h.logger(ctx, t)
	c, err := jobs.DecodeChunkRequest(t.Payload())
	if err != nil {
		log.Warn("refusing task", "err", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	ws, err := h.Pipeline.workspace(c.Request.Output, c.Run)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	done, err := h.Pipeline.chunk(ctx, c, ws, resultProgress(t.ResultWriter(), log))
	if err != nil {
		return h.failed(log, fmt.Errorf("chunk %d of %d: %w", c.Index, c.Count, err))
	}
	log.Info("chunk done", "index", c.Index, "of", c.Count, "chunks_done", done)
	if done < c.Count || h.FanOut == nil {
		return nil
	}
	queue, _ := asynq.GetQueueName(ctx)
	mt, err := jobs.NewMergeTask(jobs.MergeRequest{Request: c.Request, Run: c.Run, Before: c.Before, After: c.After, Count: c.Count}, queue)
	if err != nil {
		return err
	}
	if _, err := h.FanOut.Client.EnqueueContext(ctx, mt); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue merge: %w", err)
	}
	return nil
}

// chunk detects over one chunk's window (regions touching the window edge are kept
// whatever their size: they may continue next door) and leaves its regions, edge labels
// and rasters in the run's workspace. It returns how many chunks of the run are done.
func (p *Pipeline) chunk(ctx context.Context, c jobs.ChunkRequest, ws workspace, progress ProgressFunc) (int, error) {
	defer p.grant(c.Request.Catalog)()
	pl, err := p.parse(c.Request)
	if err != nil {
		return 0, err
	}
	if c.Col+c.Width > pl.grid.Width || c.Row+c.Height > pl.grid.Height {
		return 0, &jobs.BadRequest{Field: "width/height", Problem: fmt.Sprintf("window %d,%d %dx%d is not inside the aoi grid %dx%d",
			c.Col, c.Row, c.Width, c.Height, pl.grid.Width, pl.grid.Height)}
	}
	pl.before, pl.after = toRasterScenes(c.Before), toRasterScenes(c.After)
	if err := p.checkScenes(c.Request.Catalog, append(slices.Clone(pl.before), pl.after...)); err != nil {
		return 0, err
	}
	params := pl.params(progress)
	params.Window = raster.Window{Col: c.Col, Row: c.Row, Width: c.Width, Height: c.Height}
	params.KeepEdgeRegions = true
	g := pl.grid.Sub(c.Col, c.Row, c.Width, c.Height)
	var sink *cogSink
	defer func() {
		if sink != nil {
			sink.discard()
		}
	}()
	res, _, err := p.detectKept(ctx, c.Request.Output, pl, params, params.Window, func() (*cogSink, error) {
		if sink != nil {
			sink.discard()
		}
		var err error
		sink, err = newCOGSink(p.WorkDir, g, true)
		return sink, err
	})
	if err != nil {
		return 0, err
	}
	if err := res.Vectorize(ctx); err != nil {
		return 0, err
	}
	stage, err := os.MkdirTemp(p.WorkDir, "changewatch-chunk-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(stage)
	if err := sink.finish(ctx, stage, res.Dropped); err != nil {
		return 0, err
	}
	if err := writeChunk(ctx, stage, c.Index, params.Window, res, ws); err != nil {
		return 0, err
	}
	names, err := ws.list(ctx)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, n := range names {
		if strings.HasSuffix(n, ".gob") {
			done++
		}
	}
	return done, nil
}

// writeChunk puts a chunk's rasters (staged in stage by its sink), then its result (last:
// its presence means the chunk is complete), into the workspace.
func writeChunk(ctx context.Context, stage string, i int, win raster.Window, res *raster.Result, ws workspace) error {
	w, hgt := win.Width, win.Height
	cr := chunkResult{DNDVIScale: raster.DNDVIScale, Index: i, Window: win, Regions: res.Regions, Observed: res.Observed, NotObserved: res.NotObserved,
		Top: make([]int32, w), Bottom: make([]int32, w), Left: make([]int32, hgt), Right: make([]int32, hgt),
		Pixels: make([][]uint32, len(res.Regions))}
	for r := range res.Regions {
		l := int32(r + 1)
		cr.Pixels[r] = res.RegionPixels(r)
		for _, j := range cr.Pixels[r] {
			x, y := int(j)%w, int(j)/w
			if y == 0 {
				cr.Top[x] = l
			}
			if y == hgt-1 {
				cr.Bottom[x] = l
			}
			if x == 0 {
				cr.Left[y] = l
			}
			if x == w-1 {
				cr.Right[y] = l
			}
		}
	}
	q, err := res.Quicklook.MarshalBinary()
	if err != nil {
		return err
	}
	cr.Quicklook = q
	for _, l := range rasterLayers {
		if err := ws.put(ctx, chunkName(i, "-"+l.file), filepath.Join(stage, l.file)); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(cr); err != nil {
		return fmt.Errorf("encode chunk result: %w", err)
	}
	p := filepath.Join(stage, chunkName(i, ".gob"))
	if err := writeFileAtomic(p, buf.Bytes()); err != nil {
		return err
	}
	return ws.put(ctx, chunkName(i, ".gob"), p)
}

// merge runs one change:merge task: stitch the chunks' regions across chunk borders,
// apply the minimum mapping unit to the stitched regions, assemble the rasters chunk by
// chunk, publish like a single run, then clear the workspace.
func (h *Handler) merge(ctx context.Context, t *asynq.Task) error {
	log := h.logger(ctx, t)
	m, err := jobs.DecodeMergeRequest(t.Payload())
	if err != nil {
		log.Warn("refusing task", "err", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	ws, err := h.Pipeline.workspace(m.Request.Output, m.Run)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	sum, err := h.Pipeline.merge(ctx, m, ws, resultProgress(t.ResultWriter(), log))
	if err != nil {
		return h.failed(log, err)
	}
	data, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	if _, err := t.ResultWriter().Write(data); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := h.afterPublish(ctx, log, m.Request); err != nil {
		return err
	}
	log.Info("merge done", "aoi_id", sum.AOIID, "polygons", sum.Polygons)
	return nil
}

// merge is the merge step proper (no queue involved, so it is testable on its own).
func (p *Pipeline) merge(ctx context.Context, m jobs.MergeRequest, ws workspace, progress ProgressFunc) (*jobs.Summary, error) {
	progress = progress.orNoop()
	tm := newTimer()
	pl, err := p.parse(m.Request)
	if err != nil {
		return nil, err
	}
	pl.before, pl.after = toRasterScenes(m.Before), toRasterScenes(m.After)
	// At most one chunk per 6 x 6 pixels of the grid (chunk sides are multiples of 6).
	if most := ((pl.grid.Width + 5) / 6) * ((pl.grid.Height + 5) / 6); m.Count > most {
		return nil, &jobs.BadRequest{Field: "count", Problem: fmt.Sprintf("%d chunks for a %dx%d grid", m.Count, pl.grid.Width, pl.grid.Height)}
	}
	stage, err := os.MkdirTemp(p.WorkDir, "changewatch-merge-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	progress("merge chunks", 0)
	chunks := make([]chunkResult, m.Count)
	for i := range chunks {
		lp := filepath.Join(stage, chunkName(i, ".gob"))
		if err := ws.get(ctx, chunkName(i, ".gob"), lp); err != nil {
			return nil, fmt.Errorf("merge: chunk %d: %w", i, err)
		}
		data, err := os.ReadFile(lp)
		if err != nil {
			return nil, err
		}
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&chunks[i]); err != nil {
			return nil, fmt.Errorf("merge: decode chunk %d: %w", i, err)
		}
		if w := chunks[i].Window; chunks[i].Index != i || w.Col < 0 || w.Row < 0 || w.Width < 1 || w.Height < 1 ||
			w.Col+w.Width > pl.grid.Width || w.Row+w.Height > pl.grid.Height ||
			len(chunks[i].Top) != w.Width || len(chunks[i].Bottom) != w.Width || len(chunks[i].Left) != w.Height || len(chunks[i].Right) != w.Height ||
			len(chunks[i].Pixels) != len(chunks[i].Regions) {
			return nil, fmt.Errorf("merge: chunk %d: %w: its window or edges do not fit the grid", i, ErrStaleChunk)
		}
		if sc := chunks[i].DNDVIScale; sc != raster.DNDVIScale {
			return nil, fmt.Errorf("merge: chunk %d has dndvi scale %g, this worker writes %g: %w", i, sc, raster.DNDVIScale, ErrStaleChunk)
		}
		os.Remove(lp)
	}
	regions, dropped, err := stitch(pl, chunks)
	if err != nil {
		return nil, err
	}
	tm.lap("stitch")
	out := &result{grid: pl.grid, feats: features(pl.area, m.Request, regions)}
	for i := range chunks {
		var q raster.Quicklook
		if err := q.UnmarshalBinary(chunks[i].Quicklook); err != nil {
			return nil, err
		}
		if out.quicklook == nil {
			out.quicklook = &q
		} else if err := out.quicklook.Merge(&q); err != nil {
			return nil, err
		}
		out.observed += chunks[i].Observed
		out.notObserved += chunks[i].NotObserved
	}
	out.rasters = func(ctx context.Context, dir string) ([]ManifestEntry, error) {
		return nil, mosaicChunks(ctx, dir, pl.grid, chunks, dropped, ws, out.quicklook)
	}
	out.rastersFillQuicklook = true
	sum, err := p.publishResult(ctx, m.Request, pl, out, progress, tm)
	if err != nil {
		return nil, err
	}
	if err := ws.clear(ctx); err != nil {
		p.logger().Warn("workspace not cleared", "run", m.Run, "err", err)
	}
	return sum, nil
}

// partKey names a chunk's region: chunk index, label.
type partKey struct {
	chunk int
	label int32
}

// stitch joins regions of equal class that touch (8-connectivity) across chunk borders,
// aggregates their statistics and geometries, and applies the minimum mapping unit. It
// returns the regions in raster order of their first pixel (the order of a whole-grid
// run) and the chunk regions that were dropped.
func stitch(pl *plan, chunks []chunkResult) ([]raster.Region, map[partKey]bool, error) {
	g := pl.grid
	base := make([]int, len(chunks)+1)
	for i, c := range chunks {
		base[i+1] = base[i] + len(c.Regions)
	}
	parent := make([]int, base[len(chunks)])
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	type px struct{ row, col int }
	type owner struct {
		chunk int
		label int32
	}
	edge := map[px]owner{}
	for i, c := range chunks {
		w := c.Window
		set := func(row, col int, l int32) {
			if l != 0 {
				edge[px{row, col}] = owner{i, l}
			}
		}
		for x := 0; x < w.Width; x++ {
			set(w.Row, w.Col+x, c.Top[x])
			set(w.Row+w.Height-1, w.Col+x, c.Bottom[x])
		}
		for y := 0; y < w.Height; y++ {
			set(w.Row+y, w.Col, c.Left[y])
			set(w.Row+y, w.Col+w.Width-1, c.Right[y])
		}
	}
	for p, o := range edge {
		cls := chunks[o.chunk].Regions[o.label-1].Class
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				q, ok := edge[px{p.row + dy, p.col + dx}]
				if !ok || q.chunk == o.chunk || chunks[q.chunk].Regions[q.label-1].Class != cls {
					continue
				}
				a, b := find(base[o.chunk]+int(o.label)-1), find(base[q.chunk]+int(q.label)-1)
				if a != b {
					parent[max(a, b)] = min(a, b)
				}
			}
		}
	}
	groups := map[int][]partKey{}
	for i, c := range chunks {
		for j := range c.Regions {
			r := find(base[i] + j)
			groups[r] = append(groups[r], partKey{i, int32(j + 1)})
		}
	}
	minPixels := pl.minPixels()
	dropped := map[partKey]bool{}
	type anchored struct {
		raster.Region
		row, col int
	}
	var out []anchored
	for _, parts := range groups {
		var reg anchored
		reg.row, reg.col = math.MaxInt, math.MaxInt
		var geoms []orb.MultiPolygon
		beforeSeen, afterSeen := map[string]bool{}, map[string]bool{}
		reg.MinCol, reg.MinRow = math.MaxInt, math.MaxInt
		for _, k := range parts {
			c := &chunks[k.chunk]
			r := c.Regions[k.label-1]
			reg.Class = r.Class
			reg.Pixels += r.Pixels
			reg.Seeds += r.Seeds
			sums := r
			sums.ScaleStats(float64(r.Pixels))
			reg.AddStats(&sums)
			for _, s := range r.BeforeScenes {
				beforeSeen[s] = true
			}
			for _, s := range r.AfterScenes {
				afterSeen[s] = true
			}
			row := int(math.Floor((g.Y0 - r.AnchorY) / g.Res))
			col := int(math.Floor((r.AnchorX - g.X0) / g.Res))
			if row < reg.row || row == reg.row && col < reg.col {
				reg.row, reg.col, reg.AnchorX, reg.AnchorY = row, col, r.AnchorX, r.AnchorY
			}
			reg.MinCol = min(reg.MinCol, c.Window.Col+r.MinCol)
			reg.MinRow = min(reg.MinRow, c.Window.Row+r.MinRow)
			reg.MaxCol = max(reg.MaxCol, c.Window.Col+r.MaxCol)
			reg.MaxRow = max(reg.MaxRow, c.Window.Row+r.MaxRow)
			geoms = append(geoms, r.Geometry)
		}
		if reg.Pixels < minPixels || reg.Seeds == 0 { // the unit, and weak pixels without a strong one (raster.Detect)
			for _, k := range parts {
				dropped[k] = true
			}
			continue
		}
		reg.ScaleStats(1 / float64(reg.Pixels))
		for _, s := range pl.before {
			if beforeSeen[s.ID] {
				reg.BeforeScenes = append(reg.BeforeScenes, s.ID)
			}
		}
		for _, s := range pl.after {
			if afterSeen[s.ID] {
				reg.AfterScenes = append(reg.AfterScenes, s.ID)
			}
		}
		geom, err := raster.UnionMultiPolygons(geoms)
		if err != nil {
			return nil, nil, err
		}
		reg.Geometry = geom
		out = append(out, reg)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].row != out[j].row {
			return out[i].row < out[j].row
		}
		return out[i].col < out[j].col
	})
	regions := make([]raster.Region, len(out))
	for i := range out {
		regions[i] = out[i].Region
		regions[i].Label = int32(i + 1)
	}
	return regions, dropped, nil
}

// mosaicChunks assembles the output rasters (change_class.tif with the regions dropped
// by the stitched minimum mapping unit cleared, dndvi.tif, clear_before.tif,
// clear_after.tif, the true-colour before_rgb.tif and after_rgb.tif) from the chunks'
// rasters, one chunk in memory at a time, and counts the final classes into the quicklook.
func mosaicChunks(ctx context.Context, dir string, g raster.Grid, chunks []chunkResult, dropped map[partKey]bool, ws workspace, ql *raster.Quicklook) error {
	ms := make([]*cog.Mosaic, len(rasterLayers))
	for i, l := range rasterLayers {
		m, err := cog.NewMosaic(filepath.Join(dir, l.file), cog.Grid(g), l.sample, l.opts)
		if err != nil {
			return err
		}
		defer m.Discard()
		ms[i] = m
	}
	for i, c := range chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		w := c.Window
		for li, l := range rasterLayers {
			n := w.Width * w.Height * l.pixelSamples()
			data := reflect.MakeSlice(reflect.TypeOf(l.sample), n, n).Interface()
			if err := readChunkFile(ctx, dir, ws, chunkName(i, "-"+l.file), data, w); err != nil {
				return err
			}
			if li == 0 { // change classes: clear the regions the stitched minimum mapping unit dropped
				class := data.([]uint8)
				for r, pix := range c.Pixels {
					if dropped[partKey{i, int32(r + 1)}] {
						for _, j := range pix {
							class[j] = raster.ClassNone
						}
					}
				}
				ql.AddClasses(w.Col, w.Row, w.Width, class)
			}
			if err := ms[li].Write(w.Col, w.Row, w.Width, w.Height, data); err != nil {
				return err
			}
		}
	}
	for i := range rasterLayers {
		if err := ms[i].Finish(ctx); err != nil {
			return err
		}
	}
	return nil
}

// readChunkFile fetches a chunk's raster from the workspace and reads it into dst.
func readChunkFile(ctx context.Context, dir string, ws workspace, name string, dst any, w raster.Window) error {
	lp := filepath.Join(dir, name)
	if err := ws.get(ctx, name, lp); err != nil {
		return fmt.Errorf("merge: %s: %w", name, err)
	}
	defer os.Remove(lp)
	if err := raster.ReadWindowFile(lp, dst, w.Width, w.Height); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// workspace holds a fan-out run's intermediate files next to its output:
// <output>/.work/<run>/. Each put is atomic (rename, or one S3 PUT).
type workspace interface {
	put(ctx context.Context, name, localPath string) error
	get(ctx context.Context, name, localPath string) error
	list(ctx context.Context) ([]string, error)
	clear(ctx context.Context) error
}

func (p *Pipeline) workspace(output, run string) (workspace, error) {
	if strings.HasPrefix(output, "s3://") {
		if p.Store == nil {
			return nil, &jobs.BadRequest{Field: "output", Problem: "an s3:// output needs object storage to be configured"}
		}
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(output, "s3://"), "/")
		return &s3Workspace{store: p.Store, bucket: bucket, prefix: path.Join(strings.Trim(prefix, "/"), ".work", run) + "/"}, nil
	}
	return &dirWorkspace{dir: filepath.Join(output, ".work", run)}, nil
}

type dirWorkspace struct{ dir string }

func (d *dirWorkspace) put(ctx context.Context, name, localPath string) error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	return copyFileAtomic(localPath, filepath.Join(d.dir, name))
}

func (d *dirWorkspace) get(ctx context.Context, name, localPath string) error {
	return copyFileAtomic(filepath.Join(d.dir, name), localPath)
}

func (d *dirWorkspace) list(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (d *dirWorkspace) clear(ctx context.Context) error {
	if err := os.RemoveAll(d.dir); err != nil {
		return err
	}
	os.Remove(filepath.Dir(d.dir)) // .work, when no other run uses it
	return nil
}

type s3Workspace struct {
	store          Store
	bucket, prefix string
}

func (s *s3Workspace) put(ctx context.Context, name, localPath string) error {
	return s.store.PutFile(ctx, s.bucket, s.prefix+name, localPath, "application/octet-stream")
}

func (s *s3Workspace) get(ctx context.Context, name, localPath string) error {
	return s.store.GetFile(ctx, s.bucket, s.prefix+name, localPath)
}

func (s *s3Workspace) list(ctx context.Context) ([]string, error) {
	keys, err := s.store.List(ctx, s.bucket, s.prefix)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		keys[i] = strings.TrimPrefix(keys[i], s.prefix)
	}
	return keys, nil
}

func (s *s3Workspace) clear(ctx context.Context) error {
	keys, err := s.store.List(ctx, s.bucket, s.prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.store.Delete(ctx, s.bucket, k); err != nil {
			return err
		}
	}
	return nil
}
