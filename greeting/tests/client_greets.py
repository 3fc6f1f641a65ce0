# Visible test: the client calls get_fortune(name) on a Python Pyro4 greeting
# server and prints the answer.
from gradelib import *


def test():
    server = ReferenceServer()
    try:
        rc, out, err = run([program("greeting-client")], f"{server.uri}\nAlice\n")
    finally:
        server.close()
    if server.names != ["Alice"]:
        fail(f"the server should have been called once with get_fortune('Alice');\n"
             f"it received the names {server.names!r}.\n"
             f"The client printed {show(out)} and on stderr {show(err)}")
    expected = PROMPT_URI + PROMPT_NAME + greeting("Alice") + "\n"
    if out != expected:
        fail(f"expected the client to print {show(expected)},\nit printed {show(out)}")
    if rc != 0:
        fail(f"the client printed the greeting but exited with status {rc}, expected 0")
    return "the client printed the greeting from a Python server"


main(test)
