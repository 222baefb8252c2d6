// Package notify is the notification step of a published run: after the ledger update,
// notify:run writes the run's report (report.html, report.pdf) and the before/after
// chips of its new and growing incidents beside its results, evaluates the AOI's
// subscriptions (notify/alert) and enqueues one notify:deliver task per (AOI, run,
// rule, channel); notify:deliver sends one signed webhook (notify/webhook) or one e-mail
// digest (notify/email) and records it.
//
// Nothing lost, nothing twice: the tasks' ids are the notification's identity
// (notify:<aoi>:<run>, and the delivery key), so a retried ledger update or fan-out
// enqueues nothing twice while asynq keeps them (45 days); a delivery writes its record
// (<run>/notifications/<key>.json) once the receiver accepted it and is skipped when the
// record exists, so a worker killed between deliveries, or a run notified again after
// the tasks expired, sends nothing twice. A worker killed after the receiver accepted a
// delivery but before the record was written sends it again on the retry, with the same
// idempotency key (webhooks: Idempotency-Key; e-mail: Message-ID).
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/notify/alert"
	"github.com/changewatch/changewatch/notify/email"
	"github.com/changewatch/changewatch/notify/webhook"
)

// Subscriptions gives the subscriptions of an AOI (a *watch.Provider).
type Subscriptions interface {
	Subscriptions(ctx context.Context, aoiID string) ([]alert.Subscription, error)
}

// Enqueuer enqueues tasks (an *asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Handler serves notify:run and notify:deliver.
type Handler struct {
	Store         Store         // s3:// outputs; nil when outputs are local
	Subscriptions Subscriptions // nil: nobody is subscribed (reports are still written)
	Queue         Enqueuer      // where notify:run enqueues the deliveries
	Webhooks      *webhook.Sender
	// Secret returns the webhook signing secret named by a subscription's secret_env
	// ("" for the default); nil or empty means none, and webhooks fail permanently.
	Secret func(name string) []byte
	Mail   *email.Config // nil: e-mail deliveries fail permanently
	// LinkBase, when set, is the public URL of the output root: links in alerts are
	// LinkBase/<aoi>/<run>/<file>. Otherwise they are s3:// URLs or local paths.
	LinkBase string
	Logger   *slog.Logger
	// ReportsOnly makes notify:run write the reports and enqueue nothing.
	ReportsOnly bool
}

// Register adds the handlers to mux (the worker's).
func (h *Handler) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(jobs.TypeNotifyRun, h.run)
	mux.HandleFunc(jobs.TypeNotifyDeliver, h.deliver)
}

// EnvSecret looks webhook secrets up in the environment: the default in
// CHANGEWATCH_WEBHOOK_SECRET, named ones (CHANGEWATCH_WEBHOOK_SECRET_*) in their own
// variable.
func EnvSecret(name string) []byte {
	if name == "" {
		name = "CHANGEWATCH_WEBHOOK_SECRET"
	}
	return []byte(os.Getenv(name))
}

func (h *Handler) logger(ctx context.Context, t *asynq.Task) *slog.Logger {
	l := h.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	id, _ := asynq.GetTaskID(ctx)
	retry, _ := asynq.GetRetryCount(ctx)
	return l.With("task_id", id, "type", t.Type(), "retry", retry)
}

// permanent wraps err so asynq archives the task at once with the reason.
func permanent(err error) error { return fmt.Errorf("%w: %w", err, asynq.SkipRetry) }

const (
	ledgerName = "ledger.json"
	// MaxChips bounds the incidents of one run that get chips (the largest first).
	MaxChips = 60
	// MaxMailChips bounds the incidents whose chips an e-mail carries inline.
	MaxMailChips = 20
)

// loadLedger reads <aoi>/ledger.json.
func loadLedger(ctx context.Context, r *root, aoiID string) (*alert.Ledger, error) {
	data, err := r.get(ctx, aoiID+"/"+ledgerName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ledger of %s not published yet: %w", aoiID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read ledger of %s: %w", aoiID, err)
	}
	l, err := alert.DecodeLedger(data)
	if err != nil {
		return nil, permanent(err)
	}
	if l.AOIID != aoiID {
		return nil, permanent(fmt.Errorf("ledger of %s names aoi %q", aoiID, l.AOIID))
	}
	return l, nil
}

// run is notify:run: reports and chips, then one delivery task per (rule, channel).
func (h *Handler) run(ctx context.Context, t *asynq.Task) error {
	log := h.logger(ctx, t)
	req, err := jobs.DecodeNotifyRunRequest(t.Payload())
	if err != nil {
		log.Warn("refusing task", "err", err)
		return permanent(err)
	}
	log = log.With("aoi_id", req.AOIID, "run", req.Run)
	r, err := h.root(req.Output)
	if err != nil {
		return permanent(err)
	}
	l, err := loadLedger(ctx, r, req.AOIID)
	if err != nil {
		log.Warn("notify run failed", "err", err)
		return err
	}
	if !l.HasRun(req.Run) {
		// The ledger left the run out (too little observed): nothing to tell.
		log.Info("run not in the ledger: no report, no alert")
		return nil
	}
	item := readItem(ctx, r, req.AOIID, req.Run)
	start := time.Now()
	if err := h.writeReports(ctx, r, l, item, req); err != nil {
		log.Warn("reports failed", "err", err)
		return err
	}
	log.Info("reports written", "seconds", time.Since(start).Seconds())
	if h.ReportsOnly {
		return nil
	}
	var subs []alert.Subscription
	if h.Subscriptions != nil {
		if subs, err = h.Subscriptions.Subscriptions(ctx, req.AOIID); err != nil {
			return fmt.Errorf("subscriptions of %s: %w", req.AOIID, err)
		}
	}
	ds := alert.Deliveries(subs, l, req.Run)
	if len(ds) > 0 && h.Queue == nil {
		return permanent(errors.New("notify run: no queue to enqueue the deliveries on"))
	}
	queued, known := 0, 0
	for _, d := range ds {
		dr := jobs.NotifyDeliverRequest{Output: req.Output, AOIID: req.AOIID, Run: req.Run,
			Subscription: d.Subscription.ID, Rule: d.Rule.ID, Channel: d.Channel}
		for i, m := range d.Matches {
			if i == jobs.MaxNotifyIncidents {
				log.Warn("delivery truncated", "subscription", d.Subscription.ID, "rule", d.Rule.ID, "incidents", len(d.Matches))
				break
			}
			dr.Incidents = append(dr.Incidents, m.Incident.ID)
		}
		task, err := jobs.NewNotifyDeliverTask(dr)
		if err != nil {
			log.Warn("delivery not enqueued", "subscription", d.Subscription.ID, "rule", d.Rule.ID, "err", err)
			continue
		}
		key := jobs.DeliveryKey(dr.AOIID, dr.Run, dr.Subscription, dr.Rule, dr.Channel)
		if done, err := r.exists(ctx, recordName(req.AOIID, req.Run, key)); err != nil {
			return fmt.Errorf("delivery record %s: %w", key, err)
		} else if done {
			known++
			continue
		}
		_, err = h.Queue.EnqueueContext(ctx, task)
		switch {
		case errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask):
			known++
		case err != nil:
			return fmt.Errorf("enqueue delivery %s: %w", key, err)
		default:
			queued++
		}
	}
	log.Info("notify run done", "deliveries_enqueued", queued, "deliveries_known", known)
	return nil
}

// recordName is where a delivery's record is written once it was accepted.
func recordName(aoiID, run, key string) string {
	return aoiID + "/" + run + "/notifications/" + key + ".json"
}

// record is a delivery's record.
type record struct {
	Key          string       `json:"key"`
	Subscription string       `json:"subscription"`
	Rule         string       `json:"rule"`
	Channel      jobs.Channel `json:"channel"`
	Incidents    []string     `json:"incidents"`
	SentAt       time.Time    `json:"sent_at"`
	Status       int          `json:"status,omitempty"` // webhook: the receiver's HTTP status
}

// deliver is notify:deliver: one webhook or one e-mail, then its record.
func (h *Handler) deliver(ctx context.Context, t *asynq.Task) error {
	log := h.logger(ctx, t)
	req, err := jobs.DecodeNotifyDeliverRequest(t.Payload())
	if err != nil {
		log.Warn("refusing task", "err", err)
		return permanent(err)
	}
	log = log.With("aoi_id", req.AOIID, "run", req.Run, "subscription", req.Subscription, "rule", req.Rule, "channel", req.Channel.Kind, "key", req.Key)
	r, err := h.root(req.Output)
	if err != nil {
		return permanent(err)
	}
	recName := recordName(req.AOIID, req.Run, req.Key)
	if done, err := r.exists(ctx, recName); err != nil {
		return fmt.Errorf("delivery record: %w", err)
	} else if done {
		log.Info("already delivered")
		return nil
	}
	l, err := loadLedger(ctx, r, req.AOIID)
	if err != nil {
		return err
	}
	var sub *alert.Subscription
	if h.Subscriptions != nil {
		subs, err := h.Subscriptions.Subscriptions(ctx, req.AOIID)
		if err != nil {
			return fmt.Errorf("subscriptions of %s: %w", req.AOIID, err)
		}
		for i := range subs {
			if subs[i].ID == req.Subscription {
				sub = &subs[i]
			}
		}
	}
	if sub == nil {
		log.Info("subscription gone: not delivered")
		return nil
	}
	a := h.buildAlert(ctx, r, l, readItem(ctx, r, req.AOIID, req.Run), req)
	if len(a.Incidents) == 0 {
		log.Warn("none of the delivery's incidents is in the ledger any more: not delivered")
		return nil
	}
	rec := record{Key: req.Key, Subscription: req.Subscription, Rule: req.Rule, Channel: req.Channel, Incidents: req.Incidents}
	switch req.Channel.Kind {
	case jobs.ChannelWebhook:
		if sub.Webhook == nil || sub.Webhook.URL != req.Channel.URL {
			log.Info("webhook no longer subscribed: not delivered")
			return nil
		}
		if h.Webhooks == nil {
			return permanent(errors.New("webhooks are not configured on this worker"))
		}
		body, err := json.Marshal(a)
		if err != nil {
			return permanent(fmt.Errorf("webhook body: %w", err))
		}
		var secret []byte
		if h.Secret != nil {
			secret = h.Secret(sub.Webhook.SecretEnv)
		}
		st, err := h.Webhooks.Send(ctx, req.Channel.URL, secret, req.Key, body)
		if err != nil {
			log.Warn("webhook failed", "err", err, "status", st.Code)
			if errors.Is(err, webhook.ErrPermanent) {
				return permanent(err)
			}
			return err
		}
		rec.Status = st.Code
	case jobs.ChannelEmail:
		if h.Mail == nil {
			return permanent(errors.New("e-mail is not configured on this worker (no SMTP server)"))
		}
		msg, err := h.digest(ctx, r, a, req)
		if err != nil {
			return permanent(err)
		}
		data, err := msg.Bytes()
		if err != nil {
			return permanent(err)
		}
		if err := email.Send(ctx, *h.Mail, req.Channel.To, data); err != nil {
			log.Warn("e-mail failed", "err", err)
			if errors.Is(err, email.ErrPermanent) {
				return permanent(err)
			}
			return err
		}
	}
	rec.SentAt = time.Now().UTC()
	data, _ := json.MarshalIndent(rec, "", "  ")
	if err := r.put(ctx, recName, data, "application/json"); err != nil {
		// Delivered but not recorded: the retry sends it again with the same key.
		return fmt.Errorf("write delivery record: %w", err)
	}
	log.Info("delivered", "incidents", len(a.Incidents))
	return nil
}
