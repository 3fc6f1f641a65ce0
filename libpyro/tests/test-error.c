/* test-error.c: the PYRO_ERROR domain and remote exceptions (pyro-error.c).
 *
 * The tables below are the test:
 * - which Python class stands for which PyroErrorCode, both ways;
 * - which spellings of a class name ("builtins.X", "exceptions.X", "X")
 *   name the same class, and what an unknown class becomes;
 * - which Python class an error of another GLib domain (GIO, ...) becomes;
 * - the exact text pyro_error_format() and pyro_error_print() produce;
 * - the Pyro4 exception dicts pyro_error_to_json() builds and
 *   pyro_error_from_json() reads, malformed ones included.
 *
 * The class names are those of Pyro4 4.82 and Python 3.  The printed
 * layout is the end of what Pyro4.util.excepthook prints (protocol notes,
 * section 13.1): the "Class: message" line and the remote traceback block.
 * A C program has no local Python traceback, so that part is not printed.
 *
 * Most tables hold the expected values written out.  Two tests ask real
 * Pyro4 instead (python/pyro4_exceptions.py): which class it rebuilds for
 * a name, and what its excepthook prints for an exception dict.
 */
#include "pyro-error-private.h"
#include "testutil.h"

#include <string.h>

/* ---- real Pyro4 ------------------------------------------------------------- */

/* Runs python/pyro4_exceptions.py @mode with @items (a JSON list) on stdin.
 * @return (transfer full): its answer, a list as long as @items */
static JsonArray *
ask_pyro4 (const char *mode, JsonArray *items)
{
  g_autoptr(JsonNode) request = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (request, items);
  g_autofree char *input = json_to_string (request, FALSE);

  g_autofree char *script = pyro_test_script_path ("pyro4_exceptions.py");
  const char *argv[] = { PYRO_TEST_PYTHON, script, mode, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = -1;
  g_autoptr(GError) error = NULL;
  g_assert_true (pyro_test_run (argv, input, 60, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (status != 0)
    g_test_message ("pyro4_exceptions.py: %s", err);
  g_assert_cmpint (status, ==, 0);

  g_autoptr(JsonNode) answer = json_from_string (out, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (answer));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (answer)), ==,
                    json_array_get_length (items));
  return json_array_ref (json_node_get_array (answer));
}

/* ---- the class table -------------------------------------------------------- */

/* Every PyroErrorCode except PYRO_ERROR_REMOTE, in enum order, with the
 * Python class it stands for and its name without the module (the name
 * the traceback libpyro makes up for a Python client shows). */
typedef struct
{
  PyroErrorCode code;
  const char   *class_name;
  const char   *short_name;
} CodeClass;

static const CodeClass code_classes[] = {
  { PYRO_ERROR_FAILED,            "Pyro4.errors.PyroError",            "PyroError" },
  { PYRO_ERROR_COMMUNICATION,     "Pyro4.errors.CommunicationError",   "CommunicationError" },
  { PYRO_ERROR_CONNECTION_CLOSED, "Pyro4.errors.ConnectionClosedError", "ConnectionClosedError" },
  { PYRO_ERROR_TIMEOUT,           "Pyro4.errors.TimeoutError",         "TimeoutError" },
  { PYRO_ERROR_PROTOCOL,          "Pyro4.errors.ProtocolError",        "ProtocolError" },
  { PYRO_ERROR_MESSAGE_TOO_LARGE, "Pyro4.errors.MessageTooLargeError", "MessageTooLargeError" },
  { PYRO_ERROR_SERIALIZE,         "Pyro4.errors.SerializeError",       "SerializeError" },
  { PYRO_ERROR_SECURITY,          "Pyro4.errors.SecurityError",        "SecurityError" },
  { PYRO_ERROR_NAMING,            "Pyro4.errors.NamingError",          "NamingError" },
  { PYRO_ERROR_DAEMON,            "Pyro4.errors.DaemonError",          "DaemonError" },
  { PYRO_ERROR_UNKNOWN_METHOD,    "builtins.AttributeError",           "AttributeError" },
  { PYRO_ERROR_INVALID_ARGS,      "builtins.TypeError",                "TypeError" },
  { PYRO_ERROR_VALUE,             "builtins.ValueError",               "ValueError" },
  { PYRO_ERROR_KEY,               "builtins.KeyError",                 "KeyError" },
  { PYRO_ERROR_INDEX,             "builtins.IndexError",               "IndexError" },
  { PYRO_ERROR_RUNTIME,           "builtins.RuntimeError",             "RuntimeError" },
  { PYRO_ERROR_STOP_ITERATION,    "builtins.StopIteration",            "StopIteration" },
};

/* Code -> class: an error made with the plain GError API (a local error)
 * has no class name of its own; its class comes from its code. */
static void
test_code_to_class (void)
{
  /* One row per code, in enum order: a code added to PyroErrorCode
   * without a row here fails the test, so the table cannot fall behind. */
  g_assert_cmpuint (G_N_ELEMENTS (code_classes), ==, PYRO_ERROR_REMOTE);

  for (gsize i = 0; i < G_N_ELEMENTS (code_classes); i++)
    {
      const CodeClass *row = &code_classes[i];
      g_test_message ("code %d: %s", row->code, row->class_name);
      g_assert_cmpint (row->code, ==, (int) i);

      g_autoptr(GError) error = g_error_new_literal (PYRO_ERROR, row->code, "it broke");
      g_assert_cmpstr (pyro_error_get_remote_class (error), ==, row->class_name);
      g_assert_false (pyro_error_is_remote (error));
      g_assert_null (pyro_error_get_remote_traceback (error));

      /* printed as Python prints the class: a builtin without its module,
       * any other class with it */
      const char *printed = g_str_has_prefix (row->class_name, "builtins.")
                            ? row->short_name : row->class_name;
      /* and KeyError's str() quotes its key */
      const char *message = row->code == PYRO_ERROR_KEY ? "'it broke'" : "it broke";
      g_autofree char *expected = g_strdup_printf ("%s: %s\n", printed, message);
      g_autofree char *text = pyro_error_format (error);
      g_assert_cmpstr (text, ==, expected);
    }
}

/* Class -> code: what a remote exception of each class turns into. */
static void
test_class_to_code (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (code_classes); i++)
    {
      const CodeClass *row = &code_classes[i];
      g_test_message ("class %s: code %d", row->class_name, row->code);

      g_assert_cmpint (pyro_error_code_for_class (row->class_name), ==, row->code);

      g_autoptr(GError) error = pyro_error_new_remote (row->class_name, NULL, "it broke");
      g_assert_true (g_error_matches (error, PYRO_ERROR, row->code));
      g_assert_cmpstr (error->message, ==, "it broke");
      g_assert_cmpstr (pyro_error_get_remote_class (error), ==, row->class_name);
      g_assert_true (pyro_error_is_remote (error));
    }
}

/* PYRO_ERROR_REMOTE made locally has no class name to keep, and neither
 * has a code outside the enum: both fall back to Python's base class. */
static void
test_unlisted_codes (void)
{
  static const int codes[] = { PYRO_ERROR_REMOTE, PYRO_ERROR_REMOTE + 1, 999, -1 };

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autoptr(GError) error = g_error_new_literal (PYRO_ERROR, codes[i], "odd");
      g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "builtins.Exception");
      g_assert_false (pyro_error_is_remote (error));

      g_autofree char *text = pyro_error_format (error);
      g_assert_cmpstr (text, ==, "Exception: odd\n");
    }
}

/* ---- aliases and unknown classes -------------------------------------------- */

typedef struct
{
  const char   *class_name;
  PyroErrorCode code;
} Alias;

static const Alias aliases[] = {
  /* Python 3 calls the module of the built-in exceptions "builtins",
   * Python 2 called it "exceptions"; Pyro4 also accepts the bare name,
   * looking it up among its own errors first and the builtins second. */
  { "builtins.ValueError", PYRO_ERROR_VALUE },
  { "exceptions.ValueError", PYRO_ERROR_VALUE },
  { "ValueError", PYRO_ERROR_VALUE },
  { "exceptions.IndexError", PYRO_ERROR_INDEX },
  { "RuntimeError", PYRO_ERROR_RUNTIME },
  { "NamingError", PYRO_ERROR_NAMING },
  { "ConnectionClosedError", PYRO_ERROR_CONNECTION_CLOSED },
  /* Python has a TimeoutError of its own (an OSError), which is not
   * Pyro4's: only the bare name is Pyro4's, as Pyro4 looks it up */
  { "TimeoutError", PYRO_ERROR_TIMEOUT },
  { "Pyro4.errors.TimeoutError", PYRO_ERROR_TIMEOUT },
  { "builtins.TimeoutError", PYRO_ERROR_REMOTE },
  { "exceptions.TimeoutError", PYRO_ERROR_REMOTE },
  /* a module holds its own classes only: Pyro4 refuses these names */
  { "builtins.NamingError", PYRO_ERROR_REMOTE },
  { "exceptions.NamingError", PYRO_ERROR_REMOTE },
  { "builtins.PyroError", PYRO_ERROR_REMOTE },
  { "Pyro4.errors.ValueError", PYRO_ERROR_REMOTE },
  { "Pyro4.errors.KeyError", PYRO_ERROR_REMOTE },
  { "Pyro4.errors.StopIteration", PYRO_ERROR_REMOTE },
  /* only the module part is forgiving: the class must match exactly */
  { "builtins.valueerror", PYRO_ERROR_REMOTE },
  { "VALUEERROR", PYRO_ERROR_REMOTE },
  { "builtins.ValueError ", PYRO_ERROR_REMOTE },
  { " ValueError", PYRO_ERROR_REMOTE },
  { "builtins.ValueErrorX", PYRO_ERROR_REMOTE },
  { "builtins.Value", PYRO_ERROR_REMOTE },
  /* a module other than builtins, exceptions or Pyro4.errors is another
   * class, whatever the class is called */
  { "mymod.ValueError", PYRO_ERROR_REMOTE },
  { "__main__.ValueError", PYRO_ERROR_REMOTE },
  { "Pyro4.ValueError", PYRO_ERROR_REMOTE },
  { "Pyro4.NamingError", PYRO_ERROR_REMOTE },
  { "errors.NamingError", PYRO_ERROR_REMOTE },
  { "Pyro4.errors.sub.NamingError", PYRO_ERROR_REMOTE },
  /* one module prefix is removed, not two */
  { "builtins.builtins.ValueError", PYRO_ERROR_REMOTE },
  { "exceptions.builtins.ValueError", PYRO_ERROR_REMOTE },
  /* Python classes that have no code of their own */
  { "builtins.Exception", PYRO_ERROR_REMOTE },
  { "builtins.FileNotFoundError", PYRO_ERROR_REMOTE },
  { "builtins.ZeroDivisionError", PYRO_ERROR_REMOTE },
  { "Pyro4.errors.PyroErrorX", PYRO_ERROR_REMOTE },
  { "builtins.", PYRO_ERROR_REMOTE },
  { "", PYRO_ERROR_REMOTE },
};

/* The spellings Pyro4's own deserializer accepts for a class of the table:
 * a Python builtin with its Python 3 or Python 2 module or none, a Pyro4
 * error with its module or none. */
static const char * const builtin_modules[] = { "", "builtins.", "exceptions.", NULL };
static const char * const pyro4_modules[] = { "", "Pyro4.errors.", NULL };

static void
check_alias (const char *class_name, PyroErrorCode code)
{
  g_test_message ("%s: code %d", class_name, code);
  g_assert_cmpint (pyro_error_code_for_class (class_name), ==, code);

  /* Whatever code it gets, the error keeps the name exactly as it came,
   * so that it goes back over the wire unchanged. */
  g_autoptr(GError) error = pyro_error_new_remote (class_name, NULL, "m");
  g_assert_true (g_error_matches (error, PYRO_ERROR, code));
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, class_name);
  g_assert_true (pyro_error_is_remote (error));
}

static void
test_aliases (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    check_alias (aliases[i].class_name, aliases[i].code);

  for (gsize i = 0; i < G_N_ELEMENTS (code_classes); i++)
    {
      const CodeClass *row = &code_classes[i];
      const char * const *modules = g_str_has_prefix (row->class_name, "builtins.")
                                    ? builtin_modules : pyro4_modules;
      for (gsize m = 0; modules[m] != NULL; m++)
        {
          g_autofree char *name = g_strconcat (modules[m], row->short_name, NULL);
          check_alias (name, row->code);
        }
    }
}

/* The code of the table row for @class_name, spelled in full as Pyro4
 * names its classes ("builtins.ValueError"); PYRO_ERROR_REMOTE if none. */
static PyroErrorCode
code_of_full_name (const char *class_name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (code_classes); i++)
    if (strcmp (code_classes[i].class_name, class_name) == 0)
      return code_classes[i].code;
  return PYRO_ERROR_REMOTE;
}

/* The same names as test_aliases(), asked of Pyro4 itself: the class its
 * JSON serializer rebuilds for each must be the class of the code libpyro
 * gives, and a name Pyro4 refuses must have no code of its own. */
static void
test_pyro4_resolution (void)
{
  g_autoptr(JsonArray) names = json_array_new ();
  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    json_array_add_string_element (names, aliases[i].class_name);
  for (gsize i = 0; i < G_N_ELEMENTS (code_classes); i++)
    {
      static const char * const modules[] = { "", "builtins.", "exceptions.", "Pyro4.errors.", NULL };
      for (gsize m = 0; modules[m] != NULL; m++)
        {
          g_autofree char *name = g_strconcat (modules[m], code_classes[i].short_name, NULL);
          json_array_add_string_element (names, name);
        }
    }

  g_autoptr(JsonArray) classes = ask_pyro4 ("resolve", names);
  for (guint i = 0; i < json_array_get_length (names); i++)
    {
      const char *name = json_array_get_string_element (names, i);
      JsonNode *rebuilt = json_array_get_element (classes, i);
      const char *rebuilt_class = JSON_NODE_HOLDS_NULL (rebuilt) ? NULL : json_node_get_string (rebuilt);
      PyroErrorCode expected = rebuilt_class ? code_of_full_name (rebuilt_class) : PYRO_ERROR_REMOTE;

      g_test_message ("%s: Pyro4 rebuilds %s", name, rebuilt_class ? rebuilt_class : "nothing");
      g_assert_cmpint (pyro_error_code_for_class (name), ==, expected);
    }
}

static void
test_unknown_class (void)
{
  static const char * const traceback[] = {
    "Traceback (most recent call last):\n",
    "  File \"mymod.py\", line 3, in run\n    raise MyError('custom', 5)\n",
    "mymod.MyError: ('custom', 5)\n",
    NULL
  };

  g_autoptr(GError) error = pyro_error_new_remote ("mymod.MyError", traceback, "custom, %d", 5);
  g_assert_true (g_error_matches (error, PYRO_ERROR, PYRO_ERROR_REMOTE));
  g_assert_cmpstr (error->message, ==, "custom, 5");
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "mymod.MyError");
  g_assert_true (pyro_error_is_remote (error));
  g_assert_cmpstrv (pyro_error_get_remote_traceback (error), traceback);
}

/* ---- errors of other domains ------------------------------------------------ */

/* A GQuark is not a compile-time constant, so the rows hold the function
 * that returns the domain. */
typedef struct
{
  GQuark      (*domain) (void);
  int           code;
  const char   *class_name;
} Foreign;

static const Foreign foreign_errors[] = {
  { g_io_error_quark, G_IO_ERROR_NOT_FOUND, "builtins.FileNotFoundError" },
  { g_io_error_quark, G_IO_ERROR_PERMISSION_DENIED, "builtins.PermissionError" },
  { g_io_error_quark, G_IO_ERROR_INVALID_ARGUMENT, "builtins.ValueError" },
  { g_io_error_quark, G_IO_ERROR_TIMED_OUT, "builtins.TimeoutError" },
  /* any other I/O error is an OSError */
  { g_io_error_quark, G_IO_ERROR_FAILED, "builtins.OSError" },
  { g_io_error_quark, G_IO_ERROR_CONNECTION_REFUSED, "builtins.OSError" },
  { g_io_error_quark, G_IO_ERROR_CLOSED, "builtins.OSError" },
  { g_io_error_quark, G_IO_ERROR_CANCELLED, "builtins.OSError" },
  { g_io_error_quark, G_IO_ERROR_BROKEN_PIPE, "builtins.OSError" },
  /* any other domain is a RuntimeError, even where its code is the number
   * of a PYRO_ERROR code (G_FILE_ERROR_NOENT is 4, like PROTOCOL) */
  { g_file_error_quark, G_FILE_ERROR_NOENT, "builtins.RuntimeError" },
  { g_file_error_quark, G_FILE_ERROR_ACCES, "builtins.RuntimeError" },
  { g_key_file_error_quark, G_KEY_FILE_ERROR_NOT_FOUND, "builtins.RuntimeError" },
  { g_convert_error_quark, G_CONVERT_ERROR_ILLEGAL_SEQUENCE, "builtins.RuntimeError" },
  { json_parser_error_quark, JSON_PARSER_ERROR_INVALID_BAREWORD, "builtins.RuntimeError" },
};

static void
test_foreign_domains (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_errors); i++)
    {
      const Foreign *row = &foreign_errors[i];
      GQuark domain = row->domain ();
      g_test_message ("%s %d: %s", g_quark_to_string (domain), row->code, row->class_name);

      g_autoptr(GError) error = g_error_new_literal (domain, row->code, "no luck");
      g_assert_cmpstr (pyro_error_get_remote_class (error), ==, row->class_name);
      g_assert_false (pyro_error_is_remote (error));
      g_assert_null (pyro_error_get_remote_traceback (error));

      /* printed like a Python builtin: without the module */
      g_assert_true (g_str_has_prefix (row->class_name, "builtins."));
      g_autofree char *expected = g_strdup_printf ("%s: no luck\n",
                                                   row->class_name + strlen ("builtins."));
      g_autofree char *text = pyro_error_format (error);
      g_assert_cmpstr (text, ==, expected);
    }
}

/* ---- pyro_error_new_remote() and copies ------------------------------------- */

/* A Python traceback as it arrives in "_pyroTraceback": the pieces of
 * traceback.format_exception(), so one entry can hold several lines. */
static const char * const value_error_traceback[] = {
  "Traceback (most recent call last):\n",
  "  File \"/srv/thing.py\", line 12, in add\n    raise ValueError('bad thing', 42)\n",
  "ValueError: ('bad thing', 42)\n",
  NULL
};

static void
test_new_remote (void)
{
  /* pyro_error_new_remote() copies both the class name and the lines:
   * ours are freed at once, and under ASan a kept pointer would show. */
  char *class_name = g_strdup ("builtins.ValueError");
  char **lines = g_strdupv ((char **) value_error_traceback);
  g_autoptr(GError) error = pyro_error_new_remote (class_name,
                                                   (const char * const *) lines,
                                                   "%s, %d (100%%)", "bad thing", 42);
  g_free (class_name);
  g_strfreev (lines);

  g_assert_true (g_error_matches (error, PYRO_ERROR, PYRO_ERROR_VALUE));
  g_assert_cmpstr (error->message, ==, "bad thing, 42 (100%)");
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "builtins.ValueError");
  g_assert_true (pyro_error_is_remote (error));
  g_assert_cmpstrv (pyro_error_get_remote_traceback (error), value_error_traceback);
}

static void
test_new_remote_without_traceback (void)
{
  g_autoptr(GError) error = pyro_error_new_remote ("builtins.KeyError", NULL, "%s", "k");
  g_assert_true (g_error_matches (error, PYRO_ERROR, PYRO_ERROR_KEY));
  g_assert_cmpstr (error->message, ==, "k");
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "builtins.KeyError");
  /* still remote: it is the class name, not the traceback, that says so */
  g_assert_true (pyro_error_is_remote (error));
  g_assert_null (pyro_error_get_remote_traceback (error));
}

/* An empty traceback is no traceback: NULL, as for none at all, so that a
 * caller has one case to test (and Pyro4 prints no block for [] either). */
static void
test_new_remote_empty_traceback (void)
{
  static const char * const empty[] = { NULL };

  g_autoptr(GError) error = pyro_error_new_remote ("builtins.ValueError", empty, "m");
  g_assert_true (pyro_error_is_remote (error));
  g_assert_null (pyro_error_get_remote_traceback (error));

  g_autoptr(GError) copy = g_error_copy (error);
  g_assert_null (pyro_error_get_remote_traceback (copy));
}

static void
test_copy (void)
{
  /* PYRO_ERROR is an extended domain, so g_error_copy() copies the class
   * name and the traceback too; the copy must outlive the original. */
  GError *original = pyro_error_new_remote ("mymod.MyError", value_error_traceback, "m");
  g_autoptr(GError) copy = g_error_copy (original);
  g_clear_error (&original);

  g_assert_true (g_error_matches (copy, PYRO_ERROR, PYRO_ERROR_REMOTE));
  g_assert_cmpstr (copy->message, ==, "m");
  g_assert_cmpstr (pyro_error_get_remote_class (copy), ==, "mymod.MyError");
  g_assert_true (pyro_error_is_remote (copy));
  g_assert_cmpstrv (pyro_error_get_remote_traceback (copy), value_error_traceback);

  /* and a local error stays local */
  g_autoptr(GError) local = g_error_new_literal (PYRO_ERROR, PYRO_ERROR_DAEMON, "unknown object");
  g_autoptr(GError) local_copy = g_error_copy (local);
  g_assert_false (pyro_error_is_remote (local_copy));
  g_assert_cmpstr (pyro_error_get_remote_class (local_copy), ==, "Pyro4.errors.DaemonError");
  g_assert_null (pyro_error_get_remote_traceback (local_copy));
}

/* Public functions refuse NULL with a critical warning, not a crash. */
static void
test_preconditions (void)
{
  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*class_name != NULL*");
  g_assert_null (pyro_error_new_remote (NULL, NULL, "m"));
  g_test_assert_expected_messages ();

  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*error != NULL*");
  g_assert_null (pyro_error_get_remote_class (NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*error != NULL*");
  g_assert_null (pyro_error_get_remote_traceback (NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*error != NULL*");
  g_assert_false (pyro_error_is_remote (NULL));
  g_test_assert_expected_messages ();

  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*error != NULL*");
  g_assert_null (pyro_error_format (NULL));
  g_test_assert_expected_messages ();

  /* pyro_error_print() refuses NULL itself (the warning names it), rather
   * than printing what pyro_error_format (NULL) returns */
  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*pyro_error_print*error != NULL*");
  pyro_error_print (NULL);
  g_test_assert_expected_messages ();
}

/* ---- pyro_error_format() ---------------------------------------------------- */

typedef struct
{
  const char *class_name;
  gboolean    has_traceback;  /* FALSE: NULL instead of the lines */
  const char *traceback[6];   /* NULL-terminated */
  const char *message;
  const char *expected;
} FormatCase;

static const FormatCase format_cases[] = {
  /* the warehouse tutorial of the protocol notes (section 13.1), as Pyro4
   * sent it and as Pyro4's excepthook printed it */
  { "builtins.ValueError", TRUE,
    { "Traceback (most recent call last):\n",
      "  File \"/usr/lib/python3/dist-packages/Pyro4/core.py\", line 1424, in handleRequest\n"
      "    data = method(*vargs, **kwargs)  # this is the actual method call to the Pyro object\n"
      "           ^^^^^^^^^^^^^^^^^^^^^^^^\n",
      "  File \"/tmp/ex/examples/warehouse/phase3/warehouse.py\", line 15, in take\n"
      "    self.contents.remove(item)\n",
      "ValueError: list.remove(x): x not in list\n" },
    "list.remove(x): x not in list",
    "ValueError: list.remove(x): x not in list\n"
    " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
    " | Traceback (most recent call last):\n"
    " |   File \"/usr/lib/python3/dist-packages/Pyro4/core.py\", line 1424, in handleRequest\n"
    " |     data = method(*vargs, **kwargs)  # this is the actual method call to the Pyro object\n"
    " |            ^^^^^^^^^^^^^^^^^^^^^^^^\n"
    " |   File \"/tmp/ex/examples/warehouse/phase3/warehouse.py\", line 15, in take\n"
    " |     self.contents.remove(item)\n"
    " | ValueError: list.remove(x): x not in list\n"
    " +--- End of remote traceback\n" },
  /* entries without a final newline still make one line each; a
   * KeyError's message is its key, which Python shows quoted */
  { "builtins.KeyError", TRUE,
    { "Traceback (most recent call last):", "KeyError: 'k'" },
    "k",
    "KeyError: 'k'\n"
    " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
    " | Traceback (most recent call last):\n"
    " | KeyError: 'k'\n"
    " +--- End of remote traceback\n" },
  /* a blank line inside an entry is kept, as " | " (Pyro4 does the same);
   * so is an empty entry: Pyro4 drops one final newline of an entry, then
   * prints every line that is left */
  { "builtins.RuntimeError", TRUE,
    { "first\n\nthird\n", "\n", "", "a\n\n", "last" },
    "r",
    "RuntimeError: r\n"
    " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
    " | first\n"
    " | \n"
    " | third\n"
    " | \n"
    " | \n"
    " | a\n"
    " | \n"
    " | last\n"
    " +--- End of remote traceback\n" },
  /* an unknown class is printed with its module, as Python does */
  { "mymod.MyError", TRUE,
    { "Traceback (most recent call last):\n", "mymod.MyError: custom\n" },
    "custom",
    "mymod.MyError: custom\n"
    " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
    " | Traceback (most recent call last):\n"
    " | mymod.MyError: custom\n"
    " +--- End of remote traceback\n" },
  /* no traceback, or an empty one: no block at all */
  { "builtins.IndexError", FALSE, { NULL }, "list index out of range",
    "IndexError: list index out of range\n" },
  { "builtins.IndexError", TRUE, { NULL }, "list index out of range",
    "IndexError: list index out of range\n" },
  /* the class as Python prints it: a builtin without its module, any
   * other class with it; a bare name is the class Pyro4 rebuilds for it */
  { "exceptions.ValueError", FALSE, { NULL }, "m", "ValueError: m\n" },
  { "ValueError", FALSE, { NULL }, "m", "ValueError: m\n" },
  { "Pyro4.errors.NamingError", FALSE, { NULL }, "unknown name: x",
    "Pyro4.errors.NamingError: unknown name: x\n" },
  { "NamingError", FALSE, { NULL }, "unknown name: x", "Pyro4.errors.NamingError: unknown name: x\n" },
  { "Pyro4.errors.SecurityError", FALSE, { NULL }, "hmac mismatch",
    "Pyro4.errors.SecurityError: hmac mismatch\n" },
  { "TimeoutError", FALSE, { NULL }, "slow", "Pyro4.errors.TimeoutError: slow\n" },
  { "builtins.TimeoutError", FALSE, { NULL }, "timed out", "TimeoutError: timed out\n" },
  /* an empty message is an exception without arguments: the class alone */
  { "builtins.KeyError", FALSE, { NULL }, "", "KeyError\n" },
  { "builtins.StopIteration", TRUE, { "Traceback (most recent call last):\n", "StopIteration\n" }, "",
    "StopIteration\n"
    " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
    " | Traceback (most recent call last):\n"
    " | StopIteration\n"
    " +--- End of remote traceback\n" },
  /* a key is shown as Python's repr() shows a str */
  { "KeyError", FALSE, { NULL }, "it's", "KeyError: \"it's\"\n" },
  { "KeyError", FALSE, { NULL }, "a\tb\\c\n\x01 \xc3\xa9", "KeyError: 'a\\tb\\\\c\\n\\x01 \xc3\xa9'\n" },
  /* the message is text, not a format */
  { "builtins.ValueError", FALSE, { NULL }, "100% %s sure", "ValueError: 100% %s sure\n" },
  { "builtins.ValueError", FALSE, { NULL }, "two\nlines", "ValueError: two\nlines\n" },
};

static void
test_format (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (format_cases); i++)
    {
      const FormatCase *c = &format_cases[i];
      g_test_message ("format case %" G_GSIZE_FORMAT ": %s", i, c->class_name);

      const char * const *traceback = c->has_traceback ? c->traceback : NULL;
      g_autoptr(GError) error = pyro_error_new_remote (c->class_name, traceback, "%s", c->message);
      g_autofree char *text = pyro_error_format (error);
      g_assert_cmpstr (text, ==, c->expected);
    }
}

/* ---- pyro_error_format() against Pyro4 ------------------------------------ */

/* An exception dict as it comes over the wire, in parts: the class, the
 * "args" list as JSON text (so that Python reads the very numbers that C
 * reads), and the "_pyroTraceback" entries. */
typedef struct
{
  const char *class_name;
  const char *args;           /* a JSON list */
  gboolean    has_traceback;  /* FALSE: no "attributes" at all */
  const char *traceback[7];   /* NULL-terminated */
} WireCase;

static const WireCase wire_cases[] = {
  /* a builtin, with the warehouse tutorial's traceback: entries of
   * several lines, one of them a line of "^" markers */
  { "builtins.ValueError", "[\"list.remove(x): x not in list\"]", TRUE,
    { "Traceback (most recent call last):\n",
      "  File \"/usr/lib/python3/dist-packages/Pyro4/core.py\", line 1424, in handleRequest\n"
      "    data = method(*vargs, **kwargs)  # this is the actual method call to the Pyro object\n"
      "           ^^^^^^^^^^^^^^^^^^^^^^^^\n",
      "  File \"/tmp/ex/examples/warehouse/phase3/warehouse.py\", line 15, in take\n"
      "    self.contents.remove(item)\n",
      "ValueError: list.remove(x): x not in list\n" } },
  /* Pyro4's own classes print with their module, however they are named */
  { "Pyro4.errors.NamingError", "[\"unknown name: x\"]", FALSE, { NULL } },
  { "NamingError", "[\"unknown name: x\"]", TRUE,
    { "Traceback (most recent call last):\n", "Pyro4.errors.NamingError: unknown name: x\n" } },
  { "TimeoutError", "[\"no reply\"]", FALSE, { NULL } },
  { "Pyro4.errors.SecurityError", "[\"Grüße 😀 ✗\"]", FALSE, { NULL } },
  /* Python's own TimeoutError, and a builtin by its Python 2 module */
  { "builtins.TimeoutError", "[\"timed out\"]", FALSE, { NULL } },
  { "exceptions.IndexError", "[\"list index out of range\"]", FALSE, { NULL } },
  /* classes of other modules (a Pyro4 client registers them) */
  { "mymodule.CustomError", "[\"custom failure\"]", TRUE,
    { "Traceback (most recent call last):\n",
      "  File \"shop.py\", line 12, in buy\n    raise CustomError('custom failure')\n",
      "mymodule.CustomError: custom failure\n" } },
  { "pkg.sub.BadThing", "[\"bad\", 1]", FALSE, { NULL } },
  /* empty messages: the class alone */
  { "builtins.KeyError", "[]", FALSE, { NULL } },
  { "builtins.ValueError", "[\"\"]", FALSE, { NULL } },
  { "Pyro4.errors.ConnectionClosedError", "[]", FALSE, { NULL } },
  { "builtins.StopIteration", "[]", TRUE, { "Traceback (most recent call last):\n", "StopIteration\n" } },
  /* KeyError shows its key as repr() does, quotes and escapes included */
  { "builtins.KeyError", "[\"k\"]", TRUE, { "Traceback (most recent call last):\n", "KeyError: 'k'\n" } },
  { "builtins.KeyError", "[\"it's\"]", FALSE, { NULL } },
  { "builtins.KeyError", "[\"it's \\\"both\\\"\"]", FALSE, { NULL } },
  { "builtins.KeyError", "[\"tab\\t nl\\n cr\\r bs\\\\ soh\\u0001 esc\\u001b del\\u007f\"]", FALSE, { NULL } },
  { "builtins.KeyError", "[\"é ✗ 😀 nbsp\\u00a0 zwsp\\u200b ls\\u2028 pua\\ue000 sp\\u3000\"]", FALSE, { NULL } },
  /* the remote traceback: empty entries, blank lines, entries with no
   * final newline or with two */
  { "builtins.RuntimeError", "[\"r\"]", TRUE,
    { "", "first\n\nthird\n", "\n", "a\n\n", "no newline", "", NULL } },
  /* an empty traceback prints no block */
  { "builtins.ValueError", "[\"m\"]", TRUE, { NULL } },
  /* messages of several lines, several args, args that are not text */
  { "builtins.ValueError", "[\"two\\nlines\"]", TRUE, { "a\n", "b\n" } },
  { "builtins.ValueError", "[\"bad thing\", 42, -7, null, true, false, [1, \"a\", []],"
    " {\"k\": \"v\", \"it's\": {}}, \"\"]", FALSE, { NULL } },
  { "builtins.ValueError", "[42]", FALSE, { NULL } },
  { "builtins.ValueError", "[null]", FALSE, { NULL } },
  { "builtins.ValueError", "[[\"x\", 1.5]]", FALSE, { NULL } },
  /* floats as Python's repr() writes them */
  { "builtins.ValueError", "[0.1, 100.0, 1e16, 1e15, 123456789012345.6, 0.0001, 1e-05, 0.0, -0.0,"
    " 1.5e300, -2.5e-7, 123.456, 1.7976931348623157e308, 5e-324, 0.30000000000000004,"
    " 5.960464477539063e-08]", FALSE, { NULL } },
};

/* Errors made by C code, printed as a Python client of a C server prints
 * them (every code of the table is added to these). */
typedef struct
{
  GQuark      (*domain) (void);
  int           code;
  const char   *message;
} LocalCase;

static const LocalCase local_cases[] = {
  { pyro_error_quark, PYRO_ERROR_KEY, "no such key: clé ✗" },
  { pyro_error_quark, PYRO_ERROR_KEY, "" },
  { pyro_error_quark, PYRO_ERROR_VALUE, "" },
  { pyro_error_quark, PYRO_ERROR_NAMING, "two\nlines" },
  { pyro_error_quark, PYRO_ERROR_REMOTE, "anything" },
  { g_io_error_quark, G_IO_ERROR_TIMED_OUT, "timed out" },
  { g_io_error_quark, G_IO_ERROR_NOT_FOUND, "no file" },
  { g_file_error_quark, G_FILE_ERROR_NOENT, "no entry" },
};

/* The text of @c's exception dict. (transfer full) */
static char *
wire_text (const WireCase *c)
{
  g_autoptr(JsonNode) class_node = json_node_init_string (json_node_alloc (), c->class_name);
  g_autofree char *class_json = json_to_string (class_node, FALSE);
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "{\"__class__\": %s, \"__exception__\": true, \"args\": %s",
                          class_json, c->args);
  if (c->has_traceback)
    {
      g_autoptr(JsonNode) lines = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (lines, json_array_new ());
      for (gsize i = 0; c->traceback[i] != NULL; i++)
        json_array_add_string_element (json_node_get_array (lines), c->traceback[i]);
      g_autofree char *lines_json = json_to_string (lines, FALSE);
      g_string_append_printf (text, ", \"attributes\": {\"_pyroTraceback\": %s}", lines_json);
    }
  g_string_append_c (text, '}');
  return g_string_free (text, FALSE);
}

/* The text of the exception dict @error goes to a Python client as, but
 * without its "attributes": a local error has no remote traceback to
 * print, while Python would print the one libpyro makes up for it. */
static char *
local_wire_text (const GError *error)
{
  g_autoptr(JsonNode) node = pyro_error_to_json (error, "f");
  json_object_remove_member (json_node_get_object (node), "attributes");
  return json_to_string (node, FALSE);
}

/* pyro_error_format() must print what Pyro4's excepthook prints for the
 * exception a Pyro4 proxy rebuilds from the same dict: for a dict from the
 * wire, the error pyro_error_from_json() makes of it; for an error of C
 * code, the dict pyro_error_to_json() sends. */
static void
test_format_like_pyro4 (void)
{
  g_autoptr(JsonArray) dicts = json_array_new ();
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);

  for (gsize i = 0; i < G_N_ELEMENTS (wire_cases); i++)
    {
      g_autofree char *text = wire_text (&wire_cases[i]);
      g_autoptr(GError) parse_error = NULL;
      g_autoptr(JsonNode) node = json_from_string (text, &parse_error);
      g_assert_no_error (parse_error);
      json_array_add_string_element (dicts, text);
      g_ptr_array_add (errors, pyro_error_from_json (node));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (code_classes) + G_N_ELEMENTS (local_cases); i++)
    {
      GError *error;
      if (i < G_N_ELEMENTS (code_classes))
        error = g_error_new_literal (PYRO_ERROR, code_classes[i].code, "it broke");
      else
        {
          const LocalCase *c = &local_cases[i - G_N_ELEMENTS (code_classes)];
          error = g_error_new_literal (c->domain (), c->code, c->message);
        }
      g_autofree char *text = local_wire_text (error);
      json_array_add_string_element (dicts, text);
      g_ptr_array_add (errors, error);
    }

  g_autoptr(JsonArray) printed = ask_pyro4 ("print", dicts);
  for (guint i = 0; i < errors->len; i++)
    {
      g_test_message ("%s", json_array_get_string_element (dicts, i));
      JsonNode *expected = json_array_get_element (printed, i);
      g_assert_false (JSON_NODE_HOLDS_NULL (expected));  /* Pyro4 rebuilt it */

      g_autofree char *text = pyro_error_format (errors->pdata[i]);
      g_assert_cmpstr (text, ==, json_node_get_string (expected));
    }
}

/* ---- pyro_error_print() ----------------------------------------------------- */

/* g_test_trap_assert_stderr() matches a glob, so the expected texts below
 * must hold no '*' or '?' for the match to be exact (test_print_* checks
 * that).  This is why the Pyro4 frame's code line of the warehouse example,
 * "data = method(*vargs, **kwargs)", is not used here. */
static const char * const print_traceback[] = {
  "Traceback (most recent call last):\n",
  "  File \"/tmp/ex/examples/warehouse/phase3/warehouse.py\", line 15, in take\n"
  "    self.contents.remove(item)\n",
  "ValueError: list.remove(x): x not in list\n",
  NULL
};

static const char print_remote_expected[] =
  "ValueError: list.remove(x): x not in list\n"
  " +--- This exception occured remotely (Pyro) - Remote traceback:\n"
  " | Traceback (most recent call last):\n"
  " |   File \"/tmp/ex/examples/warehouse/phase3/warehouse.py\", line 15, in take\n"
  " |     self.contents.remove(item)\n"
  " | ValueError: list.remove(x): x not in list\n"
  " +--- End of remote traceback\n";

static const char print_local_expected[] =
  "Pyro4.errors.TimeoutError: no reply from PYRO:obj@localhost:9999 in 5 s\n";

static GError *
new_print_remote_error (void)
{
  return pyro_error_new_remote ("builtins.ValueError", print_traceback,
                                "list.remove(x): x not in list");
}

static GError *
new_print_local_error (void)
{
  return g_error_new (PYRO_ERROR, PYRO_ERROR_TIMEOUT, "no reply from %s in %d s",
                      "PYRO:obj@localhost:9999", 5);
}

/* pyro_error_print() writes to stderr: the test runs itself again in a
 * child process (g_test_subprocess() is TRUE there) whose stdout and
 * stderr the parent captures and checks. */
static void
check_print (GError *(*new_error) (void), const char *expected)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = new_error ();
      pyro_error_print (error);
      return;
    }

  g_assert_null (strpbrk (expected, "*?"));

  /* the printed text is pyro_error_format()'s */
  g_autoptr(GError) error = new_error ();
  g_autofree char *text = pyro_error_format (error);
  g_assert_cmpstr (text, ==, expected);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("");
  g_test_trap_assert_stderr (expected);
}

static void
test_print_remote (void)
{
  check_print (new_print_remote_error, print_remote_expected);
}

static void
test_print_local (void)
{
  check_print (new_print_local_error, print_local_expected);
}

/* ---- Pyro4 exception dicts -------------------------------------------------- */

static char *
to_json_text (const GError *error, const char *where)
{
  g_autoptr(JsonNode) node = pyro_error_to_json (error, where);
  return json_to_string (node, FALSE);
}

/* A local error goes to a Python client with a traceback made up to point
 * at the C function, in Python's layout. */
static void
test_to_json_local (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (code_classes); i++)
    {
      const CodeClass *row = &code_classes[i];
      g_autoptr(GError) error = g_error_new_literal (PYRO_ERROR, row->code, "it broke");
      g_autofree char *text = to_json_text (error, "thing_add");
      /* the last line as Python writes it: builtins without their module,
       * and a KeyError's key quoted */
      gboolean builtin = g_str_has_prefix (row->class_name, "builtins.");
      g_autofree char *expected =
        g_strdup_printf ("{\"__class__\":\"%s\",\"__exception__\":true,\"args\":[\"it broke\"],"
                         "\"attributes\":{\"_pyroTraceback\":["
                         "\"Traceback (most recent call last):\\n\","
                         "\"  File \\\"libpyro\\\", in thing_add (C)\\n\","
                         "\"%s: %s\\n\"]}}",
                         row->class_name, builtin ? row->short_name : row->class_name,
                         row->code == PYRO_ERROR_KEY ? "'it broke'" : "it broke");
      g_assert_cmpstr (text, ==, expected);
    }

  /* no function name, and an error of another domain */
  g_autoptr(GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no file");
  g_autofree char *text = to_json_text (io, NULL);
  g_assert_cmpstr (text, ==,
                   "{\"__class__\":\"builtins.FileNotFoundError\",\"__exception__\":true,"
                   "\"args\":[\"no file\"],\"attributes\":{\"_pyroTraceback\":["
                   "\"Traceback (most recent call last):\\n\","
                   "\"  File \\\"libpyro\\\", in ? (C)\\n\","
                   "\"FileNotFoundError: no file\\n\"]}}");
}

/* An empty message is an exception without arguments, so that Python
 * prints it as pyro_error_format() does: the class alone. */
static void
test_to_json_empty_message (void)
{
  g_autoptr(GError) error = g_error_new_literal (PYRO_ERROR, PYRO_ERROR_KEY, "");
  g_autofree char *text = to_json_text (error, "f");
  g_assert_cmpstr (text, ==,
                   "{\"__class__\":\"builtins.KeyError\",\"__exception__\":true,\"args\":[],"
                   "\"attributes\":{\"_pyroTraceback\":["
                   "\"Traceback (most recent call last):\\n\","
                   "\"  File \\\"libpyro\\\", in f (C)\\n\","
                   "\"KeyError\\n\"]}}");
}

/* A remote error passed on keeps its class name and its own traceback. */
static void
test_to_json_remote (void)
{
  static const char * const traceback[] = { "line 1\n", "line 2\n", NULL };
  g_autoptr(GError) error = pyro_error_new_remote ("mymod.MyError", traceback, "custom");
  g_autofree char *text = to_json_text (error, "thing_add");
  g_assert_cmpstr (text, ==,
                   "{\"__class__\":\"mymod.MyError\",\"__exception__\":true,\"args\":[\"custom\"],"
                   "\"attributes\":{\"_pyroTraceback\":[\"line 1\\n\",\"line 2\\n\"]}}");
}

typedef struct
{
  const char   *json;
  PyroErrorCode code;
  const char   *class_name;
  const char   *message;
  const char   *traceback[4];  /* NULL-terminated; { NULL }: expect none */
} FromJsonCase;

static const FromJsonCase from_json_cases[] = {
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"bad\"],"
    " \"attributes\": {\"_pyroTraceback\": [\"Traceback (most recent call last):\\n\", \"ValueError: bad\\n\"]}}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "bad",
    { "Traceback (most recent call last):\n", "ValueError: bad\n" } },
  /* the message is what Python's str() shows for the exception: several
   * args as their tuple, one that is not text as its repr() */
  { "{\"__class__\": \"ValueError\", \"__exception__\": true, \"args\": [\"bad thing\", 42]}",
    PYRO_ERROR_VALUE, "ValueError", "('bad thing', 42)", { NULL } },
  { "{\"__class__\": \"builtins.RuntimeError\", \"__exception__\": true,"
    " \"args\": [null, true, 1.5, {\"a\": 1}, [2]]}",
    PYRO_ERROR_RUNTIME, "builtins.RuntimeError", "(None, True, 1.5, {'a': 1}, [2])", { NULL } },
  /* a dict shows its keys in the order they came, as Python's does */
  { "{\"__class__\": \"builtins.RuntimeError\", \"__exception__\": true,"
    " \"args\": [{\"zebra\": 1, \"apple\": 2, \"mango\": 3, \"kiwi\": 4, \"fig\": 5}]}",
    PYRO_ERROR_RUNTIME, "builtins.RuntimeError", "{'zebra': 1, 'apple': 2, 'mango': 3, 'kiwi': 4, 'fig': 5}",
    { NULL } },
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [42]}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "42", { NULL } },
  /* a KeyError's one text argument is its key, kept as it is */
  { "{\"__class__\": \"builtins.KeyError\", \"__exception__\": true, \"args\": [\"k\"]}",
    PYRO_ERROR_KEY, "builtins.KeyError", "k", { NULL } },
  { "{\"__class__\": \"exceptions.StopIteration\", \"__exception__\": true, \"args\": []}",
    PYRO_ERROR_STOP_ITERATION, "exceptions.StopIteration", "", { NULL } },
  { "{\"__class__\": \"Pyro4.errors.DaemonError\", \"__exception__\": true}",
    PYRO_ERROR_DAEMON, "Pyro4.errors.DaemonError", "", { NULL } },
  /* traceback entries that are not strings are left out */
  { "{\"__class__\": \"mymod.MyError\", \"__exception__\": true, \"args\": [\"x\"],"
    " \"attributes\": {\"_pyroTraceback\": [\"a\\n\", 5, null, \"b\\n\"], \"custom\": 5}}",
    PYRO_ERROR_REMOTE, "mymod.MyError", "x", { "a\n", "b\n" } },
  /* a traceback that is not a list is no traceback */
  { "{\"__class__\": \"builtins.KeyError\", \"__exception__\": true, \"args\": [\"k\"],"
    " \"attributes\": {\"_pyroTraceback\": \"text\"}}",
    PYRO_ERROR_KEY, "builtins.KeyError", "k", { NULL } },
  /* nor is an empty list, or one without a single text */
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"m\"],"
    " \"attributes\": {\"_pyroTraceback\": []}}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "m", { NULL } },
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"m\"],"
    " \"attributes\": {\"_pyroTraceback\": [[\"a\\n\"], {\"b\": \"c\"}, 1, null]}}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "m", { NULL } },
  /* members of the wrong type are left out, without a warning: "args"
   * that is not a list is no args, "attributes" that is not a dict no
   * attributes */
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": \"abc\"}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "", { NULL } },
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": {\"a\": [1]}}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "", { NULL } },
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": null}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "", { NULL } },
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"m\"],"
    " \"attributes\": [\"_pyroTraceback\", [\"a\\n\"]]}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "m", { NULL } },
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"m\"],"
    " \"attributes\": \"_pyroTraceback\"}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "m", { NULL } },
  { "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"m\"],"
    " \"attributes\": {\"_pyroTraceback\": {\"0\": \"a\\n\"}}}",
    PYRO_ERROR_VALUE, "builtins.ValueError", "m", { NULL } },
  /* a name Pyro4 would not take for one of its classes keeps its own name */
  { "{\"__class__\": \"builtins.TimeoutError\", \"__exception__\": true, \"args\": [\"timed out\"]}",
    PYRO_ERROR_REMOTE, "builtins.TimeoutError", "timed out", { NULL } },
  { "{\"__class__\": \"builtins.NamingError\", \"__exception__\": true, \"args\": [\"x\"]}",
    PYRO_ERROR_REMOTE, "builtins.NamingError", "x", { NULL } },
};

static void
test_from_json (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (from_json_cases); i++)
    {
      const FromJsonCase *c = &from_json_cases[i];
      g_test_message ("%s", c->json);

      g_autoptr(JsonNode) node = json_from_string (c->json, NULL);
      g_assert_nonnull (node);
      g_autoptr(GError) error = pyro_error_from_json (node);
      g_assert_true (g_error_matches (error, PYRO_ERROR, c->code));
      g_assert_cmpstr (error->message, ==, c->message);
      g_assert_cmpstr (pyro_error_get_remote_class (error), ==, c->class_name);
      g_assert_true (pyro_error_is_remote (error));
      if (c->traceback[0] == NULL)
        g_assert_null (pyro_error_get_remote_traceback (error));
      else
        g_assert_cmpstrv (pyro_error_get_remote_traceback (error), c->traceback);
    }

  /* every class of the table comes back as its code */
  for (gsize i = 0; i < G_N_ELEMENTS (code_classes); i++)
    {
      g_autofree char *json = g_strdup_printf ("{\"__class__\": \"%s\", \"__exception__\": true,"
                                               " \"args\": [\"m\"]}",
                                               code_classes[i].class_name);
      g_autoptr(JsonNode) node = json_from_string (json, NULL);
      g_autoptr(GError) error = pyro_error_from_json (node);
      g_assert_true (g_error_matches (error, PYRO_ERROR, code_classes[i].code));
      g_assert_cmpstr (pyro_error_get_remote_class (error), ==, code_classes[i].class_name);
    }
}

/* Whatever is not an exception dict is a protocol error that shows what
 * came (cut to 200 characters). */
static void
test_from_json_not_an_exception (void)
{
  static const char * const not_exceptions[] = {
    "null",
    "[1,2]",
    "\"builtins.ValueError\"",
    "{}",
    "{\"__class__\":\"builtins.ValueError\",\"args\":[\"m\"]}",
    "{\"__class__\":\"builtins.ValueError\",\"__exception__\":false,\"args\":[\"m\"]}",
    "{\"__class__\":\"builtins.ValueError\",\"__exception__\":\"yes\",\"args\":[\"m\"]}",
    "{\"__class__\":5,\"__exception__\":true,\"args\":[\"m\"]}",
    "{\"__class__\":null,\"__exception__\":true,\"args\":[\"m\"]}",
    "{\"__exception__\":true,\"args\":[\"m\"]}",
    "{\"__class__\":\"\",\"__exception__\":true,\"args\":[\"m\"]}",
    /* members of the wrong type: refused without a warning (json-glib's
     * typed getters would log a CRITICAL, fatal under g_test) */
    "{\"__class__\":[1],\"__exception__\":true,\"args\":[\"m\"]}",
    "{\"__class__\":[\"builtins.ValueError\"],\"__exception__\":true,\"args\":[\"m\"]}",
    "{\"__class__\":{},\"__exception__\":true,\"args\":[\"m\"]}",
    "{\"__class__\":{\"a\":\"b\"},\"__exception__\":true,\"args\":[\"m\"]}",
    "{\"__class__\":\"builtins.ValueError\",\"__exception__\":{},\"args\":[\"m\"]}",
    "{\"__class__\":\"builtins.ValueError\",\"__exception__\":[true],\"args\":[\"m\"]}",
    "{\"__class__\":\"builtins.ValueError\",\"__exception__\":null,\"args\":[\"m\"]}",
    "{\"__class__\":\"builtins.ValueError\",\"__exception__\":1,\"args\":[\"m\"]}",
    "{\"__class__\":[1],\"__exception__\":{}}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (not_exceptions); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (not_exceptions[i], NULL);
      g_autoptr(GError) error = pyro_error_from_json (node);
      g_autofree char *expected = g_strdup_printf ("exception reply is not an exception dict: %s",
                                                   not_exceptions[i]);
      g_assert_true (g_error_matches (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL));
      g_assert_cmpstr (error->message, ==, expected);
      g_assert_false (pyro_error_is_remote (error));
    }

  g_autoptr(GError) nothing = pyro_error_from_json (NULL);
  g_assert_true (g_error_matches (nothing, PYRO_ERROR, PYRO_ERROR_PROTOCOL));
  g_assert_cmpstr (nothing->message, ==, "exception reply is not an exception dict: nothing");

  /* a long reply is cut, so that the message stays readable */
  g_autofree char *padding = g_strnfill (300, 'x');
  g_autofree char *long_json = g_strdup_printf ("{\"junk\":\"%s\"}", padding);
  g_autoptr(JsonNode) node = json_from_string (long_json, NULL);
  g_autoptr(GError) error = pyro_error_from_json (node);
  g_autofree char *expected = g_strdup_printf ("exception reply is not an exception dict: %.200s", long_json);
  g_assert_cmpstr (error->message, ==, expected);
}

/* to_json then from_json gives back the same exception. */
static void
test_json_round_trip (void)
{
  g_autoptr(GError) sent = pyro_error_new_remote ("builtins.ValueError", value_error_traceback,
                                                  "bad thing, 42");
  g_autoptr(JsonNode) node = pyro_error_to_json (sent, "thing_add");
  g_autoptr(GError) got = pyro_error_from_json (node);

  g_assert_true (g_error_matches (got, PYRO_ERROR, PYRO_ERROR_VALUE));
  g_assert_cmpstr (got->message, ==, "bad thing, 42");
  g_assert_cmpstr (pyro_error_get_remote_class (got), ==, "builtins.ValueError");
  g_assert_cmpstrv (pyro_error_get_remote_traceback (got), value_error_traceback);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/error/classes/code-to-class", test_code_to_class);
  g_test_add_func ("/pyro/error/classes/class-to-code", test_class_to_code);
  g_test_add_func ("/pyro/error/classes/unlisted-codes", test_unlisted_codes);
  g_test_add_func ("/pyro/error/classes/aliases", test_aliases);
  g_test_add_func ("/pyro/error/classes/pyro4-resolution", test_pyro4_resolution);
  g_test_add_func ("/pyro/error/classes/unknown", test_unknown_class);
  g_test_add_func ("/pyro/error/classes/foreign-domains", test_foreign_domains);
  g_test_add_func ("/pyro/error/remote/new", test_new_remote);
  g_test_add_func ("/pyro/error/remote/no-traceback", test_new_remote_without_traceback);
  g_test_add_func ("/pyro/error/remote/empty-traceback", test_new_remote_empty_traceback);
  g_test_add_func ("/pyro/error/remote/copy", test_copy);
  g_test_add_func ("/pyro/error/preconditions", test_preconditions);
  g_test_add_func ("/pyro/error/format", test_format);
  g_test_add_func ("/pyro/error/format/like-pyro4", test_format_like_pyro4);
  g_test_add_func ("/pyro/error/print/remote", test_print_remote);
  g_test_add_func ("/pyro/error/print/local", test_print_local);
  g_test_add_func ("/pyro/error/json/to-json/local", test_to_json_local);
  g_test_add_func ("/pyro/error/json/to-json/remote", test_to_json_remote);
  g_test_add_func ("/pyro/error/json/to-json/empty-message", test_to_json_empty_message);
  g_test_add_func ("/pyro/error/json/from-json", test_from_json);
  g_test_add_func ("/pyro/error/json/not-an-exception", test_from_json_not_an_exception);
  g_test_add_func ("/pyro/error/json/round-trip", test_json_round_trip);

  return g_test_run ();
}
