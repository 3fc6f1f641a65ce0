/* pyro-batch.h: many calls in one message (Pyro4's batch()). */
#pragma once

#include <pyro/pyro-proxy.h>

G_BEGIN_DECLS

/**
 * @file pyro-batch.h
 * @brief ::PyroBatch: queue calls, send them in one request.
 *
 * Like Pyro4's `Pyro4.batch(proxy)`: the calls travel in one `<batch>`
 * request and run one after the other on the daemon; the first call that
 * fails ends the batch, and the calls after it do not run.
 *
 * @code
 * g_autoptr(PyroBatch) batch = pyro_batch_new (warehouse);
 * pyro_batch_add (batch, "store", g_variant_new ("(ss)", "Janet", "television"));
 * pyro_batch_add (batch, "take", g_variant_new ("(ss)", "Henry", "bike"));
 * pyro_batch_add (batch, "list_contents", NULL);
 * g_autoptr(GVariant) results = pyro_batch_run_sync (batch, NULL, &error);   // "av", one per call
 * @endcode
 */

/**
 * The GType of ::PyroBatch: the value of pyro_batch_get_type().
 *
 * ::PyroBatch is declared with G_DECLARE_FINAL_TYPE(), which declares, as for
 * any final GObject type: ::PyroBatch, its class structure ::PyroBatchClass,
 * pyro_batch_get_type(), the checked cast PYRO_BATCH(), the type test
 * PYRO_IS_BATCH(), and g_autoptr() support (g_object_unref() at the end of
 * the scope).  A final type cannot be subclassed.
 */
#define PYRO_TYPE_BATCH (pyro_batch_get_type ())
/** A queue of calls sent together in one batch request (a GObject). */
G_DECLARE_FINAL_TYPE (PyroBatch, pyro_batch, PYRO, BATCH, GObject)
/**
 * @fn GType pyro_batch_get_type (void)
 * Registers ::PyroBatch with the GType system on the first call.
 * @return the GType of ::PyroBatch, also available as #PYRO_TYPE_BATCH
 */
/**
 * @fn PyroBatch *PYRO_BATCH (gpointer ptr)
 * Casts @p ptr to ::PyroBatch, checked as by G_TYPE_CHECK_INSTANCE_CAST(): GLib
 * warns "invalid cast" if @p ptr is something else (unless
 * G_DISABLE_CAST_CHECKS is defined).
 * @param ptr (nullable): an instance of ::PyroBatch
 * @return (transfer none) (nullable): @p ptr
 */
/**
 * @fn gboolean PYRO_IS_BATCH (gpointer ptr)
 * Checks the type of an instance, as G_TYPE_CHECK_INSTANCE_TYPE() does.
 * @param ptr (nullable): a GTypeInstance, or NULL
 * @return TRUE if @p ptr is a ::PyroBatch; FALSE for NULL
 */
/**
 * @struct PyroBatchClass
 * The class structure of ::PyroBatch: a GObjectClass with nothing added.
 */
/** @var GObjectClass PyroBatchClass::parent_class
 * The parent class. */

/**
 * @param proxy the proxy whose object the calls are for; the batch keeps a
 *   reference to it
 * @return (transfer full): an empty batch of calls on @p proxy's object
 */
PyroBatch *pyro_batch_new (PyroProxy *proxy);

/**
 * Queues a call; nothing is sent yet.
 * @param method the method name
 * @param params (nullable): the arguments tuple; NULL means "()".  A
 *   floating reference is consumed; of a non-floating one the caller keeps
 *   its reference
 */
void pyro_batch_add (PyroBatch *batch, const char *method, GVariant *params);

/** @return how many calls are queued */
guint pyro_batch_get_length (PyroBatch *batch);

/**
 * Sends the queued calls and waits; the queue is empty afterwards.
 *
 * @return (transfer full) (nullable): an "av" with one result per call,
 *   or NULL with @p error set to the first call's failure; the results of
 *   the calls before it are then in pyro_batch_get_completed()
 */
GVariant *pyro_batch_run_sync (PyroBatch *batch, GCancellable *cancellable, GError **error);

/**
 * Sends the queued calls as a oneway batch: returns once sent; the daemon
 * runs them and answers nothing.
 */
gboolean pyro_batch_run_oneway (PyroBatch *batch, GError **error);

/**
 * @return (transfer none) (nullable): after a failed pyro_batch_run_sync(),
 *   the "av" results of the calls that ran before the failure, owned by
 *   @p batch until its next pyro_batch_run_sync(); NULL unless the last
 *   pyro_batch_run_sync() failed in one of its calls
 */
GVariant *pyro_batch_get_completed (PyroBatch *batch);

G_END_DECLS
