/* pyro-naming.c: the client side of the name server.
 *
 * - locating a name server as Pyro4's locateNS() does: a given host, the
 *   configured local one, UDP broadcast discovery, the configured one;
 * - its methods as plain C calls (register, lookup, list, remove, ...);
 * - resolving PYRONAME: and PYROMETA: URIs for proxies.  Pyro4 resolves
 *   such a URI each time a proxy connects: it finds the name server, asks
 *   it, and connects to the answer.  Doing the same here means a proxy
 *   follows an object that was restarted elsewhere.
 */
#include "pyro-naming-private.h"

#include <pyro/pyro-error.h>
#include <pyro/pyro-naming.h>
#include <pyro/pyro-proxy.h>
#include <stdlib.h>
#include <string.h>

/* The name server's object id and default ports, as in Pyro4. */
#define NAMESERVER_OBJECT_ID PYRO_NAMESERVER_NAME
#define NAMESERVER_PORT      9090
#define NAMESERVER_BCPORT    9091
/* Pyro4's discovery: 3 rounds, waiting 0.7 s for an answer each time. */
#define BROADCAST_ROUNDS     3
#define BROADCAST_WAIT_US    700000

PyroUri *
pyro_uri_from_variant (GVariant *value, GError **error)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);
      return pyro_uri_from_variant (inner, error);
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return pyro_uri_parse (g_variant_get_string (value, NULL), error);

  /* {"__class__": "Pyro4.core.URI", "state": [protocol, object, sockname, host, port]} */
  const char *klass = NULL;
  g_autoptr(GVariant) state = NULL;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT) &&
      g_variant_lookup (value, "__class__", "&s", &klass) && strcmp (klass, "Pyro4.core.URI") == 0 &&
      (state = g_variant_lookup_value (value, "state", G_VARIANT_TYPE ("av"))) != NULL &&
      g_variant_n_children (state) == 5)
    {
      GString *text = g_string_new (NULL);
      g_autoptr(GVariant) protocol = g_variant_get_child_value (state, 0);
      g_autoptr(GVariant) object = g_variant_get_child_value (state, 1);
      g_autoptr(GVariant) sockname = g_variant_get_child_value (state, 2);
      g_autoptr(GVariant) host = g_variant_get_child_value (state, 3);
      g_autoptr(GVariant) port = g_variant_get_child_value (state, 4);
      g_autoptr(GVariant) p = g_variant_get_variant (protocol);
      g_autoptr(GVariant) o = g_variant_get_variant (object);
      g_autoptr(GVariant) s = g_variant_get_variant (sockname);
      g_autoptr(GVariant) h = g_variant_get_variant (host);
      g_autoptr(GVariant) n = g_variant_get_variant (port);

      if (g_variant_is_of_type (p, G_VARIANT_TYPE_STRING) && g_variant_is_of_type (o, G_VARIANT_TYPE_STRING))
        {
          g_string_append_printf (text, "%s:%s@", g_variant_get_string (p, NULL), g_variant_get_string (o, NULL));
          if (g_variant_is_of_type (s, G_VARIANT_TYPE_STRING))
            g_string_append_printf (text, "./u:%s", g_variant_get_string (s, NULL));
          else if (g_variant_is_of_type (h, G_VARIANT_TYPE_STRING) && g_variant_is_of_type (n, G_VARIANT_TYPE_INT64))
            {
              const char *hs = g_variant_get_string (h, NULL);
              gboolean v6 = strchr (hs, ':') != NULL;
              g_string_append_printf (text, v6 ? "[%s]:%" G_GINT64_FORMAT : "%s:%" G_GINT64_FORMAT,
                                      hs, g_variant_get_int64 (n));
            }
          g_autofree char *uri_text = g_string_free (text, FALSE);
          return pyro_uri_parse (uri_text, error);
        }
      g_string_free (text, TRUE);
    }

  g_autofree char *printed = g_variant_print (value, FALSE);
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "expected a URI from the name server, got %.200s", printed);
  return NULL;
}

/* PYROMETA: picks a random object having all the tags, as Pyro4 does. */
static PyroUri *
resolve_meta (PyroProxy *ns, PyroUri *uri, GCancellable *cancellable, GError **error)
{
  g_auto(GStrv) tags = g_strsplit (pyro_uri_get_object (uri), ",", -1);
  GVariantBuilder kwargs;
  g_variant_builder_init (&kwargs, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&kwargs, "{sv}", "metadata_all", g_variant_new_strv ((const char * const *) tags, -1));

  g_autoptr(GVariant) found = pyro_proxy_call_full_sync (ns, "list", NULL, g_variant_builder_end (&kwargs),
                                                         PYRO_CALL_NONE, G_VARIANT_TYPE ("a{ss}"),
                                                         cancellable, error);
  if (found == NULL)
    return NULL;
  gsize n = g_variant_n_children (found);
  if (n == 0)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "no registrations available with desired metadata properties %s",
                   pyro_uri_get_object (uri));
      return NULL;
    }
  const char *text;
  g_variant_get_child (found, g_random_int_range (0, (gint32) n), "{&s&s}", NULL, &text);
  return pyro_uri_parse (text, error);
}


/* ---- configuration ------------------------------------------------------ */

static const char *
config_ns_host (void)
{
  const char *host = g_getenv ("PYRO_NS_HOST");
  return (host != NULL && *host != '\0') ? host : "localhost";
}

static guint16
config_port (const char *variable, guint16 fallback)
{
  const char *text = g_getenv (variable);
  if (text == NULL || *text == '\0')
    return fallback;
  gint64 port = g_ascii_strtoll (text, NULL, 10);
  return (port > 0 && port <= 65535) ? (guint16) port : fallback;
}

static gboolean
is_local_host (const char *host)
{
  return strcmp (host, "localhost") == 0 || g_str_has_prefix (host, "127.") || strcmp (host, "::1") == 0;
}

/* ---- locating ----------------------------------------------------------- */

/* A proxy for the name server at @uri, connected (so the handshake, and
 * with it the HMAC check, has passed), or NULL. */
static PyroProxy *
connect_to (PyroUri *uri, const char *hmac_key, double timeout, GCancellable *cancellable, GError **error)
{
  g_autoptr(PyroProxy) ns = pyro_proxy_new_for_uri (uri);
  if (hmac_key != NULL)
    pyro_proxy_set_hmac_key (ns, hmac_key);
  pyro_proxy_set_timeout (ns, timeout);
  if (!pyro_proxy_connect (ns, cancellable, error))
    return NULL;
  return g_steal_pointer (&ns);
}

/* A connected proxy for the name server at @host:@port, or NULL. */
static PyroProxy *
try_direct (const char *host, guint16 port, const char *hmac_key, double timeout, GCancellable *cancellable,
            GError **error)
{
  g_autoptr(PyroUri) uri = pyro_uri_new (NAMESERVER_OBJECT_ID, host, port);
  g_debug ("locating the NS: %s", pyro_uri_to_string (uri));
  return connect_to (uri, hmac_key, timeout, cancellable, error);
}

/* The addresses to send GET_NSURI to: PYRO_BROADCAST_ADDRS, where
 * "<broadcast>" means 255.255.255.255. */
static GStrv
broadcast_addresses (void)
{
  const char *config = g_getenv ("PYRO_BROADCAST_ADDRS");
  g_auto(GStrv) parts = g_strsplit (config && *config ? config : "<broadcast>, 0.0.0.0", ",", -1);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  for (gsize i = 0; parts[i] != NULL; i++)
    {
      const char *address = g_strstrip (parts[i]);
      if (strcmp (address, "<broadcast>") == 0)
        address = "255.255.255.255";
      if (*address != '\0')
        g_strv_builder_add (builder, address);
    }
  return g_strv_builder_end (builder);
}

/* Asks by UDP broadcast; the answer is the name server's URI text.
 * (transfer full) (nullable) */
static PyroUri *
discover (guint16 bcport, GCancellable *cancellable)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, &local);
  if (socket == NULL)
    {
      g_debug ("broadcast locate: %s", local->message);
      return NULL;
    }
  g_socket_set_broadcast (socket, TRUE);
  g_auto(GStrv) addresses = broadcast_addresses ();

  for (int round = 0; round < BROADCAST_ROUNDS; round++)
    {
      for (gsize i = 0; addresses[i] != NULL; i++)
        {
          g_autoptr(GInetAddress) ip = g_inet_address_new_from_string (addresses[i]);
          if (ip == NULL || g_inet_address_get_family (ip) != G_SOCKET_FAMILY_IPV4)
            continue;
          g_autoptr(GSocketAddress) target = g_inet_socket_address_new (ip, bcport);
          g_autoptr(GError) send_error = NULL;
          if (g_socket_send_to (socket, target, "GET_NSURI", 9, cancellable, &send_error) < 0)
            g_debug ("broadcast locate: sending to %s: %s", addresses[i], send_error->message);
        }

      gint64 deadline = g_get_monotonic_time () + BROADCAST_WAIT_US;
      gint64 left;
      while ((left = deadline - g_get_monotonic_time ()) > 0)
        {
          char buffer[101];
          g_clear_error (&local);
          if (!g_socket_condition_timed_wait (socket, G_IO_IN, left, cancellable, &local))
            break;
          gssize n = g_socket_receive (socket, buffer, sizeof buffer - 1, cancellable, &local);
          if (n <= 0)
            continue;
          buffer[n] = '\0';
          PyroUri *uri = pyro_uri_parse (buffer, NULL);
          if (uri != NULL)
            {
              g_debug ("broadcast locate: found %s", buffer);
              return uri;
            }
        }
      if (g_cancellable_is_cancelled (cancellable))
        return NULL;
    }
  return NULL;
}

PyroProxy *
pyro_naming_locate (const char *host, guint16 port, GCancellable *cancellable, GError **error)
{
  return pyro_naming_locate_with_key (host, port, NULL, cancellable, error);
}

/* pyro_naming_locate_with_key(), its proxy with a @timeout (0: none) from
 * the start, so that a name server that does not answer cannot hold us. */
static PyroProxy *
locate (const char    *host,
        guint16        port,
        const char    *hmac_key,
        double         timeout,
        GCancellable  *cancellable,
        GError       **error)
{
  g_autoptr(GError) local = NULL;
  PyroProxy *ns;

  /* Pyro4 treats an empty key as no key at all. */
  if (hmac_key != NULL && *hmac_key == '\0')
    hmac_key = NULL;

  if (host != NULL)
    {
      ns = try_direct (host, port ? port : config_port ("PYRO_NS_PORT", NAMESERVER_PORT), hmac_key, timeout,
                       cancellable, &local);
      /* Pyro4 raises NamingError "from" the connection error; a GError has
       * no cause, so the cause goes into the message: with a wrong or
       * missing HMAC key, that is the part that tells what is wrong. */
      if (ns == NULL)
        g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "Failed to locate the nameserver: %s", local->message);
      return ns;
    }

  const char *ns_host = config_ns_host ();
  guint16 ns_port = config_port ("PYRO_NS_PORT", NAMESERVER_PORT);
  if (is_local_host (ns_host))
    {
      ns = try_direct (ns_host, ns_port, hmac_key, timeout, cancellable, &local);
      if (ns != NULL)
        return ns;
      g_debug ("locating the NS: %s", local->message);
      g_clear_error (&local);
    }

  g_debug ("broadcast locate");
  g_autoptr(PyroUri) found = discover (port ? port : config_port ("PYRO_NS_BCPORT", NAMESERVER_BCPORT), cancellable);
  if (found != NULL)
    {
      ns = connect_to (found, hmac_key, timeout, cancellable, &local);
      if (ns != NULL)
        return ns;
      g_debug ("locating the NS: %s", local->message);
      g_clear_error (&local);
    }

  if (!is_local_host (ns_host))
    {
      ns = try_direct (ns_host, ns_port, hmac_key, timeout, cancellable, &local);
      if (ns != NULL)
        return ns;
    }
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "Failed to locate the nameserver");
  return NULL;
}

PyroProxy *
pyro_naming_locate_with_key (const char    *host,
                             guint16        port,
                             const char    *hmac_key,
                             GCancellable  *cancellable,
                             GError       **error)
{
  return locate (host, port, hmac_key, 0, cancellable, error);
}

/* ---- resolving PYRONAME: / PYROMETA: ------------------------------------ */

PyroUri *
pyro_naming_resolve (PyroUri *uri, GBytes *hmac_key, double timeout, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (uri != NULL, NULL);
  /* A name server in the URI is used directly; otherwise search for one. */
  const char *host = pyro_uri_get_host (uri);
  guint16 port = host ? pyro_uri_get_port (uri) : 0;
  /* Pyro4 looks the name up with the proxy's own HMAC key: a name server
   * that wants a key gets the one the object wants too.  (As text for
   * pyro_proxy_set_hmac_key(); a key with a NUL byte, possible only from a
   * proxy dict, is cut there and so refused.) */
  g_autofree char *key = hmac_key ? g_strndup (g_bytes_get_data (hmac_key, NULL), g_bytes_get_size (hmac_key)) : NULL;
  g_autoptr(PyroProxy) ns = locate (host, port, key, timeout, cancellable, error);
  if (ns == NULL)
    return NULL;

  PyroUri *resolved;
  if (pyro_uri_get_protocol (uri) == PYRO_URI_PYROMETA)
    resolved = resolve_meta (ns, uri, cancellable, error);
  else
    resolved = pyro_naming_lookup (ns, pyro_uri_get_object (uri), NULL, cancellable, error);
  /* Pyro4 closes the name server connection right after asking. */
  pyro_proxy_release (ns);
  return resolved;
}

/* ---- the name server's methods ------------------------------------------ */

static GVariant *
tags_variant (const char * const *tags)
{
  return g_variant_new_strv (tags, -1);
}

/* Calls @method with keyword arguments only; NULL with @error on failure. */
static GVariant *
call_ns (PyroProxy          *ns,
         const char         *method,
         GVariant           *params,
         GVariantBuilder    *kwargs,
         const GVariantType *reply_type,
         GCancellable       *cancellable,
         GError            **error)
{
  return pyro_proxy_call_full_sync (ns, method, params, kwargs ? g_variant_builder_end (kwargs) : NULL,
                                    PYRO_CALL_NONE, reply_type, cancellable, error);
}

gboolean
pyro_naming_register (PyroProxy           *ns,
                      const char          *name,
                      const char          *uri,
                      gboolean             safe,
                      const char * const  *metadata,
                      GCancellable        *cancellable,
                      GError             **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), FALSE);
  g_return_val_if_fail (name != NULL && uri != NULL, FALSE);

  GVariantBuilder kwargs;
  g_variant_builder_init (&kwargs, G_VARIANT_TYPE_VARDICT);
  if (safe)
    g_variant_builder_add (&kwargs, "{sv}", "safe", g_variant_new_boolean (TRUE));
  if (metadata != NULL)
    g_variant_builder_add (&kwargs, "{sv}", "metadata", tags_variant (metadata));
  g_autoptr(GVariant) result = call_ns (ns, "register", g_variant_new ("(ss)", name, uri), &kwargs, NULL,
                                        cancellable, error);
  return result != NULL;
}

PyroUri *
pyro_naming_lookup (PyroProxy     *ns,
                    const char    *name,
                    char        ***metadata,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  GVariantBuilder kwargs;
  g_variant_builder_init (&kwargs, G_VARIANT_TYPE_VARDICT);
  if (metadata != NULL)
    g_variant_builder_add (&kwargs, "{sv}", "return_metadata", g_variant_new_boolean (TRUE));
  g_autoptr(GVariant) found = call_ns (ns, "lookup", g_variant_new ("(s)", name), &kwargs,
                                       metadata ? G_VARIANT_TYPE ("(vas)") : G_VARIANT_TYPE_VARIANT,
                                       cancellable, error);
  if (found == NULL)
    return NULL;
  if (metadata == NULL)
    return pyro_uri_from_variant (found, error);

  g_autoptr(GVariant) uri_value = g_variant_get_child_value (found, 0);
  PyroUri *uri = pyro_uri_from_variant (uri_value, error);
  if (uri != NULL)
    g_variant_get_child (found, 1, "^as", metadata);
  return uri;
}

GVariant *
pyro_naming_list (PyroProxy           *ns,
                  PyroNamingMatch      match,
                  const char          *pattern,
                  const char * const  *tags,
                  gboolean             with_metadata,
                  GCancellable        *cancellable,
                  GError             **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), NULL);
  static const char * const keywords[] = { NULL, "prefix", "regex", "metadata_all", "metadata_any" };

  GVariantBuilder kwargs;
  g_variant_builder_init (&kwargs, G_VARIANT_TYPE_VARDICT);
  if (match == PYRO_NAMING_MATCH_PREFIX || match == PYRO_NAMING_MATCH_REGEX)
    {
      g_return_val_if_fail (pattern != NULL, NULL);
      g_variant_builder_add (&kwargs, "{sv}", keywords[match], g_variant_new_string (pattern));
    }
  else if (match == PYRO_NAMING_MATCH_METADATA_ALL || match == PYRO_NAMING_MATCH_METADATA_ANY)
    {
      const char *none[] = { NULL };
      g_variant_builder_add (&kwargs, "{sv}", keywords[match], tags_variant (tags ? tags : none));
    }
  if (with_metadata)
    g_variant_builder_add (&kwargs, "{sv}", "return_metadata", g_variant_new_boolean (TRUE));
  return call_ns (ns, "list", NULL, &kwargs, G_VARIANT_TYPE (with_metadata ? "a{s(sas)}" : "a{ss}"),
                  cancellable, error);
}

static gint
remove_with (PyroProxy *ns, const char *keyword, const char *value, GCancellable *cancellable, GError **error)
{
  GVariantBuilder kwargs;
  g_variant_builder_init (&kwargs, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&kwargs, "{sv}", keyword, g_variant_new_string (value));
  g_autoptr(GVariant) removed = call_ns (ns, "remove", NULL, &kwargs, G_VARIANT_TYPE_INT64, cancellable, error);
  return removed ? (gint) g_variant_get_int64 (removed) : -1;
}

gint
pyro_naming_remove (PyroProxy *ns, const char *name, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), -1);
  g_return_val_if_fail (name != NULL, -1);
  return remove_with (ns, "name", name, cancellable, error);
}

gint
pyro_naming_remove_matching (PyroProxy        *ns,
                             PyroNamingMatch   match,
                             const char       *pattern,
                             GCancellable     *cancellable,
                             GError          **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), -1);
  g_return_val_if_fail (match == PYRO_NAMING_MATCH_PREFIX || match == PYRO_NAMING_MATCH_REGEX, -1);
  g_return_val_if_fail (pattern != NULL, -1);
  return remove_with (ns, match == PYRO_NAMING_MATCH_PREFIX ? "prefix" : "regex", pattern, cancellable, error);
}

gboolean
pyro_naming_set_metadata (PyroProxy           *ns,
                          const char          *name,
                          const char * const  *metadata,
                          GCancellable        *cancellable,
                          GError             **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  const char *none[] = { NULL };
  g_autoptr(GVariant) result = call_ns (ns, "set_metadata",
                                        g_variant_new ("(s@as)", name, tags_variant (metadata ? metadata : none)),
                                        NULL, NULL, cancellable, error);
  return result != NULL;
}

gint64
pyro_naming_count (PyroProxy *ns, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), -1);
  g_autoptr(GVariant) count = call_ns (ns, "count", NULL, NULL, G_VARIANT_TYPE_INT64, cancellable, error);
  return count ? g_variant_get_int64 (count) : -1;
}

gboolean
pyro_naming_ping (PyroProxy *ns, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (ns), FALSE);
  g_autoptr(GVariant) result = call_ns (ns, "ping", NULL, NULL, NULL, cancellable, error);
  return result != NULL;
}

gboolean
pyro_naming_tool_hmac_key (const char *program, const char *option_key, const char **key)
{
  const char *env_key = g_getenv ("PYRO_HMAC_KEY");
  gboolean from_option = option_key != NULL && *option_key != '\0';

  /* Anyone on the machine can read a command line (ps), not the environment. */
  if (from_option)
    g_printerr ("Warning: -k shows the HMAC key to every user of this machine and is deprecated; "
                "set PYRO_HMAC_KEY instead.\n");
  if (env_key != NULL && from_option)
    {
      g_printerr ("%s: error: don't use -k and PYRO_HMAC_KEY at the same time\n", program);
      return FALSE;
    }
  *key = from_option ? option_key : env_key;
  if (*key != NULL && **key == '\0')
    *key = NULL;
  return TRUE;
}
