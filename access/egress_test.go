package access

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// proxyGet fetches target through the proxy at addr, without following redirects.
func proxyGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	pu, _ := url.Parse("http://" + addr)
	c := &http.Client{
		Transport:     &http.Transport{Proxy: http.ProxyURL(pu)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEgress(t *testing.T) {
	hits := map[string]int{}
	serve := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[name]++
			w.Header().Set("Location", "http://elsewhere.invalid/")
			_, _ = io.WriteString(w, name+" "+r.Header.Get("Range"))
		}))
	}
	allowed, catalog, other := serve("allowed"), serve("catalog"), serve("other")
	defer allowed.Close()
	defer catalog.Close()
	defer other.Close()
	eg, err := NewEgress([]string{allowed.URL + "/scenes/", "s3://", "/data/scenes"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eg.Close()

	tests := []struct {
		name, target string
		grant        bool
		want         int
	}{
		{"allow-listed host", allowed.URL + "/scenes/B04.tif", false, http.StatusOK},
		{"allow-listed host, other path (hosts are what the proxy sees)", allowed.URL + "/x.tif", false, http.StatusOK},
		{"host not allowed", other.URL + "/B04.tif", false, http.StatusForbidden},
		{"catalog host before its grant", catalog.URL + "/B04.tif", false, http.StatusForbidden},
		{"catalog host while granted", catalog.URL + "/B04.tif", true, http.StatusOK},
		{"catalog host after release", catalog.URL + "/B04.tif", false, http.StatusForbidden},
		{"metadata address", "http://169.254.169.254/latest/meta-data/", false, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := func() {}
			if tt.grant {
				release = eg.Grant(catalog.URL + "/catalog.json")
			}
			defer release()
			code, body := proxyGet(t, eg.Addr(), tt.target)
			if code != tt.want {
				t.Fatalf("%s: status %d (%q), want %d", tt.target, code, body, tt.want)
			}
		})
	}
	if hits["other"] != 0 {
		t.Errorf("a refused host was reached %d times", hits["other"])
	}
	if eg.Refused() != 4 {
		t.Errorf("refused %d, want 4", eg.Refused())
	}
}

// CONNECT (https) is refused unless the host:port is allowed; an allowed one tunnels.
func TestEgressConnect(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }() // echo
		}
	}()
	eg, err := NewEgress([]string{"https://" + up.Addr().String() + "/"}, "http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eg.Close()
	connect := func(target string) (string, net.Conn) {
		c, err := net.Dial("tcp", eg.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line, c
	}
	line, c := connect(up.Addr().String())
	if !strings.Contains(line, " 200 ") {
		t.Fatalf("allowed CONNECT: %q", line)
	}
	_, _ = io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("tunnel echo %q, %v", buf, err)
	}
	c.Close()
	for _, target := range []string{"169.254.169.254:443", "127.0.0.1:6379", "s3.us-west-2.amazonaws.com:443"} {
		line, c := connect(target)
		c.Close()
		if !strings.Contains(line, " 403 ") {
			t.Errorf("CONNECT %s: %q, want 403", target, line)
		}
	}
}

// With no S3 endpoint configured, AWS's S3 hosts are allowed on https only.
func TestEgressAWS(t *testing.T) {
	eg, err := NewEgress(nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eg.Close()
	for host, want := range map[string]bool{
		"sentinel-cogs.s3.us-west-2.amazonaws.com:443": true,
		"s3.us-west-2.amazonaws.com":                   true,
		"evil.example:443":                             false,
		"amazonaws.com.evil.example:443":               false,
	} {
		if got := eg.allowed("https", host); got != want {
			t.Errorf("https %s: %v, want %v", host, got, want)
		}
	}
	if eg.allowed("http", "sentinel-cogs.s3.us-west-2.amazonaws.com") {
		t.Error("plain http to AWS allowed")
	}
}
