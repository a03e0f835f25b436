"""Compile cost of jit: large programs (time and peak memory) and small ones (latency).

Large: jit and jit(grad) of ``f(x) = op_N(...op_2(op_1(x)))`` for N elementwise ops (sin, *1.0001,
+0.5 in turn) then a sum. Each measurement runs in a fresh subprocess (nothing cached, nothing
left over), which traces, optimizes and compiles the program and calls it once; it reports the
wall time, the CPU time of the process (``time.process_time``: on a machine shared with other
jobs, wall time also counts the waits for a core) and the growth of the peak RSS (tracemalloc
would slow Python's allocations several-fold and distort the time).

Small (``--small``): the latency of compiling small programs, in one process, each compile a new
function so nothing traced is reused: the residuals and ``jacfwd`` Jacobian of NIST problems as
``least_squares`` compiles them (Misra1a: 2 parameters; ENSO: 9 parameters with sin/cos; Gauss1:
8 parameters) and ``value_and_grad`` of the ``mlp_small`` MLP. Median CPU time per compile and
first call, after one warm-up of each.

With ``--baseline /path/to/other/checkout`` every case also runs on that checkout; the cases
are interleaved (one run of each in turn, the order reversed every round) so a loaded machine's
drift hits them alike; medians over ``--rounds`` are reported, with the ratio this/baseline.

    python bench/compile_large.py --sizes 20000 60000 --rounds 3 [--baseline DIR] [--profile jit:60000]
    python bench/compile_large.py --small [--rounds 5] [--baseline DIR]
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
t, c = time.perf_counter(), time.process_time()
f(x)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024  # kB on Linux
print(seconds, cpu, peak)
"""

SMALL = r"""
import functools, os, statistics, sys, time
sys.path[:0] = [os.getcwd(), os.path.join(os.getcwd(), "tests")]
import numpy as np
import fungrad
import nist
from bench import models, peers

rounds = int(sys.argv[1])
fe = peers.fungrad_frontend()
params, x, y = models.mlp_inputs(**models.MLP_SMALL)

def nist_compile(p):
    b = np.asarray(p.starts[0], dtype=float)
    def both(b, x, y):
        r = p.residual(b, x, y)
        return r, r
    fungrad.jit(fungrad.jacfwd(both, has_aux=True))(b, p.x, p.y)

def mlp_compile():
    loss = functools.partial(models.mlp_loss, fe.xp, fe.nn)
    fungrad.jit(fungrad.value_and_grad(loss))(params, x, y)

cases = {f"NIST {n} jacfwd": functools.partial(nist_compile, nist.load(n))
         for n in ("Misra1a", "ENSO", "Gauss1")}
cases["mlp_small value_and_grad"] = mlp_compile
for f in cases.values():
    f()
times = {k: [] for k in cases}
for _ in range(rounds):
    for k, f in cases.items():
        c = time.process_time()
        f()
        times[k].append(time.process_time() - c)
for k, v in times.items():
    print(f"{k}\t{statistics.median(v)}")
"""


def run(mode, n, root=ROOT, profile=False):
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(n), "1" if profile else "0"],
                         cwd=root, env=env, capture_output=True, text=True, check=True).stdout
    return out if profile else tuple(map(float, out.split()[-3:]))


def run_small(root, rounds):
    out = subprocess.run([sys.executable, "-c", SMALL, str(rounds)], cwd=root,
                         env=dict(os.environ, PYTHONPATH=root), capture_output=True, text=True,
                         check=True).stdout
    return {k: float(v) for k, v in (line.split("\t") for line in out.splitlines())}


def interleaved(cases, rounds, measure):
    results = {c: [] for c in cases}
    for r in range(rounds):
        for c in (cases if r % 2 == 0 else cases[::-1]):
            results[c].append(measure(*c))
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 60000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="mode:size, e.g. jit:60000 (prints cProfile, no timing)")
    parser.add_argument("--baseline", help="another fungrad checkout, timed interleaved with this")
    parser.add_argument("--small", action="store_true", help="small-program compile latency")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.profile:
        mode, n = args.profile.split(":")
        print(run(mode, int(n), profile=True))
        return
    roots = [ROOT] + ([os.path.abspath(args.baseline)] if args.baseline else [])
    label = {ROOT: "this"} | ({roots[1]: "baseline"} if args.baseline else {})
    print("figures are medians of interleaved runs; check the load (uptime) and compare ratios")
    rows = []
    if args.small:
        # one process per checkout and round, each timing every case 15 times
        results = interleaved([(r,) for r in roots], args.rounds, lambda r: run_small(r, 15))
        for (root,), samples in results.items():
            for case in samples[0]:
                ms = statistics.median(s[case] for s in samples) * 1e3
                rows.append({"case": case, "code": label[root], "cpu_ms": ms})
        for row in rows:
            base = next((b for b in rows if b["case"] == row["case"] and b["code"] == "baseline"),
                        None)
            ratio = f"  ratio {row['cpu_ms'] / base['cpu_ms']:.2f}" if base and row is not base else ""
            print(f"{row['case']:28s} {row['code']:8s} {row['cpu_ms']:6.2f} ms CPU{ratio}")
    else:
        cases = [(mode, n, root) for n in args.sizes for mode in ("jit", "jit(grad)")
                 for root in roots]
        results = interleaved(cases, args.rounds, run)
        for (mode, n, root), samples in results.items():
            sec, cpu, mb = (statistics.median(s[i] for s in samples) for i in range(3))
            rows.append({"mode": mode, "n": n, "code": label[root], "seconds": sec,
                         "cpu_seconds": cpu, "peak_mb": mb / 1e6})
        for row in rows:
            print(f"{row['mode']:10s} N={row['n']:6d} {row['code']:8s}  {row['seconds']:6.2f} s "
                  f"wall  {row['cpu_seconds']:6.2f} s CPU  peak {row['peak_mb']:7.1f} MB "
                  f"(peak RSS growth)  [{args.rounds} runs]")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
