package synth

import (
	"fmt"
	"math"
	"time"
)

// utmZone is the standard 6-degree UTM zone of a longitude (zones 1..60 from 180 W;
// the Norway/Svalbard exceptions do not concern Africa).
func utmZone(lon float64) int {
	z := int(math.Floor((lon+180)/6)) + 1
	return min(max(z, 1), 60)
}

// utmEPSG is the WGS 84 / UTM EPSG code: 326zz north of the equator, 327zz south.
func utmEPSG(zone int, lat float64) int {
	if lat < 0 {
		return 32700 + zone
	}
	return 32600 + zone
}

// latitudeBand is the MGRS latitude band letter: 8-degree bands C..X from 80 S (I and O
// skipped; X spans 72-84 N).
func latitudeBand(lat float64) string {
	const letters = "CDEFGHJKLMNPQRSTUVWXX"
	i := int(math.Floor((lat + 80) / 8))
	return string(letters[min(max(i, 0), len(letters)-1)])
}

// mgrsSquare is the MGRS 100 km square identification of a UTM coordinate, lettering
// scheme "AA" used with WGS 84 (NGA, "The Universal Grids and the Transverse Mercator and
// Polar Stereographic Map Projections", NGA.SIG.0012, and DMA TM 8358.1):
//   - column letter: easting in 100 km steps (1..8 within a zone); the 24 letters A..Z
//     without I and O are used in three sets of eight, set (zone-1) mod 3:
//     A-H, J-R, S-Z.
//   - row letter: northing in 100 km steps modulo 2,000 km over the 20 letters A..V without
//     I and O; odd zones start at A, even zones are offset by five letters (start at F).
//     Southern-hemisphere northings include the 10,000,000 m false northing.
//
// Checked against real Sentinel-2 tiles: 29RKH (x 2xx km, y 27xx km), 35NPB (the tile of
// the default site, x 6xx km, y 1xx km).
func mgrsSquare(zone int, easting, northing float64) string {
	sets := [3]string{"ABCDEFGH", "JKLMNPQR", "STUVWXYZ"}
	const rows = "ABCDEFGHJKLMNPQRSTUV"
	col := int(math.Floor(easting/100000)) - 1
	col = min(max(col, 0), 7)
	row := int(math.Floor(northing/100000)) % 20
	if row < 0 {
		row += 20
	}
	if zone%2 == 0 {
		row = (row + 5) % 20
	}
	return string(sets[(zone-1)%3][col]) + string(rows[row])
}

// overpassUTC is the acquisition time of a Sentinel-2 scene at longitude lon on date d:
// the orbit's descending node is at 10:30 mean local solar time (ESA Sentinel-2 User
// Handbook), i.e. 10.5 h - lon/15 h in UTC.
func overpassUTC(d time.Time, lon float64) time.Time {
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	h := 10.5 - lon/15
	return day.Add(time.Duration(h * float64(time.Hour))).Truncate(time.Millisecond)
}

// sunPosition returns the solar azimuth (degrees clockwise from north) and elevation at
// time t and lon/lat, with the usual low-precision formulas (NOAA / Spencer-type):
// declination = -23.44 cos(360/365 (N+10)), equation of time
// 9.87 sin 2B - 7.53 cos B - 1.5 sin B minutes with B = 360/364 (N-81), hour angle from
// apparent solar time. Good to about half a degree: enough to point cloud shadows.
func sunPosition(t time.Time, lon, lat float64) (az, el float64) {
	rad := math.Pi / 180
	n := float64(t.YearDay())
	decl := -23.44 * math.Cos(rad*360/365*(n+10))
	b := rad * 360 / 364 * (n - 81)
	eot := 9.87*math.Sin(2*b) - 7.53*math.Cos(b) - 1.5*math.Sin(b)
	utcH := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	solar := utcH + lon/15 + eot/60
	ha := 15 * (solar - 12) * rad
	phi, d := lat*rad, decl*rad
	sinEl := math.Sin(phi)*math.Sin(d) + math.Cos(phi)*math.Cos(d)*math.Cos(ha)
	el = math.Asin(sinEl) / rad
	az = math.Atan2(-math.Cos(d)*math.Sin(ha), math.Sin(d)*math.Cos(phi)-math.Cos(d)*math.Cos(ha)*math.Sin(phi)) / rad
	if az < 0 {
		az += 360
	}
	return az, el
}

// platformFor picks sentinel-2a or sentinel-2b for a date: the two satellites fly 180
// degrees apart, so a tile is seen by alternating satellites every 5 days. Anchored on
// S2A over 35NPB on 2024-01-15 (Earth Search item S2A_35NPB_20240115_0_L2A); dates off the
// 5-day comb are rounded to the nearest pass.
func platformFor(d time.Time) string {
	anchor := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	days := day.Sub(anchor).Hours() / 24
	if int(math.Round(days/5))%2 == 0 {
		return "sentinel-2a"
	}
	return "sentinel-2b"
}

// itemID is the Earth Search v1 id, e.g. S2B_35NPB_20240109_0_L2A.
func itemID(platform, tile string, d time.Time, seq int) string {
	return fmt.Sprintf("S2%s_%s_%s_%d_L2A", string(platform[len(platform)-1]-'a'+'A'), tile, d.Format("20060102"), seq)
}
