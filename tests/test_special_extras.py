"""The smaller ``fungrad.scipy.special`` functions (Bessel ``i0e``/``i1e``/``i0``/``i1``,
``gammasgn``, ``loggamma``, ``poch``, ``multigammaln``, ``beta``, ``factorial``, ``kl_div``,
``rel_entr``, ``softmax``/``log_softmax``/``logsumexp`` with SciPy's defaults): values against
SciPy, derivatives against JAX and finite differences."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

from jax_oracle import load_jax, summed_finite

import fungrad
import fungrad.scipy.special as fsp
from fungrad.test_util import check_grads

scipy_special = pytest.importorskip("scipy.special")

REAL = np.array([-40.0, -3.7, -0.4, 0.0, 1e-8, 0.8, 2.0, 19.9, 20.1, 300.0])
POS = np.array([0.3, 1.0, 2.5, 7.0, 30.0])
NONNEG = np.array([0.0, 0.5, 2.0])

# name, ours, SciPy's (same arguments), arguments
CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], tuple[Any, ...]]] = [
    ("i0e", fsp.i0e, scipy_special.i0e, (REAL,)),
    ("i1e", fsp.i1e, scipy_special.i1e, (REAL,)),
    ("i0", fsp.i0, scipy_special.i0, (REAL[1:-1],)),
    ("i1", fsp.i1, scipy_special.i1, (REAL[1:-1],)),
    ("gammasgn", fsp.gammasgn, scipy_special.gammasgn, (np.array([-2.5, -1.5, -1.0, 0.5, 3.0]),)),
    ("loggamma", fsp.loggamma, scipy_special.loggamma, (POS,)),
    ("poch", fsp.poch, scipy_special.poch, (np.array([2.0, -1.5, 0.3, 7.0]), np.array([3.0, 3.0, 0.5, -2.5]))),
    ("multigammaln", lambda a: fsp.multigammaln(a, 3), lambda a: scipy_special.multigammaln(a, 3),
     (np.array([1.5, 3.0, 12.0]),)),
    ("beta", fsp.beta, scipy_special.beta, (np.array([2.0, 0.5, -1.5, 30.0]), np.array([3.0, 0.5, 2.0, 0.7]))),
    ("factorial", fsp.factorial, lambda n: scipy_special.factorial(n, exact=False),
     (np.array([-1.0, 0.0, 4.0, 2.5, 20.0]),)),
    ("kl_div", fsp.kl_div, scipy_special.kl_div,
     (np.r_[NONNEG, -1.0, 1.0, 0.0], np.r_[NONNEG[::-1], 2.0, 0.0, -1.0])),
    ("rel_entr", fsp.rel_entr, scipy_special.rel_entr,
     (np.r_[NONNEG, -1.0, 1.0, 0.0], np.r_[NONNEG[::-1], 2.0, 0.0, -1.0])),
]


@pytest.mark.parametrize("name,ours,theirs,args", CASES, ids=[c[0] for c in CASES])
def test_values_match_scipy(name: str, ours: Any, theirs: Any, args: tuple[Any, ...]) -> None:
    with np.errstate(all="ignore"):
        expected = theirs(*args)
        np.testing.assert_allclose(ours(*args), expected, rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(fungrad.jit(ours)(*args), expected, rtol=1e-13, atol=1e-300)


@given(st.floats(-700, 700))
def test_scaled_bessel_functions_match_scipy_everywhere(x: float) -> None:
    np.testing.assert_allclose(fsp.i0e(x), scipy_special.i0e(x), rtol=5e-15)
    np.testing.assert_allclose(fsp.i1e(x), scipy_special.i1e(x), rtol=5e-15, atol=1e-300)


# beta: JAX's betaln is tuned for float32 (its gradient is off by ~3e-8 at a = 30); checked by
# finite differences below instead
JAX_GRAD_CASES = [c for c in CASES if c[0] not in ("gammasgn", "factorial", "multigammaln", "beta")]


@pytest.mark.parametrize("name,ours,theirs,args", JAX_GRAD_CASES, ids=[c[0] for c in JAX_GRAD_CASES])
def test_gradients_match_jax(name: str, ours: Any, theirs: Any, args: tuple[Any, ...]) -> None:
    jax = load_jax()
    import jax.scipy.special as jsp
    jf = getattr(jsp, name)
    for i in range(len(args)):
        v = np.asarray(args[i], float)
        mine = fungrad.grad(summed_finite(fungrad, ours, args, i))(v)
        their = np.asarray(jax.grad(summed_finite(jax, jf, args, i))(v))
        ok = np.isfinite(their)
        np.testing.assert_allclose(np.asarray(mine)[ok], their[ok], rtol=1e-9, atol=1e-14)


def test_derivatives_by_finite_differences() -> None:
    check_grads(fsp.beta, (np.array([2.0, 0.5, 30.0]), np.array([3.0, 0.5, 0.7])), order=2)
    check_grads(lambda a: fsp.multigammaln(a, 4), (np.array([2.0, 5.5]),), order=2)
    x = np.array([-25.0, -3.0, -0.5, 0.7, 4.0, 22.0])
    check_grads(fsp.i0e, (x,), order=2)
    check_grads(fsp.i1e, (x,), order=2)
    # at 0: d i0e = 0 and d i1e = 1/2, as in JAX
    np.testing.assert_allclose(fungrad.grad(fsp.i0e)(0.0), 0.0)
    np.testing.assert_allclose(fungrad.grad(fsp.i1e)(0.0), 0.5)


def test_softmax_defaults_to_all_axes_like_scipy() -> None:
    x = np.arange(6.0).reshape(2, 3)
    scipy_sm = pytest.importorskip("scipy.special").softmax
    np.testing.assert_allclose(fsp.softmax(x), scipy_sm(x), rtol=1e-14)
    np.testing.assert_allclose(fsp.softmax(x, axis=1), scipy_sm(x, axis=1), rtol=1e-14)
    np.testing.assert_allclose(fsp.log_softmax(x), scipy_special.log_softmax(x), rtol=1e-14)
    where = np.array([[True, False, True], [True, True, False]])
    jax = load_jax()
    import jax.scipy.special as jsp
    np.testing.assert_allclose(fsp.logsumexp(x, axis=1, where=where),
                               jsp.logsumexp(x, axis=1, where=where), rtol=1e-14)
    g = fungrad.grad(lambda x: fsp.logsumexp(x, where=where))(x)
    np.testing.assert_allclose(g, jax.grad(lambda x: jsp.logsumexp(x, where=where))(x), rtol=1e-13)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        fsp.multigammaln(2.0, 0)
    with pytest.raises(NotImplementedError, match="exact"):
        fsp.factorial(3, exact=True)
    with pytest.raises(TypeError, match="complex"):
        fsp.i0e(1j)
