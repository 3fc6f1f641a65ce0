# Visible test: the handout's last step, your client against your server.
from gradelib import *


def test():
    server, uri = start_server()
    rc, out, err = run([program("greeting-client")], f"{uri}\nBob\n")
    expected = PROMPT_URI + PROMPT_NAME + greeting("Bob") + "\n"
    if out != expected or rc != 0:
        fail(f"with your server's URI and the name Bob, expected {show(expected)} and status 0;\n"
             f"your client printed {show(out)}, status {rc}, error output {show(err)}")
    return "your client got the greeting from your server"


main(test)
