/* pyro-bench.c: the C half of `make bench` (libpyro/bench/bench.py drives it).
 *
 *   pyro-bench daemon
 *       Serves one "bench" object on 127.0.0.1 (a free port), prints
 *       "URI PYRO:bench@127.0.0.1:PORT" and runs until SIGINT/SIGTERM.
 *       It is its own process so the driver can read its peak RSS.
 *
 *   pyro-bench floor SECONDS
 *       No Pyro at all: 64-byte ping-pongs over a loopback TCP connection
 *       between two processes, waiting for each message as libpyro does
 *       (pyro-wait.c; LIBPYRO_SPIN_USEC=0: sleeping waits only).  The
 *       fastest any sync call can be on this machine, printed in the same
 *       JSON form as a client scenario.
 *
 *   pyro-bench connect-floor SECONDS
 *       No Pyro either: for SECONDS each, a client connects over loopback,
 *       exchanges messages of the sizes of Pyro4's connect + add(1,2)
 *       (65-byte CONNECT, 185-byte CONNECTOK, 92-byte INVOKE, 25-byte
 *       RESULT) and closes, again and again, against a server process
 *       that serves each connection (1) in a worker thread the accepting
 *       thread hands it to, as a daemon accepting in a GMainContext does,
 *       then (2) in the accepting thread itself, as the daemon's request
 *       loop does.  The fastest "connect + call + close" can be here;
 *       one JSON line per way of serving, scenarios "connect-floor-worker"
 *       and "connect-floor-inline", "calls" counting connections.
 *
 *   pyro-bench client URI SCENARIO SECONDS [START_AT [LATENCY_FILE]]
 *       Runs one scenario against URI for about SECONDS seconds and prints
 *       one JSON line with what it measured.  START_AT (wall clock, in
 *       seconds since the epoch) lets the driver start several client
 *       processes at the same moment; LATENCY_FILE receives every call's
 *       latency in microseconds, one a line, so the driver can take
 *       percentiles over several clients.
 *
 *       Scenarios: small (add(1,2)), echo1k, batch100 (batches of 100
 *       add(1,2) in one request, pyro-batch.h), oneway, bigresult, bigarg,
 *       connect.
 *
 * The Python half (bench_server.py, bench_client.py) implements the same
 * object and the same scenarios with Pyro4, so the two can be compared.
 */
#include <pyro/pyro.h>
#include "pyro-wait-private.h"  /* the floor waits as libpyro does */

#include <errno.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* 1 MiB: the payload of the "big" scenarios. */
#define BIG_SIZE (1024 * 1024)

/* ---- the daemon side --------------------------------------------------- */

typedef struct
{
  gint notified;     /* oneway calls seen; atomic, methods run in several threads */
  GVariant *big;     /* the 1 MiB string big_result() returns, made once */
} Bench;

static char *
make_payload (gsize size)
{
  /* Plain ASCII, so JSON needs no escapes and both sides move the same bytes. */
  char *s = g_malloc (size + 1);
  for (gsize i = 0; i < size; i++)
    s[i] = 'a' + (i % 26);
  s[size] = '\0';
  return s;
}

static GVariant *
bench_echo (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  GVariant *s = g_variant_get_child_value (args, 0);
  return s;
}

static GVariant *
bench_add (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gint64 a, b;
  g_variant_get (args, "(xx)", &a, &b);
  return g_variant_new_int64 (a + b);
}

static GVariant *
bench_notify (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Bench *bench = instance;
  g_atomic_int_inc (&bench->notified);
  return NULL;
}

static GVariant *
bench_count (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Bench *bench = instance;
  return g_variant_new_int64 (g_atomic_int_get (&bench->notified));
}

static GVariant *
bench_big_result (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  Bench *bench = instance;
  return g_variant_ref (bench->big);
}

static GVariant *
bench_big_arg (gpointer instance, GVariant *args, PyroInvocation *invocation, GError **error)
{
  gsize length;
  g_autoptr(GVariant) s = g_variant_get_child_value (args, 0);
  g_variant_get_string (s, &length);
  return g_variant_new_int64 (length);
}

static const PyroMethod bench_methods[] = {
  { "echo", "(s)", "s", bench_echo, 0, "s" },
  { "add", "(xx)", "x", bench_add, 0, "a,b" },
  { "notify", "()", NULL, bench_notify, PYRO_METHOD_ONEWAY, NULL },
  { "count", "()", "x", bench_count, 0, NULL },
  { "big_result", "()", "s", bench_big_result, 0, NULL },
  { "big_arg", "(s)", "x", bench_big_arg, 0, "s" },
  { NULL }
};

static const PyroClass bench_class = {
  .name = "Bench",
  .methods = bench_methods,
};

static int
run_daemon (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = make_payload (BIG_SIZE);
  Bench bench = { 0 };

  bench.big = g_variant_ref_sink (g_variant_new_take_string (g_steal_pointer (&payload)));

  g_autoptr(PyroDaemon) daemon = pyro_daemon_new ("127.0.0.1", 0, &error);
  if (daemon == NULL)
    {
      g_printerr ("pyro-bench: %s\n", error->message);
      return 1;
    }
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &bench_class, &bench,
                                                        "bench", &error);
  if (uri == NULL)
    {
      g_printerr ("pyro-bench: %s\n", error->message);
      return 1;
    }

  printf ("URI %s\n", pyro_uri_to_string (uri));
  fflush (stdout);

  pyro_daemon_stop_on_unix_signals (daemon);
  pyro_daemon_request_loop (daemon);

  g_clear_object (&daemon);
  g_variant_unref (bench.big);
  return 0;
}

/* ---- the client side --------------------------------------------------- */

/* What one scenario run measured. */
typedef struct
{
  guint64 calls;
  double seconds;
  guint64 bytes;       /* payload bytes moved (big scenarios) */
  GArray *latencies;   /* of double, microseconds */
  gint64 lost;         /* oneway: calls the daemon never counted */
  guint polls;         /* oneway: sync count() calls needed to see them all */
} Result;

/* One call of a scenario, on @proxy; FALSE with @error set on failure.
 * @params is made once per run and reused (not floating: the proxy only
 * takes a reference), so the benchmark measures the library, not the
 * copying of its own 1 MiB argument.  @batch is the reused ::PyroBatch of
 * the batch scenario (NULL otherwise). */
typedef gboolean (*CallFunc) (PyroProxy *proxy, PyroBatch *batch, GVariant *params,
                              GError **error);

/* Calls in one batch of the batch100 scenario. */
#define BATCH_SIZE 100

static gboolean
check_int (GVariant *reply, gint64 expected, GError **error)
{
  if (reply == NULL)
    return FALSE;
  gint64 got = g_variant_get_int64 (reply);
  g_variant_unref (reply);
  if (got != expected)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED,
                   "wrong answer: %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT,
                   got, expected);
      return FALSE;
    }
  return TRUE;
}

static gboolean
call_add (PyroProxy *proxy, PyroBatch *batch, GVariant *params, GError **error)
{
  GVariant *reply = pyro_proxy_call_sync (proxy, "add", g_variant_new ("(xx)", (gint64) 1, (gint64) 2),
                                          G_VARIANT_TYPE_INT64, NULL, error);
  return check_int (reply, 3, error);
}

static gboolean
call_echo (PyroProxy *proxy, PyroBatch *batch, GVariant *params, GError **error)
{
  GVariant *reply = pyro_proxy_call_sync (proxy, "echo", params,
                                          G_VARIANT_TYPE_STRING, NULL, error);
  if (reply == NULL)
    return FALSE;
  /* The 1 KiB string must come back whole; a length check is enough. */
  gsize length;
  g_variant_get_string (reply, &length);
  g_variant_unref (reply);
  if (length != 1024)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED, "echo came back %zu bytes long", length);
      return FALSE;
    }
  return TRUE;
}

static gboolean
call_big_result (PyroProxy *proxy, PyroBatch *batch, GVariant *params, GError **error)
{
  GVariant *reply = pyro_proxy_call_sync (proxy, "big_result", NULL,
                                          G_VARIANT_TYPE_STRING, NULL, error);
  if (reply == NULL)
    return FALSE;
  gsize length;
  g_variant_get_string (reply, &length);
  g_variant_unref (reply);
  if (length != BIG_SIZE)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED, "big_result was %zu bytes", length);
      return FALSE;
    }
  return TRUE;
}

static gboolean
call_big_arg (PyroProxy *proxy, PyroBatch *batch, GVariant *params, GError **error)
{
  GVariant *reply = pyro_proxy_call_sync (proxy, "big_arg", params,
                                          G_VARIANT_TYPE_INT64, NULL, error);
  return check_int (reply, BIG_SIZE, error);
}

/* The argument tuple (1, 2) of every add() in a batch, made once and
 * shared (a GVariant is immutable), as a program calling with the same
 * arguments would do: building it anew with g_variant_new() each time
 * costs more than queueing the call, and measures GLib, not libpyro. */
static GVariant *
add_batch_params (void)
{
  static GVariant *params;

  if (params == NULL)
    params = g_variant_ref_sink (g_variant_new ("(xx)", (gint64) 1, (gint64) 2));
  return params;
}

/* BATCH_SIZE add(1,2) calls in one batch request; every answer must be 3. */
static gboolean
call_add_batch (PyroProxy *proxy, PyroBatch *batch, GVariant *params, GError **error)
{
  GVariant *args = add_batch_params ();

  for (int i = 0; i < BATCH_SIZE; i++)
    pyro_batch_add (batch, "add", g_variant_ref (args));
  g_autoptr(GVariant) results = pyro_batch_run_sync (batch, NULL, error);
  if (results == NULL)
    return FALSE;
  gsize n = g_variant_n_children (results);
  if (n != BATCH_SIZE)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED,
                   "batch gave %zu results, expected %d", n, BATCH_SIZE);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) box = g_variant_get_child_value (results, i);
      g_autoptr(GVariant) value = g_variant_get_variant (box);
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE_INT64) ||
          g_variant_get_int64 (value) != 3)
        {
          g_autofree char *text = g_variant_print (value, TRUE);
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED,
                       "batch result %zu is %s, expected 3", i, text);
          return FALSE;
        }
    }
  return TRUE;
}

static gint64
start_clock (double start_at)
{
  /* Several client processes start together at a wall-clock moment the
   * driver chose; each has already connected by then. */
  if (start_at > 0)
    {
      gint64 wait = (gint64) (start_at * G_USEC_PER_SEC) - g_get_real_time ();
      if (wait > 0)
        g_usleep (wait);
    }
  return g_get_monotonic_time ();
}

/* Repeats @call on one connection for @seconds, timing each call.
 * One @call makes @calls_each Pyro calls (a batch makes many): the result
 * counts Pyro calls, the latencies are of whole @call rounds. */
static gboolean
run_calls (PyroProxy *proxy, CallFunc call, PyroBatch *batch, guint calls_each,
           GVariant *params, gsize payload_bytes,
           double seconds, double start_at, Result *result, GError **error)
{
  /* A first call connects and warms up; it is not counted. */
  if (!call (proxy, batch, params, error))
    return FALSE;

  gint64 start = start_clock (start_at);
  gint64 end = start + (gint64) (seconds * G_USEC_PER_SEC);
  gint64 now = start;
  while (now < end)
    {
      if (!call (proxy, batch, params, error))
        return FALSE;
      gint64 after = g_get_monotonic_time ();
      double latency = after - now;
      g_array_append_val (result->latencies, latency);
      result->calls += calls_each;
      now = after;
    }
  result->seconds = (now - start) / (double) G_USEC_PER_SEC;
  result->bytes = result->calls / calls_each * payload_bytes;
  return TRUE;
}

static gboolean
get_count (PyroProxy *proxy, gint64 *count, GError **error)
{
  GVariant *reply = pyro_proxy_call_sync (proxy, "count", NULL, G_VARIANT_TYPE_INT64, NULL, error);
  if (reply == NULL)
    return FALSE;
  *count = g_variant_get_int64 (reply);
  g_variant_unref (reply);
  return TRUE;
}

/* Oneway calls for @seconds, then sync count() calls until the daemon has
 * counted every one of them (or 30 s pass): the time is end to end. */
static gboolean
run_oneway (PyroProxy *proxy, double seconds, Result *result, GError **error)
{
  gint64 before;
  if (!get_count (proxy, &before, error))
    return FALSE;

  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (seconds * G_USEC_PER_SEC);
  do
    {
      /* Check the clock every 100 calls: a oneway call is cheaper than the clock is noisy. */
      for (int i = 0; i < 100; i++)
        if (!pyro_proxy_call_oneway (proxy, "notify", NULL, error))
          return FALSE;
      result->calls += 100;
    }
  while (g_get_monotonic_time () < end);

  gint64 expected = before + (gint64) result->calls;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gint64 seen = 0;
  do
    {
      if (!get_count (proxy, &seen, error))
        return FALSE;
      result->polls++;
      if (seen < expected)
        g_usleep (1000);
    }
  while (seen < expected && g_get_monotonic_time () < deadline);

  result->lost = expected - seen;
  result->seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  return TRUE;
}

/* A new proxy for every call: connect, handshake, one call, close. */
static gboolean
run_connect (PyroUri *uri, double seconds, Result *result, GError **error)
{
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (seconds * G_USEC_PER_SEC);
  gint64 now = start;
  while (now < end)
    {
      g_autoptr(PyroProxy) proxy = pyro_proxy_new_for_uri (uri);
      if (!call_add (proxy, NULL, NULL, error))
        return FALSE;
      pyro_proxy_release (proxy);
      result->calls++;
      now = g_get_monotonic_time ();
    }
  result->seconds = (now - start) / (double) G_USEC_PER_SEC;
  return TRUE;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
percentile (GArray *sorted, double p)
{
  if (sorted->len == 0)
    return 0;
  guint i = (guint) (p / 100.0 * (sorted->len - 1) + 0.5);
  return g_array_index (sorted, double, i);
}

static gboolean
write_latencies (const char *path, GArray *latencies, GError **error)
{
  g_autoptr(GString) text = g_string_sized_new (latencies->len * 8);
  for (guint i = 0; i < latencies->len; i++)
    g_string_append_printf (text, "%.1f\n", g_array_index (latencies, double, i));
  return g_file_set_contents (path, text->str, text->len, error);
}

static void
print_result (const char *scenario, Result *result)
{
  g_array_sort (result->latencies, compare_doubles);
  printf ("{\"scenario\": \"%s\", \"calls\": %" G_GUINT64_FORMAT ", \"seconds\": %.6f, "
          "\"bytes\": %" G_GUINT64_FORMAT ", \"p50_us\": %.1f, \"p99_us\": %.1f, "
          "\"lost\": %" G_GINT64_FORMAT ", \"polls\": %u}\n",
          scenario, result->calls, result->seconds, result->bytes,
          percentile (result->latencies, 50), percentile (result->latencies, 99),
          result->lost, result->polls);
  fflush (stdout);
}

/* The argument tuple ("payload",) of echo() and big_arg(), made once. */
static GVariant *
string_params (gsize size)
{
  GVariant *s = g_variant_new_take_string (make_payload (size));
  return g_variant_ref_sink (g_variant_new_tuple (&s, 1));
}

static gboolean
run_scenario (PyroUri *uri, const char *scenario, double seconds, double start_at,
              Result *result, GError **error)
{
  if (g_str_equal (scenario, "connect"))
    return run_connect (uri, seconds, result, error);

  g_autoptr(PyroProxy) proxy = pyro_proxy_new_for_uri (uri);
  /* A hung daemon must not hang the benchmark. */
  pyro_proxy_set_timeout (proxy, 60);

  if (g_str_equal (scenario, "oneway"))
    return run_oneway (proxy, seconds, result, error);
  if (g_str_equal (scenario, "small"))
    return run_calls (proxy, call_add, NULL, 1, NULL, 0, seconds, start_at, result, error);
  if (g_str_equal (scenario, "echo1k"))
    {
      g_autoptr(GVariant) params = string_params (1024);
      return run_calls (proxy, call_echo, NULL, 1, params, 2 * 1024, seconds, start_at,
                        result, error);
    }
  if (g_str_equal (scenario, "batch100"))
    {
      /* One batch object, refilled for every request, as a program would. */
      g_autoptr(PyroBatch) batch = pyro_batch_new (proxy);
      return run_calls (proxy, call_add_batch, batch, BATCH_SIZE, NULL, 0, seconds, start_at,
                        result, error);
    }
  if (g_str_equal (scenario, "bigresult"))
    return run_calls (proxy, call_big_result, NULL, 1, NULL, BIG_SIZE, seconds, start_at,
                      result, error);
  if (g_str_equal (scenario, "bigarg"))
    {
      g_autoptr(GVariant) params = string_params (BIG_SIZE);
      return run_calls (proxy, call_big_arg, NULL, 1, params, BIG_SIZE, seconds, start_at,
                        result, error);
    }

  g_set_error (error, PYRO_ERROR, PYRO_ERROR_FAILED, "unknown scenario \"%s\"", scenario);
  return FALSE;
}

static int
run_client (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  const char *uri_text = argv[2];
  const char *scenario = argv[3];
  double seconds = g_ascii_strtod (argv[4], NULL);
  double start_at = argc > 5 ? g_ascii_strtod (argv[5], NULL) : 0;
  const char *latency_file = argc > 6 ? argv[6] : NULL;
  Result result = { 0 };

  g_autoptr(PyroUri) uri = pyro_uri_parse (uri_text, &error);
  if (uri == NULL)
    {
      g_printerr ("pyro-bench: %s\n", error->message);
      return 1;
    }

  result.latencies = g_array_sized_new (FALSE, FALSE, sizeof (double), 100000);
  gboolean ok = run_scenario (uri, scenario, seconds, start_at, &result, &error);
  if (ok && latency_file != NULL)
    ok = write_latencies (latency_file, result.latencies, &error);
  if (ok)
    print_result (scenario, &result);
  else
    g_printerr ("pyro-bench: %s: %s\n", scenario, error->message);
  g_array_unref (result.latencies);
  return ok ? 0 : 1;
}

/* ---- the loopback floor ------------------------------------------------ */

#define FLOOR_MESSAGE 64

/* One look of a spin for receive_exactly(): as libpyro's connections
 * look (pyro-channel.c), the look is the read itself. */
typedef struct
{
  int    fd;
  char  *buffer;
  gsize  size;
  gsize  got;
} FloorLook;

static gboolean
floor_look (gpointer data)
{
  FloorLook *look = data;
  gssize n = recv (look->fd, look->buffer + look->got, look->size - look->got, MSG_DONTWAIT);

  if (n > 0)
    look->got += n;
  /* Done looking when bytes came, at the end of the stream, or on an
   * error: the receive below then reports the latter two. */
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Receives exactly @size bytes into @buffer, waiting for them the way
 * libpyro waits (pyro-wait.c, pyro-channel.c): a brief spin whose looks
 * are reads, then sleep (only sleep with LIBPYRO_SPIN_USEC=0).  FALSE on
 * end of file, an error, or nothing within @timeout_usec (-1: forever). */
static gboolean
receive_exactly (GSocket *socket, PyroSpin *spin, gint64 timeout_usec,
                 char *buffer, gsize size, GError **error)
{
  FloorLook look = { g_socket_get_fd (socket), buffer, size, 0 };

  if (!pyro_spin_wait (socket, spin, floor_look, &look, timeout_usec, NULL, error))
    return FALSE;
  while (look.got < size)
    {
      gssize n = g_socket_receive (socket, buffer + look.got, size - look.got, NULL, error);
      if (n <= 0)
        return FALSE;
      look.got += n;
    }
  return TRUE;
}

/* The echoing end of the floor measurement: sends back every message. */
static void
floor_echo (GSocket *listener)
{
  g_autoptr(GSocket) socket = g_socket_accept (listener, NULL, NULL);
  char buffer[FLOOR_MESSAGE];
  PyroSpin spin = { 0 };

  if (socket == NULL)
    return;
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  while (receive_exactly (socket, &spin, -1, buffer, sizeof buffer, NULL) &&
         g_socket_send (socket, buffer, sizeof buffer, NULL, NULL) == sizeof buffer)
    ;
}

static gboolean
floor_round_trip (GSocket *socket, PyroSpin *spin, GError **error)
{
  char buffer[FLOOR_MESSAGE] = { 0 };

  return g_socket_send (socket, buffer, sizeof buffer, NULL, error) == sizeof buffer &&
         receive_exactly (socket, spin, -1, buffer, sizeof buffer, error);
}

static int
run_floor (double seconds)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, &error);
  if (listener == NULL || !g_socket_bind (listener, any_port, TRUE, &error) ||
      !g_socket_listen (listener, &error))
    {
      g_printerr ("pyro-bench: floor: %s\n", error->message);
      return 1;
    }
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (listener, &error);
  /* A second process, as the client and the daemon are in the scenarios.
   * Nothing but this one thread runs yet, so fork() is safe. */
  pid_t echo = fork ();
  if (echo == 0)
    {
      floor_echo (listener);
      _exit (0);
    }
  g_socket_close (listener, NULL);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  Result result = { 0 };
  result.latencies = g_array_sized_new (FALSE, FALSE, sizeof (double), 100000);
  PyroSpin spin = { 0 };

  gboolean ok = socket != NULL && g_socket_connect (socket, address, NULL, &error);
  if (ok)
    {
      g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      ok = floor_round_trip (socket, &spin, &error);
    }
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (seconds * G_USEC_PER_SEC);
  gint64 now = start;
  while (ok && now < end)
    {
      ok = floor_round_trip (socket, &spin, &error);
      gint64 after = g_get_monotonic_time ();
      double latency = after - now;
      g_array_append_val (result.latencies, latency);
      result.calls++;
      now = after;
    }
  result.seconds = (now - start) / (double) G_USEC_PER_SEC;

  /* Closing our end makes the echo process's receive return 0. */
  if (socket != NULL)
    g_socket_close (socket, NULL);
  if (echo > 0)
    waitpid (echo, NULL, 0);
  if (ok)
    print_result ("floor", &result);
  else
    g_printerr ("pyro-bench: floor: %s\n", error ? error->message : "connection lost");
  g_array_unref (result.latencies);
  return ok ? 0 : 1;
}

/* ---- the connect floor ------------------------------------------------- */

/* The sizes of the messages Pyro4 4.82 (JSON) exchanges for a new proxy's
 * first call add(1,2): CONNECT, CONNECTOK with metadata, INVOKE, RESULT. */
#define CONNECT_SIZE 65
#define CONNECTOK_SIZE 185
#define INVOKE_SIZE 92
#define RESULT_SIZE 25

/* The client never waits longer than this for an answer: a server that
 * died must not hang the benchmark. */
#define CONNECT_FLOOR_TIMEOUT_USEC (10 * G_USEC_PER_SEC)

static gboolean
send_exactly (GSocket *socket, const char *buffer, gsize size, GError **error)
{
  return g_socket_send (socket, buffer, size, NULL, error) == (gssize) size;
}

/* The server's side of one connection: request, answer, request, answer,
 * then the client's end of file.  Closes @socket. */
static void
connect_floor_serve (GSocket *socket)
{
  char buffer[CONNECTOK_SIZE] = { 0 };  /* the largest of the four */
  PyroSpin spin = { 0 };                /* a new connection, as in the daemon */

  if (receive_exactly (socket, &spin, -1, buffer, CONNECT_SIZE, NULL) &&
      send_exactly (socket, buffer, CONNECTOK_SIZE, NULL) &&
      receive_exactly (socket, &spin, -1, buffer, INVOKE_SIZE, NULL) &&
      send_exactly (socket, buffer, RESULT_SIZE, NULL))
    {
      /* The client closes first, as a released proxy does: wait for that. */
      pyro_socket_wait_readable (socket, &spin, -1, NULL, NULL);
      g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);
    }
  g_socket_close (socket, NULL);
}

/* A worker thread of the pool: serves one handed-over connection. */
static void
connect_floor_worker (gpointer data, gpointer user_data)
{
  GSocket *socket = data;

  connect_floor_serve (socket);
  g_object_unref (socket);
}

/* One look of the accepting thread's spin: a client, or none yet. */
typedef struct
{
  GSocket *listener;
  GSocket *socket;
} FloorKnock;

static gboolean
accept_without_waiting (gpointer data)
{
  FloorKnock *knock = data;
  knock->socket = g_socket_accept (knock->listener, NULL, NULL);
  return knock->socket != NULL;
}

/* The server process: accepts connections until it is killed, and serves
 * each in a worker thread (@handoff, a thread pool made as the daemon makes
 * its own) or in this thread.  It waits for the next client as the
 * daemon's leader does: a short spin of accepts, then sleep. */
static void
connect_floor_server (GSocket *listener, gboolean handoff)
{
  GThreadPool *pool = handoff ? g_thread_pool_new (connect_floor_worker, NULL, -1, FALSE, NULL) : NULL;
  FloorKnock knock = { listener, NULL };
  PyroSpin spin = { 0 };

  g_socket_set_blocking (listener, FALSE);
  for (;;)
    {
      if (!pyro_spin_wait (listener, &spin, accept_without_waiting, &knock, -1, NULL, NULL))
        return;
      if (knock.socket == NULL && !accept_without_waiting (&knock))
        continue;
      GSocket *socket = g_steal_pointer (&knock.socket);
      g_socket_set_blocking (socket, TRUE);
      g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      if (pool != NULL)
        g_thread_pool_push (pool, socket, NULL);
      else
        connect_floor_worker (socket, NULL);
    }
}

/* The client's side of one connection: connect, two round trips, close. */
static gboolean
connect_floor_once (GSocketAddress *address, GError **error)
{
  char buffer[CONNECTOK_SIZE] = { 0 };
  PyroSpin spin = { 0 };
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL || !g_socket_connect (socket, address, NULL, error))
    return FALSE;
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  gboolean ok = send_exactly (socket, buffer, CONNECT_SIZE, error) &&
    receive_exactly (socket, &spin, CONNECT_FLOOR_TIMEOUT_USEC, buffer, CONNECTOK_SIZE, error) &&
    send_exactly (socket, buffer, INVOKE_SIZE, error) &&
    receive_exactly (socket, &spin, CONNECT_FLOOR_TIMEOUT_USEC, buffer, RESULT_SIZE, error);
  g_socket_close (socket, NULL);
  if (!ok && error != NULL && *error == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "the server closed the connection");
  return ok;
}

/* Starts a server process serving one way (see connect_floor_server),
 * connects to it again and again for @seconds, then kills it. */
static gboolean
connect_floor_measure (gboolean handoff, double seconds, Result *result, GError **error)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, error);
  if (listener == NULL || !g_socket_bind (listener, any_port, TRUE, error) ||
      !g_socket_listen (listener, error))
    return FALSE;
  g_autoptr(GSocketAddress) address = g_socket_get_local_address (listener, error);
  if (address == NULL)
    return FALSE;

  /* This process has no other thread, so fork() is safe; the server
   * process makes its worker threads after it. */
  pid_t server = fork ();
  if (server < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "fork failed");
      return FALSE;
    }
  if (server == 0)
    {
      connect_floor_server (listener, handoff);
      _exit (1);
    }
  g_socket_close (listener, NULL);

  /* A first connection warms up (the server's first worker thread); not counted. */
  gboolean ok = connect_floor_once (address, error);
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (seconds * G_USEC_PER_SEC);
  gint64 now = start;
  while (ok && now < end)
    {
      ok = connect_floor_once (address, error);
      gint64 after = g_get_monotonic_time ();
      double latency = after - now;
      g_array_append_val (result->latencies, latency);
      result->calls++;
      now = after;
    }
  result->seconds = (now - start) / (double) G_USEC_PER_SEC;

  /* The server accepts forever: stop it by its PID. */
  kill (server, SIGTERM);
  waitpid (server, NULL, 0);
  return ok;
}

static int
run_connect_floor (double seconds)
{
  static const struct
  {
    const char *scenario;
    gboolean handoff;
  } ways[] = {
    { "connect-floor-worker", TRUE },
    { "connect-floor-inline", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (ways); i++)
    {
      g_autoptr(GError) error = NULL;
      Result result = { 0 };
      result.latencies = g_array_sized_new (FALSE, FALSE, sizeof (double), 100000);
      gboolean ok = connect_floor_measure (ways[i].handoff, seconds, &result, &error);
      if (ok)
        print_result (ways[i].scenario, &result);
      else
        g_printerr ("pyro-bench: %s: %s\n", ways[i].scenario, error->message);
      g_array_unref (result.latencies);
      if (!ok)
        return 1;
    }
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && g_str_equal (argv[1], "daemon"))
    return run_daemon ();
  if (argc == 3 && g_str_equal (argv[1], "floor"))
    return run_floor (g_ascii_strtod (argv[2], NULL));
  if (argc == 3 && g_str_equal (argv[1], "connect-floor"))
    return run_connect_floor (g_ascii_strtod (argv[2], NULL));
  if (argc >= 5 && g_str_equal (argv[1], "client"))
    return run_client (argc, argv);

  g_printerr ("usage: pyro-bench daemon\n"
              "       pyro-bench floor SECONDS\n"
              "       pyro-bench connect-floor SECONDS\n"
              "       pyro-bench client URI SCENARIO SECONDS [START_AT [LATENCY_FILE]]\n"
              "scenarios: small echo1k batch100 oneway bigresult bigarg connect\n");
  return 2;
}
