# Hidden test: your C client against the course notes' own greeting-server.py
# (Python Pyro4), started as a separate process.
import os
from gradelib import *

SERVER = '''
import Pyro4

@Pyro4.expose
class GreetingMaker(object):
    def get_fortune(self, name):
        return "Hello, {0}. Here is your message:\\n" \\
               "Always do your best".format(name)

daemon = Pyro4.Daemon()
uri = daemon.register(GreetingMaker)
print("Ready. Object uri =", uri)
daemon.requestLoop()
'''


def test():
    os.environ["PYTHONUNBUFFERED"] = "1"   # Python buffers a pipe too
    server = Process(["/usr/bin/python3", "-c", SERVER], name="greeting-server.py")
    uri = server.expect_line(URI_LINE, "the Python server's URI line").group(1)
    rc, out, err = run([program("greeting-client")], f"{uri}\nFrank\n")
    expected = PROMPT_URI + PROMPT_NAME + greeting("Frank") + "\n"
    if out != expected or rc != 0:
        fail(f"against the course notes' Python server your client printed {show(out)}, status {rc},\n"
             f"expected {show(expected)} and status 0. Error output: {show(err)}")
    return "your client works with the course notes' Python server"


main(test)
