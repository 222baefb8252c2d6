package cog

import (
	"encoding/binary"
	"math/bits"
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
// otherwise.
func rleDeflate(dst, src []byte) int {
	if len(src) == 0 || len(dst) < 16 {
		return 0
	}
	// Header: deflate, 32 KiB window, fastest (FLEVEL 0), no dictionary; 0x7801 is a
	// multiple of 31 as FCHECK requires.
	dst[0], dst[1] = 0x78, 0x01
	pos := 2
	limit := len(dst) - 8 // room for a flushed word and the Adler-32 trailer
	// Bits are gathered least significant first in acc and written out 32 at a time;
	// acc holds under 32 bits between codes, and a code adds at most 18.
	acc, nb := uint64(0b011), uint(3) // BFINAL 1, BTYPE 01 (fixed Huffman codes)
	s1, s2 := uint64(1), uint64(0)    // Adler-32 sums
	for i := 0; i < len(src); {
		b := src[i]
		i++
		r := rleRun(src[i:], b)
		// Adler-32 over b and its run's r copies, these in closed form: s1 + k*b for
		// k = 1..r summed into s2.
		s1 += uint64(b)
		s2 += s1
		rr := uint64(r)
		rm := rr % rleAdlerMod
		s2 += rm*s1 + uint64(b)*(rr*(rr+1)/2%rleAdlerMod)
		s1 += rm * uint64(b)
		s1 %= rleAdlerMod
		s2 %= rleAdlerMod
		i += r
		// The codes: b as a literal, then the run as matches of up to 258, the last of
		// 3 or more (one or two bytes left over are literals).
		lit := rleLit[b]
		for v := lit; ; {
			acc |= uint64(v>>5) << nb
			nb += uint(v & 31)
			if nb >= 32 {
				if pos > limit {
					return 0
				}
				binary.LittleEndian.PutUint32(dst[pos:], uint32(acc))
				pos += 4
				acc >>= 32
				nb -= 32
			}
			switch {
			case r == 0:
			case r < 3:
				v, r = lit, r-1
				continue
			case r > 258 && r < 261:
				v, r = rleMatch[r-3], 3
				continue
			default:
				n := min(r, 258)
				v, r = rleMatch[n], r-n
				continue
			}
			break
		}
	}
	// End of block (symbol 256: seven 0 bits), then the last bits padded to a byte.
	nb += 7
	for nb > 0 {
		if pos >= len(dst)-4 {
			return 0
		}
		dst[pos] = byte(acc)
		pos++
		acc >>= 8
		nb -= min(nb, 8)
	}
	binary.BigEndian.PutUint32(dst[pos:], uint32(s2<<16|s1))
	return pos + 4
}

// rleRun is how many bytes at the start of s equal b.
func rleRun(s []byte, b byte) int {
	pat := uint64(b) * 0x0101010101010101
	k := 0
	for ; k+8 <= len(s); k += 8 {
		if x := binary.LittleEndian.Uint64(s[k:]) ^ pat; x != 0 {
			return k + bits.TrailingZeros64(x)/8
		}
	}
	for k < len(s) && s[k] == b {
		k++
	}
	return k
}
