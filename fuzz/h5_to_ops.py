#!/usr/bin/python3
"""Encodes an HDF5 results file as a fuzz_results input (the operation format in
fuzz/fuzz_results.cpp), so that the fuzzer starts from real checkpoints.

usage: h5_to_ops.py IN.h5 OUT.bin

Every name is written literally (not as a dictionary index), so a seed stays valid when the
dictionary changes. Datasets over 2^16 elements or 65535 bytes of data are cut (the format's
limits); the seed run (fuzz/tiny_run.yaml) stays under both.
"""
import struct
import sys

import h5py
import numpy as np

TYPES = {np.dtype("float32"): (0, "<f4"), np.dtype("float64"): (1, "<f8"),
         np.dtype("int64"): (2, "<i8"), np.dtype("int32"): (3, "<i4")}


def name(s):
    b = s.encode()
    assert len(b) < 256, s
    return bytes([0xFF, len(b)]) + b


def space(shape):
    assert len(shape) <= 3 and all(d < 0xF0 for d in shape), shape
    return bytes([len(shape)] + list(shape))


def data(b):
    b = b[:65535]
    return struct.pack("<H", len(b)) + b


def strings(values):
    return data(b"\0".join(v.encode() if isinstance(v, str) else bytes(v) for v in values))


def attrs(out, path, obj):
    for key, value in obj.attrs.items():
        if isinstance(value, (str, bytes)):
            out += bytes([2]) + name(path) + name(key) + space(()) + strings([value])
        elif isinstance(value, (int, np.integer)):
            out += bytes([3]) + name(path) + name(key) + space(()) + data(struct.pack("<q", int(value)))
        elif isinstance(value, (float, np.floating)):
            out += bytes([4]) + name(path) + name(key) + space(()) + data(struct.pack("<d", float(value)))
        else:
            raise SystemExit(f"{path}@{key}: attribute type {type(value)} not encoded")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    out = bytearray()
    with h5py.File(src, "r") as f:
        attrs(out, "/", f)

        def visit(path, obj):
            if isinstance(obj, h5py.Group):
                out.extend(bytes([0]) + name(path))
            else:
                if obj.dtype.kind in "SO":
                    out.extend(bytes([1]) + name(path) + bytes([4]) + space(obj.shape)
                               + strings(list(obj[()].ravel())))
                else:
                    code, le = TYPES[obj.dtype]
                    out.extend(bytes([1]) + name(path) + bytes([code]) + space(obj.shape)
                               + data(np.ascontiguousarray(obj[()], dtype=le).tobytes()))
            attrs(out, path, obj)

        f.visititems(visit)
    with open(dst, "wb") as g:
        g.write(out)


if __name__ == "__main__":
    main()
