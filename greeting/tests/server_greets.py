# Visible test: Python Pyro4 (the course notes' client side) calls
# get_fortune("Alice") on the student's server and gets the exact text.
from gradelib import *


def test():
    server, uri = start_server()
    answer = python_call(uri, "get_fortune", "Alice", server=server)
    expected = greeting("Alice")
    if answer != expected:
        fail(f"get_fortune('Alice') returned {show(answer)},\n"
             f"expected exactly {show(expected)}")
    return "get_fortune('Alice') gave the course notes' greeting"


main(test)
