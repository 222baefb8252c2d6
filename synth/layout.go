package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Layout scale: the reference block is 1024 x 1024 pixels (10.24 km) whose AOI (the grid
// inset by 300 m) is 964 px wide. Counts scale with the AOI area so that a 2048 or 5490
// scene has the same densities as a 1024 one; sizes are in hectares and do not scale.
const (
	aoiInset = 30  // pixels (300 m): aoi.geojson is the grid footprint inset by this
	refAOI   = 964 // AOI width in pixels of the 1024 reference block
)

// Spacing rules between footprints, in pixels (10 m): a change object and a decoy are at
// least 200 m apart (so a detector's false alarm on a decoy never touches true change),
// change and stable landscape 100 m, everything else 60 m (objects never overlap).
func placementGap(a, b int) float64 {
	if a > b {
		a, b = b, a
	}
	switch {
	case a == kindChange && b == kindDecoy:
		return 20
	case a == kindChange && b == kindLand:
		return 10
	}
	return 6
}

// placed is a planted object in pixel coordinates.
type placed struct {
	Object
	rings [][]pt // outer, then holes
	cover uint8  // cover code it paints (255: paints nothing)
	scene int    // scene index for per-scene decoys, -1 otherwise
	// Hard mode: the blob of a burn, whether a pond lies in a scar, and the share of the
	// cover's second surface at a point (nil: none).
	b      *blob
	inScar bool
	mfn    func(x, y float64) float64
}

// river is a meandering polyline with a width per vertex.
type river struct {
	line  []pt
	width []float64
}

// decoyCloud is a cloud whose unflagged rim and shadow rim are recorded as decoys.
type decoyCloud struct {
	scene int
	c     cloud
}

// hazePatch is an unflagged haze patch on one scene.
type hazePatch struct {
	scene int
	b     *blob
}

// layout is the static part of a site.
type layout struct {
	n       int
	cover   []uint8
	objects []*placed
	rivers  []river
	clouds  []decoyCloud
	hazes   []hazePatch
	index   *diskIndex
	lo, hi  float64 // AOI box in pixels (with a 1 px margin)
	counter map[string]int
	mix     *mixLayer // hard mode only
}

// planLayout places rivers, change objects, decoys and landscape patches and rasterizes
// the cover map; with hard (a random stream of its own) it adds the hard mode's objects
// and mixing.
func planLayout(rng, hard *rand.Rand, n int, scenes []*scene, swath int) (*layout, error) {
	L := &layout{n: n, cover: make([]uint8, n*n), counter: map[string]int{},
		index: newDiskIndex(64, placementGap, 20),
		lo:    aoiInset + 1, hi: float64(n - aoiInset - 1)}
	side := float64(n - 2*aoiInset)
	k := side * side / (refAOI * refAOI)
	count := func(base float64, least int) int { return max(least, int(math.Round(base*k))) }

	// Rivers cross the whole grid west to east, one per 1024 rows.
	nr := max(1, int(math.Round(float64(n)/1024)))
	for i := range nr {
		L.addRiver(rng, float64(i)*float64(n)/float64(nr), float64(i+1)*float64(n)/float64(nr))
	}

	// After scenes that can carry per-scene decoys: not the one with the nodata swath.
	var decoyScenes []*scene
	for _, s := range scenes {
		if s.after && s.idx != swath {
			decoyScenes = append(decoyScenes, s)
		}
	}
	if len(decoyScenes) == 0 {
		return nil, fmt.Errorf("synth: no after scene")
	}

	// Biggest footprints first.
	for i := range count(1, 1) {
		s := decoyScenes[i%len(decoyScenes)]
		L.placeDecoyCloud(rng, s)
	}
	for i := range count(1, 1) {
		s := decoyScenes[(i+1)%len(decoyScenes)]
		b := L.placeBlob(rng, kindDecoy, uniform(rng, 8, 15)*100, 0.12, 1.3)
		if b == nil {
			continue
		}
		L.hazes = append(L.hazes, hazePatch{scene: s.idx, b: b})
		L.add(kindDecoy, "haze", "haze", [][]pt{b.ring(0)}, 255, s.idx)
	}
	for range count(1, 1) {
		if b := L.placeBlob(rng, kindChange, uniform(rng, 5, 14)*100, 0.3, 1.6); b != nil {
			L.add(kindChange, "burn", classBurn, [][]pt{b.ring(0)}, cBurn, -1).b = b
		}
	}
	for range count(1, 1) {
		L.placeScarWithPond(rng)
	}
	for range count(1, 1) {
		L.placeRoad(rng)
	}
	// Scars: sizes spread evenly in log area over 0.3-15 ha.
	ns := count(7, 1)
	areas := make([]float64, ns)
	for i := range areas {
		u := (float64(i) + rng.Float64()) / float64(ns)
		areas[i] = 0.3 * math.Pow(15/0.3, u) * 100
	}
	slices.Sort(areas)
	slices.Reverse(areas)
	for _, a := range areas {
		if b := L.placeBlob(rng, kindChange, a, 0.25, uniform(rng, 1, 1.8)); b != nil {
			L.add(kindChange, "scar", classBare, [][]pt{b.ring(0)}, cScar, -1)
		}
	}
	for range count(3, 1) {
		if b := L.placeBlob(rng, kindLand, uniform(rng, 3, 15)*100, 0.25, 1.4); b != nil {
			L.paint([][]pt{b.ring(0)}, cGrass)
		}
	}
	for range count(2, 1) {
		if b := L.placeBlob(rng, kindDecoy, uniform(rng, 2, 10)*100, 0.25, 1.4); b != nil {
			L.add(kindDecoy, "browning", "seasonal_browning", [][]pt{b.ring(0)}, cBrowning, -1)
		}
	}
	for range count(1, 1) {
		if b := L.placeBlob(rng, kindDecoy, uniform(rng, 2, 8)*100, 0.2, 1.5); b != nil {
			L.add(kindDecoy, "illumination", "illumination", [][]pt{b.ring(0)}, cIllum, -1)
		}
	}
	for range count(1, 1) {
		if b := L.placeBlob(rng, kindLand, uniform(rng, 4, 10)*100, 0.2, 1.2); b != nil {
			L.paint([][]pt{b.ring(0)}, cVillage)
		}
	}
	for range count(2, 1) {
		if b := L.placeBlob(rng, kindChange, math.Exp(uniform(rng, math.Log(25), math.Log(300))), 0.12, 1.2); b != nil {
			L.add(kindChange, "pond", classWater, [][]pt{b.ring(0)}, cPond, -1)
		}
	}

	if hard != nil {
		L.hardObjects(hard, count)
	}
	// Paint objects in placement order (the pond of a scar comes after its scar) and count.
	for _, o := range L.objects {
		switch {
		case o.cover == 255:
		case L.mix != nil && o.Kind == "change":
			L.paintMixed(o)
		default:
			L.paint(o.rings[:1], o.cover)
		}
	}
	for _, o := range L.objects {
		o.Pixels = countRings(o.rings, n, n)
		o.AreaHa = float64(o.Pixels) * 0.01
	}
	return L, nil
}

func uniform(rng *rand.Rand, a, b float64) float64 { return a + (b-a)*rng.Float64() }

// add records an object and names it kind-NN.
func (L *layout) add(kind int, prefix, class string, rings [][]pt, cover uint8, scene int) *placed {
	L.counter[prefix]++
	k := "change"
	if kind == kindDecoy {
		k = "decoy"
	}
	o := &placed{Object: Object{Name: fmt.Sprintf("%s-%02d", prefix, L.counter[prefix]), Kind: k, Class: class},
		rings: rings, cover: cover, scene: scene}
	L.objects = append(L.objects, o)
	return o
}

// paint sets the cover code of the pixels inside rings.
func (L *layout) paint(rings [][]pt, code uint8) {
	scanRings(rings, L.n, L.n, func(row, c0, c1 int) {
		for c := c0; c < c1; c++ {
			L.cover[row*L.n+c] = code
		}
	})
}

// inAOI reports whether a disk lies inside the AOI box.
func (L *layout) inAOI(d disk) bool {
	return d.x-d.r >= L.lo && d.x+d.r <= L.hi && d.y-d.r >= L.lo && d.y+d.r <= L.hi
}

// placeBlob finds a free spot for a blob of areaPx pixels, shrinking it when the site is
// crowded, and indexes it; nil when nothing fits.
func (L *layout) placeBlob(rng *rand.Rand, kind int, areaPx, irr, elong float64) *blob {
	for range 4 {
		if b := L.findSpot(rng, kind, areaPx, irr, elong, 300); b != nil {
			L.index.add([]disk{{b.cx, b.cy, b.maxR() + 1, kind}})
			return b
		}
		areaPx *= 0.7
	}
	return nil
}

// placeScarWithPond plants a 4-12 ha scar with a mining pond (about a quarter of it) inside:
// the pond is a hole of the scar, truth class water there.
func (L *layout) placeScarWithPond(rng *rand.Rand) {
	for range 50 {
		b := L.findSpot(rng, kindChange, uniform(rng, 4, 12)*100, 0.18, 1.2, 600)
		if b == nil {
			return
		}
		inner := b.minR()
		pa := 0.25 * math.Abs(ringArea(b.ring(0)))
		ox, oy := uniform(rng, -0.15, 0.15)*inner, uniform(rng, -0.15, 0.15)*inner
		p := newBlob(rng, b.cx+ox, b.cy+oy, pa, 0.12, 1.1)
		for p.maxR()+math.Hypot(ox, oy) > 0.8*inner && pa > 25 {
			pa *= 0.85
			p.scaleToArea(pa)
		}
		if pa <= 25 {
			continue
		}
		d := []disk{{b.cx, b.cy, b.maxR() + 1, kindChange}}
		L.index.add(d)
		L.add(kindChange, "scar", classBare, [][]pt{b.ring(0), p.ring(0)}, cScar, -1)
		L.add(kindChange, "pond", classWater, [][]pt{p.ring(0)}, cPond, -1).inScar = true
		return
	}
}

// findSpot tries up to tries random spots for a blob of areaPx pixels inside the AOI and
// clear of every indexed object; it does not index the blob (the caller does); nil when
// none is free.
func (L *layout) findSpot(rng *rand.Rand, kind int, areaPx, irr, elong float64, tries int) *blob {
	for range tries {
		r := math.Sqrt(areaPx/math.Pi) * elong
		x := uniform(rng, L.lo+r, L.hi-r)
		y := uniform(rng, L.lo+r, L.hi-r)
		b := newBlob(rng, x, y, areaPx, irr, elong)
		d := []disk{{x, y, b.maxR() + 1, kind}}
		if L.inAOI(d[0]) && L.index.free(d) {
			return b
		}
	}
	return nil
}

// placeRoad plants a 2-3 km track 20 m wide (2 pixels): a gently curving polyline with a
// vertex every 50 m, buffered by 10 m on each side.
func (L *layout) placeRoad(rng *rand.Rand) { L.placeRoadWidth(rng, 1) }

// placeRoadWidth plants a 2-3 km track 2*hw pixels wide.
func (L *layout) placeRoadWidth(rng *rand.Rand, hw float64) {
	for try := range 800 {
		length := uniform(rng, 200, 300) // pixels
		if try > 400 {
			length = 200
		}
		x, y := uniform(rng, L.lo, L.hi), uniform(rng, L.lo, L.hi)
		th := rng.Float64() * 2 * math.Pi
		line := []pt{{x, y}}
		steps := int(length / 5)
		ok := true
		var ds []disk
		for range steps {
			th += rng.NormFloat64() * 3 * math.Pi / 180
			x += 5 * math.Cos(th)
			y += 5 * math.Sin(th)
			line = append(line, pt{x, y})
		}
		for i := 0; i < len(line) && ok; i++ {
			d := disk{line[i][0], line[i][1], 2.5, kindChange}
			ok = L.inAOI(d)
			ds = append(ds, d)
		}
		if !ok || !L.index.free(ds) {
			continue
		}
		L.index.add(ds)
		L.add(kindChange, "road", classBare, [][]pt{bufferLine(line, hw)}, cScar, -1)
		return
	}
}

// addRiver draws a meandering river across the grid between rows y0 and y1: heading is an
// AR(1) random walk pulled back to the band's centre line, width 30-60 m.
func (L *layout) addRiver(rng *rand.Rand, y0, y1 float64) {
	n := float64(L.n)
	mid := (y0 + y1) / 2
	y := mid + uniform(rng, -0.2, 0.2)*(y1-y0)
	x := -10.0
	th := 0.0
	w := uniform(rng, 3, 6)
	var rv river
	for x < n+10 {
		rv.line = append(rv.line, pt{x, y})
		rv.width = append(rv.width, w)
		th = 0.9*th + rng.NormFloat64()*0.25 - 0.004*(y-mid)
		th = max(-1.2, min(1.2, th))
		x += 6 * math.Cos(th)
		y += 6 * math.Sin(th)
		w = max(3, min(6, w+rng.NormFloat64()*0.2))
	}
	rv.line = append(rv.line, pt{x, y})
	rv.width = append(rv.width, w)
	var ds []disk
	for i, p := range rv.line {
		ds = append(ds, disk{p[0], p[1], rv.width[i]/2 + 1, kindLand})
	}
	L.index.add(ds)
	L.rivers = append(L.rivers, rv)
	// Paint: every pixel centre within half the width of a segment.
	for i := 0; i+1 < len(rv.line); i++ {
		a, b := rv.line[i], rv.line[i+1]
		hw := (rv.width[i] + rv.width[i+1]) / 4
		c0 := max(0, int(math.Floor(min(a[0], b[0])-hw)))
		c1 := min(L.n-1, int(math.Ceil(max(a[0], b[0])+hw)))
		r0 := max(0, int(math.Floor(min(a[1], b[1])-hw)))
		r1 := min(L.n-1, int(math.Ceil(max(a[1], b[1])+hw)))
		for r := r0; r <= r1; r++ {
			for c := c0; c <= c1; c++ {
				if distToSegment(float64(c)+0.5, float64(r)+0.5, a[0], a[1], b[0], b[1]) <= hw {
					L.cover[r*L.n+c] = cRiver
				}
			}
		}
	}
}

// placeDecoyCloud plants a cloud on scene s whose unflagged bright rim ("cloud_edge") and
// whose shadow's unflagged rim ("cloud_shadow_rim") are recorded as decoys. The cloud sits
// high enough (1.2-1.5 km) for its shadow to fall clear of it.
func (L *layout) placeDecoyCloud(rng *rand.Rand, s *scene) {
	for range 2000 {
		c := newCloud(rng, s, uniform(rng, 1200, 1500), uniform(rng, 14, 26))
		sep := math.Hypot(c.sdx, c.sdy)
		for 2*c.b.maxR()+c.rim+c.srim+4 > sep {
			c.b.scaleToArea(0.85 * math.Abs(ringArea(c.b.ring(0))))
		}
		if c.b.maxR() < 8 {
			continue
		}
		// Random position inside the AOI for both the cloud and its shadow.
		x, y := uniform(rng, L.lo, L.hi), uniform(rng, L.lo, L.hi)
		c.move(x, y)
		ds := c.disks(kindDecoy, 2)
		if !L.inAOI(ds[0]) || !L.inAOI(ds[1]) || !L.index.free(ds) {
			continue
		}
		L.index.add(ds)
		L.clouds = append(L.clouds, decoyCloud{scene: s.idx, c: c})
		L.add(kindDecoy, "cloud-edge", "cloud_edge", [][]pt{c.b.ring(c.rim), c.b.ring(0)}, 255, s.idx)
		sb := c.shadowBlob()
		L.add(kindDecoy, "shadow-rim", "cloud_shadow_rim", [][]pt{sb.ring(c.srim), sb.ring(0)}, 255, s.idx)
		return
	}
}
