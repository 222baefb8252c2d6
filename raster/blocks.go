package raster

import (
	"fmt"
	"math"
	"strconv"

	"github.com/airbusgeo/godal"
)

// WindowBlockBytes returns the compressed size of the TIFF blocks (tiles) of band 1 of the
// file at path that the box of grid g touches (the file must be in g's CRS): what an ideal
// windowed reader would have to fetch. It reads the BLOCK_SIZE_x_y metadata of GDAL's TIFF
// driver; the file is not decoded.
func WindowBlockBytes(path string, g Grid) (int64, error) {
	ds, err := godal.Open(path, godal.RasterOnly())
	if err != nil {
		return 0, fmt.Errorf("block bytes %s: %w", path, err)
	}
	defer ds.Close()
	gt, err := ds.GeoTransform()
	if err != nil {
		return 0, fmt.Errorf("block bytes %s: %w", path, err)
	}
	st := ds.Structure()
	band := ds.Bands()[0]
	bs := band.Structure()
	b := g.Bounds()
	c0 := max(0, int(math.Floor((b[0]-gt[0])/gt[1])))
	c1 := min(st.SizeX-1, int(math.Ceil((b[2]-gt[0])/gt[1]))-1)
	r0 := max(0, int(math.Floor((gt[3]-b[3])/-gt[5])))
	r1 := min(st.SizeY-1, int(math.Ceil((gt[3]-b[1])/-gt[5]))-1)
	var total int64
	for by := r0 / bs.BlockSizeY; by <= r1/bs.BlockSizeY; by++ {
		for bx := c0 / bs.BlockSizeX; bx <= c1/bs.BlockSizeX; bx++ {
			v := band.Metadata(fmt.Sprintf("BLOCK_SIZE_%d_%d", bx, by), godal.Domain("TIFF"))
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("block bytes %s: block %d,%d: %q", path, bx, by, v)
			}
			total += n
		}
	}
	return total, nil
}
