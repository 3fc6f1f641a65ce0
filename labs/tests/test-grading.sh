#!/usr/bin/env bash
# test-grading.sh: proof that the lab grading means something, as TAP for prove.
#
# Grades the solution, the starter, every mutant and a set of broken
# submissions with labs/pyro-grade, checks the grader's isolation, and runs
# every command of the handout in a fresh `make handout` tree.  The work is
# done by grading-proof.py (Python's standard library only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec /usr/bin/python3 "$here/grading-proof.py" "$@"
