# Hidden test: like input().strip(), the client removes the spaces around
# what the user typed, in the URI and in the name.
from gradelib import *


def test():
    server = ReferenceServer()
    try:
        rc, out, err = run([program("greeting-client")], f"  {server.uri}  \n   Carol \t\n")
    finally:
        server.close()
    if server.names != ["Carol"]:
        fail(f"typed '   Carol ' (with spaces), the server should have received 'Carol';\n"
             f"it received {server.names!r}; the client printed {show(out)}, error output {show(err)}")
    if not out.endswith(greeting("Carol") + "\n"):
        fail(f"expected the output to end with {show(greeting('Carol'))}, got {show(out)}")
    return "spaces around the input were stripped"


main(test)
