/* greeting-server.c: lab 1, the server of the course notes' greeting example.
 *
 * The Python original (greeting-server.py) is six lines: a class with one
 * exposed method, a daemon, register the class, print the URI, and run
 * the request loop.  This C version does exactly the same steps with
 * libpyro, so a Python client (greeting-client.py) can call it too.
 *
 * With --ns it also registers the object with the name server as
 * "example.greeting" (the course's name-server variant), so a client can
 * use the URI "PYRONAME:example.greeting" instead of the printed one.
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

/* The name the --ns variant registers, as in Pyro4's tutorial. */
#define GREETING_NAME "example.greeting"

/* ns = Pyro4.locateNS(); ns.register("example.greeting", uri) */
static gboolean
register_with_name_server (PyroUri *uri, GError **error)
{
  g_autoptr(PyroProxy) ns = pyro_naming_locate (NULL, 0, NULL, error);
  if (ns == NULL)
    return FALSE;
  return pyro_naming_register (ns, GREETING_NAME, pyro_uri_to_string (uri),
                               FALSE, NULL, NULL, error);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  gboolean use_name_server = argc > 1 && g_strcmp0 (argv[1], "--ns") == 0;

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

  if (use_name_server && !register_with_name_server (uri, &error))
    {
      pyro_error_print (error);
      return EXIT_FAILURE;
    }

  /* Ctrl-C (SIGINT) or SIGTERM will stop the daemon cleanly.  Set this up
   * before printing the URI: whoever reads the URI may stop us right away. */
  pyro_daemon_stop_on_unix_signals (daemon);

  /* print("Ready. Object uri =", uri)
   * fflush matters: when stdout is a pipe (a test, or a script that starts
   * the server) C buffers the line, and whoever waits for the URI would
   * wait forever while the server sits in its request loop. */
  printf ("Ready. Object uri = %s\n", pyro_uri_to_string (uri));
  fflush (stdout);

  /* daemon.requestLoop(): serve calls until a signal stops the daemon. */
  pyro_daemon_request_loop (daemon);

  return EXIT_SUCCESS;
}
