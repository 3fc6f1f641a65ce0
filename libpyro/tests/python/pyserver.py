#!/usr/bin/python3
"""pyserver.py: a Python Pyro4 daemon for libpyro's C client tests.

Run by libpyro/tests/test-interop-pyserver.c:

    pyserver.py [PORT]

Serves, on localhost and PORT (default: a free one):
  types    -- methods returning every JSON type, raising, oneway, slow
  single, session, percall -- a call counter in the three instance modes
  Pyro.Daemon -- as every daemon does

The first line on stdout is the URI of "types"; the C test reads the port
from it (to restart a daemon on the same port).  The daemon serves until
SIGTERM.
"""

import sys
import threading
import time

import Pyro4


class CountingDaemon(Pyro4.Daemon):
    """A daemon that counts the requests it receives, so that a test can
    tell whether a client sent anything."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests = 0
        self.requests_lock = threading.Lock()

    def handleRequest(self, conn):
        with self.requests_lock:
            self.requests += 1
        return super().handleRequest(conn)


@Pyro4.expose
class Types(object):
    def __init__(self, daemon):
        self._daemon = daemon
        self._lock = threading.Lock()
        self._notified = []

    def get_bool(self):
        return True

    def get_int(self):
        return -2147483648

    def get_bigint(self):
        return 2 ** 53 + 1

    def get_float(self):
        return 0.1

    def get_nan(self):
        return float("nan")

    def get_inf(self):
        return float("inf")

    def get_neg_inf(self):
        return float("-inf")

    def get_string(self):
        return 'Grüße "q"\n世界 ✓'

    def get_strings(self):
        return ["alpha", "", "ünï"]

    def get_list(self):
        return [1, "two", 3.5, None, True]

    def get_nested(self):
        return [[1, 2], [3], []]

    def get_dict(self):
        return {"a": 1, "b": 2}

    def get_mixed_dict(self):
        return {"name": "apple", "tags": ["x", "y"], "none": None}

    def get_none(self):
        return None

    def echo(self, value):
        return value

    def add(self, a, b):
        return a + b

    def greet(self, name, greeting="Hello"):
        return "%s, %s" % (greeting, name)

    def fail(self, message):
        raise ValueError(message)

    @Pyro4.oneway
    def notify(self, what):
        with self._lock:
            self._notified.append(what)

    def notify_count(self):
        with self._lock:
            return len(self._notified)

    def notified(self):
        with self._lock:
            return sorted(self._notified)

    @Pyro4.oneway
    def oneway_slow(self, seconds):
        time.sleep(seconds)

    def slow(self, seconds):
        time.sleep(seconds)
        return "slept"

    def requests(self):
        """How many requests the daemon has received so far (this one included)."""
        return self._daemon.requests


class Counter(object):
    """Counts the calls made on one instance."""

    def __init__(self):
        self._lock = threading.Lock()
        self._calls = 0

    @Pyro4.expose
    def count(self):
        with self._lock:
            self._calls += 1
            return self._calls


@Pyro4.behavior(instance_mode="single")
class SingleCounter(Counter):
    pass


@Pyro4.behavior(instance_mode="session")
class SessionCounter(Counter):
    pass


@Pyro4.behavior(instance_mode="percall")
class PercallCounter(Counter):
    pass


def main():
    # argv[1]: a TCP port (default 0, any), or "unix:PATH" for a Unix socket
    where = sys.argv[1] if len(sys.argv) > 1 else "0"
    if where.startswith("unix:"):
        daemon = CountingDaemon(unixsocket=where[len("unix:"):])
    else:
        daemon = CountingDaemon(host="localhost", port=int(where))
    uri = daemon.register(Types(daemon), "types")
    daemon.register(SingleCounter, "single")
    daemon.register(SessionCounter, "session")
    daemon.register(PercallCounter, "percall")
    print(uri, flush=True)
    daemon.requestLoop()


if __name__ == "__main__":
    main()
