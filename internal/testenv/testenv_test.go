package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTB records Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	if f.fatal == "" {
		f.fatal = fmt.Sprintf(format, args...)
	}
}

func TestMissingServiceFails(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			t.Setenv(EnvRedisAddr, "")
			f := &fakeTB{TB: t}
			if got := Redis(f); got != "" {
				t.Errorf("Redis = %q, want empty", got)
			}
			want := "./scripts/test.sh"
			if ci == "true" {
				want = ".ci/run"
			}
			if !strings.Contains(f.fatal, EnvRedisAddr) || !strings.Contains(f.fatal, want) {
				t.Errorf("fatal message %q should name %s and %s", f.fatal, EnvRedisAddr, want)
			}
		})
	}
}

func TestS3EndpointFromEnv(t *testing.T) {
	t.Setenv(EnvS3Endpoint, "http://127.0.0.1:1")
	t.Setenv(EnvS3AccessKey, "a")
	t.Setenv(EnvS3SecretKey, "s")
	f := &fakeTB{TB: t}
	e, a, s := S3Endpoint(f)
	if f.fatal != "" || e != "http://127.0.0.1:1" || a != "a" || s != "s" {
		t.Errorf("S3Endpoint = %q %q %q (fatal %q)", e, a, s, f.fatal)
	}
}

func TestSharedData(t *testing.T) {
	t.Run("walks up", func(t *testing.T) {
		t.Setenv(EnvSharedData, "")
		top := t.TempDir()
		want := filepath.Join(top, "shared", "data")
		deep := filepath.Join(top, "clone", "a", "b")
		for _, d := range []string{want, deep} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		t.Chdir(deep)
		if got := SharedData(t); got != want {
			t.Errorf("SharedData = %q, want %q", got, want)
		}
	})
	t.Run("env wins", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv(EnvSharedData, dir)
		if got := SharedData(t); got != dir {
			t.Errorf("SharedData = %q, want %q", got, dir)
		}
	})
	t.Run("env not a dir", func(t *testing.T) {
		t.Setenv(EnvSharedData, filepath.Join(t.TempDir(), "nope"))
		f := &fakeTB{TB: t}
		SharedData(f)
		if !strings.Contains(f.fatal, "not a directory") {
			t.Errorf("fatal = %q", f.fatal)
		}
	})
	t.Run("this repository", func(t *testing.T) {
		// The repository is cloned beside shared/, so the real folder is found.
		t.Setenv(EnvSharedData, "")
		got := SharedData(t)
		if _, err := os.Stat(filepath.Join(got, "README.md")); err != nil {
			t.Errorf("SharedData = %q: %v", got, err)
		}
	})
}
