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
awk '/^BenchmarkCreate\// {
	split($1, p, "/"); name = p[2]; sub(/-[0-9]+$/, "", name)
	ns[name] += $3; al[name] += $7; n[name]++
} END {
	for (k in ns) printf "%-6s %9.0f ns/op %6.1f allocs/op   x%.2f ns, x%.2f allocs of typed\n", k, ns[k]/n[k], al[k]/n[k], (ns[k]/n[k])/(ns["typed"]/n["typed"]), (al[k]/n[k])/(al["typed"]/n["typed"])
}' /tmp/apibench.$$.txt
rm -f /tmp/apibench.$$.txt
