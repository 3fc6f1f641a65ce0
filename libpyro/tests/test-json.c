/* test-json.c: the JSON serializer (pyro-json.c), against tables.
 *
 * The JSON texts in these tables are what Python's json module gives for
 * the same value, json.dumps(value, ensure_ascii=False) as Pyro4 calls it.
 * The tables are the test; /pyro/json/python-agrees additionally asks
 * /usr/bin/python3 about every row that names a Python value, so a wrong
 * expectation cannot creep in (it fails, never skips, where Python is missing).
 *
 * The mapping table is the one libpyro/docs/mapping.md documents; the
 * edge cases of design.md section 3 are the first rows of the typed table.
 */
#include "pyro-json-private.h"
#include "pyro-wire-private.h"
#include "testutil.h"

#include <pyro/pyro-error.h>

#include <math.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static JsonNode *
parse_or_fail (const char *text, gssize len)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = pyro_json_parse (text, len, &error);

  if (node == NULL)
    g_test_message ("parsing <%s>: %s", text, error->message);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static char *
node_to_text (JsonNode *node)
{
  GString *out = g_string_new (NULL);

  pyro_json_write_node (out, node);
  return g_string_free (out, FALSE);
}

static GVariant *
variant_from_text (const char *type, const char *text)
{
  g_autoptr(GError) error = NULL;
  GVariant *value = g_variant_parse (type ? G_VARIANT_TYPE (type) : NULL, text, NULL, NULL, &error);

  g_assert_no_error (error);
  return value;  /* g_variant_parse() gives a full, non-floating reference */
}

static void
assert_variant_equal (GVariant *got, GVariant *expected, const char *context)
{
  if (!g_variant_equal (got, expected))
    {
      g_autofree char *g = g_variant_print (got, TRUE);
      g_autofree char *e = g_variant_print (expected, TRUE);

      g_error ("%s: got %s, expected %s", context, g, e);
    }
}

static void
assert_error_contains (const GError *error, PyroErrorCode code, const char *substring, const char *context)
{
  if (error == NULL)
    g_error ("%s: no error, expected one containing \"%s\"", context, substring);
  if (strstr (error->message, substring) == NULL)
    g_error ("%s: error \"%s\" does not contain \"%s\"", context, error->message, substring);
  g_assert_error (error, PYRO_ERROR, (int) code);
}

/* ---- the mapping: GVariant -> JSON -> GVariant -------------------------- */

/* back: what reading the JSON with the variant's own type gives, when it
 * is not the value we started from; NOT_READABLE: it cannot be read. */
static const char NOT_READABLE[] = "(not readable)";

typedef struct
{
  const char *variant;   /* GVariant text format */
  const char *python;    /* the same value in Python */
  const char *json;      /* json.dumps of it */
  const char *back;      /* NULL: the variant itself */
} MappingRow;

static const MappingRow mapping_rows[] = {
  /* b */
  { "true", "True", "true" },
  { "false", "False", "false" },
  /* integers, at their limits */
  { "byte 0", "0", "0" },
  { "byte 255", "255", "255" },
  { "int16 -32768", "-32768", "-32768" },
  { "int16 32767", "32767", "32767" },
  { "uint16 65535", "65535", "65535" },
  { "int32 -2147483648", "-2147483648", "-2147483648" },
  { "int32 2147483647", "2147483647", "2147483647" },
  { "uint32 4294967295", "4294967295", "4294967295" },
  { "int64 -9223372036854775808", "-9223372036854775808", "-9223372036854775808" },
  { "int64 9223372036854775807", "9223372036854775807", "9223372036854775807" },
  { "uint64 9223372036854775807", "9223372036854775807", "9223372036854775807" },
  /* a uint64 above 2^63-1 goes out, but a gint64 JsonNode cannot hold it */
  { "uint64 18446744073709551615", "18446744073709551615", "18446744073709551615", NOT_READABLE },
  /* d */
  { "1.5", "1.5", "1.5" },
  { "3.0", "3.0", "3.0" },
  { "-0.0", "-0.0", "-0.0" },
  { "1e22", "1e22", "1e+22" },
  { "0.1", "0.1", "0.1" },
  { "nan", "float('nan')", "NaN" },
  { "inf", "float('inf')", "Infinity" },
  { "-inf", "float('-inf')", "-Infinity" },
  /* s o g */
  { "'h\xc3\xa9llo'", "'h\\u00e9llo'", "\"h\xc3\xa9llo\"" },
  { "'say \"hi\"\\n'", "'say \"hi\"\\n'", "\"say \\\"hi\\\"\\n\"" },
  { "objectpath '/org/example/Thing'", "'/org/example/Thing'", "\"/org/example/Thing\"" },
  { "signature 'a{sv}'", "'a{sv}'", "\"a{sv}\"" },
  /* v: the inner value; read back, it takes the natural type */
  { "<42>", "42", "42", "<int64 42>" },
  { "<'x'>", "'x'", "\"x\"" },
  { "<<'x'>>", "'x'", "\"x\"", "<'x'>" },
  { "<[1, 2]>", "[1, 2]", "[1, 2]", "<[<int64 1>, <int64 2>]>" },
  /* m*: None or the value */
  { "@ms nothing", "None", "null" },
  { "@ms 'x'", "'x'", "\"x\"" },
  { "@mi 5", "5", "5" },
  { "@mv nothing", "None", "null" },
  { "@mv <5>", "5", "5", "@mv <int64 5>" },
  /* Just(Nothing) and Nothing both travel as null */
  { "@mms just nothing", "None", "null", "@mms nothing" },
  /* tuples and a lone dict entry: lists */
  { "('apple', 3)", "('apple', 3)", "[\"apple\", 3]" },
  { "@() ()", "()", "[]" },
  { "((1, 'a'), [true])", "((1, 'a'), [True])", "[[1, \"a\"], [true]]" },
  { "{'a', 1}", "('a', 1)", "[\"a\", 1]" },
  /* arrays */
  { "[1, 2, 3]", "[1, 2, 3]", "[1, 2, 3]" },
  { "@ai []", "[]", "[]" },
  { "['a', 'b']", "['a', 'b']", "[\"a\", \"b\"]" },
  { "[[1], [2, 3]]", "[[1], [2, 3]]", "[[1], [2, 3]]" },
  { "@ab [true, false]", "[True, False]", "[true, false]" },
  { "@ad [1.5, -0.0, 1e300, 2]", "[1.5, -0.0, 1e300, 2.0]", "[1.5, -0.0, 1e+300, 2.0]" },
  { "@an [-32768, 32767]", "[-32768, 32767]", "[-32768, 32767]" },
  { "@aq [0, 65535]", "[0, 65535]", "[0, 65535]" },
  { "@au [0, 4294967295]", "[0, 4294967295]", "[0, 4294967295]" },
  { "@ax [-9223372036854775808, 9223372036854775807]", "[-9223372036854775808, 9223372036854775807]",
    "[-9223372036854775808, 9223372036854775807]" },
  { "@at [0, 9223372036854775807]", "[0, 9223372036854775807]", "[0, 9223372036854775807]" },
  { "[('a', 1), ('b', 2)]", "[('a', 1), ('b', 2)]", "[[\"a\", 1], [\"b\", 2]]" },
  { "[<1>, <'a'>, <@mv nothing>]", "[1, 'a', None]", "[1, \"a\", null]",
    "[<int64 1>, <'a'>, <@mv nothing>]" },
  /* dicts: keys become strings, as Python's json.dumps writes them */
  { "@a{sv} {}", "{}", "{}" },
  { "{'a': <1>, 'b': <'x'>}", "{'a': 1, 'b': 'x'}", "{\"a\": 1, \"b\": \"x\"}", "{'a': <int64 1>, 'b': <'x'>}" },
  { "{'x': 1, 'y': 2}", "{'x': 1, 'y': 2}", "{\"x\": 1, \"y\": 2}" },
  { "{1: 'one', -2: 'minus two'}", "{1: 'one', -2: 'minus two'}", "{\"1\": \"one\", \"-2\": \"minus two\"}" },
  { "@a{ys} {200: 'x'}", "{200: 'x'}", "{\"200\": \"x\"}" },
  { "@a{ts} {18446744073709551615: 'max'}", "{18446744073709551615: 'max'}", "{\"18446744073709551615\": \"max\"}" },
  { "{true: 1, false: 0}", "{True: 1, False: 0}", "{\"true\": 1, \"false\": 0}" },
  { "{1.5: 'a'}", "{1.5: 'a'}", "{\"1.5\": \"a\"}" },
  { "{objectpath '/a': 'x'}", "{'/a': 'x'}", "{\"/a\": \"x\"}" },
  { "{'k': {'n': [1.5]}}", "{'k': {'n': [1.5]}}", "{\"k\": {\"n\": [1.5]}}" },
  { "{'list': <[1, 2]>, 'none': <@ms nothing>}", "{'list': [1, 2], 'none': None}",
    "{\"list\": [1, 2], \"none\": null}", "{'list': <[<int64 1>, <int64 2>]>, 'none': <@mv nothing>}" },
};

static void
test_mapping (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (mapping_rows); i++)
    {
      const MappingRow *row = &mapping_rows[i];
      g_autoptr(GVariant) value = variant_from_text (NULL, row->variant);
      g_autoptr(GString) out = g_string_new ("");
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GVariant) back = NULL;
      g_autoptr(GVariant) expected_back = NULL;

      /* GVariant -> JSON */
      g_assert_true (pyro_json_write_variant (out, value, &error));
      g_assert_no_error (error);
      if (strcmp (out->str, row->json) != 0)
        g_error ("writing %s: got <%s>, expected <%s>", row->variant, out->str, row->json);

      /* JSON -> GVariant of the same type */
      node = pyro_json_parse (row->json, -1, &error);
      if (row->back == NOT_READABLE)
        {
          g_assert_null (node);
          assert_error_contains (error, PYRO_ERROR_SERIALIZE, "does not fit in a signed 64-bit integer", row->variant);
          continue;
        }
      g_assert_no_error (error);
      back = pyro_json_to_variant (node, g_variant_get_type (value), &error);
      g_assert_no_error (error);
      g_assert_false (g_variant_is_floating (back));
      expected_back = row->back ? variant_from_text (g_variant_get_type_string (value), row->back)
                                : g_variant_ref (value);
      assert_variant_equal (back, expected_back, row->variant);
    }
}

/* ---- writing floats ----------------------------------------------------- */

typedef struct
{
  double value;
  const char *json;   /* Python's repr, except NaN and the infinities */
} DoubleRow;

static const DoubleRow double_rows[] = {
  { 0.0, "0.0" },
  { -0.0, "-0.0" },
  { 3.0, "3.0" },
  { -2.5, "-2.5" },
  { 100.0, "100.0" },
  { -123.0, "-123.0" },
  { 999999999999999.0, "999999999999999.0" },
  { 4503599627370497.0, "4503599627370497.0" },    /* 2^52 + 1 */
  { 0.1, "0.1" },
  { 1.0 / 3.0, "0.3333333333333333" },
  { 2.0 / 3.0, "0.6666666666666666" },
  { 12345678.9, "12345678.9" },
  { 1e15, "1000000000000000.0" },
  { 1e16, "1e+16" },
  { 1e22, "1e+22" },
  { 1e100, "1e+100" },
  { 123456789012345678.0, "1.2345678901234568e+17" },
  { 9007199254740993.0, "9007199254740992.0" },
  { 0.0001, "0.0001" },
  { 0.00001, "1e-05" },
  { 1.5e-7, "1.5e-07" },
  { 0.000123456, "0.000123456" },
  { G_MAXDOUBLE, "1.7976931348623157e+308" },
  { G_MINDOUBLE, "2.2250738585072014e-308" },
  { 5e-324, "5e-324" },                 /* the smallest subnormal */
  { 1.5e-323, "1.5e-323" },
  { 7.120236347223045e-307, "7.120236347223045e-307" },  /* 2^-1015: 16 digits, rounded up */
  { 0x1p-1000, "9.332636185032189e-302" },
  { NAN, "NaN" },
  { INFINITY, "Infinity" },
  { -INFINITY, "-Infinity" },
};

static void
test_write_double (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (double_rows); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(JsonNode) node = json_node_init_double (json_node_alloc (), double_rows[i].value);
      g_autoptr(GVariant) value = g_variant_ref_sink (g_variant_new_double (double_rows[i].value));

      pyro_json_write_node (out, node);
      g_assert_cmpstr (out->str, ==, double_rows[i].json);
      g_string_truncate (out, 0);
      g_assert_true (pyro_json_write_variant (out, value, NULL));
      g_assert_cmpstr (out->str, ==, double_rows[i].json);
    }
}

/* Every double written reads back as the very same double. */
static void
test_double_round_trip (void)
{
  for (int i = 0; i < 20000; i++)
    {
      guint64 bits = ((guint64) g_test_rand_int () << 32) | (guint32) g_test_rand_int ();
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(JsonNode) back = NULL;
      double value, read;

      memcpy (&value, &bits, sizeof value);
      node = json_node_init_double (json_node_alloc (), value);
      pyro_json_write_node (out, node);
      g_assert_true (strpbrk (out->str, ".eNI") != NULL);
      back = parse_or_fail (out->str, out->len);
      read = json_node_get_double (back);
      if (isnan (value))
        g_assert_true (isnan (read));
      else if (memcmp (&value, &read, sizeof value) != 0)
        g_error ("%s read back as %.17g", out->str, read);
    }
}

/* ---- writing strings ---------------------------------------------------- */

typedef struct
{
  const char *text;
  const char *json;
} StringRow;

static const StringRow string_rows[] = {
  { "", "\"\"" },
  { "hello", "\"hello\"" },
  { "a\"b", "\"a\\\"b\"" },
  { "back\\slash", "\"back\\\\slash\"" },
  { "a/b", "\"a/b\"" },
  { "\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"" },
  { "\x01\x1f", "\"\\u0001\\u001f\"" },
  { "del\x7f", "\"del\x7f\"" },
  { "h\xc3\xa9llo w\xc3\xb6rld", "\"h\xc3\xa9llo w\xc3\xb6rld\"" },
  { "line\xe2\x80\xa8sep", "\"line\xe2\x80\xa8sep\"" },       /* U+2028 stays raw */
  { "smile \xf0\x9f\x98\x80", "\"smile \xf0\x9f\x98\x80\"" },
  { "mixed \"\xc3\xa9\"\n\\", "\"mixed \\\"\xc3\xa9\\\"\\n\\\\\"" },
};

static void
test_write_string (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (string_rows); i++)
    {
      g_autoptr(GString) out = g_string_new ("x");
      g_autoptr(JsonNode) back = NULL;

      pyro_json_write_string (out, string_rows[i].text);
      g_assert_cmpstr (out->str + 1, ==, string_rows[i].json);
      back = parse_or_fail (out->str + 1, -1);
      g_assert_cmpstr (json_node_get_string (back), ==, string_rows[i].text);
    }
}

/* Every character of the first planes survives writing and reading. */
static void
test_string_round_trip (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(JsonNode) back = NULL;

  for (gunichar c = 1; c < 0x30000; c++)
    if (g_unichar_validate (c))
      g_string_append_unichar (text, c);
  pyro_json_write_string (out, text->str);
  back = parse_or_fail (out->str, out->len);
  g_assert_cmpstr (json_node_get_string (back), ==, text->str);
}

/* ---- refused types ------------------------------------------------------ */

typedef struct
{
  const char *variant;
  const char *error;
} RefusedRow;

static const RefusedRow refused_rows[] = {
  { "@ay []", "cannot serialize type 'ay' (bytes) with JSON" },
  { "b'abc'", "cannot serialize type 'ay' (bytes) with JSON" },
  { "handle 3", "cannot serialize type 'h' (file descriptor handle) with JSON" },
  { "@may nothing", "cannot serialize type 'may' with JSON: it contains 'ay' (bytes)" },
  { "(1, @ay [])", "cannot serialize type '(iay)' with JSON: it contains 'ay' (bytes)" },
  { "@a{hs} {}", "cannot serialize type 'a{hs}' with JSON: it contains 'h'" },
  /* inside a variant the type is only known once the value is met */
  { "[<1>, <@ay [1]>]", "cannot serialize type 'ay' (bytes) with JSON" },
  { "{'k': <(1, handle 1)>}", "cannot serialize type '(ih)' with JSON: it contains 'h'" },
};

static void
test_refused (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refused_rows); i++)
    {
      g_autoptr(GVariant) value = variant_from_text (NULL, refused_rows[i].variant);
      g_autoptr(GString) out = g_string_new ("before ");
      g_autoptr(GError) error = NULL;

      g_assert_false (pyro_json_write_variant (out, value, &error));
      assert_error_contains (error, PYRO_ERROR_SERIALIZE, refused_rows[i].error, refused_rows[i].variant);
      /* nothing half-written is left behind */
      g_assert_cmpstr (out->str, ==, "before ");
    }
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct
{
  const char *json;
  const char *canonical;   /* json.dumps(json.loads(json), ensure_ascii=False) */
} ParseRow;

static const ParseRow parse_rows[] = {
  { "  [1,2 , 3]\n", "[1, 2, 3]" },
  { " \t\r\n{ } ", "{}" },
  { "[ ]", "[]" },
  { "[[[]], {}]", "[[[]], {}]" },
  { "{\"a\":1,\"b\":[true,false,null]}", "{\"a\": 1, \"b\": [true, false, null]}" },
  { "{\"b\": 1, \"a\": 2, \"b\": 3}", "{\"b\": 3, \"a\": 2}" },   /* first place, last value */
  { "true", "true" },
  { "null", "null" },
  { "\"x\"", "\"x\"" },
  /* numbers */
  { "-0", "0" },
  { "-0.0", "-0.0" },
  { "1E2", "100.0" },
  { "1e-2", "0.01" },
  { "2.50", "2.5" },
  { "[1.0, 10, 1.5e3, 1E+2]", "[1.0, 10, 1500.0, 100.0]" },
  { "123456789012345678.0", "1.2345678901234568e+17" },
  { "12345678901234567890.0", "1.2345678901234567e+19" },
  { "1e400", "Infinity" },
  { "-1e400", "-Infinity" },
  { "1e-400", "0.0" },
  { "0.000000000000000000000000000000000000000000000000000000000000000000000001", "1e-72" },
  { "[NaN, Infinity, -Infinity]", "[NaN, Infinity, -Infinity]" },
  { "9223372036854775807", "9223372036854775807" },
  { "-9223372036854775808", "-9223372036854775808" },
  /* strings */
  { "\"\\u00e9\\ud83d\\ude00\\/\\\"\"", "\"\xc3\xa9\xf0\x9f\x98\x80/\\\"\"" },
  { "\"\\u0041\\u00DF\\uFFFF\"", "\"A\xc3\x9f\xef\xbf\xbf\"" },
  { "\"\\b\\f\\n\\r\\t\\u001f\"", "\"\\b\\f\\n\\r\\t\\u001f\"" },
  { "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
  { "\"del \x7f\"", "\"del \x7f\"" },
  { "{\"\xc3\xa9\\n\": \"\"}", "{\"\xc3\xa9\\n\": \"\"}" },
};

static void
test_parse (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (parse_rows); i++)
    {
      g_autoptr(JsonNode) node = parse_or_fail (parse_rows[i].json, -1);
      g_autofree char *text = node_to_text (node);

      if (strcmp (text, parse_rows[i].canonical) != 0)
        g_error ("<%s> reads as <%s>, expected <%s>", parse_rows[i].json, text, parse_rows[i].canonical);
    }
}

/* Numbers keep their kind: Python's 3 and 3.0 differ. */
static void
test_parse_number_kinds (void)
{
  g_autoptr(JsonNode) node = parse_or_fail ("[3, 3.0, -9223372036854775808, 1e2]", -1);
  JsonArray *array = json_node_get_array (node);

  g_assert_cmpint (json_node_get_value_type (json_array_get_element (array, 0)), ==, G_TYPE_INT64);
  g_assert_cmpint (json_array_get_int_element (array, 0), ==, 3);
  g_assert_cmpint (json_node_get_value_type (json_array_get_element (array, 1)), ==, G_TYPE_DOUBLE);
  g_assert_cmpint (json_array_get_int_element (array, 2), ==, G_MININT64);
  g_assert_cmpint (json_node_get_value_type (json_array_get_element (array, 3)), ==, G_TYPE_DOUBLE);
  g_assert_cmpfloat (json_array_get_double_element (array, 3), ==, 100.0);
}

/* Only @len bytes are read, and no terminating NUL is needed. */
static void
test_parse_length (void)
{
  static const char *texts[] = { "[12]", "1.5", "-7", "\"abc\"", "true", "NaN", "-Infinity" };
  g_autoptr(JsonNode) node = parse_or_fail ("[1, 2] trailing", 6);
  g_autofree char *text = node_to_text (node);

  g_assert_cmpstr (text, ==, "[1, 2]");

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      /* a malloc'ed copy without terminator: ASan catches reads past it */
      g_autofree char *copy = g_memdup2 (texts[i], strlen (texts[i]));
      g_autoptr(JsonNode) parsed = parse_or_fail (copy, strlen (texts[i]));
      g_autofree char *written = node_to_text (parsed);

      g_assert_cmpstr (written, ==, texts[i]);
    }
}

typedef struct
{
  const char *json;
  gssize len;              /* -1: NUL-terminated */
  const char *error;
  gboolean python_accepts; /* a deliberate difference from Python */
} BadRow;

static const BadRow bad_rows[] = {
  { "", -1, "invalid JSON at offset 0: expected a JSON value, got end of input" },
  { "   ", -1, "invalid JSON at offset 3: expected a JSON value, got end of input" },
  { "[1,]", -1, "invalid JSON at offset 3: expected a JSON value, got ']'" },
  { "[1 2]", -1, "invalid JSON at offset 3: expected ',' or ']', got '2'" },
  { "[1, 2", -1, "invalid JSON at offset 5: expected ',' or ']', got end of input" },
  { "[\"a\" : 1]", -1, "invalid JSON at offset 5: expected ',' or ']', got ':'" },
  { "{\"a\" 1}", -1, "invalid JSON at offset 5: expected ':' after a key, got '1'" },
  { "{\"a\":1,}", -1, "invalid JSON at offset 7: expected a string key in double quotes, got '}'" },
  { "{\"a\": 1", -1, "invalid JSON at offset 7: expected ',' or '}', got end of input" },
  { "{a:1}", -1, "invalid JSON at offset 1: expected a string key in double quotes, got 'a'" },
  { "{'a':1}", -1, "invalid JSON at offset 1: expected a string key in double quotes, got \"'\"" },
  { "{1: 2}", -1, "invalid JSON at offset 1: expected a string key in double quotes, got '1'" },
  { "[1] x", -1, "invalid JSON at offset 4: expected end of input, got 'x'" },
  { "[1]]", -1, "invalid JSON at offset 3: expected end of input, got ']'" },
  { "[1]\0", 4, "invalid JSON at offset 3: expected end of input, got byte 0x00" },
  /* words Python does not write */
  { "nan", -1, "invalid JSON at offset 0: expected a JSON value, got 'nan'" },
  { "True", -1, "invalid JSON at offset 0: expected a JSON value, got 'True'" },
  { "tru", -1, "invalid JSON at offset 0: expected a JSON value, got 'tru'" },
  { "None", -1, "invalid JSON at offset 0: expected a JSON value, got 'None'" },
  { "-Inf", -1, "invalid JSON at offset 1: expected a JSON value, got 'Inf'" },
  { "undefined", -1, "invalid JSON at offset 0: expected a JSON value, got 'undefined'" },
  /* numbers */
  { "-", -1, "invalid JSON at offset 1: expected a digit, got end of input" },
  { "-x", -1, "invalid JSON at offset 1: expected a digit, got 'x'" },
  { "01", -1, "invalid JSON at offset 1: expected end of input, got '1'" },
  { "1.", -1, "invalid JSON at offset 2: expected a digit after the decimal point, got end of input" },
  { "1.e5", -1, "invalid JSON at offset 2: expected a digit after the decimal point, got 'e5'" },
  { ".5", -1, "invalid JSON at offset 0: expected a JSON value, got '.'" },
  { "1e", -1, "invalid JSON at offset 2: expected a digit in the exponent, got end of input" },
  { "1e+", -1, "invalid JSON at offset 3: expected a digit in the exponent, got end of input" },
  { "+1", -1, "invalid JSON at offset 0: expected a JSON value, got '+'" },
  { "0x10", -1, "invalid JSON at offset 1: expected end of input, got 'x10'" },
  /* integers beyond 64 bits: Python has them, a gint64 does not */
  { "12345678901234567890", -1, "integer 12345678901234567890 does not fit in a signed 64-bit integer", TRUE },
  { "9223372036854775808", -1, "integer 9223372036854775808 does not fit in a signed 64-bit integer", TRUE },
  { "-9223372036854775809", -1, "integer -9223372036854775809 does not fit in a signed 64-bit integer", TRUE },
  { "[1, 100000000000000000000000000000000000000000000000000000000000]", -1,
    "integer 1000000000000000000000000000000000000000... does not fit in a signed 64-bit integer (JSON offset 4)", TRUE },
  /* strings */
  { "\"abc", -1, "invalid JSON at offset 4: expected '\"' to end the string, got end of input" },
  { "\"a\nb\"", -1, "invalid JSON at offset 2: expected a string character (control characters must be escaped), got byte 0x0a" },
  { "\"\\x\"", -1, "invalid JSON at offset 2: expected one of \" \\ / b f n r t u after '\\', got 'x'" },
  { "\"\\", -1, "invalid JSON at offset 2: expected an escape character after '\\', got end of input" },
  { "\"\\u12\"", -1, "invalid JSON at offset 5: expected 4 hex digits after \\u, got '\"'" },
  { "\"\\u12G4\"", -1, "invalid JSON at offset 5: expected 4 hex digits after \\u, got 'G4'" },
  { "\"\\ud83d\"", -1, "invalid JSON at offset 7: expected a low surrogate \\uDC00-\\uDFFF after a high one, got '\"'", TRUE },
  { "\"\\ud83d\\u0041\"", -1, "invalid JSON at offset 7: expected a low surrogate \\uDC00-\\uDFFF after a high one, got '\\'", TRUE },
  { "\"\\ude00\"", -1, "invalid JSON at offset 1: expected a character, got a lone low surrogate", TRUE },
  { "\"a\\u0000b\"", -1, "invalid JSON at offset 2: expected a string without NUL characters, got \\u0000", TRUE },
  /* raw bytes that are not UTF-8 */
  { "\"\xff\"", -1, "invalid JSON at offset 1: expected UTF-8 text, got byte 0xff" },
  { "\"ab\xc3\"", -1, "invalid JSON at offset 3: expected UTF-8 text, got byte 0xc3" },
  { "\"ok \xe2\x82\"", -1, "invalid JSON at offset 4: expected UTF-8 text, got byte 0xe2" },
  { "\"\xc0\xaf\"", -1, "invalid JSON at offset 1: expected UTF-8 text, got byte 0xc0" },          /* overlong '/' */
  { "\"\xed\xa0\x80\"", -1, "invalid JSON at offset 1: expected UTF-8 text, got byte 0xed" },      /* a surrogate */
  { "\"\xf4\x90\x80\x80\"", -1, "invalid JSON at offset 1: expected UTF-8 text, got byte 0xf4" },  /* > U+10FFFF */
  { "{\"k\xff\": 1}", -1, "invalid JSON at offset 3: expected UTF-8 text, got byte 0xff" },
  { "[\"\xc3\xa9\", \"\x80\"]", -1, "invalid JSON at offset 8: expected UTF-8 text, got byte 0x80" },
  /* non-ASCII outside strings */
  { "\xc3\xa9", -1, "invalid JSON at offset 0: expected a JSON value, got '\xc3\xa9' (U+00E9)" },
  { "\xef\xbb\xbf[1]", -1, "invalid JSON at offset 0: expected a JSON value, got '\xef\xbb\xbf' (U+FEFF)" },
  { "\xff", -1, "invalid JSON at offset 0: expected a JSON value, got byte 0xff" },
};

static void
test_parse_errors (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_rows); i++)
    {
      const BadRow *row = &bad_rows[i];
      gsize len = row->len < 0 ? strlen (row->json) : (gsize) row->len;
      /* a malloc'ed copy without terminator: ASan catches reads past it */
      g_autofree char *copy = g_malloc (MAX (len, 1));
      g_autoptr(GError) error = NULL;

      memcpy (copy, row->json, len);
      g_assert_null (pyro_json_parse (copy, len, &error));
      assert_error_contains (error, PYRO_ERROR_SERIALIZE, row->error, row->json);
    }
}

static char *
nested_lists (guint depth)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

static void
test_deep_nesting (void)
{
  g_autofree char *ok = nested_lists (512);
  g_autofree char *too_deep = nested_lists (513);
  g_autofree char *way_too_deep = nested_lists (1000000);
  g_autoptr(GString) objects = g_string_new (NULL);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  node = parse_or_fail (ok, -1);
  text = node_to_text (node);
  g_assert_cmpstr (text, ==, ok);
  value = pyro_json_to_variant (node, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (value, G_VARIANT_TYPE ("av")));
  g_clear_pointer (&node, json_node_unref);

  g_assert_null (pyro_json_parse (too_deep, -1, &error));
  assert_error_contains (error, PYRO_ERROR_SERIALIZE,
                         "invalid JSON at offset 512: expected at most 512 nested lists and dicts, got more",
                         "513 lists");
  g_clear_error (&error);

  g_assert_null (pyro_json_parse (way_too_deep, -1, &error));
  assert_error_contains (error, PYRO_ERROR_SERIALIZE, "offset 512: expected at most 512 nested", "10^6 lists");
  g_clear_error (&error);

  for (guint i = 0; i < 100000; i++)
    g_string_append (objects, "{\"a\": ");
  g_assert_null (pyro_json_parse (objects->str, objects->len, &error));
  assert_error_contains (error, PYRO_ERROR_SERIALIZE, "offset 3072: expected at most 512 nested", "dicts");
}

/* ---- JSON -> GVariant --------------------------------------------------- */

typedef struct
{
  const char *json;
  const char *type;
  const char *expected;       /* GVariant text; NULL: an error */
  PyroErrorCode code;
  const char *error;          /* a substring of the message */
} TypedRow;

#define ARGS PYRO_ERROR_INVALID_ARGS
#define SER  PYRO_ERROR_SERIALIZE

static const TypedRow typed_rows[] = {
  /* the edge cases of design.md, section 3 */
  { "[12345678901234567890]", "(x)", NULL, SER, "integer 12345678901234567890 does not fit in a signed 64-bit integer" },
  { "[3000000000]", "(i)", NULL, ARGS, "item 0: expected int32 (i), got int 3000000000 (out of range)" },
  { "[-1]", "(u)", NULL, ARGS, "item 0: expected uint32 (u), got int -1 (out of range)" },
  { "[300]", "(y)", NULL, ARGS, "item 0: expected byte (y), got int 300 (out of range)" },
  { "[NaN]", "(d)", "(nan,)" },
  { "[Infinity]", "(d)", "(inf,)" },
  { "[-Infinity]", "(d)", "(-inf,)" },
  { "[3, \"apple\"]", "(si)", NULL, ARGS, "item 0: expected string (s), got int 3" },
  { "[\"a\", \"b\"]", "(s)", NULL, ARGS, "expected a list of 1 element for (s), got a list of 2" },
  { "[3]", "(d)", "(3.0,)" },
  { "[null]", "(ms)", "(@ms nothing,)" },

  /* every integer type at and beyond its limits */
  { "0", "y", "byte 0" },
  { "255", "y", "byte 255" },
  { "256", "y", NULL, ARGS, "expected byte (y), got int 256 (out of range)" },
  { "-1", "y", NULL, ARGS, "expected byte (y), got int -1 (out of range)" },
  { "-32768", "n", "int16 -32768" },
  { "32767", "n", "int16 32767" },
  { "32768", "n", NULL, ARGS, "expected int16 (n), got int 32768 (out of range)" },
  { "-32769", "n", NULL, ARGS, "expected int16 (n), got int -32769 (out of range)" },
  { "65535", "q", "uint16 65535" },
  { "65536", "q", NULL, ARGS, "expected uint16 (q), got int 65536 (out of range)" },
  { "-1", "q", NULL, ARGS, "expected uint16 (q), got int -1 (out of range)" },
  { "-2147483648", "i", "-2147483648" },
  { "2147483647", "i", "2147483647" },
  { "2147483648", "i", NULL, ARGS, "expected int32 (i), got int 2147483648 (out of range)" },
  { "-2147483649", "i", NULL, ARGS, "expected int32 (i), got int -2147483649 (out of range)" },
  { "4294967295", "u", "uint32 4294967295" },
  { "4294967296", "u", NULL, ARGS, "expected uint32 (u), got int 4294967296 (out of range)" },
  { "-9223372036854775808", "x", "int64 -9223372036854775808" },
  { "9223372036854775807", "x", "int64 9223372036854775807" },
  { "9223372036854775808", "x", NULL, SER, "integer 9223372036854775808 does not fit in a signed 64-bit integer" },
  { "9223372036854775807", "t", "uint64 9223372036854775807" },
  { "-1", "t", NULL, ARGS, "expected uint64 (t), got int -1 (out of range)" },

  /* the wrong kind of value */
  { "3.0", "i", NULL, ARGS, "expected int32 (i), got float 3.0" },
  { "true", "i", NULL, ARGS, "expected int32 (i), got bool True" },
  { "\"5\"", "i", NULL, ARGS, "expected int32 (i), got str '5'" },
  { "null", "i", NULL, ARGS, "expected int32 (i), got None" },
  { "[1]", "i", NULL, ARGS, "expected int32 (i), got a list of 1" },
  { "{}", "x", NULL, ARGS, "expected int64 (x), got a dict of 0" },
  { "true", "b", "true" },
  { "1", "b", NULL, ARGS, "expected bool (b), got int 1" },
  { "\"1.5\"", "d", NULL, ARGS, "expected double (d), got str '1.5'" },
  { "false", "d", NULL, ARGS, "expected double (d), got bool False" },
  { "-7", "d", "-7.0" },
  { "9007199254740993", "d", "9007199254740992.0" },   /* as Python's float() */
  { "5", "s", NULL, ARGS, "expected string (s), got int 5" },
  { "null", "s", NULL, ARGS, "expected string (s), got None" },
  { "\"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ\"", "i", NULL, ARGS,
    "got str 'abcdefghijklmnopqrstuvwxyz0123456789ABCD...'" },
  { "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9XY\"", "i", NULL, ARGS,
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9..." },
  { "1.5", "(d)", NULL, ARGS, "expected a list of 1 element for (d), got float 1.5" },

  /* strings, object paths, signatures */
  { "\"h\xc3\xa9llo\"", "s", "'h\xc3\xa9llo'" },
  { "\"/org/x\"", "o", "objectpath '/org/x'" },
  { "\"not a path\"", "o", NULL, ARGS, "expected object path (o), got str 'not a path' (not a valid object path)" },
  { "\"a{sv}\"", "g", "signature 'a{sv}'" },
  { "\"a{\"", "g", NULL, ARGS, "expected signature (g), got str 'a{' (not a valid signature)" },

  /* maybe: null only here */
  { "null", "ms", "@ms nothing" },
  { "\"x\"", "ms", "@ms 'x'" },
  { "5", "ms", NULL, ARGS, "expected string (s), got int 5" },
  { "5", "mi", "@mi 5" },
  { "null", "mv", "@mv nothing" },
  { "5", "mv", "@mv <int64 5>" },
  { "null", "mms", "@mms nothing" },
  { "[null, 1]", "ami", "[nothing, just 1]" },

  /* v: the natural value, in a variant */
  { "5", "v", "<int64 5>" },
  { "null", "v", "<@mv nothing>" },
  { "[1, \"a\"]", "v", "<[<int64 1>, <'a'>]>" },

  /* tuples */
  { "[\"apple\", 3]", "(si)", "('apple', 3)" },
  { "\"x\"", "(si)", NULL, ARGS, "expected a list of 2 elements for (si), got str 'x'" },
  { "[\"a\"]", "(si)", NULL, ARGS, "expected a list of 2 elements for (si), got a list of 1" },
  { "{\"a\": 1}", "(si)", NULL, ARGS, "expected a list of 2 elements for (si), got a dict of 1" },
  { "[]", "()", "()" },
  { "[1]", "()", NULL, ARGS, "expected a list of 0 elements for (), got a list of 1" },
  { "[\"a\", 1]", "{si}", "{'a', 1}" },
  { "[[1, \"a\"], [2.5]]", "((is)(d))", "((1, 'a'), (2.5,))" },
  { "[[1, 2], [2.5]]", "((is)(d))", NULL, ARGS, "item 0: item 1: expected string (s), got int 2" },

  /* arrays */
  { "[1, 2]", "ai", "[1, 2]" },
  { "[]", "ai", "@ai []" },
  { "[1, \"x\"]", "ai", NULL, ARGS, "item 1: expected int32 (i), got str 'x'" },
  { "[1, 3000000000]", "ai", NULL, ARGS, "item 1: expected int32 (i), got int 3000000000 (out of range)" },
  { "{}", "ai", NULL, ARGS, "expected a list for ai, got a dict of 0" },
  { "[1, 2.5]", "ad", "[1.0, 2.5]" },
  { "[true, false]", "ab", "[true, false]" },
  { "[true, 0]", "ab", NULL, ARGS, "item 1: expected bool (b), got int 0" },
  { "[-32768, 32767]", "an", "@an [-32768, 32767]" },
  { "[65535]", "aq", "@aq [65535]" },
  { "[4294967295]", "au", "@au [4294967295]" },
  { "[-9223372036854775808]", "ax", "@ax [-9223372036854775808]" },
  { "[0, 9223372036854775807]", "at", "@at [0, 9223372036854775807]" },
  { "[5, -1]", "at", NULL, ARGS, "item 1: expected uint64 (t), got int -1 (out of range)" },
  { "[\"a\", \"b\"]", "as", "['a', 'b']" },
  { "[[\"a\"], []]", "aas", "[['a'], @as []]" },
  { "[[\"a\", 1], [\"b\", \"x\"]]", "a(si)", NULL, ARGS, "item 1: item 1: expected int32 (i), got str 'x'" },
  { "[1, \"a\", null, [1], {\"k\": 1.5}]", "av",
    "[<int64 1>, <'a'>, <@mv nothing>, <[<int64 1>]>, <{'k': <1.5>}>]" },

  /* dicts: the keys are strings on the wire */
  { "{\"a\": 1, \"b\": [true]}", "a{sv}", "{'a': <int64 1>, 'b': <[<true>]>}" },
  { "{}", "a{sv}", "@a{sv} {}" },
  { "[]", "a{sv}", NULL, ARGS, "expected a dict for a{sv}, got a list of 0" },
  { "{\"a\": 1, \"b\": \"x\"}", "a{si}", NULL, ARGS, "key 'b': expected int32 (i), got str 'x'" },
  { "{\"1\": \"one\", \"-2\": \"x\"}", "a{is}", "{1: 'one', -2: 'x'}" },
  { "{\"x\": \"one\"}", "a{is}", NULL, ARGS, "expected a key of type int32 (i), got 'x'" },
  { "{\"3000000000\": \"x\"}", "a{is}", NULL, ARGS, "expected a key of type int32 (i), got '3000000000' (out of range)" },
  { "{\"1.0\": \"x\"}", "a{is}", NULL, ARGS, "expected a key of type int32 (i), got '1.0'" },
  { "{\" 1\": \"x\"}", "a{is}", NULL, ARGS, "expected a key of type int32 (i), got ' 1'" },
  { "{\"255\": \"x\"}", "a{ys}", "{byte 255: 'x'}" },
  { "{\"-1\": \"x\"}", "a{ys}", NULL, ARGS, "expected a key of type byte (y), got '-1'" },
  { "{\"18446744073709551615\": \"max\"}", "a{ts}", "{uint64 18446744073709551615: 'max'}" },
  { "{\"-9223372036854775808\": 1}", "a{xi}", "{int64 -9223372036854775808: 1}" },
  { "{\"true\": \"t\", \"false\": \"f\"}", "a{bs}", "{true: 't', false: 'f'}" },
  { "{\"True\": \"x\"}", "a{bs}", NULL, ARGS, "expected a key of type bool (b), got 'True'" },
  { "{\"1.5\": \"a\", \"NaN\": \"n\", \"-Infinity\": \"i\", \"2\": \"two\"}", "a{ds}",
    "{1.5: 'a', nan: 'n', -inf: 'i', 2.0: 'two'}" },
  { "{\"x\": \"a\"}", "a{ds}", NULL, ARGS, "expected a key of type double (d), got 'x'" },
  { "{\"/a\": \"x\"}", "a{os}", "{objectpath '/a': 'x'}" },
  { "{\"a\": \"x\"}", "a{os}", NULL, ARGS, "expected a key of type object path (o), got 'a' (not a valid object path)" },
  { "{\"outer\": {\"inner\": \"x\"}}", "a{sa{si}}", NULL, ARGS, "key 'outer': key 'inner': expected int32 (i), got str 'x'" },
  { "[\"name\", {\"k\": null}]", "(sa{sv})", "('name', {'k': <@mv nothing>})" },
  { "[{\"k\": [1, \"x\"]}]", "(a{sai})", NULL, ARGS, "item 0: key 'k': item 1: expected int32 (i), got str 'x'" },

  /* types JSON cannot carry, whatever the value */
  { "[]", "ay", NULL, SER, "cannot deserialize type 'ay' (bytes) with JSON" },
  { "[[]]", "aay", NULL, SER, "cannot deserialize type 'aay' with JSON: it contains 'ay' (bytes)" },
  { "null", "may", NULL, SER, "cannot deserialize type 'may' with JSON: it contains 'ay' (bytes)" },
  { "3", "h", NULL, SER, "cannot deserialize type 'h' (file descriptor handle) with JSON" },
  { "[\"a\", 3]", "(sh)", NULL, SER, "cannot deserialize type '(sh)' with JSON: it contains 'h'" },
};

static void
test_to_variant (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (typed_rows); i++)
    {
      const TypedRow *row = &typed_rows[i];
      g_autofree char *context = g_strdup_printf ("%s as %s", row->json, row->type);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = pyro_json_parse (row->json, -1, &error);
      g_autoptr(GVariant) value = NULL;

      if (node != NULL)
        value = pyro_json_to_variant (node, G_VARIANT_TYPE (row->type), &error);

      if (row->expected != NULL)
        {
          g_autoptr(GVariant) expected = variant_from_text (row->type, row->expected);

          g_assert_no_error (error);
          g_assert_false (g_variant_is_floating (value));
          assert_variant_equal (value, expected, context);
        }
      else
        {
          g_assert_null (value);
          assert_error_contains (error, row->code, row->error, context);
        }
    }
}

/* With no type (or "v"), each JSON value takes its natural type. */
typedef struct
{
  const char *json;
  const char *expected;   /* GVariant text */
} NaturalRow;

static const NaturalRow natural_rows[] = {
  { "1", "int64 1" },
  { "-9223372036854775808", "int64 -9223372036854775808" },
  { "1.5", "1.5" },
  { "3.0", "3.0" },
  { "NaN", "nan" },
  { "\"s\"", "'s'" },
  { "true", "true" },
  { "null", "@mv nothing" },
  { "[]", "@av []" },
  { "[1, \"a\", [null]]", "[<int64 1>, <'a'>, <[<@mv nothing>]>]" },
  { "{}", "@a{sv} {}" },
  { "{\"b\": {\"c\": 2.5}, \"a\": false}", "{'b': <{'c': <2.5>}>, 'a': <false>}" },
};

static void
test_natural (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (natural_rows); i++)
    {
      g_autoptr(JsonNode) node = parse_or_fail (natural_rows[i].json, -1);
      g_autoptr(GVariant) expected = variant_from_text (NULL, natural_rows[i].expected);
      g_autoptr(GVariant) boxed = g_variant_ref_sink (g_variant_new_variant (expected));
      g_autoptr(GVariant) value = pyro_json_to_variant (node, NULL, NULL);
      g_autoptr(GVariant) in_variant = pyro_json_to_variant (node, G_VARIANT_TYPE_VARIANT, NULL);

      assert_variant_equal (value, expected, natural_rows[i].json);
      assert_variant_equal (in_variant, boxed, natural_rows[i].json);
    }
}

static void
test_type_name (void)
{
  static const struct { const char *json; const char *name; } rows[] = {
    { "1", "int" }, { "1.0", "float" }, { "NaN", "float" }, { "\"1\"", "str" },
    { "true", "bool" }, { "[]", "list" }, { "{}", "dict" }, { "null", "None" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(JsonNode) node = parse_or_fail (rows[i].json, -1);

      g_assert_cmpstr (pyro_json_type_name (node), ==, rows[i].name);
    }
}

/* A call's arguments: the same text as pyro_json_write_variant() gives,
 * whether the tuple is a tree of members or serialized, and the same
 * refusal (with nothing left behind in the output). */
static void
test_write_params (void)
{
  static const char *const rows[] = {
    "(int64 1, int64 2)", "()", "('h\u00e9', [int64 1, 2], {'k': <true>}, @mv nothing)",
    "((byte 1, 2.0), 's', <(int16 3, true)>)", "[int64 1, 2]", "'not a tuple'",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(GVariant) tree = variant_from_text (NULL, rows[i]);
      g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (tree);
      g_autoptr(GVariant) flat = g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (tree), bytes, TRUE));
      g_autoptr(GVariant) fresh = variant_from_text (NULL, rows[i]);
      g_autoptr(GString) whole = g_string_new ("x");
      g_autoptr(GString) from_fresh = g_string_new ("x");
      g_autoptr(GString) from_flat = g_string_new ("x");

      g_assert_true (pyro_json_write_variant (whole, tree, NULL));
      g_assert_true (pyro_json_write_params (from_fresh, fresh, NULL));
      g_assert_true (pyro_json_write_params (from_flat, flat, NULL));
      g_assert_cmpstr (from_fresh->str, ==, whole->str);
      g_assert_cmpstr (from_flat->str, ==, whole->str);
    }

  g_autoptr(GVariant) bad = g_variant_ref_sink (g_variant_new_parsed ("(int64 1, @ay [1, 2])"));
  g_autoptr(GString) out = g_string_new ("x");
  g_autoptr(GError) error = NULL;
  g_assert_false (pyro_json_write_params (out, bad, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE);
  g_assert_cmpstr (out->str, ==, "x");
}

/* The writers append to what is already there. */
/* Tuples of fixed-size members are written from their serialized bytes:
 * every alignment, whether the tuple was built from children or from
 * bytes, and nested in other values. */
static void
test_write_fixed_tuple (void)
{
  static const struct { const char *variant; const char *json; } rows[] = {
    { "(int64 1, int64 2)", "[1, 2]" },
    { "(true, int64 -9223372036854775808)", "[true, -9223372036854775808]" },
    { "(byte 255, int16 -32768, uint16 65535, -2147483648, uint32 4294967295)",
      "[255, -32768, 65535, -2147483648, 4294967295]" },
    { "(byte 1, 2.5, false, uint64 18446744073709551615)", "[1, 2.5, false, 18446744073709551615]" },
    { "(int16 -1, byte 7, int64 3, true)", "[-1, 7, 3, true]" },
    { "()", "[]" },
    { "[(1, 2), (3, 4)]", "[[1, 2], [3, 4]]" },
    { "((byte 1, 2.0), 's', <(int16 3, true)>)", "[[1, 2.0], \"s\", [3, true]]" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(GVariant) tree = variant_from_text (NULL, rows[i].variant);
      g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (tree);
      g_autoptr(GVariant) flat = g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (tree), bytes, TRUE));
      g_autoptr(GString) from_tree = g_string_new (NULL);
      g_autoptr(GString) from_bytes = g_string_new (NULL);
      g_autoptr(GVariant) fresh = variant_from_text (NULL, rows[i].variant);
      g_autoptr(GString) from_fresh = g_string_new (NULL);

      g_assert_true (pyro_json_write_variant (from_tree, tree, NULL));
      g_assert_true (pyro_json_write_variant (from_bytes, flat, NULL));
      g_assert_true (pyro_json_write_variant (from_fresh, fresh, NULL));
      g_assert_cmpstr (from_tree->str, ==, rows[i].json);
      g_assert_cmpstr (from_bytes->str, ==, rows[i].json);
      g_assert_cmpstr (from_fresh->str, ==, rows[i].json);
    }

  /* Data of the wrong size: GLib reads the members as zeros, and so must
   * the writer (never reading past the data). */
  static const guint8 short_data[4] = { 1, 2, 3, 4 };
  static const guint8 long_data[24] = { 1 };
  g_autoptr(GVariant) too_short = g_variant_ref_sink (
    g_variant_new_from_data (G_VARIANT_TYPE ("(xx)"), short_data, sizeof short_data, FALSE, NULL, NULL));
  g_autoptr(GVariant) too_long = g_variant_ref_sink (
    g_variant_new_from_data (G_VARIANT_TYPE ("(xx)"), long_data, sizeof long_data, FALSE, NULL, NULL));
  g_autoptr(GString) out = g_string_new (NULL);
  g_assert_true (pyro_json_write_variant (out, too_short, NULL));
  g_assert_cmpstr (out->str, ==, "[0, 0]");
  g_string_truncate (out, 0);
  g_assert_true (pyro_json_write_variant (out, too_long, NULL));
  g_assert_cmpstr (out->str, ==, "[0, 0]");
}

static void
test_append (void)
{
  g_autoptr(GString) out = g_string_new ("{\"params\": ");
  g_autoptr(GVariant) value = variant_from_text (NULL, "(1, 'a')");
  g_autoptr(JsonNode) node = parse_or_fail ("{}", -1);

  g_assert_true (pyro_json_write_variant (out, value, NULL));
  g_string_append (out, ", \"kwargs\": ");
  pyro_json_write_node (out, node);
  g_string_append_c (out, '}');
  g_assert_cmpstr (out->str, ==, "{\"params\": [1, \"a\"], \"kwargs\": {}}");
}

/* ---- every expectation above, checked against Python -------------------- */

/* Reads one request per line, answers one line each: "e <python expr>",
 * "d <hex bytes of a double>", "s <hex of UTF-8 text>" are dumped;
 * "p <hex of JSON text>" is loaded (as Pyro4 does: UTF-8 decode, then
 * json.loads) and dumped again, or answered "<error>". */
static const char python_program[] =
  "import json, struct, sys\n"
  "out = sys.stdout.buffer\n"
  "for line in sys.stdin.buffer.read().decode('ascii').splitlines():\n"
  "    kind, arg = line.split(' ', 1)\n"
  "    try:\n"
  "        if kind == 'e': v = eval(arg)\n"
  "        elif kind == 'd': v = struct.unpack('=d', bytes.fromhex(arg))[0]\n"
  "        elif kind == 's': v = bytes.fromhex(arg).decode('utf-8')\n"
  "        else: v = json.loads(bytes.fromhex(arg).decode('utf-8'))\n"
  "        text = json.dumps(v, ensure_ascii=False)\n"
  "    except ValueError:\n"
  "        text = '<error>'\n"
  "    out.write(text.encode('utf-8', 'backslashreplace') + b'\\n')\n";

static void
add_hex_request (GString *requests, GPtrArray *expected, char kind,
                 const void *data, gsize len, const char *answer)
{
  g_string_append_printf (requests, "%c ", kind);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (requests, "%02x", ((const guchar *) data)[i]);
  g_string_append_c (requests, '\n');
  g_ptr_array_add (expected, (gpointer) answer);
}

static void
test_python_agrees (void)
{
  const char *argv[] = { PYRO_TEST_PYTHON, "-c", python_program, NULL };
  g_autoptr(GString) requests = g_string_new (NULL);
  g_autoptr(GPtrArray) expected = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean ran;
  int status;

  /* `make deps` installs the interpreter; without it this test fails
   * rather than skip, so CI can never pass without checking against Python. */
  g_assert_true (g_file_test (PYRO_TEST_PYTHON, G_FILE_TEST_IS_EXECUTABLE));

  for (gsize i = 0; i < G_N_ELEMENTS (mapping_rows); i++)
    {
      g_string_append_printf (requests, "e %s\n", mapping_rows[i].python);
      g_ptr_array_add (expected, (gpointer) mapping_rows[i].json);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (double_rows); i++)
    add_hex_request (requests, expected, 'd', &double_rows[i].value, sizeof (double), double_rows[i].json);
  for (gsize i = 0; i < G_N_ELEMENTS (string_rows); i++)
    add_hex_request (requests, expected, 's', string_rows[i].text, strlen (string_rows[i].text), string_rows[i].json);
  for (gsize i = 0; i < G_N_ELEMENTS (parse_rows); i++)
    add_hex_request (requests, expected, 'p', parse_rows[i].json, strlen (parse_rows[i].json), parse_rows[i].canonical);
  /* Python refuses what we refuse, except the rows marked otherwise. */
  for (gsize i = 0; i < G_N_ELEMENTS (bad_rows); i++)
    add_hex_request (requests, expected, 'p', bad_rows[i].json,
                     bad_rows[i].len < 0 ? strlen (bad_rows[i].json) : (gsize) bad_rows[i].len,
                     bad_rows[i].python_accepts ? NULL : "<error>");

  ran = pyro_test_run (argv, requests->str, PYRO_TEST_TIMEOUT_S, &output, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (ran);
  g_assert_cmpint (status, ==, 0);

  lines = g_strsplit (output, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, expected->len + 1);
  for (guint i = 0; i < expected->len; i++)
    {
      const char *want = g_ptr_array_index (expected, i);

      if (want == NULL)
        g_assert_cmpstr (lines[i], !=, "<error>");
      else if (strcmp (lines[i], want) != 0)
        g_error ("request %u: Python says <%s>, the table says <%s>", i, lines[i], want);
    }
}

/* A JsonNode made elsewhere may hold text that is not UTF-8: the string it
 * converts to is valid all the same (U+FFFD for what was broken), wherever
 * the broken byte sits; valid text comes through unchanged. */
static void
test_to_variant_invalid_utf8 (void)
{
  for (gsize len = 1; len <= 40; len++)
    for (gsize place = 0; place <= len; place++)
      {
        g_autofree char *text = g_strnfill (len, 'a');
        if (place < len)
          text[place] = '\xff';
        g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) value = pyro_json_to_variant (node, G_VARIANT_TYPE_STRING, &error);

        g_assert_no_error (error);
        const char *got = g_variant_get_string (value, NULL);
        g_assert_true (g_utf8_validate (got, -1, NULL));
        if (place < len)
          g_assert_nonnull (strstr (got, "\xef\xbf\xbd"));
        else
          g_assert_cmpstr (got, ==, text);
      }
}

/* ---- scanning string text ------------------------------------------------ */

/* pyro_json_scan_plain() looks at 16 bytes at once; this is what it must
 * find, one byte at a time. */
static const char *
scan_plain_slowly (const char *p, const char *end, gboolean *non_ascii)
{
  *non_ascii = FALSE;
  for (; p < end; p++)
    {
      guchar c = (guchar) *p;

      if (c < 0x20 || c == '"' || c == '\\')
        break;
      if (c >= 0x80)
        *non_ascii = TRUE;
    }
  return p;
}

/* Every stop byte and every non-ASCII byte at every place of texts of up
 * to 50 bytes (three blocks and a tail), and texts that are cut short. */
static void
test_scan_plain (void)
{
  static const guchar stops[] = { '"', '\\', 0x00, 0x01, 0x0a, 0x1f };
  static const guchar plain[] = { 'a', ' ', 0x7f, 0x80, 0xc3, 0xff };

  for (gsize len = 0; len <= 50; len++)
    for (gsize place = 0; place <= len; place++)
      for (gsize s = 0; s < G_N_ELEMENTS (stops); s++)
        for (gsize k = 0; k < G_N_ELEMENTS (plain); k++)
          {
            char text[64];

            memset (text, 'x', sizeof text);
            if (place < len)
              text[place] = (char) stops[s];          /* a stop at @place (none if place == len) */
            if (place > 0)
              text[(place * 7 + k) % place] = (char) plain[k];  /* some byte before it */

            gboolean fast_non_ascii, slow_non_ascii;
            const char *fast = pyro_json_scan_plain (text, text + len, &fast_non_ascii);
            const char *slow = scan_plain_slowly (text, text + len, &slow_non_ascii);
            if (fast != slow || fast_non_ascii != slow_non_ascii)
              g_error ("scan of %" G_GSIZE_FORMAT " bytes, stop 0x%02x at %" G_GSIZE_FORMAT
                       ", 0x%02x before: stopped at %td (non-ASCII %d), expected %td (%d)",
                       len, stops[s], place, plain[k], fast - text, fast_non_ascii, slow - text, slow_non_ascii);
          }
}

/* ---- the direct reader (pyro-wire.c) ------------------------------------ */

/* pyro_wire_parse() either declines (NULL) or gives exactly what the
 * general path gives: the same value in the same serialized bytes. */
static gboolean
wire_agrees (const char *json, gssize len, const char *type)
{
  const GVariantType *vtype = type ? G_VARIANT_TYPE (type) : NULL;
  gsize n = len < 0 ? strlen (json) : (gsize) len;
  g_autoptr(GVariant) fast = pyro_wire_parse (json, n, vtype);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GVariant) slow = NULL;

  if (fast == NULL)
    return FALSE;
  node = pyro_json_parse (json, n, &error);
  if (node == NULL)
    g_error ("wire read <%s> as %s, but the general parser says: %s", json, type, error->message);
  slow = pyro_json_to_variant (node, vtype, &error);
  if (slow == NULL)
    g_error ("wire read <%s> as %s, but the general path says: %s", json, type, error->message);

  g_assert_false (g_variant_is_floating (fast));
  g_assert_true (g_variant_is_normal_form (fast));
  assert_variant_equal (fast, slow, json);
  g_assert_cmpstr (g_variant_get_type_string (fast), ==, g_variant_get_type_string (slow));
  g_assert_cmpmem (g_variant_get_data (fast), g_variant_get_size (fast),
                   g_variant_get_data (slow), g_variant_get_size (slow));
  return TRUE;
}

/* Values the direct reader must take (and get right). */
static const struct { const char *json; const char *type; } wire_rows[] = {
  { "[1, 2]", "(xx)" },
  { " [ -9223372036854775808 ,9223372036854775807 ] ", "(xx)" },
  { "[true, 255, -32768, 65535, -2147483648, 4294967295, 9223372036854775807]", "(bynqiut)" },
  { "[0, 1]", "(yt)" },
  { "[1.5, 3, -0.0, 1e400, 2.5E-3]", "(ddddd)" },
  { "[]", "()" },
  { "[\"\", \"h\xc3\xa9\"]", NULL },
  { "[\"a\", 1, \"bc\", true, \"\"]", "(sxsbs)" },
  { "[\"h\xc3\xa9llo \xf0\x9f\x98\x80\"]", "(s)" },
  /* the one-letter escapes, also next to non-ASCII text and at either end */
  { "[\"a\\nb\"]", "(s)" },
  { "[\"\\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"]", "(s)" },
  { "[\"\\nh\xc3\xa9\\t\xf0\x9f\x98\x80\\\\\"]", NULL },
  { "[[\"\\\"\", \"x\\ny\"], \"\\\\\"]", "(ass)" },
  { "[[1, 2], [], [\"a\", \"b\"]]", "(axaxas)" },
  { "[[[1, \"x\"], [2, \"yy\"]]]", "(a(xs))" },
  { "[[[1, true], [2, false]]]", "(a(xb))" },
  { "[[[true, 1], [false, 2]]]", "(a(bx))" },
  { "[[[]], [[1], [2, 3]]]", "(aaxaax)" },
  { "[[1, \"a\", 2.5, true, null, [1, [\"b\"]]]]", "(av)" },
  { "[3, \"four\", [5], null]", "(vvvv)" },
  { "[1, 2, 3]", NULL },
  { "[]", NULL },
  { "[3, [], [[]], \"x\", false, 1.25, null]", NULL },
  { "42", NULL },
  { "-1.5", NULL },
  { "\"s\"", NULL },
  { "null", NULL },
  { "true", "b" },
  { "3", "d" },
  { "[1, 2]", "ad" },
  { "[[1, 2], [3, 4]]", "a(ii)" },
  { "[[\"s\", [1]], [\"t\", []]]", "a(sax)" },
  { "[\"a\", [\"b\", [\"c\", 1]]]", "(s(s(sx)))" },
  { "[[1, \"a\"], [2, \"b\"]]", "a(ns)" },
};

static void
test_wire_handled (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (wire_rows); i++)
    if (!wire_agrees (wire_rows[i].json, -1, wire_rows[i].type))
      g_error ("the direct reader declined <%s> as %s", wire_rows[i].json,
               wire_rows[i].type ? wire_rows[i].type : "natural");
}

/* Containers big enough for 2- and 4-byte framing offsets. */
static void
test_wire_offsets (void)
{
  static const gsize counts[] = { 0, 1, 20, 60, 61, 62, 63, 64, 200, 5000, 20000, 70000 };

  for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      g_autoptr(GString) list = g_string_new ("[");
      g_autoptr(GString) strings = g_string_new ("[");
      g_autoptr(GString) tuple = g_string_new ("[");

      for (gsize k = 0; k < counts[i]; k++)
        {
          g_string_append_printf (list, "%s%" G_GSIZE_FORMAT, k ? ", " : "", k);
          g_string_append_printf (strings, "%s\"%" G_GSIZE_FORMAT "\"", k ? ", " : "", k * 7);
        }
      g_string_append_c (list, ']');
      g_string_append_c (strings, ']');
      g_string_append_printf (tuple, "%s, %s, \"end\"]", strings->str, list->str);

      g_assert_true (wire_agrees (list->str, -1, NULL));
      g_assert_true (wire_agrees (list->str, -1, "ax"));
      g_assert_true (wire_agrees (strings->str, -1, "as"));
      g_assert_true (wire_agrees (strings->str, -1, "av"));
      g_assert_true (wire_agrees (tuple->str, -1, "(asavs)"));
    }
}

/* Strings around the size of the reader's small buffer and beyond: in the
 * buffer, in a heap block they fill (taken by the value), in one they
 * only partly fill (copied), and big ones. */
static void
test_wire_long_strings (void)
{
  static const gsize lengths[] = { 200, 250, 255, 256, 257, 300, 1000, 4000, 65536, 70000, 300000 };

  for (gsize i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      g_autofree char *text = g_strnfill (lengths[i], 'a' + i);
      g_autofree char *one = g_strdup_printf ("[\"%s\"]", text);
      g_autofree char *two = g_strdup_printf ("[\"%s\", \"x\\ny\", \"%s\"]", text, text);
      g_autofree char *mixed = g_strdup_printf ("[1, \"%s\", [2, 3], \"%s\"]", text, text);

      g_assert_true (wire_agrees (one, -1, "(s)"));
      g_assert_true (wire_agrees (one, -1, NULL));
      g_assert_true (wire_agrees (two, -1, "(sss)"));
      g_assert_true (wire_agrees (two, -1, "as"));
      g_assert_true (wire_agrees (mixed, -1, "(xsaxs)"));
      g_assert_true (wire_agrees (mixed, -1, "av"));
    }
}

/* What the direct reader leaves to the general path: every error, and
 * what it does not handle.  None of these may be read by it. */
static const struct { const char *json; const char *type; } wire_declined[] = {
  /* wrong types and counts */
  { "[1, \"2\"]", "(xx)" },
  { "[1]", "(xx)" },
  { "[1, 2, 3]", "(xx)" },
  { "[1.0]", "(x)" },
  { "[true]", "(x)" },
  { "[1]", "(b)" },
  { "[1]", "(s)" },
  { "[null]", "(x)" },
  { "{}", "(x)" },
  { "1", "(x)" },
  { "[[1]]", "(x)" },
  /* ranges */
  { "[256]", "(y)" }, { "[-1]", "(y)" }, { "[32768]", "(n)" }, { "[-32769]", "(n)" },
  { "[65536]", "(q)" }, { "[2147483648]", "(i)" }, { "[-2147483649]", "(i)" },
  { "[4294967296]", "(u)" }, { "[-1]", "(t)" },
  { "[9223372036854775808]", "(x)" },
  { "[18446744073709551616]", "(t)" },
  { "[123456789012345678901234567890]", NULL },
  /* what only the general path reads */
  { "[NaN]", "(d)" }, { "[Infinity]", "(d)" }, { "[-Infinity]", "(d)" }, { "NaN", NULL },
  { "[\"\\u00e9\"]", "(s)" }, { "[\"a\\u0000b\"]", "(s)" }, { "[\"a\\x\"]", "(s)" },
  { "[\"a\\\"]", "(s)" }, { "[\"a\\", "(s)" }, { "[\"\\\xc3\xa9\"]", NULL },
  { "[{}]", "(a{sv})" }, { "[{\"a\": 1}]", "(v)" }, { "{}", NULL },
  { "[null]", "(ms)" }, { "[1]", "(mx)" },
  { "[\"/a\"]", "(o)" }, { "[\"s\"]", "(g)" },
  { "[[1, 2]]", "(ay)" }, { "[[]]", "(ay)" },
  { "[[1, 2]]", "({xx})" },
  /* bad JSON */
  { "", NULL }, { "[", "(x)" }, { "[1,]", "ax" }, { "[1 2]", "ax" }, { "[1] x", "ax" },
  { "[01]", "ax" }, { "[1.]", "ad" }, { "[1e]", "ad" }, { "[-]", "ax" }, { "[+1]", "ax" },
  { "[\"a]", "as" }, { "[\"a\tb\"]", "as" }, { "[\"\xff\"]", "as" }, { "[\"\xc3\"]", "as" },
  { "[tru]", "ab" }, { "[True]", "ab" }, { "[nul]", NULL },
  { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", NULL },
};

static void
test_wire_declined (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (wire_declined); i++)
    {
      const char *type = wire_declined[i].type;
      g_autoptr(GVariant) fast = pyro_wire_parse (wire_declined[i].json, strlen (wire_declined[i].json),
                                                  type ? G_VARIANT_TYPE (type) : NULL);

      if (fast != NULL)
        g_error ("the direct reader took <%s> as %s", wire_declined[i].json, type ? type : "natural");
    }
  /* A NUL inside the text ends nothing: it is a byte like any other. */
  g_assert_null (pyro_wire_parse ("[1]\0", 4, NULL));
  g_assert_null (pyro_wire_parse ("[\"a\0b\"]", 7, NULL));
}

/* Every other table of this file: what the reader takes, it takes right. */
static void
test_wire_tables (void)
{
  guint taken = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (typed_rows); i++)
    taken += wire_agrees (typed_rows[i].json, -1, typed_rows[i].type);
  for (gsize i = 0; i < G_N_ELEMENTS (natural_rows); i++)
    {
      taken += wire_agrees (natural_rows[i].json, -1, NULL);
      taken += wire_agrees (natural_rows[i].json, -1, "v");
    }
  for (gsize i = 0; i < G_N_ELEMENTS (parse_rows); i++)
    taken += wire_agrees (parse_rows[i].json, -1, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_rows); i++)
    {
      gsize len = bad_rows[i].len < 0 ? strlen (bad_rows[i].json) : (gsize) bad_rows[i].len;
      g_autoptr(GVariant) fast = pyro_wire_parse (bad_rows[i].json, len, NULL);

      if (fast != NULL)
        g_error ("the direct reader took bad JSON <%s>", bad_rows[i].json);
    }
  g_assert_cmpuint (taken, >, 20);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/json/mapping", test_mapping);
  g_test_add_func ("/pyro/json/write/double", test_write_double);
  g_test_add_func ("/pyro/json/write/double-round-trip", test_double_round_trip);
  g_test_add_func ("/pyro/json/write/string", test_write_string);
  g_test_add_func ("/pyro/json/write/string-round-trip", test_string_round_trip);
  g_test_add_func ("/pyro/json/write/refused", test_refused);
  g_test_add_func ("/pyro/json/write/append", test_append);
  g_test_add_func ("/pyro/json/write/fixed-tuple", test_write_fixed_tuple);
  g_test_add_func ("/pyro/json/write/params", test_write_params);
  g_test_add_func ("/pyro/json/parse/valid", test_parse);
  g_test_add_func ("/pyro/json/parse/number-kinds", test_parse_number_kinds);
  g_test_add_func ("/pyro/json/parse/length", test_parse_length);
  g_test_add_func ("/pyro/json/parse/errors", test_parse_errors);
  g_test_add_func ("/pyro/json/parse/deep-nesting", test_deep_nesting);
  g_test_add_func ("/pyro/json/to-variant/typed", test_to_variant);
  g_test_add_func ("/pyro/json/to-variant/natural", test_natural);
  g_test_add_func ("/pyro/json/type-name", test_type_name);
  g_test_add_func ("/pyro/json/python-agrees", test_python_agrees);
  g_test_add_func ("/pyro/json/to-variant/invalid-utf8", test_to_variant_invalid_utf8);
  g_test_add_func ("/pyro/json/scan-plain", test_scan_plain);
  g_test_add_func ("/pyro/json/wire/handled", test_wire_handled);
  g_test_add_func ("/pyro/json/wire/offsets", test_wire_offsets);
  g_test_add_func ("/pyro/json/wire/long-strings", test_wire_long_strings);
  g_test_add_func ("/pyro/json/wire/declined", test_wire_declined);
  g_test_add_func ("/pyro/json/wire/tables", test_wire_tables);

  return g_test_run ();
}
