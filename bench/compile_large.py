"""Compile time and peak memory (growth of the process's peak RSS; tracemalloc would slow
Python's allocations several-fold and distort the time) of jit and jit(grad) on long chains of elementwise ops.

Each measurement runs in a fresh subprocess (nothing cached, nothing left over), which traces,
optimizes and compiles ``f(x) = op_N(...op_2(op_1(x)))`` for N elementwise ops and calls it once.
The cases are interleaved (one run of each in turn, ``--rounds`` times) so a loaded machine's
drift hits them alike; medians are reported.

    python bench/compile_large.py --sizes 20000 60000 --rounds 3 [--profile jit:60000]
    python bench/compile_large.py --baseline /path/to/other/checkout   # before/after, interleaved
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import sys, time, resource, cProfile, pstats
import numpy as np
import fungrad, fungrad.numpy as fnp
mode, n, profile = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"

def chain(x):
    for i in range(n):
        x = fnp.sin(x) if i % 3 == 0 else (x * 1.0001 if i % 3 == 1 else x + 0.5)
    return x.sum()

f = fungrad.jit(chain if mode == "jit" else fungrad.grad(chain))
x = np.linspace(0.0, 1.0, 8)
if profile:
    cProfile.run("f(x)", "/tmp/compile_large.prof")
    pstats.Stats("/tmp/compile_large.prof").sort_stats("cumulative").print_stats(35)
    sys.exit()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
f(x)
seconds = time.perf_counter() - t
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024  # kB on Linux
print(seconds, peak)
"""


def run(mode, n, root=ROOT, profile=False):
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(n), "1" if profile else "0"],
                         cwd=root, env=env, capture_output=True, text=True, check=True).stdout
    return out if profile else tuple(map(float, out.split()[-2:]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 60000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="mode:size, e.g. jit:60000 (prints cProfile, no timing)")
    parser.add_argument("--baseline", help="another fungrad checkout, timed interleaved with this")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.profile:
        mode, n = args.profile.split(":")
        print(run(mode, int(n), profile=True))
        return
    roots = [ROOT] + ([os.path.abspath(args.baseline)] if args.baseline else [])
    cases = [(mode, n, root) for n in args.sizes for mode in ("jit", "jit(grad)") for root in roots]
    results = {c: [] for c in cases}
    for r in range(args.rounds):
        for c in (cases if r % 2 == 0 else cases[::-1]):
            results[c].append(run(*c))
    print("machine shared with other jobs: figures are medians of interleaved fresh processes")
    rows = []
    for (mode, n, root), samples in results.items():
        sec = statistics.median(s for s, _ in samples)
        mb = statistics.median(m for _, m in samples) / 1e6
        which = "baseline" if root != ROOT else "this"
        rows.append({"mode": mode, "n": n, "code": which, "seconds": sec, "peak_mb": mb})
        print(f"{mode:10s} N={n:6d} {which:8s}  {sec:6.2f} s  peak {mb:7.1f} MB (peak RSS growth)  "
              f"[{len(samples)} runs]")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
