"""JAX idioms from its tutorials that a fungrad result must support: a result array indexed with a
traced index inside a loop, ``.at[...].get()`` out of bounds (clamped, or filled), the jaxpr of
``make_jaxpr`` read through ``.jaxpr.eqns``/``eqn.invars``, and special functions refusing complex
input rather than dropping its imaginary part. Each against JAX when it is installed."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
import fungrad.scipy.special as fsp
from fungrad import lax


@pytest.fixture(scope="module")
def jax() -> Any:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def closure_indexing_programs(lib: Any, np_: Any) -> dict[str, Any]:
    table = np_.arange(10.0) ** 2
    return {
        "fori_loop": lambda: lib.lax.fori_loop(0, 10, lambda i, x: x + table[i], 0.0),
        "jit": lambda: lib.jit(lambda i: table[i] * 2)(3),
        "vmap": lambda: lib.vmap(lambda i: table[i])(np.array([1, 3, 7])),
        "grad": lambda: lib.grad(lambda x: (table * x)[lib.numpy.argmax(table * x)])(2.0),
        "slice": lambda: lib.jit(lambda i: lib.lax.dynamic_slice(table, (i,), (2,)) + table[i])(4),
    }


@pytest.mark.parametrize("name", list(closure_indexing_programs(fungrad, fnp)))
def test_result_array_indexed_by_a_traced_index(jax: Any, name: str) -> None:
    got = closure_indexing_programs(fungrad, fnp)[name]()
    want = closure_indexing_programs(jax, jax.numpy)[name]()
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-15)


def test_plain_numpy_array_indexed_by_a_traced_index_still_explains() -> None:
    table = np.arange(10.0)
    with pytest.raises(TypeError, match="take"):
        fungrad.jit(lambda i: table[i])(3)


GETS = [
    ("clamped", lambda x: x.at[11].get()),
    ("negative clamped", lambda x: x.at[-11].get()),
    ("fill", lambda x: x.at[11].get(mode="fill", fill_value=-1.0)),
    ("fill nan", lambda x: x.at[np.array([1, 12])].get(mode="fill")),
    ("row", lambda x: x.reshape(2, 5).at[1].get()),
    ("columns", lambda x: x.reshape(2, 5).at[:, np.array([0, 9])].get()),
    ("slice", lambda x: x.at[2:5].get()),
    ("dropped add", lambda x: x.at[11].add(1.0)),
    ("dropped set", lambda x: x.at[np.array([0, 10])].set(7.0)),
]


@pytest.mark.parametrize("name,op", GETS, ids=[g[0] for g in GETS])
def test_at_out_of_bounds_matches_jax(jax: Any, name: str, op: Any) -> None:
    got = op(fnp.arange(10.0))
    want = op(jax.numpy.arange(10.0))
    np.testing.assert_array_equal(got, np.asarray(want))
    np.testing.assert_array_equal(fungrad.jit(op)(fnp.arange(10.0)), np.asarray(want))


def test_jaxpr_read_as_in_jax(jax: Any) -> None:
    def f(x: Any, y: Any) -> Any:
        return x * 2 + y

    ours = fungrad.make_jaxpr(f)(1.0, 2.0).jaxpr
    theirs = jax.make_jaxpr(f)(1.0, 2.0).jaxpr
    assert [e.primitive.name for e in ours.eqns] == [e.primitive.name for e in theirs.eqns]
    assert [len(e.invars) for e in ours.eqns] == [len(e.invars) for e in theirs.eqns]
    assert len(ours.invars) == len(theirs.invars) and len(ours.outvars) == len(theirs.outvars)


COMPLEX_REFUSED = {"erf": fsp.erf, "erfc": fsp.erfc, "erfinv": fsp.erfinv, "gammaln": fsp.gammaln,
                   "digamma": fsp.digamma, "ndtri": fsp.ndtri}


@pytest.mark.parametrize("name", list(COMPLEX_REFUSED))
def test_special_functions_refuse_complex_like_jax(jax: Any, name: str) -> None:
    z = np.array([-0.6 - 0.12j, 0.3 + 0.0j])
    with pytest.raises(TypeError):
        getattr(jax.scipy.special, name)(z)
    f = COMPLEX_REFUSED[name]
    with pytest.raises(TypeError, match="real floating"):
        f(z)
    with pytest.raises(TypeError, match="real floating"):
        fungrad.jit(f)(z)
    with pytest.raises(TypeError, match="real floating"):
        lax.erf(z)
    np.testing.assert_allclose(f(z.real), np.asarray(getattr(jax.scipy.special, name)(z.real)),
                               rtol=1e-13)


def test_fft_results_are_arrays() -> None:
    out = fnp.fft.rfft(np.arange(8.0))
    assert isinstance(out, fungrad.Array)
    np.testing.assert_allclose(out, np.fft.rfft(np.arange(8.0)), rtol=1e-14, atol=1e-14)
