package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/access"
	"github.com/changewatch/changewatch/jobs"
)

// countingListener counts the connections made to it (and answers none).
func countingListener(t *testing.T) (addr string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), conns
}

// hostileCatalog copies the synthetic catalog's items into a new folder, their asset
// hrefs made absolute (into the synthetic scenes), and the red href of every item set to
// red.
func hostileCatalog(t *testing.T, root, red string) string {
	t.Helper()
	cat := t.TempDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var doc map[string]any
		if json.Unmarshal(data, &doc) != nil || doc["assets"] == nil {
			return nil
		}
		for k, a := range doc["assets"].(map[string]any) {
			am := a.(map[string]any)
			href, _ := am["href"].(string)
			if strings.HasPrefix(href, "./") {
				am["href"] = filepath.Join(filepath.Dir(p), href)
			}
			if k == "red" {
				am["href"] = red
			}
		}
		out, _ := json.Marshal(doc)
		rel, _ := filepath.Rel(root, p)
		dst := filepath.Join(cat, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, out, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// The hostile hrefs of issue 15, through the whole pipeline: each is refused before
// anything is read, permanently, naming the href; the SSRF target sees no connection.
func TestHostileHrefsAreRefused(t *testing.T) {
	s := scenes(t)
	addr, conns := countingListener(t)
	tests := []struct {
		name, red, problem string
	}{
		{"ssrf with a fragment suffix", "http://" + addr + "/latest/meta-data/#.tif", "fragments"},
		{"ssrf to another host", "http://" + addr + "/latest/meta-data/B04.tif", "outside the allowed locations"},
		{"vsicurl", "/vsicurl/http://" + addr + "/B04.tif", "virtual file systems"},
		{"vsizip", "/vsizip/" + s.Root + "/x.zip/B04.tif", "virtual file systems"},
		{"vsisubfile", "/vsisubfile/0_1000," + s.Root + "/B04.tif", "virtual file systems"},
		{"inline VRT", `<VRTDataset rasterXSize="10" rasterYSize="10"><VRTRasterBand dataType="UInt16" band="1" subClass="VRTRawRasterBand"><SourceFilename>/etc/passwd</SourceFilename></VRTRasterBand></VRTDataset>`, "inline datasets"},
		{"absolute path out of the catalog", "/etc/ssl/certs/B04.tif", "outside the allowed locations"},
		{"dot-dot out of the catalog", strings.Repeat("../", 30) + "etc/B04.tif", "outside the allowed locations"},
		{"not a tif", s.Root + "/x.jp2", "not a .tif"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := hostileCatalog(t, s.Root, tt.red)
			req := request(t, s.AOIGeoJSON, cat, t.TempDir())
			p := &Pipeline{Access: &access.Policy{Allow: []string{s.Root}}}
			_, err := p.Detect(context.Background(), req, nil)
			if !errors.Is(err, access.ErrRefused) || !Permanent(err) || !strings.Contains(err.Error(), tt.problem) || !strings.Contains(err.Error(), "band red") {
				t.Fatalf("error %v: want a permanent refusal of the red href about %q", err, tt.problem)
			}
		})
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the SSRF target got %d connections", n)
	}
	// By default (no Allow of the scenes' folder) hrefs outside the catalog's folder are
	// refused too.
	cat := hostileCatalog(t, s.Root, filepath.Join(s.Root, "B04.tif"))
	_, err := (&Pipeline{}).Detect(context.Background(), request(t, s.AOIGeoJSON, cat, t.TempDir()), nil)
	if !errors.Is(err, access.ErrRefused) {
		t.Errorf("default policy: %v, want a refusal", err)
	}
}

func TestHostileRequestsArePermanent(t *testing.T) {
	s := scenes(t)
	out := t.TempDir()
	tests := []struct {
		name string
		edit func(r *jobs.DetectRequest)
	}{
		{"aoi id escaping the output", func(r *jobs.DetectRequest) { r.AOIID = "../../../../x/escaped" }},
		{"aoi id naming another aoi", func(r *jobs.DetectRequest) { r.AOIID = "a/../other-aoi" }},
		{"10 kB aoi id", func(r *jobs.DetectRequest) { r.AOIID = strings.Repeat("a", 10000) }},
		{"output with ..", func(r *jobs.DetectRequest) { r.Output = out + "/../escaped" }},
		{"properties.id escaping", func(r *jobs.DetectRequest) {
			var doc map[string]any
			if err := json.Unmarshal(r.AOI, &doc); err != nil {
				t.Fatal(err)
			}
			if doc["type"] != "Feature" {
				doc = map[string]any{"type": "Feature", "geometry": doc}
			}
			doc["properties"] = map[string]any{"id": "../../../../x/escaped"}
			r.AOI, _ = json.Marshal(doc)
		}},
		{"catalog through vsicurl", func(r *jobs.DetectRequest) { r.Catalog = "/vsicurl/http://127.0.0.1:1/" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, s.AOIGeoJSON, s.Root, out)
			tt.edit(&req)
			_, err := (&Pipeline{}).Detect(context.Background(), req, nil)
			if err == nil || !Permanent(err) {
				t.Fatalf("error %v: want a permanent error", err)
			}
		})
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("the output folder holds %d entries", len(ents))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "escaped")); err == nil {
		t.Error("a result was written outside the output")
	}
}

// Payloads that asked for 3e9 chunks or a 2e9 x 2e9 window killed every worker that took
// them (out of memory); count -1 panicked and was retried. Now they are refused before
// anything is allocated, without retry.
func TestHostilePayloadsAreRefused(t *testing.T) {
	s := scenes(t)
	req := request(t, s.AOIGeoJSON, s.Root, t.TempDir())
	req.AOIID = "muchacha"
	scene := []jobs.Scene{{ID: "x", Hrefs: map[string]string{"red": s.Root + "/B04.tif"}}}
	h := &Handler{Pipeline: &Pipeline{}}
	tests := []struct {
		name, typ string
		payload   any
	}{
		{"merge of 3e9 chunks", jobs.TypeMerge, jobs.MergeRequest{Version: 1, Request: req, Run: "0123456789abcdef", Before: scene, After: scene, Count: 3_000_000_000}},
		{"merge of -1 chunks", jobs.TypeMerge, jobs.MergeRequest{Version: 1, Request: req, Run: "0123456789abcdef", Before: scene, After: scene, Count: -1}},
		{"merge with a run of ../", jobs.TypeMerge, jobs.MergeRequest{Version: 1, Request: req, Run: "../../x", Before: scene, After: scene, Count: 1}},
		{"chunk of 2e9 x 2e9 px", jobs.TypeDetectChunk, jobs.ChunkRequest{Version: 1, Request: req, Run: "0123456789abcdef", Before: scene, After: scene, Count: 1, Width: 2e9, Height: 2e9}},
		{"chunk outside the grid", jobs.TypeDetectChunk, jobs.ChunkRequest{Version: 1, Request: req, Run: "0123456789abcdef", Before: scene, After: scene, Count: 1, Col: 100000, Width: 600, Height: 600}},
		{"chunk with a negative index", jobs.TypeDetectChunk, jobs.ChunkRequest{Version: 1, Request: req, Run: "0123456789abcdef", Before: scene, After: scene, Count: 2, Index: -1, Width: 6, Height: 6}},
		{"chunk reading a local file outside the catalog", jobs.TypeDetectChunk, jobs.ChunkRequest{Version: 1, Request: req, Run: "0123456789abcdef",
			Before: []jobs.Scene{{ID: "x", Hrefs: map[string]string{"red": "/etc/B04.tif"}}}, After: scene, Count: 1, Width: 6, Height: 6}},
		{"detect with a 10 kB id", jobs.TypeDetectChange, func() jobs.DetectRequest { r := req; r.AOIID = strings.Repeat("x", 10000); return r }()},
		{"not json", jobs.TypeMerge, json.RawMessage(`{"version":1,"count":`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := json.Marshal(tt.payload)
			if err != nil {
				payload = tt.payload.(json.RawMessage)
			}
			err = h.Mux().ProcessTask(context.Background(), asynq.NewTask(tt.typ, payload))
			if !errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("error %v: want it refused without retry", err)
			}
		})
	}
}
