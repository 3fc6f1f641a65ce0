/* test-proxy.c: PyroProxy against a C PyroDaemon.
 *
 * Sync, oneway and async calls, the reply type check, the local metadata
 * check, timeouts, cancellation, reconnecting to a restarted daemon,
 * connection refused, one proxy shared by several threads, and remote
 * exceptions with their class, traceback and Pyro4-style printout.
 *
 * Every wait is bounded by PYRO_TEST_TIMEOUT_S; nothing asserts a duration.
 */
#include "testutil.h"

#include <string.h>

/* ---- the served object ------------------------------------------------------ */

/* A gate the "block" method waits at, so a test knows a call is running
 * on the daemon and decides when it ends. */
static GMutex gate_lock;
static GCond gate_cond;
static gboolean gate_entered;
static gboolean gate_open;

static void
gate_reset (void)
{
  g_mutex_lock (&gate_lock);
  gate_entered = FALSE;
  gate_open = FALSE;
  g_mutex_unlock (&gate_lock);
}

static void
gate_release (void)
{
  g_mutex_lock (&gate_lock);
  gate_open = TRUE;
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&gate_lock);
}

static gboolean
gate_wait_entered (void)
{
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
  gboolean ok = TRUE;

  g_mutex_lock (&gate_lock);
  while (!gate_entered && ok)
    ok = g_cond_wait_until (&gate_cond, &gate_lock, deadline);
  g_mutex_unlock (&gate_lock);
  return ok;
}

static GVariant *
svc_block (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
  gboolean ok = TRUE;

  g_mutex_lock (&gate_lock);
  gate_entered = TRUE;
  g_cond_broadcast (&gate_cond);
  while (!gate_open && ok)
    ok = g_cond_wait_until (&gate_cond, &gate_lock, deadline);
  g_mutex_unlock (&gate_lock);
  return g_variant_new_boolean (ok);
}

static GVariant *
svc_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

static GVariant *
svc_echo (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_autoptr(GVariant) value = g_variant_get_child_value (args, 0);
  g_autoptr(GVariant) inner = g_variant_get_variant (value);
  return g_variant_new_variant (inner);  /* takes a reference of its own */
}

static GVariant *
svc_text (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_string ("hello");
}

static GVariant *
svc_sleep (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  double seconds;
  g_variant_get (args, "(d)", &seconds);
  g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
  return g_variant_new_boolean (TRUE);
}

static GVariant *
svc_generation (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_int64 (GPOINTER_TO_INT (self));
}

static gint last_notified;

static GVariant *
svc_notify (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 value;
  g_variant_get (args, "(x)", &value);
  g_atomic_int_set (&last_notified, (gint) value);
  return NULL;
}

static GVariant *
svc_last (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_int64 (g_atomic_int_get (&last_notified));
}

static GVariant *
svc_raise_value (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "bad thing");
  return NULL;
}

static const char *const custom_traceback[] = {
  "Traceback (most recent call last):\n",
  "  File \"shop.py\", line 12, in buy\n    raise MyError('custom', 42)\n",
  "mymod.MyError: custom 42\n",
  NULL,
};

static GVariant *
svc_raise_custom (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_propagate_error (error, pyro_error_new_remote ("mymod.MyError", custom_traceback, "custom %d", 42));
  return NULL;
}

/* Bytes have no JSON form: the daemon answers SerializeError and then
 * closes the connection, as Pyro4 does. */
static GVariant *
svc_bytes (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_bytestring ("raw");
}

static const PyroMethod svc_methods[] = {
  { "add", "(xx)", "x", svc_add, 0, "a,b" },
  { "echo", "(v)", "v", svc_echo, 0, "value" },
  { "text", "()", "s", svc_text, 0, NULL },
  { "sleep", "(d)", "b", svc_sleep, 0, "seconds" },
  { "block", "()", "b", svc_block, 0, NULL },
  { "generation", "()", "x", svc_generation, 0, NULL },
  { "notify", "(x)", NULL, svc_notify, PYRO_METHOD_ONEWAY, "value" },
  { "last", "()", "x", svc_last, 0, NULL },
  { "raise_value", "()", NULL, svc_raise_value, 0, NULL },
  { "raise_custom", "()", NULL, svc_raise_custom, 0, NULL },
  { "bytes", "()", "ay", svc_bytes, 0, NULL },
  { NULL }
};

static const PyroClass svc_class = {
  .name = "Service",
  .methods = svc_methods,
};

static void
setup_svc (PyroDaemon *daemon, gpointer user_data)
{
  pyro_test_register (daemon, &svc_class, user_data, "svc");
}

/* ---- helpers -------------------------------------------------------------------- */

static PyroProxy *
proxy_for (PyroTestDaemon *td, double timeout)
{
  g_autofree char *uri = pyro_test_daemon_uri (td, "svc");
  PyroProxy *proxy = pyro_test_proxy_new (uri);

  pyro_proxy_set_timeout (proxy, timeout);
  return proxy;
}

static gint64
call_add (PyroProxy *proxy, gint64 a, gint64 b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", a, b),
                                                     G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  return g_variant_get_int64 (result);
}

/* Runs the thread-default context until *@done, for at most PYRO_TEST_TIMEOUT_S. */
static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
iterate_until (gboolean *done)
{
  GMainContext *context = g_main_context_get_thread_default ();
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new_seconds (PYRO_TEST_TIMEOUT_S);

  g_source_set_callback (timeout, on_deadline, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!*done && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_assert_false (timed_out);
}

/* ---- sync calls, reply types, metadata --------------------------------------------- */

static void
test_sync (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GError) error = NULL;

  g_autofree char *uri = pyro_test_daemon_uri (td, "svc");
  g_assert_cmpstr (pyro_uri_to_string (pyro_proxy_get_uri (proxy)), ==, uri);
  g_assert_null (pyro_proxy_get_methods (proxy));  /* nothing sent yet */

  g_assert_cmpint (call_add (proxy, 2, 40), ==, 42);
  g_assert_cmpint (call_add (proxy, G_MININT64 + 1, -1), ==, G_MININT64);

  /* values round-trip through the wire unchanged */
  static const char *const values[] = {
    "'gr\\u00fc\\u00dfe \\\"quoted\\\" \\\\ \\n'", "int64 -9223372036854775808", "3.25", "true",
    "@as ['a', 'b']", "@a{sv} {'k': <int64 1>}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(GVariant) value = g_variant_parse (NULL, values[i], NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "echo", g_variant_new ("(v)", value),
                                                         g_variant_get_type (value), NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_equal (result, value));
    }

  /* without a reply type, the natural mapping */
  g_autoptr(GVariant) natural = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (natural), ==, "x");
  g_autoptr(GVariant) text = pyro_proxy_call_sync (proxy, "text", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (text, NULL), ==, "hello");

  /* the metadata of the handshake */
  g_auto(GStrv) methods = pyro_proxy_get_methods (proxy);
  g_assert_cmpuint (g_strv_length (methods), ==, G_N_ELEMENTS (svc_methods) - 1);
  for (const PyroMethod *m = svc_methods; m->name != NULL; m++)
    g_assert_true (g_strv_contains ((const char * const *) methods, m->name));

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

static void
test_reply_type_mismatch (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  static const struct { const char *method; const char *reply_type; } cases[] = {
    { "text", "x" }, { "text", "as" }, { "add", "s" }, { "add", "b" }, { "add", "(xx)" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      GVariant *params = strcmp (cases[i].method, "add") == 0 ? g_variant_new ("(xx)", (gint64) 1, (gint64) 2) : NULL;
      g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, cases[i].method, params,
                                                         G_VARIANT_TYPE (cases[i].reply_type), NULL, &error);
      g_assert_null (result);
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
      g_assert_false (pyro_error_is_remote (error));
      g_assert_nonnull (strstr (error->message, cases[i].method));
    }

  /* an add that does not overflow int32 fits "i" */
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) small = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2),
                                                    G_VARIANT_TYPE_INT32, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (small), ==, 3);
  /* and one that does not fit is refused, not wrapped */
  g_autoptr(GVariant) big = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) G_MAXINT32, (gint64) 1),
                                                  G_VARIANT_TYPE_INT32, NULL, &error);
  g_assert_null (big);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
  g_clear_error (&error);

  g_assert_cmpint (call_add (proxy, 5, 6), ==, 11);
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

static void
test_unknown_method (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GError) error = NULL;

  /* the first call connects, so the metadata is there for the check */
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "nosuch", NULL, NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_assert_false (pyro_error_is_remote (error));  /* refused here, nothing was sent */
  g_autofree char *expected = g_strdup_printf ("remote object '%s' has no exposed attribute or method 'nosuch'",
                                               pyro_uri_to_string (pyro_proxy_get_uri (proxy)));
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  g_assert_false (pyro_proxy_call_oneway (proxy, "nosuch_either", NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_clear_error (&error);

  g_assert_cmpint (call_add (proxy, 1, 1), ==, 2);
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* ---- oneway ----------------------------------------------------------------------------- */

/* Oneway calls in the order they were sent, the daemon's default (see
 * test-daemon for oneway calls in threads of their own). */
static void
setup_svc_in_order (PyroDaemon *daemon, gpointer user_data)
{
  pyro_daemon_set_oneway_threaded (daemon, FALSE);
  setup_svc (daemon, user_data);
}

static void
test_oneway (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc_in_order, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GError) error = NULL;

  for (gint64 i = 1; i <= 50; i++)
    g_assert_true (pyro_proxy_call_oneway (proxy, "notify", g_variant_new ("(x)", i), &error));
  g_autoptr(GVariant) last = pyro_proxy_call_sync (proxy, "last", NULL, G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (last), ==, 50);

  /* any method can be sent oneway: no result, and the next reply is in step */
  g_autoptr(GVariant) none = pyro_proxy_call_full_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1), NULL,
                                                        PYRO_CALL_ONEWAY, G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (none, G_VARIANT_TYPE ("mv")));
  g_assert_null (g_variant_get_maybe (none));
  g_assert_true (pyro_proxy_call_oneway (proxy, "raise_value", NULL, &error));
  g_assert_cmpint (call_add (proxy, 3, 4), ==, 7);

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* ---- timeouts -------------------------------------------------------------------------------- */

static void
test_timeout (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, 0.3);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (call_add (proxy, 1, 2), ==, 3);
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "sleep", g_variant_new ("(d)", 2.0),
                                                     G_VARIANT_TYPE_BOOLEAN, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_TIMEOUT);
  g_assert_false (pyro_error_is_remote (error));
  g_autofree char *printed = pyro_error_format (error);
  g_assert_true (g_str_has_prefix (printed, "Pyro4.errors.TimeoutError: "));
  g_assert_null (strstr (printed, "+---"));  /* a local error has no remote traceback */
  g_clear_error (&error);

  /* the connection was dropped; the same proxy reconnects and works */
  g_assert_cmpint (call_add (proxy, 20, 22), ==, 42);

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);  /* waits for the sleeping call to finish */
}

/* ---- async calls ---------------------------------------------------------------------------- */

typedef struct
{
  gint64    expected;
  GVariant *result;
  GError   *error;
  gboolean  done;
  guint    *n_done;    /* (nullable): shared by a group of calls */
  guint     n_group;   /* the size of that group */
  gboolean *all_done;  /* set when the whole group is done */
} AsyncCall;

static void
on_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AsyncCall *call = user_data;

  g_assert_true (g_main_context_is_owner (g_main_context_get_thread_default ()));
  call->result = pyro_proxy_call_finish (PYRO_PROXY (source), res, &call->error);
  call->done = TRUE;
  if (call->n_done != NULL && ++(*call->n_done) == call->n_group)
    *call->all_done = TRUE;
}

static void
test_async (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);

  AsyncCall call = { 0 };
  pyro_proxy_call (proxy, "add", g_variant_new ("(xx)", (gint64) 2, (gint64) 3), G_VARIANT_TYPE_INT64, NULL, on_call_done, &call);
  iterate_until (&call.done);
  g_assert_no_error (call.error);
  g_assert_cmpint (g_variant_get_int64 (call.result), ==, 5);
  g_variant_unref (call.result);

  /* an error comes back through _finish too */
  AsyncCall failing = { 0 };
  pyro_proxy_call (proxy, "raise_value", NULL, NULL, NULL, on_call_done, &failing);
  iterate_until (&failing.done);
  g_assert_null (failing.result);
  g_assert_error (failing.error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_clear_error (&failing.error);

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
  g_main_context_pop_thread_default (context);
}

#define N_OUTSTANDING 16

static void
test_async_outstanding (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  AsyncCall calls[N_OUTSTANDING] = { 0 };
  guint n_done = 0;
  gboolean all_done = FALSE;

  /* all started before any is finished: they take turns on one connection */
  for (int i = 0; i < N_OUTSTANDING; i++)
    {
      calls[i].expected = 1000 * i + i;
      calls[i].n_done = &n_done;
      calls[i].n_group = N_OUTSTANDING;
      calls[i].all_done = &all_done;
      pyro_proxy_call (proxy, "add", g_variant_new ("(xx)", (gint64) 1000 * i, (gint64) i), G_VARIANT_TYPE_INT64,
                       NULL, on_call_done, &calls[i]);
    }
  iterate_until (&all_done);

  for (int i = 0; i < N_OUTSTANDING; i++)
    {
      g_assert_no_error (calls[i].error);
      g_assert_cmpint (g_variant_get_int64 (calls[i].result), ==, calls[i].expected);
      g_variant_unref (calls[i].result);
    }

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
  g_main_context_pop_thread_default (context);
}

/* ---- cancellation ----------------------------------------------------------------------------- */

static void
test_cancel (gconstpointer data)
{
  double timeout = *(const double *) data;  /* 0 and not 0 wait in different places */
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, timeout);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  gate_reset ();
  AsyncCall call = { 0 };
  pyro_proxy_call (proxy, "block", NULL, G_VARIANT_TYPE_BOOLEAN, cancellable, on_call_done, &call);
  g_assert_true (gate_wait_entered ());  /* the call is running on the daemon */
  g_cancellable_cancel (cancellable);
  iterate_until (&call.done);
  g_assert_null (call.result);
  g_assert_error (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&call.error);

  /* the proxy stays usable, on a new connection */
  g_assert_cmpint (call_add (proxy, 8, 9), ==, 17);

  /* a sync call with a cancelled cancellable does not start */
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1),
                                                     G_VARIANT_TYPE_INT64, cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (call_add (proxy, 1, 1), ==, 2);

  gate_release ();
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
  g_main_context_pop_thread_default (context);
}

/* ---- reconnecting and refused connections -------------------------------------------------------- */

static gint64
call_generation (PyroProxy *proxy, GError **error)
{
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "generation", NULL, G_VARIANT_TYPE_INT64, NULL, error);
  return result ? g_variant_get_int64 (result) : -1;
}

static void
test_reconnect (void)
{
  g_autoptr(GError) error = NULL;
  PyroTestDaemon *first = pyro_test_daemon_start (setup_svc, GINT_TO_POINTER (1));
  guint16 port = pyro_daemon_get_port (pyro_test_daemon_get (first));
  g_autofree char *uri = g_strdup_printf ("PYRO:svc@localhost:%u", port);
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);

  g_assert_cmpint (call_generation (proxy, &error), ==, 1);
  g_assert_no_error (error);

  /* the daemon goes away while the proxy is idle, and comes back on the
   * same port with the same object id */
  pyro_test_daemon_stop (first);
  PyroTestDaemon *second = pyro_test_daemon_start_on_port (port, setup_svc, GINT_TO_POINTER (2));
  g_assert_cmpuint (pyro_daemon_get_port (pyro_test_daemon_get (second)), ==, port);

  g_assert_cmpint (call_generation (proxy, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpint (call_add (proxy, 1, 2), ==, 3);

  /* and when it is gone for good, the call says so */
  pyro_test_daemon_stop (second);
  g_assert_cmpint (call_generation (proxy, &error), ==, -1);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
}

/* A daemon that cannot serialize a result says so and closes the
 * connection (as Pyro4's does).  The proxy knows that and drops the
 * connection itself, so the very next call reconnects and works, however
 * soon it comes.  (Without that, a call within FRESH_USEC of the reply
 * would not notice the close and fail with CONNECTION_CLOSED.) */
static void
test_closed_right_after_reply (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);

  for (int i = 0; i < 20; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) bytes = pyro_proxy_call_sync (proxy, "bytes", NULL, NULL, NULL, &error);
      g_assert_null (bytes);
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
      g_assert_true (pyro_error_is_remote (error));
      g_assert_cmpint (call_add (proxy, 1, i), ==, 1 + i);
    }
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* A port nobody listens on: bound once, then closed. */
static guint16
unused_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, any_port, FALSE, &error));
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);
  return port;
}

static void
test_connection_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = g_strdup_printf ("PYRO:svc@127.0.0.1:%u", unused_port ());
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);

  g_assert_false (pyro_proxy_connect (proxy, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
  g_assert_false (pyro_error_is_remote (error));
  g_assert_nonnull (strstr (error->message, "cannot connect"));
  g_clear_error (&error);

  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1), NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
  g_assert_null (pyro_proxy_get_methods (proxy));
}

/* ---- one proxy, many threads ------------------------------------------------------------------------ */

#define N_THREADS 8
#define N_CALLS 200

typedef struct
{
  PyroProxy *proxy;
  gint64     base;
  guint      n_right;
  GError    *error;
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;

  for (gint64 i = 0; i < N_CALLS && w->error == NULL; i++)
    {
      g_autoptr(GVariant) result = pyro_proxy_call_sync (w->proxy, "add", g_variant_new ("(xx)", w->base, i),
                                                         G_VARIANT_TYPE_INT64, NULL, &w->error);
      if (result != NULL && g_variant_get_int64 (result) == w->base + i)
        w->n_right++;
    }
  return NULL;
}

static void
test_threads (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  Worker workers[N_THREADS] = { 0 };
  GThread *threads[N_THREADS];

  for (int t = 0; t < N_THREADS; t++)
    {
      workers[t].proxy = proxy;
      workers[t].base = (gint64) (t + 1) * 1000000;
      threads[t] = g_thread_new ("caller", worker_thread, &workers[t]);
    }
  /* each call is bounded by the proxy timeout, so these joins are too */
  for (int t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_no_error (workers[t].error);
      g_assert_cmpuint (workers[t].n_right, ==, N_CALLS);
    }

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* ---- remote exceptions -------------------------------------------------------------------------------- */

/* What pyro_error_format() must print, built from the error's own parts. */
static char *
expected_printout (const char *short_class, const char *message, const char * const *traceback)
{
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "%s: %s\n", short_class, message);
  g_string_append (out, " +--- This exception occured remotely (Pyro) - Remote traceback:\n");
  for (gsize i = 0; traceback[i] != NULL; i++)
    {
      g_auto(GStrv) lines = g_strsplit (traceback[i], "\n", -1);
      for (gsize j = 0; lines[j] != NULL; j++)
        if (lines[j + 1] != NULL || lines[j][0] != '\0')
          g_string_append_printf (out, " | %s\n", lines[j]);
    }
  g_string_append (out, " +--- End of remote traceback\n");
  return g_string_free (out, FALSE);
}

static void
test_remote_exception (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GError) error = NULL;

  /* a C method's ValueError */
  g_autoptr(GVariant) r1 = pyro_proxy_call_sync (proxy, "raise_value", NULL, NULL, NULL, &error);
  g_assert_null (r1);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_assert_true (pyro_error_is_remote (error));
  g_assert_cmpstr (error->message, ==, "bad thing");
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "builtins.ValueError");
  const char * const *tb = pyro_error_get_remote_traceback (error);
  g_assert_nonnull (tb);
  guint n = g_strv_length ((char **) tb);
  g_assert_cmpuint (n, >=, 2);
  g_assert_cmpstr (tb[0], ==, "Traceback (most recent call last):\n");
  g_assert_cmpstr (tb[n - 1], ==, "ValueError: bad thing\n");
  gboolean names_method = FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (g_str_has_suffix (tb[i], "\n"));
      /* as Python names the method: class, then method */
      names_method |= strstr (tb[i], "Service.raise_value") != NULL;
    }
  g_assert_true (names_method);
  g_autofree char *printed = pyro_error_format (error);
  g_autofree char *expected = expected_printout ("ValueError", "bad thing", tb);
  g_assert_cmpstr (printed, ==, expected);
  g_clear_error (&error);

  /* an exception of a class libpyro does not know keeps its name and traceback */
  g_autoptr(GVariant) r2 = pyro_proxy_call_sync (proxy, "raise_custom", NULL, NULL, NULL, &error);
  g_assert_null (r2);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_REMOTE);
  g_assert_true (pyro_error_is_remote (error));
  g_assert_cmpstr (error->message, ==, "custom 42");
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "mymod.MyError");
  tb = pyro_error_get_remote_traceback (error);
  g_assert_nonnull (tb);
  g_assert_cmpuint (g_strv_length ((char **) tb), ==, g_strv_length ((char **) custom_traceback));
  for (guint i = 0; custom_traceback[i] != NULL; i++)
    g_assert_cmpstr (tb[i], ==, custom_traceback[i]);
  g_autofree char *printed2 = pyro_error_format (error);
  g_assert_cmpstr (printed2, ==,
                   "mymod.MyError: custom 42\n"
                   " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
                   " | Traceback (most recent call last):\n"
                   " |   File \"shop.py\", line 12, in buy\n"
                   " |     raise MyError('custom', 42)\n"
                   " | mymod.MyError: custom 42\n"
                   " +--- End of remote traceback\n");
  g_clear_error (&error);

  /* exceptions do not break the connection */
  g_assert_cmpint (call_add (proxy, 1, 1), ==, 2);
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* A timeout set while connected holds for that connection at once (as
 * Pyro4's _pyroTimeout does), not only for the next one: here "none" after
 * connecting with 0.5 s (1 s for the socket, which counts whole seconds)
 * lets a 1.5 s call finish. */
static void
test_timeout_changed_while_connected (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, 0.5);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (call_add (proxy, 1, 2), ==, 3);  /* connected, with 0.5 s */
  pyro_proxy_set_timeout (proxy, 0);
  g_autoptr(GVariant) slept = pyro_proxy_call_sync (proxy, "sleep", g_variant_new ("(d)", 1.5),
                                                    G_VARIANT_TYPE_BOOLEAN, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_get_boolean (slept));

  /* and back: 0.5 s again bounds the same connection */
  pyro_proxy_set_timeout (proxy, 0.5);
  g_autoptr(GVariant) late = pyro_proxy_call_sync (proxy, "sleep", g_variant_new ("(d)", 1.5),
                                                   G_VARIANT_TYPE_BOOLEAN, NULL, &error);
  g_assert_null (late);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_TIMEOUT);

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* A string that is no PYRO: URI gives no proxy, and says why in Pyro4's
 * words (test-uri has the whole table of URIs). */
static void
test_bad_uri (void)
{
  static const struct { const char *uri, *message; } bad[] = {
    { "", "invalid uri: ''" },
    { "nonsense", "invalid uri: 'nonsense'" },
    { "PYRO:svc@localhost", "invalid port in uri, port=None: 'PYRO:svc@localhost'" },
    { "PYRO:@localhost:9090", "invalid uri: 'PYRO:@localhost:9090'" },
    { "PYRO:svc@localhost:http", "invalid port in uri, port=http: 'PYRO:svc@localhost:http'" },
    { "PYRO:svc@localhost:70000", "invalid port in uri, port=70000: 'PYRO:svc@localhost:70000'" },
    { "pyro:svc@localhost:9090 trailing", "invalid uri: 'pyro:svc@localhost:9090 trailing'" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroProxy) proxy = pyro_proxy_new (bad[i].uri, &error);

      g_assert_null (proxy);
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_FAILED);
      g_assert_cmpstr (error->message, ==, bad[i].message);
    }

  g_autoptr(GError) error = NULL;
  g_autoptr(PyroProxy) good = pyro_proxy_new ("PYRO:svc@localhost:9090", &error);
  g_assert_no_error (error);
  g_assert_nonnull (good);
}

/* A reply bigger than pyro_proxy_set_max_message_size() is refused unread;
 * the proxy drops that connection and the next call works again. */
static void
test_max_message_size (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_svc, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GError) error = NULL;
  g_autofree char *long_text = g_strnfill (2000, 'x');

  pyro_proxy_set_max_message_size (proxy, 1024);
  g_assert_cmpint (call_add (proxy, 1, 2), ==, 3);

  g_autoptr(GVariant) refused = pyro_proxy_call_sync (proxy, "echo", g_variant_new ("(v)", g_variant_new_string (long_text)),
                                                      G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "max 1024)"));
  g_clear_error (&error);

  /* the connection with the unread reply is gone; a new one serves */
  g_assert_cmpint (call_add (proxy, 20, 22), ==, 42);

  /* no limit: the same reply comes through */
  pyro_proxy_set_max_message_size (proxy, 0);
  g_autoptr(GVariant) echoed = pyro_proxy_call_sync (proxy, "echo", g_variant_new ("(v)", g_variant_new_string (long_text)),
                                                     G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (echoed, NULL), ==, long_text);

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

int
main (int argc, char **argv)
{
  static const double no_timeout = 0, with_timeout = PYRO_TEST_TIMEOUT_S;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/proxy/sync", test_sync);
  g_test_add_func ("/pyro/proxy/reply-type-mismatch", test_reply_type_mismatch);
  g_test_add_func ("/pyro/proxy/unknown-method", test_unknown_method);
  g_test_add_func ("/pyro/proxy/oneway", test_oneway);
  g_test_add_func ("/pyro/proxy/timeout", test_timeout);
  g_test_add_func ("/pyro/proxy/async", test_async);
  g_test_add_func ("/pyro/proxy/async-outstanding", test_async_outstanding);
  g_test_add_data_func ("/pyro/proxy/cancel/no-timeout", &no_timeout, test_cancel);
  g_test_add_data_func ("/pyro/proxy/cancel/with-timeout", &with_timeout, test_cancel);
  g_test_add_func ("/pyro/proxy/reconnect", test_reconnect);
  g_test_add_func ("/pyro/proxy/closed-right-after-reply", test_closed_right_after_reply);
  g_test_add_func ("/pyro/proxy/connection-refused", test_connection_refused);
  g_test_add_func ("/pyro/proxy/threads", test_threads);
  g_test_add_func ("/pyro/proxy/remote-exception", test_remote_exception);
  g_test_add_func ("/pyro/proxy/timeout-changed-while-connected", test_timeout_changed_while_connected);
  g_test_add_func ("/pyro/proxy/bad-uri", test_bad_uri);
  g_test_add_func ("/pyro/proxy/max-message-size", test_max_message_size);

  return g_test_run ();
}
