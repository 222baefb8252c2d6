// Package synth generates realistic synthetic Sentinel-2 L2A scene pairs in the Earth Search
// v1 layout (COGs + STAC item JSON) over a tropical-forest site, with planted land-cover
// change, decoys that must not be reported, and the ground truth (truth.tif, truth.geojson)
// in the form docs/contracts.md fixes. Tests, the demo and benchmarks use it; generated
// files are never committed.
//
// What a site contains, per 1024 x 1024 block (counts scale with the AOI area, sizes do not):
//
//   - land: closed forest with canopy texture, a meandering river 30-60 m wide, 3 green grass
//     patches, a village (stable bare); none of it changes.
//   - change (after dates only; truth classes 1-3): 8 laterite mining scars of 0.3-15 ha
//     (one with a mining pond inside, the pond is a hole of the scar), 3 turbid mining ponds
//     of 0.25-3 ha in all, one 20 m wide track 2-3 km long, one burn scar of 5-14 ha.
//   - decoys (truth class 0, at least 200 m from any change): 2 grass patches browned on the
//     after dates (seasonal_browning), a forest patch at half illumination on every after
//     date (illumination), an unflagged haze patch on one after scene (haze), a cloud whose
//     unflagged bright rim (cloud_edge) and shadow penumbra (cloud_shadow_rim) are recorded.
//   - sky: partly cloudy after scenes (about 10, 14 and 6 % thick cloud; cores flagged
//     SCL 8/9, shadows SCL 3, rims and penumbrae not flagged), light clouds and thin cirrus
//     (SCL 10) on the before scenes, a nodata swath on the last after scene, rare SCL 7.
//     Cloud footprints never overlap across the scenes of a period, so every pixel is clear
//     on at least one after scene when there are three or more.
//   - radiometry: after = 1.03*before + 0.006 in every band, +-3 % seasonal change of
//     vegetation per date, 2-6 % per-pixel noise, DN = 10000*reflectance + 1000 from
//     processing baseline 04.00.
//
// Sizes 512 and up carry every object type; 256 works but may lack some. The package is
// pure Go apart from writing (and transforming coordinates) through package raster.
package synth

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/raster/cog"
)

// Config describes a synthetic site. The zero value of each field takes the default.
type Config struct {
	// Size is the number of 10 m pixels per side (default 1024). It must be even (the 20 m
	// bands are Size/2) and at least 256. Works up to a full 10980 tile; 5490 takes well
	// under a minute on two cores.
	Size int
	// Seed makes the output deterministic: the same Config gives byte-identical bands.
	Seed int64
	// CenterLon, CenterLat is the centre of the grid (default 28.139, 1.317: the IPIS gold
	// mining site "Muchacha" inside the Okapi Wildlife Reserve, Ituri, DR Congo; UTM 35N).
	CenterLon, CenterLat float64
	// Before and After are the acquisition dates of the two periods (defaults 2023-01-14,
	// 2023-02-08 and 2024-01-09, 2024-02-13, 2024-03-04).
	Before, After []time.Time
	// Growth makes the after dates a time series in which change appears and grows (see
	// series.go); without it every change object is whole on every after date.
	Growth bool
	// Overcast are after dates whose scene is mostly under thick, flagged cloud.
	Overcast []time.Time
	// Baseline is s2:processing_baseline (default "05.09"). From "04.00" on, digital numbers
	// carry the BOA offset: DN = reflectance*10000 + 1000.
	Baseline string
	// Hard adds mixed edge pixels, wet spoil, turbid ponds, regrowth, burn severity, narrow
	// roads and small clearings (hard.go) to the default objects.
	Hard bool
}

// Object is one planted object of the truth.
type Object struct {
	Name  string // e.g. "scar-03"
	Kind  string // "change" or "decoy"
	Class string // vegetation_to_bare, vegetation_to_water, burn_scar, or the decoy type
	// Ring is the outer ring in UTM metres (the grid's EPSG), closed, counter-clockwise.
	Ring [][2]float64
	// Holes are inner rings (clockwise): the pond inside a scar is a hole of the scar; the
	// cloud-edge and shadow-rim decoys are rings around their flagged core.
	Holes [][][2]float64
	// AreaHa is Pixels * 0.01 ha (10 m pixels).
	AreaHa float64
	// Pixels is the number of 10 m pixels whose centre is inside the polygon.
	Pixels int
	// Scene is the item id of the only scene a decoy appears in (haze, cloud edge, shadow
	// rim); empty when the object is on every after scene.
	Scene string
}

// Result says where everything was written.
type Result struct {
	Root                  string   // dir: the root under which sentinel-s2-l2a-cogs/ lies
	ItemPaths             []string // item JSON files, before scenes then after scenes
	BeforeIDs, AfterIDs   []string
	TruthGeoJSON          string
	TruthTIF              string
	TruthFractionTIF      string // hard mode: covered fraction of planted change, percent
	AOIGeoJSON            string
	Grid                  raster.Grid // the 10 m grid of the scenes
	Objects               []Object
	TileID                string // MGRS tile, e.g. "35NPB"
	SwathID               string // item id of the after scene with a nodata swath ("" if none)
	HazeIDs, CloudEdgeIDs []string
}

// Default site and dates.
const (
	DefaultLon      = 28.139
	DefaultLat      = 1.317
	DefaultSize     = 1024
	DefaultBaseline = "05.09"
)

// PairDates are one before and one after date (the first default of each period): a pair
// of single scenes, whose after scene alone sees the after period.
func PairDates() (before, after []time.Time) {
	return []time.Time{day(2023, 1, 14)}, []time.Time{day(2024, 1, 9)}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func (c Config) withDefaults() (Config, error) {
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.CenterLon == 0 && c.CenterLat == 0 {
		c.CenterLon, c.CenterLat = DefaultLon, DefaultLat
	}
	if len(c.Before) == 0 {
		c.Before = []time.Time{day(2023, 1, 14), day(2023, 2, 8)}
	}
	if len(c.After) == 0 {
		c.After = []time.Time{day(2024, 1, 9), day(2024, 2, 13), day(2024, 3, 4)}
	}
	if c.Baseline == "" {
		c.Baseline = DefaultBaseline
	}
	if c.Size < 256 || c.Size%2 != 0 || c.Size > 10980 {
		return c, fmt.Errorf("synth: size %d must be even and within 256..10980", c.Size)
	}
	if math.Abs(c.CenterLat) > 80 || math.Abs(c.CenterLon) > 180 {
		return c, fmt.Errorf("synth: centre %g,%g out of the UTM domain", c.CenterLon, c.CenterLat)
	}
	if _, err := baselineOffset(c.Baseline); err != nil {
		return c, err
	}
	return c, nil
}

// baselineOffset is the DN offset of a processing baseline: 1000 from 04.00 on (ESA,
// "Sentinel-2: new processing baseline 04.00", 25 January 2022), else 0.
func baselineOffset(b string) (float32, error) {
	v, err := strconv.ParseFloat(b, 64)
	if err != nil || !strings.Contains(b, ".") {
		return 0, fmt.Errorf("synth: processing baseline %q is not like \"05.09\"", b)
	}
	if v >= 4 {
		return 1000, nil
	}
	return 0, nil
}

// scene is one acquisition.
type scene struct {
	idx      int // index in all scenes (before then after)
	after    bool
	afterIdx int // index among the after scenes, -1 for before scenes
	date     time.Time
	platform string
	id       string
	sunAz    float64
	sunEl    float64
	dir      string
	green    float32 // seasonal greening (+) / browning (-) of vegetation, relative
	plan     scenePlan
}

// Generate writes a synthetic site under dir (created if needed) and returns what it
// wrote. The output depends only on cfg.
func Generate(ctx context.Context, dir string, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	n := cfg.Size
	seed := uint64(cfg.Seed)

	// Grid: UTM zone of the centre, 10 m, top-left corner on a multiple of 60 m like the
	// Sentinel-2 tile origins (so 10, 20 and 60 m pixels of real tiles share its edges).
	zone := utmZone(cfg.CenterLon)
	epsg := utmEPSG(zone, cfg.CenterLat)
	cx, cy := []float64{cfg.CenterLon}, []float64{cfg.CenterLat}
	if err := raster.TransformPoints(4326, epsg, cx, cy); err != nil {
		return nil, fmt.Errorf("synth: centre to utm: %w", err)
	}
	half := float64(n) * 10 / 2
	grid := raster.Grid{EPSG: epsg, Res: 10, Width: n, Height: n,
		X0: math.Round((cx[0]-half)/60) * 60, Y0: math.Round((cy[0]+half)/60) * 60}
	gcx, gcy := grid.X0+half, grid.Y0-half
	band := latitudeBand(cfg.CenterLat)
	// EPSG:327zz northings already carry the 10,000 km false northing MGRS lettering uses.
	square := mgrsSquare(zone, gcx, gcy)
	tile := fmt.Sprintf("%d%s%s", zone, band, square)

	// Scenes.
	var scenes []*scene
	seq := map[string]int{}
	for i, d := range append(append([]time.Time{}, cfg.Before...), cfg.After...) {
		s := &scene{idx: i, after: i >= len(cfg.Before), afterIdx: i - len(cfg.Before), date: overpassUTC(d, cfg.CenterLon)}
		if !s.after {
			s.afterIdx = -1
		}
		s.platform = platformFor(d)
		key := s.platform + s.date.Format("20060102")
		s.id = itemID(s.platform, tile, s.date, seq[key])
		seq[key]++
		s.sunAz, s.sunEl = sunPosition(s.date, cfg.CenterLon, cfg.CenterLat)
		s.dir = itemDir(dir, zone, band, square, s)
		scenes = append(scenes, s)
	}
	var after []*scene
	for _, s := range scenes {
		if s.after {
			after = append(after, s)
		}
	}
	swath := -1 // index in scenes of the scene with a nodata swath
	if len(after) >= 3 {
		swath = after[len(after)-1].idx
	}

	// Layout: the static land cover and the planted objects.
	rngLayout := rand.New(rand.NewPCG(seed, 0x6c61796f7574)) // "layout"
	var rngHard *rand.Rand
	if cfg.Hard {
		rngHard = rand.New(rand.NewPCG(seed, 0x68617264)) // "hard"
	}
	lay, err := planLayout(rngLayout, rngHard, n, scenes, swath)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Clouds, cirrus, haze and swath of each scene.
	rngSky := rand.New(rand.NewPCG(seed, 0x736b79)) // "sky"
	planSky(rngSky, n, scenes, swath, lay)
	for _, s := range scenes {
		if s.after && isOvercast(s, cfg.Overcast) {
			s.plan.clouds = append(s.plan.clouds, overcastClouds(rngSky, n, s)...)
		}
	}
	for _, s := range scenes {
		s.green = float32(rngSky.Float64()*0.06 - 0.03) // +-3 % seasonal vegetation change
	}

	tex, err := makeTexture(ctx, mix64(seed^0x746578), n, n)
	if err != nil {
		return nil, err
	}
	offset, _ := baselineOffset(cfg.Baseline)
	res := &Result{Root: dir, Grid: grid, TileID: tile}
	rd := &renderer{n: n, cover: lay.cover, mix: lay.mix, tex: tex, seed: seed, offset: offset}
	stage, nStages := stages(scenes, cfg.Overcast)
	for _, s := range scenes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.idx == swath {
			res.SwathID = s.id
		}
		if cfg.Growth {
			rd.cover = lay.coverAt(s.after, stage[s.afterIdx], nStages)
		}
		hist, err := rd.writeScene(ctx, s, grid)
		if err != nil {
			return nil, fmt.Errorf("synth: scene %s: %w", s.id, err)
		}
		item, err := makeItem(s, grid, cfg, zone, band, square, hist)
		if err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		path := filepath.Join(s.dir, s.id+".json")
		if err := writeJSON(path, item); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		res.ItemPaths = append(res.ItemPaths, path)
		if s.after {
			res.AfterIDs = append(res.AfterIDs, s.id)
		} else {
			res.BeforeIDs = append(res.BeforeIDs, s.id)
		}
	}

	// Truth.
	truth := make([]uint8, n*n)
	for i, c := range lay.cover {
		truth[i] = truthClass[c]
	}
	res.TruthTIF = filepath.Join(dir, "truth.tif")
	if err := cog.Write(ctx, res.TruthTIF, cog.Grid(grid), truth, 255, "NEAREST"); err != nil {
		return nil, fmt.Errorf("synth: truth: %w", err)
	}
	if lay.mix != nil {
		res.TruthFractionTIF = filepath.Join(dir, "truth_fraction.tif")
		if err := cog.Write(ctx, res.TruthFractionTIF, cog.Grid(grid), lay.truthFraction(), 255, "AVERAGE"); err != nil {
			return nil, fmt.Errorf("synth: truth fraction: %w", err)
		}
	}
	for _, o := range lay.objects {
		obj := o.Object
		obj.Ring = toUTM(grid, o.rings[0])
		for _, h := range o.rings[1:] {
			obj.Holes = append(obj.Holes, toUTM(grid, h))
		}
		orient(&obj)
		if o.scene >= 0 {
			obj.Scene = scenes[o.scene].id
			switch obj.Class {
			case "haze":
				res.HazeIDs = appendUnique(res.HazeIDs, obj.Scene)
			case "cloud_edge":
				res.CloudEdgeIDs = appendUnique(res.CloudEdgeIDs, obj.Scene)
			}
		}
		res.Objects = append(res.Objects, obj)
	}
	res.TruthGeoJSON = filepath.Join(dir, "truth.geojson")
	if err := writeTruth(res.TruthGeoJSON, grid, res.Objects); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	res.AOIGeoJSON = filepath.Join(dir, "aoi.geojson")
	if err := writeAOI(res.AOIGeoJSON, grid, cfg.Seed, tile); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	return res, nil
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// toUTM converts a pixel-coordinate ring to grid CRS metres.
func toUTM(g raster.Grid, r []pt) [][2]float64 {
	out := make([][2]float64, len(r))
	for i, p := range r {
		out[i] = [2]float64{g.X0 + p[0]*g.Res, g.Y0 - p[1]*g.Res}
	}
	return out
}

// orient makes the outer ring counter-clockwise and holes clockwise (RFC 7946 3.1.6).
func orient(o *Object) {
	if ringArea(o.Ring) < 0 {
		slices.Reverse(o.Ring)
	}
	for _, h := range o.Holes {
		if ringArea(h) > 0 {
			slices.Reverse(h)
		}
	}
}

// parallelRows runs fn over strips of rows [r0,r1) of 0..h on GOMAXPROCS goroutines and
// stops handing out strips when ctx is done.
func parallelRows(ctx context.Context, h int, fn func(r0, r1 int)) error {
	const strip = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), (h+strip-1)/strip)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				r0 := int(next.Add(strip)) - strip
				if r0 >= h {
					return
				}
				fn(r0, min(h, r0+strip))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}
