/* test-attributes.c: exposed attributes (Pyro4's remote @property).
 *
 * A C class declares attributes in its table; clients reach them through
 * __getattr__/__setattr__.  Checked C <-> C, a Python client on a C
 * daemon (proxy.name as on a Python object) and a C client on a Python
 * daemon's @property: get, set, a read-only set, an unknown attribute.
 */
#include <string.h>

#include "testutil.h"

/* ---- a C class with two attributes ------------------------------------- */

typedef struct
{
  GMutex lock;
  gint64 value;
} Thing;

static GVariant *
get_name (gpointer instance, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_string ("Thing");
}

static GVariant *
get_value (gpointer instance, PyroInvocation *invocation, GError **error)
{
  Thing *thing = instance;
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&thing->lock);
  return g_variant_new_int64 (thing->value);
}

static gboolean
set_value (gpointer instance, GVariant *value, PyroInvocation *invocation, GError **error)
{
  Thing *thing = instance;
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&thing->lock);
  if (g_variant_get_int64 (value) < 0)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "value must not be negative");
      return FALSE;
    }
  thing->value = g_variant_get_int64 (value);
  return TRUE;
}

static GVariant *
thing_add (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

static const PyroMethod thing_methods[] = {
  { "add", "(xx)", "x", thing_add, 0, "a,b" },
  { NULL }
};

static const PyroAttribute thing_attributes[] = {
  { "name", "s", get_name, NULL },
  { "value", "x", get_value, set_value },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
  .attributes = thing_attributes,
};

typedef struct
{
  Thing           thing;
  PyroTestDaemon *daemon;
  char           *uri;
  PyroProxy      *proxy;
} Fixture;

static void
setup_daemon (PyroDaemon *daemon, gpointer user_data)
{
  Fixture *fixture = user_data;
  pyro_test_register (daemon, &thing_class, &fixture->thing, "thing");
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_mutex_init (&fixture->thing.lock);
  fixture->thing.value = 42;
  fixture->daemon = pyro_test_daemon_start (setup_daemon, fixture);
  fixture->uri = pyro_test_daemon_uri (fixture->daemon, "thing");
  fixture->proxy = pyro_test_proxy_new (fixture->uri);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->proxy);
  pyro_test_daemon_stop (fixture->daemon);
  g_free (fixture->uri);
  g_mutex_clear (&fixture->thing.lock);
}

/* ---- C client, C daemon ------------------------------------------------ */

static void
test_c_get_set (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_autoptr(GVariant) name = pyro_proxy_get_attribute (fixture->proxy, "name", G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (name, NULL), ==, "Thing");

  g_assert_true (pyro_proxy_set_attribute (fixture->proxy, "value", g_variant_new_int64 (7), NULL, &error));
  g_assert_no_error (error);
  g_autoptr(GVariant) value = pyro_proxy_get_attribute (fixture->proxy, "value", G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (value), ==, 7);
  g_assert_cmpint (fixture->thing.value, ==, 7);

  /* Without a type the natural mapping applies: a JSON int is "x". */
  g_autoptr(GVariant) untyped = pyro_proxy_get_attribute (fixture->proxy, "value", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (untyped), ==, 7);
}

static void
test_c_refusals (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  /* Read-only: the daemon refuses the set as Pyro4 does. */
  g_assert_false (pyro_proxy_set_attribute (fixture->proxy, "name", g_variant_new_string ("x"), NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_assert_nonnull (strstr (error->message, "'name'"));
  g_clear_error (&error);

  /* Unknown: refused locally, from the metadata. */
  g_autoptr(GVariant) none = pyro_proxy_get_attribute (fixture->proxy, "nosuch", NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_clear_error (&error);
  g_assert_false (pyro_proxy_set_attribute (fixture->proxy, "nosuch", g_variant_new_int64 (1), NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_clear_error (&error);

  /* Unknown, past the local check: the daemon answers AttributeError. */
  g_autoptr(GVariant) raw = pyro_proxy_call_sync (fixture->proxy, "__getattr__", g_variant_new ("(s)", "add"),
                                                  NULL, NULL, &error);
  g_assert_null (raw);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_assert_nonnull (strstr (error->message, "unexposed or unknown remote attribute 'add'"));
  g_clear_error (&error);

  /* A value of the wrong type is refused before the setter runs. */
  g_assert_false (pyro_proxy_set_attribute (fixture->proxy, "value", g_variant_new_string ("many"), NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  /* The setter's own error reaches the client. */
  g_assert_false (pyro_proxy_set_attribute (fixture->proxy, "value", g_variant_new_int64 (-1), NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_clear_error (&error);
  g_assert_cmpint (fixture->thing.value, ==, 42);

  /* And the daemon keeps serving on the same connection. */
  g_autoptr(GVariant) sum = pyro_proxy_call_sync (fixture->proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2),
                                                  G_VARIANT_TYPE ("x"), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (sum), ==, 3);
}

/* ---- Python client, C daemon ------------------------------------------- */

static void
test_python_client (Fixture *fixture, gconstpointer data)
{
  const char *args[] = { fixture->uri, "attrs", NULL };
  g_autofree char *out = pyro_test_python_output ("tut_client.py", args);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  g_assert_cmpuint (g_strv_length (lines), >=, 4);
  g_assert_cmpstr (lines[0], ==, "Thing");
  g_assert_cmpstr (lines[1], ==, "7");
  g_assert_cmpstr (lines[2], ==, "AttributeError: attempt to access unexposed or unknown remote attribute 'name'");
  g_assert_true (g_str_has_prefix (lines[3], "AttributeError: "));
  g_assert_nonnull (strstr (lines[3], "nosuch"));
  g_assert_cmpint (fixture->thing.value, ==, 7);
}

/* ---- C client, Python daemon ------------------------------------------- */

static void
test_python_daemon (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GSubprocess) server = pyro_test_start_python_server ("tut_server.py", NULL, &uri);
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);

  g_autoptr(GVariant) name = pyro_proxy_get_attribute (proxy, "name", G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (name, NULL), ==, "Thing");
  g_autoptr(GVariant) before = pyro_proxy_get_attribute (proxy, "value", G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (before), ==, 42);
  g_assert_true (pyro_proxy_set_attribute (proxy, "value", g_variant_new_int64 (99), NULL, &error));
  g_assert_no_error (error);
  g_autoptr(GVariant) after = pyro_proxy_get_attribute (proxy, "value", G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (after), ==, 99);

  /* A read-only @property: Python's daemon refuses the set. */
  g_assert_false (pyro_proxy_set_attribute (proxy, "name", g_variant_new_string ("x"), NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_assert_nonnull (strstr (error->message, "'name'"));
  g_clear_error (&error);
  /* A plain attribute is not in the metadata: refused locally... */
  g_autoptr(GVariant) counter = pyro_proxy_get_attribute (proxy, "counter", NULL, NULL, &error);
  g_assert_null (counter);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_clear_error (&error);
  /* ... and by the daemon when asked anyway. */
  g_autoptr(GVariant) raw = pyro_proxy_call_sync (proxy, "__getattr__", g_variant_new ("(s)", "counter"),
                                                  NULL, NULL, &error);
  g_assert_null (raw);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_clear_error (&error);

  pyro_test_stop_process (server, 10);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/pyro/attributes/c-get-set", Fixture, NULL, fixture_setup, test_c_get_set, fixture_teardown);
  g_test_add ("/pyro/attributes/c-refusals", Fixture, NULL, fixture_setup, test_c_refusals, fixture_teardown);
  g_test_add ("/pyro/attributes/python-client", Fixture, NULL, fixture_setup, test_python_client, fixture_teardown);
  g_test_add_func ("/pyro/attributes/python-daemon", test_python_daemon);
  return g_test_run ();
}
