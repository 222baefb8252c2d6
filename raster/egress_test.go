package raster

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/access"
	"github.com/changewatch/changewatch/internal/testenv"
)

// GDAL follows HTTP redirects by itself (GDAL 3.6 has no option not to): an allowed host
// answering 302 to a loopback service would have GDAL read it. Through the egress proxy
// (SetHTTPProxy) the redirect's target is refused, and the allowed host still works.
func TestEgressStopsGDALRedirects(t *testing.T) {
	Init(S3Config{})
	tif := filepath.Join(testenv.SharedData(t), "sentinel2", "oscd_aguasclaras", "20171015", "B01.tif")
	var secretHits atomic.Int64
	secret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secretHits.Add(1)
		http.ServeFile(w, r, tif)
	}))
	defer secret.Close()
	catalogHost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/scenes/redirect") {
			http.Redirect(w, r, secret.URL+r.URL.Path, http.StatusFound) // a fresh target each time: nothing cached
			return
		}
		http.ServeFile(w, r, tif)
	}))
	defer catalogHost.Close()

	open := func(href string) error {
		ds, err := godal.Open("/vsicurl/"+href, godal.ErrLogger(func(ec godal.ErrorCategory, _ int, msg string) error {
			if ec >= godal.CE_Failure {
				return errors.New(msg)
			}
			return nil
		}))
		if err == nil {
			ds.Close()
		}
		forgetRemote("/vsicurl/" + href)
		return err
	}
	// Without the proxy, GDAL follows the redirect: the hole the proxy closes.
	if err := open(catalogHost.URL + "/scenes/redirect1/B04.tif"); err != nil || secretHits.Load() == 0 {
		t.Fatalf("without the proxy: err %v, secret hits %d (expected GDAL to follow the redirect)", err, secretHits.Load())
	}
	secretHits.Store(0)

	eg, err := access.NewEgress(nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eg.Close()
	SetHTTPProxy(eg.Addr())
	defer SetHTTPProxy("")
	release := eg.Grant(catalogHost.URL + "/catalog.json")
	defer release()

	if err := open(catalogHost.URL + "/scenes/a/B04.tif"); err != nil {
		t.Fatalf("allowed host through the proxy: %v", err)
	}
	if err := open(catalogHost.URL + "/scenes/redirect2/B04.tif"); err == nil {
		t.Fatalf("redirect to a host that is not allowed: opened (secret hits %d, refused %d)", secretHits.Load(), eg.Refused())
	}
	if secretHits.Load() != 0 || eg.Refused() == 0 {
		t.Fatalf("secret hits %d, refused %d: want 0 and at least 1", secretHits.Load(), eg.Refused())
	}
}
