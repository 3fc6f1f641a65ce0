#!/usr/bin/python3
"""bench.py: `make bench`, libpyro against Python Pyro4, side by side.

    bench.py --c-bench build/bench/pyro-bench [--rounds 6] [--seconds 1.5]

Each round starts a libpyro daemon (`pyro-bench daemon`) and a Pyro4 daemon
(bench_server.py), each as its own process, and runs each scenario against
one and right after against the other (which goes first alternates between
rounds, and the default number of rounds is even, so that both orders count
alike in the medians: a run right after the other implementation's run of
the previous scenario measured up to a third higher or lower), with a
client of the same kind (`pyro-bench client` or bench_client.py,
PYRO_SERIALIZER=json), so that a burst of load elsewhere on
the machine hits both alike.  At the end of a round it reads each daemon's
peak RSS (VmHWM) and stops it by PID.  The table shows the median
over the rounds, the ratio libpyro/Pyro4 and the targets of issues 2 and 4,
and is also written to results.md next to the pyro-bench binary.  Under the
table, a line for each target the loopback floor puts out of reach says so,
and whether the connect floor (`pyro-bench connect-floor`: bare loopback
connections with Pyro4's message sizes, no Pyro) puts "connect + call +
close" out of reach.

Everything runs on 127.0.0.1 with ports the daemons pick themselves.  This is
a benchmark, not a test: the numbers depend on the machine and its load.
"""
import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"  # the python3 that sees Debian's python3-pyro4
MB = 1e6

# What a scenario's JSON line is turned into: metric name -> function.
SCENARIOS = ["small", "echo1k", "batch100", "oneway", "bigresult", "bigarg", "connect"]

# The table rows: key, label, unit, kind, target.
#   kind "higher": a throughput, the ratio is libpyro/Pyro4 and must be >= target
#   kind "lower":  a latency or size, the ratio must be <= target
#   target None:   shown for information only
ROWS = [
    ("small_cps", "small sync call add(1,2)", "calls/s", "higher", 5),
    ("small_p50", "small sync call, p50 latency", "us", "lower", None),
    ("small_p99", "small sync call, p99 latency", "us", "lower", None),
    ("small_nospin_cps", "small sync call, spinning off (LIBPYRO_SPIN_USEC=0)", "calls/s", "higher", None),
    ("echo1k_cps", "1 KiB echo", "calls/s", "higher", 5),
    ("batch100_cps", "batches of 100 add(1,2)", "calls/s", "higher", 3),
    ("oneway_cps", "oneway calls, end to end", "calls/s", "higher", 20),
    ("bigresult_mbs", "1 MiB result", "MB/s", "higher", 5),
    ("bigarg_mbs", "1 MiB argument", "MB/s", "higher", 5),
    ("conc_cps", "8 concurrent clients", "calls/s", "higher", 5),
    ("conc_p99", "8 concurrent clients, p99 latency", "us", "lower", 1 / 5),
    ("connect_ps", "connect + call + close", "per s", "higher", 5),
    ("rss_kb", "daemon peak RSS (VmHWM)", "KiB", "lower", 1 / 4),
]


# Rows whose Python figure is another row's: Pyro4 has no spinning to turn off.
PYTHON_SAME_AS = {"small_nospin_cps": "small_cps"}


class Implementation:
    """How to start a daemon and a client of one kind."""

    def __init__(self, name, daemon_cmd, client_cmd, extra_env=None):
        self.name = name
        self.daemon_cmd = daemon_cmd
        self.client_cmd = client_cmd
        self.extra_env = extra_env or {}


def environment(extra=None):
    env = dict(os.environ)
    env["PYRO_SERIALIZER"] = "json"
    env["PYRO_BROADCAST_ADDRS"] = "127.0.0.1"
    env.pop("LIBPYRO_SPIN_USEC", None)  # libpyro's default, unless a run asks otherwise
    env.update(extra or {})
    return env


def start_daemon(impl):
    """Starts a daemon process; returns (process, uri) once it listens."""
    proc = subprocess.Popen(impl.daemon_cmd, stdout=subprocess.PIPE, env=environment(impl.extra_env),
                            universal_newlines=True)
    # The daemon prints its URI once it listens; a bounded wait for that line.
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = ""
    if sel.select(timeout=30):
        line = proc.stdout.readline()
    sel.close()
    if not line.startswith("URI "):
        stop_process(proc)
        raise RuntimeError("%s daemon did not start (got %r)" % (impl.name, line))
    return proc, line.split()[1]


def stop_process(proc):
    """Stops one process we started, by PID: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


def status_kb(pid, field):
    """A "kB" field of /proc/PID/status, e.g. VmHWM (peak RSS) or RssFile."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def settle(limit=2.0):
    """Waits, at most `limit` seconds, until no other thread wants a CPU (the
    "running" count of /proc/loadavg is only this process), so that a scenario
    does not start while the previous one still winds down: the run right after
    Pyro4's 1 MiB argument rounds measured up to a fifth less without this."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        if running <= 1:
            break
        time.sleep(0.01)


def run_clients(impl, uri, scenario, seconds, count, tmpdir):
    """Runs `count` client processes of one scenario at once; returns their results."""
    settle()
    start_at = time.time() + (2.0 if count > 1 else 0.0)
    procs = []
    for i in range(count):
        latency_file = os.path.join(tmpdir, "%s-%s-%d.lat" % (impl.name, scenario, i))
        args = impl.client_cmd + [uri, scenario, str(seconds),
                                  "%.6f" % (start_at if count > 1 else 0), latency_file]
        procs.append((subprocess.Popen(args, stdout=subprocess.PIPE, env=environment(impl.extra_env),
                                       universal_newlines=True), latency_file))
    results = []
    failed = None
    for proc, latency_file in procs:
        try:
            out, _ = proc.communicate(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            stop_process(proc)
            failed = "timed out"
            continue
        if proc.returncode != 0:
            failed = "exit status %d" % proc.returncode
            continue
        result = json.loads(out.strip().splitlines()[-1])
        with open(latency_file) as f:
            result["latencies"] = [float(v) for v in f]
        os.unlink(latency_file)
        results.append(result)
    if failed:
        raise RuntimeError("%s client, scenario %s: %s" % (impl.name, scenario, failed))
    return results


def percentile(values, p):
    values = sorted(values)
    if not values:
        return 0.0
    return values[int(p / 100.0 * (len(values) - 1) + 0.5)]


def record(metrics, notes, impl, scenario, r):
    """Turns what one client run of @scenario measured into @metrics."""
    rate = r["calls"] / r["seconds"]
    if scenario == "small":
        metrics["small_cps"] = rate
        metrics["small_p50"] = r["p50_us"]
        metrics["small_p99"] = r["p99_us"]
    elif scenario == "echo1k":
        metrics["echo1k_cps"] = rate
    elif scenario == "batch100":
        metrics["batch100_cps"] = rate  # calls, not batches
    elif scenario == "oneway":
        metrics["oneway_cps"] = rate
        metrics["oneway_lost"] = r["lost"]
        if r["lost"]:
            notes.append("%s: %d oneway calls lost" % (impl.name, r["lost"]))
    elif scenario in ("bigresult", "bigarg"):
        metrics[scenario + "_mbs"] = r["bytes"] / MB / r["seconds"]
    elif scenario == "connect":
        metrics["connect_ps"] = rate


def run_round(impls, seconds, clients, tmpdir, log):
    """Both daemons, every scenario; returns {implementation name: {metric: value}}
    and notes.  Each scenario runs against one daemon and right after against the
    other, so a burst of load elsewhere on the machine hits both alike."""
    metrics = {impl.name: {} for impl in impls}
    notes = []
    daemons = {}
    try:
        for impl in impls:
            proc, uri = start_daemon(impl)
            daemons[impl.name] = (proc, uri)
            # The daemon at rest, before any client: how much of its memory is
            # program and shared-library files (pages every process using them shares).
            metrics[impl.name]["idle_rss_kb"] = status_kb(proc.pid, "VmRSS")
            metrics[impl.name]["idle_file_kb"] = status_kb(proc.pid, "RssFile")
        for scenario in SCENARIOS:
            for impl in impls:
                uri = daemons[impl.name][1]
                r = run_clients(impl, uri, scenario, seconds, 1, tmpdir)[0]
                record(metrics[impl.name], notes, impl, scenario, r)
        for impl in impls:
            proc, uri = daemons[impl.name]
            conc = run_clients(impl, uri, "small", seconds, clients, tmpdir)
            metrics[impl.name]["conc_cps"] = sum(r["calls"] / r["seconds"] for r in conc)
            metrics[impl.name]["conc_p99"] = percentile([v for r in conc for v in r["latencies"]], 99)
        for impl in impls:
            metrics[impl.name]["rss_kb"] = status_kb(daemons[impl.name][0].pid, "VmHWM")
    finally:
        for proc, uri in daemons.values():
            stop_process(proc)
    for impl in impls:
        log("  %-7s %s" % (impl.name, " ".join("%s=%.0f" % (k, v)
                                               for k, v in sorted(metrics[impl.name].items()))))
    return metrics, notes


def measure_floor(c_bench, seconds, spin):
    """Raw loopback TCP ping-pongs (no Pyro): the fastest a sync call can be here.
    spin=False measures it with sleeping waits only (LIBPYRO_SPIN_USEC=0)."""
    env = environment({} if spin else {"LIBPYRO_SPIN_USEC": "0"})
    out = subprocess.run([c_bench, "floor", str(seconds)], stdout=subprocess.PIPE, env=env,
                         universal_newlines=True, timeout=seconds + 60, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return {"floor_cps": r["calls"] / r["seconds"], "floor_p50": r["p50_us"]}


def measure_connect_floor(c_bench, seconds):
    """Bare loopback connect + two round trips + close (no Pyro): the fastest
    "connect + call + close" can be here, served by the accepting thread (as
    the daemon's request loop does) and by a worker thread it hands the
    connection to (as a daemon accepting in a GMainContext does)."""
    out = subprocess.run([c_bench, "connect-floor", str(seconds)], stdout=subprocess.PIPE,
                         env=environment(), universal_newlines=True, timeout=2 * seconds + 60,
                         check=True).stdout
    rates = {}
    for line in out.strip().splitlines():
        r = json.loads(line)
        rates[r["scenario"]] = r["calls"] / r["seconds"]
    return {"worker_ps": rates["connect-floor-worker"], "inline_ps": rates["connect-floor-inline"]}


def run_nospin_round(c_bench, seconds, tmpdir):
    """libpyro's small call with spinning turned off in both processes."""
    impl = Implementation("libpyro-nospin", [c_bench, "daemon"], [c_bench, "client"],
                          {"LIBPYRO_SPIN_USEC": "0"})
    proc, uri = start_daemon(impl)
    try:
        r = run_clients(impl, uri, "small", seconds, 1, tmpdir)[0]
    finally:
        stop_process(proc)
    return r["calls"] / r["seconds"]


def fmt(value):
    if value is None:
        return "-"
    if value >= 100:
        return "%.0f" % value
    if value >= 10:
        return "%.1f" % value
    return "%.2f" % value


# Rows whose every call is one sync round trip: the loopback floor bounds them.
FLOOR_BOUND = ["small_cps", "echo1k_cps"]


def floor_explanations(c_med, py_med, floor_cps, connect_floor):
    """One line for each unmet target of FLOOR_BOUND that the floor makes unreachable,
    and one saying whether the connect floor puts an unmet connect target out of reach."""
    lines = []
    for key, label, unit, kind, target in ROWS:
        if key not in FLOOR_BOUND or not py_med.get(key):
            continue
        best = floor_cps / py_med[key]
        if c_med[key] / py_med[key] < target and best < target:
            lines.append("- %s: the %gx target is out of reach here: even a bare loopback round "
                         "trip (%.0f/s) is only %.1fx Pyro4's %.0f calls/s; libpyro reaches %.0f%% "
                         "of that floor." % (label, target, floor_cps, best, py_med[key],
                                             100.0 * c_med[key] / floor_cps))
    lines += connect_floor_explanation(c_med, py_med, connect_floor)
    return lines


def connect_floor_explanation(c_med, py_med, connect_floor):
    """The line on "connect + call + close" if its target is unmet, measured against the
    connect floor served by the accepting thread, as the daemon's request loop serves
    (its pool threads accept and serve, leader/followers)."""
    key = "connect_ps"
    label, target = [(l, t) for k, l, u, kind, t in ROWS if k == key][0]
    py = py_med.get(key)
    if not py or c_med[key] / py >= target:
        return []
    worker, inline = connect_floor["worker_ps"], connect_floor["inline_ps"]
    best, best_worker = inline / py, worker / py
    if best < target:
        verdict = ("the %gx target is out of reach here: even bare loopback connections served "
                   "by the thread that accepts them, as the daemon serves them, are only" % target)
    else:
        verdict = ("the %gx target is within the connect floor: bare loopback connections served "
                   "by the thread that accepts them, as the daemon serves them, are" % target)
    return ["- %s: %s %.1fx Pyro4's %.0f per second (%.0f/s; %.1fx with a hand-off to a worker "
            "thread, %.0f/s); libpyro reaches %.0f%% of that floor."
            % (label, verdict, best, py, inline, best_worker, worker, 100.0 * c_med[key] / inline)]


def make_table(c_med, py_med):
    lines = ["| scenario | unit | libpyro (C) | Pyro4 (Python) | C/Python | target | met |",
             "|---|---|---:|---:|---:|---|---|"]
    all_met = True
    for key, label, unit, kind, target in ROWS:
        c, py = c_med.get(key), py_med.get(PYTHON_SAME_AS.get(key, key))
        ratio = c / py if c is not None and py else None
        if target is None:
            target_text, met = "-", "-"
        elif kind == "higher":
            target_text = ">= %gx" % target
            met = "met" if ratio is not None and ratio >= target else "NOT met"
        else:
            target_text = "<= 1/%g" % round(1 / target)
            met = "met" if ratio is not None and ratio <= target else "NOT met"
        if met == "NOT met":
            all_met = False
        lines.append("| %s | %s | %s | %s | %s | %s | %s |"
                     % (label, unit, fmt(c), fmt(py),
                        "%.2fx" % ratio if ratio is not None else "-", target_text, met))
    return lines, all_met


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c-bench", required=True, help="path of the pyro-bench binary")
    parser.add_argument("--rounds", type=int, default=6,
                        help="rounds; keep it even, so that each order counts alike")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each scenario")
    parser.add_argument("--clients", type=int, default=8, help="clients in the concurrency scenario")
    parser.add_argument("--out", help="results file (default: results.md next to pyro-bench)")
    args = parser.parse_args()

    c_bench = os.path.abspath(args.c_bench)
    out = args.out or os.path.join(os.path.dirname(c_bench), "results.md")
    impls = [
        Implementation("libpyro", [c_bench, "daemon"], [c_bench, "client"]),
        Implementation("Pyro4", [PYTHON, os.path.join(HERE, "bench_server.py")],
                       [PYTHON, os.path.join(HERE, "bench_client.py")]),
    ]

    def log(text):
        print(text, flush=True)

    log("bench: %d rounds, %.1f s per scenario, %d concurrent clients, %d CPUs, load %.2f"
        % (args.rounds, args.seconds, args.clients, os.cpu_count(), os.getloadavg()[0]))
    runs = {impl.name: [] for impl in impls}
    floors = []
    sleeping_floors = []
    connect_floors = []
    notes = []
    with tempfile.TemporaryDirectory(prefix="pyro-bench-") as tmpdir:
        for n in range(args.rounds):
            log("round %d/%d" % (n + 1, args.rounds))
            # Which goes first changes from round to round.
            order = impls if n % 2 == 0 else impls[::-1]
            metrics, round_notes = run_round(order, args.seconds, args.clients, tmpdir, log)
            for impl in impls:
                runs[impl.name].append(metrics[impl.name])
            notes += round_notes
            runs["libpyro"][-1]["small_nospin_cps"] = run_nospin_round(c_bench, args.seconds, tmpdir)
            log("  libpyro small_nospin_cps=%.0f" % runs["libpyro"][-1]["small_nospin_cps"])
            floors.append(measure_floor(c_bench, args.seconds, spin=True))
            sleeping_floors.append(measure_floor(c_bench, args.seconds, spin=False))
            log("  floor   floor_cps=%.0f floor_p50=%.0f, sleeping waits only: floor_cps=%.0f"
                % (floors[-1]["floor_cps"], floors[-1]["floor_p50"], sleeping_floors[-1]["floor_cps"]))
            connect_floors.append(measure_connect_floor(c_bench, args.seconds))
            log("  connect floor  worker_ps=%.0f inline_ps=%.0f"
                % (connect_floors[-1]["worker_ps"], connect_floors[-1]["inline_ps"]))

    def medians(name):
        keys = runs[name][0].keys()
        return {k: statistics.median(m[k] for m in runs[name]) for k in keys}

    c_med, py_med = medians("libpyro"), medians("Pyro4")
    lines, all_met = make_table(c_med, py_med)
    header = [
        "# libpyro vs Pyro4 4.82 (JSON serializer)",
        "",
        "Medians of %d rounds, %.1f s per scenario, loopback, %d CPUs (%s, Python %s), %s."
        % (args.rounds, args.seconds, os.cpu_count(), platform.machine(),
           platform.python_version(), time.strftime("%Y-%m-%d %H:%M")),
        "C client -> C daemon against Python client -> Python daemon; each daemon is its own",
        "process.  Oneway: calls until the daemon has counted them all (one sync count()",
        "confirms none was lost).  8 clients: 8 processes calling add(1,2) at once.",
        "Batches: 100 add(1,2) calls in one request (pyro_batch_run_sync / Pyro4.batch),",
        "counted as 100 calls.",
        "",
    ]
    floor_cps = statistics.median(f["floor_cps"] for f in floors)
    floor_p50 = statistics.median(f["floor_p50"] for f in floors)
    sleeping_cps = statistics.median(f["floor_cps"] for f in sleeping_floors)
    connect_floor = {key: statistics.median(f[key] for f in connect_floors)
                     for key in ("worker_ps", "inline_ps")}
    footer = [""] + floor_explanations(c_med, py_med, floor_cps, connect_floor)
    footer += ["",
               "Loopback floor (64-byte TCP ping-pong between two processes, no Pyro, waiting as",
               "libpyro waits: a brief spin, then sleep): %.0f round trips/s, p50 %.0f us.  No sync call"
               % (floor_cps, floor_p50),
               "can beat it, so on this machine the best possible ratio against Pyro4 (floor / Pyro4)",
               "is about %.1fx for small calls and %.1fx for the 1 KiB echo.  With sleeping waits only"
               % (floor_cps / py_med["small_cps"], floor_cps / py_med["echo1k_cps"]),
               "(LIBPYRO_SPIN_USEC=0) the floor is %.0f round trips/s (%.1fx Pyro4's small call)."
               % (sleeping_cps, sleeping_cps / py_med["small_cps"]),
               "",
               "Connect floor: bare TCP connect + two 64..185-byte round trips + close, no Pyro:",
               "%.0f per second served by the accepting thread (as the daemon's request loop serves),"
               % connect_floor["inline_ps"],
               "%.0f per second with a hand-off to a worker thread; so the best ratio against Pyro4's"
               % connect_floor["worker_ps"],
               "connect + call + close is about %.1fx."
               % (connect_floor["inline_ps"] / py_med["connect_ps"]),
               "",
               "Daemons at rest, before any client: libpyro %.0f KiB RSS (%.0f KiB of it program and"
               % (c_med["idle_rss_kb"], c_med["idle_file_kb"]),
               "shared-library files), Pyro4 %.0f KiB (%.0f KiB files).  A quarter of Pyro4's peak is %.0f KiB."
               % (py_med["idle_rss_kb"], py_med["idle_file_kb"], py_med["rss_kb"] / 4)]
    lost = [n for n in notes if "lost" in n]
    footer.append("Oneway calls lost: %s." % ("; ".join(lost) if lost else "none, in every round"))
    footer.append("All targets met." if all_met else "Some targets are NOT met.")
    text = "\n".join(header + lines + footer) + "\n"
    print()
    print(text)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print("written to %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
