package raster

// Change classes written to change_class.tif and the vector `class` field.
const (
	ClassNone        uint8 = 0
	ClassBare        uint8 = 1 // vegetation to bare soil: mining scars, clearings, roads
	ClassWater       uint8 = 2 // vegetation to water: mining ponds, dredging
	ClassBurn        uint8 = 3 // burn scar
	ClassNotObserved uint8 = 255
)

// ClassName returns the vector attribute value of a change class.
func ClassName(c uint8) string {
	switch c {
	case ClassBare:
		return "vegetation_to_bare"
	case ClassWater:
		return "vegetation_to_water"
	case ClassBurn:
		return "burn_scar"
	case ClassNotObserved:
		return "not_observed"
	}
	return "no_change"
}

// Spectrum holds surface reflectances (0..1) of the six bands the rules use.
type Spectrum struct {
	Blue, Green, Red, NIR, SWIR1, SWIR2 float32
}

// Indices are the normalized-difference indices of one spectrum.
type Indices struct {
	NDVI, NBR, MNDWI, BSI float32
}

// nd is the normalized difference (a-b)/(a+b), 0 when a+b is 0.
func nd(a, b float32) float32 { return ratio(a-b, a+b) }

// ratio is a normalized difference from its numerator and sum (nd's value).
func ratio(num, sum float32) float32 {
	if sum != 0 {
		return num / sum
	}
	return 0
}

// ndDiff is ratio(num1, sum1) - ratio(num0, sum0) in one division.
func ndDiff(num1, sum1, num0, sum0 float32) float32 {
	if sum1 == 0 || sum0 == 0 {
		return ratio(num1, sum1) - ratio(num0, sum0)
	}
	return (num1*sum0 - num0*sum1) / (sum1 * sum0)
}

// Detect's shortcuts compare normalized differences with thresholds without dividing
// (num/sum against t is num against t*sum when sum > 0) and are conservative by ndMargin:
// a pixel within rounding of a threshold goes on to Rules.Classify, which compares the
// divided indices.
const ndMargin = 1e-4

// below reports that ratio(num, sum) is certainly below t.
func below(num, sum, t float32) bool { return sum > 0 && num < (t-ndMargin)*sum }

// above reports that ratio(num, sum) is certainly at or above t.
func above(num, sum, t float32) bool { return sum > 0 && num >= (t+ndMargin)*sum }

// ndAbove reports that nd(a, b) is certainly at or above t.
func ndAbove(a, b, t float32) bool { return above(a-b, a+b, t) }

// Index computes
//   - NDVI  = (NIR-Red)/(NIR+Red)                       (Rouse et al. 1974)
//   - NBR   = (NIR-SWIR2)/(NIR+SWIR2)                   (Key & Benson 2006)
//   - MNDWI = (Green-SWIR1)/(Green+SWIR1)               (Xu 2006)
//   - BSI   = ((SWIR1+Red)-(NIR+Blue))/((SWIR1+Red)+(NIR+Blue))  (Rikimaru et al. 2002)
func (s Spectrum) Index() Indices {
	return Indices{
		NDVI:  nd(s.NIR, s.Red),
		NBR:   nd(s.NIR, s.SWIR2),
		MNDWI: nd(s.Green, s.SWIR1),
		BSI:   nd(s.SWIR1+s.Red, s.NIR+s.Blue),
	}
}

// Rules are the thresholds of the change rules. They are documented, with their sources,
// in README.md ("Method"); DefaultRules holds the values used unless a flag changes them.
type Rules struct {
	// VegBefore: NDVI of the before composite at or above which a pixel is vegetated
	// (dense vegetation; grassland in the wet season is above it too).
	VegBefore float32
	// Bare soil after: NDVI below BareNDVI, BSI above BareBSI, red above BareRed
	// (bright: separates soil from char and shadow), NDVI drop of at least BareDNDVI and
	// BSI rise of at least BareDBSI.
	BareNDVI, BareBSI, BareRed, BareDNDVI, BareDBSI float32
	// Water after: MNDWI above WaterMNDWI (Xu 2006: open water > 0), NDVI below WaterNDVI,
	// MNDWI rise of at least WaterDMNDWI.
	WaterMNDWI, WaterNDVI, WaterDMNDWI float32
	// Burn: dNBR (pre - post) above BurnDNBR (Key & Benson 2006: 0.27 is the lower bound of
	// moderate-low severity), post NBR below BurnNBR, dark red (below BurnRed).
	BurnDNBR, BurnNBR, BurnRed float32
	// Haze: haze and cloud fringes brighten blue the most (Zhang, Guindon & Cihlar 2002,
	// Haze Optimized Transform). A blue rise above HazeDBlue with blue at least HazeBlueRed
	// times red rejects bare-soil and burn candidates.
	HazeDBlue, HazeBlueRed float32
}

// DefaultRules are the rule thresholds used by changewatch detect.
var DefaultRules = Rules{
	VegBefore: 0.5,
	BareNDVI:  0.3, BareBSI: 0.05, BareRed: 0.08, BareDNDVI: 0.3, BareDBSI: 0.2,
	WaterMNDWI: 0.1, WaterNDVI: 0.1, WaterDMNDWI: 0.4,
	BurnDNBR: 0.27, BurnNBR: 0.1, BurnRed: 0.08,
	HazeDBlue: 0.04, HazeBlueRed: 0.8,
}

// Classify applies the change rules to one pixel's before and after spectra. It returns
// the class and a strength in [0,1]: how far past the thresholds the pixel is (0.5 at the
// thresholds, 1 at twice the margin). Seasonal browning (still vegetated or not bright
// soil), shadows and illumination changes (all bands darker: normalized indices nearly
// unchanged), haze and cloud fringes (blue-dominated brightening) fall through to none.
func (r *Rules) Classify(b, a *Spectrum, ib, ia *Indices) (uint8, float32) {
	if ib.NDVI < r.VegBefore {
		return ClassNone, 0
	}
	dNDVI := ia.NDVI - ib.NDVI
	// Water first: a pond inside a scar is water, not soil.
	if dM := ia.MNDWI - ib.MNDWI; ia.MNDWI > r.WaterMNDWI && ia.NDVI < r.WaterNDVI && dM > r.WaterDMNDWI {
		return ClassWater, strength((ia.MNDWI-r.WaterMNDWI)/0.3, (dM-r.WaterDMNDWI)/r.WaterDMNDWI)
	}
	hazy := a.Blue-b.Blue > r.HazeDBlue && a.Blue >= r.HazeBlueRed*a.Red
	if hazy {
		return ClassNone, 0
	}
	if dB := ia.BSI - ib.BSI; ia.NDVI < r.BareNDVI && ia.BSI > r.BareBSI && a.Red > r.BareRed &&
		-dNDVI > r.BareDNDVI && dB > r.BareDBSI {
		return ClassBare, strength((-dNDVI-r.BareDNDVI)/r.BareDNDVI, (dB-r.BareDBSI)/r.BareDBSI, (r.BareNDVI-ia.NDVI)/r.BareNDVI)
	}
	if dNBR := ib.NBR - ia.NBR; dNBR > r.BurnDNBR && ia.NBR < r.BurnNBR && a.Red < r.BurnRed {
		return ClassBurn, strength((dNBR-r.BurnDNBR)/r.BurnDNBR, (r.BurnNBR-ia.NBR)/0.3)
	}
	return ClassNone, 0
}

// strength maps the smallest relative margin past the thresholds to [0.5, 1].
func strength(margins ...float32) float32 {
	m := margins[0]
	for _, v := range margins[1:] {
		if v < m {
			m = v
		}
	}
	if m < 0 {
		m = 0
	}
	if m > 1 {
		m = 1
	}
	return 0.5 + 0.5*m
}
