package raster

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/airbusgeo/godal"
)

// LayerStyle is a QGIS style of a vector layer: QML (QGIS's own form, which QGIS also
// loads from a .qml file of the same base name next to a data file) and SLD (OGC Styled
// Layer Descriptor 1.1, for other clients).
type LayerStyle struct {
	Name        string
	Description string
	QML, SLD    string
}

// classLabels are the legend labels of the change classes.
var classLabels = [nClasses]string{"", "vegetation to bare soil", "vegetation to water", "burn scar", "vegetation loss"}

// ChangeClassStyle is the style of polygons with a "class" field holding ClassName
// values (change polygons, incidents): categorised by class, filled in the quicklook's
// colours (orange bare soil, cyan water, red burn scar, magenta vegetation loss), half
// transparent, with an opaque outline of the same colour.
func ChangeClassStyle(name string) LayerStyle {
	var cats, syms, rules strings.Builder
	for c := uint8(1); c < nClasses; c++ {
		col := classColors[c]
		rgb := fmt.Sprintf("%d,%d,%d", col.R, col.G, col.B)
		hex := fmt.Sprintf("#%02x%02x%02x", col.R, col.G, col.B)
		n := int(c) - 1
		fmt.Fprintf(&cats, `      <category render="true" symbol="%d" value="%s" label="%s"/>`+"\n", n, ClassName(c), classLabels[c])
		fmt.Fprintf(&syms, `      <symbol type="fill" name="%d" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option type="QString" name="color" value="%s,128"/>
            <Option type="QString" name="outline_color" value="%s,255"/>
            <Option type="QString" name="outline_style" value="solid"/>
            <Option type="QString" name="outline_width" value="0.4"/>
            <Option type="QString" name="outline_width_unit" value="MM"/>
            <Option type="QString" name="style" value="solid"/>
          </Option>
          <prop k="color" v="%s,128"/>
          <prop k="outline_color" v="%s,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.4"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
`, n, rgb, rgb, rgb, rgb)
		fmt.Fprintf(&rules, `        <se:Rule>
          <se:Name>%s</se:Name>
          <se:Description><se:Title>%s</se:Title></se:Description>
          <ogc:Filter xmlns:ogc="http://www.opengis.net/ogc">
            <ogc:PropertyIsEqualTo><ogc:PropertyName>class</ogc:PropertyName><ogc:Literal>%s</ogc:Literal></ogc:PropertyIsEqualTo>
          </ogc:Filter>
          <se:PolygonSymbolizer>
            <se:Fill><se:SvgParameter name="fill">%s</se:SvgParameter><se:SvgParameter name="fill-opacity">0.5</se:SvgParameter></se:Fill>
            <se:Stroke><se:SvgParameter name="stroke">%s</se:SvgParameter><se:SvgParameter name="stroke-width">1.5</se:SvgParameter></se:Stroke>
          </se:PolygonSymbolizer>
        </se:Rule>
`, ClassName(c), classLabels[c], ClassName(c), hex, hex)
	}
	qml := `<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
  <renderer-v2 type="categorizedSymbol" attr="class" symbollevels="0" enableorderby="0" forceraster="0">
    <categories>
` + cats.String() + `    </categories>
    <symbols>
` + syms.String() + `    </symbols>
  </renderer-v2>
</qgis>
`
	sld := `<?xml version="1.0" encoding="UTF-8"?>
<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
  <NamedLayer>
    <se:Name>` + html.EscapeString(name) + `</se:Name>
    <UserStyle>
      <se:Name>` + html.EscapeString(name) + `</se:Name>
      <se:FeatureTypeStyle>
` + rules.String() + `      </se:FeatureTypeStyle>
    </UserStyle>
  </NamedLayer>
</StyledLayerDescriptor>
`
	return LayerStyle{Name: name, Description: "change class, in the quicklook's colours", QML: qml, SLD: sld}
}

// sqlQuote quotes s as an SQL string literal.
func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// writeLayerStyle stores st in ds's (a GeoPackage's) layer_styles table as the default
// style of layer (geometry column geom), the table QGIS reads and writes
// (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML,
// styleSLD, useAsDefault, description, owner, ui, update_time), registered in
// gpkg_contents as an attributes table as QGIS does.
func writeLayerStyle(ds *godal.Dataset, layer string, st LayerStyle, now time.Time) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, ` +
			`f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), ` +
			`f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, ` +
			`useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), ` +
			`update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))`,
		`INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) ` +
			`SELECT 'layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles', ` + sqlQuote(now.UTC().Format("2006-01-02T15:04:05.000Z")) +
			` WHERE NOT EXISTS (SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles')`,
		`INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, ` +
			`styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) VALUES ('', '', ` +
			sqlQuote(layer) + `, 'geom', ` + sqlQuote(st.Name) + `, ` + sqlQuote(st.QML) + `, ` + sqlQuote(st.SLD) +
			`, 1, ` + sqlQuote(st.Description) + `, '', NULL, ` + sqlQuote(now.UTC().Format("2006-01-02T15:04:05.000Z")) + `)`,
	}
	for _, q := range stmts {
		rs, err := ds.ExecuteSQL(q)
		if err != nil {
			return fmt.Errorf("layer style of %s: %w", layer, err)
		}
		if err := rs.Close(); err != nil {
			return fmt.Errorf("layer style of %s: %w", layer, err)
		}
	}
	return nil
}
