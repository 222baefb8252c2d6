package testenv

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// VectorLayer is what GDAL's Python bindings (python3-gdal, OGR with GEOS) see in one
// layer of a vector file: the checks a GIS client makes, independent of this module's code.
type VectorLayer struct {
	File     string
	Layer    string
	GeomType string            // the layer's declared geometry type ("Multi Polygon")
	Features int               // features read
	Types    map[string]int    // geometry type name of each feature ("MULTIPOLYGON") -> count
	Invalid  []string          // "fid <n>" of every feature GEOS finds invalid
	Fields   map[string]string // field name -> OGR type name ("Date", "StringList")
	// Styles are the rows of a GeoPackage's layer_styles table for this layer.
	Styles []struct {
		Name       string `json:"styleName"`
		Default    int    `json:"useAsDefault"`
		Geometry   string `json:"f_geometry_column"`
		QMLLength  int    `json:"qml_length"`
		SLDLength  int    `json:"sld_length"`
		UpdateTime string `json:"update_time"`
	}
}

const ogrScript = `
import json, sys
from osgeo import ogr, gdal
gdal.UseExceptions()
out = []
for path in sys.argv[1:]:
    ds = ogr.Open(path)
    styles = []
    for i in range(ds.GetLayerCount()):
        lyr = ds.GetLayer(i)
        if lyr.GetName() == "layer_styles":
            for f in lyr:
                styles.append({"table": f.GetField("f_table_name"), "styleName": f.GetField("styleName"),
                    "useAsDefault": int(f.GetField("useAsDefault") or 0), "f_geometry_column": f.GetField("f_geometry_column"),
                    "qml_length": len(f.GetField("styleQML") or ""), "sld_length": len(f.GetField("styleSLD") or ""),
                    "update_time": f.GetField("update_time") or ""})
    for i in range(ds.GetLayerCount()):
        lyr = ds.GetLayer(i)
        if lyr.GetName() == "layer_styles":
            continue
        defn = lyr.GetLayerDefn()
        r = {"File": path, "Layer": lyr.GetName(), "GeomType": ogr.GeometryTypeToName(lyr.GetGeomType()),
             "Features": 0, "Types": {}, "Invalid": [],
             "Fields": {defn.GetFieldDefn(j).GetName(): defn.GetFieldDefn(j).GetTypeName() for j in range(defn.GetFieldCount())},
             "Styles": [s for s in styles if s["table"] == lyr.GetName()]}
        for f in lyr:
            r["Features"] += 1
            g = f.GetGeometryRef()
            name = g.GetGeometryName() if g is not None else "NONE"
            r["Types"][name] = r["Types"].get(name, 0) + 1
            if g is None or not g.IsValid():
                r["Invalid"].append("fid %d" % f.GetFID())
        out.append(r)
json.dump(out, sys.stdout)
`

// OGRLayers opens each vector file with GDAL's Python bindings (/usr/bin/python3,
// python3-gdal, which scripts/setup.sh installs) and returns what they see in its layers
// (a GeoPackage's layer_styles table is reported with the layer it styles, not as a layer).
// A file GDAL cannot open fails the test.
func OGRLayers(t testing.TB, paths ...string) []VectorLayer {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append([]string{"-c", ogrScript}, paths...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ogr check of %v: %v\n%s", paths, err, msg)
	}
	var layers []VectorLayer
	if err := json.Unmarshal(out, &layers); err != nil {
		t.Fatalf("ogr check of %v: %v", paths, err)
	}
	return layers
}
