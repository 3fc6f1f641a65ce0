/* test-nameserver.c: the name server's registry, its storage, and the
 * Pyro.NameServer object as a C client sees it (in-process, over TCP).
 *
 * Interop with Python and the command-line tools is in test-naming.c.
 */
#include <pyro/pyro.h>
#include "pyro-nameserver-private.h"
#include "testutil.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static char *
temp_db_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pyro-ns-XXXXXX", &error);
  g_assert_no_error (error);
  return g_build_filename (dir, "ns.sqlite", NULL);
}

static void
remove_temp_db (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *journal = g_strconcat (path, "-journal", NULL);
  g_remove (path);
  g_remove (journal);
  g_rmdir (dir);
}

static char *
storage_for (const char *path)
{
  return g_strconcat ("sql:", path, NULL);
}

static char *
tags_joined (GStrv tags)
{
  return g_strjoinv (",", tags);
}

/* ---- registry ----------------------------------------------------------- */

static void
fill_registry (PyroNsRegistry *registry)
{
  g_autoptr(GError) error = NULL;
  const char *tags_one[] = { "tag1", "tag2", "tag1", NULL };
  const char *tags_two[] = { "tag2", NULL };

  g_assert_true (pyro_ns_registry_register (registry, "example.one", "PYRO:one@127.0.0.1:5001", FALSE,
                                            tags_one, &error));
  g_assert_true (pyro_ns_registry_register (registry, "example.two", "PYRO:two@127.0.0.1:5002", FALSE,
                                            tags_two, &error));
  g_assert_true (pyro_ns_registry_register (registry, "other.three", "PYRO:three@127.0.0.1:5003", FALSE,
                                            NULL, &error));
  g_assert_no_error (error);
}

/* The names of a list result, comma-joined in order. */
static char *
list_names (PyroNsRegistry *registry, PyroNsMatch match, const char *pattern, const char * const *tags)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = pyro_ns_registry_list (registry, match, pattern, tags, &error);
  g_assert_no_error (error);
  GString *names = g_string_new (NULL);
  for (guint i = 0; i < found->len; i++)
    g_string_append_printf (names, "%s%s", i ? "," : "", ((PyroNsEntry *) g_ptr_array_index (found, i))->name);
  return g_string_free (names, FALSE);
}

static void
test_registry_basics (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new ("memory", &error);
  g_assert_no_error (error);
  fill_registry (registry);
  g_assert_cmpuint (pyro_ns_registry_count (registry), ==, 3);

  g_autoptr(PyroNsEntry) one = pyro_ns_registry_lookup (registry, "example.one", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (one->uri, ==, "PYRO:one@127.0.0.1:5001");
  g_autofree char *tags = tags_joined (one->tags);
  g_assert_cmpstr (tags, ==, "tag1,tag2"); /* duplicates dropped */

  g_assert_null (pyro_ns_registry_lookup (registry, "nope", &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_cmpstr (error->message, ==, "unknown name: nope");
  g_clear_error (&error);

  /* safe registration refuses an existing name; unsafe replaces it */
  g_assert_false (pyro_ns_registry_register (registry, "example.one", "PYRO:x@h:1", TRUE, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_cmpstr (error->message, ==, "name already registered: example.one");
  g_clear_error (&error);
  g_assert_true (pyro_ns_registry_register (registry, "example.one", "PYRO:x@h:1", FALSE, NULL, &error));
  g_autoptr(PyroNsEntry) replaced = pyro_ns_registry_lookup (registry, "example.one", &error);
  g_assert_cmpstr (replaced->uri, ==, "PYRO:x@h:1");
  g_assert_cmpuint (g_strv_length (replaced->tags), ==, 0);
  g_assert_cmpuint (pyro_ns_registry_count (registry), ==, 3);
}

typedef struct
{
  PyroNsMatch  match;
  const char  *pattern;
  const char  *tags[3];
  const char  *expected;
} ListCase;

static void
test_registry_list (void)
{
  static const ListCase cases[] = {
    { PYRO_NS_MATCH_ALL, NULL, { NULL }, "example.one,example.two,other.three" },
    { PYRO_NS_MATCH_PREFIX, "example.", { NULL }, "example.one,example.two" },
    { PYRO_NS_MATCH_PREFIX, "nothing", { NULL }, "" },
    { PYRO_NS_MATCH_REGEX, "example\\..*o$", { NULL }, "example.two" },
    { PYRO_NS_MATCH_REGEX, "t", { NULL }, "" },          /* anchored at the start, like re.match */
    { PYRO_NS_MATCH_REGEX, ".*t", { NULL }, "example.two,other.three" },
    { PYRO_NS_MATCH_METADATA_ALL, NULL, { "tag1", "tag2" }, "example.one" },
    { PYRO_NS_MATCH_METADATA_ALL, NULL, { "tag2" }, "example.one,example.two" },
    { PYRO_NS_MATCH_METADATA_ANY, NULL, { "zz", "tag2" }, "example.one,example.two" },
    { PYRO_NS_MATCH_METADATA_ANY, NULL, { "zz" }, "" },
  };
  g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new (NULL, NULL);
  fill_registry (registry);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *names = list_names (registry, cases[i].match, cases[i].pattern, cases[i].tags);
      g_assert_cmpstr (names, ==, cases[i].expected);
    }

  g_autoptr(GError) error = NULL;
  g_assert_null (pyro_ns_registry_list (registry, PYRO_NS_MATCH_REGEX, "[", NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_true (g_str_has_prefix (error->message, "invalid regex: "));
}

static void
test_registry_remove (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new (NULL, NULL);
  fill_registry (registry);
  const char *self_tags[] = { PYRO_NS_SELF_TAG, NULL };
  pyro_ns_registry_register (registry, PYRO_NS_OBJECT_ID, "PYRO:Pyro.NameServer@h:1", FALSE, self_tags, NULL);

  g_assert_true (pyro_ns_registry_remove (registry, "example.one", &error));
  g_assert_false (pyro_ns_registry_remove (registry, "example.one", &error));
  g_assert_false (pyro_ns_registry_remove (registry, PYRO_NS_OBJECT_ID, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pyro_ns_registry_remove_matching (registry, PYRO_NS_MATCH_REGEX, ".*", &error), ==, 2);
  g_assert_cmpuint (pyro_ns_registry_count (registry), ==, 1); /* the name server's own entry stays */
  g_assert_cmpint (pyro_ns_registry_remove_matching (registry, PYRO_NS_MATCH_REGEX, "(", &error), ==, -1);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
}

static void
test_registry_sql_restart (void)
{
  g_autofree char *path = temp_db_path ();
  g_autofree char *storage = storage_for (path);
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new (storage, &error);
    g_assert_no_error (error);
    fill_registry (registry);
    const char *new_tags[] = { "fresh", NULL };
    g_assert_true (pyro_ns_registry_set_metadata (registry, "other.three", new_tags, &error));
    g_assert_true (pyro_ns_registry_remove (registry, "example.two", &error));
    g_assert_no_error (error);
  }
  {
    g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new (storage, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (pyro_ns_registry_count (registry), ==, 2);
    g_autoptr(PyroNsEntry) one = pyro_ns_registry_lookup (registry, "example.one", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (one->uri, ==, "PYRO:one@127.0.0.1:5001");
    g_autofree char *one_tags = tags_joined (one->tags);
    g_assert_cmpstr (one_tags, ==, "tag1,tag2");
    g_autoptr(PyroNsEntry) three = pyro_ns_registry_lookup (registry, "other.three", &error);
    g_autofree char *three_tags = tags_joined (three->tags);
    g_assert_cmpstr (three_tags, ==, "fresh");
    g_assert_null (pyro_ns_registry_lookup (registry, "example.two", NULL));
  }
  remove_temp_db (path);
}

/* A file that is not a database is refused at start and left untouched. */
static void
test_registry_sql_corrupt (void)
{
  g_autofree char *path = temp_db_path ();
  g_autofree char *storage = storage_for (path);
  g_autoptr(GError) error = NULL;
  const char junk[] = "this is not an sqlite database, but it has lots of text in it, more than a header's worth.......";

  g_assert_true (g_file_set_contents (path, junk, -1, &error));
  g_assert_null (pyro_ns_registry_new (storage, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "not a database"));
  g_clear_error (&error);

  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (path, &after, NULL, &error));
  g_assert_cmpstr (after, ==, junk);

  /* A real name server file with damaged pages is refused too, and kept. */
  {
    g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new (storage + 0, NULL);
    g_assert_null (registry);
  }
  remove_temp_db (path);

  g_autofree char *path2 = temp_db_path ();
  g_autofree char *storage2 = storage_for (path2);
  {
    g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new (storage2, &error);
    g_assert_no_error (error);
    /* enough rows to need several pages */
    for (int i = 0; i < 300; i++)
      {
        g_autofree char *name = g_strdup_printf ("example.name%03d.with.a.long.name.to.fill.pages", i);
        pyro_ns_registry_register (registry, name, "PYRO:obj@127.0.0.1:5000", FALSE, NULL, &error);
        g_assert_no_error (error);
      }
  }
  gsize size;
  g_autofree char *bytes = NULL;
  g_assert_true (g_file_get_contents (path2, &bytes, &size, &error));
  g_assert_cmpuint (size, >, 8192);
  memset (bytes + 4096 + 16, 0xA5, 2048); /* scribble over page 2 */
  g_assert_true (g_file_set_contents (path2, bytes, size, &error));
  g_assert_null (pyro_ns_registry_new (storage2, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_nonnull (strstr (error->message, "cannot use name server storage"));
  g_clear_error (&error);
  g_autofree char *bytes_after = NULL;
  gsize size_after;
  g_assert_true (g_file_get_contents (path2, &bytes_after, &size_after, &error));
  g_assert_cmpuint (size_after, ==, size);
  g_assert_true (memcmp (bytes, bytes_after, size) == 0);
  remove_temp_db (path2);
}

static void
test_registry_bad_storage (void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null (pyro_ns_registry_new ("dbm:/tmp/x", &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_VALUE);
  g_assert_cmpstr (error->message, ==, "invalid storage type 'dbm:/tmp/x'");
  g_clear_error (&error);
  g_assert_null (pyro_ns_registry_new ("sql:/nonexistent-dir-for-pyro/ns.db", &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
}

/* ---- the name server object over TCP ------------------------------------ */

typedef struct
{
  GThread        *thread;
  GMainContext   *context;
  GMutex          lock;
  GCond           cond;
  gboolean        ready;
  char           *storage;
  gboolean        broadcast;
  PyroNameServer *ns;
  GError         *error;
} NsThread;

static gpointer
ns_thread_main (gpointer data)
{
  NsThread *t = data;
  GMainContext *context = t->context;
  g_main_context_push_thread_default (context);

  PyroNameServer *ns = pyro_name_server_new ("127.0.0.1", 0, t->storage, &t->error);
  if (ns != NULL && t->broadcast)
    pyro_name_server_start_broadcast (ns, "127.0.0.1", (guint16) atoi (g_getenv ("PYRO_NS_BCPORT")), &t->error);
  g_mutex_lock (&t->lock);
  t->ns = ns;
  t->ready = TRUE;
  g_cond_signal (&t->cond);
  g_mutex_unlock (&t->lock);

  if (ns != NULL && t->error == NULL)
    pyro_daemon_request_loop (pyro_name_server_get_daemon (ns));

  /* Freed here, with our context still thread-default, so that the
   * daemon's sources are destroyed in the context they belong to. */
  pyro_name_server_free (ns);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static NsThread *
ns_thread_start (const char *storage, gboolean broadcast)
{
  NsThread *t = g_new0 (NsThread, 1);
  g_mutex_init (&t->lock);
  g_cond_init (&t->cond);
  t->storage = g_strdup (storage);
  t->broadcast = broadcast;
  t->context = g_main_context_new ();
  t->thread = g_thread_new ("nameserver", ns_thread_main, t);
  g_mutex_lock (&t->lock);
  while (!t->ready)
    g_cond_wait (&t->cond, &t->lock);
  g_mutex_unlock (&t->lock);
  g_assert_no_error (t->error);
  g_assert_nonnull (t->ns);
  return t;
}

static gboolean
shutdown_in_context (gpointer data)
{
  pyro_daemon_shutdown (data);
  return G_SOURCE_REMOVE;
}

/* The shutdown runs in the name server's own thread, as a signal handler
 * would in pyro-ns: the daemon's pending accept is then cancelled in the
 * context that owns it. */
static void
ns_thread_stop (NsThread *t)
{
  g_main_context_invoke (t->context, shutdown_in_context, pyro_name_server_get_daemon (t->ns));
  g_thread_join (t->thread);
  g_main_context_unref (t->context);
  g_mutex_clear (&t->lock);
  g_cond_clear (&t->cond);
  g_free (t->storage);
  g_free (t);
}

static PyroProxy *
ns_proxy (NsThread *t)
{
  return pyro_proxy_new_for_uri (pyro_name_server_get_uri (t->ns));
}

static void
test_object_methods (void)
{
  NsThread *t = ns_thread_start (NULL, FALSE);
  g_autoptr(PyroProxy) ns = ns_proxy (t);
  g_autoptr(GError) error = NULL;

  g_assert_true (pyro_naming_ping (ns, NULL, &error));
  g_assert_cmpint (pyro_naming_count (ns, NULL, &error), ==, 1);
  const char *tags[] = { "tag1", "tag2", NULL };
  g_assert_true (pyro_naming_register (ns, "example.thing", "PYRO:thing@127.0.0.1:9302", FALSE, tags, NULL, &error));
  g_assert_true (pyro_naming_register (ns, "example.greeting", "PYRO:obj_abc@127.0.0.1:9302", FALSE, NULL, NULL,
                                       &error));
  g_assert_no_error (error);

  g_auto(GStrv) found_tags = NULL;
  g_autoptr(PyroUri) uri = pyro_naming_lookup (ns, "example.thing", &found_tags, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pyro_uri_to_string (uri), ==, "PYRO:thing@127.0.0.1:9302");
  g_autofree char *joined = tags_joined (found_tags);
  g_assert_cmpstr (joined, ==, "tag1,tag2");

  g_autoptr(GVariant) listed = pyro_naming_list (ns, PYRO_NAMING_MATCH_PREFIX, "example.", NULL, FALSE, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *printed = g_variant_print (listed, FALSE);
  g_assert_cmpstr (printed, ==,
                   "{'example.thing': 'PYRO:thing@127.0.0.1:9302', 'example.greeting': 'PYRO:obj_abc@127.0.0.1:9302'}");

  const char *any[] = { "zz", "tag2", NULL };
  g_autoptr(GVariant) by_tag = pyro_naming_list (ns, PYRO_NAMING_MATCH_METADATA_ANY, NULL, any, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *by_tag_printed = g_variant_print (by_tag, FALSE);
  g_assert_cmpstr (by_tag_printed, ==, "{'example.thing': ('PYRO:thing@127.0.0.1:9302', ['tag1', 'tag2'])}");

  const char *g1[] = { "g1", NULL };
  g_assert_true (pyro_naming_set_metadata (ns, "example.greeting", g1, NULL, &error));
  g_assert_cmpint (pyro_naming_remove (ns, "example.greeting", NULL, &error), ==, 1);
  g_assert_cmpint (pyro_naming_remove (ns, "example.greeting", NULL, &error), ==, 0);
  g_assert_cmpint (pyro_naming_remove (ns, PYRO_NAMESERVER_NAME, NULL, &error), ==, 0);
  g_assert_cmpint (pyro_naming_remove_matching (ns, PYRO_NAMING_MATCH_PREFIX, "example.", NULL, &error), ==, 1);
  g_assert_cmpint (pyro_naming_count (ns, NULL, &error), ==, 1);
  g_assert_no_error (error);

  ns_thread_stop (t);
}

/* Raw calls with Python-style arguments: the exception class and text
 * Pyro4's name server gives, and the server keeps serving. */
typedef struct
{
  const char *method;
  const char *params;  /* GVariant text of the positional tuple */
  const char *kwargs;  /* GVariant text of an a{sv}, or NULL */
  const char *remote_class;
  const char *message;
} BadCase;

static void
test_object_bad_input (void)
{
  static const BadCase cases[] = {
    { "lookup", "('nope',)", NULL, "Pyro4.errors.NamingError", "unknown name: nope" },
    { "register", "('example.a', 'PYRO:a@127.0.0.1:1')", "{'safe': <true>}", "Pyro4.errors.NamingError",
      "name already registered: example.a" },
    { "register", "('x', 'junk')", NULL, "Pyro4.errors.PyroError", "invalid uri" },
    { "register", "('x', <int64 5>)", NULL, "builtins.TypeError", "only URIs or strings can be registered" },
    { "register", "(<int64 5>, 'PYRO:a@127.0.0.1:1')", NULL, "builtins.TypeError", "name must be a str" },
    { "register", "('x', 'PYRO:a@127.0.0.1:1')", "{'metadata': <'abc'>}", "builtins.TypeError",
      "metadata should not be a str, but another iterable (set, list, etc)" },
    { "list", "()", "{'prefix': <'a'>, 'regex': <'b'>}", "builtins.ValueError",
      "you can only filter on one thing at a time" },
    { "list", "()", "{'regex': <'['>}", "Pyro4.errors.NamingError", NULL /* "invalid regex: ..." */ },
    { "list", "()", "{'metadata_all': <'tag'>}", "builtins.TypeError",
      "metadata_all should not be a str, but another iterable (set, list, etc)" },
    { "list", "()", "{'bogus': <1>}", "builtins.TypeError",
      "NameServer.list() got an unexpected keyword argument 'bogus'" },
    { "set_metadata", "('nope', ['a'])", NULL, "Pyro4.errors.NamingError", "unknown name: nope" },
    { "remove", "()", "{'regex': <'('>}", "Pyro4.errors.NamingError", NULL },
  };
  NsThread *t = ns_thread_start (NULL, FALSE);
  g_autoptr(PyroProxy) ns = ns_proxy (t);
  g_autoptr(GError) error = NULL;
  g_assert_true (pyro_naming_register (ns, "example.a", "PYRO:a@127.0.0.1:1", FALSE, NULL, NULL, &error));

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GVariant) params = g_variant_parse (NULL, cases[i].params, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autoptr(GVariant) kwargs = cases[i].kwargs ? g_variant_parse (G_VARIANT_TYPE_VARDICT, cases[i].kwargs, NULL, NULL,
                                                            &error)
                                         : NULL;
      g_assert_no_error (error);
      g_autoptr(GVariant) result = pyro_proxy_call_full_sync (ns, cases[i].method, params, kwargs, PYRO_CALL_NONE,
                                                              NULL, NULL, &error);
      g_assert_null (result);
      g_assert_nonnull (error);
      g_assert_cmpstr (pyro_error_get_remote_class (error), ==, cases[i].remote_class);
      if (cases[i].message)
        g_assert_cmpstr (error->message, ==, cases[i].message);
      else
        g_assert_true (g_str_has_prefix (error->message, "invalid regex: "));
      g_clear_error (&error);
      /* still serving, and nothing changed */
      g_assert_cmpint (pyro_naming_count (ns, NULL, &error), ==, 2);
      g_assert_no_error (error);
    }
  ns_thread_stop (t);
}

/* lookup returns Pyro4's URI object, list returns strings. */
static void
test_object_wire_shapes (void)
{
  NsThread *t = ns_thread_start (NULL, FALSE);
  g_autoptr(PyroProxy) ns = ns_proxy (t);
  g_autoptr(GError) error = NULL;
  g_assert_true (pyro_naming_register (ns, "example.thing", "PYRO:thing@127.0.0.1:9302", FALSE, NULL, NULL, &error));

  g_autoptr(GVariant) found = pyro_proxy_call_sync (ns, "lookup", g_variant_new ("(s)", "example.thing"), NULL, NULL,
                                                    &error);
  g_assert_no_error (error);
  g_autofree char *printed = g_variant_print (found, FALSE);
  g_assert_cmpstr (printed, ==,
                   "{'__class__': <'Pyro4.core.URI'>, 'state': <[<'PYRO'>, <'thing'>, <@mv nothing>, "
                   "<'127.0.0.1'>, <int64 9302>]>}");
  ns_thread_stop (t);
}

static void
test_object_sql_restart (void)
{
  g_autofree char *path = temp_db_path ();
  g_autofree char *storage = storage_for (path);
  g_autoptr(GError) error = NULL;
  const char *tags[] = { "blue", "green", NULL };

  NsThread *t = ns_thread_start (storage, FALSE);
  {
    g_autoptr(PyroProxy) ns = ns_proxy (t);
    g_assert_true (pyro_naming_register (ns, "example.kept", "PYRO:kept@127.0.0.1:7000", FALSE, tags, NULL, &error));
    g_assert_no_error (error);
  }
  ns_thread_stop (t);

  t = ns_thread_start (storage, FALSE);
  {
    g_autoptr(PyroProxy) ns = ns_proxy (t);
    g_assert_cmpint (pyro_naming_count (ns, NULL, &error), ==, 2);
    g_auto(GStrv) found_tags = NULL;
    g_autoptr(PyroUri) uri = pyro_naming_lookup (ns, "example.kept", &found_tags, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (pyro_uri_to_string (uri), ==, "PYRO:kept@127.0.0.1:7000");
    g_autofree char *joined = tags_joined (found_tags);
    g_assert_cmpstr (joined, ==, "blue,green");
    /* the name server's own entry points at the new daemon */
    g_autoptr(PyroUri) self = pyro_naming_lookup (ns, PYRO_NAMESERVER_NAME, NULL, NULL, &error);
    g_assert_true (pyro_uri_equal (self, pyro_name_server_get_uri (t->ns)));
  }
  ns_thread_stop (t);
  remove_temp_db (path);
}

/* Locating by broadcast on loopback, and PYRONAME/PYROMETA proxies. */
static void
test_locate_broadcast (void)
{
  NsThread *t = ns_thread_start (NULL, TRUE);
  g_autoptr(GError) error = NULL;
  guint16 bcport = pyro_name_server_get_broadcast_port (t->ns);
  g_assert_cmpuint (bcport, ==, atoi (g_getenv ("PYRO_NS_BCPORT")));

  /* main() configured a closed NS port: discovery must find it */
  g_autoptr(PyroProxy) ns = pyro_naming_locate (NULL, 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pyro_uri_equal (pyro_proxy_get_uri (ns), pyro_name_server_get_uri (t->ns)));

  g_autoptr(PyroProxy) by_name = pyro_proxy_new ("PYRONAME:Pyro.NameServer", &error);
  g_assert_no_error (error);
  g_autoptr(GVariant) count = pyro_proxy_call_sync (by_name, "count", NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  g_autofree char *meta_text = g_strdup_printf ("PYROMETA:" PYRO_NS_SELF_TAG "@127.0.0.1:%u",
                                                pyro_uri_get_port (pyro_name_server_get_uri (t->ns)));
  g_autoptr(PyroProxy) by_meta = pyro_proxy_new (meta_text, &error);
  g_autoptr(GVariant) pong = pyro_proxy_call_sync (by_meta, "ping", NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  ns_thread_stop (t);

  /* nothing anywhere: a clear NamingError */
  g_autoptr(PyroProxy) none = pyro_naming_locate (NULL, 0, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_cmpstr (error->message, ==, "Failed to locate the nameserver");
  g_clear_error (&error);
  g_assert_null (pyro_naming_locate ("127.0.0.1", 1, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
}

/* A UDP port nobody uses right now, for the broadcast responder. */
static guint16
free_udp_port (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
                                            &error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, any_port, FALSE, &error));
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

int
main (int argc, char **argv)
{
  /* Before any thread starts (setenv is not thread-safe): keep discovery
   * on loopback, on a free port, and point the default name server
   * address at a closed port. */
  g_autofree char *bcport = g_strdup_printf ("%u", free_udp_port ());
  g_setenv ("PYRO_BROADCAST_ADDRS", "127.0.0.1", TRUE);
  g_setenv ("PYRO_NS_HOST", "127.0.0.1", TRUE);
  g_setenv ("PYRO_NS_PORT", "1", TRUE);
  g_setenv ("PYRO_NS_BCPORT", bcport, TRUE);

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pyro/nameserver/registry/basics", test_registry_basics);
  g_test_add_func ("/pyro/nameserver/registry/list", test_registry_list);
  g_test_add_func ("/pyro/nameserver/registry/remove", test_registry_remove);
  g_test_add_func ("/pyro/nameserver/registry/sql-restart", test_registry_sql_restart);
  g_test_add_func ("/pyro/nameserver/registry/sql-corrupt", test_registry_sql_corrupt);
  g_test_add_func ("/pyro/nameserver/registry/bad-storage", test_registry_bad_storage);
  g_test_add_func ("/pyro/nameserver/object/methods", test_object_methods);
  g_test_add_func ("/pyro/nameserver/object/bad-input", test_object_bad_input);
  g_test_add_func ("/pyro/nameserver/object/wire-shapes", test_object_wire_shapes);
  g_test_add_func ("/pyro/nameserver/object/sql-restart", test_object_sql_restart);
  g_test_add_func ("/pyro/nameserver/locate/broadcast", test_locate_broadcast);
  return g_test_run ();
}
