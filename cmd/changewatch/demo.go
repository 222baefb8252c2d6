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
