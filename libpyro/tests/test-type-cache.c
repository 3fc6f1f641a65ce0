/* test-type-cache.c: GLib's descriptions of container types are kept
 * (pyro-type-cache-private.h).
 *
 * What is kept cannot be seen through GLib's API, but one of its effects
 * can: g_variant_get_type() of a container value points into GLib's
 * description of the type.  While a description is kept, two values of the
 * type made one after the other (the first freed before the second is made)
 * share it, so the pointers are equal.  When it is not kept, it is freed
 * with the first value and the second gets a new one; blocks allocated in
 * between take the freed memory, so the new description lands elsewhere
 * (and under AddressSanitizer freed memory is never handed out again at
 * once anyway).
 */
#include "pyro-type-cache-private.h"
#include "testutil.h"

#include <pyro/pyro.h>

/* Makes a value of @type_string, frees it, allocates blocks of many sizes
 * (held until the second value is made), makes a second value, and tells
 * whether both pointed to the same description. */
static gboolean
description_survives (const char *type_string)
{
  const GVariantType *type = G_VARIANT_TYPE (type_string);
  GVariant *first = g_variant_ref_sink (g_variant_new_from_data (type, NULL, 0, TRUE, NULL, NULL));
  const GVariantType *first_type = g_variant_get_type (first);
  g_variant_unref (first);

  GPtrArray *filler = g_ptr_array_new_with_free_func (g_free);
  for (gsize size = 8; size <= 512; size += 8)
    for (int i = 0; i < 8; i++)
      g_ptr_array_add (filler, g_malloc (size));

  GVariant *second = g_variant_ref_sink (g_variant_new_from_data (type, NULL, 0, TRUE, NULL, NULL));
  gboolean same = (g_variant_get_type (second) == first_type);
  g_variant_unref (second);
  g_ptr_array_unref (filler);
  return same;
}

/* The method's types are unique to this file, so nothing else keeps them. */
static GVariant *
thing_mix (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *s;
  gint16 n;
  double d;

  g_variant_get (args, "(&snd)", &s, &n, &d);
  return g_variant_new ("(sn)", s, (gint16) (n + 1));
}

static const PyroMethod thing_methods[] = {
  { "mix", "(snd)", "(sn)", thing_mix, 0, "s,n,d" },
  { NULL }
};

static const PyroClass thing_class = { .name = "Thing", .methods = thing_methods };

static void
register_thing (PyroDaemon *daemon, gpointer user_data)
{
  pyro_test_register (daemon, &thing_class, NULL, "thing");
}

/* The test's own control: an unkept type really loses its description
 * between two values, so the checks below can fail.  (GLib 2.74, Debian
 * 12's, frees it.  Should a later GLib keep descriptions itself, this
 * fails, and pyro-type-cache.c is no longer needed.) */
static void
test_control (void)
{
  g_assert_false (description_survives ("(ytqa{ub})"));
}

static void
test_keep (void)
{
  g_assert_false (description_survives ("(qqa(bt))"));
  pyro_type_cache_keep (G_VARIANT_TYPE ("(qqa(bt))"));
  g_assert_true (description_survives ("(qqa(bt))"));
  /* Keeping again changes nothing. */
  pyro_type_cache_keep (G_VARIANT_TYPE ("(qqa(bt))"));
  g_assert_true (description_survives ("(qqa(bt))"));

  /* Basic types, "v" and indefinite types: nothing to keep, no complaint. */
  pyro_type_cache_keep (G_VARIANT_TYPE_INT64);
  pyro_type_cache_keep (G_VARIANT_TYPE_VARIANT);
  pyro_type_cache_keep (G_VARIANT_TYPE ("a*"));
  pyro_type_cache_keep (G_VARIANT_TYPE ("(r)"));

  /* Values of a kept type are ordinary values. */
  g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_parsed ("(@q 1, @q 2, [(true, @t 3)])"));
  g_autofree char *text = g_variant_print (value, FALSE);
  g_assert_cmpstr (text, ==, "(1, 2, [(true, 3)])");
}

/* The cache is bounded: a program with more types than it holds keeps
 * working, only the types beyond the bound are not kept.  The type
 * test_bound() makes from the bits of @i: "(" + 9 of 'i' or 'u' + "s)". */
static char *
numbered_type (guint i)
{
  GString *type = g_string_new ("(");
  for (guint bit = 0; bit < 9; bit++)
    g_string_append_c (type, (i >> bit) & 1 ? 'u' : 'i');
  g_string_append (type, "s)");
  return g_string_free (type, FALSE);
}

static void
test_bound (void)
{
  for (guint i = 0; i < 400; i++)
    {
      g_autofree char *type = numbered_type (i);
      pyro_type_cache_keep (G_VARIANT_TYPE (type));
    }
  g_autofree char *first = numbered_type (0);
  g_autofree char *last = numbered_type (399);
  g_assert_true (description_survives (first));   /* kept */
  g_assert_false (description_survives (last));   /* beyond the bound: not kept */
}

/* A daemon keeps the argument and result types of the methods it serves. */
static void
test_daemon_keeps_method_types (void)
{
  g_assert_false (description_survives ("(snd)"));
  g_assert_false (description_survives ("(sn)"));

  PyroTestDaemon *td = pyro_test_daemon_start (register_thing, NULL);
  g_assert_true (description_survives ("(snd)"));
  g_assert_true (description_survives ("(sn)"));

  /* And the calls still work. */
  g_autofree char *uri = pyro_test_daemon_uri (td, "thing");
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "mix", g_variant_new ("(snd)", "x", (gint16) 41, 0.5),
                                                     G_VARIANT_TYPE ("(sn)"), NULL, &error);
  g_assert_no_error (error);
  g_autofree char *text = g_variant_print (result, FALSE);
  g_assert_cmpstr (text, ==, "('x', 42)");
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* A proxy keeps the types of the arguments it sends and of the results it
 * asks for. */
static void
test_proxy_keeps_call_types (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (register_thing, NULL);
  g_autofree char *uri = pyro_test_daemon_uri (td, "thing");
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);

  /* Wrong on purpose, so the daemon (which keeps its own types) refuses
   * them; the proxy keeps what it sent and asked for all the same. */
  g_assert_false (description_survives ("(sndb)"));
  g_assert_false (description_survives ("(sx)"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "mix", g_variant_new ("(sndb)", "x", (gint16) 1, 0.5, TRUE),
                                                     G_VARIANT_TYPE ("(sx)"), NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS);
  g_assert_true (description_survives ("(sndb)"));
  g_assert_true (description_survives ("(sx)"));

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pyro/type-cache/control", test_control);
  g_test_add_func ("/pyro/type-cache/keep", test_keep);
  g_test_add_func ("/pyro/type-cache/daemon", test_daemon_keeps_method_types);
  g_test_add_func ("/pyro/type-cache/proxy", test_proxy_keeps_call_types);
  /* Last: it fills the cache, which is the process's. */
  g_test_add_func ("/pyro/type-cache/bound", test_bound);
  return g_test_run ();
}
