/* test-hmac.c: HMAC message authentication, compatible with Pyro4.
 *
 * A daemon and a proxy share a key; every message carries an HMAC-SHA1.
 * Right key, wrong key, and a key on one side only, for a C daemon with
 * C and Python clients and for a Python daemon with a C client.  A
 * refused client gets a clear error and nothing runs for it.
 */
#include <string.h>

#include "testutil.h"

static gint n_adds;  /* calls that ran on the C daemon (atomic) */

static GVariant *
thing_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  g_atomic_int_inc (&n_adds);
  return g_variant_new_int64 (a + b);
}

static const PyroMethod thing_methods[] = {
  { "add", "(xx)", "x", thing_add, 0, "a,b" },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
};

/* Which key each side uses (NULL: none) and what the client should see. */
typedef struct
{
  const char *daemon_key;
  const char *client_key;
  gboolean    works;
  const char *refusal;     /* part of the error message when it does not work */
} Case;

static const Case cases[] = {
  { "secret", "secret", TRUE, NULL },
  { "secret", "guess", FALSE, "hmac mismatch" },
  { "secret", NULL, FALSE, "hmac key config not symmetric" },
  { NULL, "secret", FALSE, "hmac key config not symmetric" },
  /* An empty key is no key, in Pyro4 and here. */
  { "", NULL, TRUE, NULL },
  { NULL, "", TRUE, NULL },
  { "", "secret", FALSE, "hmac key config not symmetric" },
};

static void
setup_daemon (PyroDaemon *daemon, gpointer user_data)
{
  const Case *c = user_data;
  pyro_test_register (daemon, &thing_class, NULL, "thing");
  pyro_daemon_set_hmac_key (daemon, c->daemon_key);
}

static PyroProxy *
new_proxy (const char *uri, const char *key)
{
  PyroProxy *proxy = pyro_test_proxy_new (uri);
  pyro_proxy_set_hmac_key (proxy, key);
  return proxy;
}

/* A C client with @c's key calls add(1, 2). */
static void
check_c_client (const char *uri, const Case *c)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroProxy) proxy = new_proxy (uri, c->client_key);
  g_autoptr(GVariant) sum = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2), G_VARIANT_TYPE_INT64,
                                                  NULL, &error);
  if (c->works)
    {
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (sum), ==, 3);
      /* A second call on the same connection is authenticated too. */
      g_autoptr(GVariant) again = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 2, (gint64) 2),
                                                        G_VARIANT_TYPE_INT64, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int64 (again), ==, 4);
      return;
    }
  g_assert_null (sum);
  g_assert_nonnull (error);
  g_test_message ("%s/%s: %s", c->daemon_key, c->client_key, error->message);
  g_assert_true (error->domain == PYRO_ERROR);
  g_assert_true (error->code == PYRO_ERROR_COMMUNICATION || error->code == PYRO_ERROR_SECURITY);
  g_assert_nonnull (strstr (error->message, c->refusal));
}

static void
test_c_c (gconstpointer data)
{
  const Case *c = data;
  g_atomic_int_set (&n_adds, 0);
  PyroTestDaemon *daemon = pyro_test_daemon_start (setup_daemon, (gpointer) c);
  g_autofree char *uri = pyro_test_daemon_uri (daemon, "thing");

  check_c_client (uri, c);
  g_assert_cmpint (g_atomic_int_get (&n_adds), ==, c->works ? 2 : 0);

  /* The daemon still serves a client with the right key. */
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroProxy) good = new_proxy (uri, c->daemon_key);
  g_autoptr(GVariant) sum = pyro_proxy_call_sync (good, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1), G_VARIANT_TYPE_INT64,
                                                  NULL, &error);
  g_assert_no_error (error);
  pyro_test_daemon_stop (daemon);
}

static void
test_py_client (gconstpointer data)
{
  const Case *c = data;
  g_atomic_int_set (&n_adds, 0);
  PyroTestDaemon *daemon = pyro_test_daemon_start (setup_daemon, (gpointer) c);
  g_autofree char *uri = pyro_test_daemon_uri (daemon, "thing");

  const char *args[] = { uri, "call", "--hmac", c->client_key, NULL };
  if (c->client_key == NULL)
    args[2] = NULL;
  g_autofree char *out = pyro_test_python_output ("tut_client.py", args);
  g_test_message ("%s/%s: %s", c->daemon_key, c->client_key, out);
  if (c->works)
    g_assert_cmpstr (out, ==, "3\n");
  else
    {
      g_assert_true (g_str_has_prefix (out, "CommunicationError: "));
      g_assert_nonnull (strstr (out, c->refusal));
    }
  g_assert_cmpint (g_atomic_int_get (&n_adds), ==, c->works ? 1 : 0);
  pyro_test_daemon_stop (daemon);
}

static void
test_py_daemon (gconstpointer data)
{
  const Case *c = data;
  const char *args[] = { "--hmac", c->daemon_key, NULL };
  if (c->daemon_key == NULL)
    args[0] = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GSubprocess) server = pyro_test_start_python_server ("tut_server.py", args, &uri);

  check_c_client (uri, c);
  pyro_test_stop_process (server, 10);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  static const char *const names[] = {
    "right-key", "wrong-key", "client-without-key", "daemon-without-key",
    "daemon-empty-key", "client-empty-key", "daemon-empty-client-key",
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (names) == G_N_ELEMENTS (cases));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *c_c = g_strdup_printf ("/pyro/hmac/c/%s", names[i]);
      g_autofree char *py_client = g_strdup_printf ("/pyro/hmac/py-client/%s", names[i]);
      g_autofree char *py_daemon = g_strdup_printf ("/pyro/hmac/py-daemon/%s", names[i]);
      g_test_add_data_func (c_c, &cases[i], test_c_c);
      g_test_add_data_func (py_client, &cases[i], test_py_client);
      g_test_add_data_func (py_daemon, &cases[i], test_py_daemon);
    }
  return g_test_run ();
}
