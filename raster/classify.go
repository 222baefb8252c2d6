package raster

// Change classes written to change_class.tif and the vector `class` field.
const (
	ClassNone        uint8 = 0
	ClassBare        uint8 = 1 // vegetation to bare soil: mining scars, clearings, roads
	ClassWater       uint8 = 2 // vegetation to water: mining ponds, dredging
	ClassBurn        uint8 = 3 // burn scar
	ClassLoss        uint8 = 4 // strong vegetation loss that is neither bright soil, water nor char
	ClassNotObserved uint8 = 255
	nClasses               = 5 // no change and the change classes
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
	case ClassLoss:
		return "vegetation_loss"
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

	// DenseBefore: NDVI of the before composite at or above which a pixel is dense canopy
	// (closed tropical forest, 0.8-0.9; green savanna grass stays below it). The rules
	// below that accept duller after states start from it, so that seasonal browning of
	// grass (an after state like theirs) does not pass.
	DenseBefore float32
	// Dull bare ground after dense canopy (wet spoil, regrowth on spoil, mixed pixels,
	// clearings with slash): NDVI below DullNDVI, red above DullRed, BSI above DullBSI,
	// NDVI drop of at least DullDNDVI, BSI rise of at least DullDBSI.
	DullNDVI, DullRed, DullBSI, DullDNDVI, DullDBSI float32
	// Turbid water after: red above NIR (NDVI below 0: suspended sediment; bare soil keeps
	// NIR above red, the soil line) and MNDWI above TurbidMNDWI, with the water rule's
	// MNDWI rise.
	TurbidMNDWI float32
	// Vegetation loss: dense canopy before, NDVI drop of at least LossDNDVI to an NDVI
	// below LossNDVI, not haze and none of the classes above.
	LossDNDVI, LossNDVI float32
	// Weak tests (hysteresis, Canny 1986): a pixel that passes one is kept only in an
	// 8-connected region of its class that holds a pixel passing the strong rules above.
	// Dense canopy before (NDVI >= DenseBefore: browning grass beside a scar, or a few
	// strong pixels in browning grass, must not grow into it), then: burn if dNBR is above WeakDNBR (Key & Benson
	// 2006: 0.1 is the lower bound of low severity), NBR after below WeakNBR, red after
	// below WeakBurnRed, an NDVI drop of WeakBurnDNDVI and no MNDWI rise (char darkens
	// green more than SWIR1; soil at a scar's edge raises SWIR1); otherwise an NDVI drop of
	// WeakDNDVI to an NDVI below WeakNDVI and: water if the MNDWI rises by WeakDMNDWI and
	// NIR falls below WeakNIR times its before value; bare if not hazy, red after above
	// WeakRed and a BSI rise of WeakDBSI; loss if dense before and the NDVI drop is 3/4 of
	// LossDNDVI.
	WeakDNDVI, WeakNDVI                           float32
	WeakDMNDWI, WeakNIR, WeakRed, WeakDBSI        float32
	WeakDNBR, WeakNBR, WeakBurnRed, WeakBurnDNDVI float32
}

// DefaultRules are the rule thresholds used by changewatch detect.
var DefaultRules = Rules{
	VegBefore: 0.5,
	BareNDVI:  0.3, BareBSI: 0.05, BareRed: 0.08, BareDNDVI: 0.3, BareDBSI: 0.2,
	WaterMNDWI: 0.1, WaterNDVI: 0.1, WaterDMNDWI: 0.4,
	BurnDNBR: 0.27, BurnNBR: 0.1, BurnRed: 0.08,
	HazeDBlue: 0.04, HazeBlueRed: 0.8,
	DenseBefore: 0.75,
	DullNDVI:    0.5, DullRed: 0.07, DullBSI: -0.15, DullDNDVI: 0.3, DullDBSI: 0.15,
	TurbidMNDWI: -0.1,
	LossDNDVI:   0.4, LossNDVI: 0.4,
	WeakDNDVI: 0.2, WeakNDVI: 0.6,
	WeakDMNDWI: 0.3, WeakNIR: 0.75, WeakRed: 0.05, WeakDBSI: 0.08,
	WeakDNBR: 0.1, WeakNBR: 0.5, WeakBurnRed: 0.09, WeakBurnDNDVI: 0.08,
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
	dM := ia.MNDWI - ib.MNDWI
	if ia.MNDWI > r.WaterMNDWI && ia.NDVI < r.WaterNDVI && dM > r.WaterDMNDWI {
		return ClassWater, strength((ia.MNDWI-r.WaterMNDWI)/0.3, (dM-r.WaterDMNDWI)/r.WaterDMNDWI)
	}
	if ia.MNDWI > r.TurbidMNDWI && ia.NDVI < 0 && dM > r.WaterDMNDWI {
		return ClassWater, lower(strength((ia.MNDWI-r.TurbidMNDWI)/0.3, -ia.NDVI/0.1, (dM-r.WaterDMNDWI)/r.WaterDMNDWI))
	}
	hazy := a.Blue-b.Blue > r.HazeDBlue && a.Blue >= r.HazeBlueRed*a.Red
	if hazy {
		return ClassNone, 0
	}
	dB := ia.BSI - ib.BSI
	if ia.NDVI < r.BareNDVI && ia.BSI > r.BareBSI && a.Red > r.BareRed &&
		-dNDVI > r.BareDNDVI && dB > r.BareDBSI {
		return ClassBare, strength((-dNDVI-r.BareDNDVI)/r.BareDNDVI, (dB-r.BareDBSI)/r.BareDBSI, (r.BareNDVI-ia.NDVI)/r.BareNDVI)
	}
	dNBR := ib.NBR - ia.NBR
	if dNBR > r.BurnDNBR && ia.NBR < r.BurnNBR && a.Red < r.BurnRed {
		return ClassBurn, strength((dNBR-r.BurnDNBR)/r.BurnDNBR, (r.BurnNBR-ia.NBR)/0.3)
	}
	if ib.NDVI < r.DenseBefore {
		return ClassNone, 0
	}
	if ia.NDVI < r.DullNDVI && a.Red > r.DullRed && ia.BSI > r.DullBSI && -dNDVI > r.DullDNDVI && dB > r.DullDBSI {
		return ClassBare, lower(strength((-dNDVI-r.DullDNDVI)/r.DullDNDVI, (dB-r.DullDBSI)/r.DullDBSI, (r.DullNDVI-ia.NDVI)/r.DullNDVI))
	}
	if -dNDVI > r.LossDNDVI && ia.NDVI < r.LossNDVI {
		return ClassLoss, lower(strength((-dNDVI-r.LossDNDVI)/r.LossDNDVI, (r.LossNDVI-ia.NDVI)/r.LossNDVI))
	}
	return ClassNone, 0
}

// ClassifyWeak applies the weak tests (Rules' Weak fields) to a pixel the strong rules
// left as none: the class it takes if its region holds a strong pixel of that class.
func (r *Rules) ClassifyWeak(b, a *Spectrum, ib, ia *Indices) uint8 {
	dNDVI := ia.NDVI - ib.NDVI
	if ib.NDVI < r.DenseBefore {
		return ClassNone
	}
	if dNBR := ib.NBR - ia.NBR; dNBR > r.WeakDNBR && ia.NBR < r.WeakNBR && a.Red < r.WeakBurnRed && -dNDVI > r.WeakBurnDNDVI &&
		ia.MNDWI <= ib.MNDWI {
		return ClassBurn
	}
	if ia.NDVI >= r.WeakNDVI || -dNDVI <= r.WeakDNDVI {
		return ClassNone
	}
	if ia.MNDWI-ib.MNDWI > r.WeakDMNDWI && a.NIR < r.WeakNIR*b.NIR {
		return ClassWater
	}
	if a.Blue-b.Blue > r.HazeDBlue && a.Blue >= r.HazeBlueRed*a.Red {
		return ClassNone
	}
	if a.Red > r.WeakRed && ia.BSI-ib.BSI > r.WeakDBSI {
		return ClassBare
	}
	if -dNDVI > 0.75*r.LossDNDVI {
		return ClassLoss
	}
	return ClassNone
}

// lower maps a strength of a rule reaching past the classic ones (turbid water, dull bare
// ground, vegetation loss) to [0.5, 0.75]: reported with lower confidence.
func lower(s float32) float32 { return 0.25 + 0.5*s }

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
