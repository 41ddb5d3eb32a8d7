"""The Python side of transport-pipe's interop tests (tests/python_interop.rs).

    python3 peer.py listen|connect ADDRESS AUTHKEY_HEX SCENARIO
    python3 peer.py pipe-parent RUST_EXE ARG...

ADDRESS is a path, `@name` (Linux abstract namespace) or `host:port`; an empty
AUTHKEY_HEX means no key. Lines on stdout tell the Rust test what happened:
`ready ADDRESS` once listening, `result ...` at the end, `error TYPE: TEXT` for
an exception (Python's own text, which the test compares with ours).
"""

import multiprocessing.connection as mpc
import os
import pickle
import struct
import subprocess
import sys
import time
from fractions import Fraction

# The same values, in the same order, as SAMPLES in python_interop.rs.
SAMPLES = [
    None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31,
    2**63 - 1, -2**63, 2**64, -(2**100), 12345678901234567890123456789,
    0.0, -1.5, 1e300, float("inf"),
    "", "hello", "h\u00e9llo \u20ac", "x" * 300,
    b"", b"\x00\xff", bytes(range(256)) * 2,
    (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4),
    [], [1, [2, [3]]],
    {}, {"a": 1, "b": [1, 2]}, {1: "one", (1, 2): None},
    set(), {1, 2, 3}, frozenset(), frozenset({"a"}),
    bytearray(b"ba"),
]


def say(*words):
    print(*words, flush=True)


def address(text):
    if text.startswith("@"):
        return "\0" + text[1:]
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and not text.startswith("/"):
        return (host, int(port))
    return text


def same(got, want):
    if isinstance(want, bytearray):
        return got == want and isinstance(got, (bytes, bytearray))
    if type(got) is not type(want) or got != want:
        return False
    if isinstance(want, (list, tuple)):
        return all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, dict):
        return all(same(got[k], v) for k, v in want.items())
    return True


def echo(conn):
    """Sends back every message as it came, until the peer closes."""
    n = 0
    while True:
        try:
            msg = conn.recv_bytes()
        except EOFError:
            break
        conn.send_bytes(msg)
        n += 1
    say("result echoed", n)


def values(conn):
    """Every sample at every protocol this Python has, then every sample
    back from Rust (protocol 4), then a class instance."""
    conn.send_bytes(b"protocols %d" % pickle.HIGHEST_PROTOCOL)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        for v in SAMPLES:
            conn.send_bytes(pickle.dumps(v, proto))
    bad = []
    for i, want in enumerate(SAMPLES):
        got = conn.recv()
        if not same(got, want):
            bad.append("%d: %r != %r" % (i, got, want))
    conn.send_bytes(("; ".join(bad) or "all equal").encode())
    conn.send(Fraction(1, 3))
    say("result values", len(bad))
    conn.recv_bytes()  # wait for the peer to finish


def maxlength(conn):
    """Python's side of maxlength: ours refused first, then Python's."""
    conn.send_bytes(b"z" * 1000)
    zero = conn.recv_bytes(100)
    say("zero", len(zero))
    try:
        conn.recv_bytes(100)
        say("result no error")
    except OSError as e:
        say("error %s: %s" % (type(e).__name__, e))


def partial(conn):
    """Half a message, then wait to be killed."""
    conn._send(struct.pack("!i", 1000000) + b"x" * 10)
    say("partial-sent")
    time.sleep(600)


def count(conn):
    """Reads numbered messages until the peer closes: message n starts with
    n (8 bytes, big-endian), and its other bytes are all n % 251."""
    n = bad = 0
    while True:
        try:
            msg = conn.recv_bytes()
        except EOFError:
            break
        fill = bytes([n % 251]) * (len(msg) - 8)
        if len(msg) < 8 or struct.unpack("!Q", msg[:8])[0] != n or msg[8:] != fill:
            bad += 1
        n += 1
    say("result counted", n, "bad", bad)


SCENARIOS = {"echo": echo, "values": values, "maxlength": maxlength, "partial": partial, "count": count}


def main():
    role = sys.argv[1]
    if role == "pipe-parent":
        return pipe_parent(sys.argv[2:])
    addr, key, scenario = address(sys.argv[2]), bytes.fromhex(sys.argv[3]) or None, sys.argv[4]
    try:
        listener = None
        if role == "listen":
            listener = mpc.Listener(addr, authkey=key)
            say("ready", sys.argv[2])
            conn = listener.accept()
        else:
            conn = mpc.Client(addr, authkey=key)
        with conn:
            SCENARIOS[scenario](conn)
    except Exception as e:
        say("error %s: %s" % (type(e).__name__, e))
    finally:
        if listener is not None:
            try:
                listener.close()
            except ValueError:
                # Before 3.9 Python tries to unlink an abstract name.
                pass


def pipe_parent(child_cmd):
    """Python's Pipe(): one end stays here, the other goes to the Rust child
    as an inherited descriptor."""
    mine, theirs = mpc.Pipe()
    env = dict(os.environ, TRANSPORT_PIPE_PY_FD=str(theirs.fileno()))
    child = subprocess.Popen(child_cmd, pass_fds=[theirs.fileno()], env=env)
    theirs.close()
    mine.send({"job": 7, "args": [1, 2, 3]})
    if not mine.poll(60):
        child.kill()
        raise SystemExit("no answer from the Rust child")
    say("answer", repr(mine.recv()))
    mine.send_bytes(b"raw")
    say("raw", repr(mine.recv_bytes()))
    mine.close()
    say("result child", child.wait(60))


if __name__ == "__main__":
    main()
