# Hidden test: when nobody listens at the URI, the client says why on stderr
# and exits with a non-zero status (no crash, no hang, no fake greeting).
from gradelib import *


def test():
    port, keep = refused_port()
    uri = f"PYRO:obj_0123456789abcdef0123456789abcdef@127.0.0.1:{port}"
    rc, out, err = run([program("greeting-client")], f"{uri}\nDave\n")
    keep.close()
    if rc == 0:
        fail(f"the server at {uri} does not exist, yet the client exited with status 0.\n"
             f"It printed {show(out)}")
    if "Hello" in out:
        fail(f"the client printed a greeting without a server: {show(out)}")
    if err.strip() == "":
        fail("the client failed (good) but printed no error message on stderr;\n"
             "print the error, e.g. with pyro_error_format()")
    return "the client reported the unreachable server"


main(test)
