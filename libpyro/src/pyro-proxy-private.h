/* pyro-proxy-private.h: the proxy's raw request, for streams and batches. */
#pragma once

#include <pyro/pyro-proxy.h>

G_BEGIN_DECLS

/* Sends one INVOKE and waits for its reply (unless @flags has ONEWAY).
 * @object_id: NULL for the proxy's object, else e.g. "Pyro.Daemon" (then
 *   the metadata check is skipped).
 * @params: (transfer none) (nullable): written as the JSON params list.
 * @kwargs_null: send "kwargs": null instead of {} (Pyro4 does for batches).
 * @flags: PYRO_FLAG_ONEWAY / PYRO_FLAG_BATCH.
 * @stream_id: (out) (nullable): receives the id when the reply starts an
 *   item stream; NULL makes such a reply an error.
 * Returns (transfer full) the result, or NULL with @error set. */
GVariant *pyro_proxy_invoke (PyroProxy          *proxy,
                             const char         *object_id,
                             const char         *method,
                             GVariant           *params,
                             gboolean            kwargs_null,
                             guint16             flags,
                             const GVariantType *reply_type,
                             char              **stream_id,
                             GCancellable       *cancellable,
                             GError            **error);

/* pyro_proxy_invoke() on the proxy's object, for batches, whose calls are
 * written as JSON while they are queued.
 * @params_json: the JSON params list, as text.
 * @params_error: (nullable): set when the params could not be written as
 *   JSON; the call then fails with it at the point where writing them
 *   would have failed ("<method>(): cannot send the arguments: ..."). */
GVariant *pyro_proxy_invoke_json (PyroProxy          *proxy,
                                  const char         *method,
                                  const char         *params_json,
                                  const GError       *params_error,
                                  gboolean            kwargs_null,
                                  guint16             flags,
                                  const GVariantType *reply_type,
                                  GCancellable       *cancellable,
                                  GError            **error);

/* Tells the daemon (oneway) that the client abandons stream @stream_id. */
void pyro_proxy_close_stream_id (PyroProxy *proxy, const char *stream_id);

G_END_DECLS
