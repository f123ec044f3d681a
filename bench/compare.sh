#!/usr/bin/env bash
# compare.sh runs the in-process benchmarks of bench_test.go and compares
# baton with raw httprouter and with net/http's ServeMux using benchstat.
#
#	bench/compare.sh                      # all benchmarks, -count 6
#	COUNT=10 BENCH='Static|GitHubAll' bench/compare.sh
#
# The raw results and the per-implementation files are kept in $OUT (a new
# temporary directory unless set).
set -euo pipefail

cd "$(dirname "$0")/.."
COUNT=${COUNT:-6}
BENCH=${BENCH:-.}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
BENCHSTAT=${BENCHSTAT:-$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")}
if [[ ! -x $BENCHSTAT ]]; then
	echo "compare.sh: benchstat not found: go install golang.org/x/perf/cmd/benchstat@latest" >&2
	exit 1
fi

go test -run '^$' -bench "$BENCH" -count "$COUNT" . | tee "$OUT/all.txt"

# benchstat compares files, so split the results by implementation and drop
# the implementation from the names: BenchmarkStatic/baton-2 becomes
# BenchmarkStatic-2 in baton.txt.
for impl in baton httprouter servemux; do
	grep -E "^(goos|goarch|pkg|cpu):" "$OUT/all.txt" >"$OUT/$impl.txt"
	{ grep -E "^Benchmark[^ ]*/$impl-" "$OUT/all.txt" || true; } | sed -E "s,/$impl-,-," >>"$OUT/$impl.txt"
done

echo
echo "## baton against raw httprouter"
"$BENCHSTAT" httprouter="$OUT/httprouter.txt" baton="$OUT/baton.txt"
echo
echo "## baton against ServeMux"
"$BENCHSTAT" servemux="$OUT/servemux.txt" baton="$OUT/baton.txt"
if grep -q '^BenchmarkAccessLog' "$OUT/all.txt"; then
	echo
	echo "## access log"
	"$BENCHSTAT" -filter '.name:AccessLog' "$OUT/all.txt"
fi
echo
echo "results in $OUT"
