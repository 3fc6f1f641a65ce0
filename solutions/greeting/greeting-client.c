/* greeting-client.c: lab 1, the client of the course notes' greeting example.
 *
 * Like greeting-client.py: ask for the server's URI and a name, make a
 * proxy for the remote object, call get_fortune(name) as if it were a
 * local function, and print the answer.
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

  /* greeting_maker = Pyro4.Proxy(uri): nothing is sent yet, the proxy
   * connects on its first call. */
  g_autoptr(PyroProxy) greeting_maker = pyro_proxy_new (uri, &error);
  if (greeting_maker == NULL)
    goto failed;

  /* greeting_maker.get_fortune(name): the arguments travel as a tuple,
   * and we say we expect a string back. */
  g_autoptr(GVariant) answer =
    pyro_proxy_call_sync (greeting_maker, "get_fortune",
                          g_variant_new ("(s)", name),
                          G_VARIANT_TYPE_STRING, NULL, &error);
  if (answer == NULL)
    goto failed;

  printf ("%s\n", g_variant_get_string (answer, NULL));
  return EXIT_SUCCESS;

failed:
  /* Print the error the way Pyro4 prints an exception, remote traceback
   * included, so the student sees what went wrong on which side. */
  {
    g_autofree char *text = pyro_error_format (error);
    fprintf (stderr, "%s", text);
  }
  return EXIT_FAILURE;
}
