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

# "<package dir> <target>" for each fuzz target, sorted.
targets=$(grep -r --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' . |
	sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$#\1 \2#' | sort -u)
if [ -z "$targets" ]; then
	echo "fuzz-short: no fuzz target found" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
ran=0
while read -r dir name; do
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
		continue
	fi
	echo "fuzz-short: $name (./$dir) for $FUZZTIME"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "./$dir" >"$log" 2>&1; then
		cat "$log"
		input=$(sed -nE 's/.*Failing input written to (testdata\/fuzz\/[^ ]*).*/\1/p' "$log" | head -n1)
		echo >&2
		if [ -n "$input" ]; then
			echo "fuzz-short: $name FAILED; failing input: $dir/$input" >&2
			echo "fuzz-short: re-run it with: go test -run '^${name}/$(basename "$input")\$' ./$dir" >&2
		else
			echo "fuzz-short: $name FAILED (no failing input written: see the output above)" >&2
		fi
		exit 1
	fi
	grep -E '^fuzz: elapsed' "$log" | tail -n1 || true
	ran=$((ran + 1))
done <<<"$targets"
echo "fuzz-short: $ran fuzz target(s) passed, $FUZZTIME each"
