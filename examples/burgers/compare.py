"""Burgers training, jacobi against PyTorch, measured in one run.

    /usr/bin/python3 examples/burgers/compare.py            # from the repository root

1. Builds the example and exports its training points and initial weights.
2. Per-step timings: short runs (--adam and --lbfgs steps), jacobi and
   PyTorch alternating, --rounds times; the best of each.
3. Time to a relative L2 error of --target: one full run of each from the
   same start, jacobi on 2 threads and PyTorch on each of --target-threads
   (stopped after --torch-limit seconds).
Prints a Markdown table. float64 throughout.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

p = argparse.ArgumentParser()
p.add_argument("--adam", type=int, default=20)
p.add_argument("--lbfgs", type=int, default=20)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--target", type=float, default=1e-3)
p.add_argument("--torch-limit", type=float, default=3600)
p.add_argument("--skip-target", action="store_true")
p.add_argument("--form", default="jet")
p.add_argument("--threads", default="2,1", help="thread counts to time, comma-separated")
p.add_argument("--target-threads", default="2,1", help="PyTorch's thread counts for the runs to --target (jacobi's: 2)")
args = p.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="burgers-compare-")
binary = os.path.join(work, "burgers")
subprocess.run(["go", "build", "-o", binary, "./examples/burgers"], check=True)
data = os.path.join(work, "data")
subprocess.run([binary, "--export", data], check=True)
env = dict(os.environ, GOMAXPROCS="2")


def jacobi(extra, out):
    subprocess.run([binary, "--init", os.path.join(data, "init.safetensors"), "--quiet", "--png", "", "--loss-csv", "",
                    "--form", args.form, "--json", out] + extra, check=True, env=env, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def torch(extra, out, limit=None):
    cmd = ["/usr/bin/python3", os.path.join(here, "burgers_torch.py"), data, "--json", out] + (extra if "--threads" in extra else extra + ["--threads", "2"])
    try:
        r = subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=limit, text=True)
    except subprocess.TimeoutExpired as e:
        last = (e.stderr or b"")
        last = last.decode() if isinstance(last, bytes) else last
        lines = [l for l in last.splitlines() if l.startswith("{")]
        return dict(timeout=limit, last=json.loads(lines[-1]) if lines else None)
    with open(out) as f:
        return json.load(f)


KEYS = ("adam_seconds_per_step", "lbfgs_seconds_per_iteration", "lbfgs_seconds_per_evaluation", "cpu_seconds_per_evaluation")
best = {}
for r in range(args.rounds):
    for threads in [int(t) for t in args.threads.split(",")]:
        for name, fn in (("jacobi", jacobi), ("pytorch", torch)):
            env["GOMAXPROCS"] = str(threads)
            res = fn(["--adam", str(args.adam), "--lbfgs", str(args.lbfgs)] + (["--threads", str(threads)] if name == "pytorch" else []),
                     os.path.join(work, f"{name}-{r}-{threads}.json"))
            print(name, threads, "threads, round", r, json.dumps(res), file=sys.stderr, flush=True)
            for k in KEYS:
                best[(name, threads, k)] = min(best.get((name, threads, k), float("inf")), res[k])
env["GOMAXPROCS"] = "2"

target = {}
if not args.skip_target:
    runs = [("jacobi", jacobi, 2)] + [("pytorch", torch, int(t)) for t in args.target_threads.split(",")]
    for name, fn, threads in runs:
        extra = ["--lbfgs", "50000", "--target", str(args.target)]
        out = os.path.join(work, f"{name}-{threads}-target.json")
        t0 = time.time()
        res = fn(extra, out) if name == "jacobi" else fn(extra + ["--threads", str(threads)], out, args.torch_limit)
        res["wall"] = time.time() - t0
        target[(name, threads)] = res
        print(name, threads, "threads, target", json.dumps(res), file=sys.stderr, flush=True)


print(f"| Burgers (10 100 points, 2→8×20 tanh→1, float64) | jacobi ({args.form} form) | PyTorch | PyTorch / jacobi |")
print("|---|---|---|---|")
for threads in [int(t) for t in args.threads.split(",")]:
    for k, label in (("adam_seconds_per_step", "s per Adam step"), ("lbfgs_seconds_per_iteration", "s per L-BFGS iteration"),
                     ("lbfgs_seconds_per_evaluation", "s per loss and gradient (L-BFGS)"),
                     ("cpu_seconds_per_evaluation", "CPU s per loss and gradient (L-BFGS)")):
        j, t = best[("jacobi", threads, k)], best[("pytorch", threads, k)]
        print(f"| {label}, {threads} thread{'s' if threads > 1 else ''} (best of {args.rounds}) | {j:.4f} | {t:.4f} | {t / j:.1f}× |")
if target:
    j = target[("jacobi", 2)]
    jr = j.get("reached_target_seconds")
    jdesc = f"{jr:.1f} ({j['lbfgs_iterations']} iterations)" if jr is not None else f"not reached ({j['lbfgs_iterations']} iterations)"
    for (name, threads), t in target.items():
        if name != "pytorch":
            continue
        if "timeout" in t:
            last = t["last"] or {}
            tr = None
            tdesc = f"not reached in {t['timeout']:.0f} s (error {last.get('rel_l2', float('nan')):.2e} after {last.get('lbfgs_iterations', '?')} iterations)"
        else:
            tr = t.get("reached_target_seconds")
            tdesc = f"{tr:.1f} ({t.get('lbfgs_iterations')} iterations)" if tr is not None else f"not reached ({t['lbfgs_iterations']} iterations)"
        ratio = f"{tr / jr:.1f}×" if (jr and tr) else (f"> {t['timeout'] / jr:.1f}×" if jr and "timeout" in t else "—")
        print(f"| training s to relative L2 error {args.target:g}, jacobi 2 threads, PyTorch {threads} thread{'s' if threads > 1 else ''} | {jdesc} | {tdesc} | {ratio} |")
    for (name, threads), t in target.items():
        if name == "pytorch":
            print(f"| final relative L2 error, PyTorch {threads} thread{'s' if threads > 1 else ''} | {j['final_rel_l2']:.2e} | {t.get('final_rel_l2', float('nan')):.2e} | |")
