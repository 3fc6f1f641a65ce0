/* pyro-daemon.h: the server side, Pyro4's Daemon in C. */
#pragma once

#include <gio/gio.h>
#include <pyro/pyro-class.h>
#include <pyro/pyro-uri.h>

G_BEGIN_DECLS

/**
 * @file pyro-daemon.h
 * @brief ::PyroDaemon: serves registered objects to Pyro4 clients.
 *
 * A daemon listens on one TCP port, accepts connections in the
 * GMainContext that was the thread-default one when it was created (while
 * pyro_daemon_request_loop() runs, its worker threads accept them), and
 * serves each connection in a worker thread of a bounded pool (Pyro4's
 * threaded server: at most 40 connections at once by default; one more
 * is refused with "no free workers, increase server threadpool size").
 * Because of those threads an object registered with
 * pyro_daemon_register_object() or a #PYRO_INSTANCE_SINGLE class is called
 * concurrently: protect its state with a mutex.
 *
 * @code
 * g_autoptr(PyroDaemon) daemon = pyro_daemon_new (NULL, 0, &error);
 * g_autoptr(PyroUri) uri = pyro_daemon_register_class (daemon, &greeting_class, NULL, NULL, &error);
 * g_print ("Ready. Object uri = %s\n", pyro_uri_to_string (uri));
 * pyro_daemon_stop_on_unix_signals (daemon);
 * pyro_daemon_request_loop (daemon);
 * @endcode
 *
 * To run a daemon inside your own GMainContext (a client hosting callback
 * objects, say), create it while that context is the thread-default one
 * and simply do not call pyro_daemon_request_loop(): connections are
 * accepted whenever that context is iterated.
 */

/**
 * The GType of ::PyroDaemon: the value of pyro_daemon_get_type().
 *
 * ::PyroDaemon is declared with G_DECLARE_FINAL_TYPE(), which declares, as for
 * any final GObject type: ::PyroDaemon, its class structure ::PyroDaemonClass,
 * pyro_daemon_get_type(), the checked cast PYRO_DAEMON(), the type test
 * PYRO_IS_DAEMON(), and g_autoptr() support (g_object_unref() at the end of
 * the scope).  A final type cannot be subclassed.
 */
#define PYRO_TYPE_DAEMON (pyro_daemon_get_type ())
/** A Pyro4 daemon: serves registered objects to clients (a GObject). */
G_DECLARE_FINAL_TYPE (PyroDaemon, pyro_daemon, PYRO, DAEMON, GObject)
/**
 * @fn GType pyro_daemon_get_type (void)
 * Registers ::PyroDaemon with the GType system on the first call.
 * @return the GType of ::PyroDaemon, also available as #PYRO_TYPE_DAEMON
 */
/**
 * @fn PyroDaemon *PYRO_DAEMON (gpointer ptr)
 * Casts @p ptr to ::PyroDaemon, checked as by G_TYPE_CHECK_INSTANCE_CAST(): GLib
 * warns "invalid cast" if @p ptr is something else (unless
 * G_DISABLE_CAST_CHECKS is defined).
 * @param ptr (nullable): an instance of ::PyroDaemon
 * @return (transfer none) (nullable): @p ptr
 */
/**
 * @fn gboolean PYRO_IS_DAEMON (gpointer ptr)
 * Checks the type of an instance, as G_TYPE_CHECK_INSTANCE_TYPE() does.
 * @param ptr (nullable): a GTypeInstance, or NULL
 * @return TRUE if @p ptr is a ::PyroDaemon; FALSE for NULL
 */
/**
 * @struct PyroDaemonClass
 * The class structure of ::PyroDaemon: a GObjectClass with nothing added.
 */
/** @var GObjectClass PyroDaemonClass::parent_class
 * The parent class. */

/** The object id under which every daemon serves its own `Pyro.Daemon` object. */
#define PYRO_DAEMON_OBJECT_ID "Pyro.Daemon"

/** Pyro4's THREADPOOL_SIZE: how many connections a daemon serves at once by default. */
#define PYRO_DAEMON_DEFAULT_POOL_SIZE 40

/**
 * Creates a daemon listening on @p host:@p port.
 *
 * @param host (nullable): address or name to bind (copied); NULL means
 *   "localhost" as in Pyro4
 * @param port TCP port; 0 picks a free one
 * @param error return location for a #PYRO_ERROR_COMMUNICATION error
 * @return (transfer full) (nullable): the daemon, or NULL with @p error set
 */
PyroDaemon *pyro_daemon_new (const char *host, guint16 port, GError **error);

/**
 * Registers one object that serves every client (Pyro4's `register(obj)`).
 *
 * @param klass (transfer none): the class table; not copied, so it (with
 *   its method and attribute tables and their strings) must outlive the
 *   daemon: in practice a static table
 * @param instance (transfer none): your object, passed to every method;
 *   never freed by the daemon.  It must stay valid until the daemon is
 *   finalized: a call already running when it is unregistered still uses it.
 * @param object_id (nullable): the id (copied); NULL makes a new one,
 *   "obj_" and 32 hex digits (a random UUID, as in Pyro4)
 * @param error return location for a #PYRO_ERROR_DAEMON error (id taken,
 *   or a malformed class table)
 * @return (transfer full) (nullable): the object's URI, or NULL with
 *   @p error set
 */
PyroUri *pyro_daemon_register_object (PyroDaemon       *daemon,
                                      const PyroClass  *klass,
                                      gpointer          instance,
                                      const char       *object_id,
                                      GError          **error);

/**
 * Registers a class (Pyro4's `register(Class)`): instances are made by
 * klass->instance_new(@p class_data) according to klass->instance_mode, and
 * freed with klass->instance_free (session: when the connection closes;
 * percall: after the call; single: once it is unregistered and the calls
 * running on it have returned, or with the daemon).
 *
 * @param klass (transfer none): the class table; not copied, so it (with
 *   its method and attribute tables and their strings) must outlive the
 *   daemon: in practice a static table (session instances use it until
 *   their connections close, even after pyro_daemon_unregister())
 * @param class_data (nullable): passed to instance_new (with instance_new
 *   NULL it is the instance itself); never freed by the daemon, and it
 *   must stay valid as long as @p klass
 * @param object_id (nullable): the id (copied); NULL makes a new one,
 *   "obj_" and 32 hex digits (a random UUID, as in Pyro4)
 * @param error return location for a #PYRO_ERROR_DAEMON error (id taken,
 *   or a malformed class table)
 * @return (transfer full) (nullable): the object's URI, or NULL with
 *   @p error set
 */
PyroUri *pyro_daemon_register_class (PyroDaemon       *daemon,
                                     const PyroClass  *klass,
                                     gpointer          class_data,
                                     const char       *object_id,
                                     GError          **error);

/**
 * Removes a registration; calls already running on it go on to the end
 * (see pyro_daemon_register_class() for when instances are freed).  The
 * daemon's own object (#PYRO_DAEMON_OBJECT_ID) is never removed.
 *
 * @return TRUE if @p object_id was registered and is now removed
 */
gboolean pyro_daemon_unregister (PyroDaemon *daemon, const char *object_id);

/**
 * The URI clients use for @p object_id on this daemon (registered or not).
 * @return (transfer full): the URI
 */
PyroUri *pyro_daemon_uri_for (PyroDaemon *daemon, const char *object_id);

/** @return (transfer none): the host in the daemon's URIs, owned by @p daemon */
const char *pyro_daemon_get_host (PyroDaemon *daemon);
/** @return the TCP port the daemon listens on */
guint16 pyro_daemon_get_port (PyroDaemon *daemon);

/**
 * Limits the size (annotations + body) of a request the daemon accepts;
 * a larger one closes the connection without reading it, as Pyro4's
 * MAX_MESSAGE_SIZE.  0 (the default) means no limit beyond the protocol's.
 */
void pyro_daemon_set_max_message_size (PyroDaemon *daemon, gsize max_size);

/**
 * How long a client may keep the daemon waiting, as Pyro4's COMMTIMEOUT
 * does for a daemon: a connection that sends nothing for @p seconds (in
 * the middle of a message or between requests), or does not take its
 * reply, is closed, and its worker serves others.  Without it (0, the
 * default, as in Pyro4) a stalled client holds a worker until it goes
 * away, and a pool's worth of them keeps every other client out.  For
 * connections accepted after the call; GSocket counts whole seconds, so a
 * fraction rounds up.
 */
void pyro_daemon_set_timeout (PyroDaemon *daemon, double seconds);

/**
 * Whether a oneway call runs in a thread of its own (TRUE, as Pyro4's
 * ONEWAY_THREADED, its default) or in the connection's thread (FALSE, the
 * default here).
 *
 * By default a connection's requests run one after the other, in the
 * order they came, oneway calls too: the methods of a session instance,
 * or callbacks of one client (a stock viewer's quote()), never run at the
 * same time, so C code needs no locks for them; but a oneway method that
 * runs long holds up the calls after it on that connection.
 *
 * Threaded, as in Pyro4, the connection reads its next request at once: a
 * oneway "start the work" method does not hold up the client's next
 * calls, and oneway calls may run at the same time as each other and as
 * the calls after them, in any order, so the methods must guard what
 * they share.  At most as many oneway calls run at once as the daemon
 * serves connections (pyro_daemon_set_pool_size()); more wait their turn.
 * A running oneway call keeps the daemon (and the instance it runs on)
 * alive; pyro_daemon_shutdown() does not wait for it.  A oneway batch
 * always runs in the connection's thread, as in Pyro4.
 */
void pyro_daemon_set_oneway_threaded (PyroDaemon *daemon, gboolean threaded);

/** How many connections are served at once (default #PYRO_DAEMON_DEFAULT_POOL_SIZE). */
void pyro_daemon_set_pool_size (PyroDaemon *daemon, guint pool_size);

/**
 * Sets Pyro4's ITER_STREAM_LINGER and ITER_STREAM_LIFETIME: how long an
 * item stream survives after the connection that opened it closed
 * (default 30 s), and how long any stream may live at all (default 0:
 * forever).  Expired streams are freed; asking one for an item then gives
 * "item stream terminated".
 */
void pyro_daemon_set_stream_limits (PyroDaemon *daemon, double linger_seconds, double lifetime_seconds);

/**
 * Sets the shared secret for HMAC message authentication (Pyro4's
 * `daemon._pyroHmacKey`); NULL turns it off.  Clients without the key, or
 * with another one, are refused at the handshake and nothing runs for them.
 * Set it before clients connect.  The proxy dicts of
 * pyro_daemon_proxy_for() carry the key (base64, as Pyro4's do), so a
 * receiving proxy uses it too.
 *
 * @code
 * pyro_daemon_set_hmac_key (daemon, "course secret");   // server
 * pyro_proxy_set_hmac_key (proxy, "course secret");     // client (C)
 * // client (Python): proxy._pyroHmacKey = b"course secret"
 * @endcode
 *
 * @param key (nullable): the key, a NUL-terminated string; its bytes are
 *   copied, so it need not outlive the call.  An empty string turns
 *   HMAC off, as in Pyro4 (an empty key is no key).
 */
void pyro_daemon_set_hmac_key (PyroDaemon *daemon, const char *key);

/**
 * The value to send when a remote caller should receive a proxy to one of
 * this daemon's objects instead of a value: Pyro4's proxy dict
 * `{"__class__": "Pyro4.core.Proxy", "state": [uri, oneway, methods, attrs, ...]}`,
 * which a Python peer turns into a live proxy and a C peer into a
 * ::PyroProxy with pyro_proxy_new_from_variant().  Return it from a method
 * (Pyro4's autoproxy), or pass it as an argument to hand a callback object
 * to a server.
 *
 * A callback, as in Pyro4's stock-market example: the client hosts a
 * small daemon of its own, registers its callback object there and passes
 * it along; the server turns the argument back into a proxy and calls it.
 *
 * @code
 * // client: its own daemon, in a context of its own, served by its own thread
 * GMainContext *context = g_main_context_new ();
 * g_main_context_push_thread_default (context);
 * PyroDaemon *mine = pyro_daemon_new (NULL, 0, &error);
 * g_main_context_pop_thread_default (context);
 * g_autoptr(PyroUri) uri = pyro_daemon_register_object (mine, &viewer_class, viewer, NULL, &error);
 * g_thread_new ("callbacks", (GThreadFunc) pyro_daemon_request_loop, mine);
 * pyro_proxy_call_sync (aggregator, "view",
 *                       g_variant_new ("(@a{sv}as)",
 *                                      pyro_daemon_proxy_for (mine, pyro_uri_get_object (uri), NULL),
 *                                      symbols),
 *                       NULL, NULL, &error);
 *
 * // server: the method "view" is declared "(a{sv}as)"
 * g_autoptr(GVariant) dict = g_variant_get_child_value (args, 0);
 * g_autoptr(PyroProxy) viewer = pyro_proxy_new_from_variant (dict, error);
 * pyro_proxy_call_sync (viewer, "quote", g_variant_new ("(ssd)", market, symbol, price), NULL, NULL, error);
 * @endcode
 *
 * **Avoiding the deadlock.**  A daemon accepts connections only while the
 * GMainContext it was created in is being iterated.  If the thread that
 * iterates that context makes a synchronous call, and the server calls
 * back into this daemon before answering, the callback's connection is
 * never accepted and the call can only time out.  So either serve the
 * callback daemon from its own thread with pyro_daemon_request_loop() (as
 * above), or make the outer call with pyro_proxy_call() and keep iterating
 * the context until its callback runs, or make the outer call oneway.
 * (Callbacks themselves run in the daemon's worker threads, so they may
 * take locks; just not one the calling thread holds during the call.)
 *
 * @param object_id a registered object id
 * @param error return location for a #PYRO_ERROR_DAEMON error if it is not registered
 * @return (transfer floating) (nullable): an "a{sv}" value
 */
GVariant *pyro_daemon_proxy_for (PyroDaemon *daemon, const char *object_id, GError **error);

/**
 * Serves requests until pyro_daemon_shutdown(); Pyro4's `requestLoop()`.
 * Runs a GMainLoop on the daemon's GMainContext.  While it runs, new
 * connections are accepted by the worker pool itself instead of by that
 * context: the thread that accepts a client serves it and then waits for
 * the next, which saves a thread hand-over per connection.  While that
 * thread serves, a newcomer waits for it at most a millisecond (on Linux;
 * elsewhere not at all): then the daemon's context gives the accepting to
 * another pool thread.  So a method may take as long as it likes, and may
 * itself call this same daemon.
 */
void pyro_daemon_request_loop (PyroDaemon *daemon);

/**
 * Stops the daemon: closes the listening socket and every client
 * connection, waits for running calls to finish, and makes
 * pyro_daemon_request_loop() return.  Safe to call from any thread, and
 * more than once.
 */
void pyro_daemon_shutdown (PyroDaemon *daemon);

/**
 * Shuts @p daemon down when the process receives SIGINT or SIGTERM (through
 * g_unix_signal_add() in the daemon's context), so Ctrl-C ends
 * pyro_daemon_request_loop() cleanly.
 */
void pyro_daemon_stop_on_unix_signals (PyroDaemon *daemon);

G_END_DECLS
