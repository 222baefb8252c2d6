package stacschema

import (
	"strings"
	"testing"
)

const item = `{"type": "Feature", "stac_version": "1.0.0", "id": "x",
  "stac_extensions": [%EXT%],
  "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, "bbox": [0, 0, 1, 1],
  "properties": {"datetime": null, "start_datetime": "2024-01-01T00:00:00Z", "end_datetime": "2024-03-31T00:00:00Z"},
  "links": [{"rel": "self", "href": "./item.json"}%LINKS%],
  "assets": {"a": {"href": "./a.tif", %ASSET%}}%MORE%}`

func doc(ext, links, asset, more string) string {
	r := strings.NewReplacer("%EXT%", ext, "%LINKS%", links, "%ASSET%", asset, "%MORE%", more)
	return r.Replace(item)
}

const exts = `"` + Raster + `", "` + File + `", "` + Classification + `"`

// The validator accepts what the schemas allow and refuses what they do not: core fields,
// each extension's fields, undeclared or unknown extensions.
func TestValidate(t *testing.T) {
	goodAsset := `"file:size": 10, "file:checksum": "1220ab", "raster:bands": [{"data_type": "uint8", "nodata": 255}],
	  "classification:classes": [{"value": 1, "name": "bare", "description": "vegetation to bare", "color_hint": "FF8C00"}]`
	cases := []struct {
		name, doc, want string
	}{
		{"item", doc(exts, `, {"rel": "collection", "href": "../collection.json"}`, goodAsset, `, "collection": "c"`), ""},
		{"item without extensions", doc("", "", `"type": "image/tiff"`, ""), ""},
		{"collection link without collection", doc(exts, `, {"rel": "collection", "href": "../collection.json"}`, goodAsset, ""), "collection"},
		{"no links", strings.Replace(doc("", "", `"type": "x"`, ""), `"links"`, `"linkz"`, 1), "links"},
		{"datetime null without a range", strings.Replace(doc("", "", `"type": "x"`, ""), `"start_datetime"`, `"begin"`, 1), "start_datetime"},
		{"checksum not hex", doc(exts, "", strings.Replace(goodAsset, "1220ab", "1220AB", 1), ""), "file:checksum"},
		{"negative size", doc(exts, "", strings.Replace(goodAsset, `"file:size": 10`, `"file:size": -1`, 1), ""), "file:size"},
		{"band data type", doc(exts, "", strings.Replace(goodAsset, `"uint8"`, `"byte"`, 1), ""), "data_type"},
		{"class without description", doc(exts, "", strings.Replace(goodAsset, `"description": "vegetation to bare", `, "", 1), ""), "description"},
		{"colour hint", doc(exts, "", strings.Replace(goodAsset, "FF8C00", "#FF8C00", 1), ""), "color_hint"},
		{"unknown extension", doc(`"https://example.org/x/v1.0.0/schema.json"`, "", `"type": "x"`, ""), "no vendored schema"},
		{"catalog", `{"type": "Catalog", "stac_version": "1.0.0", "id": "c", "description": "d", "links": [{"rel": "root", "href": "./catalog.json"}]}`, ""},
		{"catalog of another version", `{"type": "Catalog", "stac_version": "1.1.0", "id": "c", "description": "d", "links": []}`, "stac_version"},
		{"collection", `{"type": "Collection", "stac_version": "1.0.0", "id": "c", "description": "d", "license": "proprietary",
		  "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [["2024-01-01T00:00:00Z", null]]}}, "links": []}`, ""},
		{"collection without license", `{"type": "Collection", "stac_version": "1.0.0", "id": "c", "description": "d",
		  "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[null, null]]}}, "links": []}`, "license"},
		{"collection bbox of 3", `{"type": "Collection", "stac_version": "1.0.0", "id": "c", "description": "d", "license": "proprietary",
		  "extent": {"spatial": {"bbox": [[0, 0, 1]]}, "temporal": {"interval": [[null, null]]}}, "links": []}`, "bbox"},
		{"no type", `{"stac_version": "1.0.0"}`, "not Feature, Collection or Catalog"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate([]byte(c.doc))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted, want an error about %s", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %v, want one about %s", err, c.want)
			}
		})
	}
}
