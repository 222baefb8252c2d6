package cog

// TIFF 6.0 and GeoTIFF 1.1 tags and values used by the COG reader and writer
// (TIFF 6.0 specification; OGC GeoTIFF 1.1, 19-008r4; GDAL's private tags 42112/42113
// from the GTiff driver documentation).
const (
	tagNewSubfileType     = 254
	tagImageWidth         = 256
	tagImageLength        = 257
	tagBitsPerSample      = 258
	tagCompression        = 259
	tagPhotometric        = 262
	tagSamplesPerPixel    = 277
	tagPlanarConfig       = 284
	tagPredictor          = 317
	tagColorMap           = 320
	tagTileWidth          = 322
	tagTileLength         = 323
	tagTileOffsets        = 324
	tagTileByteCounts     = 325
	tagSampleFormat       = 339
	tagYCbCrSubSampling   = 530
	tagReferenceBW        = 532
	tagModelPixelScale    = 33550
	tagModelTiepoint      = 33922
	tagGeoKeyDirectory    = 34735
	tagGDALMetadata       = 42112
	tagGDALNoData         = 42113
	compressionNone       = 1
	compressionDeflate    = 8
	compressionDeflateOld = 32946
	compressionJPEG       = 7 // TIFF Technical Note 2, "new-style" JPEG
	predictorNone         = 1
	predictorHorizontal   = 2
	predictorFloat        = 3
	sampleFormatUint      = 1
	sampleFormatInt       = 2
	sampleFormatFloat     = 3
)

// TIFF field types.
const (
	tiffByte     = 1
	tiffASCII    = 2
	tiffShort    = 3
	tiffLong     = 4
	tiffRational = 5
	tiffSByte    = 6
	tiffUndef    = 7
	tiffSShort   = 8
	tiffSLong    = 9
	tiffSRat     = 10
	tiffFloat    = 11
	tiffDouble   = 12
	tiffLong8    = 16
	tiffSLong8   = 17
	tiffIFD8     = 18
)
