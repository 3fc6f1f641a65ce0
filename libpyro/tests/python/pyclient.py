#!/usr/bin/python3
"""pyclient.py: a Python Pyro4 client that exercises a libpyro (C) daemon.

Run by libpyro/tests/test-interop-pyclient.c:

    pyclient.py <check> <host:port> [<name>...]

The C test serves the objects "types", "single", "session", "percall",
"returns", "takes" and "errors" on <host:port>; the checks "returns",
"sends" and "errors" take the names of what to try after <host:port>.
Each check prints one line per observation, in a fixed order, and the C
test compares them with what it expects; the checks also assert what only
Python can see (exception classes, attributes), so a failed assertion
ends the script with a traceback and exit status 1.

The environment (set by testutil.c) has PYRO_SERIALIZER=json.
"""

import math
import sys
import time

import Pyro4
import Pyro4.errors
import Pyro4.util


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


def check_returns(loc, methods):
    # One method per mapped type, named by the C test in its table's order.
    p = Pyro4.Proxy("PYRO:returns@" + loc)
    for name in methods:
        show(name, getattr(p, name)())


def show_exception(label, e):
    """One observation of an exception: its module and class, its args,
    and the remote traceback's lines after the "Traceback" header (or that
    there is none, for an exception raised by Pyro4 itself)."""
    tb = getattr(e, "_pyroTraceback", None)
    if tb is None:
        where = "no remote traceback"
    else:
        # The shape Pyro4.util.formatTraceback() gives and excepthook prints.
        assert isinstance(tb, list) and len(tb) >= 2, tb
        assert all(isinstance(line, str) and line.endswith("\n") for line in tb), tb
        assert tb[0] == "Traceback (most recent call last):\n", tb
        # Pyro4's own report of the exception shows the remote block.
        text = "".join(Pyro4.util.getPyroTraceback(type(e), e, e.__traceback__))
        assert "Remote traceback:\n | Traceback (most recent call last):\n" in text, text
        where = " / ".join(line.strip() for line in tb[1:])
    cls = type(e)
    print("%s: %s.%s %r | %s" % (label, cls.__module__, cls.__qualname__, e.args, where))


def check_errors(loc, kinds):
    # Errors set by a C method, one per kind the C test names.
    p = Pyro4.Proxy("PYRO:errors@" + loc)
    for kind in kinds:
        try:
            p.raise_error(kind)
        except Exception as e:
            show_exception(kind, e)
        else:
            raise AssertionError("raise_error(%r) did not raise" % kind)
    # Some of these made the proxy drop its connection (every
    # CommunicationError does); it connects again.
    show("after", p.ok())


class CustomError(Exception):
    """Stands for the class "mymodule.CustomError" a C method names."""


def check_custom_class(loc):
    # A client that knows the class can rebuild it: Pyro4 hands the dict it
    # received (class name, args, attributes) to the registered function.
    def rebuild(classname, data):
        assert classname == "mymodule.CustomError", classname
        assert data["__exception__"] is True, data
        error = CustomError(*data["args"])
        for name, value in data["attributes"].items():
            setattr(error, name, value)
        return error

    Pyro4.util.SerializerBase.register_dict_to_class("mymodule.CustomError", rebuild)
    p = Pyro4.Proxy("PYRO:errors@" + loc)
    try:
        p.raise_error("custom")
    except CustomError as e:
        show_exception("custom", e)
    else:
        raise AssertionError("raise_error('custom') did not raise CustomError")


def check_result_errors(loc):
    # Results the daemon cannot send: it sends an exception instead.
    p = Pyro4.Proxy("PYRO:errors@" + loc)
    for name in ("bad_return", "return_bytes", "return_maybe_bytes", "return_handle"):
        try:
            getattr(p, name)()
        except Exception as e:
            show_exception(name, e)
        else:
            raise AssertionError(name + "() did not raise")
    show("after", p.ok())


# What the Python client sends to the "takes" object: label -> (method,
# value).  The C test names the labels to try and what each must give:
# the C methods answer with what they got (take_double in words, the
# others as GLib prints the argument tuple); a value that does not fit is
# refused by the daemon before the method runs.
SENDS = {
    "double_nan": ("take_double", float("nan")),
    "double_inf": ("take_double", float("inf")),
    "double_neg_inf": ("take_double", float("-inf")),
    "double_neg_zero": ("take_double", -0.0),
    "double_from_int": ("take_double", 3),
    "double_tenth": ("take_double", 0.1),
    "int64_max": ("take_int64", 2 ** 63 - 1),
    "int64_min": ("take_int64", -2 ** 63),
    "int64_2_63": ("take_int64", 2 ** 63),
    "int64_2_70": ("take_int64", 2 ** 70),
    "int64_below_min": ("take_int64", -2 ** 63 - 1),
    "uint64_2_63_minus_1": ("take_uint64", 2 ** 63 - 1),
    "uint64_2_63": ("take_uint64", 2 ** 63),
    "uint64_negative": ("take_uint64", -1),
    "variant_2_70": ("take_variant", 2 ** 70),
    "bool_true": ("take_bool", True),
    "bool_from_int": ("take_bool", 1),
    "int32_from_bool": ("take_int32", True),
    "int32_from_float": ("take_int32", 3.0),
    "int32_none": ("take_int32", None),
    "byte_max": ("take_byte", 255),
    "byte_over": ("take_byte", 256),
    "byte_negative": ("take_byte", -1),
    "int16_min": ("take_int16", -32768),
    "int16_under": ("take_int16", -32769),
    "uint16_max": ("take_uint16", 65535),
    "uint16_over": ("take_uint16", 65536),
    "uint32_max": ("take_uint32", 2 ** 32 - 1),
    "uint32_over": ("take_uint32", 2 ** 32),
    "string": ("take_string", "Grüße 😀 \x01\n"),
    "path": ("take_path", "/org/example/Thing"),
    "path_bad": ("take_path", "not/a path"),
    "signature": ("take_signature", "a{sv}"),
    "signature_bad": ("take_signature", "a{"),
    "pair_tuple": ("take_pair", ("apple", 3)),
    "pair_list": ("take_pair", ["apple", 3]),
    "pair_short": ("take_pair", ("apple",)),
    "entry": ("take_entry", ("key", 7)),
    "int_keys": ("take_int_keys", {1: "one", -2: "minus two"}),
    "int_keys_bad": ("take_int_keys", {"x": "y"}),
    "bool_keys": ("take_bool_keys", {True: "yes", False: "no"}),
    "double_keys": ("take_double_keys", {1.5: "a", float("nan"): "n", float("-inf"): "i"}),
    "uint64_keys": ("take_uint64_keys", {2 ** 64 - 1: "max"}),
    "strv_tuple": ("take_strv", ("a", "", "ü")),
    "variants": ("take_variants", [1, "a", True, None, [2.5]]),
    "vardict": ("take_vardict", {"n": 1, "f": 1.5, "l": ["x"], "d": {"k": None}}),
    "bytes": ("take_bytes", [1, 2]),
    "maybe_none": ("take_maybe", None),
    "maybe_int": ("take_maybe", 5),
    "variant_mixed": ("take_variant", [1, "a", None, 2.5, {"k": True}]),
}


def check_sends(loc, labels):
    p = Pyro4.Proxy("PYRO:takes@" + loc)
    for label in labels:
        method, value = SENDS[label]
        try:
            result = getattr(p, method)(value)
        except Exception as e:
            show_exception(label, e)
        else:
            show(label, result)
    # None of the refusals broke the connection.
    show("after", p.take_int64(1))


CHECKS = {
    "types": check_types,
    "error": check_error,
    "oneway": check_oneway,
    "instance-modes": check_instance_modes,
    "metadata": check_metadata,
    "bad-args": check_bad_args,
    "daemon-object": check_daemon_object,
    "serpent": check_serpent,
    "errors": check_errors,
    "custom-class": check_custom_class,
    "result-errors": check_result_errors,
    "sends": check_sends,
    "returns": check_returns,
}

# Checks that take the names to try after HOST:PORT.
CHECKS_WITH_NAMES = ("errors", "returns", "sends")

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in CHECKS or \
            (len(sys.argv) > 3 and sys.argv[1] not in CHECKS_WITH_NAMES):
        sys.exit("usage: pyclient.py {%s} HOST:PORT [NAME...]" % ",".join(CHECKS))
    # Every socket operation is bounded; the C test bounds the whole run too.
    Pyro4.config.COMMTIMEOUT = 15
    if sys.argv[1] in CHECKS_WITH_NAMES:
        CHECKS[sys.argv[1]](sys.argv[2], sys.argv[3:])
    else:
        CHECKS[sys.argv[1]](sys.argv[2])
    print("done")
