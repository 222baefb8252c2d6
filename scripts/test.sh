#!/usr/bin/env bash
# test.sh is changewatch's test command (CI runs it through .ci/run).
#
#   ./scripts/test.sh                    # go vet, staticcheck, gofmt -l + go test -race on ./...
#   ./scripts/test.sh ./s3store/         # only these packages
#   ./scripts/test.sh -run TestParseURL ./s3store/
#
# It runs setup.sh, starts a throwaway redis-server and versitygw (posix backend)
# on free 127.0.0.1 ports, exports their addresses for the tests
# (CHANGEWATCH_TEST_REDIS_ADDR, CHANGEWATCH_TEST_S3_ENDPOINT,
# CHANGEWATCH_TEST_S3_ACCESS_KEY, CHANGEWATCH_TEST_S3_SECRET_KEY), runs go vet,
# staticcheck (installed by setup.sh), a gofmt -l check and go test (and, on a
# full run, raster/ again under GOEXPERIMENT=cgocheck2), stops the servers and
# exits non-zero when any of them failed. A full run also runs every
# go test -fuzz target for CHANGEWATCH_FUZZTIME (5s). Arguments go to
# go test; arguments that look like package paths (./x, ../x, ., the module path)
# replace ./... for go vet, staticcheck and go test.
set -euo pipefail

# Everything runs inside main so that bash has parsed the whole file before it
# starts: editing or checking out this script during a run cannot change the run.
main() {
	root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
	cd "$root"

	log() { printf 'test.sh: %s\n' "$*"; }

	bash "$root/scripts/setup.sh"

	cache="${CHANGEWATCH_CACHE:-$HOME/.cache/changewatch}"
	versitygw="$cache/bin/versitygw"
	module="$(go list -m)"

	tmp="$(mktemp -d "${TMPDIR:-/tmp}/changewatch-test.XXXXXX")"
	pids=()
	cleanup() {
		local status=$?
		trap - EXIT INT TERM
		local pid
		for pid in "${pids[@]}"; do
			kill "$pid" 2>/dev/null || true
		done
		for pid in "${pids[@]}"; do
			wait "$pid" 2>/dev/null || true
		done
		rm -rf "$tmp"
		exit "$status"
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	# free_port prints a TCP port on 127.0.0.1 that nothing listens on right now.
	free_port() {
		if command -v python3 >/dev/null 2>&1; then
			python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
			return
		fi
		local port
		while :; do
			port=$((20000 + RANDOM % 40000))
			if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				echo "$port"
				return
			fi
		done
	}

	# wait_until PID NAME CMD...: polls CMD for up to 30 s while PID is alive.
	wait_until() {
		local pid=$1 name=$2
		shift 2
		local i
		for ((i = 0; i < 300; i++)); do
			if "$@" >/dev/null 2>&1; then
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || return 1
			sleep 0.1
		done
		log "$name did not answer within 30 s"
		return 1
	}

	tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
	redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

	# start_redis and start_versitygw try a few ports in case another process takes
	# the free port between free_port and the server's bind.
	start_redis() {
		local attempt port pid
		mkdir -p "$tmp/redis"
		for attempt in 1 2 3 4 5; do
			port="$(free_port)"
			redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
				--daemonize no --dir "$tmp/redis" --logfile "$tmp/redis.log" </dev/null &
			pid=$!
			if wait_until "$pid" redis-server redis_ping "$port"; then
				pids+=("$pid")
				export CHANGEWATCH_TEST_REDIS_ADDR="127.0.0.1:$port"
				log "redis-server on $CHANGEWATCH_TEST_REDIS_ADDR"
				return 0
			fi
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			log "redis-server failed on port $port (attempt $attempt):"
			tail -n 5 "$tmp/redis.log" 2>/dev/null || true
		done
		return 1
	}

	start_versitygw() {
		local attempt port pid
		export CHANGEWATCH_TEST_S3_ACCESS_KEY=changewatch
		export CHANGEWATCH_TEST_S3_SECRET_KEY=changewatch-test-secret
		mkdir -p "$tmp/s3"
		for attempt in 1 2 3 4 5; do
			port="$(free_port)"
			# No IAM options: single-account mode with the root keys below.
			"$versitygw" --port "127.0.0.1:$port" --quiet \
				--access "$CHANGEWATCH_TEST_S3_ACCESS_KEY" --secret "$CHANGEWATCH_TEST_S3_SECRET_KEY" \
				posix "$tmp/s3" </dev/null >"$tmp/versitygw.log" 2>&1 &
			pid=$!
			if wait_until "$pid" versitygw tcp_open 127.0.0.1 "$port"; then
				pids+=("$pid")
				export CHANGEWATCH_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
				log "versitygw on $CHANGEWATCH_TEST_S3_ENDPOINT (posix backend in $tmp/s3)"
				return 0
			fi
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			log "versitygw failed on port $port (attempt $attempt):"
			tail -n 5 "$tmp/versitygw.log" 2>/dev/null || true
		done
		return 1
	}

	start_redis
	start_versitygw

	# Split the arguments: package paths select what to vet and test, the rest are
	# go test flags.
	pkgs=()
	for arg in "$@"; do
		case "$arg" in
		. | ./* | .. | ../* | "$module" | "$module"/*) pkgs+=("$arg") ;;
		esac
	done
	test_args=("$@")
	if ((${#pkgs[@]} == 0)); then
		pkgs=(./...)
		test_args+=(./...)
	fi

	# Tests and the go command get private temp folders inside $tmp (siblings of the
	# servers' data): whatever tests leave behind goes away with $tmp, and a test
	# that removes its temp dir's parent cannot take /tmp or the servers with it.
	# (Recreated before each go command in case a test removed them anyway.)
	export TMPDIR="$tmp/tmp" GOTMPDIR="$tmp/go"
	private_tmp() { mkdir -p "$TMPDIR" "$GOTMPDIR"; }

	vet_status=0
	log "go vet ${pkgs[*]}"
	private_tmp
	go vet "${pkgs[@]}" || vet_status=$?

	# staticcheck and gofmt count as vet: a finding fails the run.
	log "staticcheck ${pkgs[*]}"
	private_tmp
	"$cache/bin/staticcheck" "${pkgs[@]}" || vet_status=$?
	local unformatted
	unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*'))"
	if [[ -n $unformatted ]]; then
		log "gofmt -l: not formatted:"
		printf '  %s\n' $unformatted
		vet_status=1
	fi

	test_status=0
	log "go test -race -count=1 -timeout 20m ${test_args[*]}"
	private_tmp
	go test -race -count=1 -timeout 20m "${test_args[@]}" || test_status=$?

	# cgo pointer rules are checked fully only under cgocheck2; raster/ is the cgo
	# package. Full runs only (no arguments); CHANGEWATCH_CGOCHECK2=0 turns it off.
	cgo_status=0
	if (($# == 0)) && [[ -d raster && ${CHANGEWATCH_CGOCHECK2:-1} != 0 ]]; then
		log "GOEXPERIMENT=cgocheck2 go test -count=1 -timeout 20m ./raster/..."
		private_tmp
		GOEXPERIMENT=cgocheck2 go test -count=1 -timeout 20m ./raster/... || cgo_status=$?
	fi

	# --- fuzz (issue 15) -------------------------------------------------------------
	# Full runs only: a short run of every go test -fuzz target (one per go test run, as
	# go test -fuzz takes one target), CHANGEWATCH_FUZZTIME each (default 5s; 0 skips).
	# A crasher is written under the package's testdata/fuzz/ by go test. A run that fails
	# without writing one is Go 1.26's race between the -fuzztime deadline and a worker
	# still running an input ("context deadline exceeded", go.dev/issue/75804, fixed in
	# Go 1.27): it is run once more, and fails the suite only if it fails again.
	fuzz_status=0
	fuzztime="${CHANGEWATCH_FUZZTIME:-5s}"
	fuzz_inputs() { # the number of inputs in a target's corpus folder (0 when there is none)
		if [[ -d $1 ]]; then find "$1" -type f | wc -l; else echo 0; fi
	}
	if (($# == 0)) && [[ $fuzztime != 0 ]]; then
		local file name dir before st
		while IFS=: read -r file name; do
			name="${name#func }"
			name="${name%%(*}"
			dir="$(dirname "$file")"
			log "go test -run '^\$' -fuzz '^$name\$' -fuzztime $fuzztime ./$dir/"
			private_tmp
			before="$(fuzz_inputs "$dir/testdata/fuzz/$name")"
			st=0
			go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "./$dir/" || st=$?
			if ((st != 0)) && [[ "$(fuzz_inputs "$dir/testdata/fuzz/$name")" == "$before" ]]; then
				log "$name failed without a failing input (go.dev/issue/75804): once more"
				st=0
				go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "./$dir/" || st=$?
			fi
			((st == 0)) || fuzz_status=$st
		done < <(grep -rHo --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | sed 's|^\./||' | sort)
	fi
	# --- end fuzz ----------------------------------------------------------------------

	if ((fuzz_status != 0)); then
		log "a fuzz target failed (status $fuzz_status)"
	fi
	if ((cgo_status != 0)); then
		log "raster tests under cgocheck2 failed (status $cgo_status)"
	fi
	if ((vet_status != 0)); then
		log "go vet, staticcheck or gofmt failed (status $vet_status)"
	fi
	if ((test_status != 0)); then
		exit "$test_status"
	fi
	if ((cgo_status != 0)); then
		exit "$cgo_status"
	fi
	if ((fuzz_status != 0)); then
		exit "$fuzz_status"
	fi
	exit "$vet_status"
}

main "$@"
