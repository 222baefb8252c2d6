package raster

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// Typical surface reflectances (B02 B03 B04 B08 B11 B12) of the cover types the rules meet.
var (
	forest   = Spectrum{0.025, 0.045, 0.025, 0.32, 0.15, 0.065}
	grass    = Spectrum{0.04, 0.07, 0.06, 0.30, 0.22, 0.12}
	browned  = Spectrum{0.06, 0.09, 0.11, 0.26, 0.30, 0.20}
	laterite = Spectrum{0.09, 0.13, 0.19, 0.25, 0.33, 0.27}
	pond     = Spectrum{0.07, 0.09, 0.08, 0.05, 0.025, 0.015}
	char     = Spectrum{0.03, 0.04, 0.05, 0.10, 0.17, 0.16}
	wetSpoil = Spectrum{0.05, 0.07, 0.105, 0.14, 0.15, 0.11}
	turbid   = Spectrum{0.08, 0.12, 0.16, 0.13, 0.10, 0.06}
	clearing = Spectrum{0.06, 0.085, 0.11, 0.24, 0.30, 0.21}
)

func scale(s Spectrum, k float32) Spectrum {
	return Spectrum{s.Blue * k, s.Green * k, s.Red * k, s.NIR * k, s.SWIR1 * k, s.SWIR2 * k}
}

func add(s, h Spectrum, k float32) Spectrum {
	return Spectrum{s.Blue + k*h.Blue, s.Green + k*h.Green, s.Red + k*h.Red, s.NIR + k*h.NIR, s.SWIR1 + k*h.SWIR1, s.SWIR2 + k*h.SWIR2}
}

// mix is the linear mixture (1-f)*a + f*b.
func mix(a, b Spectrum, f float32) Spectrum { return add(scale(a, 1-f), b, f) }

// TestClassifyWeak checks the weak tests on mixed pixels at object edges, and that
// shadows, haze, browning and unchanged forest pass none of them.
func TestClassifyWeak(t *testing.T) {
	haze := Spectrum{0.12, 0.09, 0.07, 0.04, 0.015, 0.008}
	for _, tt := range []struct {
		name          string
		before, after Spectrum
		want          uint8
	}{
		{"scar edge, half covered", forest, mix(forest, laterite, 0.5), ClassBare},
		{"pond edge, half covered", forest, mix(forest, pond, 0.5), ClassWater},
		{"burn at low severity (30 % char)", forest, mix(forest, char, 0.45), ClassBurn},
		{"forest unchanged", forest, forest, ClassNone},
		{"shadow", forest, scale(forest, 0.35), ClassNone},
		{"haze", forest, add(forest, haze, 0.8), ClassNone},
		{"seasonal browning of grass", grass, browned, ClassNone},
		{"scar edge, 20 % covered", forest, mix(forest, laterite, 0.2), ClassNone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ib, ia := tt.before.Index(), tt.after.Index()
			if c, _ := DefaultRules.Classify(&tt.before, &tt.after, &ib, &ia); c != ClassNone && tt.want != ClassNone {
				t.Logf("passes the strong rules too (%s)", ClassName(c))
			}
			if got := DefaultRules.ClassifyWeak(&tt.before, &tt.after, &ib, &ia); got != tt.want {
				t.Fatalf("weak class %s, want %s; before %+v after %+v", ClassName(got), ClassName(tt.want), ib, ia)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	haze := Spectrum{0.12, 0.09, 0.07, 0.04, 0.015, 0.008}
	cloud := Spectrum{0.45, 0.45, 0.45, 0.5, 0.4, 0.3}
	offset := func(s Spectrum) Spectrum { return add(scale(s, 1.03), Spectrum{1, 1, 1, 1, 1, 1}, 0.006) }
	tests := []struct {
		name          string
		before, after Spectrum
		want          uint8
	}{
		{"forest unchanged", forest, forest, ClassNone},
		{"forest to mining scar", forest, laterite, ClassBare},
		{"forest to scar with a radiometric offset", forest, offset(laterite), ClassBare},
		{"grass to scar", grass, laterite, ClassBare},
		{"forest to pond", forest, pond, ClassWater},
		{"forest burnt", forest, char, ClassBurn},
		{"seasonal browning of grass", grass, browned, ClassNone},
		{"radiometric offset only", forest, offset(forest), ClassNone},
		{"shadow (all bands x0.35)", forest, scale(forest, 0.35), ClassNone},
		{"illumination (x0.5)", forest, scale(forest, 0.5), ClassNone},
		{"thick haze", forest, add(forest, haze, 1), ClassNone},
		{"unflagged cloud rim 30%", forest, add(scale(forest, 0.7), cloud, 0.3), ClassNone},
		{"unflagged cloud rim 60%", forest, add(scale(forest, 0.4), cloud, 0.6), ClassNone},
		{"bare soil stays bare", laterite, laterite, ClassNone},
		{"bare soil floods (not vegetation before)", laterite, pond, ClassNone},
		{"forest to wet spoil", forest, wetSpoil, ClassBare},
		{"forest to turbid pond over mud (red above NIR)", forest, turbid, ClassWater},
		{"forest to clearing with slash", forest, clearing, ClassBare},
		{"forest to spoil with 40% regrowth", forest, mix(laterite, grass, 0.4), ClassBare},
		{"forest to the median missed real mining pixel (NDVI 0.35, BSI 0.02, red 0.12)", forest,
			Spectrum{0.06, 0.08, 0.12, 0.25, 0.24, 0.15}, ClassBare},
		{"grass to clearing-like browning (not dense before)", grass, clearing, ClassNone},
		{"forest to dark dull ground (not bright soil, not char)", forest, Spectrum{0.04, 0.06, 0.06, 0.12, 0.12, 0.08}, ClassLoss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ib, ia := tt.before.Index(), tt.after.Index()
			got, str := DefaultRules.Classify(&tt.before, &tt.after, &ib, &ia)
			if got != tt.want {
				t.Fatalf("class %s (strength %.2f), want %s; before %+v after %+v", ClassName(got), str, ClassName(tt.want), ib, ia)
			}
			if got != ClassNone && (str < 0.5 || str > 1) {
				t.Fatalf("strength %.2f outside [0.5,1]", str)
			}
		})
	}
}

// TestLabelSparseSeeds checks the hysteresis: a region of weak pixels is kept only when it
// holds a strong one (and meets the unit with its weak pixels), or, with keepEdge, when it
// touches the window's border.
func TestLabelSparseSeeds(t *testing.T) {
	const w, h = 8, 4
	// w: weak bare, s: strong bare; the left region holds a seed, the right one none.
	grid := []string{
		"ws....ww",
		"ww....ww",
		"........",
		"..ww....",
	}
	var idx []uint32
	var cls []uint8
	var strong []bool
	for y, row := range grid {
		for x, c := range row {
			if c != '.' {
				idx, cls, strong = append(idx, uint32(y*w+x)), append(cls, ClassBare), append(strong, c == 's')
			}
		}
	}
	for _, tt := range []struct {
		name     string
		keepEdge bool
		min      int
		want     []int // sizes of the kept regions
		seeds    []int
	}{
		{"seeded region kept, unseeded dropped", false, 4, []int{4}, []int{1}},
		{"the unit counts weak pixels", false, 5, nil, nil},
		{"edge regions kept for the merge", true, 4, []int{4, 4, 2}, []int{1, 0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, comps, sizes, seeds := labelSparse(idx, cls, strong, w, h, tt.min, tt.keepEdge)
			if len(comps) != len(tt.want) || !slices.Equal(sizes, tt.want) || !slices.Equal(seeds, tt.seeds) {
				t.Fatalf("sizes %v seeds %v, want %v %v", sizes, seeds, tt.want, tt.seeds)
			}
		})
	}
}

func TestLabelSparse(t *testing.T) {
	const w, h = 6, 5
	class := []uint8{
		1, 1, 0, 0, 0, 2,
		0, 1, 0, 0, 2, 0, // the 2s touch diagonally: one region under 8-connectivity
		0, 0, 0, 0, 0, 0,
		3, 0, 1, 1, 1, 0,
		0, 0, 1, 2, 255, 0, // 255 (not observed) is never a region; the lone 2 is too small
	}
	var idx []uint32
	var cls []uint8
	for i, c := range class {
		if c != ClassNone && c != ClassNotObserved {
			idx, cls = append(idx, uint32(i)), append(cls, c)
		}
	}
	pl, comps, sizes, _ := labelSparse(idx, cls, allStrong(len(idx)), w, h, 2, false)
	labels := make([]int32, len(class))
	for i, j := range idx {
		labels[j] = pl[i]
	}
	if len(comps) != 3 {
		t.Fatalf("%d regions, want 3: %v", len(comps), comps)
	}
	wantSizes := []int{3, 2, 4}
	for i, s := range sizes {
		if s != wantSizes[i] {
			t.Errorf("region %d: %d pixels, want %d", i+1, s, wantSizes[i])
		}
	}
	if labels[18] != 0 || labels[27] != 0 {
		t.Errorf("regions under the minimum mapping unit must be dropped: labels %v", labels)
	}
	if c := comps[2]; c.MinCol != 2 || c.MaxCol != 4 || c.MinRow != 3 || c.MaxRow != 4 {
		t.Errorf("bbox of region 3: %+v", c)
	}
	if labels[0] != labels[7] || labels[5] != labels[10] || labels[0] == labels[5] {
		t.Errorf("labels %v", labels)
	}
}

func TestDilate(t *testing.T) {
	tests := []struct {
		name   string
		w, h   int
		on     []int
		r      int
		wantOn int
	}{
		{"centre r1", 5, 5, []int{12}, 1, 9},
		{"centre r2", 5, 5, []int{12}, 2, 25},
		{"corner r1", 5, 5, []int{0}, 1, 4},
		{"r0 is identity", 5, 5, []int{3, 7}, 0, 2},
		{"radius beyond the raster", 3, 2, []int{0}, 10, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := make([]bool, tt.w*tt.h)
			for _, i := range tt.on {
				m[i] = true
			}
			dilate(m, make([]bool, len(m)), tt.w, tt.h, tt.r)
			n := 0
			for _, v := range m {
				if v {
					n++
				}
			}
			if n != tt.wantOn {
				t.Fatalf("%d pixels set, want %d", n, tt.wantOn)
			}
		})
	}
}

func TestRasterizePolygons(t *testing.T) {
	g := Grid{EPSG: 32635, X0: 0, Y0: 100, Res: 10, Width: 10, Height: 10}
	square := orb.Ring{{20, 20}, {80, 20}, {80, 80}, {20, 80}, {20, 20}}
	hole := orb.Ring{{40, 40}, {40, 60}, {60, 60}, {60, 40}, {40, 40}}
	tests := []struct {
		name string
		mp   orb.MultiPolygon
		want int
	}{
		{"square 6x6 pixels", orb.MultiPolygon{{square}}, 36},
		{"square with a 2x2 hole", orb.MultiPolygon{{square, hole}}, 32},
		{"partly outside the grid", orb.MultiPolygon{{{{-50, -50}, {30, -50}, {30, 30}, {-50, 30}, {-50, -50}}}}, 9},
		{"triangle, pixel centres", orb.MultiPolygon{{{{0, 0}, {100, 0}, {0, 100}, {0, 0}}}}, 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			for _, v := range RasterizePolygons(g, tt.mp) {
				if v {
					n++
				}
			}
			if n != tt.want {
				t.Fatalf("%d pixels, want %d", n, tt.want)
			}
		})
	}
}

// TestLabelSparseMatchesFloodFill compares the sparse labelling with a plain flood fill on
// random class rasters (dense and sparse, with gaps of empty rows).
func TestLabelSparseMatchesFloodFill(t *testing.T) {
	tests := []struct {
		name       string
		w, h       int
		density    float64
		minPixels  int
		keepEdge   bool
		emptyEvery int
	}{
		{"dense", 40, 30, 0.5, 1, false, 0},
		{"sparse with mmu", 64, 64, 0.15, 3, false, 0},
		{"edge kept", 50, 20, 0.3, 4, true, 0},
		{"empty rows", 30, 40, 0.4, 2, false, 3},
		{"one column", 1, 50, 0.6, 2, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.w), uint64(tt.h)))
			class := make([]uint8, tt.w*tt.h)
			var idx []uint32
			var cls []uint8
			for i := range class {
				if tt.emptyEvery > 0 && (i/tt.w)%tt.emptyEvery == 0 {
					continue
				}
				if rng.Float64() < tt.density {
					class[i] = uint8(1 + rng.IntN(2))
					idx, cls = append(idx, uint32(i)), append(cls, class[i])
				}
			}
			got, comps, sizes, _ := labelSparse(idx, cls, allStrong(len(idx)), tt.w, tt.h, tt.minPixels, tt.keepEdge)
			// Reference: flood fill, regions numbered in raster order of their first pixel.
			ref := make([]int32, len(class))
			var refSizes []int
			seen := make([]bool, len(class))
			for i, c := range class {
				if c == 0 || seen[i] {
					continue
				}
				stack, members := []int{i}, []int{}
				seen[i] = true
				edge := false
				for len(stack) > 0 {
					p := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					members = append(members, p)
					x, y := p%tt.w, p/tt.w
					edge = edge || x == 0 || y == 0 || x == tt.w-1 || y == tt.h-1
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							nx, ny := x+dx, y+dy
							if nx < 0 || ny < 0 || nx >= tt.w || ny >= tt.h {
								continue
							}
							q := ny*tt.w + nx
							if !seen[q] && class[q] == c {
								seen[q] = true
								stack = append(stack, q)
							}
						}
					}
				}
				if len(members) >= tt.minPixels || tt.keepEdge && edge {
					refSizes = append(refSizes, len(members))
					for _, p := range members {
						ref[p] = int32(len(refSizes))
					}
				}
			}
			if len(comps) != len(refSizes) {
				t.Fatalf("%d regions, flood fill finds %d", len(comps), len(refSizes))
			}
			for i := range sizes {
				if sizes[i] != refSizes[i] {
					t.Fatalf("region %d: %d pixels, flood fill %d", i+1, sizes[i], refSizes[i])
				}
			}
			for i, j := range idx {
				if got[i] != ref[j] {
					t.Fatalf("pixel %d: label %d, flood fill %d", j, got[i], ref[j])
				}
			}
		})
	}
}

// TestUpsampleBilinear2 checks that the integer path for 20 m bands gives exactly the
// float formula's values, nodata fallback and source edges included.
func TestUpsampleBilinear2(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const sw, sh = 170, 23
	src := make([]uint16, sw*sh)
	for i := range src {
		src[i] = uint16(rng.IntN(65536))
		if rng.IntN(20) == 0 {
			src[i] = 0
		}
	}
	a := &alignment{k: 2, ox: 3, oy: -1, sw: sw, sh: sh}
	for _, win := range [][4]int{{0, 0, 80, 50}, {5, 4, 31, 17}, {-4, -6, 90, 60}, {70, 40, 9, 8}, {-3, 2, 350, 40}, {6, 0, 300, 20}} {
		col, row, w, h := win[0], win[1], win[2], win[3]
		sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, false)
		wsw, wsh := sx1-sx0+1, sy1-sy0+1
		part := make([]uint16, wsw*wsh)
		for y := range wsh {
			copy(part[y*wsw:], src[(sy0+y)*sw+sx0:(sy0+y)*sw+sx0+wsw])
		}
		got, want := make([]uint16, w*h), make([]uint16, w*h)
		upsampleBilinear(got, part, a, col, row, w, h, sx0, sy0, wsw, wsh)
		a.k = 2
		tx, ty := bilinearTaps(a, col, row, w, h, sx0, sy0, wsw, wsh)
		upsampleBilinearFloat(want, part, tx, ty, w, wsw)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("window %v pixel %d: %d, float formula %d", win, i, got[i], want[i])
			}
		}
	}
}

// TestPickMatchesInsertion checks the one-, two- and three-scene picks against the
// general insertion path on every pattern of clear / not clear and ties.
func TestPickMatchesInsertion(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		rs := make([]sceneRow, n) // one row holding every case
		for i := range rs {
			rs[i].off, rs[i].scale = 1000, 1e-4
		}
		vals := []uint16{0, 5, 7, 7, 9}
		var rec func(i int, cur []uint16)
		rec = func(i int, cur []uint16) {
			if i == n {
				for s := range n {
					rs[s].dn[0] = append(rs[s].dn[0], cur[s])
				}
				return
			}
			for _, v := range vals {
				rec(i+1, append(cur, v))
			}
		}
		rec(0, nil)
		var fast, general picks
		fast.resize(len(rs[0].dn[0]))
		general.resize(len(rs[0].dn[0]))
		pickRow(rs, true, 0, &fast)
		pickInsertion(rs, 0, &general)
		for x := range fast.k {
			if fast.k[x] != general.k[x] || fast.n[x] != general.n[x] || fast.bits[x] != general.bits[x] {
				t.Fatalf("%d scenes, pixel %d: pick (%d,%d,%b), insertion (%d,%d,%b)", n, x,
					fast.k[x], fast.n[x], fast.bits[x], general.k[x], general.n[x], general.bits[x])
			}
		}
	}
}

// The true-colour table gives RGBByte of every digital number's reflectance.
func TestRGBTable(t *testing.T) {
	for _, sc := range [][2]float32{{0, 1e-4}, {1000, 1e-4}, {1000, 2e-4}} {
		tab := rgbTable(sc[0], sc[1])
		if again := rgbTable(sc[0], sc[1]); again != tab {
			t.Errorf("scaling %v: a second table", sc)
		}
		for v := range 1 << 16 {
			s := sceneRow{off: sc[0], scale: sc[1]}
			if want := RGBByte(s.refl(uint16(v))); tab[v] != want {
				t.Fatalf("scaling %v, DN %d: %d, want %d", sc, v, tab[v], want)
			}
		}
	}
}

// TestDilateMatchesBruteForce compares the run and word based dilation with the
// definition (any set pixel within r in both directions) on random masks.
func TestDilateMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, tc := range []struct{ w, h, r int }{{37, 29, 5}, {64, 16, 2}, {13, 40, 7}, {9, 9, 1}, {101, 3, 3}} {
		m := make([]bool, tc.w*tc.h)
		for i := range m {
			m[i] = rng.IntN(60) == 0 || (i%tc.w > tc.w/2 && i/tc.w == tc.h/2) // specks and a run
		}
		want := make([]bool, len(m))
		for y := range tc.h {
			for x := range tc.w {
				for dy := -tc.r; dy <= tc.r; dy++ {
					for dx := -tc.r; dx <= tc.r; dx++ {
						xx, yy := x+dx, y+dy
						if xx >= 0 && yy >= 0 && xx < tc.w && yy < tc.h && m[yy*tc.w+xx] {
							want[y*tc.w+x] = true
						}
					}
				}
			}
		}
		dilate(m, make([]bool, len(m)), tc.w, tc.h, tc.r)
		for i := range m {
			if m[i] != want[i] {
				t.Fatalf("%dx%d r=%d: pixel %d is %v, want %v", tc.w, tc.h, tc.r, i, m[i], want[i])
			}
		}
	}
}

// TestNDShortcuts checks the division-free threshold tests against the divided index:
// below and above may only answer what nd's quotient confirms. Every reflectance pair of
// Detect's DNs (offset 1000, scale 1e-4) within a few DNs of each threshold is tried,
// where rounding decides; ndDiff must stay within rounding of the two quotients.
func TestNDShortcuts(t *testing.T) {
	refl := func(dn int) float32 { return (float32(dn) - 1000) * 1e-4 }
	var decided, total int
	for _, th := range []float32{DefaultRules.VegBefore, DefaultRules.BareNDVI, DefaultRules.BurnNBR, -0.2, 0} {
		for db := 1001; db < 12000; db++ {
			b := refl(db)
			// nd(a, b) = th where a = b(1+th)/(1-th)
			center := 1000 + int(float64(db-1000)*(1+float64(th))/(1-float64(th)))
			for da := center - 3; da <= center+3; da++ {
				a := refl(da)
				q := nd(a, b)
				total++
				if below(a-b, a+b, th) {
					decided++
					if !(q < th) {
						t.Fatalf("below(nd(%v, %v) = %v, %v) but the quotient is not", a, b, q, th)
					}
				}
				if ndAbove(a, b, th) {
					decided++
					if !(q >= th) {
						t.Fatalf("ndAbove(nd(%v, %v) = %v, %v) but the quotient is below", a, b, q, th)
					}
				}
			}
		}
	}
	if decided == 0 {
		t.Fatalf("no comparison of %d decided", total)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for range 100000 {
		a, b, c, d := refl(rng.IntN(13000)), refl(rng.IntN(13000)), refl(rng.IntN(13000)), refl(rng.IntN(13000))
		want := nd(c, d) - nd(a, b)
		if got := ndDiff(c-d, c+d, a-b, a+b); math.Abs(float64(got-want)) > 1e-5*max(1, math.Abs(float64(want))) {
			t.Fatalf("ndDiff of nd(%v, %v) and nd(%v, %v): %v, want %v", c, d, a, b, got, want)
		}
	}
}

func TestQuantizeDNDVI(t *testing.T) {
	for _, tt := range []struct {
		v    float32
		want int16
	}{
		{0, 0}, {0.0004, 0}, {0.0006, 1}, {-0.0006, -1}, {0.0015, 2}, {-0.0025, -3},
		{0.25, 250}, {-1.999, -1999}, {2, 2000}, {40, math.MaxInt16}, {-40, -math.MaxInt16},
		{float32(math.Inf(1)), math.MaxInt16}, {float32(math.NaN()), DNDVINoData},
	} {
		if got := quantizeDNDVI(tt.v); got != tt.want {
			t.Errorf("quantizeDNDVI(%v) = %d, want %d", tt.v, got, tt.want)
		}
	}
}

// TestLazyBandUpper checks that the bound of a band kept at 20 m (the burn test's
// shortcut) is at least the interpolated value at every pixel it answers for, windows
// at and across the source edges and nodata included, and that it is tight somewhere.
func TestLazyBandUpper(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	const sw, sh = 170, 23
	src := make([]uint16, sw*sh)
	for i := range src {
		src[i] = uint16(rng.IntN(65536))
		if rng.IntN(20) == 0 {
			src[i] = 0
		}
	}
	answered, tight := 0, 0
	for _, k := range []int{2, 3} {
		a := &alignment{k: k, ox: 3, oy: -1, sw: sw, sh: sh}
		for _, win := range [][4]int{{0, 0, 80, 50}, {5, 4, 31, 17}, {-4, -6, 90, 60}, {70, 40, 9, 8}, {-3, 2, 350, 40}} {
			col, row, w, h := win[0], win[1], win[2], win[3]
			sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, false)
			var lb lazyBand
			lb.sw, lb.sh = sx1-sx0+1, sy1-sy0+1
			lb.src = make([]uint16, lb.sw*lb.sh)
			for y := range lb.sh {
				copy(lb.src[y*lb.sw:], src[(sy0+y)*sw+sx0:(sy0+y)*sw+sx0+lb.sw])
			}
			lb.tx, lb.ty = bilinearTaps(a, col, row, w, h, sx0, sy0, lb.sw, lb.sh)
			nearest(lb.tx, &lb.nx)
			nearest(lb.ty, &lb.ny)
			lb.bound()
			for y := range h {
				r := lb.row(y)
				for x := range w {
					u, ok := r.upper(x)
					if !ok {
						if lb.tx[x].inside && lb.ty[y].inside {
							t.Fatalf("k %d window %v pixel %d,%d: no bound inside the source", k, win, x, y)
						}
						continue
					}
					answered++
					if v := r.at(x); u < v {
						t.Fatalf("k %d window %v pixel %d,%d: bound %d below the value %d", k, win, x, y, u, v)
					} else if u == v {
						tight++
					}
				}
			}
		}
	}
	if answered == 0 || tight == 0 {
		t.Fatalf("%d pixels with a bound, %d of them tight", answered, tight)
	}
}
