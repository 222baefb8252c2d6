package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/synth"
)

// demoTask is one enqueued AOI and what became of it.
type demoTask struct {
	area   demoArea
	index  int    // of the area in demoAOIs
	month  string // YYYY-MM of the after period
	req    jobs.DetectRequest
	id     string // asynq task id
	queue  string
	prefix string // key prefix of the output in the results bucket: <aoi id>/<after period>
	start  time.Time

	// A fanned-out task completes once its chunks are queued; the output comes from
	// its merge task, which the last chunk enqueues.
	run, merge string

	final   bool          // published, or failed for good
	failed  string        // the error of a failed task
	sum     *jobs.Summary // from the task's (or its merge's) result
	seconds float64       // wall time from enqueue to published
	local   string        // local copy of the output
	keys    []string      // object keys of the output
}

func (t *demoTask) label() string { return t.area.area.ID + " " + t.month }

// enqueue queues one change:detect task per AOI and month on the adhoc queue: catalog
// s3://imagery/catalog, the month against the 12 months before it, output
// s3://results/<aoi id>/<YYYY-MM>_<YYYY-MM>. All are queued at once: the runs of one AOI
// finish in any order, and its ledger is rebuilt from all of them after each.
func (d *demo) enqueue(ctx context.Context, client *asynq.Client, ins *asynq.Inspector, areas []demoArea) ([]*demoTask, error) {
	var tasks []*demoTask
	for _, month := range d.cfg.months() {
		m, err := time.Parse("2006-01", month)
		if err != nil {
			return nil, err
		}
		before, after := jobs.MonthPeriods(m, jobs.DefaultBaselineMonths)
		for i, a := range areas {
			id := a.area.ID
			prefix := id + "/" + month + "_" + month
			req := jobs.DetectRequest{
				Version: jobs.PayloadVersion, AOIID: id, AOIName: a.area.Name, AOI: a.data,
				Before: before, After: after,
				Catalog: s3store.URL(demoImagery, demoCatalogPrefix), Output: s3store.URL(demoResults, prefix),
			}
			task, err := jobs.NewDetectTask(req, jobs.QueueAdhoc)
			if err != nil {
				return nil, fmt.Errorf("aoi %s: %w", id, err)
			}
			info, err := enqueueFresh(ctx, client, ins, task, req)
			if err != nil {
				return nil, fmt.Errorf("enqueue %s: %w", id, err)
			}
			d.say("enqueued %s %s on queue %s: %s against %s -> %s", id, month, info.Queue, after, before, req.Output)
			tasks = append(tasks, &demoTask{area: a, index: i, month: month, req: req, id: info.ID, queue: info.Queue, prefix: prefix, start: time.Now()})
		}
	}
	return tasks, nil
}

// enqueueFresh enqueues the task of req. In the demo a failure is reported at once
// instead of being retried with backoff (MaxRetry 0). Task ids are derived from the
// request, so with --redis the same task of an earlier demo may still be there: a
// finished one is deleted, with the chunk and merge tasks of its fan-out (whose ids are
// derived from it too, so they would be taken as done), and the task enqueued again; a
// queued or running one is watched as it is.
func enqueueFresh(ctx context.Context, client *asynq.Client, ins *asynq.Inspector, task *asynq.Task, req jobs.DetectRequest) (*asynq.TaskInfo, error) {
	info, err := client.EnqueueContext(ctx, task, asynq.MaxRetry(0))
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return info, err
	}
	queue, id := jobs.QueueAdhoc, req.TaskID()
	old, ierr := ins.GetTaskInfo(queue, id)
	if ierr != nil {
		return nil, fmt.Errorf("%w (and: %w)", err, ierr)
	}
	if old.State != asynq.TaskStateCompleted && old.State != asynq.TaskStateArchived {
		return old, nil
	}
	if err := deleteFinished(ins, queue, req); err != nil {
		return nil, fmt.Errorf("delete the earlier tasks of %s: %w", id, err)
	}
	return client.EnqueueContext(ctx, task, asynq.MaxRetry(0))
}

// deleteFinished deletes the completed and archived tasks of req on queue: the detect
// task and the chunk and merge tasks of its fan-out.
func deleteFinished(ins *asynq.Inspector, queue string, req jobs.DetectRequest) error {
	id := req.TaskID()
	var doomed []string
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){ins.ListCompletedTasks, ins.ListArchivedTasks} {
		for page := 1; ; page++ {
			infos, err := list(queue, asynq.Page(page), asynq.PageSize(100))
			if err != nil {
				return err
			}
			for _, info := range infos {
				var part struct {
					Request jobs.DetectRequest `json:"request"`
				}
				switch {
				case info.ID == id:
					doomed = append(doomed, info.ID)
				case info.Type == jobs.TypeDetectChunk || info.Type == jobs.TypeMerge:
					if jobs.Decode(info.Payload, &part) == nil && part.Request.TaskID() == id {
						doomed = append(doomed, info.ID)
					}
				}
			}
			if len(infos) < 100 {
				break
			}
		}
	}
	for _, d := range doomed {
		if err := ins.DeleteTask(queue, d); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return err
		}
	}
	return nil
}

// demoRow is what the progress display last printed for one task.
type demoRow struct {
	state, stage string
	pct          float64
}

// wait polls the queue every 500 ms until every task is final, printing a line whenever a
// task's state or stage changes or its percentage moves on by a quarter. Chunk tasks of a
// fanned-out AOI get lines of their own.
func (d *demo) wait(ctx context.Context, ins *asynq.Inspector, store *s3store.Client, tasks []*demoTask) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	rows := map[string]demoRow{}
	for {
		var open []string
		for _, t := range tasks {
			if !t.final {
				d.poll(ctx, ins, store, t, rows)
			}
			if !t.final {
				open = append(open, t.label())
			}
		}
		d.pollOthers(ins, tasks, rows)
		if len(open) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", strings.Join(open, ", "), ctx.Err())
		case <-tick.C:
		}
	}
}

// demoFanned is the result of a detect task that fanned out (worker.Handler).
type demoFanned struct {
	Stage     string `json:"stage"`
	Chunks    int    `json:"chunks"`
	MergeTask string `json:"merge_task"`
}

// poll updates t from the queue and the bucket.
func (d *demo) poll(ctx context.Context, ins *asynq.Inspector, store *s3store.Client, t *demoTask, rows map[string]demoRow) {
	id, label := t.id, t.label()
	if t.merge != "" {
		id, label = t.merge, t.label()+" merge"
	}
	info, err := ins.GetTaskInfo(t.queue, id)
	if err != nil {
		if t.merge != "" && errors.Is(err, asynq.ErrTaskNotFound) {
			d.chunkFailure(ins, t) // the merge comes when every chunk is done
		} else {
			d.log.Debug("task info", "task_id", id, "err", err)
		}
		return
	}
	row := demoRow{state: info.State.String()}
	switch info.State {
	case asynq.TaskStateActive:
		var p jobs.Progress
		if json.Unmarshal(info.Result, &p) == nil {
			row.stage, row.pct = p.Stage, p.Percent
		}
	case asynq.TaskStateCompleted:
		var f demoFanned
		if t.merge == "" && json.Unmarshal(info.Result, &f) == nil && f.MergeTask != "" {
			t.merge, t.run = f.MergeTask, strings.TrimPrefix(f.MergeTask, "merge:")
			row.stage = fmt.Sprintf("fanned out into %d chunks (merge task %s)", f.Chunks, f.MergeTask)
			break
		}
		// asynq records completion times in whole seconds.
		if !info.CompletedAt.IsZero() && info.CompletedAt.Before(t.start.Truncate(time.Second)) {
			t.final, t.failed = true, fmt.Sprintf("task %s completed before this demo enqueued %s: left over from an earlier run", id, t.id)
			row.stage = t.failed
			break
		}
		var s jobs.Summary
		if json.Unmarshal(info.Result, &s) == nil && s.AOIID != "" {
			t.sum = &s
		}
		// An output is complete when its manifest is there (written last).
		if _, err := store.Get(ctx, demoResults, t.prefix+"/manifest.json"); err != nil {
			row.stage = "waiting for manifest.json"
			break
		}
		t.final, t.seconds = true, time.Since(t.start).Seconds()
		row.stage = "published"
		if t.sum != nil {
			row.stage = fmt.Sprintf("published: %s", plural(total(t.sum.Polygons), "polygon"))
		}
	case asynq.TaskStateArchived:
		t.final, t.failed = true, info.LastErr
		row.stage = info.LastErr
	case asynq.TaskStateRetry:
		row.stage = "will retry: " + info.LastErr
	}
	d.show(label, id, row, rows)
}

// chunkFailure fails t when one of its chunks failed for good (its merge never comes).
func (d *demo) chunkFailure(ins *asynq.Inspector, t *demoTask) {
	archived, err := ins.ListArchivedTasks(t.queue)
	if err != nil {
		return
	}
	for _, info := range archived {
		var c jobs.ChunkRequest
		if info.Type != jobs.TypeDetectChunk || jobs.Decode(info.Payload, &c) != nil || c.Run != t.run {
			continue
		}
		t.final = true
		t.failed = fmt.Sprintf("chunk %d of %d: %s", c.Index+1, c.Count, info.LastErr)
		return
	}
}

// pollOthers shows active tasks that poll does not show: chunks, and anything else the
// worker took.
func (d *demo) pollOthers(ins *asynq.Inspector, tasks []*demoTask, rows map[string]demoRow) {
	for q := range jobs.QueuePriorities {
		active, err := ins.ListActiveTasks(q)
		if err != nil {
			continue
		}
		for _, info := range active {
			if slices.ContainsFunc(tasks, func(t *demoTask) bool { return t.id == info.ID || t.merge == info.ID }) {
				continue
			}
			row := demoRow{state: info.State.String()}
			var p jobs.Progress
			if json.Unmarshal(info.Result, &p) == nil {
				row.stage, row.pct = p.Stage, p.Percent
			}
			d.show(taskLabel(info), info.ID, row, rows)
		}
	}
}

// taskLabel names a task on the progress display: "<aoi> chunk i/n" for chunks.
func taskLabel(info *asynq.TaskInfo) string {
	var c jobs.ChunkRequest
	if info.Type == jobs.TypeDetectChunk && jobs.Decode(info.Payload, &c) == nil {
		return fmt.Sprintf("%s chunk %d/%d", c.Request.AOIID, c.Index+1, c.Count)
	}
	id := info.ID
	if len(id) > 24 {
		id = "..." + id[len(id)-21:]
	}
	return info.Type + " " + id
}

// show prints row unless it says nothing new.
func (d *demo) show(label, id string, row demoRow, rows map[string]demoRow) {
	last, seen := rows[id]
	if seen && row.state == last.state && row.stage == last.stage &&
		row.pct-last.pct < 25 && !(row.pct >= 100 && last.pct < 100) {
		return
	}
	rows[id] = row
	switch {
	case row.stage == "":
		d.say("%-24s %s", label, row.state)
	case row.state == asynq.TaskStateActive.String():
		d.say("%-24s %-9s %-28s %3.0f%%", label, row.state, row.stage, row.pct)
	default:
		d.say("%-24s %-9s %s", label, row.state, row.stage)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// report copies each published output to the local folder, prints where everything is,
// a summary table and the block's scores on stderr, and the JSON document on stdout. It
// returns an error when a task failed.
func (d *demo) report(ctx context.Context, store *s3store.Client, syn *synth.Result, tasks []*demoTask, ledgers []*demoLedger) error {
	var failed []string
	results := []*jobs.Summary{}
	for _, t := range tasks {
		if t.failed != "" {
			failed = append(failed, t.label()+": "+t.failed)
			continue
		}
		t.local = filepath.Join(d.cfg.Out, "results", filepath.FromSlash(t.prefix))
		keys, err := downloadPrefix(ctx, store, demoResults, t.prefix, t.local)
		if err != nil {
			return fmt.Errorf("copy %s: %w", t.label(), err)
		}
		t.keys = keys
		if t.sum == nil { // a result that is not a summary: say what is known
			t.sum = &jobs.Summary{AOIID: t.label(), AOIName: t.area.area.Name, Before: t.req.Before, After: t.req.After, Output: t.req.Output}
			for _, k := range keys {
				t.sum.Files = append(t.sum.Files, strings.TrimPrefix(k, t.prefix+"/"))
			}
		}
		results = append(results, t.sum)
	}

	if len(results) > 0 {
		fmt.Fprintf(d.stderr, "\nresults (the bucket goes away with the embedded S3 server when the demo exits; the local copies stay):\n")
		for _, t := range tasks {
			if t.failed != "" {
				continue
			}
			names := make([]string, len(t.keys))
			for i, k := range t.keys {
				names[i] = strings.TrimPrefix(k, t.prefix+"/")
			}
			fmt.Fprintf(d.stderr, "  %s\n    bucket: %s/ %s\n    local:  %s\n", t.label(), t.req.Output, strings.Join(names, " "), t.local)
		}
		fmt.Fprintf(d.stderr, "  open changes.gpkg in QGIS; quicklook.png shows before | after | change\n")
	}
	fmt.Fprintln(d.stderr)
	d.table(tasks)

	var scores *raster.Scores
	if block := scoredTask(tasks); block != nil && block.failed == "" {
		s, err := raster.ScoreVectors(ctx, syn.TruthGeoJSON, filepath.Join(block.local, "changes.fgb"), 10)
		if err != nil {
			return fmt.Errorf("score %s: %w", block.label(), err)
		}
		scores = &s
		fmt.Fprintf(d.stderr, "\naccuracy of %s against the planted truth (%s): %s\n", block.label(), syn.TruthGeoJSON, s)
	}
	ledgerOut, err := d.reportLedgers(ctx, store, ledgers)
	if err != nil {
		return err
	}
	doc := map[string]any{"results": results, "scores": scores, "ledgers": ledgerOut}
	if d.alerts != nil {
		fmt.Fprintf(d.stderr, "\n%s\n", d.alerts.summary())
		hooks, repeats, mails := d.alerts.counts()
		doc["alerts"] = map[string]any{"webhooks": hooks, "webhook_repeats": repeats, "emails": mails, "dir": d.alerts.dir}
	}
	for _, f := range failed {
		fmt.Fprintf(d.stderr, "task failed: %s\n", f)
	}
	enc := json.NewEncoder(d.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d tasks failed: %s", len(failed), len(tasks), strings.Join(failed, "; "))
	}
	return nil
}

// scoredTask is the block's run of demoScoredMonth.
func scoredTask(tasks []*demoTask) *demoTask {
	for _, t := range tasks {
		if t.index == demoBlockIndex && t.month == demoScoredMonth {
			return t
		}
	}
	return nil
}

// table prints polygons and hectares by class, scenes used and seconds per AOI.
func (d *demo) table(tasks []*demoTask) {
	tw := tabwriter.NewWriter(d.stderr, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AOI\tMONTH\tCLASS\tPOLYGONS\tHECTARES\tOBSERVED\tSCENES\tSECONDS (WALL)")
	for _, t := range tasks {
		aoiID := t.area.area.ID
		if t.failed != "" {
			fmt.Fprintf(tw, "%s\t%s\tfailed\t\t\t\t\t\n", aoiID, t.month)
			continue
		}
		s := t.sum
		scenes := fmt.Sprintf("%d+%d", len(s.ScenesBefore), len(s.ScenesAfter))
		secs := fmt.Sprintf("%.1f", t.seconds)
		observed := fmt.Sprintf("%.0f %%", s.ObservedPct)
		if s.InsufficientView {
			observed += " (too little clear view: no change found is not no change)"
		}
		classes := make([]string, 0, len(s.Polygons))
		for c := range s.Polygons {
			classes = append(classes, c)
		}
		slices.Sort(classes)
		if len(classes) == 0 {
			none := "(no change)"
			if s.InsufficientView {
				none = "(not observed)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t0\t0\t%s\t%s\t%s\n", aoiID, t.month, none, observed, scenes, secs)
			continue
		}
		for i, c := range classes {
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f\t%s\t%s\t%s\n", aoiID, t.month, c, s.Polygons[c], s.Hectares[c], observed, scenes, secs)
			} else {
				fmt.Fprintf(tw, "\t\t%s\t%d\t%.2f\t\t\t\n", c, s.Polygons[c], s.Hectares[c])
			}
		}
	}
	tw.Flush()
}

// demoGetter is what copying an output needs from object storage.
type demoGetter interface {
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	GetFile(ctx context.Context, bucket, key, path string) error
}

// downloadPrefix copies every object under prefix/ to dir (emptied first: the copy is
// exactly the published output) and returns the keys.
func downloadPrefix(ctx context.Context, store demoGetter, bucket, prefix, dir string) ([]string, error) {
	keys, err := store.List(ctx, bucket, prefix+"/")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("nothing under s3://%s/%s/", bucket, prefix)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	for _, k := range keys {
		rel := filepath.FromSlash(strings.TrimPrefix(k, prefix+"/"))
		if !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("key %q does not belong under %s/", k, prefix)
		}
		if err := store.GetFile(ctx, bucket, k, filepath.Join(dir, rel)); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
