/* pyro-daemon-object.c: the built-in "Pyro.Daemon" object every daemon serves.
 *
 * Pyro4 clients call it by themselves: get_metadata when a daemon did not
 * send metadata on connect, get_next_stream_item/close_stream for item
 * streams.  People call ping, registered and info to look at a daemon.
 */
#include "pyro-daemon-private.h"
#include "pyro-json-private.h"

#include <pyro/pyro-error.h>

static GVariant *
daemon_ping (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return NULL;
}

static GVariant *
daemon_registered (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return pyro_daemon_list_object_ids (pyro_invocation_get_daemon (invocation));
}

static GVariant *
daemon_info (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return pyro_daemon_describe (pyro_invocation_get_daemon (invocation));
}

/* get_metadata(objectId, as_lists=False): the same dict CONNECTOK carries. */
static GVariant *
daemon_get_metadata (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *object_id;
  g_variant_get (args, "(&s@mb)", &object_id, NULL);  /* as_lists: JSON has only lists */

  g_autoptr(PyroRegistration) reg = pyro_daemon_lookup (pyro_invocation_get_daemon (invocation), object_id);
  if (reg == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON, "unknown object '%s'", object_id);
      return NULL;
    }
  return g_variant_ref (reg->metadata);
}

/* Item streams are served by the streams table (pyro-stream.c); until a
 * method returns one, every id is unknown, as Pyro4 answers for a finished
 * stream. */
static GVariant *
daemon_get_next_stream_item (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *stream_id;
  g_variant_get (args, "(&s)", &stream_id);
  return pyro_daemon_next_stream_item (pyro_invocation_get_daemon (invocation), stream_id, error);
}

static GVariant *
daemon_close_stream (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *stream_id;
  g_variant_get (args, "(&s)", &stream_id);
  pyro_daemon_close_stream (pyro_invocation_get_daemon (invocation), stream_id);
  return NULL;
}

static const PyroMethod daemon_methods[] = {
  { "ping", "()", NULL, daemon_ping, 0, NULL },
  { "registered", "()", "as", daemon_registered, 0, NULL },
  { "info", "()", "s", daemon_info, 0, NULL },
  { "get_metadata", "(smb)", "a{sv}", daemon_get_metadata, 0, "objectId,as_lists" },
  { "get_next_stream_item", "(s)", NULL, daemon_get_next_stream_item, 0, "streamId" },
  { "close_stream", "(s)", NULL, daemon_close_stream, 0, "streamId" },
  { NULL }
};

const PyroClass pyro_daemon_object_class = {
  .name = "DaemonObject",
  .methods = daemon_methods,
};
