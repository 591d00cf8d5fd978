#!/usr/bin/env python3
"""Compare jacobi's Dgemm with OpenBLAS (through numpy) on the same machine.

Usage (from internal/kernels):
    go test -c -o /tmp/kt . && python3 testdata/compare_openblas.py [rounds] [trials]

Needs Debian's python3-numpy and libopenblas0-pthread. Every round runs the
Go report (TestReport: best of `trials` runs per shape, 1 and 2 workers) and
numpy with OPENBLAS_NUM_THREADS=1 and 2, interleaved; the table holds the
best of all rounds (the machine may be shared: best-of is the least noisy
statistic). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from numpy's
environment so that OpenBLAS picks its kernels for this CPU.
"""
import collections, os, re, subprocess, sys, time

SHAPES = [(1024, 1024, 1024), (256, 256, 256), (64, 64, 64), (8192, 64, 64),
          (4096, 64, 2), (8192, 256, 256), (2560, 784, 256)]

NUMPY = r'''
import os, sys, time
import numpy as np
trials = int(sys.argv[1])
for m, n, k in %r:
    a = np.random.rand(m, k); b = np.random.rand(k, n); c = np.empty((m, n))
    flops = 2 * m * n * k
    reps = max(3, int(2e8 / flops))
    np.matmul(a, b, out=c)
    best = 0
    for _ in range(trials):
        t = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        best = max(best, flops * reps / (time.perf_counter() - t) / 1e9)
    print(f"numpy threads={os.environ['OPENBLAS_NUM_THREADS']} {m}x{n}x{k} {best:.1f} GFLOP/s", flush=True)
''' % (SHAPES,)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    trials = sys.argv[2] if len(sys.argv) > 2 else "5"
    kt = os.environ.get("KT", "/tmp/kt")
    pat = re.compile(r"(jacobi|numpy) threads=(\d) (\S+) ([\d.]+) GFLOP/s")
    best = collections.defaultdict(float)
    for r in range(rounds):
        out = subprocess.run([kt, "-test.run", "TestReport", "-test.v"],
                             env=dict(os.environ, JACOBI_REPORT=trials),
                             capture_output=True, text=True).stdout
        for t in ("1", "2"):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=t)
            env.pop("OPENBLAS_CORETYPE", None)
            env.pop("OPENBLAS_L2_SIZE", None)
            out += subprocess.run(["/usr/bin/python3", "-c", NUMPY, trials], env=env,
                                  capture_output=True, text=True).stdout
        for m in pat.finditer(out):
            key = m.group(1, 2, 3)
            best[key] = max(best[key], float(m.group(4)))
        print(f"round {r}: load {open('/proc/loadavg').read().split()[:3]}", file=sys.stderr)
    print("| shape (MxNxK) | jacobi 1T | OpenBLAS 1T | ratio | jacobi 2T | OpenBLAS 2T | ratio |")
    print("|---|---|---|---|---|---|---|")
    for m, n, k in SHAPES:
        s = f"{m}x{n}x{k}"
        j1, o1 = best["jacobi", "1", s], best["numpy", "1", s]
        j2, o2 = best["jacobi", "2", s], best["numpy", "2", s]
        print(f"| {s} | {j1:.1f} | {o1:.1f} | {j1 / o1:.2f} | {j2:.1f} | {o2:.1f} | {j2 / o2:.2f} |")


if __name__ == "__main__":
    main()
