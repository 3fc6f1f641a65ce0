# Hidden test: SIGTERM (what `kill PID` sends) also stops the server cleanly.
import signal
from gradelib import *


def test():
    server, uri = start_server()
    ensure_serving(uri, server)   # it must be serving before we stop it
    server.signal(signal.SIGTERM)
    rc = server.wait(timeout=WAIT, what="it to stop after SIGTERM")
    if rc != 0:
        how = f"killed by {signal_name(-rc)}" if rc < 0 else f"exit status {rc}"
        fail(f"after SIGTERM expected exit status 0, got {how}")
    return "SIGTERM stopped the server with status 0"


main(test)
