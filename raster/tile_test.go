package raster

import (
	"bytes"
	"context"
	"image/png"
	"path/filepath"
	"testing"

	"github.com/changewatch/changewatch/raster/cog"
)

// TestRenderTile: a map tile of a true-colour COG, DEFLATE with nodata 0 and JPEG with an
// internal mask, over the raster's centre, where its left half has no observation: the
// colour where it has one (exact, or within a few levels for JPEG), transparent where it
// has none (under a JPEG's mask the pixels hold filler, the colour of their neighbours);
// a tile far away is transparent.
func TestRenderTile(t *testing.T) {
	for _, c := range []struct {
		name string
		q    int
		tol  int
	}{{"deflate nodata 0", 0, 0}, {"jpeg internal mask", 85, 4}} {
		t.Run(c.name, func(t *testing.T) { testRenderTile(t, c.q, c.tol) })
	}
}

func testRenderTile(t *testing.T, quality, tol int) {
	g := Grid{EPSG: 32635, X0: 600000, Y0: 160020, Res: 10, Width: 700, Height: 530}
	p := filepath.Join(t.TempDir(), "rgb.tif")
	rows := make([]uint8, 3*g.Pixels())
	for i := 0; i < len(rows); i += 3 {
		if (i/3)%g.Width >= g.Width/2 { // the left half: no observation
			rows[i], rows[i+1], rows[i+2] = 200, 100, 50
		}
	}
	Init(S3Config{})
	w, err := cog.NewWriter(p, cog.Grid(g), []uint8(nil), cog.Options{RGB: true, Resampling: "AVERAGE", JPEGQuality: quality})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Discard()
	if err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// The grid's centre: 600000+3500 m E, 160020-2650 m N in UTM 35N, about 27.932 E, 1.423 N.
	lons, lats := []float64{g.X0 + 3500}, []float64{g.Y0 - 2650}
	if err := TransformPoints(32635, 4326, lons, lats); err != nil {
		t.Fatal(err)
	}
	lon, lat := lons[0], lats[0]
	// Full resolution (zoom 14) and an overview (zoom 12: the whole raster in a tile).
	for _, z := range []int{14, 12} {
		x, y := LonLatToTile(lon, lat, z)
		// The centre's column in the tile.
		cx := int(((lon+180)/360*float64(int(1)<<z) - float64(x)) * TileSize)
		data, err := RenderTile(context.Background(), p, TileRGB, z, x, y)
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
				if px < cx-10 && a != 0 {
					t.Fatalf("zoom %d: pixel %d,%d over the columns of no observation (centre column %d) is not transparent", z, px, py, cx)
				}
				if a == 0 {
					continue
				}
				opaque++
				if d := max(absDiff(r>>8, 200), absDiff(g>>8, 100), absDiff(b>>8, 50)); d > tol {
					t.Fatalf("zoom %d: pixel %d,%d is %d %d %d, want 200 100 50 (within %d)", z, px, py, r>>8, g>>8, b>>8, tol)
				}
			}
		}
		if opaque == 0 {
			t.Fatalf("zoom %d: the tile over the raster is empty", z)
		}
	}
	far, err := RenderTile(context.Background(), p, TileRGB, 14, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := png.Decode(bytes.NewReader(far))
	if _, _, _, a := img.At(128, 128).RGBA(); a != 0 {
		t.Error("a tile far from the raster is not transparent")
	}
	if _, err := RenderTile(context.Background(), p, TileRGB, 3, 8, 0); err == nil {
		t.Error("a tile outside the tiling was drawn")
	}
}

func absDiff(a uint32, b int) int { return max(int(a)-b, b-int(a)) }
