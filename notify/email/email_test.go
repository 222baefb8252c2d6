package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"mime"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changewatch/changewatch/internal/smtpsink"
	"github.com/changewatch/changewatch/internal/testenv"
)

func testMessage(to string) *Message {
	return &Message{From: "changewatch@example.org", To: []string{to}, Subject: "Muchacha: 1 new incident (2024-03) — Okapi",
		MessageID: "nd-0123@changewatch", Date: time.Date(2024, 4, 2, 6, 0, 0, 0, time.UTC),
		Text: "1 new incident\ninc-muchacha-1 vegetation_to_bare 9.2 ha\n", HTML: `<p>1 new incident</p><img src="cid:inc-1-before@changewatch"><img src="cid:inc-1-after@changewatch">`,
		Inline: []Inline{
			{CID: "inc-1-before@changewatch", ContentType: "image/png", Name: "inc-1-before.png", Data: bytes.Repeat([]byte{1, 2, 3}, 100)},
			{CID: "inc-1-after@changewatch", ContentType: "image/png", Name: "inc-1-after.png", Data: bytes.Repeat([]byte{4, 5}, 100)},
		},
		Headers: map[string]string{"X-Changewatch-Key": "nd-0123"}}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a pool that
// trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestSendToSMTPServer sends a digest to an SMTP server running as its own process
// (cmd/smtpsink), in the clear and with STARTTLS and AUTH PLAIN, and reads back what
// arrived: once, with its text, HTML and inline images.
func TestSendToSMTPServer(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	plainAddr, plainDir := testenv.SMTPSink(t)
	tlsAddr, tlsDir := testenv.SMTPSink(t, "--cert", certFile, "--key", keyFile, "--user", "cw:pa55")
	tests := []struct {
		name    string
		cfg     Config
		dir     string
		wantErr string
	}{
		{"plain", Config{Addr: plainAddr, From: "changewatch@example.org", Security: Plain}, plainDir, ""},
		{"starttls and auth", Config{Addr: tlsAddr, From: "changewatch@example.org", Security: StartTLS, Username: "cw", Password: "pa55",
			TLSConfig: &tls.Config{RootCAs: pool}}, tlsDir, ""},
		{"starttls required but not offered", Config{Addr: plainAddr, From: "changewatch@example.org"}, "", "does not offer STARTTLS"},
		{"wrong password", Config{Addr: tlsAddr, From: "changewatch@example.org", Username: "cw", Password: "x", TLSConfig: &tls.Config{RootCAs: pool}}, "", "auth"},
		{"untrusted certificate", Config{Addr: tlsAddr, From: "changewatch@example.org", Username: "cw", Password: "pa55"}, "", "starttls"},
		{"no auth where required", Config{Addr: tlsAddr, From: "changewatch@example.org", TLSConfig: &tls.Config{RootCAs: pool}}, "", "mail from"},
		{"bad addr", Config{Addr: "nowhere", From: "a@b.org"}, "", "host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := testMessage("gis@example.org").Bytes()
			if err != nil {
				t.Fatal(err)
			}
			err = Send(context.Background(), tt.cfg, []string{"gis@example.org"}, msg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(tt.dir, "*.eml"))
			if len(files) != 1 {
				t.Fatalf("%d messages arrived, want 1", len(files))
			}
			data, _ := os.ReadFile(files[0])
			checkMessage(t, data)
		})
	}
	err := Send(context.Background(), Config{Addr: "127.0.0.1:1", From: "a@b.org", Security: Plain}, []string{"x@y.org"}, []byte("x"))
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("a refused connection: %v, want a retryable error", err)
	}
}

// checkMessage parses a received digest: multipart/alternative of text/plain and
// multipart/related (HTML, then both images with their Content-IDs).
func checkMessage(t *testing.T, data []byte) {
	t.Helper()
	header, parts, err := smtpsink.Parts(data)
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	if subj, _ := dec.DecodeHeader(header.Get("Subject")); subj != "Muchacha: 1 new incident (2024-03) — Okapi" {
		t.Errorf("subject %q", subj)
	}
	if header.Get("Message-ID") != "<nd-0123@changewatch>" || header.Get("X-Changewatch-Key") != "nd-0123" {
		t.Errorf("message id %q key %q", header.Get("Message-ID"), header.Get("X-Changewatch-Key"))
	}
	var got []string
	for _, p := range parts {
		got = append(got, p.Type+" "+p.CID)
	}
	want := "text/plain |text/html |image/png inc-1-before@changewatch|image/png inc-1-after@changewatch"
	if strings.Join(got, "|") != want {
		t.Fatalf("parts %q, want %q", strings.Join(got, "|"), want)
	}
	if !strings.Contains(string(parts[0].Body), "inc-muchacha-1 vegetation_to_bare 9.2 ha") || !strings.Contains(string(parts[1].Body), `src="cid:inc-1-after@changewatch"`) {
		t.Errorf("text %q html %q", parts[0].Body, parts[1].Body)
	}
	if !bytes.Equal(parts[2].Body, bytes.Repeat([]byte{1, 2, 3}, 100)) {
		t.Errorf("the first image changed on the way")
	}
}
