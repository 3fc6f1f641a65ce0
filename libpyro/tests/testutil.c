/* testutil.c: helpers shared by every libpyro test binary (see testutil.h).
 *
 * Bounded waits all work the same way: start a GIO async operation in a
 * private GMainContext, iterate that context until the operation finishes
 * or a timeout source fires, and on timeout cancel the operation and
 * iterate until its (cancelled) callback has run, so nothing is left
 * pending when the helper returns.
 */
#include "testutil.h"
#include "pyro-wait-private.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <string.h>

char *
pyro_test_script_path (const char *name)
{
  return g_strconcat (PYRO_TEST_PYTHON_DIR, name, NULL);
}

char *
pyro_test_build_dir (void)
{
  const char *dir = g_getenv ("PYRO_BUILD_DIR");

  if (dir != NULL && *dir != '\0')
    return g_strdup (dir);
  return g_strdup (PYRO_SOURCE_DIR "/build");
}

/* ---- bounded waiting on an async result ----------------------------------- */

typedef struct
{
  GAsyncResult *result;
  gboolean      timed_out;
} AsyncWait;

static void
async_wait_done (GObject *source, GAsyncResult *result, gpointer data)
{
  AsyncWait *wait = data;

  wait->result = g_object_ref (result);
}

static gboolean
async_wait_timeout (gpointer data)
{
  AsyncWait *wait = data;

  wait->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates @context until @wait has a result.  After @timeout_s seconds
 * @cancellable is cancelled (and @proc, if given, killed) and we keep
 * iterating until the cancelled operation reports back.
 * Returns FALSE if the timeout fired first. */
static gboolean
async_wait_run (GMainContext *context,
                AsyncWait    *wait,
                GCancellable *cancellable,
                GSubprocess  *proc,
                guint         timeout_s)
{
  GSource *timeout = g_timeout_source_new_seconds (timeout_s);

  g_source_set_callback (timeout, async_wait_timeout, wait, NULL);
  g_source_attach (timeout, context);

  while (wait->result == NULL && !wait->timed_out)
    g_main_context_iteration (context, TRUE);

  gboolean in_time = wait->result != NULL;
  if (!in_time)
    {
      if (proc != NULL)
        g_subprocess_force_exit (proc);
      g_cancellable_cancel (cancellable);
      while (wait->result == NULL)
        g_main_context_iteration (context, TRUE);
    }

  g_source_destroy (timeout);
  g_source_unref (timeout);
  return in_time;
}

/* ---- child processes ------------------------------------------------------ */

/* Runs in the child between fork and exec: if the test process dies (a
 * failed assertion aborts it), the kernel sends the child SIGTERM, so no
 * server outlives its test.  (The signal follows the forking thread; every
 * test spawns from its main thread.) */
static void
die_with_parent (gpointer parent_pid)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  /* The parent may have died before prctl() took effect. */
  if (getppid () != GPOINTER_TO_INT (parent_pid))
    _exit (1);
}

static GSubprocessLauncher *
make_launcher (const char * const *extra_env, GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, GINT_TO_POINTER (getpid ()), NULL);
  g_subprocess_launcher_setenv (launcher, "PYRO_SERIALIZER", "json", TRUE);
  g_subprocess_launcher_setenv (launcher, "PYRO_BROADCAST_ADDRS", "127.0.0.1", TRUE);
  g_subprocess_launcher_setenv (launcher, "PYTHONUNBUFFERED", "1", TRUE);
  /* Tests compare non-ASCII output: make it UTF-8 whatever the locale. */
  g_subprocess_launcher_setenv (launcher, "PYTHONIOENCODING", "utf-8", TRUE);
  /* A key left in the developer's environment would sign every message. */
  g_subprocess_launcher_unsetenv (launcher, "PYRO_HMAC_KEY");

  for (gsize i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
    {
      const char *eq = strchr (extra_env[i], '=');
      g_assert (eq != NULL);
      g_autofree char *name = g_strndup (extra_env[i], eq - extra_env[i]);
      g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
    }
  return launcher;
}

GSubprocess *
pyro_test_spawn (const char * const  *argv,
                 const char * const  *extra_env,
                 GSubprocessFlags     flags,
                 GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    make_launcher (extra_env, flags | G_SUBPROCESS_FLAGS_STDOUT_PIPE);

  g_autofree char *command = g_strjoinv (" ", (char **) argv);
  g_debug ("spawning %s", command);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

/* argv = { PYRO_TEST_PYTHON, <script path>, args... }; free with g_strfreev. */
static char **
python_argv (const char *script, const char * const *args)
{
  GPtrArray *argv = g_ptr_array_new ();

  g_ptr_array_add (argv, g_strdup (PYRO_TEST_PYTHON));
  g_ptr_array_add (argv, pyro_test_script_path (script));
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

GSubprocess *
pyro_test_spawn_python (const char          *script,
                        const char * const  *args,
                        GError             **error)
{
  g_auto(GStrv) argv = python_argv (script, args);

  return pyro_test_spawn ((const char * const *) argv, NULL, G_SUBPROCESS_FLAGS_NONE, error);
}

/* The line reader stays attached to the process, so that bytes it
 * buffered beyond one line are there for the next call. */
static GDataInputStream *
stdout_reader (GSubprocess *proc)
{
  GDataInputStream *reader = g_object_get_data (G_OBJECT (proc), "pyro-test-stdout");

  if (reader == NULL)
    {
      GInputStream *out = g_subprocess_get_stdout_pipe (proc);
      g_assert (out != NULL);
      reader = g_data_input_stream_new (out);
      g_object_set_data_full (G_OBJECT (proc), "pyro-test-stdout", reader, g_object_unref);
    }
  return reader;
}

char *
pyro_test_read_line (GSubprocess  *proc,
                     guint         timeout_s,
                     GError      **error)
{
  GDataInputStream *reader = stdout_reader (proc);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncWait wait = { NULL, FALSE };

  g_main_context_push_thread_default (context);
  g_data_input_stream_read_line_async (reader, G_PRIORITY_DEFAULT, cancellable,
                                       async_wait_done, &wait);
  gboolean in_time = async_wait_run (context, &wait, cancellable, NULL, timeout_s);
  g_main_context_pop_thread_default (context);

  g_autoptr(GError) local_error = NULL;
  char *line = g_data_input_stream_read_line_finish (reader, wait.result, NULL, &local_error);
  g_object_unref (wait.result);

  if (!in_time)
    {
      g_free (line);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "no line from the child process in %u s", timeout_s);
      return NULL;
    }
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (line == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                         "the child process closed its output");
  return line;
}

gboolean
pyro_test_wait_process (GSubprocess *proc, guint timeout_s)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncWait wait = { NULL, FALSE };

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (proc, cancellable, async_wait_done, &wait);
  gboolean in_time = async_wait_run (context, &wait, cancellable, NULL, timeout_s);
  g_main_context_pop_thread_default (context);

  gboolean exited = g_subprocess_wait_finish (proc, wait.result, NULL);
  g_object_unref (wait.result);
  return in_time && exited;
}

/* g_subprocess_get_status() only means something once the process is reaped. */
static int
exit_code (GSubprocess *proc)
{
  if (g_subprocess_get_if_exited (proc))
    return g_subprocess_get_exit_status (proc);
  if (g_subprocess_get_if_signaled (proc))
    return 128 + g_subprocess_get_term_sig (proc);
  return -1;
}

int
pyro_test_stop_process (GSubprocess *proc, guint timeout_s)
{
  if (proc == NULL)
    return -1;

  /* send_signal does nothing once the process has been reaped. */
  g_subprocess_send_signal (proc, SIGTERM);
  if (!pyro_test_wait_process (proc, timeout_s))
    {
      g_test_message ("process %s ignored SIGTERM; killing it",
                      g_subprocess_get_identifier (proc));
      g_subprocess_force_exit (proc);
      /* SIGKILL cannot be ignored; the bound only guards against a kernel hang. */
      if (!pyro_test_wait_process (proc, 60))
        g_error ("process %s survived SIGKILL", g_subprocess_get_identifier (proc));
    }
  return g_subprocess_get_status (proc);
}

gboolean
pyro_test_run (const char * const  *argv,
               const char          *stdin_text,
               guint                timeout_s,
               char               **out_stdout,
               char               **out_stderr,
               int                 *out_exit_status,
               GError             **error)
{
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDERR_PIPE;
  if (stdin_text != NULL)
    flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;

  g_autoptr(GSubprocess) proc = pyro_test_spawn (argv, NULL, flags, error);
  if (proc == NULL)
    return FALSE;

  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncWait wait = { NULL, FALSE };

  g_main_context_push_thread_default (context);
  g_subprocess_communicate_utf8_async (proc, stdin_text, cancellable, async_wait_done, &wait);
  gboolean in_time = async_wait_run (context, &wait, cancellable, proc, timeout_s);
  g_main_context_pop_thread_default (context);

  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean ok = g_subprocess_communicate_utf8_finish (proc, wait.result, &out, &err, &local_error);
  g_object_unref (wait.result);

  if (!in_time)
    {
      /* Reap the killed process so that no zombie is left behind. */
      pyro_test_wait_process (proc, 60);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "%s did not finish in %u s", argv[0], timeout_s);
      return FALSE;
    }
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (out_stdout != NULL)
    *out_stdout = g_steal_pointer (&out);
  if (out_stderr != NULL)
    *out_stderr = g_steal_pointer (&err);
  if (out_exit_status != NULL)
    *out_exit_status = exit_code (proc);
  return TRUE;
}

gboolean
pyro_test_run_python (const char          *script,
                      const char * const  *args,
                      guint                timeout_s,
                      char               **out_stdout,
                      char               **out_stderr,
                      int                 *out_exit_status,
                      GError             **error)
{
  g_auto(GStrv) argv = python_argv (script, args);

  return pyro_test_run ((const char * const *) argv, NULL, timeout_s,
                        out_stdout, out_stderr, out_exit_status, error);
}

/* ---- a daemon in a background thread -------------------------------------- */

struct _PyroTestDaemon
{
  GThread             *thread;
  guint16              port;      /* 0: a free one */
  PyroTestDaemonSetup  setup;
  gpointer             user_data;

  GMutex               lock;
  GCond                cond;      /* signalled when ready or stopped */
  gboolean             ready;
  gboolean             stopped;
  PyroDaemon          *daemon;
};

void
pyro_test_register (PyroDaemon      *daemon,
                    const PyroClass *klass,
                    gpointer         instance,
                    const char      *object_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, klass, instance, object_id, &error);

  g_assert_no_error (error);
}

static gpointer
daemon_thread (gpointer data)
{
  PyroTestDaemon *td = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;

  /* The daemon accepts connections in the context that is thread-default
   * when it is made: ours, iterated only by this thread. */
  g_main_context_push_thread_default (context);
  PyroDaemon *daemon = pyro_daemon_new (NULL, td->port, &error);
  g_assert_no_error (error);
  if (td->setup != NULL)
    td->setup (daemon, td->user_data);

  g_mutex_lock (&td->lock);
  td->daemon = daemon;
  td->ready = TRUE;
  g_cond_signal (&td->cond);
  g_mutex_unlock (&td->lock);

  pyro_daemon_request_loop (daemon);

  /* Dropped here, with our context still thread-default, so that the
   * daemon's sources are destroyed in the context they belong to. */
  g_object_unref (daemon);
  /* Whatever the daemon left pending in our context (a cancelled
   * operation finishing, an idle callback) runs now, before the context
   * goes away; otherwise its memory would be reported as leaked. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  return NULL;
}

PyroTestDaemon *
pyro_test_daemon_start (PyroTestDaemonSetup setup, gpointer user_data)
{
  return pyro_test_daemon_start_on_port (0, setup, user_data);
}

PyroTestDaemon *
pyro_test_daemon_start_on_port (guint16             port,
                                PyroTestDaemonSetup setup,
                                gpointer            user_data)
{
  PyroTestDaemon *td = g_new0 (PyroTestDaemon, 1);

  td->port = port;
  td->setup = setup;
  td->user_data = user_data;
  g_mutex_init (&td->lock);
  g_cond_init (&td->cond);
  td->thread = g_thread_new ("test-daemon", daemon_thread, td);

  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&td->lock);
  while (!td->ready)
    if (!g_cond_wait_until (&td->cond, &td->lock, deadline))
      g_error ("the test daemon did not start in %d s", PYRO_TEST_TIMEOUT_S);
  g_mutex_unlock (&td->lock);
  return td;
}

PyroDaemon *
pyro_test_daemon_get (PyroTestDaemon *td)
{
  return td->daemon;
}

char *
pyro_test_daemon_uri (PyroTestDaemon *td, const char *object_id)
{
  g_autoptr(PyroUri) uri = pyro_daemon_uri_for (td->daemon, object_id);

  return g_strdup (pyro_uri_to_string (uri));
}

/* Runs aside: shutdown waits for running calls and the join for the
 * thread, and neither has a timeout of its own. */
static gpointer
daemon_stopper_thread (gpointer data)
{
  PyroTestDaemon *td = data;

  pyro_daemon_shutdown (td->daemon);
  g_thread_join (td->thread);

  g_mutex_lock (&td->lock);
  td->stopped = TRUE;
  g_cond_signal (&td->cond);
  g_mutex_unlock (&td->lock);
  return NULL;
}

void
pyro_test_daemon_stop (PyroTestDaemon *td)
{
  if (td == NULL)
    return;

  /* A daemon still stuck in a call or on a connection fails the test
   * here instead of hanging it. */
  GThread *stopper = g_thread_new ("stop-test-daemon", daemon_stopper_thread, td);
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;
  g_mutex_lock (&td->lock);
  while (!td->stopped)
    if (!g_cond_wait_until (&td->cond, &td->lock, deadline))
      g_error ("the test daemon did not stop in %d s", PYRO_TEST_TIMEOUT_S);
  g_mutex_unlock (&td->lock);
  g_thread_join (stopper);

  g_mutex_clear (&td->lock);
  g_cond_clear (&td->cond);
  g_free (td);
}

/* ---- clients ---------------------------------------------------------------- */

PyroProxy *
pyro_test_proxy_new (const char *uri)
{
  g_autoptr(GError) error = NULL;
  PyroProxy *proxy = pyro_proxy_new (uri, &error);

  g_assert_no_error (error);
  pyro_proxy_set_timeout (proxy, PYRO_TEST_TIMEOUT_S);
  return proxy;
}

char *
pyro_test_python_output (const char *script, const char * const *args)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = -1;

  g_assert_true (pyro_test_run_python (script, args, PYRO_TEST_TIMEOUT_S, &out, &err, &status, &error));
  g_assert_no_error (error);
  /* The assertion alone would hide why: the traceback is on stderr. */
  if (status != 0)
    {
      g_autofree char *joined = args != NULL ? g_strjoinv (" ", (char **) args) : g_strdup ("");
      g_printerr ("%s %s failed:\n%s\n", script, joined, err);
    }
  g_assert_cmpint (status, ==, 0);
  return out;
}

GSubprocess *
pyro_test_start_python_server (const char          *script,
                               const char * const  *args,
                               char               **out_uri)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *server = pyro_test_spawn_python (script, args, &error);

  g_assert_no_error (error);
  char *uri = pyro_test_read_line (server, PYRO_TEST_TIMEOUT_S, &error);
  g_assert_no_error (error);
  *out_uri = uri;
  return server;
}

/* ---- waiting for something another thread does ------------------------------ */

gboolean
pyro_test_wait_until (PyroTestCheck check, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + PYRO_TEST_TIMEOUT_S * G_TIME_SPAN_SECOND;

  while (!check (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (10 * 1000);
    }
  return TRUE;
}

/* ---- fake load ------------------------------------------------------------ */

void
pyro_test_loadavg_create (PyroTestLoadavg *files)
{
  files->dir = g_dir_make_tmp ("pyro-loadavg-XXXXXX", NULL);
  g_assert_nonnull (files->dir);
  files->idle = g_build_filename (files->dir, "idle", NULL);
  files->busy = g_build_filename (files->dir, "busy", NULL);
  g_assert_true (g_file_set_contents (files->idle, "0.10 0.20 0.30 1/250 4242\n", -1, NULL));
  g_assert_true (g_file_set_contents (files->busy, "9.10 9.20 9.30 4096/5000 4242\n", -1, NULL));
  pyro_wait_set_loadavg_path (files->idle);
}

void
pyro_test_loadavg_remove (PyroTestLoadavg *files)
{
  g_unlink (files->idle);
  g_unlink (files->busy);
  g_rmdir (files->dir);
  g_clear_pointer (&files->idle, g_free);
  g_clear_pointer (&files->busy, g_free);
  g_clear_pointer (&files->dir, g_free);
}

/* ---- bytes ---------------------------------------------------------------- */

void
pyro_test_assert_bytes_equal (GBytes *got, GBytes *expected)
{
  gsize got_len, expected_len;
  const void *got_data = g_bytes_get_data (got, &got_len);
  const void *expected_data = g_bytes_get_data (expected, &expected_len);
  g_assert_cmpmem (got_data, got_len, expected_data, expected_len);
}

/* ---- errors --------------------------------------------------------------- */

void
pyro_test_assert_error_matches (const GError *error, GQuark domain, int code, const char *pattern)
{
  g_assert_nonnull (error);
  if (error->domain != domain || error->code != code || !g_pattern_match_simple (pattern, error->message))
    g_error ("expected error %s/%d matching \"%s\", got %s/%d \"%s\"",
             g_quark_to_string (domain), code, pattern,
             g_quark_to_string (error->domain), error->code, error->message);
}

guint64
pyro_test_status_kib (const char *field)
{
  g_autofree char *status = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  g_autofree char *key = g_strdup_printf ("\n%s:", field);
  const char *at = strstr (status, key);
  g_assert_nonnull (at);
  return g_ascii_strtoull (at + strlen (key), NULL, 10);
}
