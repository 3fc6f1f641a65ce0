# Visible test: the server prints "Ready. Object uri = PYRO:..." and keeps running.
#
# Its stdout is a pipe here, as it is for any script that starts the
# server, so the line only arrives if the server flushes it.
from gradelib import *


def test():
    server, uri = start_server()
    # "Keeps serving": a client can connect (no method is called here).
    ensure_serving(uri, server)
    return f"the server printed {uri}"


main(test)
