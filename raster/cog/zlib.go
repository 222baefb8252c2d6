package cog

/*
#cgo pkg-config: gdal
#include <stdlib.h>
#include "cpl_conv.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// zlibDeflate compresses src into dst as a zlib stream (TIFF compression 8, "Adobe
// deflate") at level (1 fastest .. 12 for libdeflate) and returns the bytes written. It
// goes through GDAL's CPLZLibDeflate, which uses libdeflate when GDAL was built with it
// (Debian's is), so it is as fast as GDAL's own GeoTIFF writer. dst should have room for
// zlibBound(len(src)).
func zlibDeflate(dst, src []byte, level int) (int, error) {
	if len(src) == 0 {
		return 0, errors.New("deflate: empty input")
	}
	var n C.size_t
	r := C.CPLZLibDeflate(unsafe.Pointer(&src[0]), C.size_t(len(src)), C.int(level),
		unsafe.Pointer(&dst[0]), C.size_t(len(dst)), &n)
	if r == nil {
		return 0, errors.New("deflate: output buffer too small or compression failed")
	}
	return int(n), nil
}

// zlibInflate decompresses the zlib stream src into dst, which must have room for the
// whole output (a TIFF tile's size is known), and returns the bytes written.
func zlibInflate(dst, src []byte) (int, error) {
	if len(src) == 0 || len(dst) == 0 {
		return 0, errors.New("inflate: empty buffer")
	}
	var n C.size_t
	r := C.CPLZLibInflate(unsafe.Pointer(&src[0]), C.size_t(len(src)),
		unsafe.Pointer(&dst[0]), C.size_t(len(dst)), &n)
	if r == nil {
		return 0, errors.New("inflate: corrupt stream or output buffer too small")
	}
	return int(n), nil
}

// zlibBound is an upper bound of the compressed size of n bytes (zlib's compressBound
// plus libdeflate's margin for tiny inputs).
func zlibBound(n int) int { return n + n/1000 + n>>12 + n>>14 + n>>25 + 13 + 64 }

// Deflate returns src compressed as one zlib stream at level (1 fastest .. 12), through
// the same libdeflate as the COG tiles: for other files of a run (the quicklook's PNG).
func Deflate(src []byte, level int) ([]byte, error) {
	if level < 1 || level > 12 {
		return nil, errors.New("deflate: level out of 1..12")
	}
	dst := make([]byte, zlibBound(len(src)))
	n, err := zlibDeflate(dst, src, level)
	if err != nil {
		return nil, err
	}
	return dst[:n], nil
}
