"""The Moré-Garbow-Hillstrom problems as MINPACK's lmder test driver runs them (53 runs), with the
driver's settings, against MINPACK's published summaries (``tests/data/mgh_lmder_reference.txt``)
and against SciPy's ``lm`` run live."""
from __future__ import annotations

import functools
import os
import warnings

import numpy as np
import pytest

import fungrad
import mgh_problems
from fungrad.optim import least_squares, minpack

TABLE = np.loadtxt(os.path.join(os.path.dirname(__file__), "data", "mgh_lmder_reference.txt"))
TOL = float(np.sqrt(np.finfo(np.float64).eps))
RUNS = [tuple(int(v) for v in row[:4]) for row in TABLE]


def run_id(run):
    nprob, n, m, factor = run
    return f"p{nprob}-n{n}-m{m}-x{factor}"


def solve(run):
    nprob, n, m, factor = run
    f = mgh_problems.PROBLEMS[nprob](m, n)
    return least_squares(f, mgh_problems.start(nprob, n, factor), ftol=TOL, xtol=TOL, gtol=0.0,
                         max_nfev=100 * (n + 1))


@functools.lru_cache(maxsize=None)
def ours(run):
    return solve(run)


def reference(run):
    row = TABLE[RUNS.index(run)]
    return min(row[7], row[11])


def no_worse(fnorm, ref, rel=1e-4):
    return fnorm <= ref * (1 + rel) or (fnorm < 1e-10 and ref < 1e-10)


@pytest.mark.parametrize("run", RUNS, ids=run_id)
def test_final_norm_no_worse_than_minpack(run):
    """The issue's criterion, every run: relative 1e-4, or both norms below 1e-10. Meyer's function
    from 10x included: MINPACK exhausts its 400 evaluations there at 794.6; with lmpar's 2%
    tolerance (``minpack.LMPAR_RTOL``) ours reaches the minimum, 9.378."""
    res = ours(run)
    assert no_worse(np.sqrt(2.0 * res.cost), reference(run))
    assert res.nfev <= 100 * (run[1] + 1)


def test_total_evaluations_no_more_than_minpack():
    total = sum(ours(run).nfev for run in RUNS)
    assert total <= min(TABLE[:, 4].sum(), TABLE[:, 8].sum())       # 2,524 (A) and 2,978 (B)


def test_with_minpacks_lmpar_tolerance_most_runs_take_exactly_minpacks_path(monkeypatch):
    """The same algorithm step for step: with MINPACK's 10% in lmpar, most runs use exactly
    MINPACK's evaluation counts (the rest differ by rounding: LAPACK's QR is not MINPACK's)."""
    monkeypatch.setattr(minpack, "LMPAR_RTOL", 0.1)
    same = 0
    for i, run in enumerate(RUNS):
        res = solve(run)
        same += res.nfev == TABLE[i, 4] and res.njev == TABLE[i, 5]
    assert same >= 40


def test_against_scipy_lm_live():
    scipy_opt = pytest.importorskip("scipy.optimize")
    worse = []
    for run in RUNS:
        nprob, n, m, factor = run
        f = mgh_problems.PROBLEMS[nprob](m, n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # SciPy refuses gtol below machine epsilon; at eps its test never fires on these runs
            # unless the residual is exactly zero, as with MINPACK's gtol = 0.
            ref = scipy_opt.least_squares(fungrad.jit(f), mgh_problems.start(nprob, n, factor),
                                          jac=fungrad.jit(fungrad.jacfwd(f)), method="lm", ftol=TOL,
                                          xtol=TOL, gtol=np.finfo(float).eps,
                                          max_nfev=100 * (n + 1))
        fnorm = np.sqrt(2.0 * ours(run).cost)
        if not (ref.status == 0 or no_worse(fnorm, np.linalg.norm(ref.fun))):
            worse.append(run)
    assert not worse
