package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Role is what a token may do: readers browse and download; staff also submit, edit the
// watch list, review incidents and monitor the queue.
type Role string

const (
	RoleReader Role = "reader"
	RoleStaff  Role = "staff"
)

// Principal is who made a request.
type Principal struct {
	Name string
	Role Role
}

// Staff reports whether p may use the staff routes.
func (p Principal) Staff() bool { return p.Role == RoleStaff }

// tokenEntry is one accepted token, kept as its SHA-256 only.
type tokenEntry struct {
	Principal
	hash [sha256.Size]byte
}

// Tokens are the accepted API tokens, stored hashed and compared in constant time.
type Tokens struct {
	entries []tokenEntry
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParseTokens reads token lines "NAME ROLE TOKEN" (or "NAME ROLE sha256:HEX", the token's
// SHA-256 in hex, so the file need not hold the secret), separated by newlines or commas
// (for an environment variable); blank lines and lines starting with # are skipped.
// Tokens must be at least 16 characters.
func ParseTokens(data []byte) (*Tokens, error) {
	t := &Tokens{}
	sc := bufio.NewScanner(bytes.NewReader(bytes.ReplaceAll(data, []byte(","), []byte("\n"))))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 3 {
			return nil, fmt.Errorf("tokens: entry %d: want NAME ROLE TOKEN", line)
		}
		if !tokenName.MatchString(f[0]) {
			return nil, fmt.Errorf("tokens: entry %d: name %q: letters, digits and ._@- only, at most 64", line, f[0])
		}
		role := Role(f[1])
		if role != RoleReader && role != RoleStaff {
			return nil, fmt.Errorf("tokens: entry %d: role %q: want staff or reader", line, f[1])
		}
		e := tokenEntry{Principal: Principal{Name: f[0], Role: role}}
		if hx, ok := strings.CutPrefix(f[2], "sha256:"); ok {
			b, err := hex.DecodeString(hx)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("tokens: entry %d: sha256: want 64 hex digits", line)
			}
			copy(e.hash[:], b)
		} else {
			if len(f[2]) < 16 {
				return nil, fmt.Errorf("tokens: entry %d: token shorter than 16 characters", line)
			}
			e.hash = sha256.Sum256([]byte(f[2]))
		}
		t.entries = append(t.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("tokens: none given")
	}
	return t, nil
}

// NewToken returns a random token (32 hex digits, 128 bits).
func NewToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lookup returns the principal of token. Every entry is compared, in constant time, so
// the time taken says nothing about which entry (if any) matched.
func (t *Tokens) lookup(token string) (Principal, [sha256.Size]byte, bool) {
	h := sha256.Sum256([]byte(token))
	var found Principal
	ok := 0
	for _, e := range t.entries {
		m := subtle.ConstantTimeCompare(h[:], e.hash[:])
		if m == 1 {
			found = e.Principal
		}
		ok |= m
	}
	return found, h, ok == 1 && token != ""
}

const (
	sessionCookie = "changewatch_session"
	csrfCookie    = "changewatch_csrf"
	csrfHeader    = "X-CSRF-Token"
)

type principalKey struct{}

// principal returns the request's authenticated principal.
func principal(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// csrfToken is the CSRF token of a session: an HMAC of the token's hash under the
// server's key, so it is bound to the session and needs no server-side state.
func (s *Server) csrfToken(hash [sha256.Size]byte) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write(hash[:])
	return hex.EncodeToString(m.Sum(nil))
}

// authenticate finds the request's token: an Authorization Bearer header, else the
// session cookie. A cookie-authenticated request that changes anything must carry the
// session's CSRF token in the X-CSRF-Token header (double submit: the page reads it from
// the csrf cookie, which other sites cannot read).
func (s *Server) authenticate(r *http.Request) (Principal, int, string) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return Principal{}, http.StatusUnauthorized, "authorization: want a Bearer token"
		}
		p, _, ok := s.tokens.lookup(strings.TrimSpace(tok))
		if !ok {
			return Principal{}, http.StatusUnauthorized, "token not accepted"
		}
		return p, 0, ""
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return Principal{}, http.StatusUnauthorized, "a token is required (Authorization: Bearer TOKEN, or log in at /login)"
	}
	p, hash, ok := s.tokens.lookup(c.Value)
	if !ok {
		return Principal{}, http.StatusUnauthorized, "session not accepted: log in again"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		want := s.csrfToken(hash)
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(want)) != 1 {
			return Principal{}, http.StatusForbidden, "csrf: the X-CSRF-Token header does not match the session"
		}
	}
	return p, 0, ""
}

// login sets the session and CSRF cookies for a token posted from the login form.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "login: bad form", http.StatusBadRequest)
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	_, hash, ok := s.tokens.lookup(tok)
	if !ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		writeLoginPage(w, "That token is not accepted.")
		return
	}
	secure := r.TLS != nil
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: s.csrfToken(hash), Path: "/", Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	next := r.PostForm.Get("next")
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout clears the cookies.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	for _, n := range []string{sessionCookie, csrfCookie} {
		http.SetCookie(w, &http.Cookie{Name: n, Value: "", Path: "/", MaxAge: -1, SameSite: http.SameSiteStrictMode})
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func writeLoginPage(w http.ResponseWriter, msg string) {
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>changewatch: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;background:#f4f5f2;display:flex;justify-content:center;padding-top:12vh}
form{background:#fff;padding:2em;border-radius:8px;box-shadow:0 1px 4px #0002;min-width:22em}
h1{font-size:1.3em;margin:0 0 1em}input{width:100%%;box-sizing:border-box;padding:.5em;margin:.3em 0 1em;font:inherit}
button{padding:.5em 1.4em;font:inherit;background:#2d6a4f;color:#fff;border:0;border-radius:4px}.err{color:#b00020}</style></head>
<body><form method="post" action="/login" id="login"><h1>changewatch</h1><p class="err">%s</p>
<label for="token">Access token</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button></form></body></html>`, htmlEscape(msg))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
