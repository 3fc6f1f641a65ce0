#!/usr/bin/python3
"""bench_client.py: the Pyro4 client of `make bench` (the Python side).

    bench_client.py URI SCENARIO SECONDS [START_AT [LATENCY_FILE]]

The same scenarios and the same output as `pyro-bench client` (pyro-bench.c):
one JSON line with what was measured.  START_AT is a wall-clock time at which
several client processes start together; LATENCY_FILE receives every call's
latency in microseconds, one a line.
Run with /usr/bin/python3 (Debian's python3-pyro4) and PYRO_SERIALIZER=json.
"""
import json
import sys
import time

import Pyro4

BIG_SIZE = 1024 * 1024
BATCH_SIZE = 100  # calls in one batch of the batch100 scenario


def make_payload(size):
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return (alphabet * (size // 26 + 1))[:size]


def expect(got, wanted):
    if got != wanted:
        raise RuntimeError("wrong answer: %r, expected %r" % (got, wanted))


def wait_until(start_at):
    # Several client processes start at the same moment; each is connected by then.
    if start_at > 0:
        delay = start_at - time.time()
        if delay > 0:
            time.sleep(delay)


def run_calls(call, payload_bytes, seconds, start_at, result, calls_each=1):
    """Repeats call() on one connection for about `seconds`, timing each call.

    One call() makes `calls_each` Pyro calls (a batch makes many): the result
    counts Pyro calls, the latencies are of whole call() rounds."""
    call()  # connects and warms up; not counted
    wait_until(start_at)
    clock = time.perf_counter
    latencies = result["latencies"]
    start = now = clock()
    end = start + seconds
    while now < end:
        call()
        after = clock()
        latencies.append((after - now) * 1e6)
        now = after
    result["calls"] = len(latencies) * calls_each
    result["seconds"] = now - start
    result["bytes"] = len(latencies) * payload_bytes


def make_batch_call(proxy):
    """BATCH_SIZE add(1,2) calls in one batch request; every answer must be 3."""
    batch = Pyro4.batch(proxy)  # reused: calling it sends and empties the queue

    def call():
        for _ in range(BATCH_SIZE):
            batch.add(1, 2)
        results = list(batch())  # the results arrive as a generator
        expect(results, [3] * BATCH_SIZE)
    return call


def run_oneway(proxy, seconds, result):
    """Oneway calls for `seconds`, then count() until the daemon saw them all."""
    before = proxy.count()
    clock = time.perf_counter
    start = clock()
    end = start + seconds
    calls = 0
    while True:
        for _ in range(100):
            proxy.notify()
        calls += 100
        if clock() >= end:
            break
    expected = before + calls
    deadline = clock() + 30
    polls = 0
    while True:
        seen = proxy.count()
        polls += 1
        if seen >= expected or clock() >= deadline:
            break
        time.sleep(0.001)
    result.update(calls=calls, seconds=clock() - start, lost=expected - seen, polls=polls)


def run_connect(uri, seconds, result):
    """A new proxy for every call: connect, handshake, one call, close."""
    clock = time.perf_counter
    start = now = clock()
    calls = 0
    while now < start + seconds:
        with Pyro4.Proxy(uri) as proxy:
            expect(proxy.add(1, 2), 3)
        calls += 1
        now = clock()
    result.update(calls=calls, seconds=now - start)


def run_scenario(uri, scenario, seconds, start_at, result):
    if scenario == "connect":
        return run_connect(uri, seconds, result)
    proxy = Pyro4.Proxy(uri)
    proxy._pyroTimeout = 60  # a hung daemon must not hang the benchmark
    if scenario == "oneway":
        return run_oneway(proxy, seconds, result)
    if scenario == "small":
        return run_calls(lambda: expect(proxy.add(1, 2), 3), 0, seconds, start_at, result)
    if scenario == "echo1k":
        payload = make_payload(1024)
        return run_calls(lambda: expect(len(proxy.echo(payload)), 1024),
                         2 * 1024, seconds, start_at, result)
    if scenario == "batch100":
        return run_calls(make_batch_call(proxy), 0, seconds, start_at, result, BATCH_SIZE)
    if scenario == "bigresult":
        return run_calls(lambda: expect(len(proxy.big_result()), BIG_SIZE),
                         BIG_SIZE, seconds, start_at, result)
    if scenario == "bigarg":
        payload = make_payload(BIG_SIZE)
        return run_calls(lambda: expect(proxy.big_arg(payload), BIG_SIZE),
                         BIG_SIZE, seconds, start_at, result)
    raise ValueError("unknown scenario %r" % scenario)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[int(p / 100.0 * (len(sorted_values) - 1) + 0.5)]


def main(argv):
    if len(argv) < 4:
        sys.stderr.write("usage: bench_client.py URI SCENARIO SECONDS [START_AT [LATENCY_FILE]]\n")
        return 2
    uri, scenario, seconds = argv[1], argv[2], float(argv[3])
    start_at = float(argv[4]) if len(argv) > 4 else 0.0
    latency_file = argv[5] if len(argv) > 5 else None
    result = {"calls": 0, "seconds": 0.0, "bytes": 0, "latencies": [], "lost": 0, "polls": 0}
    run_scenario(uri, scenario, seconds, start_at, result)
    latencies = sorted(result.pop("latencies"))
    if latency_file:
        with open(latency_file, "w") as f:
            f.write("".join("%.1f\n" % v for v in latencies))
    result.update(scenario=scenario,
                  p50_us=percentile(latencies, 50), p99_us=percentile(latencies, 99))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
