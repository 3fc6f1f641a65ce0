# libpyro teaching kit: the one entry point.
#
#   make            build the library, tools, labs and tests
#   make check      install what is missing, build, run every test (TAP via prove),
#                   build the docs, then run the suite again under ASan+UBSan
#   make demo       greeting server + client, end to end
#   make bench      libpyro against Python Pyro4, side by side
#   make docs       Doxygen HTML (warnings are errors)
#   make deps       install the Debian packages the kit needs
#
# SANITIZE=1 builds everything with -fsanitize=address,undefined into
# build/sanitize/ and runs only that suite; SANITIZE=0 skips the sanitizer pass.

SHELL       := /bin/bash
SANITIZE    ?=
TOP         := $(CURDIR)
PKGS        := glib-2.0 gio-2.0 gio-unix-2.0 json-glib-1.0 sqlite3

ifeq ($(SANITIZE),1)
B           := build/sanitize
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT         := -O1 -g
else
B           := build
SAN_FLAGS   :=
OPT         := -O2 -g
endif

CC          ?= cc
WARN        := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror=implicit-function-declaration -Werror=format
PKG_CFLAGS   = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS      += -std=gnu11 $(OPT) $(WARN) $(SAN_FLAGS) -Ilibpyro/include -Ilibpyro/src $(PKG_CFLAGS) \
               -DG_LOG_DOMAIN=\"pyro\" -DPYRO_SOURCE_DIR=\"$(TOP)\"
LDFLAGS     += $(SAN_FLAGS)
LDLIBS      += $(PKG_LIBS) -lm

LIB_SRCS    := $(wildcard libpyro/src/*.c)
LIB_OBJS    := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB         := $(B)/lib/libpyro.a

TOOL_SRCS   := $(wildcard libpyro/tools/*.c)
TOOLS       := $(TOOL_SRCS:libpyro/tools/%.c=$(B)/bin/%)

TEST_SRCS   := $(wildcard libpyro/tests/test-*.c)
TESTS       := $(TEST_SRCS:libpyro/tests/%.c=$(B)/tests/%)
# Tests written as shell scripts that print TAP (e.g. the demo).
SCRIPT_TESTS := $(wildcard libpyro/tests/test-*.sh)

# The greeting lab: the solution programs (built to build/solutions/greeting/).
# (The student handout has no solutions/: then there is nothing to build here.)
GREETING_SOL := $(patsubst solutions/greeting/%.c,$(B)/solutions/greeting/%,$(wildcard solutions/greeting/*.c))

BENCH       := $(B)/bench/pyro-bench

.PHONY: all deps check check-run check-sanitize demo bench docs clean
# Objects are not temporary: keep them between runs (and while others link).
.SECONDARY:
.DEFAULT_GOAL := all

all: $(LIB) $(TOOLS) $(TESTS) $(GREETING_SOL) $(BENCH)

# ---- dependencies -------------------------------------------------------
DEB_PKGS := build-essential pkg-config libglib2.0-dev libjson-glib-dev libsqlite3-dev \
            python3-pyro4 doxygen perl
deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	echo "deps: missing:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	else \
	  echo "deps: run this as root:  sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
	  exit 1; \
	fi

# ---- library, tools, tests ----------------------------------------------
$(B)/obj/%.o: %.c $(wildcard libpyro/include/pyro/*.h libpyro/src/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/%: $(B)/obj/libpyro/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/%: $(B)/obj/libpyro/tests/%.o $(B)/obj/libpyro/tests/testutil.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/solutions/greeting/%: $(B)/obj/solutions/greeting/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/bench/pyro-bench: $(B)/obj/libpyro/bench/pyro-bench.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- running ------------------------------------------------------------
# Every test binary speaks TAP (GLib's g_test); prove runs them and prints the summary.
PROVE := prove --exec '' --timer

check: deps
ifeq ($(SANITIZE),1)
	$(MAKE) check-run SANITIZE=1
else ifeq ($(SANITIZE),0)
	$(MAKE) check-run
	$(MAKE) docs
else
	$(MAKE) check-run
	$(MAKE) docs
	$(MAKE) check-run SANITIZE=1
endif

# G_SLICE=always-malloc: GLib 2.74 hands out small blocks (every GVariant,
# GBytes, list node) from slabs of its own, where LeakSanitizer cannot see a
# lost one; with plain malloc() it sees them all.
check-run: all
	@echo "== test suite ($(if $(SAN_FLAGS),ASan+UBSan,plain build)) =="
	G_SLICE=always-malloc \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions=$(TOP)/libpyro/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	PYRO_BUILD_DIR=$(TOP)/$(B) \
	$(PROVE) $(TESTS) $(SCRIPT_TESTS) $(LAB_TESTS)

demo: deps
	$(MAKE) all
	@bash libpyro/tests/demo.sh $(B)

bench: deps
	$(MAKE) all
	@/usr/bin/python3 libpyro/bench/bench.py --c-bench $(B)/bench/pyro-bench

docs: deps
	@mkdir -p build/docs
	doxygen libpyro/docs/Doxyfile

clean:
	rm -rf build

# Labs, grading and the student handout have their own rules.
-include labs/lab.mk
