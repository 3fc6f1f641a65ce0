/* pyro-log-private.h: debug messages on busy paths. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether g_debug() messages are shown: G_MESSAGES_DEBUG names our domain
 * (or "all"), the program called g_log_set_debug_enabled(), or it is a
 * g_test program (whose log shows them all).  g_debug() formats its
 * message before GLib decides to drop it, which on a path taken for every
 * connection costs a few thousand instructions, so such paths ask first.
 * (A program whose own log writer shows debug messages regardless of
 * G_MESSAGES_DEBUG sees fewer of them.) */
static inline gboolean
pyro_debug_enabled (void)
{
  return g_test_initialized () || !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN);
}

G_END_DECLS
