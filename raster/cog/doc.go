// Package cog is changewatch's GeoTIFF codec, which works without GDAL's raster I/O (the
// bytes go through GDAL's VSI layer, DEFLATE through GDAL's libdeflate, JPEG through
// libjpeg-turbo): a tile reader for the first image of a tiled TIFF or BigTIFF (Open,
// Image), a streaming Cloud Optimized GeoTIFF writer (NewWriter, Write) and a
// window-by-window mosaic on disk (NewMosaic). What the pixels mean is decided in package
// raster.
package cog
