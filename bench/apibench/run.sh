#!/usr/bin/env bash
# run.sh benchmarks a typed JSON POST against the same handler written by
# hand with Request.Parse and against gin's ShouldBindJSON + validator,
# in one run, and prints the ratios of ns/op and allocs/op to typed.
#
#	bench/apibench/run.sh            # -count 6
#	COUNT=10 bench/apibench/run.sh
set -euo pipefail
cd "$(dirname "$0")"
go test -run TestSameAnswer .
go test -run '^$' -bench BenchmarkCreate -benchmem -count "${COUNT:-6}" . | tee /tmp/apibench.$$.txt
# Medians of the runs, which the load of a shared machine moves less
# than means.
awk '/^BenchmarkCreate\// {
	split($1, p, "/"); name = p[2]; sub(/-[0-9]+$/, "", name)
	ns[name, ++n[name]] = $3; al[name] = $7
} function median(name,   i, j, t, a, k) {
	k = n[name]
	for (i = 1; i <= k; i++) a[i] = ns[name, i]
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
} END {
	t = median("typed")
	printf "median of %d runs; ratios to typed\n", n["typed"]
	split("typed parse gin", names, " ")
	for (i = 1; i <= 3; i++) { k = names[i]; m = median(k)
		printf "%-6s %8.0f ns/op %4d allocs/op   ns x%.2f   allocs x%.2f\n", k, m, al[k], m / t, al[k] / al["typed"] }
}' /tmp/apibench.$$.txt
rm -f /tmp/apibench.$$.txt
