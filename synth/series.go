package synth

import (
	"math"
	"math/rand/v2"
	"time"
)

// A time series (Config.Growth): the after dates are successive observations of a site
// where change appears and then grows. Each planted change object has a start (the after
// scene it first shows on: the first, or for every third object the second) and, from
// there to the last after scene, a front that sweeps it from west to east: on after
// scene k it shows the part of the object west of min + f*(max - min), f = (k - start +
// 1) / (last - start + 1). The last after scene shows every object whole, which is what
// truth.tif and truth.geojson hold. Config.Overcast dates are scenes mostly under thick,
// flagged cloud (a month that sees too little to report no change).

// seriesStart is the after-scene index from which object i (in placement order) shows.
func seriesStart(i, nAfter int) int {
	if i%3 == 1 && nAfter >= 3 {
		return 1
	}
	return 0
}

// coverAt returns the cover map of scene s: the layout's for before scenes and without
// growth; with growth, change not yet there on s reverted to forest.
func (L *layout) coverAt(s *scene, nAfter int, growth bool) []uint8 {
	if !growth || !s.after || s.afterIdx >= nAfter-1 {
		return L.cover
	}
	cov := append([]uint8(nil), L.cover...)
	k := 0
	for _, o := range L.objects {
		if o.Kind != "change" || o.cover == 255 {
			continue
		}
		start := seriesStart(k, nAfter)
		k++
		f := 0.0
		if s.afterIdx >= start {
			f = float64(s.afterIdx-start+1) / float64(nAfter-start)
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
