package soak

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/internal/faultproxy"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/worker"
)

// Report is the soak's reconciliation.
type Report struct {
	Tasks   int `json:"tasks"`
	Corrupt int `json:"corrupt"`
	Workers int `json:"workers"`
	// Finished: every task was done (completed or archived) and the ledger and notify
	// queues drained before the deadline.
	Finished bool `json:"finished"`
	// Completed and Archived count the detect tasks by final state.
	Completed int `json:"completed"`
	Archived  int `json:"archived"`
	// Retries is the sum of the detect tasks' retries (asynq's count: failed tries and
	// tries lost with a killed worker); Attempts the tries the workers' logs show.
	Retries  int `json:"retries"`
	Attempts int `json:"attempts"`
	// Faults injected by the proxies, by kind; Requests they saw.
	Faults   map[string]int64 `json:"faults"`
	Requests int64            `json:"s3_requests"`
	// Kills of worker processes (SIGKILL), by the stage targeted; KillsHit those that
	// caught a task in that stage; Missed planned kills that found no task to catch.
	Kills    map[string]int `json:"kills"`
	KillsHit map[string]int `json:"kills_hit"`
	Missed   []string       `json:"missed,omitempty"`
	// RedisRestarts: redis-server SIGKILLed and restarted with tasks queued and running.
	RedisRestarts int     `json:"redis_restarts"`
	RedisDownMaxS float64 `json:"redis_down_max_s"`
	// Published: sound tasks whose run folder holds a complete result (manifest last,
	// every file of it present with its size and SHA-256), its ledger and its report.
	Published int `json:"published"`
	// Rewrites: sound tasks published more than once (a try killed or cut off from Redis
	// after its publish and before its completion was recorded: at-least-once delivery
	// rewrote the same files). Not a duplicate: the bucket holds the result once.
	Rewrites int `json:"rewrites"`
	// Duplicated: results the bucket holds twice (a run listed twice in its ledger, a
	// result outside the tasks' folders, a file in a run folder that is not its result's).
	Duplicated int `json:"duplicated"`
	// Lost: sound tasks without a complete result, ledger entry and report; corrupt tasks
	// that published, were retried to exhaustion or are not archived.
	Lost int `json:"lost"`
	// CorruptFailedFirstTry: corrupt tasks archived by their first try that read the file.
	CorruptPermanent int `json:"corrupt_permanent"`
	// Task time: seconds of the try that completed (from the worker's log); end to end:
	// from enqueue to completion (queueing, retries and recovery included).
	TaskP50S     float64 `json:"task_p50_s"`
	TaskP95S     float64 `json:"task_p95_s"`
	EndToEndP50S float64 `json:"end_to_end_p50_s"`
	EndToEndP95S float64 `json:"end_to_end_p95_s"`
	WallS        float64 `json:"wall_s"`
	// PlainLogLines counts worker log lines that are not JSON (all must be).
	PlainLogLines int      `json:"plain_log_lines"`
	Problems      []string `json:"problems,omitempty"`
}

// OK reports whether nothing was lost or duplicated and every task was done.
func (r *Report) OK() bool { return r.Finished && r.Lost == 0 && r.Duplicated == 0 }

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < 50 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// reconcile checks the bucket and the queue against the tasks.
func (s *run) reconcile(ctx context.Context, tasks []*task, enqueued map[string]time.Time) *Report {
	rep := &Report{Tasks: len(tasks), Workers: s.cfg.Workers, Faults: map[string]int64{},
		Kills: map[string]int{}, KillsHit: map[string]int{}}
	s.mu.Lock()
	for _, k := range s.kills {
		rep.Kills[k.Target]++
		if k.Hit {
			rep.KillsHit[k.Target]++
		}
	}
	rep.Missed = slices.Clone(s.misses)
	rep.PlainLogLines = s.plainLines
	if s.plainLines > 0 {
		rep.problem("%d worker log lines are not JSON, e.g. %q", s.plainLines, s.plainLine)
	}
	rep.RedisRestarts = len(s.restarts)
	for _, d := range s.restarts {
		rep.RedisDownMaxS = max(rep.RedisDownMaxS, round2(d.Seconds()))
	}
	for _, w := range s.workers {
		f, n := w.proxy.Counts()
		for k, v := range f {
			rep.Faults[string(k)] += v
		}
		rep.Requests += n
	}
	logs := s.logs
	s.mu.Unlock()

	ins := asynq.NewInspectorFromRedisClient(s.rdb)
	keys, err := s.store.List(ctx, s.bucket, "results/")
	if err != nil {
		rep.problem("list results: %v", err)
		rep.Lost = len(tasks)
		return rep
	}
	byAOI := map[string][]string{}
	for _, k := range keys {
		rest := strings.TrimPrefix(k, "results/")
		aoiID, rel, _ := strings.Cut(rest, "/")
		if rest == "catalog.json" { // the output root's STAC catalog, one child per AOI
			continue
		}
		if s.byAOI[aoiID] == nil {
			rep.Duplicated++
			rep.problem("%s: in no task's folder", k)
			continue
		}
		byAOI[aoiID] = append(byAOI[aoiID], rel)
	}
	var taskTimes, e2e []float64
	for _, t := range tasks {
		tl := logs[t.id]
		rep.Attempts += tl.attempts
		ti, err := ins.GetTaskInfo(jobs.QueueAdhoc, t.id)
		if err != nil {
			rep.Lost++
			rep.problem("%s: not in the queue: %v", t.aoiID, err)
			continue
		}
		rep.Retries += ti.Retried
		switch ti.State {
		case asynq.TaskStateCompleted:
			rep.Completed++
		case asynq.TaskStateArchived:
			rep.Archived++
		}
		files := byAOI[t.aoiID]
		if t.corrupt != "" {
			rep.Corrupt++
			switch {
			case ti.State != asynq.TaskStateArchived:
				rep.Lost++
				rep.problem("%s (%s): %s, want archived (a permanent failure)", t.aoiID, t.corrupt, ti.State)
			case ti.Retried >= ti.MaxRetry:
				rep.Lost++
				rep.problem("%s (%s): retried %d times until archived: the corrupt raster was not a permanent failure (%s)", t.aoiID, t.corrupt, ti.Retried, ti.LastErr)
			case !strings.Contains(ti.LastErr, "corrupt"):
				rep.Lost++
				rep.problem("%s (%s): archived for another reason: %s", t.aoiID, t.corrupt, ti.LastErr)
			default:
				rep.CorruptPermanent++
			}
			if len(files) > 0 {
				rep.Lost++
				rep.problem("%s (%s): a corrupt raster left %d objects in the results", t.aoiID, t.corrupt, len(files))
			}
			continue
		}
		if ti.State != asynq.TaskStateCompleted {
			rep.Lost++
			rep.problem("%s: %s after %d retries: %s", t.aoiID, ti.State, ti.Retried, ti.LastErr)
			continue
		}
		if tl.published > 1 {
			rep.Rewrites++
		}
		lost, dup := s.checkResult(ctx, rep, t, files)
		if lost {
			rep.Lost++
			continue
		}
		rep.Duplicated += dup
		rep.Published++
		if len(tl.done) > 0 {
			taskTimes = append(taskTimes, tl.done[len(tl.done)-1])
		}
		if !ti.CompletedAt.IsZero() {
			e2e = append(e2e, ti.CompletedAt.Sub(enqueued[t.id]).Seconds())
		}
	}
	rep.TaskP50S, rep.TaskP95S = percentile(taskTimes, 0.5), percentile(taskTimes, 0.95)
	rep.EndToEndP50S, rep.EndToEndP95S = percentile(e2e, 0.5), percentile(e2e, 0.95)
	return rep
}

// checkResult checks a sound task's objects (names relative to results/<aoi>/): the run
// folder's manifest and every file it lists (size and SHA-256), report.pdf, ledger.json
// listing the run once, and nothing else. It reports whether the result is lost and how
// many objects are there twice or should not be.
func (s *run) checkResult(ctx context.Context, rep *Report, t *task, files []string) (lost bool, dup int) {
	prefix := "results/" + t.aoiID + "/"
	data, err := s.store.Get(ctx, s.bucket, prefix+runDir+"/manifest.json")
	if err != nil {
		rep.problem("%s: no manifest (%d objects in the folder: a half result if any): %v", t.aoiID, len(files), err)
		return true, 0
	}
	var m worker.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		rep.problem("%s: manifest: %v", t.aoiID, err)
		return true, 0
	}
	want := map[string]bool{runDir + "/manifest.json": true}
	for _, f := range m.Files {
		want[runDir+"/"+f.Name] = true
		body, err := s.store.Get(ctx, s.bucket, prefix+runDir+"/"+f.Name)
		if err != nil {
			rep.problem("%s: %s listed in the manifest: %v", t.aoiID, f.Name, err)
			return true, 0
		}
		sum := sha256.Sum256(body)
		if int64(len(body)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			rep.problem("%s: %s is not the manifest's (%d bytes, want %d): a half result", t.aoiID, f.Name, len(body), f.Size)
			return true, 0
		}
	}
	// The ledger and notification steps after the publish.
	data, err = s.store.Get(ctx, s.bucket, prefix+"ledger.json")
	if err != nil {
		rep.problem("%s: no ledger.json: the ledger update was lost: %v", t.aoiID, err)
		return true, 0
	}
	var led struct {
		Runs []string `json:"runs"`
	}
	if err := json.Unmarshal(data, &led); err != nil {
		rep.problem("%s: ledger.json: %v", t.aoiID, err)
		return true, 0
	}
	switch n := count(led.Runs, runDir); {
	case n == 0:
		rep.problem("%s: ledger.json does not list run %s", t.aoiID, runDir)
		return true, 0
	case n > 1:
		rep.problem("%s: ledger.json lists run %s %d times", t.aoiID, runDir, n)
		dup++
	}
	if !slices.Contains(files, runDir+"/report.pdf") {
		rep.problem("%s: no report.pdf: the notify step was lost", t.aoiID)
		return true, 0
	}
	for _, f := range files {
		dir, name, _ := strings.Cut(f, "/")
		switch {
		case want[f]:
		case dir != runDir && !strings.Contains(name, "/") && (strings.HasPrefix(f, "incident") || f == "ledger.json" || f == "collection.json"):
		case dir == runDir && (name == "report.pdf" || name == "report.html" || strings.HasPrefix(name, "chips/") || strings.HasPrefix(name, "notifications/")):
		case dir == ".baseline" && keptBaseline.MatchString(name):
			// The AOI's kept baseline composite (a cache, issue 12): not a result.
		default:
			rep.problem("%s: %s is no part of the result", t.aoiID, f)
			dup++
		}
	}
	return false, dup
}

// keptBaseline is the name of a kept baseline composite below <aoi>/.baseline/:
// <window>/<UTC time>-<key>.cwb (see worker/baseline.go).
var keptBaseline = regexp.MustCompile(`^[0-9]+_[0-9]+_[0-9]+x[0-9]+/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{64}\.cwb$`)

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return round2(s[i])
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// Print writes the reconciliation as a table.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("tasks", fmt.Sprintf("%d (%d with a corrupt raster), %d workers", r.Tasks, r.Corrupt, r.Workers))
	row("completed / archived", fmt.Sprintf("%d / %d", r.Completed, r.Archived))
	row("retries", fmt.Sprintf("%d (tries logged: %d)", r.Retries, r.Attempts))
	var total int64
	var parts []string
	for _, k := range faultproxy.Kinds {
		total += r.Faults[string(k)]
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Faults[string(k)]))
	}
	row("S3 faults injected", fmt.Sprintf("%d of %d requests: %s", total, r.Requests, strings.Join(parts, ", ")))
	var kills []string
	nk := 0
	for _, st := range Stages {
		nk += r.Kills[st]
		kills = append(kills, fmt.Sprintf("%s %d/%d", st, r.KillsHit[st], r.Kills[st]))
	}
	row("workers SIGKILLed", fmt.Sprintf("%d (in stage/aimed: %s)", nk, strings.Join(kills, ", ")))
	if len(r.Missed) > 0 {
		row("planned, not done", strings.Join(r.Missed, ", "))
	}
	row("redis-server SIGKILLed and restarted", fmt.Sprintf("%d (down at most %.2f s)", r.RedisRestarts, r.RedisDownMaxS))
	row("corrupt rasters failed permanently", fmt.Sprintf("%d of %d", r.CorruptPermanent, r.Corrupt))
	row("results published", fmt.Sprintf("%d of %d (rewritten by a repeated try: %d)", r.Published, r.Tasks-r.Corrupt, r.Rewrites))
	row("duplicated", r.Duplicated)
	row("lost", r.Lost)
	row("task time p50 / p95", fmt.Sprintf("%.2f s / %.2f s", r.TaskP50S, r.TaskP95S))
	row("enqueue to done p50 / p95", fmt.Sprintf("%.1f s / %.1f s", r.EndToEndP50S, r.EndToEndP95S))
	row("wall time", fmt.Sprintf("%.0f s", r.WallS))
	row("worker log lines not JSON", r.PlainLogLines)
	if !r.Finished {
		row("finished", "NO: the deadline came first")
	}
	tw.Flush()
	for _, p := range r.Problems {
		fmt.Fprintln(w, "problem:", p)
	}
}
