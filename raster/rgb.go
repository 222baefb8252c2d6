package raster

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/airbusgeo/godal"
)

// True-colour composites: each run publishes its before and after composites as 3-band
// Byte COGs (before_rgb.tif, after_rgb.tif) for the map and the reports. Reflectance
// 0..0.25 is stretched to 1..255 with a gamma of 1/2.2 (the quicklook's stretch); 0 is
// nodata (no clear observation, outside the AOI).

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

// putRGB writes the true colour of scene k of rows at buffer column x into dst (3 bytes),
// or 0 0 0 when k < 0 (no clear observation).
func putRGB(dst []uint8, rows []sceneRow, k int8, x int) {
	if k < 0 {
		clear(dst)
		return
	}
	s := &rows[k]
	dst[0], dst[1], dst[2] = RGBByte(s.refl(s.dn[2][x])), RGBByte(s.refl(s.dn[1][x])), RGBByte(s.refl(s.dn[0][x]))
}

// RGBWriter collects the rows of a true-colour raster (3 bytes a pixel) in a raw file and
// turns them into a 3-band Byte COG with GDAL when finished. Create with NewRGBWriter,
// append rows with WriteRows, then Finish; Discard removes the temporary file.
type RGBWriter struct {
	path string
	g    Grid
	raw  *os.File
	rows int
}

// NewRGBWriter starts the true-colour COG of grid g at path (its rows kept in
// path+".rgb.raw" until Finish).
func NewRGBWriter(path string, g Grid) (*RGBWriter, error) {
	if g.Width <= 0 || g.Height <= 0 {
		return nil, fmt.Errorf("rgb %s: empty grid %dx%d", path, g.Width, g.Height)
	}
	f, err := os.Create(path + ".rgb.raw")
	if err != nil {
		return nil, fmt.Errorf("rgb %s: %w", path, err)
	}
	return &RGBWriter{path: path, g: g, raw: f}, nil
}

// WriteRows appends whole rows of interleaved red, green, blue bytes.
func (w *RGBWriter) WriteRows(b []uint8) error {
	rowBytes := 3 * w.g.Width
	if len(b)%rowBytes != 0 || w.rows+len(b)/rowBytes > w.g.Height {
		return fmt.Errorf("rgb %s: %d bytes after %d rows: not whole rows of the %dx%d grid", w.path, len(b), w.rows, w.g.Width, w.g.Height)
	}
	if _, err := w.raw.Write(b); err != nil {
		return fmt.Errorf("rgb %s: %w", w.path, err)
	}
	w.rows += len(b) / rowBytes
	return nil
}

// Finish writes the COG from the rows (all of the grid's) and removes the raw file.
func (w *RGBWriter) Finish(ctx context.Context) error {
	if w.rows != w.g.Height {
		return fmt.Errorf("rgb %s: %d of %d rows written", w.path, w.rows, w.g.Height)
	}
	if err := w.raw.Close(); err != nil {
		return fmt.Errorf("rgb %s: %w", w.path, err)
	}
	w.raw = nil
	defer os.Remove(w.path + ".rgb.raw")
	srs, err := w.g.srs()
	if err != nil {
		return fmt.Errorf("rgb %s: %w", w.path, err)
	}
	wkt, err := srs.WKT()
	srs.Close()
	if err != nil {
		return fmt.Errorf("rgb %s: %w", w.path, err)
	}
	gt := w.g.GeoTransform()
	var vrt strings.Builder
	fmt.Fprintf(&vrt, `<VRTDataset rasterXSize="%d" rasterYSize="%d"><SRS>%s</SRS><GeoTransform>%.17g,%.17g,%.17g,%.17g,%.17g,%.17g</GeoTransform>`,
		w.g.Width, w.g.Height, xmlEscape(wkt), gt[0], gt[1], gt[2], gt[3], gt[4], gt[5])
	for i, ci := range []string{"Red", "Green", "Blue"} {
		fmt.Fprintf(&vrt, `<VRTRasterBand dataType="Byte" band="%d" subClass="VRTRawRasterBand"><ColorInterp>%s</ColorInterp><NoDataValue>0</NoDataValue>`+
			`<SourceFilename relativeToVRT="0">%s</SourceFilename><ImageOffset>%d</ImageOffset><PixelOffset>3</PixelOffset><LineOffset>%d</LineOffset></VRTRasterBand>`,
			i+1, ci, xmlEscape(w.path+".rgb.raw"), i, 3*w.g.Width)
	}
	vrt.WriteString(`</VRTDataset>`)
	return translateRGB(ctx, vrt.String(), w.path)
}

// Discard removes the raw file (harmless after Finish).
func (w *RGBWriter) Discard() {
	if w.raw != nil {
		w.raw.Close()
		w.raw = nil
	}
	os.Remove(w.path + ".rgb.raw")
}

// MosaicRGB writes the true-colour COG of grid g at path from the true-colour COGs of
// windows of it (the chunks of a fanned-out run), through a GDAL VRT mosaic.
func MosaicRGB(ctx context.Context, path string, g Grid, parts []string) error {
	Init(S3Config{})
	if len(parts) == 0 {
		return fmt.Errorf("rgb %s: no parts", path)
	}
	gt := g.GeoTransform()
	vrtPath := path + ".vrt"
	defer os.Remove(vrtPath)
	vrt, err := godal.BuildVRT(vrtPath, parts, []string{
		"-te", ftoa(gt[0]), ftoa(gt[3] + gt[5]*float64(g.Height)), ftoa(gt[0] + gt[1]*float64(g.Width)), ftoa(gt[3]),
		"-tr", ftoa(gt[1]), ftoa(-gt[5]), "-srcnodata", "0", "-vrtnodata", "0"})
	if err != nil {
		return fmt.Errorf("rgb %s: mosaic: %w", path, err)
	}
	if err := vrt.Close(); err != nil {
		return fmt.Errorf("rgb %s: mosaic: %w", path, err)
	}
	return translateRGB(ctx, vrtPath, path)
}

func ftoa(v float64) string { return fmt.Sprintf("%.17g", v) }

// translateRGB writes the 3-band dataset src (a file name or VRT XML) as a COG at dst
// (through dst+".tmp", renamed when complete): DEFLATE with the horizontal predictor,
// overviews averaged, GDAL's threads on every core.
func translateRGB(ctx context.Context, src, dst string) error {
	Init(S3Config{})
	if err := ctx.Err(); err != nil {
		return err
	}
	ds, err := godal.Open(src, godal.RasterOnly())
	if err != nil {
		return fmt.Errorf("rgb %s: open: %w", filepath.Base(dst), err)
	}
	defer ds.Close()
	tmp := dst + ".tmp"
	out, err := ds.Translate(tmp, []string{"-of", "COG"}, godal.CreationOption(
		"COMPRESS=DEFLATE", "PREDICTOR=YES", "LEVEL=1", "BLOCKSIZE=512", "OVERVIEW_RESAMPLING=AVERAGE", "NUM_THREADS=ALL_CPUS"))
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rgb %s: write cog: %w", filepath.Base(dst), err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rgb %s: write cog: %w", filepath.Base(dst), err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rgb %s: %w", filepath.Base(dst), err)
	}
	return nil
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
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
