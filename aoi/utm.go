package aoi

import (
	"math"
	"strconv"

	"github.com/paulmach/orb"
)

// UTM is a WGS84 Universal Transverse Mercator zone.
type UTM struct {
	Zone  int  // 1..60
	North bool // northern hemisphere (false northing 0) or southern (10 000 000 m)
}

// UTMZoneOf returns the standard UTM zone of a lon/lat position, including
// the Norway (32V) and Svalbard (31X–37X) exceptions. Latitude 0 counts as
// north. Eastern DR Congo lies in zones 35 and 36, north and south.
func UTMZoneOf(lon, lat float64) UTM {
	zone := int(math.Floor((lon+180)/6)) + 1
	switch {
	case zone < 1:
		zone = 1
	case zone > 60:
		zone = 60
	}
	if lat >= 56 && lat < 64 && lon >= 3 && lon < 12 {
		zone = 32
	}
	if lat >= 72 && lat <= 84 && lon >= 0 && lon < 42 {
		switch {
		case lon < 9:
			zone = 31
		case lon < 21:
			zone = 33
		case lon < 33:
			zone = 35
		default:
			zone = 37
		}
	}
	return UTM{Zone: zone, North: lat >= 0}
}

// EPSG returns the EPSG code of the zone: 326zz north, 327zz south.
func (u UTM) EPSG() int {
	if u.North {
		return 32600 + u.Zone
	}
	return 32700 + u.Zone
}

// String returns the zone as for example "35N" or "35S".
func (u UTM) String() string {
	if u.North {
		return strconv.Itoa(u.Zone) + "N"
	}
	return strconv.Itoa(u.Zone) + "S"
}

// centralMeridian returns the zone's central meridian in degrees.
func (u UTM) centralMeridian() float64 {
	return float64(u.Zone)*6 - 183
}

func (u UTM) falseNorthing() float64 {
	if u.North {
		return 0
	}
	return 10000000
}

// WGS84 transverse Mercator constants, with the Krüger series to sixth
// order in the third flattening n, from C. F. F. Karney, "Transverse
// Mercator with an accuracy of a few nanometers", J. Geodesy 85 (2011),
// eqs. (14)–(15) and (35)–(36). Truncation error is below 5 nm within
// 4000 km of the central meridian, i.e. several zones either side.
const (
	wgs84A  = 6378137.0
	wgs84F  = 1 / 298.257223563
	utmK0   = 0.9996
	utmFE   = 500000.0
	tmOrder = 6
)

// tm holds the derived constants; computed once per call (cheap) so that
// the package keeps no mutable globals.
type tm struct {
	e     float64 // first eccentricity
	a     float64 // rectifying radius A times k0
	alpha [tmOrder + 1]float64
	beta  [tmOrder + 1]float64
}

func newTM() tm {
	n := wgs84F / (2 - wgs84F)
	n2 := n * n
	n3 := n2 * n
	n4 := n3 * n
	n5 := n4 * n
	n6 := n5 * n
	var t tm
	t.e = math.Sqrt(wgs84F * (2 - wgs84F))
	t.a = utmK0 * wgs84A / (1 + n) * (1 + n2/4 + n4/64 + n6/256)
	t.alpha[1] = n/2 - 2*n2/3 + 5*n3/16 + 41*n4/180 - 127*n5/288 + 7891*n6/37800
	t.alpha[2] = 13*n2/48 - 3*n3/5 + 557*n4/1440 + 281*n5/630 - 1983433*n6/1935360
	t.alpha[3] = 61*n3/240 - 103*n4/140 + 15061*n5/26880 + 167603*n6/181440
	t.alpha[4] = 49561*n4/161280 - 179*n5/168 + 6601661*n6/7257600
	t.alpha[5] = 34729*n5/80640 - 3418889*n6/1995840
	t.alpha[6] = 212378941 * n6 / 319334400
	t.beta[1] = n/2 - 2*n2/3 + 37*n3/96 - n4/360 - 81*n5/512 + 96199*n6/604800
	t.beta[2] = n2/48 + n3/15 - 437*n4/1440 + 46*n5/105 - 1118711*n6/3870720
	t.beta[3] = 17*n3/480 - 37*n4/840 - 209*n5/4480 + 5569*n6/90720
	t.beta[4] = 4397*n4/161280 - 11*n5/504 - 830251*n6/7257600
	t.beta[5] = 4583*n5/161280 - 108847*n6/3991680
	t.beta[6] = 20648693 * n6 / 638668800
	return t
}

// conformal returns tan χ, the tangent of the conformal latitude, for
// tau = tan φ (Karney 2011, eqs. 7–9).
func (t tm) conformal(tau float64) float64 {
	sigma := math.Sinh(t.e * math.Atanh(t.e*tau/math.Hypot(1, tau)))
	return tau*math.Hypot(1, sigma) - sigma*math.Hypot(1, tau)
}

// Forward projects a WGS84 lon/lat position (degrees) to UTM easting and
// northing in metres in zone u, whatever zone the position itself is in.
// Accuracy is well below a millimetre within the zone and several zones
// beyond it.
func (u UTM) Forward(lon, lat float64) (e, n float64) {
	t := newTM()
	const rad = math.Pi / 180
	lam := (lon - u.centralMeridian()) * rad
	phi := lat * rad
	tauP := t.conformal(math.Tan(phi))
	xiP := math.Atan2(tauP, math.Cos(lam))
	etaP := math.Asinh(math.Sin(lam) / math.Hypot(tauP, math.Cos(lam)))
	xi, eta := xiP, etaP
	for j := 1; j <= tmOrder; j++ {
		k := float64(2 * j)
		xi += t.alpha[j] * math.Sin(k*xiP) * math.Cosh(k*etaP)
		eta += t.alpha[j] * math.Cos(k*xiP) * math.Sinh(k*etaP)
	}
	return utmFE + t.a*eta, u.falseNorthing() + t.a*xi
}

// Inverse converts UTM easting and northing in metres in zone u back to
// WGS84 lon/lat in degrees.
func (u UTM) Inverse(e, n float64) (lon, lat float64) {
	t := newTM()
	xi := (n - u.falseNorthing()) / t.a
	eta := (e - utmFE) / t.a
	xiP, etaP := xi, eta
	for j := 1; j <= tmOrder; j++ {
		k := float64(2 * j)
		xiP -= t.beta[j] * math.Sin(k*xi) * math.Cosh(k*eta)
		etaP -= t.beta[j] * math.Cos(k*xi) * math.Sinh(k*eta)
	}
	sinhEta := math.Sinh(etaP)
	tauP := math.Sin(xiP) / math.Hypot(sinhEta, math.Cos(xiP))
	lam := math.Atan2(sinhEta, math.Cos(xiP))

	// Solve conformal(tau) = tauP for tau by Newton's method
	// (Karney 2011, eqs. 19–21); it converges in two or three steps.
	e2m := 1 - t.e*t.e
	tau := tauP
	for i := 0; i < 10; i++ {
		tp := t.conformal(tau)
		d := (tauP - tp) / math.Hypot(1, tp) * (1 + e2m*tau*tau) / (e2m * math.Hypot(1, tau))
		tau += d
		if !(math.Abs(d) > 1e-14*math.Max(1, math.Abs(tau))) {
			break
		}
	}
	const deg = 180 / math.Pi
	return u.centralMeridian() + lam*deg, math.Atan(tau) * deg
}

// ProjectBound returns the UTM bounding box of the lon/lat box b: each edge
// of b is densified to 16 points before projecting, since a lon/lat box is
// not a rectangle in UTM.
func (u UTM) ProjectBound(b orb.Bound) (minE, minN, maxE, maxN float64) {
	const steps = 16
	minE, minN = math.Inf(1), math.Inf(1)
	maxE, maxN = math.Inf(-1), math.Inf(-1)
	corners := [5]orb.Point{b.Min, {b.Max[0], b.Min[1]}, b.Max, {b.Min[0], b.Max[1]}, b.Min}
	for c := 0; c < 4; c++ {
		p, q := corners[c], corners[c+1]
		for s := 0; s < steps; s++ {
			f := float64(s) / steps
			e, n := u.Forward(p[0]+f*(q[0]-p[0]), p[1]+f*(q[1]-p[1]))
			minE, maxE = math.Min(minE, e), math.Max(maxE, e)
			minN, maxN = math.Min(minN, n), math.Max(maxN, n)
		}
	}
	return minE, minN, maxE, maxN
}
