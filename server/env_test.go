package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb/geojson"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/server"
	"github.com/changewatch/changewatch/synth"
	"github.com/changewatch/changewatch/watch"
	"github.com/changewatch/changewatch/worker"
)

const (
	staffToken  = "staff-token-for-the-tests-0001"
	readerToken = "reader-token-for-the-tests-0001"
	// redisDB keeps this package's queues apart from the worker package's tests, which
	// run at the same time on the same redis-server and take any task of their database.
	redisDB = 11
)

// env is one serve instance on the real test servers with an in-test worker: results in
// a bucket of versitygw, the queue on redis-server, the synthetic scenes as catalog.
type env struct {
	url     string
	s3      *s3store.Client
	bucket  string
	watch   string
	scenes  *synth.Result
	store   server.Store
	rdb     *redis.Client
	closeFn func()
}

var (
	scenesOnce sync.Once
	scenesRes  *synth.Result
	scenesErr  error
	scenesDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if scenesDir != "" {
		os.RemoveAll(scenesDir)
	}
	os.Exit(code)
}

func testScenes(t testing.TB) *synth.Result {
	t.Helper()
	scenesOnce.Do(func() {
		scenesDir, scenesErr = os.MkdirTemp("", "changewatch-serve-synth-")
		if scenesErr == nil {
			scenesRes, scenesErr = synth.Generate(context.Background(), scenesDir, synth.Config{Size: 512, Seed: 3})
		}
	})
	if scenesErr != nil {
		t.Fatal(scenesErr)
	}
	return scenesRes
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	endpoint, access, secret := testenv.S3Endpoint(t)
	raster.Init(raster.S3Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	s := testScenes(t)
	cl, err := s3store.New(ctx, s3store.Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	bucket := "cw-serve-" + hex.EncodeToString(b)
	if err := cl.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t), DB: redisDB})
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := &worker.Handler{Pipeline: &worker.Pipeline{Store: cl, Logger: log, WorkDir: t.TempDir()}, Logger: log}
	wsrv := worker.NewServer(rdb, worker.ServerConfig{Concurrency: 1, Logger: log, ShutdownTimeout: 5 * time.Second})
	if err := wsrv.Start(h.Mux()); err != nil {
		t.Fatal(err)
	}
	out := "s3://" + bucket + "/results"
	store, err := server.NewStore(out, cl)
	if err != nil {
		t.Fatal(err)
	}
	wdir := t.TempDir()
	loc, err := watch.ParseLocation(wdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := server.ParseTokens([]byte("alice staff " + staffToken + "\nbob reader " + readerToken + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: store, Watch: loc, WatchStore: server.DirStore(wdir), Catalog: s.Root, Output: out,
		Redis: rdb, Tokens: tokens, Logger: log, MaxUpload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	e := &env{url: hs.URL, s3: cl, bucket: bucket, watch: wdir, scenes: s, store: store, rdb: rdb}
	e.closeFn = func() {
		hs.Close()
		srv.Close()
		wsrv.Shutdown()
		rdb.Close()
	}
	t.Cleanup(e.closeFn)
	return e
}

// do sends a request with token ("" none) and returns the response and its body.
func (e *env) do(t *testing.T, method, path, token string, body []byte, ct string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytesReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := readAll(res)
	if err != nil {
		t.Fatal(err)
	}
	return res, data
}

// getJSON GETs path as token, wants 200 and decodes into v.
func (e *env) getJSON(t *testing.T, path, token string, v any) {
	t.Helper()
	res, data := e.do(t, "GET", path, token, nil, "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, data)
	}
}

var noRedirect = &http.Client{Timeout: 2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// processRun uploads the scene set's AOI as id, submits it and waits for the in-test
// worker to publish it; it returns the run name.
func (e *env) processRun(t *testing.T, id string) string {
	t.Helper()
	data, err := os.ReadFile(e.scenes.AOIGeoJSON)
	if err != nil {
		t.Fatal(err)
	}
	f, err := geojson.UnmarshalFeature(data)
	if err != nil {
		t.Fatal(err)
	}
	f.Properties["id"] = id
	data, _ = json.Marshal(f)
	res, body := e.do(t, "POST", "/api/v1/aois", staffToken, data, "application/geo+json")
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	sub, _ := json.Marshal(map[string]any{"aoi_id": id, "before": "2023-01-01/2023-03-31", "after": "2024-01-01/2024-03-31"})
	res, body = e.do(t, "POST", "/api/v1/requests", staffToken, sub, "application/json")
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", res.StatusCode, body)
	}
	var task server.TaskView
	json.Unmarshal(body, &task)
	e.waitTask(t, task.ID)
	return "2024-01_2024-03"
}

// waitTask polls a task until it is completed (the test's own timeout bounds it).
func (e *env) waitTask(t *testing.T, id string) server.TaskView {
	t.Helper()
	for {
		var v server.TaskView
		e.getJSON(t, "/api/v1/requests/"+id, staffToken, &v)
		switch v.State {
		case "completed":
			return v
		case "archived":
			t.Fatalf("task %s failed: %s", id, v.Failure)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeLedger writes a ledger.json fixture per docs/contracts.md for run of AOI id: one
// incident per change polygon of the run, first seen in the after period's first month.
func (e *env) writeLedger(t *testing.T, id, run string) []*server.Incident {
	t.Helper()
	ctx := context.Background()
	data, err := e.store.Get(ctx, id+"/"+run+"/changes.geojson")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		t.Fatal(err)
	}
	var incs []*server.Incident
	for i, f := range fc.Features {
		area, _ := f.Properties["area_ha"].(float64)
		incs = append(incs, &server.Incident{IncidentID: fmt.Sprintf("inc-%s-%08x", id, i), Class: f.Properties.MustString("class"),
			Status: "new", FirstSeen: "2024-01-09", LastSeen: "2024-03-04", AreaHa: area, RunsSeen: 2, MaxConfidence: 0.9,
			Runs: []string{"2023-10_2023-12", run}, AreaByRun: map[string]float64{"2023-10_2023-12": area / 2, run: area},
			MergedFrom: []string{}, ProtectedArea: "Okapi Wildlife Reserve", MineName: "Muchacha", MineMineral: "gold",
			Geometry: geojson.NewGeometry(f.Geometry)})
	}
	led, _ := json.Marshal(server.Ledger{AOIID: id, Updated: "2024-04-02T06:00:00Z", Runs: []string{"2023-10_2023-12", run}, Incidents: incs})
	if err := e.store.Put(ctx, id+"/ledger.json", led, "application/json"); err != nil {
		t.Fatal(err)
	}
	return incs
}

func tokenFor(role string) string {
	switch role {
	case "staff":
		return staffToken
	case "reader":
		return readerToken
	case "bad":
		return "not-a-token-of-this-server"
	}
	return ""
}
