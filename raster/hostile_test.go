package raster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/access"
	"github.com/changewatch/changewatch/internal/testenv"
)

func TestCheckBands(t *testing.T) {
	const wkt = "PROJCS[\"WGS 84 / UTM zone 35N\"]"
	tile := func() []bandGrid {
		var bs []bandGrid
		for _, k := range BandKeys {
			b := bandGrid{key: k, srs: wkt, gt: [6]float64{600000, 10, 0, 200040, 0, -10}, w: 10980, h: 10980, dtype: godal.UInt16, hasND: true}
			if !is10m(k) {
				b.gt[1], b.gt[5], b.w, b.h = 20, -20, 5490, 5490
			}
			if k == "scl" {
				b.dtype = godal.Byte
			}
			bs = append(bs, b)
		}
		return bs
	}
	band := func(bs []bandGrid, key string) *bandGrid {
		for i := range bs {
			if bs[i].key == key {
				return &bs[i]
			}
		}
		panic(key)
	}
	tests := []struct {
		name    string
		edit    func([]bandGrid) []bandGrid
		problem string
	}{
		{"a Sentinel-2 tile", func(bs []bandGrid) []bandGrid { return bs }, ""},
		{"20 m bands at 10 m", func(bs []bandGrid) []bandGrid {
			for i := range bs {
				if !is10m(bs[i].key) {
					bs[i].gt[1], bs[i].gt[5], bs[i].w, bs[i].h = 10, -10, 10980, 10980
				}
			}
			return bs
		}, ""},
		{"no scl", func(bs []bandGrid) []bandGrid { return bs[:6] }, ""},
		{"red at 10.5 m", func(bs []bandGrid) []bandGrid {
			r := band(bs, "red")
			r.gt[1], r.gt[5] = 10.5, -10.5
			return bs
		}, "out of register"},
		{"nir one pixel wider", func(bs []bandGrid) []bandGrid { band(bs, "nir").w++; return bs }, "out of register"},
		{"swir16 at 30 m", func(bs []bandGrid) []bandGrid {
			b := band(bs, "swir16")
			b.gt[1], b.gt[5], b.w, b.h = 30, -30, 3660, 3660
			return bs
		}, "neither"},
		{"scl origin shifted by a pixel", func(bs []bandGrid) []bandGrid { band(bs, "scl").gt[0] += 20; return bs }, "origin"},
		{"swir22 cut short", func(bs []bandGrid) []bandGrid { band(bs, "swir22").h -= 100; return bs }, "extent"},
		{"red Int16", func(bs []bandGrid) []bandGrid { band(bs, "red").dtype = godal.Int16; return bs }, "data type"},
		{"scl UInt16", func(bs []bandGrid) []bandGrid { band(bs, "scl").dtype = godal.UInt16; return bs }, "data type"},
		{"blue Byte (BitsPerSample 8)", func(bs []bandGrid) []bandGrid { band(bs, "blue").dtype = godal.Byte; return bs }, "data type"},
		{"nodata 65535", func(bs []bandGrid) []bandGrid { band(bs, "green").nodata = 65535; return bs }, "nodata"},
		{"another zone", func(bs []bandGrid) []bandGrid { band(bs, "swir16").srs = "PROJCS[\"UTM 36N\"]"; return bs }, "coordinate system"},
		{"rotated", func(bs []bandGrid) []bandGrid { band(bs, "blue").gt[2] = 0.1; return bs }, "north-up"},
		{"south-up", func(bs []bandGrid) []bandGrid { band(bs, "green").gt[5] = 10; return bs }, "north-up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkBands(tt.edit(tile()))
			if tt.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("error %v, want ErrCorrupt about %q", err, tt.problem)
			}
		})
	}
}

// realSceneHrefs copies the real Earth Search scene into dir and returns its hrefs.
func realSceneHrefs(t *testing.T, dir string) map[string]string {
	t.Helper()
	src := filepath.Join(testenv.SharedData(t), "sentinel2/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A")
	hrefs := map[string]string{}
	for _, k := range BandKeys {
		name := map[string]string{"blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "swir16": "B11", "swir22": "B12", "scl": "SCL"}[k]
		data, err := os.ReadFile(filepath.Join(src, name+".tif"))
		if err != nil {
			t.Fatal(err)
		}
		hrefs[k] = filepath.Join(dir, name+".tif")
		if err := os.WriteFile(hrefs[k], data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return hrefs
}

// The hostile bands of the issue, on the real scene: each is refused before a pixel is read.
func TestOpenSceneRefusesHostileBands(t *testing.T) {
	Init(S3Config{})
	g := Grid{EPSG: 32629, X0: 250000, Y0: 2750000, Res: 100, Width: 60, Height: 40}
	secret := filepath.Join(t.TempDir(), "secret.tif")
	tests := []struct {
		name    string
		edit    func(t *testing.T, hrefs map[string]string)
		wantErr error
		problem string
	}{
		{"clean", func(*testing.T, map[string]string) {}, nil, ""},
		{"inline VRT as the red href", func(t *testing.T, h map[string]string) {
			h["red"] = `<VRTDataset rasterXSize="1098" rasterYSize="1098"><VRTRasterBand dataType="UInt16" band="1" subClass="VRTRawRasterBand"><SourceFilename>` + secret + `</SourceFilename></VRTRasterBand></VRTDataset>`
		}, access.ErrRefused, "inline datasets"},
		{"a VRT file named B04.tif", func(t *testing.T, h map[string]string) {
			vrt := `<VRTDataset rasterXSize="1098" rasterYSize="1098"><SRS>EPSG:32629</SRS><GeoTransform>199980,100,0,2800020,0,-100</GeoTransform>` +
				`<VRTRasterBand dataType="UInt16" band="1" subClass="VRTRawRasterBand"><SourceFilename relativeToVRT="0">` + secret + `</SourceFilename>` +
				`<ImageOffset>0</ImageOffset><PixelOffset>2</PixelOffset><LineOffset>2196</LineOffset></VRTRasterBand></VRTDataset>`
			if err := os.WriteFile(h["red"], []byte(vrt), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt, "open"},
		{"vsicurl href", func(t *testing.T, h map[string]string) { h["nir"] = "/vsicurl/http://127.0.0.1:1/B08.tif" }, access.ErrRefused, "virtual file systems"},
		{"red pixel scale 10.5 % off", func(t *testing.T, h map[string]string) { regrid(t, h["red"], 1.05, 0) }, ErrCorrupt, "out of register"},
		{"scl origin shifted", func(t *testing.T, h map[string]string) { regrid(t, h["scl"], 1, 200) }, ErrCorrupt, "origin"},
		{"blue as Byte", func(t *testing.T, h map[string]string) { retype(t, h["blue"], "Byte") }, ErrCorrupt, "data type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hrefs := realSceneHrefs(t, t.TempDir())
			if err := os.WriteFile(secret, []byte(strings.Repeat("secret", 1<<18)), 0o644); err != nil {
				t.Fatal(err)
			}
			tt.edit(t, hrefs)
			r, err := openScene(context.Background(), Scene{ID: "S2A_29RKH_20200219_0_L2A", Hrefs: hrefs}, g)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				r.close()
				return
			}
			if err == nil {
				r.close()
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("error %v, want %v about %q", err, tt.wantErr, tt.problem)
			}
		})
	}
}

// regrid rewrites the GeoTIFF at p with its pixel size scaled by scale and its origin moved
// east by shift, as a damaged or hostile ModelPixelScale / ModelTiepoint would.
func regrid(t *testing.T, p string, scale, shift float64) {
	t.Helper()
	ds, err := godal.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	gt, _ := ds.GeoTransform()
	st := ds.Structure()
	minx, maxy := gt[0]+shift, gt[3]
	maxx, miny := minx+float64(st.SizeX)*gt[1]*scale, maxy+float64(st.SizeY)*gt[5]*scale
	out, err := ds.Translate(p+".new.tif", []string{"-a_ullr", fmt.Sprint(minx), fmt.Sprint(maxy), fmt.Sprint(maxx), fmt.Sprint(miny)})
	ds.Close()
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := os.Rename(p+".new.tif", p); err != nil {
		t.Fatal(err)
	}
}

func retype(t *testing.T, p, ot string) {
	t.Helper()
	ds, err := godal.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ds.Translate(p+".new.tif", []string{"-ot", ot})
	ds.Close()
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := os.Rename(p+".new.tif", p); err != nil {
		t.Fatal(err)
	}
}

// stalledListener accepts connections and never answers; it returns the address.
func stalledListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read nor written
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// Cancelling the context returns from an open blocked on a host that accepts and never
// answers, without waiting for GDAL's HTTP timeouts.
func TestOpenHrefCancelStopsABlockedRead(t *testing.T) {
	Init(S3Config{})
	addr := stalledListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := openHref(ctx, "http://"+addr+"/B04.tif", "red", Grid{EPSG: 32629, Res: 10, Width: 6, Height: 6})
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// Without cancellation, GDAL's low-speed timeout ends a read from a stalled host (set to
// 1 s here; 20 s in Init).
func TestStalledHostTimesOut(t *testing.T) {
	Init(S3Config{})
	setConfig("GDAL_HTTP_LOW_SPEED_TIME", "1")
	setConfig("GDAL_HTTP_LOW_SPEED_LIMIT", "1")
	defer setConfig("GDAL_HTTP_LOW_SPEED_TIME", "20")
	defer setConfig("GDAL_HTTP_LOW_SPEED_LIMIT", "256")
	addr := stalledListener(t)
	_, err := openHref(context.Background(), "http://"+addr+"/B04.tif", "red", Grid{EPSG: 32629, Res: 10, Width: 6, Height: 6})
	if err == nil {
		t.Fatal("open of a stalled host succeeded")
	}
}
