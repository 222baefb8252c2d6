package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	sinkOnce sync.Once
	sinkBin  string
	sinkErr  error
)

// SMTPSink builds cmd/smtpsink (once per test binary), starts it as its own process on
// a free loopback port with the extra flags args (e.g. --cert, --key, --user), and
// returns its address and the folder where it writes each message it receives. The
// process is stopped when the test ends.
func SMTPSink(t testing.TB, args ...string) (addr, dir string) {
	t.Helper()
	sinkOnce.Do(func() {
		root := moduleRoot()
		out, err := os.MkdirTemp("", "changewatch-smtpsink-")
		if err != nil {
			sinkErr = err
			return
		}
		sinkBin = filepath.Join(out, "smtpsink")
		cmd := exec.Command("go", "build", "-o", sinkBin, "./cmd/smtpsink")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			sinkErr = &buildError{string(b), err}
		}
	})
	if sinkErr != nil {
		t.Fatalf("build cmd/smtpsink: %v", sinkErr)
	}
	dir = t.TempDir()
	cmd := exec.Command(sinkBin, append([]string{"--addr", "127.0.0.1:0", "--dir", dir}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr = <-line:
	case <-time.After(30 * time.Second):
		t.Fatal("smtpsink printed no address within 30 s")
	}
	if addr == "" {
		t.Fatal("smtpsink exited without an address")
	}
	return addr, dir
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// moduleRoot is the folder of go.mod above the working directory.
func moduleRoot() string {
	wd, _ := os.Getwd()
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return wd
		}
		dir = parent
	}
}
