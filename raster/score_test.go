package raster

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
)

func TestScoreMasks(t *testing.T) {
	T, F := true, false
	tests := []struct {
		name                       string
		truth, detected            []bool
		tp, fp, fn                 int64
		precision, recall, f1, iou float64
	}{
		{"perfect", []bool{T, T, F, F}, []bool{T, T, F, F}, 2, 0, 0, 1, 1, 1, 1},
		{"all wrong", []bool{T, T, F, F}, []bool{F, F, T, T}, 0, 2, 2, 0, 0, 0, 0},
		{"half", []bool{T, T, F, F}, []bool{T, F, T, F}, 1, 1, 1, 0.5, 0.5, 0.5, 1.0 / 3},
		{"nothing to find, nothing found", []bool{F, F}, []bool{F, F}, 0, 0, 0, 1, 1, 1, 1},
		{"nothing found", []bool{T, F}, []bool{F, F}, 0, 0, 1, 0, 0, 0, 0},
		{"only false alarms", []bool{F, F}, []bool{T, F}, 0, 1, 0, 0, 0, 0, 0},
		{"over-detection", []bool{T, F, F, F}, []bool{T, T, T, T}, 1, 3, 0, 0.25, 1, 0.4, 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ScoreMasks(tc.truth, tc.detected)
			if s.TP != tc.tp || s.FP != tc.fp || s.FN != tc.fn {
				t.Errorf("tp/fp/fn %d/%d/%d, want %d/%d/%d", s.TP, s.FP, s.FN, tc.tp, tc.fp, tc.fn)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"precision", s.Precision, tc.precision}, {"recall", s.Recall, tc.recall}, {"f1", s.F1, tc.f1}, {"iou", s.IoU, tc.iou}} {
				if math.Abs(c.got-c.want) > 1e-12 {
					t.Errorf("%s %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestScoresString(t *testing.T) {
	s := Scores{Precision: 0.931, Recall: 0.912, F1: 0.92, IoU: 0.85, Objects: 12, ObjectsDetected: 11,
		DetectionRate: 11.0 / 12, Decoys: 6}
	want := "precision 0.93 recall 0.91 f1 0.92 iou 0.85 objects 11/12 (0.92) decoys reported 0/6"
	if got := s.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got, want := (Scores{Precision: 1, Recall: 1, F1: 1, IoU: 1}).String(), "precision 1.00 recall 1.00 f1 1.00 iou 1.00"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// stRect returns the lon/lat MultiPolygon of the UTM 35N (EPSG:32635) pixel rectangle
// cols [c0,c1) x rows [r0,r1) of the 10 m grid whose top-left corner is (500000, 4600000).
func stRect(t *testing.T, c0, r0, c1, r1 int) orb.MultiPolygon {
	t.Helper()
	x0, x1 := 500000+10*float64(c0), 500000+10*float64(c1)
	y0, y1 := 4600000-10*float64(r1), 4600000-10*float64(r0)
	utm := orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
	return vtTransform(t, utm, 32635, 4326)
}

// stWrite writes features with fields name and kind to path.
func stWrite(t *testing.T, path, format string, geoms []orb.MultiPolygon, kinds []string) {
	t.Helper()
	feats := make([]Feature, len(geoms))
	for i, g := range geoms {
		feats[i] = Feature{Geometry: g, Fields: []Field{{"name", string(rune('a' + i))}, {"kind", kinds[i]}}}
	}
	schema := []Field{{"name", ""}, {"kind", ""}}
	if err := WriteVector(context.Background(), path, format, "features", schema, feats); err != nil {
		t.Fatal(err)
	}
}

func TestScoreVectors(t *testing.T) {
	vtInit(t)
	dir := t.TempDir()
	// Truth: object A 10x10 px, object B 6x4 px, decoy D 5x5 px.
	a := stRect(t, 10, 10, 20, 20)
	b := stRect(t, 30, 10, 36, 14)
	d := stRect(t, 10, 30, 15, 35)
	truth := filepath.Join(dir, "truth.geojson")
	stWrite(t, truth, "GeoJSON", []orb.MultiPolygon{a, b, d}, []string{"change", "change", "decoy"})

	tests := []struct {
		name       string
		detections []orb.MultiPolygon
		tp, fp, fn int64
		objects    int
		decoys     int
	}{
		{"truth itself", []orb.MultiPolygon{a, b}, 124, 0, 0, 2, 0},
		// Shifted 2 px east: A keeps 8x10, B 4x4 of its pixels.
		{"shifted 2 pixels", []orb.MultiPolygon{stRect(t, 12, 10, 22, 20), stRect(t, 32, 10, 38, 14)}, 96, 28, 28, 2, 0},
		// Shifted 8 px east: A keeps 2x10 = 20 % (< 30 %), B none.
		{"shifted 8 pixels", []orb.MultiPolygon{stRect(t, 18, 10, 28, 20), stRect(t, 38, 10, 44, 14)}, 20, 104, 104, 0, 0},
		// A detected, plus a false alarm over 3x3 px of the decoy (9 px >= 5).
		{"decoy overlapped", []orb.MultiPolygon{a, stRect(t, 12, 32, 15, 35)}, 100, 9, 24, 1, 1},
		// A false alarm of 2x2 px on the decoy (4 px < 5) is not a report.
		{"decoy grazed", []orb.MultiPolygon{a, b, stRect(t, 13, 33, 15, 35)}, 124, 4, 0, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			det := filepath.Join(dir, tc.name+".fgb")
			kinds := make([]string, len(tc.detections))
			stWrite(t, det, "FlatGeobuf", tc.detections, kinds)
			s, err := ScoreVectors(context.Background(), truth, det, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(s)
			if s.EPSG != 32635 || s.Res != 10 {
				t.Errorf("grid epsg:%d res %v, want epsg:32635 res 10", s.EPSG, s.Res)
			}
			if s.TP != tc.tp || s.FP != tc.fp || s.FN != tc.fn {
				t.Errorf("tp/fp/fn %d/%d/%d, want %d/%d/%d", s.TP, s.FP, s.FN, tc.tp, tc.fp, tc.fn)
			}
			want := ScoreMasks(nil, nil)
			want.TP, want.FP, want.FN = tc.tp, tc.fp, tc.fn
			want.pixelRatios()
			if math.Abs(s.F1-want.F1) > 1e-12 || math.Abs(s.IoU-want.IoU) > 1e-12 {
				t.Errorf("f1 %v iou %v, want %v %v", s.F1, s.IoU, want.F1, want.IoU)
			}
			if s.Objects != 2 || s.ObjectsDetected != tc.objects || s.DetectionRate != float64(tc.objects)/2 {
				t.Errorf("objects %d/%d (%v), want %d/2", s.ObjectsDetected, s.Objects, s.DetectionRate, tc.objects)
			}
			if s.Decoys != 1 || s.DecoysReported != tc.decoys {
				t.Errorf("decoys %d/%d, want %d/1", s.DecoysReported, s.Decoys, tc.decoys)
			}
		})
	}
	t.Run("known f1 after a 2 pixel shift", func(t *testing.T) {
		det := filepath.Join(dir, "shift.gpkg")
		stWrite(t, det, "GPKG", []orb.MultiPolygon{stRect(t, 12, 10, 22, 20), stRect(t, 32, 10, 38, 14)}, []string{"", ""})
		s, err := ScoreVectors(context.Background(), truth, det, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := 96.0 / 124; math.Abs(s.F1-want) > 1e-12 {
			t.Errorf("f1 %v, want %v", s.F1, want)
		}
	})
	t.Run("coarser grid", func(t *testing.T) {
		// At 20 m, A is 5x5 and B 3x2 pixels.
		det := filepath.Join(dir, "objects.fgb")
		stWrite(t, det, "FlatGeobuf", []orb.MultiPolygon{a, b}, []string{"", ""})
		s, err := ScoreVectors(context.Background(), truth, det, 20)
		if err != nil {
			t.Fatal(err)
		}
		if s.TP != 31 || s.FP != 0 || s.FN != 0 || s.Res != 20 {
			t.Errorf("got %+v, want tp 31 fp 0 fn 0 res 20", s)
		}
	})
}

// stWriteRaster writes a north-up GTiff in EPSG:4326 with the given values and nodata 0.
func stWriteRaster(t *testing.T, path string, gt [6]float64, w, h int, px []uint8) {
	t.Helper()
	ds, err := godal.Create(godal.GTiff, path, 1, godal.Byte, w, h)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := godal.NewSpatialRefFromEPSG(4326)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	if err := ds.SetSpatialRef(sr); err != nil {
		t.Fatal(err)
	}
	if err := ds.SetGeoTransform(gt); err != nil {
		t.Fatal(err)
	}
	if err := ds.SetNoData(0); err != nil {
		t.Fatal(err)
	}
	if err := ds.Bands()[0].Write(0, 0, px, w, h); err != nil {
		t.Fatal(err)
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestScoreRaster(t *testing.T) {
	vtInit(t)
	dir := t.TempDir()
	const w, h, res = 20, 20, 0.0001
	lon0, lat0 := 27.0, 41.5
	gt := [6]float64{lon0, res, 0, lat0, 0, -res}
	// OSCD style: 1 no change, 2 change (cols 5..9, rows 5..9), 0 nodata (col 10, rows 5..7).
	px := make([]uint8, w*h)
	for i := range px {
		px[i] = 1
	}
	for r := 5; r <= 9; r++ {
		for c := 5; c <= 9; c++ {
			px[r*w+c] = 2
		}
	}
	for r := 5; r <= 7; r++ {
		px[r*w+10] = 0
	}
	ref := filepath.Join(dir, "cm.tif")
	stWriteRaster(t, ref, gt, w, h, px)
	rect := func(c0, r0, c1, r1 int) orb.MultiPolygon {
		x0, x1 := lon0+res*float64(c0), lon0+res*float64(c1)
		y0, y1 := lat0-res*float64(r1), lat0-res*float64(r0)
		return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
	}
	tests := []struct {
		name       string
		detections []orb.MultiPolygon
		tp, fp, fn int64
	}{
		{"exact", []orb.MultiPolygon{rect(5, 5, 10, 10)}, 25, 0, 0},
		// One column too wide: 3 of its 5 pixels are nodata and do not count.
		{"one column over nodata", []orb.MultiPolygon{rect(5, 5, 11, 10)}, 25, 2, 0},
		{"top half", []orb.MultiPolygon{rect(5, 5, 10, 7)}, 10, 0, 15},
		{"elsewhere", []orb.MultiPolygon{rect(0, 0, 2, 2)}, 0, 4, 25},
		{"nothing", nil, 0, 0, 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			det := filepath.Join(dir, tc.name+".geojson")
			stWrite(t, det, "GeoJSON", tc.detections, make([]string, len(tc.detections)))
			s, err := ScoreRaster(context.Background(), ref, 2, det)
			if err != nil {
				t.Fatal(err)
			}
			if s.TP != tc.tp || s.FP != tc.fp || s.FN != tc.fn {
				t.Errorf("tp/fp/fn %d/%d/%d, want %d/%d/%d", s.TP, s.FP, s.FN, tc.tp, tc.fp, tc.fn)
			}
			if s.EPSG != 4326 || s.Res != res {
				t.Errorf("epsg:%d res %v, want epsg:4326 res %v", s.EPSG, s.Res, res)
			}
			if s.TP+s.FP+s.FN > int64(w*h) {
				t.Errorf("more scored pixels than the raster has")
			}
		})
	}
}
