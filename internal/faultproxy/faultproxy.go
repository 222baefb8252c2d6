// Package faultproxy is an HTTP reverse proxy that injects the faults of an unreliable
// S3 service between a client and a real S3 server: 500 InternalError, 503 SlowDown,
// connections reset in the middle of a body, responses (ranges and whole objects) cut
// short, and latency. The
// faults follow a seeded random schedule and are counted by kind.
//
// Faults on requests that change state (PUT, POST, DELETE) are injected before the request
// is forwarded, so the server never sees a failed write; reads may fail after the server
// answered (a reset or a cut in the middle of the body).
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The faults the proxy injects.
const (
	InternalError Kind = "500 InternalError"
	SlowDown      Kind = "503 SlowDown"
	Reset         Kind = "reset mid-body"
	Truncated     Kind = "truncated body"
	Latency       Kind = "latency"
)

// Kinds lists every kind, in the order reports print them.
var Kinds = []Kind{InternalError, SlowDown, Reset, Truncated, Latency}

// Config configures a proxy.
type Config struct {
	// Upstream is the S3 server's base URL, e.g. http://127.0.0.1:7070.
	Upstream string
	// Seed makes the fault schedule reproducible for the same sequence of requests.
	Seed uint64
	// Rate is the share of requests (0-1) that fail: 500, 503, a reset, or for GETs a
	// body cut short (a range or a whole object), in equal parts.
	Rate float64
	// Fail restricts the failures drawn to these kinds (default InternalError, SlowDown,
	// Reset and Truncated; Truncated applies to GETs only).
	Fail []Kind
	// LatencyRate is the share of requests delayed by up to MaxLatency before they are
	// forwarded (independent of Rate).
	LatencyRate float64
	MaxLatency  time.Duration
	// Hook, when set, is called with every request before it is forwarded (after any
	// latency); when it returns true the request is dropped: its connection is reset. The
	// soak suite uses it to kill a worker while one of its requests is in flight.
	Hook func(r *http.Request) bool
}

// Proxy is the fault-injecting reverse proxy; it is an http.Handler.
type Proxy struct {
	cfg      Config
	upstream *url.URL
	client   *http.Client

	mu       sync.Mutex
	rng      *rand.Rand
	counts   map[Kind]int64
	requests int64
}

// New returns a proxy to cfg.Upstream.
func New(cfg Config) (*Proxy, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q: want http(s)://host:port", cfg.Upstream)
	}
	if cfg.Rate < 0 || cfg.Rate > 1 || cfg.LatencyRate < 0 || cfg.LatencyRate > 1 {
		return nil, fmt.Errorf("faultproxy: rates %g and %g: want 0 to 1", cfg.Rate, cfg.LatencyRate)
	}
	for _, k := range cfg.Fail {
		if k != InternalError && k != SlowDown && k != Reset && k != Truncated {
			return nil, fmt.Errorf("faultproxy: fail kind %q: want one of %q, %q, %q, %q", k, InternalError, SlowDown, Reset, Truncated)
		}
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: time.Minute,
		MaxIdleConnsPerHost:   64,
		DisableCompression:    true,
	}
	return &Proxy{cfg: cfg, upstream: u, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		counts: map[Kind]int64{},
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}, nil
}

// SetRates changes the failure and latency rates from the next request on (0 and 0 stop
// the faults).
func (p *Proxy) SetRates(rate, latencyRate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.Rate, p.cfg.LatencyRate = rate, latencyRate
}

// Counts returns the faults injected so far by kind, and the requests seen.
func (p *Proxy) Counts() (faults map[Kind]int64, requests int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Kind]int64, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out, p.requests
}

// draw decides the faults of one request: a failure kind ("" for none), a delay, and for
// a body fault the share of the body sent before it.
func (p *Proxy) draw(r *http.Request) (fail Kind, delay time.Duration, cut float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if p.rng.Float64() < p.cfg.LatencyRate && p.cfg.MaxLatency > 0 {
		delay = time.Duration(p.rng.Int64N(int64(p.cfg.MaxLatency)) + 1)
		p.counts[Latency]++
	}
	if p.rng.Float64() < p.cfg.Rate {
		kinds := p.cfg.Fail
		if len(kinds) == 0 {
			kinds = []Kind{InternalError, SlowDown, Reset, Truncated}
		}
		if r.Method != http.MethodGet {
			kinds = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool { return k == Truncated })
		}
		if len(kinds) > 0 {
			fail = kinds[p.rng.IntN(len(kinds))]
			cut = p.rng.Float64()
			p.counts[fail]++
		}
	}
	return fail, delay, cut
}

// ServeHTTP forwards r to the upstream server, injecting the faults drawn for it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail, delay, cut := p.draw(r)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if p.cfg.Hook != nil && p.cfg.Hook(r) {
		reset(w, false)
		return
	}
	switch fail {
	case InternalError:
		s3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	case SlowDown:
		s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	}
	writes := r.Method != http.MethodGet && r.Method != http.MethodHead
	if fail == Reset && writes {
		// Part of the request body arrives, then the connection breaks: the server never
		// sees the request.
		if r.ContentLength > 0 {
			io.CopyN(io.Discard, r.Body, int64(cut*float64(r.ContentLength)))
		}
		reset(w, false)
		return
	}
	resp, err := p.forward(r)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		}
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		if k == "Connection" || k == "Keep-Alive" || k == "Transfer-Encoding" {
			continue
		}
		w.Header()[k] = slices.Clone(vs)
	}
	w.WriteHeader(resp.StatusCode)
	if fail != Reset && fail != Truncated {
		io.Copy(w, resp.Body)
		return
	}
	// A body fault: send part of the body (the headers promised all of it), then reset
	// the connection or close it cleanly.
	n := int64(cut * float64(max(resp.ContentLength, 0)))
	io.CopyN(w, resp.Body, n)
	if fail == Reset {
		reset(w, true)
		return
	}
	if conn := hijack(w, true); conn != nil {
		conn.Close() // FIN: a clean close, the body short of its Content-Length
	}
}

// forward sends r to the upstream server. The Host header is kept: S3 signatures cover it.
func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	u := *p.upstream
	u.Path, u.RawPath = r.URL.Path, r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	var body io.Reader
	if r.ContentLength != 0 {
		body = r.Body
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		if k == "Connection" || k == "Keep-Alive" || k == "Proxy-Connection" || k == "Te" || k == "Upgrade" {
			continue
		}
		out.Header[k] = slices.Clone(vs)
	}
	out.Host = r.Host
	out.ContentLength = r.ContentLength
	return p.client.Do(out)
}

// s3Error answers with an S3 error document.
func s3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>faultproxy</RequestId></Error>`,
			code, msg, r.URL.Path)
	}
}

// reset resets the connection (TCP RST), after sending what was written when flush is
// set (else nothing, not even a status line, reaches the client).
func reset(w http.ResponseWriter, flush bool) {
	conn := hijack(w, flush)
	if conn == nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// hijack takes the connection over from the server, after sending what was written when
// flush is set.
func hijack(w http.ResponseWriter, flush bool) net.Conn {
	if f, ok := w.(http.Flusher); ok && flush {
		f.Flush()
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if flush {
		buf.Flush()
	}
	return conn
}
