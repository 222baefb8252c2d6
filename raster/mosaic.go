package raster

import (
	"bytes"
	"encoding/gob"
	"fmt"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// ReadWindowFile reads a whole w x h raster written by the COG writer into dst (a slice of
// its type and size), all its bands pixel-interleaved (a true-colour composite: red,
// green, blue bytes).
func ReadWindowFile(path string, dst any, w, h int) error {
	ds, err := godal.Open(path, godal.RasterOnly())
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer ds.Close()
	st := ds.Structure()
	if st.SizeX != w || st.SizeY != h {
		return fmt.Errorf("read %s: %dx%d pixels, want %dx%d", path, st.SizeX, st.SizeY, w, h)
	}
	if st.NBands == 1 {
		err = ds.Bands()[0].Read(0, 0, dst, w, h)
	} else {
		// Pixel-interleaved: the buffer's band stride is one sample, its pixel stride
		// NBands samples.
		n := st.NBands
		err = ds.Read(0, 0, dst, w, h, godal.PixelSpacing(n*st.DataType.Size()), godal.LineSpacing(n*w*st.DataType.Size()),
			godal.BandSpacing(st.DataType.Size()))
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// UnionMultiPolygons dissolves parts (EPSG:4326, e.g. the pieces of one region cut by
// chunk borders) into one geometry with GEOS through GDAL.
func UnionMultiPolygons(parts []orb.MultiPolygon) (orb.MultiPolygon, error) {
	if len(parts) == 1 {
		return parts[0], nil
	}
	var acc *godal.Geometry
	defer func() {
		if acc != nil {
			acc.Close()
		}
	}()
	for _, p := range parts {
		b, err := wkb.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("union: %w", err)
		}
		g, err := godal.NewGeometryFromWKB(b, nil)
		if err != nil {
			return nil, fmt.Errorf("union: %w", err)
		}
		if acc == nil {
			acc = g
			continue
		}
		u, err := acc.Union(g)
		g.Close()
		if err != nil {
			return nil, fmt.Errorf("union: %w", err)
		}
		acc.Close()
		acc = u
	}
	out, err := acc.WKB()
	if err != nil {
		return nil, fmt.Errorf("union: %w", err)
	}
	geom, err := wkb.Unmarshal(out)
	if err != nil {
		return nil, fmt.Errorf("union: %w", err)
	}
	switch v := geom.(type) {
	case orb.MultiPolygon:
		orientRFC7946(v)
		return v, nil
	case orb.Polygon:
		mp := orb.MultiPolygon{v}
		orientRFC7946(mp)
		return mp, nil
	}
	return nil, fmt.Errorf("union: result is a %s", geom.GeoJSONType())
}

// quicklookState is the serialized form of a Quicklook.
type quicklookState struct {
	W, H, Step    int
	Before, After []float32
	N             []int32
	Classes       [][nClasses]int32
}

// MarshalBinary encodes q (a chunk's sums travel to the merge).
func (q *Quicklook) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(quicklookState{q.w, q.h, q.step, q.before, q.after, q.n, q.classes})
	return buf.Bytes(), err
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (q *Quicklook) UnmarshalBinary(b []byte) error {
	var s quicklookState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return fmt.Errorf("quicklook: %w", err)
	}
	*q = Quicklook{w: s.W, h: s.H, step: s.Step, before: s.Before, after: s.After, n: s.N, classes: s.Classes}
	return nil
}
