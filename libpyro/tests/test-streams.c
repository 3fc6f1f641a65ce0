/* test-streams.c: item streams (Pyro4's remote iterators and generators).
 *
 * A stream consumed fully, closed early (the daemon frees it: its free
 * function runs), abandoned (the client disconnects: freed after the
 * linger time, continued by another connection before that) and expired
 * (lifetime); against a C daemon from a C and a Python client, and from a
 * C client against a Python generator.  Bad input: a stream id that does
 * not exist, a stream that fails, a stream of the wrong item type.
 */
#include <string.h>

#include "testutil.h"

/* ---- a C class whose methods return streams ----------------------------- */

static gint n_freed;  /* how many stream states were freed (atomic) */

typedef struct
{
  gint64 n;
  gint64 next;
  gint64 fail_at;   /* -1: never fails */
  gboolean wrong_type;
} Counter;

static void
counter_free (gpointer data)
{
  g_free (data);
  g_atomic_int_inc (&n_freed);
}

static GVariant *
counter_next (gpointer state, GError **error)
{
  Counter *counter = state;

  if (counter->next == counter->fail_at)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "counter broke at %" G_GINT64_FORMAT, counter->next);
      return NULL;
    }
  if (counter->next >= counter->n)
    return NULL;
  gint64 item = 10 * counter->next++;
  if (counter->wrong_type)
    return g_variant_new_string ("ten");
  return g_variant_new_int64 (item);
}

static GVariant *
start_counter (GVariant *args, PyroInvocation *invocation, gint64 fail_at, gboolean wrong_type)
{
  Counter *counter = g_new0 (Counter, 1);
  g_variant_get (args, "(x)", &counter->n);
  counter->fail_at = fail_at;
  counter->wrong_type = wrong_type;
  pyro_invocation_return_stream (invocation, counter_next, counter, counter_free);
  return NULL;
}

static GVariant *
thing_gen (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return start_counter (args, invocation, -1, FALSE);
}

static GVariant *
thing_gen_failing (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return start_counter (args, invocation, 2, FALSE);
}

static GVariant *
thing_gen_wrong (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return start_counter (args, invocation, -1, TRUE);
}

/* Starts a stream, then fails: the client gets the error, the daemon frees the state. */
static GVariant *
thing_gen_then_fail (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  start_counter (args, invocation, -1, FALSE);
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "changed my mind");
  return NULL;
}

/* Starts a stream without being declared PYRO_METHOD_STREAM: a mistake. */
static GVariant *
thing_undeclared_gen (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  start_counter (args, invocation, -1, FALSE);
  return g_variant_new_int64 (0);
}

static GVariant *
thing_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

static const PyroMethod thing_methods[] = {
  { "gen", "(x)", "x", thing_gen, PYRO_METHOD_STREAM, "n" },
  { "gen_failing", "(x)", "x", thing_gen_failing, PYRO_METHOD_STREAM, "n" },
  { "gen_wrong", "(x)", "x", thing_gen_wrong, PYRO_METHOD_STREAM, "n" },
  { "gen_then_fail", "(x)", "x", thing_gen_then_fail, PYRO_METHOD_STREAM, "n" },
  { "undeclared_gen", "(x)", "x", thing_undeclared_gen, 0, "n" },
  { "add", "(xx)", "x", thing_add, 0, "a,b" },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
};

/* ---- fixture: a C daemon with "thing" ------------------------------------ */

typedef struct
{
  PyroTestDaemon *daemon;
  char           *uri;
  PyroProxy      *proxy;
} Fixture;

typedef struct
{
  double linger;
  double lifetime;
} Limits;

static const Limits default_limits = { 30, 0 };
static const Limits short_linger = { 0.5, 0 };
static const Limits short_lifetime = { 30, 0.5 };

/* A class whose stream's state is the instance itself ("yield" in a
 * Python method of the object): the stream must keep the instance. */
typedef struct
{
  gint64 next;  /* the next tick */
} Ticker;

static gint tickers_freed;

static gpointer
ticker_new (gpointer class_data)
{
  return g_new0 (Ticker, 1);
}

static void
ticker_free (gpointer instance)
{
  g_free (instance);
  g_atomic_int_inc (&tickers_freed);
}

static GVariant *
ticker_next (gpointer state, GError **error)
{
  Ticker *ticker = state;
  return ticker->next < 3 ? g_variant_new_int64 (100 + ticker->next++) : NULL;
}

static GVariant *
ticker_ticks (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  pyro_invocation_return_stream (invocation, ticker_next, self, NULL);
  return NULL;
}

static const PyroMethod ticker_methods[] = {
  { "ticks", "()", "x", ticker_ticks, PYRO_METHOD_STREAM, NULL },
  { NULL }
};

static const PyroClass percall_ticker_class = {
  "Ticker", ticker_methods, NULL, PYRO_INSTANCE_PERCALL, ticker_new, ticker_free,
};

static const PyroClass session_ticker_class = {
  "Ticker", ticker_methods, NULL, PYRO_INSTANCE_SESSION, ticker_new, ticker_free,
};

static void
setup_daemon (PyroDaemon *daemon, gpointer user_data)
{
  const Limits *limits = user_data;
  g_autoptr(GError) error = NULL;
  pyro_test_register (daemon, &thing_class, NULL, "thing");
  g_autoptr(PyroUri) percall = pyro_daemon_register_class (daemon, &percall_ticker_class, NULL, "ticker-percall",
                                                           &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) session = pyro_daemon_register_class (daemon, &session_ticker_class, NULL, "ticker-session",
                                                           &error);
  g_assert_no_error (error);
  pyro_daemon_set_stream_limits (daemon, limits->linger, limits->lifetime);
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_atomic_int_set (&n_freed, 0);
  fixture->daemon = pyro_test_daemon_start (setup_daemon, (gpointer) (data ? data : &default_limits));
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

static gboolean
freed_at_least (gpointer count)
{
  return g_atomic_int_get (&n_freed) >= GPOINTER_TO_INT (count);
}

/* Waits (bounded) until @count stream states have been freed. */
static void
wait_freed (int count)
{
  pyro_test_wait_until (freed_at_least, GINT_TO_POINTER (count));
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, count);
}

static gint64
next_int (PyroStream *stream)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) item = pyro_stream_next (stream, G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (item);
  return g_variant_get_int64 (item);
}

/* What Pyro4 answers for a stream id it does not know (any more). */
static void
assert_terminated (const GError *error)
{
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "item stream terminated");
}

/* Asks @stream for items until it fails (bounded); returns that error. */
static GError *
next_until_error (PyroStream *stream)
{
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      GError *error = NULL;
      g_autoptr(GVariant) item = pyro_stream_next (stream, NULL, NULL, &error);
      if (item == NULL)
        return error;
      g_usleep (50 * 1000);
    }
  g_assert_not_reached ();
}

/* ---- C client, C daemon ------------------------------------------------- */

static void
test_c_full (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 3),
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (pyro_stream_get_id (stream)), ==, 36);

  for (gint64 i = 0; i < 3; i++)
    g_assert_cmpint (next_int (stream), ==, 10 * i);
  g_autoptr(GVariant) end = pyro_stream_next (stream, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (end);
  /* The daemon forgot the stream at StopIteration, before answering. */
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, 1);
  /* Past the end it stays ended. */
  g_autoptr(GVariant) again = pyro_stream_next (stream, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (again);

  /* An ordinary call for a stream method is refused, and the stream closed. */
  g_autoptr(GVariant) plain = pyro_proxy_call_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 3), NULL, NULL, &error);
  g_assert_null (plain);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL);
  wait_freed (2);
}

static void
test_c_close_early (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  PyroStream *stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 100), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  g_assert_cmpint (next_int (stream), ==, 10);
  g_autofree char *id = g_strdup (pyro_stream_get_id (stream));

  pyro_stream_close (stream);
  wait_freed (1);
  /* Closed: no more items, no error. */
  g_autoptr(GVariant) after = pyro_stream_next (stream, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (after);
  pyro_stream_close (stream);  /* twice is fine */
  g_object_unref (stream);

  /* The daemon no longer knows the id. */
  g_autoptr(PyroUri) uri = pyro_daemon_uri_for (pyro_test_daemon_get (fixture->daemon), PYRO_DAEMON_OBJECT_ID);
  g_autoptr(PyroProxy) daemon_proxy = pyro_proxy_new_for_uri (uri);
  pyro_proxy_set_timeout (daemon_proxy, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GVariant) item = pyro_proxy_call_sync (daemon_proxy, "get_next_stream_item", g_variant_new ("(s)", id),
                                                   NULL, NULL, &error);
  g_assert_null (item);
  assert_terminated (error);
  g_clear_error (&error);

  /* Dropping a stream that is still open closes it too. */
  stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 100), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  g_object_unref (stream);
  wait_freed (2);
}

/* The opening connection goes away: the stream lingers, another
 * connection continues it, and while it is in use it outlives the linger
 * time (0.5 s here); abandoned again, it is freed. */
static void
test_c_abandon_continue (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 100),
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  pyro_proxy_release (fixture->proxy);
  /* The next items come over a new connection, for three linger times. */
  for (gint64 i = 1; i <= 15; i++)
    {
      g_assert_cmpint (next_int (stream), ==, 10 * i);
      g_usleep (100 * 1000);
    }
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, 0);
  pyro_proxy_release (fixture->proxy);
  wait_freed (1);
}

/* With a short linger an abandoned stream is freed even if nobody asks. */
static void
test_c_abandon_linger (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 100),
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  pyro_proxy_release (fixture->proxy);
  wait_freed (1);

  /* Asking again (over a new connection) finds it gone. */
  g_autoptr(GVariant) item = pyro_stream_next (stream, NULL, NULL, &error);
  g_assert_null (item);
  assert_terminated (error);
}

/* A stream method called as an ordinary method: the call fails with a
 * hint, and the stream the daemon opened is closed again (freed). */
static void
test_c_not_asked_for (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = pyro_proxy_call_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 100), NULL, NULL,
                                                    &error);
  g_assert_null (value);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "gen() returns an item stream: call it with pyro_proxy_call_stream_sync()");
  wait_freed (1);
}

static void
test_c_expired (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 1000000),
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  error = next_until_error (stream);
  assert_terminated (error);
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, 1);
}

static void
test_c_bad_streams (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  /* An id the daemon never gave. */
  g_autoptr(PyroUri) uri = pyro_daemon_uri_for (pyro_test_daemon_get (fixture->daemon), PYRO_DAEMON_OBJECT_ID);
  g_autoptr(PyroProxy) daemon_proxy = pyro_proxy_new_for_uri (uri);
  pyro_proxy_set_timeout (daemon_proxy, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GVariant) item = pyro_proxy_call_sync (daemon_proxy, "get_next_stream_item",
                                                   g_variant_new ("(s)", "no-such-stream"), NULL, NULL, &error);
  g_assert_null (item);
  assert_terminated (error);
  g_clear_error (&error);
  /* Closing one is quietly ignored. */
  g_autoptr(GVariant) closed = pyro_proxy_call_sync (daemon_proxy, "close_stream",
                                                     g_variant_new ("(s)", "no-such-stream"), NULL, NULL, &error);
  g_assert_no_error (error);

  /* A stream that raises: the error arrives, the stream is over and freed. */
  g_autoptr(PyroStream) failing = pyro_proxy_call_stream_sync (fixture->proxy, "gen_failing", g_variant_new ("(x)", (gint64) 5),
                                                               NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (failing), ==, 0);
  g_assert_cmpint (next_int (failing), ==, 10);
  g_autoptr(GVariant) broken = pyro_stream_next (failing, NULL, NULL, &error);
  g_assert_null (broken);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_assert_cmpstr (error->message, ==, "counter broke at 2");
  g_clear_error (&error);
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, 1);

  /* Items of another type than the table declares. */
  g_autoptr(PyroStream) wrong = pyro_proxy_call_stream_sync (fixture->proxy, "gen_wrong", g_variant_new ("(x)", (gint64) 5),
                                                             NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GVariant) bad = pyro_stream_next (wrong, NULL, NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_RUNTIME);
  g_clear_error (&error);
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, 2);

  /* A method that starts a stream and then fails: its error, and the
   * stream's state is freed at once (no stream was handed out). */
  g_autoptr(PyroStream) none = pyro_proxy_call_stream_sync (fixture->proxy, "gen_then_fail",
                                                            g_variant_new ("(x)", (gint64) 5), NULL, &error);
  g_assert_null (none);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_assert_cmpstr (error->message, ==, "changed my mind");
  g_clear_error (&error);
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, 3);

  /* One that starts a stream without being declared a stream method. */
  g_autoptr(GVariant) value = pyro_proxy_call_sync (fixture->proxy, "undeclared_gen", g_variant_new ("(x)", (gint64) 5),
                                                    NULL, NULL, &error);
  g_assert_null (value);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_RUNTIME);
  g_assert_cmpstr (error->message, ==,
                   "Thing.undeclared_gen() called pyro_invocation_return_stream() but is not declared PYRO_METHOD_STREAM");
  g_clear_error (&error);
  g_assert_cmpint (g_atomic_int_get (&n_freed), ==, 4);

  /* The daemon keeps serving. */
  g_autoptr(GVariant) sum = pyro_proxy_call_sync (fixture->proxy, "add", g_variant_new ("(xx)", (gint64) 2, (gint64) 3),
                                                  G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (sum), ==, 5);
}

static gboolean
tickers_freed_reaches (gpointer count)
{
  return g_atomic_int_get (&tickers_freed) >= GPOINTER_TO_INT (count);
}

/* A stream whose state is its instance keeps the instance: a per-call one
 * beyond its call, a session's beyond its connection (the stream lingers
 * and another connection continues it); it is freed with the stream. */
static void
check_instance_kept (Fixture *fixture, const char *object_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = pyro_test_daemon_uri (fixture->daemon, object_id);
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);
  g_atomic_int_set (&tickers_freed, 0);

  g_autoptr(PyroStream) ticks = pyro_proxy_call_stream_sync (proxy, "ticks", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (ticks), ==, 100);

  /* The session ends (the per-call instance's call ended long ago); the
   * stream goes on from a new connection, on the same instance. */
  pyro_proxy_release (proxy);
  g_assert_cmpint (next_int (ticks), ==, 101);
  g_assert_cmpint (next_int (ticks), ==, 102);
  g_assert_cmpint (g_atomic_int_get (&tickers_freed), ==, 0);

  /* The end of the stream frees it, and then its instance. */
  g_autoptr(GVariant) end = pyro_stream_next (ticks, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (end);
  g_assert_true (pyro_test_wait_until (tickers_freed_reaches, GINT_TO_POINTER (1)));
  g_assert_cmpint (g_atomic_int_get (&tickers_freed), ==, 1);
}

static void
test_c_instance_kept_percall (Fixture *fixture, gconstpointer data)
{
  check_instance_kept (fixture, "ticker-percall");
}

static void
test_c_instance_kept_session (Fixture *fixture, gconstpointer data)
{
  check_instance_kept (fixture, "ticker-session");
}

/* ---- Python client, C daemon ---------------------------------------------- */

static char *
run_client (const char *uri, const char *task, const char *arg)
{
  const char *args[] = { uri, task, arg, NULL };
  return pyro_test_python_output ("tut_client.py", args);
}

static void
test_py_client_full (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_client (fixture->uri, "stream-full", NULL);
  g_assert_cmpstr (out, ==, "[0, 10, 20]\n");
  wait_freed (1);
}

static void
test_py_client_close (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_client (fixture->uri, "stream-close", NULL);
  g_assert_cmpstr (out, ==, "0 10\nclosed\n");
  wait_freed (1);
}

static void
test_py_client_abandon (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_client (fixture->uri, "stream-abandon", NULL);
  g_assert_cmpstr (out, ==, "0\nabandoned\n");
  wait_freed (1);
}

static void
test_py_client_expire (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_client (fixture->uri, "stream-expire", "1.0");
  g_assert_cmpstr (out, ==, "0\nPyroError: item stream terminated\n");
  wait_freed (1);
}

/* ---- C client, Python daemon (a Python generator) ------------------------- */

typedef struct
{
  GSubprocess *server;
  PyroProxy   *proxy;
} PyFixture;

static void
py_fixture_setup (PyFixture *fixture, gconstpointer data)
{
  g_autofree char *uri = NULL;
  fixture->server = pyro_test_start_python_server ("tut_server.py", data, &uri);
  fixture->proxy = pyro_test_proxy_new (uri);
}

static void
py_fixture_teardown (PyFixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->proxy);
  pyro_test_stop_process (fixture->server, 10);
  g_clear_object (&fixture->server);
}

/* Does the Python thing's freed() (or housekeeping()) list @tag? */
static gboolean
python_freed (PyroProxy *proxy, const char *method, const char *tag)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) freed = pyro_proxy_call_sync (proxy, method, NULL, G_VARIANT_TYPE ("as"), NULL, &error);
  g_assert_no_error (error);
  g_autofree const char **tags = g_variant_get_strv (freed, NULL);
  return g_strv_contains (tags, tag);
}

static void
wait_python_freed (PyroProxy *proxy, const char *method, const char *tag)
{
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_USEC_PER_SEC;
  while (!python_freed (proxy, method, tag) && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  g_assert_true (python_freed (proxy, method, tag));
}

static void
test_py_daemon_full (PyFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 3),
                                                              NULL, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < 3; i++)
    g_assert_cmpint (next_int (stream), ==, 10 * i);
  g_autoptr(GVariant) end = pyro_stream_next (stream, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (end);
  wait_python_freed (fixture->proxy, "freed", "gen 3");
}

static void
test_py_daemon_close (PyFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 100),
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  g_assert_false (python_freed (fixture->proxy, "freed", "gen 100"));
  pyro_stream_close (stream);
  wait_python_freed (fixture->proxy, "freed", "gen 100");
}

static void
test_py_daemon_abandon (PyFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 100),
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  pyro_proxy_release (fixture->proxy);
  /* housekeeping() runs Pyro4's cleanup now instead of in a few seconds. */
  wait_python_freed (fixture->proxy, "housekeeping", "gen 100");
  g_autoptr(GVariant) item = pyro_stream_next (stream, NULL, NULL, &error);
  g_assert_null (item);
  assert_terminated (error);
}

static void
test_py_daemon_expired (PyFixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroStream) stream = pyro_proxy_call_stream_sync (fixture->proxy, "gen", g_variant_new ("(x)", (gint64) 1000000),
                                                              NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (next_int (stream), ==, 0);
  wait_python_freed (fixture->proxy, "housekeeping", "gen 1000000");
  g_autoptr(GVariant) item = pyro_stream_next (stream, NULL, NULL, &error);
  g_assert_null (item);
  assert_terminated (error);
}

static const char *const py_default_args[] = { NULL };
static const char *const py_linger_args[] = { "--linger", "0.5", NULL };
static const char *const py_lifetime_args[] = { "--lifetime", "0.5", NULL };

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/pyro/streams/c/full", Fixture, NULL, fixture_setup, test_c_full, fixture_teardown);
  g_test_add ("/pyro/streams/c/close-early", Fixture, NULL, fixture_setup, test_c_close_early, fixture_teardown);
  g_test_add ("/pyro/streams/c/abandon-continue", Fixture, &short_linger, fixture_setup,
              test_c_abandon_continue, fixture_teardown);
  g_test_add ("/pyro/streams/c/abandon-linger", Fixture, &short_linger, fixture_setup,
              test_c_abandon_linger, fixture_teardown);
  g_test_add ("/pyro/streams/c/expired", Fixture, &short_lifetime, fixture_setup, test_c_expired, fixture_teardown);
  g_test_add ("/pyro/streams/c/not-asked-for", Fixture, NULL, fixture_setup, test_c_not_asked_for, fixture_teardown);
  g_test_add ("/pyro/streams/c/bad-streams", Fixture, NULL, fixture_setup, test_c_bad_streams, fixture_teardown);
  g_test_add ("/pyro/streams/c/instance-kept/percall", Fixture, NULL, fixture_setup,
              test_c_instance_kept_percall, fixture_teardown);
  g_test_add ("/pyro/streams/c/instance-kept/session", Fixture, NULL, fixture_setup,
              test_c_instance_kept_session, fixture_teardown);
  g_test_add ("/pyro/streams/py-client/full", Fixture, NULL, fixture_setup, test_py_client_full, fixture_teardown);
  g_test_add ("/pyro/streams/py-client/close-early", Fixture, NULL, fixture_setup, test_py_client_close,
              fixture_teardown);
  g_test_add ("/pyro/streams/py-client/abandon", Fixture, &short_linger, fixture_setup, test_py_client_abandon,
              fixture_teardown);
  g_test_add ("/pyro/streams/py-client/expired", Fixture, &short_lifetime, fixture_setup, test_py_client_expire,
              fixture_teardown);
  g_test_add ("/pyro/streams/py-daemon/full", PyFixture, py_default_args, py_fixture_setup, test_py_daemon_full,
              py_fixture_teardown);
  g_test_add ("/pyro/streams/py-daemon/close-early", PyFixture, py_default_args, py_fixture_setup,
              test_py_daemon_close, py_fixture_teardown);
  g_test_add ("/pyro/streams/py-daemon/abandon", PyFixture, py_linger_args, py_fixture_setup,
              test_py_daemon_abandon, py_fixture_teardown);
  g_test_add ("/pyro/streams/py-daemon/expired", PyFixture, py_lifetime_args, py_fixture_setup,
              test_py_daemon_expired, py_fixture_teardown);
  return g_test_run ();
}
