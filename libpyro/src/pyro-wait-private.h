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

gboolean pyro_socket_wait_readable (GSocket       *socket,
                                    PyroSpin      *spin,
                                    gint64         timeout_usec,
                                    GCancellable  *cancellable,
                                    GError       **error);

void pyro_wait_set_loadavg_path (const char *path);

G_END_DECLS
