# labs/lab.mk: the labs' part of the build, included by the top Makefile.
#
#   make greeting                      build lab 1's starter: build/greeting/greeting-{server,client}
#   make grade LAB=greeting            grade your tree with the visible tests
#   make grade LAB=greeting SOLUTIONS=1   grade the reference solution with every test
#   make handout                       the student kit: build/handout/ and build/handout.tar.gz
#
# The grader is labs/pyro-grade (see labs/INSTRUCTORS.md); it asks this file
# for the compiler flags (`make lab-flags`), so lab programs are always
# built the same way, here and when graded.

LAB   ?= greeting
GRADE := /usr/bin/python3 labs/pyro-grade

# ---- lab 1: greeting (the starter; the solution is built by the top Makefile)
GREETING_STARTER := $(B)/greeting/greeting-server $(B)/greeting/greeting-client

all: $(GREETING_STARTER)

$(B)/greeting/%: $(B)/obj/greeting/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

.PHONY: greeting grade handout lab-flags
greeting: $(GREETING_STARTER)

# ---- grading
grade: $(LIB)
	@$(GRADE) --lab $(LAB) $(if $(filter 1,$(SOLUTIONS)),--solutions --require-full,--student)

# The flags the grader compiles submissions with (and builds the library first).
lab-flags: $(LIB)
	@echo 'LABFLAG CC=$(CC)'
	@echo 'LABFLAG CFLAGS=$(CFLAGS)'
	@echo 'LABFLAG LDFLAGS=$(LDFLAGS)'
	@echo 'LABFLAG LDLIBS=$(LDLIBS)'
	@echo 'LABFLAG LIB=$(TOP)/$(LIB)'

# ---- the student handout: the kit without solutions, hidden tests or instructor notes
handout:
	@/usr/bin/python3 labs/make-handout.py --kit $(TOP) --out $(TOP)/build/handout

# The proof that the grading means something (run by `make check`).
LAB_TESTS := labs/tests/test-grading.sh
