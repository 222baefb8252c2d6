package raster

import (
	"fmt"
	"math"

	"github.com/airbusgeo/godal"
)

// bandGrid is what checkBands compares of one band's file.
type bandGrid struct {
	key    string
	srs    string // WKT
	gt     [6]float64
	w, h   int
	dtype  godal.DataType
	nodata float64
	hasND  bool
}

func describeBand(key string, ds *godal.Dataset) (bandGrid, error) {
	st := ds.Structure()
	if st.NBands < 1 {
		return bandGrid{}, fmt.Errorf("band %s: %w: no raster band", key, ErrCorrupt)
	}
	gt, err := ds.GeoTransform()
	if err != nil {
		return bandGrid{}, fmt.Errorf("band %s: %w: no georeferencing", key, ErrCorrupt)
	}
	b := bandGrid{key: key, srs: ds.Projection(), gt: gt, w: st.SizeX, h: st.SizeY, dtype: st.DataType}
	b.nodata, b.hasND = ds.Bands()[0].NoData()
	return b, nil
}

// wantType is the data type of a band of a Sentinel-2 L2A product (and of Earth Search's
// COGs): UInt16 digital numbers, UInt8 scene classes.
func wantType(key string) godal.DataType {
	if key == "scl" {
		return godal.Byte
	}
	return godal.UInt16
}

// is10m reports whether key is one of the 10 m bands.
func is10m(key string) bool {
	return key == "blue" || key == "green" || key == "red" || key == "nir"
}

// checkBands checks the bands of one tile of a scene against each other before any pixel
// is read: same CRS, north-up, the same origin and extent (within a pixel), the four 10 m
// bands on one identical grid, the 20 m bands at the same or twice the 10 m pixel size,
// the product's data types (UInt16 reflectance, UInt8 SCL) and nodata 0 or none. A band out
// of register (a pixel size of 10.5 m, a shifted origin) would otherwise be read on the
// analysis grid as if it were right and give a wrong result without an error.
func checkBands(bands []bandGrid) error {
	var ref *bandGrid // the first 10 m band, else the first band
	for i := range bands {
		if is10m(bands[i].key) {
			ref = &bands[i]
			break
		}
	}
	if ref == nil && len(bands) > 0 {
		ref = &bands[0]
	}
	for i := range bands {
		b := &bands[i]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("band %s: %w: %s", b.key, ErrCorrupt, fmt.Sprintf(format, args...))
		}
		if b.gt[2] != 0 || b.gt[4] != 0 || !(b.gt[1] > 0) || !(b.gt[5] < 0) {
			return bad("not a north-up grid: geotransform %v", b.gt)
		}
		if b.dtype != wantType(b.key) {
			return bad("data type %s, a Sentinel-2 L2A %s band is %s", b.dtype, b.key, wantType(b.key))
		}
		if b.hasND && b.nodata != 0 {
			return bad("nodata %g, want 0 or none", b.nodata)
		}
		if b == ref {
			continue
		}
		if b.srs != ref.srs {
			return bad("coordinate system differs from band %s's", ref.key)
		}
		rx, ry := b.gt[1]/ref.gt[1], b.gt[5]/ref.gt[5]
		switch {
		case is10m(b.key) && is10m(ref.key):
			if rx != 1 || ry != 1 || b.w != ref.w || b.h != ref.h {
				return bad("grid %dx%d of %g x %g differs from band %s's %dx%d of %g x %g (bands out of register)",
					b.w, b.h, b.gt[1], -b.gt[5], ref.key, ref.w, ref.h, ref.gt[1], -ref.gt[5])
			}
		case !near(rx, 1) && !near(rx, 2), !near(ry, 1) && !near(ry, 2):
			return bad("pixel size %g x %g is neither that of band %s (%g x %g) nor twice it (bands out of register)",
				b.gt[1], -b.gt[5], ref.key, ref.gt[1], -ref.gt[5])
		}
		fine := math.Min(b.gt[1], ref.gt[1])
		if math.Abs(b.gt[0]-ref.gt[0]) > 0.01*fine || math.Abs(b.gt[3]-ref.gt[3]) > 0.01*fine {
			return bad("origin %g,%g differs from band %s's %g,%g (bands out of register)", b.gt[0], b.gt[3], ref.key, ref.gt[0], ref.gt[3])
		}
		coarse := math.Max(b.gt[1], ref.gt[1])
		if math.Abs(float64(b.w)*b.gt[1]-float64(ref.w)*ref.gt[1]) > coarse ||
			math.Abs(float64(b.h)*b.gt[5]-float64(ref.h)*ref.gt[5]) > coarse {
			return bad("extent %dx%d pixels of %g differs from band %s's %dx%d of %g", b.w, b.h, b.gt[1], ref.key, ref.w, ref.h, ref.gt[1])
		}
	}
	return nil
}

// near reports whether a ratio of pixel sizes is v within 1 % (the 20 m bands of a
// lon/lat file of odd width are not exactly twice the 10 m pixel size).
func near(r, v float64) bool { return math.Abs(r-v) <= 0.01*v }
