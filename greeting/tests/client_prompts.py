# Visible test: the client asks the course notes' two questions, in order.
from gradelib import *


def test():
    server = ReferenceServer()
    try:
        rc, out, err = run([program("greeting-client")], f"{server.uri}\nAlice\n")
    finally:
        server.close()
    expected = PROMPT_URI + PROMPT_NAME
    if not out.startswith(expected):
        fail(f"expected the output to start with the prompts {show(expected)},\n"
             f"the client printed {show(out)}")
    return "both prompts appeared"


main(test)
