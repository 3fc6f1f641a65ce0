/* testutil.h: helpers shared by every libpyro test binary.
 *
 * - where the Python helper scripts live and which interpreter runs them
 *   (only /usr/bin/python3 has Pyro4);
 * - child processes: start one with the Pyro4 environment the tests need,
 *   read its stdout line by line with a bounded wait, stop it by PID, or
 *   run it to completion with a deadline;
 * - a PyroDaemon serving in a background thread with its own GMainContext;
 * - a proxy with the tests' timeout, a Python client's output, a Python
 *   server and its URI, and polling until another thread has done something.
 *
 * Nothing here waits forever: every wait takes a timeout in seconds, and a
 * timeout is a test failure reported through GError, not a hang.
 */
#pragma once

#include <gio/gio.h>
#include <pyro/pyro.h>

G_BEGIN_DECLS

/** The interpreter that has Pyro4 installed. */
#define PYRO_TEST_PYTHON "/usr/bin/python3"

/** Where the Python helper scripts are (ends in "/"). */
#define PYRO_TEST_PYTHON_DIR PYRO_SOURCE_DIR "/libpyro/tests/python/"

/** A generous default for waits that normally take milliseconds. */
#define PYRO_TEST_TIMEOUT_S 20

/** @return (transfer full): PYRO_TEST_PYTHON_DIR + @name */
char *pyro_test_script_path (const char *name);

/**
 * The build directory: $PYRO_BUILD_DIR (set by `make check`) or
 * PYRO_SOURCE_DIR "/build".
 * @return (transfer full)
 */
char *pyro_test_build_dir (void);

/**
 * Starts @argv (argv[0] is a path) with PYRO_SERIALIZER=json,
 * PYRO_BROADCAST_ADDRS=127.0.0.1 and PYTHONUNBUFFERED=1 added to the
 * environment.  stdout is always a pipe (read it with
 * pyro_test_read_line()); @flags may add G_SUBPROCESS_FLAGS_STDIN_PIPE etc.
 * @param extra_env (nullable): more "NAME=value" entries (override the above)
 * @return (transfer full) (nullable): the process
 */
GSubprocess *pyro_test_spawn (const char * const  *argv,
                              const char * const  *extra_env,
                              GSubprocessFlags     flags,
                              GError             **error);

/**
 * Starts PYRO_TEST_PYTHON with the script @script (a name in
 * PYRO_TEST_PYTHON_DIR) and the NULL-terminated @args.  stderr is
 * inherited, so a Python traceback shows up in the test log.
 */
GSubprocess *pyro_test_spawn_python (const char          *script,
                                     const char * const  *args,
                                     GError             **error);

/**
 * Reads the next line of @proc's stdout (without the newline), waiting at
 * most @timeout_s seconds.
 * @return (transfer full) (nullable): the line, or NULL with @error set
 *   (timeout, end of output, read error)
 */
char *pyro_test_read_line (GSubprocess  *proc,
                           guint         timeout_s,
                           GError      **error);

/**
 * Stops @proc: SIGTERM, up to @timeout_s seconds for it to exit, then
 * SIGKILL and a wait.  Safe on a process that already exited.
 * @return the exit status as g_subprocess_get_status() gives it
 */
int pyro_test_stop_process (GSubprocess *proc, guint timeout_s);

/** Waits up to @timeout_s seconds for @proc to exit. @return TRUE if it did. */
gboolean pyro_test_wait_process (GSubprocess *proc, guint timeout_s);

/**
 * Runs @argv to completion (environment as pyro_test_spawn()), feeding it
 * @stdin_text (nullable) and capturing stdout and stderr.  After
 * @timeout_s seconds the process is killed and the call fails with
 * G_IO_ERROR_TIMED_OUT.
 * @param out_stdout (out) (optional) (transfer full)
 * @param out_stderr (out) (optional) (transfer full)
 * @param out_exit_status (out) (optional): the exit code, or 128+signal
 * @return TRUE if the process ran and exited (whatever its status)
 */
gboolean pyro_test_run (const char * const  *argv,
                        const char          *stdin_text,
                        guint                timeout_s,
                        char               **out_stdout,
                        char               **out_stderr,
                        int                 *out_exit_status,
                        GError             **error);

/** Like pyro_test_run() with PYRO_TEST_PYTHON and a script of PYRO_TEST_PYTHON_DIR. */
gboolean pyro_test_run_python (const char          *script,
                               const char * const  *args,
                               guint                timeout_s,
                               char               **out_stdout,
                               char               **out_stderr,
                               int                 *out_exit_status,
                               GError             **error);

/** A daemon serving in its own thread; see pyro_test_daemon_start(). */
typedef struct _PyroTestDaemon PyroTestDaemon;

/**
 * Called in the daemon thread right after the daemon is created, with the
 * daemon's context as thread-default: register your objects here.
 */
typedef void (*PyroTestDaemonSetup) (PyroDaemon *daemon, gpointer user_data);

/**
 * Registers @instance of @klass as @object_id on @daemon (in a
 * ::PyroTestDaemonSetup, say) and asserts that it worked.
 */
void pyro_test_register (PyroDaemon      *daemon,
                         const PyroClass *klass,
                         gpointer         instance,
                         const char      *object_id);

/**
 * Creates a daemon on localhost, a free port, in a new thread with its own
 * GMainContext, calls @setup, and runs pyro_daemon_request_loop() there.
 * Returns once the daemon is listening.  Asserts that creation worked.
 */
PyroTestDaemon *pyro_test_daemon_start (PyroTestDaemonSetup setup,
                                        gpointer            user_data);

/**
 * Like pyro_test_daemon_start(), on @port (0: a free one): for a test that
 * needs a daemon to come back on the port an earlier one had.
 */
PyroTestDaemon *pyro_test_daemon_start_on_port (guint16             port,
                                                PyroTestDaemonSetup setup,
                                                gpointer            user_data);

/** @return (transfer none): the daemon (valid until pyro_test_daemon_stop()) */
PyroDaemon *pyro_test_daemon_get (PyroTestDaemon *td);

/** @return (transfer full): the URI of @object_id on the test daemon */
char *pyro_test_daemon_uri (PyroTestDaemon *td, const char *object_id);

/**
 * Shuts the daemon down, joins its thread and frees everything.  Bounded:
 * a daemon that has not stopped after PYRO_TEST_TIMEOUT_S seconds (a call
 * that never returns, a worker stuck on a connection) fails the test with
 * g_error() instead of hanging it.
 */
void pyro_test_daemon_stop (PyroTestDaemon *td);

/**
 * A proxy for @uri with PYRO_TEST_TIMEOUT_S as its call timeout, so that
 * no call can hang the test.  Asserts that @uri parses.
 * @return (transfer full)
 */
PyroProxy *pyro_test_proxy_new (const char *uri);

/**
 * Runs the Python @script with @args to completion (bounded by
 * PYRO_TEST_TIMEOUT_S) and asserts that it exited with status 0; if it did
 * not, its stderr (a traceback) is printed first.
 * @return (transfer full): what it wrote to stdout
 */
char *pyro_test_python_output (const char          *script,
                               const char * const  *args);

/**
 * Starts the Python server @script with @args and reads the first line it
 * prints, which by convention is its URI.  Asserts that both worked.
 * Stop it with pyro_test_stop_process().
 * @param out_uri (out) (transfer full): that first line
 * @return (transfer full): the server process
 */
GSubprocess *pyro_test_start_python_server (const char          *script,
                                            const char * const  *args,
                                            char               **out_uri);

/** A field of /proc/self/status (VmPeak, VmRSS, ...) of this process, in KiB. */
guint64 pyro_test_status_kib (const char *field);

/** A condition pyro_test_wait_until() polls. */
typedef gboolean (*PyroTestCheck) (gpointer data);

/**
 * Polls @check (every 10 ms) until it returns TRUE, for at most
 * PYRO_TEST_TIMEOUT_S seconds: for things another thread or process does
 * in its own time (a oneway call arriving, a free function running).
 * @return TRUE if @check became TRUE in time
 */
gboolean pyro_test_wait_until (PyroTestCheck check, gpointer data);

/**
 * Fake /proc/loadavg files, for the tests of spinning waits
 * (pyro-wait.c), so that the machine's own load cannot decide whether a
 * wait spins: @idle says the CPUs are free, @busy that more threads want
 * to run than any machine has CPUs.
 */
typedef struct
{
  char *dir;
  char *idle;
  char *busy;
} PyroTestLoadavg;

/** Writes the files into a new temporary folder and points waits at @idle. */
void pyro_test_loadavg_create (PyroTestLoadavg *files);

/** Removes the files and their folder, and frees the paths. */
void pyro_test_loadavg_remove (PyroTestLoadavg *files);

/**
 * Asserts that @error is set, of @domain and @code, and that its message
 * matches the glob @pattern (g_pattern_match_simple()); the failure says
 * what came instead.
 */
void pyro_test_assert_error_matches (const GError *error, GQuark domain, int code, const char *pattern);

/**
 * Asserts that @got holds the same bytes as @expected (the first
 * difference shows in the failure message).
 */
void pyro_test_assert_bytes_equal (GBytes *got, GBytes *expected);

G_END_DECLS
