/* test-interop-pyclient.c: Python Pyro4 clients calling a libpyro daemon.
 *
 * The test serves a few C objects from a daemon in a background thread
 * and runs libpyro/tests/python/pyclient.py (real Pyro4 4.82, JSON
 * serializer) against them.  The script prints one line per observation
 * (label, Python type, repr) and asserts what only Python can see; this
 * file checks its exit status and compares its output with the expected
 * lines, so both the wire values and the Python types are pinned down.
 *
 * Three objects are driven by tables in this file: "returns" returns one
 * value per mapped type (docs/mapping.md), "takes" says what arrived of
 * each value Python sends, and "errors" sets one GError per row; the
 * tables hold what the Python side must print for each row.
 */
#include <math.h>
#include <string.h>

#include "testutil.h"

/* Generous: a Python interpreter start plus a few hundred calls on a busy machine. */
#define SCRIPT_TIMEOUT_S 90

/* ---- the "types" object: one method per mapped type ---------------------- */

typedef struct
{
  GMutex     lock;      /* methods run concurrently in the daemon's workers */
  char      *label;     /* the exposed attribute */
  GPtrArray *notified;  /* the arguments of every oneway notify() call */
} Types;

static GVariant *
get_bool (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_boolean (TRUE);
}

static GVariant *
get_int32 (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_int32 (G_MININT32);
}

static GVariant *
get_int64 (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  /* 2^53 + 1: survives only if nobody goes through a double. */
  return g_variant_new_int64 (G_GINT64_CONSTANT (9007199254740993));
}

static GVariant *
get_double (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  /* 0.1 has no short exact binary form: it must print back as 0.1. */
  return g_variant_new_double (0.1);
}

static GVariant *
get_nan (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_double (NAN);
}

static GVariant *
get_inf (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_double (INFINITY);
}

static GVariant *
get_neg_inf (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_double (-INFINITY);
}

static GVariant *
get_string (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_string ("Grüße \"q\"\n世界 ✓");
}

static GVariant *
get_strv (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  static const char * const strv[] = { "alpha", "", "ünï", NULL };
  return g_variant_new_strv (strv, -1);
}

static GVariant *
get_dict (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  static const char * const tags[] = { "x", "y", NULL };
  GVariantBuilder dict, nested;

  g_variant_builder_init (&nested, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&nested, "{sv}", "ok", g_variant_new_boolean (TRUE));

  g_variant_builder_init (&dict, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&dict, "{sv}", "name", g_variant_new_string ("apple"));
  g_variant_builder_add (&dict, "{sv}", "count", g_variant_new_int32 (3));
  g_variant_builder_add (&dict, "{sv}", "price", g_variant_new_double (1.5));
  g_variant_builder_add (&dict, "{sv}", "tags", g_variant_new_strv (tags, -1));
  g_variant_builder_add (&dict, "{sv}", "nothing", g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL));
  g_variant_builder_add (&dict, "{sv}", "nested", g_variant_builder_end (&nested));
  return g_variant_builder_end (&dict);
}

static GVariant *
get_nested (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_parsed ("[[1, 2], [3], @ai []]");
}

static GVariant *
get_none (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return NULL;  /* NULL without an error: the client gets None */
}

static GVariant *
get_maybe (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  gboolean present;

  g_variant_get (args, "(b)", &present);
  return g_variant_new_maybe (G_VARIANT_TYPE_STRING,
                              present ? g_variant_new_string ("present") : NULL);
}

static GVariant *
add (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  gint32 a, b;

  g_variant_get (args, "(ii)", &a, &b);
  return g_variant_new_int32 (a + b);
}

static GVariant *
echo (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  g_autoptr(GVariant) value = NULL;

  g_variant_get (args, "(v)", &value);
  return g_variant_new_variant (value);
}

static GVariant *
greet (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  const char *name, *greeting;

  g_variant_get (args, "(&sm&s)", &name, &greeting);
  return g_variant_new_take_string (g_strdup_printf ("%s, %s", greeting ? greeting : "Hello", name));
}

static GVariant *
fail (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  const char *message;

  g_variant_get (args, "(&s)", &message);
  g_set_error_literal (error, PYRO_ERROR, PYRO_ERROR_VALUE, message);
  return NULL;
}

static GVariant *
notify (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  Types *types = self;
  const char *what;

  g_assert_true (pyro_invocation_is_oneway (inv));
  g_variant_get (args, "(&s)", &what);
  g_mutex_lock (&types->lock);
  g_ptr_array_add (types->notified, g_strdup (what));
  g_mutex_unlock (&types->lock);
  return NULL;
}

static GVariant *
notify_count (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  Types *types = self;

  g_mutex_lock (&types->lock);
  guint count = types->notified->len;
  g_mutex_unlock (&types->lock);
  return g_variant_new_int32 (count);
}

static GVariant *
get_label (gpointer self, PyroInvocation *inv, GError **error)
{
  Types *types = self;

  g_mutex_lock (&types->lock);
  GVariant *label = g_variant_new_string (types->label);
  g_mutex_unlock (&types->lock);
  return label;
}

static gboolean
set_label (gpointer self, GVariant *value, PyroInvocation *inv, GError **error)
{
  Types *types = self;

  g_mutex_lock (&types->lock);
  g_free (types->label);
  types->label = g_variant_dup_string (value, NULL);
  g_mutex_unlock (&types->lock);
  return TRUE;
}

static const PyroMethod types_methods[] = {
  { "get_bool", NULL, "b", get_bool },
  { "get_int32", NULL, "i", get_int32 },
  { "get_int64", NULL, "x", get_int64 },
  { "get_double", NULL, "d", get_double },
  { "get_nan", NULL, "d", get_nan },
  { "get_inf", NULL, "d", get_inf },
  { "get_neg_inf", NULL, "d", get_neg_inf },
  { "get_string", NULL, "s", get_string },
  { "get_strv", NULL, "as", get_strv },
  { "get_dict", NULL, "a{sv}", get_dict },
  { "get_nested", NULL, "aai", get_nested },
  { "get_none", NULL, NULL, get_none },
  { "get_maybe", "(b)", "ms", get_maybe, 0, "present" },
  { "add", "(ii)", "i", add, 0, "a,b" },
  { "echo", "(v)", "v", echo, 0, "value" },
  { "greet", "(sms)", "s", greet, 0, "name,greeting" },
  { "fail", "(s)", NULL, fail, 0, "message" },
  { "notify", "(s)", NULL, notify, PYRO_METHOD_ONEWAY, "what" },
  { "notify_count", NULL, "i", notify_count },
  { NULL }
};

static const PyroAttribute types_attributes[] = {
  { "label", "s", get_label, set_label },
  { NULL }
};

static const PyroClass types_class = {
  .name = "Types",
  .methods = types_methods,
  .attributes = types_attributes,
};

/* ---- "Counter": the same class in the three instance modes ---------------- */

static gint live_counters;  /* instances made and not yet freed */

typedef struct
{
  gint calls;
} Counter;

static gpointer
counter_new (gpointer class_data)
{
  g_atomic_int_inc (&live_counters);
  return g_new0 (Counter, 1);
}

static void
counter_free (gpointer instance)
{
  g_atomic_int_add (&live_counters, -1);
  g_free (instance);
}

static GVariant *
counter_count (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  Counter *counter = self;

  /* A single instance is called from several workers at once. */
  return g_variant_new_int32 (g_atomic_int_add (&counter->calls, 1) + 1);
}

static const PyroMethod counter_methods[] = {
  { "count", NULL, "i", counter_count },
  { NULL }
};

#define COUNTER_CLASS(mode) \
  { .name = "Counter", .methods = counter_methods, .instance_mode = (mode), \
    .instance_new = counter_new, .instance_free = counter_free }

static const PyroClass single_class = COUNTER_CLASS (PYRO_INSTANCE_SINGLE);
static const PyroClass session_class = COUNTER_CLASS (PYRO_INSTANCE_SESSION);
static const PyroClass percall_class = COUNTER_CLASS (PYRO_INSTANCE_PERCALL);

/* ---- "returns": one method per mapped type, Python checks what arrives ----
 *
 * One row per value a C method returns: its GVariant type and value (in
 * GVariant text format) and what the Python client must see, as its type
 * name and repr.  The "returns" object gets one method per row, all served
 * by return_value(); pyclient.py calls them in the table's order. */

typedef struct
{
  const char *method;     /* the method's name on the "returns" object */
  const char *signature;  /* its out_signature */
  const char *value;      /* what it returns, in GVariant text format */
  const char *python;     /* what Python receives: type name and repr */
} ReturnCase;

static const ReturnCase return_cases[] = {
  /* integers, at the edges of their ranges */
  { "get_byte", "y", "200", "int 200" },
  { "get_byte_max", "y", "255", "int 255" },
  { "get_int16_min", "n", "-32768", "int -32768" },
  { "get_int16_max", "n", "32767", "int 32767" },
  { "get_uint16_max", "q", "65535", "int 65535" },
  { "get_int32_max", "i", "2147483647", "int 2147483647" },
  { "get_uint32_max", "u", "4294967295", "int 4294967295" },
  { "get_int64_min", "x", "-9223372036854775808", "int -9223372036854775808" },
  { "get_int64_max", "x", "9223372036854775807", "int 9223372036854775807" },
  { "get_uint64_2_63", "t", "9223372036854775808", "int 9223372036854775808" },
  { "get_uint64_max", "t", "18446744073709551615", "int 18446744073709551615" },
  { "get_bool_false", "b", "false", "bool False" },
  /* doubles: a whole number stays a float; Python's repr of each */
  { "get_double_whole", "d", "3.0", "float 3.0" },
  { "get_double_big", "d", "1e22", "float 1e+22" },
  { "get_double_small", "d", "1e-05", "float 1e-05" },
  { "get_double_neg_zero", "d", "-0.0", "float -0.0" },
  { "get_double_max", "d", "1.7976931348623157e308", "float 1.7976931348623157e+308" },
  { "get_double_min_normal", "d", "2.2250738585072014e-308", "float 2.2250738585072014e-308" },
  /* strings and the string-like types */
  { "get_string_empty", "s", "''", "str ''" },
  { "get_string_controls", "s", "'\\u0001\\u007f\\t\\\\/\\U0001F600'", "str '\\x01\\x7f\\t\\\\/😀'" },
  { "get_object_path", "o", "'/org/example/Thing'", "str '/org/example/Thing'" },
  { "get_signature", "g", "'a{sv}'", "str 'a{sv}'" },
  /* tuples and dict entries become lists */
  { "get_tuple", "(si)", "('apple', 3)", "list ['apple', 3]" },
  { "get_tuple_nested", "(s(ib)as)", "('a', (1, true), ['x'])", "list ['a', [1, True], ['x']]" },
  { "get_tuple_empty", "()", "()", "list []" },
  { "get_dict_entry", "{si}", "{'key', 7}", "list ['key', 7]" },
  /* arrays */
  { "get_array_empty", "as", "[]", "list []" },
  { "get_array_bool", "ab", "[true, false]", "list [True, False]" },
  { "get_array_double", "ad", "[1.0, 0.5, nan, inf, -inf]", "list [1.0, 0.5, nan, inf, -inf]" },
  { "get_array_int64", "ax", "[-9223372036854775808, 0, 9223372036854775807]",
    "list [-9223372036854775808, 0, 9223372036854775807]" },
  { "get_array_uint64", "at", "[0, 18446744073709551615]", "list [0, 18446744073709551615]" },
  { "get_array_tuples", "a(si)", "[('a', 1), ('b', 2)]", "list [['a', 1], ['b', 2]]" },
  { "get_array_maybes", "ams", "['a', nothing]", "list ['a', None]" },
  { "get_array_variants", "av", "[<1>, <'a'>, <true>, <@as []>, <@mi nothing>]",
    "list [1, 'a', True, [], None]" },
  /* dicts: Python receives the keys as str, whatever their GVariant type */
  { "get_dict_empty", "a{sv}", "{}", "dict {}" },
  { "get_dict_int_keys", "a{is}", "{1: 'one', -2: 'minus two'}", "dict {'1': 'one', '-2': 'minus two'}" },
  { "get_dict_byte_keys", "a{ys}", "{0x01: 'x', 0xff: 'y'}", "dict {'1': 'x', '255': 'y'}" },
  { "get_dict_bool_keys", "a{bs}", "{true: 'yes', false: 'no'}", "dict {'true': 'yes', 'false': 'no'}" },
  { "get_dict_double_keys", "a{ds}", "{1.5: 'a', 2.0: 'b', nan: 'n', -inf: 'i'}",
    "dict {'1.5': 'a', '2.0': 'b', 'NaN': 'n', '-Infinity': 'i'}" },
  { "get_dict_uint64_keys", "a{ts}", "{18446744073709551615: 'max'}", "dict {'18446744073709551615': 'max'}" },
  { "get_dict_path_keys", "a{os}", "{'/a/b': 'x'}", "dict {'/a/b': 'x'}" },
  { "get_dict_nested", "a{sa{si}}", "{'outer': {'inner': 1}}", "dict {'outer': {'inner': 1}}" },
  { "get_dict_float_values", "a{sd}", "{'nan': nan, 'inf': inf}", "dict {'nan': nan, 'inf': inf}" },
  /* maybes: Nothing is None, and nested maybes flatten */
  { "get_maybe_int_nothing", "mi", "nothing", "NoneType None" },
  { "get_maybe_int_just", "mi", "just 5", "int 5" },
  { "get_maybe_just_nothing", "mms", "just nothing", "NoneType None" },
  { "get_maybe_just_just", "mms", "just just 'x'", "str 'x'" },
  { "get_maybe_tuple", "m(si)", "just ('a', 1)", "list ['a', 1]" },
  /* variants: the inner value, as its own type writes it */
  { "get_variant_tuple", "v", "<(1, 'x')>", "list [1, 'x']" },
  { "get_variant_uint64", "v", "<uint64 18446744073709551615>", "int 18446744073709551615" },
  { "get_variant_nothing", "v", "<@mi nothing>", "NoneType None" },
  { "get_variant_nested", "v", "<<'nested'>>", "str 'nested'" },
};

static GVariant *
return_value (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  const char *name = pyro_invocation_get_method_name (inv);

  for (gsize i = 0; i < G_N_ELEMENTS (return_cases); i++)
    if (strcmp (return_cases[i].method, name) == 0)
      {
        g_autoptr(GError) local = NULL;
        GVariant *value = g_variant_parse (G_VARIANT_TYPE (return_cases[i].signature),
                                           return_cases[i].value, NULL, NULL, &local);
        g_assert_no_error (local);
        return value;
      }
  g_assert_not_reached ();
}

/* Filled from return_cases by returns_methods_init(): one row, one method. */
static PyroMethod returns_methods[G_N_ELEMENTS (return_cases) + 1];

static void
returns_methods_init (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (return_cases); i++)
    returns_methods[i] = (PyroMethod) { return_cases[i].method, NULL, return_cases[i].signature, return_value };
  returns_methods[G_N_ELEMENTS (return_cases)] = (PyroMethod) { NULL };
}

static const PyroClass returns_class = {
  .name = "Returns",
  .methods = returns_methods,
};

/* ---- "takes": what Python sends, and what the C method got ----------------- */

/* Says what double arrived, in words that cannot be confused (NaN is not
 * equal to itself, and -0.0 == 0.0), and sends it back as well. */
static GVariant *
take_double (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  const char *what;
  double value;

  g_variant_get (args, "(d)", &value);
  if (isnan (value))
    what = "NaN";
  else if (isinf (value))
    what = value > 0 ? "Infinity" : "-Infinity";
  else
    what = g_ascii_dtostr (text, sizeof text, value);
  return g_variant_new ("(sd)", what, value);
}

/* Every other take_*() method: the argument tuple as GLib prints it, with
 * type annotations, so the exact GVariant the method got is visible. */
static GVariant *
describe_args (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_take_string (g_variant_print (args, TRUE));
}

static const PyroMethod takes_methods[] = {
  { "take_double", "(d)", "(sd)", take_double, 0, "value" },
  { "take_bool", "(b)", "s", describe_args, 0, "value" },
  { "take_int32", "(i)", "s", describe_args, 0, "value" },
  { "take_byte", "(y)", "s", describe_args, 0, "value" },
  { "take_int16", "(n)", "s", describe_args, 0, "value" },
  { "take_uint16", "(q)", "s", describe_args, 0, "value" },
  { "take_uint32", "(u)", "s", describe_args, 0, "value" },
  { "take_int64", "(x)", "s", describe_args, 0, "value" },
  { "take_uint64", "(t)", "s", describe_args, 0, "value" },
  { "take_string", "(s)", "s", describe_args, 0, "value" },
  { "take_path", "(o)", "s", describe_args, 0, "value" },
  { "take_signature", "(g)", "s", describe_args, 0, "value" },
  { "take_pair", "((si))", "s", describe_args, 0, "value" },
  { "take_entry", "({si})", "s", describe_args, 0, "value" },
  { "take_int_keys", "(a{is})", "s", describe_args, 0, "value" },
  { "take_bool_keys", "(a{bs})", "s", describe_args, 0, "value" },
  { "take_double_keys", "(a{ds})", "s", describe_args, 0, "value" },
  { "take_uint64_keys", "(a{ts})", "s", describe_args, 0, "value" },
  { "take_maybe", "(mi)", "s", describe_args, 0, "value" },
  { "take_variant", "(v)", "s", describe_args, 0, "value" },
  { "take_strv", "(as)", "s", describe_args, 0, "value" },
  { "take_variants", "(av)", "s", describe_args, 0, "value" },
  { "take_vardict", "(a{sv})", "s", describe_args, 0, "value" },
  { "take_bytes", "(ay)", "s", describe_args, 0, "value" },
  { NULL }
};

static const PyroClass takes_class = {
  .name = "Takes",
  .methods = takes_methods,
};

/* One row per value pyclient.py sends (its SENDS table has the Python
 * value for each label) and what comes back: the method's answer, or the
 * exception the daemon raised instead of calling it. */
typedef struct
{
  const char *label;
  const char *python;  /* as pyclient.py prints it */
} SendCase;

/* The daemon's refusal of an argument that does not fit @method's type. */
#define REFUSED(method, message) \
  "builtins.TypeError (\"Takes." method "() argument 1 ('value'): " message "\",) " \
  "| File \"libpyro\", in Takes." method " (C) / TypeError: Takes." method "() argument 1 ('value'): " message

/* An integer beyond 64 bits refuses the whole request while it is parsed,
 * before the daemon knows which method it calls.  So the message names
 * neither the method nor the argument, only the number and where it was
 * in the request text, and the traceback's frame says "INVOKE" (a gap,
 * reported; the class is ValueError, as for any request that does not
 * parse). */
#define TOO_BIG(number, offset) \
  "builtins.ValueError ('integer " number " does not fit in a signed 64-bit integer (JSON offset " offset ")',) " \
  "| File \"libpyro\", in INVOKE (C) / ValueError: integer " number " does not fit in a signed 64-bit integer (JSON offset " offset ")"

static const SendCase send_cases[] = {
  /* NaN and the infinities arrive as themselves; -0.0 keeps its sign; an int is a fine double */
  { "double_nan", "list ['NaN', nan]" },
  { "double_inf", "list ['Infinity', inf]" },
  { "double_neg_inf", "list ['-Infinity', -inf]" },
  { "double_neg_zero", "list ['-0', -0.0]" },
  { "double_from_int", "list ['3', 3.0]" },
  { "double_tenth", "list ['0.10000000000000001', 0.1]" },
  /* 64-bit integers: the full int64 range; uint64 only up to 2^63-1 */
  { "int64_max", "str '(int64 9223372036854775807,)'" },
  { "int64_min", "str '(int64 -9223372036854775808,)'" },
  { "int64_2_63", TOO_BIG ("9223372036854775808", "55") },
  { "int64_2_70", TOO_BIG ("1180591620717411303424", "55") },
  { "int64_below_min", TOO_BIG ("-9223372036854775809", "55") },
  { "uint64_2_63_minus_1", "str '(uint64 9223372036854775807,)'" },
  { "uint64_2_63", TOO_BIG ("9223372036854775808", "56") },
  { "uint64_negative", REFUSED ("take_uint64", "expected uint64 (t), got int -1 (out of range)") },
  { "variant_2_70", TOO_BIG ("1180591620717411303424", "57") },
  /* booleans and int32: a bool is not an int, nor an int a bool, nor a float an int */
  { "bool_true", "str '(true,)'" },
  { "bool_from_int", REFUSED ("take_bool", "expected bool (b), got int 1") },
  { "int32_from_bool", REFUSED ("take_int32", "expected int32 (i), got bool True") },
  { "int32_from_float", REFUSED ("take_int32", "expected int32 (i), got float 3.0") },
  { "int32_none", REFUSED ("take_int32", "expected int32 (i), got None") },
  /* the smaller integers, range-checked */
  { "byte_max", "str '(byte 0xff,)'" },
  { "byte_over", REFUSED ("take_byte", "expected byte (y), got int 256 (out of range)") },
  { "byte_negative", REFUSED ("take_byte", "expected byte (y), got int -1 (out of range)") },
  { "int16_min", "str '(int16 -32768,)'" },
  { "int16_under", REFUSED ("take_int16", "expected int16 (n), got int -32769 (out of range)") },
  { "uint16_max", "str '(uint16 65535,)'" },
  { "uint16_over", REFUSED ("take_uint16", "expected uint16 (q), got int 65536 (out of range)") },
  { "uint32_max", "str '(uint32 4294967295,)'" },
  { "uint32_over", REFUSED ("take_uint32", "expected uint32 (u), got int 4294967296 (out of range)") },
  /* text, non-ASCII and control characters included */
  { "string", "str \"('Grüße 😀 \\\\u0001\\\\n',)\"" },
  /* strings that must be valid object paths and signatures */
  { "path", "str \"(objectpath '/org/example/Thing',)\"" },
  { "path_bad", REFUSED ("take_path", "expected object path (o), got str 'not/a path' (not a valid object path)") },
  { "signature", "str \"(signature 'a{sv}',)\"" },
  { "signature_bad", REFUSED ("take_signature", "expected signature (g), got str 'a{' (not a valid signature)") },
  /* a Python tuple or list for a tuple or a dict entry */
  { "pair_tuple", "str \"(('apple', 3),)\"" },
  { "pair_list", "str \"(('apple', 3),)\"" },
  { "pair_short", REFUSED ("take_pair", "expected a list of 2 elements for (si), got a list of 1") },
  { "entry", "str \"({'key', 7},)\"" },
  /* dict keys: json.dumps writes them as strings, the C side gets its key type back */
  { "int_keys", "str \"({1: 'one', -2: 'minus two'},)\"" },
  { "int_keys_bad", REFUSED ("take_int_keys", "expected a key of type int32 (i), got 'x'") },
  { "bool_keys", "str \"({true: 'yes', false: 'no'},)\"" },
  { "double_keys", "str \"({1.5: 'a', nan: 'n', -inf: 'i'},)\"" },
  { "uint64_keys", "str \"({uint64 18446744073709551615: 'max'},)\"" },
  /* arrays from a list or a tuple; av and a{sv} take each value's natural type */
  { "strv_tuple", "str \"(['a', '', 'ü'],)\"" },
  { "variants", "str \"([<int64 1>, <'a'>, <true>, <@mv nothing>, <[<2.5>]>],)\"" },
  { "vardict", "str \"({'n': <int64 1>, 'f': <1.5>, 'l': <[<'x'>]>, 'd': <{'k': <@mv nothing>}>},)\"" },
  /* bytes: JSON cannot carry them (a TypeError naming the argument, as
   * every argument that does not fit) */
  { "bytes", REFUSED ("take_bytes", "cannot deserialize type 'ay' (bytes) with JSON") },
  /* None for a maybe, and any value for a variant (its natural type) */
  { "maybe_none", "str '(@mi nothing,)'" },
  { "maybe_int", "str '(@mi 5,)'" },
  { "variant_mixed", "str \"(<[<int64 1>, <'a'>, <@mv nothing>, <2.5>, <{'k': <true>}>]>,)\"" },
};

/* ---- "errors": C errors arriving in Python as exceptions ------------------- */

static const char * const custom_traceback[] = {
  "Traceback (most recent call last):\n",
  "  File \"worker.c\", line 12, in lookup\n",
  "LookupError: gone\n",
  NULL
};

/* One row per error a C method sets: raise_error(kind) sets it, and the
 * Python client must see @python: the exception's module and class, its
 * args, and the remote traceback lines after the "Traceback" header (or
 * that there is none).  Rows with @remote_class use pyro_error_new_remote(),
 * with @traceback (NULL: libpyro writes one). */
typedef struct
{
  const char         *kind;
  GQuark            (*domain) (void);
  int                 code;
  const char         *remote_class;
  const char * const *traceback;
  const char         *message;
  const char         *python;
} ErrorCase;

/* The traceback's frame and last line; the last line names the class as
 * Python prints it (with its module unless it is a builtin) and shows a
 * KeyError's key quoted, as str(KeyError(k)) does. */
#define IN_C(python_class, message) \
  "| File \"libpyro\", in Errors.raise_error (C) / " python_class ": " message

static const ErrorCase error_cases[] = {
  /* the builtins of the PyroErrorCode table */
  { "value", pyro_error_quark, PYRO_ERROR_VALUE, NULL, NULL, "bad value",
    "builtins.ValueError ('bad value',) " IN_C ("ValueError", "bad value") },
  { "key", pyro_error_quark, PYRO_ERROR_KEY, NULL, NULL, "no such key: clé ✗",
    "builtins.KeyError ('no such key: clé ✗',) " IN_C ("KeyError", "'no such key: clé ✗'") },
  { "index", pyro_error_quark, PYRO_ERROR_INDEX, NULL, NULL, "list index out of range",
    "builtins.IndexError ('list index out of range',) " IN_C ("IndexError", "list index out of range") },
  { "runtime", pyro_error_quark, PYRO_ERROR_RUNTIME, NULL, NULL, "it broke",
    "builtins.RuntimeError ('it broke',) " IN_C ("RuntimeError", "it broke") },
  { "attribute", pyro_error_quark, PYRO_ERROR_UNKNOWN_METHOD, NULL, NULL, "no attribute 'x'",
    "builtins.AttributeError (\"no attribute 'x'\",) " IN_C ("AttributeError", "no attribute 'x'") },
  { "type", pyro_error_quark, PYRO_ERROR_INVALID_ARGS, NULL, NULL, "wrong type",
    "builtins.TypeError ('wrong type',) " IN_C ("TypeError", "wrong type") },
  { "stop-iteration", pyro_error_quark, PYRO_ERROR_STOP_ITERATION, NULL, NULL, "no more",
    "builtins.StopIteration ('no more',) " IN_C ("StopIteration", "no more") },
  /* the Pyro4.errors classes */
  { "failed", pyro_error_quark, PYRO_ERROR_FAILED, NULL, NULL, "generic",
    "Pyro4.errors.PyroError ('generic',) " IN_C ("Pyro4.errors.PyroError", "generic") },
  { "communication", pyro_error_quark, PYRO_ERROR_COMMUNICATION, NULL, NULL, "network",
    "Pyro4.errors.CommunicationError ('network',) " IN_C ("Pyro4.errors.CommunicationError", "network") },
  { "connection-closed", pyro_error_quark, PYRO_ERROR_CONNECTION_CLOSED, NULL, NULL, "closed",
    "Pyro4.errors.ConnectionClosedError ('closed',) " IN_C ("Pyro4.errors.ConnectionClosedError", "closed") },
  { "timeout", pyro_error_quark, PYRO_ERROR_TIMEOUT, NULL, NULL, "too slow",
    "Pyro4.errors.TimeoutError ('too slow',) " IN_C ("Pyro4.errors.TimeoutError", "too slow") },
  { "protocol", pyro_error_quark, PYRO_ERROR_PROTOCOL, NULL, NULL, "garbled",
    "Pyro4.errors.ProtocolError ('garbled',) " IN_C ("Pyro4.errors.ProtocolError", "garbled") },
  { "too-large", pyro_error_quark, PYRO_ERROR_MESSAGE_TOO_LARGE, NULL, NULL, "huge",
    "Pyro4.errors.MessageTooLargeError ('huge',) " IN_C ("Pyro4.errors.MessageTooLargeError", "huge") },
  { "serialize", pyro_error_quark, PYRO_ERROR_SERIALIZE, NULL, NULL, "cannot serialize",
    "Pyro4.errors.SerializeError ('cannot serialize',) " IN_C ("Pyro4.errors.SerializeError", "cannot serialize") },
  { "security", pyro_error_quark, PYRO_ERROR_SECURITY, NULL, NULL, "bad key",
    "Pyro4.errors.SecurityError ('bad key',) " IN_C ("Pyro4.errors.SecurityError", "bad key") },
  { "naming", pyro_error_quark, PYRO_ERROR_NAMING, NULL, NULL, "unknown name",
    "Pyro4.errors.NamingError ('unknown name',) " IN_C ("Pyro4.errors.NamingError", "unknown name") },
  { "daemon", pyro_error_quark, PYRO_ERROR_DAEMON, NULL, NULL, "daemon trouble",
    "Pyro4.errors.DaemonError ('daemon trouble',) " IN_C ("Pyro4.errors.DaemonError", "daemon trouble") },
  /* PYRO_ERROR_REMOTE without a class name: plain Exception */
  { "remote-no-class", pyro_error_quark, PYRO_ERROR_REMOTE, NULL, NULL, "anything",
    "builtins.Exception ('anything',) " IN_C ("Exception", "anything") },
  /* pyro_error_new_remote(): a builtin outside the table, with its own traceback */
  { "lookup", NULL, 0, "builtins.LookupError", custom_traceback, "gone",
    "builtins.LookupError ('gone',) | File \"worker.c\", line 12, in lookup / LookupError: gone" },
  /* an unknown class: Pyro4's JSON serializer refuses to rebuild it, and
   * the client gets its own SerializeError, raised locally */
  { "custom", NULL, 0, "mymodule.CustomError", NULL, "custom failure",
    "Pyro4.errors.SerializeError ('unsupported serialized class: mymodule.CustomError',) | no remote traceback" },
  /* other GError domains: the closest Python builtin */
  { "io-not-found", g_io_error_quark, G_IO_ERROR_NOT_FOUND, NULL, NULL, "no such file",
    "builtins.FileNotFoundError ('no such file',) " IN_C ("FileNotFoundError", "no such file") },
  { "io-permission", g_io_error_quark, G_IO_ERROR_PERMISSION_DENIED, NULL, NULL, "denied",
    "builtins.PermissionError ('denied',) " IN_C ("PermissionError", "denied") },
  { "io-invalid", g_io_error_quark, G_IO_ERROR_INVALID_ARGUMENT, NULL, NULL, "invalid",
    "builtins.ValueError ('invalid',) " IN_C ("ValueError", "invalid") },
  { "io-timed-out", g_io_error_quark, G_IO_ERROR_TIMED_OUT, NULL, NULL, "timed out",
    "builtins.TimeoutError ('timed out',) " IN_C ("TimeoutError", "timed out") },
  { "io-other", g_io_error_quark, G_IO_ERROR_BUSY, NULL, NULL, "busy",
    "builtins.OSError ('busy',) " IN_C ("OSError", "busy") },
  { "file-error", g_file_error_quark, G_FILE_ERROR_NOENT, NULL, NULL, "no entry",
    "builtins.RuntimeError ('no entry',) " IN_C ("RuntimeError", "no entry") },
};

static GVariant *
raise_error (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  const char *kind;

  g_variant_get (args, "(&s)", &kind);
  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      const ErrorCase *c = &error_cases[i];

      if (strcmp (c->kind, kind) != 0)
        continue;
      if (c->remote_class != NULL)
        g_propagate_error (error, pyro_error_new_remote (c->remote_class, c->traceback, "%s", c->message));
      else
        g_set_error_literal (error, c->domain (), c->code, c->message);
      return NULL;
    }
  g_assert_not_reached ();
}

/* A result that does not match the table's out_signature. */
static GVariant *
bad_return (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_int32 (1);
}

/* Results JSON cannot carry: bytes inside a variant, a type that contains
 * bytes (refused even when the value at hand is Nothing), a handle. */
static GVariant *
return_bytes (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_parsed ("<@ay [1, 2]>");
}

static GVariant *
return_maybe_bytes (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_maybe (G_VARIANT_TYPE_BYTESTRING, NULL);
}

static GVariant *
return_handle (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_handle (0);
}

static GVariant *
say_ok (gpointer self, GVariant *args, PyroInvocation *inv, GError **error)
{
  return g_variant_new_string ("ok");
}

static const PyroMethod errors_methods[] = {
  { "raise_error", "(s)", NULL, raise_error, 0, "kind" },
  { "bad_return", NULL, "s", bad_return },
  { "return_bytes", NULL, "v", return_bytes },
  { "return_maybe_bytes", NULL, "may", return_maybe_bytes },
  { "return_handle", NULL, "h", return_handle },
  { "ok", NULL, "s", say_ok },
  { NULL }
};

static const PyroClass errors_class = {
  .name = "Errors",
  .methods = errors_methods,
};

/* ---- fixture --------------------------------------------------------------- */

typedef struct
{
  Types           types;
  PyroTestDaemon *daemon;
  char           *location;  /* "host:port" for the script */
} Fixture;

static void
register_all (PyroDaemon *daemon, gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(GError) error = NULL;
  const struct { const PyroClass *klass; const char *id; } classes[] = {
    { &single_class, "single" }, { &session_class, "session" }, { &percall_class, "percall" },
  };

  g_autoptr(PyroUri) uri = pyro_daemon_register_object (daemon, &types_class, &fixture->types,
                                                        "types", &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (classes); i++)
    {
      g_autoptr(PyroUri) class_uri = pyro_daemon_register_class (daemon, classes[i].klass, NULL,
                                                                 classes[i].id, &error);
      g_assert_no_error (error);
    }
  /* Stateless: any non-NULL instance will do. */
  pyro_test_register (daemon, &returns_class, fixture, "returns");
  pyro_test_register (daemon, &takes_class, fixture, "takes");
  pyro_test_register (daemon, &errors_class, fixture, "errors");
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  g_mutex_init (&fixture->types.lock);
  fixture->types.label = g_strdup ("initial");
  fixture->types.notified = g_ptr_array_new_with_free_func (g_free);
  g_atomic_int_set (&live_counters, 0);

  fixture->daemon = pyro_test_daemon_start (register_all, fixture);
  PyroDaemon *daemon = pyro_test_daemon_get (fixture->daemon);
  fixture->location = g_strdup_printf ("%s:%u", pyro_daemon_get_host (daemon),
                                       pyro_daemon_get_port (daemon));
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  pyro_test_daemon_stop (fixture->daemon);
  /* Every session and percall instance was freed, single ones with the daemon. */
  g_assert_cmpint (g_atomic_int_get (&live_counters), ==, 0);
  g_free (fixture->location);
  g_free (fixture->types.label);
  g_ptr_array_unref (fixture->types.notified);
  g_mutex_clear (&fixture->types.lock);
}

/* Runs pyclient.py @check, with the NULL-terminated @extra arguments
 * (nullable) after the location, and returns its stdout; asserts a clean
 * exit. */
static char *
run_check_with (Fixture *fixture, const char *check, const char * const *extra)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status = -1;

  g_ptr_array_add (args, (gpointer) check);
  g_ptr_array_add (args, fixture->location);
  for (gsize i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) extra[i]);
  g_ptr_array_add (args, NULL);

  gboolean ran = pyro_test_run_python ("pyclient.py", (const char * const *) args->pdata, SCRIPT_TIMEOUT_S,
                                       &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (ran);
  if (status != 0)
    g_test_message ("pyclient.py %s failed (status %d)\nstdout:\n%s\nstderr:\n%s", check, status, out, err);
  g_assert_cmpint (status, ==, 0);
  return out;
}

static char *
run_check (Fixture *fixture, const char *check)
{
  return run_check_with (fixture, check, NULL);
}

/* ---- the checks whose whole output is known ------------------------------- */

typedef struct
{
  const char *path;
  const char *check;     /* pyclient.py's check name */
  const char *expected;  /* its complete stdout */
} ExactCase;

static const ExactCase exact_cases[] = {
  { "/pyro/interop-pyclient/types", "types",
    "bool: bool True\n"
    "int32: int -2147483648\n"
    "int64: int 9007199254740993\n"
    "double: float 0.1\n"
    "nan: float nan\n"
    "inf: float inf\n"
    "neg_inf: float -inf\n"
    "string: str 'Grüße \"q\"\\n世界 ✓'\n"
    "strv: list ['alpha', '', 'ünï']\n"
    "dict: dict {'count': 3, 'name': 'apple', 'nested': {'ok': True}, 'nothing': None, 'price': 1.5, 'tags': ['x', 'y']}\n"
    "nested: list [[1, 2], [3], []]\n"
    "none: NoneType None\n"
    "maybe_set: str 'present'\n"
    "maybe_unset: NoneType None\n"
    "add: int 42\n"
    "echo: NoneType None\n"
    "echo: bool True\n"
    "echo: int -7\n"
    "echo: int 4611686018427387904\n"
    "echo: float 0.5\n"
    "echo: str 'Grüße ✓'\n"
    "echo: list [1, 'two', [3.0]]\n"
    "echo: dict {'k': [None]}\n"
    "greet_default: str 'Hello, Ann'\n"
    "greet_positional: str 'Hi, Ann'\n"
    "greet_kwargs: str 'Hey, Bob'\n"
    "label: str 'initial'\n"
    "label_set: str 'changed ✓'\n"
    "done\n" },
  { "/pyro/interop-pyclient/error", "error",
    "fail: str 'bad apple ✗'\n"
    "traceback: present\n"
    "after: int 2\n"
    "done\n" },
  { "/pyro/interop-pyclient/instance-modes", "instance-modes",
    "single: list [1, 2, 3, 4]\n"
    "session: list [1, 2, 1, 3]\n"
    "percall: list [1, 1, 1, 1]\n"
    "done\n" },
  { "/pyro/interop-pyclient/metadata", "metadata",
    "methods: list ['add', 'echo', 'fail', 'get_bool', 'get_dict', 'get_double', 'get_inf', "
    "'get_int32', 'get_int64', 'get_maybe', 'get_nan', 'get_neg_inf', 'get_nested', 'get_none', "
    "'get_string', 'get_strv', 'greet', 'notify', 'notify_count']\n"
    "oneway: list ['notify']\n"
    "attrs: list ['label']\n"
    "unknown_method: AttributeError (local)\n"
    "done\n" },
  { "/pyro/interop-pyclient/daemon-object", "daemon-object",
    "ping: NoneType None\n"
    "registered: list ['Pyro.Daemon', 'errors', 'percall', 'returns', 'session', 'single', 'takes', 'types']\n"
    "info: ok\n"
    "meta_keys: list ['attrs', 'methods', 'oneway']\n"
    "meta_oneway: list ['notify']\n"
    "meta_attrs: list ['label']\n"
    "unknown_object: DaemonError\n"
    "done\n" },
  { "/pyro/interop-pyclient/serpent-refused", "serpent",
    "serpent: CommunicationError (serializer not accepted)\n"
    "done\n" },
  /* "mymodule.CustomError" (pyro_error_new_remote()), rebuilt by a client
   * that registered the class with Pyro4: all of it came over the wire. */
  { "/pyro/interop-pyclient/custom-class", "custom-class",
    "custom: __main__.CustomError ('custom failure',) "
    "| File \"libpyro\", in Errors.raise_error (C) / mymodule.CustomError: custom failure\n"
    "done\n" },
  /* Results the daemon cannot send become exceptions. */
  { "/pyro/interop-pyclient/result-errors", "result-errors",
    "bad_return: builtins.RuntimeError (\"Errors.bad_return() returned a value of type 'i', "
    "but its table declares 's'\",) | File \"libpyro\", in Errors.bad_return (C) / RuntimeError: "
    "Errors.bad_return() returned a value of type 'i', but its table declares 's'\n"
    "return_bytes: Pyro4.errors.SerializeError (\"cannot serialize type 'ay' (bytes) with JSON\",) "
    "| File \"libpyro\", in Errors.return_bytes (C) / Pyro4.errors.SerializeError: cannot serialize type 'ay' (bytes) with JSON\n"
    "return_maybe_bytes: Pyro4.errors.SerializeError (\"cannot serialize type 'may' with JSON: it contains 'ay' (bytes)\",) "
    "| File \"libpyro\", in Errors.return_maybe_bytes (C) / Pyro4.errors.SerializeError: cannot serialize type 'may' with JSON: "
    "it contains 'ay' (bytes)\n"
    "return_handle: Pyro4.errors.SerializeError (\"cannot serialize type 'h' (file descriptor handle) with JSON\",) "
    "| File \"libpyro\", in Errors.return_handle (C) / Pyro4.errors.SerializeError: cannot serialize type 'h' (file descriptor handle) "
    "with JSON\n"
    "after: str 'ok'\n"
    "done\n" },
};

static void
test_exact (Fixture *fixture, gconstpointer data)
{
  const ExactCase *c = data;
  g_autofree char *out = run_check (fixture, c->check);

  g_assert_cmpstr (out, ==, c->expected);
}

/* ---- checks with more than a text comparison ------------------------------ */

static void
test_oneway (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = run_check (fixture, "oneway");

  g_assert_cmpstr (out, ==, "notify_count: int 100\ndone\n");

  /* Every call arrived once, with its own argument (order is free: oneway
   * calls run concurrently). */
  g_mutex_lock (&fixture->types.lock);
  g_assert_cmpuint (fixture->types.notified->len, ==, 100);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < fixture->types.notified->len; i++)
    g_hash_table_add (seen, fixture->types.notified->pdata[i]);
  g_mutex_unlock (&fixture->types.lock);
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *name = g_strdup_printf ("n%u", i);
      g_assert_true (g_hash_table_contains (seen, name));
    }
}

/* The daemon's TypeError texts are its own; check that each names the
 * method and what was wrong. */
static void
test_bad_args (Fixture *fixture, gconstpointer data)
{
  static const struct { const char *label; const char *needles[3]; } cases[] = {
    { "wrong_type", { "add", "str", NULL } },
    { "too_few", { "add", "missing", "'b'" } },
    { "too_many", { "add", "takes 2", "3" } },
    { "unknown_kwarg", { "greet", "colour", NULL } },
    { "out_of_range", { "add", "1099511627776", NULL } },
  };
  g_autofree char *out = run_check (fixture, "bad-args");
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (cases) + 3);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *prefix = g_strdup_printf ("%s: TypeError ", cases[i].label);
      g_test_message ("%s", lines[i]);
      g_assert_true (g_str_has_prefix (lines[i], prefix));
      for (gsize n = 0; n < G_N_ELEMENTS (cases[i].needles) && cases[i].needles[n]; n++)
        g_assert_nonnull (strstr (lines[i], cases[i].needles[n]));
    }
  g_assert_cmpstr (lines[G_N_ELEMENTS (cases)], ==, "after: int 5");
  g_assert_cmpstr (lines[G_N_ELEMENTS (cases) + 1], ==, "done");
}

/* ---- the table-driven checks: returned values and errors ------------------- */

/* Runs pyclient.py @check with one name per row and compares its output
 * line by line with the rows' expectations, naming the row that differs. */
static void
compare_rows (Fixture *fixture, const char *check, const char * const *names,
              const char * const *expected, gsize n_rows, const char *last_line)
{
  g_autofree char *out = run_check_with (fixture, check, names);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  /* n_rows lines, @last_line (nullable), "done", and the empty string after the last newline */
  g_assert_cmpuint (g_strv_length (lines), ==, n_rows + (last_line ? 3 : 2));
  for (gsize i = 0; i < n_rows; i++)
    {
      g_autofree char *want = g_strdup_printf ("%s: %s", names[i], expected[i]);
      g_assert_cmpstr (lines[i], ==, want);
    }
  if (last_line != NULL)
    g_assert_cmpstr (lines[n_rows], ==, last_line);
  g_assert_cmpstr (lines[n_rows + (last_line ? 1 : 0)], ==, "done");
}

static void
test_returns (Fixture *fixture, gconstpointer data)
{
  const char *names[G_N_ELEMENTS (return_cases) + 1];
  const char *expected[G_N_ELEMENTS (return_cases)];

  for (gsize i = 0; i < G_N_ELEMENTS (return_cases); i++)
    {
      names[i] = return_cases[i].method;
      expected[i] = return_cases[i].python;
    }
  names[G_N_ELEMENTS (return_cases)] = NULL;
  compare_rows (fixture, "returns", names, expected, G_N_ELEMENTS (return_cases), NULL);
}

static void
test_sends (Fixture *fixture, gconstpointer data)
{
  const char *names[G_N_ELEMENTS (send_cases) + 1];
  const char *expected[G_N_ELEMENTS (send_cases)];

  for (gsize i = 0; i < G_N_ELEMENTS (send_cases); i++)
    {
      names[i] = send_cases[i].label;
      expected[i] = send_cases[i].python;
    }
  names[G_N_ELEMENTS (send_cases)] = NULL;
  /* The connection survived every refusal. */
  compare_rows (fixture, "sends", names, expected, G_N_ELEMENTS (send_cases), "after: str '(int64 1,)'");
}

static void
test_errors (Fixture *fixture, gconstpointer data)
{
  const char *names[G_N_ELEMENTS (error_cases) + 1];
  const char *expected[G_N_ELEMENTS (error_cases)];

  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      names[i] = error_cases[i].kind;
      expected[i] = error_cases[i].python;
    }
  names[G_N_ELEMENTS (error_cases)] = NULL;
  compare_rows (fixture, "errors", names, expected, G_N_ELEMENTS (error_cases), "after: str 'ok'");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  returns_methods_init ();

  for (gsize i = 0; i < G_N_ELEMENTS (exact_cases); i++)
    g_test_add (exact_cases[i].path, Fixture, &exact_cases[i], fixture_setup, test_exact, fixture_teardown);
  g_test_add ("/pyro/interop-pyclient/oneway", Fixture, NULL, fixture_setup, test_oneway, fixture_teardown);
  g_test_add ("/pyro/interop-pyclient/bad-args", Fixture, NULL, fixture_setup, test_bad_args, fixture_teardown);
  g_test_add ("/pyro/interop-pyclient/returns", Fixture, NULL, fixture_setup, test_returns, fixture_teardown);
  g_test_add ("/pyro/interop-pyclient/sends", Fixture, NULL, fixture_setup, test_sends, fixture_teardown);
  g_test_add ("/pyro/interop-pyclient/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);

  return g_test_run ();
}
