package raster

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// The mask computed from the SCL at its 20 m resolution is the mask of the SCL upsampled to
// the grid, for grids whose origin falls on either half of a 20 m pixel, windows reaching
// past the file, and even and odd buffers.
func TestMaskSourceMatchesUpsampled(t *testing.T) {
	Init(S3Config{})
	const sw, sh = 300, 260
	rng := rand.New(rand.NewPCG(3, 9))
	// Runs of classes along rows, and blocks of cloud and shadow across rows.
	classes := []uint8{4, 4, 4, 5, 5, 6, 7, 2, 11, 3, 8, 9, 10, 0, 1}
	scl := make([]uint8, sw*sh)
	for i := 0; i < len(scl); {
		v := classes[rng.IntN(len(classes))]
		for n := 1 + rng.IntN(40); n > 0 && i < len(scl); n-- {
			scl[i] = v
			i++
		}
	}
	for range 30 {
		x0, y0, v := rng.IntN(sw), rng.IntN(sh), []uint8{3, 8, 9, 10}[rng.IntN(4)]
		for y := y0; y < min(sh, y0+1+rng.IntN(15)); y++ {
			for x := x0; x < min(sw, x0+1+rng.IntN(15)); x++ {
				scl[y*sw+x] = v
			}
		}
	}
	path := filepath.Join(t.TempDir(), "scl.tif")
	writeTestTIFF(t, path, scl, sw, sh, 20, "COG", "COMPRESS=DEFLATE", "BLOCKSIZE=128")
	for _, off := range [][2]int{{0, 0}, {1, 3}, {-5, 2}} { // grid origin west / north of the file, 10 m pixels
		g := Grid{EPSG: tiffGrid.EPSG, X0: tiffGrid.X0 - 10*float64(off[0]), Y0: tiffGrid.Y0 + 10*float64(off[1]),
			Res: 10, Width: 2*sw + 20, Height: 2*sh + 20}
		part := openTiledPart(t, path, "scl", g)
		for _, buffer := range []int{0, 1, 2, 5, 6} {
			t.Run(fmt.Sprintf("offset%d,%d-buffer%d", off[0], off[1], buffer), func(t *testing.T) {
				for k, w := range testWindows(g.Width, g.Height, 256, 256, 12, uint64(buffer)) {
					n := w.Width * w.Height
					var dn [nSpectral][]uint16
					for b := range dn {
						dn[b] = make([]uint16, n)
						for j := range dn[b] {
							if rng.IntN(50) != 0 {
								dn[b][j] = uint16(1 + rng.IntN(3000))
							}
						}
					}
					up := make([]uint8, n)
					if err := part.read(w.Col, w.Row, w.Width, w.Height, up, true); err != nil {
						t.Fatal(err)
					}
					want := &chunkBuffers{dn: [][nSpectral][]uint16{dn}, lazy: make([][2]bool, 1),
						scl: [][]uint8{up}, sclSrc: make([]classBand, 1), sclLazy: []bool{false}, redNIRData: make([][2]bool, 1)}
					want.dn[0][0] = slices.Clone(dn[0])
					got := &chunkBuffers{dn: [][nSpectral][]uint16{dn}, lazy: make([][2]bool, 1),
						sclSrc: make([]classBand, 1), sclLazy: []bool{true}, redNIRData: make([][2]bool, 1)}
					got.dn[0][0] = slices.Clone(dn[0])
					if err := part.aligned.readClassSource(part.tiles, w.Col, w.Row, w.Width, w.Height, &got.sclSrc[0]); err != nil {
						t.Fatal(err)
					}
					want.mask(0, true, w.Width, w.Height, buffer, make([]bool, n), make([]bool, n))
					got.mask(0, true, w.Width, w.Height, buffer, make([]bool, n), make([]bool, n))
					if i := firstDiff(got.dn[0][0], want.dn[0][0]); i >= 0 {
						t.Fatalf("window %d %+v: blue at (%d,%d) is %d, want %d", k, w, i%w.Width, i/w.Width,
							got.dn[0][0][i], want.dn[0][0][i])
					}
				}
			})
		}
		part.close()
	}
}
