/* pyro-stream.c: the client side of an item stream.
 *
 * The daemon answers a call that returned an iterator with a stream id
 * instead of a value; each item is then one call to
 * Pyro.Daemon.get_next_stream_item on the same proxy, until StopIteration.
 */
#include "pyro-proxy-private.h"

#include <pyro/pyro-error.h>
#include <pyro/pyro-stream.h>

struct _PyroStream
{
  GObject    parent_instance;
  PyroProxy *proxy;
  char      *id;
  gboolean   finished;  /* ended, failed or closed: nothing more to ask */
};

G_DEFINE_TYPE (PyroStream, pyro_stream, G_TYPE_OBJECT)

PyroStream *
pyro_proxy_call_stream_sync (PyroProxy     *proxy,
                             const char    *method,
                             GVariant      *params,
                             GCancellable  *cancellable,
                             GError       **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), NULL);
  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(GVariant) owned = params ? g_variant_ref_sink (params) : NULL;
  g_autofree char *id = NULL;
  g_autoptr(GVariant) result = pyro_proxy_invoke (proxy, NULL, method, owned, FALSE, 0, NULL, &id,
                                                  cancellable, error);
  if (result == NULL)
    return NULL;
  if (id == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "%s() returned a value, not an item stream", method);
      return NULL;
    }

  PyroStream *stream = g_object_new (PYRO_TYPE_STREAM, NULL);
  stream->proxy = g_object_ref (proxy);
  stream->id = g_steal_pointer (&id);
  return stream;
}

GVariant *
pyro_stream_next (PyroStream          *stream,
                  const GVariantType  *item_type,
                  GCancellable        *cancellable,
                  GError             **error)
{
  g_return_val_if_fail (PYRO_IS_STREAM (stream), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (stream->finished)
    return NULL;

  g_autoptr(GError) local = NULL;
  /* pyro_proxy_invoke() does not take the params: we free them. */
  g_autoptr(GVariant) params = g_variant_ref_sink (g_variant_new ("(s)", stream->id));
  GVariant *item = pyro_proxy_invoke (stream->proxy, "Pyro.Daemon", "get_next_stream_item",
                                      params, FALSE, 0, item_type, NULL, cancellable, &local);
  if (item != NULL)
    return item;

  /* StopIteration is the normal end; any other error ends it too, as an
   * exception ends a Python generator. */
  stream->finished = TRUE;
  if (!g_error_matches (local, PYRO_ERROR, PYRO_ERROR_STOP_ITERATION))
    g_propagate_error (error, g_steal_pointer (&local));
  return NULL;
}

void
pyro_stream_close (PyroStream *stream)
{
  g_return_if_fail (PYRO_IS_STREAM (stream));

  if (stream->finished)
    return;
  stream->finished = TRUE;
  pyro_proxy_close_stream_id (stream->proxy, stream->id);
}

const char *
pyro_stream_get_id (PyroStream *stream)
{
  g_return_val_if_fail (PYRO_IS_STREAM (stream), NULL);
  return stream->id;
}

static void
pyro_stream_init (PyroStream *stream)
{
}

static void
pyro_stream_finalize (GObject *object)
{
  PyroStream *stream = PYRO_STREAM (object);

  pyro_stream_close (stream);
  g_object_unref (stream->proxy);
  g_free (stream->id);
  G_OBJECT_CLASS (pyro_stream_parent_class)->finalize (object);
}

static void
pyro_stream_class_init (PyroStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pyro_stream_finalize;
}
