/* pyro-nameserver.c: the `Pyro.NameServer` object and a daemon serving it.
 *
 * The methods take their arguments as Pyro4's NameServer does, keywords
 * and defaults included, and answer with the same results and the same
 * exception classes and texts, so that Python's pyro4-nsc, locateNS()
 * and PYRONAME: proxies cannot tell this name server from Pyro4's.
 * Arguments Python would accept in several shapes (a URI as a string or
 * as a URI object, metadata as any list) are declared "v" here and
 * checked by hand, in Pyro4's order, to give Pyro4's messages.
 *
 * The broadcast responder answers the 9-byte UDP request "GET_NSURI" with
 * the name server's URI, in the daemon's GMainContext.
 */
#include "pyro-nameserver-private.h"
#include "pyro-naming-private.h"

#include <string.h>

/* ---- values as Python sees them ----------------------------------------- */

/* Strips "v" and maybe wrappers.  (transfer full) (nullable): NULL for None. */
static GVariant *
unbox (GVariant *value)
{
  if (value == NULL)
    return NULL;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      g_autoptr(GVariant) inner = g_variant_get_variant (value);
      return unbox (inner);
    }
  if (g_variant_type_is_maybe (g_variant_get_type (value)))
    {
      g_autoptr(GVariant) inner = g_variant_get_maybe (value);
      return unbox (inner);
    }
  return g_variant_ref (value);
}

static const char *
python_type_name (GVariant *value)
{
  if (value == NULL)
    return "NoneType";
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return "str";
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return "bool";
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    return "float";
  if (g_variant_is_of_type (value, G_VARIANT_TYPE ("a{?*}")))
    return "dict";
  if (g_variant_is_container (value))
    return "list";
  return "int";
}

/* Python's truth value, for flags such as safe= and return_metadata=. */
static gboolean
is_true (GVariant *boxed)
{
  g_autoptr(GVariant) value = unbox (boxed);
  if (value == NULL)
    return FALSE;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_variant_get_boolean (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_get_string (value, NULL)[0] != '\0';
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    return g_variant_get_double (value) != 0.0;
  if (g_variant_is_container (value))
    return g_variant_n_children (value) > 0;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    return g_variant_get_int64 (value) != 0;
  return TRUE;
}

static gboolean
is_none (GVariant *boxed)
{
  g_autoptr(GVariant) value = unbox (boxed);
  return value == NULL;
}

/* Metadata as Pyro4 takes it: None, or any iterable of strings but a str
 * (a dict iterates over its keys).  *@tags is NULL for None. */
static gboolean
tags_from_variant (GVariant *boxed, const char *argument, GStrv *tags, GError **error)
{
  g_autoptr(GVariant) value = unbox (boxed);
  *tags = NULL;
  if (value == NULL)
    return TRUE;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                   "%s should not be a str, but another iterable (set, list, etc)", argument);
      return FALSE;
    }
  if (!g_variant_is_container (value))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "'%s' object is not iterable",
                   python_type_name (value));
      return FALSE;
    }

  gboolean is_dict = g_variant_is_of_type (value, G_VARIANT_TYPE ("a{?*}"));
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  gsize n = g_variant_n_children (value);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
      g_autoptr(GVariant) key = is_dict ? g_variant_get_child_value (child, 0) : NULL;
      g_autoptr(GVariant) item = unbox (is_dict ? key : child);
      if (item == NULL || !g_variant_is_of_type (item, G_VARIANT_TYPE_STRING))
        {
          /* Pyro4 would keep a non-string tag; a tag is a string everywhere else. */
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "%s must contain only strings, not %s",
                       argument, python_type_name (item));
          return FALSE;
        }
      g_strv_builder_add (builder, g_variant_get_string (item, NULL));
    }
  *tags = g_strv_builder_end (builder);
  return TRUE;
}

static GVariant *
strv_variant (const char * const *tags)
{
  return g_variant_new_strv (tags, -1);
}

static GVariant *
none_variant (void)
{
  return g_variant_new_variant (g_variant_new_maybe (G_VARIANT_TYPE_STRING, NULL));
}

GVariant *
pyro_uri_to_variant (PyroUri *uri)
{
  GVariantBuilder state;
  const char *host = pyro_uri_get_host (uri);
  const char *socket_path = pyro_uri_get_socket_path (uri);
  const char *protocol = "PYRO";

  g_variant_builder_init (&state, G_VARIANT_TYPE ("av"));
  switch (pyro_uri_get_protocol (uri))
    {
    case PYRO_URI_PYRONAME: protocol = "PYRONAME"; break;
    case PYRO_URI_PYROMETA: protocol = "PYROMETA"; break;
    case PYRO_URI_PYRO: default: break;
    }
  g_variant_builder_add (&state, "v", g_variant_new_string (protocol));
  if (pyro_uri_get_protocol (uri) == PYRO_URI_PYROMETA)
    {
      g_auto(GStrv) tags = g_strsplit (pyro_uri_get_object (uri), ",", -1);
      g_variant_builder_add (&state, "v", strv_variant ((const char * const *) tags));
    }
  else
    g_variant_builder_add (&state, "v", g_variant_new_string (pyro_uri_get_object (uri)));
  g_variant_builder_add_value (&state, socket_path ? g_variant_new_variant (g_variant_new_string (socket_path))
                                                   : none_variant ());
  g_variant_builder_add_value (&state, host ? g_variant_new_variant (g_variant_new_string (host)) : none_variant ());
  g_variant_builder_add_value (&state, host ? g_variant_new_variant (g_variant_new_int64 (pyro_uri_get_port (uri)))
                                            : none_variant ());

  GVariantBuilder dict;
  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "__class__", g_variant_new_string ("Pyro4.core.URI"));
  g_variant_builder_add (&dict, "{sv}", "state", g_variant_builder_end (&state));
  return g_variant_builder_end (&dict);
}

/* ---- the methods -------------------------------------------------------- */

static GVariant *
ns_ping (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return NULL;
}

static GVariant *
ns_count (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_new_int64 (pyro_ns_registry_count (self));
}

/* The URI argument of register(): a URI object, or a string that parses. */
static char *
uri_argument (GVariant *boxed, GError **error)
{
  g_autoptr(GVariant) value = unbox (boxed);
  const char *klass = NULL;

  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      const char *text = g_variant_get_string (value, NULL);
      g_autoptr(GError) local = NULL;
      g_autoptr(PyroUri) uri = pyro_uri_parse (text, &local);
      if (uri != NULL)
        return g_strdup (text);
      /* Pyro4 says "invalid uri" without quoting the text; so do we here. */
      g_autofree char *quoted = g_strdup_printf (": '%s'", text);
      if (g_str_has_suffix (local->message, quoted))
        local->message[strlen (local->message) - strlen (quoted)] = '\0';
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT) &&
      g_variant_lookup (value, "__class__", "&s", &klass) && strcmp (klass, "Pyro4.core.URI") == 0)
    {
      g_autoptr(PyroUri) uri = pyro_uri_from_variant (value, error);
      return uri ? g_strdup (pyro_uri_to_string (uri)) : NULL;
    }
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "only URIs or strings can be registered");
  return NULL;
}

static GVariant *
ns_register (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_autoptr(GVariant) name_arg = g_variant_get_child_value (args, 0);
  g_autoptr(GVariant) uri_arg = g_variant_get_child_value (args, 1);
  g_autoptr(GVariant) safe = g_variant_get_child_value (args, 2);
  g_autoptr(GVariant) metadata = g_variant_get_child_value (args, 3);

  /* Pyro4 checks the URI first, then the name, then the metadata. */
  g_autofree char *uri = uri_argument (uri_arg, error);
  if (uri == NULL)
    return NULL;
  g_autoptr(GVariant) name = unbox (name_arg);
  if (name == NULL || !g_variant_is_of_type (name, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "name must be a str");
      return NULL;
    }
  g_auto(GStrv) tags = NULL;
  if (!tags_from_variant (metadata, "metadata", &tags, error))
    return NULL;

  pyro_ns_registry_register (self, g_variant_get_string (name, NULL), uri, is_true (safe),
                             (const char * const *) tags, error);
  return NULL;
}

static GVariant *
ns_lookup (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *name;
  g_autoptr(GVariant) return_metadata = NULL;
  g_variant_get (args, "(&s@mv)", &name, &return_metadata);

  g_autoptr(PyroNsEntry) entry = pyro_ns_registry_lookup (self, name, error);
  if (entry == NULL)
    return NULL;
  g_autoptr(PyroUri) uri = pyro_uri_parse (entry->uri, error);
  if (uri == NULL)
    return NULL;
  GVariant *found = pyro_uri_to_variant (uri);
  if (is_true (return_metadata))
    found = g_variant_new ("(@a{sv}@as)", found, strv_variant ((const char * const *) entry->tags));
  return g_variant_new_variant (found);
}

static GVariant *
list_result (GPtrArray *entries, gboolean with_metadata)
{
  GVariantBuilder dict;
  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < entries->len; i++)
    {
      PyroNsEntry *entry = g_ptr_array_index (entries, i);
      GVariant *uri = g_variant_new_string (entry->uri);
      g_variant_builder_add (&dict, "{sv}", entry->name,
                             with_metadata ? g_variant_new ("(@s@as)", uri,
                                                            strv_variant ((const char * const *) entry->tags))
                                           : uri);
    }
  return g_variant_builder_end (&dict);
}

static GVariant *
ns_list (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_autoptr(GVariant) prefix = g_variant_get_child_value (args, 0);
  g_autoptr(GVariant) regex = g_variant_get_child_value (args, 1);
  g_autoptr(GVariant) metadata_all = g_variant_get_child_value (args, 2);
  g_autoptr(GVariant) metadata_any = g_variant_get_child_value (args, 3);
  g_autoptr(GVariant) return_metadata = g_variant_get_child_value (args, 4);

  if (!is_none (prefix) + !is_none (regex) + !is_none (metadata_all) + !is_none (metadata_any) > 1)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "you can only filter on one thing at a time");
      return NULL;
    }

  /* Like Pyro4: an empty filter ("" or []) lists everything. */
  PyroNsMatch match = PYRO_NS_MATCH_ALL;
  const char *pattern = NULL;
  g_auto(GStrv) tags = NULL;
  if (is_true (prefix))
    {
      match = PYRO_NS_MATCH_PREFIX;
      g_variant_get (prefix, "m&s", &pattern);
    }
  else if (is_true (regex))
    {
      match = PYRO_NS_MATCH_REGEX;
      g_variant_get (regex, "m&s", &pattern);
    }
  else if (is_true (metadata_all) || is_true (metadata_any))
    {
      gboolean all = is_true (metadata_all);
      match = all ? PYRO_NS_MATCH_METADATA_ALL : PYRO_NS_MATCH_METADATA_ANY;
      if (!tags_from_variant (all ? metadata_all : metadata_any, all ? "metadata_all" : "metadata_any",
                              &tags, error))
        return NULL;
    }

  g_autoptr(GPtrArray) found = pyro_ns_registry_list (self, match, pattern, (const char * const *) tags, error);
  if (found == NULL)
    return NULL;
  return list_result (found, is_true (return_metadata));
}

static GVariant *
ns_remove (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *name = NULL, *prefix = NULL, *regex = NULL;
  g_variant_get (args, "(m&sm&sm&s)", &name, &prefix, &regex);

  /* Pyro4 tries the name, then the prefix, then the regex. */
  GError *local = NULL;
  if (name != NULL && *name != '\0' && strcmp (name, PYRO_NS_OBJECT_ID) != 0 &&
      pyro_ns_registry_remove (self, name, &local))
    return g_variant_new_int64 (1);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }

  gint removed = 0;
  if (prefix != NULL && *prefix != '\0')
    removed = pyro_ns_registry_remove_matching (self, PYRO_NS_MATCH_PREFIX, prefix, error);
  else if (regex != NULL && *regex != '\0')
    removed = pyro_ns_registry_remove_matching (self, PYRO_NS_MATCH_REGEX, regex, error);
  return removed < 0 ? NULL : g_variant_new_int64 (removed);
}

static GVariant *
ns_set_metadata (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *name;
  g_autoptr(GVariant) metadata = NULL;
  g_variant_get (args, "(&s@v)", &name, &metadata);

  g_auto(GStrv) tags = NULL;
  if (!tags_from_variant (metadata, "metadata", &tags, error))
    return NULL;
  pyro_ns_registry_set_metadata (self, name, (const char * const *) tags, error);
  return NULL;
}

static const PyroMethod nameserver_methods[] = {
  { "count", "()", "x", ns_count, 0, NULL },
  { "list", "(msmsmvmvmv)", "a{sv}", ns_list, 0, "prefix,regex,metadata_all,metadata_any,return_metadata" },
  { "lookup", "(smv)", "v", ns_lookup, 0, "name,return_metadata" },
  { "ping", "()", NULL, ns_ping, 0, NULL },
  { "register", "(vvmvmv)", NULL, ns_register, 0, "name,uri,safe,metadata" },
  { "remove", "(msmsms)", "x", ns_remove, 0, "name,prefix,regex" },
  { "set_metadata", "(sv)", NULL, ns_set_metadata, 0, "name,metadata" },
  { NULL }
};

const PyroClass pyro_nameserver_class = {
  .name = "NameServer",
  .methods = nameserver_methods,
};

/* ---- a running name server ---------------------------------------------- */

struct _PyroNameServer
{
  PyroDaemon     *daemon;
  PyroNsRegistry *registry;
  PyroUri        *uri;
  GMainContext   *context;   /* the daemon's; the responder runs here too */
  GSocket        *bc_socket; /* the broadcast responder, or NULL */
  GSource        *bc_source;
};

PyroNameServer *
pyro_name_server_new (const char *host, guint16 port, const char *storage, GError **error)
{
  g_autoptr(PyroNsRegistry) registry = pyro_ns_registry_new (storage, error);
  if (registry == NULL)
    return NULL;
  g_autoptr(PyroDaemon) daemon = pyro_daemon_new (host, port, error);
  if (daemon == NULL)
    return NULL;
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &pyro_nameserver_class, registry,
                                                        PYRO_NS_OBJECT_ID, error);
  if (uri == NULL)
    return NULL;

  /* Pyro4's name server lists itself, tagged with its class. */
  const char *self_tags[] = { PYRO_NS_SELF_TAG, NULL };
  if (!pyro_ns_registry_register (registry, PYRO_NS_OBJECT_ID, pyro_uri_to_string (uri), FALSE, self_tags, error))
    {
      pyro_daemon_shutdown (daemon);
      return NULL;
    }

  PyroNameServer *ns = g_new0 (PyroNameServer, 1);
  ns->daemon = g_steal_pointer (&daemon);
  ns->registry = g_steal_pointer (&registry);
  ns->uri = g_steal_pointer (&uri);
  ns->context = g_main_context_ref_thread_default ();
  return ns;
}

/* The URI to send to @sender.  A name server bound to every interface
 * (0.0.0.0) has no address a client could use in its URI; as Pyro4 does,
 * put in the address of our interface that faces the client (the one a
 * UDP socket "connected" to the client would send from). */
static char *
reply_uri_for (PyroNameServer *ns, GSocketAddress *sender)
{
  if (g_strcmp0 (pyro_uri_get_host (ns->uri), "0.0.0.0") != 0)
    return g_strdup (pyro_uri_to_string (ns->uri));

  g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
                                           NULL);
  g_autoptr(GSocketAddress) local = NULL;
  if (probe != NULL && g_socket_connect (probe, sender, NULL, NULL))
    local = g_socket_get_local_address (probe, NULL);
  if (local == NULL)
    return g_strdup (pyro_uri_to_string (ns->uri));
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
  g_autoptr(PyroUri) facing = pyro_uri_new (PYRO_NS_OBJECT_ID, ip, pyro_uri_get_port (ns->uri));
  return g_strdup (pyro_uri_to_string (facing));
}

/* Answers GET_NSURI; anything else gets no answer, as in Pyro4. */
static gboolean
on_broadcast_request (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PyroNameServer *ns = user_data;
  char buffer[128];
  GSocketAddress *sender = NULL;
  g_autoptr(GError) local = NULL;

  gssize n = g_socket_receive_from (socket, &sender, buffer, sizeof buffer, NULL, &local);
  if (n == (gssize) strlen (PYRO_NS_BROADCAST_REQUEST) &&
      memcmp (buffer, PYRO_NS_BROADCAST_REQUEST, n) == 0 && sender != NULL)
    {
      g_autofree char *text = reply_uri_for (ns, sender);
      if (g_socket_send_to (socket, sender, text, strlen (text), NULL, &local) < 0)
        g_debug ("broadcast responder: cannot answer: %s", local->message);
      else
        g_debug ("broadcast responder: sent %s", text);
    }
  else if (n < 0 && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    g_debug ("broadcast responder: %s", local->message);
  g_clear_object (&sender);
  return G_SOURCE_CONTINUE;
}

gboolean
pyro_name_server_start_broadcast (PyroNameServer *ns, const char *bchost, guint16 bcport, GError **error)
{
  g_assert (ns != NULL && ns->bc_socket == NULL);
  g_autoptr(GInetAddress) address = NULL;
  if (bchost == NULL || *bchost == '\0')
    address = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  else if ((address = g_inet_address_new_from_string (bchost)) == NULL)
    {
      g_autoptr(GList) found = g_resolver_lookup_by_name (g_resolver_get_default (), bchost, NULL, error);
      if (found == NULL)
        return FALSE;
      address = g_object_ref (found->data);
      g_list_free_full (g_steal_pointer (&found), g_object_unref);
    }

  g_autoptr(GSocket) socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_autoptr(GSocketAddress) where = g_inet_socket_address_new (address, bcport);
  g_socket_set_broadcast (socket, TRUE);
  if (!g_socket_bind (socket, where, TRUE, error))
    return FALSE;
  g_socket_set_blocking (socket, FALSE);

  ns->bc_socket = g_steal_pointer (&socket);
  ns->bc_source = g_socket_create_source (ns->bc_socket, G_IO_IN, NULL);
  g_source_set_callback (ns->bc_source, G_SOURCE_FUNC (on_broadcast_request), ns, NULL);
  g_source_attach (ns->bc_source, ns->context);
  return TRUE;
}

PyroDaemon *
pyro_name_server_get_daemon (PyroNameServer *ns)
{
  return ns->daemon;
}

PyroNsRegistry *
pyro_name_server_get_registry (PyroNameServer *ns)
{
  return ns->registry;
}

PyroUri *
pyro_name_server_get_uri (PyroNameServer *ns)
{
  return ns->uri;
}

guint16
pyro_name_server_get_broadcast_port (PyroNameServer *ns)
{
  if (ns->bc_socket == NULL)
    return 0;
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (ns->bc_socket, NULL);
  return local ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

char *
pyro_name_server_describe_broadcast (PyroNameServer *ns)
{
  if (ns->bc_socket == NULL)
    return NULL;
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (ns->bc_socket, NULL);
  if (local == NULL)
    return NULL;
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
}

void
pyro_name_server_free (PyroNameServer *ns)
{
  if (ns == NULL)
    return;
  /* Stop serving before the registry goes: calls may still be running. */
  pyro_daemon_shutdown (ns->daemon);
  if (ns->bc_source != NULL)
    {
      g_source_destroy (ns->bc_source);
      g_source_unref (ns->bc_source);
    }
  if (ns->bc_socket != NULL)
    g_socket_close (ns->bc_socket, NULL);
  g_clear_object (&ns->bc_socket);
  g_clear_object (&ns->daemon);
  pyro_ns_registry_free (ns->registry);
  pyro_uri_unref (ns->uri);
  g_main_context_unref (ns->context);
  g_free (ns);
}
