// Package soak is changewatch's fault and soak suite (`changewatch soak`): it drives real
// `changewatch worker` processes against a real redis-server and a real S3 server
// (versitygw) behind a fault proxy (internal/faultproxy), kills workers with SIGKILL at
// every stage of a task (plan, read, compute, publish), kills and restarts Redis with
// tasks queued and running, feeds corrupt rasters, and then reconciles what the bucket
// and the queue hold against what was asked: every task published exactly once and
// complete, or (a corrupt raster) failed permanently without being retried; nothing lost,
// nothing twice.
package soak

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/internal/childproc"
	"github.com/changewatch/changewatch/internal/faultproxy"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/s3store"
)

// S3 is an S3-compatible server and its root keys.
type S3 struct {
	Endpoint, AccessKey, SecretKey string
}

// Config is one soak run.
type Config struct {
	// Exe is the changewatch binary whose `worker` command is soaked.
	Exe string
	// Dir holds the run's files: Redis's append-only file, the scenes, each worker's
	// JSON log (worker-N.log), versitygw's data when the soak starts it.
	Dir string
	// Tasks is the number of change:detect tasks (Corrupt of them read a corrupted
	// catalog).
	Tasks int
	// Corrupt is the number of tasks whose catalog holds a damaged band file (at most 4:
	// a truncated B04, a garbled B08, a truncated and a garbled SCL).
	Corrupt int
	// Workers is the number of worker processes, each with Concurrency task slots.
	Workers, Concurrency int
	// KillRounds is how many times each stage (plan, read, compute, publish) gets a
	// worker SIGKILLed in it; RandomKills adds kills at stages drawn at random.
	KillRounds, RandomKills int
	// RedisRestarts is how many times redis-server is SIGKILLed and restarted on the same
	// port and folder, with tasks queued and running.
	RedisRestarts int
	// FaultRate is the share of S3 requests that fail (500, 503 SlowDown, a reset
	// mid-body, a truncated range); LatencyRate the share delayed by up to MaxLatency.
	FaultRate, LatencyRate float64
	MaxLatency             time.Duration
	// FaultsUntil, when above 0, stops the S3 faults once this share of the tasks is done
	// (a short run then ends without waiting out a second retry backoff); 0: faults to
	// the end.
	FaultsUntil float64
	// SceneSize is the synthetic scenes' side in 10 m pixels (synth's minimum is 256);
	// AOISize the side of each task's square AOI in pixels.
	SceneSize, AOISize int
	Seed               int64
	// RedisServer is the redis-server binary ("redis-server" on PATH by default).
	RedisServer string
	// S3, when its Endpoint is set, is the S3 server to use (a fresh bucket is made);
	// else the soak starts versitygw (Versitygw, default: found like scripts/setup.sh
	// installs it) with its data in Dir.
	S3        S3
	Versitygw string
	// Timeout bounds the whole run.
	Timeout time.Duration
	// Log gets the soak's progress lines.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Tasks, 500)
	def(&c.Workers, 2)
	def(&c.Concurrency, 2)
	def(&c.SceneSize, 256)
	def(&c.AOISize, 60)
	if c.Corrupt < 0 {
		c.Corrupt = 0
	}
	if c.MaxLatency == 0 {
		c.MaxLatency = 300 * time.Millisecond
	}
	if c.RedisServer == "" {
		c.RedisServer = "redis-server"
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Minute
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stages of a task, as the soak names them, and the worker's progress stages in each.
var Stages = []string{"plan", "read", "compute", "publish"}

func stageOf(progress string) string {
	switch progress {
	case "search scenes":
		return "plan"
	case "read, composite, classify":
		return "read"
	case "regions", "polygons", "write outputs":
		return "compute"
	case "publish":
		return "publish"
	}
	return ""
}

// event is one planned disturbance: a worker kill at a stage, or a Redis restart.
type event struct {
	stage string // "" for a Redis restart
	tries int
}

// killRecord is one SIGKILL of a worker.
type killRecord struct {
	Target string            `json:"target"`
	Worker int               `json:"worker"`
	Tasks  map[string]string `json:"tasks"` // running detect tasks: their last logged progress stage
	Hit    bool              `json:"hit"`   // one of them was in the target stage
}

// proc is one `changewatch worker` process slot: restarted after each kill.
type proc struct {
	idx      int
	proxy    *faultproxy.Proxy
	proxyURL string
	server   *http.Server
	gen      int
	cmd      *exec.Cmd
	killing  *killRecord
	inflight map[string]string // detect task id -> last progress stage, this generation
	exited   chan struct{}
	logf     *os.File
}

// taskLog is what the workers' logs say about one detect task.
type taskLog struct {
	attempts  int
	done      []float64 // seconds of each attempt that ended with "detect done"
	published int       // "detection published" lines
}

type run struct {
	cfg    Config
	log    *slog.Logger
	store  *s3store.Client // straight to the S3 server, no faults
	bucket string
	s3     S3
	redis  *redisServer
	rdb    *redis.Client

	mu        sync.Mutex
	workers   []*proc
	byAOI     map[string]*task
	logs      map[string]*taskLog // by task id
	doneTasks int
	armed     string // stage a kill waits for, "" when none
	kills     []killRecord
	misses    []string
	stopping  bool
	faultsOff bool
	restarts  []time.Duration
	// Worker log lines that are not JSON (every line must be), and the first of them.
	plainLines int
	plainLine  string
	events     []event
	next       int
	gap        int // tasks done between two disturbances
	lastDone   int // tasks done when the last disturbance ended
	wg         sync.WaitGroup
}

// Run runs the soak and returns its reconciliation. The error is about the soak itself
// (a service that did not start); what the reconciliation finds is in the Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if cfg.Exe == "" || cfg.Dir == "" {
		return nil, errors.New("soak: the changewatch binary and a folder are required")
	}
	if cfg.Tasks < 1 || cfg.Workers < 1 || cfg.Concurrency < 1 {
		return nil, errors.New("soak: tasks, workers and concurrency must be at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	t0 := time.Now()
	s := &run{cfg: cfg, log: cfg.Log, byAOI: map[string]*task{}, logs: map[string]*taskLog{}}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	// Services: S3 (given, or versitygw), Redis with the deployment's persistence.
	s.s3 = cfg.S3
	if s.s3.Endpoint == "" {
		bin := cfg.Versitygw
		if bin == "" {
			var err error
			if bin, err = findVersitygw(); err != nil {
				return nil, err
			}
		}
		v, err := startVersitygw(ctx, bin, cfg.Dir)
		if err != nil {
			return nil, err
		}
		defer v.stop()
		s.s3 = v.S3
	}
	var err error
	s.store, err = s3store.New(ctx, s3store.Config{Endpoint: s.s3.Endpoint, Region: "us-east-1", PathStyle: true,
		AccessKey: s.s3.AccessKey, SecretKey: s.s3.SecretKey})
	if err != nil {
		return nil, fmt.Errorf("soak: s3: %w", err)
	}
	var nonce [4]byte
	rand.Read(nonce[:])
	s.bucket = "soak-" + hex.EncodeToString(nonce[:])
	if err := s.store.EnsureBucket(ctx, s.bucket); err != nil {
		return nil, fmt.Errorf("soak: bucket: %w", err)
	}
	s.redis, err = startRedis(ctx, cfg.RedisServer, filepath.Join(cfg.Dir, "redis"))
	if err != nil {
		return nil, fmt.Errorf("soak: %w", err)
	}
	defer s.redis.stop()
	s.rdb = redis.NewClient(&redis.Options{Addr: s.redis.addr()})
	defer s.rdb.Close()
	s.log.Info("services", "redis", s.redis.addr(), "redis_persistence", strings.Join(RedisArgs, " "), "s3", s.s3.Endpoint, "bucket", s.bucket)

	// Scenes, corrupted copies, tasks.
	res, err := s.scenes(ctx)
	if err != nil {
		return nil, fmt.Errorf("soak: scenes: %w", err)
	}
	tasks, err := s.tasks(res)
	if err != nil {
		return nil, fmt.Errorf("soak: %w", err)
	}
	for _, t := range tasks {
		s.byAOI[t.aoiID] = t
		s.logs[t.id] = &taskLog{}
	}
	enqueued, err := s.enqueue(ctx, tasks)
	if err != nil {
		return nil, fmt.Errorf("soak: enqueue: %w", err)
	}
	s.log.Info("enqueued", "tasks", len(tasks), "corrupt", cfg.Corrupt)
	s.plan()

	// Workers, each behind its own fault proxy (so a request names its worker).
	for i := range cfg.Workers {
		w := &proc{idx: i + 1}
		if err := s.startProxy(w); err != nil {
			return nil, fmt.Errorf("soak: %w", err)
		}
		s.workers = append(s.workers, w)
		defer w.server.Close()
	}
	s.mu.Lock()
	for _, w := range s.workers {
		if err := s.startWorker(w); err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("soak: %w", err)
		}
	}
	s.mu.Unlock()
	finished := s.drive(ctx, tasks)
	s.stopWorkers()
	s.wg.Wait()

	rep := s.reconcile(context.WithoutCancel(ctx), tasks, enqueued)
	rep.Finished = finished
	rep.WallS = time.Since(t0).Seconds()
	return rep, nil
}

// plan lays out the disturbances: each stage KillRounds times, RandomKills at random
// stages, RedisRestarts Redis restarts, spread over the first 60 % of the tasks.
func (s *run) plan() {
	var evs []event
	restarts := s.cfg.RedisRestarts
	for range s.cfg.KillRounds {
		for _, st := range Stages {
			evs = append(evs, event{stage: st})
		}
		if restarts > 0 {
			evs = append(evs, event{})
			restarts--
		}
	}
	for i := range s.cfg.RandomKills {
		evs = append(evs, event{stage: Stages[(int(s.cfg.Seed)+i*7+i*i)%len(Stages)]})
		if restarts > 0 && i%2 == 1 {
			evs = append(evs, event{})
			restarts--
		}
	}
	for ; restarts > 0; restarts-- {
		evs = append(evs, event{})
	}
	// Each disturbance waits for a share of the tasks to finish after the one before, so
	// they spread over the first 60 % of the run.
	s.gap = int(float64(s.cfg.Tasks) * 0.6 / float64(max(1, len(evs))))
	s.events = evs
}

func (s *run) enqueue(ctx context.Context, tasks []*task) (map[string]time.Time, error) {
	client := asynq.NewClientFromRedisClient(s.rdb)
	at := map[string]time.Time{}
	for _, t := range tasks {
		at[t.id] = time.Now()
		qt, err := jobs.NewDetectTask(t.req, jobs.QueueAdhoc)
		if err != nil {
			return nil, err
		}
		if _, err := client.EnqueueContext(ctx, qt); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return nil, err
		}
	}
	return at, nil
}

// startProxy starts w's fault proxy in front of the S3 server.
func (s *run) startProxy(w *proc) error {
	p, err := faultproxy.New(faultproxy.Config{Upstream: s.s3.Endpoint, Seed: uint64(s.cfg.Seed)*31 + uint64(w.idx),
		Rate: s.cfg.FaultRate, LatencyRate: s.cfg.LatencyRate, MaxLatency: s.cfg.MaxLatency,
		Hook: func(r *http.Request) bool { return s.hook(w, r) }})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(l)
	w.proxy, w.proxyURL, w.server = p, "http://"+l.Addr().String(), srv
	return nil
}

// startWorker starts a new generation of w (s.mu held).
func (s *run) startWorker(w *proc) error {
	w.gen++
	logf, err := os.OpenFile(filepath.Join(s.cfg.Dir, fmt.Sprintf("worker-%d.log", w.idx)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	workDir := filepath.Join(s.cfg.Dir, fmt.Sprintf("work-%d", w.idx))
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(s.cfg.Exe, "worker", "--redis", "redis://"+s.redis.addr()+"/0",
		"--concurrency", strconv.Itoa(s.cfg.Concurrency), "--log-level", "debug", "--work-dir", workDir,
		"--s3-endpoint", w.proxyURL, "--s3-path-style", "--s3-region", "us-east-1")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s.s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s.s3.SecretKey,
		"CHANGEWATCH_ALLOW_READ=", "CHANGEWATCH_WATCH=")
	cmd.SysProcAttr = childproc.Attr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start worker %d: %w", w.idx, err)
	}
	w.cmd, w.logf, w.killing, w.inflight, w.exited = cmd, logf, nil, map[string]string{}, make(chan struct{})
	gen := w.gen
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.readLog(w, gen, stderr, logf)
		cmd.Wait()
		logf.Close()
		s.exited(w, gen)
	}()
	return nil
}

// logLine is what the soak reads from a worker's JSON log line.
type logLine struct {
	Msg     string  `json:"msg"`
	TaskID  string  `json:"task_id"`
	Type    string  `json:"type"`
	Stage   string  `json:"stage"`
	AOIID   string  `json:"aoi_id"`
	Seconds float64 `json:"seconds"`
}

func (s *run) readLog(w *proc, gen int, r io.Reader, logf *os.File) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		logf.Write(append(line, '\n'))
		var l logLine
		if json.Unmarshal(line, &l) != nil {
			s.mu.Lock()
			if s.plainLines++; s.plainLine == "" {
				s.plainLine = string(line)
			}
			s.mu.Unlock()
			continue
		}
		s.onLog(w, gen, l)
	}
}

func (s *run) onLog(w *proc, gen int, l logLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tl := s.logs[l.TaskID]
	switch {
	case l.Msg == "detection published":
		if t := s.byAOI[l.AOIID]; t != nil {
			s.logs[t.id].published++
		}
	case tl == nil || l.Type != jobs.TypeDetectChange:
	case l.Msg == "detect started":
		tl.attempts++
		w.inflight[l.TaskID] = "started"
	case l.Msg == "stage":
		if _, ok := w.inflight[l.TaskID]; ok {
			w.inflight[l.TaskID] = l.Stage
		}
		// Read and compute make few or no requests on small AOIs (the bands' bytes came
		// with their opening): the kill follows the stage's log line.
		if st := stageOf(l.Stage); (st == "read" || st == "compute") && s.armed == st && w.gen == gen && w.killing == nil {
			s.kill(w)
		}
	case l.Msg == "detect done":
		delete(w.inflight, l.TaskID)
		if len(tl.done) == 0 {
			s.doneTasks++
		}
		tl.done = append(tl.done, l.Seconds)
	case l.Msg == "task failed permanently" || l.Msg == "task failed, will retry":
		delete(w.inflight, l.TaskID)
	}
}

// hook is called by w's proxy before each request: it kills w when a kill is armed for
// the stage that request belongs to. A plan kill waits for a catalog read while a task of
// w plans; a publish kill for a put of a result file (not the manifest): the old manifest
// is gone, some files are new, the rest still to come.
func (s *run) hook(w *proc, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed == "" || w.killing != nil || w.cmd == nil {
		return false
	}
	key := strings.TrimPrefix(r.URL.Path, "/"+s.bucket+"/")
	inStage := func(st string) bool {
		for _, p := range w.inflight {
			if stageOf(p) == st {
				return true
			}
		}
		return false
	}
	switch s.armed {
	case "plan":
		if r.Method != http.MethodGet || strings.HasPrefix(key, "results/") || !inStage(s.armed) {
			return false
		}
	case "publish":
		parts := strings.Split(key, "/")
		if r.Method != http.MethodPut || len(parts) != 4 || parts[0] != "results" || parts[2] != runDir ||
			parts[3] == "manifest.json" || strings.HasPrefix(parts[3], "report.") {
			return false
		}
	default:
		return false
	}
	s.kill(w)
	return true
}

// kill SIGKILLs w for the armed stage (s.mu held); exited completes the record.
func (s *run) kill(w *proc) {
	w.killing = &killRecord{Target: s.armed, Worker: w.idx}
	s.armed = ""
	w.cmd.Process.Kill()
}

// exited is called once a worker generation's process is gone and its log read.
func (s *run) exited(w *proc, gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.gen != gen {
		return
	}
	w.cmd = nil
	close(w.exited)
	if k := w.killing; k != nil {
		k.Tasks = map[string]string{}
		for id, p := range w.inflight {
			k.Tasks[id] = p
			k.Hit = k.Hit || stageOf(p) == k.Target
		}
		s.kills = append(s.kills, *k)
		ev := &s.events[s.next]
		if k.Hit || ev.tries >= 5 {
			if !k.Hit {
				s.misses = append(s.misses, k.Target)
			}
			s.next++
			s.lastDone = s.doneTasks
		} else {
			ev.tries++
		}
		s.log.Info("worker killed", "worker", w.idx, "target", k.Target, "running", k.Tasks, "hit", k.Hit)
	} else if !s.stopping {
		s.log.Warn("worker exited by itself", "worker", w.idx, "log", filepath.Join(s.cfg.Dir, fmt.Sprintf("worker-%d.log", w.idx)))
	}
	if !s.stopping {
		if err := s.startWorker(w); err != nil {
			s.log.Error("restart worker", "worker", w.idx, "err", err)
		}
	}
}

// drive arms the planned disturbances as tasks finish and waits until every task is done
// (completed or archived) and the ledger and notify queues are drained. It reports
// whether that happened before the deadline.
func (s *run) drive(ctx context.Context, tasks []*task) bool {
	ins := asynq.NewInspectorFromRedisClient(s.rdb)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastCheck, lastReport := time.Time{}, time.Now()
	for {
		select {
		case <-ctx.Done():
			s.log.Error("soak deadline reached before every task was done")
			return false
		case <-tick.C:
		}
		s.mu.Lock()
		done := s.doneTasks
		if s.cfg.FaultsUntil > 0 && !s.faultsOff && float64(done) >= s.cfg.FaultsUntil*float64(len(tasks)) {
			for _, w := range s.workers {
				w.proxy.SetRates(0, 0)
			}
			s.faultsOff = true
			s.log.Info("S3 faults stopped", "done", done)
		}
		var ev *event
		if s.next < len(s.events) && s.armed == "" && done >= s.lastDone+s.gap && !s.killInProgress() {
			ev = &s.events[s.next]
			if ev.stage != "" {
				s.armed = ev.stage
			}
		}
		running := 0
		for _, w := range s.workers {
			running += len(w.inflight)
		}
		s.mu.Unlock()
		if ev != nil && ev.stage == "" && running > 0 {
			s.restartRedis(ctx, ins)
		}
		if time.Since(lastReport) > 10*time.Second {
			s.mu.Lock()
			s.log.Info("progress", "done", done, "of", len(tasks), "kills", len(s.kills), "redis_restarts", len(s.restarts), "running", running)
			s.mu.Unlock()
			lastReport = time.Now()
		}
		if time.Since(lastCheck) < 2*time.Second {
			continue
		}
		lastCheck = time.Now()
		if s.allDone(ins, tasks) {
			s.mu.Lock()
			s.dropEvents()
			s.mu.Unlock()
			return true
		}
		// Disturbances still planned when every task has passed their stage are dropped.
		s.mu.Lock()
		if done >= len(tasks)-s.cfg.Corrupt-s.cfg.Workers*s.cfg.Concurrency {
			s.dropEvents()
		}
		s.mu.Unlock()
	}
}

// dropEvents gives up the disturbances not done yet (s.mu held): too few tasks are left.
func (s *run) dropEvents() {
	for _, e := range s.events[min(s.next, len(s.events)):] {
		s.misses = append(s.misses, cmpOr(e.stage, "redis restart"))
	}
	s.next, s.armed = len(s.events), ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *run) killInProgress() bool {
	for _, w := range s.workers {
		if w.killing != nil && w.cmd != nil {
			return true
		}
	}
	return false
}

// restartRedis SIGKILLs redis-server and starts it again, when tasks are queued.
func (s *run) restartRedis(ctx context.Context, ins *asynq.Inspector) {
	qi, err := ins.GetQueueInfo(jobs.QueueAdhoc)
	if err != nil || qi.Pending == 0 {
		return
	}
	d, err := s.redis.restart(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.lastDone = s.doneTasks
	if err != nil {
		s.log.Error("redis restart", "err", err)
		return
	}
	s.restarts = append(s.restarts, d)
	s.log.Info("redis-server killed and restarted", "pending", qi.Pending, "active", qi.Active, "down_s", d.Seconds())
}

// allDone reports whether every detect task is completed or archived and nothing is left
// in the ledger and notify queues.
func (s *run) allDone(ins *asynq.Inspector, tasks []*task) bool {
	for _, q := range []string{jobs.QueueAdhoc, jobs.QueueLedger, jobs.QueueNotify} {
		qi, err := ins.GetQueueInfo(q)
		if err != nil {
			if errors.Is(err, asynq.ErrQueueNotFound) {
				continue
			}
			return false
		}
		if qi.Pending+qi.Active+qi.Scheduled+qi.Retry+qi.Aggregating > 0 {
			return false
		}
	}
	for _, t := range tasks {
		ti, err := ins.GetTaskInfo(jobs.QueueAdhoc, t.id)
		if err != nil || (ti.State != asynq.TaskStateCompleted && ti.State != asynq.TaskStateArchived) {
			return false
		}
	}
	return true
}

// stopWorkers ends every worker with SIGTERM (its graceful shutdown), then SIGKILL.
func (s *run) stopWorkers() {
	s.mu.Lock()
	s.stopping, s.armed = true, ""
	var waits []chan struct{}
	for _, w := range s.workers {
		if w.cmd != nil {
			w.cmd.Process.Signal(os.Interrupt)
			waits = append(waits, w.exited)
		}
	}
	s.mu.Unlock()
	for _, ch := range waits {
		select {
		case <-ch:
		case <-time.After(45 * time.Second):
			s.mu.Lock()
			for _, w := range s.workers {
				if w.cmd != nil {
					w.cmd.Process.Kill()
				}
			}
			s.mu.Unlock()
			<-ch
		}
	}
}
