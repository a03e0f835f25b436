#!/usr/bin/env python
"""Least squares on the NIST StRD problems: fungrad's ``least_squares`` against SciPy's ``lm``.

    python bench/least_squares.py              # evaluations table, then wall time per solve
    python bench/least_squares.py --evals      # only the evaluation counts (no timing)
    python bench/least_squares.py --loop       # the jitted-outer-loop experiment (pivoted QR)
    python bench/least_squares.py --profile    # cProfile: engine phases against the iteration
    python bench/least_squares.py --repeat 7   # timing repeats per run (default 5)

Evaluations: residual evaluations (``nfev``) summed over the 16 problems x 2 starts in
``tests/data/nist``, and how many runs are certified (every parameter with log relative error >= 4),
for fungrad with its defaults and SciPy's ``least_squares(method="lm")`` (MINPACK) with an exact
Jacobian, at its defaults and with ``ftol = xtol = gtol = 1e-15``.

Wall time per solve: each repeat makes a new residual function per problem and solves from start 1
(the first solve of that function: fungrad traces and compiles the residual and its Jacobian, and
the 'compile' column measures that part alone) then from start 2 (``least_squares`` keeps the
compiled program for the function, so nothing is compiled). SciPy gets a JAX residual and
``jax.jacfwd`` Jacobian, both ``jax.jit``-compiled and warmed up before timing (compilation
excluded), with ``jax_enable_x64``; SciPy at ``1e-15``. The two are interleaved run by run and
repeated; the table gives the median over the repeats of the wall time (and the CPU time of the
process, which on a loaded machine is the steadier figure) for each run, then the median over the
runs and the ratio fungrad / SciPy. Needs scipy (and jax for the timing); neither is a dependency of fungrad.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

import numpy as np  # noqa: E402

import fungrad  # noqa: E402
import fungrad.numpy as fnp  # noqa: E402
import nist  # noqa: E402
from fungrad import lax  # noqa: E402
from fungrad.optim import least_squares  # noqa: E402
from fungrad.optim.minpack import qr_pivoted  # noqa: E402

RUNS = [(name, start) for name in nist.NAMES for start in (1, 2)]
TIGHT = 1e-15


def certified(params, p):
    return nist.lre(np.asarray(params), p.certified).min() >= 4.0


def scipy_lm(p, start, fun, jac, **tol):
    from scipy.optimize import least_squares as scipy_least_squares
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scipy_least_squares(fun, p.starts[start - 1], jac=jac, args=(p.x, p.y), method="lm",
                                   **tol)


def evaluations():
    print("residual evaluations over the NIST runs (16 problems x 2 starts)")
    print(f"  {'run':<12}{'fungrad':>9}{'scipy 1e-8':>12}{'scipy 1e-15':>13}")
    columns = {"fungrad": [0, 0], "scipy 1e-8": [0, 0], "scipy 1e-15": [0, 0]}
    for name, start in RUNS:
        p = nist.load(name)
        fun, jac = fungrad.jit(p.residual), fungrad.jit(fungrad.jacfwd(p.residual))
        results = {
            "fungrad": least_squares(p.residual, p.starts[start - 1], p.x, p.y),
            "scipy 1e-8": scipy_lm(p, start, fun, jac),
            "scipy 1e-15": scipy_lm(p, start, fun, jac, ftol=TIGHT, xtol=TIGHT, gtol=TIGHT),
        }
        cells = []
        for key, res in results.items():
            ok = certified(res.x, p)
            columns[key][0] += ok
            columns[key][1] += res.nfev
            cells.append(f"{res.nfev}{'' if ok else '*'}")
        print(f"  {name + ' ' + str(start):<12}{cells[0]:>9}{cells[1]:>12}{cells[2]:>13}")
    print("  " + "-" * 44)
    print(f"  {'total':<12}" + "".join(f"{v[1]:>{w}}" for v, w in zip(columns.values(), (9, 12, 13))))
    print(f"  {'certified':<12}" + "".join(f"{f'{v[0]}/{len(RUNS)}':>{w}}"
                                          for v, w in zip(columns.values(), (9, 12, 13))))
    print("  (* = not certified: some parameter with fewer than 4 correct digits)")


def wall_times(repeat):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("\nwall time: jax is not installed; skipped")
        return
    jax.config.update("jax_enable_x64", True)
    problems = {name: nist.load(name) for name in nist.NAMES}
    compiled = {}
    for name, p in problems.items():
        def residual(b, x, y, p=p):
            return p.residual(b, x, y, xp=jnp)
        fun, jac = jax.jit(residual), jax.jit(jax.jacfwd(residual))
        np.asarray(fun(p.starts[0], p.x, p.y))
        np.asarray(jac(p.starts[0], p.x, p.y))

        def numpy_fun(b, x, y, fun=fun):
            return np.asarray(fun(b, x, y))

        def numpy_jac(b, x, y, jac=jac):
            return np.asarray(jac(b, x, y))
        compiled[name] = (numpy_fun, numpy_jac)

    def ours(fn, name, start):
        p = problems[name]
        return least_squares(fn, p.starts[start - 1], p.x, p.y)

    def theirs(fn, name, start):
        p = problems[name]
        return scipy_lm(p, start, *compiled[name], ftol=TIGHT, xtol=TIGHT, gtol=TIGHT)

    def compile_only(fn, name, start):
        """What a first solve spends compiling: the residual and its Jacobian as one program (what
        least_squares compiles), traced and compiled afresh and called once."""
        p = problems[name]
        b = np.asarray(p.starts[start - 1], dtype=float)

        def both(b, x, y):
            r = p.residual(b, x, y)
            return r, r
        fungrad.jit(fungrad.jacfwd(both, has_aux=True))(b, p.x, p.y)

    impls = {"ours": ours, "theirs": theirs, "compile": compile_only}
    wall = {run: {key: [] for key in impls} for run in RUNS}
    cpu = {run: {key: [] for key in impls} for run in RUNS}
    for _ in range(repeat):
        for name in nist.NAMES:
            # A new function object per problem and repeat: its first solve (start 1) compiles,
            # the second (start 2) runs what the first compiled, as a user refitting would.
            p = problems[name]

            def fn(b, x, y, p=p):
                return p.residual(b, x, y)
            for start in (1, 2):
                run = (name, start)
                for key, impl in impls.items():
                    if key == "compile" and start == 2:
                        continue
                    w, c = time.perf_counter(), time.process_time()
                    impl(fn, name, start)
                    wall[run][key].append(time.perf_counter() - w)
                    cpu[run][key].append(time.process_time() - c)
    print(f"\nwall (and CPU) time per solve, median of {repeat} interleaved repeats: fungrad incl. "
          f"compilation on the first solve of each function (start 1; 'compile' is that part), "
          f"SciPy lm at 1e-15 with a precompiled jax.jit Jacobian")
    print(f"  {'run':<12}{'fungrad':>16}{'compile':>14}{'scipy+jax':>16}{'ratio':>7}")
    per_run = {key: ([], []) for key in impls}
    for run in RUNS:
        cells = {}
        for key in impls:
            if wall[run][key]:
                w, c = statistics.median(wall[run][key]), statistics.median(cpu[run][key])
                per_run[key][0].append(w)
                per_run[key][1].append(c)
                cells[key] = f"{w * 1e3:.1f} ({c * 1e3:.1f})"
        a, b = statistics.median(wall[run]["ours"]), statistics.median(wall[run]["theirs"])
        print(f"  {run[0] + ' ' + str(run[1]):<12}{cells['ours']:>16}{cells.get('compile', ''):>14}"
              f"{cells['theirs']:>16}{a / b:>7.2f}")
    for label, reduce in (("median", statistics.median), ("total", sum)):
        (aw, ac), (bw, bc) = ([reduce(v) for v in per_run[k]] for k in ("ours", "theirs"))
        cw, cc = (reduce(v) for v in per_run["compile"])
        print(f"  {label:<12}{f'{aw * 1e3:.1f} ({ac * 1e3:.1f})':>16}"
              f"{f'{cw * 1e3:.1f} ({cc * 1e3:.1f})' if label == 'median' else '':>14}"
              f"{f'{bw * 1e3:.1f} ({bc * 1e3:.1f})':>16}{aw / bw:>7.2f}   CPU ratio {ac / bc:.2f}")
    print("  (milliseconds, wall (CPU); 'compile' median over the start-1 runs)")


def profile():
    """Where a first solve's time goes: every NIST run solved with a new function object (so each
    compiles) under cProfile; the cumulative time of the engine's phases and of the iteration."""
    import cProfile
    import pstats
    problems = {name: nist.load(name) for name in nist.NAMES}

    def solve_all():
        for name, p in problems.items():
            for start in (1, 2):
                least_squares(lambda b, x, y, p=p: p.residual(b, x, y), p.starts[start - 1], p.x,
                              p.y)
    solve_all()
    profiler = cProfile.Profile()
    profiler.enable()
    solve_all()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    phases = {
        "least_squares (all)": "least_squares",
        "  trace (trace_to_jaxpr)": "trace_to_jaxpr",
        "  passes (optimize)": "optimize",
        "  codegen (compile_jaxpr)": "compile_jaxpr",
        "  qr_pivoted": "qr_pivoted",
        "  lmpar": "lmpar",
        "  compiled program calls": "jitted",
    }
    print(f"cProfile of {len(RUNS)} NIST solves, each compiling (cumulative seconds; cProfile "
          f"inflates Python-heavy parts)")
    for label, func in phases.items():
        total = sum(v[3] for k, v in stats.items() if k[2] == func)
        calls = sum(v[1] for k, v in stats.items() if k[2] == func)
        print(f"  {label:<28}{total:>8.3f} s  {calls:>6} calls")


# --------------------------------------------------------------------------- the --loop experiment

def qr_pivoted_traced(a, f):
    """MINPACK's pivoted Householder QR as one fungrad program (``fori_loop`` over columns, masks
    instead of slices since the column index is traced). Returns R (upper part of the result), the
    permutation and Qᵀ f."""
    m, n = a.shape
    rows = np.arange(m)[:, None]
    cols = np.arange(n)

    def body(j, carry):
        a, perm, f = carry
        live = (rows >= j) & (cols >= j)
        norms = fnp.sqrt(fnp.sum(fnp.where(live, a * a, 0.0), axis=0))
        k = fnp.argmax(fnp.where(cols >= j, norms, -1.0))
        swap = fnp.where(cols == j, k, fnp.where(cols == k, j, cols))
        a = fnp.take(a, swap, axis=1)
        perm = fnp.take(perm, swap)
        column = fnp.where(rows[:, 0] >= j, a[:, j], 0.0)
        alpha = fnp.sqrt(fnp.sum(column * column))
        alpha = fnp.where(a[j, j] < 0, -alpha, alpha)
        safe = fnp.where(alpha == 0.0, 1.0, alpha)
        u = column / safe + fnp.where(rows[:, 0] == j, 1.0, 0.0)
        u0 = fnp.where(alpha == 0.0, 1.0, u[j])
        later = cols > j
        a = a - fnp.outer(u, fnp.where(later, u @ a, 0.0) / u0)
        f = f - u * (u @ f) / u0
        a = fnp.where((rows == j) & (cols == j), -alpha, a)
        return a, perm, f

    return lax.fori_loop(0, n, body, (a, fnp.arange(n), f))


def loop_experiment():
    print("pivoted QR of the NIST Jacobians: qr_pivoted (what least_squares runs: LAPACK, then "
          "MINPACK's pivoting on the triangle) against MINPACK's loop as a jitted fungrad program")
    print(f"  {'problem':<10}{'shape':>10}{'compile':>10}{'jitted':>10}{'ours':>10}")
    for name in ("Misra1a", "MGH09", "Thurber", "Gauss1", "ENSO"):
        p = nist.load(name)
        jac = np.asarray(fungrad.jacfwd(p.residual)(p.starts[1], p.x, p.y))
        f = np.asarray(p.residual(p.starts[1], p.x, p.y))
        traced = fungrad.jit(qr_pivoted_traced)
        t0 = time.perf_counter()
        r, perm, qtf = traced(jac, f)
        compile_time = time.perf_counter() - t0
        ref = qr_pivoted(jac, f)
        assert np.array_equal(np.asarray(perm), ref.perm)
        traced_r = np.triu(np.asarray(r)[:jac.shape[1]])
        signs = np.sign(np.diagonal(traced_r)) * np.sign(np.diagonal(ref.r))  # rows' signs
        np.testing.assert_allclose(traced_r, signs[:, None] * ref.r, atol=1e-9)
        number = 200
        t_jit = _per_call(lambda: traced(jac, f), number)
        t_np = _per_call(lambda: qr_pivoted(jac, f), number)
        print(f"  {name:<10}{str(jac.shape):>10}{compile_time * 1e3:>8.1f}ms{t_jit * 1e6:>8.0f}us"
              f"{t_np * 1e6:>8.0f}us")


def _per_call(call, number):
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(number):
            call()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evals", action="store_true", help="only the evaluation counts")
    parser.add_argument("--loop", action="store_true", help="only the jitted-loop experiment")
    parser.add_argument("--profile", action="store_true", help="only the cProfile breakdown")
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats per run")
    args = parser.parse_args(argv)
    if args.loop:
        loop_experiment()
        return 0
    if args.profile:
        profile()
        return 0
    evaluations()
    if not args.evals:
        wall_times(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
