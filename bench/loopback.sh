#!/usr/bin/env bash
# loopback.sh compares examples/hello with the same handler on a bare
# httprouter server (testdata/rawhello), end to end over loopback, with wrk.
# It also measures testdata/hellonolog, which is hello with the access log
# off. See bench/README.md.
#
#	bench/loopback.sh                        # 3 rounds of 30 s per server
#	DURATION=10 ROUNDS=2 bench/loopback.sh   # a quicker look
#
# Every process it starts is killed by pid on exit, and each wrk run is
# bounded by timeout(1), so the whole run takes at most about
# ROUNDS * 3 * (DURATION + WARMUP + 15) seconds.
set -euo pipefail

DURATION=${DURATION:-30} # seconds per measured wrk run
ROUNDS=${ROUNDS:-3}      # each round measures every server once
WARMUP=${WARMUP:-3}      # seconds of unmeasured load before each run
CONNS=${CONNS:-32}       # wrk connections, the same for every server
THREADS=${THREADS:-1}    # wrk threads: the box has 2 cores to share
PORT0=${PORT0:-18190}    # rawhello, rawsafe, hello and hellonolog use PORT0..PORT0+3
OUT=${OUT:-$(mktemp -d)}

cd "$(dirname "$0")/.."
for tool in wrk curl timeout; do
	command -v "$tool" >/dev/null || { echo "loopback.sh: $tool not found (apt-get install wrk curl)" >&2; exit 1; }
done
mkdir -p "$OUT"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	# hello drains gracefully on SIGTERM; give it a moment, then insist.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local alive=0
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		((alive)) || return 0
		sleep 0.5
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building into $OUT"
go build -o "$OUT/rawhello" ./testdata/rawhello
go build -o "$OUT/hello" ./examples/hello
go build -o "$OUT/hellonolog" ./testdata/hellonolog

# rawsafe is rawhello with baton's timeouts against slow clients.
names=(rawhello rawsafe hello hellonolog)
declare -A port pid
for i in "${!names[@]}"; do
	n=${names[$i]}
	port[$n]=$((PORT0 + i))
	# hello writes one access log line per request to stderr: send it to
	# /dev/null so that the terminal does not slow it down.
	bin=$n env=()
	if [ "$n" = rawsafe ]; then bin=rawhello env=(RAW_TIMEOUTS=1); fi
	env PORT=${port[$n]} "${env[@]}" "$OUT/$bin" >/dev/null 2>&1 &
	pids+=($!)
	pid[$n]=$!
done
for n in "${names[@]}"; do
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:${port[$n]}/" && continue 2
		sleep 0.1
	done
	echo "loopback.sh: $n did not answer on port ${port[$n]}" >&2
	exit 1
done
for n in "${names[@]}"; do
	printf '%-11s answers "%s"\n' "$n" "$(curl -s "http://127.0.0.1:${port[$n]}/")"
done

# cpu_ticks PID prints the CPU time (user + system, in clock ticks) used so
# far by PID and its children: hello's worker is a child of its master.
cpu_ticks() {
	local p total=0 f
	for p in "$1" $(pgrep -P "$1" || true); do
		f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		f=${f##*) } # the fields after the command name, from field 3
		set -- $f
		total=$((total + ${12} + ${13})) # utime and stime, fields 14 and 15
	done
	echo "$total"
}

# wrk_run NAME SECONDS OUTFILE runs wrk against one server, bounded.
wrk_run() {
	timeout $(($2 + 15)) wrk -t"$THREADS" -c"$CONNS" -d"$2"s "http://127.0.0.1:${port[$1]}/" >"$3" &
	pids+=($!)
	wait $!
}

echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, $ROUNDS rounds, order rotated each round"
for r in $(seq "$ROUNDS"); do
	# Rotate the order (A B C, B C A, C A B) so that no server always runs
	# first or last in a round.
	k=$(((r - 1) % ${#names[@]}))
	order=("${names[@]:k}" "${names[@]:0:k}")
	for n in "${order[@]}"; do
		wrk_run "$n" "$WARMUP" /dev/null
		t0=$(cpu_ticks "${pid[$n]}")
		wrk_run "$n" "$DURATION" "$OUT/$n.$r.txt"
		t1=$(cpu_ticks "${pid[$n]}")
		rps=$(awk '/^Requests\/sec:/ {print $2}' "$OUT/$n.$r.txt")
		reqs=$(awk '/requests in/ {print $1}' "$OUT/$n.$r.txt")
		# Server CPU per request, in microseconds: steadier than req/s,
		# which also moves with what wrk and the rest of the box get.
		cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$reqs" 'BEGIN { printf "%.3f", t / hz * 1e6 / n }')
		echo "$cpu" >"$OUT/$n.$r.cpu"
		printf 'round %d  %-11s %10s req/s %8s us CPU/request\n' "$r" "$n" "$rps" "$cpu"
	done
done

# Ratios are taken within a round, where the servers ran minutes apart at
# most, then summarised over the rounds.
echo
awk -v rounds="$ROUNDS" -v out="$OUT" '
function rps(file,   line, f) {
	while ((getline line < file) > 0)
		if (line ~ /^Requests\/sec:/) { split(line, f, " "); close(file); return f[2] }
	close(file); return 0
}
function cpu(file,   line) {
	if ((getline line < file) > 0) { close(file); return line }
	close(file); return 0
}
function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
BEGIN {
	printf "%-6s %9s %9s %9s %9s %9s %9s %11s\n", "round", "raw", "rawsafe", "hello", "nolog", "hello/raw", "nolog/raw", "nolog/safe"
	for (r = 1; r <= rounds; r++) {
		raw = rps(out "/rawhello." r ".txt"); safe = rps(out "/rawsafe." r ".txt")
		h = rps(out "/hello." r ".txt"); nl = rps(out "/hellonolog." r ".txt")
		R[r] = raw; S[r] = safe; H[r] = h; N[r] = nl; RH[r] = h / raw; RN[r] = nl / raw; RQ[r] = nl / safe
		printf "%-6d %9.0f %9.0f %9.0f %9.0f %9.3f %9.3f %11.3f\n", r, raw, safe, h, nl, RH[r], RN[r], RQ[r]
		if (r == 1 || RH[r] < minh) minh = RH[r]; if (r == 1 || RH[r] > maxh) maxh = RH[r]
		if (r == 1 || RN[r] < minn) minn = RN[r]; if (r == 1 || RN[r] > maxn) maxn = RN[r]
		if (r == 1 || RQ[r] < mins) mins = RQ[r]; if (r == 1 || RQ[r] > maxs) maxs = RQ[r]
	}
	printf "%-6s %9.0f %9.0f %9.0f %9.0f %9.3f %9.3f %11.3f\n", "median", median(R, rounds), median(S, rounds), median(H, rounds), median(N, rounds), median(RH, rounds), median(RN, rounds), median(RQ, rounds)
	printf "%-6s %39s %4.3f-%4.3f %4.3f-%4.3f %4.3f-%4.3f\n", "range", "", minh, maxh, minn, maxn, mins, maxs
	print ""
	print "server CPU per request (us; hello counts its master and worker); ratios raw/x, so 0.97 means 3% more CPU"
	printf "%-6s %9s %9s %9s %9s %9s %9s %11s\n", "round", "raw", "rawsafe", "hello", "nolog", "raw/hello", "raw/nolog", "safe/nolog"
	for (r = 1; r <= rounds; r++) {
		raw = cpu(out "/rawhello." r ".cpu"); safe = cpu(out "/rawsafe." r ".cpu")
		h = cpu(out "/hello." r ".cpu"); nl = cpu(out "/hellonolog." r ".cpu")
		CR[r] = raw; CS[r] = safe; CH[r] = h; CN[r] = nl; CRH[r] = raw / h; CRN[r] = raw / nl; CSN[r] = safe / nl
		printf "%-6d %9.2f %9.2f %9.2f %9.2f %9.3f %9.3f %11.3f\n", r, raw, safe, h, nl, CRH[r], CRN[r], CSN[r]
	}
	printf "%-6s %9.2f %9.2f %9.2f %9.2f %9.3f %9.3f %11.3f\n", "median", median(CR, rounds), median(CS, rounds), median(CH, rounds), median(CN, rounds), median(CRH, rounds), median(CRN, rounds), median(CSN, rounds)
}'
echo
echo "wrk output in $OUT"
