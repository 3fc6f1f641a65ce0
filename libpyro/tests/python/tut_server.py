#!/usr/bin/python3
"""tut_server.py: a Python Pyro4 daemon for libpyro's tutorial-feature tests.

Run by libpyro/tests/test-{attributes,streams,callbacks,batch,hmac}.c:

    tut_server.py [--hmac KEY] [--linger SECONDS] [--lifetime SECONDS]

Serves the object "thing" on localhost and a free port and prints its URI
as the first line of stdout; serves until SIGTERM.  "thing" has:
  name (read-only property), value (read/write property), counter (a plain
  attribute, never reachable), gen(n) (a generator that records when it is
  freed), freed(), housekeeping(), add(a, b), echo(x), fail(), note(x)
  (oneway), notes(), call_back(cb, n), notify_back(cb, n), call_failing(cb),
  make_child() (autoproxy).
"""

import argparse
import threading

import Pyro4


@Pyro4.expose
class Child(object):
    def __init__(self, number):
        self.number = number

    def whoami(self):
        return "child %d" % self.number


class Thing(object):
    def __init__(self):
        self._value = 42
        self.counter = 0
        self._lock = threading.Lock()
        self._freed = []
        self._notes = []
        self._children = 0

    @Pyro4.expose
    @property
    def name(self):
        return "Thing"

    @Pyro4.expose
    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        self._value = value

    @Pyro4.expose
    def gen(self, n):
        """Yields 0, 10, 20...; records "gen n" once the generator is gone."""
        try:
            for i in range(n):
                yield i * 10
        finally:
            with self._lock:
                self._freed.append("gen %d" % n)

    @Pyro4.expose
    def freed(self):
        with self._lock:
            return list(self._freed)

    @Pyro4.expose
    def housekeeping(self):
        """Runs the daemon's stream cleanup now (it normally runs every few seconds)."""
        self._pyroDaemon._housekeeping()
        return self.freed()

    @Pyro4.expose
    def add(self, a, b):
        return a + b

    @Pyro4.expose
    def echo(self, x):
        return x

    @Pyro4.expose
    def fail(self):
        raise ValueError("bad thing")

    @Pyro4.expose
    @Pyro4.oneway
    def note(self, x):
        with self._lock:
            self._notes.append(x)

    @Pyro4.expose
    def notes(self):
        with self._lock:
            return list(self._notes)

    @Pyro4.expose
    def call_back(self, cb, n):
        """Calls cb.done(n) and returns what it answered."""
        return cb.done(n)

    @Pyro4.expose
    def notify_back(self, cb, n):
        """Calls cb.notify(n), a oneway method of the callback object."""
        cb.notify(n)
        return "notified"

    @Pyro4.expose
    def call_failing(self, cb):
        try:
            cb.fail()
        except Exception as e:
            return "%s: %s" % (type(e).__name__, e)
        return "no error"

    @Pyro4.expose
    def make_child(self):
        with self._lock:
            self._children += 1
            child = Child(self._children)
        self._pyroDaemon.register(child)
        return child


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hmac")
    parser.add_argument("--linger", type=float)
    parser.add_argument("--lifetime", type=float)
    args = parser.parse_args()
    if args.linger is not None:
        Pyro4.config.ITER_STREAM_LINGER = args.linger
    if args.lifetime is not None:
        Pyro4.config.ITER_STREAM_LIFETIME = args.lifetime
    Pyro4.config.SERIALIZERS_ACCEPTED = {"json"}
    daemon = Pyro4.Daemon(host="localhost", port=0)
    if args.hmac:
        daemon._pyroHmacKey = args.hmac.encode()
    uri = daemon.register(Thing(), "thing")
    print(uri, flush=True)
    daemon.requestLoop()


if __name__ == "__main__":
    main()
