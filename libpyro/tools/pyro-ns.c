/* pyro-ns.c: the name server, a drop-in for Pyro4's `pyro4-ns`.
 *
 * Same options (where they apply) and the same start-up lines, so course
 * notes written for pyro4-ns work with it unchanged:
 *
 *   pyro-ns [-n HOST] [-p PORT] [-s memory|sql:FILE] [--bchost H] [--bcport P] [-x] [-k KEY]
 *
 * An HMAC key (environment PYRO_HMAC_KEY, or the deprecated -k) makes the
 * name server answer only clients that have the same key.  As pyro4-ns:
 * an empty key means none, and giving both -k and PYRO_HMAC_KEY is an
 * error (which one was meant?).
 *
 * Like Pyro4, no broadcast responder is started when the name server is
 * bound to a loopback address (nobody else could reach it), unless
 * --bchost asks for one explicitly (useful to test discovery on loopback).
 * Ctrl-C or SIGTERM stops it cleanly.
 */
#include <pyro/pyro.h>
#include "pyro-nameserver-private.h"
#include "pyro-naming-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gboolean
is_loopback_host (const char *host)
{
  return strcmp (host, "localhost") == 0 || g_str_has_prefix (host, "127.") || strcmp (host, "::1") == 0;
}

/* The address the host name stands for, as Pyro4 prints it in parentheses. */
static char *
resolve_host (const char *host)
{
  if (g_hostname_is_ip_address (host))
    return g_strdup (host);
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  GList *found = g_resolver_lookup_by_name (resolver, host, NULL, NULL);
  if (found == NULL)
    return g_strdup (host);
  /* Prefer IPv4, as Pyro4 does by default. */
  char *text = NULL;
  for (GList *l = found; l != NULL && text == NULL; l = l->next)
    if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
      text = g_inet_address_to_string (l->data);
  if (text == NULL)
    text = g_inet_address_to_string (found->data);
  g_resolver_free_addresses (found);
  return text;
}

static int
env_port (const char *name, int fallback)
{
  const char *text = g_getenv (name);
  return (text != NULL && *text != '\0') ? atoi (text) : fallback;
}

int
main (int argc, char **argv)
{
  g_autofree char *host = NULL;
  g_autofree char *storage = NULL;
  g_autofree char *bchost = NULL;
  int port = env_port ("PYRO_NS_PORT", PYRO_NS_DEFAULT_PORT);
  int bcport = env_port ("PYRO_NS_BCPORT", PYRO_NS_DEFAULT_BCPORT);
  gboolean no_broadcast = FALSE;
  g_autofree char *option_key = NULL;
  const char *hmac_key;
  const GOptionEntry entries[] = {
    { "host", 'n', 0, G_OPTION_ARG_STRING, &host, "hostname to bind server on (default localhost)", "HOST" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "port to bind server on (default 9090, 0=random)", "PORT" },
    { "storage", 's', 0, G_OPTION_ARG_STRING, &storage, "storage: memory (default) or sql:FILE", "STORAGE" },
    { "bchost", 0, 0, G_OPTION_ARG_STRING, &bchost, "hostname to bind broadcast server on (default is \"\")",
      "BCHOST" },
    { "bcport", 0, 0, G_OPTION_ARG_INT, &bcport, "port to bind broadcast server on (default 9091, 0=random)",
      "BCPORT" },
    { "nobc", 'x', 0, G_OPTION_ARG_NONE, &no_broadcast, "don't start a broadcast server", NULL },
    { "key", 'k', 0, G_OPTION_ARG_STRING, &option_key, "the HMAC key to use (deprecated: set PYRO_HMAC_KEY)",
      "KEY" },
    { NULL }
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("- the Pyro name server");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("pyro-ns: error: %s\n", error->message);
      return 2;
    }
  if (argc > 1 || port < 0 || port > 65535 || bcport < 0 || bcport > 65535)
    {
      g_printerr ("pyro-ns: error: invalid arguments (see --help)\n");
      return 2;
    }
  if (!pyro_naming_tool_hmac_key ("pyro-ns", option_key, &hmac_key))
    return 1;
  /* Pyro4's default: its HOST setting (environment PYRO_HOST), else localhost. */
  if (host == NULL)
    host = g_strdup (g_getenv ("PYRO_HOST") && *g_getenv ("PYRO_HOST") ? g_getenv ("PYRO_HOST") : "localhost");

  g_autoptr(PyroNameServer) ns = pyro_name_server_new (host, (guint16) port, storage, &error);
  if (ns == NULL)
    {
      g_printerr ("pyro-ns: error: %s\n", error->message);
      return 1;
    }
  /* Before anything can answer (the request loop, the broadcast responder),
   * so no client ever gets in without the key. */
  pyro_daemon_set_hmac_key (pyro_name_server_get_daemon (ns), hmac_key);

  /* pyro4-ns says this on loopback even with -x. */
  if (is_loopback_host (host) && bchost == NULL)
    g_print ("Not starting broadcast server for localhost.\n");
  else if (no_broadcast)
    ;
  else if (!pyro_name_server_start_broadcast (ns, bchost, (guint16) bcport, &error))
    {
      g_printerr ("pyro-ns: error: cannot start the broadcast server: %s\n", error->message);
      return 1;
    }
  else
    {
      g_autofree char *where = pyro_name_server_describe_broadcast (ns);
      g_print ("Broadcast server running on %s\n", where);
    }

  /* With sql: storage a restarted name server remembers; say so, as pyro4-ns
   * does: only when there is more than its own entry (which the total includes). */
  guint existing = pyro_ns_registry_count (pyro_name_server_get_registry (ns));
  if (existing > 1)
    g_print ("Persistent store contains %u existing registrations.\n", existing);

  PyroDaemon *daemon = pyro_name_server_get_daemon (ns);
  g_autofree char *ip = resolve_host (pyro_daemon_get_host (daemon));
  g_print ("NS running on %s:%u (%s)\n", pyro_daemon_get_host (daemon), pyro_daemon_get_port (daemon), ip);
  if (hmac_key == NULL)
    g_print ("Warning: HMAC key not set. Anyone can connect to this server!\n");
  g_print ("URI = %s\n", pyro_uri_to_string (pyro_name_server_get_uri (ns)));
  fflush (stdout);

  pyro_daemon_stop_on_unix_signals (daemon);
  pyro_daemon_request_loop (daemon);
  return 0;
}
