/* pyro-stream-table.c: the item streams a daemon has handed out.
 *
 * Pyro4 lets a method return an iterator: the client receives a stream id
 * and pulls items with Pyro.Daemon.get_next_stream_item.  The daemon must
 * therefore keep the iterator's state between calls, possibly for a
 * client that never comes back.  Pyro4's rules, kept here: a stream
 * belongs to no connection in particular, but when the connection that
 * opened it closes it lingers ITER_STREAM_LINGER seconds (30) before it
 * is freed; ITER_STREAM_LIFETIME (0: none) caps any stream's age.
 */
#include "pyro-stream-private.h"

#include <pyro/pyro-error.h>

typedef struct
{
  gatomicrefcount     ref_count;
  GMutex              lock;          /* one next() at a time */
  char               *qualname;      /* "Market.quotes", for messages */
  GVariantType       *item_type;     /* NULL: any */
  PyroStreamNextFunc  next;
  gpointer            state;
  GDestroyNotify      free_state;
  gpointer            keep;          /* what the stream keeps alive (its method's instance) */
  GDestroyNotify      release_keep;
  gconstpointer       owner;         /* the opening connection; NULL once it closed */
  gint64              created;       /* monotonic microseconds */
  gint64              orphaned;      /* when the owner closed; 0 while it is open */
} StreamEntry;

struct _PyroStreamTable
{
  GMutex        lock;
  GHashTable   *streams;     /* id -> StreamEntry */
  GMainContext *context;
  GPtrArray    *timers;      /* GSource* of pending linger purges */
  gint64        linger;      /* microseconds */
  gint64        lifetime;    /* microseconds; 0 = no limit */
};

static StreamEntry *
entry_ref (StreamEntry *entry)
{
  g_atomic_ref_count_inc (&entry->ref_count);
  return entry;
}

static void
entry_unref (StreamEntry *entry)
{
  if (!g_atomic_ref_count_dec (&entry->ref_count))
    return;
  if (entry->free_state != NULL)
    entry->free_state (entry->state);
  /* After the state, which may point into it. */
  if (entry->release_keep != NULL)
    entry->release_keep (entry->keep);
  g_clear_pointer (&entry->item_type, g_variant_type_free);
  g_mutex_clear (&entry->lock);
  g_free (entry->qualname);
  g_free (entry);
}

PyroStreamTable *
pyro_stream_table_new (GMainContext *context)
{
  PyroStreamTable *table = g_new0 (PyroStreamTable, 1);
  g_mutex_init (&table->lock);
  table->streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_unref);
  table->context = g_main_context_ref (context);
  table->timers = g_ptr_array_new ();
  table->linger = 30 * G_USEC_PER_SEC;
  return table;
}

void
pyro_stream_table_free (PyroStreamTable *table)
{
  for (guint i = 0; i < table->timers->len; i++)
    {
      g_source_destroy (table->timers->pdata[i]);
      g_source_unref (table->timers->pdata[i]);
    }
  g_ptr_array_unref (table->timers);
  g_hash_table_unref (table->streams);
  g_main_context_unref (table->context);
  g_mutex_clear (&table->lock);
  g_free (table);
}

void
pyro_stream_table_set_limits (PyroStreamTable *table, double linger, double lifetime)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&table->lock);
  table->linger = (gint64) (linger * G_USEC_PER_SEC);
  table->lifetime = (gint64) (lifetime * G_USEC_PER_SEC);
}

static gboolean
entry_expired (PyroStreamTable *table, StreamEntry *entry, gint64 now)
{
  if (entry->orphaned != 0 && now - entry->orphaned >= table->linger)
    return TRUE;
  return table->lifetime > 0 && now - entry->created >= table->lifetime;
}

/* Removes expired streams.  Called with the lock held; the entries are
 * freed after it is released (their free function is user code). */
static GPtrArray *
purge_locked (PyroStreamTable *table)
{
  GPtrArray *dead = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_unref);
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, table->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (entry_expired (table, value, now))
      {
        g_ptr_array_add (dead, entry_ref (value));
        g_hash_table_iter_remove (&iter);
      }
  return dead;
}

static void
purge (PyroStreamTable *table)
{
  g_mutex_lock (&table->lock);
  GPtrArray *dead = purge_locked (table);
  g_mutex_unlock (&table->lock);
  if (dead->len > 0)
    g_debug ("freed %u expired item stream(s)", dead->len);
  g_ptr_array_unref (dead);
}

char *
pyro_stream_table_add (PyroStreamTable    *table,
                       gconstpointer       owner,
                       const char         *qualname,
                       const char         *item_signature,
                       PyroStreamNextFunc  next,
                       gpointer            state,
                       GDestroyNotify      free_state,
                       gpointer            keep,
                       GDestroyNotify      release_keep)
{
  StreamEntry *entry = g_new0 (StreamEntry, 1);
  g_atomic_ref_count_init (&entry->ref_count);
  g_mutex_init (&entry->lock);
  entry->qualname = g_strdup (qualname);
  entry->item_type = item_signature ? g_variant_type_new (item_signature) : NULL;
  entry->next = next;
  entry->state = state;
  entry->free_state = free_state;
  entry->keep = keep;
  entry->release_keep = release_keep;
  entry->owner = owner;
  entry->created = g_get_monotonic_time ();

  char *id = g_uuid_string_random ();
  purge (table);
  g_mutex_lock (&table->lock);
  g_hash_table_insert (table->streams, g_strdup (id), entry);
  g_mutex_unlock (&table->lock);
  return id;
}

static gboolean on_linger_timeout (gpointer data);

static gboolean
has_orphans_locked (PyroStreamTable *table)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, table->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((StreamEntry *) value)->orphaned != 0)
      return TRUE;
  return FALSE;
}

/* Frees orphaned streams once their linger time is up, even if nobody
 * asks.  Called with the lock held. */
static void
schedule_purge_locked (PyroStreamTable *table)
{
  GSource *timer = g_timeout_source_new ((guint) (table->linger / 1000) + 10);
  g_source_set_callback (timer, on_linger_timeout, table, NULL);
  g_ptr_array_add (table->timers, timer);
  g_source_attach (timer, table->context);
}

static StreamEntry *
lookup (PyroStreamTable *table, const char *id, GError **error)
{
  purge (table);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&table->lock);
  StreamEntry *entry = g_hash_table_lookup (table->streams, id);
  if (entry == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED, "item stream terminated");
      return NULL;
    }
  /* Another connection continues an orphaned stream (Pyro4 allows it):
   * it is in use, so its linger time starts again from now.  (We do not
   * know the new connection, so it cannot simply adopt the stream.) */
  if (entry->orphaned != 0)
    {
      entry->orphaned = g_get_monotonic_time ();
      if (table->timers->len == 0)
        schedule_purge_locked (table);
    }
  return entry_ref (entry);
}

static void
remove_stream (PyroStreamTable *table, const char *id)
{
  g_mutex_lock (&table->lock);
  StreamEntry *entry = g_hash_table_lookup (table->streams, id);
  if (entry != NULL)
    entry_ref (entry);
  g_hash_table_remove (table->streams, id);
  g_mutex_unlock (&table->lock);
  /* The last reference may be ours: free outside the table lock. */
  if (entry != NULL)
    entry_unref (entry);
}

/* Checks an item against the declared type, so a buggy iterator shows up
 * as a clear error instead of a surprising value in the client. */
static GVariant *
checked_item (StreamEntry *entry, GVariant *item, GError **error)
{
  if (item == NULL || entry->item_type == NULL || g_variant_is_of_type (item, entry->item_type))
    return item;
  g_autofree char *wanted = g_variant_type_dup_string (entry->item_type);
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_RUNTIME, "%s() yielded a value of type '%s', but its table declares '%s'",
               entry->qualname, g_variant_get_type_string (item), wanted);
  g_variant_unref (item);
  return NULL;
}

GVariant *
pyro_stream_table_next (PyroStreamTable *table, const char *id, GError **error)
{
  StreamEntry *entry = lookup (table, id, error);
  if (entry == NULL)
    return NULL;

  GError *local = NULL;
  g_mutex_lock (&entry->lock);
  GVariant *item = entry->next (entry->state, &local);
  g_mutex_unlock (&entry->lock);
  if (item != NULL)
    item = checked_item (entry, g_variant_take_ref (item), &local);  /* transfer full, floating or not */
  entry_unref (entry);

  if (item != NULL)
    return item;
  /* The end, or an error: either way the stream is over, as a Python
   * generator is once it raised. */
  remove_stream (table, id);
  if (local == NULL)
    local = g_error_new_literal (PYRO_ERROR, PYRO_ERROR_STOP_ITERATION, "");
  g_propagate_error (error, local);
  return NULL;
}

void
pyro_stream_table_close (PyroStreamTable *table, const char *id)
{
  remove_stream (table, id);
}

static gboolean
on_linger_timeout (gpointer data)
{
  PyroStreamTable *table = data;
  GSource *self = g_main_current_source ();

  purge (table);
  g_mutex_lock (&table->lock);
  if (g_ptr_array_remove_fast (table->timers, self))
    g_source_unref (self);
  /* Orphans whose linger time was restarted need a later look. */
  if (table->timers->len == 0 && has_orphans_locked (table))
    schedule_purge_locked (table);
  g_mutex_unlock (&table->lock);
  return G_SOURCE_REMOVE;
}

void
pyro_stream_table_release_owner (PyroStreamTable *table, gconstpointer owner)
{
  gint64 now = g_get_monotonic_time ();
  guint n_orphans = 0;
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&table->lock);
  g_hash_table_iter_init (&iter, table->streams);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      StreamEntry *entry = value;
      if (entry->owner == owner)
        {
          entry->owner = NULL;
          entry->orphaned = now;
          n_orphans++;
        }
    }
  if (n_orphans > 0)
    schedule_purge_locked (table);
  g_mutex_unlock (&table->lock);
}

guint
pyro_stream_table_size (PyroStreamTable *table)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&table->lock);
  return g_hash_table_size (table->streams);
}
