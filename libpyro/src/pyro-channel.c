/* pyro-channel.c: whole Pyro messages over one connected socket.
 *
 * When all goes well, a synchronous call is four system calls: the client
 * sends the request, the daemon receives it and sends the reply, the
 * client receives it.  Everything around those four is what a call costs
 * beyond the network itself, so this file keeps it short:
 *
 *  - Messages are read through one buffer of our own, filled straight
 *    from the GSocket.  One receive usually brings a whole small message;
 *    a big one is read directly into the memory that will hold it.
 *    (GIO's GBufferedInputStream over a GSocketInputStream does the same
 *    through three layers of stream objects, each checking its state and
 *    the types of its arguments on every read.)
 *  - A message goes out with one g_socket_send_message() of the header
 *    and the body where they are.
 *  - While a connection spins waiting for the next message (pyro-wait.c),
 *    each look *is* the read: recv() without waiting, which either brings
 *    the message or says it is not there yet.  Looking with poll() and then
 *    reading would cost one system call more per message.
 *
 * Errors are GSocket's own, so pyro_message_read_from() turns them into
 * the same Pyro errors as it does for streams.
 */
#include "pyro-channel-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* The read buffer: a small message and its neighbours fit many times. */
#define BUFFER_SIZE (64 * 1024)

struct _PyroChannel
{
  GSocket  *socket;
  int       fd;           /* of @socket, for the reads of a spin */
  PyroSpin  spin;
  guint8   *buffer;
  gsize     start, end;   /* the bytes not read yet: buffer[start, end) */
  gboolean  hung_up;      /* a spin's read found the end of the stream */
  int       read_errno;   /* a spin's read failed with this (0: it did not) */
};

PyroChannel *
pyro_channel_new (GSocket *socket)
{
  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  PyroChannel *channel = g_new0 (PyroChannel, 1);
  channel->socket = g_object_ref (socket);
  channel->fd = g_socket_get_fd (socket);
  channel->buffer = g_malloc (BUFFER_SIZE);
  return channel;
}

void
pyro_channel_free (PyroChannel *channel)
{
  if (channel == NULL)
    return;
  g_object_unref (channel->socket);
  g_free (channel->buffer);
  g_free (channel);
}

gsize
pyro_channel_get_buffered (PyroChannel *channel)
{
  return channel->end - channel->start;
}

const PyroSpin *
pyro_channel_get_spin (PyroChannel *channel)
{
  return &channel->spin;
}

/* ---- reading ---------------------------------------------------------------- */

/* One look of a spin (PyroLookFunc): reads whatever has arrived into the
 * empty buffer, without waiting.  TRUE when there is something to report:
 * bytes, the end of the stream, or an error. */
static gboolean
read_without_waiting (gpointer data)
{
  PyroChannel *channel = data;
  gssize n = recv (channel->fd, channel->buffer, BUFFER_SIZE, MSG_DONTWAIT);

  if (n > 0)
    {
      channel->start = 0;
      channel->end = n;
      return TRUE;
    }
  if (n == 0)
    {
      channel->hung_up = TRUE;
      return TRUE;
    }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return FALSE;
  channel->read_errno = errno;
  return TRUE;
}

/* The PyroReadFunc of a channel: the buffered bytes first, then the socket
 * (blocking, with the socket's timeout and @cancellable). */
static gssize
read_channel (gpointer source, void *dest, gsize len, GCancellable *cancellable, GError **error)
{
  PyroChannel *channel = source;

  if (channel->start == channel->end)
    {
      /* What a spin's read found is reported now, in order. */
      if (channel->hung_up)
        return 0;
      if (channel->read_errno != 0)
        {
          int code = channel->read_errno;
          channel->read_errno = 0;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (code), "Error receiving data: %s",
                       g_strerror (code));
          return -1;
        }

      /* The rest of a big message goes straight where it belongs. */
      if (len >= BUFFER_SIZE)
        return g_socket_receive (channel->socket, dest, len, cancellable, error);

      gssize n = g_socket_receive (channel->socket, (char *) channel->buffer, BUFFER_SIZE, cancellable, error);
      if (n <= 0)
        return n;
      channel->start = 0;
      channel->end = n;
    }

  gsize n = MIN (len, channel->end - channel->start);
  memcpy (dest, channel->buffer + channel->start, n);
  channel->start += n;
  return n;
}

PyroMessage *
pyro_channel_read (PyroChannel   *channel,
                   gsize          max_size,
                   GBytes        *hmac_key,
                   gint64         timeout_usec,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_return_val_if_fail (channel != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* Waiting for the first bytes separately is what lets a wait spin, and
   * have its own timeout (the caller's, in fractions of a second). */
  if (channel->start == channel->end && !channel->hung_up && channel->read_errno == 0 &&
      !pyro_spin_wait (channel->socket, &channel->spin, read_without_waiting, channel, timeout_usec,
                       cancellable, error))
    return NULL;

  return pyro_message_read_from (read_channel, channel, max_size, hmac_key, cancellable, error);
}

/* ---- writing ---------------------------------------------------------------- */

/* The PyroWriteFunc of a channel: all of @vectors, in as many sends as the
 * socket takes (a big message may go out in parts). */
static gboolean
write_channel (gpointer sink, GOutputVector *vectors, gsize n_vectors, GCancellable *cancellable, GError **error)
{
  PyroChannel *channel = sink;

  while (n_vectors > 0)
    {
      gssize sent = g_socket_send_message (channel->socket, NULL, vectors, n_vectors, NULL, 0, 0,
                                           cancellable, error);
      if (sent < 0)
        return FALSE;

      /* Skip what went out: whole vectors, then part of the next one. */
      while (n_vectors > 0 && (gsize) sent >= vectors->size)
        {
          sent -= vectors->size;
          vectors++;
          n_vectors--;
        }
      if (n_vectors > 0)
        {
          vectors->buffer = (const guint8 *) vectors->buffer + sent;
          vectors->size -= sent;
        }
    }
  return TRUE;
}

gboolean
pyro_channel_write (PyroChannel        *channel,
                    const PyroMessage  *msg,
                    GBytes             *hmac_key,
                    GCancellable       *cancellable,
                    GError            **error)
{
  g_return_val_if_fail (channel != NULL, FALSE);
  return pyro_message_write_to (write_channel, channel, msg, hmac_key, cancellable, error);
}

gboolean
pyro_channel_write_with_body (PyroChannel        *channel,
                              const PyroMessage  *msg,
                              const char         *body_text,
                              gsize               body_len,
                              GBytes             *hmac_key,
                              GCancellable       *cancellable,
                              GError            **error)
{
  g_return_val_if_fail (channel != NULL, FALSE);
  return pyro_message_write_with_body_to (write_channel, channel, msg, body_text, body_len,
                                          hmac_key, cancellable, error);
}
