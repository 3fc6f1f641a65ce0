/* greeting-server.c: lab 1, the server of the course notes' greeting example.
 *
 * The Python original (greeting-server.py) is six lines: a class with one
 * exposed method, a daemon, register the class, print the URI, and run
 * the request loop.  Your job: the same steps in C with libpyro, so that
 * the course notes' Python client can call this server too.
 *
 * Follow labs/01-greeting.md; each TODO below is one step of it.
 * Build with `make greeting`, check with `make grade LAB=greeting`.
 */
#include <pyro/pyro.h>
#include <stdio.h>
#include <stdlib.h>

/* The greeting text itself: plain C, nothing remote about it.
 * Returns a new string; the caller frees it with g_free(). */
static char *
make_greeting (const char *name)
{
  return g_strdup_printf ("Hello, %s. Here is your message:\n"
                          "Always do your best", name);
}

/* The remote method get_fortune(name).
 *
 * The daemon calls this for every get_fortune request.  It has already
 * checked that the client sent exactly one string, so @args is always a
 * tuple "(s)" here. */
static GVariant *
get_fortune (gpointer         self,
             GVariant        *args,
             PyroInvocation  *invocation,
             GError         **error)
{
  /* TODO (step 1): take the name out of @args with g_variant_get(), and
   * return make_greeting (name) as a new string GVariant
   * (g_variant_new_take_string).  Returning NULL sends back None. */
  return NULL;
}

/* The class GreetingMaker, as a table of the methods clients may call
 * (Python's @Pyro4.expose). */
static const PyroMethod greeting_methods[] = {
  /* TODO (step 2): one entry for get_fortune: its name, the argument
   * types "(s)", the result type "s", the C function, 0, and the
   * argument name "name". */
  { NULL }
};

static const PyroClass greeting_class = {
  .name = "GreetingMaker",
  .methods = greeting_methods,
  /* daemon.register(GreetingMaker) registers the class, not an object:
   * Pyro4 then makes one instance per client connection ("session"). */
  .instance_mode = PYRO_INSTANCE_SESSION,
};

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  /* "greeting-server --ns": the name-server variant (optional step 11). */
  gboolean use_name_server = argc > 1 && g_strcmp0 (argv[1], "--ns") == 0;

  /* TODO (step 3): daemon = Pyro4.Daemon()
   * Create the daemon with pyro_daemon_new (NULL, 0, &error): NULL means
   * localhost and 0 a free port.  On NULL, pyro_error_print (error) and
   * return EXIT_FAILURE. */

  /* TODO (step 4): uri = daemon.register(GreetingMaker)
   * Register &greeting_class with pyro_daemon_register_class(). */

  /* TODO (step 11, optional, after the rest works): if use_name_server,
   * find the name server with pyro_naming_locate (NULL, 0, NULL, &error)
   * and register the URI there as "example.greeting" with
   * pyro_naming_register().  See the name-server part of the handout. */

  /* TODO (step 5): let Ctrl-C (SIGINT) and SIGTERM stop the daemon
   * cleanly: pyro_daemon_stop_on_unix_signals().  Do it before step 6,
   * because whoever reads your URI may stop you right away. */

  /* TODO (step 6): print("Ready. Object uri =", uri)
   * Print exactly "Ready. Object uri = PYRO:..." and a newline
   * (pyro_uri_to_string), then fflush (stdout): a program reading your
   * output through a pipe gets nothing until the buffer is flushed. */

  /* TODO (step 7): daemon.requestLoop()
   * Serve requests with pyro_daemon_request_loop(); it returns when a
   * signal stopped the daemon.  Then return EXIT_SUCCESS. */

  /* Until steps 1, 2 and 4 are done nothing uses these; the casts keep
   * the compiler from warning about it.  Delete them when you are done
   * (the one for use_name_server when you do step 11). */
  (void) greeting_class;
  (void) get_fortune;
  (void) make_greeting;
  (void) use_name_server;

  /* Delete these two lines too. */
  fprintf (stderr, "greeting-server: not written yet: see the TODOs in greeting/greeting-server.c\n");
  return EXIT_FAILURE;
}
