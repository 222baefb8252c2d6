package synth

import (
	"math/rand/v2"
	"testing"
)

// TestSeriesGrowth: with Growth, every change object shows more on each after scene than
// on the one before, is whole on the last, and every third object first shows on the
// second; before scenes and decoys are untouched.
func TestSeriesGrowth(t *testing.T) {
	const n = 512
	var scenes []*scene
	for i := range 5 {
		s := &scene{idx: i, after: i >= 2, afterIdx: i - 2}
		if !s.after {
			s.afterIdx = -1
		}
		scenes = append(scenes, s)
	}
	L, err := planLayout(rand.New(rand.NewPCG(3, 1)), n, scenes, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := L.coverAt(scenes[0], 3, true); &got[0] != &L.cover[0] {
		t.Fatal("a before scene's cover differs from the layout's")
	}
	k := 0
	for _, o := range L.objects {
		if o.Kind != "change" || o.cover == 255 {
			continue
		}
		start := seriesStart(k, 3)
		k++
		prev := -1
		for a := range 3 {
			cov := L.coverAt(scenes[2+a], 3, true)
			shown := 0
			scanRings(o.rings[:1], n, n, func(row, c0, c1 int) {
				for c := c0; c < c1; c++ {
					if cov[row*n+c] == o.cover {
						shown++
					}
				}
			})
			switch {
			case a < start && shown != 0:
				t.Fatalf("%s shows %d px on after scene %d, before its start %d", o.Name, shown, a, start)
			case a >= start && shown <= prev:
				t.Fatalf("%s: %d px on after scene %d, not more than %d before", o.Name, shown, a, prev)
			}
			prev = shown
		}
	}
	if k < 6 {
		t.Fatalf("%d change objects", k)
	}
	full := L.coverAt(scenes[4], 3, true)
	if &full[0] != &L.cover[0] {
		t.Fatal("the last after scene is not the whole layout")
	}
	for i, c := range L.coverAt(scenes[2], 3, true) {
		if c != L.cover[i] && c != cForest {
			t.Fatalf("pixel %d: cover %d, want the layout's %d or forest", i, c, L.cover[i])
		}
	}
}
