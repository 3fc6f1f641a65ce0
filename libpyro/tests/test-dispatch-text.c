/* test-dispatch-text.c: single calls read straight from the request text.
 *
 * pyro_dispatch_call_text() serves the common INVOKE (a plain method of a
 * known object, plain arguments, no kwargs) without a JsonNode tree, and
 * declines everything else.  Every row runs one body through it and
 * through the general path (pyro_json_parse() and pyro_dispatch_call())
 * on two equal fresh daemons: a declined body must have run nothing and
 * written nothing; a body it takes must give the general path's reply
 * bytes, error, "where" text and side effects (calls, instances).
 */
#include <string.h>

#include "testutil.h"
#include "pyro-dispatch-private.h"
#include "pyro-json-private.h"

/* ---- a small class that records what ran ---------------------------------- */

/* Shared by every instance of one daemon. */
typedef struct
{
  guint    n_made;   /* instances made by instance_new */
  guint    n_freed;  /* and freed by instance_free */
  GString *log;      /* "method#serial " for every call that ran */
} Counters;

typedef struct
{
  Counters *counters;
  guint     serial;  /* 0: the registered object; 1, 2...: made instances */
  gint64    ticks;
} Probe;

static void
note_call (gpointer self, const char *method)
{
  Probe *probe = self;
  g_string_append_printf (probe->counters->log, "%s#%u ", method, probe->serial);
}

static GVariant *
probe_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  note_call (self, "add");
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

static GVariant *
probe_echo (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "echo");
  return g_variant_get_child_value (args, 0);
}

/* Shows how each typed argument arrived. */
static GVariant *
probe_typed (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "typed");
  return g_variant_new_take_string (g_variant_print (args, TRUE));
}

static GVariant *
probe_tick (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Probe *probe = self;
  note_call (self, "tick");
  return g_variant_new_int64 (++probe->ticks);
}

static GVariant *
probe_nothing (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "nothing");
  return NULL;
}

static GVariant *
probe_fail (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "fail");
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "bad thing");
  return NULL;
}

/* Returns a string although its table says int64. */
static GVariant *
probe_liar (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "liar");
  return g_variant_new_string ("not a number");
}

/* Returns bytes, which JSON cannot carry. */
static GVariant *
probe_raw (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "raw");
  return g_variant_new_bytestring ("raw");
}

static GVariant *
probe_optional (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "optional");
  return g_variant_new_int64 (1);
}

static GVariant *
next_item (gpointer state, GError **error)
{
  return NULL;
}

static GVariant *
probe_items (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  note_call (self, "items");
  pyro_invocation_return_stream (invocation, next_item, NULL, NULL);
  return NULL;
}

static GVariant *
probe_get_colour (gpointer self, PyroInvocation *invocation, GError **error)
{
  note_call (self, "colour");
  return g_variant_new_string ("blue");
}

static const PyroMethod probe_methods[] = {
  { "add", "(xx)", "x", probe_add, 0, "a,b" },
  { "echo", "(v)", "v", probe_echo, 0, "x" },
  { "typed", "(ynqiutdsasb)", "s", probe_typed, 0, NULL },
  { "tick", NULL, "x", probe_tick, 0, NULL },
  { "nothing", "()", NULL, probe_nothing, 0, NULL },
  { "fail", "()", NULL, probe_fail, 0, NULL },
  { "liar", "()", "x", probe_liar, 0, NULL },
  { "raw", "()", "ay", probe_raw, 0, NULL },
  { "optional", "(xmx)", "x", probe_optional, 0, "a,b" },
  { "items", "()", "x", probe_items, PYRO_METHOD_STREAM, NULL },
  { NULL }
};

static const PyroAttribute probe_attributes[] = {
  { "colour", "s", probe_get_colour, NULL },
  { NULL }
};

static gpointer
probe_new (gpointer class_data)
{
  Counters *counters = class_data;
  Probe *probe = g_new0 (Probe, 1);
  probe->counters = counters;
  probe->serial = ++counters->n_made;
  return probe;
}

static void
probe_free (gpointer data)
{
  Probe *probe = data;
  probe->counters->n_freed++;
  g_free (probe);
}

#define PROBE_CLASS(class_name, mode) \
  { .name = class_name, .methods = probe_methods, .attributes = probe_attributes, \
    .instance_mode = mode, .instance_new = probe_new, .instance_free = probe_free }

static const PyroClass object_class = PROBE_CLASS ("Probe", PYRO_INSTANCE_SINGLE);
static const PyroClass session_class = PROBE_CLASS ("SessionProbe", PYRO_INSTANCE_SESSION);
static const PyroClass percall_class = PROBE_CLASS ("PercallProbe", PYRO_INSTANCE_PERCALL);
static const PyroClass single_class = PROBE_CLASS ("SingleProbe", PYRO_INSTANCE_SINGLE);

/* ---- one daemon and one connection's session ------------------------------- */

typedef struct
{
  Counters     counters;
  Probe        object;
  PyroDaemon  *daemon;
  PyroSession *session;
} State;

static void
state_init (State *state)
{
  g_autoptr(GError) error = NULL;

  state->counters = (Counters) { 0, 0, g_string_new (NULL) };
  state->object = (Probe) { &state->counters, 0, 0 };
  state->daemon = pyro_daemon_new ("127.0.0.1", 0, &error);
  g_assert_no_error (error);
  /* Both paths must run a oneway call alike; run it here, so the log shows it at once. */
  pyro_daemon_set_oneway_threaded (state->daemon, FALSE);
  pyro_test_register (state->daemon, &object_class, &state->object, "probe");
  g_autoptr(PyroUri) s = pyro_daemon_register_class (state->daemon, &session_class, &state->counters, "session",
                                                     &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) p = pyro_daemon_register_class (state->daemon, &percall_class, &state->counters, "percall",
                                                     &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) o = pyro_daemon_register_class (state->daemon, &single_class, &state->counters, "single",
                                                     &error);
  g_assert_no_error (error);
  state->session = pyro_session_new (state->daemon);
}

/* Ends the connection (freeing its session instances), then the daemon. */
static void
state_clear (State *state)
{
  g_clear_pointer (&state->session, pyro_session_free);
  g_clear_object (&state->daemon);
  g_string_free (state->counters.log, TRUE);
}

/* What one run of a body did. */
typedef struct
{
  gboolean ok;      /* DONE, or the general path's TRUE */
  GString *reply;   /* starts as "untouched" */
  char    *where;
  GError  *error;
} Run;

static void
run_clear (Run *run)
{
  g_string_free (run->reply, TRUE);
  g_free (run->where);
  g_clear_error (&run->error);
}

static PyroDispatchOutcome
run_text (State *state, const char *body, gboolean oneway, Run *run)
{
  PyroDispatchOutcome outcome;

  run->reply = g_string_new ("untouched");
  outcome = pyro_dispatch_call_text (state->session, body, strlen (body), oneway, run->reply, &run->where,
                                     &run->error);
  run->ok = (outcome == PYRO_DISPATCH_DONE);
  return outcome;
}

/* The general path, as pyro-server-connection.c takes it: parse, split,
 * dispatch; "where" as its describe_call() says it. */
static void
run_general (State *state, const char *body, gboolean oneway, Run *run)
{
  g_autoptr(JsonNode) node = pyro_json_parse (body, -1, &run->error);
  JsonObject *request = (node && JSON_NODE_HOLDS_OBJECT (node)) ? json_node_get_object (node) : NULL;
  const char *object_id = request ? json_object_get_string_member_with_default (request, "object", NULL) : NULL;
  const char *method = request ? json_object_get_string_member_with_default (request, "method", NULL) : NULL;
  g_autofree char *stream_id = NULL;

  run->reply = g_string_new ("untouched");
  run->ok = FALSE;
  if (object_id == NULL || method == NULL)
    {
      if (run->error == NULL)
        g_set_error (&run->error, PYRO_ERROR, PYRO_ERROR_VALUE, "not a call");
      run->where = g_strdup ("INVOKE");
      return;
    }
  run->ok = pyro_dispatch_call (state->session, object_id, method, json_object_get_member (request, "params"),
                                json_object_get_member (request, "kwargs"), oneway, run->reply, &stream_id,
                                &run->error);
  if (!run->ok)
    {
      g_autoptr(PyroRegistration) reg = pyro_daemon_lookup (state->daemon, object_id);
      run->where = g_strdup_printf ("%s.%s", reg ? reg->klass->name : object_id, method);
    }
}

/* ---- the table ------------------------------------------------------------- */

/* A body as Pyro4 and our proxy send it. */
#define CALL(object, method, params) \
  "{\"object\": \"" object "\", \"method\": \"" method "\", \"params\": " params ", \"kwargs\": {}}"

#define DECLINED PYRO_DISPATCH_DECLINED
#define DONE     PYRO_DISPATCH_DONE
#define FAILED   PYRO_DISPATCH_FAILED

typedef struct
{
  const char         *body;
  gboolean            oneway;
  PyroDispatchOutcome outcome;
} Row;

static const Row rows[] = {
  { CALL ("probe", "add", "[1, 2]"), FALSE, DONE },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": null}", FALSE, DONE },
  { " {\n \"object\" : \"probe\" ,\"method\":\"add\",\t\"params\" : [ -1 , 0 ] , \"kwargs\" : { } } \n", FALSE,
    DONE },
  /* every plain type, through the natural mapping of "v" */
  { CALL ("probe", "echo", "[9223372036854775807]"), FALSE, DONE },
  { CALL ("probe", "echo", "[-9223372036854775808]"), FALSE, DONE },
  { CALL ("probe", "echo", "[0]"), FALSE, DONE },
  { CALL ("probe", "echo", "[2.5]"), FALSE, DONE },
  { CALL ("probe", "echo", "[-0.0]"), FALSE, DONE },
  { CALL ("probe", "echo", "[3.0]"), FALSE, DONE },
  { CALL ("probe", "echo", "[0.1]"), FALSE, DONE },
  { CALL ("probe", "echo", "[1e300]"), FALSE, DONE },
  { CALL ("probe", "echo", "[-2.5E-7]"), FALSE, DONE },
  { CALL ("probe", "echo", "[true]"), FALSE, DONE },
  { CALL ("probe", "echo", "[false]"), FALSE, DONE },
  { CALL ("probe", "echo", "[null]"), FALSE, DONE },
  { CALL ("probe", "echo", "[\"\"]"), FALSE, DONE },
  { CALL ("probe", "echo", "[\"h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe6\x97\xa5\"]"), FALSE, DONE },
  { CALL ("probe", "echo", "[[]]"), FALSE, DONE },
  { CALL ("probe", "echo", "[[1, [2, [3, []]], \"x\", true, null, 2.5]]"), FALSE, DONE },
  /* typed arguments, at their limits */
  { CALL ("probe", "typed", "[255, -32768, 65535, -2147483648, 4294967295, 9223372036854775807, 1, "
                            "\"s\", [\"a\", \"b\"], true]"), FALSE, DONE },
  { CALL ("probe", "typed", "[0, 32767, 0, 2147483647, 0, 0, -1.5e10, \"\", [], false]"), FALSE, DONE },
  /* no arguments; None; errors from the method and from its result */
  { CALL ("probe", "nothing", "[]"), FALSE, DONE },
  { CALL ("probe", "fail", "[]"), FALSE, FAILED },
  { CALL ("probe", "liar", "[]"), FALSE, FAILED },
  { CALL ("probe", "raw", "[]"), FALSE, FAILED },
  /* instance modes */
  { CALL ("probe", "tick", "[]"), FALSE, DONE },
  { CALL ("session", "tick", "[]"), FALSE, DONE },
  { CALL ("percall", "tick", "[]"), FALSE, DONE },
  { CALL ("single", "tick", "[]"), FALSE, DONE },
  { CALL ("session", "fail", "[]"), FALSE, FAILED },
  { CALL ("percall", "raw", "[]"), FALSE, FAILED },
  /* oneway: runs, nothing appended */
  { CALL ("probe", "add", "[1, 2]"), TRUE, DONE },
  { CALL ("session", "tick", "[]"), TRUE, DONE },
  { CALL ("percall", "tick", "[]"), TRUE, DONE },
  { CALL ("probe", "fail", "[]"), TRUE, FAILED },
  /* other orders in which params still come after object and method */
  { "{\"object\": \"probe\", \"method\": \"add\", \"kwargs\": {}, \"params\": [1, 2]}", FALSE, DONE },
  { "{\"method\": \"add\", \"object\": \"probe\", \"params\": [1, 2], \"kwargs\": {}}", FALSE, DONE },

  /* declined: errors the general path words */
  { CALL ("nobody", "add", "[1, 2]"), FALSE, DECLINED },
  { CALL ("probe", "nosuch", "[]"), FALSE, DECLINED },
  { CALL ("probe", "<batch>", "[]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[1]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[1, 2, 3]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[]"), FALSE, DECLINED },
  { CALL ("probe", "nothing", "[1]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[1, \"2\"]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[1.5, 2]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[1, null]"), FALSE, DECLINED },
  { CALL ("probe", "typed", "[256, 0, 0, 0, 0, 0, 1, \"s\", [], true]"), FALSE, DECLINED },
  { CALL ("probe", "typed", "[0, 0, 0, 2147483648, 0, 0, 1, \"s\", [], true]"), FALSE, DECLINED },
  { CALL ("probe", "typed", "[0, 0, 0, 0, -1, 0, 1, \"s\", [], true]"), FALSE, DECLINED },
  { CALL ("probe", "typed", "[0, 0, 0, 0, 0, 18446744073709551615, 1, \"s\", [], true]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[NaN, 2]"), FALSE, DECLINED },
  { CALL ("probe", "echo", "[Infinity]"), FALSE, DECLINED },
  { CALL ("probe", "echo", "[-Infinity]"), FALSE, DECLINED },
  { CALL ("probe", "add", "[9223372036854775808, 2]"), FALSE, DECLINED },
  { CALL ("probe", "echo", "[99999999999999999999]"), FALSE, DECLINED },
  { CALL ("probe", "echo", "[-9223372036854775809]"), FALSE, DECLINED },
  { CALL ("probe", "echo", "[{\"k\": 1}]"), FALSE, DECLINED },
  { CALL ("probe", "optional", "[1]"), FALSE, DECLINED },
  { CALL ("probe", "items", "[]"), FALSE, DECLINED },
  { CALL ("probe", "__getattr__", "[\"colour\"]"), FALSE, DECLINED },
  { CALL ("probe", "__setattr__", "[\"colour\", \"red\"]"), FALSE, DECLINED },
  /* one-letter escapes in string arguments are read; \u escapes are not */
  { CALL ("probe", "echo", "[\"a\\nb\"]"), FALSE, DONE },
  { CALL ("probe", "echo", "[\"\\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t h\xc3\xa9\\n\"]"), FALSE, DONE },
  { CALL ("probe", "echo", "[\"a\\x\"]"), FALSE, DECLINED },
  /* declined: strings the reader leaves alone */
  { CALL ("probe", "echo", "[\"\\u00e9\"]"), FALSE, DECLINED },
  { CALL ("probe", "echo", "[\"a\x01z\"]"), FALSE, DECLINED },
  { CALL ("probe", "echo", "[\"\xff\"]"), FALSE, DECLINED },
  { CALL ("pr\\u006fbe", "add", "[1, 2]"), FALSE, DECLINED },
  { CALL ("probe", "ad\\u0064", "[1, 2]"), FALSE, DECLINED },
  { "{\"obj\\u0065ct\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}}", FALSE, DECLINED },
  /* declined: kwargs, and kwargs or params of the wrong kind */
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1], \"kwargs\": {\"b\": 2}}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {\"a\": 1}}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": []}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": 5}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": {}, \"kwargs\": {}}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"nothing\", \"params\": null, \"kwargs\": {}}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": 5, \"params\": [], \"kwargs\": {}}", FALSE, DECLINED },
  { "{\"object\": null, \"method\": \"nothing\", \"params\": [], \"kwargs\": {}}", FALSE, DECLINED },
  /* declined: keys in other orders, missing, repeated or unknown */
  { "{\"object\": \"probe\", \"params\": [1, 2], \"method\": \"add\", \"kwargs\": {}}", FALSE, DECLINED },
  { "{\"params\": [1, 2], \"object\": \"probe\", \"method\": \"add\", \"kwargs\": {}}", FALSE, DECLINED },
  { "{\"method\": \"add\", \"params\": [1, 2], \"object\": \"probe\", \"kwargs\": {}}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2]}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"nothing\", \"kwargs\": {}}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}}",
    FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"nosuch\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}}",
    FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}, \"kwargs\": {}}",
    FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}, \"extra\": 1}",
    FALSE, DECLINED },
  /* declined: not JSON, not one object, or something after it */
  { CALL ("probe", "add", "[1, 2]") " x", FALSE, DECLINED },
  { CALL ("probe", "add", "[1, 2]") "}", FALSE, DECLINED },
  { CALL ("probe", "add", "[1, 2]") CALL ("probe", "add", "[1, 2]"), FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2", FALSE, DECLINED },
  { "{\"object\": \"probe\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {},}", FALSE, DECLINED },
  { "[\"probe\", \"add\", [1, 2], {}]", FALSE, DECLINED },
  { "{}", FALSE, DECLINED },
  { "", FALSE, DECLINED },
};

static const char *
outcome_name (PyroDispatchOutcome outcome)
{
  static const char *const names[] = { "DECLINED", "DONE", "FAILED" };
  return names[outcome];
}

/* Each body runs twice on each path, so that a session instance is seen
 * being reused and a percall one made again. */
#define RUNS 2

static void
check_row (const Row *row)
{
  State text_state, general_state;
  Run text[RUNS] = { 0 }, general[RUNS] = { 0 };

  state_init (&text_state);
  state_init (&general_state);
  for (guint i = 0; i < RUNS; i++)
    {
      PyroDispatchOutcome outcome = run_text (&text_state, row->body, row->oneway, &text[i]);
      if (outcome != row->outcome)
        g_error ("%s%s: %s, expected %s", row->body, row->oneway ? " (oneway)" : "", outcome_name (outcome),
                 outcome_name (row->outcome));
      run_general (&general_state, row->body, row->oneway, &general[i]);
    }
  /* Escaped, as some bodies hold bytes that are not UTF-8 on purpose. */
  g_autofree char *shown = g_strescape (row->body, NULL);
  g_test_message ("%s -> %s", shown,
                  general[0].ok ? general[0].reply->str + strlen ("untouched") : general[0].error->message);

  for (guint i = 0; i < RUNS; i++)
    {
      /* Nothing appended but a result, and no result for oneway. */
      if (row->outcome == DONE && !row->oneway)
        g_assert_cmpstr (text[i].reply->str, ==, general[i].reply->str);
      else
        g_assert_cmpstr (text[i].reply->str, ==, "untouched");

      if (row->outcome == DECLINED)
        {
          g_assert_null (text[i].where);
          g_assert_no_error (text[i].error);
          continue;
        }
      g_assert_cmpint (text[i].ok, ==, general[i].ok);
      if (text[i].ok)
        {
          g_assert_null (text[i].where);
          g_assert_no_error (text[i].error);
          continue;
        }
      g_assert_nonnull (text[i].error);
      g_assert_error (general[i].error, text[i].error->domain, text[i].error->code);
      g_assert_cmpstr (text[i].error->message, ==, general[i].error->message);
      g_assert_cmpstr (text[i].where, ==, general[i].where);
    }

  /* The same calls ran on the same instances; nothing at all if declined. */
  if (row->outcome == DECLINED)
    {
      g_assert_cmpstr (text_state.counters.log->str, ==, "");
      g_assert_cmpuint (text_state.counters.n_made, ==, 0);
    }
  else
    {
      g_assert_cmpstr (text_state.counters.log->str, !=, "");
      g_assert_cmpstr (text_state.counters.log->str, ==, general_state.counters.log->str);
      g_assert_cmpuint (text_state.counters.n_made, ==, general_state.counters.n_made);
      g_assert_cmpuint (text_state.counters.n_freed, ==, general_state.counters.n_freed);
    }
  g_clear_pointer (&text_state.session, pyro_session_free);
  g_clear_pointer (&general_state.session, pyro_session_free);
  if (row->outcome != DECLINED)
    g_assert_cmpuint (text_state.counters.n_freed, ==, general_state.counters.n_freed);

  for (guint i = 0; i < RUNS; i++)
    {
      run_clear (&text[i]);
      run_clear (&general[i]);
    }
  state_clear (&text_state);
  state_clear (&general_state);
}

static void
test_rows (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    check_row (&rows[i]);
}

/* The instance counts the modes imply, seen through the text path alone:
 * the table above only shows that both paths agree. */
static void
test_instances (void)
{
  static const struct
  {
    const char *body;
    const char *last_reply;  /* of the third call */
    const char *log;
    guint       made, freed, freed_at_end;
  } modes[] = {
    { CALL ("probe", "tick", "[]"), "3", "tick#0 tick#0 tick#0 ", 0, 0, 0 },
    { CALL ("session", "tick", "[]"), "3", "tick#1 tick#1 tick#1 ", 1, 0, 1 },
    { CALL ("percall", "tick", "[]"), "1", "tick#1 tick#2 tick#3 ", 3, 3, 3 },
    { CALL ("single", "tick", "[]"), "3", "tick#1 tick#1 tick#1 ", 1, 0, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      State state;

      state_init (&state);
      for (guint run = 0; run < 3; run++)
        {
          g_autoptr(GString) reply = g_string_new (NULL);
          g_autoptr(GError) error = NULL;
          g_autofree char *where = NULL;
          g_assert_cmpint (pyro_dispatch_call_text (state.session, modes[i].body, strlen (modes[i].body), FALSE,
                                                    reply, &where, &error), ==, DONE);
          g_assert_no_error (error);
          if (run == 2)
            g_assert_cmpstr (reply->str, ==, modes[i].last_reply);
        }
      g_assert_cmpstr (state.counters.log->str, ==, modes[i].log);
      g_assert_cmpuint (state.counters.n_made, ==, modes[i].made);
      g_assert_cmpuint (state.counters.n_freed, ==, modes[i].freed);
      g_clear_pointer (&state.session, pyro_session_free);
      g_assert_cmpuint (state.counters.n_freed, ==, modes[i].freed_at_end);
      state_clear (&state);
    }
}

/* Every cut of a good body is declined with nothing run. */
static void
test_truncated (void)
{
  static const char *const bodies[] = {
    CALL ("session", "add", "[1, 2]"),
    CALL ("probe", "echo", "[[1, [2.5, \"h\xc3\xa9\"], true, null]]"),
    CALL ("probe", "typed", "[255, -32768, 65535, -2147483648, 4294967295, 9223372036854775807, 1, "
                            "\"s\", [\"a\", \"b\"], true]"),
  };
  State state;

  state_init (&state);
  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    for (gsize len = 0; len < strlen (bodies[i]); len++)
      {
        g_autoptr(GString) reply = g_string_new (NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *where = NULL;
        /* A copy of just @len bytes, so that ASan sees any read past it. */
        g_autofree char *cut = g_memdup2 (bodies[i], len);

        g_assert_cmpint (pyro_dispatch_call_text (state.session, cut, len, FALSE, reply, &where, &error), ==,
                         DECLINED);
        g_assert_cmpuint (reply->len, ==, 0);
        g_assert_null (where);
        g_assert_no_error (error);
      }
  g_assert_cmpstr (state.counters.log->str, ==, "");
  g_assert_cmpuint (state.counters.n_made, ==, 0);
  state_clear (&state);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/dispatch-text/rows", test_rows);
  g_test_add_func ("/pyro/dispatch-text/instances", test_instances);
  g_test_add_func ("/pyro/dispatch-text/truncated", test_truncated);
  return g_test_run ();
}
