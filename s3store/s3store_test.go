package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/s3store"
)

// store is what the behavioural table exercises; both implementations must satisfy it.
type store interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	Put(ctx context.Context, bucket, key string, body []byte, contentType string) error
	PutFile(ctx context.Context, bucket, key, path, contentType string) error
	GetFile(ctx context.Context, bucket, key, path string) error
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	Delete(ctx context.Context, bucket, key string) error
	EnsureBucket(ctx context.Context, bucket string) error
}

var (
	_ store = (*s3store.Client)(nil)
	_ store = (*s3store.Memory)(nil)
)

// testConfig is the Config for the versitygw started by ./scripts/test.sh.
func testConfig(t *testing.T) s3store.Config {
	t.Helper()
	endpoint, access, secret := testenv.S3Endpoint(t)
	return s3store.Config{
		Endpoint:  endpoint,
		Region:    "us-east-1",
		PathStyle: true,
		AccessKey: access,
		SecretKey: secret,
	}
}

func newClient(t *testing.T) *s3store.Client {
	t.Helper()
	c, err := s3store.New(context.Background(), testConfig(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// uniqueBucket returns a fresh, valid bucket name so tests never see each other's data.
func uniqueBucket(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "cwtest-" + hex.EncodeToString(b)
}

// removeBucket empties and deletes bucket on the real server when the test ends.
func removeBucket(t *testing.T, c *s3store.Client, bucket string) {
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.List(ctx, bucket, "")
		if err != nil {
			if !errors.Is(err, s3store.ErrBucketNotFound) {
				t.Errorf("cleanup list %s: %v", bucket, err)
			}
			return
		}
		for _, k := range keys {
			if err := c.Delete(ctx, bucket, k); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if _, err := c.S3().DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
			t.Errorf("cleanup delete bucket %s: %v", bucket, err)
		}
	})
}

func TestClientBehaviour(t *testing.T) {
	c := newClient(t)
	bucket := uniqueBucket(t)
	removeBucket(t, c, bucket)
	testStore(t, c, bucket)
}

func TestMemoryBehaviour(t *testing.T) {
	testStore(t, &s3store.Memory{}, "cwtest-memory")
}

// testStore is the behavioural contract shared by Client and Memory.
func testStore(t *testing.T, s store, bucket string) {
	ctx := context.Background()

	// Before EnsureBucket the bucket does not exist.
	t.Run("missing bucket", func(t *testing.T) {
		if err := s.Put(ctx, bucket, "k", []byte("x"), ""); !errors.Is(err, s3store.ErrBucketNotFound) {
			t.Errorf("Put into missing bucket: got %v, want ErrBucketNotFound", err)
		}
		_, err := s.Get(ctx, bucket, "k")
		if !errors.Is(err, s3store.ErrBucketNotFound) || errors.Is(err, s3store.ErrNotFound) {
			t.Errorf("Get from missing bucket: got %v, want ErrBucketNotFound only", err)
		}
		if _, err := s.List(ctx, bucket, ""); !errors.Is(err, s3store.ErrBucketNotFound) {
			t.Errorf("List missing bucket: got %v, want ErrBucketNotFound", err)
		}
		if s3store.IsTransient(err) {
			t.Errorf("IsTransient(%v) = true, want false", err)
		}
	})

	t.Run("ensure bucket", func(t *testing.T) {
		for i := range 2 { // the second call finds it existing
			if err := s.EnsureBucket(ctx, bucket); err != nil {
				t.Fatalf("EnsureBucket #%d: %v", i+1, err)
			}
		}
		keys, err := s.List(ctx, bucket, "")
		if err != nil || len(keys) != 0 {
			t.Fatalf("List new bucket = %q, %v; want empty", keys, err)
		}
	})

	t.Run("roundtrip", func(t *testing.T) {
		big := make([]byte, 3<<20+17)
		if _, err := rand.Read(big); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, key, contentType string
			body                   []byte
		}{
			{"small text", "rt/hello.txt", "text/plain", []byte("hello, changewatch")},
			{"empty", "rt/empty", "", []byte{}},
			{"binary 3 MiB", "rt/big.bin", "application/octet-stream", big},
			{"odd key", "rt/with space/ü+%?#&=.json", "application/json", []byte(`{"a":1}`)},
			{"deep key", "rt/a/b/c/d/e/f.tif", "image/tiff; application=geotiff", []byte{0x49, 0x49, 0x2a, 0}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := bytes.Clone(tc.body)
				if err := s.Put(ctx, bucket, tc.key, in, tc.contentType); err != nil {
					t.Fatalf("Put: %v", err)
				}
				if len(in) > 0 {
					in[0] ^= 0xff // the store must have copied the input
				}
				got, err := s.Get(ctx, bucket, tc.key)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if !bytes.Equal(got, tc.body) {
					t.Fatalf("Get returned %d bytes, want %d equal to what was put", len(got), len(tc.body))
				}
				if len(got) > 0 {
					got[0] ^= 0xff // and must hand out copies
					again, err := s.Get(ctx, bucket, tc.key)
					if err != nil || !bytes.Equal(again, tc.body) {
						t.Fatalf("second Get changed after mutating the first result (err %v)", err)
					}
				}
			})
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		for _, body := range []string{"first version", "v2"} {
			if err := s.Put(ctx, bucket, "ow/key", []byte(body), ""); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, bucket, "ow/key")
			if err != nil || string(got) != body {
				t.Fatalf("Get = %q, %v; want %q", got, err, body)
			}
		}
	})

	t.Run("get missing", func(t *testing.T) {
		_, err := s.Get(ctx, bucket, "no/such/key")
		if !errors.Is(err, s3store.ErrNotFound) {
			t.Fatalf("Get missing: got %v, want ErrNotFound", err)
		}
		if errors.Is(err, s3store.ErrBucketNotFound) {
			t.Errorf("Get missing key also matched ErrBucketNotFound: %v", err)
		}
		if !strings.Contains(err.Error(), "no/such/key") {
			t.Errorf("error %q does not name the key", err)
		}
		if s3store.IsTransient(err) {
			t.Errorf("IsTransient(%v) = true, want false", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := s.Delete(ctx, bucket, "del/never-existed"); err != nil {
			t.Errorf("Delete missing key: %v, want nil", err)
		}
		if err := s.Put(ctx, bucket, "del/k", []byte("x"), ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, bucket, "del/k"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, bucket, "del/k"); !errors.Is(err, s3store.ErrNotFound) {
			t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, bucket+"-missing", "k"); !errors.Is(err, s3store.ErrBucketNotFound) {
			t.Errorf("Delete in missing bucket: got %v, want ErrBucketNotFound", err)
		}
	})

	t.Run("files", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "src.tif")
		want := make([]byte, 1<<20+3)
		if _, err := rand.Read(want); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, want, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.PutFile(ctx, bucket, "files/src.tif", src, "image/tiff"); err != nil {
			t.Fatalf("PutFile: %v", err)
		}
		got, err := s.Get(ctx, bucket, "files/src.tif")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Get after PutFile: %d bytes, %v; want %d bytes", len(got), err, len(want))
		}

		dst := filepath.Join(dir, "new", "sub", "dst.tif") // parents do not exist yet
		if err := s.GetFile(ctx, bucket, "files/src.tif", dst); err != nil {
			t.Fatalf("GetFile: %v", err)
		}
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("GetFile wrote %d bytes, %v; want %d", len(got), err, len(want))
		}

		// A failed download leaves an existing file untouched and no temp files.
		if err := os.WriteFile(dst, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.GetFile(ctx, bucket, "files/missing.tif", dst); !errors.Is(err, s3store.ErrNotFound) {
			t.Fatalf("GetFile missing: got %v, want ErrNotFound", err)
		}
		if got, _ := os.ReadFile(dst); string(got) != "keep me" {
			t.Errorf("GetFile missing overwrote the destination with %q", got)
		}
		entries, err := os.ReadDir(filepath.Dir(dst))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("destination dir holds %q, want only dst.tif", names)
		}

		if err := s.PutFile(ctx, bucket, "files/x", filepath.Join(dir, "nope"), ""); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("PutFile of a missing local file: got %v, want os.ErrNotExist", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		for _, k := range []string{"ls/a/1", "ls/a/2", "ls/ab", "ls/b/1", "lsx"} {
			if err := s.Put(ctx, bucket, k, []byte(k), ""); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"ls/a/", []string{"ls/a/1", "ls/a/2"}},
			{"ls/a", []string{"ls/a/1", "ls/a/2", "ls/ab"}},
			{"ls/", []string{"ls/a/1", "ls/a/2", "ls/ab", "ls/b/1"}},
			{"ls", []string{"ls/a/1", "ls/a/2", "ls/ab", "ls/b/1", "lsx"}},
			{"ls/zzz", nil},
		} {
			t.Run(tc.prefix, func(t *testing.T) {
				got, err := s.List(ctx, bucket, tc.prefix)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
				}
			})
		}
	})

	t.Run("list paginates", func(t *testing.T) {
		const n = 1100 // more than one 1000-key page
		want := make([]string, n)
		for i := range want {
			want[i] = fmt.Sprintf("page/%05d", i)
		}
		putAll(t, s, bucket, want)
		got, err := s.List(ctx, bucket, "page/")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("List returned %d keys, want %d in order", len(got), n)
		}
	})

	t.Run("invalid arguments", func(t *testing.T) {
		if err := s.Put(ctx, "", "k", nil, ""); err == nil {
			t.Error("Put with empty bucket: no error")
		}
		if err := s.Put(ctx, bucket, "", nil, ""); err == nil {
			t.Error("Put with empty key: no error")
		}
		if _, err := s.Get(ctx, bucket, ""); err == nil {
			t.Error("Get with empty key: no error")
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.Get(cctx, bucket, "rt/hello.txt")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Get with cancelled ctx: got %v, want context.Canceled", err)
		}
		if s3store.IsTransient(err) {
			t.Errorf("IsTransient(cancelled) = true")
		}
	})
}

// putAll puts tiny objects named keys concurrently.
func putAll(t *testing.T, s store, bucket string, keys []string) {
	t.Helper()
	ctx := context.Background()
	work := make(chan string)
	errs := make(chan error, len(keys))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for k := range work {
				errs <- s.Put(ctx, bucket, k, []byte(k), "text/plain")
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestClientContentTypeAndErrorTypes(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	bucket := uniqueBucket(t)
	removeBucket(t, c, bucket)
	if err := c.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, bucket, "x.json", []byte("{}"), "application/json"); err != nil {
		t.Fatal(err)
	}
	head, err := c.S3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("x.json")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(head.ContentType); got != "application/json" {
		t.Errorf("content type = %q, want application/json", got)
	}

	// The SDK error stays reachable with errors.As.
	_, err = c.Get(ctx, bucket, "missing")
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "NoSuchKey" {
		t.Errorf("errors.As(smithy.APIError) on %v: code %v, want NoSuchKey", err, api)
	}
}

func TestClientPermanentAndTransientErrors(t *testing.T) {
	ctx := context.Background()
	good := testConfig(t)
	c := newClient(t)
	bucket := uniqueBucket(t)
	removeBucket(t, c, bucket)
	if err := c.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}

	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()

	for _, tc := range []struct {
		name      string
		cfg       func(s3store.Config) s3store.Config
		transient bool
	}{
		{"wrong secret", func(c s3store.Config) s3store.Config { c.SecretKey += "x"; return c }, false},
		{"unknown access key", func(c s3store.Config) s3store.Config { c.AccessKey = "nobody"; return c }, false},
		{"anonymous", func(c s3store.Config) s3store.Config {
			c.AccessKey, c.SecretKey, c.Anonymous = "", "", true
			return c
		}, false},
		{"connection refused", func(c s3store.Config) s3store.Config { c.Endpoint = closedPort; return c }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg(good)
			cfg.MaxAttempts = 1
			cl, err := s3store.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Get(ctx, bucket, "k")
			if err == nil {
				t.Fatal("Get succeeded, want an error")
			}
			if errors.Is(err, s3store.ErrNotFound) {
				t.Errorf("error %v matched ErrNotFound", err)
			}
			if got := s3store.IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tc.transient)
			}
		})
	}
}

// TestIsTransientHTTP feeds the client canned server answers.
func TestIsTransientHTTP(t *testing.T) {
	for _, tc := range []struct {
		status    int
		code      string
		transient bool
	}{
		{503, "SlowDown", true},
		{500, "InternalError", true},
		{502, "BadGateway", true},
		{429, "TooManyRequests", true},
		{400, "RequestTimeout", true},
		{501, "NotImplemented", false},
		{403, "AccessDenied", false},
		{403, "SignatureDoesNotMatch", false},
		{404, "NoSuchBucket", false},
		{404, "NoSuchKey", false},
		{400, "InvalidArgument", false},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>canned</Message></Error>`, tc.code)
			}))
			defer srv.Close()
			c, err := s3store.New(context.Background(), s3store.Config{
				Endpoint: srv.URL, PathStyle: true, AccessKey: "a", SecretKey: "b", MaxAttempts: 1,
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Get(context.Background(), "bucket", "key")
			if err == nil {
				t.Fatal("no error")
			}
			if got := s3store.IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tc.transient)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestIsTransientPlain(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), false},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), true},
		{"not found", fmt.Errorf("get: %w", s3store.ErrNotFound), false},
		{"net timeout", fmt.Errorf("get: %w", &net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}), true},
		{"plain", errors.New("something else"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s3store.IsTransient(tc.err); got != tc.want {
				t.Errorf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		cfg     s3store.Config
		wantErr string
	}{
		{"zero value is AWS", s3store.Config{}, ""},
		{"http endpoint", s3store.Config{Endpoint: "http://127.0.0.1:7070", PathStyle: true}, ""},
		{"bare host", s3store.Config{Endpoint: "minio.local:9000"}, ""},
		{"anonymous", s3store.Config{Anonymous: true, Region: "us-west-2"}, ""},
		{"bad scheme", s3store.Config{Endpoint: "ftp://x"}, "scheme"},
		{"no host", s3store.Config{Endpoint: "http://"}, "no host"},
		{"anonymous and keys", s3store.Config{Anonymous: true, AccessKey: "a", SecretKey: "b"}, "anonymous"},
		{"key without secret", s3store.Config{AccessKey: "a"}, "together"},
		{"negative attempts", s3store.Config{MaxAttempts: -1}, "attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s3store.New(ctx, tc.cfg)
			if tc.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: got %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in          string
		bucket, key string
		wantErr     string
	}{
		{"s3://bucket/some/prefix", "bucket", "some/prefix", ""},
		{"s3://bucket/some/prefix/", "bucket", "some/prefix/", ""},
		{"s3://bucket", "bucket", "", ""},
		{"s3://bucket/", "bucket", "", ""},
		{"S3://Bucket_old/k", "Bucket_old", "k", ""},
		{"s3://sentinel-cogs/sentinel-s2-l2a-cogs/35/N/PB/2024/1/S2A_35NPB_20240115_0_L2A/B04.tif",
			"sentinel-cogs", "sentinel-s2-l2a-cogs/35/N/PB/2024/1/S2A_35NPB_20240115_0_L2A/B04.tif", ""},
		{"s3://b/key with space/%20?x#y", "b", "key with space/%20?x#y", ""},
		{"s3://my.bucket-1//double", "my.bucket-1", "/double", ""},
		{"", "", "", "want s3://"},
		{"bucket/key", "", "", "want s3://"},
		{"https://bucket.s3.amazonaws.com/key", "", "", "want s3://"},
		{"s3:/bucket/key", "", "", "want s3://"},
		{"s3://", "", "", "empty bucket"},
		{"s3:///key", "", "", "empty bucket"},
		{"s3://buck et/key", "", "", "invalid character"},
		{"s3://bucket?x/key", "", "", "invalid character"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			b, k, err := s3store.ParseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseURL(%q) = %q, %q, %v; want error containing %q", tc.in, b, k, err, tc.wantErr)
				}
				return
			}
			if err != nil || b != tc.bucket || k != tc.key {
				t.Fatalf("ParseURL(%q) = %q, %q, %v; want %q, %q", tc.in, b, k, err, tc.bucket, tc.key)
			}
			if tc.key != "" && s3store.URL(b, k) != "s3://"+tc.in[5:] {
				t.Errorf("URL(%q, %q) = %q does not round-trip", b, k, s3store.URL(b, k))
			}
		})
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := s3store.NewMemory("b")
	ctx := context.Background()
	var wg sync.WaitGroup
	deadline := time.Now().Add(200 * time.Millisecond)
	for i := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i%3)
			for time.Now().Before(deadline) {
				if err := m.Put(ctx, "b", key, []byte(key), ""); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Get(ctx, "b", key); err != nil && !errors.Is(err, s3store.ErrNotFound) {
					t.Error(err)
					return
				}
				if _, err := m.List(ctx, "b", ""); err != nil {
					t.Error(err)
					return
				}
				if err := m.Delete(ctx, "b", key); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// ListDirs gives the folders right below a prefix, on the real server and in Memory alike.
func TestListDirs(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	bucket := uniqueBucket(t)
	if err := c.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	removeBucket(t, c, bucket)
	mem := s3store.NewMemory(bucket)
	keys := []string{"root/catalog.json", "root/b/collection.json", "root/b/2024-01_2024-01/item.json",
		"root/a/collection.json", "root/a/x/y/z.json", "root/.audit/1.json", "other/c/d.json"}
	for _, k := range keys {
		if err := c.Put(ctx, bucket, k, []byte("{}"), "application/json"); err != nil {
			t.Fatal(err)
		}
		if err := mem.Put(ctx, bucket, k, []byte("{}"), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"root/", []string{".audit", "a", "b"}},
		{"", []string{"other", "root"}},
		{"root/b/", []string{"2024-01_2024-01"}},
		{"none/", nil},
	} {
		for name, l := range map[string]interface {
			ListDirs(context.Context, string, string) ([]string, error)
		}{"s3": c, "memory": mem} {
			got, err := l.ListDirs(ctx, bucket, tt.prefix)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%s ListDirs(%q) = %v, %v; want %v", name, tt.prefix, got, err, tt.want)
			}
		}
	}
}
