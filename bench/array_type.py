"""What ``fungrad.Array`` (an ndarray subclass for results) costs, against plain ndarrays.

In one process, each pair timed interleaved (``timing.measure_interleaved``: alternate samples),
medians per call and their ratio:

- NumPy operations on small (length-8) arrays: a result used in further NumPy code pays
  NumPy's per-operation cost for subclasses;
- a jitted ``a + b + c + d`` on length-3 arrays called with plain arrays and with Arrays (say,
  the results of an earlier call: the fast path views them as plain ndarrays);
- eager ``value_and_grad`` of the small MLP and of the 200-op chain with plain and Array inputs;
- a ``fungrad.numpy`` call at top level with and without the wrapper that makes its result an
  Array (``fnp.sin`` against ``fnp.sin.__wrapped__``).

With ``--against DIR`` (a copy of the tree before Arrays, e.g. ``git archive <commit> | tar -x
-C DIR``) it also runs ``bench/run.py --only jit_call_overhead,mlp_small,chain200`` alternately
in DIR and in this tree, ``--rounds`` times, and prints each fungrad row's median over the rounds
and the ratio this tree / DIR: the cost the Array type adds to fungrad's own paths.

    python bench/array_type.py [--quick] [--cpu-time] [--against DIR] [--rounds 3]
"""
import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import fungrad  # noqa: E402
import fungrad.nn as fnn  # noqa: E402
import fungrad.numpy as fnp  # noqa: E402
from bench import models, timing  # noqa: E402
from fungrad.array_type import Array  # noqa: E402


def _pairs():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(8), rng.standard_normal(8)
    A, B = a.view(Array), b.view(Array)
    ops = {
        "a + b": lambda x, y: (lambda: x + y),
        "np.sin(a)": lambda x, y: (lambda: np.sin(x)),
        "a * 2.0": lambda x, y: (lambda: x * 2.0),
        "a.sum()": lambda x, y: (lambda: x.sum()),
        "a @ b": lambda x, y: (lambda: x @ y),
        "a[2:5]": lambda x, y: (lambda: x[2:5]),
        "np.concatenate": lambda x, y: (lambda: np.concatenate([x, y])),
    }
    for name, make in ops.items():
        yield f"NumPy {name}, length 8", make(a, b), make(A, B)

    add4 = fungrad.jit(models.add4)
    plain4 = models.add4_inputs()
    arrays4 = [x.view(Array) for x in plain4]
    yield "jit(a + b + c + d) call, length 3", lambda: add4(*plain4), lambda: add4(*arrays4)

    params, x, y = models.mlp_inputs(**models.MLP_SMALL)
    as_arrays = lambda t: fungrad.tree_util.tree_map(lambda v: v.view(Array), t)  # noqa: E731
    aparams = as_arrays(params)
    vg = fungrad.value_and_grad(functools.partial(models.mlp_loss, fnp, fnn))
    yield ("eager value_and_grad, MLP 64-32-10 batch 32", lambda: vg(params, x, y),
           lambda: vg(aparams, x, y))
    jvg = fungrad.jit(vg)
    yield ("jit(value_and_grad), MLP 64-32-10 batch 32", lambda: jvg(params, x, y),
           lambda: jvg(aparams, x, y))

    ops = models.chain_ops(200)
    cx = models.chain_inputs()
    cvg = fungrad.value_and_grad(lambda v: models.chain_loss(fnp, ops, v))
    acx = cx.view(Array)
    yield "eager value_and_grad, chain200", lambda: cvg(cx), lambda: cvg(acx)

    raw_sin = fnp.sin.__wrapped__
    yield ("fnp.sin(a) at top level: unwrapped vs returning an Array", lambda: raw_sin(a),
           lambda: fnp.sin(a))


def in_process(settings):
    print(f"{'case':62} {'plain':>9} {'Array':>9} {'ratio':>7} {'added':>9}")
    for label, plain, arrays in _pairs():
        tp, ta = timing.measure_interleaved([plain, arrays], settings)
        print(f"{label:62} {timing.fmt_time(tp.median):>9} {timing.fmt_time(ta.median):>9} "
              f"{ta.median / tp.median:7.3f} {(ta.median - tp.median) * 1e9:7.0f} ns")


CASES = "jit_call_overhead,mlp_small,chain200"


def _run(tree, quick):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [sys.executable, os.path.join(tree, "bench", "run.py"), "--only", CASES, "--json", path]
    cmd += (["--quick"] if quick else []) + (["--cpu-time"] if timing.clock is time.process_time
                                             else [])
    subprocess.run(cmd, cwd=tree, check=True, capture_output=True, text=True)
    with open(path) as f:
        data = json.load(f)
    os.unlink(path)
    return {f"{g['name']}: {r['impl']}": r["value"] for g in data["groups"] for r in g["rows"]
            if r.get("value") is not None}


def against(base, rounds, quick):
    """Alternate bench/run.py in ``base`` and in this tree; medians over rounds and ratios."""
    runs = {"base": [], "this": []}
    for i in range(rounds):
        for name, tree in (("base", base), ("this", ROOT))[:: 1 if i % 2 == 0 else -1]:
            runs[name].append(_run(tree, quick))
    print(f"\nbench/run.py --only {CASES}, {rounds} alternating rounds (medians over rounds)")
    print(f"{'row':70} {'before':>9} {'Array':>9} {'ratio':>7}")
    for key in runs["this"][0]:
        if key not in runs["base"][0]:
            continue
        b = statistics.median(r[key] for r in runs["base"] if key in r)
        t = statistics.median(r[key] for r in runs["this"] if key in r)
        print(f"{key:70} {timing.fmt_time(b):>9} {timing.fmt_time(t):>9} {t / b:7.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--against", metavar="DIR", help="a copy of the tree without Array")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cpu-time", action="store_true",
                   help="time by process CPU time (a loaded machine; see README.md)")
    args = p.parse_args()
    if args.cpu_time:
        timing.clock = time.process_time
    print(f"numpy {np.__version__}; medians per call, interleaved; ratio = Array / plain")
    in_process(timing.QUICK if args.quick else timing.FULL)
    if args.against:
        against(os.path.abspath(args.against), args.rounds, args.quick)


if __name__ == "__main__":
    main()
