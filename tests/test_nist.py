"""NIST StRD nonlinear regression: every problem in ``tests/data/nist`` certified from both starts
with ``least_squares``'s default settings, ``curve_fit``'s standard errors against the certified
standard deviations, and SciPy's ``lm`` run live on the same problems for comparison."""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
import nist
from fungrad.optim import curve_fit, least_squares

RUNS = [(name, start) for name in nist.NAMES for start in (1, 2)]


@functools.lru_cache(maxsize=None)
def problem(name):
    return nist.load(name)


@functools.lru_cache(maxsize=None)
def ours(name, start):
    p = problem(name)
    return least_squares(p.residual, p.starts[start - 1], p.x, p.y)


@pytest.mark.parametrize("name, start", RUNS)
def test_certified_with_default_settings(name, start):
    p = problem(name)
    res = ours(name, start)
    assert res.success
    assert nist.lre(np.asarray(res.params), p.certified).min() >= 4.0
    assert nist.lre(np.array([2.0 * res.cost]), np.array([p.rss]))[0] >= 4.0


@pytest.mark.parametrize("name", nist.NAMES)
def test_curve_fit_standard_errors_match_certified_std_devs(name):
    """Three significant digits (log relative error >= 3); two for the Lanczos family, whose
    certified values sit near float64's rounding floor."""
    p = problem(name)

    def model(x, *b):
        return p.model(fnp.stack(b), x)
    popt, pcov = curve_fit(model, p.x, p.y, p0=p.starts[1])
    assert nist.lre(popt, p.certified).min() >= 4.0
    digits = 2.0 if name.startswith("Lanczos") else 3.0
    assert nist.lre(np.sqrt(np.diag(pcov)), p.std_dev).min() >= digits


def test_fewer_evaluations_and_more_certified_than_scipy_lm_at_tight_tolerances():
    """SciPy's lm (MINPACK) with an exact Jacobian, tolerances tightened to 1e-15 and its default
    budget: it certifies at most as many runs and spends at least as many evaluations."""
    scipy_opt = pytest.importorskip("scipy.optimize")
    counts = {"ours": [0, 0], "scipy": [0, 0]}
    for name, start in RUNS:
        p = problem(name)
        res = ours(name, start)
        counts["ours"][0] += nist.lre(np.asarray(res.params), p.certified).min() >= 4
        counts["ours"][1] += res.nfev
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = scipy_opt.least_squares(
                fungrad.jit(p.residual), p.starts[start - 1], jac=fungrad.jit(fungrad.jacfwd(p.residual)),
                args=(p.x, p.y), method="lm", ftol=1e-15, xtol=1e-15, gtol=1e-15)
        counts["scipy"][0] += nist.lre(ref.x, p.certified).min() >= 4
        counts["scipy"][1] += ref.nfev
        if ref.success:      # where SciPy converges, to the same point
            np.testing.assert_allclose(np.asarray(res.params), ref.x, rtol=1e-5)
    assert counts["ours"][0] == len(RUNS) >= counts["scipy"][0]
    assert counts["ours"][1] <= counts["scipy"][1]
