package worker

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/raster/cog"
)

// Small patches as real mining patch pairs come: 48 x 48 px COGs (10 m; B11 and B12 at
// 20 m, 24 x 24), six bands and no SCL, processing baseline 03.00 (no DN offset), one
// yearly composite per period, an AOI of 42 x 42 px inside, detect with no mask.

// patchSpectra are the surfaces the patches are made of (B02 B03 B04 B08 B11 B12): the
// synth package's values (synth/spectra.go, with their sources).
var patchSpectra = map[string][6]float64{
	"forest":   {0.025, 0.045, 0.025, 0.32, 0.15, 0.065},
	"grass":    {0.04, 0.07, 0.06, 0.30, 0.22, 0.12},
	"browned":  {0.06, 0.09, 0.11, 0.26, 0.30, 0.20},
	"laterite": {0.09, 0.13, 0.19, 0.25, 0.33, 0.27},
	"wetspoil": {0.05, 0.07, 0.105, 0.14, 0.15, 0.11},
	"turbid":   {0.08, 0.12, 0.16, 0.13, 0.10, 0.06},
	// pasture after forest clearing: green, NDVI about 0.7 (grass in leaf)
	"pasture": {0.035, 0.065, 0.045, 0.29, 0.19, 0.095},
	// path radiance of thin haze, added (synth's hazeAdd)
	"haze": {0.12, 0.09, 0.07, 0.04, 0.015, 0.008},
}

// patchPixel returns the after surface mixture of pixel (x, y) of a patch: a weight per
// surface.
type patchPixel func(x, y int, rng *rand.Rand) map[string]float64

// writePatch writes one date of a patch (bands from the mixture mix, relative noise 3 %)
// and its STAC item into dir.
func writePatch(t *testing.T, dir, id, datetime string, g raster.Grid, lonlat [][2]float64, mix patchPixel, seed uint64) {
	t.Helper()
	const n = 48
	rng := rand.New(rand.NewPCG(seed, 1))
	refl := make([][6]float64, n*n)
	for y := range n {
		for x := range n {
			for s, w := range mix(x, y, rng) {
				for b, v := range patchSpectra[s] {
					refl[y*n+x][b] += w * v
				}
			}
		}
	}
	files := []string{"B02", "B03", "B04", "B08", "B11", "B12"}
	keys := []string{"blue", "green", "red", "nir", "swir16", "swir22"}
	assets := map[string]any{}
	for b, f := range files {
		gg, side := g, n
		if b >= 4 {
			gg.Res, gg.Width, gg.Height, side = 20, n/2, n/2, n/2
		}
		dn := make([]uint16, side*side)
		for y := range side {
			for x := range side {
				var v float64
				if side == n {
					v = refl[y*n+x][b]
				} else { // a 20 m pixel is the mean of its four 10 m cells
					for k := range 4 {
						v += refl[(2*y+k/2)*n+2*x+k%2][b] / 4
					}
				}
				v *= 1 + 0.03*rng.NormFloat64()
				dn[y*side+x] = uint16(max(1, math.Round(v*10000)))
			}
		}
		path := filepath.Join(dir, id, f+".tif")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := cog.Write(context.Background(), path, cog.Grid(gg), dn, 0, "AVERAGE"); err != nil {
			t.Fatal(err)
		}
		assets[keys[b]] = map[string]any{"href": "./" + id + "/" + f + ".tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized"}
	}
	ring := append(append([][2]float64{}, lonlat...), lonlat[0])
	item := map[string]any{
		"type": "Feature", "stac_version": "1.0.0", "id": id, "collection": "sentinel-2-l2a",
		"bbox":     []float64{lonlat[0][0], lonlat[1][1], lonlat[2][0], lonlat[0][1]},
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][2]float64{ring}},
		"properties": map[string]any{"datetime": datetime, "s2:processing_baseline": "03.00", "mgrs:utm_zone": 35,
			"mgrs:latitude_band": "N", "mgrs:grid_square": "PB", "eo:cloud_cover": 0},
		"assets": assets,
	}
	b, err := json.Marshal(item)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// inBlob reports whether (x, y) is inside an irregular blob of radius r around (cx, cy).
func inBlob(x, y int, cx, cy, r float64) bool {
	dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
	th := math.Atan2(dy, dx)
	return math.Hypot(dx, dy) < r*(1+0.2*math.Sin(3*th)+0.1*math.Cos(5*th))
}

// TestSmallPatchesNoSCL runs detect --no-mask on 48 x 48 px patch pairs without SCL, like
// the real mining patches issue 11 describes: a mining patch whose ground is the dull,
// mixed mosaic the rules used to miss (wet spoil, regrowth on spoil, turbid water, forest
// left in the pixel: NDVI after 0.12-0.55, BSI about 0, red 0.08-0.23, MNDWI below 0) must
// report mining-type change (vegetation_to_bare or vegetation_to_water, 0.2 ha or more);
// patches of other change (forest to pasture, browning grass, an unflagged shadow or haze on
// the after composite) must not.
func TestSmallPatchesNoSCL(t *testing.T) {
	raster.Init(raster.S3Config{})
	forest := func(int, int, *rand.Rand) map[string]float64 { return map[string]float64{"forest": 1} }
	grass := func(int, int, *rand.Rand) map[string]float64 { return map[string]float64{"grass": 1} }
	// The missed mining ground: a pit of about 1.3 ha, each pixel a random mixture.
	mining := func(x, y int, rng *rand.Rand) map[string]float64 {
		if !inBlob(x, y, 24, 24, 6.5) {
			return map[string]float64{"forest": 1}
		}
		f := 0.1 + 0.3*rng.Float64() // forest or regrowth left in the pixel
		rest := 1 - f
		w := map[string]float64{"forest": f / 2, "grass": f / 2}
		switch rng.IntN(4) {
		case 0:
			w["wetspoil"] = rest
		case 1:
			w["wetspoil"], w["laterite"] = rest/2, rest/2
		case 2:
			w["turbid"], w["wetspoil"] = rest/2, rest/2
		default:
			w["laterite"], w["grass"] = rest*0.6, w["grass"]+rest*0.4
		}
		return w
	}
	inside := func(base, patch map[string]float64, r float64) patchPixel {
		return func(x, y int, _ *rand.Rand) map[string]float64 {
			if inBlob(x, y, 24, 24, r) {
				return patch
			}
			return base
		}
	}
	scaled := func(p patchPixel, k float64) patchPixel {
		return func(x, y int, rng *rand.Rand) map[string]float64 {
			w := p(x, y, rng)
			if inBlob(x, y, 24, 24, 9) {
				for s := range w {
					w[s] *= k
				}
			}
			return w
		}
	}
	hazy := func(x, y int, _ *rand.Rand) map[string]float64 {
		if inBlob(x, y, 24, 24, 10) {
			return map[string]float64{"forest": 1, "haze": 0.6}
		}
		return map[string]float64{"forest": 1}
	}
	tests := []struct {
		name           string
		before, after  patchPixel
		wantMiningType bool
	}{
		{"mining: dull mixed ground", forest, mining, true},
		{"mining: wet spoil pit", forest, inside(map[string]float64{"forest": 1}, map[string]float64{"wetspoil": 0.8, "forest": 0.2}, 5), true},
		{"mining: turbid pond", forest, inside(map[string]float64{"forest": 1}, map[string]float64{"turbid": 0.9, "forest": 0.1}, 4), true},
		{"forest to pasture", forest, inside(map[string]float64{"forest": 1}, map[string]float64{"pasture": 1}, 10), false},
		{"seasonal browning of grass", grass, inside(map[string]float64{"grass": 1}, map[string]float64{"browned": 1}, 12), false},
		{"unflagged shadow on forest", forest, scaled(forest, 0.4), false},
		{"unflagged haze on forest", forest, hazy, false},
		{"nothing", forest, forest, false},
	}
	// The grid: UTM 35N, 10 m, corners on the 60 m lattice; the AOI is 42 x 42 px inside.
	g := raster.Grid{EPSG: 32635, Res: 10, Width: 48, Height: 48, X0: 403680, Y0: 145680}
	corners := func(inset float64) [][2]float64 {
		// counter-clockwise from the top-left corner: top-left, bottom-left, bottom-right, top-right
		xs := []float64{g.X0 + inset, g.X0 + inset, g.X0 + 480 - inset, g.X0 + 480 - inset}
		ys := []float64{g.Y0 - inset, g.Y0 - 480 + inset, g.Y0 - 480 + inset, g.Y0 - inset}
		if err := raster.TransformPoints(g.EPSG, 4326, xs, ys); err != nil {
			t.Fatal(err)
		}
		out := make([][2]float64, 4)
		for i := range out {
			out[i] = [2]float64{xs[i], ys[i]}
		}
		return out
	}
	footprint, aoiRing := corners(0), corners(30)
	aoi, err := json.Marshal(map[string]any{"type": "Polygon", "coordinates": [][][2]float64{append(aoiRing, aoiRing[0])}})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := jobs.ParsePeriod("2019-01-01/2019-12-31")
	after, _ := jobs.ParsePeriod("2021-01-01/2021-12-31")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, out := t.TempDir(), t.TempDir()
			writePatch(t, cat, "S2A_35NPB_20190701_0_L2A", "2019-07-01T08:30:00Z", g, footprint, tt.before, uint64(2*i))
			writePatch(t, cat, "S2A_35NPB_20210701_0_L2A", "2021-07-01T08:30:00Z", g, footprint, tt.after, uint64(2*i+1))
			p := &Pipeline{}
			sum, err := p.Detect(context.Background(), jobs.DetectRequest{
				Version: jobs.PayloadVersion, AOI: aoi, Before: before, After: after,
				Catalog: cat, Output: out, Options: jobs.Options{NoMask: true},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ha := sum.Hectares[raster.ClassName(raster.ClassBare)] + sum.Hectares[raster.ClassName(raster.ClassWater)]
			t.Logf("%v ha by class, %v polygons", sum.Hectares, sum.Polygons)
			if got := ha >= 0.2; got != tt.wantMiningType {
				t.Errorf("mining-type change %.2f ha, want reported: %v", ha, tt.wantMiningType)
			}
			if !tt.wantMiningType && len(sum.Hectares) > 0 {
				for c, h := range sum.Hectares {
					if h > 0 {
						t.Errorf("%s: %.2f ha reported on a patch without change the rules should report", c, h)
					}
				}
			}
		})
	}
}
