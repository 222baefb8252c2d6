package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/changewatch/changewatch/raster"
)

const testSize = 512

func generate(t testing.TB, seed int64) *Result {
	t.Helper()
	res, err := Generate(context.Background(), t.TempDir(), Config{Size: testSize, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readBand(t testing.TB, path string) (raster.Grid, []float32) {
	t.Helper()
	g, data, nodata, err := raster.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if nodata != 0 {
		t.Fatalf("%s: nodata %v, want 0", path, nodata)
	}
	return g, data
}

// testItem is the part of an Earth Search item the tests read.
type testItem struct {
	Type        string    `json:"type"`
	StacVersion string    `json:"stac_version"`
	ID          string    `json:"id"`
	Collection  string    `json:"collection"`
	BBox        []float64 `json:"bbox"`
	Geometry    testGeom  `json:"geometry"`
	Properties  itemProps `json:"properties"`
	Assets      map[string]struct {
		Href        string   `json:"href"`
		Type        string   `json:"type"`
		Roles       []string `json:"roles"`
		ProjShape   []int    `json:"proj:shape"`
		RasterBands []struct {
			Nodata            *float64 `json:"nodata"`
			DataType          string   `json:"data_type"`
			SpatialResolution float64  `json:"spatial_resolution"`
			Scale             *float64 `json:"scale"`
			Offset            *float64 `json:"offset"`
		} `json:"raster:bands"`
	} `json:"assets"`
}

type itemProps struct {
	Datetime      time.Time `json:"datetime"`
	Platform      string    `json:"platform"`
	Constellation string    `json:"constellation"`
	EPSG          int       `json:"proj:epsg"`
	Zone          int       `json:"mgrs:utm_zone"`
	LatBand       string    `json:"mgrs:latitude_band"`
	Square        string    `json:"mgrs:grid_square"`
	Baseline      string    `json:"s2:processing_baseline"`
	CloudCover    float64   `json:"eo:cloud_cover"`
	BOAApplied    *bool     `json:"earthsearch:boa_offset_applied"`
}

type testGeom struct {
	Type        string         `json:"type"`
	Coordinates [][][2]float64 `json:"coordinates"`
}

type testFeature struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Geometry   testGeom       `json:"geometry"`
}

func TestGenerate(t *testing.T) {
	res := generate(t, 7)
	g := res.Grid
	if g.EPSG != 32635 || g.Res != 10 || g.Width != testSize || g.Height != testSize ||
		math.Mod(g.X0, 60) != 0 || math.Mod(g.Y0, 60) != 0 {
		t.Fatalf("grid %+v", g)
	}
	if res.TileID != "35NPB" {
		t.Errorf("tile %s, want 35NPB (the Sentinel-2 tile over Muchacha)", res.TileID)
	}
	if len(res.BeforeIDs) != 2 || len(res.AfterIDs) != 3 || len(res.ItemPaths) != 5 || res.SwathID != res.AfterIDs[2] {
		t.Fatalf("ids %v %v swath %q, %d items", res.BeforeIDs, res.AfterIDs, res.SwathID, len(res.ItemPaths))
	}
	wantIDs := []string{"S2B_35NPB_20230114_0_L2A", "S2A_35NPB_20230208_0_L2A",
		"S2B_35NPB_20240109_0_L2A", "S2A_35NPB_20240213_0_L2A", "S2A_35NPB_20240304_0_L2A"}
	if got := append(append([]string{}, res.BeforeIDs...), res.AfterIDs...); !slices.Equal(got, wantIDs) {
		t.Errorf("ids %v, want %v", got, wantIDs)
	}

	layout := regexp.MustCompile(`^sentinel-s2-l2a-cogs/35/N/PB/(\d{4})/([1-9]|1[0-2])/(S2[AB]_35NPB_(\d{8})_\d_L2A)/(S2[AB]_35NPB_\d{8}_\d_L2A)\.json$`)
	scl := map[string][]float32{}
	for _, p := range res.ItemPaths {
		rel, err := filepath.Rel(res.Root, p)
		if err != nil {
			t.Fatal(err)
		}
		m := layout.FindStringSubmatch(filepath.ToSlash(rel))
		if m == nil || m[3] != m[5] {
			t.Fatalf("item path %s not in the Earth Search layout", rel)
		}
		d, _ := time.Parse("20060102", m[4])
		if m[1] != d.Format("2006") || m[2] != d.Format("1") {
			t.Errorf("%s: year/month folders %s/%s for date %s", rel, m[1], m[2], m[4])
		}
		dir := filepath.Dir(p)
		for _, f := range []string{"B02", "B03", "B04", "B08", "B11", "B12", "SCL"} {
			if _, err := os.Stat(filepath.Join(dir, f+".tif")); err != nil {
				t.Error(err)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 8 {
			t.Errorf("%s: %d files, want 7 tifs + item", dir, len(entries))
		}

		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var it testItem
		if err := json.Unmarshal(raw, &it); err != nil {
			t.Fatal(err)
		}
		pr := it.Properties
		if it.Type != "Feature" || it.StacVersion != "1.0.0" || it.Collection != "sentinel-2-l2a" || it.ID != m[3] {
			t.Errorf("%s: header %s %s %s %s", rel, it.Type, it.StacVersion, it.Collection, it.ID)
		}
		if pr.Datetime.Format("20060102") != m[4] || pr.Datetime.Hour() != 8 {
			t.Errorf("%s: datetime %v", rel, pr.Datetime)
		}
		if "sentinel-2"+strings.ToLower(it.ID[2:3]) != pr.Platform || pr.Constellation != "sentinel-2" {
			t.Errorf("%s: platform %s / %s", rel, pr.Platform, pr.Constellation)
		}
		if pr.EPSG != 32635 || pr.Zone != 35 || pr.LatBand != "N" || pr.Square != "PB" ||
			pr.Baseline != "05.09" || pr.BOAApplied == nil || !*pr.BOAApplied {
			t.Errorf("%s: properties %+v", rel, pr)
		}
		if it.Geometry.Type != "Polygon" || len(it.Geometry.Coordinates) != 1 || len(it.Geometry.Coordinates[0]) != 5 {
			t.Errorf("%s: geometry %+v", rel, it.Geometry)
		}
		if len(it.BBox) != 4 || !(it.BBox[0] < DefaultLon && DefaultLon < it.BBox[2] && it.BBox[1] < DefaultLat && DefaultLat < it.BBox[3]) ||
			it.BBox[2]-it.BBox[0] > 0.05 || it.BBox[2]-it.BBox[0] < 0.04 {
			t.Errorf("%s: bbox %v", rel, it.BBox)
		}
		files := map[string]string{"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12", "scl": "SCL"}
		for key, f := range files {
			a, ok := it.Assets[key]
			if !ok {
				t.Errorf("%s: no asset %s", rel, key)
				continue
			}
			if a.Href != "./"+f+".tif" || a.Type != "image/tiff; application=geotiff; profile=cloud-optimized" ||
				!slices.Equal(a.Roles, []string{"data"}) || len(a.RasterBands) != 1 {
				t.Errorf("%s: asset %s %+v", rel, key, a)
				continue
			}
			rb := a.RasterBands[0]
			res := 10.0
			if key == "swir16" || key == "swir22" || key == "scl" {
				res = 20
			}
			if rb.Nodata == nil || *rb.Nodata != 0 || rb.SpatialResolution != res || a.ProjShape[0] != int(float64(testSize)*10/res) {
				t.Errorf("%s: %s raster:bands %+v shape %v", rel, key, rb, a.ProjShape)
			}
			if key == "scl" {
				if rb.DataType != "uint8" || rb.Scale != nil || rb.Offset != nil {
					t.Errorf("%s: scl raster:bands %+v", rel, rb)
				}
			} else if rb.DataType != "uint16" || rb.Scale == nil || *rb.Scale != 0.0001 || rb.Offset == nil || *rb.Offset != -0.1 {
				t.Errorf("%s: %s raster:bands %+v", rel, key, rb)
			}
		}

		// B04: the grid, +1000 offset, plausible digital numbers.
		gb, b04 := readBand(t, filepath.Join(dir, "B04.tif"))
		if gb != g {
			t.Errorf("%s: B04 grid %+v", rel, gb)
		}
		var valid []float32
		for _, v := range b04 {
			if v != 0 {
				valid = append(valid, v)
			}
		}
		slices.Sort(valid)
		if len(valid) < len(b04)/2 || valid[0] <= 1000 || valid[len(valid)-1] > 8000 {
			t.Errorf("%s: B04 DN range %v..%v over %d valid", rel, valid[0], valid[len(valid)-1], len(valid))
		}
		if med := valid[len(valid)/2]; med < 1200 || med > 1450 {
			t.Errorf("%s: B04 median DN %v, want forest ~0.025 reflectance + 1000", rel, med)
		}

		// SCL: 20 m grid, Sen2Cor classes, eo:cloud_cover from it.
		gs, s := readBand(t, filepath.Join(dir, "SCL.tif"))
		if gs.Res != 20 || gs.Width != testSize/2 || gs.X0 != g.X0 || gs.Y0 != g.Y0 {
			t.Errorf("%s: SCL grid %+v", rel, gs)
		}
		var hist [256]int
		for _, v := range s {
			hist[int(v)]++
		}
		for v, k := range hist {
			if k > 0 && !slices.Contains([]int{0, 3, 4, 5, 6, 7, 8, 9, 10}, v) {
				t.Errorf("%s: unexpected SCL class %d", rel, v)
			}
		}
		cc := 100 * float64(hist[8]+hist[9]+hist[10]) / float64(len(s)-hist[0])
		if math.Abs(cc-pr.CloudCover) > 1e-4 {
			t.Errorf("%s: eo:cloud_cover %v, SCL says %v", rel, pr.CloudCover, cc)
		}
		if slices.Contains(res.AfterIDs, it.ID) {
			if cc < 2 || cc > 40 {
				t.Errorf("%s: after-scene cloud cover %.1f %%", rel, cc)
			}
			scl[it.ID] = s
		}
		if (hist[0] > 0) != (it.ID == res.SwathID) {
			t.Errorf("%s: %d nodata SCL pixels (swath scene %s)", rel, hist[0], res.SwathID)
		}
	}

	// Every 20 m pixel is clear (SCL 4, 5 or 6) on at least one after scene, apart from
	// the nodata swath.
	bad := 0
	for i := range scl[res.AfterIDs[0]] {
		clear, swath := false, false
		for _, id := range res.AfterIDs {
			v := scl[id][i]
			clear = clear || (v >= 4 && v <= 6)
			swath = swath || v == 0
		}
		if !clear && !swath {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d pixels never clear on the after scenes", bad)
	}

	checkTruth(t, res)
}

// checkTruth compares truth.tif, truth.geojson and the Objects.
func checkTruth(t *testing.T, res *Result) {
	g := res.Grid
	gt, truth := readTruth(t, res.TruthTIF)
	if gt != g {
		t.Errorf("truth grid %+v", gt)
	}
	var counts [256]int
	for _, v := range truth {
		counts[int(v)]++
	}
	want := map[string]int{}
	kinds := map[string]int{}
	classes := map[string]bool{}
	for _, o := range res.Objects {
		kinds[o.Kind]++
		classes[o.Class] = true
		if o.Kind == "change" {
			want[o.Class] += o.Pixels
		}
		if o.AreaHa < 0.2 || o.AreaHa > 20 || math.Abs(o.AreaHa-float64(o.Pixels)*0.01) > 1e-9 {
			t.Errorf("%s: area %.2f ha, %d px", o.Name, o.AreaHa, o.Pixels)
		}
	}
	for c, name := range []string{"", classBare, classWater, classBurn} {
		if c > 0 && (counts[c] != want[name] || counts[c] == 0) {
			t.Errorf("truth.tif class %d: %d pixels, objects say %d", c, counts[c], want[name])
		}
	}
	if counts[0]+counts[1]+counts[2]+counts[3] != len(truth) {
		t.Error("truth.tif has values outside 0..3")
	}
	for _, c := range []string{classBare, classWater, classBurn, "seasonal_browning", "illumination", "haze", "cloud_edge", "cloud_shadow_rim"} {
		if !classes[c] {
			t.Errorf("no %s object", c)
		}
	}
	if kinds["change"] < 4 || kinds["decoy"] < 5 {
		t.Errorf("kinds %v", kinds)
	}

	// Every change object's polygon (pixel centre inside, holes excluded) is exactly its
	// class in truth.tif.
	for _, o := range res.Objects {
		if o.Kind != "change" {
			continue
		}
		cls := map[string]float32{classBare: 1, classWater: 2, classBurn: 3}[o.Class]
		n := 0
		rings := append([][][2]float64{o.Ring}, o.Holes...)
		minx, miny, maxx, maxy := bounds(o.Ring)
		for r := int((g.Y0 - maxy) / 10); r <= int((g.Y0-miny)/10); r++ {
			for c := int((minx - g.X0) / 10); c <= int((maxx-g.X0)/10); c++ {
				x, y := g.X0+(float64(c)+0.5)*10, g.Y0-(float64(r)+0.5)*10
				if inside(rings, x, y) {
					n++
					if truth[r*g.Width+c] != cls {
						t.Fatalf("%s: pixel %d,%d is %v in truth.tif", o.Name, c, r, truth[r*g.Width+c])
					}
				}
			}
		}
		if n != o.Pixels {
			t.Errorf("%s: %d pixels inside its polygon, Pixels=%d", o.Name, n, o.Pixels)
		}
	}

	// Change objects are at least 200 m from decoys.
	for _, a := range res.Objects {
		for _, b := range res.Objects {
			if a.Kind == "change" && b.Kind == "decoy" {
				if d := ringDist(a.Ring, b.Ring); d < 199 {
					t.Errorf("%s and %s only %.0f m apart", a.Name, b.Name, d)
				}
			}
		}
	}

	// truth.geojson: the contract's properties, lon/lat rings matching the objects.
	raw, err := os.ReadFile(res.TruthGeoJSON)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string        `json:"type"`
		Features []testFeature `json:"features"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != len(res.Objects) {
		t.Fatalf("truth.geojson: %s with %d features", fc.Type, len(fc.Features))
	}
	seen := map[string]bool{}
	for i, f := range fc.Features {
		o := res.Objects[i]
		p := f.Properties
		if p["name"] != o.Name || p["kind"] != o.Kind || p["class"] != o.Class || len(p) != 4 {
			t.Errorf("feature %d properties %v", i, p)
		}
		area, _ := p["area_ha"].(float64)
		if area < 0.2 || area > 20 || math.Abs(area-o.AreaHa) > 1e-6 {
			t.Errorf("%s: area_ha %v", o.Name, p["area_ha"])
		}
		seen[o.Kind] = true
		if f.Geometry.Type != "Polygon" || len(f.Geometry.Coordinates) != 1+len(o.Holes) {
			t.Fatalf("%s: geometry %s with %d rings", o.Name, f.Geometry.Type, len(f.Geometry.Coordinates))
		}
		ring := f.Geometry.Coordinates[0]
		xs, ys := make([]float64, len(ring)), make([]float64, len(ring))
		for j, q := range ring {
			xs[j], ys[j] = q[0], q[1]
			if q[0] < 28 || q[0] > 28.3 || q[1] < 1.2 || q[1] > 1.45 {
				t.Fatalf("%s: vertex %v is not lon/lat near the site", o.Name, q)
			}
		}
		if err := raster.TransformPoints(4326, g.EPSG, xs, ys); err != nil {
			t.Fatal(err)
		}
		for j := range xs {
			if math.Hypot(xs[j]-o.Ring[j][0], ys[j]-o.Ring[j][1]) > 0.01 {
				t.Fatalf("%s: vertex %d reprojects %.3f m off", o.Name, j, math.Hypot(xs[j]-o.Ring[j][0], ys[j]-o.Ring[j][1]))
			}
		}
	}
	if !seen["change"] || !seen["decoy"] {
		t.Errorf("truth.geojson kinds %v", seen)
	}

	// aoi.geojson: a Feature; every object inside it.
	raw, err = os.ReadFile(res.AOIGeoJSON)
	if err != nil {
		t.Fatal(err)
	}
	var aoi testFeature
	if err := json.Unmarshal(raw, &aoi); err != nil {
		t.Fatal(err)
	}
	if aoi.Type != "Feature" || aoi.Properties["id"] != "synthetic-7" || aoi.Geometry.Type != "Polygon" {
		t.Fatalf("aoi %+v", aoi)
	}
	ax, ay := make([]float64, 5), make([]float64, 5)
	for j, q := range aoi.Geometry.Coordinates[0] {
		ax[j], ay[j] = q[0], q[1]
	}
	if err := raster.TransformPoints(4326, g.EPSG, ax, ay); err != nil {
		t.Fatal(err)
	}
	aoiRing := make([][2]float64, 5)
	for j := range ax {
		aoiRing[j] = [2]float64{ax[j], ay[j]}
	}
	b := g.Bounds()
	if math.Abs(ax[0]-(b[0]+300)) > 0.01 || math.Abs(ay[0]-(b[1]+300)) > 0.01 {
		t.Errorf("aoi corner %.2f %.2f, grid %v", ax[0], ay[0], b)
	}
	for _, o := range res.Objects {
		for _, q := range o.Ring {
			if !inside([][][2]float64{aoiRing}, q[0], q[1]) {
				t.Fatalf("%s: vertex %v outside the AOI", o.Name, q)
			}
		}
	}
}

func readTruth(t *testing.T, path string) (raster.Grid, []float32) {
	g, data, nodata, err := raster.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if nodata != 255 {
		t.Errorf("truth nodata %v", nodata)
	}
	return g, data
}

func bounds(r [][2]float64) (minx, miny, maxx, maxy float64) {
	minx, miny, maxx, maxy = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range r {
		minx, miny = min(minx, p[0]), min(miny, p[1])
		maxx, maxy = max(maxx, p[0]), max(maxy, p[1])
	}
	return
}

// inside is an independent even-odd ray-casting test over all rings.
func inside(rings [][][2]float64, x, y float64) bool {
	in := false
	for _, r := range rings {
		for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
			if (r[i][1] > y) != (r[j][1] > y) && x < (r[j][0]-r[i][0])*(y-r[i][1])/(r[j][1]-r[i][1])+r[i][0] {
				in = !in
			}
		}
	}
	return in
}

// ringDist is the smallest distance between the vertices of a and the edges of b (rings
// are dense enough for this to be the distance between the outlines).
func ringDist(a, b [][2]float64) float64 {
	d := math.Inf(1)
	for _, p := range a {
		for i := 0; i+1 < len(b); i++ {
			d = min(d, distToSegment(p[0], p[1], b[i][0], b[i][1], b[i+1][0], b[i+1][1]))
		}
	}
	return d
}

// TestSpectra checks that the planted change looks like change and the rest does not, on
// clear pixels of the first after scene, and the radiometric offset between the periods.
func TestSpectra(t *testing.T) {
	res := generate(t, 11)
	_, truth := readTruth(t, res.TruthTIF)
	sceneDir := func(id string) string {
		for _, p := range res.ItemPaths {
			if strings.Contains(p, id) {
				return filepath.Dir(p)
			}
		}
		t.Fatal("no item", id)
		return ""
	}
	ndvi := func(id string) (map[float32][]float64, []float32) {
		dir := sceneDir(id)
		_, red := readBand(t, filepath.Join(dir, "B04.tif"))
		_, nir := readBand(t, filepath.Join(dir, "B08.tif"))
		_, scl := readBand(t, filepath.Join(dir, "SCL.tif"))
		by := map[float32][]float64{}
		for i, c := range truth {
			r, col := i/testSize, i%testSize
			s := scl[(r/2)*(testSize/2)+col/2]
			if s < 4 || s > 6 {
				continue
			}
			rr, nn := (float64(red[i])-1000)/1e4, (float64(nir[i])-1000)/1e4
			by[c] = append(by[c], (nn-rr)/(nn+rr))
		}
		return by, red
	}
	median := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	before, redB := ndvi(res.BeforeIDs[1])
	after, redA := ndvi(res.AfterIDs[0])
	if m := median(before[1]); m < 0.75 {
		t.Errorf("scar pixels before: median NDVI %.2f, want forest", m)
	}
	if m := median(after[0]); m < 0.75 {
		t.Errorf("no-change pixels after: median NDVI %.2f", m)
	}
	if m := median(after[1]); m > 0.25 {
		t.Errorf("scar pixels after: median NDVI %.2f, want bare laterite", m)
	}
	if m := median(after[2]); m > 0 {
		t.Errorf("pond pixels after: median NDVI %.2f, want water", m)
	}
	if m := median(after[3]); m < 0.15 || m > 0.5 {
		t.Errorf("burn pixels after: median NDVI %.2f, want char ~0.33", m)
	}
	// Radiometric difference: forest red after/before ~ (1.03*0.025+0.006)/0.025.
	var sb, sa []float64
	for i, c := range truth {
		if c == 0 && redB[i] != 0 && redA[i] != 0 {
			sb = append(sb, float64(redB[i])-1000)
			sa = append(sa, float64(redA[i])-1000)
		}
	}
	if r := median(sa) / median(sb); r < 1.15 || r > 1.35 {
		t.Errorf("after/before forest red ratio %.2f, want ~1.27", r)
	}
}

func TestDeterminism(t *testing.T) {
	a := generate(t, 3)
	b := generate(t, 3)
	c := generate(t, 4)
	for i := range a.ItemPaths {
		pa := filepath.Join(filepath.Dir(a.ItemPaths[i]), "B04.tif")
		pb := filepath.Join(filepath.Dir(b.ItemPaths[i]), "B04.tif")
		_, da := readBand(t, pa)
		_, db := readBand(t, pb)
		if !slices.Equal(da, db) {
			t.Errorf("scene %d: B04 differs between two runs with the same seed", i)
		}
		fa, _ := os.ReadFile(pa)
		fb, _ := os.ReadFile(pb)
		if !bytes.Equal(fa, fb) {
			t.Errorf("scene %d: B04.tif bytes differ between two runs with the same seed", i)
		}
		ja, _ := os.ReadFile(a.ItemPaths[i])
		jb, _ := os.ReadFile(b.ItemPaths[i])
		if !bytes.Equal(ja, jb) {
			t.Errorf("scene %d: item JSON differs", i)
		}
	}
	ta, _ := os.ReadFile(a.TruthGeoJSON)
	tb, _ := os.ReadFile(b.TruthGeoJSON)
	tc, _ := os.ReadFile(c.TruthGeoJSON)
	if !bytes.Equal(ta, tb) || bytes.Equal(ta, tc) {
		t.Error("truth.geojson: same seed must give the same truth, another seed another one")
	}
	_, da := readBand(t, filepath.Join(filepath.Dir(a.ItemPaths[0]), "B04.tif"))
	_, dc := readBand(t, filepath.Join(filepath.Dir(c.ItemPaths[0]), "B04.tif"))
	if slices.Equal(da, dc) {
		t.Error("another seed gave the same B04")
	}
}

func TestConfig(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{{Size: 511}, {Size: 128}, {Size: 512, Baseline: "five"}, {Size: 512, CenterLat: 85, CenterLon: 1}} {
		if _, err := Generate(ctx, t.TempDir(), cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Generate(cctx, t.TempDir(), Config{Size: 512}); err == nil {
		t.Error("cancelled context ignored")
	}
	// An old baseline: no DN offset, boa_offset_applied false; a site south of the
	// equator in another zone; one after date (no swath).
	res, err := Generate(ctx, t.TempDir(), Config{Size: 256, Seed: 1, Baseline: "02.14",
		CenterLon: 29.2, CenterLat: -1.6, After: []time.Time{day(2024, 1, 9)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.TileID != "35MQU" || res.Grid.EPSG != 32735 || res.SwathID != "" {
		t.Errorf("southern site: tile %s epsg %d swath %q", res.TileID, res.Grid.EPSG, res.SwathID)
	}
	raw, _ := os.ReadFile(res.ItemPaths[0])
	var it testItem
	if err := json.Unmarshal(raw, &it); err != nil {
		t.Fatal(err)
	}
	if *it.Properties.BOAApplied || *it.Assets["red"].RasterBands[0].Offset != 0 {
		t.Errorf("baseline 02.14: boa_offset_applied %v offset %v", *it.Properties.BOAApplied, *it.Assets["red"].RasterBands[0].Offset)
	}
	_, b04 := readBand(t, filepath.Join(filepath.Dir(res.ItemPaths[0]), "B04.tif"))
	slices.Sort(b04)
	if med := b04[len(b04)/2]; med < 200 || med > 450 {
		t.Errorf("baseline 02.14: B04 median DN %v, want ~300 without offset", med)
	}
}

func TestMGRS(t *testing.T) {
	for _, c := range []struct {
		zone int
		e, n float64
		want string
	}{
		{29, 254880, 2745120, "KH"}, // real item S2A_29RKH_20200219_0_L2A, centre of its grid
		{35, 626717, 145597, "PB"},  // 35NPB, the default site
		{33, 348560, 5855370, "UU"}, // AROSICS test pair T33UUU, centre
		{29, 554880, 5845140, "NU"}, // ESA SAFE T29UNU, centre
		{10, 551000, 4180000, "EG"}, // 10SEG, San Francisco: an even zone (rows offset by 5)
		{35, 744600, 9823000, "QU"}, // 35MQU, Goma, south of the equator
		// The corners of the Okapi reserve (27.985-29.084 E, 0.965-2.478 N, WRI 2013) in
		// UTM 35N (gdaltransform): the four tiles of issue 4, 35NPB, 35NQB, 35NPC, 35NQC.
		{35, 609601, 106656, "PB"},
		{35, 731883, 106711, "QB"},
		{35, 609515, 273988, "PC"},
		{35, 731700, 274130, "QC"},
	} {
		if got := mgrsSquare(c.zone, c.e, c.n); got != c.want {
			t.Errorf("zone %d %.0f %.0f: %s, want %s", c.zone, c.e, c.n, got, c.want)
		}
	}
	if b := latitudeBand(1.317); b != "N" {
		t.Errorf("band %s", b)
	}
	if b := latitudeBand(-1.6); b != "M" {
		t.Errorf("band %s", b)
	}
	// Sun over Muchacha on 2024-01-09 at the overpass: south-east, ~55 degrees up.
	az, el := sunPosition(overpassUTC(day(2024, 1, 9), DefaultLon), DefaultLon, DefaultLat)
	if az < 125 || az > 145 || el < 50 || el > 62 {
		t.Errorf("sun az %.1f el %.1f", az, el)
	}
}

// BenchmarkGenerate measures a default-size (1024) site.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(context.Background(), b.TempDir(), Config{Size: 1024, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
