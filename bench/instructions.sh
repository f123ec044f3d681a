#!/usr/bin/env bash
# instructions.sh counts the user-space instructions each server of
# bench/loopback.sh executes per request, with valgrind's callgrind: a
# figure that does not move with the load of the machine, unlike
# requests/s or CPU time. See bench/README.md.
#
#	bench/instructions.sh                 # 2,000 and 12,000 requests per server
#	LO=5000 HI=25000 bench/instructions.sh
#
# Each server runs twice under callgrind, serving LO and then HI requests
# from testdata/load over 4 keep-alive connections; the difference of the
# two totals divided by HI-LO is the cost of a request, start-up and
# shutdown excluded. hello runs without its master (BATON_GRACEFUL=0), and
# with asynchronous preemption off, whose signals callgrind does not follow.
set -euo pipefail

LO=${LO:-2000}
HI=${HI:-12000}
PORT0=${PORT0:-18390}
OUT=${OUT:-$(mktemp -d)}

cd "$(dirname "$0")/.."
for tool in valgrind callgrind_control; do
	command -v "$tool" >/dev/null || { echo "instructions.sh: $tool not found (apt-get install valgrind)" >&2; exit 1; }
done
mkdir -p "$OUT"

pid=
cleanup() { [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$OUT/rawhello" ./testdata/rawhello
go build -o "$OUT/hello" ./examples/hello
go build -o "$OUT/hellonolog" ./testdata/hellonolog
go build -o "$OUT/load" ./testdata/load

# instructions prints the total instructions of name serving n requests.
port=$PORT0
instructions() {
	local name=$1 bin=$2 n=$3 env=()
	[[ $name == rawsafe ]] && env=(RAW_TIMEOUTS=1)
	local prof="$OUT/callgrind.$name.$n"
	rm -f "$prof" "$prof".*
	env "${env[@]}" GODEBUG=asyncpreemptoff=1 BATON_GRACEFUL=0 PORT=$port \
		valgrind --tool=callgrind --callgrind-out-file="$prof" "$bin" >"$OUT/$name.$n.log" 2>&1 &
	pid=$!
	"$OUT/load" -url "http://127.0.0.1:$port/" -n "$n" -c 4
	callgrind_control -d "$pid" >/dev/null 2>&1 # writes $prof.1
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
	port=$((port + 1))
	awk '/^totals:/ {print $2}' "$prof.1"
}

declare -A per
for name in rawhello rawsafe hellonolog hello; do
	bin="$OUT/$name"
	[[ $name == rawsafe ]] && bin="$OUT/rawhello"
	lo=$(instructions "$name" "$bin" "$LO")
	hi=$(instructions "$name" "$bin" "$HI")
	per[$name]=$(((hi - lo) / (HI - LO)))
	printf '%-11s %7d instructions/request\n' "$name" "${per[$name]}"
done
echo
awk -v raw="${per[rawhello]}" -v safe="${per[rawsafe]}" -v nolog="${per[hellonolog]}" -v hello="${per[hello]}" 'BEGIN {
	printf "ratios raw/x, so 0.97 means 3%% more instructions\n"
	printf "raw/nolog %.3f   safe/nolog %.3f   raw/hello %.3f\n", raw/nolog, safe/nolog, raw/hello
}'
echo "callgrind profiles in $OUT"
