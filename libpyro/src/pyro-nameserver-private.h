/* pyro-nameserver-private.h: the name server's parts inside the library.
 *
 * - PyroNsRegistry: the table name -> (URI, metadata tags), in memory or
 *   kept in an SQLite file (the same schema as Pyro4's "sql:" storage, so
 *   either name server can open the other's file);
 * - pyro_nameserver_class: the `Pyro.NameServer` object over a registry;
 * - PyroNameServer: a daemon serving that object, plus the optional UDP
 *   broadcast responder, as pyro-ns and the tests run it.
 */
#pragma once

#include <pyro/pyro-daemon.h>
#include <pyro/pyro-error.h>

G_BEGIN_DECLS

/* The name server's object id and its entry in its own registry. */
#define PYRO_NS_OBJECT_ID      "Pyro.NameServer"
#define PYRO_NS_SELF_TAG       "class:Pyro4.naming.NameServer"
#define PYRO_NS_DEFAULT_PORT   9090
#define PYRO_NS_DEFAULT_BCPORT 9091
#define PYRO_NS_BROADCAST_REQUEST "GET_NSURI"

/* ---- registry ----------------------------------------------------------- */

typedef struct _PyroNsRegistry PyroNsRegistry;

/* One registration, as list and lookup hand it out (a copy). */
typedef struct
{
  char  *name;
  char  *uri;   /* the URI text as registered */
  GStrv  tags;  /* never NULL; may be empty */
} PyroNsEntry;

void pyro_ns_entry_free (PyroNsEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroNsEntry, pyro_ns_entry_free)

/* Opens a registry. @storage: NULL or "memory", or "sql:FILE".  An sql
 * file that cannot be read or is not a name server database fails with
 * PYRO_ERROR_NAMING (the file is left as it is).  "dbm:" is refused. */
PyroNsRegistry *pyro_ns_registry_new (const char *storage, GError **error);
void            pyro_ns_registry_free (PyroNsRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroNsRegistry, pyro_ns_registry_free)

/* Adds or replaces @name.  @safe: refuse an existing name ("name already
 * registered: NAME").  @tags (nullable): the metadata, duplicates dropped. */
gboolean pyro_ns_registry_register (PyroNsRegistry      *registry,
                                    const char          *name,
                                    const char          *uri,
                                    gboolean             safe,
                                    const char * const  *tags,
                                    GError             **error);

/* (transfer full) (nullable): @name's entry, or NULL with "unknown name: NAME". */
PyroNsEntry *pyro_ns_registry_lookup (PyroNsRegistry *registry, const char *name, GError **error);

/* Replaces @name's tags (NULL or empty clears them). */
gboolean pyro_ns_registry_set_metadata (PyroNsRegistry      *registry,
                                        const char          *name,
                                        const char * const  *tags,
                                        GError             **error);

guint pyro_ns_registry_count (PyroNsRegistry *registry);

/* How pyro_ns_registry_list() filters. */
typedef enum
{
  PYRO_NS_MATCH_ALL,          /* everything */
  PYRO_NS_MATCH_PREFIX,       /* name starts with the pattern */
  PYRO_NS_MATCH_REGEX,        /* the regex matches at the start of the name (Python's re.match) */
  PYRO_NS_MATCH_METADATA_ALL, /* the entry has every one of the tags */
  PYRO_NS_MATCH_METADATA_ANY, /* the entry has at least one of the tags */
} PyroNsMatch;

/* The matching entries in registration order, PyroNsEntry* each
 * (transfer full), or NULL with "invalid regex: ..." */
GPtrArray *pyro_ns_registry_list (PyroNsRegistry      *registry,
                                  PyroNsMatch          match,
                                  const char          *pattern,
                                  const char * const  *tags,
                                  GError             **error);

/* Removes @name (never PYRO_NS_OBJECT_ID). @return TRUE if it was there. */
gboolean pyro_ns_registry_remove (PyroNsRegistry *registry, const char *name, GError **error);

/* Removes what pyro_ns_registry_list() would return, except the name
 * server's own entry. @return the count, or -1 with @error set. */
gint pyro_ns_registry_remove_matching (PyroNsRegistry *registry,
                                       PyroNsMatch     match,
                                       const char     *pattern,
                                       GError        **error);

/* ---- the Pyro.NameServer object ---------------------------------------- */

/* Register with pyro_daemon_register_object (daemon, &pyro_nameserver_class,
 * registry, PYRO_NS_OBJECT_ID, ...). */
extern const PyroClass pyro_nameserver_class;

/* Pyro4's URI dict {"__class__": "Pyro4.core.URI", "state": [...]} of
 * @uri, as an "a{sv}". (transfer floating) */
GVariant *pyro_uri_to_variant (PyroUri *uri);

/* ---- a running name server ---------------------------------------------- */

typedef struct _PyroNameServer PyroNameServer;

/* Creates the daemon on @host:@port (in the thread-default GMainContext),
 * opens the registry, serves Pyro.NameServer and registers it in itself. */
PyroNameServer *pyro_name_server_new (const char  *host,
                                      guint16      port,
                                      const char  *storage,
                                      GError     **error);

/* Starts the UDP responder answering GET_NSURI on @bchost:@bcport (NULL or
 * "" = every interface; port 0 = a free one) in the daemon's context. */
gboolean pyro_name_server_start_broadcast (PyroNameServer  *ns,
                                           const char      *bchost,
                                           guint16          bcport,
                                           GError         **error);

PyroDaemon     *pyro_name_server_get_daemon (PyroNameServer *ns);
PyroNsRegistry *pyro_name_server_get_registry (PyroNameServer *ns);
PyroUri        *pyro_name_server_get_uri (PyroNameServer *ns);           /* transfer none */
guint16         pyro_name_server_get_broadcast_port (PyroNameServer *ns); /* 0: none running */
/* The address the broadcast responder is bound to, e.g. "0.0.0.0:9091". (transfer full) (nullable) */
char           *pyro_name_server_describe_broadcast (PyroNameServer *ns);

/* Shuts the daemon down, stops the responder, closes the registry. */
void pyro_name_server_free (PyroNameServer *ns);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroNameServer, pyro_name_server_free)

G_END_DECLS
