package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bad input is refused before any work, with exit code 2 and a message naming the problem.
func TestDetectBadInput(t *testing.T) {
	dir := t.TempDir()
	good := "../../testdata/aoi/mine_site.geojson"
	periods := []string{"--catalog", dir, "--before", "2023-01-01/2023-03-31", "--after", "2024-01-01/2024-03-31", "--out", filepath.Join(dir, "out")}
	tests := []struct {
		name     string
		aoi      string
		extra    []string
		wantText string
	}{
		{"not json", writeFile(t, dir, "a.geojson", "{not json"), nil, "json"},
		{"not a polygon", writeFile(t, dir, "b.geojson", `{"type":"Point","coordinates":[28.1,1.3]}`), nil, "Point"},
		{"not closed", "../../testdata/aoi/bad_not_closed.geojson", nil, "closed"},
		{"self-intersecting", "../../testdata/aoi/bad_self_intersecting.geojson", nil, "self-intersect"},
		{"projected metres", "../../testdata/aoi/bad_projected.geojson", nil, "projected"},
		{"hole outside its shell (GEOS-invalid)", "../../testdata/aoi/geos/hole_outside_shell.geojson", nil, "hole lies outside its shell"},
		{"overlapping parts (GEOS-invalid)", "../../testdata/aoi/geos/overlapping_parts.geojson", nil, "overlaps polygon"},
		{"ring touching itself (GEOS-invalid)", "../../testdata/aoi/geos/ring_touching_itself_on_an_edge.geojson", nil, "touches itself"},
		{"empty", writeFile(t, dir, "c.geojson", `{"type":"FeatureCollection","features":[]}`), nil, "no polygon features"},
		{"missing file", filepath.Join(dir, "nope.geojson"), nil, "no such file"},
		{"bad period", good, []string{"--before", "2023-13-01/2023-03-31"}, "--before"},
		{"after before before", good, []string{"--before", "2024-01-01/2024-03-31", "--after", "2023-01-01/2023-03-31"}, "after"},
		{"negative mmu", good, []string{"--min-area", "-1"}, "min_area_ha"},
		{"unknown flag", good, []string{"--frobnicate"}, "frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"detect", "--aoi", tt.aoi}, periods...)
			args = append(args, tt.extra...)
			code, stdout, stderr := runCLI(t, args...)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(strings.ToLower(stderr), strings.ToLower(tt.wantText)) {
				t.Fatalf("stderr %q does not mention %q", stderr, tt.wantText)
			}
			if stdout != "" {
				t.Fatalf("stdout %q, want nothing", stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
				t.Fatal("bad input created the output folder")
			}
		})
	}
}

// An output that cannot be written is refused before any work, with exit code 2.
func TestDetectUnwritableOut(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "a-file", "x")
	code, stdout, stderr := runCLI(t, "detect", "--aoi", "../../testdata/aoi/mine_site.geojson", "--catalog", dir,
		"--before", "2023-01-01/2023-03-31", "--after", "2024-01-01/2024-03-31", "--out", filepath.Join(file, "out"))
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "--out") || !strings.Contains(stderr, "not a directory") {
		t.Fatalf("code %d stdout %q stderr %q, want exit %d and an --out error", code, stdout, stderr, exitUsage)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "changewatch ") || !strings.Contains(stdout, "revision") || !strings.Contains(stdout, "GDAL 3.") {
		t.Fatalf("code %d stdout %q", code, stdout)
	}
}

// status with no Redis says so in one line, without the client's retry logs.
func TestStatusWithoutRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	code, _, stderr := runCLI(t, "status", "--redis", "redis://"+addr)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || len(lines) != 1 || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("code %d, stderr %q: want exit 1 and one line", code, stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, stderr := runCLI(t, "frobnicate"); code != exitUsage || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
}
