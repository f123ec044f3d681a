#!/usr/bin/env bash
# opinstructions.sh counts the instructions one op of a Go benchmark row
# executes, with valgrind's callgrind: the row runs 1,000 and 6,000 times,
# and the difference of the two totals divided by 5,000 is the cost of an
# op, set-up excluded. One P and no GC, so that neither idle spinning nor
# collection cycles land in the count.
#
#	bench/opinstructions.sh ./metrics 'BenchmarkMetrics/baton'
set -euo pipefail
pkg=$1
row=$2
command -v valgrind >/dev/null || { echo "opinstructions.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/t" "$pkg"
run() {
	GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg" \
		"$dir/t" -test.run '^$' -test.bench "^$row\$" -test.benchtime "$1x" >/dev/null 2>"$dir/err"
	awk '/^(summary|totals):/ {print $2; exit}' "$dir/cg"
}
lo=$(run 1000)
hi=$(run 6000)
echo "$row $(((hi - lo) / 5000)) instructions/op"
