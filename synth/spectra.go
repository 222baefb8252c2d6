package synth

// Bands in generation order, with their Earth Search asset keys and files.
const (
	bB02 = iota
	bB03
	bB04
	bB08
	bB11
	bB12
	nBands
)

// bandInfo describes one Sentinel-2 band as Earth Search v1 lists it (centre wavelength and
// FWHM in micrometres from the ESA Sentinel-2 spectral response functions, S2A values, as
// in the real items' eo:bands).
type bandInfo struct {
	key, file, title string
	res              float64
	center, fwhm     float64
}

var bands = [nBands]bandInfo{
	{"blue", "B02", "Blue (band 2) - 10m", 10, 0.49, 0.098},
	{"green", "B03", "Green (band 3) - 10m", 10, 0.56, 0.045},
	{"red", "B04", "Red (band 4) - 10m", 10, 0.665, 0.038},
	{"nir", "B08", "NIR 1 (band 8) - 10m", 10, 0.842, 0.145},
	{"swir16", "B11", "SWIR 1 (band 11) - 20m", 20, 1.61, 0.143},
	{"swir22", "B12", "SWIR 2 (band 12) - 20m", 20, 2.19, 0.242},
}

// Surface types (what a pixel looks like on one date).
const (
	sForest   = iota // closed moist tropical forest
	sGrass           // savanna / grass patch, green
	sBrown           // the same grass, dry-season browned
	sWater           // river
	sVillage         // village: roofs, compacted soil, gardens
	sLaterite        // fresh mining scar / road: bare lateritic soil
	sPond            // mining pond: turbid water
	sChar            // fresh burn scar: char and ash
	sDark            // forest in terrain shadow / low sun (illumination decoy)
	sWetSpoil        // wet, dark mining spoil (Config.Hard)
	sTurbid          // sediment-laden shallow pond over mud (Config.Hard)
	sClearing        // fresh clearing: exposed soil and drying slash (Config.Hard)
	nSurfaces
)

// spectra are surface reflectances (BOA, 0..1) for B02 B03 B04 B08 B11 B12.
//
//   - forest: typical Sentinel-2 L2A values over Congo-basin closed forest: very dark visible
//     (chlorophyll absorption, blue/red ~0.02-0.03, green peak ~0.045), NIR plateau 0.28-0.35
//     (leaf multiple scattering), SWIR1 ~0.15 / SWIR2 ~0.06 (leaf water absorption); cf. the
//     USGS Spectral Library v7 vegetation spectra and published S2 forest signatures in the
//     Hansen / GLAD and Copernicus land-cover training data.
//   - grass: savanna grass in leaf: brighter visible and SWIR, slightly lower NIR.
//   - browned grass: dry-season senescence: red and SWIR up (less chlorophyll and water),
//     NIR down a little; NDVI drops from ~0.67 to ~0.41 - "less green", not bare.
//   - water: river water in the tropics, a little sediment: low everywhere, NIR/SWIR ~0
//     (water absorbs beyond 0.75 um).
//   - village: mixed tin roofs, bare compacted soil and gardens at 10 m.
//   - laterite: the red-orange iron-oxide soils of artisanal gold pits: red > green > blue
//     (Fe3+ charge-transfer absorption in the blue), SWIR bright (dry bare soil), NIR only
//     moderately above red; matches USGS library laterite/hematitic soil spectra and S2
//     values over artisanal mining in the Ituri/Tshopo area (IPIS / Global Forest Watch).
//   - pond: turbid mining-pond water, suspended sediment raises green/red reflectance
//     (Doxaran et al. 2002 style turbidity response) while NIR/SWIR stay low.
//   - char: fresh burn scar (char/ash): dark in VIS and NIR, SWIR2 relatively high; this is
//     what makes NBR = (B08-B12)/(B08+B12) collapse (Key & Benson 2006).
//   - dark: forest at half illumination (terrain shadow on a steep slope); all bands x0.5 so
//     every normalized-difference index is unchanged.
//
// Surfaces of the hard mode (Config.Hard), the ground that real mining sites show and the
// default scenes lack (issue 11: missed real mining pixels end with NDVI 0.12-0.55, BSI
// -0.12..0.13, red 0.08-0.23, MNDWI -0.5..-0.07):
//   - wet spoil: the laterite above, saturated. Water in the pores lowers soil reflectance in
//     every band, the SWIR most (Lobell & Asner 2002, "Moisture effects on soil reflectance",
//     Soil Sci. Soc. Am. J. 66: 722-727: VNIR to about 55 % of dry near saturation, SWIR to
//     40-45 %): laterite x 0.55 (VNIR), x 0.45 (B11), x 0.40 (B12). NDVI 0.14, BSI 0.15,
//     MNDWI -0.36, red 0.105: dull, not bright soil.
//   - turbid pond: shallow mining pond, sediment-laden, over mud. Suspended sediment raises
//     green and red well above clear water (red above 0.1 at TSS above 100 mg/L in the
//     mining-silted rivers of the Tapajos: Lobo et al. 2016, Remote Sensing 8: 579) and
//     keeps NIR high (0.1-0.15 at g/L concentrations); SWIR stays lowest but not zero at
//     extreme turbidity (Knaeps et al. 2015, Remote Sens. Environ. 168: 66-79, up to about
//     0.05 at 1.6 um). B11 0.10 is above those water-leaving values: it stands for the mud
//     bottom and the 20 m SWIR mixing with the shore that bring real ponds' MNDWI near 0.
//     NDVI -0.10, MNDWI 0.09, red 0.16.
//   - clearing: exposed soil with drying slash (non-photosynthetic vegetation: high SWIR1,
//     NIR still 0.2-0.3, red 0.1; Asner 1998, Remote Sens. Environ. 64: 234-253; Nagler et
//     al. 2000, Remote Sens. Environ. 71: 207-215). NDVI 0.37, BSI 0.16: almost browned
//     grass, told apart only by the dense forest it replaced.
var spectra = [nSurfaces][nBands]float32{
	sForest:   {0.025, 0.045, 0.025, 0.32, 0.15, 0.065},
	sGrass:    {0.04, 0.07, 0.06, 0.30, 0.22, 0.12},
	sBrown:    {0.06, 0.09, 0.11, 0.26, 0.30, 0.20},
	sWater:    {0.05, 0.07, 0.06, 0.03, 0.015, 0.01},
	sVillage:  {0.07, 0.09, 0.11, 0.24, 0.27, 0.21},
	sLaterite: {0.09, 0.13, 0.19, 0.25, 0.33, 0.27},
	sPond:     {0.07, 0.09, 0.08, 0.05, 0.025, 0.015},
	sChar:     {0.03, 0.04, 0.05, 0.10, 0.17, 0.16},
	sDark:     {0.0125, 0.0225, 0.0125, 0.16, 0.075, 0.0325},
	sWetSpoil: {0.05, 0.07, 0.105, 0.14, 0.15, 0.11},
	sTurbid:   {0.08, 0.12, 0.16, 0.13, 0.10, 0.06},
	sClearing: {0.06, 0.085, 0.11, 0.24, 0.30, 0.21},
}

// texAmp is the relative amplitude of the spatially correlated texture per surface (about
// one standard deviation: forest canopy varies by 10-15 % at 10 m, water by little) and
// noiseRel the relative per-pixel, per-date noise (S2 MSI radiometric noise plus BRDF
// speckle: 2-3 % relative; larger on heterogeneous bare ground and villages).
var (
	texAmp   = [nSurfaces]float32{0.12, 0.08, 0.08, 0.05, 0.20, 0.12, 0.06, 0.10, 0.12, 0.15, 0.10, 0.15}
	noiseRel = [nSurfaces]float32{0.025, 0.025, 0.03, 0.03, 0.06, 0.05, 0.03, 0.04, 0.025, 0.05, 0.04, 0.05}
)

// sclOf is the Sen2Cor scene class of a clear pixel of each surface: 4 vegetation,
// 5 not vegetated, 6 water. Burn scars are often labelled 2 (dark features) by Sen2Cor;
// here they are 5 so that a detector masking class 2 still sees them.
var sclOf = [nSurfaces]uint8{4, 4, 4, 6, 5, 5, 6, 5, 4, 5, 6, 5}

// cloudSpec is thick cumulus reflectance: bright and nearly flat over VNIR (~0.45), a little
// lower in SWIR where cloud droplets absorb (cf. Sentinel-2 cloud spectra in the
// CloudSEN12 / Baetens et al. 2019 reference sets).
var cloudSpec = [nBands]float32{0.46, 0.45, 0.45, 0.47, 0.42, 0.38}

// hazeAdd is the path radiance added by a thin haze layer of optical depth "1" in this
// model: strongest in blue, falling with wavelength (aerosol scattering ~ lambda^-1..-2);
// the spectral shape that the Haze Optimized Transform (Zhang, Guindon & Cihlar 2002)
// detects in blue vs red.
var hazeAdd = [nBands]float32{0.12, 0.09, 0.07, 0.04, 0.015, 0.008}

// Cover codes: what a 10 m pixel is across both periods (the static land-cover map).
const (
	cForest   = iota // forest on all dates
	cGrass           // grass on all dates
	cRiver           // water on all dates
	cVillage         // village on all dates
	cBrowning        // grass, browned on the after dates (decoy)
	cScar            // forest -> laterite (change 1)
	cPond            // forest -> turbid water (change 2)
	cBurn            // forest -> char (change 3)
	cIllum           // forest, half lit on the after dates (decoy)
	cScarWet         // forest -> wet spoil (change 1, Config.Hard)
	cClearing        // forest -> fresh clearing (change 1, Config.Hard)
	cTurbid          // forest -> turbid pond over mud (change 2, Config.Hard)
	nCovers
)

// surfaceBefore and surfaceAfter map a cover code to the surface seen on each period.
var (
	surfaceBefore = [nCovers]uint8{sForest, sGrass, sWater, sVillage, sGrass, sForest, sForest, sForest, sForest,
		sForest, sForest, sForest}
	surfaceAfter = [nCovers]uint8{sForest, sGrass, sWater, sVillage, sBrown, sLaterite, sPond, sChar, sDark,
		sWetSpoil, sClearing, sTurbid}
	// secondAfter is the surface an after pixel of the hard mode mixes in, by the pixel's
	// share m (mixLayer): pioneer regrowth (grass) on scars and clearings, unburnt canopy
	// in a burn (m = 1 - severity), mud in ponds.
	secondAfter = [nCovers]uint8{sForest, sGrass, sWater, sVillage, sBrown, sGrass, sWetSpoil, sForest, sDark,
		sGrass, sGrass, sWetSpoil}
	// truthClass is the contract's change class of a cover code.
	truthClass = [nCovers]uint8{0, 0, 0, 0, 0, 1, 2, 3, 0, 1, 1, 2}
)

// Change class names of the contract.
const (
	classBare  = "vegetation_to_bare"
	classWater = "vegetation_to_water"
	classBurn  = "burn_scar"
)

// Radiometric difference between the periods (sensor calibration, atmospheric correction
// residuals): after = radGain*before + radOffset in reflectance, every band.
const (
	radGain   = 1.03
	radOffset = 0.006
)
