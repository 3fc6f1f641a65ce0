/* pyro-type-cache-private.h: keeping GLib's descriptions of container types.
 *
 * GLib describes each GVariant type by one structure, shared by all values
 * of that type.  For a container type ("(xx)", "as", ...) GLib 2.74 builds
 * that structure when the first value of the type is made and frees it with
 * the last one.  A daemon that reads the arguments "(xx)" of a call, frees
 * them when the call is done and then reads the next call's, builds and
 * frees it for every call: about 2500 instructions, more than a tenth of a
 * small call.  Holding one value of the type keeps the structure alive, so
 * libpyro holds one (empty) value of each container type that passes
 * through it: the arguments and results of registered methods and of the
 * calls a proxy makes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Keeps GLib's description of @type (if it is a container type) for the
 * rest of the process.  Cheap when @type is kept already; thread-safe.  At
 * most a few hundred types are kept: a program that uses more only loses
 * the speed-up. */
void pyro_type_cache_keep (const GVariantType *type);

G_END_DECLS
