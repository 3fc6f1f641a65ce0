#!/usr/bin/python3
"""pyclient.py: a Python Pyro4 client that exercises a libpyro (C) daemon.

Run by libpyro/tests/test-interop-pyclient.c:

    pyclient.py <check> <host:port>

The C test serves the objects "types", "single", "session" and "percall"
on <host:port>.  Each check prints one line per observation, in a fixed
order, and the C test compares them with what it expects; the checks also
assert what only Python can see (exception classes, attributes), so a
failed assertion ends the script with a traceback and exit status 1.

The environment (set by testutil.c) has PYRO_SERIALIZER=json.
"""

import math
import sys
import time

import Pyro4
import Pyro4.errors


def show(label, value):
    """One observation: label, Python type name, repr."""
    print("%s: %s %r" % (label, type(value).__name__, value))


def check_types(loc):
    p = Pyro4.Proxy("PYRO:types@" + loc)
    show("bool", p.get_bool())
    show("int32", p.get_int32())
    show("int64", p.get_int64())
    show("double", p.get_double())
    nan = p.get_nan()
    assert isinstance(nan, float) and math.isnan(nan)
    show("nan", nan)
    show("inf", p.get_inf())
    show("neg_inf", p.get_neg_inf())
    show("string", p.get_string())
    show("strv", p.get_strv())
    show("dict", dict(sorted(p.get_dict().items())))
    show("nested", p.get_nested())
    show("none", p.get_none())
    show("maybe_set", p.get_maybe(True))
    show("maybe_unset", p.get_maybe(False))
    show("add", p.add(40, 2))
    # Python values through the C daemon and back, through a "v" argument.
    for value in (None, True, -7, 2 ** 62, 0.5, "Grüße ✓", [1, "two", [3.0]], {"k": [None]}):
        show("echo", p.echo(value))
    # Keyword arguments and an optional (maybe) argument.
    show("greet_default", p.greet("Ann"))
    show("greet_positional", p.greet("Ann", "Hi"))
    show("greet_kwargs", p.greet(greeting="Hey", name="Bob"))
    # An exposed attribute.
    show("label", p.label)
    p.label = "changed ✓"
    show("label_set", p.label)


def check_error(loc):
    p = Pyro4.Proxy("PYRO:types@" + loc)
    try:
        p.fail("bad apple ✗")
    except ValueError as e:
        assert type(e) is ValueError, type(e)
        tb = getattr(e, "_pyroTraceback", None)
        assert isinstance(tb, list) and len(tb) > 0, tb
        assert all(isinstance(line, str) and line.endswith("\n") for line in tb), tb
        show("fail", str(e))
        # Pyro4's own formatting of a remote exception must show the block.
        text = "".join(Pyro4.util.getPyroTraceback())
        assert "Remote traceback:" in text, text
        print("traceback: present")
    else:
        raise AssertionError("fail() did not raise")
    # The connection is still usable after an exception reply.
    show("after", p.add(1, 1))


def check_oneway(loc):
    p = Pyro4.Proxy("PYRO:types@" + loc)
    p._pyroBind()
    assert "notify" in p._pyroOneway, p._pyroOneway
    for i in range(100):
        result = p.notify("n%d" % i)
        assert result is None
    # Oneway calls run in their own threads on the daemon: wait (bounded)
    # until all of them have been counted.
    count = 0
    for _ in range(400):  # at most about 20 s
        count = p.notify_count()
        if count == 100:
            break
        time.sleep(0.05)
    show("notify_count", count)


def check_instance_modes(loc):
    # Two proxies a, b; calls a, a, b, a (the reference's §9 experiment).
    for mode in ("single", "session", "percall"):
        a = Pyro4.Proxy("PYRO:%s@%s" % (mode, loc))
        b = Pyro4.Proxy("PYRO:%s@%s" % (mode, loc))
        counts = [a.count(), a.count(), b.count(), a.count()]
        show(mode, counts)
        a._pyroRelease()
        b._pyroRelease()


def check_metadata(loc):
    p = Pyro4.Proxy("PYRO:types@" + loc)
    p._pyroBind()
    show("methods", sorted(p._pyroMethods))
    show("oneway", sorted(p._pyroOneway))
    show("attrs", sorted(p._pyroAttrs))
    try:
        p.no_such_method()
    except AttributeError as e:
        # Refused by the proxy itself, from the metadata: no remote traceback.
        assert getattr(e, "_pyroTraceback", None) is None
        assert "has no exposed attribute or method 'no_such_method'" in str(e), str(e)
        print("unknown_method: AttributeError (local)")
    else:
        raise AssertionError("no_such_method() did not raise")


def expect_type_error(label, call):
    try:
        call()
    except TypeError as e:
        # Raised by the daemon: it carries the remote traceback.
        assert getattr(e, "_pyroTraceback", None), "TypeError without remote traceback"
        print("%s: TypeError %s" % (label, e))
    else:
        raise AssertionError(label + " did not raise")


def check_bad_args(loc):
    p = Pyro4.Proxy("PYRO:types@" + loc)
    expect_type_error("wrong_type", lambda: p.add("x", 1))
    expect_type_error("too_few", lambda: p.add(1))
    expect_type_error("too_many", lambda: p.add(1, 2, 3))
    expect_type_error("unknown_kwarg", lambda: p.greet("Ann", colour="red"))
    expect_type_error("out_of_range", lambda: p.add(2 ** 40, 1))
    # None of these broke the connection.
    show("after", p.add(2, 3))


def check_daemon_object(loc):
    d = Pyro4.Proxy("PYRO:Pyro.Daemon@" + loc)
    show("ping", d.ping())
    show("registered", sorted(d.registered()))
    info = d.info()
    assert isinstance(info, str) and info.startswith("Pyro.Daemon bound on "), info
    print("info: ok")
    meta = d.get_metadata("types")
    show("meta_keys", sorted(meta))
    show("meta_oneway", sorted(meta["oneway"]))
    show("meta_attrs", sorted(meta["attrs"]))
    assert "notify" in meta["methods"] and "add" in meta["methods"], meta
    try:
        d.get_metadata("no.such.object")
    except Pyro4.errors.DaemonError as e:
        assert str(e).startswith("unknown object"), str(e)
        print("unknown_object: DaemonError")
    else:
        raise AssertionError("get_metadata of an unknown object did not raise")


def check_serpent(loc):
    # A default Python client speaks serpent; the C daemon only speaks JSON
    # and must say so instead of hanging or dropping the socket.
    Pyro4.config.SERIALIZER = "serpent"
    p = Pyro4.Proxy("PYRO:types@" + loc)
    p._pyroTimeout = 10
    try:
        p.add(1, 2)
    except Pyro4.errors.CommunicationError as e:
        assert "serializer" in str(e) and "not accepted" in str(e), str(e)
        print("serpent: CommunicationError (serializer not accepted)")
    else:
        raise AssertionError("a serpent call succeeded")


CHECKS = {
    "types": check_types,
    "error": check_error,
    "oneway": check_oneway,
    "instance-modes": check_instance_modes,
    "metadata": check_metadata,
    "bad-args": check_bad_args,
    "daemon-object": check_daemon_object,
    "serpent": check_serpent,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in CHECKS:
        sys.exit("usage: pyclient.py {%s} HOST:PORT" % ",".join(CHECKS))
    # Every socket operation is bounded; the C test bounds the whole run too.
    Pyro4.config.COMMTIMEOUT = 15
    CHECKS[sys.argv[1]](sys.argv[2])
    print("done")
