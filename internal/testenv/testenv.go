// Package testenv tells tests where the services and data they need are. The
// services (redis-server, an S3-compatible server) are started by ./scripts/test.sh,
// which exports their addresses in CHANGEWATCH_TEST_* variables.
//
// A test whose service is missing fails; it never skips. Under CI=true that means
// .ci/run did not start the service; on a developer machine it means the test was run
// with plain `go test` instead of ./scripts/test.sh.
package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Environment variables set by ./scripts/test.sh.
const (
	EnvS3Endpoint  = "CHANGEWATCH_TEST_S3_ENDPOINT"   // e.g. http://127.0.0.1:7070
	EnvS3AccessKey = "CHANGEWATCH_TEST_S3_ACCESS_KEY" // root access key of the server
	EnvS3SecretKey = "CHANGEWATCH_TEST_S3_SECRET_KEY" // root secret key of the server
	EnvRedisAddr   = "CHANGEWATCH_TEST_REDIS_ADDR"    // host:port of a redis-server
	EnvSharedData  = "CHANGEWATCH_SHARED_DATA"        // optional: path of the shared data folder
)

// S3Endpoint returns the URL and root keys of the S3-compatible test server
// (versitygw, path-style addressing, any region). It fails the test when any of them
// is unset.
func S3Endpoint(t testing.TB) (endpoint, access, secret string) {
	t.Helper()
	return require(t, EnvS3Endpoint, "an S3-compatible server (versitygw)"),
		require(t, EnvS3AccessKey, "an S3-compatible server (versitygw)"),
		require(t, EnvS3SecretKey, "an S3-compatible server (versitygw)")
}

// Redis returns the host:port of the test redis-server. It fails the test when unset.
func Redis(t testing.TB) string {
	t.Helper()
	return require(t, EnvRedisAddr, "redis-server")
}

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v == "true" || v == "1"
}

func require(t testing.TB, name, what string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v != "" {
		return v
	}
	if InCI() {
		t.Fatalf("%s is not set under CI=true: .ci/run (./scripts/test.sh) must start %s and export it", name, what)
	}
	t.Fatalf("%s is not set: this test needs %s; run it through ./scripts/test.sh "+
		"(e.g. ./scripts/test.sh ./%s), which starts the services and sets CHANGEWATCH_TEST_*",
		name, what, relPkg())
	return ""
}

// relPkg guesses the package directory relative to the repository root, for the hint.
func relPkg() string {
	wd, err := os.Getwd()
	if err != nil {
		return "..."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if rel, err := filepath.Rel(dir, wd); err == nil && rel != "." {
				return filepath.ToSlash(rel) + "/"
			}
			return "..."
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "..."
		}
		dir = parent
	}
}

// SharedData returns the absolute path of the read-only shared data folder:
// $CHANGEWATCH_SHARED_DATA when set, else the first "shared/data" folder found
// beside the working directory or one of its parents (the repository is cloned next
// to a "shared" folder, e.g. /work/main and /work/shared). It fails the test when
// there is none.
func SharedData(t testing.TB) string {
	t.Helper()
	if v := os.Getenv(EnvSharedData); v != "" {
		abs, err := filepath.Abs(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", EnvSharedData, v, err)
		}
		if !isDir(abs) {
			t.Fatalf("%s=%q is not a directory", EnvSharedData, v)
		}
		return abs
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("shared data: %v", err)
	}
	for dir := wd; ; {
		if cand := filepath.Join(dir, "shared", "data"); isDir(cand) {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Fatalf("shared data folder not found: no shared/data beside %s or any parent; "+
		"clone the repository next to the shared folder or set %s", wd, EnvSharedData)
	return ""
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
