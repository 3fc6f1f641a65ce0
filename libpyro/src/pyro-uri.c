/* pyro-uri.c: Pyro URIs (PYRO:, PYRONAME:, PYROMETA:), parsed and printed.
 *
 * The rules are those of Pyro4 4.82's URI class, checked against it case by
 * case (the tables in tests/test-uri.c):
 *
 *   - "<protocol>:<object>[@<location>]"; the protocol is "pyro" plus
 *     letters, case-insensitive, printed in upper case;
 *   - the object runs up to the first '@' that has something after it;
 *   - the location is "./u:<socket path>", "[<ipv6>][:<port>]" or
 *     "<host>[:<port>]"; PYRO: needs a port, the others default to the
 *     name server's port 9090;
 *   - PYROMETA's object is a set of tags separated by ','.
 *
 * Pyro4 also accepts some text that can only fail later: whitespace in the
 * location ("PYRO:x@my host:1"), ports Python's int() takes but no socket
 * does ("-1", "70000", " 1", "1_0"), an empty host ("PYRO:x@:1", which it
 * then prints as "PYRO:x"), or junk after a bracketed IPv6 address.  libpyro
 * refuses those up front, with Pyro4's wording where it has one.
 *
 * Every error is PYRO_ERROR_FAILED (Pyro4 raises a plain PyroError), its
 * message Pyro4's text followed by the URI that came.
 */
#include <pyro/pyro-uri.h>
#include <pyro/pyro-error.h>

#include <stdlib.h>
#include <string.h>

/* Where a PYRONAME:/PYROMETA: URI with a host but no port looks for the
 * name server (Pyro4's NS_PORT). */
#define NAME_SERVER_PORT 9090

struct _PyroUri
{
  PyroUriProtocol protocol;
  char *object;       /* object id, name, or the tags joined by ',' */
  char *host;         /* (nullable) without brackets */
  guint16 port;       /* 0 when there is no host */
  char *socket_path;  /* (nullable) */
  char *string;       /* the canonical text, computed once */
};

static const char *const protocol_names[] = {
  [PYRO_URI_PYRO] = "PYRO",
  [PYRO_URI_PYRONAME] = "PYRONAME",
  [PYRO_URI_PYROMETA] = "PYROMETA",
};

G_DEFINE_BOXED_TYPE (PyroUri, pyro_uri, pyro_uri_ref, pyro_uri_unref)

/* ---- building and printing ---------------------------------------------- */

static char *
format_uri (const PyroUri *uri)
{
  GString *text = g_string_new (protocol_names[uri->protocol]);

  g_string_append_c (text, ':');
  g_string_append (text, uri->object);
  if (uri->host != NULL)
    {
      /* A ':' in the host means IPv6; brackets keep it apart from the port. */
      if (strchr (uri->host, ':') != NULL)
        g_string_append_printf (text, "@[%s]:%u", uri->host, uri->port);
      else
        g_string_append_printf (text, "@%s:%u", uri->host, uri->port);
    }
  else if (uri->socket_path != NULL)
    {
      g_string_append_printf (text, "@./u:%s", uri->socket_path);
    }
  return g_string_free (text, FALSE);
}

static void
uri_clear (PyroUri *uri)
{
  g_free (uri->object);
  g_free (uri->host);
  g_free (uri->socket_path);
  g_free (uri->string);
}

PyroUri *
pyro_uri_new (const char *object_id, const char *host, guint16 port)
{
  g_return_val_if_fail (object_id != NULL && *object_id != '\0', NULL);
  g_return_val_if_fail (host != NULL && *host != '\0', NULL);

  PyroUri *uri = g_atomic_rc_box_new0 (PyroUri);

  uri->protocol = PYRO_URI_PYRO;
  uri->object = g_strdup (object_id);
  uri->host = g_strdup (host);
  uri->port = port;
  uri->string = format_uri (uri);
  return uri;
}

PyroUri *
pyro_uri_ref (PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);

  return g_atomic_rc_box_acquire (uri);
}

void
pyro_uri_unref (PyroUri *uri)
{
  g_return_if_fail (uri != NULL);

  g_atomic_rc_box_release_full (uri, (GDestroyNotify) uri_clear);
}

/* ---- parsing ------------------------------------------------------------ */

/* Sets @error to Pyro4's @reason plus the text that came.  Always FALSE. */
static gboolean
fail (GError **error, const char *text, const char *reason)
{
  /* GError messages are UTF-8, the input may not be. */
  g_autofree char *shown = g_utf8_make_valid (text, -1);

  g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED, "%s: '%s'", reason, shown);
  return FALSE;
}

/* Python's str.isspace(), which is what "\S" in Pyro4's URI pattern tests:
 * the Unicode separators plus some ASCII and Latin-1 controls.  GLib's
 * g_unichar_isspace() differs on \v, \x1c..\x1f and \x85. */
static gboolean
is_python_space (gunichar c)
{
  if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85)
    return TRUE;

  switch (g_unichar_type (c))
    {
    case G_UNICODE_SPACE_SEPARATOR:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    default:
      return FALSE;
    }
}

/* @text must be valid UTF-8. */
static gboolean
has_whitespace (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (is_python_space (g_utf8_get_char (p)))
      return TRUE;
  return FALSE;
}

/* Finds the protocol: "pyro" followed by letters, then ':'.  Returns where
 * the rest starts, or NULL. */
static const char *
skip_protocol (const char *text)
{
  const char *p = text;

  if (g_ascii_strncasecmp (p, "pyro", 4) != 0)
    return NULL;
  p += 4;
  while (g_ascii_isalpha (*p))
    p++;
  return *p == ':' ? p + 1 : NULL;
}

static gboolean
lookup_protocol (const char *name, gsize length, PyroUriProtocol *protocol)
{
  for (gsize i = 0; i < G_N_ELEMENTS (protocol_names); i++)
    if (strlen (protocol_names[i]) == length
        && g_ascii_strncasecmp (name, protocol_names[i], length) == 0)
      {
        *protocol = (PyroUriProtocol) i;
        return TRUE;
      }
  return FALSE;
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* PYROMETA tags are a set, so Pyro4 prints them in no particular order.
 * Sorting them (and dropping repeats) gives one canonical text per set,
 * so two URIs print the same exactly when Pyro4 calls them equal. */
static char *
canonical_tags (const char *object)
{
  g_auto (GStrv) tags = g_strsplit (object, ",", -1);
  guint n = g_strv_length (tags);
  guint kept = 0;

  qsort (tags, n, sizeof (char *), compare_strings);
  for (guint i = 0; i < n; i++)
    {
      if (kept > 0 && strcmp (tags[kept - 1], tags[i]) == 0)
        {
          g_free (tags[i]);
          continue;
        }
      tags[kept++] = tags[i];
    }
  tags[kept] = NULL;
  return g_strjoinv (",", tags);
}

/* Plain decimal digits up to 65535 only: Python's int() would also take
 * signs, spaces and underscores, and has no upper bound. */
static gboolean
parse_port_number (const char *digits, guint *value)
{
  *value = 0;
  for (const char *p = digits; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      *value = *value * 10 + (*p - '0');
      if (*value > G_MAXUINT16)
        return FALSE;
    }
  return TRUE;
}

/* @port_text: what follows the host's ':' (NULL if there is no ':').
 * @default_port: used when the port is missing; -1 if it is required. */
static gboolean
parse_port (const char *port_text, int default_port, guint16 *port,
            const char *text, GError **error)
{
  guint value = 0;

  if (port_text == NULL || *port_text == '\0')
    {
      if (default_port < 0)
        return fail (error, text, "invalid port in uri, port=None");
      *port = default_port;
      return TRUE;
    }

  if (!parse_port_number (port_text, &value))
    {
      g_autofree char *reason = g_strdup_printf ("invalid port in uri, port=%s",
                                                 port_text);
      return fail (error, text, reason);
    }
  *port = value;
  return TRUE;
}

/* "[<ipv6>]" or "[<ipv6>]:<port>": splits off the host and the port text. */
static gboolean
split_ipv6_location (const char *location, char **host, const char **port_text,
                     const char *text, GError **error)
{
  const char *address = location + 1;
  gsize length = strspn (address, "0123456789abcdefABCDEF:%");
  const char *after = address + length + 1;

  if (address[0] == '[')
    return fail (error, text, "invalid ipv6 address: enclosed in too many brackets");
  if (length == 0 || address[length] != ']')
    return fail (error, text, "invalid ipv6 address: the part between brackets "
                 "must be a numeric ipv6 address");
  if (*after != '\0' && *after != ':')
    return fail (error, text, "invalid uri (location)");

  *host = g_strndup (address, length);
  *port_text = *after == ':' ? after + 1 : NULL;
  return TRUE;
}

/* Parses what follows the '@' into @uri's host, port or socket path. */
static gboolean
parse_location (PyroUri *uri, const char *location, int default_port,
                const char *text, GError **error)
{
  const char *port_text;
  g_autofree char *host = NULL;

  if (g_str_has_prefix (location, "./u:"))
    {
      const char *path = location + strlen ("./u:");

      if (*path == '\0' || strchr (path, ':') != NULL)
        return fail (error, text, "invalid uri (location)");
      uri->socket_path = g_strdup (path);
      return TRUE;
    }

  if (location[0] == '[')
    {
      if (!split_ipv6_location (location, &host, &port_text, text, error))
        return FALSE;
    }
  else
    {
      const char *colon = strchr (location, ':');

      host = colon != NULL ? g_strndup (location, colon - location) : g_strdup (location);
      port_text = colon != NULL ? colon + 1 : NULL;
    }

  if (!parse_port (port_text, default_port, &uri->port, text, error))
    return FALSE;
  if (*host == '\0')
    return fail (error, text, "invalid uri (location)");
  uri->host = g_steal_pointer (&host);
  return TRUE;
}

/* Splits "<object>[@<location>]".  The object is at least one character
 * long and ends at the first '@' that has a location after it:
 * "PYRO:@@h:1" is object "@", and in "PYRONAME:x@" the '@' belongs to the
 * name.  Returns the object; @location is NULL when there is none. */
static char *
split_object (const char *rest, const char **location)
{
  const char *at = strchr (rest + 1, '@');

  g_assert (*rest != '\0');

  if (at == NULL || at[1] == '\0')
    {
      *location = NULL;
      return g_strdup (rest);
    }
  *location = at + 1;
  return g_strndup (rest, at - rest);
}

PyroUri *
pyro_uri_parse (const char *text, GError **error)
{
  PyroUriProtocol protocol;
  const char *rest;
  const char *location;
  g_autofree char *object = NULL;
  g_autoptr (PyroUri) uri = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Pyro4's pattern allows no whitespace in the object; libpyro allows it
   * nowhere (see the top of this file). */
  if (!g_utf8_validate (text, -1, NULL) || has_whitespace (text))
    {
      fail (error, text, "invalid uri");
      return NULL;
    }
  rest = skip_protocol (text);
  if (rest == NULL || *rest == '\0')
    {
      fail (error, text, "invalid uri");
      return NULL;
    }

  object = split_object (rest, &location);

  if (!lookup_protocol (text, rest - 1 - text, &protocol))
    {
      fail (error, text, "invalid uri (protocol)");
      return NULL;
    }
  if (protocol == PYRO_URI_PYRO && location == NULL)
    {
      fail (error, text, "invalid uri");
      return NULL;
    }

  uri = g_atomic_rc_box_new0 (PyroUri);
  uri->protocol = protocol;
  if (protocol == PYRO_URI_PYROMETA)
    uri->object = canonical_tags (object);
  else
    uri->object = g_steal_pointer (&object);

  if (location != NULL
      && !parse_location (uri, location,
                          protocol == PYRO_URI_PYRO ? -1 : NAME_SERVER_PORT,
                          text, error))
    return NULL;

  uri->string = format_uri (uri);
  return g_steal_pointer (&uri);
}

/* ---- accessors ---------------------------------------------------------- */

PyroUriProtocol
pyro_uri_get_protocol (const PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, PYRO_URI_PYRO);

  return uri->protocol;
}

const char *
pyro_uri_get_object (const PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);

  return uri->object;
}

const char *
pyro_uri_get_host (const PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);

  return uri->host;
}

guint16
pyro_uri_get_port (const PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, 0);

  return uri->port;
}

const char *
pyro_uri_get_socket_path (const PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);

  return uri->socket_path;
}

const char *
pyro_uri_to_string (const PyroUri *uri)
{
  g_return_val_if_fail (uri != NULL, NULL);

  return uri->string;
}

gboolean
pyro_uri_equal (const PyroUri *a, const PyroUri *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  return strcmp (a->string, b->string) == 0;
}
