/* pyro-nameserver-registry.c: the name server's table, name -> (URI, tags).
 *
 * The table always lives in memory, in registration order (Pyro4 lists a
 * dict, which keeps that order).  With "sql:FILE" storage every change is
 * written to an SQLite file first and applied in memory only when the
 * write succeeded, so memory and file never disagree; at start the file
 * is read back.  The schema is Pyro4's own (tables pyro_names and
 * pyro_metadata), so Pyro4's name server can open our file and we theirs.
 *
 * Calls come from the daemon's worker threads, so one mutex guards all.
 */
#include "pyro-nameserver-private.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  char      *name;
  char      *uri;
  GPtrArray *tags; /* char*, unique, in the order given */
} Entry;

struct _PyroNsRegistry
{
  GMutex      lock;
  GPtrArray  *entries; /* Entry*, registration order */
  GHashTable *by_name; /* name -> Entry* (borrowed from entries) */
  sqlite3    *db;      /* NULL for memory storage */
};

static void
entry_free (gpointer data)
{
  Entry *entry = data;
  g_free (entry->name);
  g_free (entry->uri);
  g_ptr_array_unref (entry->tags);
  g_free (entry);
}

static GPtrArray *
tag_set_new (const char * const *tags)
{
  GPtrArray *set = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; tags != NULL && tags[i] != NULL; i++)
    if (!g_ptr_array_find_with_equal_func (set, tags[i], g_str_equal, NULL))
      g_ptr_array_add (set, g_strdup (tags[i]));
  return set;
}

static gboolean
tag_set_has (GPtrArray *set, const char *tag)
{
  return g_ptr_array_find_with_equal_func (set, tag, g_str_equal, NULL);
}

void
pyro_ns_entry_free (PyroNsEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->name);
  g_free (entry->uri);
  g_strfreev (entry->tags);
  g_free (entry);
}

static PyroNsEntry *
entry_copy (const Entry *entry)
{
  PyroNsEntry *copy = g_new0 (PyroNsEntry, 1);
  copy->name = g_strdup (entry->name);
  copy->uri = g_strdup (entry->uri);
  copy->tags = g_new0 (char *, entry->tags->len + 1);
  for (guint i = 0; i < entry->tags->len; i++)
    copy->tags[i] = g_strdup (g_ptr_array_index (entry->tags, i));
  return copy;
}

/* Puts a new entry in memory, replacing one of the same name.  A
 * replaced name moves to the end, as with Pyro4's sql storage. */
static void
memory_put (PyroNsRegistry *registry, const char *name, const char *uri, GPtrArray *tags)
{
  Entry *old = g_hash_table_lookup (registry->by_name, name);
  if (old != NULL)
    {
      g_hash_table_remove (registry->by_name, name);
      g_ptr_array_remove (registry->entries, old);
    }
  Entry *entry = g_new0 (Entry, 1);
  entry->name = g_strdup (name);
  entry->uri = g_strdup (uri);
  entry->tags = tags;
  g_ptr_array_add (registry->entries, entry);
  g_hash_table_insert (registry->by_name, entry->name, entry);
}

static void
memory_remove (PyroNsRegistry *registry, Entry *entry)
{
  g_hash_table_remove (registry->by_name, entry->name);
  g_ptr_array_remove (registry->entries, entry);
}

/* ---- SQLite ------------------------------------------------------------- */

static const char schema[] =
  "CREATE TABLE IF NOT EXISTS pyro_names"
  " (id integer PRIMARY KEY, name nvarchar NOT NULL UNIQUE, uri nvarchar NOT NULL);"
  "CREATE TABLE IF NOT EXISTS pyro_metadata"
  " (object integer NOT NULL, metadata nvarchar NOT NULL, FOREIGN KEY(object) REFERENCES pyro_names(id));";

static void
set_sql_error (GError **error, sqlite3 *db, const char *what)
{
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "sqlite error in %s: %s", what, sqlite3_errmsg (db));
}

/* Runs @sql with the text parameters @params (NULL-terminated). */
static gboolean
sql_exec (sqlite3 *db, const char *sql, const char * const *params, const char *what, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sql_error (error, db, what);
      return FALSE;
    }
  for (int i = 0; params != NULL && params[i] != NULL; i++)
    sqlite3_bind_text (stmt, i + 1, params[i], -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (error, db, what);
      return FALSE;
    }
  return TRUE;
}

/* Deletes @name and its tags; the caller holds a transaction. */
static gboolean
sql_delete (sqlite3 *db, const char *name, const char *what, GError **error)
{
  const char *params[] = { name, NULL };
  return sql_exec (db, "DELETE FROM pyro_metadata WHERE object IN (SELECT id FROM pyro_names WHERE name=?)",
                   params, what, error) &&
         sql_exec (db, "DELETE FROM pyro_names WHERE name=?", params, what, error);
}

static gboolean
sql_put (sqlite3 *db, const char *name, const char *uri, GPtrArray *tags, const char *what, GError **error)
{
  const char *params[] = { name, uri, NULL };
  if (!sql_delete (db, name, what, error) ||
      !sql_exec (db, "INSERT INTO pyro_names(name, uri) VALUES(?,?)", params, what, error))
    return FALSE;
  for (guint i = 0; i < tags->len; i++)
    {
      const char *tag_params[] = { g_ptr_array_index (tags, i), name, NULL };
      if (!sql_exec (db, "INSERT INTO pyro_metadata(object, metadata)"
                         " SELECT id, ? FROM pyro_names WHERE name=?",
                     tag_params, what, error))
        return FALSE;
    }
  return TRUE;
}

/* Runs a change in one transaction, so a failure leaves the file as it was. */
typedef gboolean (*SqlChange) (PyroNsRegistry *registry, gpointer data, GError **error);

static gboolean
sql_transaction (PyroNsRegistry *registry, SqlChange change, gpointer data, const char *what, GError **error)
{
  if (registry->db == NULL)
    return TRUE;
  if (!sql_exec (registry->db, "BEGIN IMMEDIATE", NULL, what, error))
    return FALSE;
  if (!change (registry, data, error))
    {
      sql_exec (registry->db, "ROLLBACK", NULL, what, NULL);
      return FALSE;
    }
  if (!sql_exec (registry->db, "COMMIT", NULL, what, error))
    {
      sql_exec (registry->db, "ROLLBACK", NULL, what, NULL);
      return FALSE;
    }
  return TRUE;
}

/* Reads every registration of the file into memory. */
static gboolean
sql_load (PyroNsRegistry *registry, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  const char *sql = "SELECT n.name, n.uri, m.metadata FROM pyro_names n"
                    " LEFT JOIN pyro_metadata m ON m.object = n.id ORDER BY n.id";
  if (sqlite3_prepare_v2 (registry->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_sql_error (error, registry->db, "load");
      return FALSE;
    }
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      const char *uri = (const char *) sqlite3_column_text (stmt, 1);
      const char *tag = (const char *) sqlite3_column_text (stmt, 2);
      if (name == NULL || uri == NULL)
        continue;
      Entry *entry = g_hash_table_lookup (registry->by_name, name);
      if (entry == NULL)
        {
          memory_put (registry, name, uri, tag_set_new (NULL));
          entry = g_hash_table_lookup (registry->by_name, name);
        }
      if (tag != NULL && !tag_set_has (entry->tags, tag))
        g_ptr_array_add (entry->tags, g_strdup (tag));
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (error, registry->db, "load");
      return FALSE;
    }
  return TRUE;
}

/* Opens (or creates) the file and checks it is a sound, writable
 * database before anything is read or written, so a wrong or damaged
 * file is reported and left untouched. */
static gboolean
sql_open (PyroNsRegistry *registry, const char *file, GError **error)
{
  if (*file == '\0' || strcmp (file, ":memory:") == 0)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE,
                   "We don't support the sqlite :memory: database type. Just use the default volatile in-memory store.");
      return FALSE;
    }
  int rc = sqlite3_open_v2 (file, &registry->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "cannot open name server storage %s: %s",
                   file, registry->db ? sqlite3_errmsg (registry->db) : sqlite3_errstr (rc));
      return FALSE;
    }
  sqlite3_busy_timeout (registry->db, 5000);

  g_autoptr(GError) local = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean sound = FALSE;
  if (sqlite3_prepare_v2 (registry->db, "PRAGMA quick_check", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    sound = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0;
  const char *why = sound ? NULL : sqlite3_errmsg (registry->db);
  g_autofree char *why_copy = g_strdup (why && strcmp (why, "not an error") != 0 ? why : "the database is damaged");
  sqlite3_finalize (stmt);
  if (!sound)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "cannot use name server storage %s: %s", file, why_copy);
      return FALSE;
    }
  if (sqlite3_db_readonly (registry->db, "main") == 1)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "cannot use name server storage %s: the file is read-only",
                   file);
      return FALSE;
    }
  if (!sql_exec (registry->db, "PRAGMA foreign_keys=ON", NULL, "open", &local) ||
      sqlite3_exec (registry->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
      !sql_load (registry, &local))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "cannot use name server storage %s: %s", file,
                   local ? local->message : sqlite3_errmsg (registry->db));
      return FALSE;
    }
  return TRUE;
}

/* ---- the registry ------------------------------------------------------- */

PyroNsRegistry *
pyro_ns_registry_new (const char *storage, GError **error)
{
  PyroNsRegistry *registry = g_new0 (PyroNsRegistry, 1);
  g_mutex_init (&registry->lock);
  registry->entries = g_ptr_array_new_with_free_func (entry_free);
  registry->by_name = g_hash_table_new (g_str_hash, g_str_equal);

  if (storage == NULL || strcmp (storage, "memory") == 0)
    return registry;
  if (g_str_has_prefix (storage, "sql:") && storage[4] != '\0')
    {
      if (sql_open (registry, storage + 4, error))
        return registry;
    }
  else
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "invalid storage type '%s'", storage);
  pyro_ns_registry_free (registry);
  return NULL;
}

void
pyro_ns_registry_free (PyroNsRegistry *registry)
{
  if (registry == NULL)
    return;
  if (registry->db != NULL)
    sqlite3_close (registry->db);
  g_hash_table_unref (registry->by_name);
  g_ptr_array_unref (registry->entries);
  g_mutex_clear (&registry->lock);
  g_free (registry);
}

typedef struct
{
  const char *name;
  const char *uri;
  GPtrArray  *tags;
} PutData;

static gboolean
put_change (PyroNsRegistry *registry, gpointer data, GError **error)
{
  PutData *put = data;
  return sql_put (registry->db, put->name, put->uri, put->tags, "setitem", error);
}

gboolean
pyro_ns_registry_register (PyroNsRegistry      *registry,
                           const char          *name,
                           const char          *uri,
                           gboolean             safe,
                           const char * const  *tags,
                           GError             **error)
{
  g_assert (registry != NULL && name != NULL && uri != NULL);
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&registry->lock);

  if (safe && g_hash_table_contains (registry->by_name, name))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "name already registered: %s", name);
      return FALSE;
    }
  GPtrArray *set = tag_set_new (tags);
  PutData put = { name, uri, set };
  if (!sql_transaction (registry, put_change, &put, "setitem", error))
    {
      g_ptr_array_unref (set);
      return FALSE;
    }
  memory_put (registry, name, uri, set);
  return TRUE;
}

PyroNsEntry *
pyro_ns_registry_lookup (PyroNsRegistry *registry, const char *name, GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&registry->lock);
  Entry *entry = g_hash_table_lookup (registry->by_name, name);
  if (entry == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "unknown name: %s", name);
      return NULL;
    }
  return entry_copy (entry);
}

gboolean
pyro_ns_registry_set_metadata (PyroNsRegistry      *registry,
                               const char          *name,
                               const char * const  *tags,
                               GError             **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&registry->lock);
  Entry *entry = g_hash_table_lookup (registry->by_name, name);
  if (entry == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "unknown name: %s", name);
      return FALSE;
    }
  GPtrArray *set = tag_set_new (tags);
  g_autofree char *uri = g_strdup (entry->uri);
  PutData put = { name, uri, set };
  if (!sql_transaction (registry, put_change, &put, "setitem", error))
    {
      g_ptr_array_unref (set);
      return FALSE;
    }
  /* Replacing moves the name to the end, as Pyro4's sql storage does. */
  memory_put (registry, name, uri, set);
  return TRUE;
}

guint
pyro_ns_registry_count (PyroNsRegistry *registry)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&registry->lock);
  return registry->entries->len;
}

static gboolean
entry_matches (const Entry *entry, PyroNsMatch match, const char *pattern, GRegex *regex, const char * const *tags)
{
  switch (match)
    {
    case PYRO_NS_MATCH_PREFIX:
      return g_str_has_prefix (entry->name, pattern);
    case PYRO_NS_MATCH_REGEX:
      return g_regex_match (regex, entry->name, G_REGEX_MATCH_ANCHORED, NULL);
    case PYRO_NS_MATCH_METADATA_ALL:
      for (gsize i = 0; tags != NULL && tags[i] != NULL; i++)
        if (!tag_set_has (entry->tags, tags[i]))
          return FALSE;
      return TRUE;
    case PYRO_NS_MATCH_METADATA_ANY:
      for (gsize i = 0; tags != NULL && tags[i] != NULL; i++)
        if (tag_set_has (entry->tags, tags[i]))
          return TRUE;
      return FALSE;
    case PYRO_NS_MATCH_ALL:
    default:
      return TRUE;
    }
}

/* Python's re and PCRE agree on the patterns people use for names; the
 * error text differs, but keeps Pyro4's "invalid regex: " start. */
static GRegex *
compile_regex (const char *pattern, GError **error)
{
  g_autoptr(GError) local = NULL;
  GRegex *regex = g_regex_new (pattern, G_REGEX_OPTIMIZE, 0, &local);
  if (regex == NULL)
    {
      /* GLib says "Error while compiling regular expression ‘P’ at char N: WHY";
       * Python says "WHY at position N".  Keep the why and where. */
      const char *at = strstr (local->message, " at char ");
      const char *why = at ? strstr (at, ": ") : NULL;
      if (why != NULL)
        g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "invalid regex: %s at position %d",
                     why + 2, atoi (at + strlen (" at char ")));
      else
        g_set_error (error, PYRO_ERROR, PYRO_ERROR_NAMING, "invalid regex: %s", local->message);
    }
  return regex;
}

/* The matching entries (borrowed), under the lock. */
static GPtrArray *
find_matching (PyroNsRegistry *registry, PyroNsMatch match, const char *pattern,
               const char * const *tags, GError **error)
{
  g_autoptr(GRegex) regex = NULL;
  if (match == PYRO_NS_MATCH_REGEX && (regex = compile_regex (pattern, error)) == NULL)
    return NULL;

  GPtrArray *found = g_ptr_array_new ();
  for (guint i = 0; i < registry->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (registry->entries, i);
      if (entry_matches (entry, match, pattern, regex, tags))
        g_ptr_array_add (found, entry);
    }
  return found;
}

GPtrArray *
pyro_ns_registry_list (PyroNsRegistry      *registry,
                       PyroNsMatch          match,
                       const char          *pattern,
                       const char * const  *tags,
                       GError             **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&registry->lock);
  g_autoptr(GPtrArray) found = find_matching (registry, match, pattern, tags, error);
  if (found == NULL)
    return NULL;
  GPtrArray *copies = g_ptr_array_new_with_free_func ((GDestroyNotify) pyro_ns_entry_free);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (copies, entry_copy (g_ptr_array_index (found, i)));
  return copies;
}

static gboolean
delete_change (PyroNsRegistry *registry, gpointer data, GError **error)
{
  GPtrArray *doomed = data;
  for (guint i = 0; i < doomed->len; i++)
    {
      Entry *entry = g_ptr_array_index (doomed, i);
      if (!sql_delete (registry->db, entry->name, "remove_items", error))
        return FALSE;
    }
  return TRUE;
}

/* Removes @doomed (borrowed entries), skipping the name server's own. */
static gint
remove_entries (PyroNsRegistry *registry, GPtrArray *doomed, GError **error)
{
  for (guint i = doomed->len; i > 0; i--)
    if (strcmp (((Entry *) g_ptr_array_index (doomed, i - 1))->name, PYRO_NS_OBJECT_ID) == 0)
      g_ptr_array_remove_index (doomed, i - 1);
  if (!sql_transaction (registry, delete_change, doomed, "remove_items", error))
    return -1;
  for (guint i = 0; i < doomed->len; i++)
    memory_remove (registry, g_ptr_array_index (doomed, i));
  return (gint) doomed->len;
}

gboolean
pyro_ns_registry_remove (PyroNsRegistry *registry, const char *name, GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&registry->lock);
  Entry *entry = g_hash_table_lookup (registry->by_name, name);
  if (entry == NULL)
    return FALSE;
  g_autoptr(GPtrArray) doomed = g_ptr_array_new ();
  g_ptr_array_add (doomed, entry);
  return remove_entries (registry, doomed, error) > 0;
}

gint
pyro_ns_registry_remove_matching (PyroNsRegistry *registry,
                                  PyroNsMatch     match,
                                  const char     *pattern,
                                  GError        **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&registry->lock);
  g_autoptr(GPtrArray) doomed = find_matching (registry, match, pattern, NULL, error);
  if (doomed == NULL)
    return -1;
  return remove_entries (registry, doomed, error);
}
