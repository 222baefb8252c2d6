package raster

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/raster/cog"
)

// alignment maps the analysis grid onto a source band whose pixels are k x k grid pixels
// with edges on grid pixel edges: grid pixel (x, y) lies in source pixel
// (floor((x-ox)/k), floor((y-oy)/k)), where (ox, oy) is the source's top-left corner in grid
// pixels.
type alignment struct {
	k, ox, oy int
	sw, sh    int // source size
	u16       []uint16
	u8        []uint8
}

// align returns the alignment of src on g, or nil when src needs warping.
func align(src *godal.Dataset, g Grid) *alignment {
	gt, err := src.GeoTransform()
	if err != nil || gt[2] != 0 || gt[4] != 0 || gt[1] <= 0 || gt[5] != -gt[1] {
		return nil
	}
	sr := src.SpatialRef()
	if sr == nil {
		return nil
	}
	epsg := cogEPSG(sr)
	sr.Close()
	if epsg != g.EPSG {
		return nil
	}
	whole := func(v float64) (int, bool) {
		r := math.Round(v)
		return int(r), math.Abs(v-r) < 1e-6
	}
	k, ok1 := whole(gt[1] / g.Res)
	ox, ok2 := whole((gt[0] - g.X0) / g.Res)
	oy, ok3 := whole((g.Y0 - gt[3]) / g.Res)
	if !ok1 || !ok2 || !ok3 || k < 1 {
		return nil
	}
	st := src.Structure()
	return &alignment{k: k, ox: ox, oy: oy, sw: st.SizeX, sh: st.SizeY}
}

func floorDiv(a, k int) int {
	q := a / k
	if a%k != 0 && (a < 0) != (k < 0) {
		q--
	}
	return q
}

// covers reports whether every grid pixel of the window lies in a source pixel, so that a
// read writes all of them.
func (a *alignment) covers(col, row, w, h int) bool {
	return floorDiv(col-a.ox, a.k) >= 0 && floorDiv(row-a.oy, a.k) >= 0 &&
		floorDiv(col+w-1-a.ox, a.k) < a.sw && floorDiv(row+h-1-a.oy, a.k) < a.sh
}

// srcWindow returns the source pixels [sx0,sx1] x [sy0,sy1] (inclusive) the grid window at
// (col,row) of w x h needs: for bilinear one more pixel on each side. It is empty (sx1 < sx0
// or sy1 < sy0) when the window misses the source.
func (a *alignment) srcWindow(col, row, w, h int, nearest bool) (sx0, sy0, sx1, sy1 int) {
	pad := 0
	if a.k > 1 && !nearest {
		pad = 1
	}
	sx0 = max(0, floorDiv(col-a.ox, a.k)-pad)
	sy0 = max(0, floorDiv(row-a.oy, a.k)-pad)
	sx1 = min(a.sw-1, floorDiv(col+w-1-a.ox, a.k)+pad)
	sy1 = min(a.sh-1, floorDiv(row+h-1-a.oy, a.k)+pad)
	return sx0, sy0, sx1, sy1
}

// read fills dst ([]uint16 or []uint8, w x h) with the grid window at (col,row): a copy when
// the pixel sizes are equal, else an upsampling by k, nearest neighbour when nearest is
// set (classes), bilinear otherwise (reflectance; a kernel touching nodata, 0, falls back to
// the nearest pixel). Grid pixels outside the source are 0 (nodata).
func (a *alignment) read(band godal.Band, col, row, w, h int, dst any, nearest bool) error {
	sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, nearest)
	switch d := dst.(type) {
	case []uint16:
		clear(d[:w*h])
		if sx1 < sx0 || sy1 < sy0 {
			return nil
		}
		sw, sh := sx1-sx0+1, sy1-sy0+1
		src := grow(&a.u16, sw*sh)
		if err := band.Read(sx0, sy0, src, sw, sh); err != nil {
			return err
		}
		if nearest || a.k == 1 {
			upsampleNearest(d, src, a, col, row, w, h, sx0, sy0, sw, sh)
		} else {
			upsampleBilinear(d, src, a, col, row, w, h, sx0, sy0, sw, sh)
		}
	case []uint8:
		clear(d[:w*h])
		if sx1 < sx0 || sy1 < sy0 {
			return nil
		}
		sw, sh := sx1-sx0+1, sy1-sy0+1
		src := grow(&a.u8, sw*sh)
		if err := band.Read(sx0, sy0, src, sw, sh); err != nil {
			return err
		}
		upsampleNearest(d, src, a, col, row, w, h, sx0, sy0, sw, sh)
	default:
		return fmt.Errorf("aligned read: unsupported buffer %T", dst)
	}
	return nil
}

// readTiles is read with the source pixels taken from the decoded tiles of c (the source
// image read directly, cog.Image) instead of GDAL's RasterIO; dst must have the image's
// sample type (c.img.fits). When the pixel sizes are equal rows are copied straight from
// the tiles into dst; otherwise the source window is assembled from the tiles and
// upsampled.
func (a *alignment) readTiles(c *tileCache, col, row, w, h int, dst any, nearest bool) error {
	sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, nearest)
	switch d := dst.(type) {
	case []uint16:
		src, err := tiledSource(a, c, d, &a.u16, col, row, w, h, sx0, sy0, sx1, sy1)
		if err != nil || src == nil {
			return err
		}
		sw, sh := sx1-sx0+1, sy1-sy0+1
		if nearest {
			upsampleNearest(d, src, a, col, row, w, h, sx0, sy0, sw, sh)
		} else {
			upsampleBilinear(d, src, a, col, row, w, h, sx0, sy0, sw, sh)
		}
	case []uint8:
		src, err := tiledSource(a, c, d, &a.u8, col, row, w, h, sx0, sy0, sx1, sy1)
		if err != nil || src == nil {
			return err
		}
		upsampleNearest(d, src, a, col, row, w, h, sx0, sy0, sx1-sx0+1, sy1-sy0+1)
	default:
		return fmt.Errorf("aligned read: unsupported buffer %T", dst)
	}
	return nil
}

// lazyBand is a band kept at its source resolution (k == 2) over a grid window, with the
// taps of the window's columns and rows: the at method of its rows (row) gives the value
// upsampleBilinear would have written, for the pixels that need it only.
type lazyBand struct {
	src    []uint16
	sw, sh int
	tx, ty []tap
	nx, ny []int // nearest source column / row of each window column / row, -1 outside
	// hi, when set by bound, is the maximum of each source pixel's 3x3 neighbourhood
	// (clipped at the window's edges), row by row as src; tmp its scratch.
	hi, tmp []uint16
	txKey   [4]int // the columns tx and nx are of: col, w, sx0, sw (the same on every strip)
}

// readSource loads the source window under the grid window at (col,row) of w x h from the
// tiles of c into lb.
func (a *alignment) readSource(c *tileCache, col, row, w, h int, lb *lazyBand) error {
	sx0, sy0, sx1, sy1 := a.srcWindow(col, row, w, h, false)
	lb.sw = max(0, sx1-sx0+1)
	sh := max(0, sy1-sy0+1)
	lb.sh = sh
	lb.src = grow(&lb.src, lb.sw*sh)
	lb.hi = lb.hi[:0]
	if key := [4]int{col, w, sx0, lb.sw}; lb.tx == nil || lb.txKey != key {
		lb.tx, lb.txKey = axisTaps(&lb.tx, a, col, w, sx0, lb.sw, false), key
		nearest(lb.tx, &lb.nx)
	}
	lb.ty = axisTaps(&lb.ty, a, row, h, sy0, sh, true)
	nearest(lb.ty, &lb.ny)
	if lb.sw == 0 || sh == 0 {
		return nil
	}
	if err := c.load(sx0, sy0, sx1, sy1); err != nil {
		return err
	}
	defer c.done(sy0, sy1)
	cog.CopyTiles(lb.src, lb.sw, &c.img.Layout, c.tile, sx0, sy0, lb.sw, sh)
	return nil
}

// bound sets lb.hi to the 3x3 maximum filter of the source window (clipped at its
// edges): an upper bound of the value at gives anywhere in the source pixel's grid
// pixels, whose taps are the nearest source pixel and a neighbour of it (bilinear weights
// are not negative and sum to 1; the nodata fallback takes one of the taps).
func (lb *lazyBand) bound() {
	sw, sh := lb.sw, lb.sh
	lb.hi, lb.tmp = grow(&lb.hi, sw*sh), grow(&lb.tmp, sw*sh)
	if sw == 0 || sh == 0 {
		return
	}
	for y := range sh { // along the rows into tmp
		s, d := lb.src[y*sw:(y+1)*sw], lb.tmp[y*sw:(y+1)*sw]
		d[0] = s[0]
		for x := 1; x < sw; x++ {
			d[x] = max(s[x-1], s[x])
			d[x-1] = max(d[x-1], s[x])
		}
	}
	for y := range sh { // then down the columns into hi
		d := lb.hi[y*sw : (y+1)*sw]
		copy(d, lb.tmp[y*sw:(y+1)*sw])
		for _, ny := range [2]int{y - 1, y + 1} {
			if ny < 0 || ny >= sh {
				continue
			}
			for x, v := range lb.tmp[ny*sw : (ny+1)*sw] {
				d[x] = max(d[x], v)
			}
		}
	}
}

// nearest sets n to the nearest source pixel of each tap, -1 outside the source.
func nearest(t []tap, n *[]int) {
	*n = grow(n, len(t))
	for i, v := range t {
		switch {
		case !v.inside:
			(*n)[i] = -1
		case v.f >= 0.5:
			(*n)[i] = v.i1
		default:
			(*n)[i] = v.i0
		}
	}
}

// lazyRow is one window row of a lazyBand: its two source rows and their weights, and
// the bound's row of the nearest source row when the band has one.
type lazyRow struct {
	r0, r1 []uint16
	vy     tap
	tx     []tap
	hi     []uint16
	nx     []int
}

// row returns window row y of lb.
func (lb *lazyBand) row(y int) lazyRow {
	vy := lb.ty[y]
	if !vy.inside {
		return lazyRow{vy: vy}
	}
	l := lazyRow{r0: lb.src[vy.i0*lb.sw : (vy.i0+1)*lb.sw], r1: lb.src[vy.i1*lb.sw : (vy.i1+1)*lb.sw], vy: vy, tx: lb.tx}
	if ny := lb.ny[y]; len(lb.hi) > 0 && ny >= 0 {
		l.hi, l.nx = lb.hi[ny*lb.sw:(ny+1)*lb.sw], lb.nx
	}
	return l
}

// at is the bilinear value at window column x of the row: upsampleBilinear2's formula for
// one pixel (0 outside the source).
func (l *lazyRow) at(x int) uint16 {
	if !l.vy.inside {
		return 0
	}
	vx := l.tx[x]
	if !vx.inside {
		return 0
	}
	a00, a01, a10, a11 := uint32(l.r0[vx.i0]), uint32(l.r0[vx.i1]), uint32(l.r1[vx.i0]), uint32(l.r1[vx.i1])
	if a00 == 0 || a01 == 0 || a10 == 0 || a11 == 0 {
		return nearestTap(l.r0, l.r1, vx, l.vy)
	}
	w1 := l.vy.q
	w0 := 4 - w1
	c0, c1 := w0*a00+w1*a10, w0*a01+w1*a11
	return uint16(((4-vx.q)*c0 + vx.q*c1 + 8) >> 4)
}

// clearNoData sets to 0 the pixels of dst (the w-wide window) where the band has no data
// (the interpolation is nodata exactly where the source pixel containing the grid pixel
// is), without interpolating. A source row without a 0 (most: nodata comes only at the
// scene's edges) clears nothing where every window column has a source pixel, and its
// window rows are skipped after one word-wise scan of it.
func (lb *lazyBand) clearNoData(dst []uint16, w int) {
	nx := lb.nx[:w]
	inside := !slices.ContainsFunc(nx, func(sx int) bool { return sx < 0 })
	lastSy, lastZero := -1, true
	for y, sy := range lb.ny {
		row := dst[y*w : (y+1)*w]
		if sy < 0 {
			clear(row)
			continue
		}
		src := lb.src[sy*lb.sw : (sy+1)*lb.sw]
		if inside {
			if sy != lastSy {
				lastSy, lastZero = sy, len(src) > 0 && hasZero16(unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), 2*len(src)))
			}
			if !lastZero {
				continue
			}
		}
		for x, sx := range nx {
			if sx < 0 || src[sx] == 0 {
				row[x] = 0
			}
		}
	}
}

// tiledSource clears the grid window d, loads the tiles of the source window [sx0,sx1] x
// [sy0,sy1] into c and, when k == 1, copies the source pixels into d and returns nil;
// otherwise it returns the source window (in scratch) for upsampling. It returns nil when
// the window misses the source.
func tiledSource[T uint8 | uint16](a *alignment, c *tileCache, d []T, scratch *[]T, col, row, w, h, sx0, sy0, sx1, sy1 int) ([]T, error) {
	if !a.covers(col, row, w, h) {
		clear(d[:w*h]) // grid pixels outside the source stay nodata
	}
	if sx1 < sx0 || sy1 < sy0 {
		return nil, nil
	}
	if err := c.load(sx0, sy0, sx1, sy1); err != nil {
		return nil, err
	}
	defer c.done(sy0, sy1)
	sw, sh := sx1-sx0+1, sy1-sy0+1
	if a.k == 1 {
		// grid pixel (x, y) is source pixel (x-ox, y-oy)
		cog.CopyTiles(d[(sy0+a.oy-row)*w+sx0+a.ox-col:], w, &c.img.Layout, c.tile, sx0, sy0, sw, sh)
		return nil, nil
	}
	src := grow(scratch, sw*sh)
	cog.CopyTiles(src, sw, &c.img.Layout, c.tile, sx0, sy0, sw, sh)
	return src, nil
}

// upsampleNearest copies each grid pixel from the source pixel that contains it.
func upsampleNearest[T uint8 | uint16](dst, src []T, a *alignment, col, row, w, h, sx0, sy0, sw, sh int) {
	var xs, ys []int
	nearestSource(&xs, col, a.ox, a.k, w, sx0, sw)
	nearestSource(&ys, row, a.oy, a.k, h, sy0, sh)
	for y, sy := range ys {
		if sy < 0 {
			continue
		}
		srow := src[sy*sw : (sy+1)*sw]
		drow := dst[y*w : (y+1)*w]
		for x, sx := range xs {
			if sx >= 0 {
				drow[x] = srow[sx]
			}
		}
	}
}

// nearestSource sets *idx to the n grid columns (or rows) from start: for each, the index
// in the source window from s0 of sn pixels of the source pixel containing it, or -1
// outside (origin: the source's first pixel in grid pixels; k grid pixels per source pixel).
func nearestSource(idx *[]int, start, origin, k, n, s0, sn int) {
	*idx = grow(idx, n)
	for i := range *idx {
		s := floorDiv(start+i-origin, k) - s0
		if s < 0 || s >= sn {
			s = -1
		}
		(*idx)[i] = s
	}
}

// upsampleBilinear interpolates each grid pixel centre between the four nearest source
// pixel centres (the same kernel as GDAL's bilinear resampling), clamping at the source
// edges; a kernel touching nodata (0) takes the nearest source pixel instead.
func upsampleBilinear(dst, src []uint16, a *alignment, col, row, w, h, sx0, sy0, sw, sh int) {
	tx, ty := bilinearTaps(a, col, row, w, h, sx0, sy0, sw, sh)
	if a.k == 2 {
		upsampleBilinear2(dst, src, tx, ty, w, sw)
		return
	}
	upsampleBilinearFloat(dst, src, tx, ty, w, sw)
}

// bilinearTaps returns the taps of the grid window's columns and rows in the source
// window at (sx0, sy0) of sw x sh pixels.
func bilinearTaps(a *alignment, col, row, w, h, sx0, sy0, sw, sh int) ([]tap, []tap) {
	return axisTaps(nil, a, col, w, sx0, sw, false), axisTaps(nil, a, row, h, sy0, sh, true)
}

// axisTaps returns, in dst's memory when it is large enough, the taps of n grid columns
// (or, with rows, rows) from start in the source window's columns (rows) from s0, sn of
// them.
func axisTaps(dst *[]tap, a *alignment, start, n, s0, sn int, rows bool) []tap {
	off, full := a.ox, a.sw
	if rows {
		off, full = a.oy, a.sh
	}
	var t []tap
	if dst != nil {
		t = grow(dst, n)
	} else {
		t = make([]tap, n)
	}
	k := float64(a.k)
	for i := range t {
		g := start + i - off // grid pixel relative to the source origin
		u := (float64(g)+0.5)/k - 0.5
		i0 := int(math.Floor(u))
		f := float32(u - float64(i0))
		src := floorDiv(g, a.k) // the source pixel containing the grid pixel
		c0, c1 := min(max(i0, 0), full-1)-s0, min(max(i0+1, 0), full-1)-s0
		t[i] = tap{c0, c1, f, uint32(f * 4), src >= 0 && src < full && c0 >= 0 && c1 < sn}
	}
	return t
}

// upsampleBilinearFloat is upsampleBilinear for any k.
func upsampleBilinearFloat(dst, src []uint16, tx, ty []tap, w, sw int) {
	for y, vy := range ty {
		if !vy.inside {
			continue
		}
		r0 := src[vy.i0*sw : (vy.i0+1)*sw]
		r1 := src[vy.i1*sw : (vy.i1+1)*sw]
		drow := dst[y*w : (y+1)*w]
		for x, vx := range tx {
			if !vx.inside {
				continue
			}
			a00, a01, a10, a11 := r0[vx.i0], r0[vx.i1], r1[vx.i0], r1[vx.i1]
			if a00 == 0 || a01 == 0 || a10 == 0 || a11 == 0 {
				drow[x] = nearestTap(r0, r1, vx, vy)
				continue
			}
			top := float32(a00) + vx.f*(float32(a01)-float32(a00))
			bot := float32(a10) + vx.f*(float32(a11)-float32(a10))
			drow[x] = uint16(top + vy.f*(bot-top) + 0.5)
		}
	}
}

// tap is where a grid pixel falls between source pixel centres along one axis: source
// pixels i0 and i1 (relative to the source window) and the weight f of i1.
type tap struct {
	i0, i1 int
	f      float32
	q      uint32 // f in quarters, exact when k == 2 (f is 0.25 or 0.75)
	inside bool   // the grid pixel lies in a source pixel of the window
}

// nearestTap is the source pixel nearest to the tap (the fallback when the kernel touches
// nodata).
func nearestTap(r0, r1 []uint16, vx, vy tap) uint16 {
	nx, ny := vx.i0, r0
	if vx.f >= 0.5 {
		nx = vx.i1
	}
	if vy.f >= 0.5 {
		ny = r1
	}
	return ny[nx]
}

// upsampleBilinear2 is upsampleBilinear for k == 2, in integers: the weights are quarters,
// so blending two rows then two columns in sixteenths and rounding half up gives exactly
// the float formula's value. Away from the source edges the columns come in regular pairs
// (weights 1:3 then 3:1 around each source column), done without the tap table.
func upsampleBilinear2(dst, src []uint16, tx, ty []tap, w, sw int) {
	const mark = math.MaxUint32 // a kernel column touching nodata
	// [xs, xe): pairs of columns x, x+1 with taps (i, i+1) weighted 1:3 and (i+1, i+2) 3:1.
	xs := 0
	for xs < w && !(tx[xs].inside && tx[xs].q == 3 && tx[xs].i1 == tx[xs].i0+1) {
		xs++
	}
	xe := xs
	for xe+1 < w && tx[xe].inside && tx[xe+1].inside && tx[xe].q == 3 && tx[xe+1].q == 1 &&
		tx[xe].i1 == tx[xe].i0+1 && tx[xe+1].i0 == tx[xe].i1 && tx[xe+1].i1 == tx[xe].i1+1 &&
		(xe == xs || tx[xe].i0 == tx[xe-1].i0) {
		xe += 2
	}
	col := make([]uint32, sw)
	for y, vy := range ty {
		if !vy.inside {
			continue
		}
		r0 := src[vy.i0*sw : (vy.i0+1)*sw]
		r1 := src[vy.i1*sw : (vy.i1+1)*sw]
		w1 := vy.q
		w0 := 4 - w1
		for i := range col {
			a, b := r0[i], r1[i]
			if a == 0 || b == 0 {
				col[i] = mark
				continue
			}
			col[i] = w0*uint32(a) + w1*uint32(b)
		}
		drow := dst[y*w : (y+1)*w]
		one := func(x int) {
			vx := tx[x]
			if !vx.inside {
				return
			}
			c0, c1 := col[vx.i0], col[vx.i1]
			if c0 == mark || c1 == mark {
				drow[x] = nearestTap(r0, r1, vx, vy)
				return
			}
			drow[x] = uint16(((4-vx.q)*c0 + vx.q*c1 + 8) >> 4)
		}
		for x := 0; x < xs; x++ {
			one(x)
		}
		if xe > xs {
			i := tx[xs].i0
			pairs := drow[xs:xe]
			cs := col[i : i+(xe-xs)/2+2]
			for p := 0; p+1 < len(pairs); p += 2 {
				a, b, c := cs[p/2], cs[p/2+1], cs[p/2+2]
				if a == mark || b == mark || c == mark {
					one(xs + p)
					one(xs + p + 1)
					continue
				}
				pairs[p] = uint16((a + 3*b + 8) >> 4)
				pairs[p+1] = uint16((3*b + c + 8) >> 4)
			}
		}
		for x := xe; x < w; x++ {
			one(x)
		}
	}
}
