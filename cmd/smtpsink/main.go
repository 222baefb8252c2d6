// Command smtpsink runs internal/smtpsink as a process: an SMTP server on loopback that
// keeps every message it receives as a file. The e-mail tests start it to receive
// changewatch's messages over real SMTP.
//
//	smtpsink --addr 127.0.0.1:0 --dir /tmp/mail [--cert c.pem --key k.pem] [--user name:password]
//
// It prints the address it listens on as its first line on stdout and serves until
// stopped.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/changewatch/changewatch/internal/smtpsink"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "smtpsink:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	dir := flag.String("dir", "", "folder for the received messages (required)")
	cert := flag.String("cert", "", "PEM certificate: offer STARTTLS")
	key := flag.String("key", "", "PEM key of --cert")
	user := flag.String("user", "", "require AUTH PLAIN as name:password")
	flag.Parse()
	if *dir == "" {
		return fmt.Errorf("--dir is required")
	}
	s := &smtpsink.Sink{Dir: *dir}
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		s.TLS = &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
	}
	if *user != "" {
		name, pass, ok := strings.Cut(*user, ":")
		if !ok {
			return fmt.Errorf("--user: want name:password")
		}
		s.Users = map[string]string{name: pass}
	}
	a, err := s.Listen(*addr)
	if err != nil {
		return err
	}
	fmt.Println(a.String())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return s.Close()
}
