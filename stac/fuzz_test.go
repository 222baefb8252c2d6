package stac

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changewatch/changewatch/access"
	"github.com/changewatch/changewatch/internal/testenv"
)

// FuzzParseItem: whatever the document, ParseItem returns an Item or an error, never
// panics; an accepted item has an id, a finite cloud cover in 0..100, and asset hrefs
// that access.Parse either accepts or refuses without panicking. Seeded with the real
// Earth Search v0 and v1 items of ../shared/data/stac.
func FuzzParseItem(f *testing.F) {
	shared := testenv.SharedData(f)
	var seeds []string
	for _, dir := range []string{"earth-search-v1/items", "earth-search-v0"} {
		ps, _ := filepath.Glob(filepath.Join(shared, "stac", dir, "*.json"))
		seeds = append(seeds, ps...)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed items in the shared data")
	}
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "/cat/"+filepath.Base(p))
	}
	f.Add([]byte(`{"type":"Feature","stac_version":"1.0.0","id":"x","bbox":[0,0,1,1],"properties":{"datetime":"2024-01-01T00:00:00Z"},"assets":{"red":{"href":"../B04.tif"}}}`), "s3://b/k/item.json")
	f.Fuzz(func(t *testing.T, data []byte, href string) {
		it, err := ParseItem(data, href)
		if err != nil {
			return
		}
		if it.ID == "" {
			t.Fatal("accepted an item without id")
		}
		if math.IsNaN(it.CloudCover) || it.CloudCover < 0 || it.CloudCover > 100 {
			t.Fatalf("accepted cloud cover %g", it.CloudCover)
		}
		for _, a := range it.Assets {
			if loc, err := access.Parse(a.Href); err == nil && loc.Kind == access.Local && (strings.HasPrefix(loc.Path, "/vsi") || strings.ContainsAny(loc.Path, "<#\\")) {
				t.Fatalf("href %q parsed as local path %q", a.Href, loc.Path)
			}
		}
	})
}
