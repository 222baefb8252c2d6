package cog

// The pixel loops of the tile reader and the overview builder that gcc compiles to 2-4x
// the speed of the Go compiler's code (vectorised, no bounds checks): the same values as
// the Go loops they replace, which the tests keep as references.

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

// cw_unpredict16 undoes TIFF's horizontal predictor (TIFF 6.0 section 14) on n rows of w
// 16-bit samples: each row becomes its running sum, modulo 2^16. With SSE2 a block of
// eight samples is summed in three shifted adds and the carry of the previous block
// broadcast into it.
static void cw_unpredict16(uint16_t *p, size_t w, size_t n) {
	for (size_t r = 0; r < n; r++) {
		uint16_t *row = p + r * w;
		size_t i = 0;
#if defined(__SSE2__)
		__m128i carry = _mm_setzero_si128();
		for (; i + 8 <= w; i += 8) {
			__m128i x = _mm_loadu_si128((const __m128i *)(row + i));
			x = _mm_add_epi16(x, _mm_slli_si128(x, 2));
			x = _mm_add_epi16(x, _mm_slli_si128(x, 4));
			x = _mm_add_epi16(x, _mm_slli_si128(x, 8));
			x = _mm_add_epi16(x, carry);
			_mm_storeu_si128((__m128i *)(row + i), x);
			carry = _mm_shuffle_epi32(_mm_shufflehi_epi16(x, 0xff), 0xff);
		}
#endif
		uint16_t acc = i > 0 ? row[i - 1] : 0;
		for (; i < w; i++) {
			acc += row[i];
			row[i] = acc;
		}
	}
}

// cw_down_rgb_px is cw_down_rgb's general case for output pixels x0..x1-1 of one row:
// each sample the rounded mean of its window's samples that are not nd, nd where none is.
static void cw_down_rgb_px(uint8_t *d, const uint8_t *a, const uint8_t *b, size_t x0, size_t x1, uint8_t nd) {
	for (size_t x = x0; x < x1; x++) {
		for (int k = 0; k < 3; k++) {
			unsigned p = a[6 * x + k], q = a[6 * x + 3 + k], u = b[6 * x + k], v = b[6 * x + 3 + k];
			unsigned s = 0, c = 0;
			if (p != nd) { s += p; c++; }
			if (q != nd) { s += q; c++; }
			if (u != nd) { s += u; c++; }
			if (v != nd) { s += v; c++; }
			d[3 * x + k] = c ? (uint8_t)((2 * s + c) / (2 * c)) : nd;
		}
	}
}

#if defined(__x86_64__) || defined(__i386__)
#include <tmmintrin.h>
// cw_rgb_pick[k] gathers, for output bytes 16q..16q+15 of a block (q = cw_rgb_from[k][0]),
// the samples of the 2x2 sums packed in bytes 16c..16c+15 (c = cw_rgb_from[k][1]):
// output byte o is sum byte 2o - o % 3 (sample o % 3 of the left pixel of pair o / 3),
// 0x80 where it comes from another c.
static const uint8_t cw_rgb_from[8][2] = {{0, 0}, {0, 1}, {1, 1}, {1, 2}, {1, 3}, {2, 3}, {2, 4}, {2, 5}};
static const uint8_t cw_rgb_pick[8][16] __attribute__((aligned(16))) = {
	{0x00, 0x01, 0x02, 0x06, 0x07, 0x08, 0x0c, 0x0d, 0x0e, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0x03, 0x04, 0x08, 0x09, 0x0a, 0x0e},
	{0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0x80, 0x00, 0x04, 0x05, 0x06, 0x0a, 0x0b, 0x0c, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x02, 0x06, 0x07, 0x08, 0x0c, 0x0d},
	{0x0e, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0x80, 0x02, 0x03, 0x04, 0x08, 0x09, 0x0a, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
	{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x04, 0x05, 0x06, 0x0a, 0x0b, 0x0c},
};

// cw_down_rgb16_ssse3 is cw_down_rgb's plain mean of 16 output pixels (48 bytes at d)
// from 32 source pixels of rows a and b (96 bytes each): the rows summed in 16-bit lanes,
// each lane added to the one 3 lanes on (the same sample of the next pixel), rounded and
// packed, and every output byte picked from its pair with SSSE3's byte shuffle.
__attribute__((target("ssse3"))) static void cw_down_rgb16_ssse3(uint8_t *d, const uint8_t *a, const uint8_t *b) {
	const __m128i zero = _mm_setzero_si128(), two = _mm_set1_epi16(2);
	__m128i v[13];
	for (int c = 0; c < 6; c++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(a + 16 * c)), y = _mm_loadu_si128((const __m128i *)(b + 16 * c));
		v[2 * c] = _mm_add_epi16(_mm_unpacklo_epi8(x, zero), _mm_unpacklo_epi8(y, zero));
		v[2 * c + 1] = _mm_add_epi16(_mm_unpackhi_epi8(x, zero), _mm_unpackhi_epi8(y, zero));
	}
	v[12] = zero;
	__m128i p[6];
	for (int c = 0; c < 6; c++) {
		__m128i s0 = _mm_add_epi16(v[2 * c], _mm_or_si128(_mm_srli_si128(v[2 * c], 6), _mm_slli_si128(v[2 * c + 1], 10)));
		__m128i s1 = _mm_add_epi16(v[2 * c + 1], _mm_or_si128(_mm_srli_si128(v[2 * c + 1], 6), _mm_slli_si128(v[2 * c + 2], 10)));
		p[c] = _mm_packus_epi16(_mm_srli_epi16(_mm_add_epi16(s0, two), 2), _mm_srli_epi16(_mm_add_epi16(s1, two), 2));
	}
	__m128i o[3] = {zero, zero, zero};
	for (int k = 0; k < 8; k++)
		o[cw_rgb_from[k][0]] = _mm_or_si128(o[cw_rgb_from[k][0]],
			_mm_shuffle_epi8(p[cw_rgb_from[k][1]], _mm_load_si128((const __m128i *)cw_rgb_pick[k])));
	for (int q = 0; q < 3; q++) _mm_storeu_si128((__m128i *)(d + 16 * q), o[q]);
}
#endif

// cw_down_rgb averages 2x2 windows of interleaved RGB rows into rows of ow pixels: output
// row y (y0 <= y < y1) from source rows 2y and 2y+1 of w pixels. Blocks of 16 output
// pixels whose 2 x 96 source bytes hold no nd (most: nodata comes in clouds and outside
// the AOI) take the plain mean, the others cw_down_rgb_px.
static void cw_down_rgb(uint8_t *dst, const uint8_t *src, size_t w, size_t ow, size_t y0, size_t y1, uint8_t nd) {
#if defined(__x86_64__) || defined(__i386__)
	const int ssse3 = __builtin_cpu_supports("ssse3");
#endif
	for (size_t y = y0; y < y1; y++) {
		uint8_t *d = dst + 3 * y * ow;
		const uint8_t *a = src + 3 * 2 * y * w, *b = a + 3 * w;
		size_t x = 0;
		for (; x + 16 <= ow; x += 16) {
			unsigned any = 0;
			for (int i = 0; i < 96; i++)
				any |= (a[6 * x + i] == nd) | (b[6 * x + i] == nd);
			if (any) {
				cw_down_rgb_px(d, a, b, x, x + 16, nd);
				continue;
			}
#if defined(__x86_64__) || defined(__i386__)
			if (ssse3) {
				cw_down_rgb16_ssse3(d + 3 * x, a + 6 * x, b + 6 * x);
				continue;
			}
#endif
			for (int j = 0; j < 48; j++) {
				size_t i = 6 * x + 2 * j - j % 3; // sample j%3 of pixel 2(x+j/3)
				d[3 * x + j] = (uint8_t)((a[i] + a[i + 3] + b[i] + b[i + 3] + 2) >> 2);
			}
		}
		cw_down_rgb_px(d, a, b, x, ow, nd);
	}
}

// cw_down_i16 is cw_down_rgb for one Int16 sample a pixel; means are rounded half away
// from zero (C's round, Go's math.Round).
static void cw_down_i16(int16_t *dst, const int16_t *src, size_t w, size_t ow, size_t y0, size_t y1, int16_t nd) {
	for (size_t y = y0; y < y1; y++) {
		int16_t *d = dst + y * ow;
		const int16_t *a = src + 2 * y * w, *b = a + w;
		for (size_t x = 0; x < ow; x++) {
			int32_t p = a[2 * x], q = a[2 * x + 1], u = b[2 * x], v = b[2 * x + 1];
			if (p != nd && q != nd && u != nd && v != nd) {
				int32_t s = p + q + u + v;
				d[x] = (int16_t)(s >= 0 ? (s + 2) / 4 : -((2 - s) / 4));
				continue;
			}
			double s = 0;
			int c = 0;
			if (p != nd) { s += p; c++; }
			if (q != nd) { s += q; c++; }
			if (u != nd) { s += u; c++; }
			if (v != nd) { s += v; c++; }
			d[x] = c ? (int16_t)round(s / c) : nd;
		}
	}
}
// cw_mask_rgb sets the masks of n rows of np interleaved RGB pixels (rows stride bytes
// apart, masks mstride bytes apart, each cleared first): one bit a pixel, the most
// significant first, 1 where not all three samples are nd; valid[r] gets row r's count
// of 1 bits (TIFF 6.0 section 8's FillOrder 1; 1 = valid, as GDAL's masks). With SSE2,
// 16 pixels (48 bytes) with no sample equal to nd, most of them, are two 0xFF bytes after
// three compares, 16 pixels all nd two 0 bytes; the others are looked at pixel by pixel.
static void cw_mask_rgb(uint8_t *m, size_t mstride, const uint8_t *src, size_t stride, size_t np, size_t n,
		uint8_t nd, int64_t *valid) {
	for (size_t r = 0; r < n; r++) {
		uint8_t *mr = m + r * mstride;
		const uint8_t *row = src + r * stride;
		memset(mr, 0, mstride);
		size_t i = 0, v = 0;
#if defined(__SSE2__)
		const __m128i vnd = _mm_set1_epi8((char)nd);
		for (; i + 16 <= np; i += 16) {
			const uint8_t *p = row + 3 * i;
			__m128i a = _mm_loadu_si128((const __m128i *)p);
			__m128i b = _mm_loadu_si128((const __m128i *)(p + 16));
			__m128i c = _mm_loadu_si128((const __m128i *)(p + 32));
			__m128i ea = _mm_cmpeq_epi8(a, vnd), eb = _mm_cmpeq_epi8(b, vnd), ec = _mm_cmpeq_epi8(c, vnd);
			int any = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(ea, eb), ec));
			if (any == 0) {
				mr[i >> 3] = 0xFF;
				mr[(i >> 3) + 1] = 0xFF;
				v += 16;
				continue;
			}
			if (_mm_movemask_epi8(_mm_and_si128(_mm_and_si128(ea, eb), ec)) == 0xFFFF) {
				continue; // all 16 pixels nodata: their bits stay 0
			}
			for (size_t j = i; j < i + 16; j++) {
				if (p[3 * (j - i)] != nd || p[3 * (j - i) + 1] != nd || p[3 * (j - i) + 2] != nd) {
					mr[j >> 3] |= (uint8_t)(0x80 >> (j & 7));
					v++;
				}
			}
		}
#endif
		for (; i < np; i++) {
			const uint8_t *p = row + 3 * i;
			if (p[0] != nd || p[1] != nd || p[2] != nd) {
				mr[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
				v++;
			}
		}
		valid[r] = (int64_t)v;
	}
}
*/
import "C"

import "unsafe"

// unpredict16 undoes the horizontal predictor on rows of w samples (len(p) a multiple of w).
func unpredict16(p []uint16, w int) {
	if len(p) < w || w <= 0 {
		return
	}
	C.cw_unpredict16((*C.uint16_t)(unsafe.Pointer(&p[0])), C.size_t(w), C.size_t(len(p)/w))
}

// downRGB computes output rows y0..y1-1 of an RGB AVERAGE overview (ow pixels wide) from
// src (w pixels wide): rows whose windows hold two source rows, which the caller checks,
// and dst and src large enough for them.
func downRGB(dst, src []uint8, w, ow, y0, y1 int, nd uint8) {
	if y1 <= y0 || ow == 0 {
		return
	}
	_ = dst[3*y1*ow-1]
	_ = src[3*2*y1*w-1]
	C.cw_down_rgb((*C.uint8_t)(unsafe.Pointer(&dst[0])), (*C.uint8_t)(unsafe.Pointer(&src[0])),
		C.size_t(w), C.size_t(ow), C.size_t(y0), C.size_t(y1), C.uint8_t(nd))
}

// maskRGB sets the masks of n rows of np RGB pixels, src's rows stride bytes apart and
// m's mstride (at least (np+7)/8) bytes apart, each cleared first: one bit a pixel, the
// most significant first, 1 where not all three samples are nd; valid[r] is set to row
// r's count of valid pixels.
func maskRGB(m []uint8, mstride int, src []uint8, stride, np, n int, nd uint8, valid []int64) {
	if n <= 0 || np <= 0 {
		for r := range max(n, 0) {
			clear(m[r*mstride : (r+1)*mstride])
			valid[r] = 0
		}
		return
	}
	if mstride < (np+7)/8 || stride < 3*np {
		panic("cog: mask rows do not fit their pixels")
	}
	_ = m[n*mstride-1]
	_ = src[(n-1)*stride+3*np-1]
	_ = valid[n-1]
	C.cw_mask_rgb((*C.uint8_t)(unsafe.Pointer(&m[0])), C.size_t(mstride), (*C.uint8_t)(unsafe.Pointer(&src[0])),
		C.size_t(stride), C.size_t(np), C.size_t(n), C.uint8_t(nd), (*C.int64_t)(unsafe.Pointer(&valid[0])))
}

// downInt16 is downRGB for one Int16 sample a pixel.
func downInt16(dst, src []int16, w, ow, y0, y1 int, nd int16) {
	if y1 <= y0 || ow == 0 {
		return
	}
	_ = dst[y1*ow-1]
	_ = src[2*y1*w-1]
	C.cw_down_i16((*C.int16_t)(unsafe.Pointer(&dst[0])), (*C.int16_t)(unsafe.Pointer(&src[0])),
		C.size_t(w), C.size_t(ow), C.size_t(y0), C.size_t(y1), C.int16_t(nd))
}
