# Visible test: Ctrl-C (SIGINT) stops the server cleanly with exit status 0,
# as the course notes' server stops when you press Ctrl-C.
import signal
from gradelib import *


def test():
    server, uri = start_server()
    ensure_serving(uri, server)   # it must be serving before we stop it
    server.signal(signal.SIGINT)
    rc = server.wait(timeout=WAIT, what="it to stop after Ctrl-C (SIGINT)")
    if rc < 0:
        fail(f"the server was killed by {signal_name(-rc)} instead of stopping cleanly;\n"
             "call pyro_daemon_stop_on_unix_signals() before pyro_daemon_request_loop()")
    if rc != 0:
        fail(f"after Ctrl-C the server exited with status {rc}, expected 0.\n"
             f"Its error output was: {show(server.stderr())}")
    return "Ctrl-C stopped the server with status 0"


main(test)
