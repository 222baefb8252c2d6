package cog

/*
#pragma GCC optimize("O3")
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// cw_rle_run is how many of the n bytes at s equal b (16 a compare with SSE2).
static inline size_t cw_rle_run(const uint8_t *s, size_t n, uint8_t b) {
	size_t k = 0;
#if defined(__SSE2__)
	const __m128i v = _mm_set1_epi8((char)b);
	for (; k + 16 <= n; k += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + k)), v));
		if (m != 0xFFFF) return k + (size_t)__builtin_ctz(~m & 0xFFFF);
	}
#endif
	while (k < n && s[k] == b) k++;
	return k;
}

// cw_rle_deflate is rleDeflate: lit and match are rleLit and rleMatch (a code's bits above
// its length in the low 5 bits). Bits are gathered least significant first in acc and
// written out 32 at a time; acc holds under 32 bits between codes, and a code adds at most
// 18. Adler-32 (RFC 1950 section 8.2) takes each run in closed form: b's r copies add
// r*b to s1 and s1 + k*b for k = 1..r to s2.
static size_t cw_rle_deflate(uint8_t *dst, size_t cap, const uint8_t *src, size_t n,
		const uint32_t *lit, const uint32_t *match) {
	// Header: deflate, 32 KiB window, fastest (FLEVEL 0), no dictionary; 0x7801 is a
	// multiple of 31 as FCHECK requires.
	dst[0] = 0x78;
	dst[1] = 0x01;
	size_t pos = 2, limit = cap - 8; // room for a flushed word and the Adler-32 trailer
	uint64_t acc = 3;                // BFINAL 1, BTYPE 01 (fixed Huffman codes)
	unsigned nb = 3;
	uint64_t s1 = 1, s2 = 0;
	for (size_t i = 0; i < n;) {
		uint8_t b = src[i++];
		size_t r = cw_rle_run(src + i, n - i, b);
		s1 += b;
		s2 += s1;
		uint64_t rr = r, rm = rr % 65521;
		s2 += rm * s1 + (uint64_t)b * ((rr * (rr + 1) / 2) % 65521);
		s1 += rm * b;
		s1 %= 65521;
		s2 %= 65521;
		i += r;
		// The codes: b as a literal, then the run as matches of up to 258, the last of
		// 3 or more (one or two bytes left over are literals).
		uint32_t v = lit[b];
		for (;;) {
			acc |= (uint64_t)(v >> 5) << nb;
			nb += v & 31;
			if (nb >= 32) {
				if (pos > limit) return 0;
				dst[pos] = (uint8_t)acc;
				dst[pos + 1] = (uint8_t)(acc >> 8);
				dst[pos + 2] = (uint8_t)(acc >> 16);
				dst[pos + 3] = (uint8_t)(acc >> 24);
				pos += 4;
				acc >>= 32;
				nb -= 32;
			}
			if (r == 0) break;
			if (r < 3) {
				v = lit[b];
				r--;
			} else if (r > 258 && r < 261) {
				v = match[r - 3];
				r = 3;
			} else {
				size_t k = r < 258 ? r : 258;
				v = match[k];
				r -= k;
			}
		}
	}
	// End of block (symbol 256: seven 0 bits), then the last bits padded to a byte.
	nb += 7;
	while (nb > 0) {
		if (pos + 4 >= cap) return 0;
		dst[pos++] = (uint8_t)acc;
		acc >>= 8;
		nb -= nb < 8 ? nb : 8;
	}
	uint32_t adler = (uint32_t)(s2 << 16 | s1);
	dst[pos] = (uint8_t)(adler >> 24);
	dst[pos + 1] = (uint8_t)(adler >> 16);
	dst[pos + 2] = (uint8_t)(adler >> 8);
	dst[pos + 3] = (uint8_t)adler;
	return pos + 4;
}
*/
import "C"

import (
	"math/bits"
	"unsafe"
)

// Run-length DEFLATE for the Byte layers that hold classes, counts and masks: long runs
// of one value, a few transitions a row. libdeflate's fastest level looks for matches
// at every distance and costs about 3.5 ns a byte on them (0.3 CPU-s for the class and
// clear-count COGs of a 5490 px pair); a stream of literals and matches at distance 1
// (zlib's Z_RLE strategy) costs a word comparison per 8 bytes of a run and a few
// instructions per run, and any DEFLATE reader inflates it.

// rleAdlerMod is Adler-32's modulus (RFC 1950 section 8.2).
const rleAdlerMod = 65521

// rleLit holds the fixed Huffman code of each literal (RFC 1951 section 3.2.6): its bits
// reversed (DEFLATE packs codes most significant bit first into a stream read least
// significant bit first) and its length, in the low 5 bits.
var rleLit = func() (t [256]uint32) {
	for s := range t {
		code, n := fixedCode(s)
		t[s] = reverseBits(code, n)<<5 | uint32(n)
	}
	return t
}()

// rleMatch holds, for each length 3..258, the bits of a match of that length at distance
// 1: the length symbol's fixed code (reversed), its extra bits, then distance code 0 in
// 5 bits (all zero, no extra bits); the number of bits in the low 5 bits.
var rleMatch = func() (t [259]uint32) {
	// Length symbols 257..285: base length and extra bits (RFC 1951 section 3.2.5).
	base := [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	extra := [29]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	for l := 3; l <= 258; l++ {
		k := 28
		for base[k] > l {
			k--
		}
		if l == 258 {
			k = 28 // 258 is symbol 285 only (284 with all extra bits set is not a valid code)
		}
		code, n := fixedCode(257 + k)
		v := reverseBits(code, n) | uint32(l-base[k])<<n
		t[l] = v<<5 | uint32(n+extra[k]+5)
	}
	return t
}()

// fixedCode is the fixed Huffman code of literal/length symbol s and its length in bits.
func fixedCode(s int) (code uint32, n int) {
	switch {
	case s < 144:
		return uint32(0x30 + s), 8
	case s < 256:
		return uint32(0x190 + s - 144), 9
	case s < 280:
		return uint32(s - 256), 7
	}
	return uint32(0xC0 + s - 280), 8
}

func reverseBits(v uint32, n int) uint32 { return bits.Reverse32(v) >> (32 - n) }

// rleDeflate compresses src into dst as a zlib stream (RFC 1950) of one DEFLATE block with
// the fixed Huffman codes, each run of a byte coded as the byte and matches at distance 1,
// and returns the bytes written; 0 when src is empty or dst has no room (data without
// runs: at 9 bits a literal, the stream can outgrow src), for the caller to compress it
// otherwise. The loop is cw_rle_deflate, in C.
func rleDeflate(dst, src []byte) int {
	if len(src) == 0 || len(dst) < 16 {
		return 0
	}
	return int(C.cw_rle_deflate((*C.uint8_t)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)),
		(*C.uint8_t)(unsafe.Pointer(&src[0])), C.size_t(len(src)),
		(*C.uint32_t)(unsafe.Pointer(&rleLit[0])), (*C.uint32_t)(unsafe.Pointer(&rleMatch[0]))))
}
