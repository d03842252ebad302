#!/usr/bin/env bash
# Compares one full ipcwatch inventory with lsfd listing every fd of the
# host, with 500 extra processes holding 10,000 pipe and socket fds
# (collector's BenchmarkInventory), and prints the median time of each and
# their ratio. Needs root. COUNT sets the number of runs (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
out=$(go test -run '^$' -bench '^BenchmarkInventory$' -benchtime 5x -count "$count" ./collector)
echo "$out" | grep '^BenchmarkInventory/'
echo "$out" | awk '
  /^BenchmarkInventory\/collector/ { c[nc++] = $3 }
  /^BenchmarkInventory\/lsfd/      { l[nl++] = $3 }
  function median(a, n,   i, j, t) {
    for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2
  }
  END {
    if (nc == 0 || nl == 0) { print "no benchmark results"; exit 1 }
    mc = median(c, nc); ml = median(l, nl)
    printf "median: ipcwatch %.1f ms, lsfd %.1f ms: ipcwatch is %.1fx faster (goal: 2x)\n", mc / 1e6, ml / 1e6, ml / mc
  }'
