/* pyro-message-private.h: the Pyro4 wire message (protocol 48).
 *
 * A message is a 24-byte big-endian header, then annotation chunks, then
 * the body.  This layer knows nothing about JSON: bodies are bytes.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PYRO_HEADER_SIZE       24
#define PYRO_PROTOCOL_VERSION  48
#define PYRO_CHECKSUM_MAGIC    0x34E9
/* Largest body the protocol can describe (signed 32-bit length). */
#define PYRO_MAX_BODY_SIZE     0x7FFFFFFF

typedef enum
{
  PYRO_MSG_CONNECT     = 1,
  PYRO_MSG_CONNECTOK   = 2,
  PYRO_MSG_CONNECTFAIL = 3,
  PYRO_MSG_INVOKE      = 4,
  PYRO_MSG_RESULT      = 5,
  PYRO_MSG_PING        = 6,
} PyroMessageType;

typedef enum
{
  PYRO_FLAG_EXCEPTION        = 0x01,
  PYRO_FLAG_COMPRESSED       = 0x02,
  PYRO_FLAG_ONEWAY           = 0x04,
  PYRO_FLAG_BATCH            = 0x08,
  PYRO_FLAG_META_ON_CONNECT  = 0x10,
  PYRO_FLAG_ITEMSTREAMRESULT = 0x20,
  PYRO_FLAG_KEEPSERIALIZED   = 0x40,
} PyroMessageFlags;

typedef enum
{
  PYRO_SERIALIZER_SERPENT = 1,
  PYRO_SERIALIZER_JSON    = 2,
  PYRO_SERIALIZER_MARSHAL = 3,
  PYRO_SERIALIZER_PICKLE  = 4,
} PyroSerializerId;

/* The decoded fixed header. */
typedef struct
{
  guint16 type;
  guint16 flags;
  guint16 seq;
  guint32 body_size;
  guint16 serializer_id;
  guint16 annotations_size;
} PyroHeader;

typedef struct
{
  char    key[5];   /* 4 ASCII characters + NUL */
  GBytes *value;
} PyroAnnotation;

typedef struct
{
  guint16 type;
  guint16 flags;
  guint16 seq;
  guint16 serializer_id;
  GArray *annotations;  /* of PyroAnnotation, in wire order; owns the values; NULL when none */
  GBytes *body;         /* never NULL (empty bytes when there is no body); uncompressed */
} PyroMessage;

/* Creates a message.  @body: (transfer none) (nullable). */
PyroMessage *pyro_message_new (PyroMessageType type,
                               guint16         flags,
                               guint16         seq,
                               guint16         serializer_id,
                               GBytes         *body);
/* Same, with a body of @len bytes that takes over @data (no copy). */
PyroMessage *pyro_message_new_take (PyroMessageType type,
                                    guint16         flags,
                                    guint16         seq,
                                    guint16         serializer_id,
                                    char           *data,   /* (transfer full), g_free'd */
                                    gsize           len);
void         pyro_message_free (PyroMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroMessage, pyro_message_free)

/* Adds (or replaces: last wins, first place kept) annotation @key (exactly
 * 4 characters); the value is copied.  All annotations together, 6-byte
 * chunk heads included, stay within 65535 - 26 bytes, leaving room for the
 * HMAC chunk pyro_message_encode() may add; a wrong key or too much data
 * is a programming error (g_return_if_fail). */
void    pyro_message_set_annotation (PyroMessage *msg, const char *key, const void *data, gsize len);
/* How many annotations @msg has, and the @i-th in wire order (transfer none). */
guint           pyro_message_n_annotations (const PyroMessage *msg);
PyroAnnotation *pyro_message_annotation_at (const PyroMessage *msg, guint i);
/* (transfer none) (nullable) */
GBytes *pyro_message_get_annotation (const PyroMessage *msg, const char *key);

/* The checksum of a header (the 7 fields + 0x34E9, truncated to 16 bits). */
guint16 pyro_header_checksum (const PyroHeader *header);

/* Decodes and validates 24 header bytes: magic, version, checksum, and a
 * body size within PYRO_MAX_BODY_SIZE.
 * Errors (PYRO_ERROR_PROTOCOL), texts starting with Pyro4's own words:
 *   "invalid data or unsupported protocol version (...what came...)"
 *   "header checksum mismatch (expected 0x3555, got 0x1234)"
 *   "invalid body size (...)" */
gboolean pyro_header_decode (const guint8  bytes[PYRO_HEADER_SIZE],
                             PyroHeader   *header,
                             GError      **error);

/* Encodes @msg into one buffer (header + annotations + body), ready for one
 * write.  With @hmac_key (nullable) an HMAC chunk is appended as Pyro4 does
 * (HMAC-SHA1 over body then the other annotation values sorted by key),
 * replacing any HMAC annotation @msg already holds.  The body goes out
 * uncompressed and the COMPRESSED flag is never sent. (transfer full) */
GBytes *pyro_message_encode (const PyroMessage *msg, GBytes *hmac_key);

/* Reads exactly one message from @in (blocking). (transfer full)
 * Header errors: as pyro_header_decode().
 * @max_size: 0 = no limit, else annotations+body beyond it fail with
 *   PYRO_ERROR_MESSAGE_TOO_LARGE *before* anything beyond the header is
 *   allocated or read; an inflated body beyond it fails the same way.
 * An annotation chunk that overruns the annotation area, or stray bytes
 *   after the last chunk: PYRO_ERROR_PROTOCOL "invalid annotations: ...".
 * @hmac_key: (nullable) when set, the HMAC chunk must be present and match
 *   (PYRO_ERROR_SECURITY "message hmac mismatch"); when unset, a message with
 *   an HMAC chunk fails with PYRO_ERROR_SECURITY "hmac key config not symmetric".
 * A compressed body (flag 0x02) is inflated and the flag cleared; a broken
 *   zlib stream is PYRO_ERROR_PROTOCOL "invalid compressed body: ...".
 * EOF before the first byte: PYRO_ERROR_CONNECTION_CLOSED "connection closed";
 * EOF in the middle: PYRO_ERROR_CONNECTION_CLOSED "receiving: not enough data
 * (got N of M bytes)" (M: the header's 24, or the whole message's size).
 * Stream errors: G_IO_ERROR_TIMED_OUT becomes PYRO_ERROR_TIMEOUT "receiving:
 * timeout"; G_IO_ERROR_CONNECTION_CLOSED (= BROKEN_PIPE; ECONNRESET, EPIPE)
 * becomes PYRO_ERROR_CONNECTION_CLOSED "receiving: connection lost: <text>";
 * any other becomes PYRO_ERROR_COMMUNICATION "receiving: <text>";
 * G_IO_ERROR_CANCELLED (also when @cancellable is already cancelled) is
 * passed through unchanged. */
PyroMessage *pyro_message_read (GInputStream  *in,
                                gsize          max_size,
                                GBytes        *hmac_key,
                                GCancellable  *cancellable,
                                GError       **error);

/* Where pyro_message_read_from() takes its bytes from: reads up to @len
 * bytes into @buffer, blocking until at least one is there; returns how
 * many, 0 at the end of the stream, or -1 with a GIO @error. */
typedef gssize (*PyroReadFunc) (gpointer      source,
                                void         *buffer,
                                gsize         len,
                                GCancellable *cancellable,
                                GError      **error);

/* pyro_message_read() from any source of bytes (pyro-channel.c reads a
 * socket directly).  The same checks and errors. */
PyroMessage *pyro_message_read_from (PyroReadFunc   read,
                                     gpointer       source,
                                     gsize          max_size,
                                     GBytes        *hmac_key,
                                     GCancellable  *cancellable,
                                     GError       **error);

/* Where pyro_message_write_to() puts its bytes: writes all of @vectors
 * (blocking); FALSE with a GIO @error. */
typedef gboolean (*PyroWriteFunc) (gpointer       sink,
                                   GOutputVector *vectors,
                                   gsize          n_vectors,
                                   GCancellable  *cancellable,
                                   GError       **error);

/* pyro_message_write() to any sink of bytes.  The same checks and errors. */
gboolean pyro_message_write_to (PyroWriteFunc       write,
                                gpointer            sink,
                                const PyroMessage  *msg,
                                GBytes             *hmac_key,
                                GCancellable       *cancellable,
                                GError            **error);

/* The same, with @body_len bytes at @body_text as the body instead of
 * @msg->body (which may be NULL): a request or reply is written straight
 * from the text it was built in, without a GBytes and a PyroMessage of its
 * own (a PyroMessage on the stack carries the header fields). */
gboolean pyro_message_write_with_body_to (PyroWriteFunc       write,
                                          gpointer            sink,
                                          const PyroMessage  *msg,
                                          const char         *body_text,
                                          gsize               body_len,
                                          GBytes             *hmac_key,
                                          GCancellable       *cancellable,
                                          GError            **error);

/* Encodes and writes @msg in one write_all.  Stream errors as
 * pyro_message_read(), saying "sending:"; a body beyond PYRO_MAX_BODY_SIZE
 * fails with PYRO_ERROR_MESSAGE_TOO_LARGE before anything is written. */
gboolean pyro_message_write (GOutputStream      *out,
                             const PyroMessage  *msg,
                             GBytes             *hmac_key,
                             GCancellable       *cancellable,
                             GError            **error);

/* Hands the spare buffer pyro_message_read() keeps for the next big
 * message (64 KiB and more) back to the system; cheap when there is none.
 * The daemon calls it when its last busy worker ends.  Safe in any thread. */
void pyro_message_release_memory (void);

/* Python marshal encoding of a str, as Pyro4 daemons use for early
 * CONNECTFAIL bodies: 0xfa + 1-byte length for short ASCII (< 256),
 * 0xe1 + 4-byte little-endian length for longer ASCII, 0xf5 + 4-byte LE
 * length + UTF-8 for non-ASCII.  @text: valid UTF-8. (transfer full) */
GBytes *pyro_marshal_string (const char *text);
/* Decodes a marshalled str (any of the forms above, their interned
 * variants 'Z' 'A' 't', with or without the 0x80 flag bit).  Bytes after
 * the str are ignored, as Python's marshal.loads() does.  Anything else
 * (another type, a length beyond the data, bad ASCII/UTF-8, a NUL) is
 * PYRO_ERROR_PROTOCOL "invalid marshal data: ...". (transfer full) (nullable) */
char   *pyro_marshal_parse_string (GBytes *data, GError **error);

G_END_DECLS
