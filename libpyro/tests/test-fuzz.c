/* test-fuzz.c: random input for the parts that read what a peer sends.
 *
 * Each test path starts from valid inputs (Pyro4 JSON texts, encoded
 * messages, random GVariants) and damages them at random: flipped bits,
 * bytes replaced, inserted or deleted, spans duplicated or copied, the
 * text cut short.  Whatever comes, the code must not crash, and every
 * refusal must carry a GError that says why.
 *
 *   /pyro/fuzz/json            damaged and made-up JSON through the parser,
 *                              pyro_json_to_variant() with a dozen types and
 *                              pyro_error_from_json(); whatever the direct
 *                              reader (pyro-wire.c) accepts, the general path
 *                              must accept too and read the same value
 *   /pyro/fuzz/json-roundtrip  random GVariants written and read back, against
 *                              an oracle of the mapping (libpyro/docs/mapping.md)
 *   /pyro/fuzz/message         damaged messages through the message reader,
 *                              whole and in small pieces, with a size limit
 *   /pyro/fuzz/daemon          damaged frames and random requests sent to a
 *                              running daemon, which must answer in proper
 *                              messages and keep serving a PyroProxy
 *   /pyro/fuzz/proxy           a fake server answers PyroProxy calls with
 *                              damaged copies of a real daemon's replies
 *
 * The runs are repeatable: the seed is fixed and printed (g_test_message),
 * and the work bounded.  For a longer campaign by hand:
 *   PYRO_FUZZ_SEED=12345 PYRO_FUZZ_ITERATIONS=200000 ./build/tests/test-fuzz -p /pyro/fuzz/json
 * PYRO_FUZZ_ITERATIONS is the number of inputs of each of the first three
 * paths; the rounds of the last two (150 by default) grow in proportion.
 * PYRO_FUZZ_VERBOSE=1 prints every input before it is tried, as a C
 * string, so that the last one printed is the one that crashed.
 */
#include "pyro-json-private.h"
#include "pyro-wire-private.h"
#include "pyro-error-private.h"
#include "pyro-message-private.h"
#include "testutil.h"

#include <pyro/pyro-error.h>

#include <math.h>
#include <string.h>

#define DEFAULT_SEED        20240601u
#define DEFAULT_ITERATIONS  5000

/* ---- seed and iteration count ----------------------------------------------- */

static guint32  fuzz_seed = DEFAULT_SEED;
static guint    fuzz_iterations = DEFAULT_ITERATIONS;
static gboolean fuzz_verbose;  /* PYRO_FUZZ_VERBOSE: print every input first */

static void
read_settings (void)
{
  const char *seed = g_getenv ("PYRO_FUZZ_SEED");
  const char *iterations = g_getenv ("PYRO_FUZZ_ITERATIONS");

  if (seed != NULL && *seed != '\0')
    fuzz_seed = (guint32) g_ascii_strtoull (seed, NULL, 0);
  if (iterations != NULL && *iterations != '\0')
    fuzz_iterations = (guint) g_ascii_strtoull (iterations, NULL, 0);
  fuzz_verbose = g_getenv ("PYRO_FUZZ_VERBOSE") != NULL;
}

/* Each test path gets its own generator from the seed, so that running
 * one path alone (-p) sees the same inputs as in the full run. */
static GRand *
new_rand (const char *path)
{
  g_test_message ("%s: seed %u (PYRO_FUZZ_SEED), %u iterations (PYRO_FUZZ_ITERATIONS)",
                  path, fuzz_seed, fuzz_iterations);
  return g_rand_new_with_seed (fuzz_seed ^ g_str_hash (path));
}

/* ---- damaging bytes ------------------------------------------------------------ */

/* Bytes a mutation inserts: mostly ones that mean something to JSON. */
static const char interesting[] = "{}[]\",:\\ 0123456789.eE+-nulltruefalseNaNInfinity\n\t"
                                  "\x01\x7f\x80\xc3\xa9\xed\xa0\x80\xf0\x9f\x98\x80\xff";

static guint8
random_byte (GRand *rand)
{
  if (g_rand_boolean (rand))
    return (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)];
  return (guint8) g_rand_int_range (rand, 0, 256);
}

/* Inserts @len bytes at @at (GByteArray has no insert of its own). */
static void
insert_bytes (GByteArray *data, guint at, const guint8 *bytes, guint len)
{
  guint old_len = data->len;

  g_byte_array_set_size (data, old_len + len);
  memmove (data->data + at + len, data->data + at, old_len - at);
  memcpy (data->data + at, bytes, len);
}

/* One random change to @data. */
static void
mutate_once (GRand *rand, GByteArray *data)
{
  guint len = data->len;
  guint at = len > 0 ? (guint) g_rand_int_range (rand, 0, len) : 0;

  switch (g_rand_int_range (rand, 0, 7))
    {
    case 0:  /* flip one bit */
      if (len > 0)
        data->data[at] ^= 1 << g_rand_int_range (rand, 0, 8);
      break;
    case 1:  /* replace a byte */
      if (len > 0)
        data->data[at] = random_byte (rand);
      break;
    case 2:  /* insert a byte */
      {
        guint8 byte = random_byte (rand);
        insert_bytes (data, at, &byte, 1);
      }
      break;
    case 3:  /* delete a span */
      if (len > 0)
        g_byte_array_remove_range (data, at, g_rand_int_range (rand, 1, MIN (len - at, 8) + 1));
      break;
    case 4:  /* cut the end off */
      g_byte_array_set_size (data, at);
      break;
    case 5:  /* duplicate a span in place */
      if (len > 0)
        {
          guint span = g_rand_int_range (rand, 1, MIN (len - at, 32) + 1);
          g_autofree guint8 *copy = g_memdup2 (data->data + at, span);
          insert_bytes (data, at, copy, span);
        }
      break;
    default:  /* copy a span over another place */
      if (len > 1)
        {
          guint span = g_rand_int_range (rand, 1, MIN (len - at, 16) + 1);
          guint to = g_rand_int_range (rand, 0, len - span + 1);
          memmove (data->data + to, data->data + at, span);
        }
      break;
    }
}

/* A copy of @text (@len bytes) with 1 to 4 random changes. */
static GByteArray *
mutate (GRand *rand, const void *text, gsize len)
{
  GByteArray *data = g_byte_array_sized_new (len + 16);
  guint n = g_rand_int_range (rand, 1, 5);

  g_byte_array_append (data, text, len);
  for (guint i = 0; i < n; i++)
    mutate_once (rand, data);
  return data;
}

/* ---- /pyro/fuzz/json ---------------------------------------------------------- */

/* Valid Pyro4 JSON texts, as Python's json module writes them. */
static const char *const json_seeds[] = {
  "{\"object\": \"thing\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}}",
  "{\"object\": \"thing\", \"method\": \"echo\", \"params\": [\"h\\u00e9llo\\n\\\"w\\\"\", 3.5e-07, true, null], "
  "\"kwargs\": {\"x\": [1, [2, [3]]]}}",
  "{\"object\": \"thing\", \"method\": \"greet\", \"params\": [\"\\ud83d\\ude00 caf\xc3\xa9\"], \"kwargs\": {}}",
  "[9223372036854775807, -9223372036854775808, 18446744073709551615, 0, -0]",
  "[NaN, Infinity, -Infinity, 1e308, -1.5E+10, 2.2250738585072014e-308, 0.1]",
  "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"bad value\"], "
  "\"attributes\": {\"_pyroTraceback\": [\"Traceback (most recent call last):\\n\", \"ValueError: bad value\\n\"]}}",
  "{\"__class__\": \"Pyro4.errors.NamingError\", \"__exception__\": true, \"args\": [], \"attributes\": {}}",
  "{\"__class__\": \"builtins.KeyError\", \"__exception__\": true, \"args\": [\"key\"], "
  "\"attributes\": {\"extra\": 1}}",
  "[42, \"answer\", true, 3.25, [\"a\", \"b\"]]",
  "[[1, 2], [], [3]]",
  "{\"1\": \"one\", \"2\": \"two\", \"-3\": \"minus three\"}",
  "{\"a\": 1, \"b\": [true, false], \"c\": {\"d\": null}, \"e\": \"\\t\\b\\f\\r\\/\"}",
  "3",
  "\"plain\"",
  "null",
  "[-1, \"s\"]",
  "{\"handshake\": \"hello\", \"object\": \"thing\"}",
  "[1, [2, [3, [4, [5, [6, [7, [8]]]]]]]]",
};

/* What the inputs reached, printed at the end: a fuzzer whose inputs all
 * fail at the first byte tests nothing. */
typedef struct
{
  guint inputs;
  guint parsed;
  guint converted;   /* (text, type) pairs pyro_json_to_variant() accepted */
  guint direct;      /* (text, type) pairs pyro_wire_parse() accepted */
  guint exceptions;  /* texts pyro_error_from_json() took for an exception dict */
} JsonStats;

static JsonStats json_stats;

/* The types every parsed text is read as (NULL: the natural mapping). */
static const char *const target_types[] = {
  NULL, "x", "d", "s", "b", "as", "a{sv}", "(xs)", "v", "mv", "a{is}", "aax", "(sibdas)",
};

/* @text as a C string literal, every byte outside printable ASCII as \xNN
 * (so that the input can be pasted into a test). (transfer full) */
static char *
c_literal (const char *text, gsize len)
{
  GString *out = g_string_new ("\"");

  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) text[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c >= 0x20 && c < 0x7f)
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "\\x%02x\"\"", c);  /* "" ends the hex escape */
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

static void
print_input (const char *what, const char *text, gsize len)
{
  g_autofree char *literal = c_literal (text, len);

  g_test_message ("%s: %" G_GSIZE_FORMAT " bytes %s", what, len, literal);
}

/* A refusal must say why. */
static void
assert_refusal (const GError *error, const char *what, const char *text, gsize len)
{
  if (error == NULL || error->message == NULL || error->message[0] == '\0')
    {
      print_input (what, text, len);
      g_error ("%s: refused without an error message", what);
    }
}

static void
assert_same_value (GVariant *general, GVariant *direct, const char *type, const char *text, gsize len)
{
  if (!g_variant_equal (general, direct))
    {
      g_autofree char *g = g_variant_print (general, TRUE);
      g_autofree char *d = g_variant_print (direct, TRUE);

      print_input ("differential", text, len);
      g_error ("type %s: general path gives %s, pyro_wire_parse() %s", type ? type : "(natural)", g, d);
    }
}

/* Reads @node as @type_string, and checks the direct reader against it. */
static void
fuzz_to_variant (JsonNode *node, const char *type_string, const char *text, gsize len)
{
  const GVariantType *type = type_string ? G_VARIANT_TYPE (type_string) : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = pyro_json_to_variant (node, type, &error);
  g_autoptr(GVariant) direct = pyro_wire_parse (text, len, type);

  if (value == NULL)
    assert_refusal (error, "pyro_json_to_variant", text, len);
  else
    {
      json_stats.converted++;
      g_assert_no_error (error);
      if (type != NULL)
        g_assert_true (g_variant_is_of_type (value, type));
    }

  if (direct != NULL)
    {
      json_stats.direct++;
      g_assert_true (g_variant_is_normal_form (direct));
      if (value == NULL)
        {
          print_input ("differential", text, len);
          g_error ("type %s: pyro_wire_parse() accepts what the general path refuses: %s",
                   type_string ? type_string : "(natural)", error->message);
        }
      assert_same_value (value, direct, type_string, text, len);
    }
}

/* What was parsed is written in Python's style; that text reads back to
 * the same text, and the natural value writes the same text too. */
static void
check_rewrite (JsonNode *node, const char *text, gsize len)
{
  g_autoptr(GString) written = g_string_new (NULL);
  g_autoptr(GString) rewritten = g_string_new (NULL);
  g_autoptr(GString) from_variant = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  pyro_json_write_node (written, node);
  g_autoptr(JsonNode) again = pyro_json_parse (written->str, written->len, &error);
  if (again == NULL)
    {
      print_input ("parsed", text, len);
      print_input ("written", written->str, written->len);
      g_error ("pyro_json_write_node() wrote what pyro_json_parse() refuses: %s", error->message);
    }
  pyro_json_write_node (rewritten, again);
  if (!g_str_equal (written->str, rewritten->str))
    {
      print_input ("parsed", text, len);
      g_error ("written twice differently: %s, then %s", written->str, rewritten->str);
    }

  g_autoptr(GVariant) natural = pyro_json_to_variant (node, NULL, &error);
  g_assert_no_error (error);
  if (!pyro_json_write_variant (from_variant, natural, &error))
    g_error ("cannot write the natural value of %s: %s", written->str, error->message);
  if (!g_str_equal (written->str, from_variant->str))
    {
      print_input ("parsed", text, len);
      g_error ("the node writes %s, its natural value %s", written->str, from_variant->str);
    }
}

/* An exception that came in prints, and goes out and comes back the same. */
static void
check_exception (const GError *remote, const char *text, gsize len)
{
  json_stats.exceptions++;

  g_autofree char *formatted = pyro_error_format (remote);
  g_assert_true (g_str_has_suffix (formatted, "\n"));
  const char *class_name = pyro_error_get_remote_class (remote);
  g_assert_nonnull (class_name);

  g_autoptr(JsonNode) out = pyro_error_to_json (remote, NULL);
  g_autoptr(GError) back = pyro_error_from_json (out);
  if (back->code != remote->code || !g_str_equal (back->message, remote->message) ||
      !g_str_equal (pyro_error_get_remote_class (back), class_name))
    {
      g_autoptr(GString) written = g_string_new (NULL);

      pyro_json_write_node (written, out);
      print_input ("exception dict", text, len);
      g_error ("exception %s (code %d) \"%s\" came back as %s (code %d) \"%s\" from %s", class_name, remote->code,
               remote->message, pyro_error_get_remote_class (back), back->code, back->message, written->str);
    }
}

static void
fuzz_one_json (const char *text, gsize len)
{
  if (fuzz_verbose)
    {
      g_autofree char *literal = c_literal (text, len);
      g_printerr ("json: %s\n", literal);
    }

  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = pyro_json_parse (text, len, &error);

  json_stats.inputs++;
  if (node == NULL)
    {
      assert_refusal (error, "pyro_json_parse", text, len);
      /* what the general parser refuses, the direct reader must decline */
      for (guint i = 0; i < G_N_ELEMENTS (target_types); i++)
        {
          const GVariantType *type = target_types[i] ? G_VARIANT_TYPE (target_types[i]) : NULL;
          g_autoptr(GVariant) direct = pyro_wire_parse (text, len, type);

          if (direct != NULL)
            {
              print_input ("differential", text, len);
              g_error ("pyro_wire_parse() accepts what pyro_json_parse() refuses: %s", error->message);
            }
        }
      return;
    }
  g_assert_no_error (error);
  json_stats.parsed++;

  for (guint i = 0; i < G_N_ELEMENTS (target_types); i++)
    fuzz_to_variant (node, target_types[i], text, len);

  /* anything but an exception dict is a protocol error that says what came;
   * an exception's own message may be empty (Python's ValueError()) */
  g_autoptr(GError) remote = pyro_error_from_json (node);
  g_assert_nonnull (remote);
  g_assert_nonnull (remote->message);
  g_assert_true (remote->domain == PYRO_ERROR);
  if (remote->code == PYRO_ERROR_PROTOCOL)
    assert_refusal (remote, "pyro_error_from_json", text, len);
  else
    check_exception (remote, text, len);

  check_rewrite (node, text, len);
}

/* ---- random JSON text ------------------------------------------------------------ */

/* Pieces a random JSON text is made of, written by hand here (not by the
 * writer under test), with the corners a parser gets wrong. */
static const char *const json_numbers[] = {
  "0", "-0", "1", "-1", "42", "255", "256", "-129", "32767", "65535", "65536", "2147483647", "-2147483648",
  "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
  "18446744073709551615", "18446744073709551616", "-9223372036854775809", "123456789012345678901234567890",
  "0.0", "-0.0", "1.5", "0.1", "1e5", "1E5", "1e+5", "1e-5", "2.5e-07", "1.7976931348623157e308", "1e308",
  "1e309", "-1e400", "5e-324", "1e-400", "2.2250738585072014e-308", "3.141592653589793", "100.0",
  "NaN", "Infinity", "-Infinity",
};

static const char *const json_strings[] = {
  "\"\"", "\"a\"", "\"thing\"", "\"add\"", "\"h\\u00e9llo\"", "\"caf\xc3\xa9\"", "\"\\ud83d\\ude00\"",
  "\"\xf0\x9f\x98\x80\"", "\"line\\nbreak\"", "\"\\\"quoted\\\"\"", "\"back\\\\slash\"", "\"\\t\\b\\f\\r\\/\"",
  "\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\uDFFF\\uD800\"", "\"\\u20AC\"",
  "\"\\u007f\\u0080\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "\"\x7f\"", "\"1\"", "\"-3\"",
  "\"__class__\"", "\"__exception__\"", "\"args\"", "\"attributes\"", "\"_pyroTraceback\"",
  "\"builtins.ValueError\"", "\"Pyro4.errors.CommunicationError\"", "\"builtins.KeyError\"",
  "\"a long string of forty-odd bytes, more than the sixteen at once\"",
};

/* Whitespace JSON allows, sometimes. */
static void
append_space (GRand *rand, GString *out)
{
  static const char *const spaces[] = { "", "", "", " ", "\n", "\t ", "\r\n  " };

  g_string_append (out, spaces[g_rand_int_range (rand, 0, G_N_ELEMENTS (spaces))]);
}

static void
append_digits (GRand *rand, GString *out, guint max)
{
  for (guint i = 0, n = g_rand_int_range (rand, 1, max + 1); i < n; i++)
    g_string_append_c (out, (char) ('0' + g_rand_int_range (rand, 0, 10)));
}

/* A number made of random parts: long digit runs, exponents far beyond
 * what a double holds, and now and then a form JSON does not allow
 * ("01", "1.", ".5", "1e", "+1"). */
static void
append_random_number (GRand *rand, GString *out)
{
  static const char *const odd[] = { "", "", "", "", "", "0", "+", ".", "e", "-", "00" };

  g_string_append (out, odd[g_rand_int_range (rand, 0, G_N_ELEMENTS (odd))]);
  if (g_rand_boolean (rand))
    g_string_append_c (out, '-');
  append_digits (rand, out, g_rand_boolean (rand) ? 3 : 25);
  if (g_rand_boolean (rand))
    {
      g_string_append_c (out, '.');
      if (g_rand_int_range (rand, 0, 8) != 0)
        append_digits (rand, out, 20);
    }
  if (g_rand_boolean (rand))
    {
      static const char *const exponents[] = { "e", "E", "e+", "e-", "E-" };

      g_string_append (out, exponents[g_rand_int_range (rand, 0, G_N_ELEMENTS (exponents))]);
      if (g_rand_int_range (rand, 0, 8) != 0)
        append_digits (rand, out, g_rand_boolean (rand) ? 3 : 22);
    }
}

/* A string made of random pieces: plain ASCII runs of any length (the
 * scanner reads 16 bytes at once), every escape, \u escapes of any value
 * (surrogates and NUL included), raw UTF-8, and now and then bytes JSON
 * does not allow (control characters, invalid UTF-8). */
static void
append_random_string (GRand *rand, GString *out)
{
  static const char *const pieces[] = {
    "\\n", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\t", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
    "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\\ud83d\\ude00", "\\ud83d", "\\ude00", "\\u0000", "\\u00", "\\x",
    "\x01", "\x1f", "\x7f", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\x80",
  };
  guint n = g_rand_int_range (rand, 0, 8);

  g_string_append_c (out, '"');
  for (guint i = 0; i < n; i++)
    {
      switch (g_rand_int_range (rand, 0, 4))
        {
        case 0:
          for (guint j = 0, run = g_rand_int_range (rand, 1, 40); j < run; j++)
            {
              char c = (char) g_rand_int_range (rand, 0x20, 0x7f);
              g_string_append_c (out, c == '"' || c == '\\' ? '_' : c);
            }
          break;
        case 1:
          g_string_append_printf (out, "\\u%04x", g_rand_int_range (rand, 0, 0x10000));
          break;
        default:
          g_string_append (out, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
          break;
        }
    }
  g_string_append_c (out, '"');
}

static void
append_random_json (GRand *rand, GString *out, guint depth)
{
  guint kind = g_rand_int_range (rand, 0, depth < 4 ? 8 : 5);

  append_space (rand, out);
  switch (kind)
    {
    case 0:
    case 1:
      if (g_rand_int_range (rand, 0, 4) != 0)
        g_string_append (out, json_numbers[g_rand_int_range (rand, 0, G_N_ELEMENTS (json_numbers))]);
      else
        append_random_number (rand, out);
      break;
    case 2:
      if (g_rand_int_range (rand, 0, 4) != 0)
        g_string_append (out, json_strings[g_rand_int_range (rand, 0, G_N_ELEMENTS (json_strings))]);
      else
        append_random_string (rand, out);
      break;
    case 3:
      g_string_append (out, g_rand_boolean (rand) ? "true" : "false");
      break;
    case 4:
      g_string_append (out, "null");
      break;
    case 5:  /* a list */
    case 6:
      {
        guint n = g_rand_int_range (rand, 0, 5);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            append_random_json (rand, out, depth + 1);
          }
        append_space (rand, out);
        g_string_append_c (out, ']');
      }
      break;
    default:  /* a dict (keys may repeat: the last one wins, as in Python) */
      {
        guint n = g_rand_int_range (rand, 0, 4);

        g_string_append_c (out, '{');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            append_space (rand, out);
            g_string_append (out, json_strings[g_rand_int_range (rand, 0, G_N_ELEMENTS (json_strings))]);
            append_space (rand, out);
            g_string_append_c (out, ':');
            append_random_json (rand, out, depth + 1);
          }
        append_space (rand, out);
        g_string_append_c (out, '}');
      }
      break;
    }
  append_space (rand, out);
}

/* Lists and dicts nested around the parser's limit of 512, with a value
 * inside, or cut short. */
static void
append_deep_json (GRand *rand, GString *out)
{
  guint depth = g_rand_int_range (rand, 500, 520);
  g_autoptr(GString) closing = g_string_new (NULL);

  if (g_rand_boolean (rand))
    depth = g_rand_int_range (rand, 100, 140);  /* around GVariant's own limit of 128 */
  for (guint i = 0; i < depth; i++)
    {
      if (g_rand_int_range (rand, 0, 4) == 0)
        {
          g_string_append (out, "{\"k\": ");
          g_string_prepend_c (closing, '}');
        }
      else
        {
          g_string_append_c (out, '[');
          g_string_prepend_c (closing, ']');
        }
    }
  append_random_json (rand, out, 4);
  g_string_append (out, closing->str);
}

/* The readers get the text in a block of exactly its size, without a NUL
 * after it, so that AddressSanitizer sees a read one byte too far. */
static void
fuzz_exact_copy (const char *text, gsize len)
{
  g_autofree char *exact = g_malloc (MAX (len, 1));

  memcpy (exact, text, len);
  fuzz_one_json (exact, len);
}

/* Something like the exception dict of a failed call: members left out,
 * of the wrong kind, or right. */
static void
append_random_exception (GRand *rand, GString *out)
{
  static const char *const classes[] = {
    "\"builtins.ValueError\"", "\"ValueError\"", "\"exceptions.KeyError\"", "\"builtins.KeyError\"",
    "\"Pyro4.errors.NamingError\"", "\"Pyro4.errors.TimeoutError\"", "\"builtins.TimeoutError\"",
    "\"builtins.StopIteration\"", "\"my.module.Custom\"", "\"\"", "\".\"", "\"builtins.\"",
  };
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  if (g_rand_int_range (rand, 0, 8) != 0)
    {
      g_string_append (out, "\"__class__\": ");
      if (g_rand_int_range (rand, 0, 4) != 0)
        g_string_append (out, classes[g_rand_int_range (rand, 0, G_N_ELEMENTS (classes))]);
      else
        append_random_json (rand, out, 2);
      first = FALSE;
    }
  if (g_rand_int_range (rand, 0, 8) != 0)
    {
      g_string_append (out, first ? "\"__exception__\": " : ", \"__exception__\": ");
      if (g_rand_int_range (rand, 0, 4) != 0)
        g_string_append (out, "true");
      else
        append_random_json (rand, out, 3);
      first = FALSE;
    }
  if (g_rand_int_range (rand, 0, 8) != 0)
    {
      g_string_append (out, first ? "\"args\": " : ", \"args\": ");
      if (g_rand_int_range (rand, 0, 4) != 0)
        {
          g_string_append_c (out, '[');
          for (guint i = 0, n = g_rand_int_range (rand, 0, 3); i < n; i++)
            {
              if (i > 0)
                g_string_append (out, ", ");
              append_random_json (rand, out, 3);
            }
          g_string_append_c (out, ']');
        }
      else
        append_random_json (rand, out, 2);
      first = FALSE;
    }
  if (g_rand_int_range (rand, 0, 8) != 0)
    {
      g_string_append (out, first ? "\"attributes\": " : ", \"attributes\": ");
      switch (g_rand_int_range (rand, 0, 3))
        {
        case 0:
          g_string_append (out, "{\"_pyroTraceback\": [\"Traceback (most recent call last):\\n\", \"x\\n\"]}");
          break;
        case 1:
          g_string_append (out, "{\"_pyroTraceback\": ");
          append_random_json (rand, out, 2);
          g_string_append_c (out, '}');
          break;
        default:
          append_random_json (rand, out, 2);
          break;
        }
    }
  g_string_append_c (out, '}');
}

static void
test_json (void)
{
  g_autoptr(GRand) rand = new_rand ("/pyro/fuzz/json");

  for (guint i = 0; i < fuzz_iterations; i++)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      /* from the Pyro4 texts, or made up; most of them damaged */
      guint pick = g_rand_int_range (rand, 0, 50);
      if (pick == 0)
        append_deep_json (rand, text);
      else if (pick < 20)
        g_string_append (text, json_seeds[g_rand_int_range (rand, 0, G_N_ELEMENTS (json_seeds))]);
      else if (pick < 30)
        append_random_exception (rand, text);
      else
        append_random_json (rand, text, 0);

      if (g_rand_int_range (rand, 0, 4) == 0)
        fuzz_exact_copy (text->str, text->len);
      else
        {
          g_autoptr(GByteArray) data = mutate (rand, text->str, text->len);
          fuzz_exact_copy ((const char *) data->data, data->len);
        }
    }
  g_test_message ("%u inputs, %u parsed; to_variant accepted %u (text, type) pairs, pyro_wire_parse %u; "
                  "%u exception dicts", json_stats.inputs, json_stats.parsed, json_stats.converted,
                  json_stats.direct, json_stats.exceptions);
}

/* ---- /pyro/fuzz/json-roundtrip ---------------------------------------------------- */

/* A random type: basic leaves, v and mv, arrays, the two dict types and
 * tuples, at most @depth containers deep. */
static void
append_random_type (GRand *rand, GString *out, guint depth)
{
  static const char *const leaves[] = { "b", "y", "n", "q", "i", "u", "x", "t", "d", "s", "o", "g", "v", "mv" };
  guint kind = g_rand_int_range (rand, 0, depth > 0 ? 8 : 4);

  if (kind < 4)
    g_string_append (out, leaves[g_rand_int_range (rand, 0, G_N_ELEMENTS (leaves))]);
  else if (kind == 4)
    {
      g_string_append_c (out, 'a');
      append_random_type (rand, out, depth - 1);
    }
  else if (kind == 5)
    g_string_append (out, g_rand_boolean (rand) ? "a{sv}" : "a{is}");
  else
    {
      guint n = g_rand_int_range (rand, 0, 5);

      g_string_append_c (out, '(');
      for (guint i = 0; i < n; i++)
        append_random_type (rand, out, depth - 1);
      g_string_append_c (out, ')');
    }
}

/* A random type JSON can carry: none with bytes (ay) in it. (transfer full) */
static char *
random_type_string (GRand *rand, guint depth)
{
  for (;;)
    {
      GString *signature = g_string_new (NULL);

      append_random_type (rand, signature, depth);
      if (strstr (signature->str, "ay") == NULL)
        return g_string_free (signature, FALSE);
      g_string_free (signature, TRUE);
    }
}

/* Integers near the edges of their ranges, and small ones. */
static gint64
random_int (GRand *rand, gint64 min, gint64 max)
{
  switch (g_rand_int_range (rand, 0, 5))
    {
    case 0:
      return min;
    case 1:
      return max;
    case 2:
      return CLAMP ((gint64) g_rand_int_range (rand, -3, 4), min, max);
    default:
      {
        /* 64 random bits, brought into [min, max] */
        guint64 bits = (guint64) g_rand_int (rand) << 32 | g_rand_int (rand);
        guint64 span = (guint64) max - (guint64) min;

        return span == G_MAXUINT64 ? (gint64) bits : min + (gint64) (bits % (span + 1));
      }
    }
}

static double
random_double (GRand *rand)
{
  static const double specials[] = {
    0.0, -0.0, 1.0, -1.5, 0.1, 1e-5, 1e22, 1e-7, 3.141592653589793, G_MAXDOUBLE, -G_MAXDOUBLE,
    G_MINDOUBLE, 4.9406564584124654e-324, 9007199254740993.0, 123456789.0,
  };

  switch (g_rand_int_range (rand, 0, 3))
    {
    case 0:
      return specials[g_rand_int_range (rand, 0, G_N_ELEMENTS (specials))];
    case 1:
      return g_rand_double_range (rand, -1e6, 1e6);
    default:
      {
        /* any finite bit pattern */
        for (;;)
          {
            guint64 bits = (guint64) g_rand_int (rand) << 32 | g_rand_int (rand);
            double d;

            memcpy (&d, &bits, sizeof d);
            if (isfinite (d))
              return d;
          }
      }
    }
}

/* Random UTF-8 text without NUL: ASCII with the characters JSON escapes,
 * and two-, three- and four-byte characters. (transfer full) */
static char *
random_text (GRand *rand)
{
  static const gunichar specials[] = { '"', '\\', '\n', '\t', '\r', '\b', '\f', 0x01, 0x1f, 0x7f, 0x80, 0xe9,
                                       0x2028, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff };
  GString *out = g_string_new (NULL);
  guint n = g_rand_int_range (rand, 0, 24);

  for (guint i = 0; i < n; i++)
    {
      if (g_rand_boolean (rand))
        g_string_append_c (out, (char) g_rand_int_range (rand, 0x20, 0x7f));
      else
        g_string_append_unichar (out, specials[g_rand_int_range (rand, 0, G_N_ELEMENTS (specials))]);
    }
  return g_string_free (out, FALSE);
}

static GVariant *random_value (GRand *rand, const GVariantType *type, guint depth);

/* A value of a random type, for inside a variant. */
static GVariant *
random_variant_content (GRand *rand, guint depth)
{
  g_autofree char *signature = random_type_string (rand, depth > 0 ? depth - 1 : 0);

  return random_value (rand, G_VARIANT_TYPE (signature), depth > 0 ? depth - 1 : 0);
}

/* A random value of @type. (transfer floating) */
static GVariant *
random_value (GRand *rand, const GVariantType *type, guint depth)
{
  static const char *const paths[] = { "/", "/a", "/org/example/Thing_1", "/x/y/z" };
  static const char *const signatures[] = { "", "s", "a{sv}", "(ii)", "aax", "ai" };

  switch (g_variant_type_peek_string (type)[0])
    {
    case 'b':
      return g_variant_new_boolean (g_rand_boolean (rand));
    case 'y':
      return g_variant_new_byte ((guint8) random_int (rand, 0, G_MAXUINT8));
    case 'n':
      return g_variant_new_int16 ((gint16) random_int (rand, G_MININT16, G_MAXINT16));
    case 'q':
      return g_variant_new_uint16 ((guint16) random_int (rand, 0, G_MAXUINT16));
    case 'i':
      return g_variant_new_int32 ((gint32) random_int (rand, G_MININT32, G_MAXINT32));
    case 'u':
      return g_variant_new_uint32 ((guint32) random_int (rand, 0, G_MAXUINT32));
    case 'x':
      return g_variant_new_int64 (random_int (rand, G_MININT64, G_MAXINT64));
    case 't':
      /* now and then one above 2^63-1, which cannot be read back */
      if (g_rand_int_range (rand, 0, 8) == 0)
        return g_variant_new_uint64 ((guint64) G_MAXINT64 + 1 + (guint64) random_int (rand, 0, G_MAXINT64));
      return g_variant_new_uint64 ((guint64) random_int (rand, 0, G_MAXINT64));
    case 'd':
      return g_variant_new_double (random_double (rand));
    case 's':
      return g_variant_new_take_string (random_text (rand));
    case 'o':
      return g_variant_new_object_path (paths[g_rand_int_range (rand, 0, G_N_ELEMENTS (paths))]);
    case 'g':
      return g_variant_new_signature (signatures[g_rand_int_range (rand, 0, G_N_ELEMENTS (signatures))]);
    case 'v':
      return g_variant_new_variant (random_variant_content (rand, depth));
    case 'm':
      {
        const GVariantType *element = g_variant_type_element (type);

        if (g_rand_boolean (rand))
          return g_variant_new_maybe (element, NULL);
        return g_variant_new_maybe (element, random_value (rand, element, depth));
      }
    case 'a':
      {
        const GVariantType *element = g_variant_type_element (type);
        g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (type);
        guint n = g_rand_int_range (rand, 0, 5);

        for (guint i = 0; i < n; i++)
          {
            if (g_variant_type_is_dict_entry (element))
              {
                GVariant *key = random_value (rand, g_variant_type_key (element), depth);
                GVariant *value = random_value (rand, g_variant_type_value (element), depth);
                g_variant_builder_add_value (&builder, g_variant_new_dict_entry (key, value));
              }
            else
              g_variant_builder_add_value (&builder, random_value (rand, element, depth));
          }
        return g_variant_builder_end (&builder);
      }
    case '(':
      {
        g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (type);

        for (const GVariantType *member = g_variant_type_first (type); member != NULL;
             member = g_variant_type_next (member))
          g_variant_builder_add_value (&builder, random_value (rand, member, depth));
        return g_variant_builder_end (&builder);
      }
    default:
      g_assert_not_reached ();
    }
}

/* What the JSON text of a value cannot carry back: a t above 2^63-1 (the
 * parser refuses integers beyond int64). */
static gboolean
has_big_uint64 (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value) > G_MAXINT64;
  if (!g_variant_is_container (value))
    return FALSE;

  gsize n = g_variant_n_children (value);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
      if (has_big_uint64 (child))
        return TRUE;
    }
  return FALSE;
}

/* Whether @value goes out as null: Nothing, Just(Nothing), a variant of
 * one (nested maybes are flattened). */
static gboolean
writes_null (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT) || g_variant_is_of_type (value, G_VARIANT_TYPE_MAYBE))
    {
      if (g_variant_n_children (value) == 0)
        return TRUE;
      g_autoptr(GVariant) child = g_variant_get_child_value (value, 0);
      return writes_null (child);
    }
  return FALSE;
}

/* A dict's key as JSON text (the wire has only string keys). (transfer full) */
static char *
key_text (GVariant *key)
{
  if (g_variant_is_of_type (key, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (key, NULL);
  g_assert_true (g_variant_is_of_type (key, G_VARIANT_TYPE_INT32));
  return g_strdup_printf ("%d", g_variant_get_int32 (key));
}

/* Adds @key = @value (full references, taken over) to a dict being built
 * in @keys/@values: a key seen before keeps its first place and takes the
 * new value, as in Python. */
static void
dict_put (GPtrArray *keys, GPtrArray *values, GVariant *key, GVariant *value)
{
  g_autofree char *text = key_text (key);

  for (guint i = 0; i < keys->len; i++)
    {
      g_autofree char *other = key_text (keys->pdata[i]);
      if (g_strcmp0 (text, other) == 0)
        {
          g_variant_unref (values->pdata[i]);
          values->pdata[i] = value;
          g_variant_unref (key);
          return;
        }
    }
  g_ptr_array_add (keys, key);
  g_ptr_array_add (values, value);
}

static GVariant *natural_value (GVariant *value);

/* The oracle works with full references; these take one over. */
static GVariant *
new_variant_take (GVariant *child)
{
  GVariant *value = g_variant_ref_sink (g_variant_new_variant (child));
  g_variant_unref (child);
  return value;
}

static GVariant *
new_just_take (GVariant *child)
{
  GVariant *value = g_variant_ref_sink (g_variant_new_maybe (NULL, child));
  g_variant_unref (child);
  return value;
}

static void
builder_add_take (GVariantBuilder *builder, GVariant *child)
{
  g_variant_builder_add_value (builder, child);
  g_variant_unref (child);
}

/* What reading the JSON text of @value as its own type gives (the oracle,
 * from libpyro/docs/mapping.md). (transfer full) */
static GVariant *
expected_value (GVariant *value)
{
  const GVariantType *type = g_variant_get_type (value);

  if (g_variant_type_is_maybe (type))
    {
      if (writes_null (value))
        return g_variant_ref_sink (g_variant_new_maybe (g_variant_type_element (type), NULL));
      g_autoptr(GVariant) child = g_variant_get_child_value (value, 0);
      return new_just_take (expected_value (child));
    }
  if (g_variant_type_is_variant (type))
    {
      g_autoptr(GVariant) child = g_variant_get_variant (value);
      return new_variant_take (natural_value (child));
    }
  if (g_variant_type_is_array (type) && g_variant_type_is_dict_entry (g_variant_type_element (type)))
    {
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (type);
      gsize n = g_variant_n_children (value);

      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) entry = g_variant_get_child_value (value, i);
          g_autoptr(GVariant) val = g_variant_get_child_value (entry, 1);
          dict_put (keys, values, g_variant_get_child_value (entry, 0), expected_value (val));
        }
      for (guint i = 0; i < keys->len; i++)
        g_variant_builder_add_value (&builder, g_variant_new_dict_entry (keys->pdata[i], values->pdata[i]));
      return g_variant_ref_sink (g_variant_builder_end (&builder));
    }
  if (g_variant_type_is_array (type) || g_variant_type_is_tuple (type))
    {
      g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (type);
      gsize n = g_variant_n_children (value);

      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
          builder_add_take (&builder, expected_value (child));
        }
      return g_variant_ref_sink (g_variant_builder_end (&builder));
    }
  return g_variant_ref (value);
}

/* What reading the JSON text of @value with the natural mapping gives.
 * (transfer full) */
static GVariant *
natural_value (GVariant *value)
{
  const GVariantType *type = g_variant_get_type (value);

  if (writes_null (value))
    return g_variant_ref_sink (g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL));
  if (g_variant_type_is_variant (type) || g_variant_type_is_maybe (type))
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, 0);
      return natural_value (child);
    }

  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BOOLEAN:
    case G_VARIANT_CLASS_DOUBLE:
      return g_variant_ref (value);
    case G_VARIANT_CLASS_BYTE:
      return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_byte (value)));
    case G_VARIANT_CLASS_INT16:
      return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_int16 (value)));
    case G_VARIANT_CLASS_UINT16:
      return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_uint16 (value)));
    case G_VARIANT_CLASS_INT32:
      return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_int32 (value)));
    case G_VARIANT_CLASS_UINT32:
      return g_variant_ref_sink (g_variant_new_int64 (g_variant_get_uint32 (value)));
    case G_VARIANT_CLASS_INT64:
      return g_variant_ref (value);
    case G_VARIANT_CLASS_UINT64:
      return g_variant_ref_sink (g_variant_new_int64 ((gint64) g_variant_get_uint64 (value)));
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      return g_variant_ref_sink (g_variant_new_string (g_variant_get_string (value, NULL)));
    default:
      break;
    }

  gsize n = g_variant_n_children (value);
  if (g_variant_type_is_array (type) && g_variant_type_is_dict_entry (g_variant_type_element (type)))
    {
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
      g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) entry = g_variant_get_child_value (value, i);
          g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
          g_autoptr(GVariant) val = g_variant_get_child_value (entry, 1);
          g_autofree char *text = key_text (key);
          dict_put (keys, values, g_variant_ref_sink (g_variant_new_string (text)),
                    new_variant_take (natural_value (val)));
        }
      for (guint i = 0; i < keys->len; i++)
        g_variant_builder_add_value (&builder, g_variant_new_dict_entry (keys->pdata[i], values->pdata[i]));
      return g_variant_ref_sink (g_variant_builder_end (&builder));
    }

  /* arrays and tuples: a list */
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("av"));
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);
      builder_add_take (&builder, new_variant_take (natural_value (child)));
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static void
assert_equal_values (GVariant *got, GVariant *expected, const char *what, const char *text)
{
  if (!g_variant_equal (got, expected))
    {
      g_autofree char *g = g_variant_print (got, TRUE);
      g_autofree char *e = g_variant_print (expected, TRUE);

      g_test_message ("JSON text: %s", text);
      g_error ("%s: got %s, expected %s", what, g, e);
    }
}

/* Writes @value, reads it back as its own type, as the natural mapping
 * and with the direct reader, and compares with the oracle. */
static void
roundtrip_one (GVariant *value)
{
  const GVariantType *type = g_variant_get_type (value);
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  if (!pyro_json_write_variant (text, value, &error))
    {
      g_autofree char *printed = g_variant_print (value, TRUE);
      g_error ("cannot write %s: %s", printed, error->message);
    }

  /* arguments written member by member read the same */
  if (g_variant_type_is_tuple (type))
    {
      g_autoptr(GString) params = g_string_new (NULL);
      g_assert_true (pyro_json_write_params (params, value, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (params->str, ==, text->str);
    }

  g_autoptr(JsonNode) node = pyro_json_parse (text->str, text->len, &error);
  if (has_big_uint64 (value))
    {
      /* the documented limit: such a t can be sent, not read back */
      if (node != NULL)
        g_error ("a t above 2^63-1 was read back: %s", text->str);
      assert_refusal (error, "pyro_json_parse", text->str, text->len);
      g_assert_nonnull (strstr (error->message, "does not fit in a signed 64-bit integer"));
      return;
    }
  if (node == NULL)
    g_error ("cannot read back %s: %s", text->str, error->message);

  g_autoptr(GVariant) expected = expected_value (value);
  g_autoptr(GVariant) got = pyro_json_to_variant (node, type, &error);
  if (got == NULL)
    g_error ("cannot convert back %s as %s: %s", text->str, g_variant_get_type_string (value), error->message);
  assert_equal_values (got, expected, "typed", text->str);

  g_autoptr(GVariant) natural_expected = natural_value (value);
  g_autoptr(GVariant) natural = pyro_json_to_variant (node, NULL, &error);
  g_assert_no_error (error);
  assert_equal_values (natural, natural_expected, "natural", text->str);

  g_autoptr(GVariant) direct = pyro_wire_parse (text->str, text->len, type);
  if (direct != NULL)
    assert_equal_values (direct, expected, "pyro_wire_parse", text->str);
  g_autoptr(GVariant) direct_natural = pyro_wire_parse (text->str, text->len, NULL);
  if (direct_natural != NULL)
    assert_equal_values (direct_natural, natural_expected, "pyro_wire_parse (natural)", text->str);
}

static void
test_json_roundtrip (void)
{
  g_autoptr(GRand) rand = new_rand ("/pyro/fuzz/json-roundtrip");
  guint big = 0;

  for (guint i = 0; i < fuzz_iterations; i++)
    {
      g_autofree char *signature = random_type_string (rand, g_rand_int_range (rand, 0, 4));
      g_autoptr(GVariant) value = g_variant_ref_sink (random_value (rand, G_VARIANT_TYPE (signature), 2));
      if (has_big_uint64 (value))
        big++;
      roundtrip_one (value);
    }
  g_test_message ("%u values, %u of them with a t beyond 2^63-1", fuzz_iterations, big);
}

/* ---- /pyro/fuzz/message ------------------------------------------------------------ */

#define CONNECT_BODY "{\"handshake\": \"hello\", \"object\": \"thing\"}"
#define INVOKE_BODY  "{\"object\": \"thing\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}}"
#define RAISED_BODY  "{\"__class__\": \"builtins.ValueError\", \"__exception__\": true, \"args\": [\"no\"], " \
                     "\"attributes\": {}}"
#define HMAC_KEY     "fuzz secret"

/* Header fields are big-endian 16-bit words, but for the body size. */
enum
{
  AT_VERSION = 4, AT_TYPE = 6, AT_FLAGS = 8, AT_SEQ = 10, AT_BODY_SIZE = 12, AT_SERIALIZER = 16,
  AT_ANNOTATIONS_SIZE = 18, AT_CHECKSUM = 22,
};

static guint
get_be16 (const guint8 *p)
{
  return (guint) p[0] << 8 | p[1];
}

static void
set_be16 (guint8 *p, guint value)
{
  p[0] = (value >> 8) & 0xff;
  p[1] = value & 0xff;
}

static void
set_be32 (guint8 *p, guint32 value)
{
  set_be16 (p, value >> 16);
  set_be16 (p + 2, value & 0xffff);
}

/* Makes the header checksum right again after a change, computed here
 * (not with the library's), so that damage gets past the first check. */
static void
fix_checksum (GByteArray *wire)
{
  if (wire->len < PYRO_HEADER_SIZE)
    return;

  const guint8 *h = wire->data;
  guint32 size = (guint32) get_be16 (h + AT_BODY_SIZE) << 16 | get_be16 (h + AT_BODY_SIZE + 2);
  guint32 sum = get_be16 (h + AT_TYPE) + get_be16 (h + AT_VERSION) + size + get_be16 (h + AT_ANNOTATIONS_SIZE)
                + get_be16 (h + AT_SERIALIZER) + get_be16 (h + AT_FLAGS) + get_be16 (h + AT_SEQ) + 0x34E9;
  set_be16 (wire->data + AT_CHECKSUM, sum & 0xffff);
}

/* @len bytes at @data compressed as Pyro4 compresses bodies (zlib).
 * (transfer full) */
static GBytes *
zlib_compress (const void *data, gsize len)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 9);
  g_autoptr(GInputStream) plain = g_memory_input_stream_new_from_data (data, len, NULL);
  g_autoptr(GInputStream) in = g_converter_input_stream_new (plain, G_CONVERTER (compressor));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;

  g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

/* A valid message of one of several kinds, encoded. (transfer full) */
static GByteArray *
valid_message (GRand *rand, GBytes *key)
{
  g_autoptr(PyroMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  gboolean compressed = FALSE;

  switch (g_rand_int_range (rand, 0, 7))
    {
    case 0:
      body = g_bytes_new_static (CONNECT_BODY, strlen (CONNECT_BODY));
      msg = pyro_message_new (PYRO_MSG_CONNECT, PYRO_FLAG_META_ON_CONNECT, 0, PYRO_SERIALIZER_JSON, body);
      break;
    case 1:
      body = g_bytes_new_static (INVOKE_BODY, strlen (INVOKE_BODY));
      msg = pyro_message_new (PYRO_MSG_INVOKE, 0, 1, PYRO_SERIALIZER_JSON, body);
      break;
    case 2:
      body = g_bytes_new_static (INVOKE_BODY, strlen (INVOKE_BODY));
      msg = pyro_message_new (PYRO_MSG_INVOKE, PYRO_FLAG_ONEWAY, 65535, PYRO_SERIALIZER_JSON, body);
      pyro_message_set_annotation (msg, "CORR", "0123456789abcdef", 16);
      pyro_message_set_annotation (msg, "XYZW", "", 0);
      break;
    case 3:
      body = g_bytes_new_static ("3", 1);
      msg = pyro_message_new (PYRO_MSG_RESULT, 0, 2, PYRO_SERIALIZER_JSON, body);
      break;
    case 4:
      body = g_bytes_new_static (RAISED_BODY, strlen (RAISED_BODY));
      msg = pyro_message_new (PYRO_MSG_RESULT, PYRO_FLAG_EXCEPTION, 3, PYRO_SERIALIZER_JSON, body);
      pyro_message_set_annotation (msg, "CORR", "fedcba9876543210", 16);
      break;
    case 5:
      body = g_bytes_new_static ("ping", 4);
      msg = pyro_message_new (PYRO_MSG_PING, 0, 4, 42, body);
      break;
    default:
      {
        /* a compressed body, sometimes one that inflates beyond the limit */
        gsize len = g_rand_boolean (rand) ? strlen (INVOKE_BODY) : 200000;
        g_autofree char *plain = g_malloc0 (len);

        memcpy (plain, INVOKE_BODY, MIN (len, strlen (INVOKE_BODY)));
        body = zlib_compress (plain, len);
        msg = pyro_message_new (PYRO_MSG_INVOKE, 0, 5, PYRO_SERIALIZER_JSON, body);
        compressed = TRUE;
      }
      break;
    }

  g_autoptr(GBytes) encoded = pyro_message_encode (msg, key);
  gsize size;
  const guint8 *data = g_bytes_get_data (encoded, &size);
  GByteArray *wire = g_byte_array_sized_new (size + 16);

  g_byte_array_append (wire, data, size);
  if (compressed)
    {
      /* pyro_message_encode() never sends the flag: set it by hand */
      set_be16 (wire->data + AT_FLAGS, get_be16 (wire->data + AT_FLAGS) | PYRO_FLAG_COMPRESSED);
      fix_checksum (wire);
    }
  return wire;
}

/* Changes one header field to a value near an edge. */
static void
mutate_header (GRand *rand, GByteArray *wire)
{
  static const guint32 sizes[] = { 0, 1, 5, 23, 24, 100, 65535, 65536, 1 << 20, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF };
  static const guint fields[] = { AT_TYPE, AT_FLAGS, AT_SEQ, AT_SERIALIZER, AT_ANNOTATIONS_SIZE, AT_VERSION };

  if (wire->len < PYRO_HEADER_SIZE)
    return;
  if (g_rand_boolean (rand))
    {
      guint32 size = sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (sizes))];

      if (g_rand_boolean (rand))
        size = wire->len - PYRO_HEADER_SIZE + g_rand_int_range (rand, -8, 9);
      set_be32 (wire->data + AT_BODY_SIZE, size);
    }
  else
    {
      guint at = fields[g_rand_int_range (rand, 0, G_N_ELEMENTS (fields))];
      guint value = g_rand_boolean (rand) ? (guint) g_rand_int_range (rand, 0, 65536)
                                          : get_be16 (wire->data + at) + g_rand_int_range (rand, -3, 4);
      set_be16 (wire->data + at, value);
    }
}

/* A PyroReadFunc over memory that hands out bytes in random small pieces,
 * as a socket may. */
typedef struct
{
  const guint8 *data;
  gsize         len;
  gsize         pos;
  GRand        *rand;
} Trickle;

static gssize
trickle_read (gpointer source, void *buffer, gsize len, GCancellable *cancellable, GError **error)
{
  Trickle *t = source;
  gsize piece = g_rand_int_range (t->rand, 1, 64);  /* not inside MIN(): it would draw twice */
  gsize n = MIN (MIN (len, t->len - t->pos), piece);

  memcpy (buffer, t->data + t->pos, n);
  t->pos += n;
  return (gssize) n;
}

static void
assert_same_message (const PyroMessage *a, const PyroMessage *b)
{
  g_assert_cmpuint (a->type, ==, b->type);
  g_assert_cmpuint (a->flags, ==, b->flags);
  g_assert_cmpuint (a->seq, ==, b->seq);
  g_assert_cmpuint (a->serializer_id, ==, b->serializer_id);
  g_assert_true (g_bytes_equal (a->body, b->body));
  g_assert_cmpuint (pyro_message_n_annotations (a), ==, pyro_message_n_annotations (b));
  for (guint i = 0; i < pyro_message_n_annotations (a); i++)
    {
      PyroAnnotation *x = pyro_message_annotation_at (a, i);
      PyroAnnotation *y = pyro_message_annotation_at (b, i);
      g_assert_cmpmem (x->key, 4, y->key, 4);
      g_assert_true (g_bytes_equal (x->value, y->value));
    }
}

typedef struct
{
  guint inputs;
  guint read;        /* messages that came out whole */
  guint refused[16]; /* by PYRO_ERROR code */
} MessageStats;

static MessageStats message_stats;

/* Reads @wire whole from memory and in pieces: the same outcome both ways;
 * a message that came out encodes and reads back the same. */
static void
fuzz_one_message (GRand *rand, GByteArray *wire, gsize max_size, GBytes *key)
{
  if (fuzz_verbose)
    {
      g_autofree char *literal = c_literal ((const char *) wire->data, wire->len);
      g_printerr ("message: max_size %" G_GSIZE_FORMAT ", key %s: %s\n", max_size,
                  key ? (const char *) g_bytes_get_data (key, NULL) : "none", literal);
    }

  g_autoptr(GBytes) bytes = g_bytes_new (wire->data, wire->len);
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroMessage) msg = pyro_message_read (in, max_size, key, NULL, &error);

  Trickle trickle = { wire->data, wire->len, 0, rand };
  g_autoptr(GError) trickle_error = NULL;
  g_autoptr(PyroMessage) trickled = pyro_message_read_from (trickle_read, &trickle, max_size, key, NULL,
                                                             &trickle_error);

  message_stats.inputs++;
  if (msg == NULL)
    {
      assert_refusal (error, "pyro_message_read", (const char *) wire->data, wire->len);
      g_assert_true (error->domain == PYRO_ERROR);
      g_assert_null (trickled);
      g_assert_error (trickle_error, error->domain, error->code);
      g_assert_cmpstr (trickle_error->message, ==, error->message);
      message_stats.refused[MIN ((guint) error->code, G_N_ELEMENTS (message_stats.refused) - 1)]++;
      return;
    }

  message_stats.read++;
  g_assert_no_error (error);
  g_assert_no_error (trickle_error);
  g_assert_nonnull (trickled);
  assert_same_message (msg, trickled);
  g_assert_nonnull (msg->body);
  g_assert_false (msg->flags & PYRO_FLAG_COMPRESSED);
  if (max_size != 0)
    g_assert_cmpuint (g_bytes_get_size (msg->body), <=, max_size);

  g_autoptr(GBytes) again = pyro_message_encode (msg, key);
  g_autoptr(GInputStream) in_again = g_memory_input_stream_new_from_bytes (again);
  g_autoptr(PyroMessage) reread = pyro_message_read (in_again, 0, key, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (reread->type, ==, msg->type);
  g_assert_cmpuint (reread->flags, ==, msg->flags);
  g_assert_cmpuint (reread->seq, ==, msg->seq);
  g_assert_true (g_bytes_equal (reread->body, msg->body));
}

/* A marshalled str, as Pyro4 daemons send early CONNECTFAIL texts:
 * what comes out is UTF-8 text without NUL, or a refusal that says why;
 * an undamaged one reads back as it was. */
static void
fuzz_one_marshal (GRand *rand)
{
  static const char *const texts[] = {
    "", "invalid msg type 4 received",
    "a text longer than two hundred and fifty-five bytes, which marshal writes with a four-byte length: "
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789",
    "non-ASCII: w\xc3\xb6rld \xf0\x9f\x98\x80",
  };
  const char *text = texts[g_rand_int_range (rand, 0, G_N_ELEMENTS (texts))];
  g_autoptr(GBytes) valid = pyro_marshal_string (text);
  gboolean damage = g_rand_int_range (rand, 0, 4) != 0;
  g_autoptr(GByteArray) data = mutate (rand, g_bytes_get_data (valid, NULL), g_bytes_get_size (valid));
  g_autoptr(GBytes) input = damage ? g_bytes_new (data->data, data->len) : g_bytes_ref (valid);
  g_autoptr(GError) error = NULL;
  g_autofree char *parsed = pyro_marshal_parse_string (input, &error);

  if (parsed == NULL)
    {
      assert_refusal (error, "pyro_marshal_parse_string", g_bytes_get_data (input, NULL), g_bytes_get_size (input));
      g_assert_true (damage);
      return;
    }
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (parsed, -1, NULL));
  if (!damage)
    g_assert_cmpstr (parsed, ==, text);
}

/* Headers claim up to 4 GiB; what is allocated must follow the bytes that
 * came.  VmPeak sees even an allocation never touched, so it is compared
 * with a @limit_mib far below the claims (a daemon's threads reserve
 * stacks and malloc arenas, which VmPeak counts too).  Under
 * AddressSanitizer the process maps its own memory as it likes, so the
 * check is off there. */
static void
check_memory_growth (guint64 peak_before, guint64 limit_mib)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_message ("memory growth not checked under AddressSanitizer");
#else
  guint64 grown = pyro_test_status_kib ("VmPeak") - peak_before;

  g_test_message ("VmPeak grew by %" G_GUINT64_FORMAT " KiB", grown);
  g_assert_cmpuint (grown, <, limit_mib * 1024);
#endif
}

static void
test_message (void)
{
  guint64 peak_before = pyro_test_status_kib ("VmPeak");
  g_autoptr(GRand) rand = new_rand ("/pyro/fuzz/message");
  g_autoptr(GBytes) key = g_bytes_new_static (HMAC_KEY, strlen (HMAC_KEY));
  g_autoptr(GBytes) other_key = g_bytes_new_static ("other", 5);
  static const gsize max_sizes[] = { 0, 100, 65536 };

  for (guint i = 0; i < fuzz_iterations; i++)
    {
      GBytes *write_key = g_rand_boolean (rand) ? key : NULL;
      g_autoptr(GByteArray) wire = valid_message (rand, write_key);
      gsize max_size = max_sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (max_sizes))];
      GBytes *read_key = write_key;

      /* now and then the other side has another idea of the key */
      if (g_rand_int_range (rand, 0, 8) == 0)
        read_key = g_rand_boolean (rand) ? other_key : (write_key ? NULL : key);

      switch (g_rand_int_range (rand, 0, 4))
        {
        case 0:  /* as it is */
          break;
        case 1:  /* the header lies, with a right checksum */
          mutate_header (rand, wire);
          fix_checksum (wire);
          break;
        default:  /* damaged anywhere, and mostly the checksum made right */
          {
            guint n = g_rand_int_range (rand, 1, 4);
            for (guint j = 0; j < n; j++)
              mutate_once (rand, wire);
            if (g_rand_int_range (rand, 0, 4) != 0)
              fix_checksum (wire);
          }
          break;
        }
      fuzz_one_message (rand, wire, max_size, read_key);
      fuzz_one_marshal (rand);
    }

  g_autoptr(GString) refused = g_string_new (NULL);
  for (guint code = 0; code < G_N_ELEMENTS (message_stats.refused); code++)
    if (message_stats.refused[code] != 0)
      g_string_append_printf (refused, " code %u: %u;", code, message_stats.refused[code]);
  g_test_message ("%u inputs, %u read; refused by PYRO_ERROR code:%s", message_stats.inputs, message_stats.read,
                  refused->str);
  /* at most a 1 MiB first buffer, and inflated bodies of 200 KB */
  check_memory_growth (peak_before, 64);
}

/* ---- /pyro/fuzz/daemon --------------------------------------------------------------- */

#define DEFAULT_DAEMON_ROUNDS 150

static GVariant *
thing_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;

  g_variant_get (args, "(xx)", &a, &b);
  /* wrapping, as the fuzzer sends any int64 */
  return g_variant_new_int64 ((gint64) ((guint64) a + (guint64) b));
}

static GVariant *
thing_echo (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  return g_variant_get_child_value (args, 0);  /* the "v" itself */
}

static GVariant *
thing_greet (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  const char *name;

  g_variant_get (args, "(&s)", &name);
  return g_variant_new_take_string (g_strdup_printf ("Hello, %s!", name));
}

/* count(n): a stream of 0, 1, ... up to n (at most 5 items). */
static GVariant *
count_next (gpointer state, GError **error)
{
  gint64 *range = state;  /* the next item, the end */

  if (range[0] >= range[1])
    return NULL;
  return g_variant_new_int64 (range[0]++);
}

static GVariant *
thing_count (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 *range = g_new (gint64, 2);

  range[0] = 0;
  g_variant_get (args, "(x)", &range[1]);
  range[1] = CLAMP (range[1], 0, 5);
  pyro_invocation_return_stream (invocation, count_next, range, g_free);
  return NULL;
}

/* An attribute the fuzzer may write anything to (of type s, as checked). */
static GMutex label_lock;
static char *label;

static GVariant *
thing_get_label (gpointer self, PyroInvocation *invocation, GError **error)
{
  g_mutex_lock (&label_lock);
  GVariant *value = g_variant_new_string (label != NULL ? label : "");
  g_mutex_unlock (&label_lock);
  return value;
}

static gboolean
thing_set_label (gpointer self, GVariant *value, PyroInvocation *invocation, GError **error)
{
  g_mutex_lock (&label_lock);
  g_free (label);
  label = g_variant_dup_string (value, NULL);
  g_mutex_unlock (&label_lock);
  return TRUE;
}

static const PyroMethod thing_methods[] = {
  { "add", "(xx)", "x", thing_add, 0, "a,b" },
  { "echo", "(v)", "v", thing_echo, 0, "value" },
  { "greet", "(s)", "s", thing_greet, 0, "name" },
  { "count", "(x)", "x", thing_count, PYRO_METHOD_STREAM, "n" },
  { NULL }
};

static const PyroAttribute thing_attributes[] = {
  { "label", "s", thing_get_label, thing_set_label },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
  .attributes = thing_attributes,
};

static void
setup_thing (PyroDaemon *daemon, gpointer user_data)
{
  pyro_test_register (daemon, &thing_class, NULL, "thing");
}

/* A PyroProxy call must still work: the daemon survived what came before. */
static void
check_daemon_serves (PyroTestDaemon *td)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = pyro_test_daemon_uri (td, "thing");
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);
  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2),
                                                     G_VARIANT_TYPE_INT64, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (result), ==, 3);
}

/* INVOKE bodies for the daemon: every kind of request it dispatches. */
static const char *const invoke_bodies[] = {
  INVOKE_BODY,
  "{\"object\": \"thing\", \"method\": \"add\", \"params\": [], \"kwargs\": {\"a\": 9223372036854775807, \"b\": 1}}",
  "{\"object\": \"thing\", \"method\": \"greet\", \"params\": [\"w\\u00f6rld \\ud83d\\ude00\"], \"kwargs\": {}}",
  "{\"object\": \"thing\", \"method\": \"<batch>\", \"params\": [[\"add\", [1, 2], {}], [\"greet\", [\"x\"], {}], "
  "[\"echo\", [[1, [2.5, null]]], {}]], \"kwargs\": {}}",
  "{\"object\": \"thing\", \"method\": \"__getattr__\", \"params\": [\"add\"], \"kwargs\": {}}",
  "{\"object\": \"Pyro.Daemon\", \"method\": \"get_metadata\", \"params\": [\"thing\"], \"kwargs\": {}}",
  "{\"object\": \"Pyro.Daemon\", \"method\": \"registered\", \"params\": [], \"kwargs\": {}}",
  "{\"object\": \"Pyro.Daemon\", \"method\": \"ping\", \"params\": [], \"kwargs\": {}}",
};

/* A list of 0 to 3 random values. */
static void
append_random_list (GRand *rand, GString *out, guint depth)
{
  g_string_append_c (out, '[');
  for (guint i = 0, n = g_rand_int_range (rand, 0, 4); i < n; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      append_random_json (rand, out, depth);
    }
  g_string_append_c (out, ']');
}

/* A request put together from random parts: any object, any method of
 * the object, the daemon's own or none, random arguments; members now and
 * then missing, of the wrong kind, or twice. */
static void
append_random_request (GRand *rand, GString *out)
{
  static const char *const objects[] = { "\"thing\"", "\"thing\"", "\"thing\"", "\"Pyro.Daemon\"", "\"nosuch\"", "42" };
  static const char *const methods[] = {
    "\"add\"", "\"echo\"", "\"greet\"", "\"count\"", "\"__getattr__\"", "\"__setattr__\"", "\"<batch>\"",
    "\"ping\"", "\"info\"", "\"registered\"", "\"get_metadata\"", "\"get_next_stream_item\"",
    "\"close_stream\"", "\"nosuch\"", "\"_private\"", "\"\"", "null",
  };
  static const char *const attributes[] = { "\"label\"", "\"add\"", "\"nosuch\"", "\"\"" };
  const char *method = methods[g_rand_int_range (rand, 0, G_N_ELEMENTS (methods))];

  g_string_append (out, "{\"object\": ");
  g_string_append (out, objects[g_rand_int_range (rand, 0, G_N_ELEMENTS (objects))]);
  g_string_append (out, ", \"method\": ");
  g_string_append (out, method);
  if (g_rand_int_range (rand, 0, 10) != 0)
    {
      g_string_append (out, ", \"params\": ");
      if (g_str_equal (method, "\"<batch>\""))
        {
          /* [method, params, kwargs] triples, some of them not */
          g_string_append_c (out, '[');
          for (guint i = 0, n = g_rand_int_range (rand, 0, 4); i < n; i++)
            {
              g_string_append (out, i > 0 ? ", [" : "[");
              g_string_append (out, methods[g_rand_int_range (rand, 0, G_N_ELEMENTS (methods))]);
              g_string_append (out, ", ");
              append_random_list (rand, out, 3);
              g_string_append (out, g_rand_int_range (rand, 0, 4) != 0 ? ", {}]" : "]");
            }
          g_string_append_c (out, ']');
        }
      else if (g_str_has_prefix (method, "\"__") && g_rand_int_range (rand, 0, 4) != 0)
        {
          g_string_append_c (out, '[');
          g_string_append (out, attributes[g_rand_int_range (rand, 0, G_N_ELEMENTS (attributes))]);
          if (g_str_equal (method, "\"__setattr__\""))
            {
              g_string_append (out, ", ");
              append_random_json (rand, out, 2);
            }
          g_string_append_c (out, ']');
        }
      else if (g_rand_int_range (rand, 0, 8) != 0)
        append_random_list (rand, out, 2);
      else
        append_random_json (rand, out, 2);
    }
  if (g_rand_int_range (rand, 0, 10) != 0)
    {
      static const char *const kwargs[] = { "{}", "{}", "null", "{\"a\": 1, \"b\": 2}", "{\"n\": 3}",
                                            "{\"value\": [1]}", "{\"name\": \"x\", \"name\": 5}", "[]" };

      g_string_append (out, ", \"kwargs\": ");
      if (g_rand_int_range (rand, 0, 4) != 0)
        g_string_append (out, kwargs[g_rand_int_range (rand, 0, G_N_ELEMENTS (kwargs))]);
      else
        append_random_json (rand, out, 2);
    }
  if (g_rand_int_range (rand, 0, 10) == 0)
    g_string_append (out, ", \"object\": \"thing\"");
  g_string_append_c (out, '}');
}

/* An INVOKE body: one of the above, a random request, or echo() of random
 * JSON, deep now and then. (transfer full) */
static GString *
random_invoke_body (GRand *rand)
{
  GString *body = g_string_new (NULL);
  guint pick = g_rand_int_range (rand, 0, 3);

  if (pick == 0)
    g_string_append (body, invoke_bodies[g_rand_int_range (rand, 0, G_N_ELEMENTS (invoke_bodies))]);
  else if (pick == 1)
    append_random_request (rand, body);
  else
    {
      g_string_append (body, "{\"object\": \"thing\", \"method\": \"echo\", \"params\": [");
      if (g_rand_int_range (rand, 0, 10) == 0)
        append_deep_json (rand, body);
      else
        append_random_json (rand, body, 1);
      g_string_append (body, "], \"kwargs\": {}}");
    }
  return body;
}

/* One frame damaged once: its header made to lie, or one byte-level
 * change anywhere; mostly with the checksum made right again, so that the
 * damage gets past the first check. */
static void
damage_frame (GRand *rand, GByteArray *wire)
{
  if (g_rand_boolean (rand))
    mutate_header (rand, wire);
  else
    mutate_once (rand, wire);
  if (g_rand_int_range (rand, 0, 4) != 0)
    fix_checksum (wire);
}

/* The bytes of one frame to send: a valid message (so that random values
 * reach the methods), one damaged anywhere, or a valid header around a
 * damaged body. (transfer full) */
static GByteArray *
random_frame (GRand *rand, gboolean *connected)
{
  static const guint16 flag_sets[] = {
    0, 0, 0, PYRO_FLAG_ONEWAY, PYRO_FLAG_BATCH, PYRO_FLAG_BATCH | PYRO_FLAG_ONEWAY, PYRO_FLAG_META_ON_CONNECT,
    PYRO_FLAG_ITEMSTREAMRESULT, PYRO_FLAG_KEEPSERIALIZED, PYRO_FLAG_EXCEPTION,
  };
  guint16 type = *connected ? PYRO_MSG_INVOKE : PYRO_MSG_CONNECT;
  g_autoptr(GString) body = *connected ? random_invoke_body (rand) : g_string_new (CONNECT_BODY);
  guint damage = g_rand_int_range (rand, 0, 6);  /* 0 to 2: none, 3: the body, 4 and 5: the frame */
  gboolean damage_body = damage == 3;

  if (g_rand_int_range (rand, 0, 10) == 0)
    type = g_rand_int_range (rand, 0, 10);  /* any type, PING and unknown ones included */

  gsize len = body->len;
  char *text = g_string_free (g_steal_pointer (&body), FALSE);
  if (damage_body)
    {
      GByteArray *damaged = mutate (rand, text, len);
      g_free (text);
      len = damaged->len;
      text = (char *) g_byte_array_free (damaged, FALSE);
    }

  guint16 flags = flag_sets[g_rand_int_range (rand, 0, G_N_ELEMENTS (flag_sets))];
  g_autoptr(PyroMessage) msg = pyro_message_new_take (type, flags, g_rand_int_range (rand, 0, 65536),
                                                      PYRO_SERIALIZER_JSON, text, len);
  if (g_rand_int_range (rand, 0, 4) == 0)
    pyro_message_set_annotation (msg, "CORR", "0123456789abcdef", 16);

  g_autoptr(GBytes) encoded = pyro_message_encode (msg, NULL);
  gsize size;
  const guint8 *data = g_bytes_get_data (encoded, &size);
  GByteArray *wire = g_byte_array_sized_new (size);
  g_byte_array_append (wire, data, size);

  if (type == PYRO_MSG_CONNECT && damage < 3)
    *connected = TRUE;  /* (if the daemon likes the annotation and flags) */
  if (damage >= 4)
    damage_frame (rand, wire);
  return wire;
}

/* What the daemon answered, for the summary. */
typedef struct
{
  guint results;     /* RESULT messages with a value */
  guint exceptions;  /* RESULT messages with an exception */
  guint others;      /* CONNECTOK, CONNECTFAIL, PING */
} DaemonStats;

static DaemonStats daemon_stats;

/* Reads what the daemon sends, until it closes, goes quiet for @quiet_ms,
 * or has sent @max_replies messages.  Whatever it sends must be a proper
 * message, and a JSON reply proper JSON.  Returns how many came. */
static guint
drain_replies (GSocketConnection *connection, guint quiet_ms, guint max_replies)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  guint n = 0;

  while (n < max_replies)
    {
      g_autoptr(GError) error = NULL;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, (gint64) quiet_ms * 1000, NULL, &error))
        break;  /* quiet */

      g_autoptr(PyroMessage) reply = pyro_message_read (in, 0, NULL, NULL, &error);
      if (reply == NULL)
        {
          /* the daemon hung up (or reset the connection); nothing else is right */
          if (!g_error_matches (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED))
            g_error ("reading from the daemon: %s", error->message);
          break;
        }
      n++;
      if (reply->type != PYRO_MSG_RESULT)
        daemon_stats.others++;
      else if (reply->flags & PYRO_FLAG_EXCEPTION)
        daemon_stats.exceptions++;
      else
        daemon_stats.results++;
      if (fuzz_verbose)
        print_input ("daemon reply", g_bytes_get_data (reply->body, NULL), g_bytes_get_size (reply->body));
      /* (a PING comes back with the caller's serializer id and "pong") */
      if (reply->type != PYRO_MSG_PING && reply->serializer_id == PYRO_SERIALIZER_JSON &&
          g_bytes_get_size (reply->body) > 0)
        {
          gsize len;
          const char *text = g_bytes_get_data (reply->body, &len);
          g_autoptr(JsonNode) node = pyro_json_parse (text, len, &error);

          if (node == NULL)
            {
              print_input ("daemon reply body", text, len);
              g_error ("the daemon sent JSON it cannot read itself: %s", error->message);
            }
        }
    }
  return n;
}

static void
send_all (GSocketConnection *connection, const guint8 *data, gsize len)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;

  /* the daemon may have closed already: a failed write is no failure */
  g_output_stream_write_all (out, data, len, NULL, NULL, &error);
}

static void
handshake (GSocketConnection *connection)
{
  g_autoptr(GBytes) body = g_bytes_new_static (CONNECT_BODY, strlen (CONNECT_BODY));
  g_autoptr(PyroMessage) connect = pyro_message_new (PYRO_MSG_CONNECT, PYRO_FLAG_META_ON_CONNECT, 0,
                                                     PYRO_SERIALIZER_JSON, body);
  g_autoptr(GBytes) wire = pyro_message_encode (connect, NULL);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;

  send_all (connection, g_bytes_get_data (wire, NULL), g_bytes_get_size (wire));
  g_autoptr(PyroMessage) reply = pyro_message_read (in, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (reply->type, ==, PYRO_MSG_CONNECTOK);
}

static void
test_daemon (void)
{
  g_autoptr(GRand) rand = new_rand ("/pyro/fuzz/daemon");
  guint rounds = (guint) ((guint64) DEFAULT_DAEMON_ROUNDS * fuzz_iterations / DEFAULT_ITERATIONS);
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  guint16 port = pyro_daemon_get_port (pyro_test_daemon_get (td));
  guint64 peak_before = pyro_test_status_kib ("VmPeak");
  guint replies = 0, frames = 0;

  g_test_message ("%u rounds", rounds);
  for (guint round = 1; round <= rounds; round++)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GError) error = NULL;

      g_socket_client_set_timeout (client, PYRO_TEST_TIMEOUT_S);
      g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL,
                                                                                &error);
      g_assert_no_error (error);

      gboolean connected = g_rand_boolean (rand);
      if (connected)
        handshake (connection);

      /* one to three frames; the daemon may have closed after any of them */
      guint n_frames = g_rand_int_range (rand, 1, 4);
      for (guint i = 0; i < n_frames; i++)
        {
          g_autoptr(GByteArray) frame = random_frame (rand, &connected);

          if (fuzz_verbose)
            print_input ("daemon frame", (const char *) frame->data, frame->len);
          send_all (connection, frame->data, frame->len);
          frames++;
        }

      /* mostly we stop writing, so that the daemon sees the end and closes;
       * now and then the connection stays open and the daemon goes quiet */
      if (g_rand_int_range (rand, 0, 10) != 0)
        {
          g_socket_shutdown (g_socket_connection_get_socket (connection), FALSE, TRUE, NULL);
          replies += drain_replies (connection, PYRO_TEST_TIMEOUT_S * 1000, 8);
        }
      else
        replies += drain_replies (connection, 100, 8);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);

      if (round % 25 == 0)
        check_daemon_serves (td);
    }
  check_daemon_serves (td);
  g_test_message ("%u frames sent, %u replies read: %u results, %u exceptions, %u others", frames, replies,
                  daemon_stats.results, daemon_stats.exceptions, daemon_stats.others);
  check_memory_growth (peak_before, 512);
  pyro_test_daemon_stop (td);
  g_clear_pointer (&label, g_free);
}

/* ---- /pyro/fuzz/proxy ---------------------------------------------------------------- */

/* A reply of a real daemon, kept as a model for the fake server. */
typedef struct
{
  const char  *method;  /* the request it answers ("" for the handshake) */
  PyroMessage *reply;
} ReplyModel;

/* Sends @body to the real daemon and keeps its answer. (transfer full) */
static PyroMessage *
exchange (GSocketConnection *connection, guint16 type, guint16 flags, guint16 seq, const char *body)
{
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
  g_autoptr(PyroMessage) request = pyro_message_new (type, flags, seq, PYRO_SERIALIZER_JSON, bytes);
  g_autoptr(GBytes) wire = pyro_message_encode (request, NULL);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;

  send_all (connection, g_bytes_get_data (wire, NULL), g_bytes_get_size (wire));
  PyroMessage *reply = pyro_message_read (in, 0, NULL, NULL, &error);
  g_assert_no_error (error);
  return reply;
}

/* What the fuzzed proxy calls, and what the daemon answered to each. */
static const struct
{
  const char *method;
  const char *body;
  guint16     flags;
} model_requests[] = {
  { "add", INVOKE_BODY, 0 },
  { "greet", "{\"object\": \"thing\", \"method\": \"greet\", \"params\": [\"w\\u00f6rld\"], \"kwargs\": {}}", 0 },
  { "echo", "{\"object\": \"thing\", \"method\": \"echo\", \"params\": [[1, \"a\", {\"k\": [true, null, 2.5]}]], "
            "\"kwargs\": {}}", 0 },
  { "<batch>", "{\"object\": \"thing\", \"method\": \"<batch>\", \"params\": [[\"add\", [1, 2], {}], "
               "[\"greet\", [\"x\"], {}]], \"kwargs\": {}}", PYRO_FLAG_BATCH },
  { "raise", "{\"object\": \"thing\", \"method\": \"nosuch\", \"params\": [], \"kwargs\": {}}", 0 },
};

/* Asks a real daemon for one reply of every kind. (transfer full) */
static GArray *
collect_reply_models (void)
{
  GArray *models = g_array_new (FALSE, FALSE, sizeof (ReplyModel));
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  guint16 port = pyro_daemon_get_port (pyro_test_daemon_get (td));
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);

  g_assert_no_error (error);
  ReplyModel handshake = { "", exchange (connection, PYRO_MSG_CONNECT, PYRO_FLAG_META_ON_CONNECT, 0, CONNECT_BODY) };
  g_assert_cmpuint (handshake.reply->type, ==, PYRO_MSG_CONNECTOK);
  g_array_append_val (models, handshake);

  for (guint i = 0; i < G_N_ELEMENTS (model_requests); i++)
    {
      ReplyModel model = { model_requests[i].method,
                           exchange (connection, PYRO_MSG_INVOKE, model_requests[i].flags, i + 1,
                                     model_requests[i].body) };
      g_assert_cmpuint (model.reply->type, ==, PYRO_MSG_RESULT);
      g_array_append_val (models, model);
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  pyro_test_daemon_stop (td);
  return models;
}

/* A server that answers a proxy with damaged copies of real replies, one
 * connection at a time, in its own thread with its own generator. */
typedef struct
{
  GSocketListener *listener;
  GCancellable    *stop;
  GRand           *rand;
  GArray          *models;   /* of ReplyModel */
  guint16          port;
  GThread         *thread;
  guint            last_damage;  /* how fake_reply() damaged its last reply */
} FakeServer;

/* The model for @request: mostly the reply to the same method. */
static PyroMessage *
pick_model (FakeServer *server, PyroMessage *request)
{
  ReplyModel *models = (ReplyModel *) server->models->data;

  if (request->type == PYRO_MSG_CONNECT)
    return models[0].reply;
  if (g_rand_int_range (server->rand, 0, 4) != 0)
    {
      gsize len;
      const char *body = g_bytes_get_data (request->body, &len);
      g_autofree char *text = g_strndup (body, len);

      for (guint i = 1; i < server->models->len; i++)
        {
          g_autofree char *wanted = g_strdup_printf ("\"method\": \"%s\"", models[i].method);
          if (strstr (text, wanted) != NULL)
            return models[i].reply;
        }
    }
  return models[g_rand_int_range (server->rand, 1, server->models->len)].reply;
}

/* The reply to @request: the model with the request's number, sent as it
 * is, with a damaged body, or damaged anywhere. (transfer full) */
static GByteArray *
fake_reply (FakeServer *server, PyroMessage *request)
{
  GRand *rand = server->rand;
  PyroMessage *model = pick_model (server, request);
  gsize len;
  const char *body = g_bytes_get_data (model->body, &len);
  guint damage = g_rand_int_range (rand, 0, 4);  /* 0, 1: none; 2: the body; 3: the frame */

  server->last_damage = damage;
  g_autoptr(GByteArray) text = damage == 2 ? mutate (rand, body, len) : g_byte_array_new ();

  if (damage != 2)
    g_byte_array_append (text, (const guint8 *) body, len);
  g_autoptr(GBytes) new_body = g_bytes_new (text->data, text->len);
  g_autoptr(PyroMessage) reply = pyro_message_new (model->type, model->flags, request->seq, model->serializer_id,
                                                   new_body);
  g_autoptr(GBytes) encoded = pyro_message_encode (reply, NULL);
  GByteArray *wire = g_byte_array_new ();

  g_byte_array_append (wire, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
  if (damage == 3)
    damage_frame (rand, wire);
  return wire;
}

/* Answers the requests on one connection until the proxy hangs up or
 * has had its reply to an INVOKE; then the connection is closed. */
static void
fake_serve_connection (FakeServer *server, GSocketConnection *connection)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));

  g_socket_set_timeout (g_socket_connection_get_socket (connection), PYRO_TEST_TIMEOUT_S);
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) request = pyro_message_read (in, 0, NULL, NULL, &error);

      if (request == NULL || (request->type != PYRO_MSG_CONNECT && request->type != PYRO_MSG_INVOKE))
        return;
      g_autoptr(GByteArray) reply = fake_reply (server, request);
      if (fuzz_verbose)
        print_input ("fake reply", (const char *) reply->data, reply->len);
      send_all (connection, reply->data, reply->len);
      /* after a damaged frame the proxy may wait for bytes that never
       * come, while we wait for its next request: hang up */
      if (request->type == PYRO_MSG_INVOKE || server->last_damage == 3)
        return;
    }
}

static gpointer
fake_server_thread (gpointer data)
{
  FakeServer *server = data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketConnection) connection = g_socket_listener_accept (server->listener, NULL, server->stop,
                                                                          &error);
      if (connection == NULL)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          return NULL;
        }
      fake_serve_connection (server, connection);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }
}

static FakeServer *
fake_server_start (GArray *models, guint32 seed)
{
  FakeServer *server = g_new0 (FakeServer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  server->listener = g_socket_listener_new ();
  g_socket_listener_add_address (server->listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &bound, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  server->stop = g_cancellable_new ();
  server->rand = g_rand_new_with_seed (seed);
  server->models = models;
  server->thread = g_thread_new ("fake-server", fake_server_thread, server);
  return server;
}

static void
fake_server_stop (FakeServer *server)
{
  g_cancellable_cancel (server->stop);
  g_thread_join (server->thread);
  g_socket_listener_close (server->listener);
  g_object_unref (server->listener);
  g_object_unref (server->stop);
  g_rand_free (server->rand);
  g_free (server);
}

/* One call of a random kind through @proxy; the result must be of the
 * type asked for, or the error must say why.  Returns the error code, -1
 * for a result. */
static int
fuzz_one_call (GRand *rand, PyroProxy *proxy, char **first_messages)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) result = NULL;
  const GVariantType *type = NULL;

  switch (g_rand_int_range (rand, 0, 5))
    {
    case 0:
      type = G_VARIANT_TYPE_INT64;
      result = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2), type, NULL,
                                     &error);
      break;
    case 1:
      type = G_VARIANT_TYPE_STRING;
      result = pyro_proxy_call_sync (proxy, "greet", g_variant_new ("(s)", "w\xc3\xb6rld"), type, NULL, &error);
      break;
    case 2:
      /* the natural mapping, whatever comes */
      result = pyro_proxy_call_sync (proxy, "echo", g_variant_new_parsed ("(<[<int64 1>, <'a'>]>,)"), NULL, NULL,
                                     &error);
      break;
    case 3:
      type = G_VARIANT_TYPE ("a{sv}");
      result = pyro_proxy_call_sync (proxy, "echo", g_variant_new_parsed ("(<@a{sv} {'k': <[true]>}>,)"), type,
                                     NULL, &error);
      break;
    default:
      {
        g_autoptr(PyroBatch) batch = pyro_batch_new (proxy);

        pyro_batch_add (batch, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2));
        pyro_batch_add (batch, "greet", g_variant_new ("(s)", "x"));
        type = G_VARIANT_TYPE ("av");
        result = pyro_batch_run_sync (batch, NULL, &error);
      }
      break;
    }

  if (result == NULL)
    {
      if (error == NULL || error->message == NULL)
        g_error ("a call failed without an error");
      /* an exception's own text may be empty; the proxy's own errors may not */
      if (error->domain != PYRO_ERROR || !pyro_error_is_remote (error))
        g_assert_cmpstr (error->message, !=, "");
      g_assert_true (error->domain == PYRO_ERROR);
      if (error->code < 32 && first_messages[error->code] == NULL)
        first_messages[error->code] = g_strdup (error->message);
      return error->code;
    }
  g_assert_no_error (error);
  if (type != NULL && !g_variant_is_of_type (result, type))
    g_error ("asked for %s, got %s", g_variant_type_peek_string (type), g_variant_get_type_string (result));
  return -1;
}

static void
test_proxy (void)
{
  g_autoptr(GRand) rand = new_rand ("/pyro/fuzz/proxy");
  guint rounds = (guint) ((guint64) DEFAULT_DAEMON_ROUNDS * fuzz_iterations / DEFAULT_ITERATIONS);
  GArray *models = collect_reply_models ();
  FakeServer *server = fake_server_start (models, g_rand_int (rand));
  g_autofree char *uri = g_strdup_printf ("PYRO:thing@127.0.0.1:%u", server->port);
  guint results = 0, errors[32] = { 0 };
  char *first_messages[32] = { NULL };

  g_test_message ("%u rounds", rounds);
  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);
      int code;

      /* a reply that announces more than comes must not hold the test up */
      pyro_proxy_set_timeout (proxy, 2);
      code = fuzz_one_call (rand, proxy, first_messages);
      if (code < 0)
        results++;
      else
        errors[MIN ((guint) code, G_N_ELEMENTS (errors) - 1)]++;
    }
  fake_server_stop (server);

  g_autoptr(GString) summary = g_string_new (NULL);
  for (guint code = 0; code < G_N_ELEMENTS (errors); code++)
    if (errors[code] != 0)
      {
        g_string_append_printf (summary, "\n  code %u: %u, the first: %s", code, errors[code], first_messages[code]);
        g_free (first_messages[code]);
      }
  g_test_message ("%u results; errors by code:%s", results, summary->str);

  for (guint i = 0; i < models->len; i++)
    pyro_message_free (g_array_index (models, ReplyModel, i).reply);
  g_array_unref (models);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  read_settings ();

  g_test_add_func ("/pyro/fuzz/json", test_json);
  g_test_add_func ("/pyro/fuzz/json-roundtrip", test_json_roundtrip);
  g_test_add_func ("/pyro/fuzz/message", test_message);
  g_test_add_func ("/pyro/fuzz/daemon", test_daemon);
  g_test_add_func ("/pyro/fuzz/proxy", test_proxy);

  return g_test_run ();
}
