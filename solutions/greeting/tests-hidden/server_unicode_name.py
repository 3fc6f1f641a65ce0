# Hidden test: a name with non-ASCII letters and spaces inside comes back intact.
from gradelib import *

NAME = "Åse Ørsted-Ünal ✓"


def test():
    server, uri = start_server()
    answer = python_call(uri, "get_fortune", NAME, server=server)
    if answer != greeting(NAME):
        fail(f"get_fortune({NAME!r}) returned {show(answer)}, expected {show(greeting(NAME))}")
    return "non-ASCII names work"


main(test)
