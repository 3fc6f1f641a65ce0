/* pyro-naming.h: using a name server (Pyro4's locateNS() and the
 * NameServer proxy methods), from C. */
#pragma once

#include <gio/gio.h>
#include <pyro/pyro-proxy.h>
#include <pyro/pyro-uri.h>

G_BEGIN_DECLS

/**
 * @file pyro-naming.h
 * @brief Finding the name server and using it: register, lookup, list, remove.
 *
 * A name server maps names such as "example.greeting" to PYRO: URIs, and
 * keeps a set of metadata tags per name.  pyro-ns (or Pyro4's pyro4-ns)
 * runs one; these functions talk to either.
 *
 * @code
 * g_autoptr(PyroProxy) ns = pyro_naming_locate (NULL, 0, NULL, &error);
 * pyro_naming_register (ns, "example.greeting", pyro_uri_to_string (uri), FALSE, NULL, NULL, &error);
 * @endcode
 *
 * Proxies made for "PYRONAME:name" or "PYROMETA:tag" URIs do the lookup
 * themselves, every time they connect.
 *
 * Configuration comes from the environment, with Pyro4's names:
 * `PYRO_NS_HOST` (default localhost), `PYRO_NS_PORT` (9090),
 * `PYRO_NS_BCPORT` (9091) and `PYRO_BROADCAST_ADDRS` (comma-separated,
 * default "<broadcast>, 0.0.0.0").
 *
 * A name server started with an HMAC key (`PYRO_HMAC_KEY=secret pyro-ns`)
 * answers only clients with the same key.  Find it with
 * pyro_naming_locate_with_key(); a "PYRONAME:" or "PYROMETA:" proxy asks
 * the name server with its own key (pyro_proxy_set_hmac_key()), so the
 * name server and the object share one key, as in Pyro4.  The library
 * never reads `PYRO_HMAC_KEY` itself (neither does Pyro4: only its
 * command-line tools do); a program passes the key it wants:
 *
 * @code
 * g_autoptr(PyroProxy) ns = pyro_naming_locate_with_key ("localhost", 9090, g_getenv ("PYRO_HMAC_KEY"),
 *                                                        NULL, &error);
 * @endcode
 */

/** The name server's object id, and its name in its own registry. */
#define PYRO_NAMESERVER_NAME "Pyro.NameServer"

/**
 * Finds a name server, as Pyro4's `locateNS(host, port)` does.
 *
 * With @p host set: connects to the name server at @p host:@p port (@p port 0 means
 * PYRO_NS_PORT, default 9090).  Without one: tries PYRO_NS_HOST:PYRO_NS_PORT
 * directly when that is a local address, then asks by UDP broadcast
 * ("GET_NSURI" to each PYRO_BROADCAST_ADDRS on the broadcast port: @p port,
 * or PYRO_NS_BCPORT, default 9091), then tries PYRO_NS_HOST:PYRO_NS_PORT.
 *
 * @param host (nullable): the name server's host, or NULL to search
 * @param port the name server port (with @p host) or the broadcast port (without); 0 for the default
 * @param cancellable (nullable): cancels the search
 * @param error return location for a #PYRO_ERROR_NAMING error
 *   ("Failed to locate the nameserver", followed by why when @p host
 *   is given, e.g. "...: cannot connect to ('127.0.0.1', 9090): hmac key
 *   config not symmetric" for a name server that wants an HMAC key)
 * @return (transfer full) (nullable): a connected proxy for `Pyro.NameServer`
 */
PyroProxy *pyro_naming_locate (const char    *host,
                               guint16        port,
                               GCancellable  *cancellable,
                               GError       **error);

/**
 * Finds a name server that uses HMAC authentication, as Pyro4's
 * `locateNS(host, port, hmac_key=key)` does: like pyro_naming_locate(),
 * with @p hmac_key set on the proxy (pyro_proxy_set_hmac_key()) before it
 * connects.  The handshake checks the key, so a name server with another
 * key, or with none, is not found: with @p host given the error says so
 * ("Failed to locate the nameserver: cannot connect to (...): message
 * hmac mismatch").
 *
 * @param host (nullable): the name server's host, or NULL to search
 * @param port as for pyro_naming_locate()
 * @param hmac_key (nullable): the shared secret (copied); NULL or "" for none
 * @param cancellable (nullable): cancels the search
 * @param error return location for a #PYRO_ERROR_NAMING error
 * @return (transfer full) (nullable): a connected proxy for `Pyro.NameServer`,
 *   using @p hmac_key for every call
 */
PyroProxy *pyro_naming_locate_with_key (const char    *host,
                                        guint16        port,
                                        const char    *hmac_key,
                                        GCancellable  *cancellable,
                                        GError       **error);

/**
 * Registers @p name for @p uri (the name server's `register`).
 *
 * @param ns a proxy from pyro_naming_locate()
 * @param name the name, e.g. "example.greeting"
 * @param uri the object's URI text
 * @param safe TRUE to fail with #PYRO_ERROR_NAMING ("name already
 *   registered: NAME") instead of replacing an existing registration
 * @param metadata (nullable): NULL-terminated metadata tags
 * @param cancellable (nullable): cancels the call
 * @param error return location for the error
 * @return TRUE on success
 */
gboolean pyro_naming_register (PyroProxy           *ns,
                               const char          *name,
                               const char          *uri,
                               gboolean             safe,
                               const char * const  *metadata,
                               GCancellable        *cancellable,
                               GError             **error);

/**
 * Looks @p name up (the name server's `lookup`).
 *
 * @param ns a proxy from pyro_naming_locate()
 * @param name the name
 * @param metadata (out) (optional) (transfer full): the name's tags, a
 *   NULL-terminated array to free with g_strfreev(), set only on success;
 *   pass NULL if you do not need them
 * @param cancellable (nullable): cancels the call
 * @param error return location for the error; an unknown name gives
 *   #PYRO_ERROR_NAMING "unknown name: NAME"
 * @return (transfer full) (nullable): the URI
 */
PyroUri *pyro_naming_lookup (PyroProxy     *ns,
                             const char    *name,
                             char        ***metadata,
                             GCancellable  *cancellable,
                             GError       **error);

/** How pyro_naming_list() and pyro_naming_remove_matching() select names. */
typedef enum
{
  PYRO_NAMING_MATCH_ALL,          /**< every name */
  PYRO_NAMING_MATCH_PREFIX,       /**< names starting with the pattern */
  PYRO_NAMING_MATCH_REGEX,        /**< names the regular expression matches (from their start) */
  PYRO_NAMING_MATCH_METADATA_ALL, /**< names having every one of the tags (list only) */
  PYRO_NAMING_MATCH_METADATA_ANY, /**< names having at least one of the tags (list only) */
} PyroNamingMatch;

/**
 * Lists registrations (the name server's `list`).
 *
 * @param ns a proxy from pyro_naming_locate()
 * @param match what to select
 * @param pattern (nullable): the prefix or regex, for those matches
 * @param tags (nullable): the tags, for the metadata matches
 * @param with_metadata FALSE: the result is an "a{ss}" dictionary name ->
 *   URI text; TRUE: "a{s(sas)}", name -> (URI text, tags)
 * @param cancellable (nullable): cancels the call
 * @param error return location for the error (e.g. "invalid regex: ...")
 * @return (transfer full) (nullable): the dictionary
 */
GVariant *pyro_naming_list (PyroProxy           *ns,
                            PyroNamingMatch      match,
                            const char          *pattern,
                            const char * const  *tags,
                            gboolean             with_metadata,
                            GCancellable        *cancellable,
                            GError             **error);

/**
 * Removes @p name (the name server's `remove(name)`).  The name server's
 * own entry is never removed.
 *
 * @return 1 if removed, 0 if there was no such name, -1 with @p error set
 */
gint pyro_naming_remove (PyroProxy     *ns,
                         const char    *name,
                         GCancellable  *cancellable,
                         GError       **error);

/**
 * Removes every name matching @p pattern (#PYRO_NAMING_MATCH_PREFIX or
 * #PYRO_NAMING_MATCH_REGEX), except the name server's own.
 *
 * @return how many were removed, or -1 with @p error set
 */
gint pyro_naming_remove_matching (PyroProxy        *ns,
                                  PyroNamingMatch   match,
                                  const char       *pattern,
                                  GCancellable     *cancellable,
                                  GError          **error);

/**
 * Replaces the metadata tags of @p name (NULL or empty clears them).
 * @return TRUE, or FALSE with @p error set ("unknown name: NAME")
 */
gboolean pyro_naming_set_metadata (PyroProxy           *ns,
                                   const char          *name,
                                   const char * const  *metadata,
                                   GCancellable        *cancellable,
                                   GError             **error);

/** @return the number of registrations (the name server's own included), or -1 with @p error set */
gint64 pyro_naming_count (PyroProxy *ns, GCancellable *cancellable, GError **error);

/** Checks that the name server answers. @return TRUE, or FALSE with @p error set */
gboolean pyro_naming_ping (PyroProxy *ns, GCancellable *cancellable, GError **error);

G_END_DECLS
