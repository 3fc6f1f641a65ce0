/* test-batch.c: batch calls (Pyro4's batch()).
 *
 * PyroBatch queues calls and sends them as one "<batch>" request; the
 * daemon runs them in order and stops at the first failure.  Checked C
 * <-> C and both directions with Python: a batch that works, one with an
 * error in the middle (the calls after it do not run), a oneway batch;
 * and garbage batches get a clear error while the daemon keeps serving.
 */
#include <string.h>

#include "testutil.h"
#include "pyro-dispatch-private.h"
#include "pyro-json-private.h"
#include "pyro-message-private.h"
#include "pyro-proxy-private.h"

/* ---- a C class to batch calls on -------------------------------------------- */

typedef struct
{
  GMutex     lock;
  guint      n_adds;
  GPtrArray *notes;
} Thing;

static GVariant *
thing_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Thing *thing = self;
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  g_mutex_lock (&thing->lock);
  thing->n_adds++;
  g_mutex_unlock (&thing->lock);
  return g_variant_new_int64 (a + b);
}

static GVariant *
thing_echo (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_get_child_value (args, 0);
}

static GVariant *
thing_fail (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "bad thing");
  return NULL;
}

static GVariant *
thing_note (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Thing *thing = self;
  const char *text;
  g_variant_get (args, "(&s)", &text);
  g_mutex_lock (&thing->lock);
  g_ptr_array_add (thing->notes, g_strdup (text));
  g_mutex_unlock (&thing->lock);
  return NULL;
}

static GVariant *
thing_notes (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Thing *thing = self;
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&thing->lock);
  return g_variant_new_strv ((const char *const *) thing->notes->pdata, thing->notes->len);
}

static const PyroMethod thing_methods[] = {
  { "add", "(xx)", "x", thing_add, 0, "a,b" },
  { "echo", "(v)", "v", thing_echo, 0, "x" },
  { "fail", "()", NULL, thing_fail, 0, NULL },
  { "note", "(s)", NULL, thing_note, PYRO_METHOD_ONEWAY, "x" },
  { "notes", "()", "as", thing_notes, 0, NULL },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
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
  fixture->thing.notes = g_ptr_array_new_null_terminated (4, g_free, TRUE);
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
  g_ptr_array_unref (fixture->thing.notes);
  g_mutex_clear (&fixture->thing.lock);
}

/* ---- checks shared by the C and the Python daemon ---------------------------- */

static void
check_batch (PyroProxy *proxy)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroBatch) batch = pyro_batch_new (proxy);
  pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2));
  pyro_batch_add (batch, "echo", g_variant_new ("(v)", g_variant_new_string ("z")));
  pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 5, (gint64) 5));
  g_assert_cmpuint (pyro_batch_get_length (batch), ==, 3);

  g_autoptr(GVariant) results = pyro_batch_run_sync (batch, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *text = g_variant_print (results, FALSE);
  g_assert_cmpstr (text, ==, "[<int64 3>, <'z'>, <int64 10>]");
  g_assert_cmpuint (pyro_batch_get_length (batch), ==, 0);
  g_assert_null (pyro_batch_get_completed (batch));

  /* An empty batch is fine too. */
  g_autoptr(GVariant) empty = pyro_batch_run_sync (batch, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (empty), ==, 0);
}

static void
check_batch_error (PyroProxy *proxy)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroBatch) batch = pyro_batch_new (proxy);
  pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2));
  pyro_batch_add (batch, "fail", NULL);
  pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 5, (gint64) 5));

  g_autoptr(GVariant) results = pyro_batch_run_sync (batch, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_assert_cmpstr (error->message, ==, "bad thing");
  GVariant *completed = pyro_batch_get_completed (batch);
  g_assert_nonnull (completed);
  g_autofree char *text = g_variant_print (completed, FALSE);
  g_assert_cmpstr (text, ==, "[<int64 3>]");
  g_clear_error (&error);

  /* The proxy is still fine. */
  g_autoptr(GVariant) sum = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 2, (gint64) 2), G_VARIANT_TYPE_INT64,
                                                  NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (sum), ==, 4);
}

static void
check_batch_oneway (PyroProxy *proxy)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroBatch) batch = pyro_batch_new (proxy);
  pyro_batch_add (batch, "note", g_variant_new ("(s)", "a"));
  pyro_batch_add (batch, "note", g_variant_new ("(s)", "b"));
  g_assert_true (pyro_batch_run_oneway (batch, &error));
  g_assert_no_error (error);

  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_USEC_PER_SEC;
  g_autofree char *text = NULL;
  do
    {
      g_autoptr(GVariant) notes = pyro_proxy_call_sync (proxy, "notes", NULL, G_VARIANT_TYPE_STRING_ARRAY,
                                                        NULL, &error);
      g_assert_no_error (error);
      g_free (text);
      text = g_variant_print (notes, FALSE);
      if (g_variant_n_children (notes) >= 2)
        break;
      g_usleep (20 * 1000);
    }
  while (g_get_monotonic_time () < deadline);
  g_assert_cmpstr (text, ==, "['a', 'b']");
}

/* ---- C client, C daemon -------------------------------------------------------- */

static void
test_c_batch (Fixture *fixture, gconstpointer data)
{
  check_batch (fixture->proxy);
  g_assert_cmpuint (fixture->thing.n_adds, ==, 2);
}

/* Arguments JSON cannot carry (bytes): the batch is refused when run,
 * nothing is sent, and the batch and proxy stay usable. */
static void
test_c_batch_unsendable (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroBatch) batch = pyro_batch_new (fixture->proxy);
  pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2));
  pyro_batch_add (batch, "note", g_variant_new ("(@ay)", g_variant_new_bytestring ("raw")));
  g_assert_cmpuint (pyro_batch_get_length (batch), ==, 2);

  g_autoptr(GVariant) results = pyro_batch_run_sync (batch, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
  /* "<batch>(): cannot send the arguments: note(): cannot serialize type '(ay)' ..." */
  g_assert_true (g_str_has_prefix (error->message, "<batch>(): cannot send the arguments: note(): "));
  g_assert_nonnull (strstr (error->message, "'ay'"));
  g_clear_error (&error);
  g_assert_cmpuint (fixture->thing.n_adds, ==, 0);

  /* The queue was emptied; the next batch goes through. */
  pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2));
  g_autoptr(GVariant) again = pyro_batch_run_sync (batch, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (again), ==, 1);
  g_assert_cmpuint (fixture->thing.n_adds, ==, 1);
}

static void
test_c_batch_error (Fixture *fixture, gconstpointer data)
{
  check_batch_error (fixture->proxy);
  /* add(5, 5) after the failure never ran; add(2, 2) came later. */
  g_assert_cmpuint (fixture->thing.n_adds, ==, 2);
}

static void
test_c_batch_oneway (Fixture *fixture, gconstpointer data)
{
  check_batch_oneway (fixture->proxy);
}

/* Raw "<batch>" requests that make no sense. */
static void
test_c_garbage (Fixture *fixture, gconstpointer data)
{
  static const char *const garbage[] = {
    "'garbage'",
    "[<'add'>]",
    "[<[<'add'>, <[<1>, <2>]>]>]",
    "[<[<42>, <@av []>, <@a{sv} {}>]>]",
    "@mv nothing",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (garbage); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) params = g_variant_parse (NULL, garbage[i], NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr(GVariant) result = pyro_proxy_invoke (fixture->proxy, NULL, "<batch>", params, TRUE,
                                                      PYRO_FLAG_BATCH, NULL, NULL, NULL, &error);
      g_assert_null (result);
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
      g_assert_nonnull (strstr (error->message, "<batch>"));
      g_test_message ("%s -> %s", garbage[i], error->message);
    }

  /* An unknown method inside a batch ends it with AttributeError. */
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroBatch) batch = pyro_batch_new (fixture->proxy);
  pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1));
  pyro_batch_add (batch, "nosuch", NULL);
  g_autoptr(GVariant) results = pyro_batch_run_sync (batch, NULL, &error);
  g_assert_null (results);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD);
  g_clear_error (&error);

  /* Wrong arguments inside a batch: TypeError. */
  pyro_batch_add (batch, "add", g_variant_new ("(s)", "x"));
  g_autoptr(GVariant) results2 = pyro_batch_run_sync (batch, NULL, &error);
  g_assert_null (results2);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  /* Still serving, on the same connection. */
  check_batch (fixture->proxy);
}

/* ---- Python client, C daemon ---------------------------------------------------- */

static char *
run_client (const char *uri, const char *task)
{
  const char *args[] = { uri, task, NULL };
  return pyro_test_python_output ("tut_client.py", args);
}

static void
test_py_client (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ok = run_client (fixture->uri, "batch");
  g_assert_cmpstr (ok, ==, "[3, 'z', 10]\n");
  g_autofree char *failing = run_client (fixture->uri, "batch-error");
  g_assert_cmpstr (failing, ==, "3\nValueError: bad thing\n");
  g_assert_cmpuint (fixture->thing.n_adds, ==, 3);
  g_autofree char *oneway = run_client (fixture->uri, "batch-oneway");
  g_assert_cmpstr (oneway, ==, "None\n['a', 'b']\n");
}

/* ---- C client, Python daemon ------------------------------------------------------ */

typedef struct
{
  GSubprocess *server;
  PyroProxy   *proxy;
} PyFixture;

static void
py_fixture_setup (PyFixture *fixture, gconstpointer data)
{
  g_autofree char *uri = NULL;
  fixture->server = pyro_test_start_python_server ("tut_server.py", NULL, &uri);
  fixture->proxy = pyro_test_proxy_new (uri);
}

static void
py_fixture_teardown (PyFixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->proxy);
  pyro_test_stop_process (fixture->server, 10);
  g_clear_object (&fixture->server);
}

static void
test_py_daemon (PyFixture *fixture, gconstpointer data)
{
  check_batch (fixture->proxy);
  check_batch_error (fixture->proxy);
  check_batch_oneway (fixture->proxy);
}

/* ---- the direct batch reader (pyro_dispatch_batch_text) --------------------- */

/* One INVOKE body through the general path: parse, then dispatch. */
static char *
general_batch_reply (PyroSession *session, const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = pyro_json_parse (body, -1, &error);
  g_autoptr(GString) reply = g_string_new (NULL);

  if (node == NULL)
    return g_strdup_printf ("<unparsable: %s>", error->message);
  JsonObject *request = json_node_get_object (node);
  const char *object_id = json_object_get_string_member (request, "object");
  if (!pyro_dispatch_batch (session, object_id, json_object_get_member (request, "params"), FALSE, reply, &error))
    return g_strdup_printf ("<error: %s>", error->message);
  return g_strdup (reply->str);
}

/* The direct reader either leaves a batch to the general path, having run
 * nothing, or gives exactly the general path's reply. */
static void
test_batch_text (void)
{
  static const struct { const char *params; gboolean handled; } rows[] = {
    { "[[\"add\", [1, 2], {}], [\"add\", [3, 4], null], [\"echo\", [\"h\xc3\xa9\"], {}]]", TRUE },
    { "[]", TRUE },
    { "[[\"add\", [1, 2], {}], [\"fail\", [], {}], [\"add\", [5, 6], {}]]", TRUE },
    { "[[\"echo\", [[1, 2.5, \"x\", true, null, []]], {}], [\"notes\", [], {}]]", TRUE },
    { " [ [ \"add\" , [ 1 , 2 ] , { } ] ] ", TRUE },
    { "[[\"echo\", [\"a\\nb \\\"q\\\"\"], {}]]", TRUE },
    /* left to the general path: every error and whatever is unusual */
    { "[[\"add\", [1, 2], {}], [\"nosuch\", [], {}]]", FALSE },
    { "[[\"add\", [1, 2], {}], [\"add\", [1], {}]]", FALSE },
    { "[[\"add\", [1, 2], {}], [\"add\", [1, 2, 3], {}]]", FALSE },
    { "[[\"add\", [1, \"2\"], {}]]", FALSE },
    { "[[\"add\", [1.5, 2], {}]]", FALSE },
    { "[[\"add\", [1, 2], {\"a\": 1}]]", FALSE },
    { "[[\"add\", [1], {\"b\": 2}]]", FALSE },
    { "[[\"add\", [NaN, 2], {}]]", FALSE },
    { "[[\"add\", [99999999999999999999, 2], {}]]", FALSE },
    { "[[\"echo\", [\"\\u00e9\"], {}]]", FALSE },
    { "[[\"echo\", [{\"k\": 1}], {}]]", FALSE },
    { "[[\"__getattr__\", [\"x\"], {}]]", FALSE },
    { "[[\"add\", [1, 2]]]", FALSE },
    { "[\"add\", [1, 2], {}]", FALSE },
    { "[[\"add\", [1, 2], {}], 7]", FALSE },
    { "{\"add\": 1}", FALSE },
    { "[[\"add\", [1, 2], {}]", FALSE },
    { "[[\"add\", [1, 2], {}]] x", FALSE },
    { "[[\"add\", [1, 2], {}], [\"add\", [1, 2], n]]", FALSE },
    { "[[\"add\", [1, 2], {}], [\"add\", [1, 2], {}], [\"add\", [1, 2], {} ]]]", FALSE },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroDaemon) daemon = pyro_daemon_new ("127.0.0.1", 0, &error);
  Thing thing = { 0 };

  g_assert_no_error (error);
  g_mutex_init (&thing.lock);
  thing.notes = g_ptr_array_new_null_terminated (4, g_free, TRUE);
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &thing_class, &thing, "thing", &error);
  g_assert_no_error (error);
  g_autoptr(PyroSession) session = pyro_session_new (daemon);

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *body = g_strdup_printf ("{\"object\": \"thing\", \"method\": \"<batch>\", "
                                               "\"params\": %s, \"kwargs\": null}", rows[i].params);
      g_autoptr(GString) fast = g_string_new ("untouched");
      guint adds_before = thing.n_adds;
      gboolean handled = pyro_dispatch_batch_text (session, body, strlen (body), fast);
      guint fast_adds = thing.n_adds - adds_before;
      g_autofree char *general = general_batch_reply (session, body);
      guint general_adds = thing.n_adds - adds_before - fast_adds;

      g_test_message ("%s -> %s", body, general);
      if (handled != rows[i].handled)
        g_error ("%s: expected the direct reader to %s it", rows[i].params, rows[i].handled ? "take" : "leave");
      if (handled)
        {
          /* Appended after what was there, byte for byte the general reply. */
          g_assert_true (g_str_has_prefix (fast->str, "untouched"));
          g_assert_cmpstr (fast->str + strlen ("untouched"), ==, general);
          g_assert_cmpuint (fast_adds, ==, general_adds);
        }
      else
        {
          /* Nothing ran, nothing was written. */
          g_assert_cmpstr (fast->str, ==, "untouched");
          g_assert_cmpuint (fast_adds, ==, 0);
        }
    }
  /* Other bodies: keys in another order, unknown object, extra keys. */
  static const char *const others[] = {
    "{\"method\": \"<batch>\", \"object\": \"thing\", \"kwargs\": {}, \"params\": [[\"add\", [1, 2], {}]]}",
    "{\"object\": \"nothing\", \"method\": \"<batch>\", \"params\": [[\"add\", [1, 2], {}]], \"kwargs\": null}",
    "{\"object\": \"thing\", \"method\": \"<batch>\", \"params\": [[\"add\", [1, 2], {}]]}",
    "{\"object\": \"thing\", \"method\": \"<batch>\", \"params\": [], \"kwargs\": null, \"x\": 1}",
    "{\"object\": \"thing\", \"object\": \"thing\", \"method\": \"<batch>\", \"params\": [], \"kwargs\": null}",
    "{\"object\": \"thing\", \"method\": 5, \"params\": [], \"kwargs\": null}",
    "{\"params\": [], \"object\": \"thing\", \"method\": \"<batch>\", \"kwargs\": null}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autoptr(GString) fast = g_string_new (NULL);
      gboolean handled = pyro_dispatch_batch_text (session, others[i], strlen (others[i]), fast);

      g_assert_cmpint (handled, ==, i == 0);
      g_assert_cmpstr (fast->str, ==, i == 0 ? "[3]" : "");
    }

  g_clear_pointer (&session, pyro_session_free);
  g_clear_object (&daemon);
  g_ptr_array_unref (thing.notes);
  g_mutex_clear (&thing.lock);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/batch/text", test_batch_text);
  g_test_add ("/pyro/batch/c/ok", Fixture, NULL, fixture_setup, test_c_batch, fixture_teardown);
  g_test_add ("/pyro/batch/c/error", Fixture, NULL, fixture_setup, test_c_batch_error, fixture_teardown);
  g_test_add ("/pyro/batch/c/oneway", Fixture, NULL, fixture_setup, test_c_batch_oneway, fixture_teardown);
  g_test_add ("/pyro/batch/c/unsendable", Fixture, NULL, fixture_setup, test_c_batch_unsendable, fixture_teardown);
  g_test_add ("/pyro/batch/c/garbage", Fixture, NULL, fixture_setup, test_c_garbage, fixture_teardown);
  g_test_add ("/pyro/batch/py-client", Fixture, NULL, fixture_setup, test_py_client, fixture_teardown);
  g_test_add ("/pyro/batch/py-daemon", PyFixture, NULL, py_fixture_setup, test_py_daemon, py_fixture_teardown);
  return g_test_run ();
}
