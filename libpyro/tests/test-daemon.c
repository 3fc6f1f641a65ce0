/* test-daemon.c: PyroDaemon served to C PyroProxy clients.
 *
 * Registration and ids, argument binding (positional, keyword, optional
 * maybe arguments and Python's TypeError texts), the three instance modes
 * and when their instances are freed, oneway calls, the built-in
 * Pyro.Daemon object, the worker pool limit, new clients accepted while
 * a method runs in the accepting thread, shutdown (from outside, from
 * inside a method, and racing the last reference), a daemon living in a caller's GMainContext, and a
 * method that breaks its own table's promise about its result type.
 *
 * Every wait is bounded by PYRO_TEST_TIMEOUT_S; nothing asserts a duration.
 */
#include "testutil.h"

#include <string.h>

/* ---- small helpers --------------------------------------------------------- */

static PyroProxy *
proxy_for (PyroTestDaemon *td, const char *object_id)
{
  g_autofree char *uri = pyro_test_daemon_uri (td, object_id);

  return pyro_test_proxy_new (uri);
}

static gint64
call_int (PyroProxy *proxy, const char *method, GVariant *params)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, method, params, G_VARIANT_TYPE_INT64, NULL, &error);

  g_assert_no_error (error);
  return g_variant_get_int64 (result);
}

/* ---- the "Thing" class: plain methods ------------------------------------ */

static GVariant *
thing_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

/* greet(name, greeting=None) */
static GVariant *
thing_greet (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *name, *greeting;
  g_variant_get (args, "(&sm&s)", &name, &greeting);
  return g_variant_new_take_string (g_strdup_printf ("%s, %s", greeting ? greeting : "Hello", name));
}

/* describe(s, i, b, d, as): one argument of each common type */
static GVariant *
thing_describe (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *s;
  gint32 i;
  gboolean b;
  double d;
  g_autofree const char **list = NULL;
  g_variant_get (args, "(&sibd^a&s)", &s, &i, &b, &d, &list);
  g_autofree char *joined = g_strjoinv (",", (char **) list);
  return g_variant_new_take_string (g_strdup_printf ("%s/%d/%s/%.2f/%s", s, i, b ? "true" : "false", d, joined));
}

static GVariant *
thing_fail (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "bad thing");
  return NULL;
}

/* Declares "s" but returns an int: the daemon must catch it. */
static GVariant *
thing_wrong_type (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_int64 (42);
}

static GVariant *
thing_object_id (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_string (pyro_invocation_get_object_id (invocation));
}

/* "<object id>.<method name>", as the invocation tells them. */
static GVariant *
thing_call_name (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_take_string (g_strdup_printf ("%s.%s", pyro_invocation_get_object_id (invocation),
                                                     pyro_invocation_get_method_name (invocation)));
}

/* Stops the daemon that runs it. */
static GVariant *
thing_stop (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  pyro_daemon_shutdown (pyro_invocation_get_daemon (invocation));
  return g_variant_new_string ("stopping");
}

static const PyroMethod thing_methods[] = {
  { "add", "(xx)", "x", thing_add, 0, "a,b" },
  { "greet", "(sms)", "s", thing_greet, 0, "name,greeting" },
  { "describe", "(sibdas)", "s", thing_describe, 0, "s,i,b,d,list" },
  { "fail", "()", "s", thing_fail, 0, NULL },
  { "wrong_type", "()", "s", thing_wrong_type, 0, NULL },
  { "object_id", "()", "s", thing_object_id, 0, NULL },
  { "call_name", "()", "s", thing_call_name, 0, NULL },
  { "stop", "()", "s", thing_stop, 0, NULL },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
};

static void
setup_thing (PyroDaemon *daemon, gpointer user_data)
{
  pyro_test_register (daemon, &thing_class, NULL, "thing");
}

/* ---- registration (no network traffic) ----------------------------------- */

static gboolean
is_auto_id (const char *id)
{
  if (!g_str_has_prefix (id, "obj_") || strlen (id) != 4 + 32)
    return FALSE;
  for (const char *c = id + 4; *c; c++)
    if (!g_ascii_isxdigit (*c) || g_ascii_isupper (*c))
      return FALSE;
  return TRUE;
}

static void
test_register (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroDaemon) daemon = pyro_daemon_new ("127.0.0.1", 0, &error);
  g_assert_no_error (error);
  guint16 port = pyro_daemon_get_port (daemon);
  g_assert_cmpuint (port, !=, 0);
  g_assert_cmpstr (pyro_daemon_get_host (daemon), ==, "127.0.0.1");

  /* automatic ids: obj_ + 32 lowercase hex digits, different each time */
  g_autoptr(PyroUri) auto1 = pyro_daemon_register_object (daemon, &thing_class, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) auto2 = pyro_daemon_register_class (daemon, &thing_class, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (is_auto_id (pyro_uri_get_object (auto1)));
  g_assert_true (is_auto_id (pyro_uri_get_object (auto2)));
  g_assert_cmpstr (pyro_uri_get_object (auto1), !=, pyro_uri_get_object (auto2));
  g_assert_cmpstr (pyro_uri_get_host (auto1), ==, "127.0.0.1");
  g_assert_cmpuint (pyro_uri_get_port (auto1), ==, port);

  /* an explicit id, and the URI text */
  g_autoptr(PyroUri) named = pyro_daemon_register_object (daemon, &thing_class, NULL, "thing", &error);
  g_assert_no_error (error);
  g_autofree char *expected = g_strdup_printf ("PYRO:thing@127.0.0.1:%u", port);
  g_assert_cmpstr (pyro_uri_to_string (named), ==, expected);
  g_autoptr(PyroUri) uri_for = pyro_daemon_uri_for (daemon, "thing");
  g_assert_true (pyro_uri_equal (named, uri_for));

  /* a taken id is refused, for objects and classes alike */
  PyroUri *dup = pyro_daemon_register_class (daemon, &thing_class, NULL, "thing", &error);
  g_assert_null (dup);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON);
  g_assert_nonnull (strstr (error->message, "thing"));
  g_clear_error (&error);
  dup = pyro_daemon_register_object (daemon, &thing_class, NULL, PYRO_DAEMON_OBJECT_ID, &error);
  g_assert_null (dup);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON);
  g_clear_error (&error);

  /* unregister: once, then it is gone and the id is free again */
  g_assert_true (pyro_daemon_unregister (daemon, "thing"));
  g_assert_false (pyro_daemon_unregister (daemon, "thing"));
  g_assert_true (pyro_daemon_unregister (daemon, pyro_uri_get_object (auto1)));
  g_autoptr(PyroUri) again = pyro_daemon_register_object (daemon, &thing_class, NULL, "thing", &error);
  g_assert_no_error (error);

  /* the daemon's own object cannot be removed */
  g_assert_false (pyro_daemon_unregister (daemon, PYRO_DAEMON_OBJECT_ID));
}

static const PyroMethod bad_in_methods[] = {
  { "m", "s", NULL, thing_add, 0, NULL },   /* not a tuple */
  { NULL }
};
static const PyroMethod bad_out_methods[] = {
  { "m", "()", "not a type", thing_add, 0, NULL },
  { NULL }
};
static const PyroMethod no_func_methods[] = {
  { "m", "()", NULL, NULL, 0, NULL },
  { NULL }
};

static void
test_register_bad_table (void)
{
  static const PyroClass bad_classes[] = {
    { .name = "BadIn", .methods = bad_in_methods },
    { .name = "BadOut", .methods = bad_out_methods },
    { .name = "NoFunc", .methods = no_func_methods },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroDaemon) daemon = pyro_daemon_new (NULL, 0, &error);
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_classes); i++)
    {
      PyroUri *uri = pyro_daemon_register_object (daemon, &bad_classes[i], NULL, "bad", &error);
      g_assert_null (uri);
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON);
      g_assert_nonnull (strstr (error->message, bad_classes[i].name));
      g_clear_error (&error);
    }
}

/* A registration removed while a client is connected: the next call is
 * answered with Pyro4's DaemonError, and a new proxy is refused at connect. */
static void
test_unregister_while_connected (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, "thing");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (call_int (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2)), ==, 3);
  g_assert_true (pyro_daemon_unregister (pyro_test_daemon_get (td), "thing"));

  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2),
                                                     G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON);
  g_assert_true (pyro_error_is_remote (error));
  g_assert_nonnull (strstr (error->message, "unknown object"));
  g_clear_error (&error);

  g_autoptr(PyroProxy) late = proxy_for (td, "thing");
  g_assert_false (pyro_proxy_connect (late, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
  g_assert_nonnull (strstr (error->message, "unknown object"));

  g_clear_object (&proxy);
  g_clear_object (&late);
  pyro_test_daemon_stop (td);
}

/* ---- argument binding ------------------------------------------------------ */

typedef struct
{
  const char   *method;
  const char   *params;   /* GVariant text of the tuple */
  const char   *kwargs;   /* GVariant text of an a{sv}, or NULL */
  const char   *reply;    /* GVariant text of the expected result, or NULL for an error */
  PyroErrorCode code;     /* the expected error */
  const char   *message;  /* the expected error text, exactly */
  const char   *part;     /* or a part of it */
} CallCase;

static const CallCase call_cases[] = {
  /* positional and keyword arguments bind like Python's */
  { "add", "(int64 2, int64 3)", NULL, "int64 5" },
  { "add", "@() ()", "{'a': <int64 2>, 'b': <int64 3>}", "int64 5" },
  { "add", "(int64 2,)", "{'b': <int64 40>}", "int64 42" },
  { "add", "@() ()", "{'b': <int64 1>, 'a': <int64 -8>}", "int64 -7" },
  { "add", "(int32 2, byte 3)", NULL, "int64 5" },
  /* a trailing maybe argument is optional and defaults to None */
  { "greet", "('Ann',)", NULL, "'Hello, Ann'" },
  { "greet", "('Ann', 'Hi')", NULL, "'Hi, Ann'" },
  { "greet", "('Ann', @ms nothing)", NULL, "'Hello, Ann'" },
  { "greet", "('Ann',)", "{'greeting': <'Hey'>}", "'Hey, Ann'" },
  { "greet", "@() ()", "{'name': <'Bo'>}", "'Hello, Bo'" },
  /* one of each common type; an int where a float is expected is fine */
  { "describe", "('x', 3, true, 2.5, ['a', 'b'])", NULL, "'x/3/true/2.50/a,b'" },
  { "describe", "('x', -3, false, int64 7, @as [])", NULL, "'x/-3/false/7.00/'" },
  /* Python's TypeError texts */
  { "add", "(int64 1,)", "{'c': <int64 1>}", NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() got an unexpected keyword argument 'c'" },
  { "add", "(int64 1, int64 2)", "{'a': <int64 1>}", NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() got multiple values for argument 'a'" },
  { "add", "(int64 1,)", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() missing 1 required positional argument: 'b'" },
  { "add", "@() ()", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() missing 2 required positional arguments: 'a', 'b'" },
  { "add", "(int64 1, int64 2, int64 3)", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() takes 2 positional arguments but 3 were given" },
  { "greet", "@() ()", "{'greeting': <'Hi'>}", NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.greet() missing 1 required positional argument: 'name'" },
  /* a value of the wrong type is refused before the method runs, with the
   * method, the argument, the expected and the received type */
  { "add", "('one', int64 2)", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() argument 1 ('a'): expected int64 (x), got str 'one'" },
  { "add", "(1.5, int64 2)", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() argument 1 ('a'): expected int64 (x), got float 1.5" },
  { "add", "(int64 1, true)", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.add() argument 2 ('b'): expected int64 (x), got bool True" },
  { "greet", "(int64 5,)", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.greet() argument 1 ('name'): expected string (s), got int 5" },
  { "describe", "('x', int64 3000000000, true, 1.0, @as [])", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.describe() argument 2 ('i'): expected int32 (i), got int 3000000000 (out of range)" },
  { "describe", "('x', 1, true, 1.0, [1])", NULL, NULL, PYRO_ERROR_INVALID_ARGS,
    "Thing.describe() argument 5 ('list'): item 0: expected string (s), got int 1" },
  /* beyond what the daemon's JSON reader takes at all: the whole body is refused */
  { "add", "(uint64 18446744073709551615, int64 2)", NULL, NULL, PYRO_ERROR_VALUE, NULL,
    "integer 18446744073709551615 does not fit in a signed 64-bit integer" },
  /* the method's own exception, and a result that breaks the table */
  { "fail", "@() ()", NULL, NULL, PYRO_ERROR_VALUE, "bad thing" },
  { "wrong_type", "@() ()", NULL, NULL, PYRO_ERROR_RUNTIME,
    "Thing.wrong_type() returned a value of type 'x', but its table declares 's'" },
  { "object_id", "@() ()", NULL, "'thing'" },
  { "call_name", "@() ()", NULL, "'thing.call_name'" },
};

static void
test_call_arguments (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, "thing");

  for (gsize i = 0; i < G_N_ELEMENTS (call_cases); i++)
    {
      const CallCase *c = &call_cases[i];
      g_autoptr(GError) error = NULL;
      /* g_variant_parse() gives non-floating values: the calls below take
       * their own references, these are ours to free. */
      g_autoptr(GVariant) params = g_variant_parse (NULL, c->params, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr(GVariant) kwargs = c->kwargs ? g_variant_parse (G_VARIANT_TYPE_VARDICT, c->kwargs, NULL, NULL, &error) : NULL;
      g_assert_no_error (error);

      g_test_message ("%s%s **%s", c->method, c->params, c->kwargs ? c->kwargs : "{}");
      g_autoptr(GVariant) result = pyro_proxy_call_full_sync (proxy, c->method, params, kwargs, PYRO_CALL_NONE,
                                                              NULL, NULL, &error);
      if (c->reply != NULL)
        {
          g_assert_no_error (error);
          g_autoptr(GVariant) expected = g_variant_parse (NULL, c->reply, NULL, NULL, NULL);
          g_assert_nonnull (expected);
          g_autoptr(GVariant) typed = pyro_proxy_call_full_sync (proxy, c->method, params, kwargs,
                                                                 PYRO_CALL_NONE, g_variant_get_type (expected),
                                                                 NULL, &error);
          g_assert_no_error (error);
          g_assert_true (g_variant_equal (typed, expected));
        }
      else
        {
          g_assert_null (result);
          g_assert_error (error, PYRO_ERROR, (gint) c->code);
          g_assert_true (pyro_error_is_remote (error));
          if (c->message != NULL)
            g_assert_cmpstr (error->message, ==, c->message);
          else
            g_assert_nonnull (strstr (error->message, c->part));
        }
    }

  /* after all those errors the same connection still serves */
  g_assert_cmpint (call_int (proxy, "add", g_variant_new ("(xx)", (gint64) 20, (gint64) 22)), ==, 42);
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* ---- instance modes ----------------------------------------------------------- */

typedef struct
{
  gint count;
} Counter;

static gint counters_made;
static gint counters_freed;

static gpointer
counter_new (gpointer class_data)
{
  g_atomic_int_inc (&counters_made);
  return g_new0 (Counter, 1);
}

static void
counter_free (gpointer instance)
{
  g_atomic_int_inc (&counters_freed);
  g_free (instance);
}

static GVariant *
counter_next (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Counter *counter = self;
  return g_variant_new_int64 (g_atomic_int_add (&counter->count, 1) + 1);
}

static const PyroMethod counter_methods[] = {
  { "next", "()", "x", counter_next, 0, NULL },
  { NULL }
};

typedef struct
{
  PyroClass klass;
  gint64 expected[4];  /* the results of calls a, a, b, a (Pyro4's own numbers) */
} ModeCase;

static const ModeCase mode_cases[] = {
  { { "Counter", counter_methods, NULL, PYRO_INSTANCE_SINGLE, counter_new, counter_free }, { 1, 2, 3, 4 } },
  { { "Counter", counter_methods, NULL, PYRO_INSTANCE_SESSION, counter_new, counter_free }, { 1, 2, 1, 3 } },
  { { "Counter", counter_methods, NULL, PYRO_INSTANCE_PERCALL, counter_new, counter_free }, { 1, 1, 1, 1 } },
};

static void
setup_counter (PyroDaemon *daemon, gpointer user_data)
{
  const ModeCase *mc = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroUri) uri = pyro_daemon_register_class (daemon, &mc->klass, NULL, "counter", &error);
  g_assert_no_error (error);
}

static gboolean
freed_reaches (gpointer data)
{
  return g_atomic_int_get (&counters_freed) >= GPOINTER_TO_INT (data);
}

static void
test_instance_mode (gconstpointer data)
{
  const ModeCase *mc = data;
  g_atomic_int_set (&counters_made, 0);
  g_atomic_int_set (&counters_freed, 0);

  PyroTestDaemon *td = pyro_test_daemon_start (setup_counter, (gpointer) mc);
  g_autoptr(PyroProxy) a = proxy_for (td, "counter");
  g_autoptr(PyroProxy) b = proxy_for (td, "counter");
  PyroProxy *order[4] = { a, a, b, a };

  for (int i = 0; i < 4; i++)
    g_assert_cmpint (call_int (order[i], "next", NULL), ==, mc->expected[i]);

  switch (mc->klass.instance_mode)
    {
    case PYRO_INSTANCE_SINGLE:
      g_assert_cmpint (g_atomic_int_get (&counters_made), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&counters_freed), ==, 0);
      break;
    case PYRO_INSTANCE_SESSION:
      g_assert_cmpint (g_atomic_int_get (&counters_made), ==, 2);
      g_assert_cmpint (g_atomic_int_get (&counters_freed), ==, 0);
      /* closing a connection frees its session instance (and only that one) */
      pyro_proxy_release (b);
      g_assert_true (pyro_test_wait_until (freed_reaches, GINT_TO_POINTER (1)));
      g_assert_cmpint (call_int (a, "next", NULL), ==, 4);
      g_assert_cmpint (g_atomic_int_get (&counters_freed), ==, 1);
      /* b's next connection is a new session */
      g_assert_cmpint (call_int (b, "next", NULL), ==, 1);
      break;
    case PYRO_INSTANCE_PERCALL:
      /* each instance is freed before its call's reply is sent */
      g_assert_cmpint (g_atomic_int_get (&counters_made), ==, 4);
      g_assert_cmpint (g_atomic_int_get (&counters_freed), ==, 4);
      break;
    }

  g_clear_object (&a);
  g_clear_object (&b);
  pyro_test_daemon_stop (td);
  /* whatever is left is freed with the daemon */
  g_assert_cmpint (g_atomic_int_get (&counters_freed), ==, g_atomic_int_get (&counters_made));
}

/* Without instance_new every mode runs on the class data itself, which
 * belongs to whoever registered the class: the daemon never frees it, not
 * even when a session ends. */
static const PyroClass shared_counter_class = {
  "Counter", counter_methods, NULL, PYRO_INSTANCE_SESSION, NULL, counter_free,
};

static void
setup_shared_counter (PyroDaemon *daemon, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroUri) uri = pyro_daemon_register_class (daemon, &shared_counter_class, user_data, "counter", &error);
  g_assert_no_error (error);
}

static void
test_instance_mode_class_data (void)
{
  Counter *shared = g_new0 (Counter, 1);
  g_atomic_int_set (&counters_freed, 0);

  PyroTestDaemon *td = pyro_test_daemon_start (setup_shared_counter, shared);
  g_autoptr(PyroProxy) a = proxy_for (td, "counter");
  g_autoptr(PyroProxy) b = proxy_for (td, "counter");

  g_assert_cmpint (call_int (a, "next", NULL), ==, 1);
  g_assert_cmpint (call_int (b, "next", NULL), ==, 2);
  pyro_proxy_release (b);  /* b's session ends */
  g_assert_cmpint (call_int (a, "next", NULL), ==, 3);
  g_clear_object (&a);
  g_clear_object (&b);
  pyro_test_daemon_stop (td);  /* every session has ended */

  g_assert_cmpint (g_atomic_int_get (&counters_freed), ==, 0);
  g_assert_cmpint (shared->count, ==, 3);
  g_free (shared);
}

/* A warehouse-like single instance that registered an item object of its
 * own unregisters it when it is freed: freeing it happens in
 * pyro_daemon_unregister(), which must not hold the daemon's lock then. */
typedef struct
{
  Counter     counter;  /* first: the counter's methods run on it */
  PyroDaemon *daemon;
} Owner;

static gpointer
owner_new (gpointer class_data)
{
  Owner *owner = g_new0 (Owner, 1);
  owner->daemon = class_data;
  return owner;
}

static void
owner_free (gpointer instance)
{
  Owner *owner = instance;
  g_assert_true (pyro_daemon_unregister (owner->daemon, "item"));
  g_free (owner);
}

static const PyroClass owner_class = {
  "Owner", counter_methods, NULL, PYRO_INSTANCE_SINGLE, owner_new, owner_free,
};

typedef struct
{
  PyroDaemon *daemon;
  GMutex      lock;
  GCond       done_cond;
  gboolean    done;
} Unregistering;

static gpointer
unregister_owner (gpointer data)
{
  Unregistering *u = data;
  g_assert_true (pyro_daemon_unregister (u->daemon, "owner"));
  g_mutex_lock (&u->lock);
  u->done = TRUE;
  g_cond_signal (&u->done_cond);
  g_mutex_unlock (&u->lock);
  return NULL;
}

static gpointer
run_request_loop (gpointer daemon)
{
  pyro_daemon_request_loop (daemon);
  return NULL;
}

static void
test_unregister_calls_back (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroDaemon) daemon = pyro_daemon_new ("localhost", 0, &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) owner_uri = pyro_daemon_register_class (daemon, &owner_class, daemon, "owner", &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) item_uri = pyro_daemon_register_object (daemon, &thing_class, NULL, "item", &error);
  g_assert_no_error (error);

  /* a call makes the single instance */
  g_autoptr(GThread) loop = g_thread_new ("loop", run_request_loop, daemon);
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (pyro_uri_to_string (owner_uri));
  g_assert_cmpint (call_int (proxy, "next", NULL), ==, 1);
  g_clear_object (&proxy);  /* (its connection's session holds nothing of a single instance) */

  /* In a thread, bounded: a deadlock fails the test instead of hanging it. */
  Unregistering u = { daemon };
  g_mutex_init (&u.lock);
  g_cond_init (&u.done_cond);
  GThread *worker = g_thread_new ("unregister", unregister_owner, &u);
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&u.lock);
  while (!u.done && g_cond_wait_until (&u.done_cond, &u.lock, deadline))
    ;
  gboolean done = u.done;
  g_mutex_unlock (&u.lock);
  if (!done)
    g_error ("pyro_daemon_unregister() did not return: the daemon's lock is held while instance_free() runs");
  g_thread_join (worker);

  g_assert_false (pyro_daemon_unregister (daemon, "item"));  /* gone already */
  pyro_daemon_shutdown (daemon);
  g_thread_join (g_steal_pointer (&loop));
  g_mutex_clear (&u.lock);
  g_cond_clear (&u.done_cond);
}

/* ---- oneway --------------------------------------------------------------------- */

static GVariant *
tally_bump (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Counter *counter = self;
  g_assert_true (pyro_invocation_is_oneway (invocation));
  g_atomic_int_inc (&counter->count);
  return NULL;
}

static GVariant *
tally_bump_fail (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "oneway failure");
  return NULL;
}

static GVariant *
tally_total (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Counter *counter = self;
  g_assert_false (pyro_invocation_is_oneway (invocation));
  return g_variant_new_int64 (g_atomic_int_get (&counter->count));
}

static const PyroMethod tally_methods[] = {
  { "bump", "()", NULL, tally_bump, PYRO_METHOD_ONEWAY, NULL },
  { "bump_fail", "()", NULL, tally_bump_fail, PYRO_METHOD_ONEWAY, NULL },
  { "total", "()", "x", tally_total, 0, NULL },
  { "fail", "()", "x", thing_fail, 0, NULL },
  { NULL }
};

/* A session class: a total that survives only on the same connection. */
static const PyroClass tally_class = {
  "Tally", tally_methods, NULL, PYRO_INSTANCE_SESSION, counter_new, counter_free,
};

static void
setup_tally (PyroDaemon *daemon, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroUri) uri = pyro_daemon_register_class (daemon, &tally_class, NULL, "tally", &error);
  g_assert_no_error (error);
}

static void
setup_tally_threaded (PyroDaemon *daemon, gpointer user_data)
{
  pyro_daemon_set_oneway_threaded (daemon, TRUE);
  setup_tally (daemon, user_data);
}

typedef struct
{
  PyroProxy *proxy;
  gint64     total;
} TotalWait;

static gboolean
total_reaches (gpointer data)
{
  TotalWait *wait = data;
  return call_int (wait->proxy, "total", NULL) >= wait->total;
}

/* In order (@data TRUE, the default), every oneway call has run when the
 * next sync call answers; threaded (pyro_daemon_set_oneway_threaded
 * (TRUE)) they all run, but perhaps after it. */
static void
test_oneway (gconstpointer data)
{
  gboolean in_order = GPOINTER_TO_INT (data);
  PyroTestDaemon *td = pyro_test_daemon_start (in_order ? setup_tally : setup_tally_threaded, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, "tally");
  g_autoptr(GError) error = NULL;
  TotalWait wait = { proxy, 0 };

  g_atomic_int_set (&counters_made, 0);
  /* the metadata marks bump oneway, so a plain call sends it oneway too */
  for (int i = 0; i < 500; i++)
    g_assert_true (pyro_proxy_call_oneway (proxy, "bump", NULL, &error));
  for (int i = 0; i < 500; i++)
    {
      g_autoptr(GVariant) none = pyro_proxy_call_sync (proxy, "bump", NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_is_of_type (none, G_VARIANT_TYPE ("mv")));
      g_assert_null (g_variant_get_maybe (none));
    }
  wait.total = 1000;
  if (in_order)
    g_assert_cmpint (call_int (proxy, "total", NULL), ==, 1000);
  else
    g_assert_true (pyro_test_wait_until (total_reaches, &wait));
  g_assert_cmpint (call_int (proxy, "total", NULL), ==, 1000);  /* none twice */

  /* failing oneway calls send nothing back (a stray reply would put the
   * proxy out of sequence), and the connection (the session) lives on */
  g_assert_true (pyro_proxy_call_oneway (proxy, "bump_fail", NULL, &error));
  g_assert_no_error (error);
  g_autoptr(GVariant) none = pyro_proxy_call_full_sync (proxy, "fail", NULL, NULL, PYRO_CALL_ONEWAY, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pyro_proxy_call_oneway (proxy, "bump", NULL, &error));
  wait.total = 1001;
  if (in_order)
    g_assert_cmpint (call_int (proxy, "total", NULL), ==, 1001);
  else
    g_assert_true (pyro_test_wait_until (total_reaches, &wait));
  g_assert_cmpint (call_int (proxy, "total", NULL), ==, 1001);
  g_assert_cmpint (g_atomic_int_get (&counters_made), ==, 1);

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* A per-call class whose instances need no freeing (no instance_free), its
 * oneway calls in threads of their own. */
static gint static_bumps;  /* atomic */

static gpointer
static_instance_new (gpointer class_data)
{
  return class_data;  /* nothing allocated: nothing to free */
}

static GVariant *
static_bump (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_atomic_int_inc (&static_bumps);
  return NULL;
}

static const PyroMethod static_methods[] = {
  { "bump", "()", NULL, static_bump, PYRO_METHOD_ONEWAY, NULL },
  { NULL }
};

static const PyroClass static_class = {
  "Static", static_methods, NULL, PYRO_INSTANCE_PERCALL, static_instance_new, NULL,
};

static void
setup_static_threaded (PyroDaemon *daemon, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  pyro_daemon_set_oneway_threaded (daemon, TRUE);
  g_autoptr(PyroUri) uri = pyro_daemon_register_class (daemon, &static_class, &static_bumps, "static", &error);
  g_assert_no_error (error);
}

static gboolean
static_bumps_reach (gpointer count)
{
  return g_atomic_int_get (&static_bumps) >= GPOINTER_TO_INT (count);
}

static void
test_oneway_threaded_no_instance_free (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_static_threaded, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, "static");
  g_autoptr(GError) error = NULL;
  g_atomic_int_set (&static_bumps, 0);

  for (int i = 0; i < 20; i++)
    g_assert_true (pyro_proxy_call_oneway (proxy, "bump", NULL, &error));
  g_assert_true (pyro_test_wait_until (static_bumps_reach, GINT_TO_POINTER (20)));

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* ---- Pyro.Daemon ------------------------------------------------------------------ */

static void
test_daemon_object (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  guint16 port = pyro_daemon_get_port (pyro_test_daemon_get (td));
  g_autoptr(PyroProxy) proxy = proxy_for (td, PYRO_DAEMON_OBJECT_ID);
  g_autoptr(GError) error = NULL;

  g_autoptr(GVariant) pong = pyro_proxy_call_sync (proxy, "ping", NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (pong, G_VARIANT_TYPE ("mv")));
  g_assert_null (g_variant_get_maybe (pong));

  g_autoptr(GVariant) ids = pyro_proxy_call_sync (proxy, "registered", NULL, G_VARIANT_TYPE_STRING_ARRAY, NULL, &error);
  g_assert_no_error (error);
  g_autofree const char **id_list = g_variant_get_strv (ids, NULL);
  g_assert_cmpuint (g_strv_length ((char **) id_list), ==, 2);
  g_assert_true (g_strv_contains (id_list, PYRO_DAEMON_OBJECT_ID));
  g_assert_true (g_strv_contains (id_list, "thing"));

  g_autoptr(GVariant) info = pyro_proxy_call_sync (proxy, "info", NULL, G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *bound = g_strdup_printf ("Pyro.Daemon bound on localhost:%u, NAT None, 2 objects registered.", port);
  g_assert_true (g_str_has_prefix (g_variant_get_string (info, NULL), bound));

  /* get_metadata(objectId, as_lists=False): the as_lists argument is optional */
  g_autoptr(GVariant) meta = pyro_proxy_call_sync (proxy, "get_metadata", g_variant_new ("(s)", "thing"),
                                                   G_VARIANT_TYPE ("a{sas}"), NULL, &error);
  g_assert_no_error (error);
  g_autofree const char **methods = NULL, **oneway = NULL, **attrs = NULL;
  g_assert_true (g_variant_lookup (meta, "methods", "^a&s", &methods));
  g_assert_true (g_variant_lookup (meta, "oneway", "^a&s", &oneway));
  g_assert_true (g_variant_lookup (meta, "attrs", "^a&s", &attrs));
  g_assert_cmpuint (g_strv_length ((char **) methods), ==, G_N_ELEMENTS (thing_methods) - 1);
  g_assert_true (g_strv_contains (methods, "add"));
  g_assert_true (g_strv_contains (methods, "stop"));
  g_assert_cmpuint (g_strv_length ((char **) oneway), ==, 0);
  g_assert_cmpuint (g_strv_length ((char **) attrs), ==, 0);

  g_autoptr(GVariant) own = pyro_proxy_call_full_sync (proxy, "get_metadata", g_variant_new ("(s)", PYRO_DAEMON_OBJECT_ID),
                                                       g_variant_new_parsed ("{'as_lists': <true>}"), PYRO_CALL_NONE,
                                                       G_VARIANT_TYPE ("a{sas}"), NULL, &error);
  g_assert_no_error (error);
  g_autofree const char **own_methods = NULL;
  g_assert_true (g_variant_lookup (own, "methods", "^a&s", &own_methods));
  static const char *const daemon_methods[] = {
    "get_metadata", "registered", "ping", "close_stream", "get_next_stream_item", "info",
  };
  g_assert_cmpuint (g_strv_length ((char **) own_methods), ==, G_N_ELEMENTS (daemon_methods));
  for (gsize i = 0; i < G_N_ELEMENTS (daemon_methods); i++)
    g_assert_true (g_strv_contains (own_methods, daemon_methods[i]));

  /* the metadata of the connect handshake agrees */
  g_auto(GStrv) proxy_methods = pyro_proxy_get_methods (proxy);
  g_assert_cmpuint (g_strv_length (proxy_methods), ==, G_N_ELEMENTS (daemon_methods));

  g_autoptr(GVariant) unknown = pyro_proxy_call_sync (proxy, "get_metadata", g_variant_new ("(s)", "nosuch"),
                                                      NULL, NULL, &error);
  g_assert_null (unknown);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON);
  g_assert_true (pyro_error_is_remote (error));
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "Pyro4.errors.DaemonError");
  g_assert_nonnull (strstr (error->message, "unknown object"));
  g_clear_error (&error);

  /* the connection survives the error */
  g_autoptr(GVariant) pong2 = pyro_proxy_call_sync (proxy, "ping", NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* ---- the worker pool ------------------------------------------------------------------- */

static void
setup_small_pool (PyroDaemon *daemon, gpointer user_data)
{
  pyro_daemon_set_pool_size (daemon, 2);
  setup_thing (daemon, user_data);
}

typedef struct
{
  PyroTestDaemon *td;
  PyroProxy      *proxy;
} PoolRetry;

static gboolean
pool_connect_succeeds (gpointer data)
{
  PoolRetry *retry = data;
  g_autoptr(GError) error = NULL;

  g_clear_object (&retry->proxy);
  retry->proxy = proxy_for (retry->td, "thing");
  if (pyro_proxy_connect (retry->proxy, NULL, &error))
    return TRUE;
  /* until the freed worker has finished, the refusal is the only answer */
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
  return FALSE;
}

static void
test_pool_limit (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_small_pool, NULL);
  g_autoptr(PyroProxy) p1 = proxy_for (td, "thing");
  g_autoptr(PyroProxy) p2 = proxy_for (td, "thing");
  g_autoptr(PyroProxy) p3 = proxy_for (td, "thing");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (call_int (p1, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1)), ==, 2);
  g_assert_cmpint (call_int (p2, "add", g_variant_new ("(xx)", (gint64) 2, (gint64) 2)), ==, 4);

  /* both workers are taken by connected clients: Pyro4's refusal */
  g_autoptr(GVariant) refused = pyro_proxy_call_sync (p3, "add", g_variant_new ("(xx)", (gint64) 3, (gint64) 3),
                                                      G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
  g_assert_nonnull (strstr (error->message, "no free workers"));
  g_clear_error (&error);

  /* one client leaves; as soon as its worker is done a newcomer is served */
  pyro_proxy_release (p1);
  PoolRetry retry = { td, NULL };
  g_assert_true (pyro_test_wait_until (pool_connect_succeeds, &retry));
  g_assert_cmpint (call_int (retry.proxy, "add", g_variant_new ("(xx)", (gint64) 4, (gint64) 4)), ==, 8);
  g_assert_cmpint (call_int (p2, "add", g_variant_new ("(xx)", (gint64) 5, (gint64) 5)), ==, 10);

  g_clear_object (&retry.proxy);
  g_clear_object (&p1);
  g_clear_object (&p2);
  g_clear_object (&p3);
  pyro_test_daemon_stop (td);
}

/* Without pyro_daemon_set_pool_size() a daemon serves Pyro4's default of 40
 * connections at once (THREADPOOL_SIZE) and refuses the 41st. */
static void
test_pool_default (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < PYRO_DAEMON_DEFAULT_POOL_SIZE; i++)
    {
      PyroProxy *proxy = proxy_for (td, "thing");
      g_ptr_array_add (clients, proxy);
      g_assert_cmpint (call_int (proxy, "add", g_variant_new ("(xx)", (gint64) i, (gint64) 1)), ==, i + 1);
    }

  g_autoptr(PyroProxy) one_too_many = proxy_for (td, "thing");
  g_assert_false (pyro_proxy_connect (one_too_many, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);
  g_assert_nonnull (strstr (error->message, "no free workers"));

  /* one leaves: a newcomer gets its worker */
  g_ptr_array_remove_index (clients, 0);
  PoolRetry retry = { td, NULL };
  g_assert_true (pyro_test_wait_until (pool_connect_succeeds, &retry));
  g_assert_cmpint (call_int (retry.proxy, "add", g_variant_new ("(xx)", (gint64) 4, (gint64) 4)), ==, 8);

  g_clear_object (&retry.proxy);
  g_clear_pointer (&clients, g_ptr_array_unref);
  pyro_test_daemon_stop (td);
}

/* ---- who accepts while a method runs (request loop) ---------------------- */

/* While pyro_daemon_request_loop() runs, the pool thread that accepted a
 * client serves it and nobody else waits for clients, until its lease runs
 * out and the daemon makes another thread the leader.  These tests fail
 * (their calls time out) if that hand-over does not happen. */

typedef struct
{
  GMutex   lock;
  GCond    changed;
  gboolean started;  /* wait_open() is running */
  gboolean open;     /* the test let it return */
} Gate;

static Gate gate;

/* wait_open(): returns TRUE once the test opens the gate, FALSE if nobody
 * does within PYRO_TEST_TIMEOUT_S. */
static GVariant *
gate_wait_open (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;

  g_mutex_lock (&gate.lock);
  gate.started = TRUE;
  g_cond_broadcast (&gate.changed);
  while (!gate.open && g_cond_wait_until (&gate.changed, &gate.lock, deadline))
    ;
  gboolean opened = gate.open;
  g_mutex_unlock (&gate.lock);
  return g_variant_new_boolean (opened);
}

/* add_twice_here(x): x + x, asked of "thing" on this same daemon over a
 * new connection, while this call keeps its own connection's thread. */
static GVariant *
gate_add_twice_here (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 x;
  g_variant_get (args, "(x)", &x);
  g_autoptr(PyroUri) uri = pyro_daemon_uri_for (pyro_invocation_get_daemon (invocation), "thing");
  g_autoptr(PyroProxy) thing = pyro_proxy_new_for_uri (uri);
  pyro_proxy_set_timeout (thing, PYRO_TEST_TIMEOUT_S / 2);
  return pyro_proxy_call_sync (thing, "add", g_variant_new ("(xx)", x, x), G_VARIANT_TYPE_INT64, NULL, error);
}

/* wait_open() as a oneway method: "start the work". */
static GVariant *
gate_start_waiting (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_variant_unref (g_variant_ref_sink (gate_wait_open (self, args, invocation, error)));
  return NULL;
}

static GVariant *
gate_ping (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_boolean (TRUE);
}

static const PyroMethod gate_methods[] = {
  { "wait_open", "()", "b", gate_wait_open, 0, NULL },
  { "start_waiting", "()", NULL, gate_start_waiting, PYRO_METHOD_ONEWAY, NULL },
  { "ping", "()", "b", gate_ping, 0, NULL },
  { "add_twice_here", "(x)", "x", gate_add_twice_here, 0, "x" },
  { NULL }
};

static const PyroClass gate_class = {
  .name = "Gate",
  .methods = gate_methods,
};

static void
setup_gate (PyroDaemon *daemon, gpointer user_data)
{
  pyro_test_register (daemon, &thing_class, NULL, "thing");
  pyro_test_register (daemon, &gate_class, NULL, "gate");
}

static gboolean
gate_started (gpointer data)
{
  g_mutex_lock (&gate.lock);
  gboolean started = gate.started;
  g_mutex_unlock (&gate.lock);
  return started;
}

static gpointer
call_wait_open (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) opened = pyro_proxy_call_sync (data, "wait_open", NULL, G_VARIANT_TYPE_BOOLEAN, NULL, &error);

  g_assert_no_error (error);
  return GINT_TO_POINTER (g_variant_get_boolean (opened));
}

/* A method that runs long does not keep new clients waiting for it. */
static void
test_slow_method_newcomer (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_gate, NULL);
  g_autoptr(PyroProxy) slow = proxy_for (td, "gate");
  gate.started = gate.open = FALSE;

  /* The first client is the leader's: the call runs in its thread. */
  GThread *caller = g_thread_new ("slow call", call_wait_open, slow);
  g_assert_true (pyro_test_wait_until (gate_started, NULL));

  /* A newcomer is accepted and served while that call still runs. */
  g_autoptr(PyroProxy) newcomer = proxy_for (td, "thing");
  g_assert_cmpint (call_int (newcomer, "add", g_variant_new ("(xx)", (gint64) 20, (gint64) 22)), ==, 42);

  g_mutex_lock (&gate.lock);
  gate.open = TRUE;
  g_cond_broadcast (&gate.changed);
  g_mutex_unlock (&gate.lock);
  /* TRUE: the slow call was still waiting when the newcomer got its answer. */
  g_assert_true (GPOINTER_TO_INT (g_thread_join (caller)));

  g_clear_object (&slow);
  g_clear_object (&newcomer);
  pyro_test_daemon_stop (td);
}

static void
open_gate (void)
{
  g_mutex_lock (&gate.lock);
  gate.open = TRUE;
  g_cond_broadcast (&gate.changed);
  g_mutex_unlock (&gate.lock);
}

static void
setup_gate_oneway_threaded (PyroDaemon *daemon, gpointer user_data)
{
  pyro_daemon_set_oneway_threaded (daemon, TRUE);
  setup_gate (daemon, user_data);
}

/* With pyro_daemon_set_oneway_threaded (TRUE), a oneway method that runs
 * long ("start the work") does not hold up the next calls on the same
 * connection: it runs in a thread of its own, as in Pyro4
 * (ONEWAY_THREADED). */
static void
test_oneway_long_call (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_gate_oneway_threaded, NULL);
  g_autoptr(PyroProxy) proxy = proxy_for (td, "gate");
  g_autoptr(GError) error = NULL;
  gate.started = gate.open = FALSE;

  g_assert_true (pyro_proxy_call_oneway (proxy, "start_waiting", NULL, &error));
  g_assert_true (pyro_test_wait_until (gate_started, NULL));
  /* Bounded below the gate's own wait: an answer only after the gate's
   * deadline would be a timeout here. */
  pyro_proxy_set_timeout (proxy, PYRO_TEST_TIMEOUT_S / 4);
  g_autoptr(GVariant) pong = pyro_proxy_call_sync (proxy, "ping", NULL, G_VARIANT_TYPE_BOOLEAN, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_get_boolean (pong));

  open_gate ();
  g_clear_object (&proxy);
  pyro_test_daemon_stop (td);
}

/* A method may call its own daemon over a new connection. */
static void
test_method_calls_own_daemon (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_gate, NULL);
  g_autoptr(PyroProxy) gate_proxy = proxy_for (td, "gate");

  for (gint64 x = 1; x <= 3; x++)
    {
      /* A new connection each time, so that the leader serves it. */
      pyro_proxy_release (gate_proxy);
      g_assert_cmpint (call_int (gate_proxy, "add_twice_here", g_variant_new ("(x)", x)), ==, 2 * x);
    }

  g_clear_object (&gate_proxy);
  pyro_test_daemon_stop (td);
}

/* Short clients from several threads at once, a long-lived one among
 * them: leaders come and go (a lease runs out while the long-lived client
 * is served), and every call must still be answered, and right. */
#define SHORT_THREADS 6
#define SHORT_CLIENTS 60

typedef struct
{
  PyroTestDaemon *td;
  gint64          id;
  guint           answered;
} ShortClients;

static gpointer
run_short_clients (gpointer data)
{
  ShortClients *sc = data;

  for (gint64 i = 0; i < SHORT_CLIENTS; i++)
    {
      g_autoptr(PyroProxy) proxy = proxy_for (sc->td, "thing");
      if (call_int (proxy, "add", g_variant_new ("(xx)", sc->id, i)) == sc->id + i)
        sc->answered++;
    }
  return NULL;
}

static void
test_short_and_long_clients (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  g_autoptr(PyroProxy) long_lived = proxy_for (td, "thing");
  ShortClients clients[SHORT_THREADS];
  GThread *threads[SHORT_THREADS];

  g_assert_cmpint (call_int (long_lived, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1)), ==, 2);
  for (int t = 0; t < SHORT_THREADS; t++)
    {
      clients[t] = (ShortClients) { td, 1000 * (t + 1), 0 };
      threads[t] = g_thread_new ("short clients", run_short_clients, &clients[t]);
    }
  /* The long-lived client keeps calling on its one connection meanwhile. */
  for (gint64 i = 0; i < SHORT_CLIENTS; i++)
    g_assert_cmpint (call_int (long_lived, "add", g_variant_new ("(xx)", i, i)), ==, 2 * i);
  for (int t = 0; t < SHORT_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_cmpuint (clients[t].answered, ==, SHORT_CLIENTS);
    }

  g_clear_object (&long_lived);
  pyro_test_daemon_stop (td);
}

/* ---- shutdown --------------------------------------------------------------------------- */

static void
test_shutdown_with_clients (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  g_autoptr(PyroProxy) p1 = proxy_for (td, "thing");
  g_autoptr(PyroProxy) p2 = proxy_for (td, "thing");
  g_autoptr(PyroProxy) p3 = proxy_for (td, PYRO_DAEMON_OBJECT_ID);
  PyroProxy *proxies[] = { p1, p2, p3 };
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (call_int (p1, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1)), ==, 2);
  g_assert_cmpint (call_int (p2, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2)), ==, 3);
  g_assert_true (pyro_proxy_connect (p3, NULL, &error));

  /* returns once request_loop() has returned in the daemon thread */
  pyro_test_daemon_stop (td);

  for (gsize i = 0; i < G_N_ELEMENTS (proxies); i++)
    {
      g_autoptr(GVariant) result = pyro_proxy_call_sync (proxies[i], i < 2 ? "add" : "ping",
                                                         i < 2 ? g_variant_new ("(xx)", (gint64) 1, (gint64) 1) : NULL,
                                                         NULL, NULL, &error);
      g_assert_null (result);
      g_assert_nonnull (error);
      g_assert_true (error->domain == PYRO_ERROR);
      g_assert_true (error->code == PYRO_ERROR_COMMUNICATION || error->code == PYRO_ERROR_CONNECTION_CLOSED);
      g_assert_false (pyro_error_is_remote (error));
      g_clear_error (&error);
    }
}

/* The thread of a daemon that holds its only reference: it runs the
 * request loop and drops the daemon as soon as the loop returns. */
static gpointer
loop_then_drop_thread (gpointer data)
{
  PyroDaemon *daemon = data;

  pyro_daemon_request_loop (daemon);
  g_object_unref (daemon);
  return NULL;
}

/* pyro_daemon_shutdown() from a thread that holds no reference, while the
 * loop's thread drops the last one as soon as the loop returns, which may
 * be before shutdown() itself has returned.  shutdown() must not touch a
 * freed daemon then (it once did: a hang, or a report under ASan).  A
 * race, so it is run many times. */
static void
test_shutdown_last_reference (void)
{
  for (int i = 0; i < 200; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GMainContext) context = g_main_context_new ();

      g_main_context_push_thread_default (context);
      PyroDaemon *daemon = pyro_daemon_new (NULL, 0, &error);
      g_assert_no_error (error);
      g_main_context_pop_thread_default (context);

      GThread *thread = g_thread_new ("daemon-owner", loop_then_drop_thread, daemon);
      pyro_daemon_shutdown (daemon);
      g_thread_join (thread);
    }
}

/* A daemon whose request loop we watch ourselves. */
typedef struct
{
  PyroDaemon *daemon;
  GMutex      lock;
  GCond       cond;
  gboolean    loop_returned;
} LoopWatch;

static gpointer
watched_loop_thread (gpointer data)
{
  LoopWatch *watch = data;

  pyro_daemon_request_loop (watch->daemon);
  g_mutex_lock (&watch->lock);
  watch->loop_returned = TRUE;
  g_cond_signal (&watch->cond);
  g_mutex_unlock (&watch->lock);
  return NULL;
}

static void
test_shutdown_from_method (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();
  LoopWatch watch = { NULL };

  g_mutex_init (&watch.lock);
  g_cond_init (&watch.cond);
  g_main_context_push_thread_default (context);
  watch.daemon = pyro_daemon_new (NULL, 0, &error);
  g_assert_no_error (error);
  g_main_context_pop_thread_default (context);
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (watch.daemon, &thing_class, NULL, "thing", &error);
  g_assert_no_error (error);
  GThread *thread = g_thread_new ("watched-daemon", watched_loop_thread, &watch);

  g_autoptr(PyroProxy) proxy = pyro_proxy_new_for_uri (uri);
  pyro_proxy_set_timeout (proxy, PYRO_TEST_TIMEOUT_S);
  g_assert_cmpint (call_int (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1)), ==, 2);

  /* The method's own reply may or may not get out before its connection
   * is closed; what matters is that the call neither hangs nor crashes
   * and the request loop ends. */
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "stop", NULL, G_VARIANT_TYPE_STRING, NULL, &error);
  if (result != NULL)
    g_assert_cmpstr (g_variant_get_string (result, NULL), ==, "stopping");
  else
    {
      g_test_message ("stop() got: %s", error->message);
      g_assert_true (g_error_matches (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED) ||
                     g_error_matches (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION));
      g_clear_error (&error);
    }

  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&watch.lock);
  while (!watch.loop_returned)
    if (!g_cond_wait_until (&watch.cond, &watch.lock, deadline))
      g_error ("request_loop() did not return after a method shut the daemon down");
  g_mutex_unlock (&watch.lock);
  g_thread_join (thread);

  /* the daemon is gone for good */
  g_autoptr(GVariant) after = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 1), NULL, NULL, &error);
  g_assert_null (after);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION);

  g_clear_object (&proxy);
  g_object_unref (watch.daemon);
  g_mutex_clear (&watch.lock);
  g_cond_clear (&watch.cond);
}

/* ---- a daemon inside the caller's own GMainContext ---------------------------------------- */

typedef struct
{
  GVariant *result;
  GError   *error;
  gboolean  done;
} AsyncOutcome;

static void
on_call_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  AsyncOutcome *outcome = user_data;
  outcome->result = pyro_proxy_call_finish (PYRO_PROXY (source), res, &outcome->error);
  outcome->done = TRUE;
  g_main_context_wakeup (NULL);
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_main_context (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  PyroDaemon *daemon = pyro_daemon_new (NULL, 0, &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &thing_class, NULL, "thing", &error);
  g_assert_no_error (error);
  g_autoptr(PyroProxy) proxy = pyro_proxy_new_for_uri (uri);
  pyro_proxy_set_timeout (proxy, PYRO_TEST_TIMEOUT_S);

  /* No request_loop(): connections are accepted only while we iterate
   * our context, and the async callback comes back in it too. */
  for (int round = 0; round < 3; round++)
    {
      AsyncOutcome outcome = { NULL };
      gboolean timed_out = FALSE;
      GSource *timeout = g_timeout_source_new_seconds (PYRO_TEST_TIMEOUT_S);
      g_source_set_callback (timeout, on_deadline, &timed_out, NULL);
      g_source_attach (timeout, context);

      pyro_proxy_call (proxy, "add", g_variant_new ("(xx)", (gint64) round, (gint64) 100), G_VARIANT_TYPE_INT64, NULL,
                       on_call_done, &outcome);
      while (!outcome.done && !timed_out)
        g_main_context_iteration (context, TRUE);
      g_source_destroy (timeout);
      g_source_unref (timeout);

      g_assert_false (timed_out);
      g_assert_no_error (outcome.error);
      g_assert_cmpint (g_variant_get_int64 (outcome.result), ==, round + 100);
      g_variant_unref (outcome.result);
      if (round == 1)
        pyro_proxy_release (proxy);  /* the next round accepts a new connection */
    }

  g_clear_object (&proxy);
  pyro_daemon_shutdown (daemon);
  g_object_unref (daemon);
  /* leftover sources (the shutdown's quit) run while the context is ours */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
}

/* ---- results the method keeps a reference to --------------------------------

   A method may return a variant it also keeps (transfer full of a non-floating
   reference, e.g. g_variant_ref (cached)).  The daemon must take over exactly
   that one reference: if it added one of its own, every call would leak the
   value.  The cached variant's bytes count their releases. */

static gint n_kept_freed;

static void
kept_bytes_freed (gpointer data)
{
  g_free (data);
  g_atomic_int_inc (&n_kept_freed);
}

static GVariant *
kept_get (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_ref (self);
}

static const PyroMethod kept_methods[] = {
  { "get", "()", "s", kept_get, 0, NULL },
  { NULL }
};
static const PyroClass kept_class = { .name = "Kept", .methods = kept_methods };

static void
setup_kept (PyroDaemon *daemon, gpointer user_data)
{
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &kept_class, user_data, "kept", NULL);
  g_assert_nonnull (uri);
}

static void
test_result_reference (void)
{
  char *text = g_strdup ("kept value");
  GBytes *bytes = g_bytes_new_with_free_func (text, strlen (text) + 1, kept_bytes_freed, text);
  GVariant *kept = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_STRING, bytes, TRUE));
  g_bytes_unref (bytes);
  g_atomic_int_set (&n_kept_freed, 0);

  PyroTestDaemon *td = pyro_test_daemon_start (setup_kept, kept);
  g_autofree char *uri = pyro_test_daemon_uri (td, "kept");
  g_autoptr(GError) error = NULL;
  PyroProxy *proxy = pyro_proxy_new (uri, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 50; i++)
    {
      g_autoptr(GVariant) value = pyro_proxy_call_sync (proxy, "get", NULL, G_VARIANT_TYPE_STRING, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "kept value");
    }
  g_object_unref (proxy);
  pyro_test_daemon_stop (td);

  /* Only our own reference is left: dropping it frees the value. */
  g_assert_cmpint (g_atomic_int_get (&n_kept_freed), ==, 0);
  g_variant_unref (kept);
  g_assert_cmpint (g_atomic_int_get (&n_kept_freed), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/daemon/register", test_register);
  g_test_add_func ("/pyro/daemon/register-bad-table", test_register_bad_table);
  g_test_add_func ("/pyro/daemon/unregister-while-connected", test_unregister_while_connected);
  g_test_add_func ("/pyro/daemon/call-arguments", test_call_arguments);
  g_test_add_data_func ("/pyro/daemon/instance-mode/single", &mode_cases[0], test_instance_mode);
  g_test_add_data_func ("/pyro/daemon/instance-mode/session", &mode_cases[1], test_instance_mode);
  g_test_add_data_func ("/pyro/daemon/instance-mode/percall", &mode_cases[2], test_instance_mode);
  g_test_add_func ("/pyro/daemon/instance-mode/session-class-data", test_instance_mode_class_data);
  g_test_add_func ("/pyro/daemon/unregister-calls-back", test_unregister_calls_back);
  g_test_add_data_func ("/pyro/daemon/oneway/threaded", GINT_TO_POINTER (FALSE), test_oneway);
  g_test_add_data_func ("/pyro/daemon/oneway/in-order", GINT_TO_POINTER (TRUE), test_oneway);
  g_test_add_func ("/pyro/daemon/oneway/long-call", test_oneway_long_call);
  g_test_add_func ("/pyro/daemon/oneway/threaded-no-instance-free", test_oneway_threaded_no_instance_free);
  g_test_add_func ("/pyro/daemon/daemon-object", test_daemon_object);
  g_test_add_func ("/pyro/daemon/pool-limit", test_pool_limit);
  g_test_add_func ("/pyro/daemon/pool-default", test_pool_default);
  g_test_add_func ("/pyro/daemon/leader/slow-method-newcomer", test_slow_method_newcomer);
  g_test_add_func ("/pyro/daemon/leader/method-calls-own-daemon", test_method_calls_own_daemon);
  g_test_add_func ("/pyro/daemon/leader/short-and-long-clients", test_short_and_long_clients);
  g_test_add_func ("/pyro/daemon/shutdown-with-clients", test_shutdown_with_clients);
  g_test_add_func ("/pyro/daemon/shutdown-from-method", test_shutdown_from_method);
  g_test_add_func ("/pyro/daemon/shutdown-last-reference", test_shutdown_last_reference);
  g_test_add_func ("/pyro/daemon/main-context", test_main_context);
  g_test_add_func ("/pyro/daemon/result-reference", test_result_reference);

  return g_test_run ();
}
