package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
)

// Task types of the notification step. The ledger update enqueues one notify:run per
// published ledger update of a run (NewNotifyRunTask); its handler evaluates the AOI's
// subscriptions against the ledger and enqueues one notify:deliver per (AOI, run, rule,
// channel) that has something to say (NewNotifyDeliverTask).
const (
	TypeNotifyRun     = "notify:run"
	TypeNotifyDeliver = "notify:deliver"
)

// QueueNotify carries the notification tasks: short, and never waiting behind a two-hour
// detection on the same weight.
const QueueNotify = "notify"

const (
	// NotifyRunTimeout bounds one fan-out (reading the ledger and the subscriptions,
	// rendering the reports, enqueueing the deliveries).
	NotifyRunTimeout = 10 * time.Minute
	// NotifyRunMaxRetry retries a fan-out that failed on storage or Redis.
	NotifyRunMaxRetry = 8
	// NotifyDeliverTimeout bounds one delivery (chips rendered, one HTTP request or one
	// SMTP session).
	NotifyDeliverTimeout = 5 * time.Minute
	// NotifyDeliverMaxRetry is how often a delivery is retried (NotifyRetryDelay apart)
	// before it is archived with its last error: about 8 hours in all.
	NotifyDeliverMaxRetry = 12
	// notifyRetention keeps finished notification tasks, and so their ids, as long as the
	// monthly re-checks are kept: a ledger update retried or repeated within that time
	// enqueues nothing twice. Past it, the delivery records beside the run
	// (<out>/<aoi>/<run>/notifications/) still stop a second send.
	notifyRetention = 45 * 24 * time.Hour

	// MaxNotifyIncidents bounds the incidents named in one delivery.
	MaxNotifyIncidents = 1000
	// MaxNotifyRecipients bounds the e-mail addresses of one delivery.
	MaxNotifyRecipients = 50
	maxOutputLen        = 1024
	maxURLLen           = 2048
)

// NotifyRetryDelay is the wait before retry n (1-based) of a delivery: 30 s doubling
// each time, at most an hour.
func NotifyRetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 8 {
		return time.Hour
	}
	return min(30*time.Second<<(n-1), time.Hour)
}

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	runPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])_[0-9]{4}-(0[1-9]|1[0-2])$`)
)

// ValidID reports whether s may name an AOI, a subscription or a rule: 1-128 letters,
// digits, '.', '_' or '-', starting with a letter or digit, never "..". Such an id is safe
// as a path segment of a bucket or folder.
func ValidID(s string) bool {
	return idPattern.MatchString(s) && !strings.Contains(s, "..")
}

// ValidRun reports whether s is a run name, <YYYY-MM>_<YYYY-MM>.
func ValidRun(s string) bool { return runPattern.MatchString(s) }

// NotifyRunRequest asks for the notifications of one run of one AOI, after its ledger
// update was published.
type NotifyRunRequest struct {
	Version int    `json:"version"`
	Output  string `json:"output"` // output root: local folder or s3://bucket/prefix
	AOIID   string `json:"aoi_id"`
	Run     string `json:"run"` // <YYYY-MM>_<YYYY-MM> of the after period
}

// Validate names the first bad field.
func (r *NotifyRunRequest) Validate() error {
	if r.Version != PayloadVersion {
		return &BadRequest{"version", fmt.Sprintf("payload version %d is not supported (want %d)", r.Version, PayloadVersion)}
	}
	return validateTarget(r.Output, r.AOIID, r.Run)
}

func validateTarget(output, aoiID, run string) error {
	switch {
	case output == "":
		return &BadRequest{"output", "missing"}
	case len(output) > maxOutputLen:
		return &BadRequest{"output", fmt.Sprintf("longer than %d bytes", maxOutputLen)}
	case strings.ContainsAny(output, "\x00\n\r"):
		return &BadRequest{"output", "contains a control character"}
	case !ValidID(aoiID):
		return &BadRequest{"aoi_id", fmt.Sprintf("%q is not an id (1-128 letters, digits, '.', '_', '-')", aoiID)}
	case !ValidRun(run):
		return &BadRequest{"run", fmt.Sprintf("%q is not a run name (YYYY-MM_YYYY-MM)", run)}
	}
	return nil
}

// TaskID is notify:<aoi>:<run>: a ledger update retried or repeated for the same run
// enqueues the notification step once.
func (r *NotifyRunRequest) TaskID() string { return "notify:" + r.AOIID + ":" + r.Run }

// NewNotifyRunTask returns the notify:run task of r on QueueNotify, with its timeout,
// retries, retention and idempotent task id. r is validated first (Version may be left
// zero: it is set here). Enqueueing it again for the same AOI and run returns
// asynq.ErrTaskIDConflict, which the caller treats as done.
func NewNotifyRunTask(r NotifyRunRequest) (*asynq.Task, error) {
	r.Version = PayloadVersion
	if err := r.Validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode notify run request: %w", err)
	}
	return asynq.NewTask(TypeNotifyRun, payload, asynq.Queue(QueueNotify), asynq.TaskID(r.TaskID()),
		asynq.Timeout(NotifyRunTimeout), asynq.MaxRetry(NotifyRunMaxRetry), asynq.Retention(notifyRetention)), nil
}

// DecodeNotifyRunRequest decodes and validates a notify:run payload.
func DecodeNotifyRunRequest(payload []byte) (NotifyRunRequest, error) {
	var r NotifyRunRequest
	if err := Decode(payload, &r); err != nil {
		return r, err
	}
	return r, r.Validate()
}

// Channel kinds.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// Channel is where one delivery goes: a webhook URL, or the e-mail addresses of one
// subscription.
type Channel struct {
	Kind string   `json:"kind"`          // ChannelWebhook or ChannelEmail
	URL  string   `json:"url,omitempty"` // webhook: http(s) URL
	To   []string `json:"to,omitempty"`  // email: addresses
}

// Validate names the first bad field. Which hosts a webhook may reach is the worker's
// configuration, checked when it delivers.
func (c Channel) Validate() error {
	switch c.Kind {
	case ChannelWebhook:
		if len(c.To) > 0 {
			return &BadRequest{"channel.to", "a webhook has no e-mail addresses"}
		}
		return ValidateWebhookURL(c.URL)
	case ChannelEmail:
		if c.URL != "" {
			return &BadRequest{"channel.url", "an e-mail channel has no URL"}
		}
		if len(c.To) == 0 || len(c.To) > MaxNotifyRecipients {
			return &BadRequest{"channel.to", fmt.Sprintf("want 1 to %d addresses, got %d", MaxNotifyRecipients, len(c.To))}
		}
		for i, a := range c.To {
			if err := ValidateEmailAddress(a); err != nil {
				return &BadRequest{fmt.Sprintf("channel.to[%d]", i), err.(*BadRequest).Problem}
			}
		}
		return nil
	}
	return &BadRequest{"channel.kind", fmt.Sprintf("%q is not webhook or email", c.Kind)}
}

// key is the channel's identity in an idempotency key.
func (c Channel) key() string {
	if c.Kind == ChannelWebhook {
		return "webhook " + c.URL
	}
	to := slices.Clone(c.To)
	for i := range to {
		to[i] = strings.ToLower(to[i])
	}
	slices.Sort(to)
	return "email " + strings.Join(to, ",")
}

// ValidateWebhookURL accepts an absolute http or https URL with a host and no user
// information, at most 2048 bytes.
func ValidateWebhookURL(s string) error {
	if s == "" {
		return &BadRequest{"url", "missing"}
	}
	if len(s) > maxURLLen {
		return &BadRequest{"url", fmt.Sprintf("longer than %d bytes", maxURLLen)}
	}
	u, err := url.Parse(s)
	if err != nil {
		return &BadRequest{"url", "not a URL: " + err.Error()}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return &BadRequest{"url", fmt.Sprintf("scheme %q: only http and https", u.Scheme)}
	case u.Hostname() == "":
		return &BadRequest{"url", "no host"}
	case u.User != nil:
		return &BadRequest{"url", "user information is not allowed (use the signing secret)"}
	}
	return nil
}

// ValidateEmailAddress accepts one bare address (local@domain, no display name).
func ValidateEmailAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") || len(s) > 254 {
		return &BadRequest{"email", fmt.Sprintf("%q is not a bare e-mail address", s)}
	}
	return nil
}

// NotifyDeliverRequest is one delivery: the incidents that a rule of a subscription
// selected in one run, to one channel.
type NotifyDeliverRequest struct {
	Version      int      `json:"version"`
	Output       string   `json:"output"`
	AOIID        string   `json:"aoi_id"`
	Run          string   `json:"run"`
	Subscription string   `json:"subscription"` // subscription id
	Rule         string   `json:"rule"`         // rule id within the subscription
	Channel      Channel  `json:"channel"`
	Incidents    []string `json:"incidents"` // incident ids, in the order reported
	Key          string   `json:"key"`       // DeliveryKey of the above: the task id and the receiver's idempotency key
}

// DeliveryKey is the idempotency key of a delivery: a hash of (AOI, run, subscription
// and rule, channel). It is the task id of the delivery and the key the receiver sees,
// so a retried run or delivery is one alert to a receiver that dedupes on it.
func DeliveryKey(aoiID, run, subscription, rule string, c Channel) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%s", aoiID, run, subscription, rule, c.key()))
	return "nd-" + hex.EncodeToString(h[:16])
}

// Validate names the first bad field.
func (r *NotifyDeliverRequest) Validate() error {
	if r.Version != PayloadVersion {
		return &BadRequest{"version", fmt.Sprintf("payload version %d is not supported (want %d)", r.Version, PayloadVersion)}
	}
	if err := validateTarget(r.Output, r.AOIID, r.Run); err != nil {
		return err
	}
	switch {
	case !ValidID(r.Subscription):
		return &BadRequest{"subscription", fmt.Sprintf("%q is not an id", r.Subscription)}
	case !ValidID(r.Rule):
		return &BadRequest{"rule", fmt.Sprintf("%q is not an id", r.Rule)}
	case len(r.Incidents) == 0 || len(r.Incidents) > MaxNotifyIncidents:
		return &BadRequest{"incidents", fmt.Sprintf("want 1 to %d incident ids, got %d", MaxNotifyIncidents, len(r.Incidents))}
	}
	for i, id := range r.Incidents {
		if !ValidID(id) {
			return &BadRequest{fmt.Sprintf("incidents[%d]", i), fmt.Sprintf("%q is not an id", id)}
		}
	}
	if err := r.Channel.Validate(); err != nil {
		return err
	}
	if want := DeliveryKey(r.AOIID, r.Run, r.Subscription, r.Rule, r.Channel); r.Key != want {
		return &BadRequest{"key", "does not match the delivery's AOI, run, rule and channel"}
	}
	return nil
}

// NewNotifyDeliverTask returns the notify:deliver task of r on QueueNotify; its task id
// is the delivery key (set here from the other fields), so a fan-out retried after a
// crash enqueues each delivery once.
func NewNotifyDeliverTask(r NotifyDeliverRequest) (*asynq.Task, error) {
	r.Version = PayloadVersion
	r.Key = DeliveryKey(r.AOIID, r.Run, r.Subscription, r.Rule, r.Channel)
	if err := r.Validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode notify deliver request: %w", err)
	}
	return asynq.NewTask(TypeNotifyDeliver, payload, asynq.Queue(QueueNotify), asynq.TaskID(r.Key),
		asynq.Timeout(NotifyDeliverTimeout), asynq.MaxRetry(NotifyDeliverMaxRetry), asynq.Retention(notifyRetention)), nil
}

// DecodeNotifyDeliverRequest decodes and validates a notify:deliver payload.
func DecodeNotifyDeliverRequest(payload []byte) (NotifyDeliverRequest, error) {
	var r NotifyDeliverRequest
	if err := Decode(payload, &r); err != nil {
		return r, err
	}
	return r, r.Validate()
}
