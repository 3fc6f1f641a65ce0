#!/usr/bin/env bash
# demo.sh: `make demo`, the course notes' greeting example end to end, both ways.
#
# 1. Direct: start the C greeting server, read the URI it prints, run the
#    C greeting client with that URI and a name on stdin (as a student would
#    type them in a second terminal).
# 2. Through the name server: start pyro-ns on a free loopback port, start
#    `greeting-server --ns` (it registers example.greeting), and give the
#    client the URI PYRONAME:example.greeting.
# 3. Stop the servers with SIGTERM; each must exit by itself, status 0.
# Every process started here is stopped by its PID.
#
# usage: bash libpyro/tests/demo.sh <builddir>
set -u

build="${1:-build}"
server="$build/solutions/greeting/greeting-server"
client="$build/solutions/greeting/greeting-client"
nameserver="$build/bin/pyro-ns"
name="${DEMO_NAME:-Alice}"

for program in "$server" "$client" "$nameserver"; do
  if [ ! -x "$program" ]; then
    echo "demo: $program is missing; run 'make' first" >&2
    exit 1
  fi
done

workdir=$(mktemp -d)
pids=()
labels=()

stop_all() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    # Give each 5 s to stop cleanly, then insist.
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$workdir"
}
trap stop_all EXIT

# start NAME FD COMMAND...: runs COMMAND in the background with its stdout
# on a FIFO opened as file descriptor FD, so we can read its lines as soon
# as it prints (and flushes) them while it keeps running.
start() {
  local label=$1 fd=$2
  shift 2
  mkfifo "$workdir/$label"
  "$@" >"$workdir/$label" &
  pids+=("$!")
  labels+=("$label")
  eval "exec $fd<\"$workdir/$label\""
}

# stop_servers: asks every server to stop with SIGTERM, as a person would
# with Ctrl-C or kill, and checks that each one exits by itself, with
# status 0, within 5 s.  Returns 1 (after saying which) if one does not.
stop_servers() {
  local i pid status failed=0
  for i in "${!pids[@]}"; do
    pid=${pids[$i]}
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: ${labels[$i]} (pid $pid) did not stop within 5 s of SIGTERM" >&2
      failed=1
      continue
    fi
    wait "$pid"
    status=$?
    if [ "$status" != 0 ]; then
      echo "demo: ${labels[$i]} (pid $pid) exited with status $status after SIGTERM" >&2
      failed=1
    else
      echo "stopped: ${labels[$i]} (pid $pid), status 0"
    fi
  done
  # stop_all (on exit) still insists on any that did not stop.
  [ "$failed" = 0 ] && pids=()
  return "$failed"
}

# wait_for_line FD PREFIX: prints the first line from FD starting with PREFIX.
wait_for_line() {
  local fd=$1 prefix=$2 line
  while IFS= read -r -t 20 line <&"$fd"; do
    case "$line" in
      "$prefix"*) echo "$line"; return 0 ;;
    esac
  done
  echo "demo: no line starting with '$prefix' within 20 s" >&2
  return 1
}

run_client() {
  echo "client:  (typing the URI \"$1\" and the name \"$name\")"
  if ! printf '%s\n%s\n' "$1" "$name" | timeout 20 "$client"; then
    echo "demo: the client failed" >&2
    exit 1
  fi
  echo
}

echo "== 1. the server prints its URI, the client is given it =="
start greeting 3 "$server"
line=$(wait_for_line 3 "Ready. Object uri = ") || exit 1
echo "server:  $line"
run_client "${line#Ready. Object uri = }"

echo "== 2. through the name server: PYRONAME:example.greeting =="
start nameserver 4 "$nameserver" -n 127.0.0.1 -p 0 -x
line=$(wait_for_line 4 "URI = ") || exit 1
echo "pyro-ns: $line"
ns_port=${line##*:}
export PYRO_NS_HOST=127.0.0.1 PYRO_NS_PORT=$ns_port PYRO_BROADCAST_ADDRS=127.0.0.1
start greeting-ns 5 "$server" --ns
line=$(wait_for_line 5 "Ready. Object uri = ") || exit 1
echo "server:  $line (registered as example.greeting)"
run_client "PYRONAME:example.greeting"

echo "== 3. the servers stop on SIGTERM =="
stop_servers || exit 1
echo "demo: OK"
