#!/usr/bin/env bash
# setup.sh installs what changewatch needs to build and test on a Debian/Ubuntu
# machine that has Go: GDAL (headers, tools, Python bindings), a C/C++ toolchain for
# cgo, redis-server, the Go modules, Node.js and npm with the web front end's packages
# (built into web/dist/ and embedded by serve), and, for the tests, versitygw (the
# S3-compatible test server) and chromium (the browser test).
# Idempotent: a second run installs nothing and does not touch apt.
#
# Environment: CHANGEWATCH_CACHE (default ~/.cache/changewatch) holds bin/versitygw.
#
#   ./scripts/setup.sh            # everything, for running and testing
#   ./scripts/setup.sh --run      # only what running changewatch needs (no test servers)
set -euo pipefail

run_only=false
[[ ${1:-} == --run ]] && run_only=true

VERSITYGW_VERSION=v1.8.0
STATICCHECK_VERSION=v0.8.2
# libjpeg-dev: raster/cog encodes the true-colour composites' JPEG tiles with libjpeg-turbo
# (libgdal-dev pulls it in too).
APT_PACKAGES=(libgdal-dev libjpeg-dev gdal-bin python3-gdal redis-server g++ pkg-config)
# Node.js and npm (build the front end) and chromium (the browser test), unless some
# install of them is already on PATH.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)
$run_only || command -v chromium >/dev/null 2>&1 || APT_PACKAGES+=(chromium)
# poppler-utils: pdftoppm, with which the report tests turn report.pdf into pictures.
$run_only || APT_PACKAGES+=(poppler-utils)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CHANGEWATCH_CACHE:-$HOME/.cache/changewatch}"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# as_root runs a command as root: directly when we are root, else through sudo.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

installed() {
	local status
	status="$(dpkg -s "$1" 2>/dev/null || true)"
	[[ $status == *"Status: install ok installed"* ]]
}

command -v go >/dev/null 2>&1 || die "go is not on PATH; install Go $(sed -n 's/^go //p' "$root/go.mod") or newer first"

# 1. Debian packages.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
	command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get"
	log "apt-get install ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	log "apt packages present: ${APT_PACKAGES[*]}"
fi

# 2. Go modules of this repository.
log "go mod download"
(cd "$root" && go mod download)

# 3. The web front end: npm packages (exact versions from package-lock.json), bundled by
# esbuild into web/dist/, which package web embeds. Rebuilt only when a source changed.
web="$root/web"
if [[ ! -f $web/dist/index.html || -n $(find "$web/src" "$web/package-lock.json" "$web/build.mjs" -newer "$web/dist/index.html" 2>/dev/null | head -n 1) ]]; then
	log "building the web front end (npm ci, npm run build)"
	(cd "$web" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build) >&2
else
	log "web front end built in $web/dist"
fi

# 4. versitygw, built from source into the cache (the stamp file records the version).
bin="$cache/bin"
if $run_only; then
	log "skipping the test servers (--run)"
elif [[ -x $bin/versitygw && $(cat "$bin/versitygw.version" 2>/dev/null || true) == "$VERSITYGW_VERSION" ]]; then
	log "versitygw $VERSITYGW_VERSION present in $bin"
else
	log "installing versitygw $VERSITYGW_VERSION into $bin (go install, takes a few minutes)"
	mkdir -p "$bin"
	# Run outside the repository so its go.mod and GOFLAGS cannot interfere.
	(cd / && GOFLAGS= GOBIN="$bin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
	printf '%s\n' "$VERSITYGW_VERSION" >"$bin/versitygw.version"
fi

# 5. staticcheck, for the test command's lint step (same cache, same stamp scheme).
if $run_only; then
	:
elif [[ -x $bin/staticcheck && $(cat "$bin/staticcheck.version" 2>/dev/null || true) == "$STATICCHECK_VERSION" ]]; then
	log "staticcheck $STATICCHECK_VERSION present in $bin"
else
	log "installing staticcheck $STATICCHECK_VERSION into $bin (go install)"
	mkdir -p "$bin"
	(cd / && GOFLAGS= GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION")
	printf '%s\n' "$STATICCHECK_VERSION" >"$bin/staticcheck.version"
fi
log "done"
