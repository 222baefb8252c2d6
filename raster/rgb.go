package raster

import (
	"fmt"
	"math"
	"sync"

	"github.com/airbusgeo/godal"
)

// True-colour composites: each run publishes its before and after composites as 3-band
// Byte COGs (before_rgb.tif, after_rgb.tif, written by cog.Writer with Options.RGB) for
// the map and the reports. Reflectance 0..0.25 is stretched to 1..255 with a gamma of
// 1/2.2 (the quicklook's stretch); 0 is nodata (no clear observation, outside the AOI).

// rgbSteps is the number of reflectance steps of rgbLUT over 0..0.25.
const rgbSteps = 4096

// rgbLUT maps a reflectance step to its stretched byte, never 0 (nodata).
var rgbLUT = func() (t [rgbSteps + 1]uint8) {
	for i := range t {
		v := math.Pow(float64(i)/rgbSteps, 1/2.2)
		t[i] = uint8(max(1, math.Round(v*255)))
	}
	return t
}()

// RGBByte is the stretched byte of reflectance r in the true-colour composites.
func RGBByte(r float32) uint8 {
	i := int(r * (rgbSteps / 0.25))
	return rgbLUT[min(max(i, 0), rgbSteps)]
}

// rgbTables holds rgbTable's tables by scaling ([2]float32{off, scale}).
var rgbTables sync.Map

// rgbTable returns the table of the true-colour byte of every digital number of a scene
// scaled by off and scale: RGBByte((DN - off) * scale), the same float32 arithmetic as
// sceneRow.refl, looked up instead of computed per pixel. Tables are made once per scaling
// (a handful: processing baselines before and after 04.00).
func rgbTable(off, scale float32) *[1 << 16]uint8 {
	key := [2]float32{off, scale}
	if t, ok := rgbTables.Load(key); ok {
		return t.(*[1 << 16]uint8)
	}
	t := new([1 << 16]uint8)
	for v := range t {
		t[v] = RGBByte((float32(v) - off) * scale)
	}
	got, _ := rgbTables.LoadOrStore(key, t)
	return got.(*[1 << 16]uint8)
}

// rgbRow writes into dst (3 bytes a pixel) the true colour of the chosen scenes k of
// rows, from buffer column x0 on, or 0 0 0 where none is (k < 0) or the pixel is outside
// the AOI (inAOI false; nil: all inside). A pass of its own over the row, not a step of the
// rules' pixel loop: three bands read in order and one buffer written stream through the
// caches, where the pixel loop already walks a dozen rows at once.
func rgbRow(dst []uint8, rows []sceneRow, k []int8, x0 int, inAOI []bool) {
	_ = dst[3*len(k)-1]
	if len(rows) == 1 { // one scene: k is 0 or -1
		s := &rows[0]
		t := s.rgb
		bl, gr, rd := s.dn[0][x0:x0+len(k)], s.dn[1][x0:x0+len(k)], s.dn[2][x0:x0+len(k)]
		for x, kx := range k {
			d := dst[3*x : 3*x+3 : 3*x+3]
			if kx < 0 || inAOI != nil && !inAOI[x] {
				d[0], d[1], d[2] = 0, 0, 0
				continue
			}
			d[0], d[1], d[2] = t[rd[x]], t[gr[x]], t[bl[x]]
		}
		return
	}
	for x, kx := range k {
		d := dst[3*x : 3*x+3 : 3*x+3]
		if kx < 0 || inAOI != nil && !inAOI[x] {
			d[0], d[1], d[2] = 0, 0, 0
			continue
		}
		s := &rows[kx]
		t, bx := s.rgb, x0+x
		d[0], d[1], d[2] = t[s.dn[2][bx]], t[s.dn[1][bx]], t[s.dn[0][bx]]
	}
}

// ReadRGBPixels reads a whole 3-band Byte raster (a true-colour composite) into interleaved red,
// green, blue bytes.
func ReadRGBPixels(path string) (w, h int, rgb []uint8, err error) {
	Init(S3Config{})
	ds, err := godal.Open(path, godal.RasterOnly())
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer ds.Close()
	st := ds.Structure()
	if st.NBands != 3 || st.DataType != godal.Byte {
		return 0, 0, nil, fmt.Errorf("read %s: %d bands of %s, want 3 Byte bands", path, st.NBands, st.DataType)
	}
	w, h = st.SizeX, st.SizeY
	rgb = make([]uint8, 3*w*h)
	// Pixel-interleaved read: the buffer's band stride is 1 byte, its pixel stride 3.
	if err := ds.Read(0, 0, rgb, w, h, godal.PixelSpacing(3), godal.LineSpacing(3*w), godal.BandSpacing(1)); err != nil {
		return 0, 0, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return w, h, rgb, nil
}
