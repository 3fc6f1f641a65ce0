/* pyro-json.c: the JSON serializer (Pyro4 serializer id 2).
 *
 * Three parts:
 *   - a parser from wire text to json-glib JsonNode trees;
 *   - writers from JsonNode trees and from GVariant values to wire text;
 *   - the conversion from a JsonNode to a GVariant of a declared type.
 *
 * Why our own codec instead of json-glib's JsonParser, JsonGenerator and
 * json_gvariant_*: Python sends NaN and Infinity, which json-glib's parser
 * refuses; json-glib's GVariant conversion silently wraps integers that do
 * not fit (3000000000 as an int32 becomes -1294967296); and the generic
 * path is too slow for the wire (see design.md, section 3).  The writers
 * reproduce Python's json.dumps (ensure_ascii=False) byte for byte, which
 * is what Pyro4 sends, so captures from both sides look alike.
 *
 * The mapping between GVariant, JSON and Python is documented in
 * libpyro/docs/mapping.md.
 */
#include "pyro-json-private.h"

#include <pyro/pyro-error.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting is refused rather than risking the C stack; Python's own
 * json module gives up at about 1000 levels (its recursion limit). */
#define MAX_DEPTH 512

/* How much of a long string or integer an error message quotes. */
#define EXCERPT_CHARS 40

/* ======================================================================
 * Parser
 * ====================================================================== */

/* Returns the first byte in [@p, @end) that cannot stand for itself in a
 * JSON string: a control character, '"' or '\\'.  Sets *@non_ascii if a
 * byte before it is beyond ASCII.
 *
 * Long strings are where the time goes, so this tests 16 bytes at once,
 * with GCC's vector extensions (Clang has them too): a comparison of a
 * vector with a number compares every byte and gives a vector of 0 (false)
 * and 0xff (true).  A block without any byte to stop at is skipped whole;
 * the first block with one is finished byte by byte. */
typedef guint8 Block __attribute__ ((vector_size (16)));

/* TRUE if any byte of @v is not 0. */
static inline gboolean
block_any (Block v)
{
  guint64 halves[2];

  memcpy (halves, &v, sizeof halves);
  return (halves[0] | halves[1]) != 0;
}

static inline const char *
scan_plain (const char *p, const char *end, gboolean *non_ascii)
{
  Block seen = { 0 };
  guint8 seen_byte = 0;

  while (end - p >= (gssize) sizeof (Block))
    {
      Block v;

      memcpy (&v, p, sizeof v);
      if (block_any ((Block) ((v < 0x20) | (v == '"') | (v == '\\'))))
        break;
      seen |= v;
      p += sizeof v;
    }
  while (p < end && (guchar) *p >= 0x20 && *p != '"' && *p != '\\')
    seen_byte |= (guchar) *p++;

  *non_ascii = block_any (seen & 0x80) || (seen_byte & 0x80) != 0;
  return p;
}

const char *
pyro_json_scan_plain (const char *p, const char *end, gboolean *non_ascii)
{
  return scan_plain (p, end, non_ascii);
}

const char *
pyro_json_scan_integer (const char *p, const char *end, guint64 *magnitude, gboolean *overflow)
{
  *magnitude = 0;
  *overflow = FALSE;
  if (p < end && *p == '0')
    return p + 1;
  for (; p < end && g_ascii_isdigit (*p); p++)
    {
      guint digit = *p - '0';

      if (*magnitude > (G_MAXUINT64 - digit) / 10)
        *overflow = TRUE;
      else if (!*overflow)
        *magnitude = *magnitude * 10 + digit;
    }
  return p;
}

typedef struct
{
  const char *start;    /* the whole text, for error offsets */
  const char *p;        /* next byte to read */
  const char *end;      /* one past the last byte */
  guint       depth;    /* open arrays and objects */
  GString    *scratch;  /* reused buffer for decoding string literals */
  GError    **error;
} Parser;

static JsonNode *parse_value (Parser *P);

/* Describes the input at @p for an error message: a whole word for
 * letters (so "nan" or "True" reads as what the sender wrote), one
 * quoted character for other printable text, a byte value otherwise. */
static char *
describe_input (const char *p, const char *end)
{
  guchar c;

  if (p >= end)
    return g_strdup ("end of input");

  c = (guchar) *p;
  if (g_ascii_isalpha (c))
    {
      const char *q = p;

      while (q < end && q - p < EXCERPT_CHARS && (g_ascii_isalnum (*q) || *q == '_'))
        q++;
      return g_strdup_printf ("'%.*s'", (int) (q - p), p);
    }
  if (c == '\'')
    return g_strdup ("\"'\"");
  if (c >= 0x20 && c < 0x7f)
    return g_strdup_printf ("'%c'", c);
  if (c >= 0x80)
    {
      gunichar u = g_utf8_get_char_validated (p, end - p);

      if (u != (gunichar) -1 && u != (gunichar) -2)
        return g_strdup_printf ("'%.*s' (U+%04X)", (int) g_utf8_skip[c], p, u);
    }
  return g_strdup_printf ("byte 0x%02x", c);
}

static void
fail_with (Parser *P, const char *at, const char *expected, const char *got)
{
  g_set_error (P->error, PYRO_ERROR, PYRO_ERROR_SERIALIZE,
               "invalid JSON at offset %" G_GSIZE_FORMAT ": expected %s, got %s",
               (gsize) (at - P->start), expected, got);
}

static void
fail_expected (Parser *P, const char *at, const char *expected)
{
  g_autofree char *got = describe_input (at, P->end);

  fail_with (P, at, expected, got);
}

static inline void
skip_whitespace (Parser *P)
{
  while (P->p < P->end && (*P->p == ' ' || *P->p == '\n' || *P->p == '\r' || *P->p == '\t'))
    P->p++;
}

/* Consumes @word (a literal such as "true" or "NaN") at P->p. */
static gboolean
match_word (Parser *P, const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (P->end - P->p) >= len && memcmp (P->p, word, len) == 0)
    {
      P->p += len;
      return TRUE;
    }
  fail_expected (P, P->p, "a JSON value");
  return FALSE;
}

static JsonNode *
new_double_node (double value)
{
  return json_node_init_double (json_node_alloc (), value);
}

/* Reads the digits of a number's fraction or exponent. */
static gboolean
skip_digits (Parser *P, const char **q, const char *expected)
{
  if (*q >= P->end || !g_ascii_isdigit (**q))
    {
      fail_expected (P, *q, expected);
      return FALSE;
    }
  while (*q < P->end && g_ascii_isdigit (**q))
    (*q)++;
  return TRUE;
}

/* Converts the float literal @text (@len bytes, already checked against
 * the JSON grammar).  Like Python, 1e400 becomes Infinity. */
static JsonNode *
float_node_from_text (const char *text, gsize len)
{
  char buf[64];
  g_autofree char *heap = NULL;
  const char *literal = buf;

  /* g_ascii_strtod needs a terminated string; the input is not. */
  if (len < sizeof buf)
    {
      memcpy (buf, text, len);
      buf[len] = '\0';
    }
  else
    literal = heap = g_strndup (text, len);

  return new_double_node (g_ascii_strtod (literal, NULL));
}

/* Parses a number, or -Infinity.  Integers are checked for overflow digit
 * by digit, because a wrapped integer is silent data corruption. */
static JsonNode *
parse_number (Parser *P)
{
  const char *begin = P->p;
  const char *q = P->p;
  gboolean negative = FALSE;
  gboolean is_float = FALSE;
  gboolean overflow;
  guint64 magnitude;

  if (*q == '-')
    {
      negative = TRUE;
      q++;
      if (q < P->end && *q == 'I')
        {
          P->p = q;
          return match_word (P, "Infinity") ? new_double_node (-INFINITY) : NULL;
        }
    }

  const char *digits = q;
  q = pyro_json_scan_integer (q, P->end, &magnitude, &overflow);
  if (q == digits)
    {
      fail_expected (P, q, "a digit");
      return NULL;
    }

  if (q < P->end && *q == '.')
    {
      is_float = TRUE;
      q++;
      if (!skip_digits (P, &q, "a digit after the decimal point"))
        return NULL;
    }
  if (q < P->end && (*q == 'e' || *q == 'E'))
    {
      is_float = TRUE;
      q++;
      if (q < P->end && (*q == '+' || *q == '-'))
        q++;
      if (!skip_digits (P, &q, "a digit in the exponent"))
        return NULL;
    }
  P->p = q;

  if (is_float)
    return float_node_from_text (begin, q - begin);

  if (overflow || magnitude > (negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64))
    {
      int len = (int) (q - begin);

      g_set_error (P->error, PYRO_ERROR, PYRO_ERROR_SERIALIZE,
                   "integer %.*s%s does not fit in a signed 64-bit integer (JSON offset %" G_GSIZE_FORMAT ")",
                   MIN (len, EXCERPT_CHARS), begin, len > EXCERPT_CHARS ? "..." : "",
                   (gsize) (begin - P->start));
      return NULL;
    }

  /* Written so that -2^63 does not overflow on the way. */
  return json_node_init_int (json_node_alloc (),
                             negative ? -(gint64) (magnitude - 1) - 1 : (gint64) magnitude);
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Reads the four hex digits of a \u escape at @at. */
static gboolean
parse_hex4 (Parser *P, const char *at, gunichar *out)
{
  gunichar u = 0;

  for (int i = 0; i < 4; i++)
    {
      int h = at + i < P->end ? hex_value (at[i]) : -1;

      if (h < 0)
        {
          fail_expected (P, at + i, "4 hex digits after \\u");
          return FALSE;
        }
      u = (u << 4) | (gunichar) h;
    }
  *out = u;
  return TRUE;
}

/* Decodes a \u escape starting at the backslash *@q; a UTF-16 surrogate
 * pair (how Python writes characters beyond U+FFFF when it escapes them)
 * becomes one character. */
static gboolean
parse_unicode_escape (Parser *P, const char **q)
{
  const char *backslash = *q;
  const char *after;
  gunichar u;

  if (!parse_hex4 (P, backslash + 2, &u))
    return FALSE;
  after = backslash + 6;

  if (u >= 0xDC00 && u <= 0xDFFF)
    {
      fail_with (P, backslash, "a character", "a lone low surrogate (\\u escape DC00-DFFF)");
      return FALSE;
    }
  if (u >= 0xD800 && u <= 0xDBFF)
    {
      gunichar low;

      if (P->end - after < 2 || after[0] != '\\' || after[1] != 'u')
        {
          fail_expected (P, after, "a low surrogate \\uDC00-\\uDFFF after a high one");
          return FALSE;
        }
      if (!parse_hex4 (P, after + 2, &low))
        return FALSE;
      if (low < 0xDC00 || low > 0xDFFF)
        {
          fail_expected (P, after, "a low surrogate \\uDC00-\\uDFFF after a high one");
          return FALSE;
        }
      u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
      after += 6;
    }
  /* C strings (and GVariant strings) end at NUL: keeping it would
   * silently cut the string short. */
  if (u == 0)
    {
      fail_with (P, backslash, "a string without NUL characters", "\\u0000");
      return FALSE;
    }

  g_string_append_unichar (P->scratch, u);
  *q = after;
  return TRUE;
}

/* Decodes the escape sequence at the backslash *@q into P->scratch. */
static gboolean
parse_escape (Parser *P, const char **q)
{
  const char *e = *q + 1;
  char c;

  if (e >= P->end)
    {
      fail_expected (P, e, "an escape character after '\\'");
      return FALSE;
    }
  switch (*e)
    {
    case '"':  c = '"';  break;
    case '\\': c = '\\'; break;
    case '/':  c = '/';  break;
    case 'b':  c = '\b'; break;
    case 'f':  c = '\f'; break;
    case 'n':  c = '\n'; break;
    case 'r':  c = '\r'; break;
    case 't':  c = '\t'; break;
    case 'u':  return parse_unicode_escape (P, q);
    default:
      fail_expected (P, e, "one of \" \\ / b f n r t u after '\\'");
      return FALSE;
    }
  g_string_append_c (P->scratch, c);
  *q = e + 1;
  return TRUE;
}

/* Decodes the string literal at P->p (on its opening quote) into
 * P->scratch.  Runs of ordinary characters are copied at once; only
 * runs that contain non-ASCII bytes are checked for valid UTF-8. */
static gboolean
parse_string (Parser *P)
{
  const char *q = P->p + 1;

  g_string_truncate (P->scratch, 0);
  for (;;)
    {
      const char *run = q;
      gboolean non_ascii;

      q = scan_plain (q, P->end, &non_ascii);
      if (q > run)
        {
          const char *bad;

          if (non_ascii && !g_utf8_validate_len (run, q - run, &bad))
            {
              fail_expected (P, bad, "UTF-8 text");
              return FALSE;
            }
          g_string_append_len (P->scratch, run, q - run);
        }

      if (q >= P->end)
        {
          fail_expected (P, q, "'\"' to end the string");
          return FALSE;
        }
      if (*q == '"')
        {
          P->p = q + 1;
          return TRUE;
        }
      if (*q == '\\')
        {
          if (!parse_escape (P, &q))
            return FALSE;
          continue;
        }
      fail_expected (P, q, "a string character (control characters must be escaped)");
      return FALSE;
    }
}

static gboolean
enter_container (Parser *P)
{
  if (++P->depth > MAX_DEPTH)
    {
      fail_with (P, P->p, "at most " G_STRINGIFY (MAX_DEPTH) " nested lists and dicts", "more");
      return FALSE;
    }
  P->p++;  /* the '[' or '{' */
  skip_whitespace (P);
  return TRUE;
}

/* After an element: TRUE and *@done set at the closing bracket, TRUE at a
 * comma, FALSE (error set) on anything else. */
static gboolean
next_element (Parser *P, char close, const char *expected, gboolean *done)
{
  skip_whitespace (P);
  if (P->p < P->end && *P->p == ',')
    {
      P->p++;
      *done = FALSE;
      return TRUE;
    }
  if (P->p < P->end && *P->p == close)
    {
      P->p++;
      *done = TRUE;
      return TRUE;
    }
  fail_expected (P, P->p, expected);
  return FALSE;
}

static JsonNode *
parse_array (Parser *P)
{
  g_autoptr(JsonArray) array = json_array_new ();
  JsonNode *node;
  gboolean done = FALSE;

  if (!enter_container (P))
    return NULL;

  if (P->p < P->end && *P->p == ']')
    {
      P->p++;
      done = TRUE;
    }
  while (!done)
    {
      JsonNode *element = parse_value (P);

      if (element == NULL)
        return NULL;
      json_array_add_element (array, element);
      if (!next_element (P, ']', "',' or ']'", &done))
        return NULL;
    }

  P->depth--;
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, g_steal_pointer (&array));
  return node;
}

static JsonNode *
parse_object (Parser *P)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonNode *node;
  gboolean done = FALSE;

  if (!enter_container (P))
    return NULL;

  if (P->p < P->end && *P->p == '}')
    {
      P->p++;
      done = TRUE;
    }
  while (!done)
    {
      g_autofree char *key = NULL;
      JsonNode *member;

      skip_whitespace (P);
      if (P->p >= P->end || *P->p != '"')
        {
          fail_expected (P, P->p, "a string key in double quotes");
          return NULL;
        }
      if (!parse_string (P))
        return NULL;
      /* Parsing the value reuses the scratch buffer. */
      key = g_strndup (P->scratch->str, P->scratch->len);

      skip_whitespace (P);
      if (P->p >= P->end || *P->p != ':')
        {
          fail_expected (P, P->p, "':' after a key");
          return NULL;
        }
      P->p++;

      member = parse_value (P);
      if (member == NULL)
        return NULL;
      /* A repeated key keeps its first position and its last value, as
       * in Python. */
      json_object_set_member (object, key, member);
      if (!next_element (P, '}', "',' or '}'", &done))
        return NULL;
    }

  P->depth--;
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, g_steal_pointer (&object));
  return node;
}

static JsonNode *
parse_value (Parser *P)
{
  skip_whitespace (P);
  if (P->p >= P->end)
    {
      fail_expected (P, P->p, "a JSON value");
      return NULL;
    }

  switch (*P->p)
    {
    case '{':
      return parse_object (P);
    case '[':
      return parse_array (P);
    case '"':
      return parse_string (P) ? json_node_init_string (json_node_alloc (), P->scratch->str) : NULL;
    case 't':
      return match_word (P, "true") ? json_node_init_boolean (json_node_alloc (), TRUE) : NULL;
    case 'f':
      return match_word (P, "false") ? json_node_init_boolean (json_node_alloc (), FALSE) : NULL;
    case 'n':
      return match_word (P, "null") ? json_node_init_null (json_node_alloc ()) : NULL;
    case 'N':
      return match_word (P, "NaN") ? new_double_node (NAN) : NULL;
    case 'I':
      return match_word (P, "Infinity") ? new_double_node (INFINITY) : NULL;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      return parse_number (P);
    default:
      fail_expected (P, P->p, "a JSON value");
      return NULL;
    }
}

JsonNode *
pyro_json_parse (const char *text, gssize len, GError **error)
{
  Parser P;
  JsonNode *root;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len < 0)
    len = strlen (text);
  P.start = P.p = text;
  P.end = text + len;
  P.depth = 0;
  P.scratch = g_string_sized_new (64);
  P.error = error;

  root = parse_value (&P);
  if (root != NULL)
    {
      skip_whitespace (&P);
      if (P.p != P.end)
        {
          fail_expected (&P, P.p, "end of input");
          g_clear_pointer (&root, json_node_unref);
        }
    }
  g_string_free (P.scratch, TRUE);
  return root;
}

/* ======================================================================
 * Writers
 * ====================================================================== */

static void
append_uint64 (GString *out, guint64 value)
{
  char buf[24];
  char *p = buf + sizeof buf;

  do
    {
      *--p = '0' + value % 10;
      value /= 10;
    }
  while (value != 0);
  g_string_append_len (out, p, buf + sizeof buf - p);
}

static void
append_int64 (GString *out, gint64 value)
{
  if (value < 0)
    {
      g_string_append_c (out, '-');
      /* -(value + 1) + 1 stays in range even for G_MININT64. */
      append_uint64 (out, (guint64) -(value + 1) + 1);
    }
  else
    append_uint64 (out, (guint64) value);
}

/* Splits "d.dddde[+-]xx" (printf's %e) into its digits and exponent. */
static int
split_exponential (const char *text, char digits[20])
{
  const char *p;
  gsize n = 0;

  for (p = text; *p != 'e'; p++)
    if (g_ascii_isdigit (*p) && n < 19)
      digits[n++] = *p;
  digits[n] = '\0';
  return atoi (p + 1);
}

/* Reads back @digits (as d.ddd) times 10^@exponent. */
static double
join_exponential (const char *digits, int exponent)
{
  char text[40];

  g_snprintf (text, sizeof text, "%c.%se%d", digits[0], digits + 1, exponent);
  return g_ascii_strtod (text, NULL);
}

/* Moves the 16 @digits one unit in the last place up (@step 1) or down
 * (@step -1), carrying into @exponent. */
static void
step_digits (char digits[20], int *exponent, int step)
{
  int i = 15;

  for (; i >= 0; i--)
    {
      char wrap = step > 0 ? '9' : '0';

      if (digits[i] != wrap)
        {
          digits[i] += step;
          break;
        }
      digits[i] = step > 0 ? '0' : '9';
    }
  if (step > 0 && i < 0)            /* 9999999999999999 -> 1000000000000000 */
    {
      digits[0] = '1';
      (*exponent)++;
    }
  else if (step < 0 && digits[0] == '0')  /* 1000000000000000 -> 9999999999999999 */
    {
      digits[0] = '9';
      (*exponent)--;
    }
}

/* Finds the shortest decimal digits that read back as @value (finite,
 * not negative), as Python's repr does.  Fills @digits (no trailing
 * zeros, at least one digit) and returns the decimal exponent of the
 * first digit. */
static int
shortest_digits (double value, char digits[20])
{
  static const char * const formats[] = {
    "%.0e", "%.1e", "%.2e", "%.3e", "%.4e", "%.5e", "%.6e", "%.7e", "%.8e",
    "%.9e", "%.10e", "%.11e", "%.12e", "%.13e", "%.14e", "%.15e", "%.16e",
  };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  gsize i, n;
  int exponent;

  /* For normal doubles every decimal of up to 15 significant digits reads
   * back unchanged (DBL_DIG), so if any string of 15 digits or fewer
   * round-trips it is the correctly rounded 15 digits minus trailing
   * zeros.  Subnormals have less precision: search from 1 digit up. */
  i = (value != 0.0 && value < G_MINDOUBLE) ? 0 : 14;
  for (; i < 15; i++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[i], value);
      if (g_ascii_strtod (buf, NULL) == value)
        goto found;
    }

  g_ascii_formatd (buf, sizeof buf, formats[15], value);
  if (g_ascii_strtod (buf, NULL) == value)
    goto found;

  /* Just above a power of two the next smaller double is twice as close
   * as the next larger one, so the correctly rounded 16 digits can miss
   * while the 16-digit neighbour on the other side of @value still reads
   * back as @value.  Python prefers it to 17 digits, and so do we. */
  exponent = split_exponential (buf, digits);
  step_digits (digits, &exponent, join_exponential (digits, exponent) < value ? 1 : -1);
  if (join_exponential (digits, exponent) == value)
    goto strip;

  g_ascii_formatd (buf, sizeof buf, formats[16], value);

found:
  exponent = split_exponential (buf, digits);
strip:
  n = strlen (digits);
  while (n > 1 && digits[n - 1] == '0')
    n--;
  digits[n] = '\0';
  return exponent;
}

/* Writes @value as Python's float repr does: the shortest round-trip
 * digits, in positional notation when the decimal exponent is in
 * [-4, 15] (always with a '.'), otherwise as d.ddde+XX. */
static void
write_double (GString *out, double value)
{
  char digits[20];
  int exponent, n;

  if (isnan (value))
    {
      g_string_append (out, "NaN");
      return;
    }
  if (isinf (value))
    {
      g_string_append (out, value > 0 ? "Infinity" : "-Infinity");
      return;
    }

  if (signbit (value))
    {
      g_string_append_c (out, '-');
      value = -value;
    }
  /* Whole numbers, common in practice (3.0, 100.0), need no search for
   * their digits: below 10^15 they are exact and print as themselves. */
  if (value < 1e15 && value == (double) (gint64) value)
    {
      append_int64 (out, (gint64) value);
      g_string_append (out, ".0");
      return;
    }

  exponent = shortest_digits (value, digits);
  n = strlen (digits);

  if (exponent < -4 || exponent > 15)
    {
      g_string_append_c (out, digits[0]);
      if (n > 1)
        {
          g_string_append_c (out, '.');
          g_string_append_len (out, digits + 1, n - 1);
        }
      g_string_append_printf (out, "e%c%02d", exponent < 0 ? '-' : '+', ABS (exponent));
    }
  else if (exponent < 0)
    {
      g_string_append (out, "0.");
      for (int i = -1; i > exponent; i--)
        g_string_append_c (out, '0');
      g_string_append_len (out, digits, n);
    }
  else if (exponent + 1 < n)
    {
      g_string_append_len (out, digits, exponent + 1);
      g_string_append_c (out, '.');
      g_string_append_len (out, digits + exponent + 1, n - exponent - 1);
    }
  else
    {
      g_string_append_len (out, digits, n);
      for (int i = n; i <= exponent; i++)
        g_string_append_c (out, '0');
      g_string_append (out, ".0");
    }
}

void
pyro_json_write_string (GString *out, const char *text)
{
  static const char hex[] = "0123456789abcdef";
  const char *p = text;
  const char *end;
  gboolean non_ascii;

  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL);

  end = text + strlen (text);
  g_string_append_c (out, '"');
  for (;;)
    {
      const char *run = p;

      p = scan_plain (p, end, &non_ascii);
      if (p > run)
        g_string_append_len (out, run, p - run);
      if (p == end)
        break;

      switch (*p)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          {
            guchar c = (guchar) *p;
            char escape[] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

            g_string_append_len (out, escape, sizeof escape);
          }
        }
      p++;
    }
  g_string_append_c (out, '"');
}

void
pyro_json_write_node (GString *out, JsonNode *node)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (node != NULL);

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append (out, ", ");
            pyro_json_write_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
      }
      break;

    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append (out, ", ");
            first = FALSE;
            pyro_json_write_string (out, name);
            g_string_append (out, ": ");
            pyro_json_write_node (out, member);
          }
        g_string_append_c (out, '}');
      }
      break;

    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          append_int64 (out, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          write_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          pyro_json_write_string (out, json_node_get_string (node));
          break;
        default:
          g_assert_not_reached ();
        }
      break;
    }
}

/* JSON has no bytes and no file descriptors, and Pyro4 refuses them too.
 * The whole type is checked up front, so that an empty "ay" or a Nothing
 * "may" is refused just like a full one. */
static gboolean
check_type_for_json (const GVariantType *type, const char *verb, GError **error)
{
  const char *type_string = g_variant_type_peek_string (type);
  gsize len = g_variant_type_get_string_length (type);
  const char *what;

  /* 'a' is always an array prefix and 'y' a whole type, so "ay" in a
   * type string always means an array of bytes. */
  if (g_strstr_len (type_string, len, "ay") != NULL)
    what = "'ay' (bytes)";
  else if (memchr (type_string, 'h', len) != NULL)
    what = "'h' (file descriptor handle)";
  else
    return TRUE;

  if ((len == 2 && type_string[0] == 'a') || (len == 1 && type_string[0] == 'h'))
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE,
                 "cannot %s type %s with JSON", verb, what);
  else
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE,
                 "cannot %s type '%.*s' with JSON: it contains %s",
                 verb, (int) len, type_string, what);
  return FALSE;
}

static gboolean write_variant (GString *out, GVariant *value, GError **error);

/* Python's json.dumps turns dict keys into strings: 1 -> "1",
 * True -> "true", 1.5 -> "1.5". */
static void
write_dict_key (GString *out, GVariant *key)
{
  switch (g_variant_classify (key))
    {
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      pyro_json_write_string (out, g_variant_get_string (key, NULL));
      return;
    default:
      g_string_append_c (out, '"');
      write_variant (out, key, NULL);  /* a basic type: cannot fail */
      g_string_append_c (out, '"');
    }
}

static gboolean
write_dict (GString *out, GVariant *value, GError **error)
{
  gsize n = g_variant_n_children (value);

  g_string_append_c (out, '{');
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (value, i);
      g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
      g_autoptr(GVariant) val = g_variant_get_child_value (entry, 1);

      if (i > 0)
        g_string_append (out, ", ");
      write_dict_key (out, key);
      g_string_append (out, ": ");
      if (!write_variant (out, val, error))
        return FALSE;
    }
  g_string_append_c (out, '}');
  return TRUE;
}

/* Arrays of fixed-size numbers are read in place, without a GVariant per
 * element.  Returns FALSE if @value is not such an array. */
static gboolean
write_fixed_array (GString *out, GVariant *value)
{
  char element = g_variant_get_type_string (value)[1];
  gsize n = 0;
  const void *data;

  switch (element)
    {
    case 'b': data = g_variant_get_fixed_array (value, &n, sizeof (guchar)); break;
    case 'n': case 'q': data = g_variant_get_fixed_array (value, &n, sizeof (gint16)); break;
    case 'i': case 'u': data = g_variant_get_fixed_array (value, &n, sizeof (gint32)); break;
    case 'x': case 't': case 'd': data = g_variant_get_fixed_array (value, &n, sizeof (gint64)); break;
    default: return FALSE;
    }

  g_string_append_c (out, '[');
  for (gsize i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      switch (element)
        {
        case 'b': g_string_append (out, ((const guchar *) data)[i] ? "true" : "false"); break;
        case 'n': append_int64 (out, ((const gint16 *) data)[i]); break;
        case 'q': append_uint64 (out, ((const guint16 *) data)[i]); break;
        case 'i': append_int64 (out, ((const gint32 *) data)[i]); break;
        case 'u': append_uint64 (out, ((const guint32 *) data)[i]); break;
        case 'x': append_int64 (out, ((const gint64 *) data)[i]); break;
        case 't': append_uint64 (out, ((const guint64 *) data)[i]); break;
        case 'd': write_double (out, ((const double *) data)[i]); break;
        default: g_assert_not_reached ();
        }
    }
  g_string_append_c (out, ']');
  return TRUE;
}

/* The size of a number or bool of type @t ('b', 'y', 'n', ... 'd'). */
static gsize
fixed_member_size (char t)
{
  switch (t)
    {
    case 'b': case 'y': return 1;
    case 'n': case 'q': return 2;
    case 'i': case 'u': return 4;
    default:            return 8;
    }
}

/* Tuples of fixed-size numbers and bools, such as the "(xx)" of add(1, 2),
 * are read from their serialized bytes: one look at the data instead of
 * a child GVariant per member.  Each member sits at the next offset
 * aligned to its size (GVariant's layout for fixed-size tuples).
 * Returns FALSE if @value is not such a tuple. */
static gboolean
write_fixed_tuple (GString *out, GVariant *value)
{
  const char *type = g_variant_get_type_string (value);
  gsize offset = 0;

  /* Only numbers and bools, and data of exactly their size: a value made
   * from data of another size (GLib then reads its members as zeros, and
   * may have no data at all) is left to the general path. */
  gsize align = 1;
  for (const char *t = type + 1; *t != ')'; t++)
    {
      if (strchr ("bynqiuxtd", *t) == NULL)
        return FALSE;
      gsize member_size = fixed_member_size (*t);
      offset = ((offset + member_size - 1) & ~(member_size - 1)) + member_size;
      align = MAX (align, member_size);
    }
  const guchar *data = g_variant_get_data (value);
  if (offset == 0 || data == NULL || g_variant_get_size (value) != ((offset + align - 1) & ~(align - 1)))
    return FALSE;

  offset = 0;
  g_string_append_c (out, '[');
  for (const char *t = type + 1; *t != ')'; t++)
    {
      gsize member_size = fixed_member_size (*t);
      union { guchar b; guint8 y; gint16 n; guint16 q; gint32 i; guint32 u; gint64 x; guint64 t; double d; } m;

      offset = (offset + member_size - 1) & ~(member_size - 1);
      memcpy (&m, data + offset, member_size);
      offset += member_size;
      if (t > type + 1)
        g_string_append (out, ", ");
      switch (*t)
        {
        case 'b': g_string_append (out, m.b ? "true" : "false"); break;
        case 'y': append_uint64 (out, m.y); break;
        case 'n': append_int64 (out, m.n); break;
        case 'q': append_uint64 (out, m.q); break;
        case 'i': append_int64 (out, m.i); break;
        case 'u': append_uint64 (out, m.u); break;
        case 'x': append_int64 (out, m.x); break;
        case 't': append_uint64 (out, m.t); break;
        case 'd': write_double (out, m.d); break;
        default: g_assert_not_reached ();
        }
    }
  g_string_append_c (out, ']');
  return TRUE;
}

/* Arrays, tuples and a lone dict entry all become JSON lists. */
static gboolean
write_list (GString *out, GVariant *value, GError **error)
{
  gsize n = g_variant_n_children (value);

  g_string_append_c (out, '[');
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

      if (i > 0)
        g_string_append (out, ", ");
      if (!write_variant (out, child, error))
        return FALSE;
    }
  g_string_append_c (out, ']');
  return TRUE;
}

/* @value's type has passed check_type_for_json(); only a "v" can bring
 * in a new type, and it is checked where it is met. */
static gboolean
write_variant (GString *out, GVariant *value, GError **error)
{
  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BOOLEAN:
      g_string_append (out, g_variant_get_boolean (value) ? "true" : "false");
      return TRUE;
    case G_VARIANT_CLASS_BYTE:
      append_uint64 (out, g_variant_get_byte (value));
      return TRUE;
    case G_VARIANT_CLASS_INT16:
      append_int64 (out, g_variant_get_int16 (value));
      return TRUE;
    case G_VARIANT_CLASS_UINT16:
      append_uint64 (out, g_variant_get_uint16 (value));
      return TRUE;
    case G_VARIANT_CLASS_INT32:
      append_int64 (out, g_variant_get_int32 (value));
      return TRUE;
    case G_VARIANT_CLASS_UINT32:
      append_uint64 (out, g_variant_get_uint32 (value));
      return TRUE;
    case G_VARIANT_CLASS_INT64:
      append_int64 (out, g_variant_get_int64 (value));
      return TRUE;
    case G_VARIANT_CLASS_UINT64:
      append_uint64 (out, g_variant_get_uint64 (value));
      return TRUE;
    case G_VARIANT_CLASS_DOUBLE:
      write_double (out, g_variant_get_double (value));
      return TRUE;
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      pyro_json_write_string (out, g_variant_get_string (value, NULL));
      return TRUE;

    case G_VARIANT_CLASS_VARIANT:
      {
        g_autoptr(GVariant) inner = g_variant_get_variant (value);

        return check_type_for_json (g_variant_get_type (inner), "serialize", error) &&
               write_variant (out, inner, error);
      }

    case G_VARIANT_CLASS_MAYBE:
      {
        g_autoptr(GVariant) inner = g_variant_get_maybe (value);

        if (inner == NULL)
          {
            g_string_append (out, "null");
            return TRUE;
          }
        return write_variant (out, inner, error);
      }

    case G_VARIANT_CLASS_ARRAY:
      if (g_variant_type_is_dict_entry (g_variant_type_element (g_variant_get_type (value))))
        return write_dict (out, value, error);
      if (write_fixed_array (out, value))
        return TRUE;
      return write_list (out, value, error);

    case G_VARIANT_CLASS_TUPLE:
      if (write_fixed_tuple (out, value))
        return TRUE;
      return write_list (out, value, error);
    case G_VARIANT_CLASS_DICT_ENTRY:
      return write_list (out, value, error);

    case G_VARIANT_CLASS_HANDLE:
      /* Refused by check_type_for_json(). */
      break;
    }
  g_assert_not_reached ();
  return FALSE;
}

/* Writes @value, whose type is checked first, as a whole (@members FALSE)
 * or a tuple member by member (see pyro_json_write_params()); on failure
 * @out is left as it was. */
static gboolean
write_checked (GString *out, GVariant *value, gboolean members, GError **error)
{
  gsize old_len = out->len;

  if (check_type_for_json (g_variant_get_type (value), "serialize", error) &&
      (members ? write_list (out, value, error) : write_variant (out, value, error)))
    return TRUE;

  /* Leave no half-written value behind. */
  g_string_truncate (out, old_len);
  return FALSE;
}

gboolean
pyro_json_write_variant (GString *out, GVariant *value, GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return write_checked (out, value, FALSE, error);
}

gboolean
pyro_json_write_params (GString *out, GVariant *params, GError **error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Anything but a tuple (tests send garbage on purpose) is written whole. */
  return write_checked (out, params, g_variant_type_is_tuple (g_variant_get_type (params)), error);
}

/* ======================================================================
 * JsonNode -> GVariant
 *
 * The internal functions return floating references, so that building a
 * container consumes its children; on failure they return NULL with
 * @error set, and the callers prefix where it happened ("item 2: ...").
 * ====================================================================== */

const char *
pyro_json_type_name (JsonNode *node)
{
  g_return_val_if_fail (node != NULL, NULL);

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return "dict";
    case JSON_NODE_ARRAY:
      return "list";
    case JSON_NODE_NULL:
      return "None";
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:   return "int";
        case G_TYPE_DOUBLE:  return "float";
        case G_TYPE_STRING:  return "str";
        case G_TYPE_BOOLEAN: return "bool";
        default:             break;
        }
      break;
    }
  return "unknown";
}

/* "str 'apple'", "int 3000000000", "a list of 3", "None": what a
 * conversion error says it got, in Python's terms. */
static char *
describe_node (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup_printf ("a dict of %u", json_object_get_size (json_node_get_object (node)));
    case JSON_NODE_ARRAY:
      return g_strdup_printf ("a list of %u", json_array_get_length (json_node_get_array (node)));
    case JSON_NODE_NULL:
      return g_strdup ("None");
    case JSON_NODE_VALUE:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return g_strdup_printf ("int %" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "bool True" : "bool False");
    case G_TYPE_DOUBLE:
      {
        GString *text = g_string_new ("float ");

        write_double (text, json_node_get_double (node));
        return g_string_free (text, FALSE);
      }
    case G_TYPE_STRING:
      {
        const char *s = json_node_get_string (node);
        const char *cut = s;

        for (int i = 0; i < EXCERPT_CHARS && *cut != '\0'; i++)
          cut = g_utf8_next_char (cut);
        return g_strdup_printf ("str '%.*s%s'", (int) (cut - s), s, *cut != '\0' ? "..." : "");
      }
    default:
      return g_strdup (pyro_json_type_name (node));
    }
}

/* What a basic type is called in "expected <name> (<code>)". */
static const char *
basic_type_name (char code)
{
  switch (code)
    {
    case 'b': return "bool";
    case 'y': return "byte";
    case 'n': return "int16";
    case 'q': return "uint16";
    case 'i': return "int32";
    case 'u': return "uint32";
    case 'x': return "int64";
    case 't': return "uint64";
    case 'd': return "double";
    case 's': return "string";
    case 'o': return "object path";
    case 'g': return "signature";
    default:  g_assert_not_reached ();
    }
  return NULL;
}

static GVariant *
fail_basic (JsonNode *node, char code, const char *why, GError **error)
{
  g_autofree char *got = describe_node (node);

  g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "expected %s (%c), got %s%s",
               basic_type_name (code), code, got, why);
  return NULL;
}

/* One fixed-size number or bool, in GVariant's own layout. */
typedef union
{
  guchar  b;
  guint8  y;
  gint16  n;
  guint16 q;
  gint32  i;
  guint32 u;
  gint64  x;
  guint64 t;
  double  d;
} Scalar;

/* Converts @node to the fixed-size basic type @code, range-checked. */
static gboolean
convert_scalar (JsonNode *node, char code, Scalar *out, GError **error)
{
  GType value_type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  gint64 v;

  if (code == 'b')
    {
      if (value_type != G_TYPE_BOOLEAN)
        goto wrong_type;
      out->b = json_node_get_boolean (node) ? 1 : 0;
      return TRUE;
    }
  if (code == 'd')
    {
      /* A Python int where a float is expected is fine, as in Python. */
      if (value_type == G_TYPE_DOUBLE)
        out->d = json_node_get_double (node);
      else if (value_type == G_TYPE_INT64)
        out->d = (double) json_node_get_int (node);
      else
        goto wrong_type;
      return TRUE;
    }

  /* The integer types take only an int: 3.0 is a Python float, which
   * Python code expecting an int would not take either. */
  if (value_type != G_TYPE_INT64)
    goto wrong_type;
  v = json_node_get_int (node);

  switch (code)
    {
    case 'y': if (v < 0 || v > G_MAXUINT8)              goto out_of_range; out->y = v; break;
    case 'n': if (v < G_MININT16 || v > G_MAXINT16)     goto out_of_range; out->n = v; break;
    case 'q': if (v < 0 || v > G_MAXUINT16)             goto out_of_range; out->q = v; break;
    case 'i': if (v < G_MININT32 || v > G_MAXINT32)     goto out_of_range; out->i = v; break;
    case 'u': if (v < 0 || v > G_MAXUINT32)             goto out_of_range; out->u = v; break;
    case 'x':                                                              out->x = v; break;
    case 't': if (v < 0)                                goto out_of_range; out->t = v; break;
    default:  g_assert_not_reached ();
    }
  return TRUE;

wrong_type:
  fail_basic (node, code, "", error);
  return FALSE;

out_of_range:
  fail_basic (node, code, " (out of range)", error);
  return FALSE;
}

static GVariant *
scalar_to_variant (char code, const Scalar *s)
{
  switch (code)
    {
    case 'b': return g_variant_new_boolean (s->b);
    case 'y': return g_variant_new_byte (s->y);
    case 'n': return g_variant_new_int16 (s->n);
    case 'q': return g_variant_new_uint16 (s->q);
    case 'i': return g_variant_new_int32 (s->i);
    case 'u': return g_variant_new_uint32 (s->u);
    case 'x': return g_variant_new_int64 (s->x);
    case 't': return g_variant_new_uint64 (s->t);
    case 'd': return g_variant_new_double (s->d);
    default:  g_assert_not_reached ();
    }
  return NULL;
}

/* The size of one element of a fixed array of @code, or 0 if @code is not
 * a fixed-size basic type we handle that way. */
static gsize
scalar_size (char code)
{
  switch (code)
    {
    case 'b': case 'y':           return 1;
    case 'n': case 'q':           return 2;
    case 'i': case 'u':           return 4;
    case 'x': case 't': case 'd': return 8;
    default:                      return 0;
    }
}

/* TRUE if the @len bytes at @text are all ASCII; a Block at a time, as
 * scan_plain() looks. */
static gboolean
is_ascii (const char *text, gsize len)
{
  Block seen = { 0 };
  guint8 seen_byte = 0;
  gsize i = 0;

  for (; i + sizeof (Block) <= len; i += sizeof (Block))
    {
      Block v;

      memcpy (&v, text + i, sizeof v);
      seen |= v;
    }
  for (; i < len; i++)
    seen_byte |= (guchar) text[i];
  return !block_any (seen & 0x80) && (seen_byte & 0x80) == 0;
}

/* g_variant_new_string() checks its argument with g_utf8_validate(),
 * which costs more than all the rest of reading a big string.  ASCII is
 * checked much faster, and the parser has checked everything else
 * already; a JsonNode made elsewhere may hold anything, so invalid
 * UTF-8 becomes U+FFFD rather than an invalid GVariant. */
static GVariant *
new_string_variant (JsonNode *node, const char *text)
{
  gsize len = strlen (text);

  if (is_ascii (text, len) || g_utf8_validate_len (text, len, NULL))
    {
      /* With an owning node, not copied: the variant keeps the JsonNode
       * that holds @text alive, which matters for megabyte strings.
       * Without one (dict keys), copied. */
      g_autoptr(GBytes) bytes = node ? g_bytes_new_with_free_func (text, len + 1, (GDestroyNotify) json_node_unref,
                                                                   json_node_ref (node))
                                     : g_bytes_new (text, len + 1);
      return g_variant_new_from_bytes (G_VARIANT_TYPE_STRING, bytes, TRUE);
    }
  return g_variant_new_take_string (g_utf8_make_valid (text, len));
}

/* s, o and g: strings, the latter two checked for their syntax. */
static GVariant *
string_from_text (JsonNode *node, const char *text, char code, GError **error)
{
  if (code == 'o' && !g_variant_is_object_path (text))
    return fail_basic (node, code, " (not a valid object path)", error);
  if (code == 'g' && !g_variant_is_signature (text))
    return fail_basic (node, code, " (not a valid signature)", error);

  switch (code)
    {
    case 's': return new_string_variant (node, text);
    case 'o': return g_variant_new_object_path (text);
    case 'g': return g_variant_new_signature (text);
    default:  g_assert_not_reached ();
    }
  return NULL;
}

static GVariant *
to_basic (JsonNode *node, char code, GError **error)
{
  Scalar s;

  if (code == 's' || code == 'o' || code == 'g')
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return fail_basic (node, code, "", error);
      return string_from_text (node, json_node_get_string (node), code, error);
    }
  if (!convert_scalar (node, code, &s, error))
    return NULL;
  return scalar_to_variant (code, &s);
}

/* The natural mapping, for untyped values and "v": int -> x, float -> d,
 * str -> s, bool -> b, list -> av, dict -> a{sv}, None -> mv (Nothing). */
static GVariant *
natural_variant (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_NULL:
      return g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL);

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);
        g_autofree GVariant **children = g_new (GVariant *, n + 1);

        for (guint i = 0; i < n; i++)
          children[i] = g_variant_new_variant (natural_variant (json_array_get_element (array, i)));
        return g_variant_new_array (G_VARIANT_TYPE_VARIANT, children, n);
      }

    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autofree GVariant **children = g_new (GVariant *, json_object_get_size (object) + 1);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        guint n = 0;

        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          children[n++] = g_variant_new_dict_entry (new_string_variant (NULL, name),
                                                    g_variant_new_variant (natural_variant (member)));
        return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), children, n);
      }

    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:   return g_variant_new_int64 (json_node_get_int (node));
        case G_TYPE_DOUBLE:  return g_variant_new_double (json_node_get_double (node));
        case G_TYPE_STRING:  return new_string_variant (node, json_node_get_string (node));
        case G_TYPE_BOOLEAN: return g_variant_new_boolean (json_node_get_boolean (node));
        default:             break;
        }
      break;
    }
  g_assert_not_reached ();
  return NULL;
}

static GVariant *to_variant (JsonNode *node, const GVariantType *type, GError **error);

static void
free_floating (GVariant **children, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g_variant_unref (g_variant_ref_sink (children[i]));
}

static GVariant *
fail_container (JsonNode *node, const char *expected, const GVariantType *type, GError **error)
{
  g_autofree char *got = describe_node (node);

  g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "expected %s for %.*s, got %s",
               expected, (int) g_variant_type_get_string_length (type),
               g_variant_type_peek_string (type), got);
  return NULL;
}

/* A tuple from a list of exactly the right length; Pyro4 sends Python
 * tuples as JSON lists. */
static GVariant *
to_tuple (JsonNode *node, const GVariantType *type, GError **error)
{
  gsize n = g_variant_type_n_items (type);
  g_autofree GVariant **children = NULL;
  g_autofree char *expected = g_strdup_printf ("a list of %" G_GSIZE_FORMAT " element%s",
                                               n, n == 1 ? "" : "s");
  const GVariantType *t;
  JsonArray *array;
  gsize i;

  if (!JSON_NODE_HOLDS_ARRAY (node) || json_array_get_length (json_node_get_array (node)) != n)
    return fail_container (node, expected, type, error);

  array = json_node_get_array (node);
  children = g_new (GVariant *, n + 1);
  for (t = g_variant_type_first (type), i = 0; t != NULL; t = g_variant_type_next (t), i++)
    {
      children[i] = to_variant (json_array_get_element (array, i), t, error);
      if (children[i] == NULL)
        {
          g_prefix_error (error, "item %" G_GSIZE_FORMAT ": ", i);
          free_floating (children, i);
          return NULL;
        }
    }
  /* A lone dict entry type "{sv}" is read as a [key, value] list. */
  if (g_variant_type_is_dict_entry (type))
    return g_variant_new_dict_entry (children[0], children[1]);
  return g_variant_new_tuple (children, n);
}

/* Arrays of fixed-size numbers are filled in place: one allocation for
 * the whole array instead of one GVariant per element. */
static GVariant *
to_fixed_array (JsonArray *array, const GVariantType *element, gsize size, GError **error)
{
  guint n = json_array_get_length (array);
  char code = g_variant_type_peek_string (element)[0];
  g_autofree guchar *data = NULL;

  if (n == 0)
    return g_variant_new_array (element, NULL, 0);

  data = g_malloc (n * size);
  for (guint i = 0; i < n; i++)
    {
      Scalar s;

      if (!convert_scalar (json_array_get_element (array, i), code, &s, error))
        {
          g_prefix_error (error, "item %u: ", i);
          return NULL;
        }
      memcpy (data + i * size, &s, size);
    }
  return g_variant_new_fixed_array (element, data, n, size);
}

static GVariant *
to_array (JsonNode *node, const GVariantType *type, GError **error)
{
  const GVariantType *element = g_variant_type_element (type);
  gsize size = scalar_size (g_variant_type_peek_string (element)[0]);
  g_autofree GVariant **children = NULL;
  JsonArray *array;
  guint n;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail_container (node, "a list", type, error);

  array = json_node_get_array (node);
  if (size != 0)
    return to_fixed_array (array, element, size, error);

  n = json_array_get_length (array);
  children = g_new (GVariant *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      children[i] = to_variant (json_array_get_element (array, i), element, error);
      if (children[i] == NULL)
        {
          g_prefix_error (error, "item %u: ", i);
          free_floating (children, i);
          return NULL;
        }
    }
  return g_variant_new_array (element, children, n);
}

/* JSON object keys are strings; Python's json.dumps wrote int keys as
 * "1", bools as "true", floats as "1.5".  Turn them back. */
static GVariant *
key_from_text (const char *text, char code, GError **error)
{
  g_autoptr(GError) local = NULL;
  const char *why = "";
  gint64 sv;
  guint64 uv;

  switch (code)
    {
    case 's':
      return new_string_variant (NULL, text);
    case 'o':
      if (g_variant_is_object_path (text))
        return g_variant_new_object_path (text);
      why = " (not a valid object path)";
      break;
    case 'g':
      if (g_variant_is_signature (text))
        return g_variant_new_signature (text);
      why = " (not a valid signature)";
      break;
    case 'b':
      if (strcmp (text, "true") == 0 || strcmp (text, "false") == 0)
        return g_variant_new_boolean (text[0] == 't');
      break;
    case 'd':
      {
        char *end;
        double d = g_ascii_strtod (text, &end);

        if (*text != '\0' && !g_ascii_isspace (*text) && *end == '\0')
          return g_variant_new_double (d);
      }
      break;
    case 'n':
      if (g_ascii_string_to_signed (text, 10, G_MININT16, G_MAXINT16, &sv, &local))
        return g_variant_new_int16 (sv);
      break;
    case 'i':
      if (g_ascii_string_to_signed (text, 10, G_MININT32, G_MAXINT32, &sv, &local))
        return g_variant_new_int32 (sv);
      break;
    case 'x':
      if (g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &sv, &local))
        return g_variant_new_int64 (sv);
      break;
    case 'y':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT8, &uv, &local))
        return g_variant_new_byte (uv);
      break;
    case 'q':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT16, &uv, &local))
        return g_variant_new_uint16 (uv);
      break;
    case 'u':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &uv, &local))
        return g_variant_new_uint32 (uv);
      break;
    case 't':
      if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &uv, &local))
        return g_variant_new_uint64 (uv);
      break;
    default:
      g_assert_not_reached ();
    }

  if (g_error_matches (local, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
    why = " (out of range)";
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "expected a key of type %s (%c), got '%s'%s",
               basic_type_name (code), code, text, why);
  return NULL;
}

static GVariant *
to_dict (JsonNode *node, const GVariantType *type, GError **error)
{
  const GVariantType *entry = g_variant_type_element (type);
  char key_code = g_variant_type_peek_string (g_variant_type_key (entry))[0];
  const GVariantType *value_type = g_variant_type_value (entry);
  g_autofree GVariant **children = NULL;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;
  guint n = 0;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail_container (node, "a dict", type, error);

  object = json_node_get_object (node);
  children = g_new (GVariant *, json_object_get_size (object) + 1);
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      GVariant *key = key_from_text (name, key_code, error);
      GVariant *value;

      if (key == NULL)
        {
          free_floating (children, n);
          return NULL;
        }
      value = to_variant (member, value_type, error);
      if (value == NULL)
        {
          g_prefix_error (error, "key '%s': ", name);
          g_variant_unref (g_variant_ref_sink (key));
          free_floating (children, n);
          return NULL;
        }
      children[n++] = g_variant_new_dict_entry (key, value);
    }
  return g_variant_new_array (entry, children, n);
}

/* @type is definite and has passed check_type_for_json(). */
static GVariant *
to_variant (JsonNode *node, const GVariantType *type, GError **error)
{
  const GVariantType *element;
  GVariant *child;

  switch (g_variant_type_peek_string (type)[0])
    {
    case 'v':
      return g_variant_new_variant (natural_variant (node));

    case 'm':
      element = g_variant_type_element (type);
      if (JSON_NODE_HOLDS_NULL (node))
        return g_variant_new_maybe (element, NULL);
      child = to_variant (node, element, error);
      return child ? g_variant_new_maybe (NULL, child) : NULL;

    case '(':
    case '{':
      return to_tuple (node, type, error);

    case 'a':
      if (g_variant_type_is_dict_entry (g_variant_type_element (type)))
        return to_dict (node, type, error);
      return to_array (node, type, error);

    default:
      return to_basic (node, g_variant_type_peek_string (type)[0], error);
    }
}

GVariant *
pyro_json_to_variant (JsonNode           *node,
                      const GVariantType *type,
                      GError            **error)
{
  GVariant *value;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (type == NULL || g_variant_type_is_definite (type), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (type == NULL)
    value = natural_variant (node);
  else if (check_type_for_json (type, "deserialize", error))
    value = to_variant (node, type, error);
  else
    value = NULL;

  return value ? g_variant_ref_sink (value) : NULL;
}
