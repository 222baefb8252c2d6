package aoi_test

import (
	"errors"
	"fmt"

	"github.com/changewatch/changewatch/aoi"
)

func Example() {
	// A 2 km box around the IPIS Muchacha gold mine in the Okapi reserve.
	data := []byte(`{"type": "Feature",
	  "properties": {"id": "muchacha", "name": "Muchacha gold mine (IPIS)"},
	  "geometry": {"type": "Polygon", "coordinates": [[
	    [28.130152, 1.308064], [28.130152, 1.326064], [28.148152, 1.326064],
	    [28.148152, 1.308064], [28.130152, 1.308064]]]}}`)
	a, err := aoi.Parse(data, aoi.DefaultLimits)
	if err != nil {
		fmt.Println(err)
		return
	}
	u := a.UTM()
	minE, minN, maxE, maxN := u.ProjectBound(a.Bound())
	fmt.Printf("%s (%s): %.1f ha\n", a.Name, a.ID, a.AreaHa())
	fmt.Printf("UTM %v, EPSG:%d, %.0f %.0f %.0f %.0f\n", u, u.EPSG(), minE, minN, maxE, maxN)
	fmt.Println("outer ring counter-clockwise:", a.Geometry[0][0].Orientation() > 0)

	// The mine's point record is not an area.
	_, err = aoi.Parse([]byte(`{"type": "Point", "coordinates": [28.139152, 1.317064]}`), aoi.DefaultLimits)
	fmt.Println(err)
	fmt.Println("do not retry:", errors.Is(err, aoi.ErrInvalid))
	// Output:
	// Muchacha gold mine (IPIS) (muchacha): 398.7 ha
	// UTM 35N, EPSG:32635, 625732 144609 627736 146600
	// outer ring counter-clockwise: true
	// aoi: type: Point is not an area; a Polygon or MultiPolygon is required
	// do not retry: true
}
