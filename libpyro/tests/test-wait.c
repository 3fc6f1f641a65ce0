/* test-wait.c: waiting for the peer, spinning briefly first (pyro-wait.c).
 *
 * These tests check the decisions (spin or sleep, ready or timed out) on
 * a socket pair; none of them depends on how fast anything is.  How busy
 * the CPUs are is read from files of our own in /proc/loadavg's format,
 * so the machine's real load does not change the outcome.
 */
#include "pyro-wait-private.h"
#include "testutil.h"

#include <glib/gstdio.h>
#include <sys/socket.h>

/* Files in /proc/loadavg's format: CPUs idle, CPUs busy. */
static PyroTestLoadavg loadavg;

/* Makes the waits read @path, and lets this thread's earlier answer
 * (kept for 10 ms, CHECK_EVERY_USEC) expire. */
static void
use_loadavg (const char *path)
{
  pyro_wait_set_loadavg_path (path);
  g_usleep (30 * 1000);
}

typedef struct
{
  GSocket *mine;    /* the waiting end */
  GSocket *theirs;  /* the peer */
} Pair;

static void
pair_setup (Pair *pair, gconstpointer data)
{
  int fds[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  pair->mine = g_socket_new_from_fd (fds[0], NULL);
  pair->theirs = g_socket_new_from_fd (fds[1], NULL);
  g_assert_nonnull (pair->mine);
  g_assert_nonnull (pair->theirs);
}

static void
pair_teardown (Pair *pair, gconstpointer data)
{
  g_clear_object (&pair->mine);
  g_clear_object (&pair->theirs);
}

static void
peer_sends (Pair *pair)
{
  g_assert_cmpint (g_socket_send (pair->theirs, "x", 1, NULL, NULL), ==, 1);
}

static void
receive_byte (Pair *pair)
{
  char byte = 0;
  g_assert_cmpint (g_socket_receive (pair->mine, &byte, 1, NULL, NULL), ==, 1);
  g_assert_cmpint (byte, ==, 'x');
}

/* Data already there: the first wait spins and finds it, and waiting never
 * consumes the data. */
static void
test_data_waiting (Pair *pair, gconstpointer data)
{
  PyroSpin spin = { 0 };

  peer_sends (pair);
  g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, -1, NULL, NULL));
  g_assert_cmpuint (spin.spins, ==, 1);
  receive_byte (pair);
}

/* A peer that hung up counts as readable: the read then sees the end. */
static void
test_hang_up (Pair *pair, gconstpointer data)
{
  PyroSpin spin = { 0 };

  g_socket_close (pair->theirs, NULL);
  g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, 10 * G_USEC_PER_SEC, NULL, NULL));
}

/* Nothing comes: the wait ends with G_IO_ERROR_TIMED_OUT. */
static void
test_timeout (Pair *pair, gconstpointer data)
{
  PyroSpin spin = { 0 };
  g_autoptr(GError) error = NULL;
  gint64 timeout = G_USEC_PER_SEC / 5;

  g_assert_false (pyro_socket_wait_readable (pair->mine, &spin, timeout, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* The slow peer: answers after 0.2 s. */
static gpointer
sender_thread (gpointer data)
{
  g_usleep (G_USEC_PER_SEC / 5);
  peer_sends (data);
  return NULL;
}

/* After a long wait (a slow answer) the next wait sleeps without spinning;
 * once waits are short again, spinning comes back. */
static void
test_slow_then_fast (Pair *pair, gconstpointer data)
{
  PyroSpin spin = { 0 };

  GThread *sender = g_thread_new ("sender", sender_thread, pair);
  g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, 30 * G_USEC_PER_SEC, NULL, NULL));
  g_thread_join (sender);
  receive_byte (pair);
  g_assert_cmpuint (spin.spins, ==, 1);

  /* The answer is already there, but the last wait was long: no spin. */
  peer_sends (pair);
  g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, -1, NULL, NULL));
  receive_byte (pair);
  g_assert_cmpuint (spin.spins, ==, 1);

  /* That wait was short (the data was there), so the next one spins.  A
   * busy machine may stall any wait, so allow a few tries. */
  for (guint i = 0; i < 100 && spin.spins == 1; i++)
    {
      peer_sends (pair);
      g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, -1, NULL, NULL));
      receive_byte (pair);
    }
  g_assert_cmpuint (spin.spins, >, 1);
}

/* More threads want to run than there are CPUs: no spinning, even though
 * the last wait was short; once they are free again, spinning is back. */
static void
test_cpus_busy (Pair *pair, gconstpointer data)
{
  PyroSpin spin = { 0 };

  use_loadavg (loadavg.busy);
  peer_sends (pair);
  g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, -1, NULL, NULL));
  receive_byte (pair);
  g_assert_cmpuint (spin.spins, ==, 0);

  use_loadavg (loadavg.idle);
  spin.last_wait = 0;
  peer_sends (pair);
  g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, -1, NULL, NULL));
  receive_byte (pair);
  g_assert_cmpuint (spin.spins, ==, 1);
}

/* When the load cannot be read (not Linux, say), a CPU counts as free. */
static void
test_load_unknown (Pair *pair, gconstpointer data)
{
  PyroSpin spin = { 0 };

  use_loadavg ("/nonexistent/loadavg");
  peer_sends (pair);
  g_assert_true (pyro_socket_wait_readable (pair->mine, &spin, -1, NULL, NULL));
  g_assert_cmpuint (spin.spins, ==, 1);
  use_loadavg (loadavg.idle);
}

/* LIBPYRO_SPIN_USEC=0 turns spinning off: every wait sleeps.  It is read
 * once per process, so this runs in a fresh child process. */
static void
test_turned_off (void)
{
  if (g_test_subprocess ())
    {
      Pair pair;
      PyroSpin spin = { 0 };

      g_setenv ("LIBPYRO_SPIN_USEC", "0", TRUE);
      pyro_wait_set_loadavg_path (loadavg.idle);
      pair_setup (&pair, NULL);
      peer_sends (&pair);
      g_assert_true (pyro_socket_wait_readable (pair.mine, &spin, -1, NULL, NULL));
      g_assert_cmpuint (spin.spins, ==, 0);
      pair_teardown (&pair, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  /* These tests are about the spinning path; make sure it is on even if
   * the environment of the run turned it off. */
  g_unsetenv ("LIBPYRO_SPIN_USEC");
  g_test_init (&argc, &argv, NULL);

  pyro_test_loadavg_create (&loadavg);

  g_test_add ("/pyro/wait/data-waiting", Pair, NULL, pair_setup, test_data_waiting, pair_teardown);
  g_test_add ("/pyro/wait/hang-up", Pair, NULL, pair_setup, test_hang_up, pair_teardown);
  g_test_add ("/pyro/wait/timeout", Pair, NULL, pair_setup, test_timeout, pair_teardown);
  g_test_add ("/pyro/wait/slow-then-fast", Pair, NULL, pair_setup, test_slow_then_fast, pair_teardown);
  g_test_add ("/pyro/wait/cpus-busy", Pair, NULL, pair_setup, test_cpus_busy, pair_teardown);
  g_test_add ("/pyro/wait/load-unknown", Pair, NULL, pair_setup, test_load_unknown, pair_teardown);
  g_test_add_func ("/pyro/wait/turned-off", test_turned_off);

  int status = g_test_run ();
  pyro_test_loadavg_remove (&loadavg);
  return status;
}
