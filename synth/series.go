package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// A time series (Config.Growth): the after dates are successive months of a site where
// change appears and then grows. The stages are the calendar months of the after dates
// (overcast dates aside); all scenes of one month show the same state. Each planted change
// object has a start (the stage it first shows on: the first, or for every third object
// the second) and, from there to the last stage, a front that sweeps it from west to east:
// on stage k it shows the part of the object west of min + f*(max - min), f = (k - start
// + 1) / (last - start + 1). The last stage shows every object whole, which is what
// truth.tif and truth.geojson hold. An overcast scene shows the state of the latest month
// before it (none before the first: no change yet). Config.Overcast dates are
// scenes mostly under thick, flagged cloud (a month that sees too little to report no
// change).

// seriesStart is the stage from which change object i (in placement order) shows.
func seriesStart(i, nStages int) int {
	if i%3 == 1 && nStages >= 3 {
		return 1
	}
	return 0
}

// stages returns the growth stage of each after scene (by afterIdx; an overcast scene
// takes the stage of the latest month before it, -1 when there is none) and the number
// of stages.
func stages(scenes []*scene, overcast []time.Time) (map[int]int, int) {
	var months []string
	for _, s := range scenes {
		if s.after && !isOvercast(s, overcast) {
			if m := s.date.Format("2006-01"); !slices.Contains(months, m) {
				months = append(months, m)
			}
		}
	}
	slices.Sort(months)
	st := map[int]int{}
	for _, s := range scenes {
		if !s.after {
			continue
		}
		m := s.date.Format("2006-01")
		if !isOvercast(s, overcast) {
			st[s.afterIdx] = slices.Index(months, m)
			continue
		}
		st[s.afterIdx] = -1
		for i, earlier := range months {
			if earlier < m {
				st[s.afterIdx] = i
			}
		}
	}
	return st, len(months)
}

// coverAt returns the cover map of a scene at growth stage k of n (see stages): the
// layout's for before scenes and the last stage; otherwise with change not yet there
// reverted to forest (all of it for k < 0).
func (L *layout) coverAt(after bool, k, n int) []uint8 {
	if !after || k >= n-1 {
		return L.cover
	}
	cov := append([]uint8(nil), L.cover...)
	j := 0 // index among the change objects
	for _, o := range L.objects {
		if o.Kind != "change" || o.cover == 255 {
			continue
		}
		start := seriesStart(j, n)
		j++
		f := 0.0
		if k >= start {
			f = float64(k-start+1) / float64(n-start)
		}
		minX, maxX := math.Inf(1), math.Inf(-1)
		for _, p := range o.rings[0] {
			minX, maxX = min(minX, p[0]), max(maxX, p[0])
		}
		front := minX + f*(maxX-minX)
		scanRings(o.rings[:1], L.n, L.n, func(row, c0, c1 int) {
			for c := c0; c < c1; c++ {
				if i := row*L.n + c; cov[i] == o.cover && float64(c)+0.5 > front {
					cov[i] = cForest
				}
			}
		})
	}
	return cov
}

// overcastClouds are the thick clouds of an overcast scene: large flagged cumulus over
// most of the grid (about 70 %), with their shadows.
func overcastClouds(rng *rand.Rand, n int, s *scene) []cloud {
	var cs []cloud
	for _, f := range [][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}, {0.5, 0.5}} {
		c := newCloud(rng, s, uniform(rng, 800, 1500), 0.24*float64(n))
		c.move(f[0]*float64(n), f[1]*float64(n))
		cs = append(cs, c)
	}
	return cs
}

// isOvercast reports whether scene s is on one of the overcast dates.
func isOvercast(s *scene, dates []time.Time) bool {
	for _, d := range dates {
		if d.Format(time.DateOnly) == s.date.Format(time.DateOnly) {
			return true
		}
	}
	return false
}
