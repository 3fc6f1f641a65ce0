/* test-greeting-interop.c: the course notes' greeting programs against the C ones.
 *
 * The course notes (greeting example) give greeting-server.py and
 * greeting-client.py; lab 1's solution gives greeting-server and
 * greeting-client in C.  Every pairing must behave as the notes show: the
 * server prints "Ready. Object uri = PYRO:...", the client asks for that
 * URI and a name and prints the greeting.  The Python programs are kept
 * verbatim in libpyro/tests/python/course-notes/.
 */
#include <string.h>

#include "testutil.h"

#define NAME "Zoë"

/* What either client prints: its two prompts (no newline after them,
 * input() style) and then the greeting. */
#define GREETING "Hello, " NAME ". Here is your message:\nAlways do your best\n"
#define EXPECTED_OUTPUT \
  "What is the Pyro uri of the greeting object? What is your name? " GREETING

#define READY_PREFIX "Ready. Object uri = "

typedef enum { PYTHON, C } Side;

typedef struct
{
  const char *path;
  Side        server;
  Side        client;
  gboolean    debug_log;  /* run the client with G_MESSAGES_DEBUG=pyro */
  gboolean    serpent;    /* run the client without PYRO_SERIALIZER=json */
} Pairing;

/* What the notes' Python client prints last when it speaks Pyro4's default
 * serializer (serpent, id 1) to a C server, which speaks only JSON. */
#define SERPENT_REFUSED \
  "rejected: message used serializer that is not accepted: 1 " \
  "(this daemon speaks json, id 2; set PYRO_SERIALIZER=json)\n"

/* argv of a greeting program ("greeting-server" or "greeting-client");
 * free with g_strfreev(). */
static char **
program_argv (Side side, const char *program)
{
  GPtrArray *argv = g_ptr_array_new ();

  if (side == PYTHON)
    {
      g_autofree char *script = g_strdup_printf ("course-notes/%s.py", program);
      g_ptr_array_add (argv, g_strdup (PYRO_TEST_PYTHON));
      g_ptr_array_add (argv, pyro_test_script_path (script));
    }
  else
    {
      g_autofree char *build = pyro_test_build_dir ();
      char *path = g_build_filename (build, "solutions", "greeting", program, NULL);
      /* Not a skip: a missing program is a broken build. */
      if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
        g_error ("%s is missing: build it first (make %s)", path, path);
      g_ptr_array_add (argv, path);
    }
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

/* Runs the client @argv with JSON (the test environment's PYRO_SERIALIZER)
 * against @uri: it must print the greeting. */
static void
check_still_serves (char **argv, const char *uri)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *input = g_strdup_printf ("%s\n" NAME "\n", uri);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = -1;

  g_assert_true (pyro_test_run ((const char * const *) argv, input, 60, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, EXPECTED_OUTPUT);
}

static void
test_pairing (gconstpointer data)
{
  const Pairing *pairing = data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) server_argv = program_argv (pairing->server, "greeting-server");
  g_auto(GStrv) client_argv = program_argv (pairing->client, "greeting-client");
  if (pairing->debug_log || pairing->serpent)
    {
      /* "env G_MESSAGES_DEBUG=pyro <client>" or "env -u PYRO_SERIALIZER <client>" */
      g_autoptr(GStrvBuilder) with_env = g_strv_builder_new ();
      if (pairing->debug_log)
        g_strv_builder_add_many (with_env, "/usr/bin/env", "G_MESSAGES_DEBUG=pyro", NULL);
      else
        g_strv_builder_add_many (with_env, "/usr/bin/env", "-u", "PYRO_SERIALIZER", NULL);
      g_strv_builder_addv (with_env, (const char **) client_argv);
      g_strfreev (client_argv);
      client_argv = g_strv_builder_end (with_env);
    }

  g_autoptr(GSubprocess) server = pyro_test_spawn ((const char * const *) server_argv, NULL,
                                                   G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);

  /* The server's first line carries the URI for the client. */
  g_autofree char *ready = pyro_test_read_line (server, PYRO_TEST_TIMEOUT_S, &error);
  g_assert_no_error (error);
  g_test_message ("server: %s", ready);
  g_assert_true (g_str_has_prefix (ready, READY_PREFIX "PYRO:"));
  const char *uri = ready + strlen (READY_PREFIX);

  /* The user types the URI and a name, as in the notes. */
  g_autofree char *input = g_strdup_printf ("%s\n" NAME "\n", uri);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = -1;
  gboolean ran = pyro_test_run ((const char * const *) client_argv, input, 60,
                                &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (ran);
  if (pairing->serpent)
    {
      /* A student who forgot PYRO_SERIALIZER=json is told so, and the
       * server goes on serving. */
      g_test_message ("client status %d\nstderr:\n%s", status, err);
      g_assert_cmpint (status, !=, 0);
      g_assert_nonnull (strstr (err, "\nPyro4.errors.CommunicationError: connection to "));
      g_assert_true (g_str_has_suffix (err, SERPENT_REFUSED));
      check_still_serves (client_argv + 3, uri);  /* without "/usr/bin/env -u PYRO_SERIALIZER" */
    }
  else
    {
      if (status != 0 || !g_str_has_suffix (out, GREETING))
        g_test_message ("client status %d\nstdout:\n%s\nstderr:\n%s", status, out, err);
      g_assert_cmpint (status, ==, 0);

      if (!pairing->debug_log)
        g_assert_cmpstr (out, ==, EXPECTED_OUTPUT);
      else
        {
          /* With libpyro's debug messages asked for (GLib prints them on
           * stdout), the client also tells where it connected: a message
           * libpyro only formats when it will be shown (pyro-log-private.h). */
          g_autofree char *where = g_strdup_printf ("connected to %s\n", uri);
          g_assert_nonnull (strstr (out, "pyro-DEBUG: "));
          g_assert_nonnull (strstr (out, where));
          g_assert_true (g_str_has_suffix (out, GREETING));
        }
      /* Nothing on stderr from the C client. */
      if (pairing->client == C)
        g_assert_cmpstr (err, ==, "");
    }

  /* The C server ends cleanly on SIGTERM (Python's dies of it). */
  pyro_test_stop_process (server, 10);
  if (pairing->server == C)
    {
      g_assert_true (g_subprocess_get_if_exited (server));
      g_assert_cmpint (g_subprocess_get_exit_status (server), ==, 0);
    }
}

int
main (int argc, char **argv)
{
  static const Pairing pairings[] = {
    { "/pyro/greeting-interop/python-server-c-client", PYTHON, C },
    { "/pyro/greeting-interop/c-server-python-client", C, PYTHON },
    /* The two baselines: the notes' programs, and the lab's, on their own. */
    { "/pyro/greeting-interop/python-server-python-client", PYTHON, PYTHON },
    { "/pyro/greeting-interop/c-server-c-client", C, C },
    /* And the C client with libpyro's debug messages on. */
    { "/pyro/greeting-interop/c-client-debug-log", C, C, TRUE },
    /* The notes' client as it is, without PYRO_SERIALIZER=json. */
    { "/pyro/greeting-interop/c-server-python-client-serpent", C, PYTHON, FALSE, TRUE },
  };

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (pairings); i++)
    g_test_add_data_func (pairings[i].path, &pairings[i], test_pairing);
  return g_test_run ();
}
