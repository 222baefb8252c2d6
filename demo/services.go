package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/afero"

	"github.com/changewatch/changewatch/internal/childproc"
	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/s3store"
)

// The embedded services of `changewatch demo`: a Redis (a redis-server child process, an
// in-process miniredis, or one given by URL) and an S3 server (gofakes3 on a disk-backed
// backend). Each start function returns something whose stop/Close releases everything
// it started, and is safe to call once whatever happened in between.

// demoRedis is the Redis the demo's queue runs on.
type demoRedis struct {
	rdb   *redis.Client
	what  string // one line for stderr: which Redis, where
	close func()
}

func (r *demoRedis) Close() { r.close() }

// startDemoRedis uses rdb when it is set (its caller closes it); else starts a redis-server child when
// one is on PATH (and forceMini is false); else an in-process miniredis.
func startDemoRedis(ctx context.Context, rdb *redis.Client, forceMini bool, dir string) (*demoRedis, error) {
	if rdb != nil {
		return &demoRedis{rdb: rdb, what: "existing Redis at " + rdb.Options().Addr + " (--redis)", close: func() {}}, nil
	}
	note := ""
	if !forceMini {
		bin, err := exec.LookPath("redis-server")
		if err == nil {
			r, err := startRedisServer(ctx, bin, dir)
			if err == nil {
				return r, nil
			}
			note = fmt.Sprintf(" (%v)", err)
		} else {
			note = " (no redis-server on PATH)"
		}
	} else {
		note = " (forced by the configuration)"
	}
	r, err := startMiniredis()
	if err != nil {
		return nil, err
	}
	r.what += note
	return r, nil
}

// startRedisServer runs bin on a free 127.0.0.1 port without persistence, its working
// folder in dir, in its own process group (a Ctrl-C in the terminal reaches changewatch,
// which then shuts the worker down while Redis is still there) and, on Linux, killed if
// changewatch dies. A port taken between choosing and binding it is retried.
func startRedisServer(ctx context.Context, bin, dir string) (*demoRedis, error) {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logPath := filepath.Join(dir, "redis-server.log")
		cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", logPath, "--daemonize", "no")
		cmd.SysProcAttr = childproc.Attr()
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		exited := make(chan struct{})
		go func() {
			cmd.Wait()
			close(exited)
		}()
		kill := func() {
			cmd.Process.Kill()
			<-exited
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		if err := waitRedis(ctx, rdb, exited); err != nil {
			rdb.Close()
			kill()
			lastErr = fmt.Errorf("redis-server on %s: %w%s", addr, err, fileTail(logPath, 3))
			if ctx.Err() != nil {
				return nil, lastErr
			}
			continue
		}
		what := "redis-server child process"
		if v := redisVersion(ctx, rdb); v != "" {
			what += " " + v
		}
		what += " on " + addr + " (no persistence, killed on exit)"
		return &demoRedis{rdb: rdb, what: what, close: func() { rdb.Close(); kill() }}, nil
	}
	return nil, lastErr
}

// waitRedis pings rdb until it answers, the process exits, 10 s pass or ctx ends.
func waitRedis(ctx context.Context, rdb *redis.Client, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within 10 s: %w", err)
		}
		select {
		case <-exited:
			return errors.New("exited at start")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func redisVersion(ctx context.Context, rdb *redis.Client) string {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return ""
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return ""
}

// startMiniredis runs an in-process miniredis on a free 127.0.0.1 port. miniredis never
// expires keys on its own (its clock moves only when told), and asynq relies on expiring
// keys (leases, heartbeats, unique locks): a goroutine moves the clock with the wall
// clock every 100 ms.
func startMiniredis() (*demoRedis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start miniredis: %w", err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	})
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return &demoRedis{
		rdb:  rdb,
		what: "in-process miniredis on " + m.Addr() + " (clock advanced every 100 ms)",
		close: func() {
			rdb.Close()
			close(done)
			wg.Wait()
			m.Close()
		},
	}, nil
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// fileTail returns the last n lines of a file as ": line; line", or "".
func fileTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return ": " + strings.Join(lines, "; ")
}

// Static credentials of the embedded S3 server (gofakes3 does not check signatures, but
// the SDK and GDAL sign every request and need some).
const (
	demoS3AccessKey = "changewatch-demo"
	demoS3SecretKey = "changewatch-demo-secret"
	demoS3Region    = "us-east-1"
)

// demoS3 is an in-process S3 server: gofakes3 over its afero backend on a folder, served
// by net/http on a free loopback port.
type demoS3 struct {
	srv      *http.Server
	served   chan struct{}
	endpoint string // http://127.0.0.1:PORT
}

// startDemoS3 serves the buckets kept under dir (created if needed). Objects are files, so
// range requests read only the bytes asked for.
func startDemoS3(dir string, log *slog.Logger) (*demoS3, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("s3 server: %w", err)
	}
	backend, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), dir))
	if err != nil {
		return nil, fmt.Errorf("s3 server: %w", err)
	}
	faker := gofakes3.New(backend)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("s3 server: %w", err)
	}
	s := &demoS3{
		srv: &http.Server{
			Handler:           faker.Server(),
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.With("component", "s3 server").Handler(), slog.LevelDebug),
		},
		served:   make(chan struct{}),
		endpoint: "http://" + ln.Addr().String(),
	}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// Close stops the server and closes its connections.
func (s *demoS3) Close() {
	s.srv.Close()
	<-s.served
}

func (s *demoS3) storeConfig() s3store.Config {
	return s3store.Config{Endpoint: s.endpoint, Region: demoS3Region, PathStyle: true,
		AccessKey: demoS3AccessKey, SecretKey: demoS3SecretKey}
}

// rasterConfig points GDAL's /vsis3/ at the server: AWS_S3_ENDPOINT, AWS_HTTPS=NO,
// AWS_VIRTUAL_HOSTING=FALSE and the keys (raster.Init sets them).
func (s *demoS3) rasterConfig() raster.S3Config {
	return raster.S3Config{Endpoint: s.endpoint, Region: demoS3Region, PathStyle: true,
		AccessKey: demoS3AccessKey, SecretKey: demoS3SecretKey}
}
