package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/internal/smtpsink"
	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/notify"
	"github.com/changewatch/changewatch/notify/email"
	"github.com/changewatch/changewatch/notify/webhook"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/watch"
)

// demoSubscriber is the e-mail address of the demo's subscription.
const demoSubscriber = "gis-team@demo.changewatch.localhost"

// alerts is the demo's receiving side: a webhook receiver that verifies each signature
// and dedupes on the idempotency key, and an SMTP sink, both on loopback. Each alert
// received is printed once and kept under <out>/alerts/ (a webhook's body.json and
// headers.env, to check with the README's openssl example; the e-mails as .eml files).
type alerts struct {
	dir      string
	secret   []byte
	hookURL  string
	smtpAddr string
	say      func(format string, args ...any)
	srv      *http.Server
	sink     *smtpsink.Sink

	mu      sync.Mutex
	keys    map[string]int // idempotency key -> requests
	hooks   int            // alerts accepted (distinct keys)
	repeats int            // requests with a known key
	mails   int
}

// startAlerts starts the receiver and the sink; dir is emptied first.
func startAlerts(dir string, say func(string, ...any)) (*alerts, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "mail"), 0o755); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	a := &alerts{dir: dir, secret: []byte("demo-" + hex.EncodeToString(b)), say: say, keys: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	a.hookURL = "http://" + l.Addr().String() + "/changewatch"
	a.srv = &http.Server{Handler: http.HandlerFunc(a.receive), ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(l)
	a.sink = &smtpsink.Sink{Dir: filepath.Join(dir, "mail"), OnMessage: a.mail}
	addr, err := a.sink.Listen("127.0.0.1:0")
	if err != nil {
		a.srv.Close()
		return nil, err
	}
	a.smtpAddr = addr.String()
	return a, nil
}

func (a *alerts) Close() {
	a.srv.Close()
	a.sink.Close()
}

// receive is the webhook receiver, as a subscriber would write one: verify, dedupe,
// accept.
func (a *alerts) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(a.secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
		a.say("alert: webhook REFUSED: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	key := r.Header.Get(webhook.HeaderIdempotencyKey)
	a.mu.Lock()
	a.keys[key]++
	first := a.keys[key] == 1
	if first {
		a.hooks++
	} else {
		a.repeats++
	}
	a.mu.Unlock()
	if !first {
		a.say("alert: webhook %s again: a repeat, ignored", key)
		return
	}
	var al notify.Alert
	if err := json.Unmarshal(body, &al); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	keep := filepath.Join(a.dir, key)
	os.MkdirAll(keep, 0o755)
	os.WriteFile(filepath.Join(keep, "body.json"), body, 0o644)
	env := fmt.Sprintf("TS=%s\nSIG=%s\nCHANGEWATCH_WEBHOOK_SECRET=%s\n", r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), a.secret)
	os.WriteFile(filepath.Join(keep, "headers.env"), []byte(env), 0o644)
	for _, inc := range al.Incidents {
		what := "new"
		if !inc.Reason.New {
			what = fmt.Sprintf("grew +%.2f ha", inc.Reason.GrowthHa)
		}
		where := "outside protected areas"
		if inc.ProtectedArea != "" {
			where = "in " + inc.ProtectedArea
		}
		mine := ""
		if inc.MineName != "" && inc.MineDistanceKm != nil {
			mine = fmt.Sprintf(", %.1f km from %s", *inc.MineDistanceKm, inc.MineName)
		}
		a.say("ALERT (webhook, signature verified): %s run %s, rule %q: %s incident %s, %s, %.2f ha, confidence %.2f, %s%s",
			al.AOI.ID, al.Run, al.Rule, what, inc.ID, inc.Class, inc.AreaHa, inc.MaxConfidence, where, mine)
	}
	a.say("       Idempotency-Key %s; body and headers in %s; report %s", key, keep, al.Links["report_pdf"])
}

func (a *alerts) mail(m smtpsink.Message) {
	a.mu.Lock()
	a.mails++
	a.mu.Unlock()
	h, _, err := smtpsink.Parts(m.Data)
	subject := ""
	if err == nil {
		subject = h.Get("Subject")
	}
	a.say("ALERT (e-mail to %v): %s", m.To, decodeHeader(subject))
}

func decodeHeader(s string) string {
	var d mime.WordDecoder
	if out, err := d.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

// writeWatch writes the demo's watch list: each AOI file with one subscription (the
// receiver's webhook and the sink's address) whose rule fires on new incidents.
func (a *alerts) writeWatch(dir string, areas []demoArea) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, da := range areas {
		var f map[string]any
		if err := json.Unmarshal(da.data, &f); err != nil {
			return fmt.Errorf("watch list: %w", err)
		}
		if f["type"] != "Feature" {
			f = map[string]any{"type": "Feature", "geometry": f}
		}
		props, _ := f["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		props["id"], props["name"] = da.area.ID, da.area.Name
		props["subscriptions"] = []any{map[string]any{"id": "demo-gis-team",
			"webhook": map[string]any{"url": a.hookURL}, "email": []string{demoSubscriber},
			"rules": []any{map[string]any{"id": "new-incidents", "new": true}}}}
		f["properties"] = props
		data, err := json.MarshalIndent(f, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, da.area.ID+".geojson"), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// handler is the notification handler of the demo's worker: reports beside each run,
// alerts to the receiver and the sink.
func (a *alerts) handler(store notify.Store, q notify.Enqueuer, watchDir string, log *slog.Logger) (*notify.Handler, error) {
	loc, err := watch.ParseLocation(watchDir, nil)
	if err != nil {
		return nil, err
	}
	return &notify.Handler{Store: store, Queue: q, Logger: log,
		Subscriptions: &watch.Provider{Watch: loc, Logger: log, SubscriptionsOnly: true},
		Secret:        func(string) []byte { return a.secret },
		Webhooks:      &webhook.Sender{Hosts: webhook.Hosts{"127.0.0.1"}, Timeout: 10 * time.Second},
		Mail:          &email.Config{Addr: a.smtpAddr, From: "changewatch-demo@localhost", Security: email.Plain, Timeout: 20 * time.Second}}, nil
}

// counts returns the alerts received: webhooks (distinct keys), repeats, e-mails.
func (a *alerts) counts() (hooks, repeats, mails int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hooks, a.repeats, a.mails
}

// summary is the line the demo ends with.
func (a *alerts) summary() string {
	h, r, m := a.counts()
	var b bytes.Buffer
	fmt.Fprintf(&b, "alerts: %d webhook alert(s) received and verified (%d repeat(s) ignored), %d e-mail(s); kept in %s", h, r, m, a.dir)
	return b.String()
}

// waitNotify waits until every published run has its report in the bucket and the
// notify queue holds nothing left to do (the ledger update queues notify:run, which
// writes the run's report, then queues one delivery per rule and channel).
func (d *demo) waitNotify(ctx context.Context, ins *asynq.Inspector, store *s3store.Client, tasks []*demoTask) error {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	idle := 0
	for {
		missing := ""
		for _, t := range tasks {
			if t.failed != "" {
				continue
			}
			keys, err := store.List(ctx, demoResults, t.prefix+"/report.pdf")
			if err != nil {
				return fmt.Errorf("reports: %w", err)
			}
			if len(keys) == 0 {
				missing = t.label()
				break
			}
		}
		busy := true
		if qi, err := ins.GetQueueInfo(jobs.QueueNotify); err == nil {
			busy = qi.Pending+qi.Active+qi.Scheduled+qi.Retry+qi.Aggregating > 0
		}
		// Two idle looks in a row: a delivery queued by a notify:run that just ended is
		// seen by the second.
		if missing == "" && !busy {
			if idle++; idle == 2 {
				return nil
			}
		} else {
			idle = 0
		}
		select {
		case <-ctx.Done():
			what := "the alerts"
			if missing != "" {
				what = "the report of " + missing
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}
