#!/usr/bin/env bash
# fuzz-short.sh: runs every fuzz target of the module (each `func FuzzX` in a
# *_test.go file) for FUZZTIME (default 5s), one after the other, and stops
# at the first failure, printing the failing input's path (kept by `go test`
# under the package's testdata/fuzz/FuzzX/, where it becomes a seed: commit
# it with the fix).
#
#   scripts/fuzz-short.sh                 # every target, 5s each
#   FUZZTIME=1m scripts/fuzz-short.sh     # longer
#   scripts/fuzz-short.sh FuzzAPIQuery    # only the targets named
#
# The first run compiles each package with coverage instrumentation, which
# takes a while for packages that link SQLite; later runs reuse the cache.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-5s}"
# Go minimises every new interesting input for up to 60 s by default, and
# does not count that time in -fuzztime's executions: a target that drives
# a whole hub (20 ms an input) spent whole runs minimising. 100 tries are
# enough for an input that is kept as a seed, not as a report.
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-100x}"

# "<package dir> <target>" for each fuzz target, sorted.
targets=$(grep -r --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' . |
	sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$#\1 \2#' | sort -u)
if [ -z "$targets" ]; then
	echo "fuzz-short: no fuzz target found" >&2
	exit 1
fi

log=$(mktemp)
tmpcache=
trap 'rm -f "$log"; [ -n "$tmpcache" ] && rm -rf "$tmpcache"' EXIT
ran=0
while read -r dir name; do
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
		continue
	fi
	echo "fuzz-short: $name (./$dir) for $FUZZTIME"
	# The seeds first, as a plain test: quick, and a seed that fails is named.
	# Then fuzzing, from the seeds only: the corpus go test caches in GOCACHE
	# grows with every run, and replaying it ("gathering baseline coverage")
	# would soon take the whole FUZZTIME (FUZZCACHE=keep uses it anyway).
	cachedir=()
	if [ "${FUZZCACHE:-}" != keep ]; then
		tmpcache=$(mktemp -d)
		cachedir=(-args "-test.fuzzcachedir=$tmpcache")
	fi
	run_target() {
		go test -count=1 -run "^${name}\$" "./$dir" &&
			go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "./$dir" "${cachedir[@]}"
	}
	ok=true
	run_target >"$log" 2>&1 || ok=false
	# Go 1.26's fuzzing coordinator can report the end of -fuzztime itself as
	# a failure ("context deadline exceeded", no input written) when a worker
	# is still busy at the deadline on a loaded machine: golang/go#75804,
	# fixed in Go 1.27, which counts it as the normal end. It is counted so
	# here too, and only on that exact signature: the fuzzing ran its full
	# time and found nothing. Any other failure (a failing input, a panic, a
	# t.Error line, a seed) fails.
	if ! $ok && grep -qx '    context deadline exceeded' "$log" &&
		! grep -q 'Failing input written' "$log" &&
		[ "$(grep -c -e '^--- FAIL' -e '^panic:' -e '_test\.go:[0-9]*:' "$log")" = 1 ]; then
		echo "fuzz-short: $name: ran its full time; the coordinator reported its own deadline (golang/go#75804, no failing input), counted as the end as Go 1.27 does"
		ok=true
	fi
	if ! $ok; then
		cat "$log"
		input=$(sed -nE 's/.*Failing input written to (testdata\/fuzz\/[^ ]*).*/\1/p' "$log" | head -n1)
		if [ -z "$input" ]; then # a seed of testdata/fuzz failed: go test names it
			for seed in $(sed -nE "s/.*--- FAIL: ${name}\/([^ ]+) .*/\1/p" "$log"); do
				if [ -f "$dir/testdata/fuzz/$name/$seed" ]; then
					input="testdata/fuzz/$name/$seed"
					break
				fi
				input="(f.Add seed) $seed"
			done
		fi
		echo >&2
		if [[ $input == "(f.Add seed)"* ]]; then
			echo "fuzz-short: $name FAILED on ${input#(f.Add seed) }, a seed added in the test's code (f.Add)" >&2
		elif [ -n "$input" ]; then
			echo "fuzz-short: $name FAILED; failing input: $dir/$input" >&2
			echo "fuzz-short: re-run it with: go test -run '^${name}/$(basename "$input")\$' ./$dir" >&2
		else
			echo "fuzz-short: $name FAILED (no failing input written: see the output above)" >&2
		fi
		exit 1
	fi
	[ -n "${tmpcache:-}" ] && rm -rf "$tmpcache"
	grep -E '^fuzz: elapsed' "$log" | tail -n1 || true
	ran=$((ran + 1))
done <<<"$targets"
echo "fuzz-short: $ran fuzz target(s) passed, $FUZZTIME each"
