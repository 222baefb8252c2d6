package raster

import (
	"errors"
	"fmt"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// ErrInvalidGeometry is what CheckValid returns for a geometry GEOS finds invalid.
var ErrInvalidGeometry = errors.New("geometry is not valid (OGC simple features, as GEOS checks it)")

// CheckValid checks mp with GEOS (through GDAL's OGR_G_IsValid): rings simple and closed,
// holes inside their shell, interiors connected, parts touching at points at most. An
// empty MultiPolygon is valid.
func CheckValid(mp orb.MultiPolygon) error {
	g, err := ogrGeometry(mp)
	if err != nil {
		return err
	}
	defer g.Close()
	if !g.Valid() {
		return ErrInvalidGeometry
	}
	return nil
}

// MakeValid returns mp unchanged when it is valid, else GEOS's repair of it (a zero-width
// buffer, which rebuilds the polygons from their boundaries), RFC 7946 oriented: for
// footprints read from files this package did not trace (older runs).
func MakeValid(mp orb.MultiPolygon) (orb.MultiPolygon, error) {
	g, err := ogrGeometry(mp)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	if g.Valid() {
		return mp, nil
	}
	fixed, err := g.Buffer(0, 8)
	if err != nil {
		return nil, fmt.Errorf("repair geometry: %w", err)
	}
	defer fixed.Close()
	if !fixed.Valid() {
		return nil, fmt.Errorf("repair geometry: %w", ErrInvalidGeometry)
	}
	b, err := fixed.WKB()
	if err != nil {
		return nil, fmt.Errorf("repair geometry: %w", err)
	}
	geom, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("repair geometry: %w", err)
	}
	var out orb.MultiPolygon
	switch v := geom.(type) {
	case orb.MultiPolygon:
		out = v
	case orb.Polygon:
		out = orb.MultiPolygon{v}
	default:
		return nil, fmt.Errorf("repair geometry: result is a %s", geom.GeoJSONType())
	}
	orientRFC7946(out)
	return out, nil
}

// ogrGeometry converts mp to an OGR geometry; the caller closes it.
func ogrGeometry(mp orb.MultiPolygon) (*godal.Geometry, error) {
	b, err := wkb.Marshal(mp)
	if err != nil {
		return nil, fmt.Errorf("encode geometry: %w", err)
	}
	g, err := godal.NewGeometryFromWKB(b, nil)
	if err != nil {
		return nil, fmt.Errorf("geometry: %w", err)
	}
	return g, nil
}
