package aoi

import (
	"math"

	"github.com/paulmach/orb"
)

// authalicRadius is the radius in metres of the sphere with the same
// surface area as the WGS84 ellipsoid (R_q).
const authalicRadius = 6371007.1809

// GeodesicAreaHa returns the area in hectares of an orb.Polygon,
// orb.MultiPolygon, orb.Ring or orb.Bound in EPSG:4326 lon/lat, on the
// WGS84 authalic sphere. Each ring counts by its absolute area, so the
// result does not depend on orientation; holes are subtracted from their
// shell. Other geometry types have no area and give 0. Rings crossing the
// antimeridian or enclosing a pole are not supported.
//
// The ring area is the line-integral form of the spherical excess from
// R. G. Chamberlain and W. H. Duquette, "Some algorithms for polygons on a
// sphere", JPL Publication 07-03, 2007:
//
//	A = R²/2 · |Σ (λ[i+1] − λ[i−1]) · sin φ[i]|
//
// with φ replaced by the authalic latitude β (Snyder 1987, "Map Projections:
// A Working Manual", USGS PP 1395, eqs. 3-11 and 3-12): the authalic sphere
// with latitudes mapped to β preserves area, so the result is the area on the
// WGS84 ellipsoid (not the 0.45 % larger spherical value near the equator).
// It is exact for edges along meridians and parallels.
func GeodesicAreaHa(g orb.Geometry) float64 {
	switch g := g.(type) {
	case orb.Ring:
		return ringAreaM2(g) / 1e4
	case orb.Polygon:
		return polygonAreaM2(g) / 1e4
	case orb.MultiPolygon:
		sum := 0.0
		for i := 0; i < len(g); i++ {
			sum += polygonAreaM2(g[i])
		}
		return sum / 1e4
	case orb.Bound:
		return polygonAreaM2(g.ToPolygon()) / 1e4
	}
	return 0
}

func polygonAreaM2(p orb.Polygon) float64 {
	if len(p) == 0 {
		return 0
	}
	a := ringAreaM2(p[0])
	for i := 1; i < len(p); i++ {
		a -= ringAreaM2(p[i])
	}
	return a
}

// ringAreaM2 returns the unsigned spherical area of a ring in m². The ring
// may be closed (first == last) or not.
func ringAreaM2(r orb.Ring) float64 {
	n := len(r)
	if n > 1 && r[0] == r[n-1] {
		n--
	}
	if n < 3 {
		return 0
	}
	const rad = math.Pi / 180
	// Σ (λ[i+1] − λ[i−1]) vanishes for a closed ring, so sin φ[i] may be
	// taken relative to sin φ[0]; that keeps precision for small rings.
	s0 := sinAuthalic(r[0][1] * rad)
	sum := 0.0
	for i := 0; i < n; i++ {
		prev := r[(i+n-1)%n]
		next := r[(i+1)%n]
		sum += (next[0] - prev[0]) * rad * (sinAuthalic(r[i][1]*rad) - s0)
	}
	return math.Abs(sum) * authalicRadius * authalicRadius / 2
}

// WGS84 first eccentricity.
var wgs84E = math.Sqrt(2/298.257223563 - 1/(298.257223563*298.257223563))

// authalicQ is Snyder's q(φ) (eq. 3-12) for WGS84.
func authalicQ(sinPhi float64) float64 {
	e := wgs84E
	es := e * sinPhi
	return (1 - e*e) * (sinPhi/(1-es*es) - 1/(2*e)*math.Log((1-es)/(1+es)))
}

var authalicQp = authalicQ(1)

// sinAuthalic returns sin β, the sine of the authalic latitude of φ (radians).
func sinAuthalic(phi float64) float64 { return authalicQ(math.Sin(phi)) / authalicQp }
