"""What Pyro4's sys.excepthook (Pyro4.util.excepthook) prints for an error.

Reads one JSON object from stdin: {"class": "ValueError", "message": "...",
"traceback": ["Traceback (most recent call last):\n", ...]}, makes that
built-in exception with the traceback lines as its _pyroTraceback, as a
Pyro4 proxy does when an exception comes back, and prints what Pyro4's
getPyroTraceback() gives for it without a local traceback: the text the
tests compare with pyro_error_format().
"""
import builtins
import json
import sys

import Pyro4.util

request = json.load(sys.stdin)
exception = getattr(builtins, request["class"])(request["message"])
exception._pyroTraceback = request["traceback"]
sys.stdout.write("".join(Pyro4.util.getPyroTraceback(type(exception), exception, None)))
