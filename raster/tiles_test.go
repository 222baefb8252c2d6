package raster_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/changewatch/changewatch/raster"
)

// cutTiles splits every band of a scene into two overlapping tiles (columns [0,300) and
// [240,512) of the 10 m grid), the second optionally reprojected to another UTM zone, with
// GDAL's own tools, and returns the hrefs of both.
func cutTiles(t *testing.T, s raster.Scene, dir string, otherZone int) (a, b map[string]string) {
	t.Helper()
	a, b = map[string]string{}, map[string]string{}
	for k, href := range s.Hrefs {
		div := 1
		if k == "swir16" || k == "swir22" || k == "scl" {
			div = 2 // 20 m bands
		}
		pa := filepath.Join(dir, s.ID+"-"+k+"-a.tif")
		pb := filepath.Join(dir, s.ID+"-"+k+"-b.tif")
		run(t, "gdal_translate", "-q", "-srcwin", "0", "0", strconv.Itoa(300/div), strconv.Itoa(512/div), href, pa)
		run(t, "gdal_translate", "-q", "-srcwin", strconv.Itoa(240/div), "0", strconv.Itoa(272/div), strconv.Itoa(512/div), href, pb)
		if otherZone != 0 {
			pz := filepath.Join(dir, s.ID+"-"+k+"-z.tif")
			alg := "bilinear"
			if k == "scl" {
				alg = "near"
			}
			run(t, "gdalwarp", "-q", "-t_srs", "EPSG:"+strconv.Itoa(otherZone), "-r", alg, "-srcnodata", "0", "-dstnodata", "0", pb, pz)
			pb = pz
		}
		a[k], b[k] = pa, pb
	}
	return a, b
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", name, err, out)
	}
}

// An acquisition cut into two overlapping tiles reads into one observation: in the same
// zone the result is exactly the one-tile result; with the second tile in the next UTM
// zone (reprojected there and back), the classes agree on nearly every pixel and the
// regions crossing the tile border come out whole.
func TestMultiTileScenes(t *testing.T) {
	p := synthScenes(t, 512)
	whole, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		zone      int
		minAgree  float64
		regionTol int
	}{{"same zone", 0, 1, 0}, {"two zones", 32636, 0.995, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := p
			split := func(scenes []raster.Scene) []raster.Scene {
				out := make([]raster.Scene, len(scenes))
				for i, s := range scenes {
					a, b := cutTiles(t, s, dir, tt.zone)
					out[i] = s
					out[i].Hrefs, out[i].More = a, []map[string]string{b}
				}
				return out
			}
			q.Before, q.After = split(p.Before), split(p.After)
			tiled, err := raster.Detect(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			agree := 0
			for i := range whole.Class {
				if whole.Class[i] == tiled.Class[i] {
					agree++
				}
			}
			frac := float64(agree) / float64(len(whole.Class))
			t.Logf("classes agree on %.4f of pixels; %d regions tiled, %d whole; observed %d vs %d", frac, len(tiled.Regions), len(whole.Regions), tiled.Observed, whole.Observed)
			if frac < tt.minAgree {
				t.Errorf("classes agree on %.4f of pixels, want >= %.3f", frac, tt.minAgree)
			}
			if d := len(tiled.Regions) - len(whole.Regions); d < -tt.regionTol || d > tt.regionTol {
				t.Errorf("%d regions from tiles, %d from the whole scene", len(tiled.Regions), len(whole.Regions))
			}
			if tiled.NotObserved > whole.NotObserved+whole.Grid.Height*2 {
				t.Errorf("%d pixels not observed from tiles, %d whole", tiled.NotObserved, whole.NotObserved)
			}
		})
	}
}

// ClearFraction ranks the synthetic after scenes by what they show clear: each has its own
// clouds, one a nodata swath; all are mostly clear, none entirely.
func TestClearFraction(t *testing.T) {
	p := synthScenes(t, 512)
	for _, s := range append(p.Before, p.After...) {
		f, err := raster.ClearFraction(context.Background(), s, p.Grid, nil, 8)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.3f clear", s.ID, f)
		if f < 0.5 || f >= 1 {
			t.Errorf("%s: clear fraction %.3f", s.ID, f)
		}
	}
	// a scene that does not cover the grid at all is never clear
	far := p.Grid
	far.X0 += 1e6
	if f, err := raster.ClearFraction(context.Background(), p.After[0], far, nil, 8); err != nil || f != 0 {
		t.Fatalf("scene off the grid: %v %v", f, err)
	}
}
