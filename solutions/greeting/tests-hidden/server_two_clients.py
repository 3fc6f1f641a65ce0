# Hidden test: two clients connected at the same time are both served
# (the daemon serves each connection; GreetingMaker is registered per session).
from gradelib import *


def test():
    server, uri = start_server()
    Pyro4 = pyro4()
    with Pyro4.Proxy(uri) as first, Pyro4.Proxy(uri) as second:
        try:
            first._pyroBind()
            second._pyroBind()
            answers = [first.get_fortune("One"), second.get_fortune("Two"),
                       first.get_fortune("Three")]
        except Pyro4.errors.TimeoutError:
            raise TimedOut("with two clients connected the server stopped answering")
        except Exception as e:
            fail(f"with two clients connected a call failed: {type(e).__name__}: {e}")
    expected = [greeting("One"), greeting("Two"), greeting("Three")]
    if answers != expected:
        fail(f"expected {expected!r}, got {answers!r}")
    return "two simultaneous clients were served"


main(test)
