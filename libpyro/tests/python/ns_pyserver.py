"""Python Pyro4's name server with its broadcast responder on loopback.

usage: ns_pyserver.py

pyro4-ns never starts the responder when bound to 127.x, so discovery of
Pyro4's name server cannot be tested with it on loopback; this starts the
same NameServerDaemon and BroadcastServer explicitly, both on 127.0.0.1 and
free ports.  Prints "URI = <ns uri>" and "BCPORT = <port>", then serves
until killed.
"""
import Pyro4
import Pyro4.naming

Pyro4.config.SERIALIZERS_ACCEPTED = {"json", "serpent", "marshal"}

daemon = Pyro4.naming.NameServerDaemon("127.0.0.1", 0)
uri = daemon.uriFor(daemon.nameserver)
bcserver = Pyro4.naming.BroadcastServer(uri, "127.0.0.1", 0)
bcserver.runInThread()
print("URI = %s" % uri)
print("BCPORT = %d" % bcserver.sock.getsockname()[1])
daemon.requestLoop()
