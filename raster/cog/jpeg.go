package cog

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

// A libjpeg error ends the call through longjmp instead of libjpeg's default, exit().
typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
} cw_jpeg_err;

static void cw_jpeg_error_exit(j_common_ptr c) {
	cw_jpeg_err *e = (cw_jpeg_err *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

static void cw_jpeg_silent(j_common_ptr c, int level) { (void)c; (void)level; }

// The destination is the caller's buffer; running out of it is an error (the caller
// sizes it for the worst case).
static void cw_dst_init(j_compress_ptr c) { (void)c; }
static boolean cw_dst_full(j_compress_ptr c) {
	cw_jpeg_err *e = (cw_jpeg_err *)c->err;
	snprintf(e->msg, sizeof e->msg, "stream larger than its buffer");
	longjmp(e->jump, 1);
	return FALSE;
}
static void cw_dst_term(j_compress_ptr c) { (void)c; }

// cw_jpeg_encode compresses a w x h image of interleaved RGB bytes (stride bytes a row)
// into dst as a baseline JPEG stream, YCbCr with 2x2 chroma subsampling (libjpeg's
// default for RGB input), at quality q. It returns the stream's length, or 0 with the
// error in msg.
static size_t cw_jpeg_encode(const unsigned char *rgb, int w, int h, int stride, int q,
		unsigned char *dst, size_t cap, char *msg, size_t msglen) {
	struct jpeg_compress_struct c;
	cw_jpeg_err err;
	struct jpeg_destination_mgr d;
	memset(&c, 0, sizeof c);
	c.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = cw_jpeg_error_exit;
	err.pub.emit_message = cw_jpeg_silent;
	err.msg[0] = 0;
	if (setjmp(err.jump)) {
		snprintf(msg, msglen, "%s", err.msg);
		jpeg_destroy_compress(&c);
		return 0;
	}
	jpeg_create_compress(&c);
	d.next_output_byte = dst;
	d.free_in_buffer = cap;
	d.init_destination = cw_dst_init;
	d.empty_output_buffer = cw_dst_full;
	d.term_destination = cw_dst_term;
	c.dest = &d;
	c.image_width = w;
	c.image_height = h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	c.write_JFIF_header = FALSE;
	jpeg_set_quality(&c, q, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * stride);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	size_t n = cap - d.free_in_buffer;
	jpeg_destroy_compress(&c);
	return n;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// jpegEncode compresses a w x h tile of interleaved red, green, blue bytes (rows stride
// bytes apart) into dst as a complete baseline JPEG stream (tables included, so a TIFF needs no
// JPEGTables tag: TIFF Technical Note 2, "new-style" JPEG, Compression 7), converted to
// YCbCr with the chroma subsampled 2x2 (the TIFF's YCbCrSubSampling 2,2), at quality
// 1-100 (libjpeg's scale). It returns the bytes written; dst should have room for
// jpegBound(w, h).
func jpegEncode(dst, rgb []byte, w, h, stride, quality int) (int, error) {
	if w <= 0 || h <= 0 || stride < 3*w || len(rgb) < stride*(h-1)+3*w {
		return 0, fmt.Errorf("jpeg: %d bytes for a %dx%d tile, rows %d bytes apart", len(rgb), w, h, stride)
	}
	if len(dst) == 0 {
		return 0, errors.New("jpeg: no room for the stream")
	}
	var msg [C.JMSG_LENGTH_MAX]C.char
	n := C.cw_jpeg_encode((*C.uchar)(unsafe.Pointer(&rgb[0])), C.int(w), C.int(h), C.int(stride), C.int(quality),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)), &msg[0], C.size_t(len(msg)))
	if n == 0 {
		return 0, fmt.Errorf("jpeg: %s", C.GoString(&msg[0]))
	}
	return int(n), nil
}

// jpegBound is a size a JPEG stream of a w x h RGB tile at any quality fits in: twice the
// samples (quality 100 on noise comes near their size, never twice) plus the markers and
// tables.
func jpegBound(w, h int) int { return 6*w*h + 1<<14 }
