package places

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestGeodesicKm(t *testing.T) {
	tests := []struct {
		name string
		a, b orb.Point
		want float64 // km, from the WGS84 ellipsoid's parameters
	}{
		{"same point", orb.Point{28, 1}, orb.Point{28, 1}, 0},
		{"a degree of the equator: a·π/180", orb.Point{0, 0}, orb.Point{1, 0}, 111.319491},
		{"the meridian arc from 0 to 1 degree", orb.Point{0, 0}, orb.Point{0, 1}, 110.574389},
		{"the meridian arc from 0 to 90 degrees (quarter meridian)", orb.Point{10, 0}, orb.Point{10, 90}, 10001.965729},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GeodesicKm(tt.a, tt.b); math.Abs(got-tt.want) > 1e-5 {
				t.Fatalf("%.6f km, want %.6f", got, tt.want)
			}
		})
	}
}

// square is a footprint of side km kilometres centred at lon/lat c.
func square(c orb.Point, side float64) orb.MultiPolygon {
	dy := side / 2 / 110.574
	dx := dy / math.Cos(c[1]*math.Pi/180)
	return orb.MultiPolygon{{{{c[0] - dx, c[1] - dy}, {c[0] + dx, c[1] - dy}, {c[0] + dx, c[1] + dy}, {c[0] - dx, c[1] + dy}, {c[0] - dx, c[1] - dy}}}}
}

func TestLocateBundled(t *testing.T) {
	l, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	muchacha := orb.Point{28.139152, 1.317064}
	east := func(km float64) orb.Point {
		return orb.Point{muchacha[0] + km/111.3/math.Cos(muchacha[1]*math.Pi/180), muchacha[1]}
	}
	tests := []struct {
		name    string
		fp      orb.MultiPolygon
		area    string
		mine    string
		distKm  float64
		tolerKm float64
		mineral string
		workers int
		visit   string
	}{
		{"around the Muchacha pit", square(muchacha, 0.4), "Okapi Faunal Reserve", "Muchacha", 0, 0, "gold", 800, "2015-08-19"},
		// A 200 m square whose west edge is 1.4 km east of the pit.
		{"1.4 km east of it", square(east(1.5), 0.2), "Okapi Faunal Reserve", "Muchacha", 1.4, 0.01, "gold", 800, "2015-08-19"},
		{"Kinshasa, outside every reserve", square(orb.Point{15.3, -4.3}, 0.2), "", "", -1, 0, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := l.Locate(tt.fp)
			if p.ProtectedArea != tt.area {
				t.Fatalf("protected area %q, want %q", p.ProtectedArea, tt.area)
			}
			if tt.distKm < 0 { // far from every site: some site, hundreds of km away
				if p.MineName == "" || p.MineDistanceKm < 500 {
					t.Fatalf("%+v", p)
				}
				return
			}
			if p.MineName != tt.mine || math.Abs(p.MineDistanceKm-tt.distKm) > tt.tolerKm || p.MineMineral != tt.mineral ||
				p.MineWorkers != tt.workers || p.MineVisitDate != tt.visit {
				t.Fatalf("%+v", p)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	areas := []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Box"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}}]}`)
	mines := []byte(`{"type":"FeatureCollection","features":[
	{"type":"Feature","properties":{"name":"A","mineral":"Gold","n_workers":10,"visit_date":"2012-01-01Z"},"geometry":{"type":"Point","coordinates":[0.5,0.5]}},
	{"type":"Feature","properties":{"name":"A","mineral":"Gold","n_workers":30,"visit_date":"2014-05-02Z"},"geometry":{"type":"Point","coordinates":[0.5,0.5]}},
	{"type":"Feature","properties":{"name":"A","mineral":"Gold","n_workers":20,"visit_date":"2013-01-01Z"},"geometry":{"type":"Point","coordinates":[0.5,0.5]}}]}`)
	l, err := Load(areas, mines)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.mines) != 1 || l.mines[0].workers != 30 || l.mines[0].visit != "2014-05-02" {
		t.Fatalf("repeated visits not kept once with the latest: %+v", l.mines)
	}
	if p := l.Locate(square(orb.Point{0.5, 0.5}, 1)); p.ProtectedArea != "Box" || p.MineDistanceKm != 0 {
		t.Fatalf("%+v", p)
	}
	for name, bad := range map[string][2]string{
		"areas not JSON":     {`{`, string(mines)},
		"area is a point":    {`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,0]}}]}`, string(mines)},
		"mine is a polygon":  {string(areas), string(areas)},
		"mine off the globe": {string(areas), `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[200,0]}}]}`},
	} {
		if _, err := Load([]byte(bad[0]), []byte(bad[1])); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
