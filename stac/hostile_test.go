package stac

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func hostileItem(cloud, redType string) []byte {
	return fmt.Appendf(nil, `{"type":"Feature","stac_version":"1.0.0","id":"S2B_35NPB_20240115_0_L2A","collection":"sentinel-2-l2a",
	"bbox":[28,1,29,2],"properties":{"datetime":"2024-01-15T08:30:00Z","eo:cloud_cover":%s},
	"assets":{"red":{"href":"./B04.tif","raster:bands":[{"data_type":%q}]}}}`, cloud, redType)
}

func TestParseItemRefusesHostileProperties(t *testing.T) {
	tests := []struct {
		name, cloud, redType, problem string
	}{
		{"good", `12.5`, "uint16", ""},
		{"cloud cover NaN as a string", `"NaN"`, "uint16", "eo:cloud_cover"},
		{"cloud cover Inf", `"+Inf"`, "uint16", "eo:cloud_cover"},
		{"cloud cover negative", `-1`, "uint16", "eo:cloud_cover"},
		{"cloud cover above 100", `250`, "uint16", "eo:cloud_cover"},
		{"red declared as uint8", `10`, "uint8", "data_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseItem(hostileItem(tt.cloud, tt.redType), "/cat/x/item.json")
			if tt.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("error %v, want one about %s", err, tt.problem)
			}
		})
	}
}

func TestDedupeSameIDInSeveralFolders(t *testing.T) {
	var items []Item
	for _, dir := range []string{"c", "a", "b"} {
		it, err := ParseItem(hostileItem("10", "uint16"), "/cat/"+dir+"/item.json")
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	out := Dedupe(items)
	if len(out) != 1 || out[0].Href != "/cat/a/item.json" {
		t.Fatalf("kept %d items (%v), want the one in /cat/a", len(out), out)
	}
}

func TestNextLinkMustStayOnTheAPIHost(t *testing.T) {
	cur := pageRequest{method: "GET", url: "https://stac.example.org/v1/search?page=1"}
	for _, href := range []string{"http://127.0.0.1:9/latest/meta-data/", "http://stac.example.org/v1/search?page=2", "//evil.example/search"} {
		_, _, err := nextRequest(cur, []apiLink{{Rel: "next", Href: href}})
		if !errors.Is(err, ErrPermanent) {
			t.Errorf("next %s: %v, want a permanent refusal", href, err)
		}
	}
	next, ok, err := nextRequest(cur, []apiLink{{Rel: "next", Href: "/v1/search?page=2"}})
	if err != nil || !ok || next.url != "https://stac.example.org/v1/search?page=2" {
		t.Errorf("same host: %v %v %v", next.url, ok, err)
	}
}
