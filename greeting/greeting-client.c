/* greeting-client.c: lab 1, the client of the course notes' greeting example.
 *
 * Like greeting-client.py: ask for the server's URI and a name, make a
 * proxy for the remote object, call get_fortune(name) as if it were a
 * local function, and print the answer.
 *
 * Follow labs/01-greeting.md; each TODO below is one step of it.
 */
#include <pyro/pyro.h>
#include <stdio.h>
#include <stdlib.h>

/* Python's input(prompt).strip(): print the prompt, read one line from
 * stdin, and strip the spaces and the newline around it.
 * Returns a new string (free it with g_free()), or NULL at end of input. */
static char *
ask (const char *prompt)
{
  char *line = NULL;
  size_t size = 0;

  printf ("%s", prompt);
  fflush (stdout);   /* the prompt has no newline: show it before we wait */

  if (getline (&line, &size, stdin) < 0)
    {
      free (line);
      return NULL;
    }

  char *answer = g_strdup (g_strstrip (line));
  free (line);   /* getline() allocated it with malloc() */
  return answer;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;

  g_autofree char *uri = ask ("What is the Pyro uri of the greeting object? ");
  if (uri == NULL)
    {
      fprintf (stderr, "greeting-client: no URI given\n");
      return EXIT_FAILURE;
    }

  g_autofree char *name = ask ("What is your name? ");
  if (name == NULL)
    {
      fprintf (stderr, "greeting-client: no name given\n");
      return EXIT_FAILURE;
    }

  /* TODO (step 8): greeting_maker = Pyro4.Proxy(uri)
   * Make a proxy with pyro_proxy_new (uri, &error).  On NULL, print the
   * error (see step 10) and return EXIT_FAILURE. */

  /* TODO (step 9): print(greeting_maker.get_fortune(name))
   * Call "get_fortune" with pyro_proxy_call_sync(): the arguments are the
   * tuple g_variant_new ("(s)", name) and you expect a string back
   * (G_VARIANT_TYPE_STRING).  Print the string with a newline. */

  /* TODO (step 10): when a call fails, print pyro_error_format (error) on
   * stderr (it shows remote errors the way Pyro4 does) and return
   * EXIT_FAILURE. */

  (void) error;
  fprintf (stderr, "greeting-client: calling the server is not written yet: "
           "see the TODOs in greeting/greeting-client.c\n");
  return EXIT_FAILURE;
}
