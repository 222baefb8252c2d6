package access

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	p := &Policy{Allow: DefaultAllow}
	narrow := &Policy{Allow: []string{"s3://sentinel-cogs/sentinel-s2-l2a-cogs/", "https://data.example.org/cogs/", "/srv/mirror"}}
	const local = "/data/catalog"
	tests := []struct {
		name, href, catalog string
		policy              *Policy
		want                string // the location's String(), "" when refused
		problem             string // part of the refusal
	}{
		{"local under the catalog", "/data/catalog/35/B04/x/B04.tif", local, p, "/data/catalog/35/B04/x/B04.tif", ""},
		{"local catalog named by an item file", "/data/catalog/x/B04.tif", "/data/catalog/x/item.json", p, "/data/catalog/x/B04.tif", ""},
		{"local outside the catalog", "/etc/passwd.tif", local, p, "", "outside the allowed locations"},
		{"local sibling folder with the catalog as prefix", "/data/catalog2/B04.tif", local, p, "", "outside"},
		{"dot-dot out of the catalog", "/data/catalog/../secret/B04.tif", local, p, "", `path element ".."`},
		{"dot element", "/data/catalog/./B04.tif", local, p, "", `path element "."`},
		{"vsicurl", "/vsicurl/http://127.0.0.1:9/x.tif", local, p, "", "virtual file systems"},
		{"vsizip", "/vsizip//data/catalog/a.zip/B04.tif", local, p, "", "virtual file systems"},
		{"vsisubfile", "/vsisubfile/0_100,/data/catalog/B04.tif", local, p, "", "virtual file systems"},
		{"inline VRT", `<VRTDataset rasterXSize="1"><VRTRasterBand/></VRTDataset>`, local, p, "", "inline datasets"},
		{"inline JSON", `{"type":"x"}.tif`, local, p, "", "inline datasets"},
		{"fragment trick", "http://127.0.0.1:8080/latest/meta-data/#.tif", local, p, "", "fragments"},
		{"driver prefix", "GTIFF_DIR:1:/data/catalog/B04.tif", local, p, "", "driver prefix"},
		{"vrt scheme", "vrt:///data/catalog/B04.tif", local, p, "", "driver prefix"},
		{"file scheme", "file:///etc/passwd.tif", local, p, "", "driver prefix"},
		{"backslash", `/data/catalog/..\..\B04.tif`, local, p, "", "backslash"},
		{"NUL", "/data/catalog/B04.tif\x00.png", local, p, "", "control character"},
		{"unicode look-alike of a slash", "/data/catalog/\u2215etc\u2215B04.tif", local, p, "", "non-ASCII"},
		{"fullwidth dots", "/data/catalog/\uff0e\uff0e/B04.tif", local, p, "", "non-ASCII"},
		{"not a tif", "/data/catalog/B04.jp2", local, p, "", "not a .tif"},
		{"http to another host", "http://127.0.0.1:8080/latest/meta-data/x.tif", local, p, "", "outside"},
		{"http on the API's host", "https://stac.example.org/assets/B04.tif", "https://stac.example.org/v1", p, "https://stac.example.org/assets/B04.tif", ""},
		{"http on another port of the API's host", "https://stac.example.org:8443/assets/B04.tif", "https://stac.example.org/v1", p, "", "outside"},
		{"http scheme downgrade", "http://stac.example.org/assets/B04.tif", "https://stac.example.org/v1", p, "", "outside"},
		{"http credentials", "https://user:pw@stac.example.org/B04.tif", "https://stac.example.org/v1", p, "", "credentials"},
		{"percent-encoded dot-dot", "https://stac.example.org/a/%2e%2e/B04.tif", "https://stac.example.org/v1", p, "", "percent-encoded"},
		{"s3 any bucket by default", "s3://sentinel-cogs/sentinel-s2-l2a-cogs/35/N/PB/B04.tif", local, p, "s3://sentinel-cogs/sentinel-s2-l2a-cogs/35/N/PB/B04.tif", ""},
		{"aws object url is s3", "https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/35/N/PB/B04.tif", local, p, "s3://sentinel-cogs/sentinel-s2-l2a-cogs/35/N/PB/B04.tif", ""},
		{"aws path-style url is s3", "https://s3.us-west-2.amazonaws.com/sentinel-cogs/x/B04.tif", local, p, "s3://sentinel-cogs/x/B04.tif", ""},
		{"s3 bad bucket", "s3://Bad_Bucket/B04.tif", local, p, "", "not a valid bucket"},
		{"s3 dot-dot", "s3://imagery/catalog/../../B04.tif", "s3://imagery/catalog", p, "", `path element ".."`},
		{"narrow: s3 allowed prefix", "s3://sentinel-cogs/sentinel-s2-l2a-cogs/35/B04.tif", local, narrow, "s3://sentinel-cogs/sentinel-s2-l2a-cogs/35/B04.tif", ""},
		{"narrow: s3 other bucket", "s3://results/secret/B04.tif", local, narrow, "", "outside"},
		{"narrow: s3 under the catalog's prefix", "s3://imagery/catalog/35/B04.tif", "s3://imagery/catalog", narrow, "s3://imagery/catalog/35/B04.tif", ""},
		{"narrow: s3 same bucket outside the catalog's prefix", "s3://imagery/other/B04.tif", "s3://imagery/catalog", narrow, "", "outside"},
		{"narrow: https allowed path", "https://data.example.org/cogs/B04.tif", local, narrow, "https://data.example.org/cogs/B04.tif", ""},
		{"narrow: https other path", "https://data.example.org/private/B04.tif", local, narrow, "", "outside"},
		{"narrow: mirror folder", "/srv/mirror/35/B04.tif", local, narrow, "/srv/mirror/35/B04.tif", ""},
		{"empty", "", local, p, "", "empty"},
		{"huge", "/data/catalog/" + strings.Repeat("a", 3000) + ".tif", local, p, "", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := tt.policy.Check(tt.href, tt.catalog)
			if tt.want != "" {
				if err != nil {
					t.Fatal(err)
				}
				if loc.String() != tt.want {
					t.Fatalf("location %s, want %s", loc, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("error %v, want a refusal about %q", err, tt.problem)
			}
			if re := (*RefusedError)(nil); !errors.As(err, &re) || re.Href != tt.href {
				t.Errorf("error %v does not name the href", err)
			}
		})
	}
}

func TestCheckCatalog(t *testing.T) {
	p := &Policy{Catalogs: []string{"s3://imagery/", "https://earth-search.aws.element84.com/v1"}}
	for _, c := range []string{"s3://imagery/catalog", "https://earth-search.aws.element84.com/v1"} {
		if err := p.CheckCatalog(c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	for _, c := range []string{"s3://other/catalog", "http://127.0.0.1:9/v1", "/vsicurl/http://x/", "/data/catalog"} {
		if err := p.CheckCatalog(c); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want a refusal", c, err)
		}
	}
	if err := (&Policy{}).CheckCatalog("/data/catalog"); err != nil {
		t.Errorf("no catalog list: %v", err)
	}
}
