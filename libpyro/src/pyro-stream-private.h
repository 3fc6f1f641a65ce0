/* pyro-stream-private.h: the daemon's table of open item streams. */
#pragma once

#include <pyro/pyro-class.h>

G_BEGIN_DECLS

typedef struct _PyroStreamTable PyroStreamTable;

/* @context: where linger timers run (the daemon's context). */
PyroStreamTable *pyro_stream_table_new (GMainContext *context);
void             pyro_stream_table_free (PyroStreamTable *table);
void             pyro_stream_table_set_limits (PyroStreamTable *table, double linger, double lifetime);

/* Adds a stream opened by connection @owner; returns its id (a UUID4 text,
 * as Pyro4 uses). (transfer full)  The stream owns @state (freed with
 * @free_state) and @keep, a reference to what its method ran on, released
 * with @release_keep after the state: as a Python generator keeps its
 * object alive, the instance lives as long as the stream. */
char *pyro_stream_table_add (PyroStreamTable    *table,
                             gconstpointer       owner,
                             const char         *qualname,
                             const char         *item_signature,
                             PyroStreamNextFunc  next,
                             gpointer            state,
                             GDestroyNotify      free_state,
                             gpointer            keep,
                             GDestroyNotify      release_keep);

/* The next item; at the end a PYRO_ERROR_STOP_ITERATION error (and the
 * stream is gone); for an unknown or expired id PYRO_ERROR_FAILED
 * "item stream terminated". (transfer full) */
GVariant *pyro_stream_table_next (PyroStreamTable *table, const char *id, GError **error);

void pyro_stream_table_close (PyroStreamTable *table, const char *id);

/* The connection @owner closed: its streams start to linger. */
void pyro_stream_table_release_owner (PyroStreamTable *table, gconstpointer owner);

/* How many streams are open (for tests and Pyro.Daemon.info). */
guint pyro_stream_table_size (PyroStreamTable *table);

G_END_DECLS
