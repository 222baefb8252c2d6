package raster

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/raster/cog"
)

// testGrid is larger than one 512 block so that the COG driver builds overviews.
var testGrid = Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 10, Width: 1100, Height: 900}

func TestWriteCOGTypes(t *testing.T) {
	n := testGrid.Pixels()
	u8 := make([]uint8, n)
	u16 := make([]uint16, n)
	i16 := make([]int16, n)
	i32 := make([]int32, n)
	f32 := make([]float32, n)
	for i := range n {
		u8[i] = uint8(i % 251)
		u16[i] = uint16(1000 + i%50000)
		i16[i] = int16(i%60000 - 30000)
		i32[i] = int32(i*7919 - 3_000_000)
		f32[i] = float32(i%1000)*0.25 - 100
	}
	f32[17] = float32(math.Inf(1)) // any float value round-trips bit for bit
	cases := []struct {
		name   string
		data   any
		nodata float64
		dtype  godal.DataType
		ovr    string
		want   func(i int) float64
	}{
		{"u8", u8, 0, godal.Byte, "NEAREST", func(i int) float64 { return float64(u8[i]) }},
		{"u16", u16, 0, godal.UInt16, "AVERAGE", func(i int) float64 { return float64(u16[i]) }},
		{"i16", i16, -32768, godal.Int16, "MODE", func(i int) float64 { return float64(i16[i]) }},
		{"i32", i32, -1, godal.Int32, "NEAREST", func(i int) float64 { return float64(i32[i]) }},
		{"f32", f32, -9999, godal.Float32, "AVERAGE", func(i int) float64 { return float64(f32[i]) }},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".tif")
			if err := cog.Write(context.Background(), path, cog.Grid(testGrid), c.data, c.nodata, c.ovr); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary file left behind: %v", err)
			}
			ds, err := godal.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			st := ds.Structure()
			if st.SizeX != testGrid.Width || st.SizeY != testGrid.Height || st.NBands != 1 {
				t.Fatalf("structure %+v", st)
			}
			gt, err := ds.GeoTransform()
			if err != nil || gt != testGrid.GeoTransform() {
				t.Errorf("geotransform %v (%v), want %v", gt, err, testGrid.GeoTransform())
			}
			if code := cogEPSG(ds.SpatialRef()); code != testGrid.EPSG {
				t.Errorf("epsg %d", code)
			}
			if lay := ds.Metadata("LAYOUT", godal.Domain("IMAGE_STRUCTURE")); lay != "COG" {
				t.Errorf("LAYOUT=%q, want COG", lay)
			}
			if comp := ds.Metadata("COMPRESSION", godal.Domain("IMAGE_STRUCTURE")); comp != "DEFLATE" {
				t.Errorf("COMPRESSION=%q", comp)
			}
			band := ds.Bands()[0]
			bs := band.Structure()
			if bs.BlockSizeX != 512 || bs.BlockSizeY != 512 || bs.DataType != c.dtype {
				t.Errorf("band structure %+v", bs)
			}
			if len(band.Overviews()) == 0 {
				t.Error("no overviews")
			}
			if nd, ok := band.NoData(); !ok || nd != c.nodata {
				t.Errorf("nodata %v %v, want %v", nd, ok, c.nodata)
			}
			got := make([]float64, testGrid.Pixels())
			if err := band.Read(0, 0, got, testGrid.Width, testGrid.Height); err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				if v != c.want(i) {
					t.Fatalf("pixel %d: %v, want %v", i, v, c.want(i))
				}
			}
			// ReadAll gives the same grid, nodata and values.
			g, data, nodata, err := ReadAll(path)
			if err != nil {
				t.Fatal(err)
			}
			if g != testGrid || nodata != c.nodata {
				t.Errorf("ReadAll grid %+v nodata %v", g, nodata)
			}
			for i, v := range data {
				if float64(v) != float64(float32(c.want(i))) {
					t.Fatalf("ReadAll pixel %d: %v, want %v", i, v, c.want(i))
				}
			}
		})
	}
}

func TestWriteCOGErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.tif")
	g := Grid{EPSG: 32635, X0: 0, Y0: 0, Res: 10, Width: 4, Height: 4}
	if err := cog.Write(context.Background(), path, cog.Grid(g), make([]uint16, 15), 0, "AVERAGE"); err == nil {
		t.Error("short slice accepted")
	}
	if err := cog.Write(context.Background(), path, cog.Grid(g), make([]float64, 16), 0, "AVERAGE"); err == nil {
		t.Error("float64 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cog.Write(ctx, path, cog.Grid(g), make([]uint16, 16), 0, "AVERAGE"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file written despite errors: %v", err)
	}
	// A small image (one block) is still a valid COG, without overviews.
	if err := cog.Write(context.Background(), path, cog.Grid(g), make([]uint16, 16), 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ReadAll(filepath.Join(dir, "missing.tif")); err == nil {
		t.Error("ReadAll of a missing file succeeded")
	}
}
