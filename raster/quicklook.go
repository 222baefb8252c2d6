package raster

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"github.com/changewatch/changewatch/raster/cog"
)

// Quicklook accumulates a reduced view of the before and after composites and of the
// change classes while Detect streams over the grid, so the picture costs no second read.
type Quicklook struct {
	w, h, step int
	before     []float32 // RGB sums per cell
	after      []float32
	n          []int32
	classes    [][nClasses]int32 // pixels per change class (index 1..4), counted in WritePNG
}

func newQuicklook(width, height, maxSide int) *Quicklook {
	step := max(1, int(math.Ceil(float64(max(width, height))/float64(maxSide))))
	w, h := (width+step-1)/step, (height+step-1)/step
	return &Quicklook{w: w, h: h, step: step,
		before: make([]float32, 3*w*h), after: make([]float32, 3*w*h),
		n: make([]int32, w*h), classes: make([][nClasses]int32, w*h)}
}

// addRGB adds to cell c the composites' colours at buffer column x: before from row b,
// after from row a.
func (q *Quicklook) addRGB(c int, b, a *sceneRow, x int) {
	q.before[3*c] += b.refl(b.dn[2][x])
	q.before[3*c+1] += b.refl(b.dn[1][x])
	q.before[3*c+2] += b.refl(b.dn[0][x])
	q.after[3*c] += a.refl(a.dn[2][x])
	q.after[3*c+1] += a.refl(a.dn[1][x])
	q.after[3*c+2] += a.refl(a.dn[0][x])
	q.n[c]++
}

// Class colours of the overlay (also used in README's legend).
var classColors = [nClasses]color.RGBA{
	{0, 0, 0, 0},
	{255, 140, 0, 255}, // vegetation to bare: orange
	{0, 170, 255, 255}, // vegetation to water: cyan
	{200, 0, 40, 255},  // burn scar: red
	{255, 0, 255, 255}, // vegetation loss: magenta
}

// NotObservedColor is the quicklook's grey of pixels not observed in both periods.
var NotObservedColor = color.RGBA{128, 128, 128, 255}

// ClassLegend is the legend of change_class.tif, with the quicklook's colours: no change
// (transparent) and every change class, by value. Not observed (ClassNotObserved) is the
// raster's nodata value, not a class of it.
func ClassLegend() []cog.Class {
	l := make([]cog.Class, nClasses)
	for c := range uint8(nClasses) {
		l[c] = cog.Class{Value: c, Name: ClassName(c), Color: classColors[c]}
	}
	return l
}

// AddClasses counts the final change classes (after the minimum mapping unit) of a
// window whose top-left pixel is (col,row) of the full grid and that is width pixels wide.
func (q *Quicklook) AddClasses(col, row, width int, class []uint8) {
	for i, c := range class {
		if c >= 1 && c < nClasses {
			q.addClass(col+i%width, row+i/width, c)
		}
	}
}

// addClass counts pixel (x, y) of the full grid as change class c.
func (q *Quicklook) addClass(x, y int, c uint8) {
	q.classes[(y/q.step)*q.w+x/q.step][c]++
}

// Merge adds the sums of o (a quicklook of another window of the same grid) to q.
func (q *Quicklook) Merge(o *Quicklook) error {
	if q.w != o.w || q.h != o.h || q.step != o.step {
		return fmt.Errorf("quicklook: merge %dx%d/%d into %dx%d/%d", o.w, o.h, o.step, q.w, q.h, q.step)
	}
	for i := range q.before {
		q.before[i] += o.before[i]
		q.after[i] += o.after[i]
	}
	for i := range q.n {
		q.n[i] += o.n[i]
		for k := range q.classes[i] {
			q.classes[i][k] += o.classes[i][k]
		}
	}
	return nil
}

// WritePNG writes before | after | after with the change overlay, side by side. Cells
// without a clear observation in both periods are grey. The overlay shows the classes
// given to AddClasses.
func (q *Quicklook) WritePNG(path string) error {
	const gap = 4
	iw := 3*q.w + 2*gap
	pix := make([]uint8, 3*iw*q.h)
	for i := range pix {
		pix[i] = 255 // white between the panels
	}
	set := func(x, y int, c color.RGBA) {
		p := pix[3*(y*iw+x) : 3*(y*iw+x)+3 : 3*(y*iw+x)+3]
		p[0], p[1], p[2] = c.R, c.G, c.B
	}
	// The stretch of the true-colour composites (RGBByte: 0..0.25 reflectance, gamma 2.2,
	// looked up), so that the panels show what before_rgb.tif and after_rgb.tif show.
	stretch := func(v float32, n int32) uint8 { return RGBByte(v / float32(n)) }
	for y := 0; y < q.h; y++ {
		for x := 0; x < q.w; x++ {
			c := y*q.w + x
			n := q.n[c]
			if n == 0 {
				grey := NotObservedColor
				set(x, y, grey)
				set(q.w+gap+x, y, grey)
				set(2*(q.w+gap)+x, y, grey)
				continue
			}
			bc := color.RGBA{stretch(q.before[3*c], n), stretch(q.before[3*c+1], n), stretch(q.before[3*c+2], n), 255}
			ac := color.RGBA{stretch(q.after[3*c], n), stretch(q.after[3*c+1], n), stretch(q.after[3*c+2], n), 255}
			set(x, y, bc)
			set(q.w+gap+x, y, ac)
			best, bn := 0, int32(0)
			for k := 1; k < nClasses; k++ {
				if q.classes[c][k] > bn {
					best, bn = k, q.classes[c][k]
				}
			}
			if best != 0 {
				ac = classColors[best]
			} else {
				ac = color.RGBA{ac.R / 2, ac.G / 2, ac.B / 2, 255} // dim the background so change stands out
			}
			set(2*(q.w+gap)+x, y, ac)
		}
	}
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("quicklook: %w", err)
	}
	if err := encodePNGRGB(fh, pix, iw, q.h); err != nil {
		fh.Close()
		os.Remove(tmp)
		return fmt.Errorf("quicklook: encode png: %w", err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quicklook: %w", err)
	}
	return os.Rename(tmp, path)
}
