/* test-uri.c: PyroUri parsing and printing, against tables.
 *
 * Every row of the tables below was checked once against Python Pyro4 4.82
 * (Pyro4.URI(text): protocol, object, host, port, sockname, str(); or the
 * PyroError text), with PYRO_NS_PORT unset.  The tables are the test; no
 * Python runs here.
 */
#include <pyro/pyro-error.h>
#include <pyro/pyro-uri.h>

#include <string.h>

typedef struct
{
  const char *text;
  PyroUriProtocol protocol;
  const char *object;
  const char *host;          /* NULL: none */
  guint16 port;              /* 0: none */
  const char *socket_path;   /* NULL: none */
  const char *canonical;
} GoodUri;

static const GoodUri good_uris[] = {
  /* PYRO: */
  { "PYRO:obj@localhost:9999", PYRO_URI_PYRO, "obj", "localhost", 9999, NULL, "PYRO:obj@localhost:9999" },
  { "PYRO:obj_1@127.0.0.1:9090", PYRO_URI_PYRO, "obj_1", "127.0.0.1", 9090, NULL, "PYRO:obj_1@127.0.0.1:9090" },
  { "PYRO:Pyro.NameServer@localhost:9090", PYRO_URI_PYRO, "Pyro.NameServer", "localhost", 9090, NULL, "PYRO:Pyro.NameServer@localhost:9090" },
  { "pyro:obj@localhost:9999", PYRO_URI_PYRO, "obj", "localhost", 9999, NULL, "PYRO:obj@localhost:9999" },
  { "PyRo:obj@host.example.com:1", PYRO_URI_PYRO, "obj", "host.example.com", 1, NULL, "PYRO:obj@host.example.com:1" },
  { "PYRO:obj@[::1]:5555", PYRO_URI_PYRO, "obj", "::1", 5555, NULL, "PYRO:obj@[::1]:5555" },
  { "PYRO:obj@[fe80::1%2]:5555", PYRO_URI_PYRO, "obj", "fe80::1%2", 5555, NULL, "PYRO:obj@[fe80::1%2]:5555" },
  /* hex digits alone pass as an "IPv6 address"; without a ':' it prints bare */
  { "PYRO:obj@[abc]:1", PYRO_URI_PYRO, "obj", "abc", 1, NULL, "PYRO:obj@abc:1" },
  { "PYRO:obj@./u:/tmp/sock", PYRO_URI_PYRO, "obj", NULL, 0, "/tmp/sock", "PYRO:obj@./u:/tmp/sock" },
  /* the first '@' with something after it ends the object */
  { "PYRO:weird@name@host:1", PYRO_URI_PYRO, "weird", "name@host", 1, NULL, "PYRO:weird@name@host:1" },
  { "PYRO:@@h:1", PYRO_URI_PYRO, "@", "h", 1, NULL, "PYRO:@@h:1" },
  { "PYRO::x@h:1", PYRO_URI_PYRO, ":x", "h", 1, NULL, "PYRO::x@h:1" },
  { "PYRO:o@h:0009", PYRO_URI_PYRO, "o", "h", 9, NULL, "PYRO:o@h:9" },
  { "PYRO:o@h:0", PYRO_URI_PYRO, "o", "h", 0, NULL, "PYRO:o@h:0" },
  { "PYRO:o@h:65535", PYRO_URI_PYRO, "o", "h", 65535, NULL, "PYRO:o@h:65535" },
  { "PYRO:gr\xc3\xbc\xc3\x9f" "e@h\xc3\xb4st:7", PYRO_URI_PYRO, "gr\xc3\xbc\xc3\x9f" "e", "h\xc3\xb4st", 7, NULL, "PYRO:gr\xc3\xbc\xc3\x9f" "e@h\xc3\xb4st:7" },
  /* PYRONAME: the name server port defaults to 9090 once a host is given */
  { "PYRONAME:my.name", PYRO_URI_PYRONAME, "my.name", NULL, 0, NULL, "PYRONAME:my.name" },
  { "pyroname:my.name", PYRO_URI_PYRONAME, "my.name", NULL, 0, NULL, "PYRONAME:my.name" },
  { "PYRONAME:my.name@nshost", PYRO_URI_PYRONAME, "my.name", "nshost", 9090, NULL, "PYRONAME:my.name@nshost:9090" },
  { "PYRONAME:my.name@nshost:", PYRO_URI_PYRONAME, "my.name", "nshost", 9090, NULL, "PYRONAME:my.name@nshost:9090" },
  { "PYRONAME:my.name@nshost:1234", PYRO_URI_PYRONAME, "my.name", "nshost", 1234, NULL, "PYRONAME:my.name@nshost:1234" },
  { "PYRONAME:my.name@[::1]", PYRO_URI_PYRONAME, "my.name", "::1", 9090, NULL, "PYRONAME:my.name@[::1]:9090" },
  { "PYRONAME:my.name@[::1]:", PYRO_URI_PYRONAME, "my.name", "::1", 9090, NULL, "PYRONAME:my.name@[::1]:9090" },
  { "PYRONAME:my.name@[::1]:99", PYRO_URI_PYRONAME, "my.name", "::1", 99, NULL, "PYRONAME:my.name@[::1]:99" },
  { "PYRONAME:n@./u:/tmp/ns", PYRO_URI_PYRONAME, "n", NULL, 0, "/tmp/ns", "PYRONAME:n@./u:/tmp/ns" },
  /* an '@' with nothing after it, or only at the start, is part of the name */
  { "PYRONAME:x@", PYRO_URI_PYRONAME, "x@", NULL, 0, NULL, "PYRONAME:x@" },
  { "PYRONAME:@h:1", PYRO_URI_PYRONAME, "@h:1", NULL, 0, NULL, "PYRONAME:@h:1" },
  /* PYROMETA: a set of tags, printed sorted (Pyro4 prints a set in no
   * particular order) */
  { "PYROMETA:tag", PYRO_URI_PYROMETA, "tag", NULL, 0, NULL, "PYROMETA:tag" },
  { "PYROMETA:b,a,b", PYRO_URI_PYROMETA, "a,b", NULL, 0, NULL, "PYROMETA:a,b" },
  { "PYROMETA:a,,b", PYRO_URI_PYROMETA, ",a,b", NULL, 0, NULL, "PYROMETA:,a,b" },
  { "PYROMETA:a,b@nshost", PYRO_URI_PYROMETA, "a,b", "nshost", 9090, NULL, "PYROMETA:a,b@nshost:9090" },
  { "pyrometa:y,x@[::1]:5", PYRO_URI_PYROMETA, "x,y", "::1", 5, NULL, "PYROMETA:x,y@[::1]:5" },
  { "PYROMETA:class:Pyro4.naming.NameServer@127.0.0.1:9090", PYRO_URI_PYROMETA, "class:Pyro4.naming.NameServer", "127.0.0.1", 9090, NULL, "PYROMETA:class:Pyro4.naming.NameServer@127.0.0.1:9090" },
};

typedef struct
{
  const char *text;
  const char *reason;  /* the message is "<reason>: '<text>'" */
} BadUri;

/* Pyro4 refuses these with the same words. */
static const BadUri bad_uris[] = {
  { "", "invalid uri" },
  { "PYRO", "invalid uri" },
  { "PYRO:", "invalid uri" },
  { "PYRO:obj", "invalid uri" },
  { "PYRO:obj@", "invalid uri" },
  { "PYRO:@h:1", "invalid uri" },
  { "obj@h:1", "invalid uri" },
  { "http://h:1", "invalid uri" },
  { "PYR:x@h:1", "invalid uri" },
  { "PYRO2:x@h:1", "invalid uri" },
  { " PYRO:x@h:1", "invalid uri" },
  { "PYRO:o b@h:1", "invalid uri" },
  { "PYRO:o\t@h:1", "invalid uri" },
  { "PYRO:o\xc2\xa0@h:1", "invalid uri" },  /* U+00A0 no-break space */
  { "PYRO:o\x1c@h:1", "invalid uri" },      /* a space to Python, not to GLib */
  { "PYROMETA:a,b , c", "invalid uri" },
  { "PYROX:x@h:1", "invalid uri (protocol)" },
  { "PYRONAMES:x", "invalid uri (protocol)" },
  { "PYRO:obj@h", "invalid port in uri, port=None" },
  { "PYRO:obj@h:", "invalid port in uri, port=None" },
  { "PYRO:obj@[::1]", "invalid port in uri, port=None" },
  { "PYRO:obj@[::1]:", "invalid port in uri, port=None" },
  { "PYRO:o@h:1:2", "invalid port in uri, port=1:2" },
  { "PYRO:o@h:x", "invalid port in uri, port=x" },
  { "PYRONAME:n@h:x", "invalid port in uri, port=x" },
  { "PYRO:o@[[::1]]:1", "invalid ipv6 address: enclosed in too many brackets" },
  { "PYRO:o@[zz]:1", "invalid ipv6 address: the part between brackets must be a numeric ipv6 address" },
  { "PYRO:o@[::1:1", "invalid ipv6 address: the part between brackets must be a numeric ipv6 address" },
  { "PYRO:o@[]:1", "invalid ipv6 address: the part between brackets must be a numeric ipv6 address" },
  { "PYRO:o@./u:", "invalid uri (location)" },
  { "PYRO:o@./u:a:b", "invalid uri (location)" },
};

/* libpyro is stricter here: Pyro4 accepts these (or, for "[::1]x", says
 * "port=None"), and they could only fail later, at connect time. */
static const BadUri stricter_than_pyro4[] = {
  { "PYRO:o@my host:1", "invalid uri" },
  { "PYRO:o@h: 1", "invalid uri" },
  { "PYRO:o@h:1\n", "invalid uri" },
  { "PYRO:o@h:65536", "invalid port in uri, port=65536" },
  { "PYRO:o@h:99999999999999999999", "invalid port in uri, port=99999999999999999999" },
  { "PYRO:o@h:-1", "invalid port in uri, port=-1" },
  { "PYRO:o@h:+1", "invalid port in uri, port=+1" },
  { "PYRO:o@h:1_0", "invalid port in uri, port=1_0" },
  { "PYRO:o@[::1]:12x", "invalid port in uri, port=12x" },
  { "PYRO:o@:9", "invalid uri (location)" },
  { "PYRONAME:n@:9", "invalid uri (location)" },
  { "PYRO:o@[::1]x", "invalid uri (location)" },
  { "PYRONAME:n@[::1]x", "invalid uri (location)" },
  { "PYRO:o\xff@h:1", "invalid uri" },  /* not UTF-8: Python could not even hold it */
};

static void
check_good (const GoodUri *row, const PyroUri *uri)
{
  if (pyro_uri_get_protocol (uri) != row->protocol)
    g_test_fail_printf ("%s: protocol %d, expected %d", row->text,
                        pyro_uri_get_protocol (uri), row->protocol);
  if (g_strcmp0 (pyro_uri_get_object (uri), row->object) != 0)
    g_test_fail_printf ("%s: object '%s', expected '%s'", row->text,
                        pyro_uri_get_object (uri), row->object);
  if (g_strcmp0 (pyro_uri_get_host (uri), row->host) != 0)
    g_test_fail_printf ("%s: host '%s', expected '%s'", row->text,
                        pyro_uri_get_host (uri), row->host);
  if (pyro_uri_get_port (uri) != row->port)
    g_test_fail_printf ("%s: port %u, expected %u", row->text,
                        pyro_uri_get_port (uri), row->port);
  if (g_strcmp0 (pyro_uri_get_socket_path (uri), row->socket_path) != 0)
    g_test_fail_printf ("%s: socket path '%s', expected '%s'", row->text,
                        pyro_uri_get_socket_path (uri), row->socket_path);
  if (g_strcmp0 (pyro_uri_to_string (uri), row->canonical) != 0)
    g_test_fail_printf ("%s: prints '%s', expected '%s'", row->text,
                        pyro_uri_to_string (uri), row->canonical);
}

static void
test_parse_good (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (good_uris); i++)
    {
      const GoodUri *row = &good_uris[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (PyroUri) uri = pyro_uri_parse (row->text, &error);

      if (uri == NULL)
        {
          g_test_fail_printf ("%s: refused: %s", row->text, error->message);
          continue;
        }
      g_assert_no_error (error);
      check_good (row, uri);
    }
}

/* The canonical text parses back to the same URI. */
static void
test_parse_canonical (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (good_uris); i++)
    {
      const GoodUri *row = &good_uris[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (PyroUri) uri = pyro_uri_parse (row->canonical, &error);

      if (uri == NULL)
        {
          g_test_fail_printf ("%s: refused: %s", row->canonical, error->message);
          continue;
        }
      check_good (row, uri);
    }
}

static void
check_bad (const BadUri *rows, gsize n_rows)
{
  for (gsize i = 0; i < n_rows; i++)
    {
      const BadUri *row = &rows[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (PyroUri) uri = pyro_uri_parse (row->text, &error);
      gsize reason_length = strlen (row->reason);

      if (uri != NULL)
        {
          g_test_fail_printf ("'%s': accepted as '%s'", row->text,
                              pyro_uri_to_string (uri));
          continue;
        }
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_FAILED);
      /* The reason exactly (so "invalid uri" does not pass for
       * "invalid uri (protocol)"), then what came. */
      if (strncmp (error->message, row->reason, reason_length) != 0
          || !g_str_has_prefix (error->message + reason_length, ": '"))
        g_test_fail_printf ("'%s': message \"%s\", expected \"%s: '...'\"",
                            row->text, error->message, row->reason);
    }
}

static void
test_parse_bad (void)
{
  check_bad (bad_uris, G_N_ELEMENTS (bad_uris));
}

static void
test_parse_stricter (void)
{
  check_bad (stricter_than_pyro4, G_N_ELEMENTS (stricter_than_pyro4));
}

static void
test_error_message (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PyroUri) uri = pyro_uri_parse ("PYROX:x@h:1", &error);

  g_assert_null (uri);
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "invalid uri (protocol): 'PYROX:x@h:1'");
}

static void
test_parse_null_error (void)
{
  /* No GError asked for: still just NULL. */
  g_assert_null (pyro_uri_parse ("PYRO:obj@h", NULL));
}

static void
test_new (void)
{
  static const struct
  {
    const char *object_id;
    const char *host;
    guint16 port;
    const char *canonical;
  } rows[] = {
    { "obj", "localhost", 9090, "PYRO:obj@localhost:9090" },
    { "obj_42", "127.0.0.1", 0, "PYRO:obj_42@127.0.0.1:0" },
    { "obj", "::1", 5555, "PYRO:obj@[::1]:5555" },
    { "obj", "fe80::1%2", 65535, "PYRO:obj@[fe80::1%2]:65535" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (PyroUri) uri = pyro_uri_new (rows[i].object_id, rows[i].host,
                                              rows[i].port);
      g_autoptr (PyroUri) parsed = pyro_uri_parse (rows[i].canonical, NULL);

      g_assert_cmpint (pyro_uri_get_protocol (uri), ==, PYRO_URI_PYRO);
      g_assert_cmpstr (pyro_uri_get_object (uri), ==, rows[i].object_id);
      g_assert_cmpstr (pyro_uri_get_host (uri), ==, rows[i].host);
      g_assert_cmpuint (pyro_uri_get_port (uri), ==, rows[i].port);
      g_assert_null (pyro_uri_get_socket_path (uri));
      g_assert_cmpstr (pyro_uri_to_string (uri), ==, rows[i].canonical);
      g_assert_nonnull (parsed);
      g_assert_true (pyro_uri_equal (uri, parsed));
    }
}

static void
test_equal (void)
{
  static const struct
  {
    const char *a;
    const char *b;
    gboolean equal;  /* as Pyro4's URI.__eq__ says */
  } rows[] = {
    { "PYRO:o@h:1", "PYRO:o@h:1", TRUE },
    { "PYRO:o@h:1", "pyro:o@h:1", TRUE },
    { "PYRO:o@h:9", "PYRO:o@h:0009", TRUE },
    { "PYRONAME:x@h", "PYRONAME:x@h:9090", TRUE },
    { "PYROMETA:a,b", "PYROMETA:b,a", TRUE },
    { "PYROMETA:a,b", "PYROMETA:a,b,a", TRUE },
    { "PYRO:o@h:1", "PYRO:o@h:2", FALSE },
    { "PYRO:o@h:1", "PYRO:O@h:1", FALSE },
    { "PYRO:o@h:1", "PYRO:o@H:1", FALSE },
    { "PYRO:o@h:1", "PYRONAME:o@h:1", FALSE },
    { "PYRONAME:x", "PYRONAME:x@localhost", FALSE },
    { "PYROMETA:a", "PYROMETA:a,b", FALSE },
    { "PYRO:o@./u:/a", "PYRO:o@./u:/b", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (PyroUri) a = pyro_uri_parse (rows[i].a, NULL);
      g_autoptr (PyroUri) b = pyro_uri_parse (rows[i].b, NULL);

      g_assert_nonnull (a);
      g_assert_nonnull (b);
      if (pyro_uri_equal (a, b) != rows[i].equal || pyro_uri_equal (b, a) != rows[i].equal)
        g_test_fail_printf ("%s == %s should be %s", rows[i].a, rows[i].b,
                            rows[i].equal ? "TRUE" : "FALSE");
    }
}

static void
test_ref (void)
{
  PyroUri *uri = pyro_uri_new ("obj", "localhost", 9090);

  /* A reference is the same immutable object; the text stays valid until
   * the last reference goes (ASan would catch a premature free). */
  g_assert_true (pyro_uri_ref (uri) == uri);
  pyro_uri_unref (uri);
  g_assert_cmpstr (pyro_uri_to_string (uri), ==, "PYRO:obj@localhost:9090");
  pyro_uri_unref (uri);
}

static void
test_boxed (void)
{
  g_autoptr (PyroUri) uri = pyro_uri_parse ("PYRONAME:x", NULL);
  PyroUri *copy;

  g_assert_true (G_TYPE_IS_BOXED (PYRO_TYPE_URI));
  g_assert_cmpstr (g_type_name (PYRO_TYPE_URI), ==, "PyroUri");

  /* Copying an immutable boxed URI only takes a reference. */
  copy = g_boxed_copy (PYRO_TYPE_URI, uri);
  g_assert_true (copy == uri);
  g_boxed_free (PYRO_TYPE_URI, copy);
  g_assert_cmpstr (pyro_uri_to_string (uri), ==, "PYRONAME:x");
}

static void
test_autoptr (void)
{
  PyroUri *kept;

  {
    g_autoptr (PyroUri) uri = pyro_uri_parse ("PYRO:obj@[::1]:1", NULL);

    g_assert_nonnull (uri);
    kept = pyro_uri_ref (uri);
  }
  /* The scope dropped its reference; ours keeps the URI alive. */
  g_assert_cmpstr (pyro_uri_get_host (kept), ==, "::1");
  pyro_uri_unref (kept);
}

static gpointer
ref_and_unref_many (gpointer data)
{
  PyroUri *uri = data;

  for (int i = 0; i < 100000; i++)
    pyro_uri_unref (pyro_uri_ref (uri));
  return NULL;
}

static void
test_ref_threads (void)
{
  /* The count is atomic: threads taking and dropping references to one
   * URI at once must not free it early (ASan would see the use after
   * free) nor leak it (LSan would). */
  PyroUri *uri = pyro_uri_new ("shared", "localhost", 1);
  GThread *threads[4];

  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("uri-ref", ref_and_unref_many, uri);
  for (gsize i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpstr (pyro_uri_to_string (uri), ==, "PYRO:shared@localhost:1");
  pyro_uri_unref (uri);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/uri/parse-good", test_parse_good);
  g_test_add_func ("/pyro/uri/parse-canonical", test_parse_canonical);
  g_test_add_func ("/pyro/uri/parse-bad", test_parse_bad);
  g_test_add_func ("/pyro/uri/parse-stricter", test_parse_stricter);
  g_test_add_func ("/pyro/uri/error-message", test_error_message);
  g_test_add_func ("/pyro/uri/parse-null-error", test_parse_null_error);
  g_test_add_func ("/pyro/uri/new", test_new);
  g_test_add_func ("/pyro/uri/equal", test_equal);
  g_test_add_func ("/pyro/uri/ref", test_ref);
  g_test_add_func ("/pyro/uri/ref-threads", test_ref_threads);
  g_test_add_func ("/pyro/uri/boxed", test_boxed);
  g_test_add_func ("/pyro/uri/autoptr", test_autoptr);

  return g_test_run ();
}
