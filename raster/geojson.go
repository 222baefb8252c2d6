package raster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/airbusgeo/godal"
)

// writeGeoJSON is WriteVector for GeoJSON: the file GDAL's GeoJSON driver writes with
// COORDINATE_PRECISION=7 (the same members, layout and number forms, so OGR reads the same
// fields, types and geometries), encoded here in one pass. GDAL's driver builds a json-c
// object per feature and took 0.57 s for the 4.2 MB of a 10980 pair's polygons, the last
// writer of a run by 0.3 s. RFC 7946: lon/lat, no "crs" member, rings as the features hold
// them (this package traces them counter-clockwise outside), 7 decimals (about 1 cm).
func writeGeoJSON(ctx context.Context, path, layer string, schema []Field, types []godal.FieldType, feats []Feature) error {
	b := make([]byte, 0, 1<<16)
	b = append(b, "{\n\"type\": \"FeatureCollection\",\n\"name\": "...)
	b = appendJSONString(b, layer)
	b = append(b, ",\n\"features\": [\n"...)
	for i, ft := range feats {
		if err := vecCheckFeature(ctx, path, i, schema, types, ft); err != nil {
			return err
		}
		if err := CheckValid(ft.Geometry); err != nil {
			return fmt.Errorf("write vector %s: feature %d: %w", path, i, err)
		}
		if i > 0 {
			b = append(b, ",\n"...)
		}
		b = append(b, "{ \"type\": \"Feature\", \"properties\": { "...)
		first := true
		for j, fd := range ft.Fields {
			if fd.Value == nil {
				continue // unset: no member, as OGR leaves it
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = appendJSONString(b, fd.Name)
			b = append(b, ": "...)
			v, _ := vecFieldValue(types[j], fd.Value)
			b = appendGeoJSONValue(b, types[j], v)
		}
		if first {
			b = b[:len(b)-1] // "properties": { }
		} else {
			b = append(b, ' ')
		}
		b = append(b, "}, \"geometry\": { \"type\": \"MultiPolygon\", \"coordinates\": [ "...)
		for p, poly := range ft.Geometry {
			if p > 0 {
				b = append(b, ", "...)
			}
			b = append(b, "[ "...)
			for r, ring := range poly {
				if r > 0 {
					b = append(b, ", "...)
				}
				b = append(b, "[ "...)
				for k, pt := range ring {
					if k > 0 {
						b = append(b, ", "...)
					}
					b = append(b, "[ "...)
					b = appendCoord(b, pt[0])
					b = append(b, ", "...)
					b = appendCoord(b, pt[1])
					b = append(b, " ]"...)
				}
				b = append(b, " ]"...)
			}
			b = append(b, " ]"...)
		}
		b = append(b, " ] } }"...)
	}
	b = append(b, "\n]\n}\n"...)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("write vector %s: %w", path, err)
	}
	return nil
}

// appendGeoJSONValue appends a field value (vecFieldValue's form for OGR type t).
func appendGeoJSONValue(b []byte, t godal.FieldType, v any) []byte {
	switch t {
	case godal.FTString:
		return appendJSONString(b, v.(string))
	case godal.FTStringList:
		l := v.([]string)
		b = append(b, "[ "...)
		for i, s := range l {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONString(b, s)
		}
		if len(l) > 0 {
			b = append(b, ' ')
		}
		return append(b, ']')
	case godal.FTInt64:
		return strconv.AppendInt(b, v.(int64), 10)
	case godal.FTInt:
		return strconv.AppendInt(b, int64(v.(int)), 10)
	case godal.FTReal:
		return appendReal(b, v.(float64))
	case godal.FTDate:
		return append(append(append(b, '"'), v.(time.Time).Format(time.DateOnly)...), '"')
	}
	panic(fmt.Sprintf("raster: GeoJSON value of OGR type %v", t))
}

// appendReal appends a real as GDAL's GeoJSON writer does (GDAL 3.6,
// OGR_json_double_with_significant_figures_to_string at its default): %.17g, and where
// the digits after the point hold a run of six 9s or six 0s (binary round-off), the first
// of %.16g, %.15g and %.14g that has a point and no such run (else %.17g); ".0" added
// when it would read as an integer. NaN and infinities are written as null, which JSON
// has, where GDAL writes NaN and Infinity, which it has not.
func appendReal(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, v, 'g', 17, 64)
	if roundOff(b[n:]) {
		ok := false
		for p := 16; p >= 14 && !ok; p-- {
			b = strconv.AppendFloat(b[:n], v, 'g', p, 64)
			ok = bytes.IndexByte(b[n:], '.') >= 0 && !roundOff(b[n:])
		}
		if !ok {
			b = strconv.AppendFloat(b[:n], v, 'g', 17, 64)
		}
	}
	if bytes.IndexByte(b[n:], '.') < 0 && bytes.IndexByte(b[n:], 'e') < 0 {
		b = append(b, ".0"...)
	}
	return b
}

// roundOff reports a run of six 9s or six 0s after the decimal point of a number's text.
func roundOff(t []byte) bool {
	d := bytes.IndexByte(t, '.')
	return d >= 0 && (bytes.Contains(t[d:], []byte("999999")) || bytes.Contains(t[d:], []byte("000000")))
}

// appendCoord appends a coordinate correctly rounded at 7 decimals, trailing zeros cut,
// keeping one decimal: GDAL's COORDINATE_PRECISION=7, but for its round-off heuristics
// (OGRFormatDouble folds a trailing run of 9s upwards), so a coordinate one unit of the
// seventh decimal from such a run may print one unit apart from GDAL's.
func appendCoord(b []byte, v float64) []byte {
	n := len(b)
	b = strconv.AppendFloat(b, v, 'f', 7, 64)
	for len(b) > n+2 && b[len(b)-1] == '0' && b[len(b)-2] != '.' {
		b = b[:len(b)-1]
	}
	return b
}

// appendJSONString appends s as a JSON string, as json-c writes one: quote, backslash and
// control characters escaped, everything else (slash, <, &, UTF-8) as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
				continue
			}
			b = append(b, c)
		}
	}
	return append(b, '"')
}
