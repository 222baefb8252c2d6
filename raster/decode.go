package raster

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/airbusgeo/godal"
)

// DecodeStats is what DecodeFloor read and what it cost.
type DecodeStats struct {
	Files   int   `json:"files"`
	Pixels  int64 `json:"pixels"` // full-resolution pixels of the first band of every file
	Bytes   int64 `json:"bytes"`  // decoded bytes (pixels times the band's data type size)
	Strips  int   `json:"strips"` // read requests: one row of blocks each
	Threads int   `json:"threads"`
	// Wall is the elapsed time; CPU the user+system time of the whole process over the same
	// span (getrusage), GDAL's threads included.
	Wall time.Duration `json:"wall_ns"`
	CPU  time.Duration `json:"cpu_ns"`
}

// decodeStrip is one unit of work: a row of blocks of one file.
type decodeStrip struct {
	file   int
	row, h int
}

// DecodeFloor reads the first band of every raster in paths in full (full resolution, its
// own data type) and discards the pixels: the time GDAL needs just to decompress the data,
// the floor under any pipeline that reads the same bands. Work is cut into strips of one
// row of blocks and shared by threads goroutines (runtime.NumCPU() when threads <= 0),
// each with its own datasets opened with NUM_THREADS=1, so threads is exactly the number
// of decoding threads. ctx is checked between strips. Paths are local paths or s3:// /
// http(s):// URLs; call Init first.
func DecodeFloor(ctx context.Context, paths []string, threads int) (DecodeStats, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	st := DecodeStats{Files: len(paths), Threads: threads}
	if len(paths) == 0 {
		return st, errors.New("decode floor: no file")
	}
	t0, cpu0 := time.Now(), processCPU()

	// Plan the strips from each file's structure.
	type fileInfo struct {
		w, h, bh int
		dt       godal.DataType
	}
	infos := make([]fileInfo, len(paths))
	var strips []decodeStrip
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		ds, err := openDecode(p)
		if err != nil {
			return st, err
		}
		bands := ds.Bands()
		if len(bands) == 0 {
			ds.Close()
			return st, fmt.Errorf("decode floor %s: no band", p)
		}
		bs := bands[0].Structure()
		ds.Close()
		bh := max(1, bs.BlockSizeY)
		infos[i] = fileInfo{w: bs.SizeX, h: bs.SizeY, bh: bh, dt: bs.DataType}
		size := bs.DataType.Size()
		if !decodable(bs.DataType) {
			return st, fmt.Errorf("decode floor %s: unsupported data type %s", p, bs.DataType)
		}
		st.Pixels += int64(bs.SizeX) * int64(bs.SizeY)
		st.Bytes += int64(bs.SizeX) * int64(bs.SizeY) * int64(size)
		for r := 0; r < bs.SizeY; r += bh {
			strips = append(strips, decodeStrip{file: i, row: r, h: min(bh, bs.SizeY-r)})
		}
	}
	st.Strips = len(strips)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan decodeStrip)
	errs := make([]error, threads)
	var wg sync.WaitGroup
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One open dataset at a time: strips come file by file, and every open
			// file holds its own VSI cache (up to 25 MB with VSI_CACHE=TRUE).
			var ds *godal.Dataset
			cur := -1
			defer func() {
				if ds != nil {
					ds.Close()
				}
			}()
			var buf decodeBuffer
			for s := range work {
				if errs[t] != nil {
					continue // drain
				}
				if s.file != cur {
					if ds != nil {
						ds.Close()
						ds = nil
					}
					var err error
					if ds, err = openDecode(paths[s.file]); err != nil {
						errs[t] = err
						cancel()
						continue
					}
					cur = s.file
				}
				fi := infos[s.file]
				// A buffer of the band's own type: GDAL copies the decoded blocks
				// without any conversion.
				err := ds.Bands()[0].Read(0, s.row, buf.get(fi.dt, fi.w*s.h), fi.w, s.h)
				if err != nil {
					errs[t] = fmt.Errorf("decode floor %s rows %d-%d: %w", paths[s.file], s.row, s.row+s.h, err)
					cancel()
				}
			}
		}()
	}
feed:
	for _, s := range strips {
		select {
		case work <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.Wall = time.Since(t0)
	st.CPU = processCPU() - cpu0
	return st, nil
}

// openDecode opens the raster at path (an href) for DecodeFloor; the caller closes it.
func openDecode(path string) (*godal.Dataset, error) {
	p, err := GDALPath(path)
	if err != nil {
		return nil, fmt.Errorf("decode floor: %w", err)
	}
	ds, err := godal.Open(p, godal.RasterOnly(), godal.Drivers(rasterDrivers...), godal.DriverOpenOption("NUM_THREADS=1"))
	if err != nil {
		return nil, fmt.Errorf("decode floor: open %s: %w", path, classify(p, err))
	}
	return ds, nil
}

// decodeBuffer holds one reusable slice per pixel type.
type decodeBuffer struct {
	u8  []uint8
	i8  []int8
	u16 []uint16
	i16 []int16
	u32 []uint32
	i32 []int32
	f32 []float32
	f64 []float64
}

// grow returns s with length n, reallocated only when its capacity is short.
func grow[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	}
	return (*s)[:n]
}

// get returns a slice of n pixels of type dt (one of those decodable accepts).
func (b *decodeBuffer) get(dt godal.DataType, n int) any {
	switch dt {
	case godal.Int8:
		return grow(&b.i8, n)
	case godal.UInt16:
		return grow(&b.u16, n)
	case godal.Int16:
		return grow(&b.i16, n)
	case godal.UInt32:
		return grow(&b.u32, n)
	case godal.Int32:
		return grow(&b.i32, n)
	case godal.Float32:
		return grow(&b.f32, n)
	case godal.Float64:
		return grow(&b.f64, n)
	}
	return grow(&b.u8, n)
}

// decodable reports whether DecodeFloor reads bands of type dt in their own type.
func decodable(dt godal.DataType) bool {
	switch dt {
	case godal.Byte, godal.Int8, godal.UInt16, godal.Int16, godal.UInt32, godal.Int32, godal.Float32, godal.Float64:
		return true
	}
	return false
}

// processCPU returns the user+system CPU time of this process so far (all threads).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
