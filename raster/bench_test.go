package raster_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changewatch/changewatch/raster"
)

// BenchmarkDetect runs Detect (read, mask, composite, rules, regions) and Vectorize over a
// whole generated scene pair (2 before and 3 after dates, 7 bands each, DEFLATE COGs) of
// 2048x2048 and 5490x5490 pixels, and reports megapixels of the analysis grid per second
// and the peak resident memory of the detection (VmHWM, reset before the run).
//
//	go test -run '^$' -bench Detect -benchtime 1x ./raster/
func BenchmarkDetect(b *testing.B) {
	for _, size := range []int{2048, 5490} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			p := synthScenes(b, size)
			b.ResetTimer()
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				resetPeakRSS()
				t0 := time.Now()
				res, err := raster.Detect(context.Background(), p)
				if err != nil {
					b.Fatal(err)
				}
				if err := res.Vectorize(context.Background()); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(t0)
			}
			mp := float64(p.Grid.Pixels()) / 1e6
			mps := mp * float64(b.N) / elapsed.Seconds()
			peak := peakRSSMiB()
			b.ReportMetric(mps, "Mpx/s")
			b.ReportMetric(peak, "peakRSS-MiB")
			fmt.Printf("detect %dx%d (%d+%d scenes): %.1f Mpx/s, peak RSS %.0f MiB\n", size, size, len(p.Before), len(p.After), mps, peak)
		})
	}
}

// resetPeakRSS resets the kernel's high-water mark of this process (Linux: clear_refs 5).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMiB reads VmHWM from /proc/self/status.
func peakRSSMiB() float64 {
	f, err := os.Open(filepath.Join("/proc", "self", "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
