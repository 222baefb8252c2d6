package worker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/stac"
)

// countingBody counts the bytes a response body delivers.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// BenchmarkS3WindowReads measures what reading an AOI window of the scenes costs over S3:
// GDAL's requests and bytes, through a counting proxy in front of the real S3 server,
// against the compressed bytes of the COG blocks the window touches (what an ideal reader
// fetches), for a 2 x 2 km mine-sized window and a 5 x 5 km one. The goal is at most 2x.
//
//	./scripts/test.sh -run '^$' -bench S3WindowReads -benchtime 1x ./worker/
func BenchmarkS3WindowReads(b *testing.B) {
	s := scenes(b)
	ctx := context.Background()
	store, endpoint, access, secret := testS3(b, "cw-bench")
	target, _ := url.Parse(endpoint)
	var requests, bytes atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		requests.Add(1)
		r.Body = countingBody{r.Body, &bytes}
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	g := s.Grid
	for i, side := range []int{204, 498} { // multiples of 6 pixels: 2.04 km, 4.98 km
		w := g.Sub(300+i*17*6, 246+i*6, side, side)
		// the scenes under a fresh prefix per window, so no cache of GDAL's can help
		prefix := fmt.Sprintf("catalog-%d/", i)
		err := filepath.WalkDir(s.Root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(s.Root, p)
			return store.PutFile(ctx, "cw-bench", prefix+filepath.ToSlash(rel), p, "")
		})
		if err != nil {
			b.Fatal(err)
		}
		cat, err := stac.NewStatic("s3://cw-bench/"+strings.TrimSuffix(prefix, "/"), store, nil)
		if err != nil {
			b.Fatal(err)
		}
		items, err := cat.Search(ctx, stac.Query{})
		if err != nil {
			b.Fatal(err)
		}
		var before, after []raster.Scene
		for _, it := range items {
			sc := raster.Scene{ID: it.ID, Date: it.Datetime, DNOffset: it.DNOffset(), Hrefs: map[string]string{}}
			for _, k := range raster.BandKeys {
				sc.Hrefs[k] = it.Assets[k].Href
			}
			if it.Datetime.Year() < 2024 {
				before = append(before, sc)
			} else {
				after = append(after, sc)
			}
		}
		raster.Init(raster.S3Config{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
		requests.Store(0)
		bytes.Store(0)
		p := raster.DetectParams{Grid: w, Before: before, After: after, Mask: true, MaskBuffer: 5, Rules: raster.DefaultRules, MinPixels: 20}
		b.ResetTimer()
		if _, err := raster.Detect(ctx, p); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var ideal int64
		for _, sc := range append(append([]raster.Scene{}, before...), after...) {
			for _, href := range sc.Hrefs {
				key := strings.TrimPrefix(href, "s3://cw-bench/"+prefix)
				n, err := raster.WindowBlockBytes(filepath.Join(s.Root, filepath.FromSlash(key)), w)
				if err != nil {
					b.Fatal(err)
				}
				ideal += n
			}
		}
		nScenes := float64(len(before) + len(after))
		ratio := float64(bytes.Load()) / float64(ideal)
		b.ReportMetric(float64(requests.Load())/nScenes, fmt.Sprintf("requests/scene-%dpx", side))
		b.ReportMetric(ratio, fmt.Sprintf("bytes/ideal-%dpx", side))
		fmt.Printf("window %d x %d px: %.1f requests and %.2f MiB per scene; fetched / touched-block bytes = %.2f\n",
			side, side, float64(requests.Load())/nScenes, float64(bytes.Load())/nScenes/(1<<20), ratio)
	}
}
