"""The incomplete gamma and beta functions (``fungrad.scipy.special.gammainc``, ``gammaincc``,
``betainc``) and the distribution functions built on them: values against SciPy over wide
hypothesis ranges and against mpmath where SciPy itself is inexact (large ``a``), derivatives
against finite differences and JAX, edge values against JAX, and jit/vmap/grad compositions."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, strategies as st

from jax_oracle import load_jax, summed_finite

import fungrad
import fungrad.numpy as fnp
import fungrad.scipy.special as fsp
import fungrad.scipy.stats as fst
from fungrad.test_util import check_grads

scipy_special = pytest.importorskip("scipy.special")
scipy_stats = pytest.importorskip("scipy.stats")

# the relative error bounds stated in the docstrings
GAMMA_RTOL, BETA_RTOL = 1e-12, 2e-11


def _rel_err(ours: Any, ref: Any) -> np.ndarray:
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    keep = ref > 1e-300
    return np.abs(ours[keep] - ref[keep]) / ref[keep]  # type: ignore[no-any-return]


def _log_uniform(lo: float, hi: float) -> Any:
    return st.floats(lo, hi).map(lambda e: 10.0 ** e)


# a: 1e-3 .. 1e4; x: from a thousandth of a to ten times a, or within a few standard deviations
# of a (where both the series and the continued fraction are slowest and the prefactor cancels)
@given(a=_log_uniform(-3, 4), ratio=_log_uniform(-3, 1), z=st.floats(-6, 6), seed=st.integers(0, 9))
def test_gammainc_matches_scipy(a: float, ratio: float, z: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a_s = a * 10.0 ** rng.uniform(-0.5, 0.5, 6)
    x = np.r_[a_s[:3] * ratio, np.abs(a_s[3:] + z * np.sqrt(a_s[3:])), 1e-300, 1e-12]
    a_s = np.r_[a_s, a, a]
    # SciPy's own error near x = a reaches ~1e-11 for a above 1e3 (see the mpmath test)
    tol = GAMMA_RTOL if a < 1e3 else 3e-11
    assert _rel_err(fsp.gammainc(a_s, x), scipy_special.gammainc(a_s, x)).max(initial=0) < tol
    assert _rel_err(fsp.gammaincc(a_s, x), scipy_special.gammaincc(a_s, x)).max(initial=0) < tol


@given(a=_log_uniform(-3, 5), b=_log_uniform(-3, 5), x=st.floats(0, 1), z=st.floats(-6, 6))
def test_betainc_matches_scipy(a: float, b: float, x: float, z: float) -> None:
    p = a / (a + b)
    near_mean = np.clip(p + z * np.sqrt(p * (1 - p) / (a + b + 1)), 0, 1)
    xs = np.array([x, near_mean, 1e-10, 1 - 1e-10])
    err = _rel_err(fsp.betainc(a, b, xs), scipy_special.betainc(a, b, xs))
    assert err.max(initial=0) < BETA_RTOL


def test_gammainc_large_a_matches_mpmath() -> None:
    """Near ``x = a`` for large ``a`` SciPy is off by up to 7e-4 (at a = 4e6); mpmath's
    hypergeometric series is the reference there."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    for a, x in [(3993331.092474099, 3980016.406894917), (4974.595104477555, 2983.9482297335444),
                 (1e5, 1e5 + 300.0), (2e6, 2e6 - 1.0)]:
        ref = float(mp.exp(a * mp.log(x) - x - mp.loggamma(a + 1))
                    * mp.hyp1f1(1, a + 1, x, maxterms=10 ** 7))
        assert abs(float(fsp.gammainc(a, x)) - ref) <= GAMMA_RTOL * ref
        assert abs(float(fsp.gammaincc(a, x)) - (1 - ref)) <= GAMMA_RTOL * max(1 - ref, ref)


# (a, x): P and Q as JAX gives them, except where noted
GAMMA_EDGES = [
    (0.0, 0.0, np.nan, np.nan), (-1.0, 1.0, np.nan, np.nan), (1.0, -1.0, np.nan, np.nan),
    (np.nan, 1.0, np.nan, np.nan), (1.0, np.nan, np.nan, np.nan),
    (0.0, 2.0, 1.0, 0.0), (0.0, np.inf, 1.0, 0.0), (1.0, 0.0, 0.0, 1.0), (0.5, 0.0, 0.0, 1.0),
    (1.0, np.inf, 1.0, 0.0), (np.inf, np.inf, 1.0, 0.0), (3.0, 1e-300, 0.0, 1.0),
    (1e-300, 1.0, 1.0, 2.193839343955394e-301),
    (0.0, 0.5, 1.0, 0.0),      # JAX: P = NaN (its series divides by a); SciPy and the limit: 1
    (np.inf, 1.0, 0.0, 1.0),   # JAX: NaN; SciPy and the limit: P = 0
]


@pytest.mark.parametrize("a,x,p,q", GAMMA_EDGES)
def test_gammainc_edge_values(a: float, x: float, p: float, q: float) -> None:
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(fsp.gammainc(a, x), p, rtol=1e-13)
        np.testing.assert_allclose(fsp.gammaincc(a, x), q, rtol=1e-13)


BETA_EDGES = [  # (a, b, x, I): JAX's and SciPy's values
    (0.0, 1.0, 0.5, 1.0), (1.0, 0.0, 0.5, 0.0), (0.0, 0.0, 0.5, np.nan), (1.0, 1.0, 0.0, 0.0),
    (1.0, 1.0, 1.0, 1.0), (2.0, 3.0, 0.0, 0.0), (2.0, 3.0, 1.0, 1.0), (np.inf, 1.0, 0.5, 0.0),
    (1.0, np.inf, 0.5, 1.0), (-1.0, 1.0, 0.5, np.nan), (1.0, 1.0, 1.5, np.nan),
    (1.0, 1.0, -0.5, np.nan), (0.0, 1.0, 0.0, 0.0), (1.0, 0.0, 1.0, 1.0), (1.0, 1.0, np.nan, np.nan),
]


@pytest.mark.parametrize("a,b,x,value", BETA_EDGES)
def test_betainc_edge_values(a: float, b: float, x: float, value: float) -> None:
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(fsp.betainc(a, b, x), value)


A = np.array([0.02, 0.7, 1.0, 3.0, 40.0, 40.0, 250.0])
X = np.array([0.5, 0.3, 2.0, 3.5, 38.0, 47.0, 260.0])


def test_gammainc_derivatives_by_finite_differences() -> None:
    check_grads(fsp.gammainc, (A, X), order=1)
    check_grads(fsp.gammaincc, (A, X), order=1)
    # second order: in x (and mixed) through the density; d2/da2 is not implemented, as in JAX
    check_grads(lambda x: fsp.gammainc(A, x), (X,), order=2)
    check_grads(lambda a: fungrad.grad(lambda x: fsp.gammainc(a, x).sum())(X), (A,), order=1)
    with pytest.raises(NotImplementedError, match="second derivative"):
        fungrad.hessian(lambda a: fsp.gammainc(a, 2.0))(1.5)


def test_betainc_derivatives() -> None:
    a, b = np.array([0.5, 2.0, 30.0, 1.0]), np.array([0.7, 3.0, 20.0, 1.0])
    x = np.array([0.2, 0.5, 0.61, 0.9])
    check_grads(lambda x: fsp.betainc(a, b, x), (x,), order=2)
    with pytest.raises(ValueError, match="with respect to a and b"):
        fungrad.grad(lambda a: fsp.betainc(a, 2.0, 0.3))(1.0)
    with pytest.raises(ValueError, match="with respect to a and b"):
        fungrad.jvp(lambda b: fsp.betainc(1.0, b, 0.3), (2.0,), (1.0,))
    # b held fixed with stop_gradient: the derivative in x only
    g = fungrad.grad(lambda x, b: fsp.betainc(2.0, fungrad.lax.stop_gradient(b), x))(0.5, 3.0)
    np.testing.assert_allclose(g, scipy_stats.beta.pdf(0.5, 2.0, 3.0), rtol=1e-13)


def test_values_and_derivatives_match_jax() -> None:
    jax = load_jax()
    import jax.scipy.special as jsp
    for ours, theirs in [(fsp.gammainc, jsp.gammainc), (fsp.gammaincc, jsp.gammaincc)]:
        np.testing.assert_allclose(ours(A, X), theirs(A, X), rtol=1e-12)
        for argnum in (0, 1):
            mine = fungrad.vmap(fungrad.grad(ours, argnum))(A, X)
            their = jax.vmap(jax.grad(theirs, argnum))(A, X)
            np.testing.assert_allclose(mine, their, rtol=1e-9)
    np.testing.assert_allclose(fungrad.lax.igamma_grad_a(A, X), jax.lax.igamma_grad_a(A, X),
                               rtol=1e-9)
    a, b, x = A + 0.5, X[::-1] / 10 + 0.1, np.linspace(0.05, 0.95, 7)
    np.testing.assert_allclose(fsp.betainc(a, b, x), jsp.betainc(a, b, x), rtol=1e-12)
    np.testing.assert_allclose(fungrad.vmap(fungrad.grad(fsp.betainc, 2))(a, b, x),
                               jax.vmap(jax.grad(jsp.betainc, 2))(a, b, x), rtol=1e-10)


def test_derivatives_at_edges_follow_jax() -> None:
    """dP/da is NaN for a <= 0 and 0 at x = 0, as in JAX; dP/dx is the gamma density (JAX's
    formula gives NaN at a = 1, x = 0 where the density is 1: ours gives 1)."""
    with np.errstate(all="ignore"):
        da, dx = fungrad.vmap(fungrad.grad(fsp.gammainc, (0, 1)))(np.array([0.0, 2.0, 0.5, 1.0]),
                                                                  np.array([2.0, 0.0, 0.0, 0.0]))
    np.testing.assert_array_equal(da, [np.nan, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0, np.inf, 1.0])


def test_transforms_compose() -> None:
    f = lambda a, x: fsp.gammainc(a, x) * fsp.betainc(a, 2.0, x / (1 + x))  # noqa: E731
    g = fungrad.grad(lambda a, x: f(a, x).sum(), 1)
    expected = np.array([g(a, x) for a, x in zip(A, X)])
    np.testing.assert_allclose(fungrad.jit(fungrad.vmap(g))(A, X), expected, rtol=1e-13)
    np.testing.assert_allclose(fungrad.vmap(fungrad.jit(g), (None, 0))(A[2], X),
                               [g(A[2], x) for x in X], rtol=1e-13)
    np.testing.assert_allclose(fungrad.jit(f)(A[:, None], X[None, :]), f(A[:, None], X[None, :]),
                               rtol=1e-13)


def test_float32_stays_float32_and_complex_raises() -> None:
    out = fsp.gammainc(np.float32(2.0), np.array([1.0, 3.0], np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, scipy_special.gammainc(2.0, [1.0, 3.0]), rtol=1e-6)
    assert fsp.betainc(np.float32(2.0), np.float32(3.0), np.float32(0.5)).dtype == np.float32
    with pytest.raises(TypeError, match="complex"):
        fsp.gammainc(1.0, 1.0 + 1j)


# ---------------------------------------------------------------- the distribution functions

STATS = [  # name, ours, SciPy's, arguments
    ("poisson.cdf", fst.poisson.cdf, scipy_stats.poisson.cdf,
     (np.array([-1.0, 0.0, 1.0, 2.5, 7.0, 40.0]), 3.5)),
    ("poisson.cdf loc", fst.poisson.cdf, scipy_stats.poisson.cdf, (np.array([0.0, 3.0, 9.0]), 2.0, 2)),
    ("gamma.cdf", fst.gamma.cdf, scipy_stats.gamma.cdf, (np.array([-1.0, 0.1, 1.0, 4.0, 30.0]), 2.5)),
    ("gamma.cdf loc scale", fst.gamma.cdf, scipy_stats.gamma.cdf, (np.array([0.5, 3.0, 9.0]), 0.7, 0.2, 2.0)),
    ("gamma.sf", fst.gamma.sf, scipy_stats.gamma.sf, (np.array([-1.0, 0.1, 4.0, 300.0]), 2.5, 0.0, 1.5)),
    ("gamma.logcdf", fst.gamma.logcdf, scipy_stats.gamma.logcdf, (np.array([1e-8, 0.1, 4.0]), 2.5)),
    ("gamma.logsf", fst.gamma.logsf, scipy_stats.gamma.logsf, (np.array([0.1, 4.0, 600.0]), 2.5)),
    ("beta.cdf", fst.beta.cdf, scipy_stats.beta.cdf, (np.array([-0.5, 0.0, 0.2, 0.7, 1.0, 2.0]), 2.0, 3.5)),
    ("beta.cdf loc scale", fst.beta.cdf, scipy_stats.beta.cdf, (np.array([1.5, 2.0, 3.9]), 0.5, 0.8, 1.0, 3.0)),
    ("beta.sf", fst.beta.sf, scipy_stats.beta.sf, (np.array([0.01, 0.5, 0.999999]), 40.0, 3.5)),
    ("beta.logcdf", fst.beta.logcdf, scipy_stats.beta.logcdf, (np.array([1e-9, 0.5, 0.9]), 2.0, 3.5)),
    ("beta.logsf", fst.beta.logsf, scipy_stats.beta.logsf, (np.array([0.1, 0.5, 0.99999]), 2.0, 3.5)),
    ("t.cdf", fst.t.cdf, scipy_stats.t.cdf, (np.array([-40.0, -2.0, 0.0, 0.3, 5.0, 1e3]), 3.5)),
    ("t.cdf loc scale", fst.t.cdf, scipy_stats.t.cdf, (np.array([-1.0, 0.5, 4.0]), 30.0, 0.5, 2.0)),
    ("t.sf", fst.t.sf, scipy_stats.t.sf, (np.array([-3.0, 0.0, 2.0, 1e4]), 1.5)),
]


@pytest.mark.parametrize("name,ours,theirs,args", STATS, ids=[c[0] for c in STATS])
def test_distribution_functions_match_scipy(name: str, ours: Any, theirs: Any,
                                            args: tuple[Any, ...]) -> None:
    with np.errstate(all="ignore"):
        expected = theirs(*args)
    np.testing.assert_allclose(ours(*args), expected, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(fungrad.jit(ours)(*args), expected, rtol=1e-11, atol=1e-300)


@pytest.mark.parametrize("name,ours,theirs,args", [c for c in STATS if not c[0].startswith("t.")],
                         ids=[c[0] for c in STATS if not c[0].startswith("t.")])
def test_distribution_functions_match_jax(name: str, ours: Any, theirs: Any,
                                          args: tuple[Any, ...]) -> None:
    jax = load_jax()
    import jax.scipy.stats as jst
    module, fn = name.split()[0].split(".")
    jf = getattr(getattr(jst, module), fn)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(ours(*args), jf(*args), rtol=1e-11, atol=1e-300)
    # the gradient in x (and, for poisson and gamma, in the shape parameter), JAX's convention
    # at the clamp boundaries included
    argnums = (0,) if module == "beta" else (0, 1)
    for i in argnums:
        v = np.asarray(args[i], float)
        mine = fungrad.grad(summed_finite(fungrad, ours, args, i))(v)
        their = np.asarray(jax.grad(summed_finite(jax, jf, args, i))(v))
        np.testing.assert_allclose(mine, their, rtol=1e-8, atol=1e-12)


def test_t_cdf_derivative_is_the_density() -> None:
    x = np.array([-3.0, -0.2, 0.0, 0.4, 7.0])
    g = fungrad.vmap(fungrad.grad(lambda x: fst.t.cdf(x, 2.5, 0.3, 1.7)))(x)
    np.testing.assert_allclose(g, scipy_stats.t.pdf(x, 2.5, 0.3, 1.7), rtol=1e-11)
    check_grads(lambda x: fst.t.cdf(x, 4.0), (x[x != 0],), order=2)


def test_gamma_sf_keeps_relative_accuracy_in_the_tail() -> None:
    x = np.array([200.0, 500.0, 700.0])
    np.testing.assert_allclose(fst.gamma.sf(x, 3.0), scipy_stats.gamma.sf(x, 3.0), rtol=1e-12)
    assert np.all(fnp.isfinite(fst.gamma.logsf(x, 3.0)))
