"""Writes the seed corpora of the python_pickle and python_frame fuzz targets
with the real Python: every plain kind at every protocol this Python has (0 to
5 from 3.8), some class instances the reader must refuse, and framed streams.

    python3 fuzz/seeds/make_python_seeds.py
"""

import collections
import fractions
import multiprocessing.connection as mpc
import os
import pickle
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

shared = [1, 2]
VALUES = {
    "none": None, "bools": (True, False), "ints": [0, 255, 65535, -2**31, 2**63, -(2**200)],
    "floats": [0.0, -1.5, 1e300, float("inf"), float("nan")],
    "strs": ["", "ascii", "h\u00e9llo \u20ac \U0001f600", "x" * 300],
    "bytes": [b"", b"\x00\xff", bytes(range(256))], "bytearray": bytearray(b"ba"),
    "tuples": ((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)),
    "nested": {"a": [1, {"b": (2, {3})}], 4: frozenset({5})},
    "sets": [set(), {1, 2, 3}, frozenset(), frozenset({"a"})],
    "shared": (shared, shared, [shared]),
    "deep": [[[[[[[[[[1]]]]]]]]]],
}
OBJECTS = {
    "fraction": fractions.Fraction(1, 3), "ordereddict": collections.OrderedDict(a=1),
    "complex": 1 + 2j, "range": range(3),
}


def write(target, name, data):
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def main():
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        for name, value in VALUES.items():
            write("python_pickle", "p%d-%s" % (proto, name), pickle.dumps(value, proto))
        for name, value in OBJECTS.items():
            write("python_pickle", "p%d-object-%s" % (proto, name), pickle.dumps(value, proto))
    # python_frame: the first byte picks the framing (even: Python's), the
    # piece size and the limit; then a stream as Python writes it.
    stream = b""
    for msg in [b"", b"hello", pickle.dumps(VALUES["nested"]), b"z" * 5000]:
        stream += struct.pack("!i", len(msg)) + msg
    write("python_frame", "python-stream", bytes([0x0a]) + stream)
    write("python_frame", "python-long-form", bytes([0x04]) + struct.pack("!iQ", -1, 3) + b"abc")
    write("python_frame", "python-negative", bytes([0x02]) + struct.pack("!i", -7))
    native = b"TPF1" + bytes(4) + struct.pack("<Q", 5) + b"hello"
    write("python_frame", "native-stream", bytes([0x0b]) + native + native)
    assert mpc  # the framing above is multiprocessing.connection's


if __name__ == "__main__":
    main()
