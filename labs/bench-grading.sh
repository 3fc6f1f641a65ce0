#!/usr/bin/env bash
# bench-grading.sh: how long grading takes (a benchmark, not a test).
#
# Times labs/pyro-grade on one submission (the reference solution, every
# test) and on a class of N submissions (default 50): copies of the starter
# and of the solution, mixed, graded in parallel on every core.
#
#   bash labs/bench-grading.sh [N]
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-50}"
unset MAKEFLAGS MFLAGS MAKELEVEL
export PYRO_BROADCAST_ADDRS=127.0.0.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

make -s --no-print-directory -C "$top" lab-flags >/dev/null

start=$(date +%s.%N)
/usr/bin/python3 "$top/labs/pyro-grade" --lab greeting --out "$work/one" "$top/solutions/greeting" >/dev/null
end=$(date +%s.%N)
one=$(/usr/bin/python3 -c "print($end - $start)")

for i in $(seq -w 1 "$n"); do
  if (( 10#$i % 2 )); then src="$top/greeting"; else src="$top/solutions/greeting"; fi
  mkdir -p "$work/class/student$i"
  cp "$src"/greeting-server.c "$src"/greeting-client.c "$work/class/student$i/"
done
start=$(date +%s.%N)
/usr/bin/python3 "$top/labs/pyro-grade" --lab greeting --class --out "$work/out" "$work/class" >/dev/null
end=$(date +%s.%N)
class=$(/usr/bin/python3 -c "print($end - $start)")

printf 'grading, on %s cores:\n' "$(nproc)"
printf '  one submission (solution, all tests):        %6.1f s\n' "$one"
printf '  a class of %s (starter and solution mixed):  %6.1f s\n' "$n" "$class"
