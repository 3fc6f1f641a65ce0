/* pyro-error-private.h: turning errors into Pyro4 exception dicts and back. */
#pragma once

#include <json-glib/json-glib.h>
#include <pyro/pyro-error.h>

G_BEGIN_DECLS

/* Builds Pyro4's exception dict for @error:
 *   {"__class__": "builtins.ValueError", "__exception__": true,
 *    "args": ["message"], "attributes": {"_pyroTraceback": [lines]}}
 * An empty message gives "args": [] (an exception without arguments).
 * @where (nullable) names the C function that failed, for the traceback.
 * (transfer full) */
JsonNode *pyro_error_to_json (const GError *error, const char *where);

/* Turns an exception dict that came over the wire into a GError.  Anything
 * that is not a proper exception dict (no "__class__" text, "__exception__"
 * not true) becomes a PYRO_ERROR_PROTOCOL error describing what came.
 * Every member is type-checked first, so no peer can make json-glib warn.
 * The message is what Python's str() shows for the exception Pyro4
 * rebuilds (a KeyError's key stays unquoted). (transfer full) */
GError *pyro_error_from_json (JsonNode *node);

/* The PYRO_ERROR code for a Python class name, looked up as Pyro4 looks it
 * up: "builtins.ValueError", "exceptions.ValueError", "ValueError",
 * "Pyro4.errors.NamingError", "NamingError"; PYRO_ERROR_REMOTE for any
 * other class, "builtins.TimeoutError" and "builtins.NamingError" included. */
PyroErrorCode pyro_error_code_for_class (const char *class_name);

G_END_DECLS
