#!/usr/bin/python3
"""tut_client.py: a Python Pyro4 client for libpyro's tutorial-feature tests.

Run by libpyro/tests/test-{attributes,streams,callbacks,batch,hmac}.c:

    tut_client.py URI TASK [ARG] [--hmac KEY]

Calls the C daemon's object at URI and prints one line per observation,
which the C test compares; errors it expects are printed as
"<ExceptionClass>: <message>".  Exit status 0 unless something unexpected
happened (then a traceback goes to stderr).

Tasks:
  attrs           read name, write and read value, read-only and unknown attribute
  stream-full     list(gen(3))
  stream-close    take 2 items of gen(100), then close the iterator
  stream-abandon  take 1 item of gen(100), then drop the connection without closing
  stream-expire   take 1 item of gen(100), sleep ARG seconds, ask for the next
  autoproxy       make_child() and call the proxy it returns
  batch           add, echo, add in one batch
  batch-error     add, fail, add in one batch
  batch-oneway    note("a"), note("b") as a oneway batch, then notes()
  call            add(1, 2) (for HMAC tests)
  callback        host a callback object in our own daemon, hand it to
                  call_back / notify_back / call_failing
"""

import argparse
import os
import sys
import threading
import time

import Pyro4


def show_error(e):
    print("%s: %s" % (type(e).__name__, e), flush=True)


def task_attrs(p, arg):
    print(p.name)
    p.value = 7
    print(p.value)
    try:
        p.name = "renamed"
        print("set name: no error")
    except Exception as e:
        show_error(e)
    try:
        print(p.nosuch)
    except Exception as e:
        show_error(e)


def task_stream_full(p, arg):
    print(list(p.gen(3)))


def task_stream_close(p, arg):
    it = p.gen(100)
    print(next(it), next(it))
    it.close()
    print("closed")


def task_stream_abandon(p, arg):
    it = p.gen(100)
    print(next(it))
    p._pyroRelease()
    print("abandoned", flush=True)
    os._exit(0)  # no iterator finalizer may send close_stream


def task_stream_expire(p, arg):
    it = p.gen(100)
    print(next(it))
    time.sleep(float(arg))
    try:
        print(next(it))
    except Exception as e:
        show_error(e)


def task_autoproxy(p, arg):
    child = p.make_child()
    print(type(child).__name__, child.whoami())


def task_batch(p, arg):
    b = Pyro4.batch(p)
    b.add(1, 2)
    b.echo("z")
    b.add(5, 5)
    print(list(b()))


def task_batch_error(p, arg):
    b = Pyro4.batch(p)
    b.add(1, 2)
    b.fail()
    b.add(5, 5)
    try:
        for result in b():
            print(result)
    except Exception as e:
        show_error(e)


def task_batch_oneway(p, arg):
    b = Pyro4.batch(p)
    b.note("a")
    b.note("b")
    print(b(oneway=True))
    deadline = time.time() + 20
    while time.time() < deadline and len(p.notes()) < 2:
        time.sleep(0.05)
    print(p.notes())


def task_call(p, arg):
    try:
        print(p.add(1, 2))
    except Exception as e:
        show_error(e)


class Callback(object):
    def __init__(self):
        self.notified = threading.Event()
        self.value = None

    @Pyro4.expose
    def done(self, n):
        return "done %d" % n

    @Pyro4.expose
    @Pyro4.oneway
    def notify(self, n):
        self.value = n
        self.notified.set()

    @Pyro4.expose
    def fail(self):
        raise ValueError("callback failed")


def task_callback(p, arg):
    daemon = Pyro4.Daemon(host="localhost")
    cb = Callback()
    daemon.register(cb)
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    print(p.call_back(cb, 5))
    print(p.notify_back(cb, 6))
    print(cb.notified.wait(20), cb.value)
    print(p.call_failing(cb))
    daemon.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("task")
    parser.add_argument("arg", nargs="?")
    parser.add_argument("--hmac")
    args = parser.parse_args()
    p = Pyro4.Proxy(args.uri)
    p._pyroTimeout = 20
    if args.hmac:
        p._pyroHmacKey = args.hmac.encode()
    globals()["task_" + args.task.replace("-", "_")](p, args.arg)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
