"""Python Pyro4 as a client of a name server (the C one, in test-naming.c).

usage: ns_client.py direct NSHOST NSPORT ECHO_URI
       ns_client.py discover BCPORT EXPECTED_NS_URI

"direct" exercises every name server method with Pyro4's own proxy, checks
results and error texts against what Pyro4's name server gives, then calls
a C object through PYRONAME: and PYROMETA: proxies.  "discover" finds the
name server by UDP broadcast on loopback.  Prints "ALL OK" at the end; any
mismatch raises (non-zero exit, traceback on stderr).
"""
import sys
import Pyro4
import Pyro4.errors

Pyro4.config.SERIALIZER = "json"
Pyro4.config.BROADCAST_ADDRS = "127.0.0.1"
Pyro4.config.COMMTIMEOUT = 20.0


def expect_error(kind, message, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except Exception as x:
        assert type(x).__name__ == kind, (kind, type(x).__name__, str(x))
        assert message is None or str(x) == message or str(x).startswith(message), (message, str(x))
        return
    raise AssertionError("no error from %r, expected %s" % (call, kind))


def direct(host, port, echo_uri):
    ns = Pyro4.locateNS(host, port)
    assert str(ns._pyroUri) == "PYRO:Pyro.NameServer@%s:%d" % (host, port), ns._pyroUri
    ns.ping()
    assert ns.count() == 1
    own = ns.lookup("Pyro.NameServer", return_metadata=True)
    assert isinstance(own[0], Pyro4.URI) and own[1] == ["class:Pyro4.naming.NameServer"], own

    ns.register("example.thing", "PYRO:thing@127.0.0.1:9302", metadata=["tag1", "tag2"])
    ns.register("example.echo", Pyro4.URI(echo_uri), metadata={"echo"})
    uri = ns.lookup("example.thing")
    assert isinstance(uri, Pyro4.URI) and str(uri) == "PYRO:thing@127.0.0.1:9302", uri
    uri, meta = ns.lookup("example.thing", return_metadata=True)
    assert sorted(meta) == ["tag1", "tag2"], meta
    assert ns.list(prefix="example.") == {"example.thing": "PYRO:thing@127.0.0.1:9302",
                                          "example.echo": echo_uri}
    assert ns.list(regex=r"example\..*ing") == {"example.thing": "PYRO:thing@127.0.0.1:9302"}
    assert ns.list(metadata_all=["tag1", "tag2"]) == {"example.thing": "PYRO:thing@127.0.0.1:9302"}
    listed = ns.list(metadata_any={"zz", "echo"}, return_metadata=True)
    assert listed == {"example.echo": [echo_uri, ["echo"]]}, listed
    assert set(ns.list()) == {"Pyro.NameServer", "example.thing", "example.echo"}

    expect_error("NamingError", "unknown name: nope", ns.lookup, "nope")
    expect_error("NamingError", "name already registered: example.thing",
                 ns.register, "example.thing", "PYRO:x@127.0.0.1:1", safe=True)
    expect_error("PyroError", "invalid uri", ns.register, "x", "junk")
    expect_error("TypeError", "only URIs or strings can be registered", ns.register, "x", 42)
    expect_error("TypeError", "name must be a str", ns.register, 42, "PYRO:x@127.0.0.1:1")
    expect_error("TypeError", "metadata should not be a str, but another iterable (set, list, etc)",
                 ns.register, "x", "PYRO:x@127.0.0.1:1", metadata="abc")
    expect_error("ValueError", "you can only filter on one thing at a time", ns.list, prefix="a", regex="b")
    expect_error("NamingError", "invalid regex: ", ns.list, regex="[")
    expect_error("NamingError", "unknown name: nope", ns.set_metadata, "nope", ["a"])
    assert ns.count() == 3

    ns.set_metadata("example.thing", ["new"])
    assert ns.lookup("example.thing", return_metadata=True)[1] == ["new"]
    ns.set_metadata("example.thing", None)
    assert ns.lookup("example.thing", return_metadata=True)[1] == []

    # a C object through the name server
    with Pyro4.Proxy("PYRONAME:example.echo@%s:%d" % (host, port)) as echo:
        assert echo.echo("hello") == "hello"
    with Pyro4.Proxy("PYROMETA:echo@%s:%d" % (host, port)) as echo:
        assert echo.echo("meta") == "meta"

    assert ns.remove("example.thing") == 1
    assert ns.remove("example.thing") == 0
    assert ns.remove("Pyro.NameServer") == 0
    assert ns.remove(prefix="example.") == 1
    assert ns.count() == 1


def discover(bcport, expected):
    Pyro4.config.NS_HOST = "127.0.0.1"
    Pyro4.config.NS_PORT = 1          # nothing there: forces the broadcast
    ns = Pyro4.locateNS(port=bcport)
    assert str(ns._pyroUri) == expected, (str(ns._pyroUri), expected)
    ns.ping()


if __name__ == "__main__":
    if sys.argv[1] == "direct":
        direct(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        discover(int(sys.argv[2]), sys.argv[3])
    print("ALL OK")
