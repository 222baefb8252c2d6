package jobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
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

// QueuePriorities are the asynq weights of the queues. The notifications (QueueNotify)
// and the ledger updates (QueueLedger) weigh as much as the staff's requests: they are
// short and someone waits for them.
var QueuePriorities = map[string]int{QueueAdhoc: 6, QueueMonthly: 3, QueueBackfill: 1, QueueNotify: 6, QueueLedger: 6}

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

// TaskID is derived from what the request asks (AOI id and document, periods, options,
// catalog and output), so the same request enqueued twice runs once, and a corrected
// boundary under the same id is a new request. The AOI document is hashed in its compact
// form (whitespace does not count).
func (r *DetectRequest) TaskID() string {
	opts, _ := json.Marshal(r.Options.WithDefaults())
	var aoiDoc bytes.Buffer
	if json.Compact(&aoiDoc, r.AOI) != nil {
		aoiDoc.Reset()
		aoiDoc.Write(r.AOI)
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%s|%s|%s", r.Catalog, r.Output, opts, r.Before, r.After, aoiDoc.Bytes()))
	return fmt.Sprintf("detect:%s:%s:%s:%s", r.AOIID, r.Before.Start.Format("20060102"), r.After.End.Format("20060102"), hex.EncodeToString(h[:6]))
}

// NewDetectTask returns the change:detect task of r for queue (QueueAdhoc when empty),
// with its timeout, retries, retention and idempotent task id. r is validated first.
func NewDetectTask(r DetectRequest, queue string) (*asynq.Task, error) {
	if queue == "" {
		queue = QueueAdhoc
	}
	if _, ok := queueRetention[queue]; !ok {
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
	return asynq.NewTask(TypeDetectChange, payload, taskOpts(queue, r.TaskID(), queueRetention[queue])...), nil
}

// DecodeDetectRequest decodes a change:detect payload (see Decode).
func DecodeDetectRequest(payload []byte) (DetectRequest, error) {
	var r DetectRequest
	if err := Decode(payload, &r); err != nil {
		return r, err
	}
	return r, r.Validate()
}

// DecodeChunkRequest decodes and validates a change:chunk payload.
func DecodeChunkRequest(payload []byte) (ChunkRequest, error) {
	var c ChunkRequest
	if err := Decode(payload, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// DecodeMergeRequest decodes and validates a change:merge payload.
func DecodeMergeRequest(payload []byte) (MergeRequest, error) {
	var m MergeRequest
	if err := Decode(payload, &m); err != nil {
		return m, err
	}
	return m, m.Validate()
}

// DefaultBaselineMonths is the length of a monthly run's baseline window: the 12 months
// before the month, so one cloudy month a year earlier does not leave the AOI unobserved
// (the composite takes the clearest scenes of the whole window).
const DefaultBaselineMonths = 12

// MaxBaselineMonths bounds a configured baseline window.
const MaxBaselineMonths = 36

// MonthlyPeriods returns the default periods of a monthly re-check run at now: after is
// the last full calendar month, before the DefaultBaselineMonths months before it.
func MonthlyPeriods(now time.Time) (before, after Period) {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return MonthPeriods(first.AddDate(0, -1, 0), DefaultBaselineMonths)
}

// MonthPeriods returns the periods of the monthly run of the month starting at month:
// after is that calendar month, before the baselineMonths months just before it
// (DefaultBaselineMonths when 0 or less).
func MonthPeriods(month time.Time, baselineMonths int) (before, after Period) {
	if baselineMonths <= 0 {
		baselineMonths = DefaultBaselineMonths
	}
	m := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	after = Period{Start: m, End: m.AddDate(0, 1, -1)}
	before = Period{Start: m.AddDate(0, -baselineMonths, 0), End: m.AddDate(0, 0, -1)}
	return before, after
}

// ParseMonths parses a range of months "YYYY-MM/YYYY-MM" (inclusive) into the first day of
// each, at most max of them.
func ParseMonths(s string, max int) ([]time.Time, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return nil, fmt.Errorf("months %q: want FIRST/LAST, e.g. 2023-01/2024-06", s)
	}
	first, err := time.Parse("2006-01", a)
	if err != nil {
		return nil, fmt.Errorf("months %q: first: want YYYY-MM", s)
	}
	last, err := time.Parse("2006-01", b)
	if err != nil {
		return nil, fmt.Errorf("months %q: last: want YYYY-MM", s)
	}
	if last.Before(first) {
		return nil, fmt.Errorf("months %q: last is before first", s)
	}
	var out []time.Time
	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		if len(out) == max {
			return nil, fmt.Errorf("months %q: more than %d months", s, max)
		}
		out = append(out, m)
	}
	return out, nil
}

// Progress is what a running task reports through its result while it works.
type Progress struct {
	Stage   string  `json:"stage"`
	Percent float64 `json:"percent"`
}

// Task types of a fanned-out detection: a big AOI's grid is cut into chunks that any
// worker can take; the last chunk to finish enqueues the merge, which stitches regions
// across chunk borders and publishes.
const (
	TypeDetectChunk = "change:chunk"
	TypeMerge       = "change:merge"
)

// Scene is one planned acquisition, fixed by the parent task so every chunk composites
// exactly the same scenes whatever the catalog says later.
type Scene struct {
	ID       string              `json:"id"`
	Date     time.Time           `json:"date"`
	Hrefs    map[string]string   `json:"hrefs"`          // band key -> href
	More     []map[string]string `json:"more,omitempty"` // further tiles of the same acquisition
	DNOffset float64             `json:"dn_offset"`
	Items    []string            `json:"items,omitempty"` // the STAC items' hrefs, one per tile
}

// ChunkRequest is one chunk of a fanned-out detection.
type ChunkRequest struct {
	Version int           `json:"version"`
	Request DetectRequest `json:"request"`
	Run     string        `json:"run"` // the fan-out run (the parent's task id hash)
	Before  []Scene       `json:"before"`
	After   []Scene       `json:"after"`
	Index   int           `json:"index"`
	Count   int           `json:"count"`
	Col     int           `json:"col"` // window of the AOI grid, pixels
	Row     int           `json:"row"`
	Width   int           `json:"width"`
	Height  int           `json:"height"`
}

// MergeRequest stitches the chunks of a run and publishes the result.
type MergeRequest struct {
	Version int           `json:"version"`
	Request DetectRequest `json:"request"`
	Run     string        `json:"run"`
	Before  []Scene       `json:"before"`
	After   []Scene       `json:"after"`
	Count   int           `json:"count"`
}

// Retention of the tasks of a fan-out. Their ids are derived from the request, so they must
// be forgotten before the parent is: a request enqueued again once its parent task expired
// must find no chunk or merge of the previous run still holding its ids. Chunks are only
// needed until the merge; the merge (whose result is the run's summary) is kept a day less
// than the parent.
const chunkRetention = time.Hour

func taskOpts(queue, id string, retention time.Duration) []asynq.Option {
	return []asynq.Option{asynq.Queue(queue), asynq.TaskID(id), asynq.Timeout(DetectTimeout),
		asynq.MaxRetry(DetectMaxRetry), asynq.Retention(retention)}
}

func knownQueue(queue string) string {
	if _, ok := queueRetention[queue]; !ok {
		return QueueAdhoc
	}
	return queue
}

// NewChunkTask returns the task of one chunk, on queue (the parent's).
func NewChunkTask(c ChunkRequest, queue string) (*asynq.Task, error) {
	c.Version = PayloadVersion
	payload, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode chunk request: %w", err)
	}
	queue = knownQueue(queue)
	return asynq.NewTask(TypeDetectChunk, payload, taskOpts(queue, fmt.Sprintf("chunk:%s:%d", c.Run, c.Index), chunkRetention)...), nil
}

// NewMergeTask returns the merge task of a run, on queue (the parent's). Its id is the
// run's, so the chunks that race to enqueue it enqueue it once.
func NewMergeTask(m MergeRequest, queue string) (*asynq.Task, error) {
	m.Version = PayloadVersion
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode merge request: %w", err)
	}
	queue = knownQueue(queue)
	return asynq.NewTask(TypeMerge, payload, taskOpts(queue, "merge:"+m.Run, queueRetention[queue]-24*time.Hour)...), nil
}

// Decode decodes a versioned payload into v; an unknown version or malformed payload is a
// BadRequest (never retried).
func Decode(payload []byte, v any) error {
	if len(payload) > MaxPayloadBytes {
		return &BadRequest{"payload", fmt.Sprintf("%d bytes, the limit is %d", len(payload), MaxPayloadBytes)}
	}
	var ver struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(payload, &ver); err != nil {
		return &BadRequest{"payload", "not JSON: " + err.Error()}
	}
	if ver.Version != PayloadVersion {
		return &BadRequest{"version", fmt.Sprintf("payload version %d is not supported by this worker (want %d)", ver.Version, PayloadVersion)}
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return &BadRequest{"payload", err.Error()}
	}
	return nil
}
