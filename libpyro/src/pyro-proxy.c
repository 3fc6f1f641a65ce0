/* pyro-proxy.c: the client side, one connection to one remote object.
 *
 * A call is: connect if needed (CONNECT, CONNECTOK with metadata), check
 * the method against the metadata, send INVOKE with the next sequence
 * number, read the RESULT and turn it into a GVariant or a GError.  One
 * mutex makes calls from several threads take turns, as Pyro4's proxy
 * does; async calls are the same sync call run in a GTask thread.
 */
#include "pyro-channel-private.h"
#include "pyro-error-private.h"
#include "pyro-json-private.h"
#include "pyro-log-private.h"
#include "pyro-message-private.h"
#include "pyro-metadata-private.h"
#include "pyro-naming-private.h"
#include "pyro-proxy-private.h"
#include "pyro-type-cache-private.h"
#include "pyro-wire-private.h"

#include <pyro/pyro-proxy.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

struct _PyroProxy
{
  GObject            parent_instance;

  PyroUri           *uri;
  double             timeout;          /* seconds; 0 = wait forever */
  gsize              max_message_size;

  GMutex             lock;             /* one call at a time; guards all below */
  GSocket           *socket;           /* NULL when not connected */
  PyroChannel       *channel;          /* messages over @socket */
  char              *object_id;        /* the object id on the connected daemon */
  guint16            seq;
  PyroMetadata       meta;             /* the object's names; empty before connecting */
  gint64             last_reply_at;    /* monotonic time of the last reply read */
  GBytes            *hmac_key;         /* NULL: no HMAC */
};

G_DEFINE_TYPE (PyroProxy, pyro_proxy, G_TYPE_OBJECT)

/* ---- connection ----------------------------------------------------------- */

static void
disconnect_locked (PyroProxy *proxy)
{
  if (proxy->socket == NULL)
    return;
  g_clear_pointer (&proxy->channel, pyro_channel_free);
  g_socket_close (proxy->socket, NULL);
  g_clear_object (&proxy->socket);
}

/* A connection that brought a reply this recently is taken to be open
 * without asking the kernel (see connection_is_stale()). */
#define FRESH_USEC 50

/* An idle connection is never readable: if it is, the daemon has closed it
 * (or sent garbage), so replace it before sending anything.  Asking costs
 * a system call, on this kind of machine a tenth of a whole small call; a
 * loop of calls would pay it every time for a daemon that answered
 * microseconds ago.  So a connection that brought a reply less than
 * FRESH_USEC ago is not asked: if its daemon closed it in that instant,
 * the call fails with PYRO_ERROR_CONNECTION_CLOSED, as every call on a
 * closed connection does in Pyro4, and the next one reconnects. */
static gboolean
connection_is_stale (PyroProxy *proxy)
{
  if (pyro_channel_get_buffered (proxy->channel) > 0)
    return TRUE;
  if (g_get_monotonic_time () - proxy->last_reply_at < FRESH_USEC)
    return FALSE;
  return (g_socket_condition_check (proxy->socket, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0);
}

/* The text of a CONNECTFAIL: marshal before the daemon took our
 * serializer, JSON after. */
static char *
connect_fail_reason (PyroMessage *msg)
{
  if (msg->serializer_id == PYRO_SERIALIZER_MARSHAL)
    {
      char *text = pyro_marshal_parse_string (msg->body, NULL);
      if (text != NULL)
        return text;
    }
  gsize len;
  const char *data = g_bytes_get_data (msg->body, &len);
  g_autoptr(JsonNode) node = pyro_json_parse (data, len, NULL);
  if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  return g_strndup (data, MIN (len, 200));
}

static gboolean
read_reply (PyroProxy *proxy, guint16 expected_type, GCancellable *cancellable,
            PyroMessage **reply, GError **error);

static gboolean
handshake_locked (PyroProxy *proxy, GCancellable *cancellable, GError **error)
{
  GString *body = g_string_new ("{\"handshake\": \"hello\", \"object\": ");
  pyro_json_write_string (body, proxy->object_id);
  g_string_append_c (body, '}');
  gsize len = body->len;
  g_autoptr(PyroMessage) connect = pyro_message_new_take (PYRO_MSG_CONNECT, PYRO_FLAG_META_ON_CONNECT,
                                                          proxy->seq, PYRO_SERIALIZER_JSON,
                                                          g_string_free (body, FALSE), len);
  if (!pyro_channel_write (proxy->channel, connect, proxy->hmac_key, cancellable, error))
    return FALSE;

  g_autoptr(PyroMessage) reply = NULL;
  if (!read_reply (proxy, 0, cancellable, &reply, error))
    return FALSE;

  if (reply->type == PYRO_MSG_CONNECTFAIL)
    {
      g_autofree char *reason = connect_fail_reason (reply);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION, "connection to %s:%u rejected: %s",
                   pyro_uri_get_host (proxy->uri), pyro_uri_get_port (proxy->uri), reason);
      return FALSE;
    }
  if (reply->type != PYRO_MSG_CONNECTOK)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "connect: invalid msg type %u received (expected CONNECTOK or CONNECTFAIL)", reply->type);
      return FALSE;
    }

  gsize size;
  const char *data = g_bytes_get_data (reply->body, &size);
  /* The CONNECTOK is a reply like any other: a call right after it need
   * not ask whether the daemon closed the connection (connection_is_stale()). */
  proxy->last_reply_at = g_get_monotonic_time ();
  return pyro_metadata_read (&proxy->meta, data, size, error);
}

/* Resolves PYRONAME:/PYROMETA: URIs through the name server, every time we
 * connect, so a proxy follows an object that moved (as Pyro4 does). */
static PyroUri *
target_uri (PyroProxy *proxy, GCancellable *cancellable, GError **error)
{
  if (pyro_uri_get_protocol (proxy->uri) == PYRO_URI_PYRO)
    return pyro_uri_ref (proxy->uri);
  return pyro_naming_resolve (proxy->uri, proxy->hmac_key, proxy->timeout, cancellable, error);
}

/* Where @target's daemon may be: its Unix socket, its IP address as the
 * URI gives it, or every address its host name resolves to, to be tried
 * in turn.  (transfer full): a list of GSocketAddress. */
static GList *
daemon_addresses (PyroUri *target, GCancellable *cancellable, GError **error)
{
  const char *path = pyro_uri_get_socket_path (target);
  const char *host = pyro_uri_get_host (target);
  guint16 port = pyro_uri_get_port (target);

  if (path != NULL)
    return g_list_append (NULL, g_unix_socket_address_new (path));
  GSocketAddress *literal = g_inet_socket_address_new_from_string (host, port);
  if (literal != NULL)
    return g_list_append (NULL, literal);

  GResolver *resolver = g_resolver_get_default ();
  GList *hosts = g_resolver_lookup_by_name (resolver, host, cancellable, error);
  g_object_unref (resolver);
  GList *addresses = NULL;
  for (GList *h = hosts; h != NULL; h = h->next)
    addresses = g_list_prepend (addresses, g_inet_socket_address_new (h->data, port));
  g_resolver_free_addresses (hosts);
  return g_list_reverse (addresses);
}

/* A blocking socket connected to @address, or NULL. */
static GSocket *
connect_to (GSocketAddress *address, guint timeout, GCancellable *cancellable, GError **error)
{
  GSocketFamily family = g_socket_address_get_family (address);
  GSocket *socket = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_timeout (socket, timeout);
  if (!g_socket_connect (socket, address, cancellable, error))
    {
      g_object_unref (socket);
      return NULL;
    }
  /* Each message goes out in one send; without TCP_NODELAY, Nagle's
   * algorithm and delayed ACKs would add tens of milliseconds per call. */
  if (family != G_SOCKET_FAMILY_UNIX)
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  return socket;
}

/* Connects to @target's daemon, trying its addresses in turn.  (We use
 * GSocket directly rather than GSocketClient: for an address that is
 * already known, as in most Pyro URIs, GSocketClient's resolver and
 * enumerator objects were a third of a connect's work.  Pyro4, like us,
 * never goes through the HTTP or SOCKS proxies GIO might find.) */
/* GSocket's timeout for the proxy's: whole seconds, rounded up (0: none).
 * It bounds connecting, sending and each read; the wait for a reply's
 * first bytes is bounded more finely (read_reply()). */
static guint
socket_timeout (PyroProxy *proxy)
{
  return proxy->timeout > 0 ? (guint) ceil (proxy->timeout) : 0;
}

static GSocket *
open_socket (PyroProxy *proxy, PyroUri *target, GCancellable *cancellable, GError **error)
{
  guint timeout = socket_timeout (proxy);
  g_autoptr(GError) local = NULL;
  GSocket *socket = NULL;

  GList *addresses = daemon_addresses (target, cancellable, &local);
  for (GList *a = addresses; a != NULL && socket == NULL; a = a->next)
    {
      g_clear_error (&local);
      socket = connect_to (a->data, timeout, cancellable, &local);
    }
  g_list_free_full (addresses, g_object_unref);

  if (socket == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION, "cannot connect to %s: %s",
                     pyro_uri_to_string (target), local ? local->message : "the host has no address");
    }
  return socket;
}

static gboolean
connect_locked (PyroProxy *proxy, GCancellable *cancellable, GError **error)
{
  if (proxy->socket != NULL && !connection_is_stale (proxy))
    return TRUE;
  if (proxy->socket != NULL)
    g_debug ("%s: connection closed by the daemon, reconnecting", pyro_uri_to_string (proxy->uri));
  disconnect_locked (proxy);

  g_autoptr(PyroUri) target = target_uri (proxy, cancellable, error);
  if (target == NULL)
    return FALSE;

  proxy->socket = open_socket (proxy, target, cancellable, error);
  if (proxy->socket == NULL)
    return FALSE;
  proxy->channel = pyro_channel_new (proxy->socket);
  g_free (proxy->object_id);
  proxy->object_id = g_strdup (pyro_uri_get_object (target));

  if (!handshake_locked (proxy, cancellable, error))
    {
      disconnect_locked (proxy);
      return FALSE;
    }
  if (pyro_debug_enabled ())
    g_debug ("connected to %s", pyro_uri_to_string (target));
  return TRUE;
}

/* ---- one message exchange --------------------------------------------------- */

/* Reads the daemon's next message, waiting at most the proxy's timeout
 * for it to start arriving.  (GSocket's own timeout, for the rest of it,
 * counts whole seconds; Pyro4's are fractions.) */
static gboolean
read_reply (PyroProxy *proxy, guint16 expected_type, GCancellable *cancellable,
            PyroMessage **reply, GError **error)
{
  gint64 timeout = proxy->timeout > 0 ? (gint64) (proxy->timeout * G_USEC_PER_SEC) : -1;
  g_autoptr(GError) local = NULL;

  *reply = pyro_channel_read (proxy->channel, proxy->max_message_size, proxy->hmac_key, timeout,
                              cancellable, &local);
  if (*reply == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_set_error (error, PYRO_ERROR, PYRO_ERROR_TIMEOUT, "receiving: timeout (no reply within %.3g s)",
                     proxy->timeout);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (expected_type != 0 && (*reply)->type != expected_type)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL, "invalid msg type %u received (expected %u)",
                   (*reply)->type, expected_type);
      return FALSE;
    }
  return TRUE;
}

/* One request as the proxy sends it.  The public calls, attribute access,
 * item streams and batches all go through proxy_request_run(). */
typedef struct
{
  const char         *object_id;      /* NULL: the proxy's object */
  const char         *method;
  GVariant           *params;         /* written as the JSON params list; NULL: [] */
  const char         *params_json;    /* or the list already written as JSON text */
  const GError       *params_error;   /* or why it could not be written */
  GVariant           *kwargs;         /* NULL: {} (or null, see below) */
  gboolean            kwargs_null;    /* Pyro4 sends null for attributes and batches */
  guint16             flags;          /* PYRO_FLAG_ONEWAY, PYRO_FLAG_BATCH */
  gboolean            check_metadata; /* refuse names the object does not expose */
  const GVariantType *reply_type;
  char               *stream_id;      /* out: set when the reply starts an item stream */
} ProxyRequest;

static char *
build_invoke_body (PyroProxy *proxy, ProxyRequest *req, gsize *len, GError **error)
{
  GString *body = g_string_sized_new (128);
  g_string_append (body, "{\"object\": ");
  pyro_json_write_string (body, req->object_id ? req->object_id : proxy->object_id);
  g_string_append (body, ", \"method\": ");
  pyro_json_write_string (body, req->method);
  g_string_append (body, ", \"params\": ");
  if (req->params_error != NULL)
    {
      g_propagate_error (error, g_error_copy (req->params_error));
      g_prefix_error (error, "%s(): cannot send the arguments: ", req->method);
      g_string_free (body, TRUE);
      return NULL;
    }
  else if (req->params_json != NULL)
    g_string_append (body, req->params_json);
  else if (req->params == NULL)
    g_string_append (body, "[]");
  else if (!pyro_json_write_params (body, req->params, error))
    {
      g_prefix_error (error, "%s(): cannot send the arguments: ", req->method);
      g_string_free (body, TRUE);
      return NULL;
    }
  g_string_append (body, ", \"kwargs\": ");
  if (req->kwargs_null)
    g_string_append (body, "null");
  else if (req->kwargs == NULL)
    g_string_append (body, "{}");
  else if (!pyro_json_write_variant (body, req->kwargs, error))
    {
      g_prefix_error (error, "%s(): cannot send the keyword arguments: ", req->method);
      g_string_free (body, TRUE);
      return NULL;
    }
  g_string_append_c (body, '}');
  *len = body->len;
  return g_string_free (body, FALSE);
}

/* Turns a RESULT into the caller's value: a GVariant of the wanted type,
 * or the remote exception as a GError. */
static GVariant *
decode_result (PyroMessage *reply, ProxyRequest *req, GError **error)
{
  const char *method = req->method;
  const GVariantType *reply_type = req->reply_type;

  if ((reply->flags & PYRO_FLAG_ITEMSTREAMRESULT) && req->stream_id == NULL)
    {
      GBytes *id = pyro_message_get_annotation (reply, "STRM");
      if (id == NULL)
        {
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                       "result of call is an iterator, but the server is not configured to allow streaming");
          return NULL;
        }
      gsize id_len;
      const char *id_data = g_bytes_get_data (id, &id_len);
      req->stream_id = g_strndup (id_data, id_len);
      return g_variant_ref_sink (g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL));
    }

  gsize len;
  const char *data = g_bytes_get_data (reply->body, &len);

  /* Common results go straight from the text to a GVariant (pyro-wire.c);
   * what that reader leaves, and every error, takes the general path. */
  if (!(reply->flags & PYRO_FLAG_EXCEPTION))
    {
      GVariant *value = pyro_wire_parse (data, len, reply_type);
      if (value != NULL)
        return value;
    }

  g_autoptr(JsonNode) node = pyro_json_parse (data, len, error);
  if (node == NULL)
    return NULL;

  if (reply->flags & PYRO_FLAG_EXCEPTION)
    {
      g_propagate_error (error, pyro_error_from_json (node));
      return NULL;
    }

  g_autoptr(GError) local = NULL;
  GVariant *value = pyro_json_to_variant (node, reply_type, &local);
  if (value == NULL)
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE, "%s() returned %s, which does not fit: %s",
                 method, pyro_json_type_name (node), local->message);
  return value;
}

/* Everything that breaks the conversation closes the connection, so the
 * next call starts afresh, as Pyro4 does. */
static gboolean
error_breaks_connection (const GError *error)
{
  if (error->domain != PYRO_ERROR)
    return TRUE;  /* I/O errors and cancellation: the stream is in an unknown state */
  switch (error->code)
    {
    case PYRO_ERROR_COMMUNICATION:
    case PYRO_ERROR_CONNECTION_CLOSED:
    case PYRO_ERROR_TIMEOUT:
    case PYRO_ERROR_PROTOCOL:
    case PYRO_ERROR_MESSAGE_TOO_LARGE:
    case PYRO_ERROR_SECURITY:
      return !pyro_error_is_remote (error);
    case PYRO_ERROR_SERIALIZE:
      /* A daemon that could not serialize a result closes the connection
       * after saying so (Pyro4's and ours): drop it now, so the next call
       * reconnects at once.  A reply that did not fit the type asked for
       * (our own error) leaves the connection as good as it was. */
      return pyro_error_is_remote (error);
    default:
      return FALSE;
    }
}

static gboolean
check_method_locked (PyroProxy *proxy, const char *method, GError **error)
{
  if (proxy->meta.methods == NULL || g_hash_table_contains (proxy->meta.methods, method) ||
      strcmp (method, "__getattr__") == 0 || strcmp (method, "__setattr__") == 0)
    return TRUE;
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD,
               "remote object '%s' has no exposed attribute or method '%s'",
               pyro_uri_to_string (proxy->uri), method);
  return FALSE;
}

static GVariant *
call_locked (PyroProxy     *proxy,
             ProxyRequest  *req,
             GCancellable  *cancellable,
             GError       **error)
{
  if (!connect_locked (proxy, cancellable, error) ||
      (req->check_metadata && !check_method_locked (proxy, req->method, error)))
    return NULL;

  /* Methods the object declares oneway are sent so automatically. */
  guint16 flags = req->flags;
  if (req->check_metadata && proxy->meta.oneway != NULL && g_hash_table_contains (proxy->meta.oneway, req->method))
    flags |= PYRO_FLAG_ONEWAY;

  gsize len;
  g_autofree char *body = build_invoke_body (proxy, req, &len, error);
  if (body == NULL)
    return NULL;

  proxy->seq = (proxy->seq + 1) & 0xFFFF;
  const PyroMessage request = {
    .type = PYRO_MSG_INVOKE, .flags = flags, .seq = proxy->seq, .serializer_id = PYRO_SERIALIZER_JSON,
  };
  if (!pyro_channel_write_with_body (proxy->channel, &request, body, len, proxy->hmac_key, cancellable, error))
    return NULL;
  if (flags & PYRO_FLAG_ONEWAY)
    return g_variant_ref_sink (g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL));

  g_autoptr(PyroMessage) reply = NULL;
  if (!read_reply (proxy, PYRO_MSG_RESULT, cancellable, &reply, error))
    return NULL;
  proxy->last_reply_at = g_get_monotonic_time ();
  if (reply->seq != proxy->seq)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL, "invoke: reply sequence out of sync, got %u expected %u",
                   reply->seq, proxy->seq);
      return NULL;
    }
  if (reply->serializer_id != PYRO_SERIALIZER_JSON)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL, "invalid serializer in response: %u (expected %u, json)",
                   reply->serializer_id, PYRO_SERIALIZER_JSON);
      return NULL;
    }
  return decode_result (reply, req, error);
}

/* Runs @req with the proxy's lock held, so calls from several threads take
 * turns; a failure that leaves the connection in doubt closes it. */
static GVariant *
proxy_request_run (PyroProxy *proxy, ProxyRequest *req, GCancellable *cancellable, GError **error)
{
  g_autoptr(GError) local = NULL;

  /* A program that calls once mostly calls again with values of the same
   * types: GLib's descriptions of them are kept for the next call
   * (pyro-type-cache-private.h). */
  if (req->params != NULL)
    pyro_type_cache_keep (g_variant_get_type (req->params));
  if (req->reply_type != NULL)
    pyro_type_cache_keep (req->reply_type);

  g_mutex_lock (&proxy->lock);
  GVariant *result = call_locked (proxy, req, cancellable, &local);
  if (result == NULL && error_breaks_connection (local))
    disconnect_locked (proxy);
  g_mutex_unlock (&proxy->lock);

  if (result == NULL)
    g_propagate_error (error, g_steal_pointer (&local));
  return result;
}

/* Runs @req for every call that goes through the proxy's lock; an item
 * stream the caller did not ask for (@stream_id NULL) is closed again on
 * the daemon, and the call fails. */
static GVariant *
invoke_request (PyroProxy     *proxy,
                ProxyRequest  *req,
                char         **stream_id,
                GCancellable  *cancellable,
                GError       **error)
{
  GVariant *result = proxy_request_run (proxy, req, cancellable, error);
  if (stream_id != NULL)
    *stream_id = req->stream_id;
  else if (req->stream_id != NULL)
    {
      pyro_proxy_close_stream_id (proxy, req->stream_id);
      g_free (req->stream_id);
      g_clear_pointer (&result, g_variant_unref);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "%s() returns an item stream: call it with pyro_proxy_call_stream_sync()", req->method);
    }
  return result;
}

GVariant *
pyro_proxy_invoke (PyroProxy          *proxy,
                   const char         *object_id,
                   const char         *method,
                   GVariant           *params,
                   gboolean            kwargs_null,
                   guint16             flags,
                   const GVariantType *reply_type,
                   char              **stream_id,
                   GCancellable       *cancellable,
                   GError            **error)
{
  ProxyRequest req = {
    .object_id = object_id,
    .method = method,
    .params = params,
    .kwargs_null = kwargs_null,
    .flags = flags,
    /* "<batch>" is no method of the object; its calls are checked by the daemon. */
    .check_metadata = (object_id == NULL && !(flags & PYRO_FLAG_BATCH)),
    .reply_type = reply_type,
  };
  return invoke_request (proxy, &req, stream_id, cancellable, error);
}

GVariant *
pyro_proxy_invoke_json (PyroProxy          *proxy,
                        const char         *method,
                        const char         *params_json,
                        const GError       *params_error,
                        gboolean            kwargs_null,
                        guint16             flags,
                        const GVariantType *reply_type,
                        GCancellable       *cancellable,
                        GError            **error)
{
  ProxyRequest req = {
    .method = method,
    .params_json = params_json,
    .params_error = params_error,
    .kwargs_null = kwargs_null,
    .flags = flags,
    .check_metadata = !(flags & PYRO_FLAG_BATCH),
    .reply_type = reply_type,
  };
  return invoke_request (proxy, &req, NULL, cancellable, error);
}

void
pyro_proxy_close_stream_id (PyroProxy *proxy, const char *stream_id)
{
  /* Pyro4 closes abandoned streams with a oneway call; a failure only
   * means the daemon will free the stream when its linger time is up. */
  g_autoptr(GVariant) params = g_variant_ref_sink (g_variant_new ("(s)", stream_id));
  g_autoptr(GVariant) none = pyro_proxy_invoke (proxy, "Pyro.Daemon", "close_stream", params, FALSE,
                                                PYRO_FLAG_ONEWAY, NULL, NULL, NULL, NULL);
}

/* ---- public calls ----------------------------------------------------------- */

GVariant *
pyro_proxy_call_full_sync (PyroProxy          *proxy,
                           const char         *method,
                           GVariant           *params,
                           GVariant           *kwargs,
                           PyroCallFlags       flags,
                           const GVariantType *reply_type,
                           GCancellable       *cancellable,
                           GError            **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), NULL);
  g_return_val_if_fail (method != NULL, NULL);
  g_return_val_if_fail (params == NULL || g_variant_is_of_type (params, G_VARIANT_TYPE_TUPLE), NULL);
  g_return_val_if_fail (kwargs == NULL || g_variant_is_of_type (kwargs, G_VARIANT_TYPE ("a{s*}")), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(GVariant) owned_params = params ? g_variant_ref_sink (params) : NULL;
  g_autoptr(GVariant) owned_kwargs = kwargs ? g_variant_ref_sink (kwargs) : NULL;
  ProxyRequest req = {
    .method = method,
    .params = owned_params,
    .kwargs = owned_kwargs,
    .flags = (flags & PYRO_CALL_ONEWAY) ? PYRO_FLAG_ONEWAY : 0,
    .check_metadata = TRUE,
    .reply_type = reply_type,
  };
  return invoke_request (proxy, &req, NULL, cancellable, error);
}

GVariant *
pyro_proxy_call_sync (PyroProxy          *proxy,
                      const char         *method,
                      GVariant           *params,
                      const GVariantType *reply_type,
                      GCancellable       *cancellable,
                      GError            **error)
{
  return pyro_proxy_call_full_sync (proxy, method, params, NULL, PYRO_CALL_NONE, reply_type,
                                    cancellable, error);
}

gboolean
pyro_proxy_call_oneway (PyroProxy   *proxy,
                        const char  *method,
                        GVariant    *params,
                        GError     **error)
{
  g_autoptr(GVariant) none = pyro_proxy_call_full_sync (proxy, method, params, NULL, PYRO_CALL_ONEWAY,
                                                        NULL, NULL, error);
  return none != NULL;
}

typedef struct
{
  char         *method;
  GVariant     *params;
  GVariantType *reply_type;
} CallData;

static void
call_data_free (CallData *data)
{
  g_free (data->method);
  g_clear_pointer (&data->params, g_variant_unref);
  g_clear_pointer (&data->reply_type, g_variant_type_free);
  g_free (data);
}

static void
call_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  CallData *data = task_data;
  GError *error = NULL;
  /* The task data keeps the params; the call takes its own reference. */
  GVariant *result = pyro_proxy_call_sync (source, data->method, data->params,
                                           data->reply_type, cancellable, &error);
  if (result != NULL)
    g_task_return_pointer (task, result, (GDestroyNotify) g_variant_unref);
  else
    g_task_return_error (task, error);
}

void
pyro_proxy_call (PyroProxy          *proxy,
                 const char         *method,
                 GVariant           *params,
                 const GVariantType *reply_type,
                 GCancellable       *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer            user_data)
{
  g_return_if_fail (PYRO_IS_PROXY (proxy));
  g_return_if_fail (method != NULL);
  g_return_if_fail (params == NULL || g_variant_is_of_type (params, G_VARIANT_TYPE_TUPLE));

  CallData *data = g_new0 (CallData, 1);
  data->method = g_strdup (method);
  data->params = params ? g_variant_ref_sink (params) : NULL;
  data->reply_type = reply_type ? g_variant_type_copy (reply_type) : NULL;

  g_autoptr(GTask) task = g_task_new (proxy, cancellable, callback, user_data);
  g_task_set_source_tag (task, pyro_proxy_call);
  g_task_set_task_data (task, data, (GDestroyNotify) call_data_free);
  g_task_run_in_thread (task, call_in_thread);
}

GVariant *
pyro_proxy_call_finish (PyroProxy *proxy, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, proxy), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- attributes ------------------------------------------------------------- */

static gboolean
check_attribute (PyroProxy *proxy, const char *name, GCancellable *cancellable, GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&proxy->lock);
  if (!connect_locked (proxy, cancellable, error))
    return FALSE;
  if (proxy->meta.attrs == NULL || g_hash_table_contains (proxy->meta.attrs, name))
    return TRUE;
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD,
               "remote object '%s' has no exposed attribute '%s'", pyro_uri_to_string (proxy->uri), name);
  return FALSE;
}

GVariant *
pyro_proxy_get_attribute (PyroProxy          *proxy,
                          const char         *name,
                          const GVariantType *type,
                          GCancellable       *cancellable,
                          GError            **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_attribute (proxy, name, cancellable, error))
    return NULL;
  g_autoptr(GVariant) params = g_variant_ref_sink (g_variant_new ("(s)", name));
  ProxyRequest req = { .method = "__getattr__", .params = params, .kwargs_null = TRUE, .reply_type = type };
  return proxy_request_run (proxy, &req, cancellable, error);
}

gboolean
pyro_proxy_set_attribute (PyroProxy    *proxy,
                          const char   *name,
                          GVariant     *value,
                          GCancellable *cancellable,
                          GError      **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr(GVariant) params = g_variant_ref_sink (g_variant_new ("(sv)", name, value));
  if (!check_attribute (proxy, name, cancellable, error))
    return FALSE;
  /* The value travels as itself: (sv) writes the variant's content. */
  ProxyRequest req = { .method = "__setattr__", .params = params, .kwargs_null = TRUE };
  g_autoptr(GVariant) none = proxy_request_run (proxy, &req, cancellable, error);
  return none != NULL;
}

/* ---- HMAC ------------------------------------------------------------------- */

void
pyro_proxy_set_hmac_key (PyroProxy *proxy, const char *key)
{
  g_return_if_fail (PYRO_IS_PROXY (proxy));

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&proxy->lock);
  g_clear_pointer (&proxy->hmac_key, g_bytes_unref);
  /* Pyro4 treats an empty key as no key at all. */
  if (key != NULL && key[0] != '\0')
    proxy->hmac_key = g_bytes_new (key, strlen (key));
  /* The key takes part in the handshake: start afresh. */
  disconnect_locked (proxy);
}

/* ---- proxies that came over the wire ----------------------------------------- */

/* Element @index of a Pyro4 proxy state list, unboxed. (transfer full) */
static GVariant *
state_item (GVariant *state, gsize index)
{
  if (index >= g_variant_n_children (state))
    return NULL;
  g_autoptr(GVariant) boxed = g_variant_get_child_value (state, index);
  return g_variant_is_of_type (boxed, G_VARIANT_TYPE_VARIANT) ? g_variant_get_variant (boxed)
                                                              : g_steal_pointer (&boxed);
}

/* {"__class__": "Pyro4.core.Proxy", "state": [uri, oneway, methods, attrs,
 * timeout, hmac, handshake, maxretries, serializer]}: we need the URI, and
 * the HMAC key when the sender put one in ("b64:..."). */
static PyroProxy *
proxy_from_proxy_dict (GVariant *dict, GError **error)
{
  g_autoptr(GVariant) state = g_variant_lookup_value (dict, "state", NULL);
  /* Anything may arrive here: only a list can be a state. */
  if (state != NULL && !g_variant_is_container (state))
    g_clear_pointer (&state, g_variant_unref);
  g_autoptr(GVariant) uri_text = state ? state_item (state, 0) : NULL;
  if (uri_text == NULL || !g_variant_is_of_type (uri_text, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                   "malformed Pyro4.core.Proxy dict: expected 'state' to be a list starting with the URI string");
      return NULL;
    }

  PyroProxy *proxy = pyro_proxy_new (g_variant_get_string (uri_text, NULL), error);
  g_autoptr(GVariant) hmac = state_item (state, 5);
  if (proxy != NULL && hmac != NULL && g_variant_is_of_type (hmac, G_VARIANT_TYPE_STRING) &&
      g_str_has_prefix (g_variant_get_string (hmac, NULL), "b64:"))
    {
      gsize len;
      g_autofree guchar *key = g_base64_decode (g_variant_get_string (hmac, NULL) + 4, &len);
      if (len > 0)
        proxy->hmac_key = g_bytes_new (key, len);
    }
  return proxy;
}

PyroProxy *
pyro_proxy_new_from_variant (GVariant *value, GError **error)
{
  g_return_val_if_fail (value != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);
      return pyro_proxy_new_from_variant (inner, error);
    }

  const char *klass = NULL;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT) &&
      g_variant_lookup (value, "__class__", "&s", &klass) && strcmp (klass, "Pyro4.core.Proxy") == 0)
    return proxy_from_proxy_dict (value, error);

  g_autoptr(GError) local = NULL;
  g_autoptr(PyroUri) uri = pyro_uri_from_variant (value, &local);
  if (uri == NULL)
    {
      g_autofree char *printed = g_variant_print (value, FALSE);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                   "expected a Pyro4 proxy, a URI or a URI string, got %.200s", printed);
      return NULL;
    }
  return pyro_proxy_new_for_uri (uri);
}

/* ---- the rest of the API ---------------------------------------------------- */

PyroProxy *
pyro_proxy_new_for_uri (PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);

  PyroProxy *proxy = g_object_new (PYRO_TYPE_PROXY, NULL);
  proxy->uri = pyro_uri_ref (uri);
  return proxy;
}

PyroProxy *
pyro_proxy_new (const char *uri, GError **error)
{
  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(PyroUri) parsed = pyro_uri_parse (uri, error);
  return parsed ? pyro_proxy_new_for_uri (parsed) : NULL;
}

PyroUri *
pyro_proxy_get_uri (PyroProxy *proxy)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), NULL);
  return proxy->uri;
}

void
pyro_proxy_set_timeout (PyroProxy *proxy, double seconds)
{
  g_return_if_fail (PYRO_IS_PROXY (proxy));
  g_return_if_fail (seconds >= 0);

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&proxy->lock);
  proxy->timeout = seconds;
  /* An open connection takes the new timeout at once, as in Pyro4. */
  if (proxy->socket != NULL)
    g_socket_set_timeout (proxy->socket, socket_timeout (proxy));
}

void
pyro_proxy_set_max_message_size (PyroProxy *proxy, gsize max_size)
{
  g_return_if_fail (PYRO_IS_PROXY (proxy));

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&proxy->lock);
  proxy->max_message_size = max_size;
}

gboolean
pyro_proxy_connect (PyroProxy *proxy, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&proxy->lock);
  return connect_locked (proxy, cancellable, error);
}

void
pyro_proxy_release (PyroProxy *proxy)
{
  g_return_if_fail (PYRO_IS_PROXY (proxy));

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&proxy->lock);
  disconnect_locked (proxy);
}

char **
pyro_proxy_get_methods (PyroProxy *proxy)
{
  g_return_val_if_fail (PYRO_IS_PROXY (proxy), NULL);

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&proxy->lock);
  if (proxy->meta.methods == NULL)
    return NULL;
  g_autofree gpointer *names = g_hash_table_get_keys_as_array (proxy->meta.methods, NULL);
  return g_strdupv ((char **) names);
}

static void
pyro_proxy_init (PyroProxy *proxy)
{
  g_mutex_init (&proxy->lock);
}

static void
pyro_proxy_finalize (GObject *object)
{
  PyroProxy *proxy = PYRO_PROXY (object);

  disconnect_locked (proxy);
  pyro_metadata_clear (&proxy->meta);
  g_clear_pointer (&proxy->uri, pyro_uri_unref);
  g_free (proxy->object_id);
  g_clear_pointer (&proxy->hmac_key, g_bytes_unref);
  g_mutex_clear (&proxy->lock);
  G_OBJECT_CLASS (pyro_proxy_parent_class)->finalize (object);
}

static void
pyro_proxy_class_init (PyroProxyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pyro_proxy_finalize;
}
