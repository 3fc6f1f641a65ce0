/* pyro-batch.c: a client's queue of calls sent as one Pyro4 "<batch>" request.
 *
 * On the wire a batch is an INVOKE of the method "<batch>" with flag BATCH,
 * whose params are [method, params, kwargs] triples; the reply is the list
 * of results, ended early by an _ExceptionWrapper if a call failed.
 *
 * Each call is written as JSON text as soon as it is queued, so sending
 * the batch only has to close the list: no GVariant of the whole batch is
 * built just to be taken apart again by the JSON writer.
 */
#include "pyro-error-private.h"
#include "pyro-json-private.h"
#include "pyro-message-private.h"
#include "pyro-proxy-private.h"

#include <pyro/pyro-batch.h>
#include <string.h>

struct _PyroBatch
{
  GObject    parent_instance;
  PyroProxy *proxy;
  GString   *calls;        /* JSON "[[method, params, {}], ..." without the closing ']' */
  guint      n_calls;
  GError    *calls_error;  /* the first call that cannot be written as JSON */
  GVariant  *last_params;  /* see pyro_batch_add() */
  GVariant  *completed;    /* results before the failure of the last run */
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

  g_autoptr(GVariant) args = params ? g_variant_ref_sink (params) : NULL;

  batch->n_calls++;
  if (batch->calls_error != NULL)
    return;  /* the batch cannot be sent anyway: the error says why */

  /* Pyro4's [method, params, kwargs]; a batch's calls have no kwargs. */
  gsize old_len = batch->calls->len;
  if (batch->n_calls > 1)
    g_string_append (batch->calls, ", ");
  g_string_append_c (batch->calls, '[');
  pyro_json_write_string (batch->calls, method);
  g_string_append (batch->calls, ", ");
  if (args == NULL)
    g_string_append (batch->calls, "[]");
  else if (!pyro_json_write_variant (batch->calls, args, &batch->calls_error))
    {
      /* Reported when the batch is run, as a single call reports it. */
      g_string_truncate (batch->calls, old_len);
      g_prefix_error (&batch->calls_error, "%s(): ", method);
      return;
    }
  g_string_append (batch->calls, ", {}]");

  /* Keep these arguments until the next ones come.  GLib frees what it
   * knows about a tuple type with the last value of that type, and works
   * it out again, under a global lock, for the next value: the calls of a
   * batch mostly share one signature. */
  g_clear_pointer (&batch->last_params, g_variant_unref);
  batch->last_params = g_steal_pointer (&args);
}

guint
pyro_batch_get_length (PyroBatch *batch)
{
  g_return_val_if_fail (PYRO_IS_BATCH (batch), 0);
  return batch->n_calls;
}

/* Takes the queued calls out as the JSON params list (transfer full),
 * with the reason they cannot be sent, if any, in *@calls_error
 * (transfer full); leaves an empty queue. */
static char *
take_calls (PyroBatch *batch, GError **calls_error)
{
  g_string_append_c (batch->calls, ']');
  char *text = g_string_free (batch->calls, FALSE);

  batch->calls = g_string_new ("[");
  batch->n_calls = 0;
  *calls_error = g_steal_pointer (&batch->calls_error);
  g_clear_pointer (&batch->last_params, g_variant_unref);
  return text;
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
  g_autoptr(GError) calls_error = NULL;
  g_autofree char *calls = take_calls (batch, &calls_error);
  g_autoptr(GVariant) results = pyro_proxy_invoke_json (batch->proxy, "<batch>", calls, calls_error, TRUE,
                                                        PYRO_FLAG_BATCH, G_VARIANT_TYPE ("av"),
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
            {
              /* The builder takes its own reference to this (non-floating) item. */
              g_autoptr(GVariant) item = g_variant_get_child_value (results, i);
              g_variant_builder_add_value (&done, item);
            }
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

  g_autoptr(GError) calls_error = NULL;
  g_autofree char *calls = take_calls (batch, &calls_error);
  g_autoptr(GVariant) none = pyro_proxy_invoke_json (batch->proxy, "<batch>", calls, calls_error, TRUE,
                                                     PYRO_FLAG_BATCH | PYRO_FLAG_ONEWAY, NULL, NULL, error);
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
  batch->calls = g_string_new ("[");
}

static void
pyro_batch_finalize (GObject *object)
{
  PyroBatch *batch = PYRO_BATCH (object);

  g_string_free (batch->calls, TRUE);
  g_clear_error (&batch->calls_error);
  g_clear_pointer (&batch->last_params, g_variant_unref);
  g_clear_pointer (&batch->completed, g_variant_unref);
  g_object_unref (batch->proxy);
  G_OBJECT_CLASS (pyro_batch_parent_class)->finalize (object);
}

static void
pyro_batch_class_init (PyroBatchClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pyro_batch_finalize;
}
