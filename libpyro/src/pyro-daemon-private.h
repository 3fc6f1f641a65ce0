/* pyro-daemon-private.h: what the daemon's parts share inside the library. */
#pragma once

#include <pyro/pyro-daemon.h>
#include <pyro/pyro-error.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* One registered object or class.  Reference-counted, because a call in a
 * worker thread may still use a registration that is being removed. */
typedef struct
{
  gatomicrefcount  ref_count;
  char            *object_id;
  const PyroClass *klass;
  gboolean         is_class;      /* registered with pyro_daemon_register_class() */
  gpointer         instance;      /* register_object(): the object; else the single instance */
  gpointer         class_data;
  GMutex           single_lock;   /* guards making the single instance */
  GVariant        *metadata;      /* the class's metadata (a{sv}), made once */
  char            *metadata_json; /* the same as JSON text, for every CONNECTOK */
} PyroRegistration;

struct _PyroInvocation
{
  PyroDaemon        *daemon;
  PyroRegistration  *registration;
  const char        *method_name;
  gboolean           oneway;
  /* set by pyro_invocation_return_stream() */
  PyroStreamNextFunc stream_next;
  gpointer           stream_state;
  GDestroyNotify     stream_free;
};

PyroRegistration *pyro_registration_ref (PyroRegistration *registration);
void              pyro_registration_unref (PyroRegistration *registration);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroRegistration, pyro_registration_unref)

/* (transfer full) (nullable): the registration of @object_id, or NULL */
PyroRegistration *pyro_daemon_lookup (PyroDaemon *daemon, const char *object_id);

/* For the Pyro.Daemon object: the registered ids ("as") and a one-line
 * description ("s"). (transfer floating) */
GVariant *pyro_daemon_list_object_ids (PyroDaemon *daemon);
GVariant *pyro_daemon_describe (PyroDaemon *daemon);

/* (transfer none) (nullable): the HMAC key */
GBytes *pyro_daemon_get_hmac_key (PyroDaemon *daemon);

/* The largest request the daemon reads (0: no limit). */
gsize pyro_daemon_get_max_message_size (PyroDaemon *daemon);

/* Hands @call to a thread that runs @run (@call, NULL), as Pyro4 runs a
 * oneway call (ONEWAY_THREADED); FALSE, with nothing done, when the daemon
 * runs oneway calls in the connection's thread instead (see
 * pyro_daemon_set_oneway_threaded()).  @run must be the same every time. */
gboolean pyro_daemon_run_oneway (PyroDaemon *daemon, GFunc run, gpointer call);

/* (transfer none): the daemon's open item streams */
struct _PyroStreamTable *pyro_daemon_get_streams (PyroDaemon *daemon);

/* Item streams: the next item of stream @stream_id (or a StopIteration /
 * "item stream terminated" error), and closing one. */
GVariant *pyro_daemon_next_stream_item (PyroDaemon *daemon, const char *stream_id, GError **error);
void      pyro_daemon_close_stream (PyroDaemon *daemon, const char *stream_id);

/* Serves one accepted client connection until it closes (pyro-server-connection.c).
 * Runs in a worker thread. */
void pyro_server_connection_run (PyroDaemon *daemon, GSocket *connection);

/* The built-in Pyro.Daemon object. */
extern const PyroClass pyro_daemon_object_class;

G_END_DECLS
