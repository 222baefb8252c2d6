package faultproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/s3store"
)

// TestFaults sends requests through a proxy in front of the real S3 server (versitygw)
// with every request failing in one way, and checks what a client sees and what the
// proxy counted.
func TestFaults(t *testing.T) {
	endpoint, access, secret := testenv.S3Endpoint(t)
	ctx := context.Background()
	direct, err := s3store.New(ctx, s3store.Config{Endpoint: endpoint, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	var nonce [4]byte
	rand.Read(nonce[:])
	bucket := "faultproxy-" + hex.EncodeToString(nonce[:])
	if err := direct.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	if err := direct.Put(ctx, bucket, "obj.bin", body, "application/octet-stream"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		fail   Kind
		ranged bool
		put    bool
		check  func(t *testing.T, resp *http.Response, err error, got []byte, readErr error)
	}{
		{name: "no fault", check: func(t *testing.T, resp *http.Response, err error, got []byte, readErr error) {
			if err != nil || readErr != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
				t.Fatalf("status %v, err %v, read %v, %d bytes: want the object", resp, err, readErr, len(got))
			}
		}},
		{name: "500", fail: InternalError, check: wantS3Error(500, "InternalError")},
		{name: "503 slow down", fail: SlowDown, check: wantS3Error(503, "SlowDown")},
		{name: "reset mid-body", fail: Reset, check: func(t *testing.T, resp *http.Response, err error, got []byte, readErr error) {
			if err == nil && readErr == nil {
				t.Fatalf("read %d of %d bytes without an error", len(got), len(body))
			}
			e := errors.Join(err, readErr)
			if !errors.Is(e, syscall.ECONNRESET) && !errors.Is(e, io.ErrUnexpectedEOF) && !strings.Contains(e.Error(), "reset") {
				t.Fatalf("error %v: want a connection reset", e)
			}
		}},
		{name: "truncated range", fail: Truncated, ranged: true, check: func(t *testing.T, resp *http.Response, err error, got []byte, readErr error) {
			if err != nil || resp.StatusCode != http.StatusPartialContent {
				t.Fatalf("status %v, err %v: want 206", resp, err)
			}
			if !errors.Is(readErr, io.ErrUnexpectedEOF) || len(got) >= 1000 {
				t.Fatalf("read %d of 1000 bytes, err %v: want fewer and an unexpected EOF", len(got), readErr)
			}
		}},
		{name: "truncated object", fail: Truncated, check: func(t *testing.T, resp *http.Response, err error, got []byte, readErr error) {
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %v, err %v: want 200", resp, err)
			}
			if !errors.Is(readErr, io.ErrUnexpectedEOF) || len(got) >= len(body) {
				t.Fatalf("read %d of %d bytes, err %v: want fewer and an unexpected EOF", len(got), len(body), readErr)
			}
		}},
		{name: "put reset before the server", fail: Reset, put: true, check: func(t *testing.T, resp *http.Response, err error, got []byte, readErr error) {
			if err == nil {
				t.Fatalf("put answered %d: want a broken connection", resp.StatusCode)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rate := 1.0
			fail := []Kind{tc.fail}
			if tc.fail == "" {
				rate, fail = 0, nil
			}
			p, err := New(Config{Upstream: endpoint, Seed: 1, Rate: rate, Fail: fail})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(p)
			defer srv.Close()
			// Presigned through the proxy's address: the proxy keeps the Host header, so the
			// signature holds at the server.
			via, err := s3store.New(ctx, s3store.Config{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true, AccessKey: access, SecretKey: secret})
			if err != nil {
				t.Fatal(err)
			}
			key := "obj.bin"
			if tc.put {
				key = "new.bin"
			}
			u, err := via.PresignGet(ctx, bucket, key, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if tc.ranged {
				req.Header.Set("Range", "bytes=1000-1999")
			}
			if tc.put {
				// An unsigned PUT: the proxy drops it before the server sees it.
				req, _ = http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/"+bucket+"/"+key, bytes.NewReader(body))
			}
			resp, err := srv.Client().Do(req)
			var got []byte
			var readErr error
			if err == nil {
				got, readErr = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			tc.check(t, resp, err, got, readErr)
			counts, n := p.Counts()
			if n != 1 {
				t.Errorf("requests counted %d, want 1", n)
			}
			for _, k := range Kinds {
				want := int64(0)
				if k == tc.fail {
					want = 1
				}
				if counts[k] != want {
					t.Errorf("%s counted %d, want %d", k, counts[k], want)
				}
			}
			if tc.put {
				if _, err := direct.Get(ctx, bucket, key); !errors.Is(err, s3store.ErrNotFound) {
					t.Errorf("the dropped put reached the server: get %v", err)
				}
			}
		})
	}
}

func wantS3Error(status int, code string) func(t *testing.T, resp *http.Response, err error, got []byte, readErr error) {
	return func(t *testing.T, resp *http.Response, err error, got []byte, readErr error) {
		if err != nil || resp.StatusCode != status || !strings.Contains(string(got), "<Code>"+code+"</Code>") {
			t.Fatalf("status %v, err %v, body %q: want %d %s", resp, err, got, status, code)
		}
	}
}

// TestSchedule: the same seed gives the same faults, rates are kept roughly, and latency
// is drawn apart from failures.
func TestSchedule(t *testing.T) {
	draws := func(seed uint64) []Kind {
		p, err := New(Config{Upstream: "http://127.0.0.1:1", Seed: seed, Rate: 0.2, LatencyRate: 0.1, MaxLatency: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var out []Kind
		r := httptest.NewRequest(http.MethodGet, "/b/k", nil)
		r.Header.Set("Range", "bytes=0-9")
		for range 2000 {
			k, _, _ := p.draw(r)
			out = append(out, k)
		}
		counts, n := p.Counts()
		var fails int64
		for _, k := range []Kind{InternalError, SlowDown, Reset, Truncated} {
			if counts[k] == 0 {
				t.Errorf("seed %d: no %s in 2000 requests", seed, k)
			}
			fails += counts[k]
		}
		if n != 2000 || fails < 300 || fails > 500 || counts[Latency] < 120 || counts[Latency] > 280 {
			t.Errorf("seed %d: %d requests, %d failures (want about 400), %d delayed (want about 200)", seed, n, fails, counts[Latency])
		}
		return out
	}
	p, err := New(Config{Upstream: "http://127.0.0.1:1", Seed: 1, Rate: 1})
	if err != nil {
		t.Fatal(err)
	}
	p.SetRates(0, 0)
	if k, d, _ := p.draw(httptest.NewRequest(http.MethodGet, "/b/k", nil)); k != "" || d != 0 {
		t.Errorf("after SetRates(0, 0): fault %q, delay %v", k, d)
	}
	a, b, c := draws(1), draws(1), draws(2)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave two schedules")
	}
	if slices.Equal(a, c) {
		t.Error("two seeds gave one schedule")
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []Config{
		{Upstream: "127.0.0.1:7070"},
		{Upstream: "ftp://127.0.0.1"},
		{Upstream: "http://127.0.0.1:7070", Rate: 1.5},
		{Upstream: "http://127.0.0.1:7070", LatencyRate: -0.1},
		{Upstream: "http://127.0.0.1:7070", Fail: []Kind{Latency}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}
