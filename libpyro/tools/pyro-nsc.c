/* pyro-nsc.c: the name server control tool, a drop-in for Pyro4's `pyro4-nsc`.
 *
 *   pyro-nsc [-n HOST] [-p PORT] [-k KEY] [-v] command [arguments]
 *
 * The HMAC key of a name server that wants one comes from PYRO_HMAC_KEY
 * (or the deprecated -k; both at once is an error, as in pyro4-nsc).
 *
 * Same commands and the same output lines as pyro4-nsc, so a course
 * handout showing pyro4-nsc output matches what students see.  One
 * difference on purpose: errors also give a non-zero exit status (pyro4-nsc
 * prints "Error: ..." and exits 0), so scripts can tell.
 */
#include <pyro/pyro.h>
#include "pyro-naming-private.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE \
  "Usage: pyro-nsc [options] command [arguments]\n" \
  "Commands: register remove removematching lookup list listmatching\n" \
  "          listmeta_all listmeta_any setmeta ping\n"

/* ---- printing as Python does -------------------------------------------- */

/* Python's repr() of a str, enough for names and tags. */
static void
append_python_repr (GString *out, const char *text)
{
  char quote = (strchr (text, '\'') != NULL && strchr (text, '"') == NULL) ? '"' : '\'';
  g_string_append_c (out, quote);
  for (const char *p = text; *p != '\0'; p++)
    {
      unsigned char c = (unsigned char) *p;
      if (c == '\\' || c == (unsigned char) quote)
        g_string_append_printf (out, "\\%c", c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, quote);
}

/* Python's repr() of a list of str: ['a', 'b']. */
static char *
python_list_repr (const char * const *items)
{
  GString *out = g_string_new ("[");
  for (gsize i = 0; items[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      append_python_repr (out, items[i]);
    }
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* pyro4-nsc's printListResult: sorted by name, tags when there are any. */
static void
print_list (GVariant *result, const char *title)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GVariantIter iter;
  char *name;

  g_print ("--------START LIST %s\n", title);
  g_variant_iter_init (&iter, result);
  while (g_variant_iter_next (&iter, "{s*}", &name, NULL))
    g_ptr_array_add (names, name);
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *uri;
      g_autofree const char **tags = NULL;
      name = g_ptr_array_index (names, i);
      g_variant_lookup (result, name, "(&s^a&s)", &uri, &tags);
      g_print ("%s --> %s\n", name, uri);
      if (tags != NULL && tags[0] != NULL)
        {
          g_autofree char *shown = python_list_repr (tags);
          g_print ("    metadata: %s\n", shown);
        }
    }
  g_print ("--------END LIST %s\n", title);
}

/* ---- the commands -------------------------------------------------------- */

typedef struct
{
  PyroProxy *ns;
  int        argc; /* the command and its arguments */
  char     **argv;
} Command;

/* pyro4-nsc's `raise SystemExit("...")` for wrong argument counts. */
static int
usage_error (const char *message)
{
  g_printerr ("%s\n", message);
  return 1;
}

static gboolean
cmd_ping (Command *cmd, GError **error)
{
  if (!pyro_naming_ping (cmd->ns, NULL, error))
    return FALSE;
  g_print ("Name server ping ok.\n");
  return TRUE;
}

static gboolean
cmd_list (Command *cmd, GError **error)
{
  gboolean prefixed = cmd->argc > 1;
  g_autoptr(GVariant) result = pyro_naming_list (cmd->ns, prefixed ? PYRO_NAMING_MATCH_PREFIX : PYRO_NAMING_MATCH_ALL,
                                                 prefixed ? cmd->argv[1] : NULL, NULL, TRUE, NULL, error);
  if (result == NULL)
    return FALSE;
  g_autofree char *title = prefixed ? g_strdup_printf ("- prefix '%s'", cmd->argv[1]) : g_strdup ("");
  print_list (result, title);
  return TRUE;
}

static gboolean
cmd_listmatching (Command *cmd, GError **error)
{
  g_autoptr(GVariant) result = pyro_naming_list (cmd->ns, PYRO_NAMING_MATCH_REGEX, cmd->argv[1], NULL, TRUE,
                                                 NULL, error);
  if (result == NULL)
    return FALSE;
  g_autofree char *title = g_strdup_printf ("- regex '%s'", cmd->argv[1]);
  print_list (result, title);
  return TRUE;
}

static gboolean
list_by_metadata (Command *cmd, PyroNamingMatch match, GError **error)
{
  g_autoptr(GVariant) result = pyro_naming_list (cmd->ns, match, NULL, (const char * const *) cmd->argv + 1, TRUE,
                                                 NULL, error);
  if (result == NULL)
    return FALSE;
  print_list (result, " - searched by metadata");
  return TRUE;
}

static gboolean
cmd_listmeta_all (Command *cmd, GError **error)
{
  return list_by_metadata (cmd, PYRO_NAMING_MATCH_METADATA_ALL, error);
}

static gboolean
cmd_listmeta_any (Command *cmd, GError **error)
{
  return list_by_metadata (cmd, PYRO_NAMING_MATCH_METADATA_ANY, error);
}

static gboolean
cmd_lookup (Command *cmd, GError **error)
{
  g_auto(GStrv) tags = NULL;
  g_autoptr(PyroUri) uri = pyro_naming_lookup (cmd->ns, cmd->argv[1], &tags, NULL, error);
  if (uri == NULL)
    return FALSE;
  g_print ("%s\n", pyro_uri_to_string (uri));
  if (tags != NULL && tags[0] != NULL)
    {
      g_autofree char *shown = python_list_repr ((const char * const *) tags);
      g_print ("metadata: %s\n", shown);
    }
  return TRUE;
}

static gboolean
cmd_register (Command *cmd, GError **error)
{
  if (!pyro_naming_register (cmd->ns, cmd->argv[1], cmd->argv[2], TRUE, NULL, NULL, error))
    return FALSE;
  g_print ("Registered %s\n", cmd->argv[1]);
  return TRUE;
}

static gboolean
cmd_remove (Command *cmd, GError **error)
{
  gint count = pyro_naming_remove (cmd->ns, cmd->argv[1], NULL, error);
  if (count < 0)
    return FALSE;
  if (count > 0)
    g_print ("Removed %s\n", cmd->argv[1]);
  else
    g_print ("Nothing removed\n");
  return TRUE;
}

static gboolean
cmd_removematching (Command *cmd, GError **error)
{
  char answer[64] = "";
  g_print ("Potentially removing lots of items from the Name server. Are you sure (y/n)?");
  fflush (stdout);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    answer[0] = '\0';
  g_strstrip (answer);
  if (strcmp (answer, "y") != 0 && strcmp (answer, "Y") != 0)
    return TRUE;
  gint count = pyro_naming_remove_matching (cmd->ns, PYRO_NAMING_MATCH_REGEX, cmd->argv[1], NULL, error);
  if (count < 0)
    return FALSE;
  g_print ("%d items removed.\n", count);
  return TRUE;
}

static gboolean
cmd_setmeta (Command *cmd, GError **error)
{
  const char * const *tags = (const char * const *) cmd->argv + 2;
  if (!pyro_naming_set_metadata (cmd->ns, cmd->argv[1], tags, NULL, error))
    return FALSE;
  g_print (tags[0] != NULL ? "Metadata updated\n" : "Metadata cleared\n");
  return TRUE;
}

typedef struct
{
  const char *name;
  gboolean  (*run) (Command *cmd, GError **error);
  int         min_args;   /* arguments after the command */
  int         max_args;   /* -1: any number */
  const char *arg_error;  /* pyro4-nsc's message when the count is wrong */
} CommandInfo;

static const CommandInfo commands[] = {
  { "ping", cmd_ping, 0, -1, NULL },
  { "list", cmd_list, 0, -1, NULL },
  { "listmatching", cmd_listmatching, 1, 1, "requires one argument: pattern" },
  { "listmeta_all", cmd_listmeta_all, 1, -1, "requires at least one metadata tag argument" },
  { "listmeta_any", cmd_listmeta_any, 1, -1, "requires at least one metadata tag argument" },
  /* the names older Pyro4 versions used for the two above */
  { "yplookup_all", cmd_listmeta_all, 1, -1, "requires at least one metadata tag argument" },
  { "yplookup_any", cmd_listmeta_any, 1, -1, "requires at least one metadata tag argument" },
  { "lookup", cmd_lookup, 1, 1, "requires one argument: name" },
  { "register", cmd_register, 2, 2, "requires two arguments: name uri" },
  { "remove", cmd_remove, 1, 1, "requires one argument: name" },
  { "removematching", cmd_removematching, 1, 1, "requires one argument: pattern" },
  { "setmeta", cmd_setmeta, 1, -1, "requires at least 2 arguments: uri and zero or more meta tags" },
  { NULL }
};

static const CommandInfo *
find_command (const char *name)
{
  for (const CommandInfo *c = commands; c->name != NULL; c++)
    if (strcmp (c->name, name) == 0)
      return c;
  return NULL;
}

/* "Pyro4.errors.NamingError" -> "NamingError", as type(x).__name__. */
static const char *
short_class_name (const GError *error)
{
  const char *klass = pyro_error_get_remote_class (error);
  const char *dot = strrchr (klass, '.');
  return dot ? dot + 1 : klass;
}

int
main (int argc, char **argv)
{
  g_autofree char *host = NULL;
  int port = 0;
  gboolean verbose = FALSE;
  g_autofree char *option_key = NULL;
  const char *hmac_key;
  const GOptionEntry entries[] = {
    { "host", 'n', 0, G_OPTION_ARG_STRING, &host, "hostname of the NS", "HOST" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "port of the NS (or bc-port if host isn't specified)", "PORT" },
    { "key", 'k', 0, G_OPTION_ARG_STRING, &option_key, "the HMAC key to use (deprecated: set PYRO_HMAC_KEY)",
      "KEY" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "verbose output", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("command [arguments]");
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  g_option_context_set_summary (options, "Commands: register remove removematching lookup list listmatching\n"
                                         "          listmeta_all listmeta_any setmeta ping");
  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error) || port < 0 || port > 65535)
    {
      g_printerr ("%s\npyro-nsc: error: %s\n", USAGE, error ? error->message : "invalid port");
      return 2;
    }
  if (!pyro_naming_tool_hmac_key ("pyro-nsc", option_key, &hmac_key))
    return 1;
  const CommandInfo *info = argc > 1 ? find_command (argv[1]) : NULL;
  if (info == NULL)
    {
      g_printerr ("%s\npyro-nsc: error: invalid or missing command\n", USAGE);
      return 2;
    }
  int n_args = argc - 2;
  if (n_args < info->min_args || (info->max_args >= 0 && n_args > info->max_args))
    return usage_error (info->arg_error);

  if (verbose)
    g_print ("Locating name server...\n");
  g_autoptr(PyroProxy) ns = pyro_naming_locate_with_key (host, (guint16) port, hmac_key, NULL, &error);
  if (ns == NULL)
    {
      g_print ("Error: %s\n", error->message);
      return 1;
    }
  if (verbose)
    g_print ("Name server found: %s\n", pyro_uri_to_string (pyro_proxy_get_uri (ns)));

  Command cmd = { ns, argc - 1, argv + 1 };
  if (!info->run (&cmd, &error))
    {
      g_print ("Error: %s - %s\n", short_class_name (error), error->message);
      return 1;
    }
  if (verbose)
    g_print ("Done.\n");
  return 0;
}
