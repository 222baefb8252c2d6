package demo

import (
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/changewatch/changewatch/aoi"
)

// The AOIs the demo enqueues. They are copies of testdata/aoi/mine_site.geojson and
// testdata/aoi/demo_block.geojson (TestDemoAOIsMatchTestdata keeps them equal), held in
// the binary so that `changewatch demo` needs no file from the repository.
var demoAOIs = []struct{ file, geojson string }{
	{"mine_site.geojson", demoMineSite},
	{"demo_block.geojson", demoBlock},
}

// demoBlockIndex is the index in demoAOIs of the AOI scored against the synthetic truth:
// the block covers (almost) all of the scene's planted objects, the mine site only some.
const demoBlockIndex = 1

const demoMineSite = `{
  "type": "Feature",
  "properties": {
    "id": "muchacha",
    "name": "Muchacha gold mine (IPIS)",
    "mineral": "Gold",
    "n_workers": 800,
    "visit_date": "2015-08-19",
    "protected_area": "Okapi Faunal Reserve",
    "source": "IPIS artisanal mining sites, eastern DRC; 2 km box around the visit point 28.139152 E, 1.317064 N"
  },
  "geometry": {
    "type": "Polygon",
    "coordinates": [[
      [28.130152, 1.308064], [28.148152, 1.308064], [28.148152, 1.326064],
      [28.130152, 1.326064], [28.130152, 1.308064]
    ]]
  }
}
`

const demoBlock = `{
  "type": "Feature",
  "properties": {
    "id": "muchacha-block",
    "name": "Muchacha block (Okapi reserve)",
    "protected_area": "Okapi Faunal Reserve",
    "source": "changewatch demo: box of ±0.043° (≈ 9.6 km × 9.5 km, ≈ 9100 ha) centred on 28.139 E, 1.317 N, the centre of the synthetic scenes (IPIS site Muchacha); inside the 1024 px scene's AOI"
  },
  "geometry": {
    "type": "Polygon",
    "coordinates": [[
      [28.096, 1.274], [28.182, 1.274], [28.182, 1.360],
      [28.096, 1.360], [28.096, 1.274]
    ]]
  }
}
`

// demoArea is one AOI of the demo, fitted to the generated scene.
type demoArea struct {
	data    []byte   // GeoJSON sent in the request
	area    *aoi.AOI // parsed data
	clipped bool     // the bundled AOI stuck out of the scene and was cut to it
}

// fitAOI parses a bundled AOI and checks that it lies inside footprint (the lon/lat
// bounds of the synthetic scene's AOI, where everything is planted). An AOI that sticks
// out (smaller --size) is replaced by the rectangle of the overlap, with the same
// properties: the bundled AOIs are rectangles, so that is exact.
func fitAOI(data []byte, footprint orb.Bound) (demoArea, error) {
	a, err := aoi.Parse(data, aoi.DefaultLimits)
	if err != nil {
		return demoArea{}, err
	}
	b := a.Bound()
	if footprint.Contains(b.Min) && footprint.Contains(b.Max) {
		return demoArea{data: data, area: a}, nil
	}
	in := orb.Bound{
		Min: orb.Point{max(b.Min.X(), footprint.Min.X()), max(b.Min.Y(), footprint.Min.Y())},
		Max: orb.Point{min(b.Max.X(), footprint.Max.X()), min(b.Max.Y(), footprint.Max.Y())},
	}
	if in.Min.X() >= in.Max.X() || in.Min.Y() >= in.Max.Y() {
		return demoArea{}, fmt.Errorf("aoi %s lies outside the synthetic scene", a.ID)
	}
	f := geojson.NewFeature(in.ToPolygon())
	for k, v := range a.Properties {
		f.Properties[k] = v
	}
	f.Properties["clipped"] = "to the footprint of the synthetic scene"
	clipped, err := f.MarshalJSON()
	if err != nil {
		return demoArea{}, fmt.Errorf("aoi %s: %w", a.ID, err)
	}
	c, err := aoi.Parse(clipped, aoi.DefaultLimits)
	if err != nil {
		return demoArea{}, fmt.Errorf("aoi %s clipped to the scene: %w", a.ID, err)
	}
	return demoArea{data: clipped, area: c, clipped: true}, nil
}
