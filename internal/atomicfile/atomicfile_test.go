package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Concurrent writers of one path each leave a whole file, with no temporary file left.
func TestWriteConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "doc.json")
	var wg sync.WaitGroup
	want := map[string]bool{}
	for i := range 8 {
		data := []byte(fmt.Sprintf("writer %d %0512d", i, i))
		want[string(data)] = true
		wg.Go(func() {
			if err := Write(p, data); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !want[string(got)] {
		t.Errorf("file holds %q, not one writer's data", got[:min(len(got), 40)])
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("folder holds %d files, want 1", len(ents))
	}
}

// A write into a missing folder fails and leaves nothing.
func TestWriteMissingFolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing", "doc.json")
	if err := Write(p, []byte("x")); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("stat: %v", err)
	}
}
