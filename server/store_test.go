package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/server"
)

// TestDirStore: the local-folder root of the embedded setup puts atomically, lists below
// a prefix, refuses keys that leave the folder and serves files by range request.
func TestDirStore(t *testing.T) {
	dir := t.TempDir()
	st := server.DirStore(dir)
	ctx := context.Background()
	if err := st.Put(ctx, "a/2024-01_2024-03/changes.fgb", []byte("0123456789"), ""); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "b/ledger.json", []byte("{}"), ""); err != nil {
		t.Fatal(err)
	}
	keys, err := st.List(ctx, "a/")
	if err != nil || len(keys) != 1 || keys[0] != "a/2024-01_2024-03/changes.fgb" {
		t.Fatalf("list a/: %v %v", keys, err)
	}
	if _, err := st.Get(ctx, "../outside"); err == nil {
		t.Error("a key outside the folder was read")
	}
	if err := st.Put(ctx, "../outside", nil, ""); err == nil {
		t.Error("a key outside the folder was written")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "outside")); err == nil {
		t.Error("file written outside the folder")
	}
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("Range", "bytes=2-5")
	rec := httptest.NewRecorder()
	if err := st.ServeFile(rec, req, "a/2024-01_2024-03/changes.fgb"); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusPartialContent || string(body) != "2345" || rec.Header().Get("Content-Type") != "application/vnd.flatgeobuf" {
		t.Errorf("range read: %d %q %s", rec.Code, body, rec.Header().Get("Content-Type"))
	}
	if err := st.Delete(ctx, "b/ledger.json"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "b/ledger.json"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
}

// TestBasemap: only an http(s) XYZ template is accepted; the pages learn it from /me and
// their CSP lets its host's images in.
func TestBasemap(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled by these routes
	defer rdb.Close()
	tokens, err := server.ParseTokens([]byte("alice staff " + staffToken))
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{Store: server.DirStore(t.TempDir()), Redis: rdb, Tokens: tokens}
	for _, bad := range []string{"ftp://x/{z}/{x}/{y}", "https://x/tiles.png", "javascript:alert(1)//{z}{x}{y}", `https://x/{z}/{x}/{y}" onerror="`} {
		cfg.Basemap = bad
		if _, err := server.New(cfg); err == nil {
			t.Errorf("basemap %q accepted", bad)
		}
	}
	cfg.Basemap = "https://tiles.example.org/{z}/{x}/{y}.png"
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	req := httptest.NewRequest("GET", "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+staffToken)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), cfg.Basemap) {
		t.Errorf("/me: %s", rec.Body)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+staffToken)
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "https://tiles.example.org") {
		t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
	}
}
