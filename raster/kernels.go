package raster

// Per-row loops of the classifier in C, which gcc compiles to a fraction of the Go
// compiler's instructions (vectorised, or in SSE2 four pixels at a time, no bounds
// checks): the one-scene pick and classifyRows' first pass. The tests hold each against
// the Go code it replaced (TestPickMatchesInsertion, TestScreenMatchesGo).

/*
// cgo puts the environment's CGO_CFLAGS (-g -O2 by default) after a #cgo CFLAGS line, so
// the optimisation level is set here.
#pragma GCC optimize("O3")
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// cw_pick1 is the pick of one scene's row of w blue digital numbers: scene 0, one
// observation, bit 0 where it is clear (not 0), else scene -1, none.
static void cw_pick1(const uint16_t *blue, int8_t *k, uint8_t *n, uint16_t *bits, size_t w) {
	for (size_t x = 0; x < w; x++) {
		uint8_t c = blue[x] != 0;
		k[x] = (int8_t)(c - 1);
		n[x] = c;
		bits[x] = c;
	}
}

// cw_period is one period's scenes for cw_refl and cw_screen: each scene's red and NIR
// row (from the row's first column), reflectance = (DN - off) * scale, the number of
// scenes, and for the after period each scene's bound of SWIR2 (lazyBand.bound: the
// maximum hi[nx[x]] of the 20 m pixels around column x, none where hi is NULL or nx[x]
// is negative).
typedef struct {
	const uint16_t *red[16], *nir[16];
	float off[16], scale[16];
	int n;
	const uint16_t *hi[16];
	const ptrdiff_t *nx[16];
} cw_period;

// cw_nbr_bound reports that the burn test's NBR of after scene s at column x is certainly
// at or above burn_nbr (with ndMargin) at the bound of SWIR2, so at SWIR2 itself:
// ndAbove(a, b, t) falls as b rises (each rounded step, a-b, a+b and t*(a+b), is
// monotone), and its a+b > 0 holds for every b >= refl(0) once a+refl(0) > 0.
static inline int cw_nbr_bound(const cw_period *pa, int s, size_t x, float nirA, float burn_nbr) {
	const uint16_t *hi = pa->hi[s];
	if (hi == NULL)
		return 0;
	ptrdiff_t n = pa->nx[s][x];
	if (n < 0)
		return 0;
	float off = pa->off[s], sc = pa->scale[s];
	if (!(nirA + (0.0f - off) * sc > 0))
		return 0;
	float b = ((float)hi[n] - off) * sc;
	float num = nirA - b, sum = nirA + b;
	return sum > 0 && num >= burn_nbr * sum;
}

// cw_screen_out is what cw_screen reports besides the rows it writes.
typedef struct {
	size_t ncand;         // columns listed in cand
	int64_t observed;     // pixels with enough clear observations in both periods
	int64_t not_observed; // pixels inside the AOI without
} cw_screen_out;

// cw_refl writes the red and NIR reflectance of the scene each of w pixels picks (k; -1:
// none, then 0) as sceneRow.refl computes it. With one scene every pixel is converted
// (a vectorised loop; where k is -1 the value is not used).
static void cw_refl(const cw_period *p, const int8_t *k, float *red, float *nir, size_t w) {
	if (p->n == 1) {
		const uint16_t *r = p->red[0], *n = p->nir[0];
		float off = p->off[0], sc = p->scale[0];
		for (size_t x = 0; x < w; x++) {
			red[x] = ((float)r[x] - off) * sc;
			nir[x] = ((float)n[x] - off) * sc;
		}
		return;
	}
	for (size_t x = 0; x < w; x++) {
		int s = k[x];
		if (s < 0) {
			red[x] = nir[x] = 0;
			continue;
		}
		red[x] = ((float)p->red[s][x] - p->off[s]) * p->scale[s];
		nir[x] = ((float)p->nir[s][x] - p->off[s]) * p->scale[s];
	}
}

// cw_screen_px is cw_screen's test of pixel x (inside: in the AOI). It returns bit 0 set
// when the pixel is observed, bit 1 when it is inside the AOI without enough clear
// observations.
static inline unsigned cw_screen_px(size_t x, const float *redB, const float *nirB, const float *redA,
		const float *nirA, const uint8_t *nb, const uint8_t *na, uint8_t inside, uint8_t min_clear,
		float veg, float only_burn, float burn_red,
		uint8_t *oc, int16_t *od, uint8_t *ob, uint8_t *oa, uint8_t *flag) {
	uint8_t clear = (nb[x] >= min_clear) & (na[x] >= min_clear);
	uint8_t o = inside & clear;
	ob[x] = inside ? nb[x] : 0;
	oa[x] = inside ? na[x] : 0;
	float numB = nirB[x] - redB[x], sumB = nirB[x] + redB[x];
	float numA = nirA[x] - redA[x], sumA = nirA[x] + redA[x];
	// Every quotient is computed and the ones of a zero sum not taken (ndDiff, ratio).
	float rb = numB / sumB, ra = numA / sumA, both = (numA * sumB - numB * sumA) / (sumA * sumB);
	rb = sumB != 0 ? rb : 0;
	ra = sumA != 0 ? ra : 0;
	float d = (sumA == 0) | (sumB == 0) ? ra - rb : both;
	float f = d * 1000.0f; // 1 / DNDVIScale
	float fc = f != f ? 0.0f : f > 32767.0f ? 32767.0f : f < -32767.0f ? -32767.0f : f;
	int16_t q = (int16_t)(int32_t)(fc + copysignf(0.5f, fc)); // rounded half away from 0
	od[x] = o & (f == f) ? q : -32768;
	oc[x] = o ? 0 : 255;
	uint8_t notVeg = (sumB > 0) & (numB < veg * sumB);
	uint8_t aboveA = (sumA > 0) & (numA >= only_burn * sumA);
	uint8_t green = aboveA & (redA[x] >= burn_red);
	flag[x] = (o & !notVeg & !green) * (1 | aboveA << 1);
	return o | (inside & !clear) << 1;
}

#if defined(__SSE2__)
// cw_screen4 is cw_screen_px for the four pixels x..x+3, in SSE2: the same IEEE single
// operations, four at a time. It returns the counts of observed pixels (bits 0-7) and of
// pixels inside the AOI without enough clear observations (bits 8-15).
static inline unsigned cw_screen4(size_t x, const float *redB, const float *nirB, const float *redA,
		const float *nirA, const uint8_t *nb, const uint8_t *na, const uint8_t *in, uint8_t min_clear,
		float veg, float only_burn, float burn_red,
		uint8_t *oc, int16_t *od, uint8_t *ob, uint8_t *oa, uint8_t *flag) {
	const __m128 zero = _mm_setzero_ps(), sign = _mm_set1_ps(-0.0f);
	__m128 rB = _mm_loadu_ps(redB + x), nB = _mm_loadu_ps(nirB + x);
	__m128 rA = _mm_loadu_ps(redA + x), nA = _mm_loadu_ps(nirA + x);
	__m128 numB = _mm_sub_ps(nB, rB), sumB = _mm_add_ps(nB, rB);
	__m128 numA = _mm_sub_ps(nA, rA), sumA = _mm_add_ps(nA, rA);
	__m128 zB = _mm_cmpeq_ps(sumB, zero), zA = _mm_cmpeq_ps(sumA, zero);
	__m128 qB = _mm_andnot_ps(zB, _mm_div_ps(numB, sumB)), qA = _mm_andnot_ps(zA, _mm_div_ps(numA, sumA));
	__m128 both = _mm_div_ps(_mm_sub_ps(_mm_mul_ps(numA, sumB), _mm_mul_ps(numB, sumA)), _mm_mul_ps(sumA, sumB));
	__m128 anyZ = _mm_or_ps(zA, zB);
	__m128 d = _mm_or_ps(_mm_and_ps(anyZ, _mm_sub_ps(qA, qB)), _mm_andnot_ps(anyZ, both));
	__m128 f = _mm_mul_ps(d, _mm_set1_ps(1000.0f)); // 1 / DNDVIScale
	__m128 isnum = _mm_cmpord_ps(f, f);
	__m128 fc = _mm_and_ps(isnum, _mm_max_ps(_mm_min_ps(f, _mm_set1_ps(32767.0f)), _mm_set1_ps(-32767.0f)));
	__m128 half = _mm_or_ps(_mm_and_ps(fc, sign), _mm_set1_ps(0.5f));
	__m128i q = _mm_cvttps_epi32(_mm_add_ps(fc, half));
	// The byte tests, widened to 32-bit lanes.
	__m128i z8 = _mm_setzero_si128();
	uint32_t nb4, na4, in4 = 0x01010101u;
	memcpy(&nb4, nb + x, 4);
	memcpy(&na4, na + x, 4);
	if (in != NULL)
		memcpy(&in4, in + x, 4);
	__m128i vnb = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128((int)nb4), z8), z8);
	__m128i vna = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128((int)na4), z8), z8);
	__m128i vin = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128((int)in4), z8), z8);
	__m128i mc = _mm_set1_epi32(min_clear - 1); // n >= min_clear: n > min_clear-1 (min_clear >= 1)
	__m128i clear = _mm_and_si128(_mm_cmpgt_epi32(vnb, mc), _mm_cmpgt_epi32(vna, mc));
	__m128i inside = _mm_cmpgt_epi32(vin, z8);
	__m128i o = _mm_and_si128(inside, clear);
	__m128i nobs = _mm_andnot_si128(clear, inside);
	__m128 notVeg = _mm_and_ps(_mm_cmpgt_ps(sumB, zero), _mm_cmplt_ps(numB, _mm_mul_ps(_mm_set1_ps(veg), sumB)));
	__m128 aboveA = _mm_and_ps(_mm_cmpgt_ps(sumA, zero), _mm_cmpge_ps(numA, _mm_mul_ps(_mm_set1_ps(only_burn), sumA)));
	__m128 green = _mm_and_ps(aboveA, _mm_cmpge_ps(rA, _mm_set1_ps(burn_red)));
	__m128i fl = _mm_andnot_si128(_mm_castps_si128(_mm_or_ps(notVeg, green)), o);
	// od: q where observed and a number, else -32768.
	__m128i odv = _mm_or_si128(_mm_and_si128(_mm_and_si128(o, _mm_castps_si128(isnum)), q),
		_mm_andnot_si128(_mm_and_si128(o, _mm_castps_si128(isnum)), _mm_set1_epi32(-32768)));
	__m128i od16 = _mm_packs_epi32(odv, odv);
	_mm_storel_epi64((__m128i *)(void *)(od + x), od16); // 4 x int16 = 8 bytes
	// oc 255 where not observed, else 0; ob, oa the counts inside the AOI; flag 1 or 0.
	__m128i oc32 = _mm_andnot_si128(o, _mm_set1_epi32(255));
	__m128i ob32 = _mm_and_si128(inside, vnb), oa32 = _mm_and_si128(inside, vna);
	__m128i fl32 = _mm_and_si128(fl, _mm_or_si128(_mm_set1_epi32(1), _mm_and_si128(_mm_castps_si128(aboveA), _mm_set1_epi32(2))));
	uint32_t v;
	v = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(oc32, oc32), z8)); memcpy(oc + x, &v, 4);
	v = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(ob32, ob32), z8)); memcpy(ob + x, &v, 4);
	v = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(oa32, oa32), z8)); memcpy(oa + x, &v, 4);
	v = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(fl32, fl32), z8)); memcpy(flag + x, &v, 4);
	unsigned mo = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(o)), mn = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(nobs));
	// Counted from a table: without -mpopcnt, __builtin_popcount is a call into libgcc.
	static const uint8_t pop4[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
	return (unsigned)pop4[mo] | (unsigned)pop4[mn] << 8;
}
#endif

// cw_screen is classifyRows' first pass over one row of w pixels, in the float32
// arithmetic of its Go helpers (ndDiff, quantizeDNDVI, below, above, ndAbove) on the
// picked reflectances (cw_refl). It writes the class (255 not observed, else 0), the
// quantized dNDVI (-32768 where not observed) and the clear counts of every pixel, and
// lists in cand the columns the rules must look at: observed, vegetated before (not
// certainly below veg), not certainly still green and bright after (above only_burn with
// red at or above burn_red), and, where the after NDVI is above only_burn (only the burn
// rule is left), not certainly failing the burn's NBR test (cw_nbr_bound). veg,
// only_burn and burn_nbr come with classify.go's margin applied (t - ndMargin,
// t + ndMargin). The pixels are screened four at a time (SSE2; cw_screen_px is the same
// test for one), each flagged 0 (done), 1 (to the rules) or 3 (to the rules unless the
// bound settles it), then the flags are listed.
static void cw_screen(const cw_period *pa, const int8_t *ka, const float *redB, const float *nirB,
		const float *redA, const float *nirA, const uint8_t *nb, const uint8_t *na, const uint8_t *in,
		size_t w, uint8_t min_clear, float veg, float only_burn, float burn_red, float burn_nbr,
		uint8_t *oc, int16_t *od, uint8_t *ob, uint8_t *oa, uint8_t *flag, uint32_t *cand, cw_screen_out *out) {
	uint32_t obs = 0, nobs = 0; // w < 2^32
	size_t x = 0;
#if defined(__SSE2__)
	for (; x + 4 <= w; x += 4) {
		unsigned r = cw_screen4(x, redB, nirB, redA, nirA, nb, na, in, min_clear, veg, only_burn,
			burn_red, oc, od, ob, oa, flag);
		obs += r & 0xff;
		nobs += r >> 8;
	}
#endif
	for (; x < w; x++) {
		unsigned r = cw_screen_px(x, redB, nirB, redA, nirA, nb, na, in == NULL || in[x] != 0, min_clear,
			veg, only_burn, burn_red, oc, od, ob, oa, flag);
		obs += r & 1;
		nobs += r >> 1;
	}
	// The columns flagged, but those where the after NDVI leaves only the burn rule (flag 3:
	// red below burn_red) and its NBR test fails already at the bound of SWIR2 (no
	// interpolation of the 20 m band).
	size_t nc = 0;
	for (x = 0; x < w; x++) {
		uint8_t f = flag[x];
		if (f == 0 || (f == 3 && cw_nbr_bound(pa, ka[x], x, nirA[x], burn_nbr)))
			continue;
		cand[nc++] = (uint32_t)x;
	}
	out->ncand = nc;
	out->observed = obs;
	out->not_observed = nobs;
}
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// pick1Row is pickRow for one scene (blue row v0): the pick is the scene where it is clear.
func pick1Row(v0 []uint16, p *picks) {
	w := len(v0)
	if w == 0 {
		return
	}
	k, n, bits := p.k[:w], p.n[:w], p.bits[:w]
	C.cw_pick1((*C.uint16_t)(unsafe.Pointer(&v0[0])), (*C.int8_t)(unsafe.Pointer(&k[0])),
		(*C.uint8_t)(unsafe.Pointer(&n[0])), (*C.uint16_t)(unsafe.Pointer(&bits[0])), C.size_t(w))
}

// screen runs cw_refl and cw_screen over rows of two periods' scenes. The scenes' red
// and NIR buffers are pinned while it is used (cgo: the period tables handed to C hold
// pointers to them).
type screen struct {
	pin runtime.Pinner
	// The period tables are objects of their own: cgo checks the whole object a pointer
	// argument points into, and these hold only pinned pointers.
	b, a                   *C.cw_period
	redB, nirB, redA, nirA []float32
	flag                   []uint8
	cand                   []uint32
	out                    C.cw_screen_out
}

// newScreen pins the red and NIR buffers of both periods' scenes for rows of w pixels;
// Close unpins them.
func newScreen(cb, ca *chunkBuffers, w int) *screen {
	s := &screen{b: new(C.cw_period), a: new(C.cw_period), flag: make([]uint8, w), cand: make([]uint32, w)}
	f := make([]float32, 4*w)
	s.redB, s.nirB, s.redA, s.nirA = f[:w], f[w:2*w], f[2*w:3*w], f[3*w:]
	for _, c := range []*chunkBuffers{cb, ca} {
		if len(c.dn) > MaxScenesPerPeriod {
			panic("raster: more scenes in a period than MaxScenesPerPeriod")
		}
		for i := range c.dn {
			s.pin.Pin(&c.dn[i][2][0])
			s.pin.Pin(&c.dn[i][3][0])
			if c == ca && i < len(c.swir) {
				if lb := &c.swir[i][1]; len(lb.hi) > 0 && len(lb.nx) > 0 {
					s.pin.Pin(&lb.hi[0])
					s.pin.Pin(&lb.nx[0])
				}
			}
		}
	}
	return s
}

// Close unpins the buffers.
func (s *screen) Close() { s.pin.Unpin() }

// periodRefl writes into red and nir the reflectances of the scenes of rows (from buffer
// column x0) that k picks, through the period table p.
func periodRefl(p *C.cw_period, rows []sceneRow, x0 int, k []int8, red, nir []float32) {
	for i := range rows {
		r := &rows[i]
		p.red[i] = (*C.uint16_t)(unsafe.Pointer(&r.dn[2][x0]))
		p.nir[i] = (*C.uint16_t)(unsafe.Pointer(&r.dn[3][x0]))
		p.off[i], p.scale[i] = C.float(r.off), C.float(r.scale)
		p.hi[i], p.nx[i] = nil, nil
		if l := &r.lazy[1]; len(l.hi) > 0 && len(l.nx) >= x0+len(k) {
			p.hi[i] = (*C.uint16_t)(unsafe.Pointer(&l.hi[0]))
			p.nx[i] = (*C.ptrdiff_t)(unsafe.Pointer(&l.nx[x0]))
		}
	}
	p.n = C.int(len(rows))
	C.cw_refl(p, (*C.int8_t)(unsafe.Pointer(&k[0])), (*C.float)(unsafe.Pointer(&red[0])),
		(*C.float)(unsafe.Pointer(&nir[0])), C.size_t(len(red)))
}

// screenTests are the thresholds of cw_screen: veg, onlyBurn and burnNBR with ndMargin
// applied, in float32 as below and above compute them.
type screenTests struct {
	minClear                     uint8
	veg, onlyBurn, burn, burnNBR float32
}

// row screens one row of the periods' rows (rb, ra, from buffer column x0) picked by pb and
// pa, and returns the columns the rules must look at (valid until the next call) and the
// observed and not observed counts. oc, od, ob, oa and inAOI (nil: all inside) are the
// row's outputs and AOI mask, len(oc) long.
func (s *screen) row(rb, ra []sceneRow, x0 int, pb, pa *picks, inAOI []bool, t *screenTests,
	oc []uint8, od []int16, ob, oa []uint8) (cand []uint32, observed, notObserved int) {
	w := len(oc)
	if w == 0 {
		return nil, 0, 0
	}
	_, _, _, _ = od[w-1], ob[w-1], oa[w-1], s.flag[w-1]
	_, _, _, _ = pb.k[w-1], pb.n[w-1], pa.k[w-1], pa.n[w-1]
	var in *C.uint8_t
	if inAOI != nil {
		_ = inAOI[w-1]
		in = (*C.uint8_t)(unsafe.Pointer(&inAOI[0]))
	}
	periodRefl(s.b, rb, x0, pb.k, s.redB[:w], s.nirB[:w])
	periodRefl(s.a, ra, x0, pa.k, s.redA[:w], s.nirA[:w])
	C.cw_screen(s.a, (*C.int8_t)(unsafe.Pointer(&pa.k[0])),
		(*C.float)(unsafe.Pointer(&s.redB[0])), (*C.float)(unsafe.Pointer(&s.nirB[0])),
		(*C.float)(unsafe.Pointer(&s.redA[0])), (*C.float)(unsafe.Pointer(&s.nirA[0])),
		(*C.uint8_t)(unsafe.Pointer(&pb.n[0])), (*C.uint8_t)(unsafe.Pointer(&pa.n[0])), in, C.size_t(w),
		C.uint8_t(t.minClear), C.float(t.veg), C.float(t.onlyBurn), C.float(t.burn), C.float(t.burnNBR),
		(*C.uint8_t)(unsafe.Pointer(&oc[0])), (*C.int16_t)(unsafe.Pointer(&od[0])),
		(*C.uint8_t)(unsafe.Pointer(&ob[0])), (*C.uint8_t)(unsafe.Pointer(&oa[0])),
		(*C.uint8_t)(unsafe.Pointer(&s.flag[0])), (*C.uint32_t)(unsafe.Pointer(&s.cand[0])), &s.out)
	return s.cand[:s.out.ncand], int(s.out.observed), int(s.out.not_observed)
}
