/* greeting-server.c: lab 1, the server of the course notes' greeting example.
 *
 * The Python original (greeting-server.py) is six lines: a class with one
 * exposed method, a daemon, register the class, print the URI, and run
 * the request loop.  This C version does exactly the same steps with
 * libpyro, so a Python client (greeting-client.py) can call it too.
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
 * tuple "(s)" here.  We return a new string value; the daemon sends it
 * back to the client and frees it. */
static GVariant *
get_fortune (gpointer         self,
             GVariant        *args,
             PyroInvocation  *invocation,
             GError         **error)
{
  const char *name;

  g_variant_get (args, "(&s)", &name);   /* "&s": borrow the string, no copy */
  return g_variant_new_take_string (make_greeting (name));
}

/* The class GreetingMaker, as a table: Python's @Pyro4.expose on the class
 * becomes "these are the methods clients may call".  Each entry gives the
 * name, the argument types, the result type, the C function and the
 * argument names. */
static const PyroMethod greeting_methods[] = {
  { "get_fortune", "(s)", "s", get_fortune, 0, "name" },
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
main (void)
{
  g_autoptr(GError) error = NULL;

  /* daemon = Pyro4.Daemon(): listen on localhost, on a free port. */
  g_autoptr(PyroDaemon) daemon = pyro_daemon_new (NULL, 0, &error);
  if (daemon == NULL)
    {
      pyro_error_print (error);
      return EXIT_FAILURE;
    }

  /* uri = daemon.register(GreetingMaker) */
  g_autoptr(PyroUri) uri = pyro_daemon_register_class (daemon, &greeting_class,
                                                       NULL, NULL, &error);
  if (uri == NULL)
    {
      pyro_error_print (error);
      return EXIT_FAILURE;
    }

  /* print("Ready. Object uri =", uri)
   * fflush matters: when stdout is a pipe (a test, or a script that starts
   * the server) C buffers the line, and whoever waits for the URI would
   * wait forever while the server sits in its request loop. */
  printf ("Ready. Object uri = %s\n", pyro_uri_to_string (uri));
  fflush (stdout);

  /* daemon.requestLoop(): serve calls until Ctrl-C (SIGINT) or SIGTERM. */
  pyro_daemon_stop_on_unix_signals (daemon);
  pyro_daemon_request_loop (daemon);

  return EXIT_SUCCESS;
}
