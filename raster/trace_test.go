package raster

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// ttGrid is a 10 m UTM 35N grid of w x h pixels near 27E 41.5N.
func ttGrid(w, h int) Grid {
	return Grid{EPSG: 32635, X0: 500000, Y0: 4600000, Res: 10, Width: w, Height: h}
}

// ttOutlines polygonizes the 8-connected regions of the set pixels of a bitmap (as
// Detect finds them) and returns each region's outline with its pixel count.
func ttOutlines(t *testing.T, g Grid, set []bool) ([]orb.MultiPolygon, []int) {
	t.Helper()
	var idx []uint32
	var cls []uint8
	for i, on := range set {
		if on {
			idx, cls = append(idx, uint32(i)), append(cls, 1)
		}
	}
	pl, comps, sizes, _ := labelSparse(idx, cls, allStrong(len(idx)), g.Width, g.Height, 1, false)
	labels := make([]int32, g.Pixels())
	for i, j := range idx {
		labels[j] = pl[i]
	}
	pix, start := vtPixels(labels, comps)
	mps, err := PolygonizePixels(context.Background(), g, comps, pix, start)
	if err != nil {
		t.Fatal(err)
	}
	return mps, sizes
}

// ttCheck checks that mp is valid for GEOS, RFC 7946 oriented, and covers pixels pixels.
func ttCheck(t *testing.T, mp orb.MultiPolygon, pixels int) {
	t.Helper()
	if err := CheckValid(mp); err != nil {
		t.Errorf("%v: %v", err, mp)
	}
	for i, p := range mp {
		for j, r := range p {
			want := orb.CW
			if j == 0 {
				want = orb.CCW
			}
			if r.Orientation() != want {
				t.Errorf("part %d ring %d orientation %v, want %v", i, j, r.Orientation(), want)
			}
		}
	}
	utm := vtTransform(t, mp, 4326, 32635)
	if area, want := planar.Area(utm), float64(pixels)*100; math.Abs(area-want) > want*1e-3 {
		t.Errorf("area %.3f m², want %.0f (%d pixels)", area, want, pixels)
	}
}

// TestOutlinePatterns: pixel patterns whose plain outline is not a valid polygon (pixels
// meeting at a corner, a ring touching itself there, holes touching the shell or each
// other there) come out valid, as parts touching at corners and holes touching at corners.
func TestOutlinePatterns(t *testing.T) {
	vtInit(t)
	tests := []struct {
		name  string
		rows  []string
		rings []int // rings of each part (1 + holes), in the raster order of the parts
	}{
		{"single pixel", []string{"1"}, []int{1}},
		{"block", []string{"11", "11"}, []int{1}},
		{"diagonal pixels", []string{"1.", ".1"}, []int{1, 1}},
		{"anti-diagonal pixels", []string{".1", "1."}, []int{1, 1}},
		{"staircase", []string{"1..", "11.", ".11"}, []int{1}},
		{"diagonal chain", []string{"1...", ".1..", "..1.", "...1"}, []int{1, 1, 1, 1}},
		{"blocks touching at a corner", []string{"11..", "11..", "..11", "..11"}, []int{1, 1}},
		{"ring with a hole", []string{"111", "1.1", "111"}, []int{2}},
		{"ring touching itself at a corner (hole touching the shell)", []string{
			".111",
			"1..1",
			"1..1",
			"1111"}, []int{2}},
		{"hole touching the shell at a corner, inside", []string{
			"1111",
			"11.1",
			"1..1",
			"1111"}, []int{2}},
		{"holes touching each other at a corner", []string{
			"1111",
			"1.11",
			"11.1",
			"1111"}, []int{3}},
		{"two holes touching the shell and each other", []string{
			"11111",
			"1.1.1",
			"11.11",
			"11111"}, []int{4}},
		{"ring closed by a diagonal", []string{
			"111.",
			"1..1",
			"1111"}, []int{2}},
		{"ring closed by a diagonal between two pieces", []string{
			"111.",
			"1..1",
			"1.11"}, []int{1, 1}},
		{"diamond around a gap", []string{".1.", "1.1", ".1."}, []int{1, 1, 1, 1}},
		{"island touching its lake's shore", []string{
			"11111",
			"11..1",
			"1.1.1",
			"1...1",
			"11111"}, []int{2, 1}},
		{"checkerboard", []string{"1.1.", ".1.1", "1.1.", ".1.1"}, []int{1, 1, 1, 1, 1, 1, 1, 1}},
		{"pixels touching a comb's teeth (a gap closed only by other pieces is no hole)", []string{
			"1.1.1",
			".1.1.",
			"11111"}, []int{1, 1, 1, 1}},
		{"comb with hole at every tooth", []string{
			"1111111",
			"1.1.1.1",
			"1111111"}, []int{4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One pixel of background around the pattern, and once with the pattern on the grid's
			// edge.
			for _, pad := range []int{1, 0} {
				w, h := len(tc.rows[0])+2*pad, len(tc.rows)+2*pad
				g := ttGrid(w, h)
				set := make([]bool, w*h)
				n := 0
				for r, s := range tc.rows {
					for c, ch := range s {
						if ch == '1' {
							set[(r+pad)*w+c+pad] = true
							n++
						}
					}
				}
				mps, sizes := ttOutlines(t, g, set)
				if len(mps) != 1 {
					t.Fatalf("%d regions, want one (8-connected)", len(mps))
				}
				mp := mps[0]
				var rings []int
				for _, p := range mp {
					rings = append(rings, len(p))
				}
				if !slicesEqual(rings, tc.rings) {
					t.Errorf("pad %d: rings per part %v, want %v\n%s", pad, rings, tc.rings, strings.Join(tc.rows, "\n"))
				}
				if sizes[0] != n {
					t.Fatalf("region of %d pixels, want %d", sizes[0], n)
				}
				ttCheck(t, mp, n)
			}
		})
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestOutlineRandom: the outline of every region of random bitmaps of several densities
// is valid for GEOS, covers exactly the region's pixels and has one part per 4-connected
// piece.
func TestOutlineRandom(t *testing.T) {
	vtInit(t)
	rng := rand.New(rand.NewPCG(3, 16))
	for _, density := range []float64{0.3, 0.5, 0.6, 0.7} {
		for range 40 {
			g := ttGrid(14, 11)
			set := make([]bool, g.Pixels())
			for i := range set {
				set[i] = rng.Float64() < density
			}
			mps, sizes := ttOutlines(t, g, set)
			for i, mp := range mps {
				ttCheck(t, mp, sizes[i])
			}
			if t.Failed() {
				var b strings.Builder
				for i, on := range set {
					if i%g.Width == 0 {
						b.WriteByte('\n')
					}
					b.WriteByte(map[bool]byte{true: '1', false: '.'}[on])
				}
				t.Fatalf("density %.1f, bitmap:%s", density, b.String())
			}
		}
	}
}

// TestCheckValidAndMakeValid: the outline GDAL's 8-connected polygonize gives two pixels
// meeting at a corner (one ring through the corner twice) is refused, and repaired into
// the two squares.
func TestCheckValidAndMakeValid(t *testing.T) {
	vtInit(t)
	pinched := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {2, 1}, {2, 2}, {1, 2}, {1, 1}, {0, 1}, {0, 0}}}}
	if err := CheckValid(pinched); err == nil {
		t.Fatal("a ring through the same corner twice passed")
	}
	fixed, err := MakeValid(pinched)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckValid(fixed); err != nil {
		t.Fatal(err)
	}
	if len(fixed) != 2 || math.Abs(planar.Area(fixed)-2) > 1e-9 {
		t.Errorf("repaired into %v, want the two unit squares", fixed)
	}
	square := vtSquare(27, 41, 0.01, true)
	if got, err := MakeValid(square); err != nil || !vtSameGeometry(got, square, 0) {
		t.Errorf("a valid geometry changed: %v, %v", got, err)
	}
}
