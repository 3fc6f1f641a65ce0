/* pyro-json-private.h: the JSON serializer (Pyro4 serializer id 2).
 *
 * Wire JSON is read and written by our own small codec, because Python
 * sends what json-glib's parser refuses (NaN, Infinity) and json-glib's
 * GVariant conversion silently wraps out-of-range integers.  Parsed JSON
 * is held in json-glib's JsonNode trees.
 *
 * Mapping (the full table is in libpyro/docs/mapping.md):
 *   b -> true/false; y n q i u x t -> integer (range-checked on input);
 *   d -> float (NaN, Infinity, -Infinity as Python writes them);
 *   s o g -> string; v -> the inner value; m* -> null or the value;
 *   a* and tuples -> array; a{s*} (any basic key type) -> object (keys as
 *   strings); ay and h -> refused (JSON has no bytes; Pyro4 refuses them too).
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Parses one JSON text (UTF-8, exactly @len bytes; @len -1 = NUL-terminated).
 * Accepts NaN, Infinity and -Infinity.  Integers become gint64 values,
 * numbers with '.', 'e' or 'E' doubles.  An integer beyond 64 bits fails
 * with a message naming it.  Errors: PYRO_ERROR_SERIALIZE, message
 * "invalid JSON at offset N: <what was expected>, got <what came>".
 * (transfer full) (nullable) */
JsonNode *pyro_json_parse (const char *text, gssize len, GError **error);

/* Appends @node as JSON text in Python's style (", " and ": " separators,
 * non-ASCII raw UTF-8, control characters escaped, floats always with a '.'
 * or an exponent, NaN/Infinity/-Infinity). */
void pyro_json_write_node (GString *out, JsonNode *node);

/* Appends @value as JSON text (same style).  Fails with PYRO_ERROR_SERIALIZE
 * for types JSON cannot carry ("ay", "h"), naming the type. */
gboolean pyro_json_write_variant (GString *out, GVariant *value, GError **error);

/* The same for a call's arguments @params, a tuple written member by
 * member: arguments are mostly a tuple just built with g_variant_new(),
 * which GLib keeps as a tree of members, and pyro_json_write_variant()
 * would read a tuple of numbers from its serialized bytes, which makes
 * GLib serialize the tree first. */
gboolean pyro_json_write_params (GString *out, GVariant *params, GError **error);

/* Converts a parsed node to a GVariant of @type (transfer none, nullable).
 * @type NULL (or "v" inside containers... i.e. G_VARIANT_TYPE_VARIANT) takes
 * the natural mapping: int "x", float "d", str "s", bool "b", list "av",
 * dict "a{sv}", null "mv" (Nothing).
 * Typed conversion refuses, with PYRO_ERROR_INVALID_ARGS and a message
 * saying "expected <what> (<sig>), got <python type name> <value excerpt>":
 *   - a value of the wrong kind; an int where a float is expected is fine;
 *   - integers out of the range of y n q i u x t;
 *   - arrays of the wrong length for a tuple;
 *   - null except for maybe types.
 * Returns a new non-floating reference. */
GVariant *pyro_json_to_variant (JsonNode           *node,
                                const GVariantType *type,
                                GError            **error);

/* The Python name of the type of a JSON node: "int", "float", "str", "bool",
 * "list", "dict", "None". */
const char *pyro_json_type_name (JsonNode *node);

G_END_DECLS

G_BEGIN_DECLS
/* Appends @text (UTF-8) as a JSON string literal, escaped as Python does. */
void pyro_json_write_string (GString *out, const char *text);

/* The first byte in [@p, @end) that cannot stand for itself inside a JSON
 * string (a control character, '"' or '\\'), or @end; *@non_ascii is set
 * if a byte before it is beyond ASCII.  (For pyro-wire.c.) */
const char *pyro_json_scan_plain (const char *p, const char *end, gboolean *non_ascii);

/* The integer part of a JSON number at @p: "0", or a digit 1-9 and more
 * digits.  Its value goes to *@magnitude, and *@overflow is set when it
 * does not fit in 64 bits (*@magnitude then holds the digits before).
 * Returns the first byte after it, or @p when no digit is there.  (For
 * the general parser and pyro-wire.c alike.) */
const char *pyro_json_scan_integer (const char *p, const char *end, guint64 *magnitude, gboolean *overflow);
G_END_DECLS
