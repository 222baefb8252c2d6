package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Source is where an AOI's published runs and verdicts are read: its folder or prefix
// <out>/<aoi id>/. Keys are relative to it ("2024-01_2024-01/manifest.json").
type Source interface {
	// List returns every key below prefix ("" is the whole AOI folder).
	List(ctx context.Context, prefix string) ([]string, error)
	// Get returns the object's bytes; a missing object is an error matching fs.ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, error)
}

// Limits on what Load accepts (a bucket is data from outside).
const (
	MaxRuns          = 1200    // a century of months
	MaxPolygonsInRun = 200_000 // change polygons of one run
	MaxVerdicts      = 100_000
	maxVerdictBytes  = 64 << 10
)

// runName is a run folder's name: the after period's months.
var runName = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}_[0-9]{4}-[0-9]{2}$`)

// verdictName is a verdict object's name: <yyyymmddThhmmssZ>-<8 hex>.json.
var verdictName = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\.json$`)

// IsRunName reports whether name is a run folder's name (<YYYY-MM>_<YYYY-MM>).
func IsRunName(name string) bool { return runName.MatchString(name) }

// Inputs are what a ledger is built from.
type Inputs struct {
	Runs     []Run
	Verdicts []Verdict
	// Skipped names the published runs and verdicts that could be read but not parsed,
	// with the problem: they are left out (and logged by the caller), not retried.
	Skipped []string
}

// Load reads the AOI's published runs (folders with a manifest.json) and its verdicts.
// A run without a manifest is not published yet and is left out. A read that fails is an
// error (to be retried: the ledger must not silently lose a run); an object that is read
// but cannot be parsed is left out and named in Skipped.
func Load(ctx context.Context, src Source, minObservedPct float64) (*Inputs, error) {
	keys, err := src.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var runs, verdicts []string
	for _, k := range keys {
		dir, file := path.Split(k)
		dir = strings.TrimSuffix(dir, "/")
		switch {
		case file == "manifest.json" && runName.MatchString(dir):
			runs = append(runs, dir)
		case dir == "verdicts" && verdictName.MatchString(file):
			verdicts = append(verdicts, file)
		}
	}
	slices.Sort(runs)
	slices.Sort(verdicts)
	if len(runs) > MaxRuns {
		return nil, fmt.Errorf("%d published runs: more than %d", len(runs), MaxRuns)
	}
	if len(verdicts) > MaxVerdicts {
		return nil, fmt.Errorf("%d verdicts: more than %d", len(verdicts), MaxVerdicts)
	}
	in := &Inputs{}
	for _, name := range runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var files [3][]byte
		for i, f := range []string{"manifest.json", "item.json", "changes.geojson"} {
			if files[i], err = src.Get(ctx, name+"/"+f); err != nil {
				return nil, fmt.Errorf("run %s: read %s: %w", name, f, err)
			}
		}
		r, err := ParseRun(name, files[0], files[1], files[2], minObservedPct)
		if err != nil {
			in.Skipped = append(in.Skipped, fmt.Sprintf("run %s: %v", name, err))
			continue
		}
		in.Runs = append(in.Runs, r)
	}
	for _, name := range verdicts {
		data, err := src.Get(ctx, "verdicts/"+name)
		if err != nil {
			return nil, fmt.Errorf("verdict %s: %w", name, err)
		}
		v, err := ParseVerdict(name, data)
		if err != nil {
			in.Skipped = append(in.Skipped, err.Error())
			continue
		}
		in.Verdicts = append(in.Verdicts, v)
	}
	return in, nil
}

// ParseRun reads one published run from its manifest.json, item.json and changes.geojson.
// A run whose item reports an observed share of the AOI below minObservedPct (percent)
// is marked Insufficient.
func ParseRun(name string, manifest, item, changes []byte, minObservedPct float64) (Run, error) {
	if !runName.MatchString(name) {
		return Run{}, fmt.Errorf("run name %q: want <YYYY-MM>_<YYYY-MM>", name)
	}
	var m struct {
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return Run{}, fmt.Errorf("manifest.json: %w", err)
	}
	var it struct {
		Properties struct {
			After        string   `json:"changewatch:after"`
			ScenesAfter  []string `json:"changewatch:scenes_after"`
			ObservedPct  *float64 `json:"changewatch:observed_pct"`
			Insufficient bool     `json:"changewatch:insufficient_view"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(item, &it); err != nil {
		return Run{}, fmt.Errorf("item.json: %w", err)
	}
	props := it.Properties
	afterStart, afterEnd, err := parsePeriod(props.After)
	if err != nil {
		return Run{}, fmt.Errorf("item.json: changewatch:after: %w", err)
	}
	after := map[string]bool{}
	for _, s := range props.ScenesAfter {
		after[s] = true
	}
	fc, err := geojson.UnmarshalFeatureCollection(changes)
	if err != nil {
		return Run{}, fmt.Errorf("changes.geojson: %w", err)
	}
	if len(fc.Features) > MaxPolygonsInRun {
		return Run{}, fmt.Errorf("changes.geojson: %d polygons: more than %d", len(fc.Features), MaxPolygonsInRun)
	}
	r := Run{Name: name, Published: m.Created.UTC(), Insufficient: props.Insufficient}
	if props.ObservedPct != nil && *props.ObservedPct < minObservedPct {
		r.Insufficient = true
	}
	for i, f := range fc.Features {
		p, err := parsePolygon(f, after, afterStart, afterEnd)
		if err != nil {
			return Run{}, fmt.Errorf("changes.geojson: feature %d: %w", i, err)
		}
		r.Polygons = append(r.Polygons, p)
	}
	return r, nil
}

func parsePeriod(s string) (start, end time.Time, err error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return start, end, fmt.Errorf("%q: want START/END", s)
	}
	if start, err = time.Parse(time.DateOnly, a); err != nil {
		return start, end, fmt.Errorf("%q: start: %w", s, err)
	}
	if end, err = time.Parse(time.DateOnly, b); err != nil {
		return start, end, fmt.Errorf("%q: end: %w", s, err)
	}
	return start, end, nil
}

func parsePolygon(f *geojson.Feature, after map[string]bool, afterStart, afterEnd time.Time) (Polygon, error) {
	p := Polygon{ID: f.Properties.MustString("id", ""), Class: f.Properties.MustString("class", ""),
		AreaHa: f.Properties.MustFloat64("area_ha", 0), Confidence: f.Properties.MustFloat64("confidence", 0)}
	if p.ID == "" || p.Class == "" {
		return p, errors.New("no id or class")
	}
	switch g := f.Geometry.(type) {
	case orb.Polygon:
		p.Geometry = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		p.Geometry = g
	default:
		return p, fmt.Errorf("polygon %s: geometry %T, want a polygon", p.ID, f.Geometry)
	}
	for _, s := range sceneList(f.Properties["scenes"]) {
		if len(after) > 0 && !after[s] {
			continue
		}
		d, ok := sceneDate(s)
		if !ok || d.Before(afterStart) || d.After(afterEnd) {
			continue
		}
		if p.FirstObs.IsZero() || d.Before(p.FirstObs) {
			p.FirstObs = d
		}
		if d.After(p.LastObs) {
			p.LastObs = d
		}
	}
	if p.LastObs.IsZero() { // no dated after-scene: the period's bounds
		p.FirstObs, p.LastObs = afterStart, afterEnd
	}
	return p, nil
}

// sceneList reads a polygon's scenes: a comma-joined string or an array of strings.
func sceneList(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// sceneDate reads the acquisition date of a Sentinel-2 item id
// (S2A_35NPB_20240115_0_L2A; an acquisition of several tiles joins their ids with "+").
func sceneDate(id string) (time.Time, bool) {
	first, _, _ := strings.Cut(id, "+")
	for part := range strings.SplitSeq(first, "_") {
		if len(part) == 8 {
			if _, err := strconv.Atoi(part); err == nil {
				if t, err := time.Parse("20060102", part); err == nil {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

// ParseVerdict reads one verdict object named name.
func ParseVerdict(name string, data []byte) (Verdict, error) {
	if len(data) > maxVerdictBytes {
		return Verdict{}, fmt.Errorf("verdict %s: %d bytes: more than %d", name, len(data), maxVerdictBytes)
	}
	var v Verdict
	if err := json.Unmarshal(data, &v); err != nil {
		return Verdict{}, fmt.Errorf("verdict %s: %w", name, err)
	}
	v.Name = name
	return v, nil
}
