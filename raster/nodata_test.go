package raster

import (
	"encoding/binary"
	"path/filepath"
	"testing"
)

func TestHasZero16(t *testing.T) {
	for n := 0; n <= 13; n++ { // samples: whole words and tails
		for z := -1; z < n; z++ { // the zero sample, -1 none
			b := make([]byte, 2*n)
			for i := range n {
				// lanes whose bytes are zero on one side, or the top bit set: not zero
				v := []uint16{0x0100, 0x0001, 0x8000, 0xffff, 0x7fff}[i%5]
				if i == z {
					v = 0
				}
				binary.NativeEndian.PutUint16(b[2*i:], v)
			}
			if got := hasZero16(b); got != (z >= 0) {
				t.Errorf("%d samples, zero at %d: hasZero16 = %v", n, z, got)
			}
		}
	}
}

// zeroFree answers for the tiles under a window just read, scanned as they were decoded:
// no 0 in the image's part of any of them (the padding of edge tiles does not count).
func TestZeroFree(t *testing.T) {
	Init(S3Config{})
	const w, h, tile = 700, 600, 256 // edge tiles padded
	pix := make([]uint16, w*h)
	for i := range pix {
		pix[i] = uint16(100 + i%900)
	}
	for _, xy := range [][2]int{{10, 20}, {600, 300}, {699, 599}} { // tiles (0,0), (2,1), (2,2)
		pix[xy[1]*w+xy[0]] = 0
	}
	path := filepath.Join(t.TempDir(), "b.tif")
	writeTestTIFF(t, path, pix, w, h, 10, "COG", "COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=256")
	g := Grid{EPSG: tiffGrid.EPSG, X0: tiffGrid.X0, Y0: tiffGrid.Y0, Res: 10, Width: w, Height: h}
	part := openTiledPart(t, path, "red", g)
	part.tiles.scanZero = true
	zero := map[[2]int]bool{{0, 0}: true, {2, 1}: true, {2, 2}: true}
	free := 0
	for _, win := range testWindows(w, h, tile, tile, 40, 3) {
		dst := make([]uint16, win.Width*win.Height)
		if err := part.read(win.Col, win.Row, win.Width, win.Height, dst, false); err != nil {
			t.Fatal(err)
		}
		want := true
		for ty := win.Row / tile; ty <= (win.Row+win.Height-1)/tile; ty++ {
			for tx := win.Col / tile; tx <= (win.Col+win.Width-1)/tile; tx++ {
				want = want && !zero[[2]int{tx, ty}]
			}
		}
		got := part.tiles.zeroFree(win.Col, win.Row, win.Col+win.Width-1, win.Row+win.Height-1)
		if got != want {
			t.Errorf("window %+v: zeroFree %v, want %v", win, got, want)
		}
		if got {
			free++
		}
	}
	if free == 0 {
		t.Error("no window found free of zeros")
	}
}

// TestClearNoData: the grid pixels whose 20 m source pixel is 0, or that have none, are
// cleared and no other, with source rows with and without a 0, window rows and columns
// outside the source, and rows that share a source row (the 2x upsampling).
func TestClearNoData(t *testing.T) {
	const sw, sh, w = 9, 4, 16
	src := make([]uint16, sw*sh)
	for i := range src {
		src[i] = uint16(100 + i)
	}
	src[1*sw+3], src[3*sw+0], src[3*sw+8] = 0, 0, 0 // rows 0 and 2 have no 0
	ny := []int{0, 0, 1, 1, 2, 2, 3, 3, -1}
	for _, tc := range []struct {
		name string
		nx   []int
	}{
		{"inside", func() []int {
			nx := make([]int, w)
			for x := range nx {
				nx[x] = (x + 1) / 2 // from half a source pixel on
			}
			return nx
		}()},
		{"edge outside", func() []int {
			nx := make([]int, w)
			for x := range nx {
				nx[x] = x/2 - 1 // the first two columns before the source
			}
			return nx
		}()},
	} {
		lb := &lazyBand{src: src, sw: sw, sh: sh, nx: tc.nx, ny: ny}
		dst := make([]uint16, w*len(ny))
		for i := range dst {
			dst[i] = 7
		}
		lb.clearNoData(dst, w)
		for y, sy := range ny {
			for x, sx := range tc.nx {
				want := uint16(7)
				if sy < 0 || sx < 0 || src[sy*sw+sx] == 0 {
					want = 0
				}
				if got := dst[y*w+x]; got != want {
					t.Errorf("%s: pixel %d,%d (source %d,%d) is %d, want %d", tc.name, x, y, sx, sy, got, want)
				}
			}
		}
	}
}
