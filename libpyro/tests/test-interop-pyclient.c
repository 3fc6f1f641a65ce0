/* test-interop-pyclient.c: Python Pyro4 clients calling a libpyro daemon.
 *
 * The test serves a few C objects from a daemon in a background thread
 * and runs libpyro/tests/python/pyclient.py (real Pyro4 4.82, JSON
 * serializer) against them.  The script prints one line per observation
 * (label, Python type, repr) and asserts what only Python can see; this
 * file checks its exit status and compares its output with the expected
 * lines, so both the wire values and the Python types are pinned down.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"

/* Generous: a Python interpreter start plus a few hundred calls on a busy machine. */
#define SCRIPT_TIMEOUT_S 90

/* ---- the "types" object: one method per mapped type ---------------------- */

typedef struct
{
  GMutex     lock;      /* methods run concurrently in the daemon's workers */
  char      *label;     /* the exposed attribute */
  GPtrArray *notified;  /* the arguments of every oneway notify() call */
} Types;

static GVariant *
get_bool (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_boolean (TRUE);
}

static GVariant *
get_int32 (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_int32 (G_MININT32);
}

static GVariant *
get_int64 (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  /* 2^53 + 1: survives only if nobody goes through a double. */
  return g_variant_new_int64 (G_GINT64_CONSTANT (9007199254740993));
}

static GVariant *
get_double (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  /* 0.1 has no short exact binary form: it must print back as 0.1. */
  return g_variant_new_double (0.1);
}

static GVariant *
get_nan (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_double (NAN);
}

static GVariant *
get_inf (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_double (INFINITY);
}

static GVariant *
get_neg_inf (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_double (-INFINITY);
}

static GVariant *
get_string (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_string ("Grüße \"q\"\n世界 ✓");
}

static GVariant *
get_strv (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  static const char * const strv[] = { "alpha", "", "ünï", NULL };
  return g_variant_new_strv (strv, -1);
}

static GVariant *
get_dict (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  static const char * const tags[] = { "x", "y", NULL };
  GVariantBuilder dict, nested;

  g_variant_builder_init (&nested, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&nested, "{sv}", "ok", g_variant_new_boolean (TRUE));

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "name", g_variant_new_string ("apple"));
  g_variant_builder_add (&dict, "{sv}", "count", g_variant_new_int32 (3));
  g_variant_builder_add (&dict, "{sv}", "price", g_variant_new_double (1.5));
  g_variant_builder_add (&dict, "{sv}", "tags", g_variant_new_strv (tags, -1));
  g_variant_builder_add (&dict, "{sv}", "nothing", g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL));
  g_variant_builder_add (&dict, "{sv}", "nested", g_variant_builder_end (&nested));
  return g_variant_builder_end (&dict);
}

static GVariant *
get_nested (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_parsed ("[[1, 2], [3], @ai []]");
}

static GVariant *
get_none (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return NULL;  /* NULL without an error: the client gets None */
}

static GVariant *
get_maybe (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  gboolean present;

  g_variant_get (args, "(b)", &present);
  return g_variant_new_maybe (G_VARIANT_TYPE_STRING,
                              present ? g_variant_new_string ("present") : NULL);
}

static GVariant *
add (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  gint32 a, b;

  g_variant_get (args, "(ii)", &a, &b);
  return g_variant_new_int32 (a + b);
}

static GVariant *
echo (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  g_autoptr(GVariant) value = NULL;

  g_variant_get (args, "(v)", &value);
  return g_variant_new_variant (value);
}

static GVariant *
greet (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  const char *name, *greeting;

  g_variant_get (args, "(&sm&s)", &name, &greeting);
  return g_variant_new_take_string (g_strdup_printf ("%s, %s", greeting ? greeting : "Hello", name));
}

static GVariant *
fail (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  const char *message;

  g_variant_get (args, "(&s)", &message);
  g_set_error_literal (error, PYRO_ERROR, PYRO_ERROR_VALUE, message);
  return NULL;
}

static GVariant *
notify (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  Types *types = self;
  const char *what;

  g_assert_true (pyro_invocation_is_oneway (inv));
  g_variant_get (args, "(&s)", &what);
  g_mutex_lock (&types->lock);
  g_ptr_array_add (types->notified, g_strdup (what));
  g_mutex_unlock (&types->lock);
  return NULL;
}

static GVariant *
notify_count (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  Types *types = self;

  g_mutex_lock (&types->lock);
  guint count = types->notified->len;
  g_mutex_unlock (&types->lock);
  return g_variant_new_int32 (count);
}

static GVariant *
get_label (gpointer self, PyroInvocation *inv, GError **error)
{
  Types *types = self;

  g_mutex_lock (&types->lock);
  GVariant *label = g_variant_new_string (types->label);
  g_mutex_unlock (&types->lock);
  return label;
}

static gboolean
set_label (gpointer self, GVariant *value, PyroInvocation *inv, GError **error)
{
  Types *types = self;

  g_mutex_lock (&types->lock);
  g_free (types->label);
  types->label = g_variant_dup_string (value, NULL);
  g_mutex_unlock (&types->lock);
  return TRUE;
}

static const PyroMethod types_methods[] = {
  { "get_bool", NULL, "b", get_bool },
  { "get_int32", NULL, "i", get_int32 },
  { "get_int64", NULL, "x", get_int64 },
  { "get_double", NULL, "d", get_double },
  { "get_nan", NULL, "d", get_nan },
  { "get_inf", NULL, "d", get_inf },
  { "get_neg_inf", NULL, "d", get_neg_inf },
  { "get_string", NULL, "s", get_string },
  { "get_strv", NULL, "as", get_strv },
  { "get_dict", NULL, "a{sv}", get_dict },
  { "get_nested", NULL, "aai", get_nested },
  { "get_none", NULL, NULL, get_none },
  { "get_maybe", "(b)", "ms", get_maybe, 0, "present" },
  { "add", "(ii)", "i", add, 0, "a,b" },
  { "echo", "(v)", "v", echo, 0, "value" },
  { "greet", "(sms)", "s", greet, 0, "name,greeting" },
  { "fail", "(s)", NULL, fail, 0, "message" },
  { "notify", "(s)", NULL, notify, PYRO_METHOD_ONEWAY, "what" },
  { "notify_count", NULL, "i", notify_count },
  { NULL }
};

static const PyroAttribute types_attributes[] = {
  { "label", "s", get_label, set_label },
  { NULL }
};

static const PyroClass types_class = {
  .name = "Types",
  .methods = types_methods,
  .attributes = types_attributes,
};

/* ---- "Counter": the same class in the three instance modes ---------------- */

static gint live_counters;  /* instances made and not yet freed */

typedef struct
{
  gint calls;
} Counter;

static gpointer
counter_new (gpointer class_data)
{
  g_atomic_int_inc (&live_counters);
  return g_new0 (Counter, 1);
}

static void
counter_free (gpointer instance)
{
  g_atomic_int_add (&live_counters, -1);
  g_free (instance);
}

static GVariant *
counter_count (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  Counter *counter = self;

  /* A single instance is called from several workers at once. */
  return g_variant_new_int32 (g_atomic_int_add (&counter->calls, 1) + 1);
}

static const PyroMethod counter_methods[] = {
  { "count", NULL, "i", counter_count },
  { NULL }
};

#define COUNTER_CLASS(mode) \
  { .name = "Counter", .methods = counter_methods, .instance_mode = (mode), \
    .instance_new = counter_new, .instance_free = counter_free }

static const PyroClass single_class = COUNTER_CLASS (PYRO_INSTANCE_SINGLE);
static const PyroClass session_class = COUNTER_CLASS (PYRO_INSTANCE_SESSION);
static const PyroClass percall_class = COUNTER_CLASS (PYRO_INSTANCE_PERCALL);

/* ---- fixture --------------------------------------------------------------- */

typedef struct
{
  Types           types;
  PyroTestDaemon *daemon;
  char           *location;  /* "host:port" for the script */
} Fixture;

static void
register_all (PyroDaemon *daemon, gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(GError) error = NULL;
  const struct { const PyroClass *klass; const char *id; } classes[] = {
    { &single_class, "single" }, { &session_class, "session" }, { &percall_class, "percall" },
  };

  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &types_class, &fixture->types,
                                                        "types", &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (classes); i++)
    {
      g_autoptr(PyroUri) class_uri = pyro_daemon_register_class (daemon, classes[i].klass, NULL,
                                                                 classes[i].id, &error);
      g_assert_no_error (error);
    }
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_mutex_init (&fixture->types.lock);
  fixture->types.label = g_strdup ("initial");
  fixture->types.notified = g_ptr_array_new_with_free_func (g_free);
  g_atomic_int_set (&live_counters, 0);

  fixture->daemon = pyro_test_daemon_start (register_all, fixture);
  PyroDaemon *daemon = pyro_test_daemon_get (fixture->daemon);
  fixture->location = g_strdup_printf ("%s:%u", pyro_daemon_get_host (daemon),
                                       pyro_daemon_get_port (daemon));
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  pyro_test_daemon_stop (fixture->daemon);
  /* Every session and percall instance was freed, single ones with the daemon. */
  g_assert_cmpint (g_atomic_int_get (&live_counters), ==, 0);
  g_free (fixture->location);
  g_free (fixture->types.label);
  g_ptr_array_unref (fixture->types.notified);
  g_mutex_clear (&fixture->types.lock);
}

/* Runs pyclient.py @check and returns its stdout; asserts a clean exit. */
static char *
run_check (Fixture *fixture, const char *check)
{
  const char *args[] = { check, fixture->location, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = -1;

  gboolean ran = pyro_test_run_python ("pyclient.py", args, SCRIPT_TIMEOUT_S, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (ran);
  if (status != 0)
    g_test_message ("pyclient.py %s failed (status %d)\nstdout:\n%s\nstderr:\n%s", check, status, out, err);
  g_assert_cmpint (status, ==, 0);
  return out;
}

/* ---- the checks whose whole output is known ------------------------------- */

typedef struct
{
  const char *path;
  const char *check;     /* pyclient.py's check name */
  const char *expected;  /* its complete stdout */
} ExactCase;

static const ExactCase exact_cases[] = {
  { "/pyro/interop-pyclient/types", "types",
    "bool: bool True\n"
    "int32: int -2147483648\n"
    "int64: int 9007199254740993\n"
    "double: float 0.1\n"
    "nan: float nan\n"
    "inf: float inf\n"
    "neg_inf: float -inf\n"
    "string: str 'Grüße \"q\"\\n世界 ✓'\n"
    "strv: list ['alpha', '', 'ünï']\n"
    "dict: dict {'count': 3, 'name': 'apple', 'nested': {'ok': True}, 'nothing': None, 'price': 1.5, 'tags': ['x', 'y']}\n"
    "nested: list [[1, 2], [3], []]\n"
    "none: NoneType None\n"
    "maybe_set: str 'present'\n"
    "maybe_unset: NoneType None\n"
    "add: int 42\n"
    "echo: NoneType None\n"
    "echo: bool True\n"
    "echo: int -7\n"
    "echo: int 4611686018427387904\n"
    "echo: float 0.5\n"
    "echo: str 'Grüße ✓'\n"
    "echo: list [1, 'two', [3.0]]\n"
    "echo: dict {'k': [None]}\n"
    "greet_default: str 'Hello, Ann'\n"
    "greet_positional: str 'Hi, Ann'\n"
    "greet_kwargs: str 'Hey, Bob'\n"
    "label: str 'initial'\n"
    "label_set: str 'changed ✓'\n"
    "done\n" },
  { "/pyro/interop-pyclient/error", "error",
    "fail: str 'bad apple ✗'\n"
    "traceback: present\n"
    "after: int 2\n"
    "done\n" },
  { "/pyro/interop-pyclient/instance-modes", "instance-modes",
    "single: list [1, 2, 3, 4]\n"
    "session: list [1, 2, 1, 3]\n"
    "percall: list [1, 1, 1, 1]\n"
    "done\n" },
  { "/pyro/interop-pyclient/metadata", "metadata",
    "methods: list ['add', 'echo', 'fail', 'get_bool', 'get_dict', 'get_double', 'get_inf', "
    "'get_int32', 'get_int64', 'get_maybe', 'get_nan', 'get_neg_inf', 'get_nested', 'get_none', "
    "'get_string', 'get_strv', 'greet', 'notify', 'notify_count']\n"
    "oneway: list ['notify']\n"
    "attrs: list ['label']\n"
    "unknown_method: AttributeError (local)\n"
    "done\n" },
  { "/pyro/interop-pyclient/daemon-object", "daemon-object",
    "ping: NoneType None\n"
    "registered: list ['Pyro.Daemon', 'percall', 'session', 'single', 'types']\n"
    "info: ok\n"
    "meta_keys: list ['attrs', 'methods', 'oneway']\n"
    "meta_oneway: list ['notify']\n"
    "meta_attrs: list ['label']\n"
    "unknown_object: DaemonError\n"
    "done\n" },
  { "/pyro/interop-pyclient/serpent-refused", "serpent",
    "serpent: CommunicationError (serializer not accepted)\n"
    "done\n" },
};

static void
test_exact (Fixture *fixture, gconstpointer data)
{
  const ExactCase *c = data;
  g_autofree char *out = run_check (fixture, c->check);

  g_assert_cmpstr (out, ==, c->expected);
}

/* ---- checks with more than a text comparison ------------------------------ */

static void
test_oneway (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_check (fixture, "oneway");

  g_assert_cmpstr (out, ==, "notify_count: int 100\ndone\n");

  /* Every call arrived once, with its own argument (order is free: oneway
   * calls run concurrently). */
  g_mutex_lock (&fixture->types.lock);
  g_assert_cmpuint (fixture->types.notified->len, ==, 100);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < fixture->types.notified->len; i++)
    g_hash_table_add (seen, fixture->types.notified->pdata[i]);
  g_mutex_unlock (&fixture->types.lock);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *name = g_strdup_printf ("n%u", i);
      g_assert_true (g_hash_table_contains (seen, name));
    }
}

/* The daemon's TypeError texts are its own; check that each names the
 * method and what was wrong. */
static void
test_bad_args (Fixture *fixture, gconstpointer data)
{
  static const struct { const char *label; const char *needles[3]; } cases[] = {
    { "wrong_type", { "add", "str", NULL } },
    { "too_few", { "add", "missing", "'b'" } },
    { "too_many", { "add", "takes 2", "3" } },
    { "unknown_kwarg", { "greet", "colour", NULL } },
    { "out_of_range", { "add", "1099511627776", NULL } },
  };
  g_autofree char *out = run_check (fixture, "bad-args");
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (cases) + 3);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *prefix = g_strdup_printf ("%s: TypeError ", cases[i].label);
      g_test_message ("%s", lines[i]);
      g_assert_true (g_str_has_prefix (lines[i], prefix));
      for (gsize n = 0; n < G_N_ELEMENTS (cases[i].needles) && cases[i].needles[n]; n++)
        g_assert_nonnull (strstr (lines[i], cases[i].needles[n]));
    }
  g_assert_cmpstr (lines[G_N_ELEMENTS (cases)], ==, "after: int 5");
  g_assert_cmpstr (lines[G_N_ELEMENTS (cases) + 1], ==, "done");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (exact_cases); i++)
    g_test_add (exact_cases[i].path, Fixture, &exact_cases[i], fixture_setup, test_exact, fixture_teardown);
  g_test_add ("/pyro/interop-pyclient/oneway", Fixture, NULL, fixture_setup, test_oneway, fixture_teardown);
  g_test_add ("/pyro/interop-pyclient/bad-args", Fixture, NULL, fixture_setup, test_bad_args, fixture_teardown);

  return g_test_run ();
}
