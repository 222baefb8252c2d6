// Package places says where a change lies: inside which protected area, and how far from
// which artisanal mining site. Its layers are the DRC protected areas (WRI/MECNT 2013) and
// the IPIS mining site visits, bundled (data/SOURCES.md), or any GeoJSON files with the
// same attributes. Distances are geodesic on the WGS84 ellipsoid. Pure Go.
package places

import (
	"cmp"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/changewatch/changewatch/ledger"
)

//go:embed data/protected_areas.geojson
var bundledAreas []byte

//go:embed data/ipis_mines.geojson
var bundledMines []byte

// Limits on the layers accepted (a configured file is data from outside).
const (
	MaxAreas = 10_000
	MaxMines = 1_000_000
)

type area struct {
	name  string
	geom  orb.MultiPolygon
	bound orb.Bound
}

type mine struct {
	name, mineral string
	workers       int
	visit         string // YYYY-MM-DD
	at            orb.Point
}

// Layers are the protected areas and mining sites that incidents are placed against.
type Layers struct {
	areas []area
	mines []mine
}

// Bundled returns the layers shipped with changewatch.
func Bundled() (*Layers, error) { return Load(bundledAreas, bundledMines) }

// Load reads a protected-area layer (GeoJSON polygons with NAME_AP or NOM or name) and a
// mining-site layer (GeoJSON points with name, mineral, n_workers, visit_date). A site
// visited several times is kept once, with its latest visit.
func Load(areas, mines []byte) (*Layers, error) {
	l := &Layers{}
	fc, err := geojson.UnmarshalFeatureCollection(areas)
	if err != nil {
		return nil, fmt.Errorf("protected areas: %w", err)
	}
	if len(fc.Features) > MaxAreas {
		return nil, fmt.Errorf("protected areas: %d features: more than %d", len(fc.Features), MaxAreas)
	}
	for i, f := range fc.Features {
		name := cmp.Or(f.Properties.MustString("NAME_AP", ""), f.Properties.MustString("NOM", ""), f.Properties.MustString("name", ""))
		var mp orb.MultiPolygon
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		default:
			return nil, fmt.Errorf("protected areas: feature %d: geometry %T, want a polygon", i, f.Geometry)
		}
		if name == "" || len(mp) == 0 {
			continue
		}
		l.areas = append(l.areas, area{name: name, geom: mp, bound: mp.Bound()})
	}
	fc, err = geojson.UnmarshalFeatureCollection(mines)
	if err != nil {
		return nil, fmt.Errorf("mining sites: %w", err)
	}
	if len(fc.Features) > MaxMines {
		return nil, fmt.Errorf("mining sites: %d features: more than %d", len(fc.Features), MaxMines)
	}
	type key struct {
		name string
		at   orb.Point
	}
	latest := map[key]int{}
	for i, f := range fc.Features {
		pt, ok := f.Geometry.(orb.Point)
		if !ok {
			return nil, fmt.Errorf("mining sites: feature %d: geometry %T, want a point", i, f.Geometry)
		}
		if pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
			return nil, fmt.Errorf("mining sites: feature %d: point %v outside lon/lat", i, pt)
		}
		visit := f.Properties.MustString("visit_date", "")
		if len(visit) >= 10 {
			visit = visit[:10]
		}
		m := mine{name: f.Properties.MustString("name", ""), mineral: strings.ToLower(f.Properties.MustString("mineral", "")),
			workers: int(math.Round(f.Properties.MustFloat64("n_workers", 0))), visit: visit, at: pt}
		k := key{m.name, pt}
		if j, ok := latest[k]; ok {
			if m.visit > l.mines[j].visit {
				l.mines[j] = m
			}
			continue
		}
		latest[k] = len(l.mines)
		l.mines = append(l.mines, m)
	}
	return l, nil
}

// Locate implements ledger.Locator: the protected area holding the footprint's
// representative point (the centroid of its largest part), and the mining site nearest
// to the footprint.
func (l *Layers) Locate(fp orb.MultiPolygon) ledger.Place {
	var p ledger.Place
	if len(fp) == 0 {
		return p
	}
	largest := slices.MaxFunc(fp, func(a, b orb.Polygon) int { return cmp.Compare(planar.Area(a), planar.Area(b)) })
	c, _ := planar.CentroidArea(largest)
	for _, a := range l.areas {
		if a.bound.Contains(c) && planar.MultiPolygonContains(a.geom, c) {
			p.ProtectedArea = a.name
			break
		}
	}
	if len(l.mines) == 0 {
		return p
	}
	// Candidates by the distance of their point to the footprint's centroid, then the
	// closest few measured against the footprint itself.
	type cand struct {
		i int
		d float64
	}
	cs := make([]cand, len(l.mines))
	for i, m := range l.mines {
		cs[i] = cand{i, haversineKm(c, m.at)}
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.i, b.i)) })
	best, bestD := -1, math.Inf(1)
	for _, k := range cs[:min(8, len(cs))] {
		if d := DistanceKm(fp, l.mines[k.i].at); d < bestD {
			best, bestD = k.i, d
		}
	}
	m := l.mines[best]
	p.MineName, p.MineMineral, p.MineWorkers, p.MineVisitDate, p.MineDistanceKm = m.name, m.mineral, m.workers, m.visit, bestD
	return p
}

// DistanceKm is the geodesic distance from pt to footprint fp: 0 when pt is inside, else
// to the nearest point of its outline (found in a local equirectangular frame, then
// measured on the ellipsoid).
func DistanceKm(fp orb.MultiPolygon, pt orb.Point) float64 {
	if planar.MultiPolygonContains(fp, pt) {
		return 0
	}
	kx := math.Cos(pt[1] * math.Pi / 180)
	var near orb.Point
	best := math.Inf(1)
	for _, poly := range fp {
		for _, r := range poly {
			for i := 0; i+1 < len(r); i++ {
				q := closestOnSegment(pt, r[i], r[i+1], kx)
				if d := math.Hypot((q[0]-pt[0])*kx, q[1]-pt[1]); d < best {
					best, near = d, q
				}
			}
		}
	}
	if math.IsInf(best, 1) {
		return math.Inf(1)
	}
	return GeodesicKm(pt, near)
}

// closestOnSegment is the point of segment ab nearest to p, longitudes scaled by kx.
func closestOnSegment(p, a, b orb.Point, kx float64) orb.Point {
	ax, ay := (a[0]-p[0])*kx, a[1]-p[1]
	bx, by := (b[0]-p[0])*kx, b[1]-p[1]
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, -(ax*dx+ay*dy)/l2))
	}
	return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
}

// haversineKm is the great-circle distance on the authalic sphere (candidate ranking).
func haversineKm(a, b orb.Point) float64 {
	const r = 6371.0071809
	la1, la2 := a[1]*math.Pi/180, b[1]*math.Pi/180
	dla, dlo := la2-la1, (b[0]-a[0])*math.Pi/180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

// GeodesicKm is the distance between two lon/lat points on the WGS84 ellipsoid by
// Vincenty's inverse formula (T. Vincenty, "Direct and inverse solutions of geodesics on
// the ellipsoid with application of nested equations", Survey Review 23(176), 1975),
// accurate to well under a millimetre; for nearly antipodal points, where it does not
// converge, the great-circle distance.
func GeodesicKm(p1, p2 orb.Point) float64 {
	const (
		a = 6378137.0
		f = 1 / 298.257223563
		b = a * (1 - f)
	)
	if p1 == p2 {
		return 0
	}
	L := (p2[0] - p1[0]) * math.Pi / 180
	U1 := math.Atan((1 - f) * math.Tan(p1[1]*math.Pi/180))
	U2 := math.Atan((1 - f) * math.Tan(p2[1]*math.Pi/180))
	sinU1, cosU1 := math.Sincos(U1)
	sinU2, cosU2 := math.Sincos(U2)
	lambda := L
	for range 200 {
		sinL, cosL := math.Sincos(lambda)
		sinSigma := math.Hypot(cosU2*sinL, cosU1*sinU2-sinU1*cosU2*cosL)
		if sinSigma == 0 {
			return 0
		}
		cosSigma := sinU1*sinU2 + cosU1*cosU2*cosL
		sigma := math.Atan2(sinSigma, cosSigma)
		sinAlpha := cosU1 * cosU2 * sinL / sinSigma
		cos2Alpha := 1 - sinAlpha*sinAlpha
		cos2SigmaM := 0.0
		if cos2Alpha != 0 {
			cos2SigmaM = cosSigma - 2*sinU1*sinU2/cos2Alpha
		}
		C := f / 16 * cos2Alpha * (4 + f*(4-3*cos2Alpha))
		prev := lambda
		lambda = L + (1-C)*f*sinAlpha*(sigma+C*sinSigma*(cos2SigmaM+C*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
		if math.Abs(lambda-prev) < 1e-12 {
			u2 := cos2Alpha * (a*a - b*b) / (b * b)
			A := 1 + u2/16384*(4096+u2*(-768+u2*(320-175*u2)))
			B := u2 / 1024 * (256 + u2*(-128+u2*(74-47*u2)))
			dSigma := B * sinSigma * (cos2SigmaM + B/4*(cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)-
				B/6*cos2SigmaM*(-3+4*sinSigma*sinSigma)*(-3+4*cos2SigmaM*cos2SigmaM)))
			return b * A * (sigma - dSigma) / 1000
		}
	}
	return haversineKm(p1, p2)
}

// BundledData returns the bundled layers' GeoJSON (protected areas, mining sites), to
// replace one and keep the other.
func BundledData() (areas, mines []byte) { return bundledAreas, bundledMines }
