#!/usr/bin/python3
# grading-proof.py: proof that the lab grading means something (TAP).
#
# Run by labs/tests/test-grading.sh in `make check`.  It builds a class of
# submissions in a scratch folder and grades it with labs/pyro-grade, the
# way an instructor would, then checks:
#   - the reference solution (as a folder and as a tarball) scores full marks;
#   - the starter builds and scores clearly less (at most half);
#   - every mutant (solutions/<lab>/mutants/*.patch, one planted bug each) loses points;
#   - a submission that does not compile, one that crashes, one that hangs
#     and one that floods its output each get the right, complete report;
#   - the grader's isolation: a test that hangs, leaves a child behind,
#     floods or dies of a signal is reported as such and cleaned up;
#   - `make grade LAB=greeting SOLUTIONS=1` passes;
#   - `make handout` holds no solution or hidden test, and every command of
#     the handout (labs/01-greeting.md) runs in it, from the starter to full marks.

import csv
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = "greeting"
GRADE = ["/usr/bin/python3", os.path.join(TOP, "labs", "pyro-grade")]


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def check(self, ok, name, diagnostics=""):
        self.count += 1
        if not ok:
            self.failed += 1
        print(f"{'ok' if ok else 'not ok'} {self.count} - {name}")
        if diagnostics and not ok:
            for line in diagnostics.rstrip().splitlines():
                print(f"# {line}")
        sys.stdout.flush()
        return ok

    def note(self, text):
        for line in text.rstrip().splitlines():
            print(f"# {line}")
        sys.stdout.flush()

    def done(self):
        print(f"1..{self.count}")
        return 1 if self.failed else 0


def clean_env():
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SANITIZE"):
        env.pop(name, None)
    env["PYRO_BROADCAST_ADDRS"] = "127.0.0.1"
    # The tests' bound on a wait that normally takes milliseconds (default
    # 10 s): 5 s is still generous, and halves the time the planted hangs cost.
    env["GRADE_WAIT"] = "5"
    return env


def copy_files(src_dir, dst_dir, names=None):
    os.makedirs(dst_dir, exist_ok=True)
    for path in glob.glob(os.path.join(src_dir, "*.c")):
        if names is None or os.path.basename(path) in names:
            shutil.copy(path, dst_dir)


def edit(path, old, new):
    text = open(path).read()
    assert old in text, f"{old!r} not in {path}"
    open(path, "w").write(text.replace(old, new, 1))


def make_class(root, tap):
    """The scratch class: name -> what we expect of it."""
    sol = os.path.join(TOP, "solutions", LAB)
    starter = os.path.join(TOP, LAB)
    copy_files(sol, os.path.join(root, "solution"))
    copy_files(starter, os.path.join(root, "starter"))

    # The solution again, as a student would hand in a tarball of their clone.
    tree = os.path.join(root, ".tarball-src", "mywork", LAB)
    copy_files(sol, tree)
    with tarfile.open(os.path.join(root, "solution-tarball.tar.gz"), "w:gz") as t:
        t.add(os.path.join(root, ".tarball-src", "mywork"), arcname="mywork")
    shutil.rmtree(os.path.join(root, ".tarball-src"))

    mutants = []
    for patch in sorted(glob.glob(os.path.join(sol, "mutants", "*.patch"))):
        name = "mutant-" + os.path.basename(patch)[: -len(".patch")]
        target = os.path.join(root, name)
        copy_files(sol, target)
        proc = subprocess.run(["patch", "-s", "-p1", "--no-backup-if-mismatch", "-d", target, "-i", patch],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if tap.check(proc.returncode == 0, f"mutant {os.path.basename(patch)} applies to the solution",
                     proc.stdout):
            mutants.append(name)
        else:
            shutil.rmtree(target)

    # A server that does not compile (its client is fine).
    broken = os.path.join(root, "broken-compile")
    copy_files(sol, broken)
    edit(os.path.join(broken, "greeting-server.c"), "int\nmain", "this is not C;\nint\nmain")

    # Programs that crash: the server in get_fortune, the client at once.
    crash = os.path.join(root, "crash")
    copy_files(sol, crash)
    edit(os.path.join(crash, "greeting-server.c"), '  g_variant_get (args, "(&s)", &name);',
         '  raise (SIGSEGV);\n  g_variant_get (args, "(&s)", &name);')
    edit(os.path.join(crash, "greeting-server.c"), "#include <stdio.h>", "#include <signal.h>\n#include <stdio.h>")
    edit(os.path.join(crash, "greeting-client.c"), "  g_autoptr(GError) error = NULL;\n",
         "  g_autoptr(GError) error = NULL;\n  *(volatile int *) 0 = 0;\n")

    # Programs that hang: the server in get_fortune, the client after its questions.
    hang = os.path.join(root, "hang")
    copy_files(sol, hang)
    edit(os.path.join(hang, "greeting-server.c"), '  g_variant_get (args, "(&s)", &name);',
         '  for (;;) g_usleep (G_USEC_PER_SEC);\n  g_variant_get (args, "(&s)", &name);')
    edit(os.path.join(hang, "greeting-client.c"), "  /* greeting_maker = Pyro4.Proxy(uri)",
         "  for (;;) g_usleep (G_USEC_PER_SEC);\n  /* greeting_maker = Pyro4.Proxy(uri)")

    # A client that prints forever.
    flood = os.path.join(root, "flood")
    copy_files(sol, flood)
    edit(os.path.join(flood, "greeting-client.c"), "  /* greeting_maker = Pyro4.Proxy(uri)",
         '  for (;;) printf ("flood flood flood flood flood flood flood flood\\n");\n'
         "  /* greeting_maker = Pyro4.Proxy(uri)")

    # Only the server handed in: the client is graded from the starter.
    partial = os.path.join(root, "only-server")
    copy_files(sol, partial, names={"greeting-server.c"})
    return mutants


def load(out, name):
    with open(os.path.join(out, name, "results.json"), encoding="utf-8") as f:
        return json.load(f)


def outcomes(results):
    return {t["name"]: t["extra_data"]["outcome"] for t in results["tests"]}


def server_tests(results):
    return [t for t in results["tests"] if t["name"].startswith(("server_", "end_to_end", "course_notes_client"))]


def client_tests(results):
    return [t for t in results["tests"] if t["name"].startswith("client_") or t["name"] == "course_notes_server"]


def check_class(tap, root, out, mutants):
    names = sorted(e for e in os.listdir(root) if not e.startswith("."))
    names = [n[: -len(".tar.gz")] if n.endswith(".tar.gz") else n for n in names]
    for name in names:
        present = all(os.path.exists(os.path.join(out, name, f))
                      for f in ("results.json", "results.tap", "summary.txt", "build.log"))
        tap.check(present, f"{name}: every report was written")

    with open(os.path.join(out, "gradebook.csv"), newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    tap.check(sorted(rows) == sorted(names), "the gradebook has one row per submission",
              f"rows {sorted(rows)}\nsubmissions {sorted(names)}")

    def summary(name):
        return open(os.path.join(out, name, "summary.txt"), encoding="utf-8").read()

    sol = load(out, "solution")
    full = sol["max_score"]
    tap.check(sol["score"] == full and full > 0, f"the solution scores full marks ({sol['score']}/{full})",
              summary("solution"))
    tar = load(out, "solution-tarball")
    tap.check(tar["score"] == full, f"the solution as a tarball scores full marks ({tar['score']}/{full})",
              summary("solution-tarball"))
    tap.check(rows["solution"]["score"] == str(full), "the gradebook gives the solution full marks")

    st = load(out, "starter")
    tap.check(st["score"] <= full // 2, f"the starter scores clearly less ({st['score']}/{full})",
              summary("starter"))
    tap.check("build failed" not in outcomes(st).values(), "the starter builds", summary("starter"))

    for name in mutants:
        r = load(out, name)
        lost = [t["name"] for t in r["tests"] if t["score"] < t["max_score"]]
        tap.check(r["score"] < full, f"{name} loses points ({r['score']}/{full}; fails {', '.join(lost) or 'nothing'})",
                  summary(name))

    b = load(out, "broken-compile")
    tap.check(all(t["extra_data"]["outcome"] == "build failed" for t in server_tests(b)),
              "a server that does not compile: its tests say 'build failed'", summary("broken-compile"))
    tap.check(all(t["extra_data"]["outcome"] == "passed" for t in client_tests(b)),
              "... and only those: the client's tests still pass", summary("broken-compile"))
    tap.check("this is not C" in open(os.path.join(out, "broken-compile", "build.log")).read()
              and "Build output" in b["output"],
              "... and the compiler's messages are in build.log and results.json", b["output"][:2000])
    tap.check(rows["broken-compile"]["build"] == "failed", "... and the gradebook marks the build as failed")

    c = outcomes(load(out, "crash"))
    tap.check(c.get("server_greets") == "crashed", "a server that crashes in get_fortune: 'crashed'",
              summary("crash"))
    tap.check(c.get("client_greets") == "crashed", "a client that crashes: 'crashed'", summary("crash"))
    crash_out = [t["output"] for t in load(out, "crash")["tests"] if t["name"] == "server_greets"][0]
    tap.check("SIGSEGV" in crash_out, "... and the feedback names the signal", crash_out)

    h = load(out, "hang")
    ho = outcomes(h)
    tap.check(ho.get("server_greets") == "timed out", "a server that hangs in get_fortune: 'timed out'",
              summary("hang"))
    tap.check(ho.get("client_greets") == "timed out", "a client that hangs: 'timed out'", summary("hang"))
    tap.check(ho.get("server_prints_uri") == "passed" and ho.get("server_stops") == "passed",
              "... and the hang costs only the tests that call it", summary("hang"))

    fl = load(out, "flood")
    flood_test = [t for t in fl["tests"] if t["name"] == "client_greets"][0]
    tap.check(flood_test["extra_data"]["outcome"] == "timed out" and len(flood_test["output"]) < 20000,
              f"a client that prints forever: 'timed out', output capped ({len(flood_test['output'])} chars)",
              flood_test["output"][:1500])

    p = load(out, "only-server")
    tap.check(any("not in the submission" in n for n in [p["output"]]) and
              outcomes(p).get("server_greets") == "passed" and outcomes(p).get("client_greets") == "failed",
              "a submission without the client: graded with the starter's client, and told so",
              summary("only-server"))

    hidden = [t for t in sol["tests"] if t["visibility"] != "visible"]
    tap.check(len(hidden) > 0 and all(t["visibility"] == "after_published" for t in hidden),
              "hidden tests are in results.json with visibility after_published")
    tap.check(all(t["status"] in ("passed", "failed") for r in (sol, st, b, h) for t in r["tests"]),
              "results.json test statuses are Gradescope's (passed/failed), the outcome in extra_data")


SELFTESTS = {
    "passes.py": "import sys\nsys.exit(0)\n",
    "segv.py": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
    "flood.py": "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n",
    "hang_with_child.py": (
        "import os, signal, subprocess, time\n"
        "child = subprocess.Popen(['/usr/bin/python3', '-c', "
        "'import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(1000)'])\n"
        "open(os.environ['SELFTEST_PIDFILE'], 'w').write(str(child.pid))\n"
        "time.sleep(1000)\n"),
}


def check_isolation(tap, scratch):
    """The grader itself, with a rubric of misbehaving test scripts, in a
    scratch kit that shares everything else with the real one."""
    kit = os.path.join(scratch, "kit")
    os.makedirs(os.path.join(kit, "labs"))
    for entry in ("Makefile", "libpyro", "build", LAB):
        os.symlink(os.path.join(TOP, entry), os.path.join(kit, entry))
    for path in glob.glob(os.path.join(TOP, "labs", "*")):
        if os.path.isfile(path):
            os.symlink(path, os.path.join(kit, "labs", os.path.basename(path)))
    os.makedirs(os.path.join(kit, "selftest"))
    rubric = ["lab selftest grader self-test",
              f"program greeting-server {LAB}/greeting-server.c"]
    for name, body in SELFTESTS.items():
        open(os.path.join(kit, "selftest", name), "w").write(body)
        rubric.append(f"test selftest/{name} 1 4 greeting-server -- {name}")
    open(os.path.join(kit, "labs", "selftest.rubric"), "w").write("\n".join(rubric) + "\n")

    pidfile = os.path.join(scratch, "child.pid")
    env = clean_env()
    env["SELFTEST_PIDFILE"] = pidfile
    out = os.path.join(scratch, "selftest-out")
    proc = subprocess.run(GRADE + ["--kit", kit, "--lab", "selftest", "--out", out, os.path.join(TOP, LAB)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    tap.check(proc.returncode == 0, "the grader runs a rubric of misbehaving tests", proc.stdout[-3000:])
    try:
        results = load(scratch, "selftest-out")
    except OSError:
        tap.check(False, "... and writes results.json")
        return
    got = outcomes(results)
    tap.check(got == {"passes": "passed", "segv": "crashed", "flood": "timed out", "hang_with_child": "timed out"},
              "outcomes: passed, crashed (signal), timed out (flood), timed out (hang)", json.dumps(got))
    flood = [t for t in results["tests"] if t["name"] == "flood"][0]
    tap.check(len(flood["output"]) < 20000 and "output cut" in flood["output"],
              f"a flooding test's output is capped ({len(flood['output'])} chars)")
    alive = None
    try:
        pid = int(open(pidfile).read())
        time.sleep(0.5)
        try:
            # A zombie (killed, not yet reaped by init) counts as gone.
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            alive = state != "Z"
            if alive:
                tap.note(f"process {pid} is still there, state {state}")
                os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            alive = False
    except (OSError, ValueError) as e:
        tap.note(f"no pid file: {e}")
    tap.check(alive is False, "a process a hanging test left behind (ignoring SIGTERM) is killed with its group")


def check_handout(tap, scratch, env):
    proc = subprocess.run(["make", "-s", "--no-print-directory", "-C", TOP, "handout"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    handout = os.path.join(TOP, "build", "handout")
    tarball = os.path.join(TOP, "build", "handout.tar.gz")
    tap.check(proc.returncode == 0 and os.path.isdir(handout) and os.path.isfile(tarball),
              "make handout builds build/handout/ and build/handout.tar.gz", proc.stdout)

    secret = {}
    for path in glob.glob(os.path.join(TOP, "solutions", "**", "*"), recursive=True):
        if os.path.isfile(path):
            secret[hashlib.sha256(open(path, "rb").read()).hexdigest()] = os.path.relpath(path, TOP)
    leaks = []
    with tarfile.open(tarball) as t:
        for member in t.getmembers():
            if not member.isfile():
                continue
            name = member.name
            digest = hashlib.sha256(t.extractfile(member).read()).hexdigest()
            if ("/solutions/" in name or "tests-hidden" in name or name.endswith("INSTRUCTORS.md")
                    or digest in secret):
                leaks.append(name + (f" (= {secret[digest]})" if digest in secret else ""))
    tap.check(not leaks, "the handout tarball holds no solution, hidden test, mutant or instructor notes",
              "\n".join(leaks))
    rubric = open(os.path.join(handout, "labs", f"{LAB}.rubric")).read()
    hidden_lines = [l for l in rubric.splitlines() if l.startswith("test") and "solutions/" in l]
    tap.check(not hidden_lines and "\ntest " in rubric, "the handout's rubric lists the visible tests only",
              "\n".join(hidden_lines))

    # A fresh student: the handout tarball unpacked, every command of the
    # handout run in it (build, starter score, the code written, two
    # terminals, the Python client, the name server, full visible marks).
    fresh = os.path.join(scratch, "student")
    os.makedirs(fresh)
    with tarfile.open(tarball) as t:
        t.extractall(fresh)
    kit = os.path.join(fresh, os.path.basename(handout))
    proc = subprocess.run(["/usr/bin/python3", os.path.join(TOP, "labs", "tests", "run-handout.py"),
                           os.path.join(kit, "labs", "01-greeting.md"), kit,
                           os.path.join(TOP, "solutions", LAB)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    tap.check(proc.returncode == 0, "every command of labs/01-greeting.md runs in the handout "
              "(starter: 1/10, after the steps: 10/10)", proc.stdout[-4000:])


def main():
    build_dir = os.environ.get("PYRO_BUILD_DIR", "")
    if build_dir.rstrip("/").endswith("sanitize"):
        print("1..0 # SKIP the grading proof runs in the plain pass of make check")
        return 0
    tap = Tap()
    env = clean_env()
    scratch = tempfile.mkdtemp(prefix="pyro-grading-proof-")
    try:
        root = os.path.join(scratch, "class")
        os.makedirs(root)
        mutants = make_class(root, tap)
        out = os.path.join(scratch, "out")
        started = time.monotonic()
        proc = subprocess.run(GRADE + ["--lab", LAB, "--class", "--out", out, root], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
        seconds = time.monotonic() - started
        count = len([e for e in os.listdir(root) if not e.startswith(".")])
        tap.check(proc.returncode == 0, f"pyro-grade --class grades {count} submissions", proc.stdout[-3000:])
        tap.note(f"{count} submissions graded in {seconds:.0f} s on {os.cpu_count()} cores")
        if proc.returncode == 0:
            check_class(tap, root, out, mutants)

        check_isolation(tap, scratch)

        proc = subprocess.run(["make", "-s", "--no-print-directory", "-C", TOP, "grade", f"LAB={LAB}",
                               "SOLUTIONS=1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=600)
        tap.check(proc.returncode == 0 and "Total (all tests)" in proc.stdout,
                  "make grade LAB=greeting SOLUTIONS=1 gives the solution full marks", proc.stdout[-3000:])

        check_handout(tap, scratch, env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
