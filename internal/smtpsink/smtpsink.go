// Package smtpsink is a small SMTP server that accepts every message and keeps it: one
// file per message in a folder, and a callback. The tests run it as its own process
// (cmd/smtpsink) to receive changewatch's e-mails over real SMTP; the demo embeds it.
// It offers STARTTLS when given a certificate and requires AUTH PLAIN when given users.
package smtpsink

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received message.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the session was upgraded with STARTTLS
	User string // who authenticated, "" without AUTH
}

// Sink is the server. Set the fields, then Listen.
type Sink struct {
	Dir       string            // when set, each message is written to Dir/<n>.eml
	TLS       *tls.Config       // offers STARTTLS when set
	Users     map[string]string // requires AUTH PLAIN with one of these when set
	OnMessage func(Message)     // called for every message, after it is written
	MaxBytes  int64             // per message; 0 means 32 MiB
	mu        sync.Mutex
	n         int
	srv       *smtp.Server
}

// Listen starts serving on addr (e.g. 127.0.0.1:0) and returns the address it listens on.
func (s *Sink) Listen(addr string) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{sink: s, conn: c}, nil }))
	srv.Domain = "changewatch-sink.localhost"
	srv.TLSConfig = s.TLS
	srv.AllowInsecureAuth = s.TLS == nil
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = s.MaxBytes
	if srv.MaxMessageBytes <= 0 {
		srv.MaxMessageBytes = 32 << 20
	}
	s.srv = srv
	go srv.Serve(l)
	return l.Addr(), nil
}

// Close stops the server.
func (s *Sink) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

type session struct {
	sink *Sink
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.sink.Users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if want, ok := s.sink.Users[username]; !ok || want != password {
			return errors.New("invalid username or password")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.Users != nil && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	m := Message{From: s.from, To: s.to, Data: b.Bytes(), TLS: isTLS, User: s.user}
	s.sink.mu.Lock()
	s.sink.n++
	n := s.sink.n
	s.sink.mu.Unlock()
	if s.sink.Dir != "" {
		p := filepath.Join(s.sink.Dir, fmt.Sprintf("%06d.eml", n))
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, m.Data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
	}
	if s.sink.OnMessage != nil {
		s.sink.OnMessage(m)
	}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
