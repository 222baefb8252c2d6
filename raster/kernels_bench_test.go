package raster_test

import (
	"context"
	"testing"

	"github.com/changewatch/changewatch/raster"
)

// BenchmarkKernels times the per-pixel kernels of Detect on one loaded 512-row strip of a
// generated 2048x2048 scene pair (2 before and 3 after dates), with allocations, so that a
// regression in one kernel is visible on its own:
//
//	go test -run '^$' -bench Kernels -benchmem ./raster/
//
// mask: SCL test, buffer and validity of all 5 scenes; upsample-20m: bilinear upsampling
// of one 20 m band onto the strip (allocations include the test's buffers); classify: medoid composite of both
// periods, indices, rules and agreement on one core (classify-parallel: on every core);
// label: sparse 8-connected labelling of the strip's change pixels; polygonize: tracing
// and reprojecting the regions of a whole 2048x2048 run.
func BenchmarkKernels(b *testing.B) {
	p := synthScenes(b, 2048)
	k, err := raster.NewKernelStrip(p, 512)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	px := float64(k.Pixels())
	perPixel := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/px, "ns/px")
	}
	b.Run("mask", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k.Mask()
		}
		perPixel(b)
	})
	b.Run("upsample-20m", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raster.Upsample20m(p.Grid.Width, 512, 1)
		}
		perPixel(b)
	})
	b.Run("classify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k.Classify()
		}
		perPixel(b)
	})
	b.Run("classify-parallel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k.ClassifyParallel()
		}
		perPixel(b)
	})
	idx, cls := k.Classify()
	b.Run("label", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raster.LabelSparse(idx, cls, p.Grid.Width, 512, p.MinPixels)
		}
		b.ReportMetric(float64(len(idx)), "change-px")
	})
	res, err := raster.Detect(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("polygonize", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := res.Vectorize(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(res.Regions)), "regions")
	})
}
