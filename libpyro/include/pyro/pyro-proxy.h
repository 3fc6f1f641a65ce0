/* pyro-proxy.h: the client side, Pyro4's Proxy in C. */
#pragma once

#include <gio/gio.h>
#include <pyro/pyro-uri.h>

G_BEGIN_DECLS

/**
 * @file pyro-proxy.h
 * @brief ::PyroProxy: calls methods of a remote object.
 *
 * A proxy connects lazily, on its first call, and learns the object's
 * methods from the metadata the daemon sends (Pyro4's METADATA=True); a
 * method the object does not expose is then refused locally with
 * #PYRO_ERROR_UNKNOWN_METHOD, without a round trip.  Methods the object
 * declares oneway are sent oneway automatically.
 *
 * Calls follow the GDBus idiom: pyro_proxy_call_sync(), or
 * pyro_proxy_call() + pyro_proxy_call_finish() (a GTask in a worker
 * thread).  Arguments are a GVariant tuple; JSON carries it as a list.
 *
 * @code
 * g_autoptr(PyroProxy) proxy = pyro_proxy_new ("PYRO:obj_1@localhost:9999", &error);
 * g_autoptr(GVariant) answer = pyro_proxy_call_sync (proxy, "get_fortune",
 *                                                    g_variant_new ("(s)", "Alice"),
 *                                                    G_VARIANT_TYPE_STRING, NULL, &error);
 * @endcode
 *
 * A proxy is safe to use from several threads: calls on one proxy take
 * turns on its one connection, as in Pyro4.  After a communication error
 * the connection is closed and the next call opens a new one; a
 * connection the server closed while the proxy was idle is replaced
 * before the next call is sent.  (Only a server that closes the
 * connection within 50 microseconds of its last reply is not noticed in
 * time: that call fails with #PYRO_ERROR_CONNECTION_CLOSED, as in Pyro4,
 * and the next one reconnects.)
 */

/**
 * The GType of ::PyroProxy: the value of pyro_proxy_get_type().
 *
 * ::PyroProxy is declared with G_DECLARE_FINAL_TYPE(), which declares, as for
 * any final GObject type: ::PyroProxy, its class structure ::PyroProxyClass,
 * pyro_proxy_get_type(), the checked cast PYRO_PROXY(), the type test
 * PYRO_IS_PROXY(), and g_autoptr() support (g_object_unref() at the end of
 * the scope).  A final type cannot be subclassed.
 */
#define PYRO_TYPE_PROXY (pyro_proxy_get_type ())
/** A proxy for one remote object (a GObject); safe to share between threads. */
G_DECLARE_FINAL_TYPE (PyroProxy, pyro_proxy, PYRO, PROXY, GObject)
/**
 * @fn GType pyro_proxy_get_type (void)
 * Registers ::PyroProxy with the GType system on the first call.
 * @return the GType of ::PyroProxy, also available as #PYRO_TYPE_PROXY
 */
/**
 * @fn PyroProxy *PYRO_PROXY (gpointer ptr)
 * Casts @p ptr to ::PyroProxy, checked as by G_TYPE_CHECK_INSTANCE_CAST(): GLib
 * warns "invalid cast" if @p ptr is something else (unless
 * G_DISABLE_CAST_CHECKS is defined).
 * @param ptr (nullable): an instance of ::PyroProxy
 * @return (transfer none) (nullable): @p ptr
 */
/**
 * @fn gboolean PYRO_IS_PROXY (gpointer ptr)
 * Checks the type of an instance, as G_TYPE_CHECK_INSTANCE_TYPE() does.
 * @param ptr (nullable): a GTypeInstance, or NULL
 * @return TRUE if @p ptr is a ::PyroProxy; FALSE for NULL
 */
/**
 * @struct PyroProxyClass
 * The class structure of ::PyroProxy: a GObjectClass with nothing added.
 */
/** @var GObjectClass PyroProxyClass::parent_class
 * The parent class. */

/**
 * Creates a proxy for @p uri.  Nothing is sent until the first call.
 *
 * @param uri a URI string ("PYRO:...")
 * @param error return location for a #PYRO_ERROR_FAILED error on a bad URI
 * @return (transfer full) (nullable): the proxy
 */
PyroProxy *pyro_proxy_new (const char *uri, GError **error);

/**
 * Creates a proxy for a parsed URI.  Nothing is sent until the first call.
 *
 * @param uri (transfer none): the URI; the proxy takes its own reference
 * @return (transfer full): the proxy
 */
PyroProxy *pyro_proxy_new_for_uri (PyroUri *uri);

/** @return (transfer none): the URI the proxy was made for, owned by @p proxy */
PyroUri *pyro_proxy_get_uri (PyroProxy *proxy);

/**
 * Sets the time to wait for connecting and for each reply, in seconds
 * (Pyro4's COMMTIMEOUT).  0 (the default) waits forever.  A call that
 * times out fails with #PYRO_ERROR_TIMEOUT and closes the connection; the
 * next call reconnects.
 */
void pyro_proxy_set_timeout (PyroProxy *proxy, double seconds);

/** Limits the size of replies the proxy accepts (0: no limit). */
void pyro_proxy_set_max_message_size (PyroProxy *proxy, gsize max_size);

/**
 * Connects and does the handshake now instead of at the first call
 * (Pyro4's `_pyroBind()`).  Does nothing if already connected.
 */
gboolean pyro_proxy_connect (PyroProxy *proxy, GCancellable *cancellable, GError **error);

/** Closes the connection, if any (Pyro4's `_pyroRelease()`); the next call reconnects. */
void pyro_proxy_release (PyroProxy *proxy);

/**
 * The object's exposed method names, from the metadata of the last
 * handshake.
 *
 * @return (transfer full) (nullable): a NULL-terminated array (free with
 *   g_strfreev()), or NULL before the first connection
 */
char **pyro_proxy_get_methods (PyroProxy *proxy);

/** Flags for pyro_proxy_call_full_sync(). */
typedef enum
{
  PYRO_CALL_NONE = 0,        /**< as the metadata says */
  PYRO_CALL_ONEWAY = 1 << 0, /**< send oneway even if the method is not declared so */
} PyroCallFlags;

/**
 * Calls @p method and waits for its result.
 *
 * @param method the method name
 * @param params (nullable): the arguments, a tuple; NULL means "()".  A
 *   floating reference is consumed; of a non-floating one the caller keeps
 *   its reference (the call takes its own for its duration)
 * @param reply_type (nullable): the type you expect; the result is
 *   converted to it, or the call fails with #PYRO_ERROR_SERIALIZE naming
 *   both types.  NULL takes the natural mapping: int "x", float "d", str "s",
 *   bool "b", list "av", dict "a{sv}", None "mv".
 * @param cancellable (nullable): cancels the wait
 * @param error return location for the error or remote exception
 * @return (transfer full) (nullable): the result (never floating), or NULL
 *   with @p error set.  A oneway call returns an empty "mv".
 */
GVariant *pyro_proxy_call_sync (PyroProxy           *proxy,
                                const char          *method,
                                GVariant            *params,
                                const GVariantType  *reply_type,
                                GCancellable        *cancellable,
                                GError             **error);

/**
 * Like pyro_proxy_call_sync(), with keyword arguments and flags.
 *
 * @param method the method name
 * @param params (nullable): the arguments, a tuple; NULL means "()".  A
 *   floating reference is consumed; of a non-floating one the caller keeps
 *   its reference (the call takes its own for its duration)
 * @param kwargs (nullable): keyword arguments, an "a{sv}" dictionary (any
 *   "a{s*}" is accepted); floating or not, as for @p params
 * @param flags #PYRO_CALL_ONEWAY to send oneway
 * @param reply_type (nullable): the type you expect, as for pyro_proxy_call_sync()
 * @param cancellable (nullable): cancels the wait
 * @param error return location for the error or remote exception
 * @return (transfer full) (nullable): the result (never floating), or NULL
 *   with @p error set.  A oneway call returns an empty "mv"; free it with
 *   g_variant_unref() like any other result.
 */
GVariant *pyro_proxy_call_full_sync (PyroProxy           *proxy,
                                     const char          *method,
                                     GVariant            *params,
                                     GVariant            *kwargs,
                                     PyroCallFlags        flags,
                                     const GVariantType  *reply_type,
                                     GCancellable        *cancellable,
                                     GError             **error);

/**
 * Starts a call in a worker thread and returns at once; @p callback runs
 * in the thread-default GMainContext of the caller.  Several calls may be
 * outstanding on one proxy: they take turns on its connection.
 *
 * @param method the method name (copied)
 * @param params (nullable): the arguments, a tuple; NULL means "()".  A
 *   floating reference is consumed; of a non-floating one the caller keeps
 *   its reference (the call takes its own until it has finished)
 * @param reply_type (nullable): the type you expect, as for
 *   pyro_proxy_call_sync() (copied)
 * @param cancellable (nullable): cancels the wait
 * @param callback called with the result; get it with pyro_proxy_call_finish()
 * @param user_data passed to @p callback
 */
void pyro_proxy_call (PyroProxy           *proxy,
                      const char          *method,
                      GVariant            *params,
                      const GVariantType  *reply_type,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data);

/**
 * Finishes pyro_proxy_call().
 * @return (transfer full) (nullable): as pyro_proxy_call_sync()
 */
GVariant *pyro_proxy_call_finish (PyroProxy     *proxy,
                                  GAsyncResult  *result,
                                  GError       **error);

/**
 * Sends a oneway call: returns as soon as the request is written; the
 * daemon never answers, not even with an error.
 *
 * @param method the method name
 * @param params (nullable): the arguments, a tuple; NULL means "()".  A
 *   floating reference is consumed; of a non-floating one the caller keeps
 *   its reference (as for pyro_proxy_call_sync())
 * @param error return location for a local error (connecting, sending, a
 *   method the metadata does not list)
 * @return TRUE once the request is written, or FALSE with @p error set
 */
gboolean pyro_proxy_call_oneway (PyroProxy   *proxy,
                                 const char  *method,
                                 GVariant    *params,
                                 GError     **error);

/**
 * Reads an exposed attribute of the remote object (a Python `@property`),
 * as `proxy.name` does in Pyro4.  An attribute the metadata does not list
 * is refused locally with #PYRO_ERROR_UNKNOWN_METHOD.
 *
 * @param name the attribute name
 * @param type (nullable): the type you expect (as for pyro_proxy_call_sync())
 * @return (transfer full) (nullable): the value (never floating), or NULL
 *   with @p error set
 */
GVariant *pyro_proxy_get_attribute (PyroProxy          *proxy,
                                    const char         *name,
                                    const GVariantType *type,
                                    GCancellable       *cancellable,
                                    GError            **error);

/**
 * Writes an exposed attribute (`proxy.name = value` in Pyro4).
 *
 * @param value the new value; a floating reference is consumed, of a
 *   non-floating one the caller keeps its reference
 * @return TRUE, or FALSE with @p error set (read-only or unknown attribute:
 *   #PYRO_ERROR_UNKNOWN_METHOD)
 */
gboolean pyro_proxy_set_attribute (PyroProxy     *proxy,
                                   const char    *name,
                                   GVariant      *value,
                                   GCancellable  *cancellable,
                                   GError       **error);

/**
 * Sets the shared secret for HMAC message authentication (Pyro4's
 * `proxy._pyroHmacKey`); NULL turns it off.  The daemon must use the same
 * key, or the connection is refused ("message hmac mismatch" / "hmac key
 * config not symmetric").  Closes the current connection.
 *
 * @param key (nullable): the key, a NUL-terminated string; its bytes are
 *   copied, so it need not outlive the call.  An empty string turns
 *   HMAC off, as in Pyro4 (an empty key is no key).
 */
void pyro_proxy_set_hmac_key (PyroProxy *proxy, const char *key);

/**
 * Makes a proxy from a value a daemon sent or received: a Pyro4 proxy dict
 * (`{"__class__": "Pyro4.core.Proxy", "state": [uri, ...]}`, how Pyro4
 * passes callback objects and autoproxies), a URI dict, or a URI string.
 * The server side of a callback uses this on the argument it got.  The
 * HMAC key a proxy dict carries ("b64:..." in its state, as
 * pyro_daemon_proxy_for() puts it there) is set on the new proxy.
 *
 * @param value (transfer none): an "a{sv}" dict, a "s" string, or a "v"
 *   holding one; not consumed, even if floating
 * @return (transfer full) (nullable): the proxy, or NULL with a
 *   #PYRO_ERROR_INVALID_ARGS error saying what came instead
 */
PyroProxy *pyro_proxy_new_from_variant (GVariant *value, GError **error);

G_END_DECLS
