/* test-interop-pyserver.c: libpyro's PyroProxy calling a Python Pyro4 daemon.
 *
 * Every test starts libpyro/tests/python/pyserver.py (real Pyro4 4.82),
 * reads the URI it prints, and calls its objects from C: values of every
 * JSON type with and without a reply type, remote exceptions, oneway
 * calls, local refusal of unknown methods, timeouts, async calls,
 * reconnecting to a restarted daemon, instance modes and Pyro.Daemon.
 */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "testutil.h"

typedef struct
{
  GSubprocess *server;
  char        *uri;       /* PYRO:types@localhost:<port> */
  guint16      port;
  PyroProxy   *proxy;     /* for "types" */
} Fixture;

/* Starts pyserver.py (on @port, or a free one when 0) and reads its URI. */
static void
start_server (Fixture *fixture, guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  const char *args[] = { port_text, NULL };

  g_free (fixture->uri);
  fixture->server = pyro_test_start_python_server ("pyserver.py", args, &fixture->uri);

  g_autoptr(PyroUri) uri = pyro_uri_parse (fixture->uri, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pyro_uri_get_object (uri), ==, "types");
  fixture->port = pyro_uri_get_port (uri);
  g_assert_cmpuint (fixture->port, !=, 0);
  if (port != 0)
    g_assert_cmpuint (fixture->port, ==, port);
}

static void
stop_server (Fixture *fixture)
{
  pyro_test_stop_process (fixture->server, 10);
  g_clear_object (&fixture->server);
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  start_server (fixture, 0);
  /* Its timeout is a safety net: no call in these tests may hang the suite. */
  fixture->proxy = pyro_test_proxy_new (fixture->uri);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->proxy);
  if (fixture->server != NULL)
    stop_server (fixture);
  g_free (fixture->uri);
}

/* A proxy for another object on the fixture's daemon. */
static PyroProxy *
proxy_for (Fixture *fixture, const char *object_id)
{
  g_autoptr(PyroUri) uri = pyro_uri_new (object_id, "localhost", fixture->port);
  PyroProxy *proxy = pyro_proxy_new_for_uri (uri);

  pyro_proxy_set_timeout (proxy, PYRO_TEST_TIMEOUT_S);
  return proxy;
}

static GVariant *
call (PyroProxy *proxy, const char *method, const char *params, const char *reply_type)
{
  g_autoptr(GError) error = NULL;
  GVariant *args = params ? g_variant_new_parsed (params) : NULL;
  GVariant *result = pyro_proxy_call_sync (proxy, method, args,
                                           reply_type ? G_VARIANT_TYPE (reply_type) : NULL,
                                           NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_false (g_variant_is_floating (result));
  return result;
}

/* ---- values ---------------------------------------------------------------- */

typedef struct
{
  const char *method;
  const char *params;      /* GVariant text of the argument tuple, or NULL */
  const char *reply_type;  /* NULL: the natural mapping */
  const char *expected;    /* GVariant text of the result, with its type */
} ValueCase;

static const ValueCase value_cases[] = {
  { "get_bool", NULL, NULL, "true" },
  { "get_bool", NULL, "b", "true" },
  { "get_int", NULL, NULL, "int64 -2147483648" },
  { "get_int", NULL, "i", "int32 -2147483648" },
  { "get_int", NULL, "d", "-2147483648.0" },          /* a Python int where a float is expected */
  { "get_bigint", NULL, NULL, "int64 9007199254740993" },
  { "get_bigint", NULL, "t", "uint64 9007199254740993" },
  { "get_float", NULL, NULL, "0.1" },
  { "get_string", NULL, NULL, "'Grüße \"q\"\\n世界 ✓'" },
  { "get_strings", NULL, "as", "['alpha', '', 'ünï']" },
  { "get_strings", NULL, NULL, "[<'alpha'>, <''>, <'ünï'>]" },
  { "get_list", NULL, NULL, "[<int64 1>, <'two'>, <3.5>, <@mv nothing>, <true>]" },
  { "get_list", NULL, "(isdmvb)", "(1, 'two', 3.5, @mv nothing, true)" },
  { "get_nested", NULL, "aai", "[[1, 2], [3], @ai []]" },
  { "get_dict", NULL, "a{si}", "{'a': 1, 'b': 2}" },
  { "get_dict", NULL, NULL, "{'a': <int64 1>, 'b': <int64 2>}" },
  { "get_mixed_dict", NULL, "a{sv}", "{'name': <'apple'>, 'tags': <[<'x'>, <'y'>]>, 'none': <@mv nothing>}" },
  { "get_none", NULL, NULL, "@mv nothing" },
  { "get_none", NULL, "ms", "@ms nothing" },
  { "get_none", NULL, "mi", "@mi nothing" },
  { "add", "(40, 2)", "i", "42" },
  { "add", "(0.25, 2)", NULL, "2.25" },
  { "add", "('con', 'cat')", NULL, "'concat'" },
  { "echo", "('Grüße ✓',)", "s", "'Grüße ✓'" },
  { "echo", "(('apple', 3),)", NULL, "[<'apple'>, <int64 3>]" },
  { "echo", "(('apple', 3),)", "(si)", "('apple', 3)" },
  { "echo", "({'k': <[1, 2]>},)", "a{sai}", "{'k': [1, 2]}" },
  { "echo", "(<int64 9223372036854775807>,)", "x", "int64 9223372036854775807" },
  { "echo", "(@mi nothing,)", NULL, "@mv nothing" },
  { "echo", "(@ms 'x',)", "ms", "@ms 'x'" },
  { "greet", "('Ann',)", "s", "'Hello, Ann'" },
};

static void
test_value (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (value_cases); i++)
    {
      const ValueCase *c = &value_cases[i];
      g_autoptr(GVariant) expected = g_variant_parse (NULL, c->expected, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr(GVariant) result = call (fixture->proxy, c->method, c->params, c->reply_type);
      g_autofree char *got = g_variant_print (result, TRUE);

      g_test_message ("%s%s -> %s", c->method, c->params ? c->params : "()", got);
      if (c->reply_type != NULL)
        g_assert_cmpstr (g_variant_get_type_string (result), ==, c->reply_type);
      if (!g_variant_equal (result, expected))
        {
          g_autofree char *want = g_variant_print (expected, TRUE);
          g_error ("%s: got %s, expected %s", c->method, got, want);
        }
    }
}

static void
test_special_floats (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GVariant) nan = call (fixture->proxy, "get_nan", NULL, "d");
  g_autoptr(GVariant) inf = call (fixture->proxy, "get_inf", NULL, NULL);
  g_autoptr(GVariant) neg_inf = call (fixture->proxy, "get_neg_inf", NULL, "d");
  /* And back: Python must receive them as floats, not strings. */
  static const double specials[] = { NAN, INFINITY, -INFINITY };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) round_trip =
    pyro_proxy_call_sync (fixture->proxy, "echo",
                          g_variant_new ("(@ad)", g_variant_new_fixed_array (G_VARIANT_TYPE_DOUBLE, specials,
                                                                             3, sizeof (double))),
                          G_VARIANT_TYPE ("ad"), NULL, &error);
  g_assert_no_error (error);

  g_assert_true (isnan (g_variant_get_double (nan)));
  g_assert_true (g_variant_is_of_type (inf, G_VARIANT_TYPE_DOUBLE));
  g_assert_true (isinf (g_variant_get_double (inf)) && g_variant_get_double (inf) > 0);
  g_assert_true (isinf (g_variant_get_double (neg_inf)) && g_variant_get_double (neg_inf) < 0);

  gsize n;
  const double *values = g_variant_get_fixed_array (round_trip, &n, sizeof (double));
  g_assert_cmpuint (n, ==, 3);
  g_assert_true (isnan (values[0]));
  g_assert_true (isinf (values[1]) && values[1] > 0);
  g_assert_true (isinf (values[2]) && values[2] < 0);
}

static void
test_kwargs (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result =
    pyro_proxy_call_full_sync (fixture->proxy, "greet", g_variant_new_parsed ("('Bob',)"),
                               g_variant_new_parsed ("{'greeting': <'Hey'>}"), PYRO_CALL_NONE,
                               G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (result, NULL), ==, "Hey, Bob");

  /* Only keyword arguments. */
  g_autoptr(GVariant) result2 =
    pyro_proxy_call_full_sync (fixture->proxy, "greet", NULL,
                               g_variant_new_parsed ("{'name': <'Ann'>, 'greeting': <'Hi'>}"),
                               PYRO_CALL_NONE, G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (result2, NULL), ==, "Hi, Ann");
}

/* A reply that does not fit the requested type is refused with both types named. */
static void
test_reply_type_mismatch (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "get_string", NULL,
                                                     G_VARIANT_TYPE_INT32, NULL, &error);

  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "get_string"));
  g_assert_nonnull (strstr (error->message, "(i)"));
  g_assert_nonnull (strstr (error->message, "str"));

  /* The proxy is still usable. */
  g_autoptr(GVariant) sum = call (fixture->proxy, "add", "(1, 2)", "i");
  g_assert_cmpint (g_variant_get_int32 (sum), ==, 3);
}

/* ---- errors ---------------------------------------------------------------- */

/* What Pyro4's excepthook prints for a remote @error of the built-in
 * Python class @python_class (python/excepthook.py). (transfer full) */
static char *
pyro4_printout (const GError *error, const char *python_class)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, python_class);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, error->message);
  json_builder_set_member_name (builder, "traceback");
  json_builder_begin_array (builder);
  for (const char * const *line = pyro_error_get_remote_traceback (error); *line != NULL; line++)
    json_builder_add_string_value (builder, *line);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  g_autoptr(JsonNode) request = json_builder_get_root (builder);
  g_autofree char *input = json_to_string (request, FALSE);

  g_autofree char *script = pyro_test_script_path ("excepthook.py");
  const char *argv[] = { PYRO_TEST_PYTHON, script, NULL };
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = -1;
  g_autoptr(GError) local = NULL;
  g_assert_true (pyro_test_run (argv, input, 60, &out, &err, &status, &local));
  g_assert_no_error (local);
  if (status != 0)
    g_test_message ("excepthook.py: %s", err);
  g_assert_cmpint (status, ==, 0);
  return out;
}

static void
test_remote_exception (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "fail",
                                                     g_variant_new ("(s)", "bad apple ✗"),
                                                     NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_assert_cmpstr (error->message, ==, "bad apple ✗");
  g_assert_true (pyro_error_is_remote (error));
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "builtins.ValueError");

  /* Python's traceback, line by line: it ends with the exception line and
   * passes through the method that raised. */
  const char * const *tb = pyro_error_get_remote_traceback (error);
  g_assert_nonnull (tb);
  guint n = g_strv_length ((char **) tb);
  g_assert_cmpuint (n, >=, 2);
  g_assert_true (g_str_has_prefix (tb[0], "Traceback (most recent call last):"));
  g_autofree char *joined = g_strjoinv ("", (char **) tb);
  g_assert_nonnull (strstr (joined, "in fail"));
  g_assert_cmpstr (tb[n - 1], ==, "ValueError: bad apple ✗\n");
  for (guint i = 0; i < n; i++)
    g_assert_true (g_str_has_suffix (tb[i], "\n"));

  /* pyro_error_format() (and so pyro_error_print()) gives what Pyro4's
   * excepthook prints for the same exception, from the exception line on. */
  g_autofree char *text = pyro_error_format (error);
  g_autofree char *expected = pyro4_printout (error, "ValueError");
  g_test_message ("%s", text);
  g_assert_cmpstr (text, ==, expected);
  g_assert_true (g_str_has_prefix (text, "ValueError: bad apple ✗\n"
                                         " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
                                         " | Traceback (most recent call last):\n"));
  g_assert_true (g_str_has_suffix (text, " | ValueError: bad apple ✗\n +--- End of remote traceback\n"));
  g_assert_nonnull (strstr (text, "in fail"));

  /* An exception reply leaves the connection usable. */
  g_autoptr(GVariant) sum = call (fixture->proxy, "add", "(1, 2)", "i");
  g_assert_cmpint (g_variant_get_int32 (sum), ==, 3);
}

/* Python's own TypeError for a wrong call arrives as PYRO_ERROR_INVALID_ARGS. */
static void
test_remote_type_error (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "add", g_variant_new ("(i)", 1),
                                                     NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS);
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "builtins.TypeError");
  g_assert_nonnull (strstr (error->message, "missing 1 required positional argument: 'b'"));
}

/* Refused from the metadata, before anything is sent: the daemon's
 * request counter proves it. */
static void
test_unknown_method (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) before = call (fixture->proxy, "requests", NULL, "x");

  g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "no_such_method", NULL,
                                                     NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_assert_false (pyro_error_is_remote (error));
  g_assert_nonnull (strstr (error->message, "no_such_method"));

  g_autoptr(GVariant) after = call (fixture->proxy, "requests", NULL, "x");
  g_assert_cmpint (g_variant_get_int64 (after), ==, g_variant_get_int64 (before) + 1);
}

/* ---- oneway ---------------------------------------------------------------- */

static gint64
poll_notify_count (PyroProxy *proxy, gint64 wanted)
{
  gint64 count = -1;

  /* Pyro4 runs oneway calls in threads of their own: wait until the last
   * one has been counted (bounded). */
  for (int i = 0; i < 400 && count != wanted; i++)
    {
      g_autoptr(GVariant) value = call (proxy, "notify_count", NULL, "x");
      count = g_variant_get_int64 (value);
      if (count != wanted)
        g_usleep (50 * 1000);
    }
  return count;
}

static void
test_oneway (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  /* notify is declared oneway in the metadata: a plain call is sent oneway. */
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *what = g_strdup_printf ("n%02d", i);
      g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "notify",
                                                         g_variant_new ("(s)", what),
                                                         NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_is_of_type (result, G_VARIANT_TYPE ("mv")));
      g_assert_null (g_variant_get_maybe (result));
    }
  /* ... and explicitly. */
  for (int i = 50; i < 100; i++)
    {
      g_autofree char *what = g_strdup_printf ("n%02d", i);
      g_assert_true (pyro_proxy_call_oneway (fixture->proxy, "notify", g_variant_new ("(s)", what), &error));
      g_assert_no_error (error);
    }

  g_assert_cmpint (poll_notify_count (fixture->proxy, 100), ==, 100);
  g_autoptr(GVariant) names = call (fixture->proxy, "notified", NULL, "as");
  g_autofree const char **strv = g_variant_get_strv (names, NULL);
  for (int i = 0; i < 100; i++)
    {
      g_autofree char *what = g_strdup_printf ("n%02d", i);
      g_assert_cmpstr (strv[i], ==, what);
    }
}

/* A oneway call never waits for the method: with a 0.5 s timeout a 3 s
 * oneway method still "succeeds", and the proxy stays usable. */
static void
test_oneway_does_not_wait (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  pyro_proxy_set_timeout (fixture->proxy, 0.5);
  g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "oneway_slow",
                                                     g_variant_new ("(d)", 3.0), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);

  pyro_proxy_set_timeout (fixture->proxy, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GVariant) sum = call (fixture->proxy, "add", "(2, 2)", "i");
  g_assert_cmpint (g_variant_get_int32 (sum), ==, 4);
}

/* ---- timeouts, async, reconnect -------------------------------------------- */

static void
test_timeout (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  pyro_proxy_set_timeout (fixture->proxy, 0.5);
  g_autoptr(GVariant) result = pyro_proxy_call_sync (fixture->proxy, "slow", g_variant_new ("(d)", 3.0),
                                                     NULL, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_TIMEOUT);
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "Pyro4.errors.TimeoutError");

  /* The next call on the same proxy reconnects and works. */
  pyro_proxy_set_timeout (fixture->proxy, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GVariant) sum = call (fixture->proxy, "add", "(20, 22)", "i");
  g_assert_cmpint (g_variant_get_int32 (sum), ==, 42);
}

typedef struct
{
  GMainLoop *loop;
  guint      pending;
  GPtrArray *results;  /* the "add" results, in completion order */
} AsyncState;

static void
on_add_done (GObject *source, GAsyncResult *res, gpointer data)
{
  AsyncState *state = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = pyro_proxy_call_finish (PYRO_PROXY (source), res, &error);

  g_assert_no_error (error);
  g_ptr_array_add (state->results, GINT_TO_POINTER (g_variant_get_int32 (value)));
  if (--state->pending == 0)
    g_main_loop_quit (state->loop);
}

static gboolean
on_async_timeout (gpointer data)
{
  g_error ("async calls did not complete in %d s", PYRO_TEST_TIMEOUT_S * 2);
  return G_SOURCE_REMOVE;
}

static int
compare_ints (gconstpointer a, gconstpointer b)
{
  return GPOINTER_TO_INT (*(gpointer *) a) - GPOINTER_TO_INT (*(gpointer *) b);
}

static void
test_async (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  AsyncState state = { g_main_loop_new (context, FALSE), 0, g_ptr_array_new () };

  /* Callbacks run in the caller's thread-default context: ours. */
  g_main_context_push_thread_default (context);
  for (int i = 0; i < 5; i++)
    {
      pyro_proxy_call (fixture->proxy, "add", g_variant_new ("(ii)", i, 100), G_VARIANT_TYPE_INT32,
                       NULL, on_add_done, &state);
      state.pending++;
    }
  GSource *timeout = g_timeout_source_new_seconds (PYRO_TEST_TIMEOUT_S * 2);
  g_source_set_callback (timeout, on_async_timeout, NULL, NULL);
  g_source_attach (timeout, context);
  g_main_loop_run (state.loop);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_main_context_pop_thread_default (context);

  g_assert_cmpuint (state.results->len, ==, 5);
  g_ptr_array_sort (state.results, compare_ints);
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (GPOINTER_TO_INT (state.results->pdata[i]), ==, 100 + i);
  g_ptr_array_unref (state.results);
  g_main_loop_unref (state.loop);
}

/* The Python daemon is restarted on the same port while the proxy is
 * idle: the proxy notices the dead connection and the call just works. */
static void
test_reconnect (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GVariant) first = call (fixture->proxy, "add", "(1, 1)", "i");
  g_assert_cmpint (g_variant_get_int32 (first), ==, 2);

  guint16 port = fixture->port;
  stop_server (fixture);
  start_server (fixture, port);

  g_autoptr(GVariant) second = call (fixture->proxy, "add", "(2, 2)", "i");
  g_assert_cmpint (g_variant_get_int32 (second), ==, 4);
  /* It really is the new daemon (its counter started again). */
  g_autoptr(GVariant) requests = call (fixture->proxy, "requests", NULL, "x");
  g_assert_cmpint (g_variant_get_int64 (requests), ==, 2);
}

/* ---- instance modes, metadata, Pyro.Daemon --------------------------------- */

static void
test_instance_modes (Fixture *fixture, gconstpointer data)
{
  static const struct { const char *id; int counts[4]; } modes[] = {
    { "single", { 1, 2, 3, 4 } },
    { "session", { 1, 2, 1, 3 } },
    { "percall", { 1, 1, 1, 1 } },
  };

  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autoptr(PyroProxy) a = proxy_for (fixture, modes[m].id);
      g_autoptr(PyroProxy) b = proxy_for (fixture, modes[m].id);
      PyroProxy *order[4] = { a, a, b, a };

      for (int i = 0; i < 4; i++)
        {
          g_autoptr(GVariant) count = call (order[i], "count", NULL, "i");
          g_assert_cmpint (g_variant_get_int32 (count), ==, modes[m].counts[i]);
        }
    }
}

/* qsort hands us pointers to the array elements, which are char pointers. */
static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
test_metadata (Fixture *fixture, gconstpointer data)
{
  static const char * const expected[] = {
    "add", "echo", "fail", "get_bigint", "get_bool", "get_dict", "get_float", "get_inf",
    "get_int", "get_list", "get_mixed_dict", "get_nan", "get_neg_inf", "get_nested", "get_none",
    "get_string", "get_strings", "greet", "notified", "notify", "notify_count", "oneway_slow",
    "requests", "slow", NULL
  };
  g_autoptr(GError) error = NULL;

  g_assert_null (pyro_proxy_get_methods (fixture->proxy));
  g_assert_true (pyro_proxy_connect (fixture->proxy, NULL, &error));
  g_assert_no_error (error);

  g_auto(GStrv) methods = pyro_proxy_get_methods (fixture->proxy);
  g_assert_nonnull (methods);
  qsort (methods, g_strv_length (methods), sizeof (char *), compare_strings);
  g_assert_cmpstrv (methods, expected);
}

static void
test_daemon_object (Fixture *fixture, gconstpointer data)
{
  g_autoptr(PyroProxy) daemon = proxy_for (fixture, PYRO_DAEMON_OBJECT_ID);

  g_autoptr(GVariant) pong = call (daemon, "ping", NULL, NULL);
  g_assert_true (g_variant_is_of_type (pong, G_VARIANT_TYPE ("mv")));
  g_assert_null (g_variant_get_maybe (pong));

  g_autoptr(GVariant) registered = call (daemon, "registered", NULL, "as");
  g_autofree const char **ids = g_variant_get_strv (registered, NULL);
  const char *wanted[] = { "Pyro.Daemon", "types", "single", "session", "percall" };
  g_assert_cmpuint (g_strv_length ((char **) ids), ==, G_N_ELEMENTS (wanted));
  for (gsize i = 0; i < G_N_ELEMENTS (wanted); i++)
    g_assert_true (g_strv_contains (ids, wanted[i]));

  g_autoptr(GVariant) info = call (daemon, "info", NULL, "s");
  g_assert_true (g_str_has_prefix (g_variant_get_string (info, NULL), "Pyro.Daemon bound on "));

  g_autoptr(GVariant) meta = call (daemon, "get_metadata", "('types',)", "a{sas}");
  g_autofree const char **oneway = NULL;
  g_autofree const char **methods = NULL;
  g_assert_true (g_variant_lookup (meta, "oneway", "^a&s", &oneway));
  g_assert_true (g_variant_lookup (meta, "methods", "^a&s", &methods));
  g_assert_cmpuint (g_strv_length ((char **) oneway), ==, 2);
  g_assert_true (g_strv_contains (oneway, "notify"));
  g_assert_true (g_strv_contains (oneway, "oneway_slow"));
  g_assert_true (g_strv_contains (methods, "fail"));

  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) none = pyro_proxy_call_sync (daemon, "get_metadata",
                                                   g_variant_new ("(s)", "no.such.object"),
                                                   NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON);
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "Pyro4.errors.DaemonError");
}

/* ---- a daemon on a Unix socket ------------------------------------------------ */

/* Pyro4's "./u:PATH" URIs: the proxy connects to the socket file. */
static void
test_unix_socket (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pyro-unix-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "daemon.sock", NULL);
  g_autofree char *where = g_strconcat ("unix:", path, NULL);
  const char *args[] = { where, NULL };
  g_autofree char *uri_text = NULL;
  GSubprocess *server = pyro_test_start_python_server ("pyserver.py", args, &uri_text);

  g_autofree char *expected = g_strdup_printf ("PYRO:types@./u:%s", path);
  g_assert_cmpstr (uri_text, ==, expected);
  {
    g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri_text);
    g_autoptr(GVariant) sum = call (proxy, "add", "(20, 22)", "i");
    g_assert_cmpint (g_variant_get_int32 (sum), ==, 42);
  }
  pyro_test_stop_process (server, 10);
  g_object_unref (server);

  /* The socket file may stay behind a stopped daemon; nobody answers there. */
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri_text);
  g_assert_false (pyro_proxy_connect (proxy, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
  g_assert_nonnull (strstr (error->message, "cannot connect to PYRO:types@./u:"));
  g_remove (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  static const struct { const char *path; void (*func) (Fixture *, gconstpointer); } tests[] = {
    { "/pyro/interop-pyserver/values", test_value },
    { "/pyro/interop-pyserver/special-floats", test_special_floats },
    { "/pyro/interop-pyserver/kwargs", test_kwargs },
    { "/pyro/interop-pyserver/reply-type-mismatch", test_reply_type_mismatch },
    { "/pyro/interop-pyserver/remote-exception", test_remote_exception },
    { "/pyro/interop-pyserver/remote-type-error", test_remote_type_error },
    { "/pyro/interop-pyserver/unknown-method", test_unknown_method },
    { "/pyro/interop-pyserver/oneway", test_oneway },
    { "/pyro/interop-pyserver/oneway-does-not-wait", test_oneway_does_not_wait },
    { "/pyro/interop-pyserver/timeout", test_timeout },
    { "/pyro/interop-pyserver/async", test_async },
    { "/pyro/interop-pyserver/reconnect", test_reconnect },
    { "/pyro/interop-pyserver/instance-modes", test_instance_modes },
    { "/pyro/interop-pyserver/metadata", test_metadata },
    { "/pyro/interop-pyserver/daemon-object", test_daemon_object },
  };

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add (tests[i].path, Fixture, NULL, fixture_setup, tests[i].func, fixture_teardown);
  g_test_add_func ("/pyro/interop-pyserver/unix-socket", test_unix_socket);
  return g_test_run ();
}
