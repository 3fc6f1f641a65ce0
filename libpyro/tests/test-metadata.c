/* test-metadata.c: reading the metadata of a CONNECTOK body.
 *
 * pyro_metadata_read() reads the common body straight from the text and
 * leaves the rest to the general JSON parser.  Every row is read both
 * ways: the direct reader must take exactly the rows marked DIRECT (so a
 * reader that declines everything fails here too), must leave the
 * metadata untouched when it declines, and what it takes must give the
 * same sets as the general path.
 */
#include <string.h>

#include "testutil.h"
#include "pyro-metadata-private.h"

static int
compare_names (gconstpointer a, gconstpointer b, gpointer unused)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* A set as text: its names sorted, as "[a,b]"; "-" for no set. */
static char *
set_text (GHashTable *set)
{
  if (set == NULL)
    return g_strdup ("-");
  g_autofree gpointer *names = g_hash_table_get_keys_as_array (set, NULL);
  g_qsort_with_data (names, g_hash_table_size (set), sizeof (gpointer), compare_names, NULL);
  g_autofree char *joined = g_strjoinv (",", (char **) names);
  return g_strdup_printf ("[%s]", joined);
}

/* The three sets as "methods | oneway | attrs". */
static char *
meta_text (const PyroMetadata *meta)
{
  g_autofree char *methods = set_text (meta->methods);
  g_autofree char *oneway = set_text (meta->oneway);
  g_autofree char *attrs = set_text (meta->attrs);
  return g_strdup_printf ("%s | %s | %s", methods, oneway, attrs);
}

/* Metadata that no row produces, to see that a declining reader left it. */
static void
fill_sentinel (PyroMetadata *meta)
{
  meta->methods = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (meta->methods, g_strdup ("sentinel"));
}

enum { DIRECT, GENERAL };

typedef struct
{
  const char *body;
  int         reader;    /* DIRECT: the direct reader must take it */
  const char *expected;  /* meta_text() of the result */
} Row;

#define PYRO4_BODY "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"add\"], \"oneway\": [], \"attrs\": []}}"

static const Row rows[] = {
  /* What Pyro4 4.82 sends (the reference's example A.2), and what our daemon sends. */
  { PYRO4_BODY, DIRECT, "[add] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"add\", \"echo\", \"notify\"], "
    "\"oneway\": [\"notify\"], \"attrs\": [\"count\"]}}", DIRECT, "[add,echo,notify] | [notify] | [count]" },
  /* Keys in other orders, other spacing, missing lists. */
  { "{\"meta\": {\"attrs\": [\"x\"], \"oneway\": [\"o\"], \"methods\": [\"o\", \"m\"]}, \"handshake\": \"hi\"}",
    DIRECT, "[m,o] | [o] | [x]" },
  { "{\"handshake\":\"hello\",\"meta\":{\"methods\":[\"a\",\"b\"],\"oneway\":[],\"attrs\":[]}}",
    DIRECT, "[a,b] | [] | []" },
  { " {\n \"handshake\" : \"hello\" ,\n \"meta\" : { \"methods\" : [ \"a\" ] }\n}\n", DIRECT, "[a] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {}}", DIRECT, "[] | [] | []" },
  { "{\"meta\": {\"oneway\": [\"ping\"]}}", DIRECT, "[] | [ping] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"gr\xc3\xbc\xc3\x9f\"]}}", DIRECT, "[gr\xc3\xbc\xc3\x9f] | [] | []" },
  /* No metadata: nothing is checked locally. */
  { "{\"handshake\": \"hello\"}", DIRECT, "- | - | -" },
  /* Left to the general path. */
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"caf\\u00e9\"]}}", GENERAL, "[caf\xc3\xa9] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": [1, \"a\", null]}}", GENERAL, "[a] | [] | []" },
  { "{\"handshake\": {\"x\": 1}, \"meta\": {\"methods\": [\"a\"]}}", GENERAL, "[a] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"a\"], \"extra\": 1}}", GENERAL, "[a] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"a\"]}, \"extra\": true}", GENERAL, "[a] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"a\"], \"methods\": [\"b\"]}}", GENERAL, "[b] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": {\"methods\": \"a\"}}", GENERAL, "[] | [] | []" },
  { "{\"handshake\": \"hello\", \"meta\": null}", GENERAL, "- | - | -" },
  { "{}", GENERAL, "- | - | -" },
  { "[1, 2]", GENERAL, "- | - | -" },
  { "\"hello\"", GENERAL, "- | - | -" },
};

static void
test_rows (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      const Row *row = &rows[i];
      gsize len = strlen (row->body);
      g_autofree char *shown = g_strescape (row->body, NULL);
      g_test_message ("row %" G_GSIZE_FORMAT ": %s", i, shown);

      PyroMetadata general = { NULL, NULL, NULL };
      g_autoptr(GError) error = NULL;
      g_assert_true (pyro_metadata_read_general (&general, row->body, len, &error));
      g_assert_no_error (error);
      g_autofree char *general_text = meta_text (&general);
      g_assert_cmpstr (general_text, ==, row->expected);

      PyroMetadata direct = { NULL, NULL, NULL };
      fill_sentinel (&direct);
      gboolean taken = pyro_metadata_read_direct (&direct, row->body, len);
      g_autofree char *direct_text = meta_text (&direct);
      if (row->reader == DIRECT)
        {
          g_assert_true (taken);
          g_assert_cmpstr (direct_text, ==, general_text);
        }
      else
        {
          g_assert_false (taken);
          g_assert_cmpstr (direct_text, ==, "[sentinel] | - | -");
        }

      /* The one entry point gives the same, whichever reader it used. */
      PyroMetadata chosen = { NULL, NULL, NULL };
      fill_sentinel (&chosen);
      g_assert_true (pyro_metadata_read (&chosen, row->body, len, &error));
      g_autofree char *chosen_text = meta_text (&chosen);
      g_assert_cmpstr (chosen_text, ==, general_text);

      pyro_metadata_clear (&general);
      pyro_metadata_clear (&direct);
      pyro_metadata_clear (&chosen);
    }
}

/* A cut-off body is never taken by the direct reader, and is an error
 * that leaves the metadata as it was. */
static void
test_prefixes (void)
{
  const char *body = rows[1].body;

  for (gsize len = 0; len < strlen (body); len++)
    {
      PyroMetadata meta = { NULL, NULL, NULL };
      g_autoptr(GError) error = NULL;
      fill_sentinel (&meta);
      g_assert_false (pyro_metadata_read_direct (&meta, body, len));
      g_assert_false (pyro_metadata_read (&meta, body, len, &error));
      g_assert_nonnull (error);
      g_autofree char *text = meta_text (&meta);
      g_assert_cmpstr (text, ==, "[sentinel] | - | -");
      pyro_metadata_clear (&meta);
    }
}

/* Text that is not JSON is an error naming what was wrong. */
static void
test_not_json (void)
{
  static const char *const bodies[] = {
    "", "{\"handshake\": \"hello\"", PYRO4_BODY "x", "{\"handshake\": \"a\\qb\"}", "\xff",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      PyroMetadata meta = { NULL, NULL, NULL };
      g_autoptr(GError) error = NULL;
      g_assert_false (pyro_metadata_read (&meta, bodies[i], strlen (bodies[i]), &error));
      g_assert_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
      g_autofree char *shown = g_strescape (bodies[i], NULL);
      g_test_message ("%s -> %s", shown, error->message);
      g_assert_null (meta.methods);
    }
}

/* A body read again gives the very sets read the first time (a client
 * that makes a proxy per call reads the same body each time), and any
 * other body, even one byte off, gives its own. */
static void
test_shared (void)
{
  const char *body = rows[1].body;
  g_autofree char *one_off = g_strdup (body);
  *strstr (one_off, "echo") = 'x';   /* "xcho": same length, other sets */
  PyroMetadata first = { NULL, NULL, NULL }, again = { NULL, NULL, NULL }, other = { NULL, NULL, NULL };
  g_autoptr(GError) error = NULL;

  g_assert_true (pyro_metadata_read (&first, body, strlen (body), &error));
  g_assert_true (pyro_metadata_read (&again, body, strlen (body), &error));
  g_assert_true (again.methods == first.methods);
  g_assert_true (again.oneway == first.oneway);
  g_assert_true (again.attrs == first.attrs);
  g_autofree char *again_text = meta_text (&again);
  g_assert_cmpstr (again_text, ==, rows[1].expected);

  g_assert_true (pyro_metadata_read (&other, one_off, strlen (one_off), &error));
  g_autofree char *other_text = meta_text (&other);
  g_assert_cmpstr (other_text, ==, "[add,notify,xcho] | [notify] | [count]");

  /* The first sets are unchanged by all this, and a body without
   * metadata shares "no sets". */
  g_autofree char *first_text = meta_text (&first);
  g_assert_cmpstr (first_text, ==, rows[1].expected);
  pyro_metadata_clear (&other);
  g_assert_true (pyro_metadata_read (&other, "{\"handshake\": \"hello\"}", 22, &error));
  g_assert_true (pyro_metadata_read (&other, "{\"handshake\": \"hello\"}", 22, &error));
  g_assert_null (other.methods);
  g_assert_no_error (error);

  pyro_metadata_clear (&first);
  pyro_metadata_clear (&again);
  pyro_metadata_clear (&other);
}

/* Threads reading bodies in turn, the same and different ones: each gets
 * the sets of the body it read. */
static gpointer
read_many (gpointer data)
{
  guint offset = GPOINTER_TO_UINT (data);

  for (guint i = 0; i < 3000; i++)
    {
      const Row *row = &rows[(i + offset) % 4];
      PyroMetadata meta = { NULL, NULL, NULL };
      g_autoptr(GError) error = NULL;

      g_assert_true (pyro_metadata_read (&meta, row->body, strlen (row->body), &error));
      g_autofree char *text = meta_text (&meta);
      if (g_strcmp0 (text, row->expected) != 0)
        g_error ("read <%s>, got %s, expected %s", row->body, text, row->expected);
      pyro_metadata_clear (&meta);
    }
  return NULL;
}

static void
test_shared_threads (void)
{
  GThread *threads[4];

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("reader", read_many, GUINT_TO_POINTER (t % 2));
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pyro/metadata/rows", test_rows);
  g_test_add_func ("/pyro/metadata/prefixes", test_prefixes);
  g_test_add_func ("/pyro/metadata/not-json", test_not_json);
  g_test_add_func ("/pyro/metadata/shared", test_shared);
  g_test_add_func ("/pyro/metadata/shared-threads", test_shared_threads);
  return g_test_run ();
}
