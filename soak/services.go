package soak

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/childproc"
)

// RedisArgs are the persistence settings of the soak's redis-server, those a deployment
// of changewatch needs (README, "Faults and soak"): the queue lives only in Redis, so it
// must be written to the append-only file (fsync once a second: a killed redis-server
// loses nothing it acknowledged, a crashed host at most about a second), and never
// evicted (asynq requires maxmemory-policy noeviction).
var RedisArgs = []string{"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", "--save", ""}

// redisServer is a redis-server child that can be killed and restarted on the same port
// and data folder.
type redisServer struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	exited   chan struct{}
}

func startRedis(ctx context.Context, bin, dir string) (*redisServer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r := &redisServer{bin: bin, dir: dir, port: port}
		if lastErr = r.start(ctx); lastErr == nil {
			return r, nil
		}
	}
	return nil, lastErr
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// start runs redis-server on r's port and folder and waits until it answers PING.
func (r *redisServer) start(ctx context.Context) error {
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(r.port), "--dir", r.dir,
		"--daemonize", "no", "--logfile", filepath.Join(r.dir, "redis.log")}, RedisArgs...)
	cmd := exec.Command(r.bin, args...)
	cmd.SysProcAttr = childproc.Attr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.exited) }()
	rdb := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-r.exited:
			return fmt.Errorf("redis-server on port %d exited: %s", r.port, tail(filepath.Join(r.dir, "redis.log")))
		case <-ctx.Done():
			r.kill()
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("redis-server on port %d did not answer within 30 s", r.port)
		}
	}
}

// kill SIGKILLs redis-server and waits for it to exit.
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// restart kills redis-server outright and starts it again on the same port and folder:
// it reloads the append-only file.
func (r *redisServer) restart(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	r.kill()
	var err error
	for range 50 { // the port may linger a moment
		if err = r.start(ctx); err == nil {
			return time.Since(t0), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(t0), err
}

// stop ends redis-server with SIGTERM (it rewrites nothing: no RDB saving).
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
}

// versitygw is the S3 server the soak starts when none is given.
type versitygw struct {
	cmd    *exec.Cmd
	exited chan struct{}
	S3
}

func startVersitygw(ctx context.Context, bin, dir string) (*versitygw, error) {
	data := filepath.Join(dir, "s3")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		v := &versitygw{S3: S3{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), AccessKey: "changewatch-soak", SecretKey: "changewatch-soak-secret"}}
		logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port), "--quiet",
			"--access", v.AccessKey, "--secret", v.SecretKey, "posix", data)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = childproc.Attr()
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("start versitygw: %w", err)
		}
		logf.Close()
		v.cmd, v.exited = cmd, make(chan struct{})
		go func() { cmd.Wait(); close(v.exited) }()
		if lastErr = waitTCP(ctx, "127.0.0.1:"+strconv.Itoa(port), v.exited); lastErr == nil {
			return v, nil
		}
		v.stop()
		lastErr = fmt.Errorf("versitygw: %w: %s", lastErr, tail(filepath.Join(dir, "versitygw.log")))
	}
	return nil, lastErr
}

func (v *versitygw) stop() {
	v.cmd.Process.Signal(os.Interrupt)
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
		v.cmd.Process.Kill()
		<-v.exited
	}
}

// findVersitygw returns the versitygw binary: $CHANGEWATCH_VERSITYGW, the one
// scripts/setup.sh installs in the cache, or one on PATH.
func findVersitygw() (string, error) {
	if v := os.Getenv("CHANGEWATCH_VERSITYGW"); v != "" {
		return v, nil
	}
	cache := os.Getenv("CHANGEWATCH_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "changewatch")
		}
	}
	if p := filepath.Join(cache, "bin", "versitygw"); cache != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("versitygw")
	if err != nil {
		return "", errors.New("no versitygw: run scripts/setup.sh, set CHANGEWATCH_VERSITYGW, or give an S3 endpoint")
	}
	return p, nil
}

func waitTCP(ctx context.Context, addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer within 30 s", addr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail is the last lines of a log file, for errors.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}
