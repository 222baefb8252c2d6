package main

import (
	"context"
	"fmt"
	"io"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/worker"
)

// runLedger rebuilds one AOI's incident ledger from its published runs and verdicts, as
// the worker's ledger:update does after every run, without the queue (a replay: the same
// runs give the same ledger.json). Do not run it while workers update the same AOI.
func runLedger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ledger", stderr)
	out := fs.String("out", env("", "CHANGEWATCH_OUTPUT"), "output root holding <aoi id>/<run>/: folder or s3://bucket/prefix (env CHANGEWATCH_OUTPUT; required)")
	aoiID := fs.String("aoi-id", "", "the AOI's id (required)")
	areasPath := fs.String("protected-areas", env("", "CHANGEWATCH_PROTECTED_AREAS"), "protected areas: GeoJSON file or s3://bucket/key (default the bundled layer)")
	minesPath := fs.String("mines", env("", "CHANGEWATCH_MINES"), "mining sites: GeoJSON file or s3://bucket/key (default the bundled IPIS sites)")
	var s3 s3Flags
	s3.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || *aoiID == "" {
		return usagef("--out and --aoi-id are required")
	}
	if !jobs.ValidID(*aoiID) {
		return usagef("--aoi-id %q: 1-128 letters, digits, '.', '_' or '-'", *aoiID)
	}
	store, err := s3.setup(ctx, *out, *areasPath, *minesPath)
	if err != nil {
		return err
	}
	layers, err := loadPlaces(ctx, store, *areasPath, *minesPath)
	if err != nil {
		return err
	}
	p := &worker.Pipeline{}
	if store != nil {
		p.Store = store
	}
	l, err := p.UpdateLedger(ctx, *out, *aoiID, layers, jobs.DefaultMinObservedPct)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ledger of %s: %d runs, %d incidents, published under %s/%s/\n", *aoiID, len(l.Runs), len(l.Incidents), *out, *aoiID)
	return nil
}
