package worker

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/paulmach/orb/geojson"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/raster/cog"
	"github.com/changewatch/changewatch/stactree"
)

// STAC extensions the item uses (their schemas are vendored in testdata/stac-schemas).
const (
	extProjection     = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
	extRaster         = "https://stac-extensions.github.io/raster/v1.0.0/schema.json"
	extFile           = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
	extClassification = "https://stac-extensions.github.io/classification/v1.0.0/schema.json"
)

const cogType = "image/tiff; application=geotiff; profile=cloud-optimized"

// itemAsset is one asset of the item before its file fields are known.
type itemAsset struct {
	key, file, typ, title string
	roles                 []string
	extra                 map[string]any // raster:bands, classification:classes
}

// writeItem writes item.json into dir, a STAC 1.0.0 item describing the run: the AOI as
// geometry, the two periods, links to its collection and catalog (when the output is in
// the <root>/<aoi>/<run> tree) and to the source scenes' items (derived_from), and one
// asset per output file with its size and SHA-256 (file extension) and, for the rasters,
// their bands (raster extension) and classes (classification extension). Every other
// output must be in dir already.
func writeItem(dir string, pl *plan, req jobs.DetectRequest, out *result, known map[string]ManifestEntry) (map[string]ManifestEntry, error) {
	area := pl.area
	b := area.Bound()
	observed, notObserved, insufficient := out.view()
	counts := map[string]int{}
	hectares := map[string]float64{}
	for _, f := range out.feats {
		counts[f.class]++
		hectares[f.class] = round(hectares[f.class]+f.areaHa, 4)
	}
	assets, hashed, err := itemAssets(dir, out.grid, known)
	if err != nil {
		return nil, err
	}
	_, inTree := treeRoot(req, area.ID)
	item := map[string]any{
		"type":            "Feature",
		"stac_version":    stactree.Version,
		"stac_extensions": []string{extProjection, extRaster, extFile, extClassification},
		"id":              fmt.Sprintf("changewatch-%s-%s-%s", area.ID, req.Before.Start.Format("20060102"), req.After.End.Format("20060102")),
		"geometry":        geojson.NewGeometry(area.Geometry),
		"bbox":            []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		"properties": map[string]any{
			"datetime":                     nil,
			"start_datetime":               req.Before.Start.Format(time.RFC3339),
			"end_datetime":                 req.After.Last().Format(time.RFC3339),
			"created":                      time.Now().UTC().Format(time.RFC3339),
			"changewatch:aoi_id":           area.ID,
			"changewatch:aoi_name":         area.Name,
			"changewatch:before":           req.Before.String(),
			"changewatch:after":            req.After.String(),
			"changewatch:scenes_before":    sceneIDs(pl.before),
			"changewatch:scenes_after":     sceneIDs(pl.after),
			"changewatch:polygons":         counts,
			"changewatch:hectares":         hectares,
			"changewatch:options":          req.Options.WithDefaults(),
			"changewatch:observed_pct":     observed,
			"changewatch:not_observed_pct": notObserved,
			// Too little seen clear: where no change was found, none is known.
			"changewatch:insufficient_view": insufficient,
			"proj:epsg":                     out.grid.EPSG,
			"proj:shape":                    []int{out.grid.Height, out.grid.Width},
			"proj:transform":                out.grid.GeoTransform(),
		},
		"links":  stactree.ItemLinks(inTree, sourceLinks(pl)),
		"assets": assets,
	}
	if inTree {
		item["collection"] = stactree.CollectionID(area.ID)
	}
	data, err := json.MarshalIndent(item, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("item.json: %w", err)
	}
	return hashed, writeFileAtomic(filepath.Join(dir, stactree.ItemFile), data)
}

// sourceLinks are the derived_from links of a run: the STAC item of every tile of every
// scene it read, once each, before then after.
func sourceLinks(pl *plan) []stactree.Link {
	seen := map[string]bool{}
	var links []stactree.Link
	for _, s := range append(append([]raster.Scene(nil), pl.before...), pl.after...) {
		for _, h := range s.Items {
			if !seen[h] {
				seen[h] = true
				links = append(links, stactree.Link{Href: h, Type: stactree.TypeGeoJSON})
			}
		}
	}
	return links
}

// itemAssets are the item's assets, each with its file's size and multihash checksum.
func itemAssets(dir string, g raster.Grid, known map[string]ManifestEntry) (map[string]any, map[string]ManifestEntry, error) {
	list := []itemAsset{
		{key: "changes", file: "changes.fgb", typ: "application/vnd.flatgeobuf", title: "change polygons (FlatGeobuf)", roles: []string{"data"}},
		{key: "changes_gpkg", file: "changes.gpkg", typ: "application/geopackage+sqlite3", title: "change polygons (GeoPackage)", roles: []string{"data"}},
		{key: "changes_json", file: "changes.geojson", typ: "application/geo+json", title: "change polygons (GeoJSON)", roles: []string{"data"}},
		{key: "changes_style", file: "changes.qml", typ: "application/xml", title: "QGIS style of the change polygons", roles: []string{"metadata"}},
	}
	for _, l := range rasterLayers {
		bands := make([]map[string]any, l.pixelSamples())
		for i := range bands {
			bands[i] = rasterBand(g, l.sample, l.opts)
		}
		a := itemAsset{key: l.file[:len(l.file)-len(filepath.Ext(l.file))], file: l.file, typ: cogType, title: l.opts.Description, roles: []string{"data"},
			extra: map[string]any{"raster:bands": bands}}
		if l.opts.RGB {
			a.roles = []string{"visual"}
		}
		if len(l.opts.Classes) > 0 {
			a.extra["classification:classes"] = stacClasses(l.opts.Classes)
			list = append(list, a, itemAsset{key: a.key + "_aux", file: l.file + cog.AuxSuffix, typ: "application/xml",
				title: "GDAL PAM sidecar of " + l.file + ": category names and colour table", roles: []string{"metadata"}})
			continue
		}
		list = append(list, a)
	}
	list = append(list, itemAsset{key: "quicklook", file: "quicklook.png", typ: "image/png", title: "before | after | change", roles: []string{"overview"}})

	files := make([]string, len(list))
	for i, a := range list {
		files[i] = a.file
	}
	entries, err := hashFiles(dir, files, known)
	if err != nil {
		return nil, nil, fmt.Errorf("item.json: %w", err)
	}
	assets := map[string]any{}
	hashed := map[string]ManifestEntry{}
	for i, a := range list {
		hashed[a.file] = entries[i]
		m := map[string]any{"href": "./" + a.file, "type": a.typ, "title": a.title, "roles": a.roles,
			// Multihash (multiformats): 0x12 sha2-256, 0x20 bytes, then the digest.
			"file:checksum": "1220" + entries[i].SHA256, "file:size": entries[i].Size}
		for k, v := range a.extra {
			m[k] = v
		}
		assets[a.key] = m
	}
	return assets, hashed, nil
}

// rasterBand is the raster extension's band object of a layer's band.
func rasterBand(g raster.Grid, sample any, o cog.Options) map[string]any {
	types := map[string]string{"[]uint8": "uint8", "[]uint16": "uint16", "[]int16": "int16", "[]int32": "int32", "[]float32": "float32"}
	b := map[string]any{"data_type": types[fmt.Sprintf("%T", sample)], "spatial_resolution": g.Res, "sampling": "area"}
	if o.JPEGQuality == 0 { // a JPEG layer's nodata is its internal mask, not a value
		b["nodata"] = o.NoData
	}
	if o.Unit != "" {
		b["unit"] = o.Unit
	}
	if o.Scale != 0 {
		b["scale"], b["offset"] = o.Scale, o.Offset
	}
	return b
}

// stacClasses are the classification extension's classes of a class raster: its legend
// and, for the change classes, not observed (the nodata value).
func stacClasses(cs []cog.Class) []map[string]any {
	out := make([]map[string]any, 0, len(cs)+1)
	add := func(value uint8, name string, c [3]uint8, desc string) {
		out = append(out, map[string]any{"value": value, "name": name, "description": desc,
			"color_hint": fmt.Sprintf("%02X%02X%02X", c[0], c[1], c[2])})
	}
	for _, c := range cs {
		add(c.Value, c.Name, [3]uint8{c.Color.R, c.Color.G, c.Color.B}, classDescriptions[c.Name])
	}
	g := raster.NotObservedColor
	add(raster.ClassNotObserved, raster.ClassName(raster.ClassNotObserved), [3]uint8{g.R, g.G, g.B}, classDescriptions["not_observed"])
	return out
}

// classDescriptions say what each change class means (docs/contracts.md).
var classDescriptions = map[string]string{
	"no_change":           "no change",
	"vegetation_to_bare":  "vegetation to bare soil: mining scar, clearing, road",
	"vegetation_to_water": "vegetation to water: mining pond, dredging",
	"burn_scar":           "burn scar",
	"vegetation_loss":     "strong loss of dense vegetation to a state that is neither bright soil, water nor char",
	"not_observed":        "not observed: no clear observation in a period, or outside the AOI (nodata)",
}
