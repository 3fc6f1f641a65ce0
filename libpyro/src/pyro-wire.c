/* pyro-wire.c: JSON text straight to GVariant, for the common cases.
 *
 * See pyro-wire-private.h for what is handled.  The reader writes the
 * value in GVariant's serialized form (the format GLib documents in
 * "GVariant Serialization"), then hands the bytes to
 * g_variant_new_from_bytes(): one allocation for the whole value instead
 * of one GVariant per number.  The rules used here:
 *
 *   - numbers are stored in native byte order at an offset aligned to
 *     their size; a string is its bytes and a NUL;
 *   - a variant is its child's bytes, a NUL, then the child's type string;
 *   - a tuple lays out its members one after the other, each aligned; a
 *     tuple whose members are all of fixed size is padded to its
 *     alignment and has nothing else; otherwise it ends with the end
 *     offsets of its variable-size members but the last, in reverse order;
 *   - an array of fixed-size elements is the elements; otherwise the
 *     elements are followed by the end offset of each element;
 *   - framing offsets are little-endian, 1, 2, 4 or 8 bytes wide: the
 *     smallest width in which the container's total size fits.
 *
 * Every "decline" below returns FALSE without an error: the caller's
 * general path then reads the text and says what is wrong with it.
 */
#include "pyro-wire-private.h"
#include "pyro-json-private.h"

#include <stdlib.h>
#include <string.h>

/* Deeper values are left to the general path (which allows 512). */
#define WIRE_MAX_DEPTH 32

void
pyro_wire_init (PyroWire *wire, const char *text, gsize len)
{
  wire->p = text;
  wire->end = text + len;
  wire->depth = 0;
  wire->data = wire->small;
  wire->len = 0;
  wire->capacity = sizeof wire->small;
}

void
pyro_wire_clear (PyroWire *wire)
{
  if (wire->data != wire->small)
    g_free (wire->data);
  wire->data = wire->small;
  wire->len = 0;
  wire->capacity = sizeof wire->small;
}

/* ---- the value's bytes -------------------------------------------------- */

/* Appends @len bytes, moving to a bigger heap block when they do not fit. */
static void
append_bytes (PyroWire *w, const void *bytes, gsize len)
{
  if (len > w->capacity - w->len)
    {
      /* Doubling, or room for @len and a little more: a long string is
       * followed by its NUL, which should not double its block. */
      gsize capacity = MAX (2 * w->capacity, w->len + len + 64);

      if (w->data == w->small)
        w->data = memcpy (g_malloc (capacity), w->small, w->len);
      else
        w->data = g_realloc (w->data, capacity);
      w->capacity = capacity;
    }
  memcpy (w->data + w->len, bytes, len);
  w->len += len;
}

/* ---- reading text ------------------------------------------------------- */

static inline void
skip_space (PyroWire *w)
{
  while (w->p < w->end && (*w->p == ' ' || *w->p == '\n' || *w->p == '\r' || *w->p == '\t'))
    w->p++;
}

gboolean
pyro_wire_take (PyroWire *w, char c)
{
  skip_space (w);
  if (w->p < w->end && *w->p == c)
    {
      w->p++;
      return TRUE;
    }
  return FALSE;
}

gboolean
pyro_wire_at_end (PyroWire *w)
{
  skip_space (w);
  return w->p == w->end;
}

/* Consumes the literal @word ("true", "null", ...) if it is next. */
static gboolean
take_word (PyroWire *w, const char *word, gsize len)
{
  skip_space (w);
  if ((gsize) (w->end - w->p) >= len && memcmp (w->p, word, len) == 0)
    {
      w->p += len;
      return TRUE;
    }
  return FALSE;
}

gboolean
pyro_wire_take_null (PyroWire *w)
{
  return take_word (w, "null", 4);
}

gboolean
pyro_wire_read_plain_string (PyroWire *w, const char **start, gsize *len)
{
  gboolean non_ascii;
  const char *q;

  if (!pyro_wire_take (w, '"'))
    return FALSE;
  q = pyro_json_scan_plain (w->p, w->end, &non_ascii);
  /* An escape or a raw control character: the general path decodes (or
   * refuses) it. */
  if (q >= w->end || *q != '"')
    return FALSE;
  if (non_ascii && !g_utf8_validate_len (w->p, q - w->p, NULL))
    return FALSE;
  *start = w->p;
  *len = q - w->p;
  w->p = q + 1;
  return TRUE;
}

int
pyro_wire_read_key (PyroWire *w, const char *const *keys, int n_keys, guint *seen)
{
  const char *key;
  gsize len;

  if (!pyro_wire_read_plain_string (w, &key, &len) || !pyro_wire_take (w, ':'))
    return -1;
  for (int i = 0; i < n_keys; i++)
    if (strlen (keys[i]) == len && memcmp (keys[i], key, len) == 0)
      {
        if (*seen & (1u << i))
          return -1;
        *seen |= 1u << i;
        return i;
      }
  return -1;
}

/* The character a one-letter escape stands for; 0 for the others. */
static char
simple_escape (char letter)
{
  switch (letter)
    {
    case '"':  return '"';
    case '\\': return '\\';
    case '/':  return '/';
    case 'b':  return '\b';
    case 'f':  return '\f';
    case 'n':  return '\n';
    case 'r':  return '\r';
    case 't':  return '\t';
    default:   return 0;
    }
}

/* A string value, appended to the serialized bytes with its NUL.  Plain
 * text is copied as it is, and the one-letter escapes are decoded: Python's
 * json module writes them for quotes, backslashes and line breaks, so a
 * Python client's strings mostly take this path.  \u escapes are left to
 * the general path, which decodes them (and refuses a NUL, which a
 * GVariant string cannot hold). */
static gboolean
read_string_value (PyroWire *w)
{
  if (!pyro_wire_take (w, '"'))
    return FALSE;
  for (;;)
    {
      gboolean non_ascii;
      const char *q = pyro_json_scan_plain (w->p, w->end, &non_ascii);

      /* The stretch up to q is whole characters: an escape or the closing
       * quote is ASCII, so it cannot fall inside one. */
      if (q >= w->end || (non_ascii && !g_utf8_validate_len (w->p, q - w->p, NULL)))
        return FALSE;
      append_bytes (w, (const guint8 *) w->p, q - w->p);
      w->p = q + 1;
      if (*q == '"')
        break;

      /* A backslash, or a raw control character (which JSON forbids). */
      char c = (*q == '\\' && w->p < w->end) ? simple_escape (*w->p) : 0;
      if (c == 0)
        return FALSE;
      append_bytes (w, (const guint8 *) &c, 1);
      w->p++;
    }
  append_bytes (w, (const guint8 *) "", 1);
  return TRUE;
}

/* A number, with the general parser's grammar: -?(0|[1-9][0-9]*), then
 * an optional fraction and exponent.  Integers land in *@integer; numbers
 * with '.', 'e' or 'E' in *@real with *@is_real set.  Declines integers
 * beyond 64 bits (the general path refuses them with a message) and
 * -Infinity. */
static gboolean
read_number (PyroWire *w, gint64 *integer, double *real, gboolean *is_real)
{
  const char *begin, *q;
  gboolean negative;
  guint64 magnitude;

  skip_space (w);
  begin = q = w->p;
  negative = (q < w->end && *q == '-');
  if (negative)
    q++;
  const char *digits = q;
  gboolean overflow;
  q = pyro_json_scan_integer (q, w->end, &magnitude, &overflow);
  if (q == digits || overflow)
    return FALSE;

  *is_real = FALSE;
  if (q < w->end && *q == '.')
    {
      *is_real = TRUE;
      if (++q >= w->end || !g_ascii_isdigit (*q))
        return FALSE;
      while (q < w->end && g_ascii_isdigit (*q))
        q++;
    }
  if (q < w->end && (*q == 'e' || *q == 'E'))
    {
      *is_real = TRUE;
      q++;
      if (q < w->end && (*q == '+' || *q == '-'))
        q++;
      if (q >= w->end || !g_ascii_isdigit (*q))
        return FALSE;
      while (q < w->end && g_ascii_isdigit (*q))
        q++;
    }

  if (*is_real)
    {
      /* The same conversion as the general parser's, on a terminated copy. */
      char buf[64];

      if ((gsize) (q - begin) >= sizeof buf)
        return FALSE;
      memcpy (buf, begin, q - begin);
      buf[q - begin] = '\0';
      *real = g_ascii_strtod (buf, NULL);
    }
  else
    {
      if (magnitude > (negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64))
        return FALSE;
      *integer = negative ? -(gint64) (magnitude - 1) - 1 : (gint64) magnitude;
    }
  w->p = q;
  return TRUE;
}

/* After a list element: TRUE with *@done set at ']', TRUE at ','. */
static gboolean
next_element (PyroWire *w, gboolean *done)
{
  if (pyro_wire_take (w, ','))
    {
      *done = FALSE;
      return TRUE;
    }
  *done = pyro_wire_take (w, ']');
  return *done;
}

/* At '[': consumes it; *@done is set for an empty list. */
static gboolean
open_list (PyroWire *w, gboolean *done)
{
  if (w->depth >= WIRE_MAX_DEPTH || !pyro_wire_take (w, '['))
    return FALSE;
  w->depth++;
  *done = pyro_wire_take (w, ']');
  return TRUE;
}

/* ---- writing serialized data -------------------------------------------- */

/* The alignment of the type at *@t (1, 2, 4 or 8) and its fixed size (0 for
 * variable-size types); moves *@t past it.  Only for complete, valid type
 * strings (signatures were checked when the class was registered). */
static gsize
type_layout (const char **t, gsize *fixed_size)
{
  char c = *(*t)++;

  switch (c)
    {
    case 'b': case 'y':           *fixed_size = 1; return 1;
    case 'n': case 'q':           *fixed_size = 2; return 2;
    case 'i': case 'u': case 'h': *fixed_size = 4; return 4;
    case 'x': case 't': case 'd': *fixed_size = 8; return 8;
    case 's': case 'o': case 'g': *fixed_size = 0; return 1;
    case 'v':                     *fixed_size = 0; return 8;
    case 'a': case 'm':
      {
        gsize ignored;
        gsize align = type_layout (t, &ignored);

        *fixed_size = 0;
        return align;
      }
    case '(': case '{':
      {
        gsize align = 1, size = 0;
        gboolean fixed = TRUE;

        while (**t != ')' && **t != '}')
          {
            gsize member_size;
            gsize member_align = type_layout (t, &member_size);

            align = MAX (align, member_align);
            size = (size + member_align - 1) & ~(member_align - 1);
            size += member_size;
            fixed = fixed && member_size != 0;
          }
        (*t)++;
        /* The unit tuple "()" is one zero byte. */
        if (size == 0)
          size = 1;
        *fixed_size = fixed ? (size + align - 1) & ~(align - 1) : 0;
        return align;
      }
    default:
      g_assert_not_reached ();
    }
  return 1;
}

static void
pad_to (PyroWire *w, gsize align)
{
  static const guint8 zeros[8] = { 0 };

  if (w->len % align != 0)
    append_bytes (w, zeros, align - w->len % align);
}

/* The width of the framing offsets of a container whose body is
 * @body_size bytes and which has @n_offsets of them: the smallest width
 * in which the total size fits, as GLib reads it back. */
static gsize
offset_width (gsize body_size, gsize n_offsets)
{
  if (body_size + n_offsets <= G_MAXUINT8)
    return 1;
  if (body_size + 2 * n_offsets <= G_MAXUINT16)
    return 2;
  if ((guint64) body_size + 4 * n_offsets <= G_MAXUINT32)
    return 4;
  return 8;
}

/* Appends @offsets (relative to the container start @start) in the order
 * given, little-endian. */
static void
write_offsets (PyroWire *w, gsize start, const gsize *offsets, gsize n, gboolean reversed)
{
  gsize width = offset_width (w->len - start, n);

  for (gsize k = 0; k < n; k++)
    {
      guint64 value = offsets[reversed ? n - 1 - k : k];
      guint8 bytes[8];

      for (gsize b = 0; b < width; b++)
        bytes[b] = (value >> (8 * b)) & 0xff;
      append_bytes (w, bytes, width);
    }
}

static void
append_number (PyroWire *w, const void *value, gsize size)
{
  pad_to (w, size);
  append_bytes (w, value, size);
}

/* ---- values ------------------------------------------------------------- */

static gboolean read_typed (PyroWire *w, const char **t);

/* One value with the natural mapping, as the child of a variant: writes
 * the child's bytes (the caller has aligned to 8) and returns its type
 * string, or NULL to decline. */
static const char *
read_natural (PyroWire *w)
{
  skip_space (w);
  if (w->p >= w->end)
    return NULL;

  switch (*w->p)
    {
    case '"':
      return read_string_value (w) ? "s" : NULL;
    case 't':
    case 'f':
      {
        guint8 b = (*w->p == 't');

        if (!(b ? take_word (w, "true", 4) : take_word (w, "false", 5)))
          return NULL;
        append_bytes (w, &b, 1);
        return "b";
      }
    case 'n':
      /* None: a Nothing "mv", which has no bytes at all. */
      return take_word (w, "null", 4) ? "mv" : NULL;
    case '[':
      {
        /* A list: "av", an array of variable-size elements. */
        gsize start = w->len;
        GArray *ends = NULL;
        gboolean done;
        const char *type = "av";

        if (!open_list (w, &done))
          return NULL;
        ends = g_array_new (FALSE, FALSE, sizeof (gsize));
        while (!done)
          {
            const char *child;

            pad_to (w, 8);
            child = read_natural (w);
            if (child == NULL || !next_element (w, &done))
              {
                type = NULL;
                break;
              }
            append_bytes (w, (const guint8 *) "", 1);
            append_bytes (w, (const guint8 *) child, strlen (child));
            g_array_append_val (ends, (gsize) { w->len - start });
          }
        if (type != NULL)
          {
            write_offsets (w, start, (const gsize *) ends->data, ends->len, FALSE);
            w->depth--;
          }
        g_array_unref (ends);
        return type;
      }
    default:
      {
        gint64 integer;
        double real;
        gboolean is_real;

        if (!read_number (w, &integer, &real, &is_real))
          return NULL;
        if (is_real)
          append_number (w, &real, sizeof real);
        else
          append_number (w, &integer, sizeof integer);
        return is_real ? "d" : "x";
      }
    }
}

/* A fixed-size number of type @code, range-checked as the general path
 * does (an int is fine for a double; a float is never an integer). */
static gboolean
read_scalar (PyroWire *w, char code)
{
  gint64 v;
  double d;
  gboolean is_real;

  if (code == 'b')
    {
      guint8 b;

      if (take_word (w, "true", 4))
        b = 1;
      else if (take_word (w, "false", 5))
        b = 0;
      else
        return FALSE;
      append_bytes (w, &b, 1);
      return TRUE;
    }

  skip_space (w);
  if (w->p >= w->end || (*w->p != '-' && !g_ascii_isdigit (*w->p)))
    return FALSE;
  if (!read_number (w, &v, &d, &is_real))
    return FALSE;
  if (code == 'd')
    {
      if (!is_real)
        d = (double) v;
      append_number (w, &d, sizeof d);
      return TRUE;
    }
  if (is_real)
    return FALSE;

  switch (code)
    {
    case 'y':
      {
        guint8 y = v;
        if (v < 0 || v > G_MAXUINT8)
          return FALSE;
        append_number (w, &y, 1);
        return TRUE;
      }
    case 'n':
      {
        gint16 n = v;
        if (v < G_MININT16 || v > G_MAXINT16)
          return FALSE;
        append_number (w, &n, 2);
        return TRUE;
      }
    case 'q':
      {
        guint16 q = v;
        if (v < 0 || v > G_MAXUINT16)
          return FALSE;
        append_number (w, &q, 2);
        return TRUE;
      }
    case 'i':
      {
        gint32 i = v;
        if (v < G_MININT32 || v > G_MAXINT32)
          return FALSE;
        append_number (w, &i, 4);
        return TRUE;
      }
    case 'u':
      {
        guint32 u = v;
        if (v < 0 || v > G_MAXUINT32)
          return FALSE;
        append_number (w, &u, 4);
        return TRUE;
      }
    case 'x':
      append_number (w, &v, 8);
      return TRUE;
    case 't':
      {
        guint64 t = v;
        if (v < 0)
          return FALSE;
        append_number (w, &t, 8);
        return TRUE;
      }
    default:
      return FALSE;
    }
}

/* An array "a<element>" from a list.  *@t is at the element type. */
static gboolean
read_array (PyroWire *w, const char **t)
{
  const char *element = *t;
  gsize start = w->len;
  gsize element_size;
  gsize element_align = type_layout (t, &element_size);
  g_autoptr(GArray) ends = NULL;
  gboolean done;

  /* Bytes are refused by the general path, dicts come as JSON objects. */
  if (*element == 'y' || *element == '{' || !open_list (w, &done))
    return FALSE;
  if (element_size == 0)
    ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  while (!done)
    {
      const char *et = element;

      pad_to (w, element_align);
      if (!read_typed (w, &et) || !next_element (w, &done))
        return FALSE;
      if (ends != NULL)
        g_array_append_val (ends, (gsize) { w->len - start });
    }
  if (ends != NULL)
    write_offsets (w, start, (const gsize *) ends->data, ends->len, FALSE);
  w->depth--;
  return TRUE;
}

/* A tuple "(...)" from a list of exactly as many elements.  *@t is just
 * after the '('. */
static gboolean
read_tuple (PyroWire *w, const char **t)
{
  gsize start = w->len;
  gsize ends[16];
  gsize n_ends = 0;
  gsize align = 1;
  gboolean fixed = TRUE;
  gboolean done;

  if (!open_list (w, &done))
    return FALSE;
  while (**t != ')')
    {
      const char *member = *t;
      gsize member_size;
      gsize member_align = type_layout (t, &member_size);

      if (done)
        return FALSE;  /* too few elements */
      align = MAX (align, member_align);
      pad_to (w, member_align);
      if (!read_typed (w, &member) || !next_element (w, &done))
        return FALSE;
      if (member_size == 0)
        {
          fixed = FALSE;
          /* The last member's end is the tuple's: it has no offset. */
          if (**t != ')')
            {
              if (n_ends == G_N_ELEMENTS (ends))
                return FALSE;
              ends[n_ends++] = w->len - start;
            }
        }
    }
  (*t)++;
  if (!done)
    return FALSE;  /* too many elements */
  w->depth--;

  if (fixed)
    {
      if (w->len == start)
        append_bytes (w, (const guint8 *) "", 1);  /* the unit tuple */
      pad_to (w, align);
    }
  else
    write_offsets (w, start, ends, n_ends, TRUE);
  return TRUE;
}

/* One value of the type at *@t (moved past it); the caller has aligned
 * the output for it. */
static gboolean
read_typed (PyroWire *w, const char **t)
{
  char code = *(*t)++;

  switch (code)
    {
    case 's':
      return read_string_value (w);
    case 'v':
      {
        const char *child = read_natural (w);

        if (child == NULL)
          return FALSE;
        append_bytes (w, (const guint8 *) "", 1);
        append_bytes (w, (const guint8 *) child, strlen (child));
        return TRUE;
      }
    case 'a':
      return read_array (w, t);
    case '(':
      return read_tuple (w, t);
    case 'b': case 'y': case 'n': case 'q': case 'i': case 'u': case 'x': case 't': case 'd':
      return read_scalar (w, code);
    default:
      /* o g h m {: left to the general path. */
      return FALSE;
    }
}

/* Values of this many bytes and more always keep their heap block. */
#define BIG_VALUE_SIZE (64 * 1024)

GVariant *
pyro_wire_read_value (PyroWire *w, const GVariantType *type)
{
  const char *t = type ? g_variant_type_peek_string (type) : NULL;
  const char *natural = NULL;

  /* type_layout() knows only definite types; the general path reports the rest. */
  if (type != NULL && !g_variant_type_is_definite (type))
    return NULL;
  w->len = 0;
  if (t != NULL ? !read_typed (w, &t) : (natural = read_natural (w)) == NULL)
    return NULL;

  /* The value's bytes become the GVariant's.  A value in the small buffer
   * gets a copy (the buffer is reused for the next value), and so does one
   * that fills only part of its heap block: a value kept for long should
   * not hold twice its size.  A value that fills its block (a long string
   * read in one piece), or a big one (whose untouched rest of the block
   * costs no memory), takes the block, and the next value starts in the
   * small buffer again: copying it would cost its size again in memory and
   * time. */
  g_autoptr(GBytes) bytes = NULL;
  gboolean fills_block = w->capacity - w->len <= w->len / 4;
  if (w->data == w->small || (!fills_block && w->len < BIG_VALUE_SIZE))
    bytes = g_bytes_new (w->data, w->len);
  else
    {
      bytes = g_bytes_new_take (w->data, w->len);
      w->data = w->small;
      w->capacity = sizeof w->small;
    }
  return g_variant_ref_sink (g_variant_new_from_bytes (type ? type : G_VARIANT_TYPE (natural), bytes, TRUE));
}

GVariant *
pyro_wire_parse (const char *text, gsize len, const GVariantType *type)
{
  PyroWire wire;
  GVariant *value;

  pyro_wire_init (&wire, text, len);
  value = pyro_wire_read_value (&wire, type);
  if (value != NULL && !pyro_wire_at_end (&wire))
    g_clear_pointer (&value, g_variant_unref);
  pyro_wire_clear (&wire);
  return value;
}
