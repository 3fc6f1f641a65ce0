"""Python Pyro4 as a client of a name server that uses an HMAC key
(the C one, in test-naming.c).

usage: ns_hmac.py NSHOST NSPORT KEY

With the right key, locateNS() finds the name server and every call works.
With a wrong key, or none, Pyro4 refuses at the handshake, exactly as it
does against its own name server: NamingError('Failed to locate the
nameserver') raised from a CommunicationError that names the HMAC problem.
After the refusals the right key still works (the server kept serving).
Prints "ALL OK" at the end; any mismatch raises (non-zero exit, traceback
on stderr).
"""
import sys
import Pyro4
import Pyro4.errors

Pyro4.config.SERIALIZER = "json"
Pyro4.config.COMMTIMEOUT = 20.0


def use(host, port, key):
    ns = Pyro4.locateNS(host, port, hmac_key=key)
    ns.ping()
    ns.register("example.keyed", "PYRO:keyed@127.0.0.1:9302", metadata=["hmac"])
    assert ns.lookup("example.keyed", return_metadata=True)[1] == ["hmac"]
    assert ns.list(prefix="example.") == {"example.keyed": "PYRO:keyed@127.0.0.1:9302"}
    assert ns.remove("example.keyed") == 1
    ns._pyroRelease()


def expect_refused(host, port, key, reason):
    cause = "cannot connect to ('%s', %d): %s" % (host, port, reason)
    try:
        Pyro4.locateNS(host, port, hmac_key=key)
    except Pyro4.errors.NamingError as x:
        assert str(x) == "Failed to locate the nameserver", str(x)
        assert type(x.__cause__) is Pyro4.errors.CommunicationError, repr(x.__cause__)
        assert str(x.__cause__) == cause, (str(x.__cause__), cause)
    else:
        raise AssertionError("locateNS with key %r was not refused" % key)

    # a plain proxy sees the CommunicationError itself
    proxy = Pyro4.Proxy("PYRO:Pyro.NameServer@%s:%d" % (host, port))
    proxy._pyroHmacKey = key
    try:
        proxy.ping()
    except Pyro4.errors.CommunicationError as x:
        assert str(x) == cause, (str(x), cause)
    else:
        raise AssertionError("ping with key %r was not refused" % key)
    proxy._pyroRelease()


if __name__ == "__main__":
    host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode("utf-8")
    use(host, port, key)
    expect_refused(host, port, key + b"-wrong", "message hmac mismatch")
    expect_refused(host, port, None, "hmac key config not symmetric")
    use(host, port, key)
    print("ALL OK")
