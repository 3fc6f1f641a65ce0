/* pyro-error.c: the PYRO_ERROR domain and remote exceptions.
 *
 * PYRO_ERROR is a GLib "extended" error domain: besides code and message,
 * each error carries the Python class name of the exception and, for
 * errors that came over the wire, the remote traceback.  That is what lets
 * a C client print a Python server's exception exactly like Pyro4 does, and
 * a Python client receive a C method's error as a real Python exception.
 */
#include "pyro-error-private.h"

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

/* "builtins.ValueError", "exceptions.ValueError" and "ValueError" all name
 * the same class; compare on the part after the module. */
static const char *
short_class_name (const char *class_name)
{
  if (g_str_has_prefix (class_name, "builtins."))
    return class_name + strlen ("builtins.");
  if (g_str_has_prefix (class_name, "exceptions."))
    return class_name + strlen ("exceptions.");
  if (g_str_has_prefix (class_name, "Pyro4.errors."))
    return class_name + strlen ("Pyro4.errors.");
  return class_name;
}

PyroErrorCode
pyro_error_code_for_class (const char *class_name)
{
  const char *wanted = short_class_name (class_name);

  for (gsize i = 0; i < G_N_ELEMENTS (class_table); i++)
    if (strcmp (short_class_name (class_table[i].class_name), wanted) == 0)
      return class_table[i].code;
  return PYRO_ERROR_REMOTE;
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
  priv->traceback = g_strdupv ((char **) traceback);
  return error;
}

char *
pyro_error_format (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "%s: %s\n", short_class_name (pyro_error_get_remote_class (error)),
                          error->message);

  const char * const *traceback = pyro_error_get_remote_traceback (error);
  if (traceback != NULL && traceback[0] != NULL)
    {
      /* Pyro4's excepthook frames the remote lines with " | ". One wire
       * line may hold several text lines, so split them. */
      g_string_append (out, " +--- This exception occured remotely (Pyro) - Remote traceback:\n");
      for (gsize i = 0; traceback[i] != NULL; i++)
        {
          g_auto(GStrv) lines = g_strsplit (traceback[i], "\n", -1);
          for (gsize j = 0; lines[j] != NULL; j++)
            if (lines[j][0] != '\0' || lines[j + 1] != NULL)
              g_string_append_printf (out, " | %s\n", lines[j]);
        }
      g_string_append (out, " +--- End of remote traceback\n");
    }
  return g_string_free (out, FALSE);
}

void
pyro_error_print (const GError *error)
{
  g_autofree char *text = pyro_error_format (error);
  fputs (text, stderr);
}

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
      g_autofree char *last = g_strdup_printf ("%s: %s\n",
                                               short_class_name (pyro_error_get_remote_class (error)),
                                               error->message);
      json_array_add_string_element (lines, last);
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

  JsonArray *args = json_array_new ();
  json_array_add_string_element (args, error->message);
  json_object_set_array_member (exc, "args", args);

  JsonObject *attributes = json_object_new ();
  json_object_set_member (attributes, "_pyroTraceback", traceback_for (error, where));
  json_object_set_object_member (exc, "attributes", attributes);

  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, exc);
  return node;
}

/* Python shows an exception's text as str(args[0]) for one argument and as
 * the tuple for several; we keep it readable: "a" or "a, 42". */
static char *
message_from_args (JsonNode *args)
{
  if (args == NULL || !JSON_NODE_HOLDS_ARRAY (args))
    return g_strdup ("");

  JsonArray *array = json_node_get_array (args);
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *arg = json_array_get_element (array, i);
      if (i > 0)
        g_string_append (text, ", ");
      if (JSON_NODE_HOLDS_VALUE (arg) && json_node_get_value_type (arg) == G_TYPE_STRING)
        g_string_append (text, json_node_get_string (arg));
      else
        {
          g_autofree char *json = json_to_string (arg, FALSE);
          g_string_append (text, json);
        }
    }
  return g_string_free (text, FALSE);
}

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
      JsonNode *line = json_array_get_element (array, i);
      if (JSON_NODE_HOLDS_VALUE (line) && json_node_get_value_type (line) == G_TYPE_STRING)
        g_ptr_array_add (lines, g_strdup (json_node_get_string (line)));
    }
  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

GError *
pyro_error_from_json (JsonNode *node)
{
  JsonObject *exc = (node && JSON_NODE_HOLDS_OBJECT (node)) ? json_node_get_object (node) : NULL;
  const char *class_name = exc ? json_object_get_string_member_with_default (exc, "__class__", NULL) : NULL;

  if (class_name == NULL || !json_object_get_boolean_member_with_default (exc, "__exception__", FALSE))
    {
      g_autofree char *text = node ? json_to_string (node, FALSE) : g_strdup ("nothing");
      return g_error_new (PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                          "exception reply is not an exception dict: %.200s", text);
    }

  g_autofree char *message = message_from_args (json_object_get_member (exc, "args"));
  g_auto(GStrv) traceback = traceback_from_attributes (exc);
  return pyro_error_new_remote (class_name, (const char * const *) traceback, "%s", message);
}
