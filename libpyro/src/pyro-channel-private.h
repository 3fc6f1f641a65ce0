/* pyro-channel-private.h: whole Pyro messages over one connected socket.
 *
 * Both ends of a connection, the proxy and the daemon's worker, read and
 * write messages through a PyroChannel: the socket, a read buffer, and how
 * the last waits went (pyro-wait.c).  It talks to the GSocket directly
 * rather than through GIO's input and output streams, which add several
 * layers of checks per message; see pyro-channel.c.
 */
#pragma once

#include "pyro-message-private.h"
#include "pyro-wait-private.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PyroChannel PyroChannel;

/* A channel over @socket (a connected, blocking GSocket; a reference is
 * kept).  (transfer full) */
PyroChannel *pyro_channel_new  (GSocket *socket);
void         pyro_channel_free (PyroChannel *channel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroChannel, pyro_channel_free)

/* Bytes that arrived but are not read yet. */
gsize pyro_channel_get_buffered (PyroChannel *channel);

/* How the channel's waits went, for tests. (transfer none) */
const PyroSpin *pyro_channel_get_spin (PyroChannel *channel);

/* Waits for the next message, at most @timeout_usec for its first bytes
 * (-1: forever; then G_IO_ERROR_TIMED_OUT, nothing read), and reads it
 * whole.  Everything else as pyro_message_read(): the same checks, the
 * same errors (the rest of the message is read with the socket's own
 * timeout, if it has one).  (transfer full) */
PyroMessage *pyro_channel_read (PyroChannel   *channel,
                                gsize          max_size,
                                GBytes        *hmac_key,
                                gint64         timeout_usec,
                                GCancellable  *cancellable,
                                GError       **error);

/* Sends @msg whole; errors as pyro_message_write(). */
gboolean pyro_channel_write (PyroChannel        *channel,
                             const PyroMessage  *msg,
                             GBytes             *hmac_key,
                             GCancellable       *cancellable,
                             GError            **error);

/* Writes @msg with @body_len bytes at @body_text as its body (see
 * pyro_message_write_with_body_to()). */
gboolean pyro_channel_write_with_body (PyroChannel        *channel,
                                       const PyroMessage  *msg,
                                       const char         *body_text,
                                       gsize               body_len,
                                       GBytes             *hmac_key,
                                       GCancellable       *cancellable,
                                       GError            **error);

G_END_DECLS
