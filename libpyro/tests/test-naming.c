/* test-naming.c: the name servers and their tools, across languages.
 *
 * - the C name server (build/bin/pyro-ns) used by Python: locateNS by host
 *   and by broadcast, every method, PYRONAME:/PYROMETA: proxies to a C object;
 * - the command-line tools: pyro-nsc and Python's pyro4-nsc, each against
 *   each name server, must print the same lines for the same commands;
 * - Python's name server (pyro4-ns) used by a C server and a C client,
 *   and found by C discovery on loopback;
 * - a PYRONAME: proxy following its object to a new address;
 * - HMAC keys: each name server with a key (PYRO_HMAC_KEY or -k), used by
 *   Python and C clients and tools with the right key, a wrong one and none.
 *
 * Every process runs on loopback with free ports; the environment points
 * the default name server at a closed port (PYRO_NS_PORT=1) so that
 * nothing here ever talks to a real one on 9090.
 */
#include <pyro/pyro.h>
#include "testutil.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- an object to find -------------------------------------------------- */

static GVariant *
echo_echo (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_autoptr(GVariant) text = g_variant_get_child_value (args, 0);
  return g_variant_ref (text);
}

static const PyroMethod echo_methods[] = {
  { "echo", "(s)", "s", echo_echo, 0, "text" },
  { NULL }
};

static const PyroClass echo_class = { .name = "Echo", .methods = echo_methods };

static void
setup_echo (PyroDaemon *daemon, gpointer user_data)
{
  pyro_test_register (daemon, &echo_class, NULL, "example.echo");
}

/* The echo object's daemon in a thread of its own.  Unlike
 * pyro_test_daemon_start() it is shut down from inside its own context
 * (as a signal handler would): a shutdown from another thread can leave
 * the daemon's cancelled accept source behind (LeakSanitizer sees it). */
typedef struct
{
  GThread      *thread;
  GMainContext *context;
  GMutex        lock;
  GCond         cond;
  PyroDaemon   *daemon;
  char         *hmac_key; /* nullable */
} EchoServer;

static gpointer
echo_server_main (gpointer data)
{
  EchoServer *es = data;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (es->context);
  PyroDaemon *daemon = pyro_daemon_new ("127.0.0.1", 0, &error);
  g_assert_no_error (error);
  pyro_daemon_set_hmac_key (daemon, es->hmac_key);
  setup_echo (daemon, NULL);
  g_mutex_lock (&es->lock);
  es->daemon = daemon;
  g_cond_signal (&es->cond);
  g_mutex_unlock (&es->lock);

  pyro_daemon_request_loop (daemon);
  g_object_unref (daemon);
  g_main_context_pop_thread_default (es->context);
  return NULL;
}

/* @hmac_key (nullable): the daemon's HMAC key */
static EchoServer *
echo_server_start_with_key (const char *hmac_key)
{
  EchoServer *es = g_new0 (EchoServer, 1);
  es->hmac_key = g_strdup (hmac_key);
  g_mutex_init (&es->lock);
  g_cond_init (&es->cond);
  es->context = g_main_context_new ();
  es->thread = g_thread_new ("echo", echo_server_main, es);
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&es->lock);
  while (es->daemon == NULL)
    if (!g_cond_wait_until (&es->cond, &es->lock, deadline))
      g_error ("the echo daemon did not start in %d s", PYRO_TEST_TIMEOUT_S);
  g_mutex_unlock (&es->lock);
  return es;
}

static EchoServer *
echo_server_start (void)
{
  return echo_server_start_with_key (NULL);
}

static char *
echo_server_uri (EchoServer *es)
{
  g_autoptr(PyroUri) uri = pyro_daemon_uri_for (es->daemon, "example.echo");
  return g_strdup (pyro_uri_to_string (uri));
}

static gboolean
shutdown_in_context (gpointer data)
{
  pyro_daemon_shutdown (data);
  return G_SOURCE_REMOVE;
}

static void
echo_server_stop (EchoServer *es)
{
  g_main_context_invoke (es->context, shutdown_in_context, es->daemon);
  g_thread_join (es->thread);
  g_main_context_unref (es->context);
  g_mutex_clear (&es->lock);
  g_cond_clear (&es->cond);
  g_free (es->hmac_key);
  g_free (es);
}

/* ---- name server processes ---------------------------------------------- */

typedef struct
{
  GSubprocess *proc;
  char        *uri;    /* PYRO:Pyro.NameServer@127.0.0.1:PORT */
  guint16      port;
  guint16      bcport; /* 0 when there is no responder */
  GString     *banner; /* the start-up lines read, each ending in "\n" */
} NsProcess;

/* Reads the start-up lines up to "URI = ..." (and "BCPORT = ..." or a
 * "Broadcast server running on HOST:PORT" line before it). */
static void
ns_process_read_banner (NsProcess *ns, gboolean want_bcport_line)
{
  for (int i = 0; i < 10 && (ns->uri == NULL || (want_bcport_line && ns->bcport == 0)); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *line = pyro_test_read_line (ns->proc, PYRO_TEST_TIMEOUT_S, &error);
      g_assert_no_error (error);
      if (ns->banner == NULL)
        ns->banner = g_string_new (NULL);
      g_string_append_printf (ns->banner, "%s\n", line);
      if (g_str_has_prefix (line, "URI = "))
        {
          ns->uri = g_strdup (line + strlen ("URI = "));
          ns->port = (guint16) atoi (strrchr (ns->uri, ':') + 1);
        }
      else if (g_str_has_prefix (line, "Broadcast server running on "))
        ns->bcport = (guint16) atoi (strrchr (line, ':') + 1);
      else if (g_str_has_prefix (line, "BCPORT = "))
        ns->bcport = (guint16) atoi (line + strlen ("BCPORT = "));
    }
  g_assert_nonnull (ns->uri);
  g_assert_cmpuint (ns->port, !=, 0);
}

static NsProcess *
start_c_ns (const char *storage)
{
  g_autofree char *build = pyro_test_build_dir ();
  g_autofree char *binary = g_build_filename (build, "bin", "pyro-ns", NULL);
  const char *argv[] = { binary, "-n", "127.0.0.1", "-p", "0", "--bchost", "127.0.0.1", "--bcport", "0",
                         storage ? "-s" : NULL, storage, NULL };
  g_autoptr(GError) error = NULL;
  NsProcess *ns = g_new0 (NsProcess, 1);
  ns->proc = pyro_test_spawn (argv, NULL, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  ns_process_read_banner (ns, TRUE);
  g_assert_cmpuint (ns->bcport, !=, 0);
  return ns;
}

/* Python's own pyro4-ns, exactly as a student starts it. */
static NsProcess *
start_python_ns (void)
{
  const char *argv[] = { PYRO_TEST_PYTHON, "-m", "Pyro4.naming", "-n", "127.0.0.1", "-p", "0", NULL };
  g_autoptr(GError) error = NULL;
  NsProcess *ns = g_new0 (NsProcess, 1);
  ns->proc = pyro_test_spawn (argv, NULL, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  ns_process_read_banner (ns, FALSE);
  return ns;
}

/* Python's name server with a loopback broadcast responder (ns_pyserver.py). */
static NsProcess *
start_python_ns_with_broadcast (void)
{
  g_autoptr(GError) error = NULL;
  NsProcess *ns = g_new0 (NsProcess, 1);
  ns->proc = pyro_test_spawn_python ("ns_pyserver.py", NULL, &error);
  g_assert_no_error (error);
  ns_process_read_banner (ns, TRUE);
  g_assert_cmpuint (ns->bcport, !=, 0);
  return ns;
}

static void
stop_ns (NsProcess *ns)
{
  pyro_test_stop_process (ns->proc, PYRO_TEST_TIMEOUT_S);
  g_object_unref (ns->proc);
  g_free (ns->uri);
  if (ns->banner != NULL)
    g_string_free (ns->banner, TRUE);
  g_free (ns);
}

/* ---- the C name server used by Python ----------------------------------- */

static void
test_c_ns_python_client (void)
{
  NsProcess *ns = start_c_ns (NULL);
  EchoServer *echo = echo_server_start ();
  g_autofree char *echo_uri = echo_server_uri (echo);
  g_autofree char *port = g_strdup_printf ("%u", ns->port);
  g_autofree char *bcport = g_strdup_printf ("%u", ns->bcport);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  const char *direct[] = { "direct", "127.0.0.1", port, echo_uri, NULL };
  g_assert_true (pyro_test_run_python ("ns_client.py", direct, PYRO_TEST_TIMEOUT_S * 3, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "ALL OK\n");
  g_assert_cmpint (status, ==, 0);
  g_clear_pointer (&out, g_free);

  const char *discover[] = { "discover", bcport, ns->uri, NULL };
  g_assert_true (pyro_test_run_python ("ns_client.py", discover, PYRO_TEST_TIMEOUT_S, &out, NULL, &status, &error));
  g_assert_cmpstr (out, ==, "ALL OK\n");
  g_assert_cmpint (status, ==, 0);

  echo_server_stop (echo);
  /* SIGTERM stops it cleanly: exit status 0 */
  g_assert_cmpint (pyro_test_stop_process (ns->proc, PYRO_TEST_TIMEOUT_S), ==, 0);
  stop_ns (ns);
}

/* ---- the command-line tools --------------------------------------------- */

typedef struct
{
  const char *args;     /* space-separated */
  const char *stdin_text;
  const char *expected; /* stdout; "{NS}" stands for the name server's host:port */
  int         status;   /* pyro-nsc's exit status; pyro4-nsc exits 0 on errors, 2 on usage */
} NscCase;

static const NscCase nsc_cases[] = {
  { "ping", NULL, "Name server ping ok.\n", 0 },
  { "list", NULL,
    "--------START LIST \n"
    "Pyro.NameServer --> PYRO:Pyro.NameServer@{NS}\n"
    "    metadata: ['class:Pyro4.naming.NameServer']\n"
    "--------END LIST \n", 0 },
  { "register example.one PYRO:one@127.0.0.1:5555", NULL, "Registered example.one\n", 0 },
  { "register example.one PYRO:one@127.0.0.1:5555", NULL,
    "Error: NamingError - name already registered: example.one\n", 1 },
  { "register example.two PYRO:two@127.0.0.1:5556", NULL, "Registered example.two\n", 0 },
  { "setmeta example.one tagA", NULL, "Metadata updated\n", 0 },
  { "list example", NULL,
    "--------START LIST - prefix 'example'\n"
    "example.one --> PYRO:one@127.0.0.1:5555\n"
    "    metadata: ['tagA']\n"
    "example.two --> PYRO:two@127.0.0.1:5556\n"
    "--------END LIST - prefix 'example'\n", 0 },
  { "listmatching ex.*one", NULL,
    "--------START LIST - regex 'ex.*one'\n"
    "example.one --> PYRO:one@127.0.0.1:5555\n"
    "    metadata: ['tagA']\n"
    "--------END LIST - regex 'ex.*one'\n", 0 },
  { "listmeta_all tagA", NULL,
    "--------START LIST  - searched by metadata\n"
    "example.one --> PYRO:one@127.0.0.1:5555\n"
    "    metadata: ['tagA']\n"
    "--------END LIST  - searched by metadata\n", 0 },
  { "listmeta_any zz tagA", NULL,
    "--------START LIST  - searched by metadata\n"
    "example.one --> PYRO:one@127.0.0.1:5555\n"
    "    metadata: ['tagA']\n"
    "--------END LIST  - searched by metadata\n", 0 },
  { "lookup example.one", NULL, "PYRO:one@127.0.0.1:5555\nmetadata: ['tagA']\n", 0 },
  { "lookup nope", NULL, "Error: NamingError - unknown name: nope\n", 1 },
  { "setmeta example.one", NULL, "Metadata cleared\n", 0 },
  { "lookup example.one", NULL, "PYRO:one@127.0.0.1:5555\n", 0 },
  { "setmeta nope tagA", NULL, "Error: NamingError - unknown name: nope\n", 1 },
  { "register bad junk", NULL, "Error: PyroError - invalid uri\n", 1 },
  { "remove example.two", NULL, "Removed example.two\n", 0 },
  { "remove example.two", NULL, "Nothing removed\n", 0 },
  { "removematching ex.*", "n\n", "Potentially removing lots of items from the Name server. Are you sure (y/n)?", 0 },
  { "removematching ex.*", "y\n",
    "Potentially removing lots of items from the Name server. Are you sure (y/n)?1 items removed.\n", 0 },
  { "list", NULL,
    "--------START LIST \n"
    "Pyro.NameServer --> PYRO:Pyro.NameServer@{NS}\n"
    "    metadata: ['class:Pyro4.naming.NameServer']\n"
    "--------END LIST \n", 0 },
  { "bogus", NULL, "", 2 },
  { "", NULL, "", 2 },
};

static char *
expand (const char *text, const char *ns_location)
{
  g_auto(GStrv) parts = g_strsplit (text, "{NS}", -1);
  return g_strjoinv (ns_location, parts);
}

/* Runs every case with @tool ("pyro-nsc" or "pyro4-nsc") against @ns. */
static void
run_nsc_cases (const char *tool, NsProcess *ns)
{
  gboolean python = strcmp (tool, "pyro4-nsc") == 0;
  g_autofree char *build = pyro_test_build_dir ();
  g_autofree char *binary = g_build_filename (build, "bin", "pyro-nsc", NULL);
  g_autofree char *port = g_strdup_printf ("%u", ns->port);
  g_autofree char *location = g_strdup_printf ("127.0.0.1:%u", ns->port);

  for (gsize i = 0; i < G_N_ELEMENTS (nsc_cases); i++)
    {
      const NscCase *c = &nsc_cases[i];
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      if (python)
        {
          g_ptr_array_add (argv, PYRO_TEST_PYTHON);
          g_ptr_array_add (argv, "-m");
          g_ptr_array_add (argv, "Pyro4.nsc");
        }
      else
        g_ptr_array_add (argv, binary);
      g_ptr_array_add (argv, "-n");
      g_ptr_array_add (argv, "127.0.0.1");
      g_ptr_array_add (argv, "-p");
      g_ptr_array_add (argv, port);
      g_auto(GStrv) words = g_strsplit (c->args, " ", -1);
      for (gsize w = 0; words[w] != NULL; w++)
        if (*words[w] != '\0')
          g_ptr_array_add (argv, words[w]);
      g_ptr_array_add (argv, NULL);

      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autoptr(GError) error = NULL;
      int status = -1;
      g_assert_true (pyro_test_run ((const char * const *) argv->pdata, c->stdin_text ? c->stdin_text : "",
                                    PYRO_TEST_TIMEOUT_S, &out, &err, &status, &error));
      g_assert_no_error (error);
      g_autofree char *expected = expand (c->expected, location);
      if (g_strcmp0 (out, expected) != 0)
        g_test_message ("%s %s: stderr: %s", tool, c->args, err);
      g_assert_cmpstr (out, ==, expected);
      int expected_status = (python && c->status == 1) ? 0 : c->status;
      g_assert_cmpint (status, ==, expected_status);
      if (c->status == 2)
        g_assert_nonnull (strstr (err, "error: invalid or missing command"));
    }
}

static void
test_nsc_c_tool_c_ns (void)
{
  NsProcess *ns = start_c_ns (NULL);
  run_nsc_cases ("pyro-nsc", ns);
  stop_ns (ns);
}

static void
test_nsc_python_tool_c_ns (void)
{
  NsProcess *ns = start_c_ns (NULL);
  run_nsc_cases ("pyro4-nsc", ns);
  stop_ns (ns);
}

static void
test_nsc_c_tool_python_ns (void)
{
  NsProcess *ns = start_python_ns ();
  run_nsc_cases ("pyro-nsc", ns);
  stop_ns (ns);
}

/* pyro-nsc finds the name server by broadcast when no host is given (-p is then the broadcast port). */
static void
test_nsc_broadcast (void)
{
  NsProcess *ns = start_c_ns (NULL);
  g_autofree char *build = pyro_test_build_dir ();
  g_autofree char *binary = g_build_filename (build, "bin", "pyro-nsc", NULL);
  g_autofree char *bcport = g_strdup_printf ("%u", ns->bcport);
  const char *argv[] = { binary, "-p", bcport, "-v", "ping", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_true (pyro_test_run (argv, NULL, PYRO_TEST_TIMEOUT_S, &out, NULL, &status, &error));
  g_autofree char *expected = g_strdup_printf ("Locating name server...\nName server found: %s\n"
                                               "Name server ping ok.\nDone.\n", ns->uri);
  g_assert_cmpstr (out, ==, expected);
  g_assert_cmpint (status, ==, 0);
  stop_ns (ns);

  /* nobody there: a clear message and a non-zero status */
  g_clear_pointer (&out, g_free);
  g_assert_true (pyro_test_run (argv, NULL, PYRO_TEST_TIMEOUT_S, &out, NULL, &status, &error));
  g_assert_cmpstr (out, ==, "Locating name server...\nError: Failed to locate the nameserver\n");
  g_assert_cmpint (status, ==, 1);
}

/* ---- Python's name server used from C ------------------------------------ */

static void
test_python_ns_c_server_c_client (void)
{
  NsProcess *ns = start_python_ns ();
  EchoServer *echo = echo_server_start ();
  g_autofree char *echo_uri = echo_server_uri (echo);
  g_autoptr(GError) error = NULL;

  /* the C server registers */
  g_autoptr(PyroProxy) nsp = pyro_naming_locate ("127.0.0.1", ns->port, NULL, &error);
  g_assert_no_error (error);
  const char *tags[] = { "echo", NULL };
  g_assert_true (pyro_naming_register (nsp, "example.echo", echo_uri, TRUE, tags, NULL, &error));
  g_assert_false (pyro_naming_register (nsp, "example.echo", echo_uri, TRUE, tags, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_cmpstr (error->message, ==, "name already registered: example.echo");
  g_clear_error (&error);

  /* the C client resolves */
  g_autofree char *by_name = g_strdup_printf ("PYRONAME:example.echo@127.0.0.1:%u", ns->port);
  g_autoptr(PyroProxy) proxy = pyro_proxy_new (by_name, &error);
  g_autoptr(GVariant) answer = pyro_proxy_call_sync (proxy, "echo", g_variant_new ("(s)", "hi"),
                                                     G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (answer, NULL), ==, "hi");

  g_autofree char *by_meta = g_strdup_printf ("PYROMETA:echo@127.0.0.1:%u", ns->port);
  g_autoptr(PyroProxy) meta_proxy = pyro_proxy_new (by_meta, &error);
  g_autoptr(GVariant) meta_answer = pyro_proxy_call_sync (meta_proxy, "echo", g_variant_new ("(s)", "meta"),
                                                          G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (meta_answer, NULL), ==, "meta");

  /* the library calls against Pyro4's name server */
  g_auto(GStrv) found_tags = NULL;
  g_autoptr(PyroUri) found = pyro_naming_lookup (nsp, "example.echo", &found_tags, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pyro_uri_to_string (found), ==, echo_uri);
  g_assert_cmpstr (found_tags[0], ==, "echo");
  g_autoptr(GVariant) listed = pyro_naming_list (nsp, PYRO_NAMING_MATCH_REGEX, "example\\..*", NULL, FALSE, NULL,
                                                 &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (listed), ==, 1);
  g_assert_null (pyro_naming_lookup (nsp, "nope", NULL, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_cmpstr (error->message, ==, "unknown name: nope");
  g_assert_cmpstr (pyro_error_get_remote_class (error), ==, "Pyro4.errors.NamingError");
  g_clear_error (&error);
  g_assert_cmpint (pyro_naming_count (nsp, NULL, &error), ==, 2);
  g_assert_cmpint (pyro_naming_remove (nsp, "example.echo", NULL, &error), ==, 1);
  g_assert_no_error (error);

  echo_server_stop (echo);
  stop_ns (ns);
}

static void
test_python_ns_discovery (void)
{
  NsProcess *ns = start_python_ns_with_broadcast ();
  g_autoptr(GError) error = NULL;

  g_autoptr(PyroProxy) nsp = pyro_naming_locate (NULL, ns->bcport, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pyro_uri_to_string (pyro_proxy_get_uri (nsp)), ==, ns->uri);
  g_assert_true (pyro_naming_ping (nsp, NULL, &error));
  g_assert_no_error (error);
  stop_ns (ns);
}

/* ---- storage through the tool ------------------------------------------- */

static void
test_c_ns_sql_restart (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pyro-ns-XXXXXX", &error);
  g_autofree char *file = g_build_filename (dir, "ns.sqlite", NULL);
  g_autofree char *storage = g_strconcat ("sql:", file, NULL);
  const char *tags[] = { "kept", NULL };

  NsProcess *ns = start_c_ns (storage);
  /* A fresh store holds only the name server itself: nothing to announce. */
  g_assert_null (strstr (ns->banner->str, "Persistent store"));
  {
    g_autoptr(PyroProxy) nsp = pyro_naming_locate ("127.0.0.1", ns->port, NULL, &error);
    g_assert_true (pyro_naming_register (nsp, "example.kept", "PYRO:kept@127.0.0.1:7000", FALSE, tags, NULL, &error));
    g_assert_no_error (error);
  }
  stop_ns (ns);

  ns = start_c_ns (storage);
  /* pyro4-ns's line for a restarted name server; like it, the count includes its own entry. */
  g_assert_nonnull (strstr (ns->banner->str, "Persistent store contains 2 existing registrations.\n"));
  {
    g_autoptr(PyroProxy) nsp = pyro_naming_locate ("127.0.0.1", ns->port, NULL, &error);
    g_auto(GStrv) found_tags = NULL;
    g_autoptr(PyroUri) found = pyro_naming_lookup (nsp, "example.kept", &found_tags, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (pyro_uri_to_string (found), ==, "PYRO:kept@127.0.0.1:7000");
    g_assert_cmpstr (found_tags[0], ==, "kept");
  }
  stop_ns (ns);

  /* a file that is not a database: a clear error at start, file untouched */
  g_assert_true (g_file_set_contents (file, "garbage garbage garbage garbage garbage garbage garbage garbage "
                                            "garbage garbage garbage garbage garbage garbage", -1, &error));
  g_autofree char *build = pyro_test_build_dir ();
  g_autofree char *binary = g_build_filename (build, "bin", "pyro-ns", NULL);
  const char *argv[] = { binary, "-n", "127.0.0.1", "-p", "0", "-x", "-s", storage, NULL };
  g_autofree char *err = NULL;
  int status = -1;
  g_assert_true (pyro_test_run (argv, NULL, PYRO_TEST_TIMEOUT_S, NULL, &err, &status, &error));
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "cannot use name server storage"));
  g_assert_nonnull (strstr (err, "not a database"));
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (file, &after, NULL, &error));
  g_assert_true (g_str_has_prefix (after, "garbage garbage"));

  g_autofree char *journal = g_strconcat (file, "-journal", NULL);
  g_remove (journal);
  g_remove (file);
  g_rmdir (dir);
}

/* ---- PYRONAME: follows its object --------------------------------------- */

static void
test_pyroname_follows_object (void)
{
  NsProcess *ns = start_c_ns (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroProxy) nsp = pyro_naming_locate ("127.0.0.1", ns->port, NULL, &error);
  g_assert_no_error (error);

  EchoServer *first = echo_server_start ();
  g_autofree char *first_uri = echo_server_uri (first);
  g_assert_true (pyro_naming_register (nsp, "example.echo", first_uri, FALSE, NULL, NULL, &error));

  g_autofree char *by_name = g_strdup_printf ("PYRONAME:example.echo@127.0.0.1:%u", ns->port);
  g_autoptr(PyroProxy) proxy = pyro_proxy_new (by_name, &error);
  g_autoptr(GVariant) one = pyro_proxy_call_sync (proxy, "echo", g_variant_new ("(s)", "one"), NULL, NULL, &error);
  g_assert_no_error (error);

  /* the object moves: a new daemon on another port, registered again */
  echo_server_stop (first);
  EchoServer *second = echo_server_start ();
  g_autofree char *second_uri = echo_server_uri (second);
  g_assert_cmpstr (first_uri, !=, second_uri);
  g_assert_true (pyro_naming_register (nsp, "example.echo", second_uri, FALSE, NULL, NULL, &error));

  /* The old connection is gone; the proxy resolves the name again when
   * it reconnects (Pyro4 may report the broken connection once first). */
  g_autoptr(GVariant) two = pyro_proxy_call_sync (proxy, "echo", g_variant_new ("(s)", "two"), NULL, NULL, &error);
  if (two == NULL)
    {
      g_test_message ("first call after the move: %s", error->message);
      g_clear_error (&error);
      two = pyro_proxy_call_sync (proxy, "echo", g_variant_new ("(s)", "two"), NULL, NULL, &error);
    }
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (two, NULL), ==, "two");

  echo_server_stop (second);
  stop_ns (ns);
}

/* ---- HMAC keys ------------------------------------------------------------ */

#define HMAC_KEY "secret"

/* The listing of a fresh name server at 127.0.0.1:@port, as both tools print it. */
static char *
fresh_listing (guint16 port)
{
  g_autofree char *location = g_strdup_printf ("127.0.0.1:%u", port);
  return expand (nsc_cases[1].expected, location);
}

/* Runs pyro-nsc (or with @python, pyro4-nsc) "-n 127.0.0.1 -p PORT
 * @command", with PYRO_HMAC_KEY=@env_key in its environment and -k
 * @option_key on its command line, each unless NULL.
 * @return the exit status */
static int
run_nsc_keyed (gboolean     python,
               guint16      port,
               const char  *env_key,
               const char  *option_key,
               const char  *command,
               char       **out,
               char       **err)
{
  g_autofree char *build = pyro_test_build_dir ();
  g_autofree char *binary = g_build_filename (build, "bin", "pyro-nsc", NULL);
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *env_setting = env_key ? g_strconcat ("PYRO_HMAC_KEY=", env_key, NULL) : NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = -1;

  /* pyro_test_run() removes PYRO_HMAC_KEY from the environment; env(1) puts it back. */
  if (env_key != NULL)
    {
      g_ptr_array_add (argv, "/usr/bin/env");
      g_ptr_array_add (argv, env_setting);
    }
  if (python)
    {
      g_ptr_array_add (argv, PYRO_TEST_PYTHON);
      g_ptr_array_add (argv, "-m");
      g_ptr_array_add (argv, "Pyro4.nsc");
    }
  else
    g_ptr_array_add (argv, binary);
  g_ptr_array_add (argv, "-n");
  g_ptr_array_add (argv, "127.0.0.1");
  g_ptr_array_add (argv, "-p");
  g_ptr_array_add (argv, port_text);
  if (option_key != NULL)
    {
      g_ptr_array_add (argv, "-k");
      g_ptr_array_add (argv, (gpointer) option_key);
    }
  g_auto(GStrv) words = g_strsplit (command, " ", -1);
  for (gsize w = 0; words[w] != NULL; w++)
    g_ptr_array_add (argv, words[w]);
  g_ptr_array_add (argv, NULL);

  g_assert_true (pyro_test_run ((const char * const *) argv->pdata, "", PYRO_TEST_TIMEOUT_S, out, err, &status,
                                &error));
  g_assert_no_error (error);
  return status;
}

/* How a name server or a client is given its key. */
typedef enum
{
  KEY_BY_ENV,    /* PYRO_HMAC_KEY */
  KEY_BY_OPTION, /* -k, deprecated */
} KeyWay;

/* The C name server with the key HMAC_KEY given @way; -x, as students start it. */
static NsProcess *
start_keyed_c_ns (KeyWay way)
{
  g_autofree char *build = pyro_test_build_dir ();
  g_autofree char *binary = g_build_filename (build, "bin", "pyro-ns", NULL);
  const char *argv[] = { binary, "-n", "127.0.0.1", "-p", "0", "-x",
                         way == KEY_BY_OPTION ? "-k" : NULL, HMAC_KEY, NULL };
  const char *env[] = { "PYRO_HMAC_KEY=" HMAC_KEY, NULL };
  g_autoptr(GError) error = NULL;
  NsProcess *ns = g_new0 (NsProcess, 1);
  ns->proc = pyro_test_spawn (argv, way == KEY_BY_ENV ? env : NULL, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  ns_process_read_banner (ns, FALSE);
  return ns;
}

/* The C library's view of a keyed name server at 127.0.0.1:@port: only
 * the right key finds it, and the error says why the others do not. */
static void
check_c_library_locate (guint16 port)
{
  static const struct
  {
    const char *key;
    const char *reason; /* NULL: found */
  } cases[] = {
    { HMAC_KEY, NULL },
    { "wrong", "message hmac mismatch" },
    { NULL, "hmac key config not symmetric" },
    { "", "hmac key config not symmetric" }, /* empty means none, as in Pyro4 */
    { HMAC_KEY, NULL },                      /* and it still serves */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroProxy) ns = pyro_naming_locate_with_key ("127.0.0.1", port, cases[i].key, NULL, &error);
      if (cases[i].reason == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (pyro_naming_ping (ns, NULL, &error));
          g_assert_no_error (error);
          continue;
        }
      g_assert_null (ns);
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
      g_assert_true (g_str_has_prefix (error->message, "Failed to locate the nameserver: "));
      if (strstr (error->message, cases[i].reason) == NULL)
        g_error ("key %s: \"%s\" does not say \"%s\"", cases[i].key, error->message, cases[i].reason);
    }

  /* pyro_naming_locate() has no key */
  g_autoptr(GError) error = NULL;
  g_assert_null (pyro_naming_locate ("127.0.0.1", port, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_nonnull (strstr (error->message, "hmac key config not symmetric"));
}

/* A keyed echo object registered in the keyed name server at @port is
 * reached through PYRONAME: by a proxy with the key (which the proxy also
 * uses for the lookup), and not by one without. */
static void
check_pyroname_with_key (guint16 port)
{
  EchoServer *echo = echo_server_start_with_key (HMAC_KEY);
  g_autofree char *echo_uri = echo_server_uri (echo);
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroProxy) nsp = pyro_naming_locate_with_key ("127.0.0.1", port, HMAC_KEY, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pyro_naming_register (nsp, "example.echo", echo_uri, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autofree char *by_name = g_strdup_printf ("PYRONAME:example.echo@127.0.0.1:%u", port);
  g_autoptr(PyroProxy) keyed = pyro_proxy_new (by_name, &error);
  g_assert_no_error (error);
  pyro_proxy_set_hmac_key (keyed, HMAC_KEY);
  g_autoptr(GVariant) answer = pyro_proxy_call_sync (keyed, "echo", g_variant_new ("(s)", "keyed"),
                                                     G_VARIANT_TYPE_STRING, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (answer, NULL), ==, "keyed");

  /* without the key the lookup itself is refused */
  g_autoptr(PyroProxy) plain = pyro_proxy_new (by_name, &error);
  g_assert_no_error (error);
  g_assert_null (pyro_proxy_call_sync (plain, "echo", g_variant_new ("(s)", "plain"), NULL, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_nonnull (strstr (error->message, "hmac key config not symmetric"));

  g_assert_cmpint (pyro_naming_remove (nsp, "example.echo", NULL, NULL), ==, 1);
  echo_server_stop (echo);
}

/* The C name server with a key (given as @data, a KeyWay), used by
 * Python's locateNS and pyro4-nsc, by pyro-nsc and by the C library. */
static void
test_hmac_c_ns (gconstpointer data)
{
  NsProcess *ns = start_keyed_c_ns (GPOINTER_TO_INT (data));
  g_autofree char *port = g_strdup_printf ("%u", ns->port);
  g_autofree char *listing = fresh_listing (ns->port);
  g_autoptr(GError) error = NULL;

  /* pyro4-ns's lines with a key: no "Warning: HMAC key not set" */
  g_autofree char *banner = g_strdup_printf ("Not starting broadcast server for localhost.\n"
                                             "NS running on 127.0.0.1:%u (127.0.0.1)\n"
                                             "URI = PYRO:Pyro.NameServer@127.0.0.1:%u\n", ns->port, ns->port);
  g_assert_cmpstr (ns->banner->str, ==, banner);

  /* Python's locateNS with the right key, a wrong one and none */
  g_autofree char *out = NULL;
  int status = -1;
  const char *args[] = { "127.0.0.1", port, HMAC_KEY, NULL };
  g_assert_true (pyro_test_run_python ("ns_hmac.py", args, PYRO_TEST_TIMEOUT_S * 2, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "ALL OK\n");
  g_assert_cmpint (status, ==, 0);

  /* both tools: key by environment or option; refused with a wrong key or
   * none (pyro4-nsc prints Pyro4's NamingError and exits 0) */
  static const struct
  {
    gboolean    python;
    const char *env_key;
    const char *option_key;
    const char *reason; /* NULL: the listing */
  } tools[] = {
    { TRUE, HMAC_KEY, NULL, NULL },
    { TRUE, NULL, HMAC_KEY, NULL },
    { TRUE, "wrong", NULL, "" },
    { TRUE, NULL, NULL, "" },
    { FALSE, HMAC_KEY, NULL, NULL },
    { FALSE, NULL, HMAC_KEY, NULL },
    { FALSE, "wrong", NULL, ": message hmac mismatch" },
    { FALSE, NULL, NULL, ": hmac key config not symmetric" },
    { FALSE, "", NULL, ": hmac key config not symmetric" },
    { TRUE, HMAC_KEY, NULL, NULL },
    { FALSE, HMAC_KEY, NULL, NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autofree char *tool_out = NULL;
      g_autofree char *tool_err = NULL;
      status = run_nsc_keyed (tools[i].python, ns->port, tools[i].env_key, tools[i].option_key, "list",
                              &tool_out, &tool_err);
      if (status != (tools[i].reason == NULL || tools[i].python ? 0 : 1))
        g_test_message ("case %" G_GSIZE_FORMAT ": stderr: %s", i, tool_err);
      if (tools[i].reason == NULL)
        {
          g_assert_cmpstr (tool_out, ==, listing);
          g_assert_cmpint (status, ==, 0);
        }
      else
        {
          g_autofree char *expected = g_strconcat ("Error: Failed to locate the nameserver", tools[i].reason, NULL);
          g_assert_true (g_str_has_prefix (tool_out, expected));
          g_assert_cmpint (status, ==, tools[i].python ? 0 : 1);
        }
    }

  check_c_library_locate (ns->port);
  check_pyroname_with_key (ns->port);

  /* SIGTERM stops it cleanly */
  g_assert_cmpint (pyro_test_stop_process (ns->proc, PYRO_TEST_TIMEOUT_S), ==, 0);
  stop_ns (ns);
}

/* Both -k and PYRO_HMAC_KEY: which one was meant?  Both tools refuse, as Pyro4's do. */
static void
test_hmac_key_twice (void)
{
  g_autofree char *build = pyro_test_build_dir ();
  g_autofree char *ns_binary = g_build_filename (build, "bin", "pyro-ns", NULL);
  const char *argv[] = { "/usr/bin/env", "PYRO_HMAC_KEY=" HMAC_KEY, ns_binary, "-n", "127.0.0.1", "-p", "0", "-x",
                         "-k", HMAC_KEY, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_true (pyro_test_run (argv, NULL, PYRO_TEST_TIMEOUT_S, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "pyro-ns: error: don't use -k and PYRO_HMAC_KEY at the same time\n"));

  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* (port 1: it must stop before trying to connect) */
  status = run_nsc_keyed (FALSE, 1, HMAC_KEY, HMAC_KEY, "ping", &out, &err);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "pyro-nsc: error: don't use -k and PYRO_HMAC_KEY at the same time\n"));
}

/* Python's pyro4-ns with PYRO_HMAC_KEY, used by pyro-nsc and by C
 * servers and clients. */
static void
test_hmac_python_ns (void)
{
  const char *argv[] = { PYRO_TEST_PYTHON, "-m", "Pyro4.naming", "-n", "127.0.0.1", "-p", "0", NULL };
  const char *env[] = { "PYRO_HMAC_KEY=" HMAC_KEY, NULL };
  g_autoptr(GError) error = NULL;
  NsProcess *ns = g_new0 (NsProcess, 1);
  ns->proc = pyro_test_spawn (argv, env, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  ns_process_read_banner (ns, FALSE);
  g_assert_null (strstr (ns->banner->str, "Warning"));
  g_autofree char *listing = fresh_listing (ns->port);

  static const struct
  {
    const char *env_key;
    const char *option_key;
    const char *command;
    const char *expected; /* stdout (a prefix when status is 1); NULL: the listing */
    int         status;
  } cases[] = {
    { HMAC_KEY, NULL, "list", NULL, 0 },
    { NULL, HMAC_KEY, "ping", "Name server ping ok.\n", 0 },
    { NULL, NULL, "ping", "Error: Failed to locate the nameserver: hmac key config not symmetric", 1 },
    { "wrong", NULL, "ping", "Error: Failed to locate the nameserver: message hmac mismatch", 1 },
    { NULL, "wrong", "list", "Error: Failed to locate the nameserver: message hmac mismatch", 1 },
    { HMAC_KEY, NULL, "ping", "Name server ping ok.\n", 0 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status = run_nsc_keyed (FALSE, ns->port, cases[i].env_key, cases[i].option_key, cases[i].command,
                                  &out, &err);
      if (status != cases[i].status)
        g_test_message ("case %" G_GSIZE_FORMAT ": stderr: %s", i, err);
      if (cases[i].status == 0)
        g_assert_cmpstr (out, ==, cases[i].expected ? cases[i].expected : listing);
      else
        g_assert_true (g_str_has_prefix (out, cases[i].expected));
      g_assert_cmpint (status, ==, cases[i].status);
      if (cases[i].option_key != NULL)
        g_assert_nonnull (strstr (err, "deprecated"));
    }

  check_c_library_locate (ns->port);
  check_pyroname_with_key (ns->port);
  stop_ns (ns);
}

/* Cancels @cancellable after PYRO_TEST_TIMEOUT_S unless told to stop. */
typedef struct
{
  GCancellable *cancellable;
  gint          stop;  /* atomic */
} GiveUp;

static gpointer
give_up_later (gpointer data)
{
  GiveUp *give_up = data;
  for (int i = 0; i < PYRO_TEST_TIMEOUT_S * 100 && !g_atomic_int_get (&give_up->stop); i++)
    g_usleep (10 * 1000);
  if (!g_atomic_int_get (&give_up->stop))
    g_cancellable_cancel (give_up->cancellable);
  return NULL;
}

/* A PYRONAME: proxy's timeout bounds the name server lookup too: a "name
 * server" that accepts connections and never answers makes the call fail
 * with the timeout (within 0.5 s; the test gives up, by cancelling, after
 * PYRO_TEST_TIMEOUT_S, which makes it fail). */
static void
test_pyroname_silent_ns (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) silent = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                            &error);
  g_assert_no_error (error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (silent, any_port, TRUE, &error));
  g_assert_true (g_socket_listen (silent, &error));  /* the kernel accepts; nobody reads */
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address (silent, &error);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  g_autofree char *uri = g_strdup_printf ("PYRONAME:example.thing@127.0.0.1:%u", port);
  g_autoptr(PyroProxy) proxy = pyro_proxy_new (uri, &error);
  g_assert_no_error (error);
  pyro_proxy_set_timeout (proxy, 0.5);

  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GiveUp give_up = { cancellable, 0 };
  GThread *watch = g_thread_new ("give-up", give_up_later, &give_up);

  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "add", NULL, NULL, cancellable, &error);
  g_atomic_int_set (&give_up.stop, 1);
  g_thread_join (watch);

  g_assert_null (result);
  g_test_message ("%s", error->message);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_NAMING);
  g_assert_nonnull (strstr (error->message, "timeout"));
}

int
main (int argc, char **argv)
{
  /* Before any thread starts: keep every lookup on loopback, and make the
   * default name server address a closed port. */
  g_setenv ("PYRO_BROADCAST_ADDRS", "127.0.0.1", TRUE);
  g_setenv ("PYRO_NS_HOST", "127.0.0.1", TRUE);
  g_setenv ("PYRO_NS_PORT", "1", TRUE);
  g_setenv ("PYRO_SERIALIZER", "json", TRUE);

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pyro/naming/c-ns/python-client", test_c_ns_python_client);
  g_test_add_func ("/pyro/naming/c-ns/sql-restart", test_c_ns_sql_restart);
  g_test_add_func ("/pyro/naming/nsc/c-tool-c-ns", test_nsc_c_tool_c_ns);
  g_test_add_func ("/pyro/naming/nsc/python-tool-c-ns", test_nsc_python_tool_c_ns);
  g_test_add_func ("/pyro/naming/nsc/c-tool-python-ns", test_nsc_c_tool_python_ns);
  g_test_add_func ("/pyro/naming/nsc/broadcast", test_nsc_broadcast);
  g_test_add_func ("/pyro/naming/python-ns/c-server-c-client", test_python_ns_c_server_c_client);
  g_test_add_func ("/pyro/naming/python-ns/discovery", test_python_ns_discovery);
  g_test_add_func ("/pyro/naming/pyroname/follows-object", test_pyroname_follows_object);
  g_test_add_data_func ("/pyro/naming/hmac/c-ns-key-by-env", GINT_TO_POINTER (KEY_BY_ENV), test_hmac_c_ns);
  g_test_add_data_func ("/pyro/naming/hmac/c-ns-key-by-option", GINT_TO_POINTER (KEY_BY_OPTION), test_hmac_c_ns);
  g_test_add_func ("/pyro/naming/hmac/key-twice", test_hmac_key_twice);
  g_test_add_func ("/pyro/naming/hmac/python-ns", test_hmac_python_ns);
  g_test_add_func ("/pyro/naming/pyroname-silent-ns", test_pyroname_silent_ns);
  return g_test_run ();
}
