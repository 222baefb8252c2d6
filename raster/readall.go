package raster

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/airbusgeo/godal"
)

// ReadAll reads the first band of a raster (local path, s3:// or http(s):// URL) at full
// resolution as float32, with its grid and nodata value (NaN when the band has none).
// Meant for tests and tools; the pipeline reads windows. The grid's EPSG is 0 when the
// file's SRS has no EPSG code; Res is the pixel width when pixels are not square (e.g.
// lon/lat files); a file without georeferencing gets X0=0, Y0=0, Res=1. Rotated grids
// are an error.
func ReadAll(path string) (g Grid, data []float32, nodata float64, err error) {
	Init(S3Config{})
	gp, err := GDALPath(path)
	if err != nil {
		return Grid{}, nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	ds, err := godal.Open(gp)
	if err != nil {
		return Grid{}, nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer ds.Close()
	st := ds.Structure()
	if st.NBands < 1 {
		return Grid{}, nil, 0, fmt.Errorf("read %s: no band", path)
	}
	gt, err := ds.GeoTransform()
	if err != nil {
		gt = [6]float64{0, 1, 0, 0, 0, -1} // no georeferencing: pixel space, row 0 at the top
	}
	if gt[2] != 0 || gt[4] != 0 || gt[1] <= 0 || gt[5] >= 0 {
		return Grid{}, nil, 0, fmt.Errorf("read %s: not a north-up grid: %v", path, gt)
	}
	g = Grid{X0: gt[0], Y0: gt[3], Res: gt[1], Width: st.SizeX, Height: st.SizeY}
	if ds.Projection() != "" {
		g.EPSG = cogEPSG(ds.SpatialRef())
	}
	band := ds.Bands()[0]
	nodata = math.NaN()
	if nd, ok := band.NoData(); ok {
		nodata = nd
	}
	data = make([]float32, g.Pixels())
	if err := band.Read(0, 0, data, g.Width, g.Height); err != nil {
		return Grid{}, nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return g, data, nodata, nil
}

// cogEPSG returns the EPSG code of sr, or 0.
func cogEPSG(sr *godal.SpatialRef) int {
	code := sr.AuthorityCode("")
	if code == "" {
		if err := sr.AutoIdentifyEPSG(); err == nil {
			code = sr.AuthorityCode("")
		}
	}
	if !strings.EqualFold(sr.AuthorityName(""), "EPSG") {
		return 0
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0
	}
	return n
}
