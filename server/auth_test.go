package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/changewatch/changewatch/server"
)

// TestAuthMatrix calls every route of the OpenAPI document, and the pages, metrics and
// STAC, with no token, a bad token, a reader's and a staff token: no token and a bad one
// get 401, readers 403 on staff routes, and neither role is refused where it is allowed.
func TestAuthMatrix(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Role string `json:"x-role"`
		}
	}
	if res, _ := e.do(t, "GET", "/api/v1/openapi.json", "", nil, ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("openapi without a token: %d", res.StatusCode)
	}
	e.getJSON(t, "/api/v1/openapi.json", readerToken, &doc)
	type call struct{ method, path, role string }
	var calls []call
	param := regexp.MustCompile(`\{[a-z]+\}`)
	for p, ops := range doc.Paths {
		for m, op := range ops {
			concrete := param.ReplaceAllStringFunc(p, func(s string) string {
				switch s {
				case "{run}":
					return "2024-01_2024-03"
				case "{z}", "{x}", "{y}":
					return "0"
				}
				return "nothing-here"
			})
			calls = append(calls, call{strings.ToUpper(m), concrete, op.Role})
		}
	}
	if len(calls) < 20 {
		t.Fatalf("only %d operations in the OpenAPI document", len(calls))
	}
	calls = append(calls, call{"GET", "/metrics", "staff"}, call{"GET", "/jobs", "staff"}, call{"GET", "/", "reader"},
		call{"GET", "/stac/catalog.json", "reader"}, call{"GET", "/assets/map.js", "reader"})
	sort.Slice(calls, func(i, j int) bool { return calls[i].path+calls[i].method < calls[j].path+calls[j].method })
	posts := 0
	for _, c := range calls {
		if c.method == "POST" {
			posts++
		}
		for _, who := range []string{"none", "bad", "reader", "staff"} {
			res, body := e.do(t, c.method, c.path, tokenFor(who), []byte("{}"), "application/json")
			got := res.StatusCode
			refused := got == http.StatusUnauthorized || got == http.StatusForbidden
			switch {
			case who == "none" || who == "bad":
				if got != http.StatusUnauthorized {
					t.Errorf("%s %s with %s token: %d, want 401", c.method, c.path, who, got)
				}
			case who == "reader" && c.role == "staff":
				if got != http.StatusForbidden {
					t.Errorf("%s %s as reader: %d, want 403", c.method, c.path, got)
				}
			case refused:
				t.Errorf("%s %s as %s: refused (%d %s)", c.method, c.path, who, got, body)
			}
		}
	}
	if posts < 3 {
		t.Errorf("%d POST routes in the document", posts)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if res, _ := e.do(t, "GET", p, "", nil, ""); res.StatusCode != http.StatusOK {
			t.Errorf("%s without a token: %d", p, res.StatusCode)
		}
	}
}

// TestCookieSession: the login form sets an HttpOnly, SameSite session cookie; writes
// through the cookie need the CSRF header, reads do not.
func TestCookieSession(t *testing.T) {
	e := newEnv(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(e.url+"/login", url.Values{"token": {"wrong-token-0000000000"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a bad token: %d", res.StatusCode)
	}
	res, err = c.PostForm(e.url+"/login", url.Values{"token": {staffToken}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var session, csrf *http.Cookie
	for _, ck := range res.Cookies() {
		switch ck.Name {
		case "changewatch_session":
			session = ck
		case "changewatch_csrf":
			csrf = ck
		}
	}
	if res.StatusCode != http.StatusSeeOther || session == nil || csrf == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || csrf.HttpOnly {
		t.Fatalf("login: %d, session %+v, csrf %+v", res.StatusCode, session, csrf)
	}
	get, _ := c.Get(e.url + "/api/v1/me")
	var me map[string]any
	json.NewDecoder(get.Body).Decode(&me)
	get.Body.Close()
	if get.StatusCode != http.StatusOK || me["name"] != "alice" {
		t.Fatalf("GET with the cookie: %d %v", get.StatusCode, me)
	}
	put := func(header string) int {
		req, _ := http.NewRequest("PUT", e.url+"/api/v1/aois/nothing-here/embargo", strings.NewReader(`{"months":1}`))
		if header != "" {
			req.Header.Set("X-CSRF-Token", header)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := put(""); code != http.StatusForbidden {
		t.Errorf("cookie write without the CSRF header: %d, want 403", code)
	}
	if code := put("0000"); code != http.StatusForbidden {
		t.Errorf("cookie write with a wrong CSRF header: %d, want 403", code)
	}
	if code := put(csrf.Value); code != http.StatusNotFound { // authorised; the AOI does not exist
		t.Errorf("cookie write with the CSRF header: %d, want 404", code)
	}
	// A page without a session shows the login form with 401.
	req, _ := http.NewRequest("GET", e.url+"/", nil)
	req.Header.Set("Accept", "text/html")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("page without a session: %d", res.StatusCode)
	}
}

func TestParseTokens(t *testing.T) {
	for _, c := range []struct {
		in, err string
	}{
		{"alice staff 0123456789abcdef", ""},
		{"alice staff sha256:" + strings.Repeat("ab", 32) + ",bob reader 0123456789abcdefg", ""},
		{"alice admin 0123456789abcdef", "role"},
		{"alice staff short", "shorter"},
		{"alice staff", "NAME ROLE TOKEN"},
		{"al/ice staff 0123456789abcdef", "name"},
		{"# only a comment", "none"},
		{"alice staff sha256:zz", "sha256"},
	} {
		_, err := server.ParseTokens([]byte(c.in))
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %v, want %q", c.in, err, c.err)
		}
	}
}
