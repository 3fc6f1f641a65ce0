/* pyro-error.c: the PYRO_ERROR domain and remote exceptions.
 *
 * PYRO_ERROR is a GLib "extended" error domain: besides code and message,
 * each error carries the Python class name of the exception and, for
 * errors that came over the wire, the remote traceback.  That is what lets
 * a C client print a Python server's exception exactly like Pyro4 does, and
 * a Python client receive a C method's error as a real Python exception.
 *
 * Two jobs here follow Python's own rules (Pyro4 4.82, Python 3):
 * - which class a name on the wire stands for, the way Pyro4's JSON
 *   serializer looks it up (pyro_error_code_for_class());
 * - what Pyro4's excepthook prints for an exception: the class as Python
 *   names it, the text str() gives for it, and the remote traceback
 *   (pyro_error_format()).
 *
 * Everything in an exception dict comes from the peer, so every member is
 * checked for its JSON type before it is read (see pyro_error_from_json()).
 */
#include "pyro-error-private.h"
#include "pyro-json-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  char  *class_name;  /* NULL: derive from the code */
  char **traceback;   /* NULL: none */
} PyroErrorPrivate;

static void
pyro_error_private_init (PyroErrorPrivate *priv)
{
  priv->class_name = NULL;
  priv->traceback = NULL;
}

static void
pyro_error_private_copy (const PyroErrorPrivate *src, PyroErrorPrivate *dest)
{
  dest->class_name = g_strdup (src->class_name);
  dest->traceback = g_strdupv (src->traceback);
}

static void
pyro_error_private_clear (PyroErrorPrivate *priv)
{
  g_clear_pointer (&priv->class_name, g_free);
  g_clear_pointer (&priv->traceback, g_strfreev);
}

G_DEFINE_EXTENDED_ERROR (PyroError, pyro_error)

/* Which Python class stands for which code.  Order follows PyroErrorCode. */
static const struct
{
  PyroErrorCode code;
  const char   *class_name;
} class_table[] = {
  { PYRO_ERROR_FAILED,            "Pyro4.errors.PyroError" },
  { PYRO_ERROR_COMMUNICATION,     "Pyro4.errors.CommunicationError" },
  { PYRO_ERROR_CONNECTION_CLOSED, "Pyro4.errors.ConnectionClosedError" },
  { PYRO_ERROR_TIMEOUT,           "Pyro4.errors.TimeoutError" },
  { PYRO_ERROR_PROTOCOL,          "Pyro4.errors.ProtocolError" },
  { PYRO_ERROR_MESSAGE_TOO_LARGE, "Pyro4.errors.MessageTooLargeError" },
  { PYRO_ERROR_SERIALIZE,         "Pyro4.errors.SerializeError" },
  { PYRO_ERROR_SECURITY,          "Pyro4.errors.SecurityError" },
  { PYRO_ERROR_NAMING,            "Pyro4.errors.NamingError" },
  { PYRO_ERROR_DAEMON,            "Pyro4.errors.DaemonError" },
  { PYRO_ERROR_UNKNOWN_METHOD,    "builtins.AttributeError" },
  { PYRO_ERROR_INVALID_ARGS,      "builtins.TypeError" },
  { PYRO_ERROR_VALUE,             "builtins.ValueError" },
  { PYRO_ERROR_KEY,               "builtins.KeyError" },
  { PYRO_ERROR_INDEX,             "builtins.IndexError" },
  { PYRO_ERROR_RUNTIME,           "builtins.RuntimeError" },
  { PYRO_ERROR_STOP_ITERATION,    "builtins.StopIteration" },
};

/* The code of the class @module + @name in class_table; PYRO_ERROR_REMOTE
 * if the table does not have it. */
static PyroErrorCode
code_in_table (const char *module, const char *name)
{
  gsize module_length = strlen (module);

  for (gsize i = 0; i < G_N_ELEMENTS (class_table); i++)
    {
      const char *full_name = class_table[i].class_name;
      if (strncmp (full_name, module, module_length) == 0
          && strcmp (full_name + module_length, name) == 0)
        return class_table[i].code;
    }
  return PYRO_ERROR_REMOTE;
}

/* A bare "NamingError" names a Pyro4 error: Pyro4 looks bare names up
 * among its own errors before the builtins. */
static gboolean
is_bare_pyro4_name (const char *class_name)
{
  return strchr (class_name, '.') == NULL
         && code_in_table ("Pyro4.errors.", class_name) != PYRO_ERROR_REMOTE;
}

/* Pyro4's JSON serializer (SerializerBase.dict_to_class) decides which class
 * a name stands for, and so does this function:
 * - "Pyro4.errors.X" is the Pyro4 error X and nothing else;
 * - "builtins.X" (Python 3) and "exceptions.X" (Python 2) are the built-in
 *   exception X and nothing else;
 * - a bare "X" is looked up among Pyro4's errors first and the builtins
 *   second.  Only one name is in both: "TimeoutError" is Pyro4's.
 * So "builtins.TimeoutError" (Python's own TimeoutError, an OSError) is not
 * PYRO_ERROR_TIMEOUT, and "builtins.NamingError" or
 * "Pyro4.errors.ValueError", which Pyro4 refuses, are classes of their own. */
PyroErrorCode
pyro_error_code_for_class (const char *class_name)
{
  g_assert (class_name != NULL);

  if (strchr (class_name, '.') == NULL)
    {
      PyroErrorCode code = code_in_table ("Pyro4.errors.", class_name);
      if (code == PYRO_ERROR_REMOTE)
        code = code_in_table ("builtins.", class_name);
      return code;
    }
  if (g_str_has_prefix (class_name, "exceptions."))
    return code_in_table ("builtins.", class_name + strlen ("exceptions."));
  return code_in_table ("", class_name);
}

/* A close Python builtin for errors of other GLib domains. */
static const char *
class_for_foreign_error (const GError *error)
{
  if (error->domain == G_IO_ERROR)
    switch (error->code)
      {
      case G_IO_ERROR_NOT_FOUND:
        return "builtins.FileNotFoundError";
      case G_IO_ERROR_PERMISSION_DENIED:
        return "builtins.PermissionError";
      case G_IO_ERROR_INVALID_ARGUMENT:
        return "builtins.ValueError";
      case G_IO_ERROR_TIMED_OUT:
        return "builtins.TimeoutError";
      default:
        return "builtins.OSError";
      }
  return "builtins.RuntimeError";
}

const char *
pyro_error_get_remote_class (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != PYRO_ERROR)
    return class_for_foreign_error (error);

  PyroErrorPrivate *priv = pyro_error_get_private (error);
  if (priv->class_name != NULL)
    return priv->class_name;
  for (gsize i = 0; i < G_N_ELEMENTS (class_table); i++)
    if (class_table[i].code == (PyroErrorCode) error->code)
      return class_table[i].class_name;
  return "builtins.Exception";
}

const char * const *
pyro_error_get_remote_traceback (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != PYRO_ERROR)
    return NULL;
  return (const char * const *) pyro_error_get_private (error)->traceback;
}

gboolean
pyro_error_is_remote (const GError *error)
{
  g_return_val_if_fail (error != NULL, FALSE);

  return error->domain == PYRO_ERROR && pyro_error_get_private (error)->class_name != NULL;
}

GError *
pyro_error_new_remote (const char         *class_name,
                       const char * const *traceback,
                       const char         *message,
                       ...)
{
  g_return_val_if_fail (class_name != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  va_list args;
  va_start (args, message);
  g_autofree char *text = g_strdup_vprintf (message, args);
  va_end (args);

  GError *error = g_error_new_literal (PYRO_ERROR, pyro_error_code_for_class (class_name), text);
  PyroErrorPrivate *priv = pyro_error_get_private (error);
  priv->class_name = g_strdup (class_name);
  /* An empty traceback is kept as none, so that callers test for one
   * thing (NULL), and because Pyro4 prints no traceback block for []. */
  if (traceback != NULL && traceback[0] != NULL)
    priv->traceback = g_strdupv ((char **) traceback);
  return error;
}

/* ---- printing like Python --------------------------------------------------- */

/* Appends the class name as Python prints it at the end of a traceback
 * (traceback.format_exception_only()): with its module, except for the
 * built-in exceptions.  It is the class Pyro4 rebuilds from the name, so
 * "exceptions.ValueError" prints as "ValueError" and a bare "NamingError"
 * as "Pyro4.errors.NamingError". */
static void
append_python_class (GString *out, const char *class_name)
{
  if (g_str_has_prefix (class_name, "builtins."))
    g_string_append (out, class_name + strlen ("builtins."));
  else if (g_str_has_prefix (class_name, "exceptions."))
    g_string_append (out, class_name + strlen ("exceptions."));
  else if (is_bare_pyro4_name (class_name))
    g_string_append_printf (out, "Pyro4.errors.%s", class_name);
  else
    g_string_append (out, class_name);
}

/* Python's str.isprintable() for one character: all but the control,
 * format, private-use, unassigned and separator characters; the plain
 * space prints, though. */
static gboolean
python_char_prints (gunichar c)
{
  if (c == ' ')
    return TRUE;
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_SPACE_SEPARATOR:
      return FALSE;
    default:
      return TRUE;
    }
}

/* Appends @text the way Python's repr() shows a str: in quotes, with a
 * backslash before the quote and the backslash, and an escape for each
 * character that does not print ('a\nb', "it's", 'x\xa0y'). */
static void
append_python_repr_string (GString *out, const char *text)
{
  /* Python quotes with ' unless the text holds a ' and no " */
  char quote = (strchr (text, '\'') != NULL && strchr (text, '"') == NULL) ? '"' : '\'';

  g_string_append_c (out, quote);
  for (const char *p = text; *p != '\0'; )
    {
      gunichar c = g_utf8_get_char_validated (p, -1);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* not UTF-8 (a C message can hold any bytes): show the byte */
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      p = g_utf8_next_char (p);

      if (c == (gunichar) quote || c == '\\')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (python_char_prints (c))
        g_string_append_unichar (out, c);
      else if (c < 0x100)
        g_string_append_printf (out, "\\x%02x", c);
      else if (c < 0x10000)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_printf (out, "\\U%08x", c);
    }
  g_string_append_c (out, quote);
}

/* Appends Python's repr() of the value Python's json module reads from
 * @node: None, True, 42, 1.5, 'text', [1, 'a'], {'k': 'v'}. */
static void
append_python_repr (GString *out, JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_NULL:
      g_string_append (out, "None");
      return;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append (out, ", ");
            append_python_repr (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        return;
      }

    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *key;
        JsonNode *value;
        gboolean first = TRUE;

        /* in the order of the JSON text, as Python's dict keeps it */
        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &key, &value))
          {
            if (!first)
              g_string_append (out, ", ");
            first = FALSE;
            append_python_repr_string (out, key);
            g_string_append (out, ": ");
            append_python_repr (out, value);
          }
        g_string_append_c (out, '}');
        return;
      }

    case JSON_NODE_VALUE:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      append_python_repr_string (out, json_node_get_string (node));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "True" : "False");
      break;
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      {
        /* pyro-json writes a float as Python's json module does, which is
         * repr() but for the three floats JSON has no number for */
        double value = json_node_get_double (node);
        if (isnan (value))
          g_string_append (out, "nan");
        else if (isinf (value))
          g_string_append (out, value > 0 ? "inf" : "-inf");
        else
          pyro_json_write_node (out, node);
        break;
      }
    default:
      {
        /* the JSON parser makes no other values; show what it is anyway */
        g_autofree char *json = json_to_string (node, FALSE);
        g_string_append (out, json);
        break;
      }
    }
}

/* Appends the lines of one "_pyroTraceback" entry, framed as Pyro4's
 * excepthook frames them: it drops one final newline, then prints every
 * line of what is left as " | line", empty lines included. */
static void
append_remote_lines (GString *out, const char *entry)
{
  gsize length = strlen (entry);
  if (length > 0 && entry[length - 1] == '\n')
    length--;
  g_autofree char *text = g_strndup (entry, length);

  /* g_strsplit() makes no piece at all of "", Python's split() makes one */
  if (text[0] == '\0')
    {
      g_string_append (out, " | \n");
      return;
    }
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++)
    g_string_append_printf (out, " | %s\n", lines[i]);
}

/* Appends the exception line, as Python's traceback module writes it: the
 * class, then ": " and str() of the exception unless that is empty.  The
 * message is the exception's one argument (pyro_error_to_json() sends it
 * so), and str() of such an exception is its argument, except that
 * KeyError shows its key as repr() does: KeyError: 'k'. */
static void
append_exception_line (GString *out, const GError *error)
{
  append_python_class (out, pyro_error_get_remote_class (error));
  if (error->message[0] != '\0')
    {
      g_string_append (out, ": ");
      if (g_error_matches (error, PYRO_ERROR, PYRO_ERROR_KEY))
        append_python_repr_string (out, error->message);
      else
        g_string_append (out, error->message);
    }
  g_string_append_c (out, '\n');
}

char *
pyro_error_format (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  GString *out = g_string_new (NULL);
  append_exception_line (out, error);

  const char * const *traceback = pyro_error_get_remote_traceback (error);
  if (traceback != NULL)
    {
      /* (sic: Pyro4 spells it "occured") */
      g_string_append (out, " +--- This exception occured remotely (Pyro) - Remote traceback:\n");
      for (gsize i = 0; traceback[i] != NULL; i++)
        append_remote_lines (out, traceback[i]);
      g_string_append (out, " +--- End of remote traceback\n");
    }
  return g_string_free (out, FALSE);
}

void
pyro_error_print (const GError *error)
{
  g_return_if_fail (error != NULL);

  g_autofree char *text = pyro_error_format (error);
  fputs (text, stderr);
}

/* ---- exception dicts ---------------------------------------------------------- */

/* Builds the traceback lines a Python client shows for an error raised by
 * a C method: Python's layout, pointing at the C function. */
static JsonNode *
traceback_for (const GError *error, const char *where)
{
  const char * const *remote = pyro_error_get_remote_traceback (error);
  JsonArray *lines = json_array_new ();

  if (remote != NULL)
    {
      for (gsize i = 0; remote[i] != NULL; i++)
        json_array_add_string_element (lines, remote[i]);
    }
  else
    {
      json_array_add_string_element (lines, "Traceback (most recent call last):\n");
      g_autofree char *frame = g_strdup_printf ("  File \"libpyro\", in %s (C)\n", where ? where : "?");
      json_array_add_string_element (lines, frame);
      /* ends, as Python's traceback does, with the exception line */
      g_autoptr(GString) last = g_string_new (NULL);
      append_exception_line (last, error);
      json_array_add_string_element (lines, last->str);
    }
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, lines);
  return node;
}

JsonNode *
pyro_error_to_json (const GError *error, const char *where)
{
  g_assert (error != NULL);

  JsonObject *exc = json_object_new ();
  json_object_set_string_member (exc, "__class__", pyro_error_get_remote_class (error));
  json_object_set_boolean_member (exc, "__exception__", TRUE);

  /* The message is the exception's one argument; an empty message is an
   * exception without arguments, which Python prints as the class alone
   * (KeyError('') would print "KeyError: ''"), as pyro_error_format() does. */
  JsonArray *args = json_array_new ();
  if (error->message[0] != '\0')
    json_array_add_string_element (args, error->message);
  json_object_set_array_member (exc, "args", args);

  JsonObject *attributes = json_object_new ();
  json_object_set_member (attributes, "_pyroTraceback", traceback_for (error, where));
  json_object_set_object_member (exc, "attributes", attributes);

  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, exc);
  return node;
}

/* The text of @node if it is a JSON string; NULL if it is missing or of
 * another type.  (json-glib's own json_object_get_string_member() logs a
 * CRITICAL for a list or a dict, and a peer must not be able to make us
 * do that: under G_DEBUG=fatal-criticals it would abort the program.) */
static const char *
json_string_or_null (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* TRUE only for a JSON true (not 1, not "yes"). */
static gboolean
json_is_true (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_BOOLEAN
         && json_node_get_boolean (node);
}

/* The text Python's str() gives for the exception Pyro4 rebuilds from
 * @args (it calls the class with them): "" for no arguments, the argument
 * itself for one text, repr() of one other value (42, None, [1, 'a']),
 * and the tuple of the arguments for several: "('bad thing', 42)".
 * "args" that is not a list counts as no arguments.
 *
 * A KeyError's one text argument, its key, stays as it is too: that is
 * what goes back on the wire if the error is passed on, and
 * pyro_error_format() quotes it, as KeyError's own str() does. */
static char *
message_from_args (JsonNode *args)
{
  GString *text = g_string_new (NULL);

  if (args == NULL || !JSON_NODE_HOLDS_ARRAY (args))
    return g_string_free (text, FALSE);

  JsonArray *array = json_node_get_array (args);
  guint n_args = json_array_get_length (array);
  if (n_args == 1)
    {
      JsonNode *arg = json_array_get_element (array, 0);
      const char *string = json_string_or_null (arg);
      if (string != NULL)
        g_string_append (text, string);
      else
        append_python_repr (text, arg);
    }
  else if (n_args > 1)
    {
      g_string_append_c (text, '(');
      for (guint i = 0; i < n_args; i++)
        {
          if (i > 0)
            g_string_append (text, ", ");
          append_python_repr (text, json_array_get_element (array, i));
        }
      g_string_append_c (text, ')');
    }
  return g_string_free (text, FALSE);
}

/* The text entries of attributes._pyroTraceback; NULL when there is no
 * such list.  Entries that are not text are left out. */
static char **
traceback_from_attributes (JsonObject *exc)
{
  JsonNode *attributes = json_object_get_member (exc, "attributes");
  if (attributes == NULL || !JSON_NODE_HOLDS_OBJECT (attributes))
    return NULL;
  JsonNode *tb = json_object_get_member (json_node_get_object (attributes), "_pyroTraceback");
  if (tb == NULL || !JSON_NODE_HOLDS_ARRAY (tb))
    return NULL;

  JsonArray *array = json_node_get_array (tb);
  GPtrArray *lines = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *line = json_string_or_null (json_array_get_element (array, i));
      if (line != NULL)
        g_ptr_array_add (lines, g_strdup (line));
    }
  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

GError *
pyro_error_from_json (JsonNode *node)
{
  const char *class_name = NULL;
  gboolean is_exception = FALSE;
  JsonObject *exc = NULL;

  /* Each member is looked at only once its type is known to be right. */
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      exc = json_node_get_object (node);
      class_name = json_string_or_null (json_object_get_member (exc, "__class__"));
      is_exception = json_is_true (json_object_get_member (exc, "__exception__"));
    }

  if (class_name == NULL || class_name[0] == '\0' || !is_exception)
    {
      g_autofree char *text = node ? json_to_string (node, FALSE) : g_strdup ("nothing");
      return g_error_new (PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                          "exception reply is not an exception dict: %.200s", text);
    }

  g_autofree char *message = message_from_args (json_object_get_member (exc, "args"));
  g_auto(GStrv) traceback = traceback_from_attributes (exc);
  return pyro_error_new_remote (class_name, (const char * const *) traceback, "%s", message);
}
