// Package raster is changewatch's only door to GDAL (through github.com/airbusgeo/godal).
// It reads windows of Sentinel-2 COGs onto an analysis grid, masks, composites, computes
// change, and writes rasters and vectors. Everything it exports is plain Go (Grid, typed
// slices, Feature) so the packages above it can be tested without cgo.
package raster

/*
#cgo pkg-config: gdal
#include <stdlib.h>
#include "cpl_conv.h"
#include "cpl_vsi.h"
*/
import "C"

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/access"
)

// S3Config tells GDAL's /vsis3/ how to reach object storage. Zero value: AWS defaults.
type S3Config struct {
	Endpoint  string // host[:port] or URL of an S3-compatible server; empty for AWS
	Region    string
	PathStyle bool
	Anonymous bool
	AccessKey string
	SecretKey string
}

var initOnce sync.Once

// Init registers GDAL's drivers and sets the process-wide GDAL configuration that
// changewatch relies on. Call it once from main (later calls only update the S3 settings).
func Init(s3 S3Config) {
	initOnce.Do(func() {
		godal.RegisterAll()
		for k, v := range map[string]string{
			"GDAL_DISABLE_READDIR_ON_OPEN":       "EMPTY_DIR",
			"CPL_VSIL_CURL_ALLOWED_EXTENSIONS":   ".tif,.tiff,.TIF,.json,.geojson,.fgb,.gpkg",
			"GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
			"GDAL_HTTP_MULTIPLEX":                "YES",
			"GDAL_CACHEMAX":                      "256",
			"GDAL_NUM_THREADS":                   "ALL_CPUS",
			// Every network read is bounded (GDAL 3.6 options, libcurl underneath): a host
			// that accepts and never answers, or trickles, fails the read, and the task is
			// retried, instead of holding a worker slot until the task timeout.
			"GDAL_HTTP_CONNECTTIMEOUT":  "10",  // seconds to connect
			"GDAL_HTTP_TIMEOUT":         "120", // seconds for one whole request
			"GDAL_HTTP_LOW_SPEED_TIME":  "20",  // abort after 20 s ...
			"GDAL_HTTP_LOW_SPEED_LIMIT": "256", // ... below 256 bytes/s
			"GDAL_HTTP_MAX_RETRY":       "3",   // 429, 502, 503, 504: 3 retries ...
			"GDAL_HTTP_RETRY_DELAY":     "1",   // ... from 1 s, doubling
			// No credentials or cookies from files GDAL would find by itself.
			"GDAL_HTTP_NETRC": "NO",
		} {
			setConfig(k, v)
		}
	})
	if s3.Endpoint != "" {
		ep := s3.Endpoint
		https := "YES"
		switch {
		case strings.HasPrefix(ep, "http://"):
			https, ep = "NO", strings.TrimPrefix(ep, "http://")
		case strings.HasPrefix(ep, "https://"):
			ep = strings.TrimPrefix(ep, "https://")
		}
		setConfig("AWS_S3_ENDPOINT", strings.TrimSuffix(ep, "/"))
		setConfig("AWS_HTTPS", https)
	}
	if s3.Region != "" {
		setConfig("AWS_REGION", s3.Region)
	}
	if s3.PathStyle {
		setConfig("AWS_VIRTUAL_HOSTING", "FALSE")
	}
	if s3.Anonymous {
		setConfig("AWS_NO_SIGN_REQUEST", "YES")
	}
	if s3.AccessKey != "" {
		setConfig("AWS_ACCESS_KEY_ID", s3.AccessKey)
		setConfig("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	}
}

// GDALPath turns an href (a local path, an s3:// URL or an http(s):// URL) into a name
// GDAL opens, after access.Parse has refused anything that is not a plain location (GDAL
// virtual file systems, driver prefixes, inline datasets, fragments, ".." elements). Local
// paths become absolute, so no driver prefix can apply to them.
//
// Object URLs of AWS S3 (virtual-hosted https://BUCKET.s3[.REGION].amazonaws.com/KEY and
// path-style https://s3[.REGION].amazonaws.com/BUCKET/KEY, the form of Earth Search's
// sentinel-cogs hrefs) go through /vsis3/ like s3:// URLs, so every object is read through
// the one configured S3 path (endpoint, region, credentials): a deployment can point it at a
// mirror bucket.
func GDALPath(href string) (string, error) {
	loc, err := access.Parse(href)
	if err != nil {
		return "", err
	}
	switch loc.Kind {
	case access.S3:
		return "/vsis3/" + loc.Bucket + "/" + loc.Key, nil
	case access.HTTP:
		return "/vsicurl/" + loc.URL, nil
	}
	return loc.Path, nil
}

// rasterDrivers are the only GDAL drivers that open the rasters of items: a file named
// B04.tif that holds a <VRTDataset> (a VRTRawRasterBand over any local file) or any other
// format is refused, whatever its name says.
var rasterDrivers = []string{"GTiff"}

// Grid is a north-up raster grid: pixel (col,row) covers
// [X0+col*Res, X0+(col+1)*Res] x [Y0-(row+1)*Res, Y0-row*Res] in EPSG.
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

// Bounds returns minx, miny, maxx, maxy.
func (g Grid) Bounds() [4]float64 {
	return [4]float64{g.X0, g.Y0 - float64(g.Height)*g.Res, g.X0 + float64(g.Width)*g.Res, g.Y0}
}

// SnapGrid returns the smallest grid of resolution res whose edges lie on multiples of
// align (a multiple of res) and that covers the box [minx,miny,maxx,maxy]. Sentinel-2 tile
// origins are multiples of 60 m: with align 60 a 10 m grid shares the pixel edges of both
// the 10 m and the 20 m bands, so reads are copies or exact 2x upsamplings.
func SnapGrid(epsg int, minx, miny, maxx, maxy, res, align float64) Grid {
	x0 := math.Floor(minx/align) * align
	y1 := math.Ceil(maxy/align) * align
	x1 := math.Ceil(maxx/align) * align
	y0 := math.Floor(miny/align) * align
	return Grid{EPSG: epsg, X0: x0, Y0: y1, Res: res,
		Width: int(math.Round((x1 - x0) / res)), Height: int(math.Round((y1 - y0) / res))}
}

// Sub returns the grid of the window [col, row, col+w, row+h] of g.
func (g Grid) Sub(col, row, w, h int) Grid {
	return Grid{EPSG: g.EPSG, X0: g.X0 + float64(col)*g.Res, Y0: g.Y0 - float64(row)*g.Res,
		Res: g.Res, Width: w, Height: h}
}

func (g Grid) srs() (*godal.SpatialRef, error) {
	sr, err := godal.NewSpatialRefFromEPSG(g.EPSG)
	if err != nil {
		return nil, fmt.Errorf("spatial reference epsg:%d: %w", g.EPSG, err)
	}
	return sr, nil
}

// setConfig sets a process-wide GDAL configuration option (CPLSetConfigOption).
func setConfig(k, v string) {
	ck, cv := C.CString(k), C.CString(v)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	C.CPLSetConfigOption(ck, cv)
}

// SetHTTPProxy sends every GDAL network request (/vsicurl/ and /vsis3/) through the proxy
// at addr (host:port): an access.Egress, which refuses the hosts the policy does not allow,
// also on the redirects GDAL follows by itself. "" goes back to direct requests. GDAL 3.6
// does not take GDAL_HTTP_PROXY as a path-specific option, so the setting is process-wide.
func SetHTTPProxy(addr string) {
	ck := C.CString("GDAL_HTTP_PROXY")
	defer C.free(unsafe.Pointer(ck))
	if addr == "" {
		C.CPLSetConfigOption(ck, nil)
		return
	}
	cv := C.CString(addr)
	defer C.free(unsafe.Pointer(cv))
	C.CPLSetConfigOption(ck, cv)
}

// forgetRemote drops what GDAL's network file systems (/vsis3/, /vsicurl/) cached about
// path. GDAL caches a failed request (a 500, a 503 SlowDown, a reset) as "the file does
// not exist" for the life of the process, so without this a retried task on the same
// worker fails again without asking the server.
func forgetRemote(path string) {
	if !strings.HasPrefix(path, "/vsis3/") && !strings.HasPrefix(path, "/vsicurl/") {
		return
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	C.VSICurlPartialClearCache(cp)
}

// GDALVersion is the version of the GDAL library in use, as "GDAL 3.6.2".
func GDALVersion() string {
	v := godal.Version()
	return fmt.Sprintf("GDAL %d.%d.%d", v.Major(), v.Minor(), v.Revision())
}
