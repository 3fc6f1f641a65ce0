#!/usr/bin/env bash
# test-demo.sh: `make demo` must keep working; runs its script (both the
# direct and the name-server way) and checks what a person would see. TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build="${PYRO_BUILD_DIR:-$top/build}"

echo "1..4"
output=$(cd "$top" && timeout 120 bash libpyro/tests/demo.sh "$build" 2>&1)
status=$?
greetings=$(grep -c "^Always do your best" <<<"$output")

[ "$status" = 0 ] && echo "ok 1 - demo.sh exits 0" || echo "not ok 1 - demo.sh exits 0 (got $status)"
[ "$greetings" = 2 ] && echo "ok 2 - the greeting is printed twice (direct, PYRONAME)" \
  || echo "not ok 2 - the greeting is printed twice (got $greetings)"
grep -q "^demo: OK" <<<"$output" && echo "ok 3 - demo.sh reports OK" || echo "not ok 3 - demo.sh reports OK"
stopped=$(grep -c "^stopped: .*, status 0$" <<<"$output")
[ "$stopped" = 3 ] && echo "ok 4 - the three servers stop by themselves on SIGTERM" \
  || echo "not ok 4 - the three servers stop by themselves on SIGTERM (got $stopped)"
[ "$status" = 0 ] && [ "$greetings" = 2 ] && [ "$stopped" = 3 ] || sed 's/^/# /' <<<"$output"
