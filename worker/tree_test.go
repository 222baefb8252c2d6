package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/changewatch/changewatch/internal/stacschema"
	"github.com/changewatch/changewatch/stactree"
)

// stacItem is what the tests read of an item.json.
type stacItem struct {
	Collection string          `json:"collection"`
	Links      []stactree.Link `json:"links"`
	Assets     map[string]struct {
		Href     string           `json:"href"`
		Size     int64            `json:"file:size"`
		Checksum string           `json:"file:checksum"`
		Bands    []map[string]any `json:"raster:bands"`
		Classes  []struct {
			Value int    `json:"value"`
			Name  string `json:"name"`
			Color string `json:"color_hint"`
		} `json:"classification:classes"`
	} `json:"assets"`
}

// checkItem validates a run's item.json with the vendored STAC schemas and checks that
// every asset is there with the size and SHA-256 the item gives, that the class raster
// lists its classes and the dNDVI raster its scale, and that the item links its source
// scenes.
func checkItem(t *testing.T, out string) stacItem {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, stactree.ItemFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := stacschema.Validate(data); err != nil {
		t.Fatalf("item.json: %v", err)
	}
	var it stacItem
	if err := json.Unmarshal(data, &it); err != nil {
		t.Fatal(err)
	}
	for key, a := range it.Assets {
		b, err := os.ReadFile(filepath.Join(out, a.Href))
		if err != nil {
			t.Fatalf("asset %s: %v", key, err)
		}
		sum := sha256.Sum256(b)
		if int64(len(b)) != a.Size || a.Checksum != "1220"+hex.EncodeToString(sum[:]) {
			t.Errorf("asset %s: file:size %d file:checksum %s, the file has %d bytes, sha2-256 %x", key, a.Size, a.Checksum, len(b), sum)
		}
	}
	names := map[int]string{}
	for _, c := range it.Assets["change_class"].Classes {
		names[c.Value] = c.Name + " " + c.Color
	}
	if names[1] != "vegetation_to_bare FF8C00" || names[255] != "not_observed 808080" || len(names) != 6 {
		t.Errorf("change_class classes %v", names)
	}
	if b := it.Assets["dndvi"].Bands; len(b) != 1 || b[0]["scale"] != 0.001 || b[0]["data_type"] != "int16" || b[0]["nodata"] != -32768.0 {
		t.Errorf("dndvi bands %v", b)
	}
	if b := it.Assets["after_rgb"].Bands; len(b) != 3 || b[0]["nodata"] != nil { // JPEG: its mask, not a nodata value
		t.Errorf("after_rgb bands %v", b)
	}
	n := 0
	for _, l := range it.Links {
		if l.Rel == "derived_from" {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no derived_from link: %+v", it.Links)
	}
	return it
}

// A run published into the tree (<root>/<aoi>/<run>) writes its AOI's collection and
// the root's catalog; item, collection and catalog are valid STAC 1.0.0 (with the raster,
// file and classification extensions), and every self, parent, root, collection, child,
// item and derived_from link resolves.
func TestSTACTreeOfARun(t *testing.T) {
	s := scenes(t)
	root := t.TempDir()
	out := filepath.Join(root, "synthetic", "2024-03_2024-03")
	req := request(t, s.AOIGeoJSON, s.Root, out)
	req.AOIID = "synthetic"
	if _, err := (&Pipeline{}).Detect(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	it := checkItem(t, out)
	if it.Collection != stactree.CollectionID("synthetic") {
		t.Errorf("item collection %q", it.Collection)
	}
	resolve := func(dir string, links []stactree.Link, rels ...string) {
		t.Helper()
		seen := map[string]bool{}
		for _, l := range links {
			seen[l.Rel] = true
			p := l.Href
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, l.Href)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("%s link %s: %v", l.Rel, l.Href, err)
				continue
			}
			if err := stacschema.Validate(data); err != nil && l.Rel != "derived_from" {
				t.Errorf("%s link %s: %v", l.Rel, l.Href, err)
			}
			var doc struct{ Type string }
			if json.Unmarshal(data, &doc); l.Rel == "derived_from" && doc.Type != "Feature" {
				t.Errorf("derived_from %s is a %q, not an item", l.Href, doc.Type)
			}
		}
		for _, r := range rels {
			if !seen[r] {
				t.Errorf("no %s link in %+v", r, links)
			}
		}
	}
	resolve(out, it.Links, "self", "parent", "root", "collection", "derived_from")
	for _, f := range []struct{ dir, file string }{{filepath.Join(root, "synthetic"), stactree.CollectionFile}, {root, stactree.CatalogFile}} {
		data, err := os.ReadFile(filepath.Join(f.dir, f.file))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Links []stactree.Link }
		json.Unmarshal(data, &doc)
		want := []string{"self", "root", "item", "parent"}
		if f.file == stactree.CatalogFile {
			want = []string{"self", "root", "child"}
		}
		resolve(f.dir, doc.Links, want...)
	}
}

// Publishes of different AOIs, and of runs of one AOI, that finish at the same time
// leave a catalog with every AOI and collections with every run, in a folder and in a
// bucket.
func TestSTACTreeConcurrentPublishes(t *testing.T) {
	const aois, runs = 6, 2
	ctx := context.Background()
	item := func(a, r int) []byte {
		return fmt.Appendf(nil, `{"bbox": [%d, 0, %d.5, 1], "properties": {"start_datetime": "2023-0%d-01T00:00:00Z", "end_datetime": "2024-0%d-28T00:00:00Z"}}`, a, a, r+1, r+1)
	}
	runName := func(r int) string { return fmt.Sprintf("2024-0%d_2024-0%d", r+1, r+1) }
	cases := []struct {
		name  string
		setup func(t *testing.T) (root string, put func(key string, data []byte), get func(key string) ([]byte, error), p *Pipeline)
	}{
		{"folder", func(t *testing.T) (string, func(string, []byte), func(string) ([]byte, error), *Pipeline) {
			root := t.TempDir()
			put := func(key string, data []byte) {
				p := filepath.Join(root, key)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			get := func(key string) ([]byte, error) { return os.ReadFile(filepath.Join(root, key)) }
			return root, put, get, &Pipeline{}
		}},
		{"bucket", func(t *testing.T) (string, func(string, []byte), func(string) ([]byte, error), *Pipeline) {
			const bucket = "cw-tree"
			store, _, _, _ := testS3(t, bucket)
			prefix := "results-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
			put := func(key string, data []byte) {
				if err := store.Put(ctx, bucket, path.Join(prefix, key), data, "application/json"); err != nil {
					t.Fatal(err)
				}
			}
			get := func(key string) ([]byte, error) { return store.Get(ctx, bucket, path.Join(prefix, key)) }
			return "s3://" + bucket + "/" + prefix, put, get, &Pipeline{Store: store}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, put, get, p := c.setup(t)
			for a := range aois {
				for r := range runs {
					dir := fmt.Sprintf("aoi-%d/%s/", a, runName(r))
					put(dir+"item.json", item(a, r))
					put(dir+"manifest.json", []byte(`{"files": []}`))
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, aois*runs)
			for a := range aois {
				for r := range runs {
					wg.Go(func() { errs[a*runs+r] = p.updateTree(ctx, root, fmt.Sprintf("aoi-%d", a)) })
				}
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			links := func(key string) (hrefs []string) {
				data, err := get(key)
				if err != nil {
					t.Fatal(err)
				}
				if err := stacschema.Validate(data); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				var doc struct{ Links []stactree.Link }
				json.Unmarshal(data, &doc)
				for _, l := range doc.Links {
					if l.Rel == "child" || l.Rel == "item" {
						hrefs = append(hrefs, l.Href)
					}
				}
				return hrefs
			}
			var want []string
			for a := range aois {
				want = append(want, fmt.Sprintf("./aoi-%d/collection.json", a))
				var items []string
				for r := range runs {
					items = append(items, "./"+runName(r)+"/item.json")
				}
				if got := links(fmt.Sprintf("aoi-%d/collection.json", a)); !slices.Equal(got, items) {
					t.Errorf("aoi-%d items %v, want %v", a, got, items)
				}
			}
			if got := links("catalog.json"); !slices.Equal(got, want) {
				t.Errorf("catalog children %v, want %v", got, want)
			}
		})
	}
}
