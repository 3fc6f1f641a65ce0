#!/usr/bin/env bash
# demo.sh: `make demo`, the course notes' greeting example end to end.
#
# Starts the C greeting server, reads the URI it prints, runs the C
# greeting client with that URI and a name on stdin (as a student would
# type them in a second terminal), and stops the server by its PID.
#
# usage: bash libpyro/tests/demo.sh <builddir>
set -u

build="${1:-build}"
server="$build/solutions/greeting/greeting-server"
client="$build/solutions/greeting/greeting-client"
name="${DEMO_NAME:-Alice}"

for program in "$server" "$client"; do
  if [ ! -x "$program" ]; then
    echo "demo: $program is missing; run 'make' first" >&2
    exit 1
  fi
done

# The server's stdout goes to a FIFO so we can read its first line as soon
# as it is printed (the server flushes it) while the server keeps running.
workdir=$(mktemp -d)
fifo="$workdir/server-stdout"
mkfifo "$fifo"
"$server" >"$fifo" &
server_pid=$!
exec 3<"$fifo"

stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    # Give it 5 s to stop cleanly, then insist.
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null
  fi
  wait "$server_pid" 2>/dev/null
  exec 3<&-
  rm -rf "$workdir"
}
trap stop_server EXIT

if ! IFS= read -r -t 20 line <&3; then
  echo "demo: the server printed no URI line within 20 s" >&2
  exit 1
fi
echo "server:  $line"
uri="${line#Ready. Object uri = }"
case "$uri" in
  PYRO:*) ;;
  *) echo "demo: unexpected first line from the server: $line" >&2; exit 1 ;;
esac

echo "client:  (typing the URI and the name \"$name\")"
if ! printf '%s\n%s\n' "$uri" "$name" | timeout 20 "$client"; then
  echo "demo: the client failed" >&2
  exit 1
fi
echo
echo "demo: OK"
