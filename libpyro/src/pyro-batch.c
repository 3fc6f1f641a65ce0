/* pyro-batch.c: a client's queue of calls sent as one Pyro4 "<batch>" request.
 *
 * On the wire a batch is an INVOKE of the method "<batch>" with flag BATCH,
 * whose params are [method, params, kwargs] triples; the reply is the list
 * of results, ended early by an _ExceptionWrapper if a call failed.
 */
#include "pyro-error-private.h"
#include "pyro-json-private.h"
#include "pyro-message-private.h"
#include "pyro-proxy-private.h"

#include <pyro/pyro-batch.h>
#include <string.h>

struct _PyroBatch
{
  GObject          parent_instance;
  PyroProxy       *proxy;
  GVariantBuilder *calls;      /* "av" of (s, params tuple, a{sv}) triples */
  guint            n_calls;
  GVariant        *completed;  /* results before the failure of the last run */
};

G_DEFINE_TYPE (PyroBatch, pyro_batch, G_TYPE_OBJECT)

PyroBatch *
pyro_batch_new (PyroProxy *proxy)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), NULL);

  PyroBatch *batch = g_object_new (PYRO_TYPE_BATCH, NULL);
  batch->proxy = g_object_ref (proxy);
  return batch;
}

void
pyro_batch_add (PyroBatch *batch, const char *method, GVariant *params)
{
  g_return_if_fail (PYRO_IS_BATCH (batch));
  g_return_if_fail (method != NULL);
  g_return_if_fail (params == NULL || g_variant_is_of_type (params, G_VARIANT_TYPE_TUPLE));

  GVariant *args = params ? params : g_variant_new ("()");
  GVariant *triple[3] = { g_variant_new_string (method), args, g_variant_new ("a{sv}", NULL) };
  g_variant_builder_add (batch->calls, "v", g_variant_new_tuple (triple, 3));
  batch->n_calls++;
}

guint
pyro_batch_get_length (PyroBatch *batch)
{
  g_return_val_if_fail (PYRO_IS_BATCH (batch), 0);
  return batch->n_calls;
}

/* Takes the queued calls out, leaving an empty queue. */
static GVariant *
take_calls (PyroBatch *batch)
{
  GVariant *calls = g_variant_ref_sink (g_variant_builder_end (batch->calls));
  g_variant_builder_unref (batch->calls);
  batch->calls = g_variant_builder_new (G_VARIANT_TYPE ("av"));
  batch->n_calls = 0;
  return calls;
}

/* Is @value Pyro4's wrapper around the exception that ended the batch? */
static gboolean
is_exception_wrapper (GVariant *value)
{
  const char *klass;
  return g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT) &&
         g_variant_lookup (value, "__class__", "&s", &klass) &&
         strcmp (klass, "Pyro4.futures._ExceptionWrapper") == 0;
}

/* The wrapped exception dict, back to JSON and then to a GError. */
static GError *
error_from_wrapper (GVariant *wrapper)
{
  g_autoptr(GVariant) exc = g_variant_lookup_value (wrapper, "exception", NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(JsonNode) node = NULL;

  if (exc != NULL && pyro_json_write_variant (text, exc, NULL))
    node = pyro_json_parse (text->str, text->len, NULL);
  return pyro_error_from_json (node);
}

GVariant *
pyro_batch_run_sync (PyroBatch *batch, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (PYRO_IS_BATCH (batch), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_clear_pointer (&batch->completed, g_variant_unref);
  g_autoptr(GVariant) calls = take_calls (batch);
  g_autoptr(GVariant) results = pyro_proxy_invoke (batch->proxy, NULL, "<batch>", calls, TRUE,
                                                   PYRO_FLAG_BATCH, G_VARIANT_TYPE ("av"), NULL,
                                                   cancellable, error);
  if (results == NULL)
    return NULL;

  gsize n = g_variant_n_children (results);
  if (n > 0)
    {
      g_autoptr(GVariant) last_box = g_variant_get_child_value (results, n - 1);
      g_autoptr(GVariant) last = g_variant_get_variant (last_box);
      if (is_exception_wrapper (last))
        {
          /* Keep what ran before the failure, as Pyro4's result list does. */
          GVariantBuilder done;
          g_variant_builder_init (&done, G_VARIANT_TYPE ("av"));
          for (gsize i = 0; i + 1 < n; i++)
            g_variant_builder_add_value (&done, g_variant_get_child_value (results, i));
          batch->completed = g_variant_ref_sink (g_variant_builder_end (&done));
          g_propagate_error (error, error_from_wrapper (last));
          return NULL;
        }
    }
  return g_steal_pointer (&results);
}

gboolean
pyro_batch_run_oneway (PyroBatch *batch, GError **error)
{
  g_return_val_if_fail (PYRO_IS_BATCH (batch), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr(GVariant) calls = take_calls (batch);
  g_autoptr(GVariant) none = pyro_proxy_invoke (batch->proxy, NULL, "<batch>", calls, TRUE,
                                                PYRO_FLAG_BATCH | PYRO_FLAG_ONEWAY, NULL, NULL, NULL, error);
  return none != NULL;
}

GVariant *
pyro_batch_get_completed (PyroBatch *batch)
{
  g_return_val_if_fail (PYRO_IS_BATCH (batch), NULL);
  return batch->completed;
}

static void
pyro_batch_init (PyroBatch *batch)
{
  batch->calls = g_variant_builder_new (G_VARIANT_TYPE ("av"));
}

static void
pyro_batch_finalize (GObject *object)
{
  PyroBatch *batch = PYRO_BATCH (object);

  g_variant_builder_unref (batch->calls);
  g_clear_pointer (&batch->completed, g_variant_unref);
  g_object_unref (batch->proxy);
  G_OBJECT_CLASS (pyro_batch_parent_class)->finalize (object);
}

static void
pyro_batch_class_init (PyroBatchClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pyro_batch_finalize;
}
