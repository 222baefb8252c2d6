package worker

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/changewatch/changewatch/jobs"
)

// TestRetryDelay: a task whose worker died is retried at once; failures back off.
func TestRetryDelay(t *testing.T) {
	detect := asynq.NewTask(jobs.TypeDetectChange, nil)
	ledger := asynq.NewTask(jobs.TypeLedgerUpdate, nil)
	failed := errors.New("s3: 500")
	for _, tc := range []struct {
		name     string
		n        int
		err      error
		task     *asynq.Task
		min, max time.Duration
	}{
		{"detect, worker killed", 0, asynq.ErrLeaseExpired, detect, time.Second, time.Second},
		{"detect, worker killed on the 5th try", 4, asynq.ErrLeaseExpired, detect, time.Second, time.Second},
		{"ledger, worker killed", 1, asynq.ErrLeaseExpired, ledger, time.Second, time.Second},
		{"detect, storage failure", 0, failed, detect, 15 * time.Second, 45 * time.Second},
		{"ledger, storage failure", 0, failed, ledger, jobs.NotifyRetryDelay(0), jobs.NotifyRetryDelay(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := retryDelay(tc.n, tc.err, tc.task); d < tc.min || d > tc.max {
				t.Fatalf("retryDelay = %v, want %v to %v", d, tc.min, tc.max)
			}
		})
	}
}
