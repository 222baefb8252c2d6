#!/usr/bin/env bash
# baseline_gdal.sh is the change map a GIS user would script with GDAL's own tools from
# Debian (gdal-bin, python3-gdal): the baseline `changewatch bench` compares detect with.
#
#   scripts/baseline_gdal.sh OUT_DIR BEFORE_SCENE_DIR... -- AFTER_SCENE_DIR...
#
# A scene folder holds the Earth Search band files B04.tif (red, 10 m), B08.tif (NIR,
# 10 m) and SCL.tif (scene classification, 20 m). The method is the plain one:
#   1. SCL resampled to 10 m (nearest, a VRT: no pixels written);
#   2. gdal_calc.py: per scene NDVI with SCL masking (no data, saturated, cloud shadow,
#      cloud medium/high, cirrus: classes 0 1 3 8 9 10) and DN > 0, the per-pixel median
#      over the clear scenes of each period, dNDVI = after - before, change = dNDVI <= -0.25
#      (Byte 0/1);
#   3. gdal_sieve.py: 8-connected regions under the minimum mapping unit (20 px = 0.2 ha)
#      merged into their neighbours;
#   4. gdal_polygonize.py: the change pixels (value 1) to OUT_DIR/changes.gpkg, layer
#      "changes", field "change", in the scenes' UTM CRS.
# Settings from the environment: DN_OFFSET (default 1000, processing baseline >= 04.00),
# DNDVI_THRESHOLD (-0.25), MIN_PIXELS (20), PYTHON (/usr/bin/python3, the interpreter
# python3-gdal is installed for). Intermediate rasters stay in OUT_DIR.
set -euo pipefail

main() {
	if [ $# -lt 4 ]; then
		echo "usage: $0 OUT_DIR BEFORE_SCENE_DIR... -- AFTER_SCENE_DIR..." >&2
		exit 2
	fi
	local out="$1"
	shift
	local -a before=() after=()
	local side=before
	for d in "$@"; do
		if [ "$d" = "--" ]; then
			side=after
			continue
		fi
		if [ "$side" = before ]; then before+=("$d"); else after+=("$d"); fi
	done
	if [ ${#before[@]} -eq 0 ] || [ ${#after[@]} -eq 0 ]; then
		echo "baseline_gdal.sh: need at least one before and one after scene folder" >&2
		exit 2
	fi

	local py="${PYTHON:-/usr/bin/python3}"
	local off="${DN_OFFSET:-1000}" thr="${DNDVI_THRESHOLD:--0.25}" minpx="${MIN_PIXELS:-20}"
	tool() { # the python3-gdal scripts, run by the interpreter GDAL's bindings belong to
		local t
		t="$(command -v "$1")" || { echo "baseline_gdal.sh: $1 not found (apt install python3-gdal)" >&2; exit 1; }
		shift
		"$py" "$t" "$@"
	}
	mkdir -p "$out"

	# 1. SCL on the 10 m grid of B04.
	local -a args=()
	local i=0
	scl10() { # scene folder -> path of a 10 m SCL VRT (runs in a subshell: the caller counts i)
		local size
		size="$(gdalinfo "$1/B04.tif" | sed -n 's/^Size is \([0-9]*\), \([0-9]*\)$/\1 \2/p')"
		# shellcheck disable=SC2086 # size is "W H"
		gdal_translate -q -of VRT -r near -outsize $size "$1/SCL.tif" "$out/scl10_$i.vrt"
		echo "$out/scl10_$i.vrt"
	}
	local -a sb=() sa=()
	for d in "${before[@]}"; do sb+=("$(scl10 "$d")"); i=$((i + 1)); done
	for d in "${after[@]}"; do sa+=("$(scl10 "$d")"); i=$((i + 1)); done

	# 2. Masked NDVI, median per period, dNDVI threshold. Letters: A B C before red, NIR,
	# SCL; D E F after. With several files a letter is a (scenes, rows, cols) array.
	args=(-A) && for d in "${before[@]}"; do args+=("$d/B04.tif"); done
	args+=(-B) && for d in "${before[@]}"; do args+=("$d/B08.tif"); done
	args+=(-C "${sb[@]}")
	args+=(-D) && for d in "${after[@]}"; do args+=("$d/B04.tif"); done
	args+=(-E) && for d in "${after[@]}"; do args+=("$d/B08.tif"); done
	args+=(-F "${sa[@]}")
	local bad="[0,1,3,8,9,10]"
	ndvi() { # red nir scl -> median NDVI of the clear scenes
		echo "nanmedian(where(($1>0)&($2>0)&~isin($3,$bad),($2-1.0*$1)/($2+1.0*$1-2*$off),nan).reshape((-1,)+$1.shape[-2:]),axis=0)"
	}
	rm -f "$out/change.tif" "$out/sieved.tif" "$out/changes.gpkg"
	PYTHONWARNINGS=ignore tool gdal_calc.py --quiet --hideNoData --type Byte --NoDataValue 255 \
		"${args[@]}" --outfile "$out/change.tif" \
		--calc "1*(($(ndvi D E F))-($(ndvi A B C))<=$thr)"

	# 3. Minimum mapping unit.
	tool gdal_sieve.py -q -st "$minpx" -8 "$out/change.tif" -of GTiff "$out/sieved.tif"

	# 4. Polygons of the change pixels (the raster is its own mask: 0 is left out).
	tool gdal_polygonize.py -q -8 -mask "$out/sieved.tif" "$out/sieved.tif" -of GPKG "$out/changes.gpkg" changes change
}

main "$@"
