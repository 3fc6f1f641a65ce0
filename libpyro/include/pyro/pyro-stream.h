/* pyro-stream.h: iterating a remote item stream (Pyro4's remote generators). */
#pragma once

#include <pyro/pyro-proxy.h>

G_BEGIN_DECLS

/**
 * @file pyro-stream.h
 * @brief ::PyroStream: the client side of an item stream.
 *
 * A remote method that returns an iterator or generator (a Python
 * generator, or a C method flagged #PYRO_METHOD_STREAM) hands the client
 * a stream; the items are then fetched one by one.
 *
 * @code
 * g_autoptr(PyroStream) quotes = pyro_proxy_call_stream_sync (market, "quotes", NULL, NULL, &error);
 * GVariant *quote;
 * while ((quote = pyro_stream_next (quotes, G_VARIANT_TYPE ("(sd)"), NULL, &error)) != NULL)
 *   {
 *     const char *symbol;
 *     double price;
 *     g_variant_get (quote, "(&sd)", &symbol, &price);
 *     g_print ("%s: %.2f\n", symbol, price);
 *     g_variant_unref (quote);
 *   }
 * if (error != NULL)   // NULL without error is the normal end
 *   pyro_error_print (error);
 * @endcode
 */

/**
 * The GType of ::PyroStream: the value of pyro_stream_get_type().
 *
 * ::PyroStream is declared with G_DECLARE_FINAL_TYPE(), which declares, as for
 * any final GObject type: ::PyroStream, its class structure ::PyroStreamClass,
 * pyro_stream_get_type(), the checked cast PYRO_STREAM(), the type test
 * PYRO_IS_STREAM(), and g_autoptr() support (g_object_unref() at the end of
 * the scope).  A final type cannot be subclassed.
 */
#define PYRO_TYPE_STREAM (pyro_stream_get_type ())
/** The client side of one remote item stream (a GObject). */
G_DECLARE_FINAL_TYPE (PyroStream, pyro_stream, PYRO, STREAM, GObject)
/**
 * @fn GType pyro_stream_get_type (void)
 * Registers ::PyroStream with the GType system on the first call.
 * @return the GType of ::PyroStream, also available as #PYRO_TYPE_STREAM
 */
/**
 * @fn PyroStream *PYRO_STREAM (gpointer ptr)
 * Casts @p ptr to ::PyroStream, checked as by G_TYPE_CHECK_INSTANCE_CAST(): GLib
 * warns "invalid cast" if @p ptr is something else (unless
 * G_DISABLE_CAST_CHECKS is defined).
 * @param ptr (nullable): an instance of ::PyroStream
 * @return (transfer none) (nullable): @p ptr
 */
/**
 * @fn gboolean PYRO_IS_STREAM (gpointer ptr)
 * Checks the type of an instance, as G_TYPE_CHECK_INSTANCE_TYPE() does.
 * @param ptr (nullable): a GTypeInstance, or NULL
 * @return TRUE if @p ptr is a ::PyroStream; FALSE for NULL
 */
/**
 * @struct PyroStreamClass
 * The class structure of ::PyroStream: a GObjectClass with nothing added.
 */
/** @var GObjectClass PyroStreamClass::parent_class
 * The parent class. */

/**
 * Calls @p method, which must return an item stream.
 *
 * @param proxy the proxy; the stream keeps a reference to it
 * @param params (nullable): the arguments tuple; NULL means "()".  A
 *   floating reference is consumed; of a non-floating one the caller keeps
 *   its reference
 * @return (transfer full) (nullable): the stream, or NULL with @p error set
 *   (also when the method returned an ordinary value)
 */
PyroStream *pyro_proxy_call_stream_sync (PyroProxy     *proxy,
                                         const char    *method,
                                         GVariant      *params,
                                         GCancellable  *cancellable,
                                         GError       **error);

/**
 * Fetches the next item.
 *
 * @param item_type (nullable): the type you expect each item to have
 * @return (transfer full) (nullable): the item (never floating); NULL without @p error at the
 *   end of the stream; NULL with @p error when it failed (e.g. a stream the
 *   daemon no longer knows: "item stream terminated")
 */
GVariant *pyro_stream_next (PyroStream          *stream,
                            const GVariantType  *item_type,
                            GCancellable        *cancellable,
                            GError             **error);

/**
 * Abandons the stream: tells the daemon to free it (oneway, as Pyro4
 * does).  Done automatically when the last reference goes; safe to call
 * twice.
 */
void pyro_stream_close (PyroStream *stream);

/** @return (transfer none): the stream id the daemon gave, owned by @p stream */
const char *pyro_stream_get_id (PyroStream *stream);

G_END_DECLS
