# Visible test: the server prints "Ready. Object uri = PYRO:..." and keeps running.
#
# Its stdout is a pipe here, as it is for any script that starts the
# server, so the line only arrives if the server flushes it.
from gradelib import *


def test():
    server, uri = start_server()
    if server.popen.poll() is not None:
        fail(f"the server printed its URI ({uri}) but then exited; "
             "it should keep serving (pyro_daemon_request_loop)")
    return f"the server printed {uri}"


main(test)
