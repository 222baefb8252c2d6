package raster

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/airbusgeo/godal"
)

// Map tiles of the published rasters, for the web map: 256 x 256 PNGs in the Web
// Mercator tiling of OpenStreetMap (EPSG:3857, z/x/y from the top left), warped from a COG
// by GDAL, which reads only the blocks of the overview level closest to the tile's scale.

// TileSize is the side of a map tile in pixels.
const TileSize = 256

// TileKind says how a raster is drawn.
type TileKind int

const (
	// TileRGB draws a 3-band Byte COG (a true-colour composite); nodata 0 is transparent.
	TileRGB TileKind = iota
	// TileClass draws change_class.tif in the quicklook's class colours; no change and
	// not observed are transparent.
	TileClass
)

// webMercatorHalf is half the side of the EPSG:3857 world square in metres.
const webMercatorHalf = 20037508.342789244

// TileBounds returns the EPSG:3857 box (minx, miny, maxx, maxy) of tile z/x/y.
func TileBounds(z, x, y int) [4]float64 {
	side := 2 * webMercatorHalf / float64(int(1)<<z)
	minx := -webMercatorHalf + float64(x)*side
	maxy := webMercatorHalf - float64(y)*side
	return [4]float64{minx, maxy - side, minx + side, maxy}
}

// RenderTile draws tile z/x/y of the raster at src (a path, s3:// or https:// URL) as a
// PNG. A tile outside the raster is fully transparent.
func RenderTile(ctx context.Context, src string, kind TileKind, z, x, y int) ([]byte, error) {
	if z < 0 || z > 24 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return nil, fmt.Errorf("tile %d/%d/%d: outside the tiling", z, x, y)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	gp, err := GDALPath(src)
	if err != nil {
		return nil, fmt.Errorf("tile: %w", err)
	}
	ds, err := godal.Open(gp, godal.RasterOnly(), godal.Drivers(rasterDrivers...))
	if err != nil {
		return nil, fmt.Errorf("tile: open: %w", err)
	}
	defer ds.Close()
	b := TileBounds(z, x, y)
	resampling := "bilinear"
	if kind == TileClass {
		resampling = "near"
	}
	sw := []string{"-of", "MEM", "-t_srs", "EPSG:3857", "-r", resampling,
		"-te", ftoa(b[0]), ftoa(b[1]), ftoa(b[2]), ftoa(b[3]), "-ts", "256", "256", "-dstalpha"}
	switch {
	case kind == TileClass:
		sw = append(sw, "-srcnodata", "255")
	case datasetMask(ds):
		// A JPEG composite: the warper takes its internal mask for the alpha. With a
		// nodata value as well, the filler under the mask showed on the map when zoomed out
		// (the browser test's screenshots: strips beside the AOI).
	default:
		sw = append(sw, "-srcnodata", "0")
	}
	out, err := ds.Warp("", sw)
	if err != nil {
		return nil, fmt.Errorf("tile %d/%d/%d: warp: %w", z, x, y, err)
	}
	defer out.Close()
	bands := out.Bands()
	px := make([][]uint8, len(bands))
	for i, bd := range bands {
		px[i] = make([]uint8, TileSize*TileSize)
		if err := bd.Read(0, 0, px[i], TileSize, TileSize); err != nil {
			return nil, fmt.Errorf("tile %d/%d/%d: read: %w", z, x, y, err)
		}
	}
	img := image.NewNRGBA(image.Rect(0, 0, TileSize, TileSize))
	alpha := px[len(px)-1]
	for i := range TileSize * TileSize {
		if alpha[i] == 0 {
			continue
		}
		var c color.NRGBA
		switch kind {
		case TileRGB:
			if len(px) < 4 {
				return nil, fmt.Errorf("tile: %s has %d bands, want 3", src, len(px)-1)
			}
			c = color.NRGBA{px[0][i], px[1][i], px[2][i], 255}
		case TileClass:
			v := px[0][i]
			if v < 1 || int(v) >= nClasses {
				continue
			}
			cc := classColors[v]
			c = color.NRGBA{cc.R, cc.G, cc.B, 200}
		}
		img.SetNRGBA(i%TileSize, i/TileSize, c)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("tile: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// LonLatToTile returns the tile of zoom z holding lon/lat (for tests and clients).
func LonLatToTile(lon, lat float64, z int) (x, y int) {
	n := float64(int(1) << z)
	x = int((lon + 180) / 360 * n)
	r := lat * math.Pi / 180
	y = int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
	return x, y
}

func ftoa(v float64) string { return fmt.Sprintf("%.17g", v) }
