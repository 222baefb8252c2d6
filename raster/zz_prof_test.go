package raster_test

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/stac"
	"github.com/changewatch/changewatch/synth"
)

func TestZZProfile(t *testing.T) {
	dir := "/tmp/prof2048"
	raster.Init(raster.S3Config{})
	if _, err := os.Stat(dir + "/truth.tif"); err != nil {
		if _, err := synth.Generate(context.Background(), dir, synth.Config{Size: 2048, Seed: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cat, _ := stac.NewStatic(dir, nil, nil)
	items, _ := cat.Search(context.Background(), stac.Query{})
	var p raster.DetectParams
	for _, it := range items {
		s := raster.Scene{ID: it.ID, Date: it.Datetime, DNOffset: it.DNOffset(), Hrefs: map[string]string{}}
		for _, k := range raster.BandKeys {
			s.Hrefs[k] = it.Assets[k].Href
		}
		if it.Datetime.Year() < 2024 {
			p.Before = append(p.Before, s)
		} else {
			p.After = append(p.After, s)
		}
		if p.Grid.Width == 0 {
			p.Grid = raster.Grid{EPSG: it.EPSG}
		}
	}
	_, data, _, _ := raster.ReadAll(dir + "/truth.tif")
	_ = data
	g, _, _, _ := raster.ReadAll(dir + "/truth.tif")
	p.Grid = g
	p.Mask, p.MaskBuffer, p.Rules, p.MinPixels = true, 5, raster.DefaultRules, 20
	f, _ := os.Create("/tmp/detect.prof")
	pprof.StartCPUProfile(f)
	t0 := time.Now()
	res, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	res.Vectorize(context.Background())
	pprof.StopCPUProfile()
	t.Logf("detect %v vectorize %v", t1.Sub(t0), time.Since(t1))
}
