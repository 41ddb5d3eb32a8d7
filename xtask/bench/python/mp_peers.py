"""Python's multiprocessing peers for `cargo xtask bench`.

Run by the transport-bench program, one measurement per invocation:

    python3 mp_peers.py --kind queue|pipe|value|listener --pattern rtt|throughput|lock-increments \
        --payload BYTES --count N --warmup N --limit SECONDS

The parent (this process) pins itself to CPU 0 and starts one child with the
"spawn" start method (a fresh interpreter, as our backends spawn children),
which pins itself to CPU 1. The last line printed is

    result pinned=0|1 [other_cpu_pct=P] metric=value ...

with the metric names of results.json. Any failure exits non-zero.
"""

import argparse
import math
import multiprocessing as mp
import os
import sys
import time

CTX = mp.get_context("spawn")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Counter rounding forgiven per run: two 10 ms ticks.
TICK_SLACK_S = 0.02


def pin(cpu):
    """Pins this process to `cpu`; whether it worked."""
    try:
        os.sched_setaffinity(0, {cpu})
        return True
    except (AttributeError, OSError):
        return False


def machine_busy():
    """CPU seconds the machine spent busy since boot (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / TICKS


def process_cpu(pid):
    """CPU seconds process `pid` used (Linux), else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        rest = text[text.rindex(")") + 1 :].split()
        return (int(rest[11]) + int(rest[12])) / TICKS
    except (OSError, ValueError, IndexError):
        return None


class CpuWatch:
    """CPU time other processes took during a timed part."""

    def __init__(self, pids):
        self.pids = pids
        self.start = time.perf_counter()
        self.machine = machine_busy()
        self.ours = self._ours()

    def _ours(self):
        times = [process_cpu(pid) for pid in self.pids]
        return None if None in times else sum(times)

    def other_pct(self):
        wall = max(time.perf_counter() - self.start, 1e-3)
        machine, ours = machine_busy(), self._ours()
        if None in (machine, ours, self.machine, self.ours):
            return None
        other = max((machine - self.machine) - (ours - self.ours) - TICK_SLACK_S, 0.0)
        return other / wall * 100.0


def percentile(sorted_ns, q):
    """Nearest rank, as the Rust side computes it."""
    rank = math.ceil(q * len(sorted_ns) - 1e-9)
    return sorted_ns[max(1, min(len(sorted_ns), rank)) - 1]


def rtt_metrics(samples_ns):
    samples_ns.sort()
    return {
        "p50_us": percentile(samples_ns, 0.50) / 1e3,
        "p99_us": percentile(samples_ns, 0.99) / 1e3,
        "p999_us": percentile(samples_ns, 0.999) / 1e3,
    }


def payload(n):
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


# --- Queue: put/get of bytes ------------------------------------------------


def queue_child(there, back, pattern, warmup, count, limit, size):
    pin(1)
    back.put(b"ready")
    if pattern == "rtt":
        for _ in range(warmup + count):
            msg = there.get(timeout=limit)
            back.put(msg)
    else:
        for _ in range(warmup):
            if len(there.get(timeout=limit)) != size:
                raise SystemExit("wrong message size")
        back.put(b"w")
        for _ in range(count):
            if len(there.get(timeout=limit)) != size:
                raise SystemExit("wrong message size")
        back.put(b"d")


def run_queue(a):
    there, back = CTX.Queue(), CTX.Queue()
    child = CTX.Process(target=queue_child, args=(there, back, a.pattern, a.warmup, a.count, a.limit, a.payload))
    child.start()
    try:
        pinned = back.get(timeout=a.limit) == b"ready"
        return pinned, measure(a, child.pid, there.put, lambda: back.get(timeout=a.limit)), child
    except BaseException:
        child.terminate()
        raise


# --- Pipe: send_bytes/recv_bytes ---------------------------------------------


def pipe_child(end, pattern, warmup, count, limit, size):
    pin(1)
    end.send_bytes(b"ready")
    if pattern == "rtt":
        for _ in range(warmup + count):
            end.send_bytes(end.recv_bytes())
    else:
        for _ in range(warmup):
            if len(end.recv_bytes()) != size:
                raise SystemExit("wrong message size")
        end.send_bytes(b"w")
        for _ in range(count):
            if len(end.recv_bytes()) != size:
                raise SystemExit("wrong message size")
        end.send_bytes(b"d")


def run_pipe(a):
    mine, theirs = CTX.Pipe()
    child = CTX.Process(target=pipe_child, args=(theirs, a.pattern, a.warmup, a.count, a.limit, a.payload))
    child.start()
    theirs.close()

    def recv():
        if not mine.poll(a.limit):
            raise TimeoutError("no answer from the child in time")
        return mine.recv_bytes()

    try:
        pinned = recv() == b"ready"
        return pinned, measure(a, child.pid, mine.send_bytes, recv), child
    except BaseException:
        child.terminate()
        raise


def measure(a, child_pid, send, recv):
    msg = payload(a.payload)
    if a.pattern == "rtt":
        samples = []
        watch = None
        for i in range(a.warmup + a.count):
            if i == a.warmup:
                watch = CpuWatch([os.getpid(), child_pid])
            t0 = time.perf_counter_ns()
            send(msg)
            answer = recv()
            t1 = time.perf_counter_ns()
            if len(answer) != a.payload:
                raise SystemExit("wrong answer size")
            if i >= a.warmup:
                samples.append(t1 - t0)
        metrics = rtt_metrics(samples)
        return watch.other_pct(), metrics
    for _ in range(a.warmup):
        send(msg)
    recv()
    watch = CpuWatch([os.getpid(), child_pid])
    t0 = time.perf_counter()
    for _ in range(a.count):
        send(msg)
    recv()
    elapsed = max(time.perf_counter() - t0, 1e-9)
    metrics = {"msgs_per_s": a.count / elapsed, "mb_per_s": a.count * a.payload / elapsed / 1e6}
    return watch.other_pct(), metrics


# --- Listener / Client: send_bytes/recv_bytes over a socket file, authkey --


KEY = b"transport-bench"


def listener_child(address, key, pattern, warmup, count, limit, size):
    from multiprocessing.connection import Client

    pipe_child(Client(address, authkey=key), pattern, warmup, count, limit, size)


def run_listener(a):
    import tempfile
    from multiprocessing.connection import Listener

    tmp = tempfile.mkdtemp(prefix="transport-bench-")
    address = os.path.join(tmp, "listener.sock")
    listener = Listener(address, authkey=KEY)
    child = CTX.Process(target=listener_child, args=(address, KEY, a.pattern, a.warmup, a.count, a.limit, a.payload))
    child.start()
    try:
        mine = listener.accept()
    finally:
        listener.close()
        os.rmdir(tmp)

    def recv():
        if not mine.poll(a.limit):
            raise TimeoutError("no answer from the child in time")
        return mine.recv_bytes()

    try:
        pinned = recv() == b"ready"
        return pinned, measure(a, child.pid, mine.send_bytes, recv), child
    except BaseException:
        child.terminate()
        raise


# --- Value + Lock: locked increments from two processes ----------------------


def value_child(value, ready, go, done, count, limit):
    pin(1)
    ready.set()
    if not go.wait(limit):
        raise SystemExit("no start signal in time")
    for _ in range(count):
        with value.get_lock():
            value.value += 1
    done.set()


def run_value(a):
    value = CTX.Value("q", 0)
    ready, go, done = CTX.Event(), CTX.Event(), CTX.Event()
    child = CTX.Process(target=value_child, args=(value, ready, go, done, a.count, a.limit))
    child.start()
    try:
        if not ready.wait(a.limit):
            raise TimeoutError("the child was not ready in time")
        watch = CpuWatch([os.getpid(), child.pid])
        t0 = time.perf_counter()
        go.set()
        for _ in range(a.count):
            with value.get_lock():
                value.value += 1
        if not done.wait(a.limit):
            raise TimeoutError("the child did not finish in time")
        elapsed = max(time.perf_counter() - t0, 1e-9)
        other = watch.other_pct()
        if value.value != 2 * a.count:
            raise SystemExit(f"lost increments: {value.value} != {2 * a.count}")
        return True, (other, {"ops_per_s": 2 * a.count / elapsed}), child
    except BaseException:
        child.terminate()
        raise


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["queue", "pipe", "value", "listener", "listener-child"], required=True)
    p.add_argument("--pattern", choices=["rtt", "throughput", "lock-increments"], required=True)
    p.add_argument("--payload", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--limit", type=float, default=60.0)
    p.add_argument("--address", help="listener-child: the Rust Listener's socket file")
    p.add_argument("--authkey", default="", help="listener-child: the key, in hex")
    a = p.parse_args()
    if a.kind == "listener-child":
        # The Python side of the mixed row: a Rust Listener measures, this
        # Client echoes or counts as the Python peers' children do.
        return listener_child(a.address, bytes.fromhex(a.authkey), a.pattern, a.warmup, a.count, a.limit, a.payload)
    if (a.kind == "value") != (a.pattern == "lock-increments"):
        p.error(f"--kind {a.kind} does not measure --pattern {a.pattern}")
    parent_pinned = pin(0)
    runner = {"queue": run_queue, "pipe": run_pipe, "value": run_value, "listener": run_listener}[a.kind]
    child_pinned, (other, metrics), child = runner(a)
    child.join(a.limit)
    if child.is_alive():
        child.terminate()
        raise SystemExit("the child did not exit in time")
    if child.exitcode != 0:
        raise SystemExit(f"the child failed (exit code {child.exitcode})")
    words = [f"pinned={int(parent_pinned and child_pinned)}"]
    if other is not None:
        words.append(f"other_cpu_pct={other:.3f}")
    words += [f"{k}={v:.6g}" for k, v in metrics.items()]
    print("result " + " ".join(words), flush=True)


if __name__ == "__main__":
    main()
