#!/usr/bin/env bash
# Compares ipcwatch's round trip with the plain C reference (bench/c), both
# processes on one CPU, 64-byte messages (8 for signal and eventfd): runs
# BenchmarkRoundTrip, which alternates the Go session and the C reference over
# several rounds, then `ipcwatch bench --cpu same --size 64`, and prints one
# markdown table.
# The goal is a ratio (Go p50 / C p50) of at most 1.25 for every mechanism.
#
#   scripts/bench-vs-c.sh [mechanism-regexp]
#
# IPCWATCH_BENCH_COUNT round trips per mechanism (default 21000), split over
# IPCWATCH_BENCH_ROUNDS rounds (default 7); IPCWATCH_BENCH_CPU=cross or any
# changes the placement. Needs a C compiler (scripts/deps.sh installs gcc).
set -euo pipefail
cd "$(dirname "$0")/.."

filter=${1:-.}
count=${IPCWATCH_BENCH_COUNT:-21000}
rounds=${IPCWATCH_BENCH_ROUNDS:-7}
cpu=${IPCWATCH_BENCH_CPU:-same}
goal=1.25

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -count=1 -run '^$' -bench "^BenchmarkRoundTrip/(${filter})\$" -benchtime "${count}x" \
  -timeout 20m ./ipc/ -args -ipc.rounds "$rounds" -ipc.cpu "$cpu" >"$tmp/gotest" 2>&1 || {
  cat "$tmp/gotest" >&2; exit 1; }

# name go_p50 c_p50 ratio, from lines like
# BenchmarkRoundTrip/pipe-2  20000  3786 ns/op  2739 c-p50-ns  3113 go-p50-ns  1.137 ratio
awk '/^BenchmarkRoundTrip\// {
  name = $1; sub(/^BenchmarkRoundTrip\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 3; i < NF; i++) m[$(i+1)] = $i
  print name, m["go-p50-ns"], m["c-p50-ns"], m["ratio"] }' "$tmp/gotest" >"$tmp/ratios"
if [ ! -s "$tmp/ratios" ]; then
  cat "$tmp/gotest" >&2
  echo "bench-vs-c: no result for ${filter}" >&2; exit 1
fi
mechs=$(awk '{print $1}' "$tmp/ratios" | paste -sd, -)

go build -o "$tmp/ipcwatch" ./cmd/ipcwatch
# The whole run at 64 bytes; mechanisms that cannot carry 64 bytes fail
# there and run again at their own limit.
only=()
[ "$filter" = . ] || only=(--mechanism "$mechs")
"$tmp/ipcwatch" bench --cpu "$cpu" --size 64 "${only[@]}" --json >"$tmp/bench.json" 2>"$tmp/bench.err" || true
# mechanism size p50 p90 p99 msgs/s, from the indented JSON list
parse() {
  awk -F': ' '
    /"mechanism"/ { gsub(/[",]/, "", $2); m = $2 }
    /"size"/      { gsub(/,/, "", $2); s = $2 }
    /"p50_ns"/    { gsub(/,/, "", $2); p50 = $2 }
    /"p90_ns"/    { gsub(/,/, "", $2); p90 = $2 }
    /"p99_ns"/    { gsub(/,/, "", $2); p99 = $2 }
    /"msgs_per_sec"/ { gsub(/,/, "", $2); print m, s, p50, p90, p99, $2 }' "$1"
}
parse "$tmp/bench.json" >"$tmp/bench"
for m in $(awk 'FILENAME == ARGV[1] { seen[$1] = 1; next } !($1 in seen) { print $1 }' "$tmp/bench" "$tmp/ratios"); do
  "$tmp/ipcwatch" bench --cpu "$cpu" --mechanism "$m" --json >"$tmp/bench2.json" 2>>"$tmp/bench.err" || true
  parse "$tmp/bench2.json" >>"$tmp/bench"
done

echo "Round trip, CPU placement ${cpu}; Go and C p50 are medians of ${rounds} interleaved rounds of $((count / rounds)) round trips each;"
echo "ratio is the median of the rounds' Go p50 / C p50, each pair measured back to back."
echo
echo "| mechanism | size | Go p50 | C p50 | ratio | goal ≤ ${goal} | ipcwatch bench p50 | p90 | p99 | msgs/s |"
echo "|---|--:|--:|--:|--:|:-:|--:|--:|--:|--:|"
awk -v goal="$goal" '
  FILENAME == ARGV[1] { b[$1] = $0; next }
  {
    split(b[$1], f, " ")
    ok = ($4 + 0 <= goal) ? "yes" : "**no**"
    size = (f[2] != "") ? f[2] : "-"
    printf "| %s | %s | %.0f ns | %.0f ns | %.2f | %s | %s | %s | %s | %s |\n", $1, size, $2, $3, $4, ok,
      (f[3] != "" ? f[3] " ns" : "failed"), (f[4] != "" ? f[4] " ns" : "-"),
      (f[5] != "" ? f[5] " ns" : "-"), (f[6] != "" ? sprintf("%.0f", f[6]) : "-")
  }' "$tmp/bench" <(sort -k4,4nr "$tmp/ratios")
if [ -s "$tmp/bench.err" ]; then
  echo
  sed 's/^/    /' "$tmp/bench.err"
fi
