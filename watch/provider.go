// Package watch turns a watch list (a folder or an s3:// prefix of AOI GeoJSON files)
// into periodic change:detect tasks: the monthly re-checks of `changewatch scheduler`.
//
// Each file is one AOI (validated by aoi.Parse). Optional properties:
//
//	"schedule"     cron spec, 5 fields or a descriptor such as "@monthly" (default
//	               DefaultSchedule: 06:00 UTC on the 2nd of each month, when the
//	               previous month's scenes have arrived in the catalog)
//	"catalog"      STAC catalog overriding the scheduler's default
//	"output"       output folder or s3:// prefix overriding the scheduler's default
//	"min_area_ha"  minimum mapping unit in hectares
//	"baseline_months" months of the baseline window before each monthly run (1-36, default 12)
//	"subscriptions" who is told about new and growing incidents, and how (webhook,
//	               e-mail, rules): see alert.Subscription; validated here, so a bad
//	               subscription skips the file with a warning that names the field
//
// A run fired at time F compares the last full month before F with a baseline composite
// of the baseline_months months before it (jobs.MonthPeriods), written to
// <output>/<aoi id>/<YYYY-MM>_<YYYY-MM>.
// The task id is derived from the request, and the monthly queue keeps finished tasks
// for 45 days, so enqueueing the same month again is refused (asynq.ErrTaskIDConflict)
// and counts as already done: a month runs once however often it is enqueued.
//
// Provider implements asynq.PeriodicTaskConfigProvider and re-reads the watch list on
// every call, so an asynq.PeriodicTaskManager (NewManager) picks up added, changed and
// removed files at its next sync, without a restart. Provider.CatchUp enqueues the run
// of each AOI's most recent past schedule time once, which covers a month missed while
// the scheduler was down.
package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/notify/alert"
	"github.com/changewatch/changewatch/s3store"
)

// DefaultSchedule is the schedule of an AOI without a "schedule" property: 06:00 UTC on
// the 2nd of each month, so the previous month's last scenes are in the catalog.
const DefaultSchedule = "0 6 2 * *"

// FireGrace is how long after a schedule time the periodic task still carries the
// request of that time. Without it, a sync that lands between the cron tick and the
// cron job's run would replace the due request by next month's and the due month would
// be skipped.
const FireGrace = 5 * time.Minute

// DefaultReadTimeout bounds one reading of the watch list by GetConfigs.
const DefaultReadTimeout = 2 * time.Minute

// Provider reads a watch list and builds one periodic change:detect task per AOI on the
// monthly queue. It implements asynq.PeriodicTaskConfigProvider. It is safe for
// concurrent use; set its fields before the first call.
type Provider struct {
	Watch   Location     // the watch list
	Catalog string       // default STAC catalog (a file's "catalog" property overrides it)
	Output  string       // default output folder or s3:// prefix (a file's "output" overrides it)
	Logger  *slog.Logger // warnings about skipped files, changes of the watch list; nil: slog.Default()
	// Now returns the current time; nil means time.Now. Tests fix it.
	Now func() time.Time
	// ReadTimeout bounds one reading of the watch list by GetConfigs; 0 means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// SubscriptionsOnly is the view of a worker, which reads the watch list only for
	// its subscriptions: files need no catalog or output.
	SubscriptionsOnly bool

	mu       sync.Mutex
	problems map[string]string // file -> problem, as last warned
	watching map[string]string // file -> what was last registered, to log changes
}

// Entry is one valid AOI of the watch list.
type Entry struct {
	File     string       // where the file is: folder path or s3:// URL
	AOI      *aoi.AOI     // the parsed AOI
	GeoJSON  []byte       // the file's content, sent in the request
	Schedule string       // cron spec
	Catalog  string       // STAC catalog
	Output   string       // output prefix; <aoi id>/<months> is appended per run
	Options  jobs.Options // from the properties (min_area_ha)
	// BaselineMonths is the baseline window of its monthly runs (property
	// "baseline_months"; default jobs.DefaultBaselineMonths).
	BaselineMonths int
	// Subscriptions are the AOI's alert subscriptions (property "subscriptions").
	Subscriptions []alert.Subscription
	sched         cron.Schedule // Schedule, parsed
}

// Request returns the request of the run fired at fire: after is the last full month
// before fire, before the entry's baseline window just before it (jobs.MonthPeriods).
func (e *Entry) Request(fire time.Time) jobs.DetectRequest {
	_, month := jobs.MonthlyPeriods(fire)
	before, after := jobs.MonthPeriods(month.Start, e.BaselineMonths)
	r := RequestFor(e.AOI, e.GeoJSON, before, after, e.Catalog, e.Output)
	r.Options = e.Options
	return r
}

// NextFire returns the schedule time whose request the periodic task carries at now:
// the next one after now - FireGrace. It is zero when the schedule never fires (such
// files are skipped by Entries).
func (e *Entry) NextFire(now time.Time) time.Time {
	return e.sched.Next(now.UTC().Add(-FireGrace))
}

// LastFire returns the latest schedule time at or before now, and false when there was
// none in the last 400 days. For schedules that fire very often (more than about 2000
// times an hour, a day or 400 days back) it returns now: the last run is that close.
func (e *Entry) LastFire(now time.Time) (time.Time, bool) {
	now = now.UTC()
	const steps = 2000
	for _, back := range []time.Duration{time.Hour, 48 * time.Hour, 400 * 24 * time.Hour} {
		t, last := now.Add(-back), time.Time{}
		i := 0
		for ; i < steps; i++ {
			n := e.sched.Next(t)
			if n.IsZero() || n.After(now) {
				break
			}
			last, t = n, n
		}
		if i == steps {
			return now, true
		}
		if !last.IsZero() {
			return last, true
		}
	}
	return time.Time{}, false
}

// RequestFor returns the change:detect request of AOI a (parsed from geojson) for the
// given periods. The output is output/<aoi id>/<YYYY-MM>_<YYYY-MM> (the after period's
// first and last month), so successive runs of one AOI sit side by side. The request is
// not validated; jobs.NewDetectTask does that.
func RequestFor(a *aoi.AOI, geojson []byte, before, after jobs.Period, catalog, output string) jobs.DetectRequest {
	return jobs.DetectRequest{
		Version: jobs.PayloadVersion, AOIID: a.ID, AOIName: a.Name, AOI: geojson,
		Before: before, After: after, Catalog: catalog,
		Output: strings.TrimSuffix(output, "/") + "/" + a.ID + "/" +
			after.Start.Format("2006-01") + "_" + after.End.Format("2006-01"),
	}
}

func (p *Provider) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

func (p *Provider) now() time.Time {
	if p.Now == nil {
		return time.Now().UTC()
	}
	return p.Now().UTC()
}

// GetConfigs implements asynq.PeriodicTaskConfigProvider: it reads the watch list (with
// ReadTimeout) and returns Configs. An error makes the PeriodicTaskManager keep the
// tasks it has (at start, it fails Start).
func (p *Provider) GetConfigs() ([]*asynq.PeriodicTaskConfig, error) {
	timeout := p.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Configs(ctx)
}

// Configs reads the watch list and returns one periodic task per valid AOI: its
// schedule and the change:detect task, on jobs.QueueMonthly, of its next run (see
// Entry.NextFire). Files that cannot be used are skipped with a warning.
func (p *Provider) Configs(ctx context.Context) ([]*asynq.PeriodicTaskConfig, error) {
	entries, problems, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	now := p.now()
	configs := make([]*asynq.PeriodicTaskConfig, 0, len(entries))
	watching := make(map[string]string, len(entries))
	for i := range entries {
		e := &entries[i]
		req := e.Request(e.NextFire(now))
		task, err := jobs.NewDetectTask(req, jobs.QueueMonthly)
		if err != nil {
			problems[e.File] = err.Error()
			continue
		}
		configs = append(configs, &asynq.PeriodicTaskConfig{Cronspec: e.Schedule, Task: task})
		watching[e.File] = fmt.Sprintf("%s|%s|%s", e.AOI.ID, e.Schedule, req.TaskID())
	}
	p.report(problems)
	p.logChanges(watching)
	return configs, nil
}

// logChanges logs the AOIs that appeared, changed or left since the last call.
func (p *Provider) logChanges(watching map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	log := p.logger()
	for file, v := range watching {
		if old, ok := p.watching[file]; !ok || old != v {
			id, rest, _ := strings.Cut(v, "|")
			schedule, taskID, _ := strings.Cut(rest, "|")
			log.Info("watching aoi", "file", file, "aoi_id", id, "schedule", schedule, "next_task_id", taskID)
		}
	}
	for file := range p.watching {
		if _, ok := watching[file]; !ok {
			log.Info("aoi no longer watched", "file", file)
		}
	}
	p.watching = watching
}

// Entries reads and validates every *.geojson and *.json file of the watch list. A
// file that is not a valid AOI, has a bad schedule or bad properties, or repeats
// another file's AOI id is skipped with a warning that names it and the problem (once
// per file and problem; repeats are logged at debug level). A file deleted while being
// read is left out. A listing failure, cancellation or transient read failure is
// returned, so the caller can keep what it has.
func (p *Provider) Entries(ctx context.Context) ([]Entry, error) {
	entries, problems, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	p.report(problems)
	return entries, nil
}

// Subscriptions returns the alert subscriptions of the watched AOI aoiID (none when it is
// not watched, or its file is skipped). It reads the watch list, so changes apply to the
// next run without a restart.
func (p *Provider) Subscriptions(ctx context.Context, aoiID string) ([]alert.Subscription, error) {
	entries, err := p.Entries(ctx)
	if err != nil {
		return nil, err
	}
	for i := range entries {
		if entries[i].AOI.ID == aoiID {
			return entries[i].Subscriptions, nil
		}
	}
	return nil, nil
}

// read is Entries without logging: it returns the problems by file.
func (p *Provider) read(ctx context.Context) ([]Entry, map[string]string, error) {
	w := p.Watch
	if w.Source == nil {
		return nil, nil, errors.New("watch list: no source")
	}
	keys, err := w.Source.List(ctx, w.Bucket, w.Prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("watch list %s: %w", w, err)
	}
	problems := make(map[string]string)
	var entries []Entry
	byID := make(map[string]string) // aoi id -> file
	for _, key := range keys {
		if !isAOIFile(strings.TrimPrefix(key, w.Prefix)) {
			continue
		}
		file := w.name(key)
		data, err := w.Source.Get(ctx, w.Bucket, key)
		switch {
		case ctx.Err() != nil:
			return nil, nil, fmt.Errorf("watch list %s: %w", w, ctx.Err())
		case errors.Is(err, fs.ErrNotExist):
			p.logger().Debug("watch list file gone while reading", "file", file)
			continue
		case err != nil && s3store.IsTransient(err):
			return nil, nil, fmt.Errorf("watch list %s: %w", w, err)
		case err != nil:
			problems[file] = err.Error()
			continue
		}
		e, err := p.entry(file, data)
		if err != nil {
			problems[file] = err.Error()
			continue
		}
		if other, dup := byID[e.AOI.ID]; dup {
			problems[file] = fmt.Sprintf("aoi id %q is also the id of %s (ids name outputs and tasks, so they must be unique)", e.AOI.ID, other)
			continue
		}
		byID[e.AOI.ID] = file
		entries = append(entries, e)
	}
	return entries, problems, nil
}

// entry parses one watch list file.
func (p *Provider) entry(file string, data []byte) (Entry, error) {
	a, err := aoi.Parse(data, aoi.DefaultLimits)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{File: file, AOI: a, GeoJSON: data, Schedule: DefaultSchedule, Catalog: p.Catalog, Output: p.Output}
	for _, f := range []struct {
		key string
		dst *string
	}{{"schedule", &e.Schedule}, {"catalog", &e.Catalog}, {"output", &e.Output}} {
		v, ok := a.Properties[f.key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return Entry{}, fmt.Errorf("properties.%s: want a string, got %v", f.key, v)
		}
		if s = strings.TrimSpace(s); s != "" {
			*f.dst = s
		}
	}
	if v, ok := a.Properties["baseline_months"]; ok && v != nil {
		m, ok := v.(float64)
		if !ok || m != math.Trunc(m) || m < 1 || m > jobs.MaxBaselineMonths {
			return Entry{}, fmt.Errorf("properties.baseline_months: want a whole number of months from 1 to %d, got %v", jobs.MaxBaselineMonths, v)
		}
		e.BaselineMonths = int(m)
	}
	if v, ok := a.Properties["min_area_ha"]; ok && v != nil {
		ha, ok := v.(float64)
		if !ok {
			return Entry{}, fmt.Errorf("properties.min_area_ha: want a number of hectares, got %v", v)
		}
		e.Options.MinAreaHa = ha
	}
	if err := e.Options.Validate(); err != nil {
		return Entry{}, fmt.Errorf("properties: %w", err)
	}
	if v, ok := a.Properties["subscriptions"]; ok && v != nil {
		raw, err := json.Marshal(v)
		if err != nil {
			return Entry{}, fmt.Errorf("properties.subscriptions: %w", err)
		}
		if e.Subscriptions, err = alert.ParseSubscriptions(raw); err != nil {
			return Entry{}, fmt.Errorf("properties.%w", err)
		}
	}
	if e.sched, err = cron.ParseStandard(e.Schedule); err != nil {
		return Entry{}, fmt.Errorf("properties.schedule %q: %w", e.Schedule, err)
	}
	if e.NextFire(p.now()).IsZero() {
		return Entry{}, fmt.Errorf("properties.schedule %q never fires", e.Schedule)
	}
	switch {
	case p.SubscriptionsOnly:
	case e.Catalog == "":
		return Entry{}, errors.New("no catalog: set properties.catalog or the scheduler's default")
	case e.Output == "":
		return Entry{}, errors.New("no output: set properties.output or the scheduler's default")
	}
	return e, nil
}

// report logs the problems of one reading: new ones (or changed) as warnings, repeats at
// debug level, so a bad file does not flood the log at every sync.
func (p *Provider) report(problems map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for file, problem := range problems {
		p.logProblem(file, problem)
	}
	p.problems = problems
}

// logProblem logs problem once as a warning; the caller holds p.mu.
func (p *Provider) logProblem(file, problem string) {
	if p.problems[file] == problem {
		p.logger().Debug("watch list file still skipped", "file", file, "problem", problem)
		return
	}
	p.logger().Warn("watch list file skipped", "file", file, "problem", problem)
}
