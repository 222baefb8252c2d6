// Package server is changewatch serve: the JSON API under /api/v1 (AOIs, requests through
// the queue, runs and downloads, incidents as OGC API - Features, review), the STAC tree
// of the results, health and Prometheus metrics, and the map and jobs pages of package web.
// It reads the output root and Redis; it writes only requests (the queue), the watch
// list, uploaded AOIs, verdicts and the audit log.
package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/aoi"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/watch"
)

// Config is what New needs; cmd/ builds it.
type Config struct {
	Store Store          // the output root (results, ledgers, verdicts, audit, uploaded AOIs)
	Watch watch.Location // the scheduler's watch list, as the scheduler reads it
	// WatchStore writes the same watch list (nil: the watch list is read-only).
	WatchStore Store
	Catalog    string // STAC catalog the requests search
	Output     string // the output root as the worker names it (folder or s3://bucket/prefix)
	Redis      redis.UniversalClient
	Tokens     *Tokens
	Logger     *slog.Logger
	// Ping checks the object store for /readyz; nil checks by listing the root.
	Ping func(ctx context.Context) error
	// MaxUpload bounds an uploaded AOI (bytes); 0 means 4 MiB.
	MaxUpload int64
	// AOILimits bound uploaded AOIs (as detect does); zero means aoi.DefaultLimits.
	AOILimits aoi.Limits
	// Basemap is an optional XYZ tile URL template (https://host/{z}/{x}/{y}.png) the map
	// draws under the imagery; empty: no basemap (the map needs none).
	Basemap string
	// Now returns the time; nil means time.Now (tests fix it for the embargo).
	Now func() time.Time
}

// Server answers serve's routes. Create with New.
type Server struct {
	cfg     Config
	tokens  *Tokens
	log     *slog.Logger
	ins     *asynq.Inspector
	client  *asynq.Client
	csrfKey []byte
	reg     *prometheus.Registry
	m       *metrics
	routes  []route
	mux     *http.ServeMux
}

// route is one API route; the OpenAPI document is built from the same table.
type route struct {
	method, pattern string
	staff           bool // staff only (readers get 403)
	summary         string
	handler         func(http.ResponseWriter, *http.Request) error
	body            string // the request body's media type, when it has one
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Redis == nil || cfg.Tokens == nil {
		return nil, errors.New("server: Store, Redis and Tokens are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 4 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Basemap != "" {
		if err := checkBasemap(cfg.Basemap); err != nil {
			return nil, err
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	s := &Server{cfg: cfg, tokens: cfg.Tokens, log: cfg.Logger, csrfKey: key,
		ins: asynq.NewInspectorFromRedisClient(cfg.Redis), client: asynq.NewClientFromRedisClient(cfg.Redis)}
	s.reg, s.m = newMetrics(s)
	s.routes = s.apiRoutes()
	s.mux = http.NewServeMux()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.pattern, s.guard(rt))
	}
	// The landing page without the slash too (QGIS is given the API's URL as typed).
	s.mux.Handle("GET /api/v1", s.guard(route{handler: s.landing}))
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		writeLoginPage(w, "")
	})
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.Handle("GET /metrics", s.guard(route{staff: true, handler: s.metricsHandler}))
	s.mux.Handle("GET /stac/{path...}", s.guard(route{handler: s.stac}))
	s.mux.Handle("GET /{path...}", s.guard(route{handler: s.page}))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(rw, r)
	s.m.observeHTTP(r, rw.code, rw.bytes, time.Since(start))
}

// Close releases the asynq client and inspector (not the Redis client, which cmd/ owns).
func (s *Server) Close() error {
	return errors.Join(s.client.Close(), s.ins.Close())
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// guard authenticates the request, checks its role and runs the handler, turning its
// error into a JSON problem.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, code, msg := s.authenticate(r)
		if code != 0 {
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="changewatch"`)
				if wantsHTML(r) {
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.WriteHeader(code)
					writeLoginPage(w, "")
					return
				}
			}
			writeProblem(w, code, msg)
			return
		}
		if rt.staff && !p.Staff() {
			writeProblem(w, http.StatusForbidden, "this route is for staff")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if err := rt.handler(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// wantsHTML reports whether a browser asked for a page (a 401 then shows the login form).
func wantsHTML(r *http.Request) bool {
	return r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// httpError is an error with the status and message the client sees.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var ve *aoi.ValidationError
	var br *jobs.BadRequest
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		writeProblem(w, he.code, he.msg)
	case errors.As(err, &mb):
		writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", mb.Limit))
	case errors.As(err, &ve):
		writeProblem(w, http.StatusUnprocessableEntity, ve.Error())
	case errors.As(err, &br):
		writeProblem(w, http.StatusUnprocessableEntity, br.Error())
	case errors.Is(err, fs.ErrNotExist):
		writeProblem(w, http.StatusNotFound, "not found")
	default:
		s.m.errors.WithLabelValues("internal").Inc()
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeProblem(w, http.StatusInternalServerError, "internal error")
	}
}

// writeProblem writes an RFC 9457 problem document.
func writeProblem(w http.ResponseWriter, code int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"status": code, "title": http.StatusText(code), "detail": detail})
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	return writeTyped(w, code, "application/json", v)
}

func writeTyped(w http.ResponseWriter, code int, typ string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", typ)
	w.WriteHeader(code)
	_, err = w.Write(data)
	return err
}

// decodeBody decodes a JSON body of at most limit bytes into v, refusing unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		return errorf(http.StatusBadRequest, "body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "body: more than one JSON value")
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks that Redis and the object store answer.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.cfg.Redis.Ping(ctx).Err(); err != nil {
		checks["redis"], ok = "unreachable", false
		s.log.Warn("readyz: redis", "err", err)
	} else {
		checks["redis"] = "ok"
	}
	ping := s.cfg.Ping
	if ping == nil {
		ping = func(ctx context.Context) error { _, err := s.cfg.Store.List(ctx, ".readyz"); return err }
	}
	if err := ping(ctx); err != nil {
		checks["s3"], ok = "unreachable", false
		s.log.Warn("readyz: object store", "err", err)
	} else {
		checks["s3"] = "ok"
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": map[bool]string{true: "ready", false: "not ready"}[ok], "checks": checks})
}

// audit appends one staff action to <out>/.audit/ (one object per action, never rewritten).
func (s *Server) audit(ctx context.Context, action, target string, details any) error {
	p := principal(ctx)
	now := s.cfg.Now().UTC()
	rec := map[string]any{"who": p.Name, "role": p.Role, "action": action, "target": target,
		"at": now.Format(time.RFC3339Nano), "details": details}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Put(ctx, ".audit/"+objectName(now), data, "application/json"); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// objectName is the name of an append-only object written at t:
// <yyyymmddThhmmssZ>-<8 hex>.json (the random part keeps two writes of one second apart).
func objectName(t time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%x.json", t.UTC().Format("20060102T150405Z"), b)
}

// Serve answers HTTP on ln until ctx is done, then shuts down gracefully (in-flight
// requests get 10 s). Every read and write has a timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}

// checkBasemap accepts an http(s) XYZ template with {z}, {x} and {y}.
func checkBasemap(t string) error {
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(t))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		!strings.Contains(t, "{z}") || !strings.Contains(t, "{x}") || !strings.Contains(t, "{y}") || strings.ContainsAny(t, " '\"") {
		return fmt.Errorf("basemap %q: want an http(s) URL template with {z}, {x} and {y}", t)
	}
	return nil
}

// basemapOrigin is the scheme and host of the basemap, for the pages' CSP.
func (s *Server) basemapOrigin() string {
	if s.cfg.Basemap == "" {
		return ""
	}
	u, _ := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(s.cfg.Basemap))
	return u.Scheme + "://" + u.Host
}
