package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Queues, highest priority first: requests from GIS staff, the monthly re-checks, and
// backfills of past periods. Workers weigh them 6:3:1 (asynq weighted priority).
const (
	QueueAdhoc    = "adhoc"
	QueueMonthly  = "monthly"
	QueueBackfill = "backfill"
)

// QueuePriorities are the asynq weights of the queues.
var QueuePriorities = map[string]int{QueueAdhoc: 6, QueueMonthly: 3, QueueBackfill: 1}

// Task options per queue. Retention keeps a finished task (and so its id) long enough
// that the same request enqueued again is refused as a duplicate: a month and more for
// the monthly re-checks, so a scheduler restarted in the same month does not run it twice.
var queueRetention = map[string]time.Duration{
	QueueAdhoc:    7 * 24 * time.Hour,
	QueueMonthly:  45 * 24 * time.Hour,
	QueueBackfill: 45 * 24 * time.Hour,
}

const (
	// DetectTimeout bounds one detection task (asynq otherwise applies 30 minutes silently).
	DetectTimeout = 2 * time.Hour
	// DetectMaxRetry is how often a transient failure is retried (with asynq's backoff).
	DetectMaxRetry = 8
)

// TaskID is derived from what the request asks (AOI, periods, options, catalog and output),
// so the same request enqueued twice runs once.
func (r *DetectRequest) TaskID() string {
	opts, _ := json.Marshal(r.Options.WithDefaults())
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%s|%s", r.Catalog, r.Output, opts, r.Before, r.After))
	return fmt.Sprintf("detect:%s:%s:%s:%s", r.AOIID, r.Before.Start.Format("20060102"), r.After.End.Format("20060102"), hex.EncodeToString(h[:6]))
}

// NewDetectTask returns the change:detect task of r for queue (QueueAdhoc when empty),
// with its timeout, retries, retention and idempotent task id. r is validated first.
func NewDetectTask(r DetectRequest, queue string) (*asynq.Task, error) {
	if queue == "" {
		queue = QueueAdhoc
	}
	if _, ok := QueuePriorities[queue]; !ok {
		return nil, &BadRequest{"queue", fmt.Sprintf("%q is not one of adhoc, monthly, backfill", queue)}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.AOIID == "" {
		return nil, &BadRequest{"aoi_id", "missing (set it from the parsed AOI)"}
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode detect request: %w", err)
	}
	return asynq.NewTask(TypeDetectChange, payload,
		asynq.Queue(queue), asynq.TaskID(r.TaskID()), asynq.Timeout(DetectTimeout),
		asynq.MaxRetry(DetectMaxRetry), asynq.Retention(queueRetention[queue])), nil
}

// DecodeDetectRequest decodes a change:detect payload. An unknown version or a malformed
// payload is a BadRequest (never retried).
func DecodeDetectRequest(payload []byte) (DetectRequest, error) {
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return DetectRequest{}, &BadRequest{"payload", "not JSON: " + err.Error()}
	}
	if v.Version != PayloadVersion {
		return DetectRequest{}, &BadRequest{"version", fmt.Sprintf("payload version %d is not supported by this worker (want %d)", v.Version, PayloadVersion)}
	}
	var r DetectRequest
	if err := json.Unmarshal(payload, &r); err != nil {
		return DetectRequest{}, &BadRequest{"payload", err.Error()}
	}
	return r, nil
}

// MonthlyPeriods returns the default periods of a monthly re-check run at now: after is
// the last full calendar month, before the same month one year earlier (a seasonal match:
// the same month of the previous year has the same phenology and sun angle).
func MonthlyPeriods(now time.Time) (before, after Period) {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	aStart := first.AddDate(0, -1, 0)
	after = Period{Start: aStart, End: first.AddDate(0, 0, -1)}
	bStart := aStart.AddDate(-1, 0, 0)
	before = Period{Start: bStart, End: bStart.AddDate(0, 1, -1)}
	return before, after
}

// Progress is what a running task reports through its result while it works.
type Progress struct {
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
}
