/* pyro-wait.c: waiting for the peer's next message, spinning briefly first.
 *
 * A synchronous call is a ping-pong: one side sends and then waits for
 * the other's answer.  When the waiting thread sleeps in poll(), the
 * kernel has to wake it up again when the answer comes, and on a machine
 * whose CPUs doze when idle that wake-up costs tens of microseconds: more
 * than the whole Pyro call costs in C.  So before sleeping, a waiting
 * thread first looks for the answer for a short while: about as long as
 * one wake-up costs, or as long as the previous answer took if that was
 * a little longer.  If the answer comes in that time, the wake-up is
 * saved; if not, at most that much CPU time was spent in vain.
 *
 * Spinning only pays when answers come quickly and a CPU is free for the
 * peer to answer on.  So a connection spins only if its previous wait was
 * short (a slow method or a client that thinks before its next call make
 * waits long) and no more threads want to run than the machine has CPUs
 * (with more, a spinning thread takes CPU time from the very work it
 * waits for).  Otherwise it sleeps right away, as if spinning did not
 * exist.
 *
 * The environment variable LIBPYRO_SPIN_USEC sets the spin time in
 * microseconds (default 50; a spin lasts at most SHORT_FACTOR times
 * that; 0 turns spinning off, e.g. to compare).
 */
#include "pyro-wait-private.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* About one wake-up of a sleeping thread on a busy machine. */
#define DEFAULT_SPIN_USEC 50

/* Waits up to this many spin times count as short, and a spin lasts at
 * most that long: a batch of calls is answered in a few hundred
 * microseconds, still well below a scheduler's time slice. */
#define SHORT_FACTOR 4

/* How often a thread looks again how busy the CPUs are: reading the
 * file costs a few system calls, and the load changes slowly next to
 * calls that take microseconds. */
#define CHECK_EVERY_USEC 10000

/* Where Linux says how many threads are running; tests point it elsewhere. */
static const char *loadavg_path = "/proc/loadavg";

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

/* How many threads the machine's CPUs are running or have waiting right
 * now: the fourth field of /proc/loadavg, "running/total".  0 if unknown. */
static guint
threads_running (void)
{
  char text[128];
  int fd = open (loadavg_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  gssize n = read (fd, text, sizeof text - 1);
  close (fd);
  if (n <= 0)
    return 0;
  text[n] = '\0';
  guint running = 0;
  if (sscanf (text, "%*s %*s %*s %u/", &running) != 1)
    return 0;
  return running;
}

/* The machine's CPUs, counted once (GLib reads a file each time). */
static guint
n_cpus (void)
{
  static gsize count = 0;

  if (g_once_init_enter (&count))
    g_once_init_leave (&count, g_get_num_processors ());
  return count;
}

/* TRUE if a CPU is free for the peer while we spin: no more threads want
 * to run than there are CPUs.  Asked at most once every CHECK_EVERY_USEC
 * per thread, as reading the file costs a few system calls. */
static gboolean
cpus_are_free (void)
{
  /* Each thread keeps its own answer, so no locking is needed. */
  static _Thread_local gint64 checked_at = G_MININT64 / 2;
  static _Thread_local gboolean answer;
  gint64 now = g_get_monotonic_time ();

  if (now - checked_at >= CHECK_EVERY_USEC)
    {
      guint running = threads_running ();
      answer = running <= n_cpus ();
      checked_at = now;
    }
  return answer;
}

static gboolean
look_readable (gpointer data)
{
  return g_socket_condition_check (data, G_IO_IN) != 0;
}

/* Calls @look until it says the wait is over or @deadline passes. */
static gboolean
spin_until (PyroLookFunc look, gpointer data, gint64 deadline)
{
  do
    {
      if (look (data))
        return TRUE;
      /* Let any other thread that waits for this CPU run first: a
       * spinning thread must not delay the work it is waiting for. */
      g_thread_yield ();
    }
  while (g_get_monotonic_time () < deadline);
  return FALSE;
}

gboolean
pyro_spin_wait (GSocket       *socket,
                PyroSpin      *spin,
                PyroLookFunc   look,
                gpointer       data,
                gint64         timeout_usec,
                GCancellable  *cancellable,
                GError       **error)
{
  gint64 usec = spin_usec ();
  gint64 start = g_get_monotonic_time ();
  gboolean ready = FALSE;

  /* The answer usually takes about as long as it did last time: spin for
   * a little longer than that, at least the spin time, if that is short
   * (up to SHORT_FACTOR spin times; a wait that slept through a wake-up
   * then still counts as short). */
  gint64 longest = SHORT_FACTOR * usec;
  if (usec > 0 && spin->last_wait < longest && cpus_are_free ())
    {
      spin->spins++;
      usec = CLAMP (spin->last_wait + spin->last_wait / 2, usec, longest);
      if (timeout_usec >= 0)
        usec = MIN (usec, timeout_usec);
      ready = spin_until (look, data, start + usec);
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

gboolean
pyro_socket_wait_readable (GSocket       *socket,
                           PyroSpin      *spin,
                           gint64         timeout_usec,
                           GCancellable  *cancellable,
                           GError       **error)
{
  return pyro_spin_wait (socket, spin, look_readable, socket, timeout_usec, cancellable, error);
}

/* For tests: read the running threads from @path (a file in the format
 * of /proc/loadavg) instead.  Call it before any other thread waits; a
 * thread's earlier answer stays for up to CHECK_EVERY_USEC. */
void
pyro_wait_set_loadavg_path (const char *path)
{
  loadavg_path = path;
}
