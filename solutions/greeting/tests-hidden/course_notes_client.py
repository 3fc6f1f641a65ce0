# Hidden test: the course notes' own greeting-client.py (Python Pyro4)
# against your C server.
from gradelib import *

CLIENT = '''
import Pyro4
uri = input("What is the Pyro uri of the greeting object? ").strip()
name = input("What is your name? ").strip()
greeting_maker = Pyro4.Proxy(uri)
print(greeting_maker.get_fortune(name))
'''


def test():
    server, uri = start_server()
    rc, out, err = run(["/usr/bin/python3", "-c", CLIENT], f"{uri}\nErin\n",
                       name="greeting-client.py")
    expected = PROMPT_URI + PROMPT_NAME + greeting("Erin") + "\n"
    if out != expected:
        fail(f"the course notes' Python client printed {show(out)},\nexpected {show(expected)}.\n"
             f"Its error output: {show(err)}")
    return "the course notes' Python client works with your server"


main(test)
