/* pyro-class.h: how a C "class" is described to the daemon.
 *
 * A remote class is a static table of methods (and exposed attributes),
 * in the style of GDBus interface tables: the daemon checks every call
 * against the table before the method runs, and the same table is the
 * metadata the daemon sends to clients when they connect.
 */
#pragma once

#include <glib.h>
#include <pyro/pyro-uri.h>

G_BEGIN_DECLS

/**
 * @file pyro-class.h
 * @brief ::PyroClass, ::PyroMethod, ::PyroAttribute and ::PyroInvocation.
 *
 * Example, the greeting object of the course notes:
 *
 * @code
 * static GVariant *
 * get_fortune (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
 * {
 *   const char *name;
 *   g_variant_get (args, "(&s)", &name);
 *   return g_variant_new_take_string (g_strdup_printf ("Hello, %s.", name));
 * }
 *
 * static const PyroMethod greeting_methods[] = {
 *   { "get_fortune", "(s)", "s", get_fortune, 0, "name" },
 *   { NULL }
 * };
 *
 * static const PyroClass greeting_class = {
 *   .name = "GreetingMaker",
 *   .methods = greeting_methods,
 * };
 * @endcode
 *
 * Values travel as JSON; the table of libpyro/docs/mapping.md says which
 * GVariant type becomes which JSON and Python value.
 */

/** The context of one remote call, handed to every method. Owned by the daemon. */
typedef struct _PyroInvocation PyroInvocation;
/** Forward declaration; see pyro-daemon.h. */
typedef struct _PyroDaemon PyroDaemon;

/**
 * The C function behind a remote method.
 *
 * @param instance the object the call is for (your instance pointer)
 * @param args (transfer none): the arguments, a tuple of the method's
 *   in_signature, already checked by the daemon
 * @param invocation (transfer none): the call's context
 * @param error return location for the exception to send back; use
 *   #PYRO_ERROR with e.g. #PYRO_ERROR_VALUE to raise `ValueError`
 * @return (transfer full) (nullable): the result, of the method's
 *   out_signature (a floating reference is fine), or NULL: NULL with
 *   @p error set raises the error remotely, NULL without it returns `None`
 */
typedef GVariant *(*PyroMethodFunc) (gpointer         instance,
                                     GVariant        *args,
                                     PyroInvocation  *invocation,
                                     GError         **error);

/** Flags of a ::PyroMethod. */
typedef enum
{
  PYRO_METHOD_NONE = 0,        /**< an ordinary method */
  PYRO_METHOD_ONEWAY = 1 << 0, /**< a oneway method: clients never wait for it */
  /** The method returns an item stream (Pyro4's remote iterator or
   * generator) by calling pyro_invocation_return_stream(); its
   * out_signature is the type of each item. */
  PYRO_METHOD_STREAM = 1 << 1,
} PyroMethodFlags;

/**
 * One method in a class table.  Tables end with an entry whose @p name is NULL.
 */
typedef struct
{
  const char *name;          /**< the method name as clients call it */
  const char *in_signature;  /**< the argument tuple, e.g. "(si)"; NULL means "()" */
  const char *out_signature; /**< the result type, e.g. "s"; NULL means it returns None */
  PyroMethodFunc func;       /**< the implementation */
  PyroMethodFlags flags;     /**< 0 (#PYRO_METHOD_NONE), #PYRO_METHOD_ONEWAY or #PYRO_METHOD_STREAM */
  /** Comma-separated argument names, e.g. "name,item": used for keyword
   * arguments and error messages.  Arguments of a maybe type ("ms") at the
   * end of the tuple are optional and default to `None`. */
  const char *arg_names;
} PyroMethod;

/**
 * Reads an exposed attribute (a Python property).
 * @return (transfer full) (nullable): the value, of the attribute's
 *   signature (a floating reference is fine), or NULL: NULL with @p error
 *   set raises the error remotely, NULL without it returns `None`
 */
typedef GVariant *(*PyroGetterFunc) (gpointer         instance,
                                     PyroInvocation  *invocation,
                                     GError         **error);
/**
 * Writes an exposed attribute.
 * @param value (transfer none): the new value, already checked against the signature
 * @return TRUE, or FALSE with @p error set
 */
typedef gboolean (*PyroSetterFunc) (gpointer         instance,
                                    GVariant        *value,
                                    PyroInvocation  *invocation,
                                    GError         **error);

/**
 * An exposed attribute (a Python property).  Tables end with an entry
 * whose @p name is NULL.  A Python client reads it as `market.name`; a C
 * client with pyro_proxy_get_attribute().
 *
 * @code
 * static GVariant *
 * get_name (gpointer self, PyroInvocation *invocation, GError **error)
 * {
 *   Market *market = self;
 *   return g_variant_new_string (market->name);
 * }
 *
 * static const PyroAttribute market_attributes[] = {
 *   { "name", "s", get_name, NULL },          // read-only, like a @property without setter
 *   { NULL }
 * };
 * @endcode
 */
typedef struct
{
  const char *name;      /**< the attribute name */
  const char *signature; /**< its type, e.g. "s" */
  PyroGetterFunc get;    /**< reads it (required) */
  PyroSetterFunc set;    /**< writes it, or NULL for a read-only attribute */
} PyroAttribute;

/** How instances are made when a class (not an object) is registered; Pyro4's `instance_mode`. */
typedef enum
{
  PYRO_INSTANCE_SESSION, /**< one instance per client connection (Pyro4's default) */
  PYRO_INSTANCE_SINGLE,  /**< one instance for the whole daemon, made on first use */
  PYRO_INSTANCE_PERCALL, /**< a new instance for every call */
} PyroInstanceMode;

/** A remote class: its name, its tables and how to make its instances. */
typedef struct
{
  const char *name;                 /**< shown in errors and tracebacks, e.g. "GreetingMaker" */
  const PyroMethod *methods;        /**< the method table (may be NULL) */
  const PyroAttribute *attributes;  /**< the attribute table (may be NULL) */
  PyroInstanceMode instance_mode;   /**< used by pyro_daemon_register_class() */
  /** Makes an instance for pyro_daemon_register_class(); receives the
   * class_data given at registration.  NULL: every "instance" is the
   * class_data itself (nothing is made or freed). */
  gpointer (*instance_new) (gpointer class_data);
  /** Frees an instance made by @p instance_new (may be NULL). */
  GDestroyNotify instance_free;
} PyroClass;

/**
 * Produces the next item of an item stream.
 *
 * @param state the state given to pyro_invocation_return_stream()
 * @param error return location for an error that ends the stream
 * @return (transfer full) (nullable): the next item (floating is fine),
 *   or NULL: NULL without @p error set ends the stream normally
 *   (the client sees StopIteration)
 */
typedef GVariant *(*PyroStreamNextFunc) (gpointer state, GError **error);

/**
 * Makes the current call return an item stream instead of a value, as a
 * Python method returning a generator does in Pyro4.  Only for methods
 * flagged #PYRO_METHOD_STREAM; the method then returns NULL.
 *
 * The client pulls items one by one (`Pyro.Daemon.get_next_stream_item`).
 * The daemon frees @p state with @p free_state when the stream ends, is
 * closed by the client, or was abandoned: a stream whose connection
 * closed lingers (30 s by default, any connection may continue it) and is
 * then freed; see pyro_daemon_set_stream_limits().  @p next runs in the
 * worker thread of whichever connection asks, one call at a time.  As a
 * Python generator keeps its object alive, the stream keeps the instance
 * its method ran on (a per-call instance, a session's, the single one)
 * until the stream is freed, so @p state may be the instance itself.
 *
 * @code
 * static GVariant *
 * next_quote (gpointer state, GError **error)
 * {
 *   Market *market = state;
 *   return g_variant_new ("(sd)", market_random_symbol (market), market_random_price (market));
 * }
 *
 * static GVariant *
 * quotes (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
 * {
 *   pyro_invocation_return_stream (invocation, next_quote, self, NULL);
 *   return NULL;
 * }
 * @endcode
 *
 * @param invocation the call
 * @param next produces each item
 * @param state (transfer full): handed to @p next; the daemon owns it from
 *   now on
 * @param free_state (nullable): frees @p state; NULL if nothing needs freeing
 */
void pyro_invocation_return_stream (PyroInvocation     *invocation,
                                    PyroStreamNextFunc  next,
                                    gpointer            state,
                                    GDestroyNotify      free_state);

/** @return (transfer none): the daemon serving the call */
PyroDaemon *pyro_invocation_get_daemon (PyroInvocation *invocation);
/** @return (transfer none): the object id the call is for, valid during the call */
const char *pyro_invocation_get_object_id (PyroInvocation *invocation);
/** @return (transfer none): the method name (for attributes: the attribute
 * name), valid during the call */
const char *pyro_invocation_get_method_name (PyroInvocation *invocation);
/** @return TRUE if the client sent this call as oneway (no reply) */
gboolean pyro_invocation_is_oneway (PyroInvocation *invocation);

G_END_DECLS
