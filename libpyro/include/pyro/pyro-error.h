/* pyro-error.h: the PYRO_ERROR domain, one code per Pyro4 error class.
 *
 * Every failure libpyro reports is a GError in this domain.  An error
 * that came from the other side of the wire (a remote exception) also
 * keeps the remote class name ("builtins.ValueError") and the remote
 * traceback lines, and can be printed the way Pyro4's excepthook does.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * @file pyro-error.h
 * @brief Errors: the ::PYRO_ERROR domain and remote exceptions.
 */

/** The error domain of every error libpyro reports. */
#define PYRO_ERROR (pyro_error_quark ())

/**
 * PyroErrorCode:
 *
 * One code per Pyro4 error class, plus the Python built-in exceptions a
 * remote method typically raises.  A C method that wants its Python
 * caller to see `ValueError` sets #PYRO_ERROR_VALUE; any other remote
 * class arrives as #PYRO_ERROR_REMOTE with its name kept.
 *
 * A class name from the wire gets a code the way Pyro4's JSON serializer
 * finds the class: "Pyro4.errors.X" is only ever a Pyro4 error,
 * "builtins.X" and "exceptions.X" only ever a Python builtin, and a bare
 * "X" is Pyro4's error X if there is one, else the builtin X.
 *
 * Python has a built-in TimeoutError too (an OSError, what an operating
 * system timeout raises), which is not Pyro4's: "builtins.TimeoutError"
 * arrives as #PYRO_ERROR_REMOTE with that class name kept, and only
 * "Pyro4.errors.TimeoutError" (or the bare "TimeoutError", which Pyro4
 * reads as its own) is #PYRO_ERROR_TIMEOUT.  Likewise a C method's
 * G_IO_ERROR_TIMED_OUT goes to a Python client as the built-in
 * TimeoutError, and #PYRO_ERROR_TIMEOUT as Pyro4's.
 */
typedef enum
{
  PYRO_ERROR_FAILED,            /**< Pyro4.errors.PyroError: generic failure */
  PYRO_ERROR_COMMUNICATION,     /**< Pyro4.errors.CommunicationError: network trouble, connection refused */
  PYRO_ERROR_CONNECTION_CLOSED, /**< Pyro4.errors.ConnectionClosedError: the peer closed the connection */
  PYRO_ERROR_TIMEOUT,           /**< Pyro4.errors.TimeoutError: no answer in time (not Python's builtins.TimeoutError) */
  PYRO_ERROR_PROTOCOL,          /**< Pyro4.errors.ProtocolError: malformed message */
  PYRO_ERROR_MESSAGE_TOO_LARGE, /**< Pyro4.errors.MessageTooLargeError: beyond the maximum size */
  PYRO_ERROR_SERIALIZE,         /**< Pyro4.errors.SerializeError: a value that JSON cannot carry */
  PYRO_ERROR_SECURITY,          /**< Pyro4.errors.SecurityError: HMAC mismatch */
  PYRO_ERROR_NAMING,            /**< Pyro4.errors.NamingError: name server problems */
  PYRO_ERROR_DAEMON,            /**< Pyro4.errors.DaemonError: e.g. unknown object */
  PYRO_ERROR_UNKNOWN_METHOD,    /**< builtins.AttributeError: no such method or attribute */
  PYRO_ERROR_INVALID_ARGS,      /**< builtins.TypeError: wrong argument count or types */
  PYRO_ERROR_VALUE,             /**< builtins.ValueError */
  PYRO_ERROR_KEY,               /**< builtins.KeyError; the message is the key, unquoted */
  PYRO_ERROR_INDEX,             /**< builtins.IndexError */
  PYRO_ERROR_RUNTIME,           /**< builtins.RuntimeError */
  PYRO_ERROR_STOP_ITERATION,    /**< builtins.StopIteration: end of an item stream */
  PYRO_ERROR_REMOTE,            /**< any other remote exception; see pyro_error_get_remote_class() */
} PyroErrorCode;

/** @return the quark of the ::PYRO_ERROR domain. */
GQuark pyro_error_quark (void);

/**
 * Creates an error that stands for a remote exception.
 *
 * The message is the exception's one argument, what str() of the
 * exception shows; for a KeyError it is the key itself ("k", not "'k'").
 *
 * @param class_name the Python class, e.g. "builtins.ValueError" (copied)
 * @param traceback (nullable): NULL-terminated remote traceback lines
 *   (copied); an empty list is kept as none (NULL)
 * @param message the exception text (printf-style format)
 * @return (transfer full): a new GError whose code is derived from @p class_name
 */
GError *pyro_error_new_remote (const char          *class_name,
                               const char * const  *traceback,
                               const char          *message,
                               ...) G_GNUC_PRINTF (3, 4);

/**
 * The Python class of the exception behind @p error.
 *
 * For an error that came over the wire this is the class the remote side
 * sent; for a local libpyro error it is the Pyro4 class that matches the
 * code (e.g. "Pyro4.errors.TimeoutError"); for errors of other domains it
 * is "builtins.RuntimeError" (or a closer builtin where one is obvious).
 *
 * @param error a GError (any domain)
 * @return (transfer none): the fully qualified Python class name, owned by
 *   @p error or static
 */
const char *pyro_error_get_remote_class (const GError *error);

/**
 * The remote traceback lines of @p error, as the peer sent them (Python
 * ends each in "\n"; one entry may hold several lines).
 *
 * @return (transfer none) (nullable): NULL-terminated lines, never empty;
 *   NULL when the error did not come from a remote peer or carried no
 *   traceback or an empty one
 */
const char * const *pyro_error_get_remote_traceback (const GError *error);

/**
 * TRUE if @p error stands for an exception raised on the remote side
 * (as opposed to a local or communication failure).
 */
gboolean pyro_error_is_remote (const GError *error);

/**
 * Formats @p error the way Pyro4's `Pyro4.util.excepthook` prints the same
 * exception (a C program has no local Python traceback, so the text is
 * exactly `"".join(Pyro4.util.getPyroTraceback(type(e), e, None))`):
 *
 * - the exception line, "Class: message\n", with the class as Python
 *   prints it: a builtin without its module ("ValueError"), any other class
 *   with it ("Pyro4.errors.NamingError", "mymodule.CustomError").  A
 *   KeyError's key is quoted as Python's repr() quotes it
 *   ("KeyError: 'k'"), and an empty message prints the class alone
 *   ("StopIteration");
 * - then, if there is a remote traceback, its lines framed by
 *   " +--- This exception occured remotely (Pyro) - Remote traceback:" and
 *   " +--- End of remote traceback", each line after " | ".
 *
 * @return (transfer full): the text, ending in a newline; free with g_free()
 */
char *pyro_error_format (const GError *error);

/** Prints pyro_error_format() of @p error on stderr (@p error not NULL). */
void pyro_error_print (const GError *error);

G_END_DECLS
