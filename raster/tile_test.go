package raster

import (
	"bytes"
	"context"
	"image/png"
	"path/filepath"
	"testing"
)

func TestRenderTile(t *testing.T) {
	g := Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 10, Width: 700, Height: 530}
	p := filepath.Join(t.TempDir(), "rgb.tif")
	rows := make([]uint8, 3*g.Pixels())
	for i := 0; i < len(rows); i += 3 {
		rows[i], rows[i+1], rows[i+2] = 200, 100, 50
	}
	writeRGBCOG(t, p, g, rows)
	// The grid's centre: 600000+3500 m E, 160020-2650 m N in UTM 35N is about 27.932 E, 1.423 N.
	x, y := LonLatToTile(27.9317, 1.4234, 14)
	data, err := RenderTile(context.Background(), p, TileRGB, 14, x, y)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	opaque := 0
	for py := range TileSize {
		for px := range TileSize {
			r, g, b, a := img.At(px, py).RGBA()
			if a == 0 {
				continue
			}
			opaque++
			if r>>8 != 200 || g>>8 != 100 || b>>8 != 50 {
				t.Fatalf("pixel %d,%d is %d %d %d, want 200 100 50", px, py, r>>8, g>>8, b>>8)
			}
		}
	}
	if opaque == 0 {
		t.Fatal("the tile over the raster is empty")
	}
	far, err := RenderTile(context.Background(), p, TileRGB, 14, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, _ = png.Decode(bytes.NewReader(far))
	if _, _, _, a := img.At(128, 128).RGBA(); a != 0 {
		t.Error("a tile far from the raster is not transparent")
	}
	if _, err := RenderTile(context.Background(), p, TileRGB, 3, 8, 0); err == nil {
		t.Error("a tile outside the tiling was drawn")
	}
}
