"""Python's process pools as peers of our Pool for `cargo xtask bench`.

    python3 pool_peers.py --kind pool|executor --tasks N --payload BYTES \
        --workers W --chunksizes 1,100,... [--maps M]

`pool` is multiprocessing.Pool.map, `executor` is
concurrent.futures.ProcessPoolExecutor.map, both with the "spawn" start
method (fresh interpreters, as our workers are). Starting the workers is
not timed. A payload of at most 8 bytes is the trivial task (the square
of an int); a larger one is a task whose argument is that many bytes
(it returns their length). Each chunk size is tried M times (default 1)
after an untimed warm-up (for trivial tasks, one more map of the same
tasks and chunk size, as our pool's program does) and counts with the
median of its tries; the last line printed is

    result tasks_per_s=<best median> chunksize=<its chunk size>

Any failure exits non-zero.
"""

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import time

CTX = mp.get_context("spawn")


def square(n):
    return n * n


def length(b):
    return len(b)


def unpin():
    """Lets this process (and so its workers) run on every CPU: the bench
    starts it from a pinned process."""
    try:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    except (AttributeError, OSError):
        pass


def timed_map(mapper, fn, args, chunksize, check):
    began = time.perf_counter()
    results = list(mapper(fn, args, chunksize=chunksize))
    secs = time.perf_counter() - began
    if len(results) != len(args):
        raise SystemExit(f"{len(results)} results for {len(args)} tasks")
    check(results)
    return len(args) / secs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=["pool", "executor"], required=True)
    p.add_argument("--tasks", type=int, required=True)
    p.add_argument("--payload", type=int, required=True)
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--chunksizes", required=True)
    p.add_argument("--maps", type=int, default=1)
    a = p.parse_args()
    unpin()
    chunksizes = [int(c) for c in a.chunksizes.split(",")]
    if a.payload <= 8:
        fn, args = square, list(range(a.tasks))
        warm = list(range(a.tasks // 10 + 1))
        expected = [n * n for n in args]

        def check(results):
            if results != expected:
                raise SystemExit("a task gave a wrong result")
    else:
        payload = bytes((i * 31 + 7) % 256 for i in range(a.payload))
        # Distinct objects: pickle would send one object referenced many
        # times in a chunk only once.
        fn = length
        args = [bytearray(payload) for _ in range(a.tasks)]
        warm = [bytearray(payload) for _ in range(a.workers)]

        def check(results):
            if any(r != a.payload for r in results):
                raise SystemExit("a task gave a wrong length")

    if a.kind == "pool":
        pool = CTX.Pool(a.workers)
        mapper = pool.map
    else:
        pool = cf.ProcessPoolExecutor(max_workers=a.workers, mp_context=CTX)
        mapper = pool.map
    best = (0.0, 0)
    try:
        list(mapper(fn, warm, chunksize=max(1, len(warm) // (4 * a.workers))))
        for c in chunksizes:
            if a.payload <= 8:
                timed_map(mapper, fn, args, c, check)
            rates = []
            for _ in range(max(1, a.maps)):
                rates.append(timed_map(mapper, fn, args, c, check))
                print(f"chunksize={c} tasks_per_s={rates[-1]:.0f}", flush=True)
            rate = sorted(rates)[len(rates) // 2]
            if rate > best[0]:
                best = (rate, c)
    finally:
        if a.kind == "pool":
            pool.terminate()
            pool.join()
        else:
            pool.shutdown()
    print(f"result tasks_per_s={best[0]:.0f} chunksize={best[1]}", flush=True)


if __name__ == "__main__":
    main()
