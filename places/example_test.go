package places_test

import (
	"fmt"

	"github.com/paulmach/orb"

	"github.com/changewatch/changewatch/places"
)

// A 400 m square around the Muchacha gold pit, in the Okapi reserve.
func Example() {
	layers, err := places.Bundled()
	if err != nil {
		panic(err)
	}
	const lon, lat, d = 28.139152, 1.317064, 0.0018
	fp := orb.MultiPolygon{{{{lon - d, lat - d}, {lon + d, lat - d}, {lon + d, lat + d}, {lon - d, lat + d}, {lon - d, lat - d}}}}
	p := layers.Locate(fp)
	fmt.Printf("%s; %s (%s, %d workers, visited %s) %.1f km\n", p.ProtectedArea, p.MineName, p.MineMineral, p.MineWorkers, p.MineVisitDate, p.MineDistanceKm)
	// Output:
	// Okapi Faunal Reserve; Muchacha (gold, 800 workers, visited 2015-08-19) 0.0 km
}
