/* pyro-dispatch-private.h: running one request against a registered object. */
#pragma once

#include "pyro-daemon-private.h"

G_BEGIN_DECLS

/* What one client connection keeps between calls: its session instances. */
typedef struct _PyroSession PyroSession;

PyroSession *pyro_session_new (PyroDaemon *daemon);
void         pyro_session_free (PyroSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PyroSession, pyro_session_free)

/* Runs the call @method(@params, **@kwargs) on object @object_id and
 * appends its JSON result to @reply.  @params must be a JSON array;
 * @kwargs a JSON object or NULL/null.  On failure returns FALSE with the
 * exception to send in @error; an error of code PYRO_ERROR_SERIALIZE means
 * the result could not be sent and the connection must be closed
 * afterwards, as Pyro4 does.
 * When the method returned an item stream, *@stream_id is set to its id
 * (transfer full) and nothing is appended; @stream_id NULL (in a batch)
 * makes such a method fail instead, as Pyro4 does not stream in batches. */
gboolean pyro_dispatch_call (PyroSession *session,
                             const char  *object_id,
                             const char  *method,
                             JsonNode    *params,
                             JsonNode    *kwargs,
                             gboolean     oneway,
                             GString     *reply,
                             char       **stream_id,
                             GError     **error);

/* Runs a Pyro4 "<batch>" request: @calls is the list of
 * [method, params, kwargs] triples.  Appends the list of results; the
 * first failing call ends the batch with Pyro4's _ExceptionWrapper. */
gboolean pyro_dispatch_batch (PyroSession *session,
                              const char  *object_id,
                              JsonNode    *calls,
                              gboolean     oneway,
                              GString     *reply,
                              GError     **error);

/* The common batch, read straight from the INVOKE body @body (@len bytes
 * of JSON) without a JsonNode tree.  Returns TRUE when it ran the batch
 * and appended the list of results to @reply, as pyro_dispatch_batch()
 * would have.  Returns FALSE, with nothing run and nothing appended, for
 * any request it leaves to the general path (pyro_json_parse() and
 * pyro_dispatch_batch()), which also gives every error. */
gboolean pyro_dispatch_batch_text (PyroSession *session,
                                   const char  *body,
                                   gsize        len,
                                   GString     *reply);

/* What pyro_dispatch_call_text() did with a request. */
typedef enum
{
  PYRO_DISPATCH_DECLINED,  /* nothing run, nothing appended: take the general path */
  PYRO_DISPATCH_DONE,      /* the method ran; its JSON result was appended to @reply (not for oneway) */
  PYRO_DISPATCH_FAILED,    /* the method ran and failed: *@error is the exception to send,
                              *@where says where ("Class.method", as the general path names it) */
} PyroDispatchOutcome;

/* The common single call (an INVOKE without the batch flag), read
 * straight from the INVOKE body @body (@len bytes of JSON) without a
 * JsonNode tree, as pyro_dispatch_batch_text() reads a batch.  It takes
 * only a plain method of a known object, with arguments that fit its
 * signature and empty kwargs; anything else is DECLINED, with nothing run
 * and nothing appended, and left to the general path (pyro_json_parse()
 * and pyro_dispatch_call()), which also gives every error about the
 * request.  A call it takes behaves as pyro_dispatch_call() would: DONE,
 * or FAILED with the same @error (PYRO_ERROR_SERIALIZE: close the
 * connection afterwards) and *@where (transfer full) set; nothing is
 * appended for a failed or a @oneway call. */
PyroDispatchOutcome pyro_dispatch_call_text (PyroSession *session,
                                             const char  *body,
                                             gsize        len,
                                             gboolean     oneway,
                                             GString     *reply,
                                             char       **where,
                                             GError     **error);

G_END_DECLS
