/* pyro-server-connection.c: serving one client connection, in a worker thread.
 *
 * The conversation Pyro4 defines: the first message must be CONNECT, which
 * we answer with CONNECTOK (and the object's metadata when asked) or
 * CONNECTFAIL; then INVOKE and PING messages, each answered in order, until
 * the client closes the socket.  What a misbehaving client gets follows
 * Pyro4 (section 2.10 of the protocol notes): errors before the handshake
 * get a CONNECTFAIL in marshal, a broken frame after it closes the
 * connection, and a bad request inside a good frame gets an exception
 * reply while the connection stays open.
 */
#include "pyro-channel-private.h"
#include "pyro-daemon-private.h"
#include "pyro-dispatch-private.h"
#include "pyro-error-private.h"
#include "pyro-json-private.h"
#include "pyro-log-private.h"
#include "pyro-message-private.h"
#include "pyro-wire-private.h"

#include <string.h>

typedef struct
{
  PyroDaemon  *daemon;
  GSocket     *connection;
  PyroChannel *channel;
  PyroSession *session;
} ServerConnection;

static gboolean
send_message (ServerConnection *sc, PyroMessage *msg)
{
  g_autoptr(GError) error = NULL;
  if (!pyro_channel_write (sc->channel, msg, pyro_daemon_get_hmac_key (sc->daemon), NULL, &error))
    {
      g_debug ("sending a reply failed: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

static void
send_text (ServerConnection *sc, PyroMessageType type, guint16 flags, guint16 seq,
           GString *body, gboolean with_corr)
{
  g_autoptr(GError) error = NULL;

  if (with_corr)
    {
      gsize len = body->len;
      g_autoptr(PyroMessage) msg = pyro_message_new_take (type, flags, seq, PYRO_SERIALIZER_JSON,
                                                          g_string_free (body, FALSE), len);

      /* A fresh correlation id, as Pyro4 daemons attach to CONNECTOK. */
      guint8 corr[16];
      for (int i = 0; i < 4; i++)
        {
          guint32 r = g_random_int ();
          memcpy (corr + 4 * i, &r, 4);
        }
      pyro_message_set_annotation (msg, "CORR", corr, sizeof corr);
      send_message (sc, msg);
      return;
    }

  /* Every reply but CONNECTOK has no annotations: written from the text. */
  const PyroMessage reply = { .type = type, .flags = flags, .seq = seq, .serializer_id = PYRO_SERIALIZER_JSON };
  if (!pyro_channel_write_with_body (sc->channel, &reply, body->str, body->len,
                                     pyro_daemon_get_hmac_key (sc->daemon), NULL, &error))
    g_debug ("sending a reply failed: %s", error->message);
  g_string_free (body, TRUE);
}

/* CONNECTFAIL before the daemon has accepted the client's serializer is
 * encoded in marshal, as Pyro4 does; afterwards as a JSON string. */
static void
send_connect_fail (ServerConnection *sc, guint16 seq, gboolean in_json, const char *reason)
{
  g_debug ("refusing handshake: %s", reason);
  if (in_json)
    {
      GString *body = g_string_new (NULL);
      pyro_json_write_string (body, reason);
      send_text (sc, PYRO_MSG_CONNECTFAIL, 0, seq, body, FALSE);
    }
  else
    {
      g_autoptr(GBytes) body = pyro_marshal_string (reason);
      g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_CONNECTFAIL, 0, seq, PYRO_SERIALIZER_MARSHAL, body);
      send_message (sc, msg);
    }
}

/* The client's next message, however long it takes to come. */
static PyroMessage *
read_request (ServerConnection *sc, GError **error)
{
  return pyro_channel_read (sc->channel, pyro_daemon_get_max_message_size (sc->daemon),
                            pyro_daemon_get_hmac_key (sc->daemon), -1, NULL, error);
}

static JsonNode *
parse_body (PyroMessage *msg, GError **error)
{
  gsize len;
  const char *text = g_bytes_get_data (msg->body, &len);
  return pyro_json_parse (text, len, error);
}

/* ---- handshake ------------------------------------------------------------ */

/* What a CONNECT asks for. */
typedef struct
{
  char *greeting_json;  /* the client's "handshake" value as JSON text, echoed back */
  char *object_id;      /* the object whose metadata it wants; "" if it names none */
  char *object_json;    /* or, when "object" is not a string, its JSON text */
} ConnectRequest;

static void
connect_request_clear (ConnectRequest *request)
{
  g_clear_pointer (&request->greeting_json, g_free);
  g_clear_pointer (&request->object_id, g_free);
  g_clear_pointer (&request->object_json, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ConnectRequest, connect_request_clear)

/* {"handshake": <plain string>, "object": <plain string>}, keys in any
 * order, each at most once, "object" optional: the strings' text goes to
 * @values / @lens (indexed as the keys). */
static gboolean
read_connect_body (PyroWire *w, const char *values[2], gsize lens[2])
{
  static const char *const keys[] = { "handshake", "object" };
  guint seen = 0;

  if (!pyro_wire_take (w, '{'))
    return FALSE;
  do
    {
      int i = pyro_wire_read_key (w, keys, G_N_ELEMENTS (keys), &seen);
      if (i < 0 || !pyro_wire_read_plain_string (w, &values[i], &lens[i]))
        return FALSE;
    }
  while (pyro_wire_take (w, ','));
  return pyro_wire_take (w, '}') && pyro_wire_at_end (w) && (seen & 1);
}

/* The body every client sends, {"handshake": "hello", "object": "<id>"},
 * read straight from the text; FALSE for anything else, which
 * read_connect_general() then reads. */
static gboolean
read_connect_direct (PyroMessage *msg, ConnectRequest *request)
{
  const char *values[2] = { NULL, "" };
  gsize lens[2] = { 0, 0 };
  gsize size;
  const char *text = g_bytes_get_data (msg->body, &size);
  PyroWire w;

  pyro_wire_init (&w, text, size);
  gboolean ok = read_connect_body (&w, values, lens);
  pyro_wire_clear (&w);
  if (!ok)
    return FALSE;

  /* A plain string (no escapes) is its own JSON text between quotes.
   * (Put together by hand: g_strdup_printf() costs more than the rest of
   * reading the body.) */
  char *json = g_malloc (lens[0] + 3);
  json[0] = '"';
  memcpy (json + 1, values[0], lens[0]);
  json[lens[0] + 1] = '"';
  json[lens[0] + 2] = '\0';
  request->greeting_json = json;
  request->object_id = g_strndup (values[1], lens[1]);
  return TRUE;
}

/* Any other CONNECT body, through a JSON tree; FALSE with @error set
 * (what CONNECTFAIL says) if it is not a dict with a "handshake" key. */
static gboolean
read_connect_general (PyroMessage *msg, ConnectRequest *request, GError **error)
{
  g_autoptr(JsonNode) body = parse_body (msg, error);
  if (body == NULL)
    return FALSE;
  JsonObject *dict = JSON_NODE_HOLDS_OBJECT (body) ? json_node_get_object (body) : NULL;
  JsonNode *greeting = dict ? json_object_get_member (dict, "handshake") : NULL;
  if (greeting == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL, "CONNECT body must be a dict with a 'handshake' key");
      return FALSE;
    }

  GString *text = g_string_new (NULL);
  pyro_json_write_node (text, greeting);
  request->greeting_json = g_string_free (text, FALSE);

  JsonNode *object = json_object_get_member (dict, "object");
  if (object == NULL)
    request->object_id = g_strdup ("");
  else if (json_node_get_value_type (object) == G_TYPE_STRING)
    request->object_id = g_strdup (json_node_get_string (object));
  else
    {
      text = g_string_new (NULL);
      pyro_json_write_node (text, object);
      request->object_json = g_string_free (text, FALSE);
    }
  return TRUE;
}

static gboolean
handshake (ServerConnection *sc)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroMessage) msg = read_request (sc, &error);
  if (msg == NULL)
    {
      /* Header errors are answered (Pyro4 does); a client that vanished or
       * announced too much is just dropped. */
      if (g_error_matches (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL) ||
          g_error_matches (error, PYRO_ERROR, PYRO_ERROR_SECURITY))
        send_connect_fail (sc, 0, FALSE, error->message);
      else
        g_debug ("connection dropped before the handshake: %s", error->message);
      return FALSE;
    }
  if (msg->type != PYRO_MSG_CONNECT)
    {
      g_autofree char *reason = g_strdup_printf ("invalid msg type %u received (expected %u, CONNECT)",
                                                 msg->type, PYRO_MSG_CONNECT);
      send_connect_fail (sc, 0, FALSE, reason);
      return FALSE;
    }
  if (msg->serializer_id != PYRO_SERIALIZER_JSON)
    {
      g_autofree char *reason = g_strdup_printf (
        "message used serializer that is not accepted: %u (this daemon speaks json, id %u; "
        "set PYRO_SERIALIZER=json)", msg->serializer_id, PYRO_SERIALIZER_JSON);
      send_connect_fail (sc, msg->seq, FALSE, reason);
      return FALSE;
    }

  g_auto(ConnectRequest) request = { NULL, NULL, NULL };
  if (!read_connect_direct (msg, &request) && !read_connect_general (msg, &request, &error))
    {
      send_connect_fail (sc, msg->seq, TRUE, error->message);
      return FALSE;
    }

  GString *reply = g_string_new ("{\"handshake\": ");
  g_string_append (reply, request.greeting_json);
  guint16 flags = 0;
  if (msg->flags & PYRO_FLAG_META_ON_CONNECT)
    {
      g_autoptr(PyroRegistration) reg = request.object_id ? pyro_daemon_lookup (sc->daemon, request.object_id) : NULL;
      if (reg == NULL)
        {
          g_autofree char *reason = g_strdup_printf ("unknown object '%s'",
                                                     request.object_id ? request.object_id : request.object_json);
          g_string_free (reply, TRUE);
          send_connect_fail (sc, msg->seq, TRUE, reason);
          return FALSE;
        }
      g_string_append (reply, ", \"meta\": ");
      g_string_append (reply, reg->metadata_json);
      flags = PYRO_FLAG_META_ON_CONNECT;
    }
  g_string_append_c (reply, '}');
  send_text (sc, PYRO_MSG_CONNECTOK, flags, msg->seq, reply, TRUE);
  return TRUE;
}

/* ---- requests ------------------------------------------------------------- */

static void
send_exception (ServerConnection *sc, PyroMessage *request, const GError *error, const char *where)
{
  g_autoptr(JsonNode) exc = pyro_error_to_json (error, where);
  GString *body = g_string_new (NULL);
  pyro_json_write_node (body, exc);
  send_text (sc, PYRO_MSG_RESULT, PYRO_FLAG_EXCEPTION, request->seq, body, FALSE);
}

/* The reply that starts an item stream: flags EXCEPTION|ITEMSTREAMRESULT,
 * the stream id in a STRM annotation, and for old clients an exception
 * body that explains it (exactly what Pyro4 4.82 sends). */
static void
send_stream_start (ServerConnection *sc, PyroMessage *request, const char *stream_id)
{
  static const char body[] =
    "{\"__class__\": \"Pyro4.errors.ProtocolError\", \"__exception__\": true, "
    "\"args\": [\"result of call is an iterator\"], \"attributes\": {\"_pyroTraceback\": null}}";
  g_autoptr(PyroMessage) msg = pyro_message_new_take (PYRO_MSG_RESULT,
                                                      PYRO_FLAG_EXCEPTION | PYRO_FLAG_ITEMSTREAMRESULT,
                                                      request->seq, PYRO_SERIALIZER_JSON,
                                                      g_strdup (body), sizeof body - 1);
  pyro_message_set_annotation (msg, "STRM", stream_id, strlen (stream_id));
  send_message (sc, msg);
}

/* Pyro4 requires all four keys of an INVOKE body. */
static gboolean
split_invoke (JsonNode *body, const char **object_id, const char **method,
              JsonNode **params, JsonNode **kwargs, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (body))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE,
                   "INVOKE body must be a dict with object, method, params and kwargs, got %s",
                   pyro_json_type_name (body));
      return FALSE;
    }
  JsonObject *request = json_node_get_object (body);
  static const char *const keys[] = { "object", "method", "params", "kwargs" };
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!json_object_has_member (request, keys[i]))
      {
        g_set_error (error, PYRO_ERROR, PYRO_ERROR_KEY, "INVOKE body lacks the key '%s'", keys[i]);
        return FALSE;
      }

  *object_id = json_object_get_string_member_with_default (request, "object", NULL);
  *method = json_object_get_string_member_with_default (request, "method", NULL);
  if (*object_id == NULL || *method == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "INVOKE body: 'object' and 'method' must be strings");
      return FALSE;
    }
  *params = json_object_get_member (request, "params");
  *kwargs = json_object_get_member (request, "kwargs");
  return TRUE;
}

/* Where a failed call ran, for the traceback the client shows:
 * "GreetingMaker.get_fortune", as Python names the method; the object id
 * when the object is unknown; "INVOKE" when the request never got that far. */
static char *
describe_call (ServerConnection *sc, const char *object_id, const char *method)
{
  if (object_id == NULL || method == NULL)
    return g_strdup ("INVOKE");
  g_autoptr(PyroRegistration) reg = pyro_daemon_lookup (sc->daemon, object_id);
  return g_strdup_printf ("%s.%s", reg ? reg->klass->name : object_id, method);
}

/* The common batch (plain arguments, methods the object has) goes
 * straight from the text to the methods, without a JsonNode tree
 * (pyro-dispatch.c).  TRUE if it was served that way; anything unusual,
 * and every error, is left to the general path with nothing run. */
static gboolean
serve_plain_batch (ServerConnection *sc, PyroMessage *msg, gboolean oneway)
{
  gsize len;
  const char *text = g_bytes_get_data (msg->body, &len);
  GString *reply = g_string_new (NULL);

  if (!pyro_dispatch_batch_text (sc->session, text, len, reply))
    {
      g_string_free (reply, TRUE);
      return FALSE;
    }
  if (oneway)
    g_string_free (reply, TRUE);
  else
    send_text (sc, PYRO_MSG_RESULT, PYRO_FLAG_BATCH, msg->seq, reply, FALSE);
  return TRUE;
}

/* A request that failed: the exception goes back, except for a oneway
 * call, which never gets a reply.  FALSE when the connection must be
 * closed. */
static gboolean
answer_failure (ServerConnection *sc, PyroMessage *msg, gboolean oneway, const GError *error, const char *where)
{
  if (oneway)
    {
      g_debug ("oneway call %s failed: %s", where, error->message);
      return TRUE;
    }
  send_exception (sc, msg, error, where);
  /* A result that could not be serialized leaves the connection in doubt;
   * Pyro4 closes it, and so do we. */
  return !g_error_matches (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
}

/* The common single call also goes straight from the text to the method
 * (pyro_dispatch_call_text()).  TRUE if it was served that way, with
 * *@keep_open saying whether the connection stays open; FALSE, with
 * nothing run, leaves the request to the general path. */
static gboolean
serve_plain_call (ServerConnection *sc, PyroMessage *msg, gboolean oneway, gboolean *keep_open)
{
  gsize len;
  const char *text = g_bytes_get_data (msg->body, &len);
  g_autoptr(GError) error = NULL;
  g_autofree char *where = NULL;
  GString *reply = g_string_new (NULL);

  *keep_open = TRUE;
  switch (pyro_dispatch_call_text (sc->session, text, len, oneway, reply, &where, &error))
    {
    case PYRO_DISPATCH_DECLINED:
      g_string_free (reply, TRUE);
      return FALSE;
    case PYRO_DISPATCH_DONE:
      if (oneway)
        g_string_free (reply, TRUE);
      else
        send_text (sc, PYRO_MSG_RESULT, 0, msg->seq, reply, FALSE);
      return TRUE;
    case PYRO_DISPATCH_FAILED:
      g_string_free (reply, TRUE);
      *keep_open = answer_failure (sc, msg, oneway, error, where);
      return TRUE;
    }
  g_assert_not_reached ();
}

/* Handles one INVOKE.  Returns FALSE when the connection must be closed. */
static gboolean
handle_invoke (ServerConnection *sc, PyroMessage *msg)
{
  gboolean oneway = (msg->flags & PYRO_FLAG_ONEWAY) != 0;
  gboolean keep_open;
  g_autoptr(GError) error = NULL;
  const char *object_id = NULL, *method = NULL;
  JsonNode *params = NULL, *kwargs = NULL;
  g_autofree char *stream_id = NULL;

  if (msg->serializer_id != PYRO_SERIALIZER_JSON)
    {
      /* We cannot answer in a serializer we do not speak; Pyro4 closes
       * the connection after such a request too. */
      g_debug ("INVOKE in serializer %u refused: closing", msg->serializer_id);
      return FALSE;
    }
  if ((msg->flags & PYRO_FLAG_BATCH) && serve_plain_batch (sc, msg, oneway))
    return TRUE;
  if (!(msg->flags & PYRO_FLAG_BATCH) && serve_plain_call (sc, msg, oneway, &keep_open))
    return keep_open;

  /* The general path: anything unusual, and every error in the request. */
  g_autoptr(JsonNode) body = parse_body (msg, &error);
  GString *reply = g_string_new (NULL);
  gboolean ok = body != NULL && split_invoke (body, &object_id, &method, &params, &kwargs, &error);
  if (ok && (msg->flags & PYRO_FLAG_BATCH))
    ok = pyro_dispatch_batch (sc->session, object_id, params, oneway, reply, &error);
  else if (ok)
    ok = pyro_dispatch_call (sc->session, object_id, method, params, kwargs, oneway, reply, &stream_id, &error);

  if (error != NULL && body == NULL)
    error->code = PYRO_ERROR_VALUE;  /* an unparsable body is a ValueError in Pyro4 */

  if (!ok)
    {
      g_string_free (reply, TRUE);
      g_autofree char *where = describe_call (sc, object_id, method);
      return answer_failure (sc, msg, oneway, error, where);
    }
  if (oneway)
    g_string_free (reply, TRUE);  /* never a reply for oneway calls */
  else if (stream_id != NULL)
    {
      g_string_free (reply, TRUE);
      send_stream_start (sc, msg, stream_id);
    }
  else
    {
      guint16 flags = (msg->flags & PYRO_FLAG_BATCH) ? PYRO_FLAG_BATCH : 0;
      send_text (sc, PYRO_MSG_RESULT, flags, msg->seq, reply, FALSE);
    }
  return TRUE;
}

static void
handle_ping (ServerConnection *sc, PyroMessage *msg)
{
  g_autoptr(PyroMessage) pong = pyro_message_new_take (PYRO_MSG_PING, 0, msg->seq, msg->serializer_id,
                                                       g_strdup ("pong"), 4);
  send_message (sc, pong);
}

static void
serve_requests (ServerConnection *sc)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_request (sc, &error);
      if (msg == NULL)
        {
          /* End of the conversation, a broken frame, or a request too large
           * to read: Pyro4 closes the connection without a reply. */
          if (pyro_debug_enabled ())
            g_debug ("closing connection: %s", error->message);
          return;
        }

      if (msg->type == PYRO_MSG_INVOKE)
        {
          if (!handle_invoke (sc, msg))
            return;
        }
      else if (msg->type == PYRO_MSG_PING)
        handle_ping (sc, msg);
      else
        {
          g_debug ("closing connection: unexpected message type %u", msg->type);
          return;
        }
    }
}

void
pyro_server_connection_run (PyroDaemon *daemon, GSocket *connection)
{
  ServerConnection sc = { daemon, connection, NULL, NULL };

  sc.channel = pyro_channel_new (connection);
  sc.session = pyro_session_new (daemon);

  if (handshake (&sc))
    serve_requests (&sc);

  /* Session instances end with their connection, as in Pyro4. */
  pyro_session_free (sc.session);
  pyro_channel_free (sc.channel);
  g_socket_close (connection, NULL);
}
