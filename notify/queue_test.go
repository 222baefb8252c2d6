package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/smtpsink"
	"github.com/changewatch/changewatch/internal/testenv"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/notify/email"
	"github.com/changewatch/changewatch/notify/webhook"
	"github.com/changewatch/changewatch/watch"
	"github.com/changewatch/changewatch/worker"
)

// Redis databases of this package's tests (asynq's key names are fixed): 1-10 are taken
// by worker, watch and cmd/changewatch, 11 by server.
const (
	dbDeliver     = 13
	dbKillRun     = 14
	dbKillBetween = 15
)

const testSecret = "test-secret-0123456789"

func testRedis(t *testing.T, db int) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.Redis(t), DB: db})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redis db %d: %v", db, err)
	}
	return rdb
}

// receiver is a webhook receiver that verifies each request and counts them by
// idempotency key. fail503 makes it answer the first request of each key with 503.
type receiver struct {
	mu      sync.Mutex
	byKey   map[string]int
	bodies  map[string]Alert
	bad     []string
	fail503 bool
	srv     *httptest.Server
}

func newReceiver(t *testing.T, fail503 bool) *receiver {
	rc := &receiver{byKey: map[string]int{}, bodies: map[string]Alert{}, fail503: fail503}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := webhook.Verify([]byte(testSecret), r.Header, body, time.Now(), 5*time.Minute); err != nil {
			rc.bad = append(rc.bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		key := r.Header.Get(webhook.HeaderIdempotencyKey)
		if rc.fail503 && rc.byKey[key] == 0 && rc.bodies[key].Type == "" {
			rc.bodies[key] = Alert{Type: "refused once"}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var a Alert
		if err := json.Unmarshal(body, &a); err != nil {
			rc.bad = append(rc.bad, err.Error())
		}
		rc.byKey[key]++
		rc.bodies[key] = a
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) counts() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for k, v := range rc.byKey {
		out[k] = v
	}
	return out
}

// writeWatch writes the watch list file of the fixture's AOI: one subscription with
// the webhook and the addresses, and two rules (new inside a reserve; growth of 1 ha).
func writeWatch(t *testing.T, hookURL string, to ...string) string {
	dir := t.TempDir()
	sub := map[string]any{"id": "okapi-team", "webhook": map[string]any{"url": hookURL}, "email": to,
		"rules": []any{map[string]any{"id": "new-in-reserve", "new": true, "in_protected_area": true},
			map[string]any{"id": "growth", "growth_ha": 1}}}
	f := map[string]any{"type": "Feature", "properties": map[string]any{"id": fixAOI, "name": "Muchacha", "subscriptions": []any{sub}},
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][2]float64{fixBounds.ring(t)}}}
	writeJSON(t, filepath.Join(dir, fixAOI+".geojson"), f)
	return dir
}

func watchProvider(t testing.TB, dir string) *watch.Provider {
	loc, err := watch.ParseLocation(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &watch.Provider{Watch: loc, SubscriptionsOnly: true, Logger: slog.New(slog.DiscardHandler)}
}

// records returns the delivery records written under the fixture's run.
func records(t testing.TB, out string) []string {
	files, _ := filepath.Glob(filepath.Join(out, fixAOI, fixRun, "notifications", "*.json"))
	return files
}

// waitFor polls cond every 100 ms until it holds or limit passes (a guard against a
// hung test, not a speed assertion).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mails reads the messages the sink received: Message-ID -> count, and the messages.
func mails(t *testing.T, dir string) (map[string]int, []*mail.Message) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	ids := map[string]int{}
	var msgs []*mail.Message
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		m, err := mail.ReadMessage(fh)
		if err != nil {
			t.Fatal(err)
		}
		ids[m.Header.Get("Message-ID")]++
		msgs = append(msgs, m)
	}
	return ids, msgs
}

func enqueueRun(t *testing.T, client *asynq.Client, out string) {
	t.Helper()
	task, err := jobs.NewNotifyRunTask(jobs.NotifyRunRequest{Output: out, AOIID: fixAOI, Run: fixRun})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(task); err != nil && !strings.Contains(err.Error(), "task ID conflicts") {
		t.Fatal(err)
	}
}

// TestDeliveriesOnce: through a real worker on real Redis, a notify:run enqueued twice
// (a retried ledger update) fans out into one delivery per (rule, channel); the webhook
// receiver verifies every signature, refuses each first try with 503 and still sees
// each alert accepted once; the SMTP server (its own process) receives each digest
// once, with its text, HTML and chips. After the tasks are gone from Redis (retention
// over), the run notified again sends nothing.
func TestDeliveriesOnce(t *testing.T) {
	rdb := testRedis(t, dbDeliver)
	out := t.TempDir()
	writeFixture(t, out, true)
	rc := newReceiver(t, true)
	smtpAddr, mailDir := testenv.SMTPSink(t)
	wdir := writeWatch(t, rc.srv.URL+"/hook", "gis@example.org", "field@example.org")
	client := asynq.NewClientFromRedisClient(rdb)
	h := &Handler{Subscriptions: watchProvider(t, wdir), Queue: client, Secret: func(string) []byte { return []byte(testSecret) },
		Webhooks: &webhook.Sender{Hosts: webhook.Hosts{"127.0.0.1"}},
		Mail:     &email.Config{Addr: smtpAddr, From: "changewatch@example.org", Security: email.Plain}}
	srv := worker.NewServer(rdb, worker.ServerConfig{Concurrency: 2, RetryDelay: func(int, error, *asynq.Task) time.Duration { return time.Second }})
	mux := asynq.NewServeMux()
	h.Register(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	enqueueRun(t, client, out)
	enqueueRun(t, client, out) // refused: same id
	const want = 6             // 2 rules x (1 webhook + 2 addresses)
	waitFor(t, 2*time.Minute, "6 delivery records", func() bool { return len(records(t, out)) == want })
	checkOnce(t, rc, mailDir, 2, 4)
	a := func() Alert {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, a := range rc.bodies {
			if a.Rule == "new-in-reserve" {
				return a
			}
		}
		return Alert{}
	}()
	if len(a.Incidents) != 1 || a.Incidents[0].ID != "inc-muchacha-a" || !a.Incidents[0].Reason.New || a.Incidents[0].Links["after_chip"] == "" ||
		a.AOI.Name != "Muchacha gold mine (IPIS)" || a.Links["report_pdf"] == "" {
		t.Errorf("webhook body %+v", a)
	}
	files, _ := filepath.Glob(filepath.Join(mailDir, "*.eml"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		header, parts, err := smtpsink.Parts(data)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, p := range parts {
			types = append(types, p.Type)
		}
		if strings.Join(types, ",") != "text/plain,text/html,image/png,image/png" {
			t.Errorf("message %s: parts %v", header.Get("Message-ID"), types)
		}
	}

	// Retention over: every task is gone from Redis. Notified again, the run sends nothing.
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	ins := asynq.NewInspectorFromRedisClient(rdb)
	enqueueRun(t, asynq.NewClientFromRedisClient(rdb), out) // a new client registers the queue again
	waitFor(t, time.Minute, "the repeated notify:run to complete", func() bool {
		info, err := ins.GetTaskInfo(jobs.QueueNotify, "notify:"+fixAOI+":"+fixRun)
		return err == nil && info.State == asynq.TaskStateCompleted
	})
	if q, err := ins.GetQueueInfo(jobs.QueueNotify); err != nil || q.Pending+q.Active+q.Retry+q.Scheduled != 0 || q.Completed != 1 {
		t.Fatalf("after the repeat: %+v %v", q, err)
	}
	checkOnce(t, rc, mailDir, 2, 4)
}

// checkOnce checks that the receiver accepted hooks distinct keys once each and the
// sink received msgs distinct messages once each, and that nothing failed to verify.
func checkOnce(t *testing.T, rc *receiver, mailDir string, hooks, msgs int) {
	t.Helper()
	got := rc.counts()
	if len(got) != hooks {
		t.Errorf("webhook receiver: %d alerts %v, want %d", len(got), got, hooks)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("webhook receiver: alert %s accepted %d times", k, n)
		}
	}
	rc.mu.Lock()
	if len(rc.bad) > 0 {
		t.Errorf("webhook receiver refused: %v", rc.bad)
	}
	rc.mu.Unlock()
	ids, _ := mails(t, mailDir)
	if len(ids) != msgs {
		t.Errorf("smtp: %d messages %v, want %d", len(ids), ids, msgs)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("smtp: message %s received %d times", id, n)
		}
	}
}

// Settings of a child worker process (see TestMain), from its environment.
const (
	childEnv      = "CHANGEWATCH_TEST_NOTIFY_CHILD" // Redis address
	childDBEnv    = "CHANGEWATCH_TEST_NOTIFY_DB"
	childWatchEnv = "CHANGEWATCH_TEST_NOTIFY_WATCH"
	childSMTPEnv  = "CHANGEWATCH_TEST_NOTIFY_SMTP"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(childEnv); addr != "" {
		runChild(addr)
		return
	}
	os.Exit(m.Run())
}

// runChild is a worker process: notify handlers on a real asynq server, concurrency 1,
// 2 s before each task (so a SIGKILL surely lands while one is active).
func runChild(addr string) {
	db, _ := strconv.Atoi(os.Getenv(childDBEnv))
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	loc, err := watch.ParseLocation(os.Getenv(childWatchEnv), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h := &Handler{Subscriptions: &watch.Provider{Watch: loc, SubscriptionsOnly: true}, Queue: asynq.NewClientFromRedisClient(rdb),
		Secret: func(string) []byte { return []byte(testSecret) }, Webhooks: &webhook.Sender{Hosts: webhook.Hosts{"127.0.0.1"}},
		Mail: &email.Config{Addr: os.Getenv(childSMTPEnv), From: "changewatch@example.org", Security: email.Plain}}
	srv := worker.NewServer(rdb, worker.ServerConfig{Concurrency: 1, RetryDelay: func(int, error, *asynq.Task) time.Duration { return time.Second }})
	mux := asynq.NewServeMux()
	h.Register(mux)
	slow := asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		time.Sleep(2 * time.Second)
		return mux.ProcessTask(ctx, t)
	})
	if err := srv.Start(slow); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	select {}
}

func startChild(t *testing.T, db int, watchDir, smtpAddr string) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), childEnv+"="+testenv.Redis(t), fmt.Sprintf("%s=%d", childDBEnv, db),
		childWatchEnv+"="+watchDir, childSMTPEnv+"="+smtpAddr)
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
	})
	return c
}

func kill(t *testing.T, c *exec.Cmd) {
	t.Helper()
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Wait()
}

// waitLeasesExpired waits until asynq's recoverer would take over the tasks the killed
// worker held (their lease expired 30 s ago), so the next worker recovers them when it
// starts.
func waitLeasesExpired(t *testing.T, rdb *redis.Client) {
	t.Helper()
	key := "asynq:{" + jobs.QueueNotify + "}:lease"
	waitFor(t, 3*time.Minute, "leases of the killed worker to expire", func() bool {
		zs, err := rdb.ZRangeWithScores(context.Background(), key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range zs {
			if time.Now().Unix() < int64(z.Score)+31 {
				return false
			}
		}
		return true
	})
}

// TestKilledWorkerAlertsOnce: a worker process killed with SIGKILL (1) while notify:run
// is active, after the ledger update and before any delivery, and (2) between two
// deliveries; a new worker finishes the work, and each subscriber receives each alert
// exactly once (real Redis, a real webhook receiver, a real SMTP server).
func TestKilledWorkerAlertsOnce(t *testing.T) {
	tests := []struct {
		name string
		db   int
		kill func(t *testing.T, ins *asynq.Inspector, out string)
	}{
		{"between the ledger update and the deliveries", dbKillRun, func(t *testing.T, ins *asynq.Inspector, out string) {
			waitFor(t, time.Minute, "notify:run active", func() bool {
				info, err := ins.GetTaskInfo(jobs.QueueNotify, "notify:"+fixAOI+":"+fixRun)
				return err == nil && info.State == asynq.TaskStateActive
			})
		}},
		{"between two deliveries", dbKillBetween, func(t *testing.T, ins *asynq.Inspector, out string) {
			waitFor(t, time.Minute, "the first delivery", func() bool { return len(records(t, out)) >= 1 })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb := testRedis(t, tt.db)
			ins := asynq.NewInspectorFromRedisClient(rdb)
			out := t.TempDir()
			writeFixture(t, out, true)
			rc := newReceiver(t, false)
			smtpAddr, mailDir := testenv.SMTPSink(t)
			wdir := writeWatch(t, rc.srv.URL+"/hook", "gis@example.org")
			child := startChild(t, tt.db, wdir, smtpAddr)
			enqueueRun(t, asynq.NewClientFromRedisClient(rdb), out)
			tt.kill(t, ins, out)
			kill(t, child)
			before := len(records(t, out))
			t.Logf("killed with %d of 4 deliveries recorded", before)
			if before == 4 {
				t.Fatal("the worker was killed after all deliveries: nothing was interrupted")
			}
			waitLeasesExpired(t, rdb)
			startChild(t, tt.db, wdir, smtpAddr)
			waitFor(t, 3*time.Minute, "4 delivery records", func() bool { return len(records(t, out)) == 4 })
			waitFor(t, time.Minute, "the queue to drain", func() bool {
				q, err := ins.GetQueueInfo(jobs.QueueNotify)
				return err == nil && q.Pending+q.Active+q.Retry+q.Scheduled == 0
			})
			checkOnce(t, rc, mailDir, 2, 2)
			if ks := slices.Collect(func(yield func(string) bool) {
				for k := range rc.counts() {
					if !yield(k) {
						return
					}
				}
			}); len(ks) != 2 {
				t.Fatalf("keys %v", ks)
			}
		})
	}
}
