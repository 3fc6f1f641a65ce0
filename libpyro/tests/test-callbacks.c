/* test-callbacks.c: callbacks and autoproxy.
 *
 * A client hosts its own daemon and passes pyro_daemon_proxy_for() of its
 * callback object as an argument; the server turns it into a proxy
 * (pyro_proxy_new_from_variant) and calls back: an ordinary call, a
 * oneway call and a call that fails.  A method returning
 * pyro_daemon_proxy_for() of another object sends a proxy (autoproxy).
 * Each C <-> C and both directions with Python.  Also: malformed proxy
 * dicts are refused clearly, and the same-thread deadlock and its cure.
 */
#include <string.h>

#include "testutil.h"

/* ---- the callback object a client hosts ----------------------------------- */

static gint notified_value;  /* set by the oneway notify() (atomic) */

static GVariant *
cb_done (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 n;
  g_variant_get (args, "(x)", &n);
  return g_variant_new_take_string (g_strdup_printf ("done %" G_GINT64_FORMAT, n));
}

static GVariant *
cb_notify (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 n;
  g_variant_get (args, "(x)", &n);
  g_atomic_int_set (&notified_value, (gint) n);
  return NULL;
}

static GVariant *
cb_fail (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "callback failed");
  return NULL;
}

static const PyroMethod callback_methods[] = {
  { "done", "(x)", "s", cb_done, 0, "n" },
  { "notify", "(x)", NULL, cb_notify, PYRO_METHOD_ONEWAY, "n" },
  { "fail", "()", NULL, cb_fail, 0, NULL },
  { NULL }
};

static const PyroClass callback_class = {
  .name = "Callback",
  .methods = callback_methods,
};

static void
setup_callback_daemon (PyroDaemon *daemon, gpointer user_data)
{
  pyro_test_register (daemon, &callback_class, NULL, "callback");
}

/* ---- the server object that calls back ------------------------------------ */

static PyroProxy *
callback_proxy (GVariant *args, GError **error)
{
  g_autoptr(GVariant) cb = g_variant_get_child_value (args, 0);
  PyroProxy *proxy = pyro_proxy_new_from_variant (cb, error);
  if (proxy != NULL)
    pyro_proxy_set_timeout (proxy, PYRO_TEST_TIMEOUT_S);
  return proxy;
}

static GVariant *
srv_call_back (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 n;
  g_variant_get_child (args, 1, "x", &n);
  g_autoptr(PyroProxy) cb = callback_proxy (args, error);
  if (cb == NULL)
    return NULL;
  return pyro_proxy_call_sync (cb, "done", g_variant_new ("(x)", n), G_VARIANT_TYPE_STRING, NULL, error);
}

static GVariant *
srv_notify_back (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 n;
  g_variant_get_child (args, 1, "x", &n);
  g_autoptr(PyroProxy) cb = callback_proxy (args, error);
  if (cb == NULL)
    return NULL;
  /* notify is oneway in the callback's metadata: sent without waiting. */
  g_autoptr(GVariant) none = pyro_proxy_call_sync (cb, "notify", g_variant_new ("(x)", n), NULL, NULL, error);
  return none ? g_variant_new_string ("notified") : NULL;
}

static GVariant *
srv_call_failing (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_autoptr(PyroProxy) cb = callback_proxy (args, error);
  if (cb == NULL)
    return NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (cb, "fail", NULL, NULL, NULL, &local);
  if (result != NULL)
    return g_variant_new_string ("no error");
  const char *klass = pyro_error_get_remote_class (local);
  const char *dot = strrchr (klass, '.');
  return g_variant_new_take_string (g_strdup_printf ("%s: %s", dot ? dot + 1 : klass, local->message));
}

static GVariant *
srv_make_child (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return pyro_daemon_proxy_for (pyro_invocation_get_daemon (invocation), "child", error);
}

static GVariant *
srv_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

static const PyroMethod server_methods[] = {
  { "call_back", "(a{sv}x)", "s", srv_call_back, 0, "cb,n" },
  { "notify_back", "(a{sv}x)", "s", srv_notify_back, 0, "cb,n" },
  { "call_failing", "(a{sv})", "s", srv_call_failing, 0, "cb" },
  { "make_child", "()", "a{sv}", srv_make_child, 0, NULL },
  { "add", "(xx)", "x", srv_add, 0, "a,b" },
  { NULL }
};

static const PyroClass server_class = {
  .name = "Server",
  .methods = server_methods,
};

static GVariant *
child_whoami (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_string ("child 1");
}

static const PyroMethod child_methods[] = {
  { "whoami", "()", "s", child_whoami, 0, NULL },
  { NULL }
};

static const PyroClass child_class = {
  .name = "Child",
  .methods = child_methods,
};

static void
setup_server_daemon (PyroDaemon *daemon, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &server_class, NULL, "thing", &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) child = pyro_daemon_register_object (daemon, &child_class, NULL, "child", &error);
  g_assert_no_error (error);
}

/* ---- helpers ---------------------------------------------------------------- */

static gboolean
notified_is (gpointer value)
{
  return g_atomic_int_get (&notified_value) == GPOINTER_TO_INT (value);
}

/* A oneway call returns before it runs: wait (bounded) until it has. */
static void
wait_notified (int value)
{
  pyro_test_wait_until (notified_is, GINT_TO_POINTER (value));
  g_assert_cmpint (g_atomic_int_get (&notified_value), ==, value);
}

static char *
call_string (PyroProxy *proxy, const char *method, GVariant *params)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, method, params, G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  return g_variant_dup_string (result, NULL);
}

/* A C client with its callback daemon in a thread calls @server_uri. */
static void
check_callbacks_from (const char *server_uri)
{
  g_autoptr(GError) error = NULL;
  PyroTestDaemon *client_daemon = pyro_test_daemon_start (setup_callback_daemon, NULL);
  PyroDaemon *daemon = pyro_test_daemon_get (client_daemon);
  g_autoptr(PyroProxy) server = pyro_test_proxy_new (server_uri);
  g_atomic_int_set (&notified_value, 0);

  g_autoptr(GVariant) cb = g_variant_ref_sink (pyro_daemon_proxy_for (daemon, "callback", &error));
  g_assert_no_error (error);

  g_autofree char *done = call_string (server, "call_back", g_variant_new ("(@a{sv}x)", cb, (gint64) 5));
  g_assert_cmpstr (done, ==, "done 5");
  g_autofree char *notified = call_string (server, "notify_back", g_variant_new ("(@a{sv}x)", cb, (gint64) 6));
  g_assert_cmpstr (notified, ==, "notified");
  wait_notified (6);
  g_autofree char *failed = call_string (server, "call_failing", g_variant_new ("(@a{sv})", cb));
  g_assert_cmpstr (failed, ==, "ValueError: callback failed");

  pyro_test_daemon_stop (client_daemon);
}

/* ---- C server ----------------------------------------------------------------- */

typedef struct
{
  PyroTestDaemon *daemon;
  char           *uri;
  PyroProxy      *proxy;
} Fixture;

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  fixture->daemon = pyro_test_daemon_start (setup_server_daemon, NULL);
  fixture->uri = pyro_test_daemon_uri (fixture->daemon, "thing");
  fixture->proxy = pyro_test_proxy_new (fixture->uri);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->proxy);
  pyro_test_daemon_stop (fixture->daemon);
  g_free (fixture->uri);
}

static void
test_c_callbacks (Fixture *fixture, gconstpointer data)
{
  check_callbacks_from (fixture->uri);
}

static void
test_c_autoproxy (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) dict = pyro_proxy_call_sync (fixture->proxy, "make_child", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  const char *klass = NULL;
  g_assert_true (g_variant_lookup (dict, "__class__", "&s", &klass));
  g_assert_cmpstr (klass, ==, "Pyro4.core.Proxy");

  g_autoptr(PyroProxy) child = pyro_proxy_new_from_variant (dict, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pyro_uri_get_object (pyro_proxy_get_uri (child)), ==, "child");
  pyro_proxy_set_timeout (child, PYRO_TEST_TIMEOUT_S);
  g_autofree char *who = call_string (child, "whoami", NULL);
  g_assert_cmpstr (who, ==, "child 1");

  /* Not registered: a clear error. */
  g_autoptr(GVariant) none = pyro_daemon_proxy_for (pyro_test_daemon_get (fixture->daemon), "nobody", &error);
  g_assert_null (none);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON);
}

static char *
run_client (const char *uri, const char *task)
{
  const char *args[] = { uri, task, NULL };
  return pyro_test_python_output ("tut_client.py", args);
}

static void
test_py_client_callbacks (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_client (fixture->uri, "callback");
  g_assert_cmpstr (out, ==, "done 5\nnotified\nTrue 6\nValueError: callback failed\n");
}

static void
test_py_client_autoproxy (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_client (fixture->uri, "autoproxy");
  g_assert_cmpstr (out, ==, "Proxy child 1\n");
}

/* Malformed proxies: clear errors, and the daemon keeps serving. */
static void
test_bad_proxies (Fixture *fixture, gconstpointer data)
{
  static const char *const bad[] = {
    "{'__class__': <'Pyro4.core.Proxy'>, 'state': <5>}",
    "{'__class__': <'Pyro4.core.Proxy'>}",
    "{'__class__': <'Pyro4.core.Proxy'>, 'state': <[<42>, <'x'>]>}",
    "{'__class__': <'Pyro4.core.Proxy'>, 'state': <[<'not a uri'>]>}",
    "{'foo': <1>}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) dict = g_variant_parse (G_VARIANT_TYPE_VARDICT, bad[i], NULL, NULL, &error);
      g_assert_no_error (error);

      /* Locally... */
      g_autoptr(PyroProxy) proxy = pyro_proxy_new_from_variant (dict, &error);
      g_assert_null (proxy);
      g_assert_nonnull (error);
      g_test_message ("%s -> %s", bad[i], error->message);
      g_clear_error (&error);

      /* ... and through the server, which answers an exception. */
      g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "call_back",
                                                         g_variant_new ("(@a{sv}x)", dict, (gint64) 1),
                                                         NULL, NULL, &error);
      g_assert_null (result);
      g_assert_nonnull (error);
      g_assert_true (error->domain == PYRO_ERROR);
      g_assert_cmpint (error->code, !=, PYRO_ERROR_COMMUNICATION);
      g_assert_cmpint (error->code, !=, PYRO_ERROR_CONNECTION_CLOSED);
    }

  /* Neither a dict nor a string. */
  g_autoptr(GError) error = NULL;
  /* (pyro_proxy_new_from_variant() only reads its value, as g_variant_print()
   * does: a new value is ours to free.) */
  g_autoptr(GVariant) three = g_variant_ref_sink (g_variant_new_int32 (3));
  g_autoptr(PyroProxy) none = pyro_proxy_new_from_variant (three, &error);
  g_assert_null (none);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  /* A URI string is fine. */
  g_autoptr(GVariant) uri_string = g_variant_ref_sink (g_variant_new_string (fixture->uri));
  g_autoptr(PyroProxy) from_string = pyro_proxy_new_from_variant (uri_string, &error);
  g_assert_no_error (error);

  g_autoptr(GVariant) sum = pyro_proxy_call_sync (fixture->proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2),
                                                  G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (sum), ==, 3);
}

/* ---- the same-thread deadlock ------------------------------------------------
 *
 * The callback daemon accepts connections in the GMainContext that was the
 * thread-default one when it was created.  If that is the calling thread's
 * own context, a synchronous call blocks that thread, the callback's
 * connection is never accepted, and the call can only time out.  Either
 * iterate the context while the call runs (the async call below), or run
 * the callback daemon in a thread of its own (check_callbacks_from()). */

typedef struct
{
  GVariant *result;
  GError   *error;
  gboolean  done;
} AsyncCall;

static void
async_call_done (GObject *source, GAsyncResult *res, gpointer data)
{
  AsyncCall *call = data;
  call->result = pyro_proxy_call_finish (PYRO_PROXY (source), res, &call->error);
  call->done = TRUE;
}

static void
test_same_thread (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  g_autoptr(PyroDaemon) daemon = pyro_daemon_new ("localhost", 0, &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &callback_class, NULL, "callback", &error);
  g_assert_no_error (error);
  g_autoptr(GVariant) cb = g_variant_ref_sink (pyro_daemon_proxy_for (daemon, "callback", &error));
  g_assert_no_error (error);

  /* Wrong: a synchronous call while our context is not iterated. */
  g_autoptr(PyroProxy) server = pyro_test_proxy_new (fixture->uri);
  pyro_proxy_set_timeout (server, 1.0);
  g_autoptr(GVariant) stuck = pyro_proxy_call_sync (server, "call_back", g_variant_new ("(@a{sv}x)", cb, (gint64) 1),
                                                    NULL, NULL, &error);
  g_assert_null (stuck);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_TIMEOUT);
  g_clear_error (&error);

  /* Right: an async call, iterating our context until it completes. */
  pyro_proxy_set_timeout (server, PYRO_TEST_TIMEOUT_S);
  AsyncCall call = { NULL, NULL, FALSE };
  pyro_proxy_call (server, "call_back", g_variant_new ("(@a{sv}x)", cb, (gint64) 2), G_VARIANT_TYPE_STRING,
                   NULL, async_call_done, &call);
  while (!call.done)
    g_main_context_iteration (context, TRUE);
  g_assert_no_error (call.error);
  g_assert_cmpstr (g_variant_get_string (call.result, NULL), ==, "done 2");
  g_variant_unref (call.result);

  pyro_daemon_shutdown (daemon);
  g_main_context_pop_thread_default (context);
}

/* ---- Python server -------------------------------------------------------- */

typedef struct
{
  GSubprocess *server;
  char        *uri;
  PyroProxy   *proxy;
} PyFixture;

static void
py_fixture_setup (PyFixture *fixture, gconstpointer data)
{
  fixture->server = pyro_test_start_python_server ("tut_server.py", NULL, &fixture->uri);
  fixture->proxy = pyro_test_proxy_new (fixture->uri);
}

static void
py_fixture_teardown (PyFixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->proxy);
  pyro_test_stop_process (fixture->server, 10);
  g_clear_object (&fixture->server);
  g_free (fixture->uri);
}

static void
test_py_server_callbacks (PyFixture *fixture, gconstpointer data)
{
  check_callbacks_from (fixture->uri);
}

static void
test_py_server_autoproxy (PyFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) dict = pyro_proxy_call_sync (fixture->proxy, "make_child", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(PyroProxy) child = pyro_proxy_new_from_variant (dict, &error);
  g_assert_no_error (error);
  pyro_proxy_set_timeout (child, PYRO_TEST_TIMEOUT_S);
  g_autofree char *who = call_string (child, "whoami", NULL);
  g_assert_cmpstr (who, ==, "child 1");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/pyro/callbacks/c/round-trip", Fixture, NULL, fixture_setup, test_c_callbacks, fixture_teardown);
  g_test_add ("/pyro/callbacks/c/autoproxy", Fixture, NULL, fixture_setup, test_c_autoproxy, fixture_teardown);
  g_test_add ("/pyro/callbacks/c/bad-proxies", Fixture, NULL, fixture_setup, test_bad_proxies, fixture_teardown);
  g_test_add ("/pyro/callbacks/c/same-thread", Fixture, NULL, fixture_setup, test_same_thread, fixture_teardown);
  g_test_add ("/pyro/callbacks/py-client/round-trip", Fixture, NULL, fixture_setup, test_py_client_callbacks,
              fixture_teardown);
  g_test_add ("/pyro/callbacks/py-client/autoproxy", Fixture, NULL, fixture_setup, test_py_client_autoproxy,
              fixture_teardown);
  g_test_add ("/pyro/callbacks/py-server/round-trip", PyFixture, NULL, py_fixture_setup, test_py_server_callbacks,
              py_fixture_teardown);
  g_test_add ("/pyro/callbacks/py-server/autoproxy", PyFixture, NULL, py_fixture_setup, test_py_server_autoproxy,
              py_fixture_teardown);
  return g_test_run ();
}
