package worker

import (
	"time"

	"github.com/changewatch/changewatch/jobs"
)

// The baseline chain. Consecutive monthly runs of an AOI have baseline windows that
// differ by a month at each end, and a window ranked on its own often chooses other
// scenes than the month before, so that the next run cannot reuse the kept composite
// (its key names the scenes). So a monthly run's baseline scenes are the chain's: from
// the first month of the run's year on, month by month, the previous month's choice is
// kept while all its scenes are inside the month's window (and it was enough), and
// otherwise a new one is made from that window (recentSpan: from its most recent months that suffice, so that
// it serves the most months). The run's baseline is the choice the chain holds at the
// run's month.
//
// The chain is a pure function of the catalog, the AOI and the run's month: runs of
// several months at once (a backfill, the demo), in any order, retried or repeated,
// choose what they would have chosen one month after the other, and what they chose is
// given by the run itself (its item lists its scenes). Its cost is ranking the scenes of
// the months since the chain's start too (their SCL overviews: a few reads a scene).

// chain is the baseline chain of one monthly run.
type chain struct {
	first  time.Time // the chain's first month (January of the run's year)
	month  time.Time // the run's month: the first day of its after period
	months int       // the length of a baseline window in months
}

// baselineChain returns the chain of req's baseline, or nil when req is not a monthly
// run of the ledger layout whose before period is the whole months just before its after
// period (then the before period is ranked on its own).
func (p *Pipeline) baselineChain(req jobs.DetectRequest) *chain {
	if _, ok := keptFolder(req.Output); !ok || p.KeptBaselines < 0 {
		return nil
	}
	b, a := req.Before, req.After
	month := a.Start
	if month.Day() != 1 || b.Start.Day() != 1 || !b.End.AddDate(0, 0, 1).Equal(month) {
		return nil
	}
	months := (month.Year()-b.Start.Year())*12 + int(month.Month()-b.Start.Month())
	if months < 1 || !b.Start.AddDate(0, months, 0).Equal(month) {
		return nil
	}
	return &chain{first: time.Date(month.Year(), time.January, 1, 0, 0, 0, 0, time.UTC), month: month, months: months}
}

// window is the baseline window of month m: the c.months whole months before it.
func (c *chain) window(m time.Time) jobs.Period {
	return jobs.Period{Start: m.AddDate(0, -c.months, 0), End: m.AddDate(0, 0, -1)}
}

// chainChoice runs chain c over ranked (every acquisition of the months searched, best
// first) and returns the choice it holds at the run's month and the month whose window
// it was made from; choose makes a new choice
// from a window's ranked acquisitions and says whether it is enough (every AOI pixel seen
// clear as often as a baseline needs). A choice that is not enough (a window of the
// chain's first months may hold few scenes, as at the start of a catalog) is not kept:
// the next month chooses again.
func chainChoice[A any](c *chain, ranked []A, date func(A) time.Time, choose func([]A, jobs.Period) ([]A, bool)) ([]A, time.Time) {
	var cur []A
	var chosenIn time.Time
	enough := false
	for m := c.first; !m.After(c.month); m = m.AddDate(0, 1, 0) {
		w := c.window(m)
		in := func(a A) bool { d := date(a); return !d.Before(w.Start) && !d.After(w.Last()) }
		if enough && allOf(cur, in) {
			continue
		}
		var cand []A
		for _, a := range ranked {
			if in(a) {
				cand = append(cand, a)
			}
		}
		cur, enough = choose(cand, w)
		chosenIn = m
	}
	return cur, chosenIn
}

func allOf[A any](xs []A, f func(A) bool) bool {
	for _, x := range xs {
		if !f(x) {
			return false
		}
	}
	return true
}
