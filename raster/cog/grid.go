package cog

// Grid is the north-up grid of a GeoTIFF: pixel (col,row) covers
// [X0+col*Res, X0+(col+1)*Res] x [Y0-(row+1)*Res, Y0-row*Res] in EPSG. Its fields are
// those of raster.Grid, so either converts to the other.
type Grid struct {
	EPSG          int
	X0, Y0        float64 // top-left corner
	Res           float64 // pixel size in CRS units (metres for UTM)
	Width, Height int
}

// GeoTransform returns the GDAL affine transform of g.
func (g Grid) GeoTransform() [6]float64 {
	return [6]float64{g.X0, g.Res, 0, g.Y0, 0, -g.Res}
}

// Pixels is Width*Height.
func (g Grid) Pixels() int { return g.Width * g.Height }
