package soak

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/changewatch/changewatch/internal/faultproxy"
	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/raster"
)

// TestSoak is the short run of the soak (CI): 40 tasks through 2 worker processes built
// from this tree, a worker SIGKILLed at each stage, Redis killed and restarted, S3 faults,
// the 4 corrupt rasters; the reconciliation must find nothing lost or duplicated, every
// stage hit, and the corrupt rasters failed permanently. The full run is `changewatch
// soak` (README, "Faults and soak").
func TestSoak(t *testing.T) {
	endpoint, access, secret := testenv.S3Endpoint(t)
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server: %v (scripts/setup.sh installs it)", err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "changewatch")
	build := exec.Command("go", "build", "-o", exe, "github.com/changewatch/changewatch/cmd/changewatch")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	raster.Init(raster.S3Config{})
	var log bytes.Buffer
	rep, err := Run(context.Background(), Config{
		Exe: exe, Dir: filepath.Join(dir, "run"), Tasks: 40, Corrupt: 4, Workers: 2, Concurrency: 2,
		KillRounds: 1, RedisRestarts: 1, FaultRate: 0.04, LatencyRate: 0.05, MaxLatency: 200 * time.Millisecond, FaultsUntil: 0.5,
		Seed: 3, S3: S3{Endpoint: endpoint, AccessKey: access, SecretKey: secret}, Timeout: 8 * time.Minute,
		Log: newTestLogger(&log),
	})
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, log.String())
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("reconciliation:\n%s", out.String())
	if !rep.OK() {
		t.Errorf("lost %d, duplicated %d, finished %v; progress:\n%s", rep.Lost, rep.Duplicated, rep.Finished, log.String())
		for _, f := range []string{"worker-1.log", "worker-2.log"} {
			if data, err := os.ReadFile(filepath.Join(dir, "run", f)); err == nil && len(data) > 4000 {
				t.Logf("%s (end):\n%s", f, data[len(data)-4000:])
			}
		}
	}
	if rep.Published != rep.Tasks-rep.Corrupt || rep.Corrupt != 4 || rep.CorruptPermanent != 4 {
		t.Errorf("published %d of %d, corrupt rasters failed permanently %d of %d", rep.Published, rep.Tasks-rep.Corrupt, rep.CorruptPermanent, rep.Corrupt)
	}
	for _, st := range Stages {
		if rep.KillsHit[st] < 1 {
			t.Errorf("no worker killed while a task was in stage %s (kills %v, hit %v)", st, rep.Kills, rep.KillsHit)
		}
	}
	if rep.RedisRestarts < 1 {
		t.Errorf("redis-server was not restarted")
	}
	for _, k := range []faultproxy.Kind{faultproxy.InternalError, faultproxy.SlowDown, faultproxy.Reset, faultproxy.Latency} {
		if rep.Faults[string(k)] == 0 {
			t.Errorf("no %s injected in %d requests", k, rep.Requests)
		}
	}
	if rep.PlainLogLines != 0 {
		t.Errorf("%d worker log lines are not JSON", rep.PlainLogLines)
	}
	if rep.Retries == 0 {
		t.Error("no task was retried: the faults did not reach the tasks")
	}
}

func newTestLogger(w *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedWriter{w: w}, nil))
}

// lockedWriter serialises the soak's progress lines from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
