/* pyro-error-private.h: turning errors into Pyro4 exception dicts and back. */
#pragma once

#include <json-glib/json-glib.h>
#include <pyro/pyro-error.h>

G_BEGIN_DECLS

/* Builds Pyro4's exception dict for @error:
 *   {"__class__": "builtins.ValueError", "__exception__": true,
 *    "args": ["message"], "attributes": {"_pyroTraceback": [lines]}}
 * @where (nullable) names the C function that failed, for the traceback.
 * (transfer full) */
JsonNode *pyro_error_to_json (const GError *error, const char *where);

/* Turns an exception dict that came over the wire into a GError.  Anything
 * that is not a proper exception dict becomes a PYRO_ERROR_PROTOCOL error
 * describing what came. (transfer full) */
GError *pyro_error_from_json (JsonNode *node);

/* The PYRO_ERROR code for a Python class name ("builtins.ValueError",
 * "ValueError", "Pyro4.errors.NamingError"); PYRO_ERROR_REMOTE if unknown. */
PyroErrorCode pyro_error_code_for_class (const char *class_name);

G_END_DECLS
