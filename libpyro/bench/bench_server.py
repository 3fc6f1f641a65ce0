#!/usr/bin/python3
"""bench_server.py: the Pyro4 daemon of `make bench` (the Python side).

Serves the same "bench" object as `pyro-bench daemon` (pyro-bench.c) with
Python Pyro4, prints "URI PYRO:bench@127.0.0.1:PORT" and serves until it is
killed.  bench.py starts it as its own process so it can read its peak RSS.
Run with /usr/bin/python3 (Debian's python3-pyro4) and PYRO_SERIALIZER=json.
"""
import sys
import threading

import Pyro4

BIG_SIZE = 1024 * 1024


def make_payload(size):
    # Plain ASCII, the same bytes as make_payload() in pyro-bench.c.
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return (alphabet * (size // 26 + 1))[:size]


@Pyro4.expose
class Bench(object):
    def __init__(self):
        # One object serves every connection, each in its own thread.
        self._lock = threading.Lock()
        self._notified = 0
        self._big = make_payload(BIG_SIZE)

    def echo(self, s):
        return s

    def add(self, a, b):
        return a + b

    @Pyro4.oneway
    def notify(self):
        with self._lock:
            self._notified += 1

    def count(self):
        with self._lock:
            return self._notified

    def big_result(self):
        return self._big

    def big_arg(self, s):
        return len(s)


def main():
    # Accept JSON whatever the environment says; the clients speak it.
    Pyro4.config.SERIALIZERS_ACCEPTED = {"json"}
    daemon = Pyro4.Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(Bench(), "bench")
    print("URI %s" % uri, flush=True)
    daemon.requestLoop()


if __name__ == "__main__":
    sys.exit(main())
