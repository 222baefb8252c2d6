package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/changewatch/changewatch/jobs"
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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	if *size < 64 || *size%2 != 0 {
		return usagef("--size must be an even number of at least 64")
	}
	raster.Init(raster.S3Config{})
	r, err := synth.Generate(ctx, *out, synth.Config{Size: *size, Seed: *seed})
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]any{
		"root": r.Root, "items": len(r.ItemPaths), "before": r.BeforeIDs, "after": r.AfterIDs,
		"truth": r.TruthGeoJSON, "truth_raster": r.TruthTIF, "aoi": r.AOIGeoJSON, "objects": len(r.Objects),
	})
}

// runDemo runs the whole method on generated scenes: generate, detect, score.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	out := fs.String("out", "demo-out", "folder for the generated scenes and the results")
	size := fs.Int("size", 1024, "pixels per side of the synthetic scenes")
	seed := fs.Int64("seed", 1, "random seed of the synthetic scenes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, env("warn", "CHANGEWATCH_LOG_LEVEL"))
	if err != nil {
		return err
	}
	raster.Init(raster.S3Config{})
	t0 := time.Now()
	fmt.Fprintf(stderr, "generating synthetic Sentinel-2 L2A scenes (%d x %d px) in %s\n", *size, *size, filepath.Join(*out, "scenes"))
	syn, err := synth.Generate(ctx, filepath.Join(*out, "scenes"), synth.Config{Size: *size, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%6.1fs  generated %d scenes, %d planted objects\n", time.Since(t0).Seconds(), len(syn.ItemPaths), len(syn.Objects))
	d := detectFlags{
		aoiPath: syn.AOIGeoJSON, catalog: syn.Root, out: filepath.Join(*out, "result"),
		before: "2023-01-01/2023-03-31", after: "2024-01-01/2024-03-31",
		minArea: jobs.DefaultMinAreaHa, maskBuffer: jobs.DefaultMaskBuffer,
		maxScenes: jobs.DefaultMaxScenes, maxCloud: jobs.DefaultMaxCloud,
	}
	req, err := d.request()
	if err != nil {
		return err
	}
	sum, err := detect(ctx, &d, req, log, stderr)
	if err != nil {
		return err
	}
	scores, err := raster.ScoreVectors(ctx, syn.TruthGeoJSON, filepath.Join(d.out, "changes.fgb"), 10)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	fmt.Fprintf(stderr, "\nresults in %s (open changes.gpkg in QGIS; quicklook.png shows before | after | change)\n", d.out)
	fmt.Fprintf(stderr, "accuracy against the planted truth: %s\n\n", scores)
	return printJSON(stdout, map[string]any{"summary": sum, "scores": scores})
}
