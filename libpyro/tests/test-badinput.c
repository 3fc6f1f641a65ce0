/* test-badinput.c: a running PyroDaemon fed hand-made bad input.
 *
 * Each row of the table below opens a raw TCP connection to a daemon,
 * optionally does a proper handshake, sends bytes built here by a tiny
 * encoder of our own (so the test does not trust the message code it
 * tests), and checks what comes back: the exact reply (type, flags,
 * serializer, sequence number, a part of the body) or that the connection
 * is closed without a word, and whether it stays open afterwards.  Then a
 * well-behaved PyroProxy call must still work on the SAME daemon.
 *
 * What the daemon must do is Pyro4's behaviour, section 2.10 of the
 * protocol notes.  Every read has a timeout; nothing asserts a duration.
 */
#include "testutil.h"

#include <string.h>

#define HEADER_SIZE 24
#define NO_BODY     NULL

/* ---- the object served ------------------------------------------------------- */

static GVariant *
thing_add (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

static const PyroMethod thing_methods[] = {
  { "add", "(xx)", "x", thing_add, 0, "a,b" },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
};

/* ---- our own tiny message encoder and decoder -------------------------------------- */

/* One message as it goes on the wire; zero fields take the normal values. */
typedef struct
{
  const char *raw;            /* if set: exactly these bytes, no header at all */
  const char *magic;          /* NULL: "PYRO" */
  guint16     version;        /* 0: 48 */
  guint16     type;
  guint16     flags;
  guint16     seq;
  guint16     serializer;     /* 0: 2 (json) */
  const char *annotations;    /* raw annotation bytes (may be a broken chunk) */
  gsize       annotations_len;
  const char *body;           /* NULL: empty */
  gint64      claimed_size;   /* 0: the real body length; else announce this instead */
  int         checksum_delta; /* added to the correct checksum */
  gssize      send_only;      /* 0: everything; else only this many bytes */
} Wire;

static void
put16 (GByteArray *out, guint16 value)
{
  guint8 bytes[2] = { value >> 8, value & 0xFF };
  g_byte_array_append (out, bytes, 2);
}

static void
put32 (GByteArray *out, guint32 value)
{
  guint8 bytes[4] = { value >> 24, (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF };
  g_byte_array_append (out, bytes, 4);
}

static GByteArray *
encode (const Wire *w)
{
  GByteArray *out = g_byte_array_new ();

  if (w->raw != NULL)
    {
      g_byte_array_append (out, (const guint8 *) w->raw, strlen (w->raw));
      return out;
    }

  gsize body_len = w->body ? strlen (w->body) : 0;
  guint32 size = w->claimed_size ? (guint32) w->claimed_size : (guint32) body_len;
  guint16 version = w->version ? w->version : 48;
  guint16 serializer = w->serializer ? w->serializer : 2;
  guint16 ann_len = (guint16) w->annotations_len;
  /* the sum of the fields plus a magic number, as Pyro4 defines it */
  guint32 checksum = (w->type + version + size + ann_len + serializer + w->flags + w->seq + 0x34E9) & 0xFFFF;

  g_byte_array_append (out, (const guint8 *) (w->magic ? w->magic : "PYRO"), 4);
  put16 (out, version);
  put16 (out, w->type);
  put16 (out, w->flags);
  put16 (out, w->seq);
  put32 (out, size);
  put16 (out, serializer);
  put16 (out, ann_len);
  put16 (out, 0);
  put16 (out, (guint16) (checksum + w->checksum_delta));
  if (ann_len > 0)
    g_byte_array_append (out, (const guint8 *) w->annotations, ann_len);
  if (body_len > 0)
    g_byte_array_append (out, (const guint8 *) w->body, body_len);
  if (w->send_only > 0 && (gsize) w->send_only < out->len)
    g_byte_array_set_size (out, w->send_only);
  return out;
}

typedef struct
{
  guint16 type, flags, seq, serializer;
  GBytes *body;
} Reply;

static guint
get16 (const guint8 *p)
{
  return (p[0] << 8) | p[1];
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* Reads one message.  Returns FALSE at end of stream (or a reset) before
 * its first byte; anything else unexpected fails the test. */
static gboolean
read_reply (GSocketConnection *connection, Reply *reply)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GError) error = NULL;
  guint8 head[HEADER_SIZE];
  gsize got = 0;

  if (!g_input_stream_read_all (in, head, sizeof head, &got, NULL, &error))
    {
      /* a daemon that closes with our bytes unread resets the connection */
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
      g_assert_cmpuint (got, ==, 0);
      return FALSE;
    }
  if (got == 0)
    return FALSE;
  g_assert_cmpuint (got, ==, sizeof head);

  g_assert_cmpmem (head, 4, "PYRO", 4);
  g_assert_cmpuint (get16 (head + 4), ==, 48);
  reply->type = get16 (head + 6);
  reply->flags = get16 (head + 8);
  reply->seq = get16 (head + 10);
  guint32 size = get32 (head + 12);
  reply->serializer = get16 (head + 16);
  guint ann_len = get16 (head + 18);
  guint32 checksum = (reply->type + 48 + size + ann_len + reply->serializer + reply->flags + reply->seq + 0x34E9) & 0xFFFF;
  g_assert_cmpuint (get16 (head + 22), ==, checksum);
  g_assert_cmpuint (size, <, 1 << 20);

  g_autofree guint8 *rest = g_malloc (ann_len + size + 1);
  g_assert_true (g_input_stream_read_all (in, rest, ann_len + size, &got, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, ann_len + size);
  /* annotation chunks must exactly fill their area */
  for (guint at = 0; at < ann_len;)
    {
      g_assert_cmpuint (at + 6, <=, ann_len);
      at += 6 + get16 (rest + at + 4);
      g_assert_cmpuint (at, <=, ann_len);
    }
  reply->body = g_bytes_new (rest + ann_len, size);
  return TRUE;
}

/* ---- the table ------------------------------------------------------------------------- */

typedef enum
{
  THEN_KEEP_OPEN,   /* leave the connection as it is */
  THEN_HALF_CLOSE,  /* we stop writing, but still read */
  THEN_CLOSE,       /* we hang up: nothing more to see on this connection */
} AfterSend;

typedef enum
{
  EXPECT_CLOSED,          /* no reply at all, the daemon closes */
  EXPECT_REPLY_CLOSED,    /* one reply, then the daemon closes */
  EXPECT_REPLY_OPEN,      /* one reply, and the connection keeps working */
  EXPECT_SILENCE_OPEN,    /* no reply, and the connection keeps working */
  EXPECT_NOTHING,         /* we hung up; only the daemon's health is checked */
} Expect;

typedef struct
{
  const char *name;
  gboolean    handshake;     /* do a proper CONNECT first */
  gsize       max_size;      /* pyro_daemon_set_max_message_size(), 0: not set */
  Wire        wire;
  AfterSend   after;
  gboolean    watch_memory;  /* the daemon must not allocate what the header claims */
  Expect      expect;
  guint16     reply_type;
  guint16     reply_flags;
  guint16     reply_serializer;
  guint16     reply_seq;
  const char *body_parts[3]; /* all must occur in the reply body */
} BadCase;

#define CONNECT_BODY "{\"handshake\": \"hello\", \"object\": \"thing\"}"
#define INVOKE(obj, method, params, kwargs) \
  "{\"object\": \"" obj "\", \"method\": \"" method "\", \"params\": " params ", \"kwargs\": " kwargs "}"

enum { CONNECT = 1, CONNECTOK, CONNECTFAIL, INVOKE_MSG, RESULT, PING };
enum { SERPENT = 1, JSON, MARSHAL, PICKLE };
#define FLAG_EXCEPTION 0x01
#define FLAG_ONEWAY    0x04
#define FLAG_META      0x10

static const BadCase bad_cases[] = {
  /* ---- before the handshake: Pyro4 answers in marshal, seq 0, and closes ---- */
  { "garbage-short", FALSE, 0, { .raw = "GET / HTTP/1.0\r\n\r\n" }, THEN_HALF_CLOSE, FALSE, EXPECT_CLOSED },
  { "garbage-long", FALSE, 0, { .raw = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n" }, THEN_KEEP_OPEN, FALSE,
    EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 0, { "invalid data or unsupported protocol version" } },
  { "truncated-header-close", FALSE, 0, { .type = CONNECT, .body = CONNECT_BODY, .send_only = 10 },
    THEN_CLOSE, FALSE, EXPECT_NOTHING },
  { "truncated-header-half-close", FALSE, 0, { .type = CONNECT, .body = CONNECT_BODY, .send_only = 10 },
    THEN_HALF_CLOSE, FALSE, EXPECT_CLOSED },
  { "truncated-body", FALSE, 0, { .type = CONNECT, .body = CONNECT_BODY, .send_only = HEADER_SIZE + 5 },
    THEN_HALF_CLOSE, FALSE, EXPECT_CLOSED },
  { "bad-checksum", FALSE, 0, { .type = CONNECT, .flags = FLAG_META, .seq = 3, .claimed_size = 41,
                                .checksum_delta = 1, .send_only = HEADER_SIZE },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 0, { "header checksum mismatch" } },
  { "wrong-version", FALSE, 0, { .version = 47, .type = CONNECT, .claimed_size = 41, .send_only = HEADER_SIZE },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 0,
    { "invalid data or unsupported protocol version" } },
  { "wrong-magic", FALSE, 0, { .magic = "PYRX", .type = CONNECT, .claimed_size = 41, .send_only = HEADER_SIZE },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 0,
    { "invalid data or unsupported protocol version" } },
  { "invoke-first", FALSE, 0, { .type = INVOKE_MSG, .seq = 5, .body = INVOKE ("thing", "add", "[1, 2]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 0, { "invalid msg type 4 received" } },
  { "ping-first", FALSE, 0, { .type = PING, .serializer = 42, .body = "ping" },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 0, { "invalid msg type 6 received" } },
  { "serpent-connect", FALSE, 0, { .type = CONNECT, .flags = FLAG_META, .seq = 7, .serializer = SERPENT,
                                   .body = "# serpent utf-8 python3.2\n{'handshake':'hello','object':'thing'}" },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 7,
    { "message used serializer that is not accepted: 1" } },
  { "pickle-connect", FALSE, 0, { .type = CONNECT, .serializer = PICKLE, .body = "\x80\x04." },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, MARSHAL, 0,
    { "message used serializer that is not accepted: 4" } },
  /* a CONNECT the daemon could read, but did not like: the answer is JSON */
  { "connect-without-handshake-key", FALSE, 0, { .type = CONNECT, .flags = FLAG_META, .seq = 9,
                                                 .body = "{\"object\": \"thing\"}" },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, JSON, 9, { "handshake" } },
  { "connect-invalid-json", FALSE, 0, { .type = CONNECT, .body = "{nope" },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, JSON, 0,
    { "\"invalid JSON at offset 1: expected a string key in double quotes, got 'nope'\"" } },
  { "connect-unknown-object", FALSE, 0, { .type = CONNECT, .flags = FLAG_META,
                                          .body = "{\"handshake\": \"hello\", \"object\": \"nosuch\"}" },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_CLOSED, CONNECTFAIL, 0, JSON, 0, { "unknown object", "nosuch" } },
  /* sizes from the peer are claims, not facts */
  { "huge-size-with-limit", FALSE, 65536, { .type = CONNECT, .body = CONNECT_BODY, .claimed_size = 0x7FFFFFFF },
    THEN_KEEP_OPEN, TRUE, EXPECT_CLOSED },
  { "huge-size-without-limit", FALSE, 0, { .type = CONNECT, .body = CONNECT_BODY, .claimed_size = 0x7FFFFFFF },
    THEN_HALF_CLOSE, TRUE, EXPECT_CLOSED },
  { "huge-size-after-handshake", TRUE, 0, { .type = INVOKE_MSG, .seq = 1, .claimed_size = 0x7FFFFFFF,
                                            .body = INVOKE ("thing", "add", "[1, 2]", "{}") },
    THEN_HALF_CLOSE, TRUE, EXPECT_CLOSED },
  { "broken-annotation-after-handshake", TRUE, 0, { .type = INVOKE_MSG, .seq = 1, .annotations = "CORR",
                                                   .annotations_len = 4, .body = "{}" },
    THEN_KEEP_OPEN, FALSE, EXPECT_CLOSED },

  /* ---- after the handshake: a broken frame closes without a reply ---- */
  { "bad-checksum-after-handshake", TRUE, 0, { .type = INVOKE_MSG, .seq = 1, .checksum_delta = -1,
                                               .body = INVOKE ("thing", "add", "[1, 2]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_CLOSED },
  { "unknown-type-after-handshake", TRUE, 0, { .type = 9, .seq = 1, .body = "{}" },
    THEN_KEEP_OPEN, FALSE, EXPECT_CLOSED },
  { "second-connect", TRUE, 0, { .type = CONNECT, .seq = 1, .body = CONNECT_BODY },
    THEN_KEEP_OPEN, FALSE, EXPECT_CLOSED },
  { "pickle-invoke", TRUE, 0, { .type = INVOKE_MSG, .seq = 1, .serializer = PICKLE, .body = "\x80\x04." },
    THEN_KEEP_OPEN, FALSE, EXPECT_CLOSED },
  { "disconnect-mid-message", TRUE, 0, { .type = INVOKE_MSG, .seq = 1, .send_only = HEADER_SIZE + 20,
                                         .body = INVOKE ("thing", "add", "[1, 2]", "{}") },
    THEN_CLOSE, FALSE, EXPECT_NOTHING },
  { "disconnect-mid-header", TRUE, 0, { .type = INVOKE_MSG, .seq = 1, .send_only = 7,
                                        .body = INVOKE ("thing", "add", "[1, 2]", "{}") },
    THEN_HALF_CLOSE, FALSE, EXPECT_CLOSED },

  /* ---- after the handshake: a bad request in a good frame is answered, and
   *      the connection stays open ---- */
  { "invalid-json", TRUE, 0, { .type = INVOKE_MSG, .seq = 11, .body = "{\"object\": \"thing\", " },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 11,
    { "\"builtins.ValueError\"", "\"__exception__\": true" } },
  { "body-not-a-dict", TRUE, 0, { .type = INVOKE_MSG, .seq = 12, .body = "[1, 2]" },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 12, { "\"builtins.ValueError\"" } },
  { "missing-kwargs-key", TRUE, 0, { .type = INVOKE_MSG, .seq = 13,
                                     .body = "{\"object\": \"thing\", \"method\": \"add\", \"params\": [1, 2]}" },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 13,
    { "\"builtins.KeyError\"", "kwargs" } },
  /* Pyro4 refuses null kwargs for ordinary methods; libpyro takes it as {}
   * (it must accept null for attributes and batches anyway) */
  { "kwargs-null", TRUE, 0, { .type = INVOKE_MSG, .seq = 14, .body = INVOKE ("thing", "add", "[1, 2]", "null") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, 0, JSON, 14, { "3" } },
  { "kwargs-a-list", TRUE, 0, { .type = INVOKE_MSG, .seq = 14, .body = INVOKE ("thing", "add", "[1, 2]", "[]") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 14,
    { "\"builtins.TypeError\"", "must be a mapping, not list" } },
  /* the daemon's limit holds after the handshake too: the claim is refused
   * without reading (or allocating) the body, and the connection closed */
  { "huge-size-after-handshake-with-limit", TRUE, 65536,
    { .type = INVOKE_MSG, .seq = 1, .claimed_size = 0x7FFFFFFF,
      .body = INVOKE ("thing", "add", "[1, 2]", "{}") },
    THEN_KEEP_OPEN, TRUE, EXPECT_CLOSED },
  { "params-not-a-list", TRUE, 0, { .type = INVOKE_MSG, .seq = 15, .body = INVOKE ("thing", "add", "5", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 15,
    { "\"builtins.TypeError\"", "params must be a list" } },
  { "unknown-object", TRUE, 0, { .type = INVOKE_MSG, .seq = 16, .body = INVOKE ("nosuch", "add", "[1, 2]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 16,
    { "\"Pyro4.errors.DaemonError\"", "unknown object" } },
  { "unknown-method", TRUE, 0, { .type = INVOKE_MSG, .seq = 17, .body = INVOKE ("thing", "nosuch", "[]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 17,
    { "\"builtins.AttributeError\"", "'Thing' object has no attribute 'nosuch'" } },
  { "wrong-arg-type", TRUE, 0, { .type = INVOKE_MSG, .seq = 18, .body = INVOKE ("thing", "add", "[\"1\", 2]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 18,
    { "\"builtins.TypeError\"", "\"Thing.add() argument 1 ('a'): expected int64 (x), got str '1'\"" } },
  { "float-for-int", TRUE, 0, { .type = INVOKE_MSG, .seq = 19, .body = INVOKE ("thing", "add", "[1, NaN]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 19,
    { "\"builtins.TypeError\"", "\"Thing.add() argument 2 ('b'): expected int64 (x), got float NaN\"" } },
  { "too-many-args", TRUE, 0, { .type = INVOKE_MSG, .seq = 20, .body = INVOKE ("thing", "add", "[1, 2, 3]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 20,
    { "\"builtins.TypeError\"", "Thing.add() takes 2 positional arguments but 3 were given" } },
  { "too-few-args", TRUE, 0, { .type = INVOKE_MSG, .seq = 21, .body = INVOKE ("thing", "add", "[1]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 21,
    { "\"builtins.TypeError\"", "Thing.add() missing 1 required positional argument: 'b'" } },
  { "unknown-keyword", TRUE, 0, { .type = INVOKE_MSG, .seq = 22,
                                  .body = INVOKE ("thing", "add", "[1, 2]", "{\"c\": 3}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 22,
    { "\"builtins.TypeError\"", "Thing.add() got an unexpected keyword argument 'c'" } },
  { "int-beyond-64-bits", TRUE, 0, { .type = INVOKE_MSG, .seq = 23,
                                     .body = INVOKE ("thing", "add", "[123456789012345678901234567890, 1]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 23,
    { "\"__exception__\": true", "\"builtins.ValueError\"",
      "\"integer 123456789012345678901234567890 does not fit in a signed 64-bit integer" } },
  { "int-beyond-int64", TRUE, 0, { .type = INVOKE_MSG, .seq = 24,
                                   .body = INVOKE ("thing", "add", "[9223372036854775808, 1]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, FLAG_EXCEPTION, JSON, 24,
    { "\"__exception__\": true", "\"builtins.ValueError\"",
      "\"integer 9223372036854775808 does not fit in a signed 64-bit integer" } },
  { "seq-echoed", TRUE, 0, { .type = INVOKE_MSG, .seq = 65535, .body = INVOKE ("thing", "add", "[1, 2]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, 0, JSON, 65535, { "3" } },
  { "unknown-annotation", TRUE, 0, { .type = INVOKE_MSG, .seq = 25, .annotations = "XYZW\0\3abc", .annotations_len = 9,
                                     .body = INVOKE ("thing", "add", "[20, 22]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_REPLY_OPEN, RESULT, 0, JSON, 25, { "42" } },
  /* a oneway request is never answered, not even when it fails */
  { "oneway-unknown-method", TRUE, 0, { .type = INVOKE_MSG, .flags = FLAG_ONEWAY, .seq = 26,
                                        .body = INVOKE ("thing", "nosuch", "[]", "{}") },
    THEN_KEEP_OPEN, FALSE, EXPECT_SILENCE_OPEN },
  { "oneway-invalid-json", TRUE, 0, { .type = INVOKE_MSG, .flags = FLAG_ONEWAY, .seq = 27, .body = "{{{" },
    THEN_KEEP_OPEN, FALSE, EXPECT_SILENCE_OPEN },
};

/* ---- memory watch ---------------------------------------------------------------------- */

/* Whatever the header claims, the daemon's memory must follow the bytes that
 * actually came.  VmPeak catches even an allocation never touched (which
 * VmRSS would not show); it only grows, so compare it with where it was. */
static void
check_memory (guint64 peak_before)
{
  guint64 peak = pyro_test_status_kib ("VmPeak"), rss = pyro_test_status_kib ("VmRSS");

  g_test_message ("VmPeak grew by %" G_GUINT64_FORMAT " KiB, VmRSS %" G_GUINT64_FORMAT " KiB",
                  peak - peak_before, rss);
  g_assert_cmpuint (peak - peak_before, <, 512 * 1024);
  g_assert_cmpuint (rss, <, 512 * 1024);
}

/* ---- running one row --------------------------------------------------------------------- */

static void
setup_thing (PyroDaemon *daemon, gpointer user_data)
{
  const BadCase *bc = user_data;  /* NULL: the defaults */

  if (bc != NULL && bc->max_size != 0)
    pyro_daemon_set_max_message_size (daemon, bc->max_size);
  pyro_test_register (daemon, &thing_class, NULL, "thing");
}

static void
send_bytes (GSocketConnection *connection, const guint8 *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));

  g_assert_true (g_output_stream_write_all (out, data, len, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
send_wire (GSocketConnection *connection, const Wire *wire)
{
  g_autoptr(GByteArray) bytes = encode (wire);
  send_bytes (connection, bytes->data, bytes->len);
}

static void
do_handshake (GSocketConnection *connection)
{
  const Wire connect = { .type = CONNECT, .flags = FLAG_META, .seq = 77, .body = CONNECT_BODY };
  Reply reply = { 0 };

  send_wire (connection, &connect);
  g_assert_true (read_reply (connection, &reply));
  g_assert_cmpuint (reply.type, ==, CONNECTOK);
  g_assert_cmpuint (reply.flags, ==, FLAG_META);
  g_assert_cmpuint (reply.seq, ==, 77);
  g_assert_cmpuint (reply.serializer, ==, JSON);
  g_autofree char *body = g_strndup (g_bytes_get_data (reply.body, NULL), g_bytes_get_size (reply.body));
  g_assert_nonnull (strstr (body, "\"handshake\": \"hello\""));
  g_assert_nonnull (strstr (body, "\"add\""));
  g_bytes_unref (reply.body);
}

/* Proves the connection still works: a PING must come straight back
 * (so nothing else, like a stray reply, is waiting in front of it). */
static void
check_still_open (GSocketConnection *connection)
{
  const Wire ping = { .type = PING, .seq = 4242, .serializer = 42, .body = "ping" };
  Reply reply = { 0 };

  send_wire (connection, &ping);
  g_assert_true (read_reply (connection, &reply));
  g_assert_cmpuint (reply.type, ==, PING);
  g_assert_cmpuint (reply.seq, ==, 4242);
  g_assert_cmpuint (reply.serializer, ==, 42);
  g_assert_cmpmem (g_bytes_get_data (reply.body, NULL), g_bytes_get_size (reply.body), "pong", 4);
  g_bytes_unref (reply.body);
}

static void
check_closed (GSocketConnection *connection)
{
  Reply reply = { 0 };
  if (read_reply (connection, &reply))
    {
      g_autofree char *body = g_strndup (g_bytes_get_data (reply.body, NULL), g_bytes_get_size (reply.body));
      g_error ("expected the daemon to close, got a message of type %u: %s", reply.type, body);
    }
}

static void
check_daemon_serves (PyroTestDaemon *td)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = pyro_test_daemon_uri (td, "thing");
  g_autoptr(PyroProxy) proxy = pyro_test_proxy_new (uri);

  g_autoptr(GVariant) result = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 2, (gint64) 3),
                                                     G_VARIANT_TYPE_INT64, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int64 (result), ==, 5);
}

static void
test_bad_input (gconstpointer data)
{
  const BadCase *bc = data;
  g_autoptr(GError) error = NULL;
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, (gpointer) bc);
  guint16 port = pyro_daemon_get_port (pyro_test_daemon_get (td));
  guint64 peak_before = pyro_test_status_kib ("VmPeak");

  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, PYRO_TEST_TIMEOUT_S);
  g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  GSocket *socket = g_socket_connection_get_socket (connection);

  if (bc->handshake)
    do_handshake (connection);
  send_wire (connection, &bc->wire);

  if (bc->watch_memory)
    {
      /* give the daemon time to act on the header, checking as we wait */
      for (int i = 0; i < 10; i++)
        {
          g_usleep (50 * 1000);
          check_memory (peak_before);
        }
    }

  switch (bc->after)
    {
    case THEN_KEEP_OPEN:
      break;
    case THEN_HALF_CLOSE:
      g_assert_true (g_socket_shutdown (socket, FALSE, TRUE, &error));
      break;
    case THEN_CLOSE:
      g_assert_true (g_io_stream_close (G_IO_STREAM (connection), NULL, &error));
      break;
    }

  Reply reply = { 0 };
  switch (bc->expect)
    {
    case EXPECT_CLOSED:
      check_closed (connection);
      break;
    case EXPECT_REPLY_CLOSED:
    case EXPECT_REPLY_OPEN:
      g_assert_true (read_reply (connection, &reply));
      g_assert_cmpuint (reply.type, ==, bc->reply_type);
      g_assert_cmpuint (reply.flags, ==, bc->reply_flags);
      g_assert_cmpuint (reply.serializer, ==, bc->reply_serializer);
      g_assert_cmpuint (reply.seq, ==, bc->reply_seq);
      {
        gsize len;
        const guint8 *bytes = g_bytes_get_data (reply.body, &len);
        if (reply.serializer == MARSHAL)
          {
            /* a marshalled str: a short ASCII string (0x5a/0x7a, maybe with
             * the 0x80 flag), its length, its text */
            g_assert_cmpuint (len, >=, 2);
            g_assert_true ((bytes[0] & 0x7F) == 'z' || (bytes[0] & 0x7F) == 'Z');
            g_assert_cmpuint (bytes[1], ==, len - 2);
          }
        g_autofree char *body = g_strndup ((const char *) bytes, len);
        g_test_message ("reply body: %s", reply.serializer == MARSHAL ? body + 2 : body);
        for (int i = 0; i < 3 && bc->body_parts[i] != NULL; i++)
          g_assert_nonnull (strstr (body, bc->body_parts[i]));
      }
      g_bytes_unref (reply.body);
      if (bc->expect == EXPECT_REPLY_CLOSED)
        check_closed (connection);
      else
        check_still_open (connection);
      break;
    case EXPECT_SILENCE_OPEN:
      check_still_open (connection);
      break;
    case EXPECT_NOTHING:
      break;
    }

  if (bc->watch_memory)
    check_memory (peak_before);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  check_daemon_serves (td);
  /* Bounded: a daemon still stuck on one of our bad connections fails the
   * test here instead of hanging it. */
  pyro_test_daemon_stop (td);
}

/* ---- handshake bodies ------------------------------------------------------------ */

#define THING_META "{\"methods\": [\"add\"], \"oneway\": [], \"attrs\": []}"

/* CONNECT bodies, plain and unusual, and the daemon's exact answer (the
 * daemon reads the plain ones straight from the text, the rest through a
 * JSON tree: both must answer alike). */
static const struct
{
  const char *body;
  gboolean    meta;        /* send the META_ON_CONNECT flag */
  guint16     reply_type;
  const char *reply_body;  /* exact JSON; for CONNECTFAIL a part of it */
} handshake_rows[] = {
  { CONNECT_BODY, TRUE, CONNECTOK, "{\"handshake\": \"hello\", \"meta\": " THING_META "}" },
  { "{\"object\":\"thing\",\"handshake\":\"hi\"}", TRUE, CONNECTOK,
    "{\"handshake\": \"hi\", \"meta\": " THING_META "}" },
  { "{\"handshake\": \"h\xc3\xa9llo\", \"object\": \"thing\"}", TRUE, CONNECTOK,
    "{\"handshake\": \"h\xc3\xa9llo\", \"meta\": " THING_META "}" },
  { CONNECT_BODY, FALSE, CONNECTOK, "{\"handshake\": \"hello\"}" },
  { "{\"handshake\": \"hello\", \"object\": \"nosuch\"}", FALSE, CONNECTOK, "{\"handshake\": \"hello\"}" },
  { "{\"handshake\": \"hello\"}", FALSE, CONNECTOK, "{\"handshake\": \"hello\"}" },
  { "{\"handshake\": [\"hi\", 1, {\"a\": null}], \"object\": \"thing\"}", TRUE, CONNECTOK,
    "{\"handshake\": [\"hi\", 1, {\"a\": null}], \"meta\": " THING_META "}" },
  { "{\"handshake\": \"a\\\"b\\n\", \"object\": \"thing\"}", TRUE, CONNECTOK,
    "{\"handshake\": \"a\\\"b\\n\", \"meta\": " THING_META "}" },
  { "{\"handshake\": \"hello\", \"object\": \"thing\", \"extra\": 1}", TRUE, CONNECTOK,
    "{\"handshake\": \"hello\", \"meta\": " THING_META "}" },
  { "{\"handshake\": \"a\", \"handshake\": \"b\", \"object\": \"thing\"}", TRUE, CONNECTOK,
    "{\"handshake\": \"b\", \"meta\": " THING_META "}" },
  { "{\"handshake\": \"hello\", \"object\": \"nosuch\"}", TRUE, CONNECTFAIL, "unknown object 'nosuch'" },
  { "{\"handshake\": \"hello\"}", TRUE, CONNECTFAIL, "unknown object ''" },
  { "{\"handshake\": \"hello\", \"object\": 5}", TRUE, CONNECTFAIL, "unknown object '5'" },
  { "{\"object\": \"thing\"}", TRUE, CONNECTFAIL, "'handshake'" },
  { "{\"handshake\": \"hello\", \"object\": \"thing\"} x", TRUE, CONNECTFAIL, "invalid JSON" },
};

static void
test_handshake_bodies (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing, NULL);
  guint16 port = pyro_daemon_get_port (pyro_test_daemon_get (td));
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, PYRO_TEST_TIMEOUT_S);

  for (gsize i = 0; i < G_N_ELEMENTS (handshake_rows); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", port,
                                                                                 NULL, &error);
      g_assert_no_error (error);
      const Wire connect = { .type = CONNECT, .flags = handshake_rows[i].meta ? FLAG_META : 0, .seq = 5,
                             .body = handshake_rows[i].body };
      Reply reply = { 0 };

      g_test_message ("row %" G_GSIZE_FORMAT ": %s", i, handshake_rows[i].body);
      send_wire (connection, &connect);
      g_assert_true (read_reply (connection, &reply));
      g_autofree char *body = g_strndup (g_bytes_get_data (reply.body, NULL), g_bytes_get_size (reply.body));
      g_bytes_unref (reply.body);
      g_test_message ("reply %u: %s", reply.type, body);
      g_assert_cmpuint (reply.type, ==, handshake_rows[i].reply_type);
      g_assert_cmpuint (reply.seq, ==, 5);
      if (reply.type == CONNECTOK)
        {
          g_assert_cmpstr (body, ==, handshake_rows[i].reply_body);
          g_assert_cmpuint (reply.flags, ==, handshake_rows[i].meta ? FLAG_META : 0);
          check_still_open (connection);
        }
      else
        {
          g_assert_nonnull (strstr (body, handshake_rows[i].reply_body));
          check_closed (connection);
        }
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }
  check_daemon_serves (td);
  pyro_test_daemon_stop (td);
}

/* With pyro_daemon_set_timeout(), clients that stall (half a message, or
 * a handshake and then nothing) are dropped, and their workers serve
 * others: here the pool has 2 workers and 2 stalled clients. */
static void
setup_thing_with_timeout (PyroDaemon *daemon, gpointer user_data)
{
  pyro_daemon_set_pool_size (daemon, 2);
  pyro_daemon_set_timeout (daemon, 1);
  setup_thing (daemon, NULL);
}

static GSocketConnection *
connect_raw (guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_socket_client_set_timeout (client, PYRO_TEST_TIMEOUT_S);
  GSocketConnection *connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static void
test_stalled_clients_time_out (void)
{
  PyroTestDaemon *td = pyro_test_daemon_start (setup_thing_with_timeout, NULL);
  guint16 port = pyro_daemon_get_port (pyro_test_daemon_get (td));

  /* one sends 10 bytes of a header and stops; the other shakes hands and
   * then says nothing */
  g_autoptr(GSocketConnection) half = connect_raw (port);
  const Wire invoke = { .type = INVOKE_MSG, .seq = 1, .body = INVOKE ("thing", "add", "[1, 2]", "{}"),
                        .send_only = 10 };
  send_wire (half, &invoke);
  g_autoptr(GSocketConnection) idle = connect_raw (port);
  do_handshake (idle);

  /* both are dropped after about a second (read with a bound of
   * PYRO_TEST_TIMEOUT_S: a daemon without the timeout fails here) */
  check_closed (half);
  check_closed (idle);
  check_daemon_serves (td);
  pyro_test_daemon_stop (td);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pyro/badinput/handshake-bodies", test_handshake_bodies);
  g_test_add_func ("/pyro/badinput/stalled-clients-time-out", test_stalled_clients_time_out);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pyro/badinput/%s", bad_cases[i].name);
      g_test_add_data_func (path, &bad_cases[i], test_bad_input);
    }
  return g_test_run ();
}
