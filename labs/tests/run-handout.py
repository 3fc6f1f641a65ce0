#!/usr/bin/python3
# run-handout.py: runs every command of a lab handout, so the handout cannot rot.
#
#   run-handout.py HANDOUT.md KIT_COPY SOLUTION_DIR
#
# Every ```sh block of the handout must be preceded by a marker comment
# (invisible when the Markdown is rendered) that says how to run it:
#
#   <!-- test: run [status=N] [expect="text"] -->   run it; exit status N (default 0);
#                                                   its output must contain the text
#   <!-- test: server [ready="text"] -->             start it in the background ("a first
#                                                   terminal"); wait for its line "Ready.
#                                                   Object uri = PYRO:..." (or the ready text);
#                                                   the URI becomes $URI
#   <!-- test: client input="..." expect="..." -->   run it with that input ("a second
#                                                   terminal"; $URI and \n are expanded)
#   <!-- test: ctrl-c -->                            (no block) SIGINT every server started
#                                                   so far; each must exit with status 0
#   <!-- test: student-writes-code -->               (no block) the student completes the
#                                                   TODOs: SOLUTION_DIR's files are copied
#                                                   over the starter
#
# An unmarked ```sh block is an error: every command shown must be tested.
# Commands run in KIT_COPY (a scratch copy of the kit: they build in it).
# Prints one line per step; exits 1 at the first step that goes wrong.

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

MARKER = re.compile(r"^<!--\s*test:\s*(\S+)(.*?)-->\s*$")
NEEDS_BLOCK = {"run", "server", "client"}
URI_LINE = re.compile(r"^Ready\. Object uri = (PYRO:\S+)$")


def parse(path):
    """The handout as a list of (line number, kind, attributes, command)."""
    steps = []
    pending = None
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        match = MARKER.match(line.strip())
        if match:
            kind = match.group(1)
            attrs = {}
            for word in shlex.split(match.group(2)):
                key, _, value = word.partition("=")
                attrs[key] = value.encode().decode("unicode_escape")
            if kind in NEEDS_BLOCK:
                pending = (i + 1, kind, attrs)
            else:
                steps.append((i + 1, kind, attrs, None))
        elif line.startswith("```sh"):
            end = i + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            command = "\n".join(lines[i + 1:end])
            if pending is None:
                raise SystemExit(f"{path}:{i + 1}: a ```sh block without a <!-- test: ... --> marker")
            number, kind, attrs = pending
            steps.append((number, kind, attrs, command))
            pending = None
            i = end
        elif pending is not None and line.strip():
            raise SystemExit(f"{path}:{pending[0]}: marker '{pending[1]}' is not followed by a ```sh block")
        i += 1
    return steps


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, command, cwd, env, ready):
        self.command = command
        self.proc = subprocess.Popen(["bash", "-c", "exec " + command], cwd=cwd, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = ready

    def _read(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            seen = 0
            while time.monotonic() < deadline:
                while seen < len(self.lines):
                    line = self.lines[seen]
                    seen += 1
                    if line is None:
                        return None, "it exited: " + repr(self.lines[:-1])
                    if self.ready is not None:
                        if self.ready in line:
                            return "", None
                    else:
                        m = URI_LINE.match(line)
                        if m:
                            return m.group(1), None
                self.cond.wait(0.1)
        return None, f"no ready line within {timeout} s; output so far {self.lines!r}"

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def main():
    handout, kit, solution = sys.argv[1:4]
    steps = parse(handout)
    env = dict(os.environ)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    # The commands stay as the handout shows them; make may use every core.
    env["MAKEFLAGS"] = f"-j{os.cpu_count() or 1}"
    # Loopback only, and a name server port nobody else uses.
    env["PYRO_BROADCAST_ADDRS"] = "127.0.0.1"
    env["PYRO_NS_PORT"] = str(free_port())
    servers = []
    uri = None

    def problem(number, text):
        print(f"FAILED at {handout}:{number}: {text}")
        for s in servers:
            s.kill()
        sys.exit(1)

    for number, kind, attrs, command in steps:
        label = f"line {number}: {kind}" + (f": {command}" if command else "")
        if kind == "run":
            try:
                proc = subprocess.run(["bash", "-c", command], cwd=kit, env=env,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, timeout=900)
            except subprocess.TimeoutExpired:
                problem(number, f"{command!r} did not finish within 900 s")
            out = proc.stdout.decode("utf-8", "replace")
            want = int(attrs.get("status", "0"))
            if proc.returncode != want:
                problem(number, f"{command!r} exited {proc.returncode}, expected {want}:\n{out[-3000:]}")
            if "expect" in attrs and attrs["expect"] not in out:
                problem(number, f"{command!r} did not print {attrs['expect']!r}:\n{out[-3000:]}")
        elif kind == "server":
            server = Server(command, kit, env, attrs.get("ready"))
            servers.append(server)
            found, why = server.wait_ready()
            if found is None:
                problem(number, f"server {command!r}: {why}")
            if found:
                uri = found
        elif kind == "client":
            text = attrs.get("input", "")
            if "$URI" in text:
                if uri is None:
                    problem(number, "the client needs $URI but no server printed one")
                text = text.replace("$URI", uri)
            try:
                proc = subprocess.run(["bash", "-c", command], cwd=kit, env=env, input=text.encode(),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            except subprocess.TimeoutExpired:
                problem(number, f"client {command!r} did not finish within 60 s")
            out = proc.stdout.decode("utf-8", "replace")
            if proc.returncode != 0 or attrs.get("expect", "") not in out:
                problem(number, f"client {command!r} exited {proc.returncode}, expected 0 and "
                                f"{attrs.get('expect')!r} in its output; it printed:\n{out[-3000:]}")
        elif kind == "ctrl-c":
            for server in reversed(servers):
                server.proc.send_signal(signal.SIGINT)
                try:
                    rc = server.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    problem(number, f"{server.command!r} did not stop within 10 s of Ctrl-C")
                if rc != 0:
                    problem(number, f"{server.command!r} exited {rc} after Ctrl-C, expected 0")
                server.kill()   # its group, in case it left anything behind
            servers.clear()
        elif kind == "student-writes-code":
            for name in sorted(os.listdir(solution)):
                if name.endswith(".c"):
                    lab = os.path.basename(os.path.normpath(solution))
                    shutil.copyfile(os.path.join(solution, name), os.path.join(kit, lab, name))
        else:
            problem(number, f"unknown marker kind {kind!r}")
        print(f"ok   {label}")
    for s in servers:
        s.kill()
    if servers:
        problem(steps[-1][0], "servers were still running at the end (no ctrl-c step)")
    print(f"all {len(steps)} steps of {handout} ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
