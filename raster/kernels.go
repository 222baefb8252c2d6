package raster

// Per-row loops of the classifier that gcc compiles to several times the speed of the Go
// compiler's code (vectorised, no bounds checks). The tests hold each against the general
// Go path (TestPickMatchesInsertion).

/*
// cgo puts the environment's CGO_CFLAGS (-g -O2 by default) after a #cgo CFLAGS line, so
// the optimisation level is set here.
#pragma GCC optimize("O3")
#include <stddef.h>
#include <stdint.h>

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
*/
import "C"

import "unsafe"

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
