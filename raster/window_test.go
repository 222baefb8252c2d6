package raster_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/airbusgeo/godal"

	"github.com/changewatch/changewatch/raster"
	"github.com/changewatch/changewatch/stac"
	"github.com/changewatch/changewatch/synth"
)

// synthScenes generates a small scene set and returns the detection parameters over it.
func synthScenes(t testing.TB, size int) raster.DetectParams {
	t.Helper()
	raster.Init(raster.S3Config{})
	syn, err := synth.Generate(context.Background(), t.TempDir(), synth.Config{Size: size, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := stac.NewStatic(syn.Root, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := cat.Search(context.Background(), stac.Query{})
	if err != nil {
		t.Fatal(err)
	}
	p := raster.DetectParams{Grid: syn.Grid, Mask: true, MaskBuffer: 5, Rules: raster.DefaultRules, MinPixels: 20}
	for _, it := range items {
		s := raster.Scene{ID: it.ID, Date: it.Datetime, DNOffset: it.DNOffset(), Hrefs: map[string]string{}}
		for _, k := range raster.BandKeys {
			s.Hrefs[k] = it.Assets[k].Href
		}
		if it.Datetime.Year() < 2024 {
			p.Before = append(p.Before, s)
		} else {
			p.After = append(p.After, s)
		}
	}
	return p
}

// A window of the grid gives exactly the pixels of a whole-grid run, mask buffer
// included (the halo is read across the window's edges); the cancellation of a run is
// honoured between chunks.
func TestDetectWindowsMatchWholeGrid(t *testing.T) {
	p := synthScenes(t, 512)
	whole, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	g := p.Grid
	for _, w := range []raster.Window{{0, 0, 300, 200}, {300, 0, 212, 200}, {0, 200, 512, 312}, {97, 133, 211, 250}} {
		p.Window = w
		p.ChunkRows = 64
		part, err := raster.Detect(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < w.Height; y++ {
			for x := 0; x < w.Width; x++ {
				i, j := (w.Row+y)*g.Width+w.Col+x, y*w.Width+x
				// region sieving differs at window edges; compare the raw classification via dNDVI
				a, b := whole.DNDVI[i], part.DNDVI[j]
				if a != b {
					t.Fatalf("window %+v pixel (%d,%d): dNDVI %v, whole grid %v", w, x, y, b, a)
				}
			}
		}
	}
}

func TestDetectCancelledBetweenChunks(t *testing.T) {
	p := synthScenes(t, 512)
	p.ChunkRows = 32
	ctx, cancel := context.WithCancel(context.Background())
	chunks := 0
	p.Progress = func(stage string, frac float64) {
		if stage == "read, composite, classify" {
			chunks++
			cancel()
		}
	}
	_, err := raster.Detect(ctx, p)
	if err != context.Canceled {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if chunks != 1 {
		t.Fatalf("%d chunks processed after cancellation, want 1 (of %d)", chunks, 512/32)
	}
}

// TestDetectRowsStreamed checks that streaming the rasters through DetectParams.Rows gives
// the rasters Detect holds otherwise, once Dropped is cleared, and the same regions.
func TestDetectRowsStreamed(t *testing.T) {
	p := synthScenes(t, 512)
	p.ChunkRows = 96
	p.MinPixels = 60 // drops some of the planted objects
	whole, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	n := whole.Grid.Pixels()
	class, dndvi := make([]uint8, 0, n), make([]int16, 0, n)
	cb, ca := make([]uint8, 0, n), make([]uint8, 0, n)
	next := 0
	p.Rows = func(r raster.Rows) error {
		if r.Row != next {
			return fmt.Errorf("rows from %d, want %d", r.Row, next)
		}
		next += r.Height
		class, dndvi = append(class, r.Class...), append(dndvi, r.DNDVI...)
		cb, ca = append(cb, r.ClearBefore...), append(ca, r.ClearAfter...)
		return nil
	}
	streamed, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Class != nil || streamed.DNDVI != nil {
		t.Fatal("streamed result holds rasters")
	}
	for _, j := range streamed.Dropped {
		class[j] = raster.ClassNone
	}
	if len(streamed.Dropped) == 0 {
		t.Error("no region under the minimum mapping unit: the test does not exercise Dropped")
	}
	for name, eq := range map[string]bool{
		"class": slices.Equal(class, whole.Class), "dndvi": slices.Equal(dndvi, whole.DNDVI),
		"clear_before": slices.Equal(cb, whole.ClearBefore), "clear_after": slices.Equal(ca, whole.ClearAfter),
		"dropped": slices.Equal(streamed.Dropped, whole.Dropped),
	} {
		if !eq {
			t.Errorf("%s differs when streamed", name)
		}
	}
	if len(streamed.Regions) != len(whole.Regions) || len(whole.Regions) == 0 {
		t.Fatalf("%d regions streamed, %d held", len(streamed.Regions), len(whole.Regions))
	}
	for i := range whole.Regions {
		a, b := whole.Regions[i], streamed.Regions[i]
		if a.Pixels != b.Pixels || a.Class != b.Class || a.AnchorX != b.AnchorX || !slices.Equal(whole.RegionPixels(i), streamed.RegionPixels(i)) {
			t.Fatalf("region %d differs: %+v / %+v", i+1, a.Component, b.Component)
		}
	}
}

// TestDetectLazySWIRMatchesUpsampled: SWIR bands read directly from their tiles are
// interpolated only where the rules look; the same bands through GDAL (LZW copies the tile
// reader leaves to GDAL) are upsampled in full. Both must give the same rasters.
func TestDetectLazySWIRMatchesUpsampled(t *testing.T) {
	p := synthScenes(t, 512)
	lazy, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, scenes := range [][]raster.Scene{p.Before, p.After} {
		for i := range scenes {
			viaGDAL(t, &scenes[i], "swir16", "swir22")
		}
	}
	full, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRasters(lazy, full) {
		t.Fatal("rasters differ between interpolated-on-demand and upsampled SWIR bands")
	}
	if len(lazy.Regions) != len(full.Regions) || len(lazy.Regions) == 0 {
		t.Fatalf("%d regions on demand, %d upsampled", len(lazy.Regions), len(full.Regions))
	}
	for i := range lazy.Regions {
		if lazy.Regions[i].DBSI != full.Regions[i].DBSI || lazy.Regions[i].DNBR != full.Regions[i].DNBR {
			t.Fatalf("region %d statistics differ", i+1)
		}
	}
}

// The tiles of a full-resolution band that the SCL masks entirely are not decoded, and the
// result is the one of reading every pixel (through GDAL, which decodes them all).
func TestDetectSkipsMaskedTiles(t *testing.T) {
	p := synthScenes(t, 1024)
	s := &p.After[0]
	// Cloud over the 20 m SCL pixels of the first 512 x 512 tile of the 10 m bands, and over
	// all but one pixel of the second.
	editBand(t, s, "scl", 512, func(scl []uint8, w, h int) {
		for y := range 256 {
			for x := range 512 {
				if x != 300 || y != 100 {
					scl[y*w+x] = 9 // cloud, high probability
				}
			}
		}
	})
	skipped, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// The first tile of each of the four 10 m bands, not the second (one pixel clear).
	if skipped.MaskedTiles != 4 {
		t.Fatalf("%d masked tiles not decoded, want 4", skipped.MaskedTiles)
	}
	// The same scene with its 10 m bands in LZW, which GDAL reads.
	viaGDAL(t, s, "blue", "green", "red", "nir")
	full, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if full.MaskedTiles != 0 {
		t.Fatalf("%d masked tiles with every band read through GDAL", full.MaskedTiles)
	}
	if !sameRasters(skipped, full) {
		t.Fatal("rasters differ when masked tiles are not decoded")
	}
	if len(skipped.Regions) != len(full.Regions) || len(full.Regions) == 0 {
		t.Fatalf("%d regions skipping, %d reading all", len(skipped.Regions), len(full.Regions))
	}
	for i := range full.Regions {
		if !reflect.DeepEqual(skipped.Regions[i], full.Regions[i]) {
			t.Fatalf("region %d differs: %+v, want %+v", i+1, skipped.Regions[i], full.Regions[i])
		}
	}
}

// Red and NIR tiles without nodata spare the mask its no-data test (nodata.go); tiles
// with some keep it. Nodata planted in red and NIR of clear pixels, in some tiles, must
// leave those observations out exactly as reading through GDAL (which never skips the
// test) does.
func TestDetectNoDataTilesMatchGDAL(t *testing.T) {
	p := synthScenes(t, 1024)
	base, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	k, err := raster.NewKernelStrip(p, 128)
	if err != nil {
		t.Fatal(err)
	}
	skipped := k.NoDataTestsSkipped()
	k.Close()
	if skipped == 0 {
		t.Fatal("the first strip skips no scene's red and NIR no-data test")
	}
	var planted []int
	for i, k := range []string{"red", "nir"} {
		editBand(t, &p.After[i], k, 256, func(pix []uint16, w, h int) {
			// three pixels clear in every after scene, in two of the sixteen 256 x 256
			// tiles, a different two per band
			for _, start := range []int{50*w + 40 + 300*i, 50*w + 41 + 300*i, (600+100*i)*w + 700} {
				j := start
				for base.ClearAfter[j] != uint8(len(p.After)) || slices.Contains(planted, j) {
					j++
				}
				pix[j] = 0
				planted = append(planted, j)
			}
		})
	}
	fast, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"red", "nir"} {
		viaGDAL(t, &p.After[i], k)
	}
	full, err := raster.Detect(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRasters(fast, full) {
		t.Fatal("rasters differ between tiles read directly and through GDAL")
	}
	// each planted pixel lost one of its after observations (none was masked otherwise)
	for _, j := range planted {
		if c := fast.ClearAfter[j]; c != uint8(len(p.After)-1) {
			t.Errorf("pixel %d: %d clear after observations, want %d", j, c, len(p.After)-1)
		}
	}
}

// editBand rewrites band key of s as a DEFLATE COG with tiles of blocksize pixels, after
// edit changes its w x h samples.
func editBand[T uint8 | uint16](t *testing.T, s *raster.Scene, key string, blocksize int, edit func(pix []T, w, h int)) {
	t.Helper()
	ds, err := godal.Open(s.Hrefs[key])
	if err != nil {
		t.Fatal(err)
	}
	mem, err := ds.Translate("", []string{"-of", "MEM"})
	ds.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	st := mem.Structure()
	pix := make([]T, st.SizeX*st.SizeY)
	band := mem.Bands()[0]
	if err := band.Read(0, 0, pix, st.SizeX, st.SizeY); err != nil {
		t.Fatal(err)
	}
	edit(pix, st.SizeX, st.SizeY)
	if err := band.Write(0, 0, pix, st.SizeX, st.SizeY); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), key+".tif")
	cog, err := mem.Translate(out, []string{"-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2", "-co", fmt.Sprint("BLOCKSIZE=", blocksize)})
	if err != nil {
		t.Fatal(err)
	}
	cog.Close()
	s.Hrefs = maps.Clone(s.Hrefs)
	s.Hrefs[key] = out
}

// viaGDAL rewrites the bands keys of s in LZW, which the tile reader leaves to GDAL.
func viaGDAL(t *testing.T, s *raster.Scene, keys ...string) {
	t.Helper()
	s.Hrefs = maps.Clone(s.Hrefs)
	for _, k := range keys {
		ds, err := godal.Open(s.Hrefs[k])
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), s.ID+"-"+k+".tif")
		cp, err := ds.Translate(out, []string{"-co", "COMPRESS=LZW", "-co", "TILED=YES"})
		ds.Close()
		if err != nil {
			t.Fatal(err)
		}
		cp.Close()
		s.Hrefs[k] = out
	}
}

// sameRasters tells whether two results have the same class, dNDVI and clear rasters.
func sameRasters(a, b *raster.Result) bool {
	return slices.Equal(a.Class, b.Class) && slices.Equal(a.DNDVI, b.DNDVI) &&
		slices.Equal(a.ClearBefore, b.ClearBefore) && slices.Equal(a.ClearAfter, b.ClearAfter)
}
