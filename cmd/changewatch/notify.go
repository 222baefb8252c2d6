package main

import (
	"context"
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/changewatch/changewatch/notify"
	"github.com/changewatch/changewatch/notify/email"
	"github.com/changewatch/changewatch/notify/webhook"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/watch"
)

// notifyFlags configure a worker's notifications (notify:run, notify:deliver).
type notifyFlags struct {
	watch, webhookHosts, linkBase              string
	smtpAddr, smtpFrom, smtpSecurity, smtpUser string
	webhookTimeout                             time.Duration
}

func (n *notifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.watch, "watch", env("", "CHANGEWATCH_WATCH"), "watch list (folder or s3://bucket/prefix) whose AOIs' subscriptions are notified (env CHANGEWATCH_WATCH; without it reports are written and nobody is told)")
	fs.StringVar(&n.webhookHosts, "webhook-hosts", env("", "CHANGEWATCH_WEBHOOK_HOSTS"), "comma-separated hosts that webhooks may reach, *.example.org for sub-domains (env CHANGEWATCH_WEBHOOK_HOSTS); the signing secret comes from CHANGEWATCH_WEBHOOK_SECRET")
	fs.DurationVar(&n.webhookTimeout, "webhook-timeout", 30*time.Second, "time limit of one webhook request")
	fs.StringVar(&n.linkBase, "link-base", env("", "CHANGEWATCH_LINK_BASE"), "public URL of the output root for links in alerts, e.g. https://changewatch.example.org/files (env CHANGEWATCH_LINK_BASE; default s3:// URLs)")
	fs.StringVar(&n.smtpAddr, "smtp-addr", env("", "CHANGEWATCH_SMTP_ADDR"), "SMTP server host:port for e-mail alerts (env CHANGEWATCH_SMTP_ADDR; without it e-mail deliveries fail)")
	fs.StringVar(&n.smtpFrom, "smtp-from", env("changewatch@localhost", "CHANGEWATCH_SMTP_FROM"), "sender address (env CHANGEWATCH_SMTP_FROM)")
	fs.StringVar(&n.smtpSecurity, "smtp-security", env(email.StartTLS, "CHANGEWATCH_SMTP_SECURITY"), "starttls (required), tls (port 465) or none (env CHANGEWATCH_SMTP_SECURITY)")
	fs.StringVar(&n.smtpUser, "smtp-user", env("", "CHANGEWATCH_SMTP_USER"), "AUTH PLAIN user (env CHANGEWATCH_SMTP_USER); the password comes from CHANGEWATCH_SMTP_PASSWORD")
}

// handler builds the notification handler of a worker.
func (n *notifyFlags) handler(ctx context.Context, store *s3store.Client, q notify.Enqueuer, log *slog.Logger) (*notify.Handler, error) {
	hosts, err := webhook.ParseHosts(n.webhookHosts)
	if err != nil {
		return nil, usagef("--webhook-hosts: %v", err)
	}
	h := &notify.Handler{Queue: q, Logger: log, LinkBase: n.linkBase, Secret: notify.EnvSecret,
		Webhooks: &webhook.Sender{Hosts: hosts, Timeout: n.webhookTimeout}}
	if store != nil { // a nil *s3store.Client in the interface would not be nil
		h.Store = store
	}
	if n.smtpAddr != "" {
		cfg := email.Config{Addr: n.smtpAddr, From: n.smtpFrom, Security: strings.ToLower(n.smtpSecurity),
			Username: n.smtpUser, Password: env("", "CHANGEWATCH_SMTP_PASSWORD")}
		if err := cfg.Validate(); err != nil {
			return nil, usagef("%v", err)
		}
		h.Mail = &cfg
	}
	if n.watch != "" {
		var src watch.Source
		if store != nil {
			src = store
		}
		loc, err := watch.ParseLocation(n.watch, src)
		if err != nil {
			return nil, usagef("--watch: %v", err)
		}
		h.Subscriptions = &watch.Provider{Watch: loc, Logger: log, SubscriptionsOnly: true}
	}
	return h, nil
}
