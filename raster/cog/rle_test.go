package cog

import (
	"bytes"
	"compress/zlib"
	"io"
	"math/rand/v2"
	"testing"
)

// rleRuns is n bytes of runs whose lengths cycle through lengths, values through vals.
func rleRuns(n int, lengths []int, vals []byte) []byte {
	s := make([]byte, 0, n)
	for i := 0; len(s) < n; i++ {
		for range lengths[i%len(lengths)] {
			s = append(s, vals[i%len(vals)])
		}
	}
	return s[:n]
}

func TestRLEDeflate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mask := make([]byte, cogBlockSize*cogBlockSize)
	for i := range mask { // a class raster: blobs on a background of one class
		x, y := i%cogBlockSize, i/cogBlockSize
		if (x-100)*(x-100)+(y-300)*(y-300) < 80*80 || (x > 400 && y > 20 && y < 60) {
			mask[i] = 2
		}
	}
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var lengths []int
	for l := 1; l <= 520; l++ {
		lengths = append(lengths, l)
	}
	tests := []struct {
		name    string
		src     []byte
		minGain float64 // src over stream at least (0: may not fit, must then say so)
	}{
		{"one byte", []byte{7}, 0},
		{"uniform tile", bytes.Repeat([]byte{1}, cogBlockSize*cogBlockSize), 150},
		{"uniform 255", bytes.Repeat([]byte{255}, 100000), 150},
		{"runs of every length 1-520", rleRuns(300000, lengths, []byte{0, 1, 255, 144, 143}), 20},
		{"runs of 2", rleRuns(10000, []int{2}, []byte{3, 4}), 0},
		{"run of 258", rleRuns(259*4, []int{259}, []byte{9, 10}), 10},
		{"run of 260", rleRuns(261*4, []int{261}, []byte{9, 10}), 10},
		{"class blobs", mask, 50},
		{"random bytes", random, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, zlibBound(len(tc.src)))
			n := rleDeflate(dst, tc.src)
			if n == 0 {
				if tc.minGain > 0 {
					t.Fatalf("no stream for %d bytes that should pack %gx", len(tc.src), tc.minGain)
				}
				return
			}
			if gain := float64(len(tc.src)) / float64(n); gain < tc.minGain {
				t.Errorf("%d bytes -> %d: %.1fx, want %gx or more", len(tc.src), n, gain, tc.minGain)
			}
			// Go's zlib reader checks the header and the Adler-32 trailer.
			zr, err := zlib.NewReader(bytes.NewReader(dst[:n]))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("compress/zlib: %v", err)
			}
			if !bytes.Equal(got, tc.src) {
				t.Fatalf("compress/zlib inflated %d bytes, not the %d given", len(got), len(tc.src))
			}
			// So does libdeflate (through GDAL), the COG reader's inflater.
			out := make([]byte, len(tc.src))
			if k, err := zlibInflate(out, dst[:n]); err != nil || k != len(tc.src) || !bytes.Equal(out, tc.src) {
				t.Fatalf("libdeflate: %d bytes, %v", k, err)
			}
		})
	}
	if rleDeflate(make([]byte, 64), nil) != 0 {
		t.Error("empty input gave a stream")
	}
	if n := rleDeflate(make([]byte, 20), random); n != 0 {
		t.Errorf("random bytes into 20 bytes gave a stream of %d", n)
	}
}

func FuzzRLEDeflate(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 1, 2})
	f.Add(bytes.Repeat([]byte{5}, 1000))
	f.Fuzz(func(t *testing.T, src []byte) {
		dst := make([]byte, zlibBound(len(src)))
		n := rleDeflate(dst, src)
		if n == 0 {
			return
		}
		zr, err := zlib.NewReader(bytes.NewReader(dst[:n]))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("round trip: %v, %d of %d bytes", err, len(got), len(src))
		}
	})
}

func BenchmarkRLEDeflate(b *testing.B) {
	mask := make([]byte, cogBlockSize*cogBlockSize)
	for i := range mask {
		x, y := i%cogBlockSize, i/cogBlockSize
		if (x-100)*(x-100)+(y-300)*(y-300) < 80*80 || (x/7+y/5)%23 == 0 {
			mask[i] = 1
		}
	}
	dst := make([]byte, zlibBound(len(mask)))
	for _, c := range []struct {
		name string
		f    func() int
	}{
		{"rle", func() int { return rleDeflate(dst, mask) }},
		{"libdeflate-1", func() int { n, _ := zlibDeflate(dst, mask, 1); return n }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(mask)))
			n := 0
			for b.Loop() {
				n = c.f()
			}
			b.ReportMetric(float64(n), "stream-bytes")
		})
	}
}
