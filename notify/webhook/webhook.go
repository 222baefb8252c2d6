// Package webhook signs and delivers changewatch's alert webhooks, and verifies them on
// the receiving side.
//
// A delivery is one POST of a JSON body with these headers:
//
//	Content-Type:            application/json
//	Idempotency-Key:         nd-<32 hex>   the same for every try of one (AOI, run, rule, channel)
//	Changewatch-Timestamp:   <unix seconds of this try>
//	Changewatch-Signature:   v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// A receiver recomputes the HMAC over the timestamp, a dot and the raw body with the
// shared secret, compares it in constant time, refuses timestamps older than a few
// minutes (replays), and treats a second request with a known Idempotency-Key as a
// repeat of the first.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTimestamp      = "Changewatch-Timestamp"
	HeaderSignature      = "Changewatch-Signature"
)

// Sign returns the Changewatch-Signature value of body sent at unix time ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks the signature headers of a received body: the signature must be that
// of secret over the timestamp and body, and the timestamp within tolerance of now.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: %s: not a unix time", HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: timestamp %d is %v away from now (tolerance %v)", ts, d.Round(time.Second), tolerance)
	}
	got := h.Get(HeaderSignature)
	if !hmac.Equal([]byte(got), []byte(Sign(secret, ts, body))) {
		return errors.New("webhook: signature does not match")
	}
	return nil
}

// Hosts is the allow-list of webhook hosts: exact host names or IP addresses, or
// "*.example.org" for every sub-domain of example.org. Ports are not part of it.
type Hosts []string

// ParseHosts parses a comma-separated allow-list.
func ParseHosts(s string) (Hosts, error) {
	var hs Hosts
	for _, h := range strings.Split(s, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if strings.ContainsAny(h, "/:@ ") && net.ParseIP(h) == nil {
			return nil, fmt.Errorf("webhook hosts: %q is not a host name (no scheme, port or path)", h)
		}
		if strings.Contains(strings.TrimPrefix(h, "*."), "*") {
			return nil, fmt.Errorf("webhook hosts: %q: only a leading *. is allowed", h)
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// Allows reports whether host may receive webhooks.
func (hs Hosts) Allows(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range hs {
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if h == host {
			return true
		}
	}
	return false
}

// ErrPermanent marks a delivery that trying again cannot fix: a host outside the
// allow-list, a malformed URL, or a 4xx answer other than 408 and 429.
var ErrPermanent = errors.New("permanent webhook failure")

// Sender posts webhooks.
type Sender struct {
	Hosts   Hosts
	Timeout time.Duration // per request; 0 means 30 s
	// Client is the HTTP client; nil means one with Timeout that follows no redirects
	// (a redirect could lead outside the allow-list).
	Client *http.Client
	// Now returns the time of a try (tests); nil means time.Now.
	Now func() time.Time
}

// Status is what a receiver answered.
type Status struct {
	Code int
	Body string // the first 512 bytes
}

// Send posts body to rawURL, signed with secret, with the idempotency key. Errors are
// wrapped with ErrPermanent when retrying cannot help; other errors (network, time-outs,
// 5xx, 408, 429) are worth retrying.
func (s *Sender) Send(ctx context.Context, rawURL string, secret []byte, key string, body []byte) (Status, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return Status{}, fmt.Errorf("webhook %s: not an http(s) URL: %w", rawURL, ErrPermanent)
	}
	if !s.Hosts.Allows(u.Hostname()) {
		return Status{}, fmt.Errorf("webhook %s: host %q is not in the allowed webhook hosts: %w", redact(u), u.Hostname(), ErrPermanent)
	}
	if len(secret) == 0 {
		return Status{}, fmt.Errorf("webhook %s: no signing secret configured: %w", redact(u), ErrPermanent)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Status{}, fmt.Errorf("webhook %s: %w: %w", redact(u), err, ErrPermanent)
	}
	ts := now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "changewatch-webhook/1")
	req.Header.Set(HeaderIdempotencyKey, key)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("webhook %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	st := Status{Code: resp.StatusCode, Body: strings.TrimSpace(string(head))}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return st, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return st, fmt.Errorf("webhook %s: %s %q", redact(u), resp.Status, st.Body)
	default:
		return st, fmt.Errorf("webhook %s: %s %q: %w", redact(u), resp.Status, st.Body, ErrPermanent)
	}
}

// redact drops the query (it may hold a receiver's token) from u for messages.
func redact(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		c.RawQuery = "…"
	}
	return c.String()
}
