package ledger_test

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"

	"github.com/changewatch/changewatch/ledger"
)

// A scar seen in January and, larger, in February is one incident, growing.
func Example() {
	square := func(side float64) orb.MultiPolygon {
		d := side / 111_000
		return orb.MultiPolygon{{{{28.1, 1.3}, {28.1 + d, 1.3}, {28.1 + d, 1.3 + d}, {28.1, 1.3 + d}, {28.1, 1.3}}}}
	}
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	runs := []ledger.Run{
		{Name: "2024-01_2024-01", Polygons: []ledger.Polygon{{ID: "cw-a", Class: "vegetation_to_bare", AreaHa: 4,
			Confidence: 0.8, Geometry: square(200), FirstObs: day("2024-01-09"), LastObs: day("2024-01-24")}}},
		{Name: "2024-02_2024-02", Polygons: []ledger.Polygon{{ID: "cw-b", Class: "vegetation_to_bare", AreaHa: 9,
			Confidence: 0.9, Geometry: square(300), FirstObs: day("2024-02-13"), LastObs: day("2024-02-28")}}},
	}
	l := ledger.Build("muchacha", runs, nil, ledger.Params{})
	for _, inc := range l.Incidents {
		fmt.Println(inc.ID, inc.Status, inc.FirstSeen, inc.LastSeen, inc.AreaByRun)
	}
	// Output:
	// inc-muchacha-2d971146 growing 2024-01-09 2024-02-28 map[2024-01_2024-01:4 2024-02_2024-02:9]
}
