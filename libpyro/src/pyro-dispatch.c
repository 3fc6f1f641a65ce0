/* pyro-dispatch.c: one request, from JSON to the C method and back.
 *
 * This is where a call is checked before it runs, in GDBus's spirit: the
 * object must exist, the method must be in the class table, and the JSON
 * arguments (positional and keyword) must fit the method's signature.
 * Only then is the C function called, and its result written as JSON.
 */
#include "pyro-dispatch-private.h"
#include "pyro-error-private.h"
#include "pyro-json-private.h"
#include "pyro-stream-private.h"
#include "pyro-wire-private.h"

#include <string.h>

struct _PyroSession
{
  PyroDaemon *daemon;
  /* PyroRegistration* (a reference) -> its instance for this connection */
  GHashTable *instances;
  GVariant   *last_args;  /* see pyro_dispatch_call_text() */
};

typedef struct
{
  gatomicrefcount   ref_count;   /* the session's, and its streams' */
  PyroRegistration *registration;
  gpointer          instance;
} SessionInstance;

static SessionInstance *
session_instance_ref (SessionInstance *si)
{
  g_atomic_ref_count_inc (&si->ref_count);
  return si;
}

static void
session_instance_unref (gpointer data)
{
  SessionInstance *si = data;
  const PyroClass *klass = si->registration->klass;

  if (!g_atomic_ref_count_dec (&si->ref_count))
    return;

  /* Without instance_new the "instance" is the class data, which is the
   * registration's, not this session's: nothing to free. */
  if (klass->instance_new != NULL && klass->instance_free != NULL && si->instance != NULL)
    klass->instance_free (si->instance);
  pyro_registration_unref (si->registration);
  g_free (si);
}

PyroSession *
pyro_session_new (PyroDaemon *daemon)
{
  PyroSession *session = g_new0 (PyroSession, 1);
  session->daemon = daemon;
  session->instances = g_hash_table_new_full (NULL, NULL, NULL, session_instance_unref);
  return session;
}

void
pyro_session_free (PyroSession *session)
{
  /* Streams this connection opened now linger (Pyro4's ITER_STREAM_LINGER). */
  pyro_stream_table_release_owner (pyro_daemon_get_streams (session->daemon), session);
  g_hash_table_unref (session->instances);
  g_clear_pointer (&session->last_args, g_variant_unref);
  g_free (session);
}

/* ---- instances ---------------------------------------------------------- */

static gpointer
new_instance (PyroRegistration *reg)
{
  if (reg->klass->instance_new == NULL)
    return reg->class_data;
  return reg->klass->instance_new (reg->class_data);
}

/* The instance a call on @reg runs on, per Pyro4's instance modes.
 * *@percall is set when the caller must free the instance afterwards. */
static gpointer
instance_for_call (PyroSession *session, PyroRegistration *reg, gboolean *percall)
{
  *percall = FALSE;
  if (!reg->is_class)
    return reg->instance;

  switch (reg->klass->instance_mode)
    {
    case PYRO_INSTANCE_SINGLE:
      {
        g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&reg->single_lock);
        if (reg->instance == NULL)
          reg->instance = new_instance (reg);
        return reg->instance;
      }
    case PYRO_INSTANCE_PERCALL:
      *percall = (reg->klass->instance_new != NULL);
      return new_instance (reg);
    case PYRO_INSTANCE_SESSION:
    default:
      {
        SessionInstance *si = g_hash_table_lookup (session->instances, reg);
        if (si == NULL)
          {
            si = g_new0 (SessionInstance, 1);
            g_atomic_ref_count_init (&si->ref_count);
            si->registration = pyro_registration_ref (reg);
            si->instance = new_instance (reg);
            g_hash_table_insert (session->instances, reg, si);
          }
        return si->instance;
      }
    }
}

static void
release_instance (PyroRegistration *reg, gpointer instance, gboolean percall)
{
  if (percall && reg->klass->instance_free != NULL && instance != NULL)
    reg->klass->instance_free (instance);
}

/* ---- arguments ---------------------------------------------------------- */

static const PyroMethod *
find_method (const PyroClass *klass, const char *name)
{
  for (const PyroMethod *m = klass->methods; m != NULL && m->name != NULL; m++)
    if (strcmp (m->name, name) == 0)
      return m;
  return NULL;
}

/* The argument tuple type of @method.  A plain cast, not
 * G_VARIANT_TYPE(), which would check the string on every call:
 * pyro_daemon_register_*() checked it once already. */
static const GVariantType *
arguments_type (const PyroMethod *method)
{
  return (const GVariantType *) (method->in_signature ? method->in_signature : "()");
}

/* The name of argument @index, from the table's arg_names ("a,b,c"):
 * the text between the index-th and the next comma, without spaces.
 * Names that the table does not give are "arg1", "arg2", ... */
static char *
argument_name (const PyroMethod *method, gsize index)
{
  const char *start = method->arg_names;

  if (start != NULL && *start == '\0')
    start = NULL;  /* "" names no argument at all */
  for (gsize i = 0; start != NULL && i < index; i++)
    {
      start = strchr (start, ',');
      if (start != NULL)
        start++;
    }
  if (start == NULL)
    return g_strdup_printf ("arg%" G_GSIZE_FORMAT, index + 1);

  const char *end = strchr (start, ',');
  char *name = end ? g_strndup (start, end - start) : g_strdup (start);
  return g_strstrip (name);
}

/* "Class.method", as Python names a method in its TypeError texts.  Made
 * only when a message needs it: most calls succeed, and this is one
 * allocation fewer for each of them. */
static char *
qualified_name (const PyroClass *klass, const char *name)
{
  return g_strconcat (klass->name, ".", name, NULL);
}

static gssize
argument_index (const PyroMethod *method, const char *name, gsize n_args)
{
  for (gsize i = 0; i < n_args; i++)
    {
      g_autofree char *candidate = argument_name (method, i);
      if (strcmp (candidate, name) == 0)
        return i;
    }
  return -1;
}

/* Puts positional and keyword arguments into their slots, as Python binds
 * a call to a signature; the messages are Python's TypeError texts. */
static gboolean
bind_arguments (const PyroClass   *klass,
                const PyroMethod  *method,
                gsize              n_args,
                JsonArray         *params,
                JsonObject        *kwargs,
                JsonNode         **slots,
                GError           **error)
{
  guint n_params = params ? json_array_get_length (params) : 0;

  if (n_params > n_args)
    {
      g_autofree char *qualname = qualified_name (klass, method->name);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                   "%s() takes %" G_GSIZE_FORMAT " positional argument%s but %u %s given",
                   qualname, n_args, n_args == 1 ? "" : "s", n_params, n_params == 1 ? "was" : "were");
      return FALSE;
    }
  for (guint i = 0; i < n_params; i++)
    slots[i] = json_array_get_element (params, i);

  if (kwargs == NULL)
    return TRUE;

  g_autoptr(GList) keys = json_object_get_members (kwargs);
  for (GList *k = keys; k != NULL; k = k->next)
    {
      const char *key = k->data;
      gssize index = argument_index (method, key, n_args);
      if (index < 0)
        {
          g_autofree char *qualname = qualified_name (klass, method->name);
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                       "%s() got an unexpected keyword argument '%s'", qualname, key);
          return FALSE;
        }
      if (slots[index] != NULL)
        {
          g_autofree char *qualname = qualified_name (klass, method->name);
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                       "%s() got multiple values for argument '%s'", qualname, key);
          return FALSE;
        }
      slots[index] = json_object_get_member (kwargs, key);
    }
  return TRUE;
}

/* Empty slots of a maybe type default to None; any other empty slot is a
 * missing required argument. */
static gboolean
check_missing (const PyroClass    *klass,
               const PyroMethod   *method,
               const GVariantType *tuple,
               JsonNode          **slots,
               GError            **error)
{
  g_autoptr(GString) missing = NULL;  /* made at the first missing one */
  guint n_missing = 0;
  gsize i = 0;

  for (const GVariantType *t = g_variant_type_first (tuple); t != NULL; t = g_variant_type_next (t), i++)
    if (slots[i] == NULL && !g_variant_type_is_maybe (t))
      {
        g_autofree char *name = argument_name (method, i);
        if (missing == NULL)
          missing = g_string_new (NULL);
        g_string_append_printf (missing, "%s'%s'", n_missing ? ", " : "", name);
        n_missing++;
      }

  if (n_missing == 0)
    return TRUE;
  g_autofree char *qualname = qualified_name (klass, method->name);
  g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
               "%s() missing %u required positional argument%s: %s",
               qualname, n_missing, n_missing == 1 ? "" : "s", missing->str);
  return FALSE;
}

/* Converts the JSON params/kwargs of a call into the method's argument
 * tuple, refusing anything that does not fit before the method runs. */
static GVariant *
build_arguments (const PyroClass   *klass,
                 const PyroMethod  *method,
                 JsonNode          *params,
                 JsonNode          *kwargs,
                 GError           **error)
{
  const GVariantType *tuple = arguments_type (method);
  gsize n_args = g_variant_type_n_items (tuple);
  JsonObject *kw = (kwargs && JSON_NODE_HOLDS_OBJECT (kwargs)) ? json_node_get_object (kwargs) : NULL;
  /* On the stack (methods take a handful of arguments): no malloc per call. */
  JsonNode **slots = g_newa0 (JsonNode *, n_args + 1);

  if (!bind_arguments (klass, method, n_args, json_node_get_array (params), kw, slots, error) ||
      !check_missing (klass, method, tuple, slots, error))
    return NULL;

  GVariant **children = g_newa0 (GVariant *, n_args + 1);
  gsize i = 0;
  for (const GVariantType *t = g_variant_type_first (tuple); t != NULL; t = g_variant_type_next (t), i++)
    {
      g_autoptr(GError) local = NULL;
      children[i] = slots[i] ? pyro_json_to_variant (slots[i], t, &local)
                             : g_variant_ref_sink (g_variant_new_maybe (g_variant_type_element (t), NULL));
      if (children[i] == NULL)
        {
          g_autofree char *name = argument_name (method, i);
          g_autofree char *qualname = qualified_name (klass, method->name);
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "%s() argument %" G_GSIZE_FORMAT " ('%s'): %s",
                       qualname, i + 1, name, local->message);
          for (gsize j = 0; j < i; j++)
            g_variant_unref (children[j]);
          return NULL;
        }
    }

  GVariant *args = g_variant_ref_sink (g_variant_new_tuple (children, n_args));
  for (gsize j = 0; j < n_args; j++)
    g_variant_unref (children[j]);
  return args;
}

/* ---- calls -------------------------------------------------------------- */

/* Checks the result against the table and writes it as JSON. */
static gboolean
write_result (const PyroClass  *klass,
              const char       *name,
              const char       *out_signature,
              GVariant         *result,
              GString          *reply,
              GError          **error)
{
  if (result == NULL)
    {
      g_string_append (reply, "null");
      return TRUE;
    }
  /* A plain cast: the signature was checked at registration. */
  if (out_signature != NULL && !g_variant_is_of_type (result, (const GVariantType *) out_signature))
    {
      g_autofree char *qualname = qualified_name (klass, name);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_RUNTIME,
                   "%s() returned a value of type '%s', but its table declares '%s'",
                   qualname, g_variant_get_type_string (result), out_signature);
      return FALSE;
    }
  return pyro_json_write_variant (reply, result, error);
}

static gboolean
call_attribute (PyroSession *session, PyroRegistration *reg, const char *method,
                JsonNode *params, GString *reply, GError **error);

void
pyro_invocation_return_stream (PyroInvocation     *invocation,
                               PyroStreamNextFunc  next,
                               gpointer            state,
                               GDestroyNotify      free_state)
{
  g_return_if_fail (invocation != NULL);
  g_return_if_fail (next != NULL);
  g_return_if_fail (invocation->stream_next == NULL);

  invocation->stream_next = next;
  invocation->stream_state = state;
  invocation->stream_free = free_state;
}

/* What keeps @instance alive beyond the call that got it, for a stream (as
 * a Python generator keeps its object) or a oneway call in its own
 * thread: a per-call instance becomes *@keep's; a session's instance, or
 * the registration (with its single instance), gets one more reference.
 * *@release (*@keep) lets go of it; *@release is NULL for a per-call
 * instance of a class without instance_free. */
static void
keep_instance (PyroSession      *session,
               PyroRegistration *reg,
               gpointer          instance,
               gboolean          percall,
               gpointer         *keep,
               GDestroyNotify   *release)
{
  SessionInstance *si = reg->is_class ? g_hash_table_lookup (session->instances, reg) : NULL;

  if (percall)
    {
      *keep = instance;
      *release = reg->klass->instance_free;
    }
  else if (si != NULL)
    {
      *keep = session_instance_ref (si);
      *release = session_instance_unref;
    }
  else
    {
      *keep = pyro_registration_ref (reg);
      *release = (GDestroyNotify) pyro_registration_unref;
    }
}

/* A method flagged PYRO_METHOD_STREAM hands its iterator to the daemon's
 * stream table; the client then pulls the items.  The stream keeps the
 * instance the method ran on; if there is no stream, the instance is
 * released here. */
static gboolean
finish_stream (PyroSession      *session,
               PyroRegistration *reg,
               gpointer          instance,
               gboolean          percall,
               const PyroMethod *method,
               PyroInvocation   *invocation,
               char            **stream_id,
               GError          **error)
{
  g_autofree char *qualname = qualified_name (reg->klass, method->name);

  if (invocation->stream_next == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_RUNTIME,
                   "%s() is declared a stream but did not call pyro_invocation_return_stream()", qualname);
      release_instance (reg, instance, percall);
      return FALSE;
    }
  if (stream_id == NULL)
    {
      if (invocation->stream_free != NULL)
        invocation->stream_free (invocation->stream_state);
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_SERIALIZE,
                   "%s() returns an item stream, which cannot be part of a batch or a oneway call", qualname);
      release_instance (reg, instance, percall);
      return FALSE;
    }

  gpointer keep;
  GDestroyNotify release;
  keep_instance (session, reg, instance, percall, &keep, &release);
  *stream_id = pyro_stream_table_add (pyro_daemon_get_streams (session->daemon), session, qualname,
                                      method->out_signature, invocation->stream_next,
                                      invocation->stream_state, invocation->stream_free, keep, release);
  return TRUE;
}

/* ---- oneway calls in threads of their own -------------------------------- */

/* A oneway call handed to the daemon's oneway threads (Pyro4's
 * ONEWAY_THREADED): everything it needs, held for as long as it runs,
 * since the connection that sent it goes on (or goes away) meanwhile. */
typedef struct
{
  PyroDaemon       *daemon;   /* a reference */
  PyroRegistration *reg;      /* a reference */
  const PyroMethod *method;
  GVariant         *args;     /* a reference */
  gpointer          instance;
  gpointer          keep;     /* keeps @instance alive (keep_instance()) */
  GDestroyNotify    release;
} OnewayCall;

/* Runs in a oneway thread.  Nobody waits for the outcome: a result is
 * dropped and an error only logged, as Pyro4 does. */
static void
run_oneway_call (gpointer data, gpointer unused)
{
  OnewayCall *call = data;
  PyroInvocation invocation = { call->daemon, call->reg, call->method->name, TRUE, NULL, NULL, NULL };
  GError *error = NULL;
  GVariant *result = call->method->func (call->instance, call->args, &invocation, &error);

  if (result != NULL)
    g_variant_unref (g_variant_take_ref (result));
  if (invocation.stream_next != NULL && invocation.stream_free != NULL)
    invocation.stream_free (invocation.stream_state);  /* a stream nobody can pull */
  if (error != NULL)
    {
      g_debug ("oneway call %s.%s failed: %s", call->reg->klass->name, call->method->name, error->message);
      g_error_free (error);
    }

  if (call->release != NULL)
    call->release (call->keep);
  g_variant_unref (call->args);
  pyro_registration_unref (call->reg);
  g_object_unref (call->daemon);
  g_free (call);
}

/* Hands a oneway call of @method to a thread of its own; FALSE, with
 * nothing done, if the daemon runs oneway calls in the connection's
 * thread. */
static gboolean
start_oneway_call (PyroSession *session, PyroRegistration *reg, const PyroMethod *method, GVariant *args)
{
  OnewayCall *call = g_new0 (OnewayCall, 1);
  gboolean percall;

  call->instance = instance_for_call (session, reg, &percall);
  keep_instance (session, reg, call->instance, percall, &call->keep, &call->release);
  call->daemon = g_object_ref (session->daemon);
  call->reg = pyro_registration_ref (reg);
  call->method = method;
  call->args = g_variant_ref (args);
  if (pyro_daemon_run_oneway (session->daemon, run_oneway_call, call))
    return TRUE;

  /* Not threaded: undo, and let the caller run it here. */
  if (call->release != NULL)
    call->release (call->keep);
  g_variant_unref (call->args);
  pyro_registration_unref (call->reg);
  g_object_unref (call->daemon);
  g_free (call);
  return FALSE;
}

/* Runs @method with its argument tuple @args and writes its result.  A
 * oneway call with @own_thread (a single call, not a batch's) runs in a
 * thread of its own, unless the daemon says otherwise. */
static gboolean
run_method (PyroSession      *session,
            PyroRegistration *reg,
            const PyroMethod *method,
            GVariant         *args,
            gboolean          oneway,
            gboolean          own_thread,
            GString          *reply,
            char            **stream_id,
            GError          **error)
{
  if (oneway && own_thread && !(method->flags & PYRO_METHOD_STREAM) &&
      start_oneway_call (session, reg, method, args))
    return TRUE;

  const PyroClass *klass = reg->klass;
  PyroInvocation invocation = { session->daemon, reg, method->name, oneway, NULL, NULL, NULL };
  gboolean percall;
  gpointer instance = instance_for_call (session, reg, &percall);
  GError *local = NULL;
  GVariant *result = method->func (instance, args, &invocation, &local);

  if (local == NULL && (method->flags & PYRO_METHOD_STREAM))
    {
      g_clear_pointer (&result, g_variant_unref);
      return finish_stream (session, reg, instance, percall, method, &invocation,
                            oneway ? NULL : stream_id, error);
    }
  release_instance (reg, instance, percall);
  if (invocation.stream_next != NULL)
    {
      /* A stream the client will never see (the method failed, or is not
       * declared PYRO_METHOD_STREAM): its state is ours to free. */
      if (invocation.stream_free != NULL)
        invocation.stream_free (invocation.stream_state);
      if (local == NULL)
        {
          g_autofree char *qualname = qualified_name (klass, method->name);
          g_clear_pointer (&result, g_variant_unref);
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_RUNTIME,
                       "%s() called pyro_invocation_return_stream() but is not declared PYRO_METHOD_STREAM",
                       qualname);
          return FALSE;
        }
    }

  /* Transfer full, floating or not: take_ref, as ref_sink would add a
   * second reference to a non-floating result and leak it. */
  if (result != NULL)
    result = g_variant_take_ref (result);
  if (local != NULL)
    {
      g_clear_pointer (&result, g_variant_unref);
      g_propagate_error (error, local);
      return FALSE;
    }

  gboolean ok = write_result (klass, method->name, method->out_signature, result, reply, error);
  g_clear_pointer (&result, g_variant_unref);
  return ok;
}

/* @keep_args: (nullable): in a batch, where the previous call's argument
 * tuple is kept until this one is built; see pyro_dispatch_batch(). */
static gboolean
call_method (PyroSession      *session,
             PyroRegistration *reg,
             const char       *method_name,
             JsonNode         *params,
             JsonNode         *kwargs,
             gboolean          oneway,
             GString          *reply,
             char            **stream_id,
             GVariant        **keep_args,
             GError          **error)
{
  const PyroClass *klass = reg->klass;
  const PyroMethod *method = find_method (klass, method_name);

  if (method == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD,
                   "'%s' object has no attribute '%s'", klass->name, method_name);
      return FALSE;
    }

  g_autoptr(GVariant) args = build_arguments (klass, method, params, kwargs, error);
  if (args == NULL)
    return FALSE;
  if (keep_args != NULL)
    {
      g_clear_pointer (keep_args, g_variant_unref);
      *keep_args = g_variant_ref (args);
    }
  /* (Only a batch passes @keep_args; its oneway calls run here, in order,
   * as Pyro4 runs a batch.) */
  return run_method (session, reg, method, args, oneway, keep_args == NULL, reply, stream_id, error);
}

/* pyro_dispatch_call(), and one call of a batch (with @keep_args). */
static gboolean
dispatch_one (PyroSession *session,
              const char  *object_id,
              const char  *method,
              JsonNode    *params,
              JsonNode    *kwargs,
              gboolean     oneway,
              GString     *reply,
              char       **stream_id,
              GVariant   **keep_args,
              GError     **error)
{
  g_autoptr(PyroRegistration) reg = pyro_daemon_lookup (session->daemon, object_id);

  if (reg == NULL)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_DAEMON, "unknown object '%s'", object_id);
      return FALSE;
    }
  if (params == NULL || !JSON_NODE_HOLDS_ARRAY (params))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                   "%s(): params must be a list, got %s", method,
                   params ? pyro_json_type_name (params) : "nothing");
      return FALSE;
    }
  if (kwargs != NULL && !JSON_NODE_HOLDS_NULL (kwargs) && !JSON_NODE_HOLDS_OBJECT (kwargs))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                   "%s() argument after ** must be a mapping, not %s", method, pyro_json_type_name (kwargs));
      return FALSE;
    }

  if (strcmp (method, "__getattr__") == 0 || strcmp (method, "__setattr__") == 0)
    return call_attribute (session, reg, method, params, reply, error);
  return call_method (session, reg, method, params, kwargs, oneway, reply, stream_id, keep_args, error);
}

gboolean
pyro_dispatch_call (PyroSession *session,
                    const char  *object_id,
                    const char  *method,
                    JsonNode    *params,
                    JsonNode    *kwargs,
                    gboolean     oneway,
                    GString     *reply,
                    char       **stream_id,
                    GError     **error)
{
  return dispatch_one (session, object_id, method, params, kwargs, oneway, reply, stream_id, NULL, error);
}

/* ---- attributes (Pyro4's __getattr__ / __setattr__) ---------------------- */

static const PyroAttribute *
find_attribute (const PyroClass *klass, const char *name)
{
  for (const PyroAttribute *a = klass->attributes; a != NULL && a->name != NULL; a++)
    if (strcmp (a->name, name) == 0)
      return a;
  return NULL;
}

static gboolean
call_attribute (PyroSession      *session,
                PyroRegistration *reg,
                const char       *method,
                JsonNode         *params,
                GString          *reply,
                GError          **error)
{
  gboolean setting = strcmp (method, "__setattr__") == 0;
  JsonArray *array = json_node_get_array (params);
  guint wanted = setting ? 2 : 1;

  if (json_array_get_length (array) != wanted ||
      json_node_get_value_type (json_array_get_element (array, 0)) != G_TYPE_STRING)
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS,
                   "%s() takes an attribute name%s, got %u argument(s)",
                   method, setting ? " and a value" : "", json_array_get_length (array));
      return FALSE;
    }

  const char *name = json_array_get_string_element (array, 0);
  const PyroAttribute *attr = find_attribute (reg->klass, name);
  if (attr == NULL || (setting && attr->set == NULL))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_UNKNOWN_METHOD,
                   "attempt to access unexposed or unknown remote attribute '%s'", name);
      return FALSE;
    }

  PyroInvocation invocation = { session->daemon, reg, attr->name, FALSE, NULL, NULL, NULL };
  gboolean percall;
  gpointer instance = instance_for_call (session, reg, &percall);
  gboolean ok;

  if (setting)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(GVariant) value = pyro_json_to_variant (json_array_get_element (array, 1),
                                                        G_VARIANT_TYPE (attr->signature), &local);
      if (value == NULL)
        {
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_INVALID_ARGS, "attribute '%s': %s", name, local->message);
          ok = FALSE;
        }
      else
        ok = attr->set (instance, value, &invocation, error);
      if (ok)
        g_string_append (reply, "null");
    }
  else
    {
      g_autoptr(GError) local = NULL;
      GVariant *value = attr->get (instance, &invocation, &local);
      if (value == NULL)
        {
          if (local == NULL)
            g_string_append (reply, "null");
          ok = local == NULL;
          if (local)
            g_propagate_error (error, g_steal_pointer (&local));
        }
      else
        {
          value = g_variant_take_ref (value);  /* transfer full, floating or not */
          ok = write_result (reg->klass, attr->name, attr->signature, value, reply, error);
          g_variant_unref (value);
        }
    }
  release_instance (reg, instance, percall);
  return ok;
}

/* ---- batches ------------------------------------------------------------ */

/* Pyro4 wraps the exception that ends a batch so the client can tell it
 * from an ordinary result. */
static void
write_exception_wrapper (GString *reply, const GError *error, const char *where)
{
  g_autoptr(JsonNode) exc = pyro_error_to_json (error, where);
  g_string_append (reply, "{\"__class__\": \"Pyro4.futures._ExceptionWrapper\", \"exception\": ");
  pyro_json_write_node (reply, exc);
  g_string_append_c (reply, '}');
}

gboolean
pyro_dispatch_batch (PyroSession *session,
                     const char  *object_id,
                     JsonNode    *calls,
                     gboolean     oneway,
                     GString     *reply,
                     GError     **error)
{
  if (calls == NULL || !JSON_NODE_HOLDS_ARRAY (calls))
    {
      g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE, "<batch>: params must be a list of calls, got %s",
                   calls ? pyro_json_type_name (calls) : "nothing");
      return FALSE;
    }

  JsonArray *array = json_node_get_array (calls);
  gsize start = reply->len;
  /* The argument tuple of the previous call, kept until the next one is
   * built.  GLib frees its information about a tuple type together with
   * the last value of that type, and rebuilds it under a global lock for
   * the next one; the calls of a batch mostly share one signature. */
  g_autoptr(GVariant) previous_args = NULL;
  g_string_append_c (reply, '[');
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *call = json_array_get_element (array, i);
      JsonArray *triple = JSON_NODE_HOLDS_ARRAY (call) ? json_node_get_array (call) : NULL;
      if (triple == NULL || json_array_get_length (triple) != 3 ||
          json_node_get_value_type (json_array_get_element (triple, 0)) != G_TYPE_STRING)
        {
          g_string_truncate (reply, start);
          g_set_error (error, PYRO_ERROR, PYRO_ERROR_VALUE,
                       "<batch>: call %u is not a [method, params, kwargs] list", i + 1);
          return FALSE;
        }

      const char *method = json_array_get_string_element (triple, 0);
      gsize item_start = reply->len;
      g_autoptr(GError) local = NULL;
      if (i > 0)
        g_string_append (reply, ", ");
      item_start = reply->len;
      if (!dispatch_one (session, object_id, method, json_array_get_element (triple, 1),
                         json_array_get_element (triple, 2), FALSE, reply, NULL, &previous_args, &local))
        {
          g_string_truncate (reply, item_start);
          write_exception_wrapper (reply, local, method);
          break;
        }
    }
  g_string_append_c (reply, ']');
  return TRUE;
}

/* ---- calls and batches read straight from the request text ---------------
 *
 * The general path above parses the whole request into a JsonNode tree
 * first; for a small call, or a batch of them, that is most of the work.
 * Here the request is read in one pass with the direct reader
 * (pyro-wire.c): each call's arguments become the method's argument tuple
 * without a tree.
 *
 * Everything is read and checked before the first call runs, so that
 * anything unusual (an unknown method, arguments that do not fit, kwargs,
 * escapes in strings, bad JSON...) can still be left to the general path
 * with nothing done yet: it then runs the request and says what is wrong,
 * with the very same messages as always. */

typedef struct
{
  const PyroMethod *method;
  GVariant         *args;
} PlannedCall;

static void
planned_call_clear (gpointer data)
{
  g_clear_pointer (&((PlannedCall *) data)->args, g_variant_unref);
}

/* Skips an empty kwargs, {} or null; FALSE for anything else. */
static gboolean
skip_empty_kwargs (PyroWire *wire)
{
  if (pyro_wire_take (wire, '{'))
    return pyro_wire_take (wire, '}');
  return pyro_wire_take_null (wire);
}

/* The method called @name (@len bytes, not terminated), if the fast path
 * may call it: attributes and item streams take the general path. */
static const PyroMethod *
plain_method (const PyroClass *klass, const char *name, gsize len)
{
  char buf[128];

  if (len >= sizeof buf)
    return NULL;
  memcpy (buf, name, len);
  buf[len] = '\0';
  if (strcmp (buf, "__getattr__") == 0 || strcmp (buf, "__setattr__") == 0)
    return NULL;

  const PyroMethod *method = find_method (klass, buf);
  if (method == NULL || (method->flags & PYRO_METHOD_STREAM))
    return NULL;
  return method;
}

/* What read_request() has read of the request so far, for reading its params. */
typedef struct
{
  PyroRegistration *reg;         /* the object (a reference), once read */
  const char       *method;      /* the "method" text (not terminated), once read */
  gsize             method_len;
} RequestHead;

/* Reads the "params" value of a request into @data. */
typedef gboolean (*ReadParamsFunc) (PyroWire *wire, const RequestHead *head, gpointer data);

/* ReadParamsFunc of a batch: the list of [method, params, kwargs] calls,
 * into the GArray of PlannedCall @data. */
static gboolean
read_calls (PyroWire *wire, const RequestHead *head, gpointer data)
{
  GArray *calls = data;
  const PyroMethod *method = NULL;

  if (!pyro_wire_take (wire, '['))
    return FALSE;
  if (pyro_wire_take (wire, ']'))
    return TRUE;
  do
    {
      PlannedCall call;
      const char *name;
      gsize len;

      if (!pyro_wire_take (wire, '[') || !pyro_wire_read_plain_string (wire, &name, &len) ||
          !pyro_wire_take (wire, ','))
        return FALSE;
      /* A batch mostly calls one method: look it up only when it changes. */
      if (method == NULL || strncmp (method->name, name, len) != 0 || method->name[len] != '\0')
        method = plain_method (head->reg->klass, name, len);
      if (method == NULL)
        return FALSE;

      call.method = method;
      call.args = pyro_wire_read_value (wire, arguments_type (method));
      if (call.args == NULL)
        return FALSE;
      g_array_append_val (calls, call);
      if (!pyro_wire_take (wire, ',') || !skip_empty_kwargs (wire) || !pyro_wire_take (wire, ']'))
        return FALSE;
    }
  while (pyro_wire_take (wire, ','));
  return pyro_wire_take (wire, ']');
}

/* ReadParamsFunc of a single call: its arguments, into the PlannedCall
 * @data.  The method, and so the signature to read them with, must come
 * first, as Pyro4 and our proxy send it. */
static gboolean
read_arguments (PyroWire *wire, const RequestHead *head, gpointer data)
{
  PlannedCall *call = data;

  if (head->method == NULL)
    return FALSE;
  call->method = plain_method (head->reg->klass, head->method, head->method_len);
  if (call->method == NULL)
    return FALSE;
  call->args = pyro_wire_read_value (wire, arguments_type (call->method));
  return call->args != NULL;
}

/* Reads the INVOKE body {"object": ..., "method": ..., "params": ...,
 * "kwargs": ...} into @head, the params with @read_params. */
static gboolean
read_request_body (PyroSession    *session,
                   PyroWire       *wire,
                   RequestHead    *head,
                   ReadParamsFunc  read_params,
                   gpointer        data)
{
  static const char *const keys[] = { "object", "method", "params", "kwargs" };
  guint seen = 0;

  if (!pyro_wire_take (wire, '{'))
    return FALSE;
  do
    {
      const char *value;
      gsize value_len;

      /* Unknown or repeated keys, and the object after the params, are
       * left to the general path. */
      int k = pyro_wire_read_key (wire, keys, G_N_ELEMENTS (keys), &seen);
      if (k < 0 || (k == 2 && head->reg == NULL))
        return FALSE;

      switch (k)
        {
        case 0:
          {
            if (!pyro_wire_read_plain_string (wire, &value, &value_len))
              return FALSE;
            g_autofree char *object_id = g_strndup (value, value_len);
            head->reg = pyro_daemon_lookup (session->daemon, object_id);
            if (head->reg == NULL)
              return FALSE;
          }
          break;
        case 1:
          /* A batch's is "<batch>": there only the flag matters. */
          if (!pyro_wire_read_plain_string (wire, &head->method, &head->method_len))
            return FALSE;
          break;
        case 2:
          if (!read_params (wire, head, data))
            return FALSE;
          break;
        case 3:
          /* Pyro4 sends {} for a call without keyword arguments, null for a batch. */
          if (!skip_empty_kwargs (wire))
            return FALSE;
          break;
        }
    }
  while (pyro_wire_take (wire, ','));
  return pyro_wire_take (wire, '}') && pyro_wire_at_end (wire) && seen == 0xf;
}

/* Reads the INVOKE body @body (@len bytes), the params with @read_params.
 * Returns its object (transfer full), or NULL when the request is left to
 * the general path. */
static PyroRegistration *
read_request (PyroSession    *session,
              const char     *body,
              gsize           len,
              ReadParamsFunc  read_params,
              gpointer        data)
{
  RequestHead head = { NULL, NULL, 0 };
  PyroWire wire;
  gboolean readable;

  pyro_wire_init (&wire, body, len);
  readable = read_request_body (session, &wire, &head, read_params, data);
  pyro_wire_clear (&wire);
  if (!readable)
    g_clear_pointer (&head.reg, pyro_registration_unref);
  return head.reg;
}

gboolean
pyro_dispatch_batch_text (PyroSession *session,
                          const char  *body,
                          gsize        len,
                          GString     *reply)
{
  g_autoptr(GArray) calls = g_array_new (FALSE, FALSE, sizeof (PlannedCall));

  g_array_set_clear_func (calls, planned_call_clear);
  g_autoptr(PyroRegistration) reg = read_request (session, body, len, read_calls, calls);
  if (reg == NULL)
    return FALSE;

  /* As pyro_dispatch_batch() does: the first failure ends the batch. */
  g_string_append_c (reply, '[');
  for (guint i = 0; i < calls->len; i++)
    {
      PlannedCall *call = &g_array_index (calls, PlannedCall, i);
      g_autoptr(GError) local = NULL;
      gsize item_start;

      if (i > 0)
        g_string_append (reply, ", ");
      item_start = reply->len;
      if (!run_method (session, reg, call->method, call->args, FALSE, FALSE, reply, NULL, &local))
        {
          g_string_truncate (reply, item_start);
          write_exception_wrapper (reply, local, call->method->name);
          break;
        }
    }
  g_string_append_c (reply, ']');
  return TRUE;
}

/* Argument tuples up to this size are kept until the next call. */
#define KEEP_ARGS_MAX 4096

/* Keeps a small argument tuple of @call until the connection's next call.
 * GLib forgets what it knows of a tuple type (such as "(xx)") along with
 * the last value of that type, and works it out again, under a global
 * lock, for the next one; a connection mostly calls the same methods.
 * (The batch path keeps its previous tuple for the same reason.) */
static void
keep_small_args (PyroSession *session, PlannedCall *call)
{
  if (g_variant_get_size (call->args) > KEEP_ARGS_MAX)
    return;
  g_clear_pointer (&session->last_args, g_variant_unref);
  session->last_args = g_steal_pointer (&call->args);
}

PyroDispatchOutcome
pyro_dispatch_call_text (PyroSession *session,
                         const char  *body,
                         gsize        len,
                         gboolean     oneway,
                         GString     *reply,
                         char       **where,
                         GError     **error)
{
  PlannedCall call = { NULL, NULL };
  gsize start = reply->len;
  gboolean ok;

  g_assert (where != NULL && *where == NULL);
  g_autoptr(PyroRegistration) reg = read_request (session, body, len, read_arguments, &call);
  if (reg == NULL)
    {
      planned_call_clear (&call);
      return PYRO_DISPATCH_DECLINED;
    }

  ok = run_method (session, reg, call.method, call.args, oneway, TRUE, reply, NULL, error);
  /* Nothing goes back for a oneway call, and a failed result is not sent:
   * keep neither. */
  if (oneway || !ok)
    g_string_truncate (reply, start);
  if (!ok)
    *where = qualified_name (reg->klass, call.method->name);
  keep_small_args (session, &call);
  planned_call_clear (&call);
  return ok ? PYRO_DISPATCH_DONE : PYRO_DISPATCH_FAILED;
}
