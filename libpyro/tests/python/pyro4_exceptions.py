"""What real Pyro4 makes of exception dicts: the reference for test-error.

Usage: pyro4_exceptions.py print|resolve, with a JSON list on stdin; writes
a JSON list of the same length on stdout.

print: each item is the text of an exception dict as it travels on the
  wire ('{"__class__": ..., "__exception__": true, "args": [...],
  "attributes": {"_pyroTraceback": [...]}}'; text, so that Python reads
  the very same numbers the C side reads).  The script rebuilds the
  exception the way a Pyro4 proxy does (the JSON serializer's
  dict_to_class) and answers what Pyro4's excepthook prints for it without
  a local traceback: "".join(Pyro4.util.getPyroTraceback(type(e), e, None)).
  Pyro4 refuses classes outside builtins and Pyro4.errors; a Pyro4 program
  that expects one registers a converter for it, and so does this script:
  it makes a class with that module and name (as pyclient.py does for
  mymodule.CustomError).  null: Pyro4 cannot rebuild the dict at all.

resolve: each item is a class name.  The answer is the class Pyro4 rebuilds
  for {"__class__": name, "__exception__": true, "args": ["m"]}, as
  "module.qualname", or null when Pyro4 refuses the name.
"""
import json
import sys

import Pyro4.errors
import Pyro4.util

serializer = Pyro4.util.JsonSerializer()


def rebuild(text):
    return serializer.loads(text.encode("utf-8"))


def custom_class_converter(classname, data):
    module, _, name = classname.rpartition(".")
    custom_class = type(name, (Exception,), {"__module__": module, "__qualname__": name})
    return Pyro4.util.SerializerBase.make_exception(custom_class, data)


def printout(text):
    try:
        try:
            exception = rebuild(text)
        except Pyro4.errors.SerializeError:
            # "unsupported serialized class": a class of some other module
            classname = json.loads(text)["__class__"]
            Pyro4.util.SerializerBase.register_dict_to_class(classname, custom_class_converter)
            exception = rebuild(text)
    except Exception:
        return None
    return "".join(Pyro4.util.getPyroTraceback(type(exception), exception, None))


def resolve(name):
    try:
        exception = rebuild(json.dumps({"__class__": name, "__exception__": True, "args": ["m"]}))
    except Exception:
        return None
    return type(exception).__module__ + "." + type(exception).__qualname__


mode = sys.argv[1]
items = json.load(sys.stdin)
if mode == "print":
    answers = [printout(item) for item in items]
elif mode == "resolve":
    answers = [resolve(item) for item in items]
else:
    raise SystemExit("unknown mode " + mode)
json.dump(answers, sys.stdout)
