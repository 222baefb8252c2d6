package cog

import (
	"encoding/xml"
	"fmt"
	"image/color"
	"os"
	"strconv"
	"strings"
)

// What a band means, for GIS clients: its description and unit, scale and offset, and for
// a classified Byte band the colour and name of each class.
//
// GDAL's GTiff driver reads the description, unit, scale and offset of a band from the
// GDAL_METADATA tag (items of roles "description", "unittype", "scale", "offset"), and a
// colour table from the TIFF ColorMap of a palette image (TIFF 6.0 section 5). Category
// names it reads only from the PAM sidecar, path+".aux.xml" (GDAL's GTiff driver
// documentation; checked with GDAL 3.6: SetCategoryNames on a GeoTIFF writes them to the
// .aux.xml and nowhere in the TIFF). QGIS labels the entries of a band's colour table
// with its category names (QgsGdalProviderBase::colorTable). So a classified band gets
// both: the ColorMap in the TIFF, and a sidecar with the category names and the colour
// table again with the classes' alpha (a TIFF ColorMap has none); GDAL takes the
// sidecar's colour table over the TIFF's when both are there.

// Class is one value of a classified Byte band: its name and colour.
type Class struct {
	Value uint8
	Name  string
	Color color.RGBA
}

// AuxSuffix is the suffix of the PAM sidecar a COG with classes has beside it.
const AuxSuffix = ".aux.xml"

// checkClasses checks the classes of a band of type typ: Byte only, each value once.
func checkClasses(typ cogType, cs []Class) error {
	if len(cs) == 0 {
		return nil
	}
	if typ != cogUint8 {
		return fmt.Errorf("classes: a colour table needs a uint8 band, not %s", typ)
	}
	var seen [256]bool
	for _, c := range cs {
		if seen[c.Value] {
			return fmt.Errorf("classes: value %d given twice", c.Value)
		}
		seen[c.Value] = true
	}
	return nil
}

// photometric is the TIFF photometric interpretation of the writer's band: palette with
// classes, RGB for true colour (YCbCr when it is JPEG), else BlackIsZero.
func (w *Writer) photometric() uint16 {
	if w.masked() {
		return cogPhotometricYCbCr // the JPEG streams' colour space
	}
	if w.o.RGB {
		return cogPhotometricRGB
	}
	if len(w.o.Classes) > 0 {
		return cogPhotometricPalette
	}
	return cogPhotometricBlackIsZero
}

// colorMap is the TIFF ColorMap of classes (TIFF 6.0 section 5: the 256 reds, then the
// greens, then the blues, 0..65535): each 8-bit channel times 257, so that both
// conventions of reading it back (divide by 256 or by 257) give the channel. Values
// without a class are black.
func colorMap(cs []Class) []uint16 {
	m := make([]uint16, 3*256)
	for _, c := range cs {
		m[c.Value] = 257 * uint16(c.Color.R)
		m[256+int(c.Value)] = 257 * uint16(c.Color.G)
		m[512+int(c.Value)] = 257 * uint16(c.Color.B)
	}
	return m
}

// gdalMetadataXML is the GDAL_METADATA document of the band's samples: description,
// unit, and scale and offset when o.Scale != 0; "" when there is nothing to say. An RGB
// writer's three samples each get the description followed by their colour.
func gdalMetadataXML(o Options) string {
	var b strings.Builder
	samples := []string{""}
	if o.RGB {
		samples = []string{": red", ": green", ": blue"}
	}
	for i, suffix := range samples {
		// GDAL escapes an item's value for XML and then the document again, and unescapes
		// twice when it reads it (checked with GDAL 3.6: a description "a & b" is stored
		// as "a &amp;amp; b"): so do the same.
		item := func(name, role, v string) {
			fmt.Fprintf(&b, "  <Item name=%q sample=\"%d\" role=%q>%s</Item>\n", name, i, role, xmlText(xmlText(v)))
		}
		if o.Scale != 0 {
			f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
			item("OFFSET", "offset", f(o.Offset))
			item("SCALE", "scale", f(o.Scale))
		}
		if o.Description != "" {
			item("DESCRIPTION", "description", o.Description+suffix)
		}
		if o.Unit != "" {
			item("UNITTYPE", "unittype", o.Unit)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "<GDALMetadata>\n" + b.String() + "</GDALMetadata>"
}

// pamXML is the PAM sidecar of a band with classes: description, unit, the category
// names (one per value from 0 to the largest class value, "" for values without a class)
// and the colour table over the same values, with alpha.
func pamXML(o Options) []byte {
	top := 0
	byValue := map[int]Class{}
	for _, c := range o.Classes {
		byValue[int(c.Value)] = c
		top = max(top, int(c.Value))
	}
	var b strings.Builder
	b.WriteString("<PAMDataset>\n  <PAMRasterBand band=\"1\">\n")
	if o.Description != "" {
		fmt.Fprintf(&b, "    <Description>%s</Description>\n", xmlText(o.Description))
	}
	if o.Unit != "" {
		fmt.Fprintf(&b, "    <UnitType>%s</UnitType>\n", xmlText(o.Unit))
	}
	b.WriteString("    <CategoryNames>\n")
	for v := 0; v <= top; v++ {
		fmt.Fprintf(&b, "      <Category>%s</Category>\n", xmlText(byValue[v].Name))
	}
	b.WriteString("    </CategoryNames>\n    <ColorTable>\n")
	for v := 0; v <= top; v++ {
		c := byValue[v].Color
		fmt.Fprintf(&b, "      <Entry c1=\"%d\" c2=\"%d\" c3=\"%d\" c4=\"%d\"/>\n", c.R, c.G, c.B, c.A)
	}
	b.WriteString("    </ColorTable>\n  </PAMRasterBand>\n</PAMDataset>\n")
	return []byte(b.String())
}

// writeSidecar writes the PAM sidecar of a COG with classes at path+AuxSuffix, through a
// temporary file and a rename.
func writeSidecar(path string, o Options) error {
	p := path + AuxSuffix
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, pamXML(o), 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// xmlText escapes s as XML character data.
func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
