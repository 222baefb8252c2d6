// Package email composes changewatch's alert digests as MIME messages (plain text and
// HTML, images inline by Content-ID) and sends them over SMTP (STARTTLS or implicit TLS,
// AUTH PLAIN).
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// Inline is an image shown by the HTML part as <img src="cid:CID">.
type Inline struct {
	CID         string // without angle brackets, e.g. "inc-1-before@changewatch"
	ContentType string // e.g. image/png
	Name        string
	Data        []byte
}

// Message is one e-mail.
type Message struct {
	From      string
	To        []string
	Subject   string
	MessageID string // without angle brackets; the same for every try of one delivery
	Date      time.Time
	Text      string
	HTML      string
	Inline    []Inline
	// Headers are extra header fields (X-Changewatch-...).
	Headers map[string]string
}

// Bytes renders m: multipart/alternative of text/plain and multipart/related (the HTML
// and its inline images), CRLF line ends.
func (m *Message) Bytes() ([]byte, error) {
	for _, v := range append([]string{m.From, m.Subject, m.MessageID}, m.To...) {
		if strings.ContainsAny(v, "\r\n") {
			return nil, errors.New("email: a header value holds a line break")
		}
	}
	var b bytes.Buffer
	alt := multipart.NewWriter(&b)
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", m.From)
	h("To", strings.Join(m.To, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.MessageID+">")
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		if v := m.Headers[k]; strings.ContainsAny(k, ": \r\n") || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("email: header %q is not one line", k)
		}
		h(k, m.Headers[k])
	}
	h("MIME-Version", "1.0")
	h("Content-Type", `multipart/alternative; boundary="`+alt.Boundary()+`"`)
	b.WriteString("\r\n")

	if err := qpPart(alt, "text/plain; charset=utf-8", m.Text); err != nil {
		return nil, err
	}
	relHeader := textproto.MIMEHeader{}
	var rb bytes.Buffer
	rel := multipart.NewWriter(&rb)
	relHeader.Set("Content-Type", `multipart/related; type="text/html"; boundary="`+rel.Boundary()+`"`)
	if err := qpPart(rel, "text/html; charset=utf-8", m.HTML); err != nil {
		return nil, err
	}
	for _, in := range m.Inline {
		ph := textproto.MIMEHeader{}
		ph.Set("Content-Type", in.ContentType)
		ph.Set("Content-Transfer-Encoding", "base64")
		ph.Set("Content-ID", "<"+in.CID+">")
		ph.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": in.Name}))
		w, err := rel.CreatePart(ph)
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(in.Data)
		for len(enc) > 76 {
			fmt.Fprintf(w, "%s\r\n", enc[:76])
			enc = enc[76:]
		}
		fmt.Fprintf(w, "%s\r\n", enc)
	}
	if err := rel.Close(); err != nil {
		return nil, err
	}
	w, err := alt.CreatePart(relHeader)
	if err != nil {
		return nil, err
	}
	w.Write(rb.Bytes())
	if err := alt.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func qpPart(mw *multipart.Writer, contentType, text string) error {
	ph := textproto.MIMEHeader{}
	ph.Set("Content-Type", contentType)
	ph.Set("Content-Transfer-Encoding", "quoted-printable")
	w, err := mw.CreatePart(ph)
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}

// Security modes of the SMTP connection.
const (
	StartTLS = "starttls" // plain connection upgraded with STARTTLS, which the server must offer
	TLS      = "tls"      // TLS from the first byte (SMTPS, port 465)
	Plain    = "none"     // no TLS: only for a relay on the same host or a test sink
)

// Config is how to reach the SMTP server.
type Config struct {
	Addr     string // host:port
	From     string // envelope and header sender
	Security string // StartTLS (default), TLS or Plain
	Username string // AUTH PLAIN when set
	Password string
	Timeout  time.Duration // the whole session; 0 means 60 s
	// TLSConfig verifies the server (ServerName defaults to Addr's host); nil means the
	// system roots.
	TLSConfig *tls.Config
	// Helo is the name sent in EHLO; empty means "localhost".
	Helo string
}

// Validate names the first bad field.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	switch {
	case err != nil || host == "" || port == "":
		return fmt.Errorf("smtp addr %q: want host:port", c.Addr)
	case c.From == "":
		return errors.New("smtp from: missing")
	case c.Security != "" && c.Security != StartTLS && c.Security != TLS && c.Security != Plain:
		return fmt.Errorf("smtp security %q: want starttls, tls or none", c.Security)
	case c.Username == "" && c.Password != "":
		return errors.New("smtp username: missing while a password is set")
	}
	return nil
}

// ErrPermanent marks a refusal that trying again cannot fix (a 5xx SMTP answer).
var ErrPermanent = errors.New("permanent smtp failure")

// Send delivers msg (rendered by Message.Bytes) from cfg.From to the recipients in one
// SMTP session.
func Send(ctx context.Context, cfg Config, to []string, msg []byte) (err error) {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %w", err, ErrPermanent)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(cfg.Addr)
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = host
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", cfg.Addr, err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if cfg.Security == TLS {
		conn = tls.Client(conn, tc)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", cfg.Addr, classify(err))
	}
	defer c.Close()
	helo := cfg.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return fmt.Errorf("smtp %s: ehlo: %w", cfg.Addr, classify(err))
	}
	if cfg.Security == "" || cfg.Security == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp %s: the server does not offer STARTTLS (set security to tls or none): %w", cfg.Addr, ErrPermanent)
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", cfg.Addr, err)
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return fmt.Errorf("smtp %s: auth: %w", cfg.Addr, classify(err))
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return fmt.Errorf("smtp %s: mail from: %w", cfg.Addr, classify(err))
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("smtp %s: rcpt to %s: %w", cfg.Addr, r, classify(err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: data: %w", cfg.Addr, classify(err))
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: data: %w", cfg.Addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: data: %w", cfg.Addr, classify(err))
	}
	c.Quit()
	return nil
}

// classify wraps 5xx SMTP replies with ErrPermanent.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("%w: %w", err, ErrPermanent)
	}
	return err
}
