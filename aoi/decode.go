package aoi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// GeoJSON is decoded with encoding/json into plain slices rather than with
// orb/geojson, for two reasons: orb/geojson silently turns a one-number
// position [x] into [x, 0] and reports an unknown or misspelt type only as
// "invalid geometry", so it cannot give the field-precise errors users need;
// and it imports go.mongodb.org/mongo-driver/v2 for BSON, a dependency the
// service has no other use for. The result is still built from orb types.

// object holds the members of any GeoJSON object that Parse looks at.
type object struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometry    json.RawMessage `json:"geometry"`
	Features    json.RawMessage `json:"features"`
	Properties  json.RawMessage `json:"properties"`
	ID          json.RawMessage `json:"id"`
}

// rawPolygon is one polygon's rings as written in the input, with the
// path of its coordinates for error messages.
type rawPolygon struct {
	field string
	rings [][][]float64
}

// document is what decode extracts from the input.
type document struct {
	polygons   []rawPolygon
	properties map[string]any // of the first feature
	featureID  string         // "id" member of the first feature
	geomField  string         // field named by whole-geometry errors
	vertices   int            // positions in all rings
}

// decode parses GeoJSON into raw polygons without validating coordinates.
func decode(data []byte) (*document, error) {
	root, err := decodeObject("", data)
	if err != nil {
		return nil, err
	}
	doc := &document{geomField: "geometry"}
	switch root.Type {
	case "Polygon", "MultiPolygon":
		err = doc.addGeometry("", data)
	case "Feature":
		err = doc.addFeature("", root, true)
	case "FeatureCollection":
		doc.geomField = "features"
		err = doc.addCollection(root)
	default:
		err = typeError("type", root.Type)
	}
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// decodeObject unmarshals the JSON object at path.
func decodeObject(path string, data []byte) (object, error) {
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		var syntax *json.SyntaxError
		if path == "" && errors.As(err, &syntax) {
			return o, invalid("json", "not valid json: %v", err)
		}
		field := path
		if field == "" {
			field = "json"
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			if typ.Field != "" {
				return o, invalid(join(path, typ.Field), "wrong json type: got %s", typ.Value)
			}
			return o, invalid(field, "not a geojson object: got a json %s", typ.Value)
		}
		return o, invalid(field, "not a geojson object: %v", err)
	}
	return o, nil
}

// typeError explains why a GeoJSON type cannot be an AOI.
func typeError(field, typ string) error {
	switch typ {
	case "":
		return invalid(field, "missing geojson type")
	case "Point", "MultiPoint", "LineString", "MultiLineString":
		return invalid(field, "%s is not an area; a Polygon or MultiPolygon is required", typ)
	case "GeometryCollection":
		return invalid(field, "GeometryCollection is not supported; a Polygon or MultiPolygon is required")
	}
	return invalid(field, "unsupported geojson type %q; a Polygon or MultiPolygon is required", typ)
}

func join(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func (d *document) addCollection(root object) error {
	var features []json.RawMessage
	if !isNull(root.Features) {
		if err := json.Unmarshal(root.Features, &features); err != nil {
			return invalid("features", "not an array of features")
		}
	}
	if len(features) == 0 {
		return invalid("features", "no polygon features")
	}
	for i := 0; i < len(features); i++ {
		path := "features[" + strconv.Itoa(i) + "]"
		f, err := decodeObject(path, features[i])
		if err != nil {
			return err
		}
		if f.Type != "Feature" {
			return invalid(join(path, "type"), "expected a Feature, got %q", f.Type)
		}
		if err := d.addFeature(path, f, i == 0); err != nil {
			return err
		}
	}
	return nil
}

func (d *document) addFeature(path string, f object, first bool) error {
	gpath := join(path, "geometry")
	if isNull(f.Geometry) {
		return invalid(gpath, "empty geometry (null)")
	}
	if err := d.addGeometry(gpath, f.Geometry); err != nil {
		return err
	}
	if !first {
		return nil
	}
	if !isNull(f.Properties) {
		if err := json.Unmarshal(f.Properties, &d.properties); err != nil {
			return invalid(join(path, "properties"), "not an object")
		}
	}
	if !isNull(f.ID) {
		var id any
		if err := json.Unmarshal(f.ID, &id); err == nil {
			d.featureID = firstString(map[string]any{"id": id}, "id")
		}
	}
	return nil
}

func (d *document) addGeometry(path string, data []byte) error {
	g, err := decodeObject(path, data)
	if err != nil {
		return err
	}
	cpath := join(path, "coordinates")
	switch g.Type {
	case "Polygon":
		var rings [][][]float64
		if err := unmarshalCoordinates(cpath, g.Coordinates, &rings); err != nil {
			return err
		}
		if len(rings) == 0 {
			return invalid(cpath, "empty geometry")
		}
		d.addPolygon(cpath, rings)
	case "MultiPolygon":
		var polys [][][][]float64
		if err := unmarshalCoordinates(cpath, g.Coordinates, &polys); err != nil {
			return err
		}
		if len(polys) == 0 {
			return invalid(cpath, "empty geometry")
		}
		for i := 0; i < len(polys); i++ {
			ppath := cpath + "[" + strconv.Itoa(i) + "]"
			if len(polys[i]) == 0 {
				return invalid(ppath, "empty polygon")
			}
			d.addPolygon(ppath, polys[i])
		}
	default:
		return typeError(join(path, "type"), g.Type)
	}
	return nil
}

func (d *document) addPolygon(field string, rings [][][]float64) {
	d.polygons = append(d.polygons, rawPolygon{field: field, rings: rings})
	for i := 0; i < len(rings); i++ {
		d.vertices += len(rings[i])
	}
}

func unmarshalCoordinates(field string, raw json.RawMessage, v any) error {
	if isNull(raw) {
		return invalid(field, "empty geometry")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return invalid(field, "not nested arrays of [lon, lat] numbers: %v", err)
	}
	return nil
}
