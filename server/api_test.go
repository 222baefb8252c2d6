package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/server"
)

// TestAPI goes through the API as staff and reader: upload, submit (and the duplicate),
// the in-test worker's run, runs, the presigned download, tiles, incidents with their
// filters and pages, review, the watch list, STAC, metrics, and the embargo.
func TestAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("upload refuses bad AOIs naming the problem", func(t *testing.T) {
		for _, c := range []struct {
			name, body, want string
			code             int
		}{
			{"not json", `{"type":`, "json", http.StatusUnprocessableEntity},
			{"open ring", `{"type":"Polygon","coordinates":[[[28.1,1.3],[28.2,1.3],[28.2,1.4],[28.1,1.41]]]}`, "coordinates", http.StatusUnprocessableEntity},
			{"projected metres", `{"type":"Polygon","coordinates":[[[500000,100000],[501000,100000],[501000,101000],[500000,100000]]]}`, "coordinates", http.StatusUnprocessableEntity},
			{"bad id", `{"type":"Feature","properties":{"id":"../etc"},"geometry":{"type":"Polygon","coordinates":[[[28.1,1.3],[28.2,1.3],[28.2,1.4],[28.1,1.3]]]}}`, "properties.id", http.StatusUnprocessableEntity},
			{"too large", `{"type":"Feature","properties":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`, "larger than", http.StatusRequestEntityTooLarge},
		} {
			res, body := e.do(t, "POST", "/api/v1/aois", staffToken, []byte(c.body), "application/geo+json")
			if res.StatusCode != c.code || !strings.Contains(string(body), c.want) {
				t.Errorf("%s: %d %s, want %d naming %q", c.name, res.StatusCode, body, c.code, c.want)
			}
		}
	})

	const id = "serve-test"
	run := e.processRun(t, id)

	t.Run("the same request again is a duplicate", func(t *testing.T) {
		sub, _ := json.Marshal(map[string]any{"aoi_id": id, "before": "2023-01-01/2023-03-31", "after": "2024-01-01/2024-03-31"})
		res, body := e.do(t, "POST", "/api/v1/requests", staffToken, sub, "application/json")
		var v server.TaskView
		json.Unmarshal(body, &v)
		if res.StatusCode != http.StatusOK || !v.Duplicate || v.State != "completed" {
			t.Fatalf("resubmit: %d %s", res.StatusCode, body)
		}
		var list struct{ Requests []server.TaskView }
		e.getJSON(t, "/api/v1/requests?aoi="+id, staffToken, &list)
		if len(list.Requests) != 1 || list.Requests[0].ID != v.ID || list.Requests[0].Percent != 100 || list.Requests[0].Summary == nil {
			t.Fatalf("requests of %s: %+v", id, list.Requests)
		}
		bad, _ := json.Marshal(map[string]any{"aoi_id": id, "after": "2024-13-01/2024-03-31"})
		if res, body := e.do(t, "POST", "/api/v1/requests", staffToken, bad, "application/json"); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "after") {
			t.Errorf("bad period: %d %s", res.StatusCode, body)
		}
	})

	var runs struct{ Runs []server.RunView }
	e.getJSON(t, "/api/v1/aois/"+id+"/runs", readerToken, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].Run != run || runs.Runs[0].Before != "2023-01-01/2023-03-31" {
		t.Fatalf("runs: %+v", runs.Runs)
	}
	if runs.Runs[0].Hectares["vegetation_to_bare"] <= 0 || runs.Runs[0].Polygons["vegetation_to_bare"] == 0 {
		t.Fatalf("run without its counts and hectares: %+v", runs.Runs[0])
	}

	t.Run("download through a presigned URL of the real S3 server", func(t *testing.T) {
		res, _ := e.do(t, "GET", "/api/v1/aois/"+id+"/runs/"+run+"/files/changes.geojson", readerToken, nil, "")
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusFound || !strings.Contains(loc, "X-Amz-Signature") {
			t.Fatalf("download: %d, Location %q", res.StatusCode, loc)
		}
		got, err := http.Get(loc) // no token: the URL itself is the credential
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(got.Body)
		got.Body.Close()
		want, _ := e.store.Get(ctx, id+"/"+run+"/changes.geojson")
		if got.StatusCode != http.StatusOK || !bytes.Equal(data, want) {
			t.Fatalf("presigned GET: %d, %d bytes, want %d", got.StatusCode, len(data), len(want))
		}
		var j struct {
			URL string `json:"url"`
		}
		e.getJSON(t, "/api/v1/aois/"+id+"/runs/"+run+"/files/before_rgb.tif?redirect=false", readerToken, &j)
		if u, err := url.Parse(j.URL); err != nil || u.Query().Get("X-Amz-Expires") != "300" {
			t.Fatalf("presigned URL %q", j.URL)
		}
		if res, _ := e.do(t, "GET", "/api/v1/aois/"+id+"/runs/"+run+"/files/..%2Fledger.json", readerToken, nil, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("a file outside the run: %d", res.StatusCode)
		}
	})

	t.Run("tiles of the composites", func(t *testing.T) {
		lon, lat := 28.139, 1.317 // the scene set's centre
		x, y := raster.LonLatToTile(lon, lat, 15)
		for _, layer := range []string{"before", "after", "change"} {
			res, data := e.do(t, "GET", "/api/v1/aois/"+id+"/runs/"+run+"/tiles/"+layer+"/15/"+itoa(x)+"/"+itoa(y)+".png", readerToken, nil, "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s tile: %d %s", layer, res.StatusCode, data)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if layer != "change" {
				if _, _, _, a := img.At(128, 128).RGBA(); a == 0 {
					t.Errorf("%s tile: transparent at its centre", layer)
				}
			}
		}
		res, data := e.do(t, "GET", "/api/v1/aois/"+id+"/runs/"+run+"/chips/after.png?bbox=28.135,1.313,28.143,1.321", readerToken, nil, "")
		img, err := png.Decode(bytes.NewReader(data))
		if res.StatusCode != http.StatusOK || err != nil || img.Bounds().Dx() != 256 {
			t.Errorf("chip: %d %v", res.StatusCode, err)
		}
		if res, _ := e.do(t, "GET", "/api/v1/aois/"+id+"/runs/"+run+"/chips/after.png?bbox=0,0,2,2", readerToken, nil, ""); res.StatusCode != http.StatusBadRequest {
			t.Errorf("chip over 2 degrees: %d", res.StatusCode)
		}
	})

	incs := e.writeLedger(t, id, run)

	t.Run("incidents as OGC API features", func(t *testing.T) {
		var fc struct {
			Features []struct {
				ID         string         `json:"id"`
				Properties map[string]any `json:"properties"`
			}
			NumberMatched int `json:"numberMatched"`
			Links         []struct{ Href, Rel string }
		}
		e.getJSON(t, "/api/v1/collections/"+id+"/items", readerToken, &fc)
		if fc.NumberMatched != len(incs) || len(fc.Features) != len(incs) {
			t.Fatalf("%d incidents, want %d", fc.NumberMatched, len(incs))
		}
		e.getJSON(t, "/api/v1/collections/"+id+"/items?bbox=0,0,1,1", readerToken, &fc)
		if fc.NumberMatched != 0 {
			t.Errorf("bbox far away: %d incidents", fc.NumberMatched)
		}
		e.getJSON(t, "/api/v1/collections/"+id+"/items?class=burn_scar,vegetation_to_water&datetime=2024-01-01/..", readerToken, &fc)
		for _, f := range fc.Features {
			if c := f.Properties["class"]; c != "burn_scar" && c != "vegetation_to_water" {
				t.Errorf("class filter let %v through", c)
			}
		}
		e.getJSON(t, "/api/v1/incidents?aoi="+id+"&datetime=../2023-12-31", readerToken, &fc)
		if fc.NumberMatched != 0 {
			t.Errorf("first_seen before 2024: %d incidents", fc.NumberMatched)
		}
		// Pages: limit 1 and next links through every incident.
		seen := map[string]bool{}
		next := "/api/v1/collections/" + id + "/items?limit=1"
		for next != "" {
			e.getJSON(t, next, readerToken, &fc)
			next = ""
			for _, f := range fc.Features {
				seen[f.ID] = true
			}
			for _, l := range fc.Links {
				if l.Rel == "next" {
					next = l.Href
				}
			}
		}
		if len(seen) != len(incs) {
			t.Errorf("pages gave %d incidents, want %d", len(seen), len(incs))
		}
		var landing struct{ Links []struct{ Rel string } }
		for _, p := range []string{"/api/v1/", "/api/v1"} {
			e.getJSON(t, p, readerToken, &landing)
			if len(landing.Links) < 4 {
				t.Errorf("landing page %s: %+v", p, landing)
			}
		}
		var coll struct{ Collections []struct{ ID string } }
		e.getJSON(t, "/api/v1/collections", readerToken, &coll)
		if len(coll.Collections) != 1 || coll.Collections[0].ID != id {
			t.Errorf("collections %+v", coll.Collections)
		}
	})

	t.Run("review writes append-only verdicts and an audit log", func(t *testing.T) {
		iid := incs[0].IncidentID
		path := "/api/v1/collections/" + id + "/items/" + iid + "/verdicts"
		for _, c := range []struct {
			body string
			code int
		}{
			{`{"verdict":"rejected","comment":"no reason"}`, http.StatusUnprocessableEntity},
			{`{"verdict":"maybe"}`, http.StatusUnprocessableEntity},
			{`{"verdict":"rejected","reason":"cloud_or_shadow"}`, http.StatusCreated},
			{`{"verdict":"confirmed","comment":"seen on the ground"}`, http.StatusCreated},
		} {
			if res, body := e.do(t, "POST", path, staffToken, []byte(c.body), "application/json"); res.StatusCode != c.code {
				t.Errorf("%s: %d %s, want %d", c.body, res.StatusCode, body, c.code)
			}
		}
		var f struct{ Properties server.Incident }
		e.getJSON(t, "/api/v1/collections/"+id+"/items/"+iid, readerToken, &f)
		if f.Properties.Status != "confirmed" || f.Properties.Verdict == nil || f.Properties.Verdict.By != "alice" {
			t.Fatalf("after review: %+v", f.Properties)
		}
		keys, _ := e.store.List(ctx, id+"/verdicts/")
		if len(keys) != 2 {
			t.Errorf("verdict objects %v, want 2", keys)
		}
		audit, _ := e.store.List(ctx, ".audit/")
		if len(audit) < 4 { // the upload, the two submits, the two verdicts
			t.Errorf("audit objects %v", audit)
		}
	})

	t.Run("watch list", func(t *testing.T) {
		if res, body := e.do(t, "PUT", "/api/v1/aois/"+id+"/watch", staffToken, nil, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("watch: %d %s", res.StatusCode, body)
		}
		if _, err := os.Stat(filepath.Join(e.watch, id+".geojson")); err != nil {
			t.Fatal(err)
		}
		var a server.AOIView
		e.getJSON(t, "/api/v1/aois/"+id, readerToken, &a)
		if !a.Watched {
			t.Error("not watched after PUT")
		}
		if res, _ := e.do(t, "DELETE", "/api/v1/aois/"+id+"/watch", staffToken, nil, ""); res.StatusCode != http.StatusOK {
			t.Fatal("unwatch failed")
		}
		if _, err := os.Stat(filepath.Join(e.watch, id+".geojson")); !os.IsNotExist(err) {
			t.Errorf("watch file still there: %v", err)
		}
	})

	t.Run("stac, health and metrics", func(t *testing.T) {
		var cat struct{ Links []struct{ Rel, Href string } }
		e.getJSON(t, "/stac/catalog.json", readerToken, &cat)
		found := false
		for _, l := range cat.Links {
			found = found || l.Rel == "child" && strings.Contains(l.Href, id)
		}
		if !found {
			t.Errorf("catalog links %+v", cat.Links)
		}
		var coll struct{ Links []struct{ Rel, Href string } }
		e.getJSON(t, "/stac/"+id+"/collection.json", readerToken, &coll)
		var item map[string]any
		e.getJSON(t, "/stac/"+id+"/"+run+"/item.json", readerToken, &item)
		if res, _ := e.do(t, "GET", "/readyz", "", nil, ""); res.StatusCode != http.StatusOK {
			t.Errorf("readyz %d", res.StatusCode)
		}
		res, body := e.do(t, "GET", "/metrics", staffToken, nil, "")
		for _, m := range []string{"changewatch_queue_tasks{queue=\"adhoc\",state=\"completed\"} 1", "changewatch_task_stage_seconds_count", "changewatch_http_requests_total"} {
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), m) {
				t.Errorf("metrics without %s", m)
			}
		}
	})

	t.Run("embargo hides recent runs and incidents from readers only", func(t *testing.T) {
		// The run's after period ended in March 2024: an embargo of 600 months covers it.
		if res, body := e.do(t, "PUT", "/api/v1/aois/"+id+"/embargo", staffToken, []byte(`{"months":120}`), "application/json"); res.StatusCode != http.StatusOK {
			t.Fatalf("embargo: %d %s", res.StatusCode, body)
		}
		var rr struct{ Runs []server.RunView }
		e.getJSON(t, "/api/v1/aois/"+id+"/runs", readerToken, &rr)
		if len(rr.Runs) != 0 {
			t.Errorf("reader sees %d embargoed runs", len(rr.Runs))
		}
		e.getJSON(t, "/api/v1/aois/"+id+"/runs", staffToken, &rr)
		if len(rr.Runs) != 1 {
			t.Errorf("staff sees %d runs, want 1", len(rr.Runs))
		}
		var fc struct{ NumberMatched int }
		e.getJSON(t, "/api/v1/collections/"+id+"/items", readerToken, &fc)
		if fc.NumberMatched != 0 {
			t.Errorf("reader sees %d embargoed incidents", fc.NumberMatched)
		}
		e.getJSON(t, "/api/v1/collections/"+id+"/items", staffToken, &fc)
		if fc.NumberMatched != len(incs) {
			t.Errorf("staff sees %d incidents, want %d", fc.NumberMatched, len(incs))
		}
		for _, p := range []string{"/api/v1/aois/" + id + "/runs/" + run, "/api/v1/aois/" + id + "/runs/" + run + "/files/changes.fgb",
			"/stac/" + id + "/" + run + "/item.json", "/api/v1/aois/" + id + "/files/incidents.fgb"} {
			if res, _ := e.do(t, "GET", p, readerToken, nil, ""); res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusForbidden {
				t.Errorf("reader GET %s: %d", p, res.StatusCode)
			}
		}
		var coll struct{ Links []struct{ Rel string } }
		e.getJSON(t, "/stac/"+id+"/collection.json", readerToken, &coll)
		for _, l := range coll.Links {
			if l.Rel == "item" {
				t.Error("reader's STAC collection links an embargoed item")
			}
		}
		// A shorter embargo than the run's age shows everything again.
		e.do(t, "PUT", "/api/v1/aois/"+id+"/embargo", staffToken, []byte(`{"months":6}`), "application/json")
		e.getJSON(t, "/api/v1/aois/"+id+"/runs", readerToken, &rr)
		if len(rr.Runs) != 1 {
			t.Errorf("reader sees %d runs older than the embargo, want 1", len(rr.Runs))
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
