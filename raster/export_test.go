package raster

import "context"

// KernelStrip holds one loaded strip of real scenes so that the per-pixel kernels can be
// benchmarked on their own (kernels_bench_test.go).
type KernelStrip struct {
	p             DetectParams
	before, after []*sceneReader
	cb, ca        *chunkBuffers
	res           *Result
	out           Rows
	w, h          int
}

// NewKernelStrip opens p's scenes and loads the first rows of the grid.
func NewKernelStrip(p DetectParams, rows int) (*KernelStrip, error) {
	k := &KernelStrip{p: p, w: p.Grid.Width, h: rows}
	for _, s := range p.Before {
		r, err := openScene(context.Background(), s, p.Grid)
		if err != nil {
			return nil, err
		}
		k.before = append(k.before, r)
	}
	for _, s := range p.After {
		r, err := openScene(context.Background(), s, p.Grid)
		if err != nil {
			return nil, err
		}
		k.after = append(k.after, r)
	}
	k.cb = newChunkBuffers(k.before, k.w, rows)
	k.ca = newChunkBuffers(k.after, k.w, rows)
	k.ca.boundSWIR22 = true
	if err := loadStrip(context.Background(), k.cb, k.before, k.ca, k.after, 0, 0, k.w, rows, p.Mask, p.MaskBuffer); err != nil {
		return nil, err
	}
	n := k.w * rows
	k.res = &Result{Grid: p.Grid, Full: p.Grid, Quicklook: newQuicklook(p.Grid.Width, p.Grid.Height, 400)}
	k.out = Rows{Height: rows, Class: make([]uint8, n), DNDVI: make([]int16, n), ClearBefore: make([]uint8, n), ClearAfter: make([]uint8, n)}
	return k, nil
}

// Pixels is the strip's pixel count.
func (k *KernelStrip) Pixels() int { return k.w * k.h }

// Mask recomputes the clear masks of every scene (SCL test, buffer, validity).
func (k *KernelStrip) Mask() {
	k.cb.masks(k.before, k.w, k.h, k.p.Mask, k.p.MaskBuffer)
	k.ca.masks(k.after, k.w, k.h, k.p.Mask, k.p.MaskBuffer)
}

// Classify composites both periods, computes the indices and applies the rules on one
// goroutine; it returns the change records' pixel indices and classes.
func (k *KernelStrip) Classify() ([]uint32, []uint8) {
	c := k.p.classifyRows(k.res, &k.out, nil, k.cb, k.ca, Window{0, 0, k.w, k.h}, 0, 0, k.h, 0, 0, k.w)
	idx, cls := make([]uint32, len(c.recs)), make([]uint8, len(c.recs))
	for i, r := range c.recs {
		idx[i], cls[i] = r.idx, r.cls
	}
	return idx, cls
}

// ClassifyParallel is Classify on every core.
func (k *KernelStrip) ClassifyParallel() int {
	n := 0
	for _, part := range k.p.classifyParallel(k.res, &k.out, nil, k.cb, k.ca, Window{0, 0, k.w, k.h}, 0, k.h, 0, 0, k.w, nil) {
		n += len(part)
	}
	return n
}

// LabelSparse exposes labelSparse.
func LabelSparse(idx []uint32, cls []uint8, w, h, minPixels int) int {
	_, comps, _, _ := labelSparse(idx, cls, allStrong(len(idx)), w, h, minPixels, false)
	return len(comps)
}

// Close closes the scenes.
func (k *KernelStrip) Close() {
	closeAll(k.before)
	closeAll(k.after)
}

// Upsample20m upsamples a w/2 x h/2 band of 20 m pixels onto a w x h grid of 10 m pixels
// (bilinear, as Detect does for the SWIR bands) n times.
func Upsample20m(w, h, n int) {
	a := &alignment{k: 2, sw: w / 2, sh: h / 2}
	src := make([]uint16, a.sw*a.sh)
	for i := range src {
		src[i] = uint16(1000 + i%977)
	}
	dst := make([]uint16, w*h)
	for range n {
		upsampleBilinear(dst, src, a, 0, 0, w, h, 0, 0, a.sw, a.sh)
	}
}

// NoDataTestsSkipped counts the scenes of the loaded strip whose red and NIR tiles hold no
// nodata, so that the mask skips their no-data test (nodata.go).
func (k *KernelStrip) NoDataTestsSkipped() int {
	n := 0
	for _, c := range []*chunkBuffers{k.cb, k.ca} {
		for _, ok := range c.redNIRData {
			if ok == [2]bool{true, true} {
				n++
			}
		}
	}
	return n
}

// allStrong is a strong flag for n pixels, all set.
func allStrong(n int) []bool {
	s := make([]bool, n)
	for i := range s {
		s[i] = true
	}
	return s
}
