/* test-channel.c: whole messages over one connected socket (pyro-channel.c).
 *
 * The channel reads through a 64 KiB buffer of its own, looks for the
 * first bytes of a message with a non-blocking recv() while it spins, reads
 * the rest of a big message straight into the message's memory, and sends
 * with as many sendmsg() calls as the socket takes.  Each of those is a
 * place where bytes can be lost, doubled or reordered, so the tests send
 * known messages and compare everything that comes out: type, flags, seq,
 * serializer, annotations and every body byte.  Where the buffer's edge
 * falls is made certain by waiting until the socket holds more than one
 * buffer before the first read.
 *
 * Whether a wait spins is decided by a file of ours in /proc/loadavg's
 * format (CPUs free: it spins; CPUs busy: it sleeps at once), so the
 * machine's load does not change which path a test takes.  No test asserts
 * how long anything takes; every wait is bounded by PYRO_TEST_TIMEOUT_S.
 */
#include "pyro-channel-private.h"
#include "testutil.h"

#include <pyro/pyro-error.h>

#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* The channel's read buffer (pyro-channel.c). */
#define BUFFER_SIZE (64 * 1024)

/* The bound of every wait, in microseconds. */
#define WAIT_USEC ((gint64) PYRO_TEST_TIMEOUT_S * G_USEC_PER_SEC)

/* ---- spinning on and off ---------------------------------------------------- */

/* Files in /proc/loadavg's format: CPUs idle (waits spin), CPUs busy
 * (waits sleep right away). */
static PyroTestLoadavg loadavg;  /* see testutil.h */

/* Makes the waits of this thread spin (or not), and lets the thread's
 * earlier answer (kept for 10 ms, CHECK_EVERY_USEC in pyro-wait.c) expire. */
static void
set_spinning (gboolean on)
{
  pyro_wait_set_loadavg_path (on ? loadavg.idle : loadavg.busy);
  g_usleep (30 * 1000);
}

/* The first wait of a new channel spins exactly when CPUs are free (its
 * previous wait, none, counts as short); later ones may spin again. Checks
 * which path the waits took. */
static void
assert_spun (PyroChannel *channel, gboolean spinning)
{
  if (spinning)
    g_assert_cmpuint (pyro_channel_get_spin (channel)->spins, >=, 1);
  else
    g_assert_cmpuint (pyro_channel_get_spin (channel)->spins, ==, 0);
}

/* ---- sockets ---------------------------------------------------------------- */

typedef struct
{
  GSocket     *mine;      /* the end the tests read from */
  GSocket     *theirs;    /* the peer */
  PyroChannel *channel;   /* over @mine */
} Pair;

/* Both ends get a timeout, so that no blocking read or send in a test can
 * hang it. */
static void
pair_init (Pair *pair, GSocket *mine, GSocket *theirs)
{
  pair->mine = mine;
  pair->theirs = theirs;
  g_socket_set_timeout (mine, PYRO_TEST_TIMEOUT_S);
  g_socket_set_timeout (theirs, PYRO_TEST_TIMEOUT_S);
  pair->channel = pyro_channel_new (mine);
}

static void
unix_pair (Pair *pair)
{
  int fds[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  GSocket *mine = g_socket_new_from_fd (fds[0], NULL);
  GSocket *theirs = g_socket_new_from_fd (fds[1], NULL);
  g_assert_nonnull (mine);
  g_assert_nonnull (theirs);
  pair_init (pair, mine, theirs);
}

/* A TCP connection over 127.0.0.1, on a free port: what a reset needs. */
static void
tcp_pair (Pair *pair)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (listener, any_port, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (g_socket_listen (listener, &error));
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);

  GSocket *mine = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (mine, PYRO_TEST_TIMEOUT_S);
  g_socket_set_timeout (listener, PYRO_TEST_TIMEOUT_S);
  g_assert_true (g_socket_connect (mine, address, NULL, &error));
  g_assert_no_error (error);
  GSocket *theirs = g_socket_accept (listener, NULL, &error);
  g_assert_no_error (error);
  pair_init (pair, mine, theirs);
}

static void
pair_clear (Pair *pair)
{
  g_clear_pointer (&pair->channel, pyro_channel_free);
  g_clear_object (&pair->mine);
  g_clear_object (&pair->theirs);
}

/* The fixture: a socket pair, and CPUs that count as free (spinning on). */
static void
fixture_setup (Pair *pair, gconstpointer data)
{
  set_spinning (TRUE);
  unix_pair (pair);
}

static void
fixture_teardown (Pair *pair, gconstpointer data)
{
  pair_clear (pair);
}

/* The next case of a table test (@name), on a new socket pair, with
 * waits that spin or not. */
static void
start_over (Pair *pair, const char *name, gboolean spinning)
{
  g_test_message ("%s spinning: %d", name, spinning);
  pair_clear (pair);
  set_spinning (spinning);
  unix_pair (pair);
}

static void
send_all (GSocket *socket, const void *data, gsize len)
{
  gsize sent = 0;
  while (sent < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, (const char *) data + sent, len - sent, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      sent += n;
    }
}

static void
send_bytes (GSocket *socket, GBytes *bytes)
{
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  send_all (socket, data, len);
}

/* Bytes that arrived at @socket and are not read yet (by anyone). */
static gsize
queued (GSocket *socket)
{
  int n = 0;
  g_assert_cmpint (ioctl (g_socket_get_fd (socket), FIONREAD, &n), ==, 0);
  return n;
}

/* Waits until @socket holds at least @len bytes: then the next receive
 * takes min(@len, what it asks for), and where the read buffer's edge
 * falls is certain. */
static void
wait_queued (GSocket *socket, gsize len)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_USEC;
  while (queued (socket) < len)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%" G_GSIZE_FORMAT " bytes did not arrive within %d s", len, PYRO_TEST_TIMEOUT_S);
      g_usleep (1000);
    }
}

/* Waits until the kernel has taken the peer's reset on @socket (poll says
 * POLLERR; poll does not clear the error, the next receive reports it). */
static void
wait_reset (GSocket *socket)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_USEC;
  for (;;)
    {
      struct pollfd fd = { .fd = g_socket_get_fd (socket), .events = POLLIN };
      g_assert_cmpint (poll (&fd, 1, 100), >=, 0);
      if (fd.revents & POLLERR)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("no reset arrived within %d s", PYRO_TEST_TIMEOUT_S);
      g_usleep (1000);
    }
}

/* Closes @socket so that TCP sends a reset instead of a FIN. */
static void
close_with_reset (GSocket *socket)
{
  struct linger linger = { .l_onoff = 1, .l_linger = 0 };
  g_assert_cmpint (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger), ==, 0);
  g_assert_true (g_socket_close (socket, NULL));
}

/* ---- a peer in another thread ----------------------------------------------- */

typedef struct
{
  GSocket *socket;
  GBytes  *data;         /* sent, then the socket is closed if @close */
  gsize    chunk;        /* bytes per send; 0: everything in one */
  gulong   pause_usec;   /* between two sends */
  gulong   delay_usec;   /* before the first send */
  gboolean close;
  gboolean reset;        /* close with a reset (TCP) */
} Sender;

static gpointer
sender_thread (gpointer data)
{
  Sender *sender = data;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (sender->data, &len);

  g_usleep (sender->delay_usec);
  for (gsize pos = 0; pos < len;)
    {
      gsize n = sender->chunk != 0 ? MIN (sender->chunk, len - pos) : len - pos;
      send_all (sender->socket, bytes + pos, n);
      pos += n;
      if (pos < len && sender->pause_usec > 0)
        g_usleep (sender->pause_usec);
    }
  if (sender->reset)
    close_with_reset (sender->socket);
  else if (sender->close)
    g_assert_true (g_socket_close (sender->socket, NULL));
  return NULL;
}

/* A peer writing one message through a channel of its own. */
typedef struct
{
  PyroChannel *channel;
  PyroMessage *msg;
  GBytes      *hmac_key;
  GError      *error;
  gboolean     ok;
} ChannelWriter;

static gpointer
channel_writer_thread (gpointer data)
{
  ChannelWriter *writer = data;
  writer->ok = pyro_channel_write (writer->channel, writer->msg, writer->hmac_key, NULL, &writer->error);
  return NULL;
}

/* ---- messages ---------------------------------------------------------------- */

/* A message whose every byte depends on @seq and its position, so that a
 * byte lost, doubled or moved anywhere shows up.  Annotation i has 8 + 8 i
 * bytes: 2 annotations take 6 + 8 + 6 + 16 = 36 bytes on the wire.  Type,
 * flags and serializer vary with @seq too (never COMPRESSED, which the
 * encoder does not send). */
static PyroMessage *
make_message (guint seq, gsize body_len, guint n_annotations)
{
  static const guint16 types[] = { PYRO_MSG_INVOKE, PYRO_MSG_RESULT, PYRO_MSG_PING, PYRO_MSG_CONNECT };
  char *body = g_malloc (MAX (body_len, 1));
  for (gsize i = 0; i < body_len; i++)
    body[i] = (seq * 131 + i * 7 + i / 251) & 0xff;
  guint16 flags = (seq * 0x15) & 0x7d & ~PYRO_FLAG_COMPRESSED;
  PyroMessage *msg = pyro_message_new_take (types[seq % G_N_ELEMENTS (types)], flags, seq & 0xffff,
                                            1 + seq % 4, body, body_len);
  for (guint a = 0; a < n_annotations; a++)
    {
      char key[5];
      guint8 value[64];
      gsize len = 8 + 8 * a;
      g_assert_cmpuint (len, <=, sizeof value);
      g_snprintf (key, sizeof key, "K%03u", a);
      for (gsize i = 0; i < len; i++)
        value[i] = seq + a * 17 + i;
      pyro_message_set_annotation (msg, key, value, len);
    }
  return msg;
}

/* A message of exactly @wire_len bytes on the wire (no annotations). */
static PyroMessage *
make_filler (guint seq, gsize wire_len)
{
  g_assert_cmpuint (wire_len, >=, PYRO_HEADER_SIZE);
  return make_message (seq, wire_len - PYRO_HEADER_SIZE, 0);
}

static gsize
wire_size (const PyroMessage *msg, GBytes *hmac_key)
{
  g_autoptr(GBytes) wire = pyro_message_encode (msg, hmac_key);
  return g_bytes_get_size (wire);
}

/* The messages of @msgs (PyroMessage *), encoded one after the other. */
static GBytes *
encode_all (GPtrArray *msgs, GBytes *hmac_key)
{
  GByteArray *all = g_byte_array_new ();
  for (guint i = 0; i < msgs->len; i++)
    {
      g_autoptr(GBytes) wire = pyro_message_encode (msgs->pdata[i], hmac_key);
      gsize len;
      const guint8 *data = g_bytes_get_data (wire, &len);
      g_byte_array_append (all, data, len);
    }
  return g_byte_array_free_to_bytes (all);
}

static GPtrArray *
message_array (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) pyro_message_free);
}

/* Everything of @got as it was sent in @sent; with @hmac_key, @got also
 * carries the HMAC chunk the encoder appended after the others. */
static void
assert_messages_equal (const PyroMessage *got, const PyroMessage *sent, GBytes *hmac_key)
{
  g_assert_nonnull (got);
  g_assert_cmpuint (got->type, ==, sent->type);
  g_assert_cmpuint (got->flags, ==, sent->flags);
  g_assert_cmpuint (got->seq, ==, sent->seq);
  g_assert_cmpuint (got->serializer_id, ==, sent->serializer_id);

  guint extra = hmac_key != NULL ? 1 : 0;
  g_assert_cmpuint (pyro_message_n_annotations (got), ==, pyro_message_n_annotations (sent) + extra);
  for (guint i = 0; i < pyro_message_n_annotations (sent); i++)
    {
      const PyroAnnotation *a = pyro_message_annotation_at (got, i);
      const PyroAnnotation *b = pyro_message_annotation_at (sent, i);
      g_assert_cmpstr (a->key, ==, b->key);
      pyro_test_assert_bytes_equal (a->value, b->value);
    }
  if (hmac_key != NULL)
    g_assert_cmpstr (pyro_message_annotation_at (got, pyro_message_n_annotations (sent))->key, ==, "HMAC");
  pyro_test_assert_bytes_equal (got->body, sent->body);
}

/* Reads the next message, which must be @sent. */
static void
read_expecting (PyroChannel *channel, const PyroMessage *sent, GBytes *hmac_key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PyroMessage) got = pyro_channel_read (channel, 0, hmac_key, WAIT_USEC, NULL, &error);
  g_assert_no_error (error);
  assert_messages_equal (got, sent, hmac_key);
}

/* Nothing more is there: not in the buffer, not in the socket. */
static void
assert_nothing_more (PyroChannel *channel)
{
  g_autoptr(GError) error = NULL;
  g_assert_cmpuint (pyro_channel_get_buffered (channel), ==, 0);
  g_autoptr(PyroMessage) msg = pyro_channel_read (channel, 0, NULL, G_USEC_PER_SEC / 100, NULL, &error);
  g_assert_null (msg);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* The channel still works: a message sent now is read whole, and
 * nothing after it. */
static void
assert_still_works (Pair *pair, gsize body_size)
{
  g_autoptr(PyroMessage) msg = make_message (1, body_size, 2);
  g_autoptr(GBytes) wire = pyro_message_encode (msg, NULL);
  send_bytes (pair->theirs, wire);
  read_expecting (pair->channel, msg, NULL);
  assert_nothing_more (pair->channel);
}

/* ---- 1. pipelined messages ---------------------------------------------------- */

/* Two messages in one send are read one by one; the second waits in the
 * buffer meanwhile. */
static void
test_pipelined_two (Pair *pair, gconstpointer data)
{
  g_autoptr(GPtrArray) msgs = message_array ();
  g_ptr_array_add (msgs, make_message (1, 50, 2));
  g_ptr_array_add (msgs, make_message (2, 0, 1));
  g_autoptr(GBytes) wire = encode_all (msgs, NULL);
  send_bytes (pair->theirs, wire);

  read_expecting (pair->channel, msgs->pdata[0], NULL);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, wire_size (msgs->pdata[1], NULL));
  read_expecting (pair->channel, msgs->pdata[1], NULL);
  assert_spun (pair->channel, TRUE);
  assert_nothing_more (pair->channel);
}

/* Sends @wire from another thread in one send, waits until more than one
 * read buffer has arrived (so the first receive fills the buffer exactly),
 * and reads @msgs back. */
static void
send_and_read_all (Pair *pair, GBytes *wire, GPtrArray *msgs)
{
  Sender sender = { .socket = pair->theirs, .data = wire };
  GThread *thread = g_thread_new ("sender", sender_thread, &sender);
  wait_queued (pair->mine, MIN (g_bytes_get_size (wire), BUFFER_SIZE + 1));
  for (guint i = 0; i < msgs->len; i++)
    read_expecting (pair->channel, msgs->pdata[i], NULL);
  g_thread_join (thread);
  assert_nothing_more (pair->channel);
}

/* 100 messages of many sizes (empty, small, more than a buffer) in one
 * send: the buffer's edge falls in every part of a message along the way. */
static void
test_pipelined_hundred (Pair *pair, gconstpointer data)
{
  for (int spinning = 1; spinning >= 0; spinning--)
    {
      start_over (pair, "", spinning);

      g_autoptr(GPtrArray) msgs = message_array ();
      for (guint i = 0; i < 100; i++)
        {
          gsize body_len = (i * 7919) % 2900;
          if (i == 37)
            body_len = 70000;                            /* more than a buffer */
          else if (i == 38 || i == 39)
            body_len = 0;
          else if (i == 63)
            body_len = BUFFER_SIZE - PYRO_HEADER_SIZE;   /* a buffer exactly */
          g_ptr_array_add (msgs, make_message (i, body_len, i % 3));
        }
      g_autoptr(GBytes) wire = encode_all (msgs, NULL);
      send_and_read_all (pair, wire, msgs);
      assert_spun (pair->channel, spinning);
    }
}

/* A filler of 64 KiB - @before_edge bytes, then message X, then a small
 * one: the first receive takes exactly 64 KiB, so the buffer ends
 * @before_edge bytes into X. */
static void
test_pipelined_edge (Pair *pair, gconstpointer data)
{
  /* X has 2 annotations (36 bytes): header 0-23, annotations 24-59, body. */
  static const struct
  {
    const char *name;
    gsize       x_body;
    gsize       before_edge;   /* G_MAXSIZE: all of X but its last byte */
  } cases[] = {
    { "edge between messages", 300, 0 },
    { "1 byte of the header", 300, 1 },
    { "10 bytes of the header", 300, 10 },
    { "all but 1 byte of the header", 300, 23 },
    { "the header exactly", 300, 24 },
    { "inside the annotations", 300, 30 },
    { "inside the body", 300, 65 },
    { "all but the last byte", 300, G_MAXSIZE },
    { "big body, edge in the header", 100000, 10 },
    { "big body, edge in the body", 100000, 65 },
    { "buffer-sized body, edge in the header", BUFFER_SIZE, 10 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int spinning = 1; spinning >= 0; spinning--)
      {
        start_over (pair, cases[i].name, spinning);

        g_autoptr(PyroMessage) x = make_message (2, cases[i].x_body, 2);
        gsize before_edge = cases[i].before_edge;
        if (before_edge == G_MAXSIZE)
          before_edge = wire_size (x, NULL) - 1;
        g_assert_cmpuint (before_edge, <, wire_size (x, NULL));

        g_autoptr(GPtrArray) msgs = message_array ();
        g_ptr_array_add (msgs, make_filler (1, BUFFER_SIZE - before_edge));
        g_ptr_array_add (msgs, g_steal_pointer (&x));
        g_ptr_array_add (msgs, make_message (3, 20, 1));
        g_autoptr(GBytes) wire = encode_all (msgs, NULL);
        send_and_read_all (pair, wire, msgs);
        assert_spun (pair->channel, spinning);
      }
}

/* ---- 2. a message one byte at a time ------------------------------------------ */

static void
test_dribble (Pair *pair, gconstpointer data)
{
  g_autoptr(GPtrArray) msgs = message_array ();
  g_ptr_array_add (msgs, make_message (1, 150, 2));
  g_ptr_array_add (msgs, make_message (2, 40, 1));
  g_autoptr(GBytes) wire = encode_all (msgs, NULL);

  Sender sender = { .socket = pair->theirs, .data = wire, .chunk = 1, .pause_usec = 300 };
  GThread *thread = g_thread_new ("dribbler", sender_thread, &sender);
  read_expecting (pair->channel, msgs->pdata[0], NULL);
  read_expecting (pair->channel, msgs->pdata[1], NULL);
  g_thread_join (thread);
  assert_nothing_more (pair->channel);
}

/* ---- 3. big bodies -------------------------------------------------------------- */

/* Sent through pyro_channel_write() by another thread, which takes many
 * sends for the bigger ones (GSocket's fd is non-blocking: a full socket
 * buffer ends a send early), and read straight into the message's memory. */
static void
test_big_bodies (Pair *pair, gconstpointer data)
{
  static const gsize sizes[] = {
    BUFFER_SIZE - 1, BUFFER_SIZE, BUFFER_SIZE + 1, 1024 * 1024, 5 * 1024 * 1024,
  };
  static const char *const keys[] = { NULL, "secret" };

  g_autoptr(PyroChannel) peer = pyro_channel_new (pair->theirs);
  for (gsize k = 0; k < G_N_ELEMENTS (keys); k++)
    for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        g_test_message ("%" G_GSIZE_FORMAT " bytes, key %s", sizes[i], keys[k]);
        g_autoptr(GBytes) key = keys[k] != NULL ? g_bytes_new_static (keys[k], strlen (keys[k])) : NULL;
        g_autoptr(PyroMessage) msg = make_message (i + 1, sizes[i], 2);
        ChannelWriter writer = { .channel = peer, .msg = msg, .hmac_key = key };

        GThread *thread = g_thread_new ("writer", channel_writer_thread, &writer);
        g_autoptr(GError) error = NULL;
        g_autoptr(PyroMessage) got = pyro_channel_read (pair->channel, 0, key, WAIT_USEC, NULL, &error);
        g_thread_join (thread);
        g_assert_no_error (writer.error);
        g_assert_true (writer.ok);
        g_assert_no_error (error);
        assert_messages_equal (got, msg, key);
        g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, 0);
      }
  assert_nothing_more (pair->channel);
}

/* ---- 4. end of stream ------------------------------------------------------------- */

/* The peer sends the first @cut bytes of a message and closes. */
static void
test_end_of_stream (Pair *pair, gconstpointer data)
{
  static const struct
  {
    const char *name;
    gsize       body;
    gsize       cut;     /* G_MAXSIZE: half of the body */
  } cases[] = {
    { "before any byte", 1000, 0 },
    { "after 10 bytes of the header", 1000, 10 },
    { "after half of the body", 1000, G_MAXSIZE },
    { "after half of a big body", 1024 * 1024, G_MAXSIZE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int spinning = 1; spinning >= 0; spinning--)
      {
        start_over (pair, cases[i].name, spinning);

        g_autoptr(PyroMessage) msg = make_message (1, cases[i].body, 2);
        g_autoptr(GBytes) wire = pyro_message_encode (msg, NULL);
        gsize total = g_bytes_get_size (wire);
        gsize head = PYRO_HEADER_SIZE + 36;
        gsize cut = cases[i].cut != G_MAXSIZE ? cases[i].cut : head + cases[i].body / 2;
        g_autoptr(GBytes) part = g_bytes_new_from_bytes (wire, 0, cut);

        /* What fits the socket is all there, and the end of the stream
         * too, before the read begins: a spinning wait finds it with its
         * own receive.  A bigger part is sent meanwhile. */
        Sender sender = { .socket = pair->theirs, .data = part, .close = TRUE };
        GThread *thread = g_thread_new ("sender", sender_thread, &sender);
        if (cut <= BUFFER_SIZE)
          g_clear_pointer (&thread, g_thread_join);

        g_autoptr(GError) error = NULL;
        g_autoptr(PyroMessage) got = pyro_channel_read (pair->channel, 0, NULL, WAIT_USEC, NULL, &error);
        g_clear_pointer (&thread, g_thread_join);
        g_assert_null (got);
        g_autofree char *expected =
          cut == 0 ? g_strdup ("connection closed")
                   : g_strdup_printf ("receiving: not enough data (got %" G_GSIZE_FORMAT " of %"
                                      G_GSIZE_FORMAT " bytes)", cut, cut < PYRO_HEADER_SIZE ? PYRO_HEADER_SIZE : total);
        g_assert_error (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED);
        g_assert_cmpstr (error->message, ==, expected);
        assert_spun (pair->channel, spinning);

        /* And it stays closed. */
        g_clear_error (&error);
        g_assert_null (pyro_channel_read (pair->channel, 0, NULL, WAIT_USEC, NULL, &error));
        g_assert_error (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED);
        g_assert_cmpstr (error->message, ==, "connection closed");
      }
}

/* ---- 5. connection reset ------------------------------------------------------------ */

typedef enum
{
  RESET_LINGER,        /* the peer closes with SO_LINGER {1, 0} */
  RESET_UNREAD,        /* the peer closes with our message unread */
  RESET_AFTER_PART,    /* the peer sends 10 bytes, then closes with SO_LINGER {1, 0} */
  RESET_WHILE_WAITING, /* the reset comes while we wait (0.1 s later) */
} ResetKind;

/* One reset of @kind, read with spinning on or off; returns the error's
 * text. */
static char *
read_reset (ResetKind kind, gboolean spinning)
{
  Pair pair;
  set_spinning (spinning);
  tcp_pair (&pair);

  g_autoptr(PyroMessage) msg = make_message (1, 100, 2);
  g_autoptr(GBytes) wire = pyro_message_encode (msg, NULL);
  g_autoptr(GBytes) part = g_bytes_new_from_bytes (wire, 0, 10);
  g_autoptr(GBytes) nothing = g_bytes_new (NULL, 0);
  Sender sender = { .socket = pair.theirs, .data = part, .reset = TRUE };
  GThread *thread = NULL;
  g_autoptr(GError) error = NULL;

  switch (kind)
    {
    case RESET_LINGER:
      close_with_reset (pair.theirs);
      wait_reset (pair.mine);
      break;
    case RESET_UNREAD:
      /* Unread data makes even a plain close a reset: it must have
       * arrived before the peer closes. */
      g_assert_true (pyro_channel_write (pair.channel, msg, NULL, NULL, &error));
      g_assert_no_error (error);
      wait_queued (pair.theirs, g_bytes_get_size (wire));
      g_assert_true (g_socket_close (pair.theirs, NULL));
      wait_reset (pair.mine);
      break;
    case RESET_AFTER_PART:
      sender_thread (&sender);
      wait_reset (pair.mine);
      break;
    case RESET_WHILE_WAITING:
      sender.data = nothing;
      sender.delay_usec = G_USEC_PER_SEC / 10;
      thread = g_thread_new ("resetter", sender_thread, &sender);
      break;
    }

  g_autoptr(PyroMessage) got = pyro_channel_read (pair.channel, 0, NULL, WAIT_USEC, NULL, &error);
  if (thread != NULL)
    g_thread_join (thread);
  g_assert_null (got);
  pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED, "receiving: connection lost: *");
  /* Woken from a 0.1 s sleep, a wait has spun or not as the scheduler
   * had it: only the other waits are certain. */
  if (kind != RESET_WHILE_WAITING)
    assert_spun (pair.channel, spinning);
  char *text = g_strdup (error->message);

  /* The reset is reported once; after it, the stream has ended. */
  g_clear_error (&error);
  g_assert_null (pyro_channel_read (pair.channel, 0, NULL, WAIT_USEC, NULL, &error));
  g_assert_error (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED);
  g_assert_cmpstr (error->message, ==, "connection closed");
  pair_clear (&pair);
  return text;
}

/* A reset found by the spin's own receive and one found by GSocket's
 * receive after sleeping: the same error, in the same words. */
static void
test_reset (void)
{
  static const struct
  {
    const char *name;
    ResetKind   kind;
  } cases[] = {
    { "linger 0", RESET_LINGER },
    { "our message unread", RESET_UNREAD },
    { "after part of a message", RESET_AFTER_PART },
    { "while waiting", RESET_WHILE_WAITING },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      g_autofree char *spinning = read_reset (cases[i].kind, TRUE);
      g_autofree char *sleeping = read_reset (cases[i].kind, FALSE);
      g_assert_cmpstr (spinning, ==, sleeping);
    }
}

/* ---- 6. timeout, 7. cancellation --------------------------------------------------- */

/* Nothing comes within the timeout: G_IO_ERROR_TIMED_OUT, and nothing is
 * lost for the next read. */
static void
test_timeout (Pair *pair, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_assert_null (pyro_channel_read (pair->channel, 0, NULL, G_USEC_PER_SEC / 5, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, 0);

  assert_still_works (pair, 500);
}

/* A cancelled read reads nothing: neither from the socket nor from the
 * buffer. */
static void
test_cancelled (Pair *pair, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  g_autoptr(GPtrArray) msgs = message_array ();
  g_ptr_array_add (msgs, make_message (1, 30, 1));
  g_ptr_array_add (msgs, make_message (2, 40, 2));
  g_autoptr(GBytes) wire = encode_all (msgs, NULL);
  gsize second = wire_size (msgs->pdata[1], NULL);
  send_bytes (pair->theirs, wire);
  wait_queued (pair->mine, g_bytes_get_size (wire));

  /* Both messages still in the socket. */
  g_autoptr(GError) error = NULL;
  g_assert_null (pyro_channel_read (pair->channel, 0, NULL, WAIT_USEC, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, 0);
  g_assert_cmpuint (queued (pair->mine), ==, g_bytes_get_size (wire));
  read_expecting (pair->channel, msgs->pdata[0], NULL);

  /* The second one in the buffer. */
  g_clear_error (&error);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, second);
  g_assert_null (pyro_channel_read (pair->channel, 0, NULL, WAIT_USEC, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, second);
  read_expecting (pair->channel, msgs->pdata[1], NULL);
  assert_nothing_more (pair->channel);
}

static gpointer
cancel_later (gpointer data)
{
  g_usleep (G_USEC_PER_SEC / 10);
  g_cancellable_cancel (data);
  return NULL;
}

/* Cancelled while waiting for a message: the wait ends, nothing is lost. */
static void
test_cancelled_while_waiting (Pair *pair, gconstpointer data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GThread *thread = g_thread_new ("canceller", cancel_later, cancellable);
  g_autoptr(GError) error = NULL;
  g_assert_null (pyro_channel_read (pair->channel, 0, NULL, WAIT_USEC, cancellable, &error));
  g_thread_join (thread);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  assert_still_works (pair, 70);
}

/* ---- 8. garbage ------------------------------------------------------------------- */

static void
set_be16 (guint8 *wire, gsize offset, guint16 value)
{
  wire[offset] = value >> 8;
  wire[offset + 1] = value & 0xff;
}

/* The checksum of a patched header, computed here rather than by the
 * library (the 7 fields + 0x34E9, 16 bits). */
static void
fix_checksum (guint8 *wire)
{
  guint32 sum = 0x34E9;
  static const gsize fields[] = { 4, 6, 8, 10, 12, 14, 16, 18 };
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    sum += (guint32) (wire[fields[i]] << 8 | wire[fields[i] + 1]) << (fields[i] == 12 ? 16 : 0);
  set_be16 (wire, 22, sum & 0xffff);
}

/* Bad bytes through the channel give the very error that
 * pyro_message_read() gives on a memory stream. */
static void
test_garbage (Pair *pair, gconstpointer data)
{
  typedef enum { PATCH_NONE, PATCH_FIELD, PATCH_RAW, PATCH_TEXT } Patch;
  static const struct
  {
    const char *name;
    Patch       patch;
    gsize       offset;
    guint16     value;
    const char *text;     /* PATCH_TEXT: sent instead of the message */
    gsize       max_size;
    int         code;
  } cases[] = {
    { "http request", PATCH_TEXT, 0, 0, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 0, PYRO_ERROR_PROTOCOL },
    { "short text", PATCH_TEXT, 0, 0, "hello\n", 0, PYRO_ERROR_CONNECTION_CLOSED },
    { "version 47", PATCH_FIELD, 4, 47, NULL, 0, PYRO_ERROR_PROTOCOL },
    { "bad checksum", PATCH_RAW, 22, 0x1234, NULL, 0, PYRO_ERROR_PROTOCOL },
    { "flags changed, checksum not", PATCH_RAW, 8, 0x11, NULL, 0, PYRO_ERROR_PROTOCOL },
    { "negative body size", PATCH_FIELD, 12, 0x8000, NULL, 0, PYRO_ERROR_PROTOCOL },
    { "annotations overrun", PATCH_FIELD, 18, 30, NULL, 0, PYRO_ERROR_PROTOCOL },
    { "too large", PATCH_NONE, 0, 0, NULL, 64, PYRO_ERROR_MESSAGE_TOO_LARGE },
  };

  g_autoptr(PyroMessage) msg = make_message (1, 100, 2);
  g_autoptr(GBytes) original = pyro_message_encode (msg, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].name);
      pair_clear (pair);
      unix_pair (pair);

      GByteArray *array = g_byte_array_new ();
      if (cases[i].patch == PATCH_TEXT)
        g_byte_array_append (array, (const guint8 *) cases[i].text, strlen (cases[i].text));
      else
        {
          gsize len;
          const guint8 *bytes = g_bytes_get_data (original, &len);
          g_byte_array_append (array, bytes, len);
          if (cases[i].patch != PATCH_NONE)
            set_be16 (array->data, cases[i].offset, cases[i].value);
          if (cases[i].patch == PATCH_FIELD)
            fix_checksum (array->data);
        }
      g_autoptr(GBytes) wire = g_byte_array_free_to_bytes (array);
      send_bytes (pair->theirs, wire);
      g_assert_true (g_socket_close (pair->theirs, NULL));

      g_autoptr(GError) channel_error = NULL;
      g_autoptr(PyroMessage) from_channel =
        pyro_channel_read (pair->channel, cases[i].max_size, NULL, WAIT_USEC, NULL, &channel_error);
      g_autoptr(GInputStream) in = g_memory_input_stream_new_from_bytes (wire);
      g_autoptr(GError) stream_error = NULL;
      g_autoptr(PyroMessage) from_stream = pyro_message_read (in, cases[i].max_size, NULL, NULL, &stream_error);

      g_assert_null (from_channel);
      g_assert_null (from_stream);
      g_assert_error (stream_error, PYRO_ERROR, cases[i].code);
      g_assert_error (channel_error, PYRO_ERROR, cases[i].code);
      g_assert_cmpstr (channel_error->message, ==, stream_error->message);
    }
}

/* ---- 9. buffered bytes ---------------------------------------------------------------- */

static void
test_buffered (Pair *pair, gconstpointer data)
{
  g_autoptr(GPtrArray) msgs = message_array ();
  g_ptr_array_add (msgs, make_message (1, 10, 1));
  g_ptr_array_add (msgs, make_message (2, 20, 2));
  g_ptr_array_add (msgs, make_message (3, 30, 0));
  g_autoptr(GBytes) wire = encode_all (msgs, NULL);
  gsize len = g_bytes_get_size (wire);
  gsize first = wire_size (msgs->pdata[0], NULL);
  gsize second = wire_size (msgs->pdata[1], NULL);

  /* All but the last 5 bytes, then the rest. */
  g_autoptr(GBytes) most = g_bytes_new_from_bytes (wire, 0, len - 5);
  g_autoptr(GBytes) rest = g_bytes_new_from_bytes (wire, len - 5, 5);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, 0);
  send_bytes (pair->theirs, most);
  wait_queued (pair->mine, len - 5);

  read_expecting (pair->channel, msgs->pdata[0], NULL);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, len - 5 - first);
  read_expecting (pair->channel, msgs->pdata[1], NULL);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, len - 5 - first - second);
  send_bytes (pair->theirs, rest);
  read_expecting (pair->channel, msgs->pdata[2], NULL);
  g_assert_cmpuint (pyro_channel_get_buffered (pair->channel), ==, 0);
  assert_nothing_more (pair->channel);
}

/* ---- writing to a closed peer ----------------------------------------------------------- */

static void
test_write_closed (Pair *pair, gconstpointer data)
{
  g_autoptr(PyroMessage) msg = make_message (1, 100, 1);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_socket_close (pair->theirs, NULL));
  g_assert_false (pyro_channel_write (pair->channel, msg, NULL, NULL, &error));
  pyro_test_assert_error_matches (error, PYRO_ERROR, PYRO_ERROR_CONNECTION_CLOSED, "sending: connection lost: *");

  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  g_clear_error (&error);
  g_assert_false (pyro_channel_write (pair->channel, msg, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  /* Spinning must be on (it is read once per process); the loadavg files
   * then decide per test whether a wait spins. */
  g_unsetenv ("LIBPYRO_SPIN_USEC");
  g_test_init (&argc, &argv, NULL);

  pyro_test_loadavg_create (&loadavg);

#define ADD(path, func) g_test_add (path, Pair, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/pyro/channel/pipelined-two", test_pipelined_two);
  ADD ("/pyro/channel/pipelined-hundred", test_pipelined_hundred);
  ADD ("/pyro/channel/pipelined-buffer-edge", test_pipelined_edge);
  ADD ("/pyro/channel/dribble", test_dribble);
  ADD ("/pyro/channel/big-bodies", test_big_bodies);
  ADD ("/pyro/channel/end-of-stream", test_end_of_stream);
  g_test_add_func ("/pyro/channel/reset", test_reset);
  ADD ("/pyro/channel/timeout", test_timeout);
  ADD ("/pyro/channel/cancelled", test_cancelled);
  ADD ("/pyro/channel/cancelled-while-waiting", test_cancelled_while_waiting);
  ADD ("/pyro/channel/garbage", test_garbage);
  ADD ("/pyro/channel/buffered", test_buffered);
  ADD ("/pyro/channel/write-closed", test_write_closed);
#undef ADD

  int status = g_test_run ();
  pyro_test_loadavg_remove (&loadavg);
  return status;
}
