/* test-message.c: tests of the Pyro4 wire message layer (pyro-message.c).
 *
 * The oracle is Pyro4 itself: the Appendix A messages of the protocol
 * notes (built by Pyro4 and checked against captured traffic), a capture
 * of a real HMAC exchange, and live round trips through Python's
 * Pyro4.message.Message and marshal module.  Around those, the hostile
 * cases: bad headers, lying sizes, truncation, broken annotations, wrong
 * HMACs, broken or explosive compressed bodies, failing streams.
 */
#include "pyro-message-private.h"
#include "testutil.h"

#include <pyro/pyro-error.h>
#include <string.h>

#define PYTHON           "/usr/bin/python3"
#define PYTHON_TIMEOUT_S 60

/* ---- helpers --------------------------------------------------------------- */

/* "50 59 52 4f ..." to bytes; spaces are ignored. */
static GBytes *
bytes_from_hex (const char *hex)
{
  GByteArray *array = g_byte_array_new ();
  for (const char *p = hex; *p != '\0';)
    {
      if (*p == ' ')
        {
          p++;
          continue;
        }
      g_assert_true (g_ascii_isxdigit (p[0]) && g_ascii_isxdigit (p[1]));
      guint8 byte = g_ascii_xdigit_value (p[0]) << 4 | g_ascii_xdigit_value (p[1]);
      g_byte_array_append (array, &byte, 1);
      p += 2;
    }
  return g_byte_array_free_to_bytes (array);
}

static GBytes *
bytes_from_string (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static GBytes *
bytes_repeat (char c, gsize n)
{
  char *data = g_malloc (MAX (n, 1));
  memset (data, c, n);
  return g_bytes_new_take (data, n);
}

static PyroMessage *
read_from_bytes (GBytes *wire, gsize max_size, GBytes *hmac_key, GError **error)
{
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (wire);
  return pyro_message_read (in, max_size, hmac_key, NULL, error);
}

static GBytes *
key_or_null (const char *key)
{
  return key != NULL ? bytes_from_string (key) : NULL;
}

/* Test-side header arithmetic, independent of the library's: writes a
 * big-endian 16-bit value, and recomputes the checksum after a patch. */
static void
set_be16 (guint8 *wire, gsize offset, guint16 value)
{
  wire[offset] = value >> 8;
  wire[offset + 1] = value & 0xff;
}

static guint
get_be16_at (const guint8 *wire, gsize offset)
{
  return wire[offset] << 8 | wire[offset + 1];
}

static void
fix_checksum (guint8 *wire)
{
  guint32 body = (guint32) wire[12] << 24 | wire[13] << 16 | wire[14] << 8 | wire[15];
  guint32 sum = get_be16_at (wire, 6) + get_be16_at (wire, 4) + body + get_be16_at (wire, 18) +
                get_be16_at (wire, 16) + get_be16_at (wire, 8) + get_be16_at (wire, 10) + 0x34E9;
  set_be16 (wire, 22, sum & 0xffff);
}

/* A writable copy of @wire, cut to @len bytes (G_MAXSIZE: all of it). */
static GByteArray *
copy_wire (GBytes *wire, gsize len)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (wire, &size);
  GByteArray *copy = g_byte_array_new ();
  g_byte_array_append (copy, data, MIN (len, size));
  return copy;
}

/* A message assembled by hand, for what the encoder would never produce. */
static GBytes *
build_raw (guint16 type, guint16 flags, const void *annotations, gsize annotations_len,
           const void *body, gsize body_len)
{
  guint8 head[PYRO_HEADER_SIZE] = { 'P', 'Y', 'R', 'O', 0, 48 };
  set_be16 (head, 6, type);
  set_be16 (head, 8, flags);
  set_be16 (head, 10, 1);                          /* seq */
  set_be16 (head, 12, body_len >> 16);
  set_be16 (head, 14, body_len & 0xffff);
  set_be16 (head, 16, PYRO_SERIALIZER_JSON);
  set_be16 (head, 18, annotations_len);
  fix_checksum (head);

  GByteArray *array = g_byte_array_new ();
  g_byte_array_append (array, head, sizeof head);
  g_byte_array_append (array, annotations, annotations_len);
  g_byte_array_append (array, body, body_len);
  return g_byte_array_free_to_bytes (array);
}

static GBytes *
zlib_compress (GBytes *data)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, -1);
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (memory, G_CONVERTER (compressor));
  gsize len;
  const void *bytes = g_bytes_get_data (data, &len);
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (out, bytes, len, NULL, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

/* The wire form of a message whose body is @compressed, with the
 * COMPRESSED flag set (the encoder never sets it, so it is patched in;
 * the header is not covered by the HMAC, so a key may be used). */
static GBytes *
wire_with_compressed_body (GBytes *compressed, guint16 flags, GBytes *hmac_key)
{
  g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_RESULT, flags, 7, PYRO_SERIALIZER_JSON, compressed);
  g_autoptr(GBytes) encoded = pyro_message_encode (msg, hmac_key);
  GByteArray *wire = copy_wire (encoded, G_MAXSIZE);
  set_be16 (wire->data, 8, flags | PYRO_FLAG_COMPRESSED);
  fix_checksum (wire->data);
  return g_byte_array_free_to_bytes (wire);
}

/* Runs Python with @script (argv[1..] = @args), feeding @input on stdin;
 * returns its stdout.  Bounded: a Python that hangs is killed. */
static void
communicate_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}

static GBytes *
run_python (const char *script, const char * const *args, GBytes *input)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) PYTHON);
  g_ptr_array_add (argv, (char *) "-c");
  g_ptr_array_add (argv, (char *) script);
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process =
    g_subprocess_newv ((const char * const *) argv->pdata,
                       G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);

  g_autoptr(GBytes) nothing = g_bytes_new (NULL, 0);
  g_autoptr(GAsyncResult) result = NULL;
  g_subprocess_communicate_async (process, input != NULL ? input : nothing, NULL, communicate_done, &result);
  gint64 deadline = g_get_monotonic_time () + PYTHON_TIMEOUT_S * G_TIME_SPAN_SECOND;
  while (result == NULL && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  if (result == NULL)
    {
      g_subprocess_force_exit (process);
      g_error ("python did not finish within %d s", PYTHON_TIMEOUT_S);
    }

  g_autoptr(GBytes) out = NULL;
  g_subprocess_communicate_finish (process, result, &out, NULL, &error);
  g_assert_no_error (error);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  return g_steal_pointer (&out);
}

/* ---- test streams that fail on purpose ------------------------------------ */

/* An input stream serving @data at most @chunk bytes per read, then
 * failing with @error (or EOF when it is NULL). */
typedef struct
{
  GInputStream parent;
  GBytes      *data;
  gsize        pos;
  gsize        chunk;
  GError      *error;
} TestInputStream;
typedef GInputStreamClass TestInputStreamClass;
G_DEFINE_TYPE (TestInputStream, test_input_stream, G_TYPE_INPUT_STREAM)

static gssize
test_input_stream_read (GInputStream *stream, void *buffer, gsize count,
                        GCancellable *cancellable, GError **error)
{
  TestInputStream *self = (TestInputStream *) stream;
  gsize size;
  const guint8 *data = g_bytes_get_data (self->data, &size);
  if (self->pos < size)
    {
      gsize n = MIN (MIN (count, self->chunk), size - self->pos);
      memcpy (buffer, data + self->pos, n);
      self->pos += n;
      return n;
    }
  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return -1;
    }
  return 0;
}

static void
test_input_stream_finalize (GObject *object)
{
  TestInputStream *self = (TestInputStream *) object;
  g_bytes_unref (self->data);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (test_input_stream_parent_class)->finalize (object);
}

static void
test_input_stream_class_init (TestInputStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_input_stream_finalize;
  klass->read_fn = test_input_stream_read;
}

static void
test_input_stream_init (TestInputStream *self)
{
}

static GInputStream *
test_input_stream_new (GBytes *data, gsize chunk, const GError *error)
{
  TestInputStream *self = g_object_new (test_input_stream_get_type (), NULL);
  self->data = g_bytes_ref (data);
  self->chunk = chunk;
  self->error = error != NULL ? g_error_copy (error) : NULL;
  return G_INPUT_STREAM (self);
}

/* An output stream that records what it is given, or fails with @error. */
typedef struct
{
  GOutputStream parent;
  GByteArray   *written;
  guint         calls;
  GError       *error;
} TestOutputStream;
typedef GOutputStreamClass TestOutputStreamClass;
G_DEFINE_TYPE (TestOutputStream, test_output_stream, G_TYPE_OUTPUT_STREAM)

static gssize
test_output_stream_write (GOutputStream *stream, const void *buffer, gsize count,
                          GCancellable *cancellable, GError **error)
{
  TestOutputStream *self = (TestOutputStream *) stream;
  self->calls++;
  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return -1;
    }
  g_byte_array_append (self->written, buffer, count);
  return count;
}

/* Like a socket's sendmsg(): all vectors in one call. */
static gboolean
test_output_stream_writev (GOutputStream *stream, const GOutputVector *vectors, gsize n_vectors,
                           gsize *bytes_written, GCancellable *cancellable, GError **error)
{
  TestOutputStream *self = (TestOutputStream *) stream;
  self->calls++;
  *bytes_written = 0;
  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }
  for (gsize i = 0; i < n_vectors; i++)
    {
      g_byte_array_append (self->written, vectors[i].buffer, vectors[i].size);
      *bytes_written += vectors[i].size;
    }
  return TRUE;
}

static void
test_output_stream_finalize (GObject *object)
{
  TestOutputStream *self = (TestOutputStream *) object;
  g_byte_array_unref (self->written);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (test_output_stream_parent_class)->finalize (object);
}

static void
test_output_stream_class_init (TestOutputStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_output_stream_finalize;
  klass->write_fn = test_output_stream_write;
  klass->writev_fn = test_output_stream_writev;
}

static void
test_output_stream_init (TestOutputStream *self)
{
  self->written = g_byte_array_new ();
}

/* ---- Appendix A and a capture ---------------------------------------------- */

static const char CORR_A[] = "e2 6e 54 2d 20 69 4b 5c 99 91 00 c5 3d 74 a3 12";

typedef struct
{
  const char *name;
  guint16     type;
  guint16     flags;
  guint16     seq;
  guint16     serializer_id;
  const char *corr_hex;   /* NULL: no CORR annotation */
  const char *hmac_key;   /* NULL: no HMAC */
  const char *body;
  const char *wire_hex;   /* exactly as in the reference */
} Example;

static const Example examples[] = {
  { "A.1 CONNECT", PYRO_MSG_CONNECT, PYRO_FLAG_META_ON_CONNECT, 0, PYRO_SERIALIZER_JSON, NULL, NULL,
    "{\"handshake\": \"hello\", \"object\": \"thing\"}",
    "50 59 52 4f 00 30 00 01 00 10 00 00 00 00 00 29 "
    "00 02 00 00 00 00 35 55 7b 22 68 61 6e 64 73 68 "
    "61 6b 65 22 3a 20 22 68 65 6c 6c 6f 22 2c 20 22 "
    "6f 62 6a 65 63 74 22 3a 20 22 74 68 69 6e 67 22 "
    "7d " },
  { "A.2 CONNECTOK with CORR", PYRO_MSG_CONNECTOK, PYRO_FLAG_META_ON_CONNECT, 0, PYRO_SERIALIZER_JSON,
    CORR_A, NULL,
    "{\"handshake\": \"hello\", \"meta\": {\"methods\": [\"add\"], \"oneway\": [], \"attrs\": []}}",
    "50 59 52 4f 00 30 00 02 00 10 00 00 00 00 00 4f "
    "00 02 00 16 00 00 35 92 43 4f 52 52 00 10 e2 6e "
    "54 2d 20 69 4b 5c 99 91 00 c5 3d 74 a3 12 7b 22 "
    "68 61 6e 64 73 68 61 6b 65 22 3a 20 22 68 65 6c "
    "6c 6f 22 2c 20 22 6d 65 74 61 22 3a 20 7b 22 6d "
    "65 74 68 6f 64 73 22 3a 20 5b 22 61 64 64 22 5d "
    "2c 20 22 6f 6e 65 77 61 79 22 3a 20 5b 5d 2c 20 "
    "22 61 74 74 72 73 22 3a 20 5b 5d 7d 7d " },
  { "A.3 INVOKE json", PYRO_MSG_INVOKE, 0, 1, PYRO_SERIALIZER_JSON, NULL, NULL,
    "{\"object\": \"thing\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}}",
    "50 59 52 4f 00 30 00 04 00 00 00 01 00 00 00 44 "
    "00 02 00 00 00 00 35 64 7b 22 6f 62 6a 65 63 74 "
    "22 3a 20 22 74 68 69 6e 67 22 2c 20 22 6d 65 74 "
    "68 6f 64 22 3a 20 22 61 64 64 22 2c 20 22 70 61 "
    "72 61 6d 73 22 3a 20 5b 31 2c 20 32 5d 2c 20 22 "
    "6b 77 61 72 67 73 22 3a 20 7b 7d 7d " },
  { "A.4 RESULT with CORR", PYRO_MSG_RESULT, 0, 1, PYRO_SERIALIZER_JSON, CORR_A, NULL, "3",
    "50 59 52 4f 00 30 00 05 00 00 00 01 00 00 00 01 "
    "00 02 00 16 00 00 35 38 43 4f 52 52 00 10 e2 6e "
    "54 2d 20 69 4b 5c 99 91 00 c5 3d 74 a3 12 33 " },
  { "A.5 PING", PYRO_MSG_PING, 0, 0, 42, NULL, NULL, "ping",
    "50 59 52 4f 00 30 00 06 00 00 00 00 00 00 00 04 "
    "00 2a 00 00 00 00 35 4d 70 69 6e 67 " },
  { "A.6 CONNECTFAIL marshal", PYRO_MSG_CONNECTFAIL, 0, 0, PYRO_SERIALIZER_MARSHAL, NULL, NULL,
    "\xfa\x18" "header checksum mismatch",
    "50 59 52 4f 00 30 00 03 00 00 00 00 00 00 00 1a "
    "00 03 00 00 00 00 35 39 fa 18 68 65 61 64 65 72 "
    "20 63 68 65 63 6b 73 75 6d 20 6d 69 73 6d 61 74 "
    "63 68 " },
  { "A.7 INVOKE serpent", PYRO_MSG_INVOKE, 0, 1, PYRO_SERIALIZER_SERPENT, NULL, NULL,
    "# serpent utf-8 python3.2\n('thing','add',(1,2),{})",
    "50 59 52 4f 00 30 00 04 00 00 00 01 00 00 00 32 "
    "00 01 00 00 00 00 35 51 23 20 73 65 72 70 65 6e "
    "74 20 75 74 66 2d 38 20 70 79 74 68 6f 6e 33 2e "
    "32 0a 28 27 74 68 69 6e 67 27 2c 27 61 64 64 27 "
    "2c 28 31 2c 32 29 2c 7b 7d 29 " },
  { "A.8 INVOKE with HMAC", PYRO_MSG_INVOKE, 0, 1, PYRO_SERIALIZER_JSON, NULL, "secret",
    "{\"object\": \"thing\", \"method\": \"add\", \"params\": [3, 4], \"kwargs\": {}}",
    "50 59 52 4f 00 30 00 04 00 00 00 01 00 00 00 44 "
    "00 02 00 1a 00 00 35 7e 48 4d 41 43 00 14 17 ed "
    "87 11 d9 39 55 d7 9a 30 50 80 62 c5 c6 29 76 92 "
    "9d 42 7b 22 6f 62 6a 65 63 74 22 3a 20 22 74 68 "
    "69 6e 67 22 2c 20 22 6d 65 74 68 6f 64 22 3a 20 "
    "22 61 64 64 22 2c 20 22 70 61 72 61 6d 73 22 3a "
    "20 5b 33 2c 20 34 5d 2c 20 22 6b 77 61 72 67 73 "
    "22 3a 20 7b 7d 7d " },
  /* captures/mitm_hmac.log: a real daemon's RESULT with CORR and HMAC, so
   * the HMAC covers body then CORR. */
  { "capture RESULT with CORR and HMAC", PYRO_MSG_RESULT, 0, 1, PYRO_SERIALIZER_JSON,
    "98 43 fd 21 9e 29 48 ba b8 be 40 c3 2d 1f 5e 09", "secret", "7",
    "50 59 52 4f 00 30 00 05 00 00 00 01 00 00 00 01 "
    "00 02 00 30 00 00 35 52 "
    "43 4f 52 52 00 10 98 43 fd 21 9e 29 48 ba b8 be "
    "40 c3 2d 1f 5e 09 48 4d 41 43 00 14 e7 c1 73 e3 "
    "68 bf 59 cc 5f 34 51 f9 19 b9 31 4e 58 8a 67 99 "
    "37 " },
};

static const Example *
find_example (const char *prefix)
{
  for (gsize i = 0; i < G_N_ELEMENTS (examples); i++)
    if (g_str_has_prefix (examples[i].name, prefix))
      return &examples[i];
  g_assert_not_reached ();
}

static GBytes *
example_wire (const char *prefix)
{
  return bytes_from_hex (find_example (prefix)->wire_hex);
}

static PyroMessage *
example_message (const Example *example)
{
  g_autoptr(GBytes) body = bytes_from_string (example->body);
  PyroMessage *msg = pyro_message_new (example->type, example->flags, example->seq,
                                       example->serializer_id, body);
  if (example->corr_hex != NULL)
    {
      g_autoptr(GBytes) corr = bytes_from_hex (example->corr_hex);
      pyro_message_set_annotation (msg, "CORR", g_bytes_get_data (corr, NULL), g_bytes_get_size (corr));
    }
  return msg;
}

static void
test_encode_examples (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (examples); i++)
    {
      const Example *example = &examples[i];
      g_test_message ("%s", example->name);
      g_autoptr(PyroMessage) msg = example_message (example);
      g_autoptr(GBytes) key = key_or_null (example->hmac_key);
      g_autoptr(GBytes) expected = bytes_from_hex (example->wire_hex);
      g_autoptr(GBytes) wire = pyro_message_encode (msg, key);
      pyro_test_assert_bytes_equal (wire, expected);
    }
}

static void
test_decode_examples (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (examples); i++)
    {
      const Example *example = &examples[i];
      g_test_message ("%s", example->name);
      g_autoptr(GBytes) wire = bytes_from_hex (example->wire_hex);
      g_autoptr(GBytes) key = key_or_null (example->hmac_key);
      /* Twice in a row, so the test also sees that a read stops exactly
       * at the end of its message; the second time one byte per read. */
      GByteArray *twice = copy_wire (wire, G_MAXSIZE);
      g_byte_array_append (twice, g_bytes_get_data (wire, NULL), g_bytes_get_size (wire));
      g_autoptr(GBytes) twice_bytes = g_byte_array_free_to_bytes (twice);
      g_autoptr(GInputStream) in = test_input_stream_new (twice_bytes, 1, NULL);

      for (int round = 0; round < 2; round++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(PyroMessage) msg = pyro_message_read (in, 0, key, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (msg->type, ==, example->type);
          g_assert_cmpuint (msg->flags, ==, example->flags);
          g_assert_cmpuint (msg->seq, ==, example->seq);
          g_assert_cmpuint (msg->serializer_id, ==, example->serializer_id);
          g_autoptr(GBytes) body = bytes_from_string (example->body);
          pyro_test_assert_bytes_equal (msg->body, body);

          GBytes *corr = pyro_message_get_annotation (msg, "CORR");
          if (example->corr_hex != NULL)
            {
              g_autoptr(GBytes) expected_corr = bytes_from_hex (example->corr_hex);
              g_assert_nonnull (corr);
              pyro_test_assert_bytes_equal (corr, expected_corr);
            }
          else
            g_assert_null (corr);
          g_assert_cmpuint (pyro_message_n_annotations (msg), ==,
                            (example->corr_hex != NULL) + (example->hmac_key != NULL));

          /* What was read encodes back to the same bytes. */
          g_autoptr(GBytes) again = pyro_message_encode (msg, key);
          pyro_test_assert_bytes_equal (again, wire);
        }

      g_autoptr(GError) error = NULL;
      g_assert_null (pyro_message_read (in, 0, key, NULL, &error));
      pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED, "connection closed");
    }
}

/* ---- header ---------------------------------------------------------------- */

static void
test_checksum (void)
{
  static const struct
  {
    PyroHeader header;
    guint16    expected;
  } cases[] = {
    /* type, flags, seq, body_size, serializer, annotations_size */
    { { 1, 0x10, 0, 41, 2, 0 }, 0x3555 },            /* A.1 */
    { { 2, 0x10, 0, 0x4f, 2, 0x16 }, 0x3592 },       /* A.2 */
    { { 4, 0, 1, 0x44, 2, 0x1a }, 0x357e },          /* A.8 */
    { { 6, 0, 0, 4, 42, 0 }, 0x354d },               /* A.5 */
    { { 5, 0x21, 8, 0x95, 2, 0x2a }, 0x3608 },       /* A.9 */
    { { 5, 0x01, 2, 508, 2, 26 }, 0x3739 },          /* capture: exception reply */
    { { 0, 0, 0, 0, 0, 0 }, 0x3519 },                /* 48 + 0x34E9 */
    /* the sum passes 16 bits, and with the largest body 32 bits of terms */
    { { 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff }, (6 * 0xffff + 48 + 0x34E9) & 0xffff },
    { { 5, 0, 1, 0x7FFFFFFF, 2, 0xffff }, (5 + 1 + 0x7FFFFFFFu + 2 + 0xffff + 48 + 0x34E9) & 0xffff },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmphex (pyro_header_checksum (&cases[i].header), ==, cases[i].expected);
}

typedef enum
{
  PATCH_NONE,
  PATCH_MAGIC,        /* value: 4 bytes */
  PATCH_FIELD,        /* at offset, 16-bit, checksum fixed afterwards */
  PATCH_RAW_FIELD,    /* at offset, 16-bit, checksum left alone */
} PatchKind;

static void
test_header_errors (void)
{
  static const struct
  {
    const char *name;
    PatchKind   kind;
    const char *magic;
    gsize       offset;
    guint16     value;
    int         code;       /* -1: no error */
    const char *message;
  } cases[] = {
    { "http request", PATCH_MAGIC, "GET ", 4, 0x2f20, PYRO_ERROR_PROTOCOL,
      "invalid data or unsupported protocol version (expected magic 'PYRO' version 48, "
      "got magic 'GET ' version 12064)" },
    { "binary magic", PATCH_MAGIC, "\x00\x01\\\xff", 4, 48, PYRO_ERROR_PROTOCOL,
      "invalid data or unsupported protocol version (expected magic 'PYRO' version 48, "
      "got magic '\\x00\\x01\\x5c\\xff' version 48)" },
    { "version 47", PATCH_FIELD, NULL, 4, 47, PYRO_ERROR_PROTOCOL,
      "invalid data or unsupported protocol version (expected magic 'PYRO' version 48, "
      "got magic 'PYRO' version 47)" },
    { "bad checksum", PATCH_RAW_FIELD, NULL, 22, 0x1234, PYRO_ERROR_PROTOCOL,
      "header checksum mismatch (expected 0x3555, got 0x1234)" },
    { "flags changed, checksum not", PATCH_RAW_FIELD, NULL, 8, 0x11, PYRO_ERROR_PROTOCOL,
      "header checksum mismatch (expected 0x3556, got 0x3555)" },
    { "negative body size", PATCH_FIELD, NULL, 12, 0x8000, PYRO_ERROR_PROTOCOL,
      "invalid body size (2147483689 bytes announced, the protocol allows at most 2147483647)" },
    /* the reserved field is ignored and not part of the checksum */
    { "reserved field set", PATCH_RAW_FIELD, NULL, 20, 0x1234, -1, NULL },
    { "untouched", PATCH_NONE, NULL, 0, 0, -1, NULL },
  };

  g_autoptr(GBytes) original = example_wire ("A.1");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      g_autoptr(GByteArray) wire = copy_wire (original, G_MAXSIZE);
      switch (cases[i].kind)
        {
        case PATCH_MAGIC:
          memcpy (wire->data, cases[i].magic, 4);
          set_be16 (wire->data, cases[i].offset, cases[i].value);
          break;
        case PATCH_FIELD:
          set_be16 (wire->data, cases[i].offset, cases[i].value);
          fix_checksum (wire->data);
          break;
        case PATCH_RAW_FIELD:
          set_be16 (wire->data, cases[i].offset, cases[i].value);
          break;
        case PATCH_NONE:
          break;
        }

      /* pyro_header_decode() alone, then through a stream */
      PyroHeader header;
      g_autoptr(GError) decode_error = NULL;
      gboolean decoded = pyro_header_decode (wire->data, &header, &decode_error);

      g_autoptr(GBytes) bytes = g_bytes_new (wire->data, wire->len);
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (bytes, 0, NULL, &error);
      if (cases[i].code < 0)
        {
          g_assert_true (decoded);
          g_assert_no_error (decode_error);
          g_assert_cmpuint (header.body_size, ==, 41);
          g_assert_no_error (error);
          g_assert_nonnull (msg);
        }
      else
        {
          g_assert_false (decoded);
          pyro_test_assert_error_matches (decode_error, PYRO_ERROR, cases[i].code, cases[i].message);
          pyro_test_assert_error_matches (error, PYRO_ERROR, cases[i].code, cases[i].message);
          g_assert_null (msg);
        }
    }
}

/* ---- sizes and truncation -------------------------------------------------- */

/* A header announcing 2 GiB, followed by nothing: the limit must refuse it
 * before a byte of the body is allocated or read. */
static void
test_too_large_announced (void)
{
  g_autoptr(GBytes) original = example_wire ("A.3");
  g_autoptr(GByteArray) wire = copy_wire (original, PYRO_HEADER_SIZE);
  set_be16 (wire->data, 12, 0x7fff);
  set_be16 (wire->data, 14, 0xffff);
  fix_checksum (wire->data);

  g_autoptr(GBytes) bytes = g_bytes_new (wire->data, wire->len);
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroMessage) msg = pyro_message_read (in, 4096, NULL, NULL, &error);
  g_assert_null (msg);
  pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                        "message too large (2147483647 bytes announced, max 4096)");
  /* Nothing was read beyond the header. */
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (in)), ==, PYRO_HEADER_SIZE);
}

/* The limit counts annotations and body: A.4 has 22 + 1 bytes. */
static void
test_max_size_boundary (void)
{
  static const struct
  {
    gsize       max_size;
    const char *message;   /* NULL: accepted */
  } cases[] = {
    { 0, NULL },
    { 23, NULL },
    { 24, NULL },
    { 22, "message too large (23 bytes announced, max 22)" },
    { 1, "message too large (23 bytes announced, max 1)" },
  };

  g_autoptr(GBytes) wire = example_wire ("A.4");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (wire, cases[i].max_size, NULL, &error);
      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (msg);
        }
      else
        {
          g_assert_null (msg);
          pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE, cases[i].message);
        }
    }
}

static void
test_truncated (void)
{
  static const struct
  {
    gsize       len;
    const char *message;
  } cases[] = {
    { 0, "connection closed" },
    { 1, "receiving: not enough data (got 1 of 24 bytes)" },
    { 23, "receiving: not enough data (got 23 of 24 bytes)" },
    { 24, "receiving: not enough data (got 24 of 47 bytes)" },     /* header only */
    { 30, "receiving: not enough data (got 30 of 47 bytes)" },     /* inside the annotations */
    { 46, "receiving: not enough data (got 46 of 47 bytes)" },     /* body missing */
  };

  g_autoptr(GBytes) original = example_wire ("A.4");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) wire = copy_wire (original, cases[i].len);
      g_autoptr(GBytes) bytes = g_bytes_new (wire->data, wire->len);
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (bytes, 0, NULL, &error);
      g_assert_null (msg);
      pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED, cases[i].message);
    }
}

/* ---- stream errors --------------------------------------------------------- */

typedef struct
{
  int         io_code;
  const char *io_message;
  int         code;        /* of PYRO_ERROR, or of G_IO_ERROR for cancellation */
  const char *read_message;
  const char *write_message;
} StreamErrorCase;

static const StreamErrorCase stream_error_cases[] = {
  { G_IO_ERROR_TIMED_OUT, "Socket I/O timed out", PYRO_ERROR_TIMEOUT,
    "receiving: timeout", "sending: timeout" },
  { G_IO_ERROR_CONNECTION_CLOSED, "Connection reset by peer", PYRO_ERROR_CONNECTION_CLOSED,
    "receiving: connection lost: Connection reset by peer",
    "sending: connection lost: Connection reset by peer" },
  { G_IO_ERROR_FAILED, "Network is unreachable", PYRO_ERROR_COMMUNICATION,
    "receiving: Network is unreachable", "sending: Network is unreachable" },
  { G_IO_ERROR_CANCELLED, "Operation was cancelled",
    G_IO_ERROR_CANCELLED, "Operation was cancelled", "Operation was cancelled" },
};

static GQuark
case_domain (const StreamErrorCase *c)
{
  /* Cancellation keeps its GIO domain; everything else becomes PYRO_ERROR. */
  return c->io_code == G_IO_ERROR_CANCELLED ? G_IO_ERROR : PYRO_ERROR;
}

static void
test_read_stream_errors (void)
{
  g_autoptr(GBytes) wire = example_wire ("A.1");
  /* fail at once, inside the header, inside the body */
  static const gsize served[] = { 0, 10, 30 };

  for (gsize i = 0; i < G_N_ELEMENTS (stream_error_cases); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (served); j++)
      {
        const StreamErrorCase *c = &stream_error_cases[i];
        g_autoptr(GError) io_error = g_error_new_literal (G_IO_ERROR, c->io_code, c->io_message);
        g_autoptr(GBytes) prefix = g_bytes_new_from_bytes (wire, 0, served[j]);
        g_autoptr(GInputStream) in = test_input_stream_new (prefix, 7, io_error);
        g_autoptr(GError) error = NULL;
        g_autoptr(PyroMessage) msg = pyro_message_read (in, 0, NULL, NULL, &error);
        g_assert_null (msg);
        pyro_test_assert_error_matches (error, case_domain (c), c->code, c->read_message);
      }
}

static void
test_read_cancelled (void)
{
  g_autoptr(GBytes) wire = example_wire ("A.1");
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (wire);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroMessage) msg = pyro_message_read (in, 0, NULL, cancellable, &error);
  g_assert_null (msg);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_write (void)
{
  /* One write call carrying the whole message (a writev on sockets). */
  const Example *example = find_example ("A.8");
  g_autoptr(PyroMessage) msg = example_message (example);
  g_autoptr(GBytes) key = key_or_null (example->hmac_key);
  g_autoptr(GBytes) expected = bytes_from_hex (example->wire_hex);
  g_autoptr(GOutputStream) out = g_object_new (test_output_stream_get_type (), NULL);
  TestOutputStream *recorder = (TestOutputStream *) out;
  g_autoptr(GError) error = NULL;

  g_assert_true (pyro_message_write (out, msg, key, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (recorder->calls, ==, 1);
  g_assert_cmpmem (recorder->written->data, recorder->written->len,
                   g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

static void
test_write_stream_errors (void)
{
  g_autoptr(PyroMessage) msg = example_message (find_example ("A.1"));
  for (gsize i = 0; i < G_N_ELEMENTS (stream_error_cases); i++)
    {
      const StreamErrorCase *c = &stream_error_cases[i];
      g_autoptr(GOutputStream) out = g_object_new (test_output_stream_get_type (), NULL);
      ((TestOutputStream *) out)->error = g_error_new_literal (G_IO_ERROR, c->io_code, c->io_message);
      g_autoptr(GError) error = NULL;
      g_assert_false (pyro_message_write (out, msg, NULL, NULL, &error));
      pyro_test_assert_error_matches (error, case_domain (c), c->code, c->write_message);
    }
}

/* A body the 32-bit length cannot describe is refused before encoding.
 * The bytes are never touched, so a small buffer can claim a huge size. */
static void
test_write_too_large (void)
{
  if (sizeof (gsize) < 8)
    {
      g_test_skip ("needs a 64-bit gsize");
      return;
    }
  static const char small[16];
  g_autoptr(GBytes) huge = g_bytes_new_static (small, (gsize) PYRO_MAX_BODY_SIZE + 1);
  g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_RESULT, 0, 1, PYRO_SERIALIZER_JSON, huge);
  g_autoptr(GOutputStream) out = g_object_new (test_output_stream_get_type (), NULL);
  g_autoptr(GError) error = NULL;
  g_assert_false (pyro_message_write (out, msg, NULL, NULL, &error));
  pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                        "message too large (2147483648 bytes, the protocol allows at most 2147483647)");
  g_assert_cmpuint (((TestOutputStream *) out)->calls, ==, 0);
}

/* ---- annotations ----------------------------------------------------------- */

static void
test_annotations_api (void)
{
  g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_RESULT, 0, 1, PYRO_SERIALIZER_JSON, NULL);
  g_assert_cmpuint (g_bytes_get_size (msg->body), ==, 0);
  g_assert_null (pyro_message_get_annotation (msg, "CORR"));

  pyro_message_set_annotation (msg, "CORR", "1234", 4);
  pyro_message_set_annotation (msg, "ZZZZ", "", 0);
  pyro_message_set_annotation (msg, "AAAA", "a", 1);
  pyro_message_set_annotation (msg, "CORR", "replaced", 8);   /* last wins, place kept */

  g_assert_cmpuint (pyro_message_n_annotations (msg), ==, 3);
  g_assert_cmpstr (pyro_message_annotation_at (msg, 0)->key, ==, "CORR");
  g_assert_cmpstr (pyro_message_annotation_at (msg, 1)->key, ==, "ZZZZ");
  g_assert_cmpstr (pyro_message_annotation_at (msg, 2)->key, ==, "AAAA");
  GBytes *corr = pyro_message_get_annotation (msg, "CORR");
  g_assert_cmpmem (g_bytes_get_data (corr, NULL), g_bytes_get_size (corr), "replaced", 8);
  g_assert_cmpuint (g_bytes_get_size (pyro_message_get_annotation (msg, "ZZZZ")), ==, 0);

  /* Keys are exactly 4 characters: anything else is a programming error. */
  static const char *const bad_keys[] = { "COR", "CORRX", "" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_keys); i++)
    {
      g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
      pyro_message_set_annotation (msg, bad_keys[i], "x", 1);
      g_test_assert_expected_messages ();
    }
  g_assert_cmpuint (pyro_message_n_annotations (msg), ==, 3);
}

/* The annotation area is at most 65535 bytes, chunk heads included, and
 * leaves room for the HMAC chunk the encoder may add. */
static void
test_annotations_limit (void)
{
  g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_RESULT, 0, 1, PYRO_SERIALIZER_JSON, NULL);
  gsize largest = 65535 - 6 - 26;
  g_autoptr(GBytes) big = bytes_repeat ('b', largest + 1);

  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  pyro_message_set_annotation (msg, "BIG1", g_bytes_get_data (big, NULL), largest + 1);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (pyro_message_n_annotations (msg), ==, 0);

  pyro_message_set_annotation (msg, "BIG1", g_bytes_get_data (big, NULL), largest);
  g_assert_cmpuint (pyro_message_n_annotations (msg), ==, 1);

  g_test_expect_message ("pyro", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  pyro_message_set_annotation (msg, "MORE", "x", 1);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (pyro_message_n_annotations (msg), ==, 1);

  /* Replacing the big one with a smaller value is fine. */
  pyro_message_set_annotation (msg, "BIG1", g_bytes_get_data (big, NULL), largest - 7);
  pyro_message_set_annotation (msg, "MORE", "x", 1);

  /* With the HMAC chunk the area is exactly full, and reads back. */
  g_autoptr(GBytes) key = bytes_from_string ("secret");
  g_autoptr(GBytes) wire = pyro_message_encode (msg, key);
  g_assert_cmpuint (get_be16_at (g_bytes_get_data (wire, NULL), 18), ==, 65535);
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroMessage) back = read_from_bytes (wire, 0, key, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pyro_message_n_annotations (back), ==, 3);
}

static void
test_annotation_errors (void)
{
  static const struct
  {
    const char *name;
    const char *annotations_hex;
    const char *message;   /* NULL: accepted */
  } cases[] = {
    { "chunk one byte too long", "43 4f 52 52 00 05 01 02 03 04",
      "invalid annotations: chunk 'CORR' overruns the annotation area (5 bytes announced, 4 left)" },
    { "chunk claims 65535", "43 4f 52 52 ff ff 01 02 03 04",
      "invalid annotations: chunk 'CORR' overruns the annotation area (65535 bytes announced, 4 left)" },
    { "second chunk overruns", "41 41 41 41 00 01 61 42 42 42 42 00 02 62",
      "invalid annotations: chunk 'BBBB' overruns the annotation area (2 bytes announced, 1 left)" },
    { "binary key shown escaped", "00 ff 41 27 00 09 61",
      "invalid annotations: chunk '\\x00\\xffA\\x27' overruns the annotation area (9 bytes announced, 1 left)" },
    { "stray bytes", "41 42 43",
      "invalid annotations: 3 stray bytes at the end (a chunk needs at least 6)" },
    { "stray bytes after a chunk", "41 41 41 41 00 01 61 42 42 42 42 00",
      "invalid annotations: 5 stray bytes at the end (a chunk needs at least 6)" },
    { "chunk short by one byte", "41 41 41 41 00 02 61",
      "invalid annotations: chunk 'AAAA' overruns the annotation area (2 bytes announced, 1 left)" },
    { "empty values are fine", "41 41 41 41 00 00 42 42 42 42 00 00", NULL },
    { "duplicate key: last wins", "41 41 41 41 00 01 31 41 41 41 41 00 01 32", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      g_autoptr(GBytes) annotations = bytes_from_hex (cases[i].annotations_hex);
      g_autoptr(GBytes) wire = build_raw (PYRO_MSG_RESULT, 0, g_bytes_get_data (annotations, NULL),
                                          g_bytes_get_size (annotations), "42", 2);
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (wire, 0, NULL, &error);
      if (cases[i].message != NULL)
        {
          g_assert_null (msg);
          pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL, cases[i].message);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpmem (g_bytes_get_data (msg->body, NULL), g_bytes_get_size (msg->body), "42", 2);
        }
    }

  /* the duplicate: one entry, holding the second value */
  g_autoptr(GBytes) annotations = bytes_from_hex ("41 41 41 41 00 01 31 41 41 41 41 00 01 32");
  g_autoptr(GBytes) wire = build_raw (PYRO_MSG_RESULT, 0, g_bytes_get_data (annotations, NULL),
                                      g_bytes_get_size (annotations), "", 0);
  g_autoptr(PyroMessage) msg = read_from_bytes (wire, 0, NULL, NULL);
  g_assert_cmpuint (pyro_message_n_annotations (msg), ==, 1);
  g_assert_cmpmem (g_bytes_get_data (pyro_message_get_annotation (msg, "AAAA"), NULL), 1, "2", 1);
}

/* ---- HMAC ------------------------------------------------------------------ */

typedef enum
{
  TAMPER_NONE,
  TAMPER_LAST_BYTE,       /* the body's last byte */
  TAMPER_CORR,            /* first byte of the CORR value */
  TAMPER_HMAC_LENGTH,     /* HMAC chunk declares 19 bytes, one left over */
} Tamper;

static void
test_hmac (void)
{
  static const struct
  {
    const char *name;
    const char *example;
    const char *key;
    Tamper      tamper;
    const char *message;   /* NULL: accepted */
  } cases[] = {
    { "right key", "A.8", "secret", TAMPER_NONE, NULL },
    { "right key, CORR covered", "capture", "secret", TAMPER_NONE, NULL },
    { "wrong key", "A.8", "Secret", TAMPER_NONE, "message hmac mismatch*" },
    { "empty key", "A.8", "", TAMPER_NONE, "message hmac mismatch*" },
    { "body altered", "A.8", "secret", TAMPER_LAST_BYTE, "message hmac mismatch*" },
    { "CORR altered", "capture", "secret", TAMPER_CORR, "message hmac mismatch*" },
    { "HMAC of the wrong length", "A.8", "secret", TAMPER_HMAC_LENGTH, "message hmac mismatch*" },
    { "missing", "A.3", "secret", TAMPER_NONE, "hmac key config not symmetric*" },
    { "missing, CORR only", "A.4", "secret", TAMPER_NONE, "hmac key config not symmetric*" },
    { "unexpected", "A.8", NULL, TAMPER_NONE, "hmac key config not symmetric*" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      g_autoptr(GBytes) original = example_wire (cases[i].example);
      g_autoptr(GByteArray) wire = copy_wire (original, G_MAXSIZE);
      switch (cases[i].tamper)
        {
        case TAMPER_NONE:
          break;
        case TAMPER_LAST_BYTE:
          wire->data[wire->len - 1] ^= 0x01;
          break;
        case TAMPER_CORR:
          g_assert_cmpmem (wire->data + 24, 4, "CORR", 4);
          wire->data[30] ^= 0x80;
          break;
        case TAMPER_HMAC_LENGTH:
          /* A.8's HMAC chunk (at 24, 20 bytes) declared as 19 bytes, the
           * annotation area one byte shorter and the body one byte longer:
           * a well-formed message whose HMAC has the wrong length. */
          g_assert_cmpmem (wire->data + 24, 4, "HMAC", 4);
          set_be16 (wire->data, 28, 19);
          set_be16 (wire->data, 18, 25);
          set_be16 (wire->data, 14, get_be16_at (wire->data, 14) + 1);
          fix_checksum (wire->data);
          break;
        }
      g_autoptr(GBytes) bytes = g_bytes_new (wire->data, wire->len);
      g_autoptr(GBytes) key = key_or_null (cases[i].key);
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (bytes, 0, key, &error);
      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (msg);
        }
      else
        {
          g_assert_null (msg);
          pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_SECURITY, cases[i].message);
        }
    }
}

/* A message that already holds an HMAC (say, read from elsewhere) gets a
 * fresh one for the key it is sent with, and only one. */
static void
test_hmac_replaced (void)
{
  const Example *example = find_example ("A.8");
  g_autoptr(PyroMessage) msg = example_message (example);
  pyro_message_set_annotation (msg, "HMAC", "stale stale stale st", 20);
  g_autoptr(GBytes) key = bytes_from_string (example->hmac_key);
  g_autoptr(GBytes) wire = pyro_message_encode (msg, key);
  g_autoptr(GBytes) expected = bytes_from_hex (example->wire_hex);
  pyro_test_assert_bytes_equal (wire, expected);
}

/* Many annotations in no particular order, with and without a key: what
 * is written reads back the same, annotation order included. */
static void
test_round_trip (void)
{
  static const struct
  {
    guint16     type;
    guint16     flags;
    guint16     seq;
    guint16     serializer_id;
    guint       n_annotations;
    gsize       body_len;
    const char *key;
  } cases[] = {
    { PYRO_MSG_INVOKE, 0, 0, PYRO_SERIALIZER_JSON, 0, 0, NULL },
    { PYRO_MSG_INVOKE, PYRO_FLAG_ONEWAY | PYRO_FLAG_BATCH, 65535, PYRO_SERIALIZER_JSON, 1, 1, NULL },
    { PYRO_MSG_RESULT, PYRO_FLAG_EXCEPTION | PYRO_FLAG_ITEMSTREAMRESULT, 300, 7, 3, 100000, "k" },
    { PYRO_MSG_PING, 0x8000, 1, 42, 12, 10, "a rather long key, longer than the SHA-1 block size of 64 bytes" },
    { PYRO_MSG_RESULT, 0, 9, PYRO_SERIALIZER_JSON, 20, 1 << 20, "secret" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) body = bytes_repeat ('a' + i, cases[i].body_len);
      g_autoptr(PyroMessage) msg = pyro_message_new (cases[i].type, cases[i].flags, cases[i].seq,
                                                     cases[i].serializer_id, body);
      for (guint j = 0; j < cases[i].n_annotations; j++)
        {
          /* keys in descending order, values of varied length */
          char key[5];
          g_snprintf (key, sizeof key, "K%03u", 999 - j);
          g_autofree char *value = g_strdup_printf ("value %u of %u", j, cases[i].n_annotations);
          pyro_message_set_annotation (msg, key, value, strlen (value));
        }
      g_autoptr(GBytes) key = key_or_null (cases[i].key);
      g_autoptr(GBytes) wire = pyro_message_encode (msg, key);
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) back = read_from_bytes (wire, 0, key, &error);
      g_assert_no_error (error);

      g_assert_cmpuint (back->type, ==, cases[i].type);
      g_assert_cmpuint (back->flags, ==, cases[i].flags);
      g_assert_cmpuint (back->seq, ==, cases[i].seq);
      g_assert_cmpuint (back->serializer_id, ==, cases[i].serializer_id);
      pyro_test_assert_bytes_equal (back->body, body);
      g_assert_cmpuint (pyro_message_n_annotations (back), ==, cases[i].n_annotations + (cases[i].key != NULL));
      for (guint j = 0; j < cases[i].n_annotations; j++)
        {
          PyroAnnotation *sent = pyro_message_annotation_at (msg, j);
          PyroAnnotation *got = pyro_message_annotation_at (back, j);
          g_assert_cmpstr (got->key, ==, sent->key);
          pyro_test_assert_bytes_equal (got->value, sent->value);
        }
      if (cases[i].key != NULL)
        g_assert_cmpstr (pyro_message_annotation_at (back, cases[i].n_annotations)->key, ==, "HMAC");
    }
}

/* The body of a message is never compressed, so the flag is not sent. */
static void
test_encode_drops_compressed_flag (void)
{
  g_autoptr(GBytes) body = bytes_from_string ("{}");
  g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_CONNECTOK,
                                                 PYRO_FLAG_META_ON_CONNECT | PYRO_FLAG_COMPRESSED,
                                                 0, PYRO_SERIALIZER_JSON, body);
  g_autoptr(GBytes) wire = pyro_message_encode (msg, NULL);
  g_assert_cmphex (get_be16_at (g_bytes_get_data (wire, NULL), 8), ==, PYRO_FLAG_META_ON_CONNECT);
  g_autoptr(PyroMessage) back = read_from_bytes (wire, 0, NULL, NULL);
  pyro_test_assert_bytes_equal (back->body, body);
}

/* ---- compression ----------------------------------------------------------- */

static void
test_compressed (void)
{
  g_autoptr(GBytes) text = bytes_repeat ('x', 5000);
  g_autoptr(GBytes) compressed = zlib_compress (text);
  gsize compressed_len = g_bytes_get_size (compressed);
  g_assert_cmpuint (compressed_len, <, 100);
  g_assert_cmphex (((const guint8 *) g_bytes_get_data (compressed, NULL))[0], ==, 0x78);

  /* flag cleared, other flags kept; the HMAC covers the compressed bytes */
  static const char *const keys[] = { NULL, "secret" };
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(GBytes) key = key_or_null (keys[i]);
      g_autoptr(GBytes) wire = wire_with_compressed_body (compressed, PYRO_FLAG_META_ON_CONNECT, key);
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (wire, 0, key, &error);
      g_assert_no_error (error);
      g_assert_cmphex (msg->flags, ==, PYRO_FLAG_META_ON_CONNECT);
      pyro_test_assert_bytes_equal (msg->body, text);
    }

  /* the limit applies to the inflated body: exactly 5000 is fine, 4999 not */
  static const struct
  {
    gsize max_size;
    gboolean ok;
  } limits[] = { { 0, TRUE }, { 5000, TRUE }, { 5001, TRUE }, { 4999, FALSE }, { 200, FALSE } };
  g_autoptr(GBytes) wire = wire_with_compressed_body (compressed, 0, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (wire, limits[i].max_size, NULL, &error);
      if (limits[i].ok)
        {
          g_assert_no_error (error);
          pyro_test_assert_bytes_equal (msg->body, text);
        }
      else
        pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                              "message too large (compressed body of * bytes inflates beyond the max of *)");
    }
}

/* 64 MiB of zeros fit in about 64 KiB of zlib: a limit of 1 MiB must stop
 * the inflating early instead of allocating 64 MiB. */
static void
test_zip_bomb (void)
{
  g_autoptr(GBytes) zeros = bytes_repeat ('\0', 64 << 20);
  g_autoptr(GBytes) compressed = zlib_compress (zeros);
  g_clear_pointer (&zeros, g_bytes_unref);
  g_assert_cmpuint (g_bytes_get_size (compressed), <, 1 << 20);

  g_autoptr(GBytes) wire = wire_with_compressed_body (compressed, 0, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroMessage) msg = read_from_bytes (wire, 1 << 20, NULL, &error);
  g_assert_null (msg);
  pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                        "message too large (compressed body of * bytes inflates beyond the max of 1048576)");
}

static void
test_compressed_errors (void)
{
  g_autoptr(GBytes) text = bytes_from_string ("{\"handshake\": \"hello\", \"object\": \"thing\"}");
  g_autoptr(GBytes) compressed = zlib_compress (text);
  gsize len = g_bytes_get_size (compressed);

  g_autoptr(GBytes) garbage = bytes_from_string ("this is not zlib data");
  g_autoptr(GBytes) cut = g_bytes_new_from_bytes (compressed, 0, len - 5);
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  GByteArray *trailing_array = copy_wire (compressed, G_MAXSIZE);
  g_byte_array_append (trailing_array, (const guint8 *) "junk", 4);
  g_autoptr(GBytes) trailing = g_byte_array_free_to_bytes (trailing_array);

  struct
  {
    const char *name;
    GBytes     *body;
    const char *message;   /* NULL: accepted, inflating to @text */
  } cases[] = {
    { "not zlib", garbage, "invalid compressed body: *" },
    { "cut short", cut, "invalid compressed body: the zlib stream is cut short" },
    { "empty", empty, "invalid compressed body: the zlib stream is cut short" },
    /* as Python's zlib.decompress(): bytes after the stream are ignored */
    { "trailing bytes", trailing, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      g_autoptr(GBytes) wire = wire_with_compressed_body (cases[i].body, 0, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (wire, 0, NULL, &error);
      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          pyro_test_assert_bytes_equal (msg->body, text);
        }
      else
        {
          g_assert_null (msg);
          pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL, cases[i].message);
        }
    }
}

/* ---- Python's Pyro4.message.Message ---------------------------------------- */

/* Builds a message with Pyro4's own class and writes its bytes. */
static const char PYRO4_ENCODE[] =
  "import sys, zlib\n"
  "from Pyro4.message import Message\n"
  "kind, key = sys.argv[1], sys.argv[2].encode() or None\n"
  "body = '{\"\\u00e9t\\u00e9\": [1, 2, 3], \"text\": \"' + 'abc' * 200 + '\"}'\n"
  "data, flags = body.encode(), 0x10\n"
  "if kind == 'compressed':\n"
  "    data, flags = zlib.compress(data), flags | 0x02\n"
  "ann = {'ZZZZ': b'last', 'CORR': bytes(range(16)), 'AAAA': b'', 'MMMM': b'middle'}\n"
  "m = Message(5, data, 2, flags, 4242, annotations=ann, hmac_key=key)\n"
  "sys.stdout.buffer.write(m.to_bytes())\n";

static void
test_python_encodes (void)
{
  static const struct
  {
    const char *kind;
    const char *key;
  } cases[] = {
    { "plain", "" },
    { "plain", "secret" },
    { "compressed", "" },
    { "compressed", "secret" },
  };
  static const char *const keys_in_order[] = { "ZZZZ", "CORR", "AAAA", "MMMM" };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s, key '%s'", cases[i].kind, cases[i].key);
      const char *args[] = { cases[i].kind, cases[i].key, NULL };
      g_autoptr(GBytes) wire = run_python (PYRO4_ENCODE, args, NULL);
      g_autoptr(GBytes) key = cases[i].key[0] != '\0' ? bytes_from_string (cases[i].key) : NULL;

      g_autoptr(GError) error = NULL;
      g_autoptr(PyroMessage) msg = read_from_bytes (wire, 0, key, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (msg->type, ==, PYRO_MSG_RESULT);
      g_assert_cmphex (msg->flags, ==, PYRO_FLAG_META_ON_CONNECT);
      g_assert_cmpuint (msg->seq, ==, 4242);
      g_autoptr(GString) expected_body = g_string_new ("{\"\xc3\xa9t\xc3\xa9\": [1, 2, 3], \"text\": \"");
      for (int j = 0; j < 200; j++)
        g_string_append (expected_body, "abc");
      g_string_append (expected_body, "\"}");
      g_assert_cmpmem (g_bytes_get_data (msg->body, NULL), g_bytes_get_size (msg->body),
                       expected_body->str, expected_body->len);
      g_assert_cmpuint (pyro_message_n_annotations (msg), ==, 4 + (key != NULL));
      for (gsize j = 0; j < G_N_ELEMENTS (keys_in_order); j++)
        g_assert_cmpstr (pyro_message_annotation_at (msg, j)->key, ==, keys_in_order[j]);

      /* Uncompressed, our encoder produces the very same bytes. */
      if (g_str_equal (cases[i].kind, "plain"))
        {
          g_autoptr(GBytes) ours = pyro_message_encode (msg, key);
          pyro_test_assert_bytes_equal (ours, wire);
        }
    }
}

/* Reads our bytes with Pyro4's own class and prints what it saw. */
static const char PYRO4_DECODE[] =
  "import sys, io\n"
  "from Pyro4.message import Message\n"
  "key = sys.argv[1].encode() or None\n"
  "stream = io.BytesIO(sys.stdin.buffer.read())\n"
  "class Connection:\n"
  "    def recv(self, n):\n"
  "        return stream.read(n)\n"
  "m = Message.recv(Connection(), hmac_key=key)\n"
  "keys = ','.join(m.annotations.keys())\n"
  "seen = '|'.join(map(str, [m.type, m.flags, m.seq, m.serializer_id, keys, m.data.decode()]))\n"
  "sys.stdout.buffer.write(seen.encode('utf-8'))\n";

static void
test_python_decodes (void)
{
  static const char *const keys[] = { "", "secret" };
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(GBytes) body = bytes_from_string ("{\"object\": \"thing\", \"method\": \"\xe2\x9c\x93\"}");
      g_autoptr(PyroMessage) msg = pyro_message_new (PYRO_MSG_INVOKE, PYRO_FLAG_ONEWAY, 513,
                                                     PYRO_SERIALIZER_JSON, body);
      pyro_message_set_annotation (msg, "ZZZZ", "z", 1);
      pyro_message_set_annotation (msg, "CORR", "0123456789abcdef", 16);
      pyro_message_set_annotation (msg, "AAAA", "a", 1);
      g_autoptr(GBytes) key = keys[i][0] != '\0' ? bytes_from_string (keys[i]) : NULL;
      g_autoptr(GBytes) wire = pyro_message_encode (msg, key);

      const char *args[] = { keys[i], NULL };
      g_autoptr(GBytes) out = run_python (PYRO4_DECODE, args, wire);
      /* (the body's bytes have no NUL after them) */
      g_autofree char *expected = g_strdup_printf ("4|4|513|2|ZZZZ,CORR,AAAA%s|%.*s",
                                                   key != NULL ? ",HMAC" : "",
                                                   (int) g_bytes_get_size (body),
                                                   (const char *) g_bytes_get_data (body, NULL));
      g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), expected, strlen (expected));
    }
}

/* ---- marshal strings ------------------------------------------------------- */

typedef struct
{
  const char *unit;        /* repeated @count times */
  gsize       count;
  const char *head_hex;    /* the bytes before the text */
} MarshalCase;

static const MarshalCase marshal_cases[] = {
  { "", 1, "fa 00" },
  { "header checksum mismatch", 1, "fa 18" },          /* A.6 */
  { "x", 255, "fa ff" },
  { "x", 256, "e1 00 01 00 00" },
  { "no free workers ", 1000, "e1 80 3e 00 00" },      /* 16000 bytes */
  { "h\xc3\xa9llo", 1, "f5 06 00 00 00" },
  { "\xe2\x9c\x93", 100, "f5 2c 01 00 00" },           /* 300 bytes, 100 characters */
  { "\xf0\x9f\x90\x8d", 1, "f5 04 00 00 00" },          /* outside the BMP */
};

static char *
marshal_case_text (const MarshalCase *c)
{
  GString *text = g_string_new (NULL);
  for (gsize i = 0; i < c->count; i++)
    g_string_append (text, c->unit);
  return g_string_free (text, FALSE);
}

static void
test_marshal_write (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (marshal_cases); i++)
    {
      g_autofree char *text = marshal_case_text (&marshal_cases[i]);
      g_autoptr(GBytes) head = bytes_from_hex (marshal_cases[i].head_hex);
      GByteArray *expected_array = copy_wire (head, G_MAXSIZE);
      g_byte_array_append (expected_array, (const guint8 *) text, strlen (text));
      g_autoptr(GBytes) expected = g_byte_array_free_to_bytes (expected_array);

      g_autoptr(GBytes) encoded = pyro_marshal_string (text);
      pyro_test_assert_bytes_equal (encoded, expected);

      g_autoptr(GError) error = NULL;
      g_autofree char *back = pyro_marshal_parse_string (encoded, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (back, ==, text);
    }

  /* the A.6 body, byte for byte */
  const Example *a6 = find_example ("A.6");
  g_autoptr(GBytes) body = bytes_from_string (a6->body);
  g_autoptr(GBytes) ours = pyro_marshal_string ("header checksum mismatch");
  pyro_test_assert_bytes_equal (ours, body);
}

static void
test_marshal_parse (void)
{
  static const struct
  {
    const char *hex;
    const char *text;      /* NULL: an error ... */
    const char *message;   /* ... matching this */
  } cases[] = {
    { "fa 02 68 69", "hi" },                     /* z with the ref flag */
    { "7a 02 68 69", "hi" },                     /* z */
    { "da 02 68 69", "hi" },                     /* Z (interned) with the ref flag */
    { "5a 02 68 69", "hi" },
    { "e1 02 00 00 00 68 69", "hi" },            /* a */
    { "41 02 00 00 00 68 69", "hi" },            /* A */
    { "c1 02 00 00 00 68 69", "hi" },
    { "f5 02 00 00 00 c3 a9", "\xc3\xa9" },      /* u */
    { "75 00 00 00 00", "" },
    { "f4 03 00 00 00 61 62 63", "abc" },        /* t */
    { "fa 02 68 69 ff ff", "hi" },               /* trailing bytes ignored, as Python does */
    { "", NULL, "invalid marshal data: empty, expected a str" },
    { "4e", NULL, "invalid marshal data: expected a str, got type byte 0x4e" },          /* None */
    { "f3 02 00 00 00 68 69", NULL, "invalid marshal data: expected a str, got type byte 0xf3" }, /* bytes */
    { "fa", NULL, "invalid marshal data: str header cut short (1 of 2 bytes)" },
    { "e1 02 00", NULL, "invalid marshal data: str header cut short (3 of 5 bytes)" },
    { "fa 05 68 69", NULL, "invalid marshal data: str of 5 bytes announced, 2 present" },
    { "e1 ff ff ff ff 68", NULL, "invalid marshal data: str of 4294967295 bytes announced, 1 present" },
    { "fa 02 c3 a9", NULL, "invalid marshal data: str is not valid ASCII (or holds a NUL)" },
    { "f5 02 00 00 00 c3 28", NULL, "invalid marshal data: str is not valid UTF-8 (or holds a NUL)" },
    { "fa 03 61 00 62", NULL, "invalid marshal data: str is not valid ASCII (or holds a NUL)" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].hex);
      g_autoptr(GBytes) data = bytes_from_hex (cases[i].hex);
      g_autoptr(GError) error = NULL;
      g_autofree char *text = pyro_marshal_parse_string (data, &error);
      if (cases[i].text != NULL)
        {
          g_assert_no_error (error);
          g_assert_cmpstr (text, ==, cases[i].text);
        }
      else
        {
          g_assert_null (text);
          pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL, cases[i].message);
        }
    }
}

/* Python marshals, we parse; we marshal, Python parses.  The text travels
 * to Python on stdin as UTF-8, whatever the locale. */
static const char MARSHAL_DUMPS[] =
  "import marshal, sys\n"
  "s = sys.stdin.buffer.read().decode('utf-8')\n"
  "sys.stdout.buffer.write(marshal.dumps(sys.intern(s) if sys.argv[1] == 'interned' else s))\n";

static const char MARSHAL_LOADS[] =
  "import marshal, sys\n"
  "s = marshal.loads(sys.stdin.buffer.read())\n"
  "assert type(s) is str, type(s)\n"
  "sys.stdout.buffer.write(s.encode('utf-8'))\n";

static void
test_marshal_python (void)
{
  static const char *const forms[] = { "plain", "interned" };
  for (gsize i = 0; i < G_N_ELEMENTS (marshal_cases); i++)
    for (gsize f = 0; f < G_N_ELEMENTS (forms); f++)
      {
        g_autofree char *text = marshal_case_text (&marshal_cases[i]);
        g_autoptr(GBytes) text_bytes = bytes_from_string (text);

        const char *args[] = { forms[f], NULL };
        g_autoptr(GBytes) from_python = run_python (MARSHAL_DUMPS, args, text_bytes);
        g_autoptr(GError) error = NULL;
        g_autofree char *parsed = pyro_marshal_parse_string (from_python, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (parsed, ==, text);

        if (f == 0)
          {
            g_autoptr(GBytes) ours = pyro_marshal_string (text);
            g_autoptr(GBytes) loaded = run_python (MARSHAL_LOADS, NULL, ours);
            pyro_test_assert_bytes_equal (loaded, text_bytes);
          }
      }
}

/* ---- writing a body without a message ------------------------------------ */

static gboolean
append_vectors (gpointer sink, GOutputVector *vectors, gsize n_vectors, GCancellable *cancellable, GError **error)
{
  for (gsize i = 0; i < n_vectors; i++)
    g_byte_array_append (sink, vectors[i].buffer, vectors[i].size);
  return TRUE;
}

/* pyro_message_write_with_body_to() sends exactly the bytes of the
 * message whose body it is given, with and without annotations and an
 * HMAC key; and refuses a cancelled write. */
static void
test_write_body (void)
{
  static const struct { guint16 type, flags, seq; const char *body; } rows[] = {
    { PYRO_MSG_INVOKE, 0, 1, "{\"object\": \"x\", \"method\": \"add\", \"params\": [1, 2], \"kwargs\": {}}" },
    { PYRO_MSG_RESULT, PYRO_FLAG_EXCEPTION, 65535, "{\"__class__\": \"ValueError\"}" },
    { PYRO_MSG_INVOKE, PYRO_FLAG_ONEWAY | PYRO_FLAG_BATCH, 7, "[]" },
    { PYRO_MSG_RESULT, 0, 0, "" },
  };
  g_autoptr(GBytes) key = g_bytes_new_static ("secret", 6);

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    for (int variant = 0; variant < 4; variant++)
      {
        gboolean with_key = variant & 1, with_annotation = variant & 2;
        gsize len = strlen (rows[i].body);
        g_autoptr(PyroMessage) msg = pyro_message_new_take (rows[i].type, rows[i].flags, rows[i].seq,
                                                            PYRO_SERIALIZER_JSON, g_strdup (rows[i].body), len);
        g_autoptr(PyroMessage) head = pyro_message_new (rows[i].type, rows[i].flags, rows[i].seq,
                                                        PYRO_SERIALIZER_JSON, NULL);
        if (with_annotation)
          {
            pyro_message_set_annotation (msg, "CORR", "0123456789abcdef", 16);
            pyro_message_set_annotation (head, "CORR", "0123456789abcdef", 16);
          }
        g_autoptr(GBytes) expected = pyro_message_encode (msg, with_key ? key : NULL);
        g_autoptr(GByteArray) written = g_byte_array_new ();
        g_autoptr(GError) error = NULL;

        /* @head's own (empty) body is not what is sent. */
        g_assert_true (pyro_message_write_with_body_to (append_vectors, written, head, rows[i].body, len,
                                                        with_key ? key : NULL, NULL, &error));
        g_assert_no_error (error);
        g_assert_cmpmem (written->data, written->len,
                         g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
      }

  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autoptr(GByteArray) written = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_cancellable_cancel (cancelled);
  const PyroMessage result = { .type = PYRO_MSG_RESULT, .seq = 1, .serializer_id = PYRO_SERIALIZER_JSON };
  g_assert_false (pyro_message_write_with_body_to (append_vectors, written, &result, "1", 1, NULL, cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (written->len, ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pyro/message/encode/examples", test_encode_examples);
  g_test_add_func ("/pyro/message/decode/examples", test_decode_examples);
  g_test_add_func ("/pyro/message/header/checksum", test_checksum);
  g_test_add_func ("/pyro/message/header/errors", test_header_errors);
  g_test_add_func ("/pyro/message/read/too-large-announced", test_too_large_announced);
  g_test_add_func ("/pyro/message/read/max-size-boundary", test_max_size_boundary);
  g_test_add_func ("/pyro/message/read/truncated", test_truncated);
  g_test_add_func ("/pyro/message/read/stream-errors", test_read_stream_errors);
  g_test_add_func ("/pyro/message/read/cancelled", test_read_cancelled);
  g_test_add_func ("/pyro/message/write/one-write", test_write);
  g_test_add_func ("/pyro/message/write/stream-errors", test_write_stream_errors);
  g_test_add_func ("/pyro/message/write/too-large", test_write_too_large);
  g_test_add_func ("/pyro/message/annotations/api", test_annotations_api);
  g_test_add_func ("/pyro/message/annotations/limit", test_annotations_limit);
  g_test_add_func ("/pyro/message/annotations/errors", test_annotation_errors);
  g_test_add_func ("/pyro/message/hmac/check", test_hmac);
  g_test_add_func ("/pyro/message/hmac/replaced", test_hmac_replaced);
  g_test_add_func ("/pyro/message/round-trip", test_round_trip);
  g_test_add_func ("/pyro/message/encode/no-compressed-flag", test_encode_drops_compressed_flag);
  g_test_add_func ("/pyro/message/compressed/inflate", test_compressed);
  g_test_add_func ("/pyro/message/compressed/zip-bomb", test_zip_bomb);
  g_test_add_func ("/pyro/message/compressed/errors", test_compressed_errors);
  g_test_add_func ("/pyro/message/python/pyro4-encodes", test_python_encodes);
  g_test_add_func ("/pyro/message/python/pyro4-decodes", test_python_decodes);
  g_test_add_func ("/pyro/message/write-body", test_write_body);
  g_test_add_func ("/pyro/message/marshal/write", test_marshal_write);
  g_test_add_func ("/pyro/message/marshal/parse", test_marshal_parse);
  g_test_add_func ("/pyro/message/marshal/python", test_marshal_python);

  return g_test_run ();
}
