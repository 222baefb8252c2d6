package cog

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
)

// inflateBoth decodes a zlib stream with Go's compress/zlib and with libdeflate (through
// GDAL, as the tile reader does) and fails unless both give want.
func inflateBoth(t *testing.T, name string, stream, want []byte) {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatalf("%s: compress/zlib: %v", name, err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: compress/zlib: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: compress/zlib gives other bytes (%d, want %d)", name, len(got), len(want))
	}
	out := make([]byte, len(want)+16)
	n, err := zlibInflate(out, stream)
	if err != nil || !bytes.Equal(out[:n], want) {
		t.Fatalf("%s: libdeflate: %d bytes, %v", name, n, err)
	}
}

// samples16 returns n samples as native-order bytes.
func samples16(v []int16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.NativeEndian.PutUint16(b[2*i:], uint16(x))
	}
	return b
}

// TestHuff16: tiles of dNDVI-like noise with nodata runs of every length around the
// matches' limits, constant tiles, two-sample alphabets, skewed frequencies whose optimal
// code is longer than DEFLATE's 15 bits, and pure noise come back from both decoders;
// noise is about as short as libdeflate's level 1 makes it, and a buffer too small gives 0.
func TestHuff16(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const nodata = -32768
	type tc struct {
		name string
		v    []int16
	}
	var cases []tc
	dndvi := func(n int, runEvery int) []int16 {
		v := make([]int16, n)
		for i := 0; i < n; {
			if runEvery > 0 && rng.IntN(runEvery) == 0 {
				l := 1 + rng.IntN(600)
				for j := i; j < min(n, i+l); j++ {
					v[j] = nodata
				}
				i += l
				continue
			}
			v[i] = int16(-25 + rng.NormFloat64()*12)
			i++
		}
		return v
	}
	cases = append(cases, tc{"dndvi tile", dndvi(512*512, 0)}, tc{"dndvi with nodata runs", dndvi(512*512, 200)},
		tc{"short", dndvi(7, 0)}, tc{"one sample", []int16{5}})
	for _, l := range []int{1, 2, 3, 4, 5, 128, 129, 130, 131, 132, 133, 134, 255, 256, 257, 258, 259, 260, 261, 262, 1000} {
		v := make([]int16, 0, l+4)
		v = append(v, 3, 9)
		for range l {
			v = append(v, nodata)
		}
		v = append(v, 4)
		cases = append(cases, tc{"run", v})
	}
	constant := make([]int16, 512*512)
	for i := range constant {
		constant[i] = nodata
	}
	cases = append(cases, tc{"constant", constant})
	two := make([]int16, 4096)
	for i := range two {
		two[i] = int16(i % 2)
	}
	cases = append(cases, tc{"two samples", two})
	// Fibonacci frequencies over 25 byte values: the optimal code's longest is 24 bits.
	var fib []int16
	a, b := 1, 1
	for s := range 25 {
		for range a {
			fib = append(fib, int16(s)|int16(s)<<8)
		}
		a, b = b, a+b
	}
	rng.Shuffle(len(fib), func(i, j int) { fib[i], fib[j] = fib[j], fib[i] })
	cases = append(cases, tc{"fibonacci", fib})
	noise := make([]int16, 512*512)
	for i := range noise {
		noise[i] = int16(rng.Uint32())
	}
	cases = append(cases, tc{"noise", noise})

	for _, c := range cases {
		src := samples16(c.v)
		dst := make([]byte, zlibBound(len(src)))
		n := huff16(dst, src)
		if n == 0 {
			if c.name == "noise" {
				continue // too long for the bound: the writer uses libdeflate
			}
			t.Fatalf("%s: not encoded", c.name)
		}
		inflateBoth(t, c.name, dst[:n], src)
		if c.name == "dndvi tile" || c.name == "dndvi with nodata runs" {
			ref := make([]byte, zlibBound(len(src)))
			m, err := zlibDeflate(ref, src, 1)
			if err != nil {
				t.Fatal(err)
			}
			if float64(n) > 1.1*float64(m) {
				t.Errorf("%s: %d bytes, libdeflate level 1 %d", c.name, n, m)
			}
			t.Logf("%s: %d bytes, libdeflate level 1 %d", c.name, n, m)
		}
		if n > 64 && huff16(dst[:n-1], src) != 0 {
			t.Errorf("%s: encoded into a buffer one byte short", c.name)
		}
	}
	if huff16(make([]byte, 100), []byte{1, 2, 3}) != 0 {
		t.Error("an odd number of bytes was encoded")
	}
}

// FuzzHuff16: any samples come back from both decoders.
func FuzzHuff16(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 2})
	f.Add(samples16([]int16{-32768, -32768, -32768, -32768, -32768, 7, 7, 7, 7}))
	f.Fuzz(func(t *testing.T, src []byte) {
		src = src[:len(src)&^1]
		dst := make([]byte, zlibBound(len(src))+64)
		if n := huff16(dst, src); n > 0 {
			inflateBoth(t, "fuzz", dst[:n], src)
		}
	})
}

func BenchmarkHuff16(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]int16, 512*512)
	for i := range v {
		v[i] = int16(-25 + rng.NormFloat64()*12)
		if i%512 > 400 {
			v[i] = -32768
		}
	}
	src := samples16(v)
	dst := make([]byte, zlibBound(len(src)))
	b.Run("huff16", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			huff16(dst, src)
		}
	})
	b.Run("libdeflate1", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			zlibDeflate(dst, src, 1)
		}
	})
}
