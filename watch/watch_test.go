package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/watch"
)

// The sources the package is meant to read.
var (
	_ watch.Source                     = watch.Dir{}
	_ watch.Source                     = (*s3store.Client)(nil)
	_ watch.Source                     = (*s3store.Memory)(nil)
	_ asynq.PeriodicTaskConfigProvider = (*watch.Provider)(nil)
	_ watch.Enqueuer                   = (*asynq.Client)(nil)
)

// mineSite is the bundled AOI fixture (properties.id "muchacha").
func mineSite(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "aoi", "mine_site.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// square returns a small valid AOI Feature near the mine site, with id and extra
// properties (nil values are left out).
func square(id string, props map[string]any) []byte {
	p := map[string]any{"id": id}
	for k, v := range props {
		p[k] = v
	}
	f := map[string]any{
		"type":       "Feature",
		"properties": p,
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][2]float64{{
			{28.10, 1.30}, {28.11, 1.30}, {28.11, 1.31}, {28.10, 1.31}, {28.10, 1.30},
		}}},
	}
	b, _ := json.Marshal(f)
	return b
}

// writeFiles writes name -> content below dir (creating sub-folders).
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// logBuffer collects JSON log lines; safe for the goroutines of asynq.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the log records so far.
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var recs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// find returns the records with level and msg.
func (b *logBuffer) find(t *testing.T, level, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range b.records(t) {
		if r["level"] == level && r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func newLogger(level slog.Level) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: level})), b
}

// dirProvider returns a Provider over dir with defaults, a fixed Now and a captured log.
func dirProvider(t *testing.T, dir string, now time.Time) (*watch.Provider, *logBuffer) {
	t.Helper()
	loc, err := watch.ParseLocation(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	log, buf := newLogger(slog.LevelInfo)
	return &watch.Provider{Watch: loc, Catalog: "s3://imagery/catalog", Output: "s3://results/monthly/",
		Logger: log, Now: func() time.Time { return now }}, buf
}

// decoded is a config as the tests compare it.
type decoded struct {
	Cronspec string
	Type     string
	Req      jobs.DetectRequest
}

func decodeConfigs(t *testing.T, configs []*asynq.PeriodicTaskConfig) map[string]decoded {
	t.Helper()
	out := make(map[string]decoded)
	for _, c := range configs {
		r, err := jobs.DecodeDetectRequest(c.Task.Payload())
		if err != nil {
			t.Fatalf("payload: %v", err)
		}
		if _, dup := out[r.AOIID]; dup {
			t.Fatalf("two configs for %s", r.AOIID)
		}
		out[r.AOIID] = decoded{c.Cronspec, c.Task.Type(), r}
	}
	return out
}

func period(t *testing.T, s string) jobs.Period {
	t.Helper()
	p, err := jobs.ParsePeriod(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProviderConfigs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"mine_site.geojson":    mineSite(t),
		"custom.json":          square("custom", map[string]any{"schedule": "@monthly", "catalog": "/data/catalog", "output": "/data/out", "min_area_ha": 0.5, "baseline_months": 3}),
		"sub/nested.geojson":   square("nested", nil),
		"bad_json.geojson":     []byte(`{"type": "Feature", "geometry": `),
		"bad_cron.geojson":     square("badcron", map[string]any{"schedule": "61 * * * *"}),
		"point.geojson":        []byte(`{"type":"Feature","properties":{"id":"pt"},"geometry":{"type":"Point","coordinates":[28.1,1.3]}}`),
		"zz_duplicate.geojson": square("muchacha", nil),
		"bad_area.geojson":     square("badarea", map[string]any{"min_area_ha": "big"}),
		"negative.geojson":     square("negative", map[string]any{"min_area_ha": -1}),
		"baseline.geojson":     square("baseline", map[string]any{"baseline_months": 1.5}),
		"never.geojson":        square("never", map[string]any{"schedule": "0 0 30 2 *"}),
		"notes.txt":            []byte("not an AOI"),
		".hidden.geojson":      []byte("{"),
		".git/x.json":          []byte("{"),
		"sub/.swp.geojson":     []byte("{"),
		"README.md":            []byte("# watch list"),
		"UPPER/CASE.GEOJSON":   square("upper", map[string]any{"schedule": "  "}),
		"catalog_null.geojson": square("nullcat", map[string]any{"catalog": nil}),
	})
	// 1 March 2024, noon: the default schedule's next run is 2 March 06:00 (for
	// February), @monthly's is 1 April 00:00 (for March).
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	p, logs := dirProvider(t, dir, now)

	configs, err := p.GetConfigs()
	if err != nil {
		t.Fatal(err)
	}
	got := decodeConfigs(t, configs)

	// A baseline of the 12 months before the month (3 for custom).
	feb := [2]string{"2023-02-01/2024-01-31", "2024-02-01/2024-02-29"}
	mar := [2]string{"2023-12-01/2024-02-29", "2024-03-01/2024-03-31"}
	tests := []struct {
		id, cron, catalog, output string
		periods                   [2]string
		minArea                   float64
	}{
		{"muchacha", watch.DefaultSchedule, "s3://imagery/catalog", "s3://results/monthly/muchacha/2024-02_2024-02", feb, 0},
		{"custom", "@monthly", "/data/catalog", "/data/out/custom/2024-03_2024-03", mar, 0.5},
		{"nested", watch.DefaultSchedule, "s3://imagery/catalog", "s3://results/monthly/nested/2024-02_2024-02", feb, 0},
		{"upper", watch.DefaultSchedule, "s3://imagery/catalog", "s3://results/monthly/upper/2024-02_2024-02", feb, 0},
		{"nullcat", watch.DefaultSchedule, "s3://imagery/catalog", "s3://results/monthly/nullcat/2024-02_2024-02", feb, 0},
	}
	if len(got) != len(tests) {
		t.Errorf("got configs for %v, want %d", slices.Sorted(maps.Keys(got)), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			c, ok := got[tc.id]
			if !ok {
				t.Fatalf("no config")
			}
			r := c.Req
			if c.Cronspec != tc.cron || c.Type != jobs.TypeDetectChange {
				t.Errorf("cron %q type %q, want %q %q", c.Cronspec, c.Type, tc.cron, jobs.TypeDetectChange)
			}
			if r.Before.String() != tc.periods[0] || r.After.String() != tc.periods[1] {
				t.Errorf("periods %s %s, want %s %s", r.Before, r.After, tc.periods[0], tc.periods[1])
			}
			if r.Catalog != tc.catalog || r.Output != tc.output {
				t.Errorf("catalog %q output %q, want %q %q", r.Catalog, r.Output, tc.catalog, tc.output)
			}
			if r.Options.MinAreaHa != tc.minArea || r.Version != jobs.PayloadVersion {
				t.Errorf("min area %v version %d", r.Options.MinAreaHa, r.Version)
			}
			if _, err := aoi.Parse(r.AOI, aoi.DefaultLimits); err != nil {
				t.Errorf("payload aoi: %v", err)
			}
			want := jobs.DetectRequest{AOIID: tc.id, AOI: r.AOI, Catalog: tc.catalog, Output: tc.output,
				Before: period(t, tc.periods[0]), After: period(t, tc.periods[1]), Options: jobs.Options{MinAreaHa: tc.minArea}}
			if r.TaskID() != want.TaskID() {
				t.Errorf("task id %s, want %s", r.TaskID(), want.TaskID())
			}
		})
	}
	if r := got["muchacha"].Req; !strings.HasPrefix(r.TaskID(), "detect:muchacha:20230201:20240229:") {
		t.Errorf("task id %s", r.TaskID())
	}
	if got["muchacha"].Req.AOIName != "Muchacha gold mine (IPIS)" {
		t.Errorf("aoi name %q", got["muchacha"].Req.AOIName)
	}

	// One warning per skipped file, naming the file and the problem.
	warned := make(map[string]string)
	for _, r := range logs.find(t, "WARN", "watch list file skipped") {
		warned[filepath.Base(r["file"].(string))] = r["problem"].(string)
	}
	for file, problem := range map[string]string{
		"bad_json.geojson":     "aoi: json",
		"bad_cron.geojson":     `properties.schedule "61 * * * *"`,
		"point.geojson":        "aoi: geometry.type",
		"zz_duplicate.geojson": `aoi id "muchacha" is also the id of ` + filepath.Join(dir, "mine_site.geojson"),
		"bad_area.geojson":     "properties.min_area_ha: want a number",
		"negative.geojson":     "options.min_area_ha",
		"baseline.geojson":     "properties.baseline_months: want a whole number",
		"never.geojson":        "never fires",
	} {
		if !strings.Contains(warned[file], problem) {
			t.Errorf("warning for %s: %q, want it to contain %q", file, warned[file], problem)
		}
		delete(warned, file)
	}
	if len(warned) > 0 {
		t.Errorf("unexpected warnings: %v", warned)
	}

	// The next reading does not warn again about the same problems.
	before := len(logs.find(t, "WARN", "watch list file skipped"))
	if _, err := p.GetConfigs(); err != nil {
		t.Fatal(err)
	}
	if n := len(logs.find(t, "WARN", "watch list file skipped")); n != before {
		t.Errorf("%d warnings after a second reading, want %d", n, before)
	}
	// ... but does when a problem changes.
	writeFiles(t, dir, map[string][]byte{"bad_cron.geojson": square("badcron", map[string]any{"schedule": "@fortnightly"})})
	if _, err := p.GetConfigs(); err != nil {
		t.Fatal(err)
	}
	if n := len(logs.find(t, "WARN", "watch list file skipped")); n != before+1 {
		t.Errorf("%d warnings after a changed problem, want %d", n, before+1)
	}
}

// TestProviderFollowsFiles: adding, changing and removing a file changes the next
// reading, and an unchanged list gives identical configs (the manager's diff relies on it).
func TestProviderFollowsFiles(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a.geojson": square("a", nil)})
	p, logs := dirProvider(t, dir, time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC))

	read := func() map[string]decoded {
		t.Helper()
		c, err := p.GetConfigs()
		if err != nil {
			t.Fatal(err)
		}
		return decodeConfigs(t, c)
	}
	payloads := func() map[string]string {
		t.Helper()
		c, err := p.GetConfigs()
		if err != nil {
			t.Fatal(err)
		}
		m := make(map[string]string)
		for _, x := range c {
			m[x.Cronspec] = string(x.Task.Payload())
		}
		return m
	}

	steps := []struct {
		name  string
		apply func()
		want  map[string]string // aoi id -> cronspec
	}{
		{"initial", func() {}, map[string]string{"a": watch.DefaultSchedule}},
		{"added", func() {
			writeFiles(t, dir, map[string][]byte{"b.json": square("b", map[string]any{"schedule": "@weekly"})})
		}, map[string]string{"a": watch.DefaultSchedule, "b": "@weekly"}},
		{"changed", func() {
			writeFiles(t, dir, map[string][]byte{"a.geojson": square("a", map[string]any{"schedule": "0 6 3 * *"})})
		}, map[string]string{"a": "0 6 3 * *", "b": "@weekly"}},
		{"broken", func() {
			writeFiles(t, dir, map[string][]byte{"b.json": []byte("{")})
		}, map[string]string{"a": "0 6 3 * *"}},
		{"removed", func() {
			if err := os.Remove(filepath.Join(dir, "a.geojson")); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.apply()
			got := read()
			gotCron := make(map[string]string)
			for id, d := range got {
				gotCron[id] = d.Cronspec
			}
			if fmt.Sprint(gotCron) != fmt.Sprint(s.want) {
				t.Errorf("got %v, want %v", gotCron, s.want)
			}
			if a, b := payloads(), payloads(); fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("two readings of the same list differ")
			}
		})
	}
	if n := len(logs.find(t, "INFO", "aoi no longer watched")); n != 2 {
		t.Errorf("%d 'no longer watched' records, want 2 (b broken, a removed)", n)
	}
}

// TestRunTimes: which month a periodic task carries, and which run a catch-up enqueues.
func TestRunTimes(t *testing.T) {
	mem := s3store.NewMemory("w")
	ctx := context.Background()
	schedules := map[string]string{"default": "", "monthly": "@monthly", "every": "@every 1s", "never": "0 0 30 2 *", "tz": "CRON_TZ=Africa/Lubumbashi 0 6 2 * *"}
	for id, s := range schedules {
		props := map[string]any{}
		if s != "" {
			props["schedule"] = s
		}
		if err := mem.Put(ctx, "w", "list/"+id+".geojson", square(id, props), ""); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := watch.ParseLocation("s3://w/list", mem)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := newLogger(slog.LevelError)
	p := &watch.Provider{Watch: loc, Catalog: "c", Output: "o", Logger: log}
	entries, err := p.Entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := make(map[string]*watch.Entry)
	for i := range entries {
		byID[entries[i].AOI.ID] = &entries[i]
	}
	if _, ok := byID["never"]; ok || len(byID) != len(schedules)-1 {
		t.Errorf("entries %v: want all but the one that never fires", slices.Sorted(maps.Keys(byID)))
	}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	month := func(tm time.Time) string {
		if tm.IsZero() {
			return "none"
		}
		_, a := jobs.MonthlyPeriods(tm)
		return a.Start.Format("2006-01")
	}
	tests := []struct {
		id, now    string
		next, last string // months of the after period
	}{
		{"default", "2024-04-02T05:59:00Z", "2024-03", "2024-02"},
		{"default", "2024-04-02T06:03:00Z", "2024-03", "2024-03"}, // within FireGrace: still the due run
		{"default", "2024-04-02T06:06:00Z", "2024-04", "2024-03"},
		{"default", "2024-04-01T03:00:00Z", "2024-03", "2024-02"}, // a start on the 1st does not run March early
		{"default", "2024-01-15T00:00:00Z", "2024-01", "2023-12"},
		{"monthly", "2024-04-01T00:01:00Z", "2024-03", "2024-03"},
		{"monthly", "2024-04-15T00:00:00Z", "2024-04", "2024-03"},
		{"every", "2024-04-15T00:00:00Z", "2024-03", "2024-03"},
		{"every", "2024-05-01T00:00:00Z", "2024-03", "2024-04"}, // the grace reaches back into April
		{"tz", "2024-04-02T03:59:00Z", "2024-03", "2024-02"},    // 06:00 in Lubumbashi is 04:00 UTC
	}
	for _, tc := range tests {
		t.Run(tc.id+"@"+tc.now, func(t *testing.T) {
			e := byID[tc.id]
			if e == nil {
				t.Fatalf("no entry %s", tc.id)
			}
			now := at(tc.now)
			if got := month(e.NextFire(now)); got != tc.next {
				t.Errorf("next run for %s, want %s", got, tc.next)
			}
			last, ok := e.LastFire(now)
			if got := month(last); got != tc.last || ok != (tc.last != "none") {
				t.Errorf("last run for %s (%v), want %s", got, ok, tc.last)
			}
			if ok && last.After(now) {
				t.Errorf("last run %v after now", last)
			}
		})
	}
}

func TestRequestFor(t *testing.T) {
	a, err := aoi.Parse(mineSite(t), aoi.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		output, before, after, want string
	}{
		{"s3://results", "2023-03-01/2023-03-31", "2024-03-01/2024-03-31", "s3://results/muchacha/2024-03_2024-03"},
		{"s3://results/", "2023-03-01/2023-03-31", "2024-03-01/2024-03-31", "s3://results/muchacha/2024-03_2024-03"},
		{"out", "2023-01-01/2023-03-31", "2024-01-01/2024-03-31", "out/muchacha/2024-01_2024-03"},
	}
	for _, tc := range tests {
		r := watch.RequestFor(a, mineSite(t), period(t, tc.before), period(t, tc.after), "cat", tc.output)
		if r.Output != tc.want || r.Catalog != "cat" || r.AOIID != "muchacha" || r.AOIName != a.Name ||
			r.Version != jobs.PayloadVersion || r.Before.String() != tc.before || r.After.String() != tc.after {
			t.Errorf("RequestFor(%q) = %+v", tc.output, r)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"a.json": []byte("1"), "sub/b.json": []byte("2"), ".tmp/c.json": []byte("3"), "subx/d.json": []byte("4")})
	ctx := context.Background()
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a.json", "sub/b.json", "subx/d.json"}},
		{"sub/", []string{"sub/b.json"}},
		{"sub", []string{"sub/b.json", "subx/d.json"}},
		{"none", nil},
	}
	for _, tc := range tests {
		got, err := watch.Dir{}.List(ctx, dir, tc.prefix)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %v, %v; want %v", tc.prefix, got, err, tc.want)
		}
	}
	if b, err := (watch.Dir{}).Get(ctx, dir, "sub/b.json"); err != nil || string(b) != "2" {
		t.Errorf("Get = %q, %v", b, err)
	}
	if _, err := (watch.Dir{}).Get(ctx, dir, "gone.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := (watch.Dir{}).Get(ctx, dir, "../x.json"); err == nil {
		t.Errorf("Get outside the folder: no error")
	}
	if _, err := (watch.Dir{}).List(ctx, filepath.Join(dir, "missing"), ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of a missing folder: %v", err)
	}
}

func TestParseLocation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.geojson")
	writeFiles(t, dir, map[string][]byte{"f.geojson": []byte("{}")})
	mem := s3store.NewMemory()
	tests := []struct {
		loc            string
		store          watch.Source
		bucket, prefix string
		str, err       string
	}{
		{"s3://b/p", mem, "b", "p/", "s3://b/", ""},
		{"s3://b/p/q/", mem, "b", "p/q/", "s3://b/", ""},
		{"s3://b", mem, "b", "", "s3://b/", ""},
		{"s3://", mem, "", "", "", "no bucket"},
		{"s3://b/p", nil, "", "", "", "no S3 client"},
		{dir, nil, dir, "", dir, ""},
		{filepath.Join(dir, "missing"), nil, "", "", "", "no such file"},
		{file, nil, "", "", "", "not a folder"},
		{"", nil, "", "", "", "empty"},
	}
	for _, tc := range tests {
		l, err := watch.ParseLocation(tc.loc, tc.store)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseLocation(%q): %v, want %q", tc.loc, err, tc.err)
			}
			continue
		}
		if err != nil || l.Bucket != tc.bucket || l.Prefix != tc.prefix || l.String() != tc.str {
			t.Errorf("ParseLocation(%q) = %+v %q, %v", tc.loc, l, l.String(), err)
		}
	}
}

// flaky fails Get with err for one key.
type flaky struct {
	watch.Source
	key string
	err error
}

func (f flaky) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if key == f.key {
		return nil, f.err
	}
	return f.Source.Get(ctx, bucket, key)
}

// TestReadFailures: a transient failure fails the whole reading (the manager keeps its
// tasks), a permanent one skips the file, a file gone between List and Get is left out.
func TestReadFailures(t *testing.T) {
	ctx := context.Background()
	mem := s3store.NewMemory("w")
	for _, id := range []string{"a", "b"} {
		if err := mem.Put(ctx, "w", id+".geojson", square(id, nil), ""); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		err     error
		wantErr bool
		want    int
		warn    bool
	}{
		{"transient", fmt.Errorf("get: %w", syscall.ECONNRESET), true, 0, false},
		{"permanent", errors.New("access denied"), false, 1, true},
		{"gone", fmt.Errorf("get: %w", s3store.ErrNotFound), false, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, logs := newLogger(slog.LevelInfo)
			p := &watch.Provider{Watch: watch.Location{Source: flaky{mem, "b.geojson", tc.err}, Bucket: "w"},
				Catalog: "c", Output: "o", Logger: log}
			c, err := p.GetConfigs()
			if (err != nil) != tc.wantErr || len(c) != tc.want {
				t.Errorf("GetConfigs = %d configs, %v", len(c), err)
			}
			if w := logs.find(t, "WARN", "watch list file skipped"); (len(w) > 0) != tc.warn {
				t.Errorf("warnings %v", w)
			}
		})
	}
	p := &watch.Provider{Watch: watch.Location{Source: mem, Bucket: "missing"}}
	if _, err := p.GetConfigs(); !errors.Is(err, s3store.ErrBucketNotFound) {
		t.Errorf("missing bucket: %v", err)
	}
}

// TestProviderSubscriptions: the "subscriptions" property is parsed and validated with
// the watch list; a bad subscription skips its file with a warning naming the field.
func TestProviderSubscriptions(t *testing.T) {
	dir := t.TempDir()
	subs := []any{map[string]any{"id": "gis", "email": []string{"gis@example.org"},
		"webhook": map[string]any{"url": "https://hooks.example.org/cw"},
		"rules":   []any{map[string]any{"id": "new-near-mines", "new": true, "near_mine_km": 5}}}}
	writeFiles(t, dir, map[string][]byte{
		"subscribed.geojson": square("subscribed", map[string]any{"subscriptions": subs}),
		"plain.geojson":      square("plain", nil),
		"bad_rule.geojson": square("badrule", map[string]any{"subscriptions": []any{map[string]any{"id": "x",
			"email": []string{"a@example.org"}, "rules": []any{map[string]any{"id": "r", "new": true, "min_confidence": 2}}}}}),
		"bad_type.geojson": square("badtype", map[string]any{"subscriptions": "everyone"}),
	})
	p, logs := dirProvider(t, dir, time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	tests := []struct {
		aoi       string
		wantRules []string
	}{
		{"subscribed", []string{"new-near-mines"}},
		{"plain", nil},
		{"badrule", nil},
		{"unwatched", nil},
	}
	for _, tt := range tests {
		got, err := p.Subscriptions(ctx, tt.aoi)
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, s := range got {
			for _, r := range s.Rules {
				rules = append(rules, r.ID)
			}
		}
		if !slices.Equal(rules, tt.wantRules) {
			t.Errorf("%s: rules %v, want %v", tt.aoi, rules, tt.wantRules)
		}
	}
	warned := make(map[string]string)
	for _, r := range logs.find(t, "WARN", "watch list file skipped") {
		warned[filepath.Base(r["file"].(string))] = r["problem"].(string)
	}
	for file, problem := range map[string]string{
		"bad_rule.geojson": "properties.subscriptions[0].rules[0].min_confidence",
		"bad_type.geojson": "properties.subscriptions",
	} {
		if !strings.Contains(warned[file], problem) {
			t.Errorf("warning for %s: %q, want it to contain %q", file, warned[file], problem)
		}
	}
}
