/* pyro-uri.h: Pyro URIs (PYRO:, PYRONAME:, PYROMETA:), parsed and printed
 * exactly as Pyro4's URI class does. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * @file pyro-uri.h
 * @brief ::PyroUri, an immutable, reference-counted Pyro URI.
 *
 * Forms accepted (the protocol is case-insensitive):
 *
 *     PYRO:<objectid>@<host>:<port>      PYRO:thing@localhost:9999
 *     PYRO:<objectid>@[<ipv6>]:<port>    PYRO:thing@[::1]:9999
 *     PYRO:<objectid>@./u:<socketpath>   PYRO:thing@./u:/tmp/sock
 *     PYRONAME:<name>[@<nshost>[:<nsport>]]
 *     PYROMETA:<tag>[,<tag>...][@<nshost>[:<nsport>]]
 */

/** The kind of a ::PyroUri. */
typedef enum
{
  PYRO_URI_PYRO,     /**< `PYRO:object@location`: a direct address */
  PYRO_URI_PYRONAME, /**< PYRONAME:name: resolved through the name server */
  PYRO_URI_PYROMETA, /**< PYROMETA:tags: resolved by metadata tags */
} PyroUriProtocol;

/** An immutable, reference-counted parsed URI. */
typedef struct _PyroUri PyroUri;

/** The GType of the ::PyroUri boxed type. */
#define PYRO_TYPE_URI (pyro_uri_get_type ())
/** @return the GType of ::PyroUri */
GType pyro_uri_get_type (void) G_GNUC_CONST;

/**
 * Parses @p text.
 *
 * @param text a URI such as `PYRO:obj_1@localhost:9090`
 * @param error return location for a #PYRO_ERROR_FAILED error naming what
 *   is wrong ("invalid uri (protocol)", "invalid port in uri, port=...")
 * @return (transfer full) (nullable): the URI, or NULL with @p error set
 */
PyroUri *pyro_uri_parse (const char *text, GError **error);

/**
 * Builds a PYRO: URI.
 *
 * @param object_id the object id (copied)
 * @param host host name or address (copied); IPv6 literals without brackets
 * @param port TCP port
 * @return (transfer full): the URI
 */
PyroUri *pyro_uri_new (const char *object_id, const char *host, guint16 port);

/** Adds a reference. @return (transfer full): @p uri */
PyroUri *pyro_uri_ref (PyroUri *uri);
/** Drops a reference; the last one frees @p uri. */
void pyro_uri_unref (PyroUri *uri);

/** @return the protocol of @p uri */
PyroUriProtocol pyro_uri_get_protocol (const PyroUri *uri);
/** @return (transfer none): the object id (PYRO:) or the name (PYRONAME:), or
 * the comma-separated tags (PYROMETA:) */
const char *pyro_uri_get_object (const PyroUri *uri);
/** @return (transfer none) (nullable): the host, or NULL (unix socket, or a
 * PYRONAME:/PYROMETA: URI without a name server host) */
const char *pyro_uri_get_host (const PyroUri *uri);
/** @return the port, or 0 when there is none */
guint16 pyro_uri_get_port (const PyroUri *uri);
/** @return (transfer none) (nullable): the unix socket path, or NULL */
const char *pyro_uri_get_socket_path (const PyroUri *uri);

/**
 * The canonical text, e.g. `PYRO:obj@localhost:9090`; IPv6 hosts are
 * bracketed.
 *
 * @return (transfer none): a string owned by @p uri
 */
const char *pyro_uri_to_string (const PyroUri *uri);

/** TRUE if both URIs print the same. */
gboolean pyro_uri_equal (const PyroUri *a, const PyroUri *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroUri, pyro_uri_unref)

G_END_DECLS
