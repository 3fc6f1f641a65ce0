/* pyro-daemon.c: the daemon's life: listening, registrations, workers, shutdown.
 *
 * Each connection is served, start to end, by one worker thread from a
 * GThreadPool (pyro-server-connection.c), like Pyro4's threaded server;
 * when all workers are busy a new client is refused at once with Pyro4's
 * own CONNECTFAIL text instead of being left waiting.
 *
 * Who accepts: while the daemon's GMainContext is iterated by somebody
 * else, a GSocket source in that context accepts and hands each connection
 * to a worker.  While pyro_daemon_request_loop() runs, the workers accept
 * themselves ("leader/followers"): one pool thread, the leader, waits for
 * the next client, serves the one it accepted, and comes back for the
 * next; if it is kept busy longer than a lease of a millisecond, another
 * pool thread takes its role.  That saves waking a second thread for every
 * new connection, the largest cost of a short one.
 */
/* accept4() */
#define _GNU_SOURCE
#include "pyro-channel-private.h"
#include "pyro-daemon-private.h"
#include "pyro-json-private.h"
#include "pyro-message-private.h"
#include "pyro-stream-private.h"
#include "pyro-type-cache-private.h"
#include "pyro-wait-private.h"

#include <errno.h>
#include <math.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/timerfd.h>
#endif

struct _PyroDaemon
{
  GObject         parent_instance;

  GMainContext   *context;       /* where connections are accepted */
  GMainLoop      *loop;          /* run by pyro_daemon_request_loop() */
  GSocket        *listener;      /* the listening socket, non-blocking */
  GSource        *accept_source; /* wakes the context when clients knock */
  char           *host;
  guint16         port;
  gsize           max_message_size;
  guint           timeout;       /* seconds a client may keep us waiting; 0: forever */
  PyroStreamTable *streams;
  GBytes         *hmac_key;

  GMutex          lock;          /* guards everything below */
  GCond           workers_done;  /* signalled when n_workers drops to 0 */
  GHashTable     *objects;       /* object id -> PyroRegistration */
  GHashTable     *connections;   /* set of GSocket being served */
  GThreadPool    *pool;
  guint           pool_size;
  GThreadPool    *oneway_pool;   /* runs oneway calls (ONEWAY_THREADED); made when first needed */
  gboolean        oneway_threaded;
  guint           n_workers;
  guint           n_leaders;     /* pool threads waiting for clients or about to (request loop) */
  GCancellable   *stop_leading;  /* wakes them when the daemon shuts down */
  PyroSpin        accept_spin;   /* how the leader's waits for clients went */
  guint64         lease;         /* the serving leader's lease, 0 if the leader waits */
  guint64         last_lease;    /* the number of the lease given last */
  gint64          lease_start;   /* when the current lease began (monotonic us) */
  int             lease_timer;   /* timer fd that ends leases, -1 if none */
  GSource        *lease_source;  /* watches it in the daemon's context */
  gboolean        shutting_down;
  guint           signal_ids[2];
};

G_DEFINE_TYPE (PyroDaemon, pyro_daemon, G_TYPE_OBJECT)

/* Set in worker threads, so shutdown() called from inside a method does
 * not wait for its own thread to finish. */
static GPrivate current_daemon_worker;

/* A reference pyro_daemon_shutdown() took in a worker, from inside a
 * method, for worker_run() to drop when its task is over: it may be the
 * last one, and the worker still uses the daemon until then. */
static GPrivate deferred_unref;

/* Set while a pool thread runs one of the daemon's tasks: dispose, run by
 * a last reference dropped there, cannot wait for its own pool. */
static GPrivate current_pool_daemon;

/* ---- registrations ------------------------------------------------------ */

PyroRegistration *
pyro_registration_ref (PyroRegistration *registration)
{
  g_atomic_ref_count_inc (&registration->ref_count);
  return registration;
}

void
pyro_registration_unref (PyroRegistration *registration)
{
  if (!g_atomic_ref_count_dec (&registration->ref_count))
    return;

  /* A registered class owns its single instance; a registered object
   * belongs to the caller. */
  if (registration->is_class && registration->instance != NULL &&
      registration->klass->instance_new != NULL && registration->klass->instance_free != NULL)
    registration->klass->instance_free (registration->instance);
  g_mutex_clear (&registration->single_lock);
  g_variant_unref (registration->metadata);
  g_free (registration->metadata_json);
  g_free (registration->object_id);
  g_free (registration);
}

/* Every call of a method makes values of its argument and result types:
 * GLib's descriptions of those types are kept, instead of being built
 * anew for every call (pyro-type-cache-private.h). */
static void
keep_method_types (const PyroClass *klass)
{
  for (const PyroMethod *m = klass->methods; m != NULL && m->name != NULL; m++)
    {
      pyro_type_cache_keep (G_VARIANT_TYPE (m->in_signature ? m->in_signature : "()"));
      if (m->out_signature != NULL)
        pyro_type_cache_keep (G_VARIANT_TYPE (m->out_signature));
    }
}

/* Checks a class table once, at registration, so that a broken table is a
 * programming error reported right away, not a puzzling failure per call. */
static gboolean
class_is_valid (const PyroClass *klass, GError **error)
{
  for (const PyroMethod *m = klass->methods; m != NULL && m->name != NULL; m++)
    {
      const char *in = m->in_signature ? m->in_signature : "()";
      if (!g_variant_type_string_is_valid (in) || !g_variant_type_is_tuple (G_VARIANT_TYPE (in)) ||
          (m->out_signature != NULL && !g_variant_type_string_is_valid (m->out_signature)) ||
          m->func == NULL)
        {
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON,
                       "class %s, method %s: in_signature must be a tuple type, out_signature a type, func set",
                       klass->name, m->name);
          return FALSE;
        }
    }
  for (const PyroAttribute *a = klass->attributes; a != NULL && a->name != NULL; a++)
    if (a->signature == NULL || !g_variant_type_string_is_valid (a->signature) || a->get == NULL)
      {
        g_set_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON,
                     "class %s, attribute %s: needs a valid signature and a getter", klass->name, a->name);
        return FALSE;
      }
  return TRUE;
}

static GVariant *
name_list (const PyroClass *klass, gboolean methods, gboolean oneway_only)
{
  GVariantBuilder names;
  g_variant_builder_init (&names, G_VARIANT_TYPE_STRING_ARRAY);
  if (methods)
    {
      for (const PyroMethod *m = klass->methods; m != NULL && m->name != NULL; m++)
        if (!oneway_only || (m->flags & PYRO_METHOD_ONEWAY))
          g_variant_builder_add (&names, "s", m->name);
    }
  else
    {
      for (const PyroAttribute *a = klass->attributes; a != NULL && a->name != NULL; a++)
        g_variant_builder_add (&names, "s", a->name);
    }
  return g_variant_builder_end (&names);
}

/* Pyro4's metadata dict {"methods": [...], "oneway": [...], "attrs": [...]}
 * for @klass, as an "a{sv}". (transfer floating) */
static GVariant *
class_metadata (const PyroClass *klass)
{
  GVariantBuilder meta;
  g_variant_builder_init (&meta, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&meta, "{sv}", "methods", name_list (klass, TRUE, FALSE));
  g_variant_builder_add (&meta, "{sv}", "oneway", name_list (klass, TRUE, TRUE));
  g_variant_builder_add (&meta, "{sv}", "attrs", name_list (klass, FALSE, FALSE));
  return g_variant_builder_end (&meta);
}

static PyroUri *
register_common (PyroDaemon      *daemon,
                 const PyroClass *klass,
                 gboolean         is_class,
                 gpointer         data,
                 const char      *object_id,
                 GError         **error)
{
  if (!class_is_valid (klass, error))
    return NULL;
  keep_method_types (klass);

  g_autofree char *id = NULL;
  if (object_id != NULL)
    id = g_strdup (object_id);
  else
    {
      /* Pyro4's automatic ids: "obj_" + a uuid4 as 32 hex digits. */
      g_autofree char *uuid = g_uuid_string_random ();
      g_autoptr(GString) hex = g_string_new ("obj_");
      for (const char *c = uuid; *c; c++)
        if (*c != '-')
          g_string_append_c (hex, *c);
      id = g_string_free (g_steal_pointer (&hex), FALSE);
    }

  g_mutex_lock (&daemon->lock);
  if (g_hash_table_contains (daemon->objects, id))
    {
      g_mutex_unlock (&daemon->lock);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON, "object or class already registered: '%s'", id);
      return NULL;
    }

  PyroRegistration *reg = g_new0 (PyroRegistration, 1);
  g_atomic_ref_count_init (&reg->ref_count);
  g_mutex_init (&reg->single_lock);
  reg->object_id = g_strdup (id);
  reg->klass = klass;
  /* A class table never changes, so neither does its metadata: made here
   * once instead of on every handshake (where it was most of the work). */
  reg->metadata = g_variant_ref_sink (class_metadata (klass));
  GString *json = g_string_new (NULL);
  pyro_json_write_variant (json, reg->metadata, NULL);
  reg->metadata_json = g_string_free (json, FALSE);
  reg->is_class = is_class;
  if (is_class)
    reg->class_data = data;
  else
    reg->instance = data;
  g_hash_table_insert (daemon->objects, reg->object_id, reg);
  g_mutex_unlock (&daemon->lock);

  g_debug ("registered %s (%s)", id, klass->name);
  return pyro_daemon_uri_for (daemon, id);
}

PyroUri *
pyro_daemon_register_object (PyroDaemon      *daemon,
                             const PyroClass *klass,
                             gpointer         instance,
                             const char      *object_id,
                             GError         **error)
{
  g_return_val_if_fail (PYRO_IS_DAEMON (daemon), NULL);
  g_return_val_if_fail (klass != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return register_common (daemon, klass, FALSE, instance, object_id, error);
}

PyroUri *
pyro_daemon_register_class (PyroDaemon      *daemon,
                            const PyroClass *klass,
                            gpointer         class_data,
                            const char      *object_id,
                            GError         **error)
{
  g_return_val_if_fail (PYRO_IS_DAEMON (daemon), NULL);
  g_return_val_if_fail (klass != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return register_common (daemon, klass, TRUE, class_data, object_id, error);
}

gboolean
pyro_daemon_unregister (PyroDaemon *daemon, const char *object_id)
{
  g_return_val_if_fail (PYRO_IS_DAEMON (daemon), FALSE);
  g_return_val_if_fail (object_id != NULL, FALSE);

  /* The daemon's own object stays, as in Pyro4. */
  if (strcmp (object_id, PYRO_DAEMON_OBJECT_ID) == 0)
    return FALSE;

  g_mutex_lock (&daemon->lock);
  PyroRegistration *reg = g_hash_table_lookup (daemon->objects, object_id);
  if (reg != NULL)
    g_hash_table_steal (daemon->objects, object_id);
  g_mutex_unlock (&daemon->lock);

  /* Dropped outside the lock: the last reference frees a single instance
   * with the class's instance_free(), which may well call the daemon
   * (unregister the objects it registered, say). */
  if (reg == NULL)
    return FALSE;
  pyro_registration_unref (reg);
  return TRUE;
}

PyroRegistration *
pyro_daemon_lookup (PyroDaemon *daemon, const char *object_id)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&daemon->lock);
  PyroRegistration *reg = g_hash_table_lookup (daemon->objects, object_id);
  return reg ? pyro_registration_ref (reg) : NULL;
}

GVariant *
pyro_daemon_list_object_ids (PyroDaemon *daemon)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&daemon->lock);
  GVariantBuilder ids;
  GHashTableIter iter;
  gpointer key;

  g_variant_builder_init (&ids, G_VARIANT_TYPE_STRING_ARRAY);
  g_hash_table_iter_init (&iter, daemon->objects);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_variant_builder_add (&ids, "s", key);
  return g_variant_builder_end (&ids);
}

GVariant *
pyro_daemon_describe (PyroDaemon *daemon)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&daemon->lock);
  return g_variant_new_take_string (
    g_strdup_printf ("Pyro.Daemon bound on %s:%u, NAT None, %u objects registered. "
                     "Servertype: <libpyro threadpool on %s:%u; %u workers>",
                     daemon->host, daemon->port, g_hash_table_size (daemon->objects),
                     daemon->host, daemon->port, daemon->n_workers));
}

/* ---- HMAC and proxies to our objects ------------------------------------- */

void
pyro_daemon_set_hmac_key (PyroDaemon *daemon, const char *key)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));

  g_clear_pointer (&daemon->hmac_key, g_bytes_unref);
  /* Pyro4 treats an empty key as no key at all. */
  if (key != NULL && key[0] != '\0')
    daemon->hmac_key = g_bytes_new (key, strlen (key));
}

GBytes *
pyro_daemon_get_hmac_key (PyroDaemon *daemon)
{
  return daemon->hmac_key;
}

/* Pyro4 puts the HMAC key into a proxy's state as "b64:<base64>". */
static GVariant *
hmac_state (PyroDaemon *daemon)
{
  if (daemon->hmac_key == NULL)
    return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);
  gsize len;
  const guchar *data = g_bytes_get_data (daemon->hmac_key, &len);
  g_autofree char *b64 = g_base64_encode (data, len);
  return g_variant_new_take_string (g_strconcat ("b64:", b64, NULL));
}

GVariant *
pyro_daemon_proxy_for (PyroDaemon *daemon, const char *object_id, GError **error)
{
  g_return_val_if_fail (PYRO_IS_DAEMON (daemon), NULL);
  g_return_val_if_fail (object_id != NULL, NULL);

  g_autoptr(PyroRegistration) reg = pyro_daemon_lookup (daemon, object_id);
  if (reg == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON, "unknown object '%s'", object_id);
      return NULL;
    }

  /* state: [uri, oneway, methods, attrs, timeout, hmac, handshake, maxretries, serializer] */
  g_autoptr(PyroUri) uri = pyro_daemon_uri_for (daemon, object_id);
  GVariant *state[] = {
    g_variant_new_variant (g_variant_new_string (pyro_uri_to_string (uri))),
    g_variant_new_variant (name_list (reg->klass, TRUE, TRUE)),
    g_variant_new_variant (name_list (reg->klass, TRUE, FALSE)),
    g_variant_new_variant (name_list (reg->klass, FALSE, FALSE)),
    g_variant_new_variant (g_variant_new_double (0.0)),
    g_variant_new_variant (hmac_state (daemon)),
    g_variant_new_variant (g_variant_new_string ("hello")),
    g_variant_new_variant (g_variant_new_int64 (0)),
    g_variant_new_variant (g_variant_new_string ("json")),
  };
  GVariantBuilder dict;
  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "__class__", g_variant_new_string ("Pyro4.core.Proxy"));
  g_variant_builder_add (&dict, "{sv}", "state", g_variant_new_array (G_VARIANT_TYPE_VARIANT, state, G_N_ELEMENTS (state)));
  return g_variant_builder_end (&dict);
}

/* ---- item streams (pyro-stream-table.c) ------------------------------------ */

PyroStreamTable *
pyro_daemon_get_streams (PyroDaemon *daemon)
{
  return daemon->streams;
}

GVariant *
pyro_daemon_next_stream_item (PyroDaemon *daemon, const char *stream_id, GError **error)
{
  return pyro_stream_table_next (daemon->streams, stream_id, error);
}

void
pyro_daemon_close_stream (PyroDaemon *daemon, const char *stream_id)
{
  pyro_stream_table_close (daemon->streams, stream_id);
}

void
pyro_daemon_set_stream_limits (PyroDaemon *daemon, double linger_seconds, double lifetime_seconds)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));
  g_return_if_fail (linger_seconds >= 0 && lifetime_seconds >= 0);

  pyro_stream_table_set_limits (daemon->streams, linger_seconds, lifetime_seconds);
}

/* ---- accepting connections ------------------------------------------------ */

static void
set_nodelay (GSocket *connection)
{
  /* Each message goes out in one write; without TCP_NODELAY, Nagle's
   * algorithm and delayed ACKs would add tens of milliseconds per call. */
  g_socket_set_option (connection, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

/* Pyro4's refusal when every worker is busy, sent before any handshake,
 * so in marshal. */
static void
refuse_connection (PyroDaemon *daemon, GSocket *connection, const char *reason)
{
  g_autoptr(GBytes) body = pyro_marshal_string (reason);
  g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_CONNECTFAIL, 0, 0, PYRO_SERIALIZER_MARSHAL, body);
  g_autoptr(PyroChannel) channel = pyro_channel_new (connection);

  pyro_channel_write (channel, msg, daemon->hmac_key, NULL, NULL);
  g_socket_close (connection, NULL);
}

/* Serves an admitted @connection (consumed) to its end. */
static void
serve_connection (PyroDaemon *daemon, GSocket *connection)
{
  g_private_set (&current_daemon_worker, daemon);
  pyro_server_connection_run (daemon, connection);
  g_private_set (&current_daemon_worker, NULL);

  g_mutex_lock (&daemon->lock);
  g_hash_table_remove (daemon->connections, connection);
  daemon->n_workers--;
  gboolean idle = daemon->n_workers == 0;
  /* Only pyro_daemon_shutdown() waits for that; a broadcast nobody waits
   * for still costs a system call. */
  if (idle && daemon->shutting_down)
    g_cond_broadcast (&daemon->workers_done);
  g_mutex_unlock (&daemon->lock);
  g_object_unref (connection);

  /* A daemon that has nobody to serve need not keep the megabytes a big
   * request or reply left behind; a busy one keeps them for the next. */
  if (idle)
    pyro_message_release_memory ();
}

/* Takes @connection on as a worker's if the daemon is open and a worker is
 * free (TRUE); otherwise closes it, or refuses it as Pyro4 does. */
static gboolean
admit_connection (PyroDaemon *daemon, GSocket *connection)
{
  g_mutex_lock (&daemon->lock);
  if (daemon->shutting_down)
    {
      g_mutex_unlock (&daemon->lock);
      g_socket_close (connection, NULL);
      return FALSE;
    }
  if (daemon->n_workers >= daemon->pool_size)
    {
      g_mutex_unlock (&daemon->lock);
      g_debug ("refusing a connection: all %u workers busy", daemon->pool_size);
      refuse_connection (daemon, connection, "no free workers, increase server threadpool size");
      return FALSE;
    }
  daemon->n_workers++;
  g_hash_table_add (daemon->connections, g_object_ref (connection));
  g_mutex_unlock (&daemon->lock);

  set_nodelay (connection);
  return TRUE;
}

/* The next waiting client, or NULL if none is waiting (or accept failed).
 * We call accept4() ourselves because it gives the new descriptor its
 * close-on-exec flag at once; g_socket_accept() in GLib 2.74 sets it
 * afterwards, two more system calls for every connection.  A client is a
 * bare GSocket: its messages go through a PyroChannel, so the streams of
 * a GSocketConnection would only cost their making and freeing. */
static GSocket *
accept_connection (PyroDaemon *daemon)
{
  int fd = accept4 (g_socket_get_fd (daemon->listener), NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        g_debug ("accept failed: %s", g_strerror (errno));
      return NULL;
    }

  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);
  if (socket == NULL)
    {
      g_debug ("cannot use an accepted socket: %s", error->message);
      close (fd);
      return NULL;
    }
  /* The listener is non-blocking and so is what GLib makes; workers block,
   * for at most the daemon's timeout at a time. */
  g_socket_set_blocking (socket, TRUE);
  g_socket_set_timeout (socket, g_atomic_int_get (&daemon->timeout));
  return g_steal_pointer (&socket);
}

/* ---- accepting in the pool (leader/followers) ---------------------------- */

/* While pyro_daemon_request_loop() runs, one pool thread at a time is the
 * leader: it waits for the next client, accepts it, serves it itself and
 * then comes back to wait for the next.  Clients that come one after the
 * other (connect, call, close) are so served by one thread that never
 * wakes another; waking a sleeping thread costs more than a whole short
 * connection here.
 *
 * While the leader serves, nobody waits for clients.  So the leader holds
 * its role on a lease of LEASE_USEC: if it is not back by then (a long
 * conversation, a slow method, a method that itself waits for another
 * client of this daemon), the daemon's context takes the role from it and
 * gives it to another pool thread (pass_lead_on()), and the old leader
 * returns to the pool when its client is done.  A new client waits at most
 * that long for a leader.  The lease is a Linux timer file descriptor:
 * the kernel keeps the time, so arming it costs one system call and wakes
 * nobody; only a lease that runs out wakes the context.  (Go's scheduler
 * takes a processor back from a thread stuck in a system call likewise.)
 * Where there is no such timer, the leader passes its role on as soon as
 * it has accepted a client. */
#define LEASE_USEC 1000

/* The pool task that means "lead" rather than "serve this connection". */
static const char lead_task[] = "lead";

/* What a look for the next client found (see wait_for_client()). */
typedef struct
{
  PyroDaemon *daemon;
  GSocket    *connection;
} Knock;

static gboolean
accept_without_waiting (gpointer data)
{
  Knock *knock = data;
  knock->connection = accept_connection (knock->daemon);
  return knock->connection != NULL;
}

/* Waits for the next client; NULL once the daemon shuts down.  Like a
 * wait for a message, it first looks for one for a short while: when
 * clients come one after the other, the next is usually on its way. */
static GSocket *
wait_for_client (PyroDaemon *daemon)
{
  Knock knock = { daemon, NULL };
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      if (!pyro_spin_wait (daemon->listener, &daemon->accept_spin, accept_without_waiting, &knock, -1,
                           daemon->stop_leading, &error))
        {
          /* Shutdown cancels the wait; anything else would leave the
           * daemon deaf, which must not pass unnoticed. */
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_warning ("daemon on port %u stops accepting: %s", daemon->port, error->message);
          return NULL;
        }
      if (knock.connection == NULL)
        knock.connection = accept_connection (daemon);
      if (knock.connection != NULL)
        return knock.connection;
    }
}

/* Makes another pool thread the leader (unless the daemon shuts down);
 * the current one, serving lease @daemon->lease, will not come back.
 * Call with the lock held. */
static void
pass_lead_on (PyroDaemon *daemon)
{
  daemon->lease = 0;
  if (daemon->shutting_down)
    return;
  daemon->n_leaders++;
  g_thread_pool_push (daemon->pool, (gpointer) lead_task, NULL);
}

/* Starts the leader's lease: FALSE if there is no lease timer. */
static gboolean
start_lease (PyroDaemon *daemon)
{
#ifdef __linux__
  struct itimerspec lease = { .it_value = { 0, LEASE_USEC * 1000 } };
  return daemon->lease_timer >= 0 && timerfd_settime (daemon->lease_timer, 0, &lease, NULL) == 0;
#else
  return FALSE;
#endif
}

/* In the daemon's context: a lease ran out.  If the leader is still busy
 * with the client it took then, the role goes to another thread. */
static gboolean
on_lease_over (gint fd, GIOCondition condition, gpointer user_data)
{
  PyroDaemon *daemon = user_data;
  guint64 expirations;

  /* Reading the count is what makes the timer stop being readable. */
  if (read (fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
    g_warning ("cannot read the daemon's lease timer: %s", g_strerror (errno));

  g_mutex_lock (&daemon->lock);
  /* The leader may have come back and taken a new client since: then the
   * timer runs for that client's lease, from its start. */
  if (daemon->lease != 0 &&
      g_get_monotonic_time () - daemon->lease_start >= LEASE_USEC)
    pass_lead_on (daemon);
  g_mutex_unlock (&daemon->lock);
  return G_SOURCE_CONTINUE;
}

/* The leader has a client (@have_client) or is told to stop (shutdown):
 * it no longer waits for clients.  Returns the lease it now serves on, or
 * 0 if it stops. */
static guint64
begin_lease (PyroDaemon *daemon, gboolean have_client)
{
  g_mutex_lock (&daemon->lock);
  daemon->n_leaders--;
  guint64 lease = 0;
  if (have_client && !daemon->shutting_down)
    {
      lease = daemon->lease = ++daemon->last_lease;
      daemon->lease_start = g_get_monotonic_time ();
    }
  else
    g_cond_broadcast (&daemon->workers_done);
  g_mutex_unlock (&daemon->lock);

  /* Armed outside the lock (a system call); a timer that ran for an
   * earlier lease finds this one too young (on_lease_over()).  Without a
   * timer nobody would end the lease: pass the role on now. */
  if (lease != 0 && !start_lease (daemon))
    {
      g_mutex_lock (&daemon->lock);
      if (daemon->lease == lease)
        pass_lead_on (daemon);
      g_mutex_unlock (&daemon->lock);
    }
  return lease;
}

/* The leader's client is done: TRUE if the role is still its own, and so
 * it waits for the next client again. */
static gboolean
end_lease (PyroDaemon *daemon, guint64 lease)
{
  g_mutex_lock (&daemon->lock);
  gboolean still_leader = daemon->lease == lease;
  if (still_leader)
    daemon->lease = 0;
  gboolean come_back = still_leader && !daemon->shutting_down;
  if (come_back)
    daemon->n_leaders++;
  g_mutex_unlock (&daemon->lock);
  return come_back;
}

/* The leader's task: accept a client, serve it, and come back for the
 * next, as long as the role is still ours. */
static void
lead (PyroDaemon *daemon)
{
  for (;;)
    {
      g_autoptr(GSocket) connection = wait_for_client (daemon);
      guint64 lease = begin_lease (daemon, connection != NULL);
      if (lease == 0)
        return;

      if (admit_connection (daemon, connection))
        serve_connection (daemon, g_steal_pointer (&connection));

      if (!end_lease (daemon, lease))
        return;
    }
}

/* Moves accepting from the context's source into the pool. */
static void
start_leading (PyroDaemon *daemon)
{
  g_mutex_lock (&daemon->lock);
  if (!daemon->shutting_down && daemon->n_leaders == 0)
    {
      g_source_destroy (daemon->accept_source);
#ifdef __linux__
      if (daemon->lease_timer < 0)
        daemon->lease_timer = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      if (daemon->lease_timer >= 0 && daemon->lease_source == NULL)
        {
          daemon->lease_source = g_unix_fd_source_new (daemon->lease_timer, G_IO_IN);
          g_source_set_callback (daemon->lease_source, G_SOURCE_FUNC (on_lease_over), daemon, NULL);
          g_source_set_can_recurse (daemon->lease_source, TRUE);  /* as the accept source */
          g_source_attach (daemon->lease_source, daemon->context);
        }
#endif
      daemon->n_leaders = 1;
      g_thread_pool_push (daemon->pool, (gpointer) lead_task, NULL);
    }
  g_mutex_unlock (&daemon->lock);
}

/* A pool task: lead, or serve a connection handed over by the context. */
static void
worker_run (gpointer data, gpointer user_data)
{
  PyroDaemon *daemon = user_data;

  g_private_set (&current_pool_daemon, daemon);
  if (data == lead_task)
    lead (daemon);
  else
    serve_connection (daemon, data);

  /* Last: this may free the daemon (see deferred_unref). */
  PyroDaemon *shut_down_here = g_private_get (&deferred_unref);
  g_private_set (&deferred_unref, NULL);
  if (shut_down_here != NULL)
    g_object_unref (shut_down_here);
  g_private_set (&current_pool_daemon, NULL);
}

/* ---- accepting in the daemon's context ------------------------------------ */

/* The listening socket is readable: accept every waiting client.
 * (We run our own accept source rather than GSocketService, whose
 * cancellable-based accept leaks a source per stop in GLib 2.74.) */
static gboolean
on_incoming (GSocket *listener, GIOCondition condition, gpointer user_data)
{
  PyroDaemon *daemon = user_data;
  GSocket *connection;

  while ((connection = accept_connection (daemon)) != NULL)
    {
      if (admit_connection (daemon, connection))
        g_thread_pool_push (daemon->pool, g_object_ref (connection), NULL);
      g_object_unref (connection);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- creating ------------------------------------------------------------- */

/* Pyro4 binds the first address the host name resolves to, IPv4 first. */
static GInetAddress *
resolve_bind_address (const char *host, GError **error)
{
  GInetAddress *literal = g_inet_address_new_from_string (host);
  if (literal != NULL)
    return literal;

  GResolver *resolver = g_resolver_get_default ();
  GList *addresses = g_resolver_lookup_by_name (resolver, host, NULL, error);
  g_object_unref (resolver);
  if (addresses == NULL)
    return NULL;

  GInetAddress *chosen = addresses->data;
  for (GList *a = addresses; a != NULL; a = a->next)
    if (g_inet_address_get_family (a->data) == G_SOCKET_FAMILY_IPV4)
      {
        chosen = a->data;
        break;
      }
  g_object_ref (chosen);
  g_resolver_free_addresses (addresses);
  return chosen;
}

static gboolean
start_listening (PyroDaemon *daemon, guint16 port, GError **error)
{
  g_autoptr(GInetAddress) address = resolve_bind_address (daemon->host, error);
  if (address == NULL)
    return FALSE;

  g_autoptr(GSocketAddress) wanted = g_inet_socket_address_new (address, port);
  daemon->listener = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                                   G_SOCKET_PROTOCOL_TCP, error);
  if (daemon->listener == NULL)
    return FALSE;
  /* allow_reuse: a restarted daemon can take its port back at once (Pyro4's SOCK_REUSE). */
  if (!g_socket_bind (daemon->listener, wanted, TRUE, error) || !g_socket_listen (daemon->listener, error))
    return FALSE;

  g_autoptr(GSocketAddress) effective = g_socket_get_local_address (daemon->listener, error);
  if (effective == NULL)
    return FALSE;
  daemon->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));

  g_socket_set_blocking (daemon->listener, FALSE);
  daemon->accept_source = g_socket_create_source (daemon->listener, G_IO_IN, NULL);
  g_source_set_callback (daemon->accept_source, G_SOURCE_FUNC (on_incoming), daemon, NULL);
  /* While a source is dispatched, GLib takes its fd out of the context's
   * poll set and puts it back afterwards, waking the context each time
   * (two writes to its eventfd, one more poll() and a read per accept).
   * on_incoming() never iterates the context, so that guard is not needed. */
  g_source_set_can_recurse (daemon->accept_source, TRUE);
  g_source_attach (daemon->accept_source, daemon->context);
  return TRUE;
}

PyroDaemon *
pyro_daemon_new (const char *host, guint16 port, GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(PyroDaemon) daemon = g_object_new (PYRO_TYPE_DAEMON, NULL);
  daemon->host = g_strdup (host ? host : "localhost");

  g_autoptr(GError) local = NULL;
  if (!start_listening (daemon, port, &local))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION, "cannot listen on %s:%u: %s",
                   daemon->host, port, local->message);
      return NULL;
    }

  daemon->pool = g_thread_pool_new (worker_run, daemon, -1, FALSE, NULL);
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &pyro_daemon_object_class, daemon,
                                                         PYRO_DAEMON_OBJECT_ID, NULL);
  g_debug ("daemon listening on %s:%u", daemon->host, daemon->port);
  return g_steal_pointer (&daemon);
}

static void
pyro_daemon_init (PyroDaemon *daemon)
{
  g_mutex_init (&daemon->lock);
  g_cond_init (&daemon->workers_done);
  daemon->context = g_main_context_ref_thread_default ();
  daemon->loop = g_main_loop_new (daemon->context, FALSE);
  daemon->streams = pyro_stream_table_new (daemon->context);
  daemon->objects = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) pyro_registration_unref);
  daemon->connections = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  daemon->pool_size = PYRO_DAEMON_DEFAULT_POOL_SIZE;
  daemon->oneway_threaded = FALSE;  /* see pyro_daemon_set_oneway_threaded() */
  daemon->stop_leading = g_cancellable_new ();
  daemon->lease_timer = -1;
  /* GCancellable makes its file descriptor when a wait needs it and closes
   * it after: for the leader's wait, once per client.  Holding one use of
   * it for the daemon's life keeps the same descriptor. */
  g_cancellable_get_fd (daemon->stop_leading);
}

/* ---- running and stopping ------------------------------------------------- */

void
pyro_daemon_request_loop (PyroDaemon *daemon)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));

  g_mutex_lock (&daemon->lock);
  gboolean stopped = daemon->shutting_down;
  g_mutex_unlock (&daemon->lock);
  if (stopped)
    return;

  g_main_context_push_thread_default (daemon->context);
  start_leading (daemon);
  g_main_loop_run (daemon->loop);
  g_main_context_pop_thread_default (daemon->context);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
pyro_daemon_shutdown (PyroDaemon *daemon)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));

  /* The thread that runs the request loop may drop the last reference to
   * the daemon as soon as the loop returns, which our quit below makes
   * happen, perhaps before g_main_context_invoke_full() itself has
   * returned.  So the daemon (and its context) must live until we are
   * done with it. */
  g_object_ref (daemon);

  g_mutex_lock (&daemon->lock);
  gboolean first_time = !daemon->shutting_down;
  daemon->shutting_down = TRUE;
  if (first_time)
    {
      g_debug ("daemon on port %u shutting down", daemon->port);
      if (daemon->accept_source != NULL)
        g_source_destroy (daemon->accept_source);
      if (daemon->lease_source != NULL)
        g_source_destroy (daemon->lease_source);
      /* A pool thread waiting for clients stops before the socket closes. */
      g_cancellable_cancel (daemon->stop_leading);
      while (daemon->n_leaders > 0)
        g_cond_wait (&daemon->workers_done, &daemon->lock);
      if (daemon->listener != NULL)
        g_socket_close (daemon->listener, NULL);
      /* Wake every worker blocked in a read: it sees end-of-file and ends. */
      GHashTableIter iter;
      gpointer connection;
      g_hash_table_iter_init (&iter, daemon->connections);
      while (g_hash_table_iter_next (&iter, &connection, NULL))
        g_socket_shutdown (connection, TRUE, TRUE, NULL);
    }

  /* A method may shut its own daemon down: then its worker cannot wait for
   * itself.  Everybody else waits until the running calls are over. */
  gboolean from_method = g_private_get (&current_daemon_worker) == daemon;
  if (!from_method)
    while (daemon->n_workers > 0)
      g_cond_wait (&daemon->workers_done, &daemon->lock);
  g_mutex_unlock (&daemon->lock);

  /* Quit through an idle source, always, even from a thread that could
   * run quit_loop() at once (as g_main_context_invoke() would): the loop
   * may be about to start, and g_main_loop_run() forgets a quit that came
   * before it.  The source quits it as soon as it runs. */
  if (first_time)
    {
      GSource *quit = g_idle_source_new ();
      g_source_set_priority (quit, G_PRIORITY_HIGH);
      g_source_set_callback (quit, quit_loop, g_main_loop_ref (daemon->loop), (GDestroyNotify) g_main_loop_unref);
      g_source_attach (quit, daemon->context);
      g_source_unref (quit);
    }

  /* From a method, our reference may be the last one by now (the request
   * loop's thread may have dropped its own as soon as the loop quit), and
   * the worker goes on using the daemon after the method: it drops the
   * reference when it is done (worker_run()). */
  if (from_method && g_private_get (&deferred_unref) == NULL)
    g_private_set (&deferred_unref, daemon);
  else
    g_object_unref (daemon);
}

static gboolean
on_unix_signal (gpointer data)
{
  pyro_daemon_shutdown (data);
  return G_SOURCE_CONTINUE;
}

void
pyro_daemon_stop_on_unix_signals (PyroDaemon *daemon)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));

  const int signals[2] = { SIGINT, SIGTERM };
  for (int i = 0; i < 2; i++)
    {
      if (daemon->signal_ids[i] != 0)
        continue;
      GSource *source = g_unix_signal_source_new (signals[i]);
      g_source_set_callback (source, on_unix_signal, daemon, NULL);
      daemon->signal_ids[i] = g_source_attach (source, daemon->context);
      g_source_unref (source);
    }
}

/* ---- properties ----------------------------------------------------------- */

PyroUri *
pyro_daemon_uri_for (PyroDaemon *daemon, const char *object_id)
{
  g_return_val_if_fail (PYRO_IS_DAEMON (daemon), NULL);
  g_return_val_if_fail (object_id != NULL, NULL);

  return pyro_uri_new (object_id, daemon->host, daemon->port);
}

const char *
pyro_daemon_get_host (PyroDaemon *daemon)
{
  g_return_val_if_fail (PYRO_IS_DAEMON (daemon), NULL);
  return daemon->host;
}

guint16
pyro_daemon_get_port (PyroDaemon *daemon)
{
  g_return_val_if_fail (PYRO_IS_DAEMON (daemon), 0);
  return daemon->port;
}

void
pyro_daemon_set_max_message_size (PyroDaemon *daemon, gsize max_size)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));
  daemon->max_message_size = max_size;
}

void
pyro_daemon_set_timeout (PyroDaemon *daemon, double seconds)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));
  g_return_if_fail (seconds >= 0);
  /* GSocket counts whole seconds. */
  g_atomic_int_set (&daemon->timeout, seconds > 0 ? (guint) ceil (seconds) : 0);
}

gsize
pyro_daemon_get_max_message_size (PyroDaemon *daemon)
{
  return daemon->max_message_size;
}

void
pyro_daemon_set_oneway_threaded (PyroDaemon *daemon, gboolean threaded)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&daemon->lock);
  daemon->oneway_threaded = threaded;
}

gboolean
pyro_daemon_run_oneway (PyroDaemon *daemon, GFunc run, gpointer call)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&daemon->lock);
  if (!daemon->oneway_threaded)
    return FALSE;
  /* Pyro4 starts a new thread for every oneway call.  Here at most as many
   * run at once as the daemon serves connections, and the threads are
   * kept for the next calls: a flood of short oneway calls would
   * otherwise start a thread for nearly every one, which made them 2.5
   * times slower (make bench's oneway row). */
  if (daemon->oneway_pool == NULL)
    daemon->oneway_pool = g_thread_pool_new (run, NULL, daemon->pool_size, FALSE, NULL);
  g_thread_pool_push (daemon->oneway_pool, call, NULL);
  return TRUE;
}

void
pyro_daemon_set_pool_size (PyroDaemon *daemon, guint pool_size)
{
  g_return_if_fail (PYRO_IS_DAEMON (daemon));
  g_return_if_fail (pool_size > 0);

  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&daemon->lock);
  daemon->pool_size = pool_size;
  if (daemon->oneway_pool != NULL)
    g_thread_pool_set_max_threads (daemon->oneway_pool, pool_size, NULL);
}

PyroDaemon *
pyro_invocation_get_daemon (PyroInvocation *invocation)
{
  return invocation->daemon;
}

const char *
pyro_invocation_get_object_id (PyroInvocation *invocation)
{
  return invocation->registration->object_id;
}

const char *
pyro_invocation_get_method_name (PyroInvocation *invocation)
{
  return invocation->method_name;
}

gboolean
pyro_invocation_is_oneway (PyroInvocation *invocation)
{
  return invocation->oneway;
}

static void
pyro_daemon_dispose (GObject *object)
{
  PyroDaemon *daemon = PYRO_DAEMON (object);

  pyro_daemon_shutdown (daemon);
  for (int i = 0; i < 2; i++)
    if (daemon->signal_ids[i] != 0)
      {
        GSource *source = g_main_context_find_source_by_id (daemon->context, daemon->signal_ids[i]);
        if (source != NULL)
          g_source_destroy (source);
        daemon->signal_ids[i] = 0;
      }
  /* Each oneway call holds a reference to the daemon, so none is left to
   * run; but the last one may be finishing in this very pool's thread,
   * which cannot wait for itself: GLib frees the pool when it is done. */
  if (daemon->oneway_pool != NULL)
    {
      g_thread_pool_free (daemon->oneway_pool, FALSE, FALSE);
      daemon->oneway_pool = NULL;
    }
  if (daemon->pool != NULL)
    {
      /* Dropped in one of its own threads (a worker whose method shut the
       * daemon down), the pool cannot wait for that thread: GLib frees it
       * when its threads are done.  The others have ended already: the
       * shutdown above waited for them. */
      gboolean in_own_thread = g_private_get (&current_pool_daemon) == daemon;
      g_thread_pool_free (daemon->pool, FALSE, !in_own_thread);
      daemon->pool = NULL;
    }
  g_clear_pointer (&daemon->accept_source, g_source_unref);
  g_clear_pointer (&daemon->lease_source, g_source_unref);
  g_clear_object (&daemon->listener);
  G_OBJECT_CLASS (pyro_daemon_parent_class)->dispose (object);
}

static void
pyro_daemon_finalize (GObject *object)
{
  PyroDaemon *daemon = PYRO_DAEMON (object);

  g_hash_table_unref (daemon->objects);
  g_hash_table_unref (daemon->connections);
  pyro_stream_table_free (daemon->streams);
  g_clear_pointer (&daemon->hmac_key, g_bytes_unref);
  g_main_loop_unref (daemon->loop);
  g_main_context_unref (daemon->context);
  g_cancellable_release_fd (daemon->stop_leading);
  if (daemon->lease_timer >= 0)
    close (daemon->lease_timer);
  g_object_unref (daemon->stop_leading);
  g_free (daemon->host);
  g_mutex_clear (&daemon->lock);
  g_cond_clear (&daemon->workers_done);
  G_OBJECT_CLASS (pyro_daemon_parent_class)->finalize (object);
}

static void
pyro_daemon_class_init (PyroDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = pyro_daemon_dispose;
  object_class->finalize = pyro_daemon_finalize;
}
