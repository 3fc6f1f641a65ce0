# gradelib.py: helpers for the lab tests (one test = one small Python script).
#
# A test script starts the student's programs, talks to them, and ends with
# one of these outcomes, which the grader (labs/pyro-grade) turns into a
# status and points:
#
#   exit 0  passed       exit 2  crashed    (a program under test died of a signal)
#   exit 1  failed       exit 3  timed out  (a program under test did not answer in time)
#
# Everything here is bounded: every wait has a timeout, every captured
# output is capped, and every process a test starts is stopped by its PID
# when the test ends (the grader also kills the test's whole process group
# afterwards, in case a program left children behind).
#
# The grader passes the programs' paths in the environment:
#   GRADE_PROGRAMS  directory holding the student's built programs
#   GRADE_KIT       the kit's root (for reference files)
# Python Pyro4 (the reference peer) is imported from /usr/bin/python3.

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

# Pyro4 must speak JSON to a libpyro daemon, and never broadcast off loopback.
os.environ.setdefault("PYRO_SERIALIZER", "json")
os.environ.setdefault("PYRO_BROADCAST_ADDRS", "127.0.0.1")

PASSED, FAILED, CRASHED, TIMED_OUT = 0, 1, 2, 3

# How much of a program's output a test keeps (the rest is counted, not kept).
OUTPUT_CAP = 64 * 1024
# The default bound on a wait that normally takes milliseconds.
WAIT = float(os.environ.get("GRADE_WAIT", "10"))


class Outcome(Exception):
    """Ends a test with an exit code and a message for the student."""

    code = FAILED

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Failed(Outcome):
    code = FAILED


class Crashed(Outcome):
    code = CRASHED


class TimedOut(Outcome):
    code = TIMED_OUT


def fail(message):
    raise Failed(message)


def program(name):
    """The path of the student's built program @name."""
    directory = os.environ.get("GRADE_PROGRAMS")
    if not directory:
        raise RuntimeError("GRADE_PROGRAMS is not set (run tests through labs/pyro-grade)")
    path = os.path.join(directory, name)
    if not os.access(path, os.X_OK):
        fail(f"{name} was not built (no executable {path})")
    return path


def kit_path(*parts):
    return os.path.join(os.environ.get("GRADE_KIT", "."), *parts)


def show(text, limit=600):
    """Text for a feedback message: visible newlines, shortened."""
    if text is None:
        return "(nothing)"
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return repr(text)


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Reader(threading.Thread):
    """Drains one pipe into a capped buffer, so a chatty program never blocks
    and never fills our memory."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.data = bytearray()
        self.total = 0
        self.cond = threading.Condition()
        self.eof = False
        self.start()

    def run(self):
        while True:
            chunk = self.stream.read1(65536) if hasattr(self.stream, "read1") else self.stream.read(65536)
            with self.cond:
                if not chunk:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.total += len(chunk)
                room = OUTPUT_CAP - len(self.data)
                if room > 0:
                    self.data += chunk[:room]
                self.cond.notify_all()

    def text(self):
        with self.cond:
            text = self.data.decode("utf-8", errors="replace")
            if self.total > len(self.data):
                text += f"\n[... {self.total - len(self.data)} more bytes not kept]"
            return text


class Process:
    """A program under test, started in the background.

    stdout and stderr are captured (capped); stdin is a pipe you can write
    to, or /dev/null."""

    def __init__(self, argv, name=None, stdin_text=None, env=None):
        self.name = name or os.path.basename(argv[0])
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        _started.append(self)
        if stdin_text is not None:
            try:
                self.popen.stdin.write(stdin_text.encode())
                self.popen.stdin.close()
            except BrokenPipeError:
                pass
        self.out = _Reader(self.popen.stdout)
        self.err = _Reader(self.popen.stderr)
        self._lines_seen = 0

    @property
    def pid(self):
        return self.popen.pid

    def stdout(self):
        return self.out.text()

    def stderr(self):
        return self.err.text()

    def _check_died(self, what):
        """Raise the right outcome if the program is gone while we wait for @what."""
        rc = self.popen.poll()
        if rc is None:
            return
        if rc < 0:
            raise Crashed(f"{self.name} crashed ({signal_name(-rc)}) before {what}.\n"
                          f"Its output was: {show(self.stdout())}\n"
                          f"Its error output was: {show(self.stderr())}")
        fail(f"{self.name} exited (status {rc}) before {what}.\n"
             f"Its output was: {show(self.stdout())}\n"
             f"Its error output was: {show(self.stderr())}")

    def expect_line(self, pattern, what, timeout=WAIT):
        """Wait for the next complete stdout line and match it against the
        regular expression @pattern; return the match.  @what describes the
        line for the feedback ("the line 'Ready. Object uri = PYRO:...'")."""
        deadline = time.monotonic() + timeout
        line = None
        with self.out.cond:
            while True:
                lines = self.out.data.split(b"\n")
                if len(lines) - 1 > self._lines_seen:
                    line = lines[self._lines_seen].decode("utf-8", errors="replace")
                    self._lines_seen += 1
                    break
                if self.out.eof:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.out.cond.wait(min(left, 0.1))
        if line is None:
            # No complete line: it died, or it is alive and silent.
            self.popen.poll()
            if self.popen.returncode is None and not self.out.eof:
                partial = self.stdout()
                hint = ""
                if partial == "":
                    hint = ("\nIf your program prints the line, it probably sits in the stdout "
                            "buffer: call fflush (stdout) after printing it.")
                raise TimedOut(f"{self.name} did not print {what} within {timeout:g} s "
                               f"(it is still running).\nIts output so far: {show(partial)}{hint}")
            time.sleep(0.2)   # let the exit status arrive
            self._check_died(what)
            fail(f"{self.name} closed its output before printing {what}.\n"
                 f"Its output was: {show(self.stdout())}")
        match = re.fullmatch(pattern, line)
        if not match:
            fail(f"expected {what}, but {self.name} printed {show(line)}")
        return match

    def wait(self, timeout=WAIT, what="it finished"):
        """Wait for the program to exit; returns its status (negative: signal)."""
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimedOut(f"{self.name} did not finish within {timeout:g} s (waiting for: {what}).\n"
                           f"Its output so far: {show(self.stdout())}")
        # Give the readers a moment to collect the last bytes.
        self.out.join(2)
        self.err.join(2)
        return rc

    def signal(self, sig):
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL after @timeout seconds; always reaps."""
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait()
        return self.popen.returncode


# Every process a test started: stopped by PID when the test ends.
_started = []


def run(argv, stdin_text="", timeout=WAIT, name=None):
    """Run a program to completion with @stdin_text; returns (status, stdout, stderr).
    A crash raises Crashed, a hang raises TimedOut (the program is killed)."""
    proc = Process(argv, name=name, stdin_text=stdin_text)
    rc = proc.wait(timeout=timeout, what=f"it to finish with input {show(stdin_text)}")
    if rc < 0:
        raise Crashed(f"{proc.name} crashed ({signal_name(-rc)}) with input {show(stdin_text)}.\n"
                      f"Its output was: {show(proc.stdout())}\n"
                      f"Its error output was: {show(proc.stderr())}")
    return rc, proc.stdout(), proc.stderr()


URI_LINE = r"Ready\. Object uri = (PYRO:[^@\s]+@[^:\s]+:\d+)"


def start_server(name="greeting-server"):
    """Start the student's server and return (process, uri) once it printed
    its URI line."""
    proc = Process([program(name)], name=name)
    match = proc.expect_line(URI_LINE, "its first line 'Ready. Object uri = PYRO:...'")
    return proc, match.group(1)


def refused_port():
    """A loopback port where nothing listens: bound, never listening, so a
    connect is refused and nobody else can take the port meanwhile.
    Returns (port, socket); keep the socket open while you use the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1], sock


def pyro4():
    """Python Pyro4, configured like the tests need it."""
    import Pyro4
    Pyro4.config.SERIALIZER = "json"
    Pyro4.config.COMMTIMEOUT = WAIT
    return Pyro4


def python_call(uri, method, *args, server=None):
    """Call @method on @uri with the real Python Pyro4 (the reference client).
    @server (a Process, optional) is the server behind @uri: if the call
    fails because it crashed, the test says so."""
    Pyro4 = pyro4()
    call = f"{method}({', '.join(repr(a) for a in args)})"
    try:
        with Pyro4.Proxy(uri) as proxy:
            return getattr(proxy, method)(*args)
    except Pyro4.errors.TimeoutError:
        raise TimedOut(f"the server did not answer {call} within {WAIT:g} s")
    except Pyro4.errors.CommunicationError as e:
        if server is not None:
            try:
                server.popen.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            server._check_died(f"answering {call}")
        fail(f"calling {call} with Python Pyro4 failed: {type(e).__name__}: {e}")
    except Exception as e:
        remote = "".join(Pyro4.util.getPyroTraceback()) if hasattr(e, "_pyroTraceback") else ""
        fail(f"calling {call} with Python Pyro4 raised {type(e).__name__}: {e}\n{remote}".rstrip())


def ensure_serving(uri, server):
    """Check that the server behind @uri answers a connection (Pyro4's
    handshake), without calling any of its methods."""
    Pyro4 = pyro4()
    try:
        with Pyro4.Proxy(uri) as proxy:
            proxy._pyroBind()
    except Pyro4.errors.TimeoutError:
        raise TimedOut(f"the server printed {uri} but did not answer a connection within {WAIT:g} s")
    except Exception as e:
        try:
            server.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        if server.popen.returncode == 0:
            fail(f"the server printed {uri} and then exited (status 0) instead of serving:\n"
                 "after printing the URI it should run pyro_daemon_request_loop()")
        server._check_died("serving its first connection")
        fail(f"the server printed {uri} but a client could not connect: {type(e).__name__}: {e}")


class ReferenceServer:
    """A Python Pyro4 greeting server (the course notes' greeting-server.py)
    running in a thread of the test, to test a client on its own.  It
    remembers the names it was called with."""

    def __init__(self, text=None):
        Pyro4 = pyro4()
        self.names = []
        names = self.names

        @Pyro4.expose
        class GreetingMaker(object):
            def get_fortune(self, name):
                names.append(name)
                return greeting(name)

        self.daemon = Pyro4.Daemon(host="127.0.0.1", port=0)
        self.uri = str(self.daemon.register(GreetingMaker))
        self.thread = threading.Thread(target=self.daemon.requestLoop, daemon=True)
        self.thread.start()

    def close(self):
        self.daemon.shutdown()
        self.thread.join(WAIT)


def greeting(name):
    """The exact text of the course notes."""
    return "Hello, {0}. Here is your message:\nAlways do your best".format(name)


PROMPT_URI = "What is the Pyro uri of the greeting object? "
PROMPT_NAME = "What is your name? "


def _stop_all():
    for proc in _started:
        try:
            proc.stop(timeout=2)
        except Exception:
            pass


def main(test):
    """Run @test (a function); print its feedback; exit with its outcome."""
    code, message = PASSED, None
    try:
        message = test()
    except Outcome as e:
        code, message = e.code, e.message
    except Exception:
        code = FAILED
        message = "the test itself hit an unexpected error (tell your instructor):\n" + traceback.format_exc()
    finally:
        _stop_all()
    if message:
        print(message)
    sys.stdout.flush()
    os._exit(code)
