/* pyro-naming-private.h: name server lookups the proxy needs. */
#pragma once

#include <gio/gio.h>
#include <pyro/pyro-uri.h>

G_BEGIN_DECLS

/* Resolves a PYRONAME: or PYROMETA: URI to the PYRO: URI of the object,
 * asking the name server (the one named in the URI, else the configured
 * or discovered one).  @hmac_key (nullable): the resolving proxy's key,
 * used for the name server too, as Pyro4 does; @timeout: the resolving
 * proxy's timeout in seconds (0: none), which bounds the lookup too.
 * (transfer full) (nullable) */
PyroUri *pyro_naming_resolve (PyroUri      *uri,
                              GBytes       *hmac_key,
                              double        timeout,
                              GCancellable *cancellable,
                              GError      **error);

/* Converts a URI as the name server sends it (a string, or Pyro4's
 * {"__class__": "Pyro4.core.URI", "state": [...]} dict as "a{sv}") to a
 * PyroUri. (transfer full) (nullable) */
PyroUri *pyro_uri_from_variant (GVariant *value, GError **error);

/* For the command-line tools: the HMAC key from their -k option or from
 * PYRO_HMAC_KEY, chosen as Pyro4's tools do (-k warns that it is deprecated;
 * both at once is an error, printed with @program's name, and FALSE).
 * *key: (transfer none): NULL for none (an empty key is none too). */
gboolean pyro_naming_tool_hmac_key (const char *program, const char *option_key, const char **key);

G_END_DECLS
