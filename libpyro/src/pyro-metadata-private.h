/* pyro-metadata-private.h: what a proxy knows of its remote object.
 *
 * A Pyro4 daemon answers CONNECT (with the META_ON_CONNECT flag) with
 *   {"handshake": "hello", "meta": {"methods": [...], "oneway": [...], "attrs": [...]}}
 * and the proxy keeps the three name lists as sets: it refuses unknown
 * methods locally, sends oneway methods without waiting, and tells
 * attributes from methods, as Pyro4's proxy does.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  /* Sets of names (keys are the names, owned); all three NULL when the
   * daemon sent no metadata, and then nothing is checked locally. */
  GHashTable *methods;
  GHashTable *oneway;
  GHashTable *attrs;
} PyroMetadata;

/* Frees the sets and sets them to NULL. */
void pyro_metadata_clear (PyroMetadata *meta);

/* Reads the CONNECTOK body @text into @meta (which is cleared first).
 * A body without a "meta" dict leaves @meta empty (all NULL); names that
 * are not strings are skipped.  FALSE with @error set only if @text is not
 * JSON.  Common bodies are read straight from the text; the rest take the
 * general JSON parser, with the same result. */
gboolean pyro_metadata_read (PyroMetadata *meta, const char *text, gsize len, GError **error);

/* The two readers pyro_metadata_read() chooses from, for tests.
 * _direct: FALSE (and @meta untouched) when it declines the body. */
gboolean pyro_metadata_read_direct  (PyroMetadata *meta, const char *text, gsize len);
gboolean pyro_metadata_read_general (PyroMetadata *meta, const char *text, gsize len, GError **error);

G_END_DECLS
