package jobs

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Bounds on what a payload may ask for. They are checked before anything is allocated
// from a payload, so a forged or corrupted task is refused, never run out of memory.
const (
	// MaxAOIBytes is the largest AOI document a request carries (the GeoJSON stored in
	// Redis with the task). The Okapi reserve's boundary is 95 kB; all 50 protected areas
	// of the DRC together 3.9 MB.
	MaxAOIBytes = 4 << 20
	// MaxPayloadBytes bounds a whole task payload: the AOI and the scenes of both periods.
	MaxPayloadBytes = MaxAOIBytes + 1<<20
	// MaxChunks is the most chunks one fanned-out run may have (the Okapi reserve at the
	// default chunk side is 15; 4096 chunks of 4080 pixels would be 680 000 km²).
	MaxChunks = 4096
	// MaxChunkSide is the largest chunk width or height in pixels (a Sentinel-2 tile).
	MaxChunkSide = 10980
	// MaxGridSide bounds the width and height of the AOI grid in 10 m pixels (2000 km).
	MaxGridSide = 200000
	// MaxScenesPerPeriod bounds the scenes a chunk or merge payload carries per period
	// (Options.MaxScenes is at most 16).
	MaxScenesPerPeriod = 16
	// MaxTilesPerScene bounds the tiles of one acquisition (an AOI across four MGRS tiles
	// in two UTM zones has at most a handful).
	MaxTilesPerScene = 16
	// MaxHrefBytes bounds one asset href.
	MaxHrefBytes = 2048
)

// reID is the one pattern of every identifier that becomes a path element or a key part:
// AOI ids (from properties.id, aoi_id or the feature id), run ids. ASCII letters, digits,
// '_' and '-', 1 to 64 characters, starting with a letter or digit. No '.', '/', '\', NUL,
// spaces or non-ASCII look-alikes, so an id can never name another folder or leave the
// output prefix.
var reID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// IDPattern documents reID.
const IDPattern = "1-64 ASCII letters, digits, '_' or '-', starting with a letter or digit"

// CheckID returns a BadRequest on field when id does not match IDPattern.
func CheckID(field, id string) error {
	if !reID.MatchString(id) {
		return &BadRequest{field, fmt.Sprintf("%s is not a valid id: want %s", quoteShort(id), IDPattern)}
	}
	return nil
}

// reRun is the run id of a fan-out (16 lower-case hex digits, see the worker's runID).
var reRun = regexp.MustCompile(`^[0-9a-f]{16}$`)

// reBucket is an S3 bucket name (the AWS rules, loosely: 3-63 of a-z 0-9 . -).
var reBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// CheckLocation checks a catalog or output location taken from a request: a local path,
// s3://bucket/prefix or (catalogs only) an http(s) URL. Every path element must be a
// plain name: no "." or ".." elements, no empty elements inside the path, no backslash,
// NUL or other control characters, no non-ASCII characters (look-alikes of '/' or '.').
// Keys built below a checked location therefore stay under it.
func CheckLocation(field, loc string) error {
	bad := func(problem string) error {
		return &BadRequest{field, fmt.Sprintf("%s: %s", quoteShort(loc), problem)}
	}
	if len(loc) > MaxHrefBytes {
		return bad(fmt.Sprintf("longer than %d bytes", MaxHrefBytes))
	}
	for _, r := range loc {
		switch {
		case r > unicode.MaxASCII:
			return bad("non-ASCII character")
		case r < 0x20 || r == 0x7f:
			return bad("control character")
		case r == '\\':
			return bad("backslash")
		}
	}
	var p string // the path part, checked below
	switch {
	case strings.HasPrefix(loc, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(loc, "s3://"), "/")
		if !reBucket.MatchString(bucket) || strings.Contains(bucket, "..") {
			return bad(fmt.Sprintf("bucket %q is not a valid bucket name", bucket))
		}
		p = key
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		_, rest, _ := strings.Cut(loc, "://")
		_, p, _ = strings.Cut(rest, "/")
		p, _, _ = strings.Cut(p, "?")
	case strings.Contains(loc, "://"):
		return bad("unknown scheme (want a folder, s3:// or http(s)://)")
	case strings.HasPrefix(loc, "/vsi"):
		return bad("GDAL virtual file systems are not accepted")
	default:
		p = strings.TrimPrefix(loc, "/")
	}
	elems := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for i, e := range elems {
		switch {
		case e == "." || e == "..":
			return bad(fmt.Sprintf("path element %q", e))
		case e == "" && !(i == 0 && len(elems) == 1):
			return bad("empty path element (//)")
		}
	}
	return nil
}

// quoteShort quotes s, cut to 80 bytes so an error never carries a huge payload.
func quoteShort(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q... (%d bytes)", s[:80], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// validateScenes bounds the scenes of a chunk or merge payload.
func validateScenes(field string, scenes []Scene) error {
	if len(scenes) == 0 || len(scenes) > MaxScenesPerPeriod {
		return &BadRequest{field, fmt.Sprintf("%d scenes, want 1 to %d", len(scenes), MaxScenesPerPeriod)}
	}
	for i, s := range scenes {
		if len(s.More) >= MaxTilesPerScene {
			return &BadRequest{fmt.Sprintf("%s[%d].more", field, i), fmt.Sprintf("%d tiles, at most %d", len(s.More)+1, MaxTilesPerScene)}
		}
		if len(s.Items) > MaxTilesPerScene {
			return &BadRequest{fmt.Sprintf("%s[%d].items", field, i), fmt.Sprintf("%d items, at most %d", len(s.Items), MaxTilesPerScene)}
		}
		for _, h := range s.Items {
			if len(h) > MaxHrefBytes {
				return &BadRequest{fmt.Sprintf("%s[%d].items", field, i), "an href too long"}
			}
		}
		if len(s.ID) > 1024 {
			return &BadRequest{fmt.Sprintf("%s[%d].id", field, i), "longer than 1024 bytes"}
		}
		for t, hrefs := range append([]map[string]string{s.Hrefs}, s.More...) {
			if len(hrefs) > 16 {
				return &BadRequest{fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("tile %d has %d hrefs", t, len(hrefs))}
			}
			for k, h := range hrefs {
				if len(h) > MaxHrefBytes || len(k) > 32 {
					return &BadRequest{fmt.Sprintf("%s[%d].hrefs.%s", field, i, quoteShort(k)), "too long"}
				}
			}
		}
	}
	return nil
}

// Validate checks a chunk payload's bounds (counts, window, scenes, run id) before
// anything is allocated from it. The window is checked against the AOI's grid by the
// worker once it has parsed the AOI.
func (c *ChunkRequest) Validate() error {
	if err := c.Request.Validate(); err != nil {
		return err
	}
	switch {
	case !reRun.MatchString(c.Run):
		return &BadRequest{"run", fmt.Sprintf("%s is not a run id (16 hex digits)", quoteShort(c.Run))}
	case c.Count < 1 || c.Count > MaxChunks:
		return &BadRequest{"count", fmt.Sprintf("%d, want 1 to %d", c.Count, MaxChunks)}
	case c.Index < 0 || c.Index >= c.Count:
		return &BadRequest{"index", fmt.Sprintf("%d, want 0 to count-1 (%d)", c.Index, c.Count-1)}
	case c.Col < 0 || c.Row < 0 || c.Col > MaxGridSide || c.Row > MaxGridSide:
		return &BadRequest{"col/row", fmt.Sprintf("%d,%d out of range 0-%d", c.Col, c.Row, MaxGridSide)}
	case c.Width < 1 || c.Height < 1 || c.Width > MaxChunkSide || c.Height > MaxChunkSide:
		return &BadRequest{"width/height", fmt.Sprintf("%dx%d, want 1 to %d pixels a side", c.Width, c.Height, MaxChunkSide)}
	}
	if err := validateScenes("before", c.Before); err != nil {
		return err
	}
	return validateScenes("after", c.After)
}

// Validate checks a merge payload's bounds before anything is allocated from it.
func (m *MergeRequest) Validate() error {
	if err := m.Request.Validate(); err != nil {
		return err
	}
	switch {
	case !reRun.MatchString(m.Run):
		return &BadRequest{"run", fmt.Sprintf("%s is not a run id (16 hex digits)", quoteShort(m.Run))}
	case m.Count < 1 || m.Count > MaxChunks:
		return &BadRequest{"count", fmt.Sprintf("%d, want 1 to %d", m.Count, MaxChunks)}
	}
	if err := validateScenes("before", m.Before); err != nil {
		return err
	}
	return validateScenes("after", m.After)
}
