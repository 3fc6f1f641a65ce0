/* pyro-message.c: the Pyro4 wire message (protocol 48).
 *
 * Turns a PyroMessage into the bytes Pyro4 puts on the wire and back:
 * the 24-byte header with its checksum, the annotation chunks, the body,
 * the optional HMAC chunk and the optional zlib compression.  Section 2 of
 * the protocol notes is the specification; Appendix A has whole messages.
 *
 * Reading is where a peer can hurt us, so pyro_message_read() checks
 * everything it can before it trusts a number from the wire: the header
 * checksum before the sizes, the size limit before any allocation, each
 * annotation chunk against the annotation area, and the inflated size of
 * a compressed body against the same limit.
 *
 * Also here: Python's marshal encoding of a str, because Pyro4 daemons
 * answer early handshake failures in marshal whatever the client speaks.
 */
#define _GNU_SOURCE  /* mremap(), where the system has it (Linux) */
#include "pyro-message-private.h"

#include <pyro/pyro-error.h>
#include <string.h>
#include <sys/mman.h>

#define MAGIC                 "PYRO"
#define CHUNK_HEAD_SIZE       6     /* 4-byte key + 2-byte length */
#define HMAC_KEY              "HMAC"
#define HMAC_DIGEST_SIZE      20    /* SHA-1 */
#define HMAC_CHUNK_SIZE       (CHUNK_HEAD_SIZE + HMAC_DIGEST_SIZE)
#define MAX_ANNOTATIONS_SIZE  G_MAXUINT16

/* ---- big-endian helpers ---------------------------------------------------- */

static inline guint16
get_be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static inline guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline guint8 *
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
  return p + 2;
}

static inline guint8 *
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
  return p + 4;
}

/* ---- construction ---------------------------------------------------------- */

static void
annotation_clear (gpointer data)
{
  PyroAnnotation *annotation = data;
  g_clear_pointer (&annotation->value, g_bytes_unref);
}

static PyroMessage *
message_new_with_body (PyroMessageType type,
                       guint16         flags,
                       guint16         seq,
                       guint16         serializer_id,
                       GBytes         *body)   /* (transfer full) */
{
  PyroMessage *msg = g_new0 (PyroMessage, 1);
  msg->type = type;
  msg->flags = flags;
  msg->seq = seq;
  msg->serializer_id = serializer_id;
  msg->annotations = NULL;  /* made by the first annotation: most messages have none */
  msg->body = body;
  return msg;
}

PyroMessage *
pyro_message_new (PyroMessageType type,
                  guint16         flags,
                  guint16         seq,
                  guint16         serializer_id,
                  GBytes         *body)
{
  return message_new_with_body (type, flags, seq, serializer_id,
                                body != NULL ? g_bytes_ref (body) : g_bytes_new (NULL, 0));
}

PyroMessage *
pyro_message_new_take (PyroMessageType type,
                       guint16         flags,
                       guint16         seq,
                       guint16         serializer_id,
                       char           *data,
                       gsize           len)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);

  return message_new_with_body (type, flags, seq, serializer_id, g_bytes_new_take (data, len));
}

void
pyro_message_free (PyroMessage *msg)
{
  if (msg == NULL)
    return;
  g_clear_pointer (&msg->annotations, g_array_unref);
  g_clear_pointer (&msg->body, g_bytes_unref);  /* NULL only while reading */
  g_free (msg);
}

/* ---- annotations ----------------------------------------------------------- */

guint
pyro_message_n_annotations (const PyroMessage *msg)
{
  return msg->annotations != NULL ? msg->annotations->len : 0;
}

PyroAnnotation *
pyro_message_annotation_at (const PyroMessage *msg, guint i)
{
  g_return_val_if_fail (i < pyro_message_n_annotations (msg), NULL);
  return &g_array_index (msg->annotations, PyroAnnotation, i);
}

static PyroAnnotation *
find_annotation (const PyroMessage *msg, const char *key)
{
  for (guint i = 0; i < pyro_message_n_annotations (msg); i++)
    {
      PyroAnnotation *annotation = pyro_message_annotation_at (msg, i);
      if (memcmp (annotation->key, key, 4) == 0)
        return annotation;
    }
  return NULL;
}

/* Bytes the annotation chunks take on the wire, chunk heads included;
 * @skip_hmac leaves out an HMAC chunk that encoding will replace. */
static gsize
annotations_wire_size (const PyroMessage *msg, gboolean skip_hmac)
{
  gsize size = 0;
  for (guint i = 0; i < pyro_message_n_annotations (msg); i++)
    {
      const PyroAnnotation *annotation = pyro_message_annotation_at (msg, i);
      if (skip_hmac && memcmp (annotation->key, HMAC_KEY, 4) == 0)
        continue;
      size += CHUNK_HEAD_SIZE + g_bytes_get_size (annotation->value);
    }
  return size;
}

/* Stores @value (transfer full) under @key; a key seen before keeps its
 * place and takes the new value, as a Python dict would. */
static void
store_annotation (PyroMessage *msg, const char *key, GBytes *value)
{
  PyroAnnotation *existing = find_annotation (msg, key);
  if (existing != NULL)
    {
      g_bytes_unref (existing->value);
      existing->value = value;
      return;
    }

  PyroAnnotation annotation;
  memcpy (annotation.key, key, 4);
  annotation.key[4] = '\0';
  annotation.value = value;
  if (msg->annotations == NULL)
    {
      msg->annotations = g_array_new (FALSE, FALSE, sizeof (PyroAnnotation));
      g_array_set_clear_func (msg->annotations, annotation_clear);
    }
  g_array_append_val (msg->annotations, annotation);
}

/* The annotation area must fit the 16-bit header field even after encoding
 * adds its HMAC chunk, so other annotations leave room for one. */
void
pyro_message_set_annotation (PyroMessage *msg, const char *key, const void *data, gsize len)
{
  g_return_if_fail (msg != NULL);
  g_return_if_fail (key != NULL && strlen (key) == 4);
  g_return_if_fail (data != NULL || len == 0);

  PyroAnnotation *existing = find_annotation (msg, key);
  gsize others = annotations_wire_size (msg, TRUE);
  if (existing != NULL && memcmp (key, HMAC_KEY, 4) != 0)
    others -= CHUNK_HEAD_SIZE + g_bytes_get_size (existing->value);
  g_return_if_fail (others + CHUNK_HEAD_SIZE + len <= MAX_ANNOTATIONS_SIZE - HMAC_CHUNK_SIZE);

  store_annotation (msg, key, g_bytes_new (data, len));
}

GBytes *
pyro_message_get_annotation (const PyroMessage *msg, const char *key)
{
  g_return_val_if_fail (msg != NULL, NULL);
  g_return_val_if_fail (key != NULL && strlen (key) == 4, NULL);

  PyroAnnotation *annotation = find_annotation (msg, key);
  return annotation != NULL ? annotation->value : NULL;
}

/* ---- header ---------------------------------------------------------------- */

guint16
pyro_header_checksum (const PyroHeader *header)
{
  g_assert (header != NULL);

  /* Python adds plain integers and masks at the end; unsigned arithmetic
   * wraps modulo 2^32, which leaves the low 16 bits the same. */
  guint32 sum = header->type + PYRO_PROTOCOL_VERSION + header->body_size +
                header->annotations_size + header->serializer_id +
                header->flags + header->seq + PYRO_CHECKSUM_MAGIC;
  return sum & 0xffff;
}

/* @bytes as text for an error message: printable ASCII as is, the rest as
 * \xNN, so that garbage from the wire cannot garble the message. */
static char *
describe_raw_bytes (const guint8 *bytes, gsize len)
{
  GString *text = g_string_sized_new (len * 4);
  for (gsize i = 0; i < len; i++)
    {
      if (bytes[i] >= 0x20 && bytes[i] < 0x7f && bytes[i] != '\\' && bytes[i] != '\'')
        g_string_append_c (text, bytes[i]);
      else
        g_string_append_printf (text, "\\x%02x", bytes[i]);
    }
  return g_string_free (text, FALSE);
}

gboolean
pyro_header_decode (const guint8  bytes[PYRO_HEADER_SIZE],
                    PyroHeader   *header,
                    GError      **error)
{
  g_assert (bytes != NULL);
  g_assert (header != NULL);

  /* Pyro4 gives one text for both; ours also says what came, which is
   * what one needs to see when an HTTP client knocks on a Pyro port. */
  guint16 version = get_be16 (bytes + 4);
  if (memcmp (bytes, MAGIC, 4) != 0 || version != PYRO_PROTOCOL_VERSION)
    {
      g_autofree char *magic = describe_raw_bytes (bytes, 4);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "invalid data or unsupported protocol version "
                   "(expected magic '%s' version %u, got magic '%s' version %u)",
                   MAGIC, PYRO_PROTOCOL_VERSION, magic, version);
      return FALSE;
    }

  header->type = get_be16 (bytes + 6);
  header->flags = get_be16 (bytes + 8);
  header->seq = get_be16 (bytes + 10);
  header->body_size = get_be32 (bytes + 12);
  header->serializer_id = get_be16 (bytes + 16);
  header->annotations_size = get_be16 (bytes + 18);
  /* bytes 20-21 are reserved: ignored, and not part of the checksum. */

  guint16 expected = pyro_header_checksum (header);
  guint16 got = get_be16 (bytes + 22);
  if (got != expected)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "header checksum mismatch (expected 0x%04x, got 0x%04x)", expected, got);
      return FALSE;
    }

  /* The field is a signed 32-bit number in Python; a "negative" length is
   * nothing a sane peer sends. */
  if (header->body_size > PYRO_MAX_BODY_SIZE)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "invalid body size (%u bytes announced, the protocol allows at most %u)",
                   header->body_size, (guint) PYRO_MAX_BODY_SIZE);
      return FALSE;
    }
  return TRUE;
}

/* ---- HMAC ------------------------------------------------------------------ */

static int
compare_annotation_keys (gconstpointer a, gconstpointer b)
{
  const PyroAnnotation *const *x = a;
  const PyroAnnotation *const *y = b;
  return memcmp ((*x)->key, (*y)->key, 4);
}

/* Pyro4's HMAC (section 2.7): SHA-1 over the body as transmitted, then the
 * values of every other annotation in key order.  Writes 20 bytes. */
static void
compute_hmac (const PyroMessage *msg,
              const guint8      *body_data,
              gsize              body_len,
              GBytes            *key,
              guint8             digest[HMAC_DIGEST_SIZE])
{
  gsize key_len;
  const guint8 *key_data = g_bytes_get_data (key, &key_len);
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA1, key_data, key_len);

  g_hmac_update (hmac, body_data, body_len);

  /* Messages carry a handful of annotations; the heap is for the odd one
   * with many. */
  guint n = pyro_message_n_annotations (msg);
  const PyroAnnotation *on_stack[8];
  g_autofree const PyroAnnotation **on_heap = n > G_N_ELEMENTS (on_stack) ? g_new (const PyroAnnotation *, n) : NULL;
  const PyroAnnotation **sorted = on_heap != NULL ? on_heap : on_stack;
  for (guint i = 0; i < n; i++)
    sorted[i] = pyro_message_annotation_at (msg, i);
  qsort (sorted, n, sizeof sorted[0], compare_annotation_keys);

  for (guint i = 0; i < n; i++)
    {
      if (memcmp (sorted[i]->key, HMAC_KEY, 4) == 0)
        continue;
      gsize len;
      const guint8 *data = g_bytes_get_data (sorted[i]->value, &len);
      g_hmac_update (hmac, data, len);
    }

  gsize digest_len = HMAC_DIGEST_SIZE;
  g_hmac_get_digest (hmac, digest, &digest_len);
  g_assert (digest_len == HMAC_DIGEST_SIZE);
}

/* Compares in time that does not depend on where the bytes differ, so an
 * attacker cannot guess a valid HMAC byte by byte from response times. */
static gboolean
equal_in_constant_time (const guint8 *a, const guint8 *b, gsize len)
{
  guint8 difference = 0;
  for (gsize i = 0; i < len; i++)
    difference |= a[i] ^ b[i];
  return difference == 0;
}

static gboolean
check_hmac (const PyroMessage *msg, GBytes *body, GBytes *key, GError **error)
{
  GBytes *received = pyro_message_get_annotation (msg, HMAC_KEY);
  if ((key != NULL) != (received != NULL))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_SECURITY,
                   "hmac key config not symmetric (%s)",
                   key != NULL ? "we have an HMAC key, the message carries no HMAC"
                               : "the message carries an HMAC, we have no HMAC key");
      return FALSE;
    }
  if (key == NULL)
    return TRUE;

  guint8 expected[HMAC_DIGEST_SIZE];
  gsize body_len;
  const guint8 *body_data = g_bytes_get_data (body, &body_len);
  compute_hmac (msg, body_data, body_len, key, expected);
  if (g_bytes_get_size (received) != HMAC_DIGEST_SIZE ||
      !equal_in_constant_time (g_bytes_get_data (received, NULL), expected, HMAC_DIGEST_SIZE))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_SECURITY,
                   "message hmac mismatch (the HMAC key differs, or the message was altered)");
      return FALSE;
    }
  return TRUE;
}

/* ---- encoding -------------------------------------------------------------- */

static guint8 *
put_chunk (guint8 *p, const char *key, const void *data, gsize len)
{
  memcpy (p, key, 4);
  p = put_be16 (p + 4, len);
  if (len > 0)
    memcpy (p, data, len);
  return p + len;
}

/* Bytes the header and annotation chunks of @msg take on the wire. */
static gsize
head_size (const PyroMessage *msg, GBytes *hmac_key)
{
  gsize annotations_size = annotations_wire_size (msg, hmac_key != NULL);
  if (hmac_key != NULL)
    annotations_size += HMAC_CHUNK_SIZE;
  return PYRO_HEADER_SIZE + annotations_size;
}

/* Encodes the header and annotations of @msg, whose body is @body_len
 * bytes at @body, into @buffer, which has @head_len = head_size() bytes.
 * The body of a PyroMessage is never compressed, so neither is the wire
 * form: the COMPRESSED flag is never sent. */
static void
encode_head (const PyroMessage *msg, const guint8 *body, gsize body_len, GBytes *hmac_key,
             guint8 *buffer, gsize head_len)
{
  g_assert (body_len <= PYRO_MAX_BODY_SIZE);

  gsize annotations_size = head_len - PYRO_HEADER_SIZE;
  g_assert (annotations_size <= MAX_ANNOTATIONS_SIZE);

  PyroHeader header = {
    .type = msg->type,
    .flags = msg->flags & ~PYRO_FLAG_COMPRESSED,
    .seq = msg->seq,
    .body_size = body_len,
    .serializer_id = msg->serializer_id,
    .annotations_size = annotations_size,
  };

  guint8 *p = buffer;

  memcpy (p, MAGIC, 4);
  p = put_be16 (p + 4, PYRO_PROTOCOL_VERSION);
  p = put_be16 (p, header.type);
  p = put_be16 (p, header.flags);
  p = put_be16 (p, header.seq);
  p = put_be32 (p, header.body_size);
  p = put_be16 (p, header.serializer_id);
  p = put_be16 (p, header.annotations_size);
  p = put_be16 (p, 0);  /* reserved */
  p = put_be16 (p, pyro_header_checksum (&header));

  for (guint i = 0; i < pyro_message_n_annotations (msg); i++)
    {
      const PyroAnnotation *annotation = pyro_message_annotation_at (msg, i);
      if (hmac_key != NULL && memcmp (annotation->key, HMAC_KEY, 4) == 0)
        continue;  /* a stale HMAC (say, of a message read earlier) is replaced */
      gsize len;
      const void *data = g_bytes_get_data (annotation->value, &len);
      p = put_chunk (p, annotation->key, data, len);
    }

  /* Pyro4 appends the HMAC after the other annotations. */
  if (hmac_key != NULL)
    {
      memcpy (p, HMAC_KEY, 4);
      p = put_be16 (p + 4, HMAC_DIGEST_SIZE);
      compute_hmac (msg, body, body_len, hmac_key, p);
      p += HMAC_DIGEST_SIZE;
    }
  g_assert (p == buffer + head_len);
}

GBytes *
pyro_message_encode (const PyroMessage *msg, GBytes *hmac_key)
{
  g_return_val_if_fail (msg != NULL, NULL);

  gsize body_len;
  const guint8 *body = g_bytes_get_data (msg->body, &body_len);
  g_return_val_if_fail (body_len <= PYRO_MAX_BODY_SIZE, NULL);
  gsize head_len = head_size (msg, hmac_key);
  g_return_val_if_fail (head_len - PYRO_HEADER_SIZE <= MAX_ANNOTATIONS_SIZE, NULL);

  guint8 *buffer = g_malloc (head_len + body_len);
  encode_head (msg, body, body_len, hmac_key, buffer, head_len);
  if (body_len > 0)
    memcpy (buffer + head_len, body, body_len);
  return g_bytes_new_take (buffer, head_len + body_len);
}

/* ---- stream errors --------------------------------------------------------- */

/* Turns a GIO error of @direction ("receiving", "sending") into the Pyro4
 * error class a Python peer would see.  Cancellation stays a G_IO_ERROR so
 * callers can tell "I cancelled" from "it broke". */
static void
propagate_stream_error (GError **error, GError *io_error, const char *direction)
{
  if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, io_error);
      return;
    }

  if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_TIMEOUT, "%s: timeout", direction);
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    /* The peer reset or hung up: Pyro4's ConnectionClosedError, which
     * tells a proxy to reconnect. (G_IO_ERROR_BROKEN_PIPE is the same code.) */
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED,
                 "%s: connection lost: %s", direction, io_error->message);
  else
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_COMMUNICATION,
                 "%s: %s", direction, io_error->message);
  g_error_free (io_error);
}

/* Reads exactly @len bytes into @buffer from @read.  @done and @total
 * (bytes of the message read before this call, bytes of the whole
 * message) only serve the error message. */
static gboolean
read_exactly (PyroReadFunc   read,
              gpointer       source,
              void          *buffer,
              gsize          len,
              gsize          done,
              gsize          total,
              GCancellable  *cancellable,
              GError       **error)
{
  gsize got = 0;

  while (got < len)
    {
      GError *io_error = NULL;
      gssize n = read (source, (guint8 *) buffer + got, len - got, cancellable, &io_error);
      if (n < 0)
        {
          propagate_stream_error (error, io_error, "receiving");
          return FALSE;
        }
      if (n == 0)
        break;
      got += n;
    }
  if (got == len)
    return TRUE;

  if (done + got == 0)
    g_set_error_literal (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED, "connection closed");
  else
    g_set_error (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED,
                 "receiving: not enough data (got %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes)",
                 done + got, total);
  return FALSE;
}

/* ---- reading --------------------------------------------------------------- */

/* The first read buffer of a message; it doubles as more data arrives. */
#define READ_CHUNK_SIZE (1024 * 1024)

/* ---- a spare read buffer ---------------------------------------------------- */

/* A big message read into a freshly allocated buffer costs a page fault for
 * every 4 KiB page, and for big replies that is most of the time a call
 * takes.  So the buffer of the last big message is kept, when its message
 * is freed, and the next big message is read into it.  One spare at most,
 * of at most SPARE_MAX bytes; pyro_message_release_memory() gives it back.
 *
 * Big buffers (SPARE_MIN and more) are mapped from the system directly,
 * not taken from malloc: once a big block has been freed, glibc's malloc
 * serves later megabyte blocks from its heaps and keeps them there,
 * resident, after they are freed, while a mapping of our own is gone when
 * we unmap it.  Smaller buffers are left to malloc, which is quick for them. */
#define SPARE_MIN (64 * 1024)
#define SPARE_MAX (4 * 1024 * 1024)

/* A read buffer that knows its size, so that it can be kept and reused. */
typedef struct
{
  gsize  capacity;
  guint8 data[];
} ReadBuffer;

G_LOCK_DEFINE_STATIC (spare);
static ReadBuffer *spare;  /* guarded by the lock; messages are freed in any thread */

static gboolean
is_big (gsize capacity)
{
  return capacity >= SPARE_MIN;
}

/* A new mapping for a big buffer; NULL if the system has no memory. */
static ReadBuffer *
map_buffer (gsize capacity)
{
  void *memory = mmap (NULL, sizeof (ReadBuffer) + capacity, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    return NULL;
  ReadBuffer *buffer = memory;
  buffer->capacity = capacity;
  return buffer;
}

static void
read_buffer_destroy (ReadBuffer *buffer)
{
  if (buffer == NULL)
    return;
  if (is_big (buffer->capacity))
    munmap (buffer, sizeof (ReadBuffer) + buffer->capacity);
  else
    g_free (buffer);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReadBuffer, read_buffer_destroy)

/* A buffer of at least @capacity bytes: the spare if it is big enough. */
static ReadBuffer *
read_buffer_new (gsize capacity)
{
  ReadBuffer *buffer = NULL;

  if (!is_big (capacity))
    {
      buffer = g_malloc (sizeof (ReadBuffer) + capacity);
      buffer->capacity = capacity;
      return buffer;
    }

  G_LOCK (spare);
  if (spare != NULL && spare->capacity >= capacity)
    buffer = g_steal_pointer (&spare);
  G_UNLOCK (spare);
  if (buffer == NULL)
    buffer = map_buffer (capacity);
  if (buffer == NULL)
    g_error ("%s: failed to map %" G_GSIZE_FORMAT " bytes", G_STRLOC, capacity);  /* as g_malloc() */
  return buffer;
}

/* Grows @buffer to @capacity bytes, keeping its contents; NULL (and
 * @buffer untouched) if that much memory cannot be had.  A buffer only
 * grows from big to bigger (a message's first buffer is big when the
 * message is), so it stays a mapping or a malloc block. */
static ReadBuffer *
read_buffer_grow (ReadBuffer *buffer, gsize capacity)
{
  if (buffer->capacity >= capacity)
    return buffer;
  if (!is_big (buffer->capacity))
    {
      g_assert (!is_big (capacity));
      ReadBuffer *bigger = g_try_realloc (buffer, sizeof (ReadBuffer) + capacity);
      if (bigger != NULL)
        bigger->capacity = capacity;
      return bigger;
    }

#ifdef MREMAP_MAYMOVE
  /* Linux moves the pages themselves: nothing is copied. */
  void *memory = mremap (buffer, sizeof (ReadBuffer) + buffer->capacity,
                         sizeof (ReadBuffer) + capacity, MREMAP_MAYMOVE);
  if (memory == MAP_FAILED)
    return NULL;
  ReadBuffer *bigger = memory;
  bigger->capacity = capacity;
#else
  ReadBuffer *bigger = map_buffer (capacity);
  if (bigger == NULL)
    return NULL;
  memcpy (bigger->data, buffer->data, buffer->capacity);
  read_buffer_destroy (buffer);
#endif
  return bigger;
}

/* The GDestroyNotify of a message's bytes: keeps @data as the spare when
 * it is of a useful size, frees it otherwise.  A bigger spare is preferred,
 * as it fits more messages. */
static void
read_buffer_free (gpointer data)
{
  ReadBuffer *buffer = data;

  if (is_big (buffer->capacity) && buffer->capacity <= SPARE_MAX)
    {
      G_LOCK (spare);
      if (spare == NULL || spare->capacity < buffer->capacity)
        {
          ReadBuffer *old = spare;
          spare = buffer;
          buffer = old;
        }
      G_UNLOCK (spare);
    }
  read_buffer_destroy (buffer);
}

/* A quiet daemon need not keep the spare. */
void
pyro_message_release_memory (void)
{
  G_LOCK (spare);
  ReadBuffer *old = g_steal_pointer (&spare);
  G_UNLOCK (spare);
  read_buffer_destroy (old);
}

/* Splits the annotation area into chunks.  Values are slices of @area, so
 * nothing is copied. */
static gboolean
parse_annotations (PyroMessage *msg, GBytes *area, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (area, &size);
  gsize pos = 0;

  while (pos < size)
    {
      if (size - pos < CHUNK_HEAD_SIZE)
        {
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                       "invalid annotations: %" G_GSIZE_FORMAT " stray bytes at the end "
                       "(a chunk needs at least %d)", size - pos, CHUNK_HEAD_SIZE);
          return FALSE;
        }

      char key[5];
      memcpy (key, data + pos, 4);
      key[4] = '\0';
      gsize len = get_be16 (data + pos + 4);
      pos += CHUNK_HEAD_SIZE;

      if (len > size - pos)
        {
          g_autofree char *shown = describe_raw_bytes ((const guint8 *) key, 4);
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                       "invalid annotations: chunk '%s' overruns the annotation area "
                       "(%" G_GSIZE_FORMAT " bytes announced, %" G_GSIZE_FORMAT " left)",
                       shown, len, size - pos);
          return FALSE;
        }

      store_annotation (msg, key, g_bytes_new_from_bytes (area, pos, len));
      pos += len;
    }
  return TRUE;
}

/* Inflates a zlib body (RFC 1950) into a buffer that never grows beyond
 * @limit + 1 bytes, so a small "zip bomb" cannot make us allocate
 * gigabytes.  (One byte more than the limit, because zlib may stop short
 * of the end marker when the output space runs out exactly.) */
static GBytes *
inflate_body (GBytes *compressed, gsize limit, GError **error)
{
  g_autoptr(GZlibDecompressor) decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
  gsize in_len;
  const guint8 *in = g_bytes_get_data (compressed, &in_len);
  gsize in_pos = 0;

  g_assert (limit <= PYRO_MAX_BODY_SIZE);
  gsize capacity = MIN (MAX (in_len * 4, 256), limit + 1);
  gsize out_len = 0;
  g_autofree guint8 *out = g_malloc (capacity);

  for (;;)
    {
      gsize bytes_read = 0, bytes_written = 0;
      g_autoptr(GError) zlib_error = NULL;
      GConverterResult result =
        g_converter_convert (G_CONVERTER (decompressor),
                             in + in_pos, in_len - in_pos,
                             out + out_len, capacity - out_len,
                             G_CONVERTER_INPUT_AT_END,
                             &bytes_read, &bytes_written, &zlib_error);
      in_pos += bytes_read;
      out_len += bytes_written;

      if (out_len > limit)
        {
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                       "message too large (compressed body of %" G_GSIZE_FORMAT
                       " bytes inflates beyond the max of %" G_GSIZE_FORMAT ")",
                       in_len, limit);
          return NULL;
        }

      /* Like Python's zlib.decompress(), anything after the end of the
       * zlib stream is ignored. */
      if (result == G_CONVERTER_FINISHED)
        break;

      if (result == G_CONVERTER_ERROR)
        {
          if (g_error_matches (zlib_error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
            g_set_error_literal (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                                 "invalid compressed body: the zlib stream is cut short");
          else if (!g_error_matches (zlib_error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
            g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                         "invalid compressed body: %s", zlib_error->message);
          else
            g_assert_not_reached ();  /* we never ask with a full buffer */
          return NULL;
        }

      if (out_len == capacity)
        {
          capacity = (capacity > limit / 2) ? limit + 1 : capacity * 2;
          out = g_realloc (out, capacity);
        }
    }

  return g_bytes_new_take (g_realloc (g_steal_pointer (&out), out_len), out_len);
}

PyroMessage *
pyro_message_read_from (PyroReadFunc   read,
                        gpointer       source,
                        gsize          max_size,
                        GBytes        *hmac_key,
                        GCancellable  *cancellable,
                        GError       **error)
{
  g_return_val_if_fail (read != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Not every source looks at the cancellable (memory streams do not). */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  guint8 head[PYRO_HEADER_SIZE];
  if (!read_exactly (read, source, head, sizeof head, 0, sizeof head, cancellable, error))
    return NULL;

  PyroHeader header;
  if (!pyro_header_decode (head, &header, error))
    return NULL;

  /* Checked before anything is allocated: the sizes come from the peer. */
  gsize rest = (gsize) header.annotations_size + header.body_size;
  gsize total = PYRO_HEADER_SIZE + rest;
  if (max_size != 0 && rest > max_size)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                   "message too large (%" G_GSIZE_FORMAT " bytes announced, max %" G_GSIZE_FORMAT ")",
                   rest, max_size);
      return NULL;
    }

  /* Annotations and body arrive in one buffer; annotation values and the
   * body are then slices of it.  The buffer grows with the bytes that
   * actually arrive, not with the size the header claims: a peer that
   * announces 2 GiB and sends nothing must not cost 2 GiB. */
  gsize capacity = MIN (rest, READ_CHUNK_SIZE), have = 0;
  g_autoptr(ReadBuffer) buffer = read_buffer_new (MAX (capacity, 1));
  for (;;)
    {
      if (!read_exactly (read, source, buffer->data + have, capacity - have, PYRO_HEADER_SIZE + have, total,
                         cancellable, error))
        return NULL;
      have = capacity;
      if (have == rest)
        break;
      capacity = MIN (rest, 2 * capacity);
      ReadBuffer *bigger = read_buffer_grow (buffer, capacity);
      if (bigger == NULL)
        {
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                       "message too large (cannot allocate %" G_GSIZE_FORMAT " bytes)", rest);
          return NULL;
        }
      buffer = bigger;
    }

  g_autoptr(GBytes) all = g_bytes_new_with_free_func (buffer->data, rest, read_buffer_free, buffer);
  buffer = NULL;  /* owned by @all now */
  g_autoptr(PyroMessage) msg = message_new_with_body (header.type, header.flags, header.seq,
                                                      header.serializer_id, NULL);

  /* Most messages have no annotations: then the body is the whole buffer. */
  g_autoptr(GBytes) body = NULL;
  if (header.annotations_size == 0)
    body = g_steal_pointer (&all);
  else
    {
      g_autoptr(GBytes) area = g_bytes_new_from_bytes (all, 0, header.annotations_size);
      if (!parse_annotations (msg, area, error))
        return NULL;
      body = g_bytes_new_from_bytes (all, header.annotations_size, header.body_size);
    }

  /* The HMAC covers the body as transmitted, so check it before inflating. */
  if (!check_hmac (msg, body, hmac_key, error))
    return NULL;

  if (msg->flags & PYRO_FLAG_COMPRESSED)
    {
      /* Without a limit, still nothing the protocol could not describe. */
      gsize limit = (max_size != 0 && max_size < PYRO_MAX_BODY_SIZE) ? max_size : PYRO_MAX_BODY_SIZE;
      GBytes *inflated = inflate_body (body, limit, error);
      if (inflated == NULL)
        return NULL;
      g_bytes_unref (body);
      body = inflated;
      msg->flags &= ~PYRO_FLAG_COMPRESSED;
    }
  msg->body = g_steal_pointer (&body);

  return g_steal_pointer (&msg);
}

static gssize
read_stream (gpointer source, void *buffer, gsize len, GCancellable *cancellable, GError **error)
{
  return g_input_stream_read (source, buffer, len, cancellable, error);
}

PyroMessage *
pyro_message_read (GInputStream  *in,
                   gsize          max_size,
                   GBytes        *hmac_key,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_return_val_if_fail (G_IS_INPUT_STREAM (in), NULL);
  return pyro_message_read_from (read_stream, in, max_size, hmac_key, cancellable, error);
}

/* ---- writing --------------------------------------------------------------- */

gboolean
pyro_message_write_with_body_to (PyroWriteFunc       write,
                                 gpointer            sink,
                                 const PyroMessage  *msg,
                                 const char         *body_text,
                                 gsize               body_len,
                                 GBytes             *hmac_key,
                                 GCancellable       *cancellable,
                                 GError            **error)
{
  const guint8 *body = (const guint8 *) body_text;

  g_return_val_if_fail (write != NULL, FALSE);
  g_return_val_if_fail (msg != NULL, FALSE);
  g_return_val_if_fail (body != NULL || body_len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (body_len > PYRO_MAX_BODY_SIZE)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_MESSAGE_TOO_LARGE,
                   "message too large (%" G_GSIZE_FORMAT " bytes, the protocol allows at most %u)",
                   body_len, (guint) PYRO_MAX_BODY_SIZE);
      return FALSE;
    }

  /* One write for the whole message, as Python does, so Nagle's algorithm
   * never holds back half of it; writev sends the body from where it is,
   * without copying it behind the header first. */
  gsize head_len = head_size (msg, hmac_key);
  g_return_val_if_fail (head_len - PYRO_HEADER_SIZE <= MAX_ANNOTATIONS_SIZE, FALSE);

  /* Most heads are the 24-byte header and a few annotations: they are
   * built on the stack, the rare big one on the heap. */
  guint8 on_stack[256];
  g_autofree guint8 *on_heap = head_len > sizeof on_stack ? g_malloc (head_len) : NULL;
  guint8 *head = on_heap != NULL ? on_heap : on_stack;
  encode_head (msg, body, body_len, hmac_key, head, head_len);
  GOutputVector vectors[2] = {
    { head, head_len },
    { body, body_len },
  };
  GError *io_error = NULL;
  if (!write (sink, vectors, body_len > 0 ? 2 : 1, cancellable, &io_error))
    {
      propagate_stream_error (error, io_error, "sending");
      return FALSE;
    }
  return TRUE;
}

gboolean
pyro_message_write_to (PyroWriteFunc       write,
                       gpointer            sink,
                       const PyroMessage  *msg,
                       GBytes             *hmac_key,
                       GCancellable       *cancellable,
                       GError            **error)
{
  g_return_val_if_fail (msg != NULL, FALSE);

  gsize body_len;
  const char *body = g_bytes_get_data (msg->body, &body_len);
  return pyro_message_write_with_body_to (write, sink, msg, body, body_len, hmac_key, cancellable, error);
}

static gboolean
write_stream (gpointer sink, GOutputVector *vectors, gsize n_vectors, GCancellable *cancellable, GError **error)
{
  return g_output_stream_writev_all (sink, vectors, n_vectors, NULL, cancellable, error);
}

gboolean
pyro_message_write (GOutputStream      *out,
                    const PyroMessage  *msg,
                    GBytes             *hmac_key,
                    GCancellable       *cancellable,
                    GError            **error)
{
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (out), FALSE);
  return pyro_message_write_to (write_stream, out, msg, hmac_key, cancellable, error);
}

/* ---- marshal strings ------------------------------------------------------- */

/* Type codes of Python's marshal format (low 7 bits; 0x80 is a flag). */
#define MARSHAL_FLAG_REF          0x80
#define MARSHAL_SHORT_ASCII       'z'
#define MARSHAL_SHORT_ASCII_INT   'Z'
#define MARSHAL_ASCII             'a'
#define MARSHAL_ASCII_INTERNED    'A'
#define MARSHAL_UNICODE           'u'
#define MARSHAL_INTERNED          't'

static gboolean
is_ascii (const char *text, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] >= 0x80)
      return FALSE;
  return TRUE;
}

GBytes *
pyro_marshal_string (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);
  gsize len = strlen (text);
  g_return_val_if_fail (len <= G_MAXINT32, NULL);
  g_return_val_if_fail (g_utf8_validate (text, len, NULL), NULL);

  gboolean ascii = is_ascii (text, len);
  gboolean short_form = ascii && len < 256;
  gsize head = short_form ? 2 : 5;
  guint8 *buffer = g_malloc (head + len);

  /* The forms CPython 3.11 writes for a str it builds at run time, which
   * is what a daemon's CONNECTFAIL text is (first byte 0xfa in captures). */
  if (short_form)
    {
      buffer[0] = MARSHAL_SHORT_ASCII | MARSHAL_FLAG_REF;
      buffer[1] = len;
    }
  else
    {
      buffer[0] = (ascii ? MARSHAL_ASCII : MARSHAL_UNICODE) | MARSHAL_FLAG_REF;
      /* marshal lengths are little-endian, unlike the Pyro4 header */
      buffer[1] = len & 0xff;
      buffer[2] = (len >> 8) & 0xff;
      buffer[3] = (len >> 16) & 0xff;
      buffer[4] = (len >> 24) & 0xff;
    }
  memcpy (buffer + head, text, len);
  return g_bytes_new_take (buffer, head + len);
}

char *
pyro_marshal_parse_string (GBytes *data, GError **error)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize size;
  const guint8 *bytes = g_bytes_get_data (data, &size);
  if (size == 0)
    {
      g_set_error_literal (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                           "invalid marshal data: empty, expected a str");
      return NULL;
    }

  guint8 type = bytes[0] & ~MARSHAL_FLAG_REF;
  gboolean ascii_only;
  gsize head;
  gsize len;
  switch (type)
    {
    case MARSHAL_SHORT_ASCII:
    case MARSHAL_SHORT_ASCII_INT:
      head = 2;
      ascii_only = TRUE;
      break;
    case MARSHAL_ASCII:
    case MARSHAL_ASCII_INTERNED:
      head = 5;
      ascii_only = TRUE;
      break;
    case MARSHAL_UNICODE:
    case MARSHAL_INTERNED:
      head = 5;
      ascii_only = FALSE;
      break;
    default:
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "invalid marshal data: expected a str, got type byte 0x%02x", bytes[0]);
      return NULL;
    }

  if (size < head)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "invalid marshal data: str header cut short (%" G_GSIZE_FORMAT " of %"
                   G_GSIZE_FORMAT " bytes)", size, head);
      return NULL;
    }
  if (head == 2)
    len = bytes[1];
  else
    len = (gsize) bytes[1] | ((gsize) bytes[2] << 8) | ((gsize) bytes[3] << 16) | ((gsize) bytes[4] << 24);

  /* Like Python's marshal.loads(), bytes after the value are ignored. */
  if (len > size - head)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "invalid marshal data: str of %" G_GSIZE_FORMAT " bytes announced, %"
                   G_GSIZE_FORMAT " present", len, size - head);
      return NULL;
    }

  const char *text = (const char *) bytes + head;
  if (memchr (text, '\0', len) != NULL ||
      (ascii_only ? !is_ascii (text, len) : !g_utf8_validate (text, len, NULL)))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_PROTOCOL,
                   "invalid marshal data: str is not valid %s (or holds a NUL)",
                   ascii_only ? "ASCII" : "UTF-8");
      return NULL;
    }
  return g_strndup (text, len);
}
