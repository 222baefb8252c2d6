package synth

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestSeriesGrowth: with Growth, every change object shows more on each after scene than
// on the one before, is whole on the last, and every third object first shows on the
// second; before scenes and decoys are untouched.
func TestSeriesGrowth(t *testing.T) {
	const n = 512
	// Two baseline scenes, an overcast month, two scenes in each of three months and
	// another overcast month.
	dates := []string{"2023-01-14", "2023-06-02", "2023-12-12", "2024-01-09", "2024-01-24", "2024-02-13", "2024-02-20", "2024-03-04", "2024-03-19", "2024-04-08"}
	overcast := []time.Time{day(2023, 12, 12), day(2024, 4, 8)}
	var scenes []*scene
	for i, d := range dates {
		t0, _ := time.Parse(time.DateOnly, d)
		s := &scene{idx: i, after: i >= 2, afterIdx: i - 2, date: t0.Add(8 * time.Hour)}
		if !s.after {
			s.afterIdx = -1
		}
		scenes = append(scenes, s)
	}
	stage, nst := stages(scenes, overcast)
	if nst != 3 || stage[0] != -1 || stage[1] != 0 || stage[2] != 0 || stage[3] != 1 || stage[6] != 2 || stage[7] != 2 {
		t.Fatalf("stages %v of %d", stage, nst)
	}
	L, err := planLayout(rand.New(rand.NewPCG(3, 1)), rand.New(rand.NewPCG(3, 2)), n, scenes, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := L.coverAt(false, -1, 3); &got[0] != &L.cover[0] {
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
			cov := L.coverAt(true, a, 3)
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
	if full := L.coverAt(true, 2, 3); &full[0] != &L.cover[0] {
		t.Fatal("the last stage is not the whole layout")
	}
	for i, c := range L.coverAt(true, -1, 3) {
		if c != L.cover[i] && c != cForest {
			t.Fatalf("pixel %d: cover %d before the first stage", i, c)
		}
		if truthClass[c] != 0 {
			t.Fatalf("pixel %d: change before the first stage", i)
		}
	}
	for i, c := range L.coverAt(true, 0, 3) {
		if c != L.cover[i] && c != cForest {
			t.Fatalf("pixel %d: cover %d, want the layout's %d or forest", i, c, L.cover[i])
		}
	}
}
