package raster

import (
	"context"
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// sclClear are the SCL classes of a usable observation: dark area, vegetation, bare soil,
// water, unclassified, snow (everything but no data, saturated, cloud shadow, clouds and
// cirrus).
var sclClear = [256]bool{2: true, 4: true, 5: true, 6: true, 7: true, 11: true}

// ClearFraction estimates the share of the AOI (aoi in g's CRS; nil = the whole grid) that
// scene s sees clear, from its SCL on a grid `factor` times coarser than g (GDAL reads the
// COG's overviews: a few requests per scene). Pixels a scene does not cover count as not
// clear, so scenes with nodata over the AOI rank down. Used to choose scenes by what they
// show of the AOI rather than by the tile-wide eo:cloud_cover.
func ClearFraction(ctx context.Context, s Scene, g Grid, aoi orb.MultiPolygon, factor int) (float64, error) {
	_, _, f, err := ClearMask(ctx, s, g, aoi, factor)
	return f, err
}

// ClearMask is ClearFraction's per-pixel view: for each pixel of the coarse grid (g's
// width and height divided by factor, rounded up), whether s sees it clear and whether it
// lies in the AOI; and the clear fraction of the AOI.
func ClearMask(ctx context.Context, s Scene, g Grid, aoi orb.MultiPolygon, factor int) (clear, inAOI []bool, frac float64, err error) {
	factor = max(1, factor)
	cg := Grid{EPSG: g.EPSG, X0: g.X0, Y0: g.Y0, Res: g.Res * float64(factor),
		Width: int(math.Ceil(float64(g.Width) / float64(factor))), Height: int(math.Ceil(float64(g.Height) / float64(factor)))}
	if aoi != nil {
		inAOI = RasterizePolygons(cg, aoi)
	} else {
		inAOI = make([]bool, cg.Pixels())
		for i := range inAOI {
			inAOI[i] = true
		}
	}
	scl := make([]uint8, cg.Pixels())
	tiles := append([]map[string]string{s.Hrefs}, s.More...)
	for t, hrefs := range tiles {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, err
		}
		href, ok := hrefs["scl"]
		if !ok {
			return nil, nil, 0, fmt.Errorf("scene %s tile %d: no scl band", s.ID, t+1)
		}
		part, err := openHref(ctx, href, "scl", cg)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("scene %s scl: %w", s.ID, err)
		}
		if t == 0 {
			err = part.read(0, 0, cg.Width, cg.Height, scl, true)
		} else {
			err = part.fill(0, 0, cg.Width, cg.Height, scl, true)
		}
		part.close()
		if err != nil {
			return nil, nil, 0, fmt.Errorf("scene %s scl: %w", s.ID, classify(part.path, err))
		}
	}
	clear = make([]bool, len(scl))
	clearN, n := 0, 0
	for i, v := range scl {
		if !inAOI[i] {
			continue
		}
		n++
		if sclClear[v] {
			clear[i] = true
			clearN++
		}
	}
	if n == 0 {
		return clear, inAOI, 0, nil
	}
	return clear, inAOI, float64(clearN) / float64(n), nil
}
