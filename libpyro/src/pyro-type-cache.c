/* pyro-type-cache.c: keeping GLib's descriptions of container types.
 * See pyro-type-cache-private.h for why. */
#include "pyro-type-cache-private.h"

/* Enough for every type a program's method tables name, with room to spare. */
#define MAX_KEPT_TYPES 256

G_LOCK_DEFINE_STATIC (kept);
/* GVariantType -> a value of that type (the key points into the value).
 * Made on first use and kept for the life of the process, like GLib's own
 * table of type descriptions. */
static GHashTable *kept;

void
pyro_type_cache_keep (const GVariantType *type)
{
  g_return_if_fail (type != NULL);

  /* Basic types and "v" are described by a static table: nothing to keep.
   * An indefinite type ("a*") has no values. */
  if (g_variant_type_is_basic (type) || g_variant_type_is_variant (type) ||
      !g_variant_type_is_definite (type))
    return;

  G_LOCK (kept);
  if (kept == NULL)
    kept = g_hash_table_new_full (g_variant_type_hash, g_variant_type_equal,
                                  NULL, (GDestroyNotify) g_variant_unref);
  if (g_hash_table_size (kept) < MAX_KEPT_TYPES && !g_hash_table_contains (kept, type))
    {
      /* No data: GLib reads such a value as the type's default, and it is
       * never read anyway.  Its existence is what keeps the description. */
      GVariant *value = g_variant_ref_sink (g_variant_new_from_data (type, NULL, 0, TRUE, NULL, NULL));
      g_hash_table_insert (kept, (gpointer) g_variant_get_type (value), value);
    }
  G_UNLOCK (kept);
}
