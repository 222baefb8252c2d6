package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSend(t *testing.T) {
	secret := []byte("s3cret")
	var mu sync.Mutex
	var got []error
	status := map[string]int{"/ok": 200, "/accepted": 202, "/down": 503, "/slow": 429, "/gone": 410, "/bad": 400, "/timeout": 408}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, Verify(secret, r.Header, body, time.Now(), 5*time.Minute))
		mu.Unlock()
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "https://elsewhere.example.org/", http.StatusFound)
			return
		}
		if r.Header.Get(HeaderIdempotencyKey) != "nd-key" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(status[r.URL.Path])
		io.WriteString(w, "thanks")
	}))
	defer srv.Close()
	s := &Sender{Hosts: Hosts{"127.0.0.1"}}
	tests := []struct {
		name, url string
		secret    []byte
		wantErr   bool
		permanent bool
	}{
		{"ok", srv.URL + "/ok", secret, false, false},
		{"accepted", srv.URL + "/accepted", secret, false, false},
		{"5xx retried", srv.URL + "/down", secret, true, false},
		{"429 retried", srv.URL + "/slow", secret, true, false},
		{"408 retried", srv.URL + "/timeout", secret, true, false},
		{"410 permanent", srv.URL + "/gone", secret, true, true},
		{"400 permanent", srv.URL + "/bad", secret, true, true},
		{"redirect not followed", srv.URL + "/redirect", secret, true, true},
		{"host not allowed", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/ok", secret, true, true},
		{"not http", "ftp://127.0.0.1/ok", secret, true, true},
		{"no secret", srv.URL + "/ok", nil, true, true},
		{"nobody listens", "http://127.0.0.1:1/ok", secret, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Send(context.Background(), tt.url, tt.secret, "nd-key", []byte(`{"a":1}`))
			if (err != nil) != tt.wantErr || errors.Is(err, ErrPermanent) != tt.permanent {
				t.Fatalf("error %v, want error %v permanent %v", err, tt.wantErr, tt.permanent)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for i, err := range got {
		if err != nil {
			t.Errorf("request %d: the receiver could not verify it: %v", i, err)
		}
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"aoi":{"id":"muchacha"}}`)
	now := time.Unix(1712037600, 0)
	header := func(ts int64, sig string) http.Header {
		h := http.Header{}
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, sig)
		return h
	}
	ts := now.Unix()
	tests := []struct {
		name    string
		h       http.Header
		body    []byte
		secret  []byte
		wantErr string
	}{
		{"good", header(ts, Sign(secret, ts, body)), body, secret, ""},
		{"other body", header(ts, Sign(secret, ts, body)), []byte(`{"aoi":{"id":"other"}}`), secret, "does not match"},
		{"other secret", header(ts, Sign(secret, ts, body)), body, []byte("guess"), "does not match"},
		{"timestamp changed", header(ts+1, Sign(secret, ts, body)), body, secret, "does not match"},
		{"replayed later", header(ts-600, Sign(secret, ts-600, body)), body, secret, "away from now"},
		{"no timestamp", http.Header{}, body, secret, "not a unix time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.h, tt.body, now, 5*time.Minute)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestHosts(t *testing.T) {
	hs, err := ParseHosts("hooks.example.org, *.partner.org,127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"hooks.example.org": true, "HOOKS.example.org.": true, "a.partner.org": true, "a.b.partner.org": true,
		"partner.org": false, "evil-partner.org": false, "example.org": false, "127.0.0.1": true, "127.0.0.2": false,
	} {
		if hs.Allows(host) != want {
			t.Errorf("Allows(%q) = %v, want %v", host, !want, want)
		}
	}
	for _, bad := range []string{"https://x.org", "x.org:443", "a.*.org"} {
		if _, err := ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) accepted", bad)
		}
	}
}

// TestREADMEVerification runs the README's shell check (openssl) on a signed body, and
// its Go function, on a good and a tampered body.
func TestREADMEVerification(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var shell string
	for _, block := range strings.Split(string(readme), "```sh\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "openssl dgst") {
			shell = block
		}
	}
	if shell == "" {
		t.Fatal("README has no openssl example")
	}
	for _, line := range []string{`fmt.Fprintf(mac, "%d.", ts)`, `want := "v1=" + hex.EncodeToString(mac.Sum(nil))`,
		`return hmac.Equal([]byte(want), []byte(r.Header.Get("Changewatch-Signature")))`} {
		if !strings.Contains(string(readme), line) {
			t.Errorf("the README's Go example is not readmeVerify: no %s", line)
		}
	}
	secret := []byte("s3cret")
	body := []byte(`{"aoi":{"id":"muchacha"},"incidents":[{"incident_id":"inc-1","reason":{"new":true}}]}` + "\n")
	ts := time.Now().Unix()
	sig := Sign(secret, ts, body)
	for _, tt := range []struct {
		name string
		body []byte
		want string
	}{{"good", body, "signature ok"}, {"tampered", append([]byte(" "), body...), "signature BAD"}} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "body.json"), tt.body, 0o644)
		cmd := exec.Command("bash", "-c", shell)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TS="+strconv.FormatInt(ts, 10), "SIG="+sig, "CHANGEWATCH_WEBHOOK_SECRET="+string(secret))
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("%s: the README's shell check said %q (%v), want %q", tt.name, out, err, tt.want)
		}
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		r.Header.Set(HeaderSignature, sig)
		if got := readmeVerify(secret, r, tt.body); got != (tt.name == "good") {
			t.Errorf("%s: the README's Go verify said %v", tt.name, got)
		}
	}
}

// readmeVerify is the README's Go example, as printed there.
func readmeVerify(secret []byte, r *http.Request, body []byte) bool {
	ts, err := strconv.ParseInt(r.Header.Get("Changewatch-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(r.Header.Get("Changewatch-Signature")))
}
