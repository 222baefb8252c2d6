package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/ledger"
)

// Ledgers configures the ledger step: after every publish of a run whose output is
// <root>/<aoi id>/<run>, a ledger:update task rebuilds the AOI's ledger.
type Ledgers struct {
	Client *asynq.Client         // enqueues ledger:update and notify:run
	Redis  redis.UniversalClient // holds the per-AOI lock of the updates
	Places ledger.Locator        // protected areas and mining sites; nil: no context attributes
	// Notify: the worker serves notify:run (package notify), so each published ledger
	// update enqueues it for the runs it took.
	Notify bool
	// MinObservedPct: a run that saw less of its AOI clear (percent) is insufficient, and
	// incidents it does not see keep their standing. 0 means jobs.DefaultMinObservedPct.
	MinObservedPct float64
}

func (l *Ledgers) minObserved() float64 {
	if l.MinObservedPct <= 0 {
		return jobs.DefaultMinObservedPct
	}
	return l.MinObservedPct
}

// afterPublish asks for the ledger update of a published run (when its output has the
// <root>/<aoi id>/<run> form). An error is returned (so the run's task is retried and
// publishes the same files again) rather than a run left out of its ledger.
func (h *Handler) afterPublish(ctx context.Context, log *slog.Logger, req jobs.DetectRequest) error {
	if h.Ledgers == nil {
		return nil
	}
	root, run, ok := runTarget(req)
	if !ok {
		log.Info("no ledger for this output (not <root>/<aoi id>/<run>)", "output", req.Output)
		return nil
	}
	t, err := jobs.NewLedgerUpdateTask(jobs.LedgerUpdateRequest{Output: root, AOIID: req.AOIID, Run: run})
	if err != nil {
		return fmt.Errorf("ledger update task: %w", err)
	}
	if _, err := h.Ledgers.Client.EnqueueContext(ctx, t); err != nil {
		return fmt.Errorf("enqueue ledger update: %w", err)
	}
	return nil
}

// The per-AOI lock. An update that finds the lock taken leaves its run in the AOI's
// pending set and ends: the holder, before it lets go, rebuilds again while the set is not
// empty (checking and releasing in one script, so no run is left behind), and enqueues
// the notifications of every run it took from the set. A holder that dies stops refreshing
// the lock, which expires; its task is handed back by asynq and rebuilds, pending runs
// included.
var (
	// KEYS: lock, pending. ARGV: token, ttl ms, run. 1: acquired; 0: left in pending.
	ledgerAcquire = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], 604800000)
return 0`)
	// KEYS: lock, pending. ARGV: token, ttl ms. 1: more pending, still held; 0: released;
	// -1: the lock is no longer ours.
	ledgerRelease = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('SCARD', KEYS[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
redis.call('DEL', KEYS[1])
return 0`)
	// KEYS: lock. ARGV: token, ttl ms. 1: refreshed; 0: not ours.
	ledgerRefresh = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	// KEYS: lock. ARGV: token. Lets go after a failure, pending runs kept for the retry.
	ledgerAbandon = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// errLedgerLockLost: the lock expired under a running update (a pause longer than its
// TTL); another update may have published since, so this one is retried.
var errLedgerLockLost = errors.New("ledger lock lost")

func ledgerKeys(aoiID string) []string {
	// One hash tag per AOI: both keys on one Redis Cluster slot.
	return []string{"changewatch:ledger:{" + aoiID + "}:lock", "changewatch:ledger:{" + aoiID + "}:pending"}
}

// ledgerUpdate runs one ledger:update task (see Ledgers).
func (h *Handler) ledgerUpdate(ctx context.Context, t *asynq.Task) error {
	log := h.logger(ctx, t)
	req, err := jobs.DecodeLedgerUpdateRequest(t.Payload())
	if err != nil {
		log.Warn("refusing task", "err", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if h.Ledgers == nil || h.Ledgers.Redis == nil {
		return fmt.Errorf("ledger updates are not configured on this worker: %w", asynq.SkipRetry)
	}
	log = log.With("aoi_id", req.AOIID, "run", req.Run)
	rdb, keys := h.Ledgers.Redis, ledgerKeys(req.AOIID)
	var tok [16]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	ttl := ledgerLockTTL.Milliseconds()
	got, err := ledgerAcquire.Run(ctx, rdb, keys, token, ttl, req.Run).Int()
	if err != nil {
		return fmt.Errorf("ledger lock: %w", err)
	}
	if got == 0 {
		log.Info("ledger update left to the running one")
		return nil
	}
	// Keep the lock while working.
	hold, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		tick := time.NewTicker(ledgerLockTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-hold.Done():
				return
			case <-tick.C:
				ledgerRefresh.Run(hold, rdb, keys[:1], token, ttl)
			}
		}
	}()
	abandon := func(err error) error {
		stop()
		ledgerAbandon.Run(context.WithoutCancel(ctx), rdb, keys[:1], token)
		return h.failed(log, err)
	}
	runs := []string{req.Run}
	for {
		pending, err := rdb.SMembers(ctx, keys[1]).Result()
		if err != nil {
			return abandon(fmt.Errorf("ledger pending runs: %w", err))
		}
		runs = append(runs, pending...)
		slices.Sort(runs)
		runs = slices.Compact(runs)
		l, err := h.Pipeline.UpdateLedger(ctx, req.Output, req.AOIID, h.Ledgers.Places, h.Ledgers.minObserved())
		if err != nil {
			return abandon(err)
		}
		if err := h.notifyRuns(ctx, req, l, runs); err != nil {
			return abandon(err)
		}
		if len(pending) > 0 {
			if err := rdb.SRem(ctx, keys[1], toAny(pending)...).Err(); err != nil {
				return abandon(fmt.Errorf("ledger pending runs: %w", err))
			}
		}
		res, err := ledgerRelease.Run(ctx, rdb, keys, token, ttl).Int()
		switch {
		case err != nil:
			return abandon(fmt.Errorf("ledger lock: %w", err))
		case res < 0:
			return h.failed(log, errLedgerLockLost)
		case res == 0:
			log.Info("ledger updated", "runs", len(l.Runs), "incidents", len(l.Incidents), "for_runs", runs)
			return nil
		}
		runs = runs[:0]
	}
}

// notifyRuns enqueues the notification step of each run, once the ledger that holds them
// is published (task id notify:<aoi>:<run>: a repeat is refused, which is done). Runs not
// in the ledger (not published after all) are skipped. Without Ledgers.Notify nothing is
// enqueued.
func (h *Handler) notifyRuns(ctx context.Context, req jobs.LedgerUpdateRequest, l *ledger.Ledger, runs []string) error {
	if !h.Ledgers.Notify {
		return nil
	}
	for _, run := range runs {
		if !slices.Contains(l.Runs, run) {
			continue
		}
		t, err := jobs.NewNotifyRunTask(jobs.NotifyRunRequest{Output: req.Output, AOIID: req.AOIID, Run: run})
		if err != nil {
			return err
		}
		if _, err := h.Ledgers.Client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("enqueue notify:run %s: %w", run, err)
		}
	}
	return nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
