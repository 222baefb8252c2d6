package cog

import (
	"context"
	"fmt"
)

// cogBlockSize is the internal tile size of the COGs changewatch writes; it matches the
// 512x512 blocks of the Earth Search sentinel-cogs files (checked with gdalinfo on a real
// B04.tif: "Block=512x512").
const cogBlockSize = 512

// Write writes one band as a Cloud Optimized GeoTIFF at the local path.
//
// data is a []uint8, []uint16, []int16, []int32 or []float32 of len g.Pixels(), row major
// from the top-left pixel of g. The file is DEFLATE compressed with a horizontal predictor
// (TIFF predictor 2 for integers, 3 for floats), tiled 512x512, carries overviews computed
// with ovrResampling ("NEAREST", the default, "AVERAGE" or "MODE"), the nodata value and
// the SRS EPSG:g.EPSG.
//
// It is encoded by a Writer straight from data (no raw copy) into path+".tmp", which is
// renamed to path only when complete: an interrupted write never leaves a half file under
// path. ctx is checked before and during the encoding.
func Write(ctx context.Context, path string, g Grid, data any, nodata float64, ovrResampling string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if g.Width <= 0 || g.Height <= 0 {
		return fmt.Errorf("write cog %s: empty grid %dx%d", path, g.Width, g.Height)
	}
	typ := cogTypeOf(data)
	if typ == 0 {
		return fmt.Errorf("write cog %s: unsupported data type %T", path, data)
	}
	b := cogBytes(data)
	if n := len(b) / typ.size(); n != g.Pixels() {
		return fmt.Errorf("write cog %s: %d values for a %dx%d grid", path, n, g.Width, g.Height)
	}
	w, err := newCOGWriter(path, g, typ, Options{NoData: nodata, Resampling: ovrResampling})
	if err != nil {
		return fmt.Errorf("write %w", err)
	}
	w.src = cogMemRows{b: b, rowBytes: g.Width * typ.size()}
	defer w.Discard()
	return w.Finish(ctx, nil)
}
