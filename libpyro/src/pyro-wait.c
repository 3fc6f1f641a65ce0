/* pyro-wait.c: waiting for the peer's next message, spinning briefly first.
 *
 * A synchronous call is a ping-pong: one side sends and then waits for
 * the other's answer.  When the waiting thread sleeps in poll(), the
 * kernel has to wake it up again when the answer comes, and on a machine
 * whose CPUs doze when idle that wake-up costs tens of microseconds: more
 * than the whole Pyro call costs in C.  So before sleeping, a waiting
 * thread first looks for the answer for a short while, about as long as
 * one wake-up costs.  If the answer comes in that time, the wake-up is
 * saved; if not, at most that much CPU time was spent in vain (the
 * classic spin-then-block argument).
 *
 * Spinning only pays when answers come quickly and a CPU is free.  So a
 * connection spins only if its previous wait was short: a slow method,
 * a client that thinks before its next call, or CPUs shared by more busy
 * threads than they can run (which makes every answer slow) all make
 * waits long, and then the connection sleeps right away, as if spinning
 * did not exist.
 *
 * The environment variable LIBPYRO_SPIN_USEC sets the spin time in
 * microseconds (0 turns spinning off, e.g. to compare).
 */
#include "pyro-wait-private.h"

/* About one wake-up of a sleeping thread on a busy machine. */
#define DEFAULT_SPIN_USEC 50

static gint64
spin_usec (void)
{
  static gsize once = 0;
  static gint64 usec;

  if (g_once_init_enter (&once))
    {
      const char *text = g_getenv ("LIBPYRO_SPIN_USEC");
      usec = text != NULL ? g_ascii_strtoll (text, NULL, 10) : DEFAULT_SPIN_USEC;
      g_once_init_leave (&once, 1);
    }
  return usec;
}

/* Looks at @socket until it is readable (or hung up) or @deadline passes. */
static gboolean
spin_until_readable (GSocket *socket, gint64 deadline)
{
  do
    {
      if (g_socket_condition_check (socket, G_IO_IN) != 0)
        return TRUE;
      /* Let any other thread that waits for this CPU run first: a
       * spinning thread must not delay the work it is waiting for. */
      g_thread_yield ();
    }
  while (g_get_monotonic_time () < deadline);
  return FALSE;
}

/* Waits until @socket is readable, at most @timeout_usec (-1: forever),
 * spinning first when @spin says that is worth it.  On a timeout the
 * error is G_IO_ERROR_TIMED_OUT; cancellation is noticed once the spin
 * (at most LIBPYRO_SPIN_USEC) is over. */
gboolean
pyro_socket_wait_readable (GSocket       *socket,
                           PyroSpin      *spin,
                           gint64         timeout_usec,
                           GCancellable  *cancellable,
                           GError       **error)
{
  gint64 usec = spin_usec ();
  gint64 start = g_get_monotonic_time ();
  gboolean ready = FALSE;

  /* "Short" is twice the spin time: a wait that slept through one
   * wake-up still counts as short. */
  if (usec > 0 && spin->last_wait < 2 * usec)
    {
      spin->spins++;
      if (timeout_usec >= 0)
        usec = MIN (usec, timeout_usec);
      ready = spin_until_readable (socket, start + usec);
    }
  if (!ready)
    {
      gint64 left = timeout_usec;
      if (timeout_usec >= 0)
        left = MAX (0, timeout_usec - (g_get_monotonic_time () - start));
      ready = g_socket_condition_timed_wait (socket, G_IO_IN, left, cancellable, error);
    }
  spin->last_wait = g_get_monotonic_time () - start;
  return ready;
}
