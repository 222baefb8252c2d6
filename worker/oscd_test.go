package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/access"
	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
)

// oscdItem wraps one OSCD date (L1C, no SCL, EPSG:4326 files) in a STAC item so the real
// pair goes through the same catalog and pipeline as everything else.
func oscdItem(t *testing.T, dir, id, datetime, data string) {
	t.Helper()
	keys := map[string]string{"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12"}
	assets := map[string]any{}
	for k, b := range keys {
		assets[k] = map[string]any{"href": filepath.Join(data, b+".tif"), "type": "image/tiff"}
	}
	item := map[string]any{
		"type": "Feature", "stac_version": "1.0.0", "id": id, "collection": "sentinel-2-l2a",
		"bbox": []float64{-48.0498, -15.8597, -48.0016, -15.8164},
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][]float64{{
			{-48.0498, -15.8597}, {-48.0016, -15.8597}, {-48.0016, -15.8164}, {-48.0498, -15.8164}, {-48.0498, -15.8597}}}},
		"properties": map[string]any{"datetime": datetime, "s2:processing_baseline": "02.04", "mgrs:utm_zone": 22,
			"mgrs:latitude_band": "L", "mgrs:grid_square": "HH", "eo:cloud_cover": 0},
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

// TestOSCDAguasClaras runs detect on the real OSCD pair (Sentinel-2 L1C, 2015 / 2017, no
// SCL: masking off, EPSG:4326 files warped onto the AOI's UTM grid) and scores it against
// the dataset's reference change map, next to a plain dNDVI threshold on the same pixels.
// OSCD's changes are urban (buildings, roads) on dry-season savanna whose NDVI is below
// the "vegetated before" threshold of our forest-loss rules, so our recall there is low by
// design; the figures are printed for the record (README, "Accuracy").
func TestOSCDAguasClaras(t *testing.T) {
	raster.Init(raster.S3Config{})
	oscd := filepath.Join(testenv.SharedData(t), "sentinel2/oscd_aguasclaras")
	cat := t.TempDir()
	oscdItem(t, cat, "S2A_22LHH_20150916_0_L1C", "2015-09-16T13:30:00Z", filepath.Join(oscd, "20150916"))
	oscdItem(t, cat, "S2A_22LHH_20171015_0_L1C", "2017-10-15T13:32:21Z", filepath.Join(oscd, "20171015"))
	out := t.TempDir()
	aoiJSON, err := os.ReadFile(filepath.Join(oscd, "footprint.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := jobs.ParsePeriod("2015-09-01/2015-09-30")
	after, _ := jobs.ParsePeriod("2017-10-01/2017-10-31")
	p := &Pipeline{Access: &access.Policy{Allow: []string{oscd}}} // the items point into the shared data
	sum, err := p.Detect(context.Background(), jobs.DetectRequest{
		Version: jobs.PayloadVersion, AOI: aoiJSON, Before: before, After: after,
		Catalog: cat, Output: out, Options: jobs.Options{NoMask: true},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	truth := filepath.Join(oscd, "change_label/aguasclaras-cm_georef.tif")
	ours, err := raster.ScoreRaster(context.Background(), truth, 2, filepath.Join(out, "changes.fgb"))
	if err != nil {
		t.Fatal(err)
	}

	// Plain dNDVI threshold on the dataset's own grid (the usual gdal_calc script).
	_, lbl, _, err := raster.ReadAll(truth)
	if err != nil {
		t.Fatal(err)
	}
	ndvi := func(date string) []float32 {
		_, red, _, err := raster.ReadAll(filepath.Join(oscd, date, "B04.tif"))
		if err != nil {
			t.Fatal(err)
		}
		_, nir, _, err := raster.ReadAll(filepath.Join(oscd, date, "B08.tif"))
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(red))
		for i := range red {
			if s := nir[i] + red[i]; s > 0 {
				out[i] = (nir[i] - red[i]) / s
			}
		}
		return out
	}
	nb, na := ndvi("20150916"), ndvi("20171015")
	truthMask := make([]bool, len(lbl))
	for i, v := range lbl {
		truthMask[i] = v == 2
	}
	best := raster.Scores{}
	for _, thr := range []float32{-0.1, -0.15, -0.2, -0.25} {
		det := make([]bool, len(lbl))
		for i := range det {
			det[i] = na[i]-nb[i] <= thr
		}
		s := raster.ScoreMasks(truthMask, det)
		t.Logf("plain dNDVI <= %.2f: %s", thr, s)
		if s.F1 > best.F1 {
			best = s
		}
	}
	t.Logf("changewatch (no mask, %v polygons): %s", sum.Polygons, ours)
	t.Logf("best plain dNDVI threshold:        %s", best)
	fmt.Printf("OSCD Aguas Claras: changewatch %s | best plain dNDVI threshold %s\n", ours, best)
	if ours.TP+ours.FN != int64(countTrue(truthMask)) {
		t.Errorf("scored %d reference change pixels, the map has %d", ours.TP+ours.FN, countTrue(truthMask))
	}
}

func countTrue(m []bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}
