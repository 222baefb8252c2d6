package raster

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"os"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// Mosaic assembles a single-band raster of a large grid window by window on disk (a tiled
// GeoTIFF), so memory holds one window at a time, then copies it to a COG.
type Mosaic struct {
	ds        *godal.Dataset
	scratch   string
	predictor string
	g         Grid
}

// NewMosaic creates the scratch raster of g (path+".mosaic.tif") of the type of sample
// ([]uint8, []uint16, []int16, []int32 or []float32). It is sparse: blocks never written
// read as nodata, and nothing is written twice.
func NewMosaic(path string, g Grid, sample any, nodata float64) (*Mosaic, error) {
	dtype, _, predictor, err := cogDataType(sample)
	if err != nil {
		return nil, fmt.Errorf("mosaic %s: %w", path, err)
	}
	Init(S3Config{})
	scratch := path + ".mosaic.tif"
	ds, err := godal.Create(godal.GTiff, scratch, 1, dtype, g.Width, g.Height,
		godal.CreationOption("TILED=YES", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER", "SPARSE_OK=TRUE"))
	if err != nil {
		return nil, fmt.Errorf("mosaic %s: %w", path, err)
	}
	m := &Mosaic{ds: ds, scratch: scratch, predictor: predictor, g: g}
	sr, err := g.srs()
	if err == nil {
		err = ds.SetSpatialRef(sr)
		sr.Close()
	}
	if err == nil {
		err = ds.SetGeoTransform(g.GeoTransform())
	}
	if err == nil {
		err = ds.Bands()[0].SetNoData(nodata)
	}
	if err != nil {
		m.Discard()
		return nil, fmt.Errorf("mosaic %s: %w", path, err)
	}
	return m, nil
}

// WriteTIFF writes one band as a plain tiled GeoTIFF, ZSTD level 1, no overviews: a fast
// format for intermediate files (a chunk's rasters on their way to the merge), read back
// with ReadWindowFile. Written to path+".tmp" and renamed.
func WriteTIFF(ctx context.Context, path string, g Grid, data any, nodata float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dtype, n, _, err := cogDataType(data)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if n != g.Pixels() {
		return fmt.Errorf("write %s: %d values for a %dx%d grid", path, n, g.Width, g.Height)
	}
	Init(S3Config{})
	tmp := path + ".tmp"
	ds, err := godal.Create(godal.GTiff, tmp, 1, dtype, g.Width, g.Height,
		godal.CreationOption("TILED=YES", "COMPRESS=ZSTD", "ZSTD_LEVEL=1", "BIGTIFF=IF_SAFER"))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = ds.SetGeoTransform(g.GeoTransform())
	if err == nil {
		err = ds.Bands()[0].SetNoData(nodata)
	}
	if err == nil {
		err = ds.Bands()[0].Write(0, 0, data, g.Width, g.Height)
	}
	if cerr := ds.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Write puts data (w x h pixels, the mosaic's type) at (col,row).
func (m *Mosaic) Write(col, row, w, h int, data any) error {
	if err := m.ds.Bands()[0].Write(col, row, data, w, h); err != nil {
		return fmt.Errorf("mosaic: write window %d,%d %dx%d: %w", col, row, w, h, err)
	}
	return nil
}

// Finish copies the mosaic to a COG at path and removes the scratch raster.
func (m *Mosaic) Finish(ctx context.Context, path, ovrResampling string) error {
	defer m.Discard()
	if err := ctx.Err(); err != nil {
		return err
	}
	return copyToCOG(m.ds, path, m.predictor, ovrResampling)
}

// Discard closes and removes the scratch raster.
func (m *Mosaic) Discard() {
	if m.ds != nil {
		m.ds.Close()
		m.ds = nil
	}
	os.Remove(m.scratch)
}

// ReadWindowFile reads a whole single-band raster written by WriteCOG into dst (a slice of
// its type and size).
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
	if err := ds.Bands()[0].Read(0, 0, dst, w, h); err != nil {
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
	Classes       [][4]int32
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
