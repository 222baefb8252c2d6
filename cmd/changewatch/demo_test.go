package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changewatch/changewatch/jobs"
)

// The demo is the README's first command: it must run end to end and score well.
func TestDemo(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, "demo", "--out", out, "--size", "512", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	var got struct {
		Summary jobs.Summary `json:"summary"`
		Scores  struct{ F1 float64 }
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	for _, stage := range []string{"search scenes", "read, composite, classify", "write outputs", "publish"} {
		if !strings.Contains(stderr, stage) {
			t.Errorf("no progress line for %q in:\n%s", stage, stderr)
		}
	}
	if got.Scores.F1 < 0.9 || len(got.Summary.Polygons) == 0 {
		t.Fatalf("demo F1 %.3f, polygons %v", got.Scores.F1, got.Summary.Polygons)
	}
	if _, err := os.Stat(filepath.Join(out, "result", "manifest.json")); err != nil {
		t.Fatal(err)
	}
}
