package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

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
