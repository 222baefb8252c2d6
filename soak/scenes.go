package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/synth"
)

// The periods of every task: synth's pair of dates, one scene each.
var (
	before = jobs.Period{Start: day("2023-01-01"), End: day("2023-01-31")}
	after  = jobs.Period{Start: day("2024-01-01"), End: day("2024-01-31")}
	runDir = "2024-01_2024-01"
)

// corruption is one damaged copy of the catalog: one band file of one scene truncated or
// garbled. A task reading it must fail permanently (archived, not retried).
type corruption struct {
	name  string // catalog prefix and AOI id suffix
	band  string // file name, e.g. B04.tif
	after bool   // the after scene's file, else the before scene's
	cut   bool   // truncated to half, else the middle third overwritten with noise
}

var corruptions = []corruption{
	{"truncated-b04", "B04.tif", true, true},
	{"garbled-b08", "B08.tif", true, false},
	{"truncated-scl", "SCL.tif", false, true},
	{"garbled-scl", "SCL.tif", false, false},
}

// task is one change:detect request of the soak.
type task struct {
	id      string // asynq task id
	aoiID   string
	corrupt string // the corruption's name, "" for a sound task
	req     jobs.DetectRequest
}

// scenes generates the synthetic scene pair under dir and uploads it to the bucket under
// catalog/, and each corrupted copy under corrupt-<name>/.
func (s *run) scenes(ctx context.Context) (*synth.Result, error) {
	b, a := synth.PairDates()
	res, err := synth.Generate(ctx, filepath.Join(s.cfg.Dir, "scenes"), synth.Config{Size: s.cfg.SceneSize, Seed: s.cfg.Seed, Before: b, After: a})
	if err != nil {
		return nil, err
	}
	root := filepath.Join(res.Root, "sentinel-s2-l2a-cogs")
	if err := s.upload(ctx, root, "catalog", nil); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(s.cfg.Seed), 7))
	for _, c := range corruptions[:min(len(corruptions), s.cfg.Corrupt)] {
		id := res.BeforeIDs[0]
		if c.after {
			id = res.AfterIDs[0]
		}
		damage := func(rel string, data []byte) []byte {
			if filepath.Base(rel) != c.band || filepath.Base(filepath.Dir(rel)) != id {
				return data
			}
			if c.cut {
				return data[:len(data)/2]
			}
			out := append([]byte(nil), data...)
			for i := len(out) / 3; i < 2*len(out)/3; i++ {
				out[i] = byte(rng.Uint32())
			}
			return out
		}
		if err := s.upload(ctx, root, "corrupt-"+c.name, damage); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// upload puts every file under root to the bucket below prefix (keeping the layout),
// through damage when it is set.
func (s *run) upload(ctx context.Context, root, prefix string, damage func(rel string, data []byte) []byte) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if damage != nil {
			data = damage(rel, data)
		}
		typ := "application/json"
		if strings.HasSuffix(p, ".tif") {
			typ = "image/tiff"
		}
		key := prefix + "/sentinel-s2-l2a-cogs/" + filepath.ToSlash(rel)
		if err := s.store.Put(ctx, s.bucket, key, data, typ); err != nil {
			return fmt.Errorf("upload %s: %w", key, err)
		}
		return nil
	})
}

// tasks builds the soak's requests: n small square AOIs at random places inside the scene
// (each its own AOI id, so each publishes its own run folder and ledger), the last
// len(corruptions) of them reading a corrupted catalog.
func (s *run) tasks(res *synth.Result) ([]*task, error) {
	g := res.Grid
	rng := rand.New(rand.NewPCG(uint64(s.cfg.Seed), 11))
	side := float64(s.cfg.AOISize) * g.Res
	margin := 60.0
	nCorrupt := min(len(corruptions), s.cfg.Corrupt)
	out := make([]*task, 0, s.cfg.Tasks)
	for i := range s.cfg.Tasks {
		x0 := g.X0 + margin + rng.Float64()*(float64(g.Width)*g.Res-side-2*margin)
		y1 := g.Y0 - margin - rng.Float64()*(float64(g.Height)*g.Res-side-2*margin)
		xs := []float64{x0, x0 + side, x0 + side, x0, x0}
		ys := []float64{y1, y1, y1 - side, y1 - side, y1}
		if err := raster.TransformPoints(g.EPSG, 4326, xs, ys); err != nil {
			return nil, fmt.Errorf("aoi corners to lon/lat: %w", err)
		}
		ring := make([][2]float64, 5)
		for k := range ring {
			ring[k] = [2]float64{round6(xs[k]), round6(ys[k])}
		}
		ring[4] = ring[0]
		// Counter-clockwise (GeoJSON's right-hand rule): corners 0, 3, 2, 1.
		ring = [][2]float64{ring[0], ring[3], ring[2], ring[1], ring[0]}
		t := &task{aoiID: fmt.Sprintf("soak-%04d", i+1)}
		catalog := "catalog"
		if k := i - (s.cfg.Tasks - nCorrupt); k >= 0 {
			t.corrupt = corruptions[k].name
			t.aoiID = "soak-" + corruptions[k].name
			catalog = "corrupt-" + corruptions[k].name
		}
		doc, err := json.Marshal(map[string]any{"type": "Feature",
			"properties": map[string]any{"id": t.aoiID, "name": "soak AOI " + t.aoiID},
			"geometry":   map[string]any{"type": "Polygon", "coordinates": [][][2]float64{ring}}})
		if err != nil {
			return nil, err
		}
		t.req = jobs.DetectRequest{Version: jobs.PayloadVersion, AOIID: t.aoiID, AOIName: "soak AOI " + t.aoiID, AOI: doc,
			Before: before, After: after, Catalog: "s3://" + s.bucket + "/" + catalog,
			Output: "s3://" + s.bucket + "/results/" + t.aoiID + "/" + runDir}
		t.id = t.req.TaskID()
		out = append(out, t)
	}
	return out, nil
}

func round6(v float64) float64 { return float64(int64(v*1e6+0.5*sign(v))) / 1e6 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
