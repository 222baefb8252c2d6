package cog

import (
	"context"
	"encoding/json"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gdalBandInfo is what gdalinfo -json reports of a band's meaning.
type gdalBandInfo struct {
	Description         string   `json:"description"`
	Unit                string   `json:"unit"`
	ColorInterpretation string   `json:"colorInterpretation"`
	Categories          []string `json:"categories"`
	Scale               *float64 `json:"scale"`
	Offset              *float64 `json:"offset"`
	ColorTable          *struct {
		Count   int        `json:"count"`
		Entries [][4]uint8 `json:"entries"`
	} `json:"colorTable"`
}

func gdalinfoBand(t *testing.T, path string) gdalBandInfo {
	t.Helper()
	out, err := exec.Command("gdalinfo", "-json", path).Output()
	if err != nil {
		t.Fatalf("gdalinfo %s: %v", path, err)
	}
	var info struct {
		Bands []gdalBandInfo `json:"bands"`
	}
	if err := json.Unmarshal(out, &info); err != nil || len(info.Bands) != 1 {
		t.Fatalf("gdalinfo -json %s: %v (%d bands)", path, err, len(info.Bands))
	}
	return info.Bands[0]
}

var testClasses = []Class{
	{0, "no_change", color.RGBA{0, 0, 0, 0}},
	{1, "vegetation_to_bare", color.RGBA{255, 140, 0, 255}},
	{3, "burn & <scar>", color.RGBA{200, 0, 40, 255}},
}

// GDAL sees what the writer says a band means: description and unit on any band, the
// colour table (from the sidecar, with alpha; from the TIFF ColorMap without it) and the
// category names of a classified band, whether streamed, deferred or mosaicked; the file
// stays a valid COG.
func TestCOGBandInfo(t *testing.T) {
	cases := []struct {
		name           string
		typ            cogType
		o              Options
		mosaic         bool
		wantPalette    bool
		wantUnit       string
		wantDesc       string
		wantScale      float64
		wantOffset     float64
		wantSidecar    bool
		wantCategories []string
	}{
		{name: "classes", typ: cogUint8, o: Options{NoData: 255, Description: "change class", Unit: "class", Classes: testClasses, Level: 2},
			wantPalette: true, wantUnit: "class", wantDesc: "change class", wantSidecar: true,
			wantCategories: []string{"no_change", "vegetation_to_bare", "", "burn & <scar>"}},
		{name: "classes-deferred", typ: cogUint8, o: Options{NoData: 255, Classes: testClasses, Deferred: true},
			wantPalette: true, wantSidecar: true, wantCategories: []string{"no_change", "vegetation_to_bare", "", "burn & <scar>"}},
		{name: "classes-mosaic", typ: cogUint8, o: Options{NoData: 255, Description: "change class", Classes: testClasses}, mosaic: true,
			wantPalette: true, wantDesc: "change class", wantSidecar: true, wantCategories: []string{"no_change", "vegetation_to_bare", "", "burn & <scar>"}},
		{name: "scaled", typ: cogInt16, o: Options{NoData: -32768, Resampling: "AVERAGE", Scale: 1e-4, Offset: -1, Description: "NDVI after - before", Unit: "1"},
			wantUnit: "1", wantDesc: "NDVI after - before", wantScale: 1e-4, wantOffset: -1},
		{name: "markup", typ: cogUint8, o: Options{NoData: 255, Description: `a & <b> "c"`, Unit: "m<sup>2</sup>"},
			wantUnit: "m<sup>2</sup>", wantDesc: `a & <b> "c"`},
		{name: "counts", typ: cogUint8, o: Options{NoData: 255, Description: "clear observations", Unit: "count"},
			wantUnit: "count", wantDesc: "clear observations"},
		{name: "plain", typ: cogUint8, o: Options{NoData: 255}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := cogTestGrid(32635, 700, 600)
			cc := cogCase{typ: c.typ, w: g.Width, h: g.Height, nodata: c.o.NoData}
			vals := cogTestValues(cc, 2)
			data := cogTyped(c.typ, vals)
			path := filepath.Join(dir, c.name+".tif")
			switch {
			case c.mosaic:
				m, err := NewMosaic(path, g, data, c.o)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Write(0, 0, g.Width, g.Height, data); err != nil {
					t.Fatal(err)
				}
				if err := m.Finish(context.Background()); err != nil {
					t.Fatal(err)
				}
			default:
				w, err := NewWriter(path, g, data, c.o)
				if err != nil {
					t.Fatal(err)
				}
				if err := w.WriteRows(data); err != nil {
					t.Fatal(err)
				}
				if err := w.Finish(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
			}
			validateCOGFile(t, path)
			_, err := os.Stat(path + AuxSuffix)
			if hasSidecar := err == nil; hasSidecar != c.wantSidecar {
				t.Fatalf("sidecar %s: %v, want one: %v", path+AuxSuffix, err, c.wantSidecar)
			}
			b := gdalinfoBand(t, path)
			if b.Description != c.wantDesc || b.Unit != c.wantUnit {
				t.Errorf("description %q unit %q, want %q %q", b.Description, b.Unit, c.wantDesc, c.wantUnit)
			}
			scale, offset := 0.0, 0.0
			if b.Scale != nil {
				scale, offset = *b.Scale, *b.Offset
			}
			if c.wantScale != 0 && (scale != c.wantScale || offset != c.wantOffset) {
				t.Errorf("scale %v offset %v, want %v %v", scale, offset, c.wantScale, c.wantOffset)
			}
			if !slices.Equal(b.Categories, c.wantCategories) {
				t.Errorf("categories %q, want %q", b.Categories, c.wantCategories)
			}
			if !c.wantPalette {
				if b.ColorTable != nil || b.ColorInterpretation != "Gray" {
					t.Errorf("colour interpretation %s, colour table %v: want Gray and none", b.ColorInterpretation, b.ColorTable)
				}
				return
			}
			if b.ColorInterpretation != "Palette" || b.ColorTable == nil {
				t.Fatalf("colour interpretation %s, colour table %v: want a palette", b.ColorInterpretation, b.ColorTable)
			}
			// The sidecar's table: values 0 to the largest class, with the classes' alpha.
			want := [][4]uint8{{0, 0, 0, 0}, {255, 140, 0, 255}, {0, 0, 0, 0}, {200, 0, 40, 255}}
			if !slices.Equal(b.ColorTable.Entries, want) {
				t.Errorf("colour table %v, want %v", b.ColorTable.Entries, want)
			}
			// Without the sidecar, the TIFF's own ColorMap: 256 entries, opaque.
			os.Rename(path+AuxSuffix, path+".aside")
			defer os.Rename(path+".aside", path+AuxSuffix)
			b = gdalinfoBand(t, path)
			if b.ColorTable == nil || b.ColorTable.Count != 256 {
				t.Fatalf("TIFF colour table %v, want 256 entries", b.ColorTable)
			}
			for _, cl := range testClasses {
				got, want := b.ColorTable.Entries[cl.Value], [4]uint8{cl.Color.R, cl.Color.G, cl.Color.B}
				if got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
					t.Errorf("TIFF colour of %d: %v, want %v", cl.Value, got, want)
				}
			}
			if b.Description != c.wantDesc {
				t.Errorf("TIFF description %q, want %q", b.Description, c.wantDesc)
			}
		})
	}
}

func TestCOGBandInfoErrors(t *testing.T) {
	g := cogTestGrid(32635, 10, 10)
	cases := []struct {
		name   string
		sample any
		o      Options
		want   string
	}{
		{"classes on int16", []int16(nil), Options{NoData: -1, Classes: testClasses}, "needs a uint8 band"},
		{"value twice", []uint8(nil), Options{NoData: 255, Classes: append(slices.Clone(testClasses), Class{Value: 1})}, "value 1 given twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.tif")
			_, err := NewWriter(path, g, c.sample, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if _, err := NewMosaic(path, g, c.sample, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("mosaic error %v, want %q", err, c.want)
			}
		})
	}
}

// Each sample of a true-colour COG gets the description with its colour, and the unit.
func TestCOGBandInfoRGB(t *testing.T) {
	g := cogTestGrid(32635, 300, 200)
	path := filepath.Join(t.TempDir(), "rgb.tif")
	w, err := NewWriter(path, g, []uint8(nil), Options{RGB: true, Resampling: "AVERAGE", Description: "after & <composite>", Unit: "1"})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]uint8, 3*g.Pixels())
	for i := range data {
		data[i] = uint8(1 + i%250)
	}
	if err := w.WriteRows(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	validateCOGFile(t, path)
	out, err := exec.Command("gdalinfo", "-json", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct{ Bands []gdalBandInfo }
	if err := json.Unmarshal(out, &info); err != nil || len(info.Bands) != 3 {
		t.Fatalf("gdalinfo -json: %v, %d bands", err, len(info.Bands))
	}
	for i, b := range info.Bands {
		if want := "after & <composite>: " + []string{"red", "green", "blue"}[i]; b.Description != want || b.Unit != "1" {
			t.Errorf("band %d: description %q unit %q, want %q 1", i+1, b.Description, b.Unit, want)
		}
	}
}
