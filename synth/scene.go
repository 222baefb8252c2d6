package synth

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/raster/cog"
)

// cloud is a cumulus cloud (or a thin cirrus patch) of one scene, with its shadow.
//
// Thick core (SCL 9, SCL 8 within flag8 px of the edge): reflectance blended towards
// cloudSpec with opacity 0.62..1. Around it a soft bright rim of rim px (2-6) that Sen2Cor
// leaves unflagged (opacity 0.5 -> 0, quadratic), the classic source of false "bare soil".
// The shadow is the core shape displaced away from the sun by height*tan(zenith): core x0.35
// in every band (SCL 3), and an unflagged penumbra of srim px (2-4) fading to no darkening.
type cloud struct {
	b         *blob
	rim, srim float64
	flag8     float64
	sdx, sdy  float64 // shadow offset in pixels (0,0: no shadow)
	cirrus    bool
	peak      float64 // cirrus opacity
	hasShadow bool
}

// newCloud makes a cloud of core radius about r px on scene s, at height h metres.
func newCloud(rng *rand.Rand, s *scene, h, r float64) cloud {
	c := cloud{b: newBlob(rng, 0, 0, math.Pi*r*r, 0.2, uniform(rng, 1, 1.5)),
		rim: uniform(rng, 2, 6), srim: uniform(rng, 2, 4), flag8: uniform(rng, 2, 4), hasShadow: true}
	// Shadow displacement: the sun is at azimuth az (clockwise from north), so the shadow
	// falls towards az+180: east component -sin(az), north component -cos(az); rows grow
	// southwards. Length = height * tan(zenith) (flat terrain), 10 m pixels.
	zen := (90 - s.sunEl) * math.Pi / 180
	az := s.sunAz * math.Pi / 180
	d := h * math.Tan(zen) / 10
	c.sdx = -math.Sin(az) * d
	c.sdy = math.Cos(az) * d
	return c
}

func (c *cloud) move(x, y float64) { c.b.cx, c.b.cy = x, y }

func (c *cloud) shadowBlob() *blob {
	sb := *c.b
	sb.cx += c.sdx
	sb.cy += c.sdy
	return &sb
}

// disks are the footprint of everything the cloud changes (core, rim, shadow, penumbra),
// with margin px more.
func (c *cloud) disks(kind int, margin float64) []disk {
	ds := []disk{{c.b.cx, c.b.cy, c.b.maxR() + c.rim + margin, kind}}
	if c.hasShadow {
		ds = append(ds, disk{c.b.cx + c.sdx, c.b.cy + c.sdy, c.b.maxR() + c.srim + margin, kind})
	}
	return ds
}

// scenePlan is what happens in the sky of one scene.
type scenePlan struct {
	clouds []cloud
	hazes  []*blob
	swath  bool
	// swath: pixels whose centre (x,y) (10 m pixel units) has x > sw0 - y*swSlope are
	// outside the orbit swath (nodata). Sentinel-2 swath edges run roughly along the ground
	// track, about 10-12 degrees off north at the equator for a 98.6-degree sun-synchronous
	// orbit on its descending pass.
	sw0, swSlope float64
	sprinkle     bool // SCL 7 (unclassified) sprinkled on this scene
}

// Cloud amounts: fraction of the grid under thick cloud cores on each after scene (cycled)
// and each before scene. Eastern DRC is cloudy most of the year; here every after scene is
// partly cloudy but, together, they see every pixel clear at least once.
var (
	afterCloud  = []float64{0.10, 0.14, 0.06}
	beforeCloud = []float64{0.03, 0.02}
)

// planSky draws the clouds, cirrus, haze and swath of each scene. Within each period the
// footprints of all clouds and shadows (and of the haze patches) are pairwise disjoint
// across scenes, so no pixel is obscured on two after scenes; with the swath on a third
// after scene, every pixel stays clear (SCL 4/5/6) on at least one after scene.
func planSky(rng *rand.Rand, n int, scenes []*scene, swath int, L *layout) {
	gap := func(a, b int) float64 { return 3 }
	side := float64(n - 2*aoiInset)
	k := side * side / (refAOI * refAOI)
	for _, period := range []bool{false, true} {
		idx := newDiskIndex(128, gap, 3)
		var group []*scene
		for _, s := range scenes {
			if s.after == period {
				group = append(group, s)
			}
		}
		if period {
			for _, dc := range L.clouds {
				idx.add(dc.c.disks(kindCloud, 2))
				scenes[dc.scene].plan.clouds = append(scenes[dc.scene].plan.clouds, dc.c)
			}
			for _, h := range L.hazes {
				idx.add([]disk{{h.b.cx, h.b.cy, h.b.maxR() + 2, kindCloud}})
				scenes[h.scene].plan.hazes = append(scenes[h.scene].plan.hazes, h.b)
			}
		} else {
			// Thin cirrus (SCL 10) on the first before scene: large faint patches.
			s := group[0]
			for range max(1, int(math.Round(2*k))) {
				for range 200 {
					r := uniform(rng, 40, 90)
					c := cloud{b: newBlob(rng, uniform(rng, 0, float64(n)), uniform(rng, 0, float64(n)), math.Pi*r*r, 0.15, 1.6),
						cirrus: true, peak: uniform(rng, 0.10, 0.16)}
					ds := c.disks(kindCloud, 2)
					if idx.free(ds) {
						idx.add(ds)
						s.plan.clouds = append(s.plan.clouds, c)
						break
					}
				}
			}
		}
		// Cumulus: round robin over the scenes of the period until each has its share.
		target := make([]float64, len(group))
		got := make([]float64, len(group))
		for i, s := range group {
			f := beforeCloud[i%len(beforeCloud)]
			if period {
				f = afterCloud[i%len(afterCloud)]
			}
			target[i] = f * float64(n*n)
			for _, c := range s.plan.clouds {
				if !c.cirrus {
					got[i] += math.Abs(ringArea(c.b.ring(0)))
				}
			}
		}
		fails := 0
		for fails < 400*len(group) {
			progress := false
			for i, s := range group {
				if got[i] >= target[i] {
					continue
				}
				progress = true
				r := math.Exp(uniform(rng, math.Log(12), math.Log(60)))
				c := newCloud(rng, s, uniform(rng, 500, 1500), r)
				c.move(uniform(rng, -r, float64(n)+r), uniform(rng, -r, float64(n)+r))
				ds := c.disks(kindCloud, 2)
				if !idx.free(ds) {
					fails++
					continue
				}
				idx.add(ds)
				s.plan.clouds = append(s.plan.clouds, c)
				got[i] += math.Abs(ringArea(c.b.ring(0)))
			}
			if !progress {
				break
			}
		}
		for _, s := range group {
			if s.idx == swath {
				s.plan.swath = true
				s.plan.swSlope = math.Tan(11 * math.Pi / 180)
				s.plan.sw0 = 0.86 * float64(n)
				s.plan.sprinkle = true
			}
			if !period {
				s.plan.sprinkle = true
			}
		}
	}
}

// renderer turns the static layout and a scene plan into the seven band files.
type renderer struct {
	n      int
	cover  []uint8
	mix    *mixLayer // hard mode, else nil
	tex    []int16
	seed   uint64
	offset float32 // DN offset (1000 from baseline 04.00)
}

// sceneRender holds one scene's per-pixel effect layers (nil when unused): cloud opacity,
// shadow strength and haze thickness as 0..255, and the SCL override (0: none).
type sceneRender struct {
	*renderer
	s            *scene
	cld, shd, hz []uint8
	flg          []uint8
	spec         [nSurfaces][nBands]float32
	surf, second *[nCovers]uint8
	gain, off    float32
	hash         uint64
	swath        bool
	sw0, swSlope float32
	sprinkle     bool
}

// sclHist counts SCL values of a scene.
type sclHist [256]int

// writeScene renders and writes B02 B03 B04 B08 (10 m), B11 B12 and SCL (20 m).
func (rd *renderer) writeScene(ctx context.Context, s *scene, g raster.Grid) (*sclHist, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	sr := rd.prepare(s)
	if err := sr.effects(ctx); err != nil {
		return nil, err
	}
	n := rd.n
	out := make([]uint16, n*n)
	for b := bB02; b <= bB08; b++ {
		if err := parallelRows(ctx, n, func(r0, r1 int) { sr.band10(b, out, r0, r1) }); err != nil {
			return nil, err
		}
		if err := cog.Write(ctx, filepath.Join(s.dir, bands[b].file+".tif"), cog.Grid(g), out, 0, "AVERAGE"); err != nil {
			return nil, err
		}
	}
	h := n / 2
	g20 := raster.Grid{EPSG: g.EPSG, X0: g.X0, Y0: g.Y0, Res: 20, Width: h, Height: h}
	out20 := out[:h*h]
	for b := bB11; b <= bB12; b++ {
		if err := parallelRows(ctx, h, func(r0, r1 int) { sr.band20(b, out20, r0, r1) }); err != nil {
			return nil, err
		}
		if err := cog.Write(ctx, filepath.Join(s.dir, bands[b].file+".tif"), cog.Grid(g20), out20, 0, "AVERAGE"); err != nil {
			return nil, err
		}
	}
	scl := make([]uint8, h*h)
	if err := parallelRows(ctx, h, func(r0, r1 int) { sr.scl(scl, r0, r1) }); err != nil {
		return nil, err
	}
	// Sen2Cor / Earth Search resample SCL overviews with NEAREST (OVR_RESAMPLING_ALG=NEAREST
	// in the real files).
	if err := cog.Write(ctx, filepath.Join(s.dir, "SCL.tif"), cog.Grid(g20), scl, 0, "NEAREST"); err != nil {
		return nil, err
	}
	var hist sclHist
	for _, v := range scl {
		hist[v]++
	}
	return &hist, nil
}

// prepare sets the per-scene spectra and constants.
func (rd *renderer) prepare(s *scene) *sceneRender {
	sr := &sceneRender{renderer: rd, s: s, gain: 1, hash: mix64(rd.seed ^ uint64(s.idx+1)*0x2545f4914f6cdd1d)}
	sr.spec = spectra
	// Seasonal state of vegetation on this date: greening raises NIR and lowers the visible
	// and SWIR (more chlorophyll and leaf water), browning the reverse; +-3 % for forest,
	// twice that for grass (phenology amplitude of savanna > evergreen forest).
	for _, st := range []int{sForest, sDark, sGrass, sBrown} {
		g := s.green
		if st == sGrass || st == sBrown {
			g *= 2
		}
		sr.spec[st][bB02] *= 1 - g
		sr.spec[st][bB03] *= 1 - g/2
		sr.spec[st][bB04] *= 1 - g
		sr.spec[st][bB08] *= 1 + g
		sr.spec[st][bB11] *= 1 - g/2
		sr.spec[st][bB12] *= 1 - g/2
	}
	sr.surf, sr.second = &surfaceBefore, &surfaceBefore
	if s.after {
		sr.surf, sr.second = &surfaceAfter, &secondAfter
		sr.gain, sr.off = radGain, radOffset
	}
	sr.swath, sr.sw0, sr.swSlope = s.plan.swath, float32(s.plan.sw0), float32(s.plan.swSlope)
	sr.sprinkle = s.plan.sprinkle
	return sr
}

// effects rasterizes clouds, shadows and haze into the layers.
func (sr *sceneRender) effects(ctx context.Context) error {
	p := &sr.s.plan
	n := sr.n
	if len(p.clouds) > 0 {
		sr.cld = make([]uint8, n*n)
		sr.shd = make([]uint8, n*n)
		sr.flg = make([]uint8, n*n)
	}
	if len(p.hazes) > 0 {
		sr.hz = make([]uint8, n*n)
	}
	return parallelRows(ctx, n, func(r0, r1 int) {
		// shadows first: a cloud flag wins over a shadow flag
		for i := range p.clouds {
			c := &p.clouds[i]
			if c.hasShadow && !c.cirrus {
				sr.paintShadow(c, r0, r1)
			}
		}
		for i := range p.clouds {
			sr.paintCloud(&p.clouds[i], r0, r1)
		}
		for _, h := range p.hazes {
			sr.paintHaze(h, r0, r1)
		}
	})
}

// box returns the pixel bounds of a disk clipped to rows [r0,r1) and the grid.
func (sr *sceneRender) box(x, y, r float64, r0, r1 int) (c0, c1, rr0, rr1 int) {
	c0 = max(0, int(math.Floor(x-r)))
	c1 = min(sr.n, int(math.Ceil(x+r))+1)
	rr0 = max(r0, int(math.Floor(y-r)))
	rr1 = min(r1, int(math.Ceil(y+r))+1)
	return
}

func smoothstep(e0, e1, x float64) float64 {
	t := math.Max(0, math.Min(1, (x-e0)/(e1-e0)))
	return t * t * (3 - 2*t)
}

func (sr *sceneRender) paintCloud(c *cloud, r0, r1 int) {
	b := c.b
	reach := b.maxR() + c.rim + 1
	c0, c1, rr0, rr1 := sr.box(b.cx, b.cy, reach, r0, r1)
	for r := rr0; r < rr1; r++ {
		for col := c0; col < c1; col++ {
			d, rt := b.polar(float64(col)+0.5, float64(r)+0.5)
			i := r*sr.n + col
			if c.cirrus {
				// thin cirrus: faint, flagged where it is not vanishing
				q := d / rt
				if q >= 1 {
					continue
				}
				a := c.peak * (1 - smoothstep(0.5, 1, q))
				sr.cld[i] = max(sr.cld[i], uint8(a*255+0.5))
				if q < 0.9 {
					sr.flg[i] = 10
				}
				continue
			}
			e := d - rt // > 0 outside the core, in pixels
			var a float64
			switch {
			case e <= 0:
				a = 0.62 + 0.38*smoothstep(0, 5, -e)
				if -e > c.flag8 {
					sr.flg[i] = 9
				} else {
					sr.flg[i] = 8
				}
			case e < c.rim:
				t := 1 - e/c.rim
				a = 0.5 * t * t
			default:
				continue
			}
			sr.cld[i] = max(sr.cld[i], uint8(a*255+0.5))
		}
	}
}

func (sr *sceneRender) paintShadow(c *cloud, r0, r1 int) {
	b := c.b
	x, y := b.cx+c.sdx, b.cy+c.sdy
	c0, c1, rr0, rr1 := sr.box(x, y, b.maxR()+c.srim+1, r0, r1)
	for r := rr0; r < rr1; r++ {
		for col := c0; col < c1; col++ {
			d, rt := b.polar(float64(col)+0.5-c.sdx, float64(r)+0.5-c.sdy)
			e := d - rt
			i := r*sr.n + col
			var s float64
			switch {
			case e <= 0:
				s = 0.85 + 0.15*smoothstep(0, 2, -e)
				if sr.flg[i] == 0 {
					sr.flg[i] = 3
				}
			case e < c.srim:
				s = 0.6 * (1 - e/c.srim)
			default:
				continue
			}
			sr.shd[i] = max(sr.shd[i], uint8(s*255+0.5))
		}
	}
}

// paintHaze: thickness 1 in the middle of the patch, smooth falloff to 0 at its outline.
func (sr *sceneRender) paintHaze(b *blob, r0, r1 int) {
	c0, c1, rr0, rr1 := sr.box(b.cx, b.cy, b.maxR()+1, r0, r1)
	for r := rr0; r < rr1; r++ {
		for col := c0; col < c1; col++ {
			d, rt := b.polar(float64(col)+0.5, float64(r)+0.5)
			h := 1 - smoothstep(0.25, 1, d/rt)
			if h <= 0 {
				continue
			}
			i := r*sr.n + col
			sr.hz[i] = max(sr.hz[i], uint8(h*255+0.5))
		}
	}
}

// refl is the reflectance of band b at 10 m pixel i (swath ignored).
func (sr *sceneRender) refl(b, i int) float32 {
	st := sr.surf[sr.cover[i]]
	t := float32(sr.tex[i]) * texScale
	var v float32
	if sr.mix != nil && sr.mix.frac[i] != 0 {
		v, st = sr.mixedRefl(b, i, t)
	} else {
		v = sr.spec[st][b] * (1 + texAmp[st]*t)
	}
	h := mix64(sr.hash ^ uint64(b)<<58 ^ uint64(i))
	v *= 1 + noiseRel[st]*gauss4(h)
	v = sr.gain*v + sr.off
	if sr.cld != nil {
		if s := sr.shd[i]; s != 0 {
			v *= 1 - 0.65*float32(s)/255
		}
	}
	if sr.hz != nil {
		v += float32(sr.hz[i]) / 255 * hazeAdd[b]
	}
	if sr.cld != nil {
		if a := sr.cld[i]; a != 0 {
			af := float32(a) / 255
			v += af * (cloudSpec[b]*(1+0.04*t) - v)
		}
	}
	return v
}

// dn converts reflectance to a Sentinel-2 L2A digital number: DN = 10000*rho + offset,
// at least 1 (0 is nodata) and at most 65535.
func (sr *sceneRender) dn(v float32) uint16 {
	x := v*10000 + sr.offset + 0.5
	if x < 1 {
		return 1
	}
	if x > 65535 {
		return 65535
	}
	return uint16(x)
}

// outside reports whether the point (x,y) in 10 m pixel units is beyond the swath edge.
func (sr *sceneRender) outside(x, y float32) bool {
	return sr.swath && x > sr.sw0-y*sr.swSlope
}

func (sr *sceneRender) band10(b int, out []uint16, r0, r1 int) {
	n := sr.n
	for r := r0; r < r1; r++ {
		for c := range n {
			i := r*n + c
			if sr.outside(float32(c)+0.5, float32(r)+0.5) {
				out[i] = 0
				continue
			}
			out[i] = sr.dn(sr.refl(b, i))
		}
	}
}

// band20 writes a 20 m band as the 2x2 mean of the internal 10 m field (Sentinel-2 SWIR
// detectors are 20 m; the mean of the four 10 m cells stands in for their footprint).
func (sr *sceneRender) band20(b int, out []uint16, r0, r1 int) {
	n, h := sr.n, sr.n/2
	for r := r0; r < r1; r++ {
		for c := range h {
			if sr.outside(float32(2*c+1), float32(2*r+1)) {
				out[r*h+c] = 0
				continue
			}
			i := 2*r*n + 2*c
			v := (sr.refl(b, i) + sr.refl(b, i+1) + sr.refl(b, i+n) + sr.refl(b, i+n+1)) / 4
			out[r*h+c] = sr.dn(v)
		}
	}
}

// sclRank breaks ties of the 2x2 majority vote: clouds, then shadow, cirrus, water, bare,
// vegetation.
var sclRank = [12]uint8{0: 0, 1: 1, 2: 2, 3: 8, 4: 3, 5: 4, 6: 5, 7: 1, 8: 9, 9: 10, 10: 6, 11: 1}

func (sr *sceneRender) sub(i int) uint8 {
	if sr.flg != nil && sr.flg[i] != 0 {
		return sr.flg[i]
	}
	return sclOf[sr.surf[sr.cover[i]]]
}

// scl writes the 20 m scene classification: the majority of the four 10 m classes, 0
// beyond the swath, and a rare sprinkle of 7 (unclassified) on some scenes.
func (sr *sceneRender) scl(out []uint8, r0, r1 int) {
	n, h := sr.n, sr.n/2
	for r := r0; r < r1; r++ {
		for c := range h {
			o := r*h + c
			if sr.outside(float32(2*c+1), float32(2*r+1)) {
				out[o] = 0
				continue
			}
			i := 2*r*n + 2*c
			v := vote4(sr.sub(i), sr.sub(i+1), sr.sub(i+n), sr.sub(i+n+1))
			if sr.sprinkle && v >= 4 && v <= 6 && unit01(mix64(sr.hash^0x7e57^uint64(o)<<8)) < 0.0015 {
				v = 7
			}
			out[o] = v
		}
	}
}

// vote4 is the most frequent of four classes (ties: higher sclRank).
func vote4(a, b, c, d uint8) uint8 {
	vals := [4]uint8{a, b, c, d}
	best, bestN := a, 0
	for _, v := range vals {
		k := 0
		for _, w := range vals {
			if w == v {
				k++
			}
		}
		if k > bestN || (k == bestN && sclRank[v] > sclRank[best]) {
			best, bestN = v, k
		}
	}
	return best
}
