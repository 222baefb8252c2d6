package main

import (
	"context"
	"fmt"
	"io"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/synth"
)

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	truth := fs.String("truth", "", "truth polygons (any OGR vector; features with kind=decoy are decoys) or, with --truth-value, a reference raster (required)")
	det := fs.String("detections", "", "detected change polygons, e.g. changes.fgb (required)")
	res := fs.Float64("res", 10, "scoring pixel size in metres (vector truth)")
	value := fs.Float64("truth-value", 0, "score against a raster: the pixel value that means change (e.g. 2 for OSCD maps)")
	asJSON := fs.Bool("json", false, "print the scores as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *truth == "" || *det == "" {
		return usagef("--truth and --detections are required")
	}
	raster.Init(raster.S3Config{})
	var s raster.Scores
	var err error
	if *value != 0 {
		s, err = raster.ScoreRaster(ctx, *truth, *value, *det)
	} else {
		s, err = raster.ScoreVectors(ctx, *truth, *det, *res)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, s)
	}
	_, err = fmt.Fprintln(stdout, s.String())
	return err
}

func runSynth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("synth", stderr)
	out := fs.String("out", "", "folder to write the scenes, truth.geojson, truth.tif and aoi.geojson into (required)")
	size := fs.Int("size", 1024, "pixels per side of the 10 m grid (even)")
	seed := fs.Int64("seed", 1, "random seed (same seed, same scenes)")
	hard := fs.Bool("hard", false, "harder scenes: mixed edge pixels, wet spoil, turbid ponds, regrowth, burn severity, narrow roads, small clearings")
	pair := fs.Bool("pair", false, "one before and one after date (the defaults' first of each) instead of 2 + 3")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if err := checkOutDir("out", *out); err != nil {
		return err
	}
	if *size < 64 || *size%2 != 0 {
		return usagef("--size must be an even number of at least 64")
	}
	raster.Init(raster.S3Config{})
	cfg := synth.Config{Size: *size, Seed: *seed, Hard: *hard}
	if *pair {
		cfg.Before, cfg.After = synth.PairDates()
	}
	r, err := synth.Generate(ctx, *out, cfg)
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]any{
		"root": r.Root, "items": len(r.ItemPaths), "before": r.BeforeIDs, "after": r.AfterIDs,
		"truth": r.TruthGeoJSON, "truth_raster": r.TruthTIF, "aoi": r.AOIGeoJSON, "objects": len(r.Objects),
	})
}
