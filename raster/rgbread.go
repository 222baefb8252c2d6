package raster

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/airbusgeo/godal"
)

// RGBWindow is a window of a true-colour raster (3-band Byte, such as a run's
// before_rgb.tif and after_rgb.tif) read for display: chips and maps of the reports.
type RGBWindow struct {
	Image *image.RGBA
	// Grid is the grid of Image's pixels in the file's CRS (pixels may be larger or
	// smaller than the file's).
	Grid Grid
}

// NoDataColor paints the pixels the raster's mask band says are not valid (no clear
// observation, outside the AOI): the internal mask of a JPEG composite, or, for a
// DEFLATE one, its nodata value 0.
var NoDataColor = color.RGBA{200, 200, 200, 255}

// gmfPerDataset is GDAL's GMF_PER_DATASET mask flag (gdal.h): one mask for all bands.
const gmfPerDataset = 0x02

// datasetMask tells whether ds's bands share a per-dataset mask (a JPEG composite's
// internal mask) rather than a nodata value.
func datasetMask(ds *godal.Dataset) bool {
	bands := ds.Bands()
	return len(bands) > 0 && bands[0].MaskFlags()&gmfPerDataset != 0
}

// MaxRGBSide bounds the side of an RGBWindow, in pixels.
const MaxRGBSide = 4096

// ReadRGB reads the part of the true-colour raster at path (a local path, s3:// or
// https://) that covers the lon/lat box [minLon, minLat, maxLon, maxLat] (EPSG:4326),
// resampled so that its longer side has side pixels (nearest neighbour when enlarging,
// averaging when reducing), clipped to the file. It fails when the box misses the file.
func ReadRGB(ctx context.Context, path string, box [4]float64, side int) (*RGBWindow, error) {
	if side < 1 || side > MaxRGBSide {
		return nil, fmt.Errorf("read rgb %s: side %d, want 1 to %d", path, side, MaxRGBSide)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read rgb %s: %w", path, err)
	}
	Init(S3Config{})
	gp, err := GDALPath(path)
	if err != nil {
		return nil, fmt.Errorf("read rgb %s: %w", path, err)
	}
	ds, err := godal.Open(gp, godal.Drivers(rasterDrivers...))
	if err != nil {
		return nil, fmt.Errorf("read rgb %s: %w", path, err)
	}
	defer ds.Close()
	st := ds.Structure()
	if st.NBands < 3 || st.DataType != godal.Byte {
		return nil, fmt.Errorf("read rgb %s: %d bands of %s, want 3 Byte bands", path, st.NBands, st.DataType)
	}
	gt, err := ds.GeoTransform()
	if err != nil || gt[2] != 0 || gt[4] != 0 || gt[1] <= 0 || gt[5] >= 0 {
		return nil, fmt.Errorf("read rgb %s: not a north-up georeferenced grid", path)
	}
	epsg := 0
	if ds.Projection() != "" {
		epsg = cogEPSG(ds.SpatialRef())
	}
	if epsg == 0 {
		return nil, fmt.Errorf("read rgb %s: no EPSG code", path)
	}
	// The box's corners and edge midpoints in the file's CRS.
	xs := []float64{box[0], box[2], box[2], box[0], (box[0] + box[2]) / 2, box[2], (box[0] + box[2]) / 2, box[0]}
	ys := []float64{box[1], box[1], box[3], box[3], box[1], (box[1] + box[3]) / 2, box[3], (box[1] + box[3]) / 2}
	if err := TransformPoints(4326, epsg, xs, ys); err != nil {
		return nil, fmt.Errorf("read rgb %s: %w", path, err)
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for i := range xs {
		minX, maxX = min(minX, xs[i]), max(maxX, xs[i])
		minY, maxY = min(minY, ys[i]), max(maxY, ys[i])
	}
	c0 := max(0, int(math.Floor((minX-gt[0])/gt[1])))
	c1 := min(st.SizeX, int(math.Ceil((maxX-gt[0])/gt[1])))
	r0 := max(0, int(math.Floor((maxY-gt[3])/gt[5])))
	r1 := min(st.SizeY, int(math.Ceil((minY-gt[3])/gt[5])))
	if c1 <= c0 || r1 <= r0 {
		return nil, fmt.Errorf("read rgb %s: the box %v is outside the raster", path, box)
	}
	w, h := c1-c0, r1-r0
	scale := float64(side) / float64(max(w, h))
	ow, oh := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
	alg := godal.Nearest
	if scale < 1 {
		alg = godal.Average
	}
	buf := make([]uint8, 3*ow*oh)
	if err := ds.Read(c0, r0, buf, ow, oh, godal.Window(w, h), godal.Bands(0, 1, 2), godal.Resampling(alg)); err != nil {
		return nil, fmt.Errorf("read rgb %s: %w", path, err)
	}
	// A per-dataset mask (a JPEG composite's internal mask), resampled alike: a pixel any
	// valid pixel went into is valid. Without one, nodata is 0 in all three bands (each
	// band's own nodata mask would hide pure colours).
	var mask []uint8
	if datasetMask(ds) {
		mask = make([]uint8, ow*oh)
		if err := ds.Bands()[0].MaskBand().Read(c0, r0, mask, ow, oh, godal.Window(w, h), godal.Resampling(alg)); err != nil {
			return nil, fmt.Errorf("read rgb %s: mask: %w", path, err)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for i := 0; i < ow*oh; i++ {
		r, g, b := buf[3*i], buf[3*i+1], buf[3*i+2]
		p := img.Pix[4*i : 4*i+4 : 4*i+4]
		if mask != nil && mask[i] == 0 || mask == nil && r == 0 && g == 0 && b == 0 {
			p[0], p[1], p[2], p[3] = NoDataColor.R, NoDataColor.G, NoDataColor.B, 255
			continue
		}
		p[0], p[1], p[2], p[3] = r, g, b, 255
	}
	res := gt[1] * float64(w) / float64(ow)
	return &RGBWindow{Image: img, Grid: Grid{EPSG: epsg, X0: gt[0] + float64(c0)*gt[1], Y0: gt[3] + float64(r0)*gt[5],
		Res: res, Width: ow, Height: oh}}, nil
}

// ToPixels turns lon/lat points (EPSG:4326) into pixel coordinates of w's image, in
// place: x right, y down, fractional (0,0 is the top-left corner of the first pixel).
func (w *RGBWindow) ToPixels(lons, lats []float64) error {
	if err := TransformPoints(4326, w.Grid.EPSG, lons, lats); err != nil {
		return err
	}
	for i := range lons {
		lons[i] = (lons[i] - w.Grid.X0) / w.Grid.Res
		lats[i] = (w.Grid.Y0 - lats[i]) / w.Grid.Res
	}
	return nil
}

// WriteRGBCOG writes interleaved red, green, blue bytes of grid g as a 3-band Byte COG
// (DEFLATE, nodata 0): fixtures and small rasters.
func WriteRGBCOG(ctx context.Context, path string, g Grid, rgb []uint8) error {
	if len(rgb) != 3*g.Pixels() {
		return fmt.Errorf("write rgb %s: %d bytes for a %dx%d grid", path, len(rgb), g.Width, g.Height)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write rgb %s: %w", path, err)
	}
	Init(S3Config{})
	mem := fmt.Sprintf("/vsimem/rgb-%p.tif", &rgb[0])
	ds, err := godal.Create(godal.GTiff, mem, 3, godal.Byte, g.Width, g.Height)
	if err != nil {
		return fmt.Errorf("write rgb %s: %w", path, err)
	}
	defer godal.VSIUnlink(mem)
	sr, err := godal.NewSpatialRefFromEPSG(g.EPSG)
	if err != nil {
		ds.Close()
		return fmt.Errorf("write rgb %s: %w", path, err)
	}
	defer sr.Close()
	err = ds.SetSpatialRef(sr)
	if err == nil {
		err = ds.SetGeoTransform(g.GeoTransform())
	}
	if err == nil {
		err = ds.Write(0, 0, rgb, g.Width, g.Height)
	}
	for _, b := range ds.Bands() {
		if err == nil {
			err = b.SetNoData(0)
		}
	}
	if err == nil {
		var out *godal.Dataset
		out, err = ds.Translate(path, []string{"-of", "COG", "-co", "COMPRESS=DEFLATE"})
		if err == nil {
			err = out.Close()
		}
	}
	if cerr := ds.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write rgb %s: %w", path, err)
	}
	return nil
}
