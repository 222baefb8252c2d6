package stac

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// fakeAPI is a STAC API Item Search endpoint over a fixed list of item documents. It
// filters them itself (collections, datetime, intersects or bbox against the item
// bbox, query eo:cloud_cover lte), pages them with "limit" and a next link in one of
// three styles, and records every request. hook, when set, may answer a request
// instead (n counts requests from 1).
type fakeAPI struct {
	t     *testing.T
	docs  []fakeDoc
	style string // "post-merge" (default), "post-body" or "get"
	hook  func(n int, w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	requests []fakeRequest
}

type fakeDoc struct {
	raw        json.RawMessage
	collection string
	datetime   time.Time
	bbox       orb.Bound
	cloud      float64
}

type fakeRequest struct {
	method string
	target string // path and query
	body   map[string]any
	header http.Header
}

// searchParams is the part of an Item Search body the fake understands.
type searchParams struct {
	Collections []string        `json:"collections"`
	BBox        []float64       `json:"bbox,omitempty"`
	Intersects  json.RawMessage `json:"intersects,omitempty"`
	Datetime    string          `json:"datetime,omitempty"`
	Limit       int             `json:"limit"`
	Query       map[string]struct {
		Lte *float64 `json:"lte"`
	} `json:"query,omitempty"`
	Token string `json:"token,omitempty"`
}

func newFakeAPI(t *testing.T, docs [][]byte) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t}
	for _, raw := range docs {
		var d struct {
			Collection string    `json:"collection"`
			BBox       []float64 `json:"bbox"`
			Properties struct {
				Datetime time.Time `json:"datetime"`
				Cloud    float64   `json:"eo:cloud_cover"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &d); err != nil || len(d.BBox) != 4 {
			t.Fatalf("fake api document: %v (bbox %v)", err, d.BBox)
		}
		f.docs = append(f.docs, fakeDoc{raw, d.Collection, d.Properties.Datetime,
			orb.Bound{Min: orb.Point{d.BBox[0], d.BBox[1]}, Max: orb.Point{d.BBox[2], d.BBox[3]}}, d.Properties.Cloud})
	}
	return f
}

func (f *fakeAPI) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeAPI) reqs() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := fakeRequest{method: r.Method, target: r.URL.RequestURI(), header: r.Header.Clone()}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &rec.body); err != nil {
			f.fail(w, http.StatusBadRequest, "body is not json: "+err.Error())
			return
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	n := len(f.requests)
	f.mu.Unlock()
	if f.hook != nil && f.hook(n, w, r) {
		return
	}
	if r.URL.Path != "/v1/search" {
		f.fail(w, http.StatusNotFound, "no route "+r.URL.Path)
		return
	}
	var p searchParams
	switch r.Method {
	case http.MethodPost:
		if r.Header.Get("Content-Type") != "application/json" {
			f.fail(w, http.StatusUnsupportedMediaType, "want application/json")
			return
		}
		if err := json.Unmarshal(data, &p); err != nil {
			f.fail(w, http.StatusBadRequest, err.Error())
			return
		}
	case http.MethodGet:
		// Only the GET next links this server writes: the whole body in "token".
		b, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("token"))
		if err == nil {
			err = json.Unmarshal(b, &p)
		}
		if err != nil {
			f.fail(w, http.StatusBadRequest, "bad token")
			return
		}
	default:
		f.fail(w, http.StatusMethodNotAllowed, r.Method)
		return
	}
	f.search(w, r, p)
}

func (f *fakeAPI) fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"code": http.StatusText(code), "description": msg})
}

func (f *fakeAPI) search(w http.ResponseWriter, r *http.Request, p searchParams) {
	if p.Limit <= 0 || len(p.Collections) == 0 {
		f.fail(w, http.StatusBadRequest, "limit and collections are required")
		return
	}
	if p.BBox != nil && p.Intersects != nil {
		f.fail(w, http.StatusBadRequest, "only one of bbox and intersects")
		return
	}
	area := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	if p.BBox != nil {
		area = orb.Bound{Min: orb.Point{p.BBox[0], p.BBox[1]}, Max: orb.Point{p.BBox[2], p.BBox[3]}}
	}
	if p.Intersects != nil {
		g, err := decodeGeometry(p.Intersects)
		if err != nil || g == nil {
			f.fail(w, http.StatusBadRequest, fmt.Sprintf("intersects: %v", err))
			return
		}
		area = g.Bound()
	}
	start, end := time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if p.Datetime != "" {
		s, e, ok := strings.Cut(p.Datetime, "/")
		var err1, err2 error
		if s != ".." {
			start, err1 = time.Parse(time.RFC3339, s)
		}
		if e != ".." {
			end, err2 = time.Parse(time.RFC3339, e)
		}
		if !ok || err1 != nil || err2 != nil {
			f.fail(w, http.StatusBadRequest, "bad datetime "+p.Datetime)
			return
		}
	}
	maxCloud := 100.0
	if c, ok := p.Query["eo:cloud_cover"]; ok && c.Lte != nil {
		maxCloud = *c.Lte
	}
	var hits []json.RawMessage
	for _, d := range f.docs {
		if slices.Contains(p.Collections, d.collection) && !d.datetime.Before(start) && !d.datetime.After(end) &&
			d.bbox.Intersects(area) && d.cloud <= maxCloud {
			hits = append(hits, d.raw)
		}
	}
	offset := 0
	if p.Token != "" {
		var err error
		if offset, err = strconv.Atoi(strings.TrimPrefix(p.Token, "next:")); err != nil {
			f.fail(w, http.StatusBadRequest, "bad token")
			return
		}
	}
	page := hits[min(offset, len(hits)):min(offset+p.Limit, len(hits))]
	links := []map[string]any{{"rel": "root", "href": "http://" + r.Host + "/v1/"}}
	if offset+p.Limit < len(hits) {
		token := fmt.Sprintf("next:%d", offset+p.Limit)
		switch f.style {
		case "post-body":
			body := p
			body.Token = token
			links = append(links, map[string]any{"rel": "next", "method": "POST", "href": "/v1/search", "body": body,
				"headers": map[string]any{"X-Page": token}})
		case "get":
			next := p
			next.Token = token
			b, err := json.Marshal(next)
			if err != nil {
				f.t.Error(err)
			}
			links = append(links, map[string]any{"rel": "next", "type": "application/geo+json",
				"href": "http://" + r.Host + "/v1/search?token=" + base64.RawURLEncoding.EncodeToString(b)})
		default:
			links = append(links, map[string]any{"rel": "next", "method": "POST", "href": "http://" + r.Host + "/v1/search",
				"body": map[string]string{"token": token}, "merge": true})
		}
	}
	w.Header().Set("Content-Type", "application/geo+json")
	json.NewEncoder(w).Encode(map[string]any{
		"type": "FeatureCollection", "features": page, "links": links,
		"numberMatched": len(hits), "numberReturned": len(page),
	})
}

// apiItem is a generated Earth Search v1 style item with relative asset hrefs and a
// self link on the API.
func apiItem(id string, dt time.Time, cloud float64, bbox orb.Bound, missing ...string) []byte {
	assets := map[string]any{}
	for _, k := range append(slices.Clone(RequiredAssets), "thumbnail") {
		if !slices.Contains(missing, k) {
			assets[k] = map[string]string{"href": "./" + k + ".tif"}
		}
	}
	tile := strings.Split(id, "_")[1]
	doc := map[string]any{
		"type": "Feature", "stac_version": "1.0.0", "id": id, "collection": CollectionL2A,
		"bbox":     []float64{bbox.Min[0], bbox.Min[1], bbox.Max[0], bbox.Max[1]},
		"geometry": map[string]any{"type": "Polygon", "coordinates": bbox.ToPolygon()},
		"properties": map[string]any{
			"datetime": dt.Format(time.RFC3339Nano), "platform": "sentinel-2b", "eo:cloud_cover": cloud,
			"s2:mgrs_tile": tile, "s2:processing_baseline": "05.10", "s2:sequence": "0",
		},
		"assets": assets,
		"links": []map[string]string{
			{"rel": "self", "href": "https://stac.example.org/v1/collections/sentinel-2-l2a/items/" + id},
		},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return data
}

// okapi is the footprint of the generated items (tile 35NPB).
var okapi = orb.Bound{Min: orb.Point{27.9, 0.9}, Max: orb.Point{28.9, 1.9}}

// generated returns n items of tile 35NPB, one a day from 1 June 2023, cloud cover
// i % 100.
func generated(n int) [][]byte {
	day0 := time.Date(2023, 6, 1, 8, 32, 11, 24e6, time.UTC)
	out := make([][]byte, n)
	for i := range n {
		d := day0.AddDate(0, 0, i)
		out[i] = apiItem(fmt.Sprintf("S2B_35NPB_%s_0_L2A", d.Format("20060102")), d, float64(i%100), okapi)
	}
	return out
}

// realDocs returns the real Earth Search item documents; S2A_30XWN_20240318_0_L2A
// loses its scl asset.
func realDocs(t *testing.T) [][]byte {
	t.Helper()
	dir := filepath.Join(sharedData(t), v1Items)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Name(), "S2A_30XWN_20240318_0_L2A") {
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			delete(doc["assets"].(map[string]any), "scl")
			if data, err = json.Marshal(doc); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, data)
	}
	if len(out) < 5 {
		t.Fatalf("%s: %d documents, want the 5 real items", dir, len(out))
	}
	return out
}

// waits records the waits of an API between attempts instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return context.Cause(ctx)
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.d)
}

// fastOptions keep retries and timeouts short.
func fastOptions() APIOptions {
	return APIOptions{MaxRetries: 3, RetryBase: 4 * time.Millisecond, RequestTimeout: 5 * time.Second, Timeout: 20 * time.Second}
}

func TestAPISearch(t *testing.T) {
	march, endMarch := mustTime(t, "2024-03-01T00:00:00Z"), mustTime(t, "2024-03-31T23:59:59.999999999Z")
	world := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	const (
		knt  = "S2B_23KNT_20240318_0_L2A"
		mut0 = "S2B_42MUT_20240319_0_L2A"
		mut1 = "S2B_42MUT_20240319_1_L2A"
	)
	real := realDocs(t)
	gen := generated(250)
	// Generated items of 2023: June to December is 214 days.
	y2023 := Query{Bound: okapi, Start: mustTime(t, "2023-01-01T00:00:00Z"), End: mustTime(t, "2023-12-31T23:59:59.999999999Z")}
	all2023 := func(t *testing.T, items []Item) {
		if len(items) != 214 || items[0].ID != "S2B_35NPB_20230601_0_L2A" || items[213].ID != "S2B_35NPB_20231231_0_L2A" ||
			!slices.IsSortedFunc(items, func(a, b Item) int { return a.Datetime.Compare(b.Datetime) }) {
			t.Errorf("got %d items: %v ... ", len(items), ids(items[:min(3, len(items))]))
		}
	}
	tests := []struct {
		name    string
		docs    [][]byte
		style   string
		opts    func(*APIOptions)
		q       Query
		want    []string
		check   func(t *testing.T, items []Item)
		pages   int      // requests the server sees
		logs    []string // in the logs
		methods string   // of the requests, e.g. "POST POST GET"
	}{
		{name: "real items, march", docs: real, q: Query{Bound: world, Start: march, End: endMarch},
			want: []string{knt, mut1, mut0}, pages: 1,
			logs: []string{`msg="skip stac item missing required assets" item=S2A_30XWN_20240318_0_L2A`, "missing=[scl]"}},
		{name: "real items, intersects south of 42MUT", docs: real,
			q:    Query{Intersects: orb.Bound{Min: orb.Point{67.5, -7.2}, Max: orb.Point{67.6, -7.1}}.ToPolygon()},
			want: []string{mut0}, pages: 1},
		{name: "real items, cloud filter on the server", docs: real, q: Query{MaxCloudCover: 4}, want: []string{mut0}, pages: 1},
		{name: "real items, collection 1", docs: real, q: Query{Collections: []string{"sentinel-2-c1-l2a"}},
			want: []string{"S2A_T30XWN_20240318T132853_L2A"}, pages: 1},
		{name: "pagination, post merge", docs: gen, q: y2023, check: all2023, pages: 3, methods: "POST POST POST"},
		{name: "pagination, post body", docs: gen, style: "post-body", q: y2023, check: all2023, pages: 3, methods: "POST POST POST"},
		{name: "pagination, get", docs: gen, style: "get", q: y2023, check: all2023, pages: 3, methods: "POST GET GET"},
		{name: "page size 50", docs: gen, opts: func(o *APIOptions) { o.PageSize = 50 }, q: y2023, check: all2023, pages: 5},
		{name: "exactly one full page", docs: gen[:100], q: y2023, check: func(t *testing.T, items []Item) {
			if len(items) != 100 {
				t.Errorf("got %d items", len(items))
			}
		}, pages: 1},
		{name: "nothing", docs: gen, q: Query{Bound: orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{1, 1}}}, want: nil, pages: 1},
		{name: "relative hrefs resolved against the self link", docs: gen[:1], q: Query{}, pages: 1,
			check: func(t *testing.T, items []Item) {
				want := "https://stac.example.org/v1/collections/sentinel-2-l2a/items/red.tif"
				if len(items) != 1 || items[0].Assets["red"].Href != want || items[0].Href != "" {
					t.Errorf("got %+v, want red %s", items, want)
				}
			}},
		{name: "item missing an asset", docs: [][]byte{
			apiItem("S2B_35NPB_20240115_0_L2A", mustTime(t, "2024-01-15T08:32:11Z"), 10, okapi, "swir22"),
			apiItem("S2B_35NPB_20240120_0_L2A", mustTime(t, "2024-01-20T08:32:11Z"), 10, okapi),
		}, q: Query{}, want: []string{"S2B_35NPB_20240120_0_L2A"}, pages: 1,
			logs: []string{`msg="skip stac item missing required assets" item=S2B_35NPB_20240115_0_L2A`, "missing=[swir22]"}},
		{name: "scl not required", docs: [][]byte{
			apiItem("S2B_35NPB_20240115_0_L2A", mustTime(t, "2024-01-15T08:32:11Z"), 10, okapi, "scl"),
		}, q: Query{Assets: []string{"red", "nir"}}, want: []string{"S2B_35NPB_20240115_0_L2A"}, pages: 1},
		{name: "malformed item skipped", docs: [][]byte{
			[]byte(`{"type": "Feature", "stac_version": "1.0.0", "id": "S2B_35NPB_20240115_0_L2A", "bbox": [27.9, 0.9, 28.9, 1.9], "collection": "sentinel-2-l2a", "properties": {"datetime": "2024-01-15T08:32:11Z"}, "geometry": {"type": "Blob"}, "assets": {}}`),
			apiItem("S2B_35NPB_20240120_0_L2A", mustTime(t, "2024-01-20T08:32:11Z"), 10, okapi),
		}, q: Query{}, want: []string{"S2B_35NPB_20240120_0_L2A"}, pages: 1,
			logs: []string{`msg="skip malformed stac item in search results" page=1 feature=0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, tt.docs)
			f.style = tt.style
			srv := f.start(t)
			logger, logs := testLogger()
			opts := fastOptions()
			opts.Logger = logger
			if tt.opts != nil {
				tt.opts(&opts)
			}
			api, err := NewAPI(srv.URL+"/v1/", opts)
			if err != nil {
				t.Fatal(err)
			}
			items, err := api.Search(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, items)
			} else if got := ids(items); !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("Search = %v, want %v", got, tt.want)
			}
			reqs := f.reqs()
			if len(reqs) != tt.pages {
				t.Errorf("%d requests, want %d", len(reqs), tt.pages)
			}
			if tt.methods != "" {
				var m []string
				for _, r := range reqs {
					m = append(m, r.method)
				}
				if got := strings.Join(m, " "); got != tt.methods {
					t.Errorf("methods %q, want %q", got, tt.methods)
				}
			}
			for _, want := range tt.logs {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs lack %q:\n%s", want, logs)
				}
			}
			if !strings.Contains(tt.name, "missing") && !strings.Contains(tt.name, "real") && strings.Contains(logs.String(), "missing required assets") {
				t.Errorf("unexpected warning:\n%s", logs)
			}
		})
	}
}

// TestAPIRequestBody checks, on the server side, the body of the first request and of
// the pages after it.
func TestAPIRequestBody(t *testing.T) {
	aoi := orb.Polygon{{{28.3, 1.3}, {28.5, 1.3}, {28.5, 1.5}, {28.3, 1.3}}}
	start, end := mustTime(t, "2024-01-01T00:00:00Z"), mustTime(t, "2024-03-31T23:59:59.999999999Z")
	tests := []struct {
		name  string
		q     Query
		limit int
		want  string // JSON of the first body
	}{
		{"intersects, period, cloud", Query{Bound: aoi.Bound(), Intersects: aoi, Start: start, End: end, MaxCloudCover: 50}, 0,
			`{"collections":["sentinel-2-l2a"],"datetime":"2024-01-01T00:00:00Z/2024-04-01T00:00:00Z","intersects":{"coordinates":[[[28.3,1.3],[28.5,1.3],[28.5,1.5],[28.3,1.3]]],"type":"Polygon"},"limit":100,"query":{"eo:cloud_cover":{"lte":50}}}`},
		{"bbox, open start", Query{Bound: aoi.Bound(), End: mustTime(t, "2024-03-31T23:59:59Z"), Collections: []string{"a", "b"}}, 7,
			`{"bbox":[28.3,1.3,28.5,1.5],"collections":["a","b"],"datetime":"../2024-03-31T23:59:59Z","limit":7}`},
		{"open end, fractional start, no spatial filter", Query{Start: mustTime(t, "2024-01-01T10:00:00.5+02:00")}, 0,
			`{"collections":["sentinel-2-l2a"],"datetime":"2024-01-01T08:00:00Z/..","limit":100}`},
		{"multipolygon", Query{Intersects: orb.MultiPolygon{aoi}}, 0,
			`{"collections":["sentinel-2-l2a"],"intersects":{"coordinates":[[[[28.3,1.3],[28.5,1.3],[28.5,1.5],[28.3,1.3]]]],"type":"MultiPolygon"},"limit":100}`},
		{"bound as intersects", Query{Intersects: orb.Bound{Min: orb.Point{1, 2}, Max: orb.Point{3, 4}}}, 0,
			`{"collections":["sentinel-2-l2a"],"intersects":{"coordinates":[[[1,2],[3,2],[3,4],[1,4],[1,2]]],"type":"Polygon"},"limit":100}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, generated(3))
			srv := f.start(t)
			opts := fastOptions()
			opts.PageSize = tt.limit
			api, err := NewAPI(srv.URL+"/v1", opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := api.Search(context.Background(), tt.q); err != nil {
				t.Fatal(err)
			}
			reqs := f.reqs()
			got, err := json.Marshal(reqs[0].body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
			if reqs[0].method != http.MethodPost || reqs[0].target != "/v1/search" {
				t.Errorf("request %s %s", reqs[0].method, reqs[0].target)
			}
			if ct := reqs[0].header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}

	// The pages after the first carry the same search, with the token merged in
	// (post-merge) or replaced (post-body, with the link's headers).
	for _, style := range []string{"post-merge", "post-body"} {
		t.Run("next body "+style, func(t *testing.T) {
			f := newFakeAPI(t, generated(250))
			f.style = style
			srv := f.start(t)
			api, err := NewAPI(srv.URL+"/v1", fastOptions())
			if err != nil {
				t.Fatal(err)
			}
			q := Query{Intersects: okapi.ToPolygon(), MaxCloudCover: 60, Start: mustTime(t, "2023-01-01T00:00:00Z")}
			items, err := api.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 61+61+50 { // cloud i % 100 <= 60
				t.Errorf("%d items", len(items))
			}
			reqs := f.reqs()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			first, second := reqs[0].body, reqs[1].body
			if second["token"] != "next:100" {
				t.Errorf("second body token %v", second["token"])
			}
			delete(second, "token")
			a, _ := json.Marshal(first)
			b, _ := json.Marshal(second)
			if string(a) != string(b) {
				t.Errorf("second body differs from the first:\n%s\n%s", a, b)
			}
			if style == "post-body" && reqs[1].header.Get("X-Page") != "next:100" {
				t.Errorf("next link header not sent: %v", reqs[1].header)
			}
		})
	}
}

func TestAPIRetries(t *testing.T) {
	item := apiItem("S2B_35NPB_20240115_0_L2A", mustTime(t, "2024-01-15T08:32:11Z"), 10, okapi)
	status := func(code int, retryAfter string, fail ...int) func(n int, w http.ResponseWriter, r *http.Request) bool {
		return func(n int, w http.ResponseWriter, r *http.Request) bool {
			if !slices.Contains(fail, n) {
				return false
			}
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"code": "Error", "description": "failure %d"}`, n)
			return true
		}
	}
	always := func(code int) func(n int, w http.ResponseWriter, r *http.Request) bool {
		return func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(code)
			fmt.Fprintf(w, "upstream down (%d)", n)
			return true
		}
	}
	hangUp := func(fail ...int) func(n int, w http.ResponseWriter, r *http.Request) bool {
		return func(n int, w http.ResponseWriter, r *http.Request) bool {
			if !slices.Contains(fail, n) {
				return false
			}
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return true
			}
			conn.Close()
			return true
		}
	}
	stall := func(fail ...int) func(n int, w http.ResponseWriter, r *http.Request) bool {
		return func(n int, w http.ResponseWriter, r *http.Request) bool {
			if !slices.Contains(fail, n) {
				return false
			}
			<-r.Context().Done() // the client gives up
			return true
		}
	}
	const base = 4 * time.Millisecond
	tests := []struct {
		name      string
		hook      func(n int, w http.ResponseWriter, r *http.Request) bool
		opts      func(*APIOptions)
		requests  int
		waits     []time.Duration // exact waits; nil: backoff waits checked against their range
		transient bool            // want an error wrapping ErrTransient
		permanent bool            // want an error wrapping ErrPermanent
		errText   []string
	}{
		{name: "429 then success, Retry-After 0", hook: status(429, "0", 1), requests: 2, waits: []time.Duration{0}},
		{name: "429 then success, Retry-After 1", hook: status(429, "1", 1), requests: 2, waits: []time.Duration{time.Second}},
		{name: "503 with Retry-After", hook: status(503, "2", 1, 2), requests: 3, waits: []time.Duration{2 * time.Second, 2 * time.Second}},
		{name: "429 without Retry-After", hook: status(429, "", 1), requests: 2},
		{name: "500 twice then success", hook: status(500, "", 1, 2), requests: 3},
		{name: "connection dropped then success", hook: hangUp(1), requests: 2},
		{name: "request timeout then success", hook: stall(1), opts: func(o *APIOptions) { o.RequestTimeout = 100 * time.Millisecond }, requests: 2},
		{name: "always 500", hook: always(500), requests: 4, transient: true,
			errText: []string{"page 1: POST http://", "temporary failure after 4 attempts: status 500 Internal Server Error: upstream down (4)"}},
		{name: "always 429", hook: always(429), requests: 4, transient: true, errText: []string{"status 429"}},
		{name: "no retries", hook: always(502), opts: func(o *APIOptions) { o.MaxRetries = -1 }, requests: 1, transient: true},
		{name: "Retry-After too long", hook: status(503, "3600", 1), requests: 1, waits: []time.Duration{}, transient: true,
			errText: []string{"server asks to retry after 1h0m0s"}},
		{name: "400 with a message, not retried", hook: status(400, "", 1), requests: 1, waits: []time.Duration{}, permanent: true,
			errText: []string{"status 400 Bad Request: failure 1"}},
		{name: "404 plain text", hook: func(n int, w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "no such\n   endpoint", http.StatusNotFound)
			return true
		}, requests: 1, waits: []time.Duration{}, permanent: true, errText: []string{"status 404 Not Found: no such endpoint"}},
		{name: "malformed json", hook: func(n int, w http.ResponseWriter, r *http.Request) bool {
			io.WriteString(w, `{"type": "FeatureCollection", "features": [`)
			return true
		}, requests: 1, waits: []time.Duration{}, permanent: true, errText: []string{"page 1: POST", "decode response"}},
		{name: "not a feature collection", hook: func(n int, w http.ResponseWriter, r *http.Request) bool {
			io.WriteString(w, `{"type": "Catalog", "id": "x"}`)
			return true
		}, requests: 1, waits: []time.Duration{}, permanent: true, errText: []string{`not a FeatureCollection (type "Catalog")`}},
		{name: "search timeout", hook: stall(1, 2, 3, 4), opts: func(o *APIOptions) { o.Timeout = 150 * time.Millisecond }, requests: 1,
			transient: true, errText: []string{"search timed out after 150ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, [][]byte{item})
			f.hook = tt.hook
			srv := f.start(t)
			logger, logs := testLogger()
			opts := fastOptions()
			opts.Logger = logger
			if tt.opts != nil {
				tt.opts(&opts)
			}
			api, err := NewAPI(srv.URL+"/v1", opts)
			if err != nil {
				t.Fatal(err)
			}
			var w waits
			api.sleep = w.sleep
			items, err := api.Search(context.Background(), Query{})
			if !tt.transient && !tt.permanent {
				if err != nil {
					t.Fatal(err)
				}
				if len(items) != 1 {
					t.Errorf("items %v", ids(items))
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				if errors.Is(err, ErrTransient) != tt.transient || errors.Is(err, ErrPermanent) != tt.permanent {
					t.Errorf("error %q: transient %v permanent %v, want %v %v", err,
						errors.Is(err, ErrTransient), errors.Is(err, ErrPermanent), tt.transient, tt.permanent)
				}
				for _, want := range tt.errText {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
			}
			if n := len(f.reqs()); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			got := w.get()
			if tt.waits != nil {
				if !slices.Equal(got, tt.waits) && len(got)+len(tt.waits) > 0 {
					t.Errorf("waits %v, want %v", got, tt.waits)
				}
			} else {
				for i, d := range got {
					if hi := base << i; d < hi/2 || d > hi {
						t.Errorf("wait %d is %v, want within [%v, %v]", i, d, hi/2, hi)
					}
				}
			}
			if len(got) > 0 && !strings.Contains(logs.String(), `msg="stac api request failed, retrying"`) {
				t.Errorf("retries not logged:\n%s", logs)
			}
		})
	}
}

// TestAPIRealSleep runs one retry with the real timer: RetryBase bounds the wait.
func TestAPIRealSleep(t *testing.T) {
	f := newFakeAPI(t, generated(1))
	f.hook = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	}
	srv := f.start(t)
	opts := fastOptions()
	opts.RetryBase = 20 * time.Millisecond
	api, err := NewAPI(srv.URL+"/v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := api.Search(context.Background(), Query{}); err != nil {
		t.Fatal(err)
	}
	if d, calls := time.Since(t0), len(f.reqs()); d < 10*time.Millisecond || calls != 2 {
		t.Errorf("took %v with %d requests, want >= 10ms and 2", d, calls)
	}
}

func TestAPICancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFakeAPI(t, generated(250))
	f.hook = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n != 2 {
			return false
		}
		cancel() // the caller gives up while page 2 is being served
		<-r.Context().Done()
		return true
	}
	srv := f.start(t)
	api, err := NewAPI(srv.URL+"/v1", fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.Search(ctx, Query{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTransient) || errors.Is(err, ErrPermanent) {
		t.Errorf("error %v, want context.Canceled only", err)
	}
	if !strings.Contains(fmt.Sprint(err), "page 2") {
		t.Errorf("error %v does not name page 2", err)
	}
	if n := len(f.reqs()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}

	// Cancelled while waiting a minute to retry.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	f2 := newFakeAPI(t, generated(1))
	f2.hook = func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		time.AfterFunc(50*time.Millisecond, cancel2)
		return true
	}
	srv2 := f2.start(t)
	opts := fastOptions()
	opts.RetryBase, opts.Timeout = time.Minute, 10*time.Minute
	api2, err := NewAPI(srv2.URL+"/v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := api2.Search(ctx2, Query{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestAPIPaging(t *testing.T) {
	t.Run("page cap", func(t *testing.T) {
		f := newFakeAPI(t, generated(250))
		srv := f.start(t)
		opts := fastOptions()
		opts.MaxPages = 2
		api, err := NewAPI(srv.URL+"/v1", opts)
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.Search(context.Background(), Query{})
		if !errors.Is(err, ErrPermanent) || !strings.Contains(fmt.Sprint(err), "more than 2 pages") {
			t.Errorf("error %v", err)
		}
		if n := len(f.reqs()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})

	page := func(next string) func(n int, w http.ResponseWriter, r *http.Request) bool {
		return func(n int, w http.ResponseWriter, r *http.Request) bool {
			fmt.Fprintf(w, `{"type": "FeatureCollection", "features": [%s], "links": [%s]}`,
				apiItem(fmt.Sprintf("S2B_35NPB_202401%02d_0_L2A", n), time.Date(2024, 1, n, 8, 0, 0, 0, time.UTC), 1, okapi), next)
			return true
		}
	}
	tests := []struct {
		name     string
		hook     func(n int, w http.ResponseWriter, r *http.Request) bool
		requests int
		errText  string
	}{
		{"next repeats the page", page(`{"rel": "next", "href": "/v1/search", "method": "POST", "merge": true}`), 1, "next link repeats the page"},
		{"get loop", page(`{"rel": "next", "href": "/v1/search?page=x"}`), 2, "page 2: permanent failure: next link repeats the page"},
		{"unknown method", page(`{"rel": "next", "href": "/v1/search", "method": "PATCH"}`), 1, `next link method "PATCH"`},
		{"empty page ends", func(n int, w http.ResponseWriter, r *http.Request) bool {
			fmt.Fprintf(w, `{"type": "FeatureCollection", "features": [], "links": [{"rel": "next", "href": "/v1/search?p=%d"}]}`, n)
			return true
		}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil)
			f.hook = tt.hook
			srv := f.start(t)
			api, err := NewAPI(srv.URL+"/v1", fastOptions())
			if err != nil {
				t.Fatal(err)
			}
			_, err = api.Search(context.Background(), Query{})
			if tt.errText == "" && err != nil || tt.errText != "" && (!errors.Is(err, ErrPermanent) || !strings.Contains(fmt.Sprint(err), tt.errText)) {
				t.Errorf("error %v, want one with %q", err, tt.errText)
			}
			if n := len(f.reqs()); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

func TestNewAPI(t *testing.T) {
	tests := []struct {
		base, root, search string
		ok                 bool
	}{
		{"https://earth-search.aws.element84.com/v1", "https://earth-search.aws.element84.com/v1", "https://earth-search.aws.element84.com/v1/search", true},
		{"https://earth-search.aws.element84.com/v1/", "https://earth-search.aws.element84.com/v1", "https://earth-search.aws.element84.com/v1/search", true},
		{"http://127.0.0.1:8080/v1/search", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/search", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080/search", true},
		{"ftp://example.org/v1", "", "", false},
		{"/local/folder", "", "", false},
		{"https://", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			a, err := NewAPI(tt.base, APIOptions{})
			if (err == nil) != tt.ok {
				t.Fatalf("NewAPI error %v, want ok %v", err, tt.ok)
			}
			if err == nil && (a.Root() != tt.root || a.searchURL != tt.search) {
				t.Errorf("root %s search %s", a.Root(), a.searchURL)
			}
		})
	}
	if _, err := NewAPI("https://x.org", APIOptions{PageSize: -1}); err == nil {
		t.Error("negative page size: no error")
	}
	a, err := NewAPI("https://x.org", APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Search(context.Background(), Query{MaxCloudCover: 120}); !errors.Is(err, ErrPermanent) {
		t.Errorf("invalid query: %v", err)
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		catalog string
		want    string // type of the Searcher; "" for an error
	}{
		{"https://earth-search.aws.element84.com/v1", "*stac.API"},
		{"HTTP://127.0.0.1:9000/", "*stac.API"},
		{"../testdata/stac", "*stac.Static"},
		{"s3://imagery/catalog", "*stac.Static"},
		{"https://example.org/catalog.json", ""},
		{"../testdata/missing", ""},
		{"gs://bucket/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.catalog, func(t *testing.T) {
			s, err := Open(tt.catalog, newMemStore(), nil)
			if got := fmt.Sprintf("%T", s); err == nil && got != tt.want || err != nil && (tt.want != "" || s != nil) {
				t.Errorf("Open = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", -1}, {"0", 0}, {"1", time.Second}, {" 120 ", 2 * time.Minute}, {"-3", -1}, {"soon", -1},
		{"Wed, 21 Oct 2015 07:28:00 GMT", 0}, // in the past
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.h, got, tt.want)
		}
	}
	if got := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); got < 59*time.Minute || got > time.Hour {
		t.Errorf("retryAfter(an hour from now) = %v", got)
	}
}

// A redirect off the API's host is refused (permanently) and never followed: the API
// host must not be able to point the worker at a loopback or metadata address. A
// redirect on the same host is followed.
func TestAPIRedirects(t *testing.T) {
	var elsewhereHits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhereHits.Add(1)
		w.Header().Set("Content-Type", "application/geo+json")
		_, _ = io.WriteString(w, `{"type":"FeatureCollection","features":[]}`)
	}))
	defer elsewhere.Close()
	f := newFakeAPI(t, generated(3))
	real := f.start(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/off/search":
			http.Redirect(w, r, elsewhere.URL+"/search", http.StatusTemporaryRedirect)
		case "/same/search":
			http.Redirect(w, r, "/v1/search", http.StatusTemporaryRedirect)
		default: // the fake API, proxied on this host
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, real.URL+r.URL.Path, r.Body)
			req.Header = r.Header.Clone()
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
		}
	}))
	defer front.Close()
	q := Query{Intersects: okapi.ToPolygon(), Start: mustTime(t, "2023-01-01T00:00:00Z")}

	api, err := NewAPI(front.URL+"/off", fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Search(context.Background(), q); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "leaves the API's host") {
		t.Errorf("redirect off the host: %v, want a permanent error naming it", err)
	}
	if elsewhereHits.Load() != 0 {
		t.Errorf("the redirect's target was fetched %d times", elsewhereHits.Load())
	}
	api, err = NewAPI(front.URL+"/same", fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Search(context.Background(), q); err != nil {
		t.Errorf("redirect on the same host: %v", err)
	}
}
