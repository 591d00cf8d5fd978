#!/usr/bin/env python3
"""Compare jacobi's GEMM with OpenBLAS through numpy, process by process.

Usage (from internal/kernels):
    go build -o /tmp/gemmbench ./cmd/gemmbench
    /usr/bin/python3 testdata/compare_openblas.py [rounds] [trials] [float64|float32]

A cross-check of `go run -tags openblas ./cmd/gemmbench`, which calls
OpenBLAS in the same process (the better comparison: interleaved trial by
trial, no numpy overhead). Needs Debian's python3-numpy and
libopenblas0-pthread. Every round runs gemmbench (jacobi alone: best of
`trials` runs per shape, 1 and 2 workers) and numpy with
OPENBLAS_NUM_THREADS=1 and 2; the table holds the best of all rounds (the
machine may be shared: best-of is the least noisy statistic).
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are passed through as set, and
printed with the core OpenBLAS picked.
"""
import collections, os, re, subprocess, sys

SHAPES = [(1024, 1024, 1024), (256, 256, 256), (64, 64, 64), (8192, 64, 64),
          (4096, 64, 2), (8192, 256, 256), (2560, 784, 256)]

NUMPY = r'''
import os, sys, time
import numpy as np
trials, dtype = int(sys.argv[1]), sys.argv[2]
for m, n, k in %r:
    a = np.random.rand(m, k).astype(dtype); b = np.random.rand(k, n).astype(dtype); c = np.empty((m, n), dtype)
    flops = 2 * m * n * k
    reps = max(3, int(2e8 / flops))
    np.matmul(a, b, out=c)
    best = 0
    for _ in range(trials):
        t = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        best = max(best, flops * reps / (time.perf_counter() - t) / 1e9)
    print(f"{m}x{n}x{k} threads={os.environ['OPENBLAS_NUM_THREADS']}: numpy {best:.1f}", flush=True)
''' % (SHAPES,)

CORE = r'''
import ctypes, numpy
for name in ("libopenblas.so.0", "libopenblasp-r0.3.21.so"):
    try:
        lib = ctypes.CDLL(name)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        print(lib.openblas_get_corename().decode()); break
    except OSError:
        pass
'''


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    trials = sys.argv[2] if len(sys.argv) > 2 else "5"
    dtype = sys.argv[3] if len(sys.argv) > 3 else "float64"
    gb = os.environ.get("GEMMBENCH", "/tmp/gemmbench")
    shapes = ",".join(f"{m}x{n}x{k}" for m, n, k in SHAPES)
    pat = re.compile(r"(\S+) threads=(\d): (jacobi|numpy) ([\d.]+)")
    best = collections.defaultdict(float)
    for r in range(rounds):
        out = subprocess.run([gb, "-trials", trials, "-shapes", shapes, "-dtype", dtype],
                             capture_output=True, text=True).stderr
        for t in ("1", "2"):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=t)
            out += subprocess.run(["/usr/bin/python3", "-c", NUMPY, trials, dtype], env=env,
                                  capture_output=True, text=True).stdout
        for m in pat.finditer(out):
            key = m.group(3, 2, 1)
            best[key] = max(best[key], float(m.group(4)))
        print(f"round {r}: load {open('/proc/loadavg').read().split()[:3]}", file=sys.stderr)
    core = subprocess.run(["/usr/bin/python3", "-c", CORE], capture_output=True, text=True).stdout.strip()
    env = " ".join(f"{v}={os.environ[v]}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ)
    print(f"{dtype}; OpenBLAS core {core} ({env or 'OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset'})\n")
    print("| shape (MxNxK) | jacobi 1T | OpenBLAS 1T | ratio | jacobi 2T | OpenBLAS 2T | ratio |")
    print("|---|---|---|---|---|---|---|")
    for m, n, k in SHAPES:
        s = f"{m}x{n}x{k}"
        j1, o1 = best["jacobi", "1", s], best["numpy", "1", s]
        j2, o2 = best["jacobi", "2", s], best["numpy", "2", s]
        print(f"| {s} | {j1:.1f} | {o1:.1f} | {j1 / o1:.2f} | {j2:.1f} | {o2:.1f} | {j2 / o2:.2f} |")


if __name__ == "__main__":
    main()
