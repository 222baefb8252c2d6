package raster

import "testing"

func TestGDALPath(t *testing.T) {
	tests := []struct{ href, want string }{
		{"/data/B04.tif", "/data/B04.tif"},
		{"s3://sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A/B04.tif", "/vsis3/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A/B04.tif"},
		{"https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A/B04.tif", "/vsis3/sentinel-cogs/sentinel-s2-l2a-cogs/29/R/KH/2020/2/S2A_29RKH_20200219_0_L2A/B04.tif"},
		{"https://my.mirror.bucket.s3.eu-west-1.amazonaws.com/a/b.tif", "/vsis3/my.mirror.bucket/a/b.tif"},
		{"https://s3.us-west-2.amazonaws.com/sentinel-cogs/x/B04.tif", "/vsis3/sentinel-cogs/x/B04.tif"},
		{"https://sentinel-cogs.s3.amazonaws.com/x/B04.tif", "/vsis3/sentinel-cogs/x/B04.tif"},
		{"https://example.org/B04.tif", "/vsicurl/https://example.org/B04.tif"},
		{"https://earth-search.aws.element84.com/v1/x.tif", "/vsicurl/https://earth-search.aws.element84.com/v1/x.tif"},
	}
	for _, tt := range tests {
		if got, err := GDALPath(tt.href); err != nil || got != tt.want {
			t.Errorf("GDALPath(%q) = %q, %v, want %q", tt.href, got, err, tt.want)
		}
	}
}
