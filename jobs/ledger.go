package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeLedgerUpdate is the task that rebuilds an AOI's incident ledger from all its
// published runs (and verdicts), enqueued after every publish of a run. Updates of one AOI
// are serialized by the worker, and each recomputes from everything published, so a
// retried, repeated or concurrent update can only make the ledger more complete.
const TypeLedgerUpdate = "ledger:update"

// QueueLedger carries the ledger updates: short, and waited for by the notifications.
const QueueLedger = "ledger"

const (
	// LedgerTimeout bounds one ledger update (reading the runs, writing five files).
	LedgerTimeout = 30 * time.Minute
	// LedgerMaxRetry retries an update that failed on storage or Redis.
	LedgerMaxRetry = 12
	// ledgerRetention keeps a finished update for inspection; updates have no fixed id
	// (every publish asks for one, and repeats are harmless), so nothing depends on it.
	ledgerRetention = 24 * time.Hour
)

// LedgerUpdateRequest asks for the ledger of one AOI to be rebuilt after Run was published.
type LedgerUpdateRequest struct {
	Version int    `json:"version"`
	Output  string `json:"output"` // output root: local folder or s3://bucket/prefix
	AOIID   string `json:"aoi_id"`
	Run     string `json:"run"` // the run whose publish asked for the update (<YYYY-MM>_<YYYY-MM>)
}

// Validate names the first bad field.
func (r *LedgerUpdateRequest) Validate() error {
	if r.Version != PayloadVersion {
		return &BadRequest{"version", fmt.Sprintf("payload version %d is not supported (want %d)", r.Version, PayloadVersion)}
	}
	return validateTarget(r.Output, r.AOIID, r.Run)
}

// NewLedgerUpdateTask returns the ledger:update task of r on QueueLedger. r is validated
// first (Version may be left zero: it is set here).
func NewLedgerUpdateTask(r LedgerUpdateRequest) (*asynq.Task, error) {
	r.Version = PayloadVersion
	if err := r.Validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode ledger update request: %w", err)
	}
	return asynq.NewTask(TypeLedgerUpdate, payload, asynq.Queue(QueueLedger),
		asynq.Timeout(LedgerTimeout), asynq.MaxRetry(LedgerMaxRetry), asynq.Retention(ledgerRetention)), nil
}

// DecodeLedgerUpdateRequest decodes and validates a ledger:update payload.
func DecodeLedgerUpdateRequest(payload []byte) (LedgerUpdateRequest, error) {
	var r LedgerUpdateRequest
	if err := Decode(payload, &r); err != nil {
		return r, err
	}
	return r, r.Validate()
}
