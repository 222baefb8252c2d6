package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/changewatch/changewatch/synth"
)

// demoStampName is the file in the scenes folder that says which scenes are there.
const demoStampName = "demo-stamp.json"

// demoStampVersion changes when the stamp's form or synth's output changes in a way that
// makes old scene folders unusable.
const demoStampVersion = 1

// demoStamp is written after a complete synth.Generate; its paths are relative to the
// scenes folder, so the folder may be moved. It counts the planted objects but does not
// list them (truth.geojson does): the stamp sits in the catalog folder, whose every JSON
// document a static catalog search reads, and the list of a full tile is 29 MB.
type demoStamp struct {
	Version int           `json:"version"`
	Size    int           `json:"size"`
	Seed    int64         `json:"seed"`
	Objects int           `json:"objects"`
	Pair    bool          `json:"pair,omitempty"`   // one before and one after date (synth.PairDates)
	Series  bool          `json:"series,omitempty"` // the monitoring time series (seriesConfig)
	Result  *synth.Result `json:"result"`
}

// Scenes returns the synthetic scene set of size and seed in dir, and its number of
// planted objects: the one already there when its stamp says so and its files are present,
// else a freshly generated one. A reused set's Result has no Objects.
func Scenes(ctx context.Context, dir string, size int, seed int64) (res *synth.Result, objects int, reused bool, err error) {
	return SceneSet(ctx, dir, size, seed, false)
}

// SceneSet is Scenes, with pair: the scene set of one before and one after date
// (synth.PairDates) instead of synth's default 2 + 3.
func SceneSet(ctx context.Context, dir string, size int, seed int64, pair bool) (res *synth.Result, objects int, reused bool, err error) {
	k := sceneKind{pair: pair}
	return sceneSet(ctx, dir, size, seed, k)
}

// SeriesScenes is Scenes for the demo's monitoring time series (seriesConfig).
func SeriesScenes(ctx context.Context, dir string, size int, seed int64) (res *synth.Result, objects int, reused bool, err error) {
	return sceneSet(ctx, dir, size, seed, sceneKind{series: true})
}

// sceneKind says which scene set of a size and seed a folder holds.
type sceneKind struct{ pair, series bool }

func sceneSet(ctx context.Context, dir string, size int, seed int64, k sceneKind) (res *synth.Result, objects int, reused bool, err error) {
	stampPath := filepath.Join(dir, demoStampName)
	if r, n, ok := readDemoStamp(stampPath, dir, size, seed, k); ok {
		return r, n, true, nil
	}
	// No stamp while generating: an interrupted run is never taken for a complete one.
	if err := os.Remove(stampPath); err != nil && !os.IsNotExist(err) {
		return nil, 0, false, fmt.Errorf("scenes: %w", err)
	}
	// Scenes of another size or seed have the same item ids; start from a clean layout.
	if err := os.RemoveAll(filepath.Join(dir, "sentinel-s2-l2a-cogs")); err != nil {
		return nil, 0, false, fmt.Errorf("scenes: %w", err)
	}
	cfg := synth.Config{Size: size, Seed: seed}
	switch {
	case k.pair:
		cfg.Before, cfg.After = synth.PairDates()
	case k.series:
		cfg = seriesConfig(size, seed)
	}
	res, err = synth.Generate(ctx, dir, cfg)
	if err != nil {
		return nil, 0, false, err
	}
	if err := writeDemoStamp(stampPath, dir, size, seed, k, res); err != nil {
		return nil, 0, false, err
	}
	return res, len(res.Objects), false, nil
}

// ScenesReady reports whether dir holds the complete scene set of size and seed, which
// Scenes would reuse.
func ScenesReady(dir string, size int, seed int64) bool { return SceneSetReady(dir, size, seed, false) }

// SceneSetReady is ScenesReady for SceneSet.
func SceneSetReady(dir string, size int, seed int64, pair bool) bool {
	_, _, ok := readDemoStamp(filepath.Join(dir, demoStampName), dir, size, seed, sceneKind{pair: pair})
	return ok
}

func readDemoStamp(path, dir string, size int, seed int64, k sceneKind) (*synth.Result, int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, false
	}
	var st demoStamp
	if json.Unmarshal(data, &st) != nil || st.Version != demoStampVersion || st.Size != size || st.Seed != seed || st.Pair != k.pair || st.Series != k.series || st.Result == nil {
		return nil, 0, false
	}
	r := st.Result
	if len(r.Objects) > 0 { // written by an older build, with the list: rewrite it without
		st.Objects = len(r.Objects)
		r.Objects = nil
		if data, err := json.Marshal(st); err == nil {
			writeFileAtomic(path, data)
		}
	}
	r.Root = dir
	for _, p := range append([]*string{&r.TruthGeoJSON, &r.TruthTIF, &r.AOIGeoJSON}, ptrs(r.ItemPaths)...) {
		if *p == "" || filepath.IsAbs(*p) {
			return nil, 0, false
		}
		*p = filepath.Join(dir, *p)
		if _, err := os.Stat(*p); err != nil {
			return nil, 0, false
		}
	}
	return r, st.Objects, len(r.ItemPaths) > 0
}

func writeDemoStamp(path, dir string, size int, seed int64, k sceneKind, res *synth.Result) error {
	r := *res
	r.ItemPaths = append([]string(nil), res.ItemPaths...)
	r.Root, r.Objects = ".", nil
	for _, p := range append([]*string{&r.TruthGeoJSON, &r.TruthTIF, &r.AOIGeoJSON}, ptrs(r.ItemPaths)...) {
		rel, err := filepath.Rel(dir, *p)
		if err != nil {
			return fmt.Errorf("scenes stamp: %w", err)
		}
		*p = rel
	}
	data, err := json.Marshal(demoStamp{Version: demoStampVersion, Size: size, Seed: seed, Objects: len(res.Objects), Pair: k.pair, Series: k.series, Result: &r})
	if err != nil {
		return fmt.Errorf("scenes stamp: %w", err)
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("scenes stamp: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file renamed over it.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func ptrs(s []string) []*string {
	out := make([]*string, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

// demoPutter is what uploading the catalog needs from object storage.
type demoPutter interface {
	PutFile(ctx context.Context, bucket, key, path, contentType string) error
}

// uploadCatalog puts every file of the Earth Search layout under root
// (sentinel-s2-l2a-cogs/...) to bucket under prefix, keeping the layout, and returns the
// number of files and bytes.
func uploadCatalog(ctx context.Context, store demoPutter, root, bucket, prefix string) (files int, bytes int64, err error) {
	base := filepath.Join(root, "sentinel-s2-l2a-cogs")
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		key := prefix + "/" + filepath.ToSlash(rel)
		if err := store.PutFile(ctx, bucket, key, p, contentTypeOf(p)); err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	if err != nil {
		return files, bytes, fmt.Errorf("upload catalog: %w", err)
	}
	return files, bytes, nil
}

func contentTypeOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".tif", ".tiff":
		return "image/tiff; application=geotiff; profile=cloud-optimized"
	case ".json":
		return "application/json"
	}
	return ""
}

// seriesConfig is the demo's scene set: a baseline year (ten dates of 2023), an overcast
// date in December 2023, and two dates in each of January, February and March 2024, over
// which planted change appears and grows (synth.Config.Growth).
func seriesConfig(size int, seed int64) synth.Config {
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	return synth.Config{Size: size, Seed: seed, Growth: true,
		Before: []time.Time{d("2023-01-14"), d("2023-02-08"), d("2023-03-15"), d("2023-04-12"), d("2023-05-10"),
			d("2023-06-20"), d("2023-07-25"), d("2023-09-08"), d("2023-10-12"), d("2023-11-17")},
		After:    []time.Time{d("2023-12-12"), d("2024-01-09"), d("2024-01-24"), d("2024-02-13"), d("2024-02-28"), d("2024-03-04"), d("2024-03-19")},
		Overcast: []time.Time{d("2023-12-12")},
	}
}
