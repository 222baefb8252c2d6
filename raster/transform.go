package raster

import (
	"fmt"
	"math"

	"github.com/airbusgeo/godal"
)

// TransformPoints reprojects the points (xs[i], ys[i]) in place from EPSG:srcEPSG to
// EPSG:dstEPSG. Axis order is the traditional GIS order for every CRS: x = longitude,
// y = latitude for EPSG:4326 (godal creates its spatial references with
// OSRSetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER), which we rely on and test).
// It fails, leaving unspecified values, when any point cannot be transformed.
func TransformPoints(srcEPSG, dstEPSG int, xs, ys []float64) error {
	if len(xs) != len(ys) {
		return fmt.Errorf("transform points: %d xs and %d ys", len(xs), len(ys))
	}
	if len(xs) == 0 || srcEPSG == dstEPSG {
		return nil
	}
	Init(S3Config{})
	src, err := godal.NewSpatialRefFromEPSG(srcEPSG)
	if err != nil {
		return fmt.Errorf("transform points: epsg:%d: %w", srcEPSG, err)
	}
	defer src.Close()
	dst, err := godal.NewSpatialRefFromEPSG(dstEPSG)
	if err != nil {
		return fmt.Errorf("transform points: epsg:%d: %w", dstEPSG, err)
	}
	defer dst.Close()
	trn, err := godal.NewTransform(src, dst)
	if err != nil {
		return fmt.Errorf("transform points epsg:%d to epsg:%d: %w", srcEPSG, dstEPSG, err)
	}
	defer trn.Close()
	ok := make([]bool, len(xs))
	if err := trn.TransformEx(xs, ys, nil, ok); err != nil {
		return fmt.Errorf("transform points epsg:%d to epsg:%d: %w", srcEPSG, dstEPSG, err)
	}
	for i, good := range ok {
		if !good || math.IsInf(xs[i], 0) || math.IsInf(ys[i], 0) || math.IsNaN(xs[i]) || math.IsNaN(ys[i]) {
			return fmt.Errorf("transform points epsg:%d to epsg:%d: point %d failed", srcEPSG, dstEPSG, i)
		}
	}
	return nil
}
