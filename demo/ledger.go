package demo

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/changewatch/changewatch/ledger"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/stactree"
	"github.com/changewatch/changewatch/worker"
)

// demoLedger is the incident ledger of one AOI once every run of it is in.
type demoLedger struct {
	area   demoArea
	ledger *ledger.Ledger
	local  string // <out>/results/<aoi id>
}

// waitLedgers waits until the ledger of each AOI holds all its published runs (the
// worker updates it after every publish, one update at a time per AOI) and returns them.
func (d *demo) waitLedgers(ctx context.Context, store *s3store.Client, areas []demoArea, tasks []*demoTask) ([]*demoLedger, error) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var out []*demoLedger
	for _, a := range areas {
		var want []string
		for _, t := range tasks {
			if t.area.area.ID == a.area.ID && t.failed == "" {
				want = append(want, t.month+"_"+t.month)
			}
		}
		if len(want) == 0 {
			continue
		}
		slices.Sort(want)
		for {
			data, err := store.Get(ctx, demoResults, a.area.ID+"/ledger.json")
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("ledger of %s: %w", a.area.ID, err)
			}
			if err == nil {
				l, err := ledger.Decode(data)
				if err != nil {
					return nil, fmt.Errorf("ledger of %s: %w", a.area.ID, err)
				}
				if slices.Equal(l.Runs, want) {
					d.say("%-24s ledger updated: %d runs, %s", a.area.ID, len(l.Runs), plural(len(l.Incidents), "incident"))
					out = append(out, &demoLedger{area: a, ledger: l})
					break
				}
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("waiting for the ledger of %s: %w", a.area.ID, ctx.Err())
			case <-tick.C:
			}
		}
	}
	return out, nil
}

// demoLedgerJSON is an AOI's ledger in the demo's JSON document.
type demoLedgerJSON struct {
	AOIID     string   `json:"aoi_id"`
	Runs      []string `json:"runs"`
	Incidents int      `json:"incidents"`
	Files     []string `json:"files"`
}

// reportLedgers copies each AOI's ledger files and STAC collection next to its runs'
// results, and the root's STAC catalog (so the local tree resolves as the bucket's), and
// prints each AOI's incidents with their history.
func (d *demo) reportLedgers(ctx context.Context, store *s3store.Client, ledgers []*demoLedger) ([]demoLedgerJSON, error) {
	out := []demoLedgerJSON{}
	for _, dl := range ledgers {
		id := dl.area.area.ID
		dl.local = filepath.Join(d.cfg.Out, "results", id)
		if err := os.MkdirAll(dl.local, 0o755); err != nil {
			return nil, err
		}
		j := demoLedgerJSON{AOIID: id, Runs: dl.ledger.Runs, Incidents: len(dl.ledger.Incidents)}
		for _, name := range worker.LedgerFiles {
			p := filepath.Join(dl.local, name)
			if err := store.GetFile(ctx, demoResults, id+"/"+name, p); err != nil {
				return nil, fmt.Errorf("copy the ledger of %s: %w", id, err)
			}
			j.Files = append(j.Files, p)
		}
		if err := store.GetFile(ctx, demoResults, id+"/"+stactree.CollectionFile, filepath.Join(dl.local, stactree.CollectionFile)); err != nil {
			return nil, fmt.Errorf("copy the stac collection of %s: %w", id, err)
		}
		out = append(out, j)
		if err := d.printLedger(dl); err != nil {
			return nil, err
		}
	}
	if len(ledgers) > 0 {
		if err := store.GetFile(ctx, demoResults, stactree.CatalogFile, filepath.Join(d.cfg.Out, "results", stactree.CatalogFile)); err != nil {
			return nil, fmt.Errorf("copy the stac catalog: %w", err)
		}
	}
	return out, nil
}

// printLedger prints an AOI's incidents and, for each, its history run by run.
func (d *demo) printLedger(dl *demoLedger) error {
	l := dl.ledger
	fmt.Fprintf(d.stderr, "\nincidents of %s (%s, %s): %s\n", l.AOIID, strings.Join(l.Runs, " "), plural(len(l.Incidents), "incident"),
		filepath.Join(dl.local, "incidents.gpkg"))
	tw := tabwriter.NewWriter(d.stderr, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INCIDENT\tCLASS\tSTATUS\tFIRST SEEN\tLAST SEEN\tHA NOW\tRUNS\tHA BY RUN\tPROTECTED AREA\tNEAREST MINE")
	for _, inc := range l.Incidents {
		var byRun []string
		for _, r := range l.Runs {
			if a, ok := inc.AreaByRun[r]; ok {
				byRun = append(byRun, fmt.Sprintf("%.2f", a))
			} else {
				byRun = append(byRun, "-")
			}
		}
		status := inc.Status
		switch {
		case inc.MergedInto != "":
			status += " (merged into " + inc.MergedInto + ")"
		case inc.SplitFrom != "":
			status += " (split from " + inc.SplitFrom + ")"
		}
		mine := fmt.Sprintf("%s (%s, %d workers) %.1f km", inc.MineName, inc.MineMineral, inc.MineWorkers, inc.MineDistanceKm)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f\t%d\t%s\t%s\t%s\n", inc.ID, inc.Class, status, inc.FirstSeen, inc.LastSeen,
			inc.AreaHa, inc.RunsSeen, strings.Join(byRun, " > "), inc.ProtectedArea, mine)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dl.local, "incident_history.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("incident history: %w", err)
	}
	fmt.Fprintf(d.stderr, "history (%s):\n", filepath.Join(dl.local, "incident_history.csv"))
	tw = tabwriter.NewWriter(d.stderr, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
