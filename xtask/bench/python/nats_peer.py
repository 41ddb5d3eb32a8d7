"""The nats-py peer for `cargo xtask bench`: the Python NATS client on both
ends, on the server the benchmark started.

    python3 nats_peer.py --url URL --pattern rtt|throughput --payload BYTES \
        --count N --warmup N --limit SECONDS

The parent (this process, pinned to CPU 0) starts one child (this script
again, `--child`, pinned to CPU 1). Round trip: the child publishes each
message back. Throughput: the parent publishes, flushing every 1,024
messages as the raw async-nats row does; the child says when it has them
all. The last line printed is

    result pinned=0|1 metric=value ...

with the metric names of results.json. Any failure exits non-zero.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time

import nats


def pin(cpu):
    try:
        os.sched_setaffinity(0, {cpu})
        return True
    except (AttributeError, OSError):
        return False


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[rank]


async def child(args):
    nc = await nats.connect(args.url, pending_size=1 << 30)
    there, back = f"pybench.{args.id}.there", f"pybench.{args.id}.back"
    got = asyncio.Queue()

    async def on_msg(msg):
        await got.put(msg.data)

    await nc.subscribe(there, cb=on_msg, pending_msgs_limit=1 << 22, pending_bytes_limit=1 << 31)
    await nc.flush()
    print("ready", flush=True)
    if args.pattern == "rtt":
        for _ in range(args.warmup + args.count):
            data = await got.get()
            await nc.publish(back, data)
    else:
        for _ in range(args.warmup):
            await got.get()
        await nc.publish(back, b"w")
        await nc.flush()
        for _ in range(args.count):
            await got.get()
        await nc.publish(back, b"d")
    await nc.flush()
    await nc.close()


async def parent(args):
    pinned = pin(0)
    ident = f"{os.getpid()}"
    there, back = f"pybench.{ident}.there", f"pybench.{ident}.back"
    nc = await nats.connect(args.url)
    got = asyncio.Queue()

    async def on_msg(msg):
        await got.put(msg.data)

    await nc.subscribe(back, cb=on_msg)
    await nc.flush()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", "--id", ident] + sys.argv[1:],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    if line.strip() != "ready":
        raise SystemExit(f"the child did not get ready: {line!r}")
    msg = bytes(i % 251 for i in range(args.payload))
    if args.pattern == "rtt":
        samples = []
        for i in range(args.warmup + args.count):
            t0 = time.perf_counter_ns()
            await nc.publish(there, msg)
            await got.get()
            if i >= args.warmup:
                samples.append((time.perf_counter_ns() - t0) / 1000.0)
        samples.sort()
        figures = (
            f"p50_us={percentile(samples, 0.5):.3f} p99_us={percentile(samples, 0.99):.3f} "
            f"p999_us={percentile(samples, 0.999):.3f}"
        )
    else:
        for i in range(args.warmup):
            await nc.publish(there, msg)
            if i % 1024 == 1023:
                await nc.flush()
        await nc.flush()
        await got.get()
        t0 = time.perf_counter()
        for i in range(args.count):
            await nc.publish(there, msg)
            if i % 1024 == 1023:
                await nc.flush()
        await nc.flush()
        await got.get()
        elapsed = time.perf_counter() - t0
        rate = args.count / elapsed
        figures = f"msgs_per_s={rate:.1f} mb_per_s={rate * args.payload / 1e6:.3f}"
    await nc.close()
    if proc.wait(timeout=args.limit) != 0:
        raise SystemExit("the child failed")
    print(f"result pinned={1 if pinned else 0} {figures}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--pattern", choices=["rtt", "throughput"], required=True)
    p.add_argument("--payload", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--warmup", type=int, required=True)
    p.add_argument("--limit", type=int, default=180)
    p.add_argument("--child", action="store_true")
    p.add_argument("--id", default="")
    args = p.parse_args()
    if args.child:
        pin(1)
        asyncio.run(asyncio.wait_for(child(args), args.limit))
    else:
        asyncio.run(asyncio.wait_for(parent(args), args.limit))


if __name__ == "__main__":
    main()
