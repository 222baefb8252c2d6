package access

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Egress is a forward HTTP proxy on a loopback port through which all of GDAL's network
// reads go (raster.Init sets GDAL_HTTP_PROXY to its address: /vsicurl/ and /vsis3/). It exists because
// GDAL follows HTTP redirects by itself and has no option not to: an allowed host could
// answer 302 to http://169.254.169.254/ or to a loopback service, and GDAL would read it.
// Through the proxy every request GDAL makes, each redirect it follows included, names
// its host and is refused (403) unless the host is allowed: the hosts of the http(s)
// entries of the policy's Allow, the S3 endpoint, and the hosts granted while a task that
// reads from them runs (Grant: the catalog's own host). Plain http requests are forwarded without
// following redirects; https goes through CONNECT tunnels to the allowed host:port.
type Egress struct {
	ln      net.Listener
	srv     *http.Server
	log     *slog.Logger
	dial    net.Dialer
	forward *http.Transport

	aws     bool // AWS S3 hosts allowed (no S3 endpoint configured)
	mu      sync.Mutex
	static  map[string]bool // "scheme://host:port"
	granted map[string]int  // "scheme://host:port": active grants

	refused atomic.Int64
}

// NewEgress starts the proxy on 127.0.0.1. Allowed for good: the http(s) hosts of allow
// (Policy.Allow entries; other kinds are ignored) and the S3 endpoint that /vsis3/ reads
// from (s3Endpoint as configured: host[:port] or URL; empty means AWS, whose S3 hosts
// *.amazonaws.com are allowed on https). Close stops it.
func NewEgress(allow []string, s3Endpoint string, log *slog.Logger) (*Egress, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("egress proxy: %w", err)
	}
	e := &Egress{
		ln: ln, log: log,
		dial:    net.Dialer{Timeout: 10 * time.Second},
		static:  map[string]bool{},
		granted: map[string]int{},
	}
	e.forward = &http.Transport{
		Proxy:                 nil, // never another proxy
		DialContext:           e.dial.DialContext,
		ResponseHeaderTimeout: 2 * time.Minute,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	for _, a := range allow {
		if loc, err := parseRoot(a); err == nil && loc.Kind == HTTP {
			e.static[origin(loc.Scheme, loc.Host)] = true
		}
	}
	switch ep := strings.TrimSuffix(s3Endpoint, "/"); {
	case ep == "":
		e.aws = true
	case strings.HasPrefix(ep, "http://"):
		e.static[origin("http", strings.TrimPrefix(ep, "http://"))] = true
	default:
		e.static[origin("https", strings.TrimPrefix(ep, "https://"))] = true
	}
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("egress proxy stopped", "err", err)
		}
	}()
	return e, nil
}

// Addr is the proxy's host:port, for GDAL_HTTP_PROXY.
func (e *Egress) Addr() string { return e.ln.Addr().String() }

// Refused counts the requests refused so far.
func (e *Egress) Refused() int64 { return e.refused.Load() }

// Close stops the proxy and its tunnels.
func (e *Egress) Close() error {
	err := e.srv.Close()
	e.forward.CloseIdleConnections()
	return err
}

// Grant allows the host of root (a catalog root or an href; non-http roots are ignored)
// until release is called. Grants nest: a host stays allowed while any grant is held.
func (e *Egress) Grant(root string) (release func()) {
	loc, err := parseRoot(root)
	if err != nil || loc.Kind != HTTP {
		return func() {}
	}
	key := origin(loc.Scheme, loc.Host)
	e.mu.Lock()
	e.granted[key]++
	e.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			if e.granted[key]--; e.granted[key] <= 0 {
				delete(e.granted, key)
			}
			e.mu.Unlock()
		})
	}
}

func (e *Egress) allowed(scheme, hostport string) bool {
	key := origin(scheme, hostport)
	if e.aws && strings.HasSuffix(key, ".amazonaws.com:443") && strings.HasPrefix(key, "https://") {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.static[key] || e.granted[key] > 0
}

// origin is "scheme://host:port" with the default port made explicit, lower case.
func origin(scheme, hostport string) string {
	scheme = strings.ToLower(scheme)
	hostport = strings.ToLower(hostport)
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		port := "80"
		if scheme == "https" {
			port = "443"
		}
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), port)
	}
	return scheme + "://" + hostport
}

func (e *Egress) refuse(w http.ResponseWriter, what string) {
	e.refused.Add(1)
	e.log.Warn("egress refused: the host is not allowed", "request", what)
	http.Error(w, "changewatch egress: host not allowed", http.StatusForbidden)
}

// ServeHTTP handles CONNECT (https) and absolute-URI (http) proxy requests.
func (e *Egress) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		e.tunnel(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "changewatch egress: only proxy requests", http.StatusBadRequest)
		return
	}
	if !e.allowed("http", r.URL.Host) {
		e.refuse(w, r.Method+" "+r.URL.Redacted())
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range []string{"Proxy-Connection", "Proxy-Authorization", "Connection", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		out.Header.Del(h)
	}
	resp, err := e.forward.RoundTrip(out)
	if err != nil {
		http.Error(w, "changewatch egress: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		if k == "Connection" || k == "Keep-Alive" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (e *Egress) tunnel(w http.ResponseWriter, r *http.Request) {
	if !e.allowed("https", r.Host) {
		e.refuse(w, "CONNECT "+r.Host)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	up, err := e.dial.DialContext(ctx, "tcp", r.Host)
	cancel()
	if err != nil {
		http.Error(w, "changewatch egress: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "changewatch egress: cannot tunnel", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	_, _ = down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		defer up.Close()
		defer down.Close()
		if n := buf.Reader.Buffered(); n > 0 {
			b, _ := buf.Reader.Peek(n)
			if _, err := up.Write(b); err != nil {
				return
			}
		}
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(up, down)
			close(done)
		}()
		_, _ = io.Copy(down, up)
		<-done
	}()
}
