package stac

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// itemDoc is the JSON shape of a STAC Item, as far as ParseItem reads it.
type itemDoc struct {
	ID         string                     `json:"id"`
	Collection string                     `json:"collection"`
	BBox       []float64                  `json:"bbox"`
	Geometry   json.RawMessage            `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
	Assets     map[string]struct {
		Href  string `json:"href"`
		Bands []struct {
			DataType string `json:"data_type"`
		} `json:"raster:bands"`
	} `json:"assets"`
	Links []struct {
		Rel  string `json:"rel"`
		Href string `json:"href"`
	} `json:"links"`
}

var (
	// Earth Search v1 (and v0) ids: S2B_42MUT_20240319_1_L2A, S2B_5CNL_20221009_0_L2A.
	reIDv1 = regexp.MustCompile(`^S2([A-D])_(\d{1,2}[C-X][A-Z]{2})_(\d{8})_(\d+)_L2A$`)
	// Earth Search collection 1 ids: S2A_T30XWN_20240318T132853_L2A.
	reIDc1 = regexp.MustCompile(`^S2([A-D])_T(\d{1,2}[C-X][A-Z]{2})_\d{8}T\d{6}_L2A$`)
	// The baseline in an ESA product name: S2A_MSIL2A_20200219T112111_N0214_R037_...
	reProductBaseline = regexp.MustCompile(`_N(\d{2})(\d{2})_`)
	reTile            = regexp.MustCompile(`^T?0*(\d{1,2}[C-X][A-Z]{2})$`)
)

// ParseItem decodes one STAC Item document read from href (a local path,
// "s3://bucket/key" or a URL; "" means unknown, and the item's self link is used to
// resolve relative asset hrefs). Documents that are not STAC Items yield an error
// wrapping ErrNotItem.
//
// Earth Search v0 items (collection "sentinel-s2-l2a-cogs", sentinel:* properties, asset
// keys B02...SCL) are parsed best effort: id, datetime, footprint, tile, sequence and
// baseline (from sentinel:product_id) are filled, asset keys are kept as they are. They
// therefore never match the default collection nor carry RequiredAssets, so searches
// ignore them.
func ParseItem(data []byte, href string) (Item, error) {
	var probe struct {
		Type        any             `json:"type"`
		StacVersion any             `json:"stac_version"`
		Assets      json.RawMessage `json:"assets"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return Item{}, fmt.Errorf("parse item %s: %w", href, ErrNotItem)
		}
		return Item{}, fmt.Errorf("parse item %s: %w", href, err)
	}
	if probe.Type != "Feature" || (probe.StacVersion == nil && probe.Assets == nil) {
		return Item{}, fmt.Errorf("parse item %s: %w", href, ErrNotItem)
	}
	var doc itemDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return Item{}, fmt.Errorf("parse item %s: %w", href, err)
	}
	it, err := doc.item(href)
	if err != nil {
		return Item{}, fmt.Errorf("parse item %s: %w", href, err)
	}
	return it, nil
}

func (doc *itemDoc) item(href string) (Item, error) {
	if doc.ID == "" {
		return Item{}, errors.New("missing id")
	}
	p := props(doc.Properties)
	it := Item{
		ID:         doc.ID,
		Collection: doc.Collection,
		Href:       href,
	}

	dt := p.str("datetime")
	if dt == "" {
		dt = p.str("start_datetime")
	}
	if dt == "" {
		return Item{}, errors.New("missing datetime")
	}
	t, err := time.Parse(time.RFC3339Nano, dt)
	if err != nil {
		return Item{}, fmt.Errorf("datetime: %w", err)
	}
	it.Datetime = t.UTC()

	if it.Geometry, err = decodeGeometry(doc.Geometry); err != nil {
		return Item{}, fmt.Errorf("geometry: %w", err)
	}
	switch {
	case len(doc.BBox) == 4:
		copy(it.BBox[:], doc.BBox)
	case len(doc.BBox) == 6: // 3D: west, south, min z, east, north, max z
		it.BBox = [4]float64{doc.BBox[0], doc.BBox[1], doc.BBox[3], doc.BBox[4]}
	case len(doc.BBox) == 0 && it.Geometry != nil:
		b := it.Geometry.Bound()
		it.BBox = [4]float64{b.Min.X(), b.Min.Y(), b.Max.X(), b.Max.Y()}
	case len(doc.BBox) == 0:
		return Item{}, errors.New("neither bbox nor geometry")
	default:
		return Item{}, fmt.Errorf("bbox has %d numbers, want 4 or 6", len(doc.BBox))
	}

	m := reIDv1.FindStringSubmatch(doc.ID)
	c1 := reIDc1.FindStringSubmatch(doc.ID)

	it.Platform = strings.ToLower(p.str("platform"))
	if it.Platform == "" {
		if m != nil {
			it.Platform = "sentinel-2" + strings.ToLower(m[1])
		} else if c1 != nil {
			it.Platform = "sentinel-2" + strings.ToLower(c1[1])
		}
	}

	it.MGRSTile = firstTile(
		p.str("mgrs:utm_zone")+p.str("mgrs:latitude_band")+p.str("mgrs:grid_square"),
		p.str("s2:mgrs_tile"),
		strings.TrimPrefix(p.str("grid:code"), "MGRS-"),
		p.str("sentinel:utm_zone")+p.str("sentinel:latitude_band")+p.str("sentinel:grid_square"),
	)
	if it.MGRSTile == "" {
		if m != nil {
			it.MGRSTile = m[2]
		} else if c1 != nil {
			it.MGRSTile = strings.TrimLeft(c1[2], "0")
		}
	}

	seq := p.str("s2:sequence")
	if seq == "" {
		seq = p.str("sentinel:sequence")
	}
	if seq == "" && m != nil {
		seq = m[4]
	}
	if seq != "" {
		if it.Sequence, err = strconv.Atoi(seq); err != nil {
			return Item{}, fmt.Errorf("sequence %q: %w", seq, err)
		}
	}

	it.ProcessingBaseline = p.str("s2:processing_baseline")
	if it.ProcessingBaseline == "" {
		it.ProcessingBaseline = p.str("sentinel2:processing_baseline")
	}
	if it.ProcessingBaseline == "" {
		for _, k := range []string{"s2:product_uri", "sentinel:product_id"} {
			if bm := reProductBaseline.FindStringSubmatch(p.str(k)); bm != nil {
				it.ProcessingBaseline = bm[1] + "." + bm[2]
				break
			}
		}
	}

	if it.CloudCover, err = p.float("eo:cloud_cover"); err != nil {
		return Item{}, err
	}
	if it.CloudCover < 0 || it.CloudCover > 100 {
		return Item{}, fmt.Errorf("property eo:cloud_cover: %g is not a percentage", it.CloudCover)
	}
	epsg, err := p.float("proj:epsg")
	if err != nil {
		return Item{}, err
	}
	it.EPSG = int(epsg)
	if code, ok := strings.CutPrefix(p.str("proj:code"), "EPSG:"); ok && it.EPSG == 0 {
		it.EPSG, _ = strconv.Atoi(code)
	}

	for k := range doc.Properties {
		if strings.HasPrefix(k, "mgrs:") || strings.HasPrefix(k, "s2:") || strings.HasPrefix(k, "earthsearch:") {
			it.earthSearchLike = true
			break
		}
	}

	base := href
	if base == "" {
		for _, l := range doc.Links {
			if l.Rel == "self" {
				base = fixS3(l.Href)
				break
			}
		}
	}
	it.Assets = make(map[string]Asset, len(doc.Assets))
	for k, a := range doc.Assets {
		if a.Href == "" {
			continue
		}
		if want, ok := assetDataType[k]; ok && len(a.Bands) > 0 && a.Bands[0].DataType != "" && a.Bands[0].DataType != want {
			return Item{}, fmt.Errorf("asset %s: raster:bands data_type %q, a Sentinel-2 L2A %s band is %s", k, a.Bands[0].DataType, k, want)
		}
		it.Assets[k] = Asset{Href: resolveHref(base, a.Href)}
	}
	return it, nil
}

// assetDataType is the data type of the Earth Search v1 assets changewatch reads
// (raster:bands data_type): an item that says otherwise is not a Sentinel-2 L2A item.
var assetDataType = map[string]string{"blue": "uint16", "green": "uint16", "red": "uint16", "nir": "uint16",
	"swir16": "uint16", "swir22": "uint16", "scl": "uint8"}

// props reads loosely typed STAC properties.
type props map[string]json.RawMessage

// str returns a string or number property as a string; "" when absent or null.
func (p props) str(key string) string {
	raw, ok := p[key]
	if !ok {
		return ""
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// float returns a numeric property (numbers in strings accepted); 0 when absent or null.
func (p props) float(key string) (float64, error) {
	s := p.str(key)
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("property %s: %w", key, err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("property %s: %q is not a finite number", key, s)
	}
	return f, nil
}

// firstTile returns the first candidate that is an MGRS tile name, normalised to
// Earth Search's spelling (no "T" prefix, no leading zero in the zone).
func firstTile(candidates ...string) string {
	for _, c := range candidates {
		if m := reTile.FindStringSubmatch(strings.ToUpper(c)); m != nil {
			return m[1]
		}
	}
	return ""
}

// parseBaseline splits "05.10" into 5 and 10.
func parseBaseline(s string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), ".")
	if !found {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return 0, 0, false
	}
	return major, minor, true
}

// compareBaselines orders baselines numerically; unparsable ones sort first.
func compareBaselines(a, b string) int {
	am, an, aok := parseBaseline(a)
	bm, bn, bok := parseBaseline(b)
	switch {
	case aok != bok:
		if aok {
			return 1
		}
		return -1
	case am != bm:
		return am - bm
	}
	return an - bn
}

// fixS3 repairs "s3:/bucket/key" (a harvester artifact seen in real documents).
func fixS3(s string) string {
	if strings.HasPrefix(s, "s3:/") && !strings.HasPrefix(s, "s3://") {
		return "s3://" + s[len("s3:/"):]
	}
	return s
}

// hasScheme reports whether s starts with "scheme://".
func hasScheme(s string) bool {
	i := strings.Index(s, "://")
	if i < 2 { // also keeps Windows drive letters out
		return false
	}
	for _, r := range s[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// splitS3 splits "s3://bucket/key" into bucket and key.
func splitS3(s string) (bucket, key string) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(s, "s3://"), "/")
	return bucket, key
}

// resolveHref makes ref absolute against base, the location of the item document.
func resolveHref(base, ref string) string {
	ref = fixS3(ref)
	if hasScheme(ref) || base == "" {
		return ref
	}
	switch {
	case strings.HasPrefix(base, "s3://"):
		bucket, key := splitS3(base)
		k := ref
		if !strings.HasPrefix(ref, "/") {
			k = path.Join(path.Dir("/"+key), ref)
		}
		return "s3://" + bucket + "/" + strings.TrimPrefix(path.Clean("/"+k), "/")
	case hasScheme(base):
		b, err1 := url.Parse(base)
		r, err2 := url.Parse(ref)
		if err1 != nil || err2 != nil {
			return ref
		}
		return b.ResolveReference(r).String()
	case filepath.IsAbs(ref):
		return ref
	default:
		return filepath.Join(filepath.Dir(base), filepath.FromSlash(ref))
	}
}
