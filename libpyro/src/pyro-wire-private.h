/* pyro-wire-private.h: JSON text straight to GVariant, for the common cases.
 *
 * The general path parses wire JSON into a JsonNode tree and converts the
 * tree (pyro-json-private.h).  That costs a dozen allocations for a call
 * like add(1, 2), which is most of the time a batch of small calls takes.
 * This reader builds a GVariant's serialized bytes directly from the text.
 *
 * It only handles what is common and plain, and declines everything else
 * by returning NULL / FALSE *without an error*: the caller then takes the
 * general path, which accepts the rest and gives every error message.
 * What it accepts it reads exactly as the general path would.
 *
 * Handled: numbers (not NaN/Infinity, integers within 64 bits), true,
 * false, strings (UTF-8 checked; the one-letter escapes such as \n and \"
 * are decoded, \u escapes declined), null (natural "mv" only), lists.  Types: b y n q i u x t d s v, arrays (not of bytes, not
 * dicts) and tuples of these; "v" and a NULL type take the natural
 * mapping (int "x", float "d", str "s", bool "b", list "av", None "mv").
 * Declined: dicts, maybe types, o g, \u escapes, deep nesting.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A cursor over JSON text, and the value being read. */
typedef struct
{
  const char *p;       /* next byte to read */
  const char *end;     /* one past the last byte */
  guint       depth;   /* open lists, for the nesting limit */
  /* Serialized bytes of the value being read: @len of @capacity bytes at
   * @data, which is @small while they fit there (most values do: no
   * allocation), else a heap block. */
  guint8     *data;
  gsize       len;
  gsize       capacity;
  guint8      small[256];
} PyroWire;

void pyro_wire_init  (PyroWire *wire, const char *text, gsize len);
void pyro_wire_clear (PyroWire *wire);

/* Skips whitespace; TRUE if the next byte is @c (consumed). */
gboolean pyro_wire_take (PyroWire *wire, char c);

/* Skips whitespace; TRUE if the next word is null (consumed). */
gboolean pyro_wire_take_null (PyroWire *wire);

/* Skips whitespace; TRUE if the input is used up. */
gboolean pyro_wire_at_end (PyroWire *wire);

/* A string without escapes (a key or a name): *@start points into the
 * text (not NUL-terminated), *@len is its length. */
gboolean pyro_wire_read_plain_string (PyroWire *wire, const char **start, gsize *len);

/* A dict member's key and its colon: returns which of the @n_keys @keys
 * it is, and marks it in *@seen (bit i for @keys[i]); -1 (declined) for a
 * key that is none of them, is not plain, or was seen before. */
int pyro_wire_read_key (PyroWire *wire, const char *const *keys, int n_keys, guint *seen);

/* The next value as a GVariant of @type (NULL: natural mapping).
 * (transfer full) (nullable): NULL when declined; the cursor is then
 * somewhere inside the value. */
GVariant *pyro_wire_read_value (PyroWire *wire, const GVariantType *type);

/* The whole text as one value of @type (NULL: natural); NULL if declined.
 * (transfer full) */
GVariant *pyro_wire_parse (const char *text, gsize len, const GVariantType *type);

G_END_DECLS
