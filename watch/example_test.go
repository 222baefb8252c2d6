package watch_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/changewatch/changewatch/jobs"
	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/watch"
)

// A watch list in a bucket (here the in-memory twin): each file one AOI, with an
// optional schedule. On 10 June the periodic tasks carry the runs due next: the one of
// 2 July (default schedule) and of 1 July (@monthly), both for June.
func ExampleProvider() {
	ctx := context.Background()
	store := s3store.NewMemory("gis")
	aoi := `{"type":"Feature","properties":{"id":"%s"%s},"geometry":{"type":"Polygon",
		"coordinates":[[[28.13,1.308],[28.148,1.308],[28.148,1.326],[28.13,1.326],[28.13,1.308]]]}}`
	_ = store.Put(ctx, "gis", "watch/muchacha.geojson", fmt.Appendf(nil, aoi, "muchacha", ""), "")
	_ = store.Put(ctx, "gis", "watch/mambasa.geojson", fmt.Appendf(nil, aoi, "mambasa", `,"schedule":"@monthly"`), "")

	loc, err := watch.ParseLocation("s3://gis/watch", store)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &watch.Provider{
		Watch: loc, Catalog: "s3://imagery/catalog", Output: "s3://results",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Now:    func() time.Time { return time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC) },
	}
	configs, err := p.GetConfigs()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range configs {
		r, _ := jobs.DecodeDetectRequest(c.Task.Payload())
		fmt.Printf("%-9s %-10s %s -> %s %s\n", c.Cronspec, r.AOIID, r.Before, r.After, r.Output)
	}
	// Output:
	// @monthly  mambasa    2023-06-01/2024-05-31 -> 2024-06-01/2024-06-30 s3://results/mambasa/2024-06_2024-06
	// 0 6 2 * * muchacha   2023-06-01/2024-05-31 -> 2024-06-01/2024-06-30 s3://results/muchacha/2024-06_2024-06
}
