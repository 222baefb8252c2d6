package raster

import (
	"math"
	"testing"
)

func TestTransformPoints(t *testing.T) {
	lons := []float64{28.139, 27.0, 29.5, 25.0001}
	lats := []float64{1.317, 0.5, 3.9, -0.5}
	xs := append([]float64(nil), lons...)
	ys := append([]float64(nil), lats...)
	if err := TransformPoints(4326, 32635, xs, ys); err != nil {
		t.Fatal(err)
	}
	// `echo "28.139 1.317" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:32635 -output_xy`
	// (GDAL 3.6.2) prints 626717.319722603 145597.279938408.
	if math.Abs(xs[0]-626717.319722603) > 1e-3 || math.Abs(ys[0]-145597.279938408) > 1e-3 {
		t.Errorf("got %.6f %.6f, want gdaltransform's 626717.319723 145597.279938", xs[0], ys[0])
	}
	// The central meridian of zone 35 (27 E) maps to the false easting.
	if math.Abs(xs[1]-500000) > 1e-6 {
		t.Errorf("central meridian easting %.6f", xs[1])
	}
	// South of the equator the northern-zone EPSG:32635 gives negative northings.
	if ys[3] >= 0 {
		t.Errorf("southern point northing %.3f", ys[3])
	}
	if err := TransformPoints(32635, 4326, xs, ys); err != nil {
		t.Fatal(err)
	}
	for i := range lons {
		if math.Abs(xs[i]-lons[i]) > 1e-9 || math.Abs(ys[i]-lats[i]) > 1e-9 {
			t.Errorf("round trip %d: %.10f %.10f, want %.10f %.10f", i, xs[i], ys[i], lons[i], lats[i])
		}
	}
	if err := TransformPoints(4326, 32635, []float64{1}, nil); err == nil {
		t.Error("length mismatch accepted")
	}
	if err := TransformPoints(4326, 32635, nil, nil); err != nil {
		t.Errorf("empty input: %v", err)
	}
	if err := TransformPoints(4326, 999999, []float64{1}, []float64{1}); err == nil {
		t.Error("bad epsg accepted")
	}
}
