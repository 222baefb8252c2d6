package synth

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/changewatch/changewatch/raster"
)

// The item follows the Earth Search v1 "sentinel-2-l2a" form (compared with the real item
// S2A_29RKH_20200219_0_L2A.json): same extensions, property names and asset layout, only
// the assets changewatch reads, hrefs relative to the item file.

type stacItem struct {
	Type           string               `json:"type"`
	StacVersion    string               `json:"stac_version"`
	StacExtensions []string             `json:"stac_extensions"`
	ID             string               `json:"id"`
	Collection     string               `json:"collection"`
	BBox           [4]float64           `json:"bbox"`
	Geometry       geometry             `json:"geometry"`
	Properties     map[string]any       `json:"properties"`
	Links          []link               `json:"links"`
	Assets         map[string]stacAsset `json:"assets"`
}

type geometry struct {
	Type        string         `json:"type"`
	Coordinates [][][2]float64 `json:"coordinates"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	Type string `json:"type,omitempty"`
}

type stacAsset struct {
	Href        string       `json:"href"`
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	EOBands     []eoBand     `json:"eo:bands,omitempty"`
	GSD         float64      `json:"gsd,omitempty"`
	ProjShape   [2]int       `json:"proj:shape"`
	ProjTransf  [6]float64   `json:"proj:transform"`
	RasterBands []rasterBand `json:"raster:bands"`
	Roles       []string     `json:"roles"`
}

type eoBand struct {
	Name        string  `json:"name"`
	CommonName  string  `json:"common_name"`
	Description string  `json:"description"`
	Center      float64 `json:"center_wavelength"`
	FullWidthHM float64 `json:"full_width_half_max"`
}

type rasterBand struct {
	Nodata            float64  `json:"nodata"`
	DataType          string   `json:"data_type"`
	BitsPerSample     int      `json:"bits_per_sample,omitempty"`
	SpatialResolution float64  `json:"spatial_resolution"`
	Scale             *float64 `json:"scale,omitempty"`
	Offset            *float64 `json:"offset,omitempty"`
}

const cogType = "image/tiff; application=geotiff; profile=cloud-optimized"

// makeItem builds the STAC item of a scene.
func makeItem(s *scene, g raster.Grid, cfg Config, zone int, latBand, square string, hist *sclHist) (*stacItem, error) {
	ring, err := footprint(g, 0)
	if err != nil {
		return nil, err
	}
	bbox := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range ring {
		bbox[0], bbox[1] = min(bbox[0], p[0]), min(bbox[1], p[1])
		bbox[2], bbox[3] = max(bbox[2], p[0]), max(bbox[3], p[1])
	}
	// SCL statistics the way Sen2Cor reports them: nodata over the whole grid, the classes
	// over valid pixels. eo:cloud_cover = medium + high probability clouds + thin cirrus.
	total := 0
	for _, v := range hist {
		total += v
	}
	valid := total - hist[0]
	pct := func(classes ...int) float64 {
		if valid == 0 {
			return 0
		}
		k := 0
		for _, c := range classes {
			k += hist[c]
		}
		return round6(100 * float64(k) / float64(valid))
	}
	offset, _ := baselineOffset(cfg.Baseline)
	props := map[string]any{
		"datetime":                   s.date.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"platform":                   s.platform,
		"constellation":              "sentinel-2",
		"instruments":                []string{"msi"},
		"eo:cloud_cover":             pct(8, 9, 10),
		"proj:epsg":                  g.EPSG,
		"mgrs:utm_zone":              zone,
		"mgrs:latitude_band":         latBand,
		"mgrs:grid_square":           square,
		"grid:code":                  fmt.Sprintf("MGRS-%d%s%s", zone, latBand, square),
		"view:sun_azimuth":           round6(s.sunAz),
		"view:sun_elevation":         round6(s.sunEl),
		"s2:product_type":            "S2MSI2A",
		"s2:processing_baseline":     cfg.Baseline,
		"s2:sequence":                "0",
		"s2:nodata_pixel_percentage": round6(100 * float64(hist[0]) / float64(total)),
		"s2:saturated_defective_pixel_percentage": pct(1),
		"s2:dark_features_percentage":             pct(2),
		"s2:cloud_shadow_percentage":              pct(3),
		"s2:vegetation_percentage":                pct(4),
		"s2:not_vegetated_percentage":             pct(5),
		"s2:water_percentage":                     pct(6),
		"s2:unclassified_percentage":              pct(7),
		"s2:medium_proba_clouds_percentage":       pct(8),
		"s2:high_proba_clouds_percentage":         pct(9),
		"s2:thin_cirrus_percentage":               pct(10),
		"s2:snow_ice_percentage":                  pct(11),
		"earthsearch:boa_offset_applied":          offset != 0,
		"changewatch:synthetic":                   true,
	}
	// Earth Search v1 describes the BOA offset in raster:bands: reflectance = DN*scale + offset
	// with offset -0.1 once the +1000 DN offset exists.
	scale, off := 0.0001, -float64(offset)/10000
	assets := map[string]stacAsset{}
	for b := range nBands {
		bi := bands[b]
		gb := g
		if bi.res == 20 {
			gb = raster.Grid{EPSG: g.EPSG, X0: g.X0, Y0: g.Y0, Res: 20, Width: g.Width / 2, Height: g.Height / 2}
		}
		assets[bi.key] = stacAsset{
			Href: "./" + bi.file + ".tif", Type: cogType, Title: bi.title,
			EOBands: []eoBand{{Name: bi.key, CommonName: bi.key, Description: bi.title[:len(bi.title)-6],
				Center: bi.center, FullWidthHM: bi.fwhm}},
			GSD:        bi.res,
			ProjShape:  [2]int{gb.Height, gb.Width},
			ProjTransf: [6]float64{gb.Res, 0, gb.X0, 0, -gb.Res, gb.Y0},
			RasterBands: []rasterBand{{Nodata: 0, DataType: "uint16", BitsPerSample: 15,
				SpatialResolution: bi.res, Scale: &scale, Offset: &off}},
			Roles: []string{"data"},
		}
	}
	g20 := raster.Grid{EPSG: g.EPSG, X0: g.X0, Y0: g.Y0, Res: 20, Width: g.Width / 2, Height: g.Height / 2}
	assets["scl"] = stacAsset{
		Href: "./SCL.tif", Type: cogType, Title: "Scene classification map (SCL)",
		ProjShape:   [2]int{g20.Height, g20.Width},
		ProjTransf:  [6]float64{20, 0, g20.X0, 0, -20, g20.Y0},
		RasterBands: []rasterBand{{Nodata: 0, DataType: "uint8", SpatialResolution: 20}},
		Roles:       []string{"data"},
	}
	return &stacItem{
		Type: "Feature", StacVersion: "1.0.0",
		StacExtensions: []string{
			"https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
			"https://stac-extensions.github.io/view/v1.0.0/schema.json",
			"https://stac-extensions.github.io/raster/v1.1.0/schema.json",
			"https://stac-extensions.github.io/eo/v1.0.0/schema.json",
			"https://stac-extensions.github.io/grid/v1.0.0/schema.json",
			"https://stac-extensions.github.io/projection/v1.0.0/schema.json",
		},
		ID: s.id, Collection: "sentinel-2-l2a", BBox: bbox,
		Geometry:   geometry{Type: "Polygon", Coordinates: [][][2]float64{ring}},
		Properties: props,
		Links: []link{{Rel: "license",
			Href: "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"}},
		Assets: assets,
	}, nil
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// footprint is the lon/lat ring (counter-clockwise, closed) of the grid inset by inset
// metres; its corners are transformed from UTM with raster.TransformPoints.
func footprint(g raster.Grid, inset float64) ([][2]float64, error) {
	b := g.Bounds()
	xs := []float64{b[0] + inset, b[2] - inset, b[2] - inset, b[0] + inset, b[0] + inset}
	ys := []float64{b[1] + inset, b[1] + inset, b[3] - inset, b[3] - inset, b[1] + inset}
	if err := raster.TransformPoints(g.EPSG, 4326, xs, ys); err != nil {
		return nil, fmt.Errorf("footprint: %w", err)
	}
	out := make([][2]float64, len(xs))
	for i := range xs {
		out[i] = [2]float64{round9(xs[i]), round9(ys[i])}
	}
	return out, nil
}

// round9 rounds degrees to 1e-9 (0.1 mm).
func round9(v float64) float64 { return math.Round(v*1e9) / 1e9 }

// writeJSON writes v indented to path through a temporary file.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type feature struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Geometry   geometry       `json:"geometry"`
}

type featureCollection struct {
	Type     string    `json:"type"`
	Features []feature `json:"features"`
}

// writeTruth writes truth.geojson: one feature per object, rings in EPSG:4326 (lon, lat),
// properties name, kind, class, area_ha (docs/contracts.md).
func writeTruth(path string, g raster.Grid, objs []Object) error {
	// One TransformPoints call for all vertices (a transformation object per call costs
	// about a millisecond; big sites have hundreds of objects).
	var xs, ys []float64
	for _, o := range objs {
		for _, r := range append([][][2]float64{o.Ring}, o.Holes...) {
			for _, p := range r {
				xs, ys = append(xs, p[0]), append(ys, p[1])
			}
		}
	}
	if err := raster.TransformPoints(g.EPSG, 4326, xs, ys); err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	fc := featureCollection{Type: "FeatureCollection", Features: []feature{}}
	k := 0
	for _, o := range objs {
		var rings [][][2]float64
		for _, r := range append([][][2]float64{o.Ring}, o.Holes...) {
			ll := make([][2]float64, len(r))
			for i := range r {
				ll[i] = [2]float64{round9(xs[k]), round9(ys[k])}
				k++
			}
			rings = append(rings, ll)
		}
		fc.Features = append(fc.Features, feature{Type: "Feature",
			Properties: map[string]any{"name": o.Name, "kind": o.Kind, "class": o.Class, "area_ha": round6(o.AreaHa)},
			Geometry:   geometry{Type: "Polygon", Coordinates: rings}})
	}
	return writeJSON(path, fc)
}

// writeAOI writes aoi.geojson: the grid footprint inset by 300 m as a Feature.
func writeAOI(path string, g raster.Grid, seed int64, tile string) error {
	ring, err := footprint(g, aoiInset*g.Res)
	if err != nil {
		return err
	}
	f := feature{Type: "Feature",
		Properties: map[string]any{"id": fmt.Sprintf("synthetic-%d", seed),
			"name": fmt.Sprintf("Synthetic site %s (seed %d)", tile, seed)},
		Geometry: geometry{Type: "Polygon", Coordinates: [][][2]float64{ring}}}
	return writeJSON(path, f)
}

// itemDir is the Earth Search folder of an item under root.
func itemDir(root string, zone int, latBand, square string, s *scene) string {
	return filepath.Join(root, "sentinel-s2-l2a-cogs", fmt.Sprint(zone), latBand, square,
		fmt.Sprint(s.date.Year()), fmt.Sprint(int(s.date.Month())), s.id)
}
