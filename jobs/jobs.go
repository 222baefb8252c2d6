// Package jobs is the contract between whoever asks for change detection (the CLI, the
// scheduler, other services) and the workers that do it: request and summary types,
// period parsing, option defaults. It imports nothing of changewatch's, so other modules
// can import it.
package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TypeDetectChange is the task type of a change detection request.
const TypeDetectChange = "change:detect"

// PayloadVersion is the version of DetectRequest this code writes and understands.
const PayloadVersion = 1

// ErrBadRequest marks a request that can never succeed as given (bad AOI, bad period, bad
// option): it must not be retried.
var ErrBadRequest = errors.New("bad request")

// BadRequest wraps a problem with a named field of a request.
type BadRequest struct {
	Field   string
	Problem string
}

func (e *BadRequest) Error() string { return e.Field + ": " + e.Problem }

// Is makes errors.Is(err, ErrBadRequest) true.
func (e *BadRequest) Is(target error) bool { return target == ErrBadRequest }

// Period is a closed range of days, written "2023-01-01/2023-03-31".
type Period struct {
	Start time.Time // first day, 00:00 UTC
	End   time.Time // last day, 00:00 UTC (the period includes all of it)
}

// ParsePeriod parses "YYYY-MM-DD/YYYY-MM-DD".
func ParsePeriod(s string) (Period, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Period{}, fmt.Errorf("period %q: want START/END, e.g. 2023-01-01/2023-03-31", s)
	}
	start, err := time.Parse(time.DateOnly, a)
	if err != nil {
		return Period{}, fmt.Errorf("period %q: start: want YYYY-MM-DD", s)
	}
	end, err := time.Parse(time.DateOnly, b)
	if err != nil {
		return Period{}, fmt.Errorf("period %q: end: want YYYY-MM-DD", s)
	}
	if end.Before(start) {
		return Period{}, fmt.Errorf("period %q: end is before start", s)
	}
	return Period{Start: start, End: end}, nil
}

// String formats p as START/END.
func (p Period) String() string {
	return p.Start.Format(time.DateOnly) + "/" + p.End.Format(time.DateOnly)
}

// Last returns the last instant of the period.
func (p Period) Last() time.Time { return p.End.Add(24*time.Hour - time.Nanosecond) }

// MarshalText implements encoding.TextMarshaler.
func (p Period) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Period) UnmarshalText(b []byte) error {
	q, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// Options tune the method. The zero value of a field means its default.
type Options struct {
	MinAreaHa  float64 `json:"min_area_ha,omitempty"` // minimum mapping unit, default 0.2 ha
	NoMask     bool    `json:"no_mask,omitempty"`     // do not mask with SCL (L1C data)
	MaskBuffer *int    `json:"mask_buffer,omitempty"` // pixels around SCL clouds/shadows, default 5 (50 m); 0 is no buffer
	MaxScenes  int     `json:"max_scenes,omitempty"`  // scenes composited per period, default 8
	MaxCloud   float64 `json:"max_cloud,omitempty"`   // skip scenes with eo:cloud_cover above, default 90 %
	MinClear   int     `json:"min_clear,omitempty"`   // clear observations a pixel needs per period, default 1
}

// Defaults used when an option is zero.
const (
	DefaultMinAreaHa  = 0.2
	DefaultMaskBuffer = 5
	DefaultMaxScenes  = 8
	DefaultMaxCloud   = 90
)

// DefaultMinObservedPct is the share of the AOI (percent) a run must see clear in both
// periods; below it the run reports an insufficient view, and the incidents it does not
// see are not taken as gone.
const DefaultMinObservedPct = 50

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.MinAreaHa == 0 {
		o.MinAreaHa = DefaultMinAreaHa
	}
	if o.MaskBuffer == nil {
		b := DefaultMaskBuffer
		o.MaskBuffer = &b
	}
	if o.MaxScenes == 0 {
		o.MaxScenes = DefaultMaxScenes
	}
	if o.MaxCloud == 0 {
		o.MaxCloud = DefaultMaxCloud
	}
	if o.MinClear == 0 {
		o.MinClear = 1
	}
	return o
}

// Validate names the first bad option.
func (o Options) Validate() error {
	switch {
	case o.MinAreaHa < 0:
		return &BadRequest{"options.min_area_ha", "must not be negative"}
	case o.MaskBuffer != nil && (*o.MaskBuffer < 0 || *o.MaskBuffer > 100):
		return &BadRequest{"options.mask_buffer", "must be between 0 and 100 pixels"}
	case o.MaxScenes < 0 || o.MaxScenes > 16:
		return &BadRequest{"options.max_scenes", "must be between 1 and 16"}
	case o.MaxCloud < 0 || o.MaxCloud > 100:
		return &BadRequest{"options.max_cloud", "must be between 0 and 100 %"}
	case o.MinClear < 0 || o.MinClear > 16:
		return &BadRequest{"options.min_clear", "must be between 1 and 16 observations"}
	}
	return nil
}

// DetectRequest asks for the change of one AOI between two periods.
type DetectRequest struct {
	Version int             `json:"version"`
	AOIID   string          `json:"aoi_id,omitempty"`   // the AOI's id; set by whoever parsed the AOI (derived from it when empty)
	AOIName string          `json:"aoi_name,omitempty"` // a human name
	AOI     json.RawMessage `json:"aoi"`                // GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection (EPSG:4326)
	Before  Period          `json:"before"`
	After   Period          `json:"after"`
	Catalog string          `json:"catalog"` // STAC API URL, or static STAC catalog: local folder or s3://bucket/prefix
	Output  string          `json:"output"`  // local folder or s3://bucket/prefix
	Options Options         `json:"options"`
}

// Validate checks what can be checked without the AOI parser and the catalog.
func (r *DetectRequest) Validate() error {
	switch {
	case r.Version != PayloadVersion:
		return &BadRequest{"version", fmt.Sprintf("payload version %d is not supported (want %d)", r.Version, PayloadVersion)}
	case len(r.AOI) == 0:
		return &BadRequest{"aoi", "missing"}
	case len(r.AOI) > MaxAOIBytes:
		return &BadRequest{"aoi", fmt.Sprintf("%d bytes, the limit is %d (drop unneeded properties, simplify the boundary)", len(r.AOI), MaxAOIBytes)}
	case len(r.AOIName) > 256:
		return &BadRequest{"aoi_name", "longer than 256 bytes"}
	case r.Before.Start.IsZero() || r.After.Start.IsZero():
		return &BadRequest{"before/after", "both periods are required"}
	case !r.Before.End.Before(r.After.Start):
		return &BadRequest{"after", "the after period must start after the before period ends"}
	case r.Catalog == "":
		return &BadRequest{"catalog", "missing"}
	case r.Output == "":
		return &BadRequest{"output", "missing"}
	}
	if r.AOIID != "" {
		if err := CheckID("aoi_id", r.AOIID); err != nil {
			return err
		}
	}
	if err := CheckLocation("catalog", r.Catalog); err != nil {
		return err
	}
	if strings.HasPrefix(r.Output, "http://") || strings.HasPrefix(r.Output, "https://") {
		return &BadRequest{"output", "want a folder or s3://bucket/prefix"}
	}
	if err := CheckLocation("output", r.Output); err != nil {
		return err
	}
	return r.Options.Validate()
}

// Summary is what a detection run reports: printed by the CLI, stored as the task result.
type Summary struct {
	AOIID        string             `json:"aoi_id"`
	AOIName      string             `json:"aoi_name"`
	AOIAreaHa    float64            `json:"aoi_area_ha"`
	Before       Period             `json:"before"`
	After        Period             `json:"after"`
	Polygons     map[string]int     `json:"polygons"` // by class
	Hectares     map[string]float64 `json:"hectares"` // by class
	ScenesBefore []string           `json:"scenes_before"`
	ScenesAfter  []string           `json:"scenes_after"`
	ObservedPct  float64            `json:"observed_pct"` // share of the AOI with a clear observation in both periods
	// NotObservedPct is the rest: no clear observation in one period or both.
	NotObservedPct float64 `json:"not_observed_pct"`
	// InsufficientView: less than DefaultMinObservedPct of the AOI was seen clear, so the
	// run cannot say "no change" where it found none.
	InsufficientView bool               `json:"insufficient_view"`
	Grid             string             `json:"grid"` // e.g. "EPSG:32635 10 m 1024x1024"
	Output           string             `json:"output"`
	Files            []string           `json:"files"`
	Timings          map[string]float64 `json:"timings_s"`
	// Baseline says where the before composite came from: "kept" (a composite kept by an
	// earlier run over the same scenes), "computed" (from the scenes, and kept for later
	// runs); empty when the run keeps none (an output outside the ledger layout).
	Baseline string `json:"baseline,omitempty"`
}
