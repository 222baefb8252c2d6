package main

import (
	"path/filepath"
	"testing"
)

func TestBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"bench", "--size", "511", "--out", dir},
		{"bench", "--size", "100000", "--out", dir},
		{"bench", "--threads", "0", "--out", dir},
		{"bench", "--runs", "0", "--out", dir},
		{"bench", "--baseline", filepath.Join(dir, "missing.sh"), "--out", dir},
		{"bench", "extra"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, stderr)
		}
	}
}
