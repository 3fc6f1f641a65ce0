/* pyro-metadata.c: reading the metadata a daemon sends with CONNECTOK.
 *
 * Every new proxy reads one CONNECTOK, so for a client that connects,
 * calls once and closes, this is a good part of the work of a call.
 * Building a JSON tree of a dozen nodes only to copy the names out of it
 * cost more than the rest of the connect in user space; so the common
 * body is read straight from the text (pyro-wire.c's cursor), and only
 * anything unusual goes through the general JSON parser.  Both give the
 * same sets; test-metadata checks that they do.
 */
#include "pyro-metadata-private.h"
#include "pyro-json-private.h"
#include "pyro-wire-private.h"

#include <string.h>

/* The three lists, in the order of PyroMetadata's fields. */
static const char *const list_keys[3] = { "methods", "oneway", "attrs" };

static GHashTable *
new_name_set (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
pyro_metadata_clear (PyroMetadata *meta)
{
  g_clear_pointer (&meta->methods, g_hash_table_unref);
  g_clear_pointer (&meta->oneway, g_hash_table_unref);
  g_clear_pointer (&meta->attrs, g_hash_table_unref);
}

/* ---- the general path: through a JSON tree --------------------------------- */

static GHashTable *
name_set (JsonObject *dict, const char *key)
{
  GHashTable *set = new_name_set ();
  JsonNode *list = json_object_get_member (dict, key);
  if (list != NULL && JSON_NODE_HOLDS_ARRAY (list))
    {
      JsonArray *array = json_node_get_array (list);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *name = json_array_get_element (array, i);
          if (json_node_get_value_type (name) == G_TYPE_STRING)
            g_hash_table_add (set, g_strdup (json_node_get_string (name)));
        }
    }
  return set;
}

gboolean
pyro_metadata_read_general (PyroMetadata *meta, const char *text, gsize len, GError **error)
{
  g_autoptr(JsonNode) body = pyro_json_parse (text, len, error);
  if (body == NULL)
    return FALSE;

  pyro_metadata_clear (meta);
  JsonObject *reply = JSON_NODE_HOLDS_OBJECT (body) ? json_node_get_object (body) : NULL;
  JsonNode *node = reply ? json_object_get_member (reply, "meta") : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return TRUE;
  JsonObject *dict = json_node_get_object (node);
  meta->methods = name_set (dict, list_keys[0]);
  meta->oneway = name_set (dict, list_keys[1]);
  meta->attrs = name_set (dict, list_keys[2]);
  return TRUE;
}

/* ---- the direct path: straight from the text ------------------------------- */

/* A JSON list of plain strings, added to @set; FALSE for anything else. */
static gboolean
read_name_list (PyroWire *w, GHashTable *set)
{
  const char *name;
  gsize len;

  if (!pyro_wire_take (w, '['))
    return FALSE;
  if (pyro_wire_take (w, ']'))
    return TRUE;
  do
    {
      if (!pyro_wire_read_plain_string (w, &name, &len))
        return FALSE;
      g_hash_table_add (set, g_strndup (name, len));
    }
  while (pyro_wire_take (w, ','));
  return pyro_wire_take (w, ']');
}

/* {"methods": [...], "oneway": [...], "attrs": [...]}, keys in any order
 * and each at most once, into @sets; FALSE for anything else. */
static gboolean
read_meta_dict (PyroWire *w, GHashTable *sets[3])
{
  guint seen = 0;

  if (!pyro_wire_take (w, '{'))
    return FALSE;
  if (pyro_wire_take (w, '}'))
    return TRUE;
  do
    {
      int i = pyro_wire_read_key (w, list_keys, G_N_ELEMENTS (list_keys), &seen);
      if (i < 0 || !read_name_list (w, sets[i]))
        return FALSE;
    }
  while (pyro_wire_take (w, ','));
  return pyro_wire_take (w, '}');
}

/* The body {"handshake": <plain string>, "meta": {...}}, keys in any order
 * and each at most once; *@has_meta says whether "meta" was there. */
static gboolean
read_body (PyroWire *w, GHashTable *sets[3], gboolean *has_meta)
{
  static const char *const keys[] = { "handshake", "meta" };
  guint seen = 0;

  if (!pyro_wire_take (w, '{'))
    return FALSE;
  do
    {
      const char *greeting;
      gsize len;
      int i = pyro_wire_read_key (w, keys, G_N_ELEMENTS (keys), &seen);
      if (i < 0 || (i == 0 && !pyro_wire_read_plain_string (w, &greeting, &len)) ||
          (i == 1 && !read_meta_dict (w, sets)))
        return FALSE;
    }
  while (pyro_wire_take (w, ','));
  *has_meta = (seen & 2) != 0;
  return pyro_wire_take (w, '}') && pyro_wire_at_end (w);
}

gboolean
pyro_metadata_read_direct (PyroMetadata *meta, const char *text, gsize len)
{
  GHashTable *sets[3] = { new_name_set (), new_name_set (), new_name_set () };
  gboolean has_meta;
  PyroWire w;

  pyro_wire_init (&w, text, len);
  gboolean ok = read_body (&w, sets, &has_meta);
  pyro_wire_clear (&w);

  if (ok)
    {
      pyro_metadata_clear (meta);
      if (has_meta)
        {
          meta->methods = g_steal_pointer (&sets[0]);
          meta->oneway = g_steal_pointer (&sets[1]);
          meta->attrs = g_steal_pointer (&sets[2]);
        }
    }
  for (int i = 0; i < 3; i++)
    g_clear_pointer (&sets[i], g_hash_table_unref);
  return ok;
}

/* ---- sharing: the same body gives the same sets ------------------------------- */

/* A program that makes a new proxy for every call (connect, call, close)
 * reads the same CONNECTOK body again and again; reading it was a sixth of
 * the client's work for such a call.  So the sets of the last body read
 * are kept, and a proxy that gets the same body shares them.  Sets are
 * never changed once read, so proxies in any thread may look at them. */
G_LOCK_DEFINE_STATIC (last);
static GBytes       *last_body;  /* the body last read; NULL before the first */
static PyroMetadata  last_meta;  /* the sets it gave */

/* @to takes references to @from's sets. */
static void
share_sets (PyroMetadata *to, const PyroMetadata *from)
{
  to->methods = from->methods ? g_hash_table_ref (from->methods) : NULL;
  to->oneway = from->oneway ? g_hash_table_ref (from->oneway) : NULL;
  to->attrs = from->attrs ? g_hash_table_ref (from->attrs) : NULL;
}

/* TRUE (and @meta set) if @text is the body last read. */
static gboolean
read_shared (PyroMetadata *meta, const char *text, gsize len)
{
  gboolean same;

  G_LOCK (last);
  same = last_body != NULL && g_bytes_get_size (last_body) == len &&
         memcmp (g_bytes_get_data (last_body, NULL), text, len) == 0;
  if (same)
    {
      pyro_metadata_clear (meta);
      share_sets (meta, &last_meta);
    }
  G_UNLOCK (last);
  return same;
}

/* Keeps what @text gave, replacing the body kept before. */
static void
keep_shared (const PyroMetadata *meta, const char *text, gsize len)
{
  G_LOCK (last);
  g_clear_pointer (&last_body, g_bytes_unref);
  pyro_metadata_clear (&last_meta);
  last_body = g_bytes_new (text, len);
  share_sets (&last_meta, meta);
  G_UNLOCK (last);
}

gboolean
pyro_metadata_read (PyroMetadata *meta, const char *text, gsize len, GError **error)
{
  if (read_shared (meta, text, len))
    return TRUE;
  if (!pyro_metadata_read_direct (meta, text, len) &&
      !pyro_metadata_read_general (meta, text, len, error))
    return FALSE;
  keep_shared (meta, text, len);
  return TRUE;
}
