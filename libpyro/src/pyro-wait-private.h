/* pyro-wait-private.h: waiting for the peer's next message. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How the waits of one connection went; zero-initialised. */
typedef struct
{
  gint64 last_wait;  /* microseconds the previous wait took */
  guint  spins;      /* waits that began with a spin (tests look at it) */
} PyroSpin;

/* One look for the peer's message while spinning: TRUE when the wait is
 * over (the message came, the peer hung up, or there is an error to
 * report).  It must not block. */
typedef gboolean (*PyroLookFunc) (gpointer data);

/* Waits until @look says the message came or @socket is readable, at most
 * @timeout_usec (-1: forever; then G_IO_ERROR_TIMED_OUT): first calling
 * @look in a spin when @spin says that is worth it, then sleeping in
 * poll().  A caller that reads in @look saves the poll() of the spin that
 * finds the message (pyro-channel.c). */
gboolean pyro_spin_wait (GSocket       *socket,
                         PyroSpin      *spin,
                         PyroLookFunc   look,
                         gpointer       data,
                         gint64         timeout_usec,
                         GCancellable  *cancellable,
                         GError       **error);

/* pyro_spin_wait() looking for readability: for callers that then read
 * @socket themselves. */
gboolean pyro_socket_wait_readable (GSocket       *socket,
                                    PyroSpin      *spin,
                                    gint64         timeout_usec,
                                    GCancellable  *cancellable,
                                    GError       **error);

void pyro_wait_set_loadavg_path (const char *path);

G_END_DECLS
