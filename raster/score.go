package raster

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/airbusgeo/godal"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/planar"
)

// Detection thresholds of ScoreVectors.
const (
	// ObjectDetectedFraction is the share of a truth object's pixels that must be detected
	// for the object to count as detected.
	ObjectDetectedFraction = 0.3
	// DecoyReportedPixels is the number of detected pixels inside a decoy that makes it
	// count as reported (a false alarm).
	DecoyReportedPixels = 5
	// LargeObjectHa is the area from which a truth object counts in Scores.LargeObjects.
	LargeObjectHa = 0.5
)

// ClassRecall is the pixel recall of one truth class.
type ClassRecall struct {
	Pixels   int64   `json:"pixels"`
	Detected int64   `json:"detected"`
	Recall   float64 `json:"recall"`
}

// Scores measures detections against a reference.
type Scores struct {
	// Pixel scores: true positives, false positives, false negatives and the ratios
	// derived from them.
	TP        int64   `json:"tp"`
	FP        int64   `json:"fp"`
	FN        int64   `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	IoU       float64 `json:"iou"`
	// Objects is the number of truth objects (kind != "decoy"); ObjectsDetected those with
	// at least ObjectDetectedFraction of their pixels detected; DetectionRate their ratio.
	Objects         int     `json:"objects"`
	ObjectsDetected int     `json:"objects_detected"`
	DetectionRate   float64 `json:"detection_rate"`
	// Decoys is the number of truth features with kind == "decoy"; DecoysReported those
	// with at least DecoyReportedPixels detected pixels inside.
	Decoys         int `json:"decoys"`
	DecoysReported int `json:"decoys_reported"`
	// LargeObjects and LargeObjectsDetected count the truth objects of LargeObjectHa or
	// more (by their pixels on the scoring grid).
	LargeObjects         int `json:"large_objects"`
	LargeObjectsDetected int `json:"large_objects_detected"`
	// ByClass is the pixel recall of each truth class (the "class" field of the truth's
	// non-decoy features): the share of its pixels inside any detection, whatever the
	// detection's class, since one pixel may be both (a pond inside a scar).
	ByClass map[string]ClassRecall `json:"by_class,omitempty"`
	// Res and EPSG describe the grid the pixels were counted on.
	Res  float64 `json:"res"`
	EPSG int     `json:"epsg"`
}

// ScoreMasks returns the pixel scores of detected against truth (same length, one entry
// per pixel). A ratio whose denominator is zero is 1 when there was nothing to get wrong
// (e.g. precision with no detections and no missed truth) and 0 otherwise, so two empty
// masks score 1 everywhere. It panics if the lengths differ.
func ScoreMasks(truth, detected []bool) Scores {
	if len(truth) != len(detected) {
		panic(fmt.Sprintf("raster.ScoreMasks: %d truth pixels, %d detected pixels", len(truth), len(detected)))
	}
	var s Scores
	for i, t := range truth {
		d := detected[i]
		switch {
		case t && d:
			s.TP++
		case d:
			s.FP++
		case t:
			s.FN++
		}
	}
	s.pixelRatios()
	return s
}

// pixelRatios fills Precision, Recall, F1 and IoU from TP, FP and FN.
func (s *Scores) pixelRatios() {
	ratio := func(num, den int64, other int64) float64 {
		if den == 0 {
			if other == 0 {
				return 1
			}
			return 0
		}
		return float64(num) / float64(den)
	}
	s.Precision = ratio(s.TP, s.TP+s.FP, s.FN)
	s.Recall = ratio(s.TP, s.TP+s.FN, s.FP)
	s.IoU = ratio(s.TP, s.TP+s.FP+s.FN, 0)
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	} else {
		s.F1 = 0
	}
}

// String formats s on one line, e.g. "precision 0.93 recall 0.91 f1 0.92 iou 0.85
// objects 11/12 (0.92) decoys reported 0/6"; the object and decoy parts appear only when
// there are objects or decoys.
func (s Scores) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "precision %.2f recall %.2f f1 %.2f iou %.2f", s.Precision, s.Recall, s.F1, s.IoU)
	if s.Objects > 0 {
		fmt.Fprintf(&b, " objects %d/%d (%.2f)", s.ObjectsDetected, s.Objects, s.DetectionRate)
	}
	if s.LargeObjects > 0 {
		fmt.Fprintf(&b, " objects>=%.1fha %d/%d", LargeObjectHa, s.LargeObjectsDetected, s.LargeObjects)
	}
	if s.Decoys > 0 {
		fmt.Fprintf(&b, " decoys reported %d/%d", s.DecoysReported, s.Decoys)
	}
	if len(s.ByClass) > 0 {
		b.WriteString(" recall by class")
		for _, c := range slices.Sorted(maps.Keys(s.ByClass)) {
			fmt.Fprintf(&b, " %s %.2f", c, s.ByClass[c].Recall)
		}
	}
	return b.String()
}

// ScoreVectors scores the polygons of detectionsPath against those of truthPath (files
// ReadVector reads; truth features may carry a string field "kind", "decoy" marking a
// decoy). Both are rasterized on one grid: the UTM zone (WGS 84) of the truth's
// centroid, res metres (10 when res is 0), aligned on multiples of res and covering both.
// A pixel belongs to a polygon when its centre is inside (GDAL's default rasterization,
// not ALL_TOUCHED). Truth change pixels are the union of the non-decoy features. Objects
// and decoys are scored one by one, each in a window of its own bounding box.
func ScoreVectors(ctx context.Context, truthPath, detectionsPath string, res float64) (Scores, error) {
	if res == 0 {
		res = 10
	}
	if !(res > 0) || math.IsInf(res, 0) {
		return Scores{}, fmt.Errorf("score vectors: resolution %v", res)
	}
	truth, err := ReadVector(ctx, truthPath)
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: truth: %w", err)
	}
	det, err := ReadVector(ctx, detectionsPath)
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: detections: %w", err)
	}
	c, ok := scoreCentroid(truth)
	if !ok {
		if c, ok = scoreCentroid(det); !ok {
			return Scores{}, fmt.Errorf("score vectors: %s and %s hold no geometry", truthPath, detectionsPath)
		}
	}
	epsg := scoreUTMEPSG(c[0], c[1])

	src, err := wgs84()
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: %w", err)
	}
	defer src.Close()
	dst, err := godal.NewSpatialRefFromEPSG(epsg)
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: spatial reference epsg:%d: %w", epsg, err)
	}
	defer dst.Close()
	trn, err := godal.NewTransform(src, dst)
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: transform to epsg:%d: %w", epsg, err)
	}
	defer trn.Close()

	bound := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	project := func(feats []Feature, what string) ([]orb.MultiPolygon, error) {
		out := make([]orb.MultiPolygon, len(feats))
		for i, ft := range feats {
			mp := ft.Geometry.Clone()
			if err := transformMultiPolygon(trn, mp); err != nil {
				return nil, fmt.Errorf("%s feature %d to epsg:%d: %w", what, i, epsg, err)
			}
			if len(mp) > 0 {
				bound = bound.Union(mp.Bound())
			}
			out[i] = mp
		}
		return out, nil
	}
	truthUTM, err := project(truth, "truth")
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: %w", err)
	}
	detUTM, err := project(det, "detection")
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: %w", err)
	}
	g := scoreGrid(epsg, bound, res)

	detected, err := scoreBurn(ctx, g.GeoTransform(), g.Width, g.Height, detUTM)
	if err != nil {
		return Scores{}, fmt.Errorf("score vectors: rasterize detections: %w", err)
	}
	truthMask := make([]bool, g.Pixels())
	var objects, decoys, large struct{ n, hit int }
	byClass := map[string]ClassRecall{}
	for i, mp := range truthUTM {
		if err := ctx.Err(); err != nil {
			return Scores{}, err
		}
		decoy := scoreKind(truth[i].Fields) == "decoy"
		pix, hit := 0, 0
		if len(mp) > 0 {
			w := scoreGrid(epsg, mp.Bound(), res)
			m, err := scoreBurn(ctx, w.GeoTransform(), w.Width, w.Height, []orb.MultiPolygon{mp})
			if err != nil {
				return Scores{}, fmt.Errorf("score vectors: rasterize truth feature %d%s: %w", i, vecFeatureName(truth[i].Fields), err)
			}
			c0 := int(math.Round((w.X0 - g.X0) / res))
			r0 := int(math.Round((g.Y0 - w.Y0) / res))
			for r := range w.Height {
				gr := r0 + r
				if gr < 0 || gr >= g.Height {
					continue
				}
				for c := range w.Width {
					gc := c0 + c
					if gc < 0 || gc >= g.Width || !m[r*w.Width+c] {
						continue
					}
					k := gr*g.Width + gc
					pix++
					if detected[k] {
						hit++
					}
					if !decoy {
						truthMask[k] = true
					}
				}
			}
		}
		if decoy {
			decoys.n++
			if hit >= DecoyReportedPixels {
				decoys.hit++
			}
			continue
		}
		found := pix > 0 && float64(hit) >= ObjectDetectedFraction*float64(pix)
		objects.n++
		if found {
			objects.hit++
		}
		if float64(pix)*res*res/1e4 >= LargeObjectHa {
			large.n++
			if found {
				large.hit++
			}
		}
		if c := vecField(truth[i].Fields, "class"); c != "" {
			cr := byClass[c]
			cr.Pixels += int64(pix)
			cr.Detected += int64(hit)
			byClass[c] = cr
		}
	}

	s := ScoreMasks(truthMask, detected)
	s.Objects, s.ObjectsDetected = objects.n, objects.hit
	if objects.n > 0 {
		s.DetectionRate = float64(objects.hit) / float64(objects.n)
	}
	s.Decoys, s.DecoysReported = decoys.n, decoys.hit
	s.LargeObjects, s.LargeObjectsDetected = large.n, large.hit
	for c, cr := range byClass {
		if cr.Pixels > 0 {
			cr.Recall = float64(cr.Detected) / float64(cr.Pixels)
		}
		byClass[c] = cr
	}
	if len(byClass) > 0 {
		s.ByClass = byClass
	}
	s.Res, s.EPSG = res, epsg
	return s, nil
}

// ScoreRaster scores the polygons of detectionsPath (a file ReadVector reads) against the
// first band of the north-up reference raster truthRaster, on the raster's own grid and
// CRS: pixels equal to changeValue are change, other valid pixels no change, nodata (and
// NaN) pixels are left out. Detections are rasterized with GDAL's default (pixel centre)
// rule. Objects and decoys are not scored. For the OSCD reference maps (EPSG:4326,
// 1 = no change, 2 = change) changeValue is 2. Res is the pixel width in CRS units; EPSG is
// 0 when the raster's CRS has no EPSG code.
func ScoreRaster(ctx context.Context, truthRaster string, changeValue float64, detectionsPath string) (Scores, error) {
	ds, err := godal.Open(truthRaster, godal.RasterOnly())
	if err != nil {
		return Scores{}, fmt.Errorf("score raster %s: %w", truthRaster, err)
	}
	defer ds.Close()
	gt, err := ds.GeoTransform()
	if err != nil {
		return Scores{}, fmt.Errorf("score raster %s: geotransform: %w", truthRaster, err)
	}
	if gt[2] != 0 || gt[4] != 0 || gt[1] <= 0 || gt[5] >= 0 {
		return Scores{}, fmt.Errorf("score raster %s: geotransform %v is not north-up", truthRaster, gt)
	}
	st := ds.Structure()
	w, h := st.SizeX, st.SizeY
	band := ds.Bands()[0]
	ref := make([]float64, w*h)
	if err := band.Read(0, 0, ref, w, h); err != nil {
		return Scores{}, fmt.Errorf("score raster %s: read: %w", truthRaster, err)
	}
	nodata, hasNodata := band.NoData()

	wkt := ds.Projection()
	if wkt == "" {
		return Scores{}, fmt.Errorf("score raster %s: no spatial reference", truthRaster)
	}
	rsr, err := godal.NewSpatialRefFromWKT(wkt)
	if err != nil {
		return Scores{}, fmt.Errorf("score raster %s: spatial reference: %w", truthRaster, err)
	}
	defer rsr.Close()
	epsg, _ := strconv.Atoi(rsr.AuthorityCode(""))

	det, err := ReadVector(ctx, detectionsPath)
	if err != nil {
		return Scores{}, fmt.Errorf("score raster %s: detections: %w", truthRaster, err)
	}
	src, err := wgs84()
	if err != nil {
		return Scores{}, fmt.Errorf("score raster %s: %w", truthRaster, err)
	}
	defer src.Close()
	geoms := make([]orb.MultiPolygon, len(det))
	for i, ft := range det {
		geoms[i] = ft.Geometry
	}
	if !rsr.IsSame(src) {
		trn, err := godal.NewTransform(src, rsr)
		if err != nil {
			return Scores{}, fmt.Errorf("score raster %s: transform detections: %w", truthRaster, err)
		}
		defer trn.Close()
		for i := range geoms {
			geoms[i] = geoms[i].Clone()
			if err := transformMultiPolygon(trn, geoms[i]); err != nil {
				return Scores{}, fmt.Errorf("score raster %s: transform detection %d: %w", truthRaster, i, err)
			}
		}
	}
	detected, err := scoreBurn(ctx, gt, w, h, geoms)
	if err != nil {
		return Scores{}, fmt.Errorf("score raster %s: rasterize detections: %w", truthRaster, err)
	}

	truth := make([]bool, 0, len(ref))
	kept := detected[:0] // compacted in place: valid pixels only
	for i, v := range ref {
		if math.IsNaN(v) || (hasNodata && v == nodata) {
			continue
		}
		truth = append(truth, v == changeValue)
		kept = append(kept, detected[i])
	}
	s := ScoreMasks(truth, kept)
	s.Res, s.EPSG = gt[1], epsg
	return s, nil
}

// scoreBurn rasterizes geoms (in the grid's CRS) onto a w x h grid with geotransform gt and
// returns the pixels whose centre falls inside any of them. ctx is checked between
// geometries.
func scoreBurn(ctx context.Context, gt [6]float64, w, h int, geoms []orb.MultiPolygon) ([]bool, error) {
	out := make([]bool, w*h)
	var px []uint8
	for i, mp := range geoms {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(mp) == 0 {
			continue
		}
		// Each geometry is burnt into a raster of its own bounding box (GDAL's rasterizer
		// walks the whole target raster on every call: one full-size raster per geometry
		// made scoring a 10980-pixel grid take minutes).
		bd := mp.Bound()
		c0 := max(0, int(math.Floor((bd.Min[0]-gt[0])/gt[1])))
		c1 := min(w, int(math.Ceil((bd.Max[0]-gt[0])/gt[1])))
		r0 := max(0, int(math.Floor((bd.Max[1]-gt[3])/gt[5])))
		r1 := min(h, int(math.Ceil((bd.Min[1]-gt[3])/gt[5])))
		if c1 <= c0 || r1 <= r0 {
			continue
		}
		ww, wh := c1-c0, r1-r0
		sub := gt
		sub[0], sub[3] = gt[0]+float64(c0)*gt[1], gt[3]+float64(r0)*gt[5]
		if err := scoreBurnWindow(sub, ww, wh, mp, grow(&px, ww*wh)); err != nil {
			return nil, fmt.Errorf("geometry %d: %w", i, err)
		}
		for y := range wh {
			row := out[(r0+y)*w+c0 : (r0+y)*w+c1]
			for x, v := range px[y*ww : (y+1)*ww] {
				if v != 0 {
					row[x] = true
				}
			}
		}
	}
	return out, nil
}

// scoreBurnWindow rasterizes mp (pixel centres) into px, a w x h raster of geotransform gt.
func scoreBurnWindow(gt [6]float64, w, h int, mp orb.MultiPolygon, px []uint8) error {
	ds, err := godal.Create(godal.Memory, "", 1, godal.Byte, w, h)
	if err != nil {
		return fmt.Errorf("create %dx%d raster: %w", w, h, err)
	}
	defer ds.Close()
	if err := ds.SetGeoTransform(gt); err != nil {
		return fmt.Errorf("set geotransform: %w", err)
	}
	b, err := wkb.Marshal(mp)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	geom, err := godal.NewGeometryFromWKB(b, nil)
	if err != nil {
		return err
	}
	defer geom.Close()
	if err := ds.RasterizeGeometry(geom, godal.Values(1)); err != nil {
		return err
	}
	if err := ds.Bands()[0].Read(0, 0, px, w, h); err != nil {
		return fmt.Errorf("read burnt raster: %w", err)
	}
	return nil
}

// scoreGrid returns the smallest grid of resolution res with edges on multiples of res
// that covers b, at least one pixel wide and high.
func scoreGrid(epsg int, b orb.Bound, res float64) Grid {
	x0, x1 := math.Floor(b.Min[0]/res)*res, math.Ceil(b.Max[0]/res)*res
	y0, y1 := math.Floor(b.Min[1]/res)*res, math.Ceil(b.Max[1]/res)*res
	return Grid{EPSG: epsg, X0: x0, Y0: y1, Res: res,
		Width: max(1, int(math.Round((x1-x0)/res))), Height: max(1, int(math.Round((y1-y0)/res)))}
}

// scoreCentroid returns the area-weighted centroid of the features' polygons in lon/lat,
// or the centre of their bounds when they have no area; ok is false without geometry.
func scoreCentroid(feats []Feature) (orb.Point, bool) {
	var col orb.Collection
	for _, ft := range feats {
		if len(ft.Geometry) > 0 {
			col = append(col, ft.Geometry)
		}
	}
	if len(col) == 0 {
		return orb.Point{}, false
	}
	if c, area := planar.CentroidArea(col); area > 0 {
		return c, true
	}
	return col.Bound().Center(), true
}

// scoreKind returns the string value of the "kind" field, or "".
func scoreKind(fields []Field) string { return vecField(fields, "kind") }

// vecField returns the string value of the named field, or "".
func vecField(fields []Field, name string) string {
	for _, fd := range fields {
		if fd.Name == name {
			s, _ := fd.Value.(string)
			return s
		}
	}
	return ""
}

// scoreUTMEPSG returns the EPSG code of the WGS 84 UTM zone containing lon/lat (326zz north of
// the equator, 327zz south), ignoring the Norway and Svalbard exceptions.
func scoreUTMEPSG(lon, lat float64) int {
	zone := int(math.Floor((lon+180)/6)) + 1
	zone = min(max(zone, 1), 60)
	if lat < 0 {
		return 32700 + zone
	}
	return 32600 + zone
}
