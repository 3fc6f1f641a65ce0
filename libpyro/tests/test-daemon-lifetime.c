/* test-daemon-lifetime.c: who drops a daemon's last reference, and where.
 *
 * A method may shut its own daemon down while another thread, the one
 * that ran pyro_daemon_request_loop(), drops what was the only other
 * reference as soon as the loop returns.  Then the last reference is the
 * one pyro_daemon_shutdown() holds in the worker: dropped there, the
 * daemon's dispose ran in one of the daemon's own pool threads and waited
 * for that pool, that is for itself, forever.
 *
 * The two threads race; to make the order certain, this program wraps
 * g_source_attach() (GLib's own, found with dlsym) and makes it pause
 * after the quit source is attached, in the method's thread only, so the
 * loop thread surely drops its reference first.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "testutil.h"

static GPrivate in_method;  /* set while stop() runs */

guint
g_source_attach (GSource *source, GMainContext *context)
{
  static guint (*real_attach) (GSource *, GMainContext *);
  if (real_attach == NULL)
    real_attach = (guint (*) (GSource *, GMainContext *)) dlsym (RTLD_NEXT, "g_source_attach");

  guint id = real_attach (source, context);
  if (g_private_get (&in_method) != NULL)
    g_usleep (300 * 1000);  /* the loop thread quits and drops its reference meanwhile */
  return id;
}

static gint method_returned;  /* atomic */

static GVariant *
thing_stop (gpointer self, GVariant *args, PyroInvocation *invocation, GError **error)
{
  g_private_set (&in_method, GINT_TO_POINTER (TRUE));
  pyro_daemon_shutdown (pyro_invocation_get_daemon (invocation));
  g_private_set (&in_method, NULL);
  g_atomic_int_set (&method_returned, TRUE);
  return g_variant_new_boolean (TRUE);
}

static const PyroMethod thing_methods[] = {
  { "stop", "()", "b", thing_stop, 0, NULL },
  { NULL }
};

static const PyroClass thing_class = {
  .name = "Thing",
  .methods = thing_methods,
};

/* Runs the request loop, then drops the daemon: the only reference left
 * is then the one of a method that is shutting it down. */
static gpointer
loop_then_drop (gpointer daemon)
{
  pyro_daemon_request_loop (daemon);
  g_object_unref (daemon);
  return NULL;
}

static gpointer
call_stop (gpointer proxy)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stopped = pyro_proxy_call_sync (proxy, "stop", NULL, NULL, NULL, &error);
  return NULL;  /* the reply may or may not come: the daemon is stopping */
}

static gboolean
method_has_returned (gpointer unused)
{
  return g_atomic_int_get (&method_returned);
}

static void
test_last_reference_in_method (void)
{
  g_autoptr(GError) error = NULL;
  PyroDaemon *daemon = pyro_daemon_new ("127.0.0.1", 0, &error);
  g_assert_no_error (error);
  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &thing_class, NULL, "thing", &error);
  g_assert_no_error (error);
  GThread *loop = g_thread_new ("loop", loop_then_drop, daemon);  /* takes our reference */

  g_autoptr(PyroProxy) proxy = pyro_proxy_new_for_uri (uri);
  pyro_proxy_set_timeout (proxy, PYRO_TEST_TIMEOUT_S);
  GThread *caller = g_thread_new ("caller", call_stop, proxy);
  g_thread_join (loop);

  if (!pyro_test_wait_until (method_has_returned, NULL))
    g_error ("the method's pyro_daemon_shutdown() did not return: the daemon's last reference "
             "was dropped in its own worker and its dispose waits for that worker");
  g_thread_join (caller);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pyro/daemon-lifetime/last-reference-in-method", test_last_reference_in_method);
  return g_test_run ();
}
