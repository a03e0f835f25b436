"""jit: results equal eager, one trace per signature, and composition with every transform."""
from __future__ import annotations

import functools
import gc
import logging
import weakref
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.errors import ConcretizationError
from fungrad.test_util import check_grads

shapes = st.sampled_from([(), (3,), (2, 3), (4, 1, 2)])
seeds = st.integers(0, 2**16)


def rand(shape: tuple[int, ...], seed: int, dtype: Any = np.float64) -> Any:
    return np.random.default_rng(seed).uniform(0.3, 1.5, shape).astype(dtype)


# One line per program: each is run eagerly and under jit, through every transform.
PROGRAMS: list[tuple[str, Callable[..., Any]]] = [
    ("sin_mul", lambda x, y: fnp.sin(x) * y),
    ("chain", lambda x, y: fnp.tanh(fnp.exp(x) * 0.5 + y) - x * 1.0 + 0.0),
    ("views", lambda x, y: fnp.reshape(fnp.transpose(fnp.reshape(x * y, (-1,))), x.shape) * x),
    ("reuse", lambda x, y: (x * y) * (x * y) + fnp.cos(x * y)),
    ("pow_div", lambda x, y: lax.integer_pow(x, 2) / (y + 1.0) + lax.integer_pow(y, 3)),
    ("broadcast", lambda x, y: fnp.sum(lax.broadcast_to(x, (2,) + np.shape(x)) * y, axis=0)),
    ("neg_neg", lambda x, y: -(-(x * y)) + lax.rsqrt(y)),
]


@pytest.mark.parametrize("name,f", PROGRAMS)
@given(shape=shapes, seed=seeds)
def test_jit_matches_eager(name: str, f: Callable[..., Any], shape: Any, seed: int) -> None:
    x, y = rand(shape, seed), rand(shape, seed + 1)
    x0, y0 = x.copy(), y.copy()
    out = fungrad.jit(f)(x, y)
    np.testing.assert_allclose(out, f(x, y), rtol=1e-13, atol=1e-13)
    assert type(out) is fungrad.Array and out.flags.writeable  # a NumPy array (a subclass)
    np.testing.assert_array_equal(x, x0)  # inputs are never written to
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("name,f", PROGRAMS)
def test_jit_float32(name: str, f: Callable[..., Any]) -> None:
    x, y = rand((2, 3), 0, np.float32), rand((2, 3), 1, np.float32)
    out = fungrad.jit(f)(x, y)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, f(x, y), rtol=1e-5)


@pytest.mark.parametrize("name,f", PROGRAMS)
def test_grads_through_jit(name: str, f: Callable[..., Any]) -> None:
    x, y = rand((2, 3), 2), rand((2, 3), 3)
    check_grads(fungrad.jit(f), (x, y), order=2)


COMPOSITIONS: list[tuple[str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
    ("grad(jit)", lambda f: fungrad.grad(fungrad.jit(f))),
    ("jit(grad)", lambda f: fungrad.jit(fungrad.grad(f))),
    ("jit(grad(jit))", lambda f: fungrad.jit(fungrad.grad(fungrad.jit(f)))),
    ("jit(jit)", lambda f: fungrad.jit(fungrad.jit(f))),
    ("vmap(jit)", lambda f: fungrad.vmap(fungrad.jit(f))),
    ("jit(vmap(grad(jit)))", lambda f: fungrad.jit(fungrad.vmap(fungrad.grad(fungrad.jit(f))))),
    ("grad(grad(jit))", lambda f: fungrad.grad(lambda x: fnp.sum(fungrad.grad(
        fungrad.jit(f))(x)))),
]


def _scalar(f: Callable[..., Any]) -> Callable[..., Any]:
    return lambda x: fnp.sum(f(x, x + 0.5))


@pytest.mark.parametrize("cname,compose", COMPOSITIONS)
@pytest.mark.parametrize("name,f", PROGRAMS)
def test_compositions_match_eager(cname: str, compose: Any, name: str, f: Any) -> None:
    g = _scalar(f)
    x = rand((4, 3), 7) if "vmap" in cname else rand((3,), 7)
    eager = fungrad.vmap if "vmap" in cname else (lambda h: h)
    if cname.startswith("jit(vmap"):
        want = fungrad.vmap(fungrad.grad(g))(x)
    elif "vmap" in cname:
        want = np.stack([g(r) for r in x])
    elif cname == "grad(grad(jit))":
        want = fungrad.grad(lambda x: fnp.sum(fungrad.grad(g)(x)))(x)
    elif "grad" in cname:
        want = fungrad.grad(g)(x)
    else:
        want = g(x)
    del eager
    got = compose(g)(x)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


def test_hessian_through_jit() -> None:
    f = lambda x: fnp.sum(fnp.sin(x) * x ** 3)
    x = np.array([0.3, 1.2, -0.7])
    want = np.diag(-np.sin(x) * x**3 + 6 * np.cos(x) * x**2 + 6 * np.sin(x) * x)
    for h in (fungrad.hessian(fungrad.jit(f)), fungrad.jit(fungrad.hessian(fungrad.jit(f)))):
        np.testing.assert_allclose(h(x), want, rtol=1e-12, atol=1e-12)


def test_jvp_of_jit_and_symbolic_zero_tangents() -> None:
    f = fungrad.jit(lambda x, y: (fnp.sin(x) * y, y * 2.0))
    x, y, t = rand((3,), 0), rand((3,), 1), rand((3,), 2)
    (o1, o2), (t1, t2) = fungrad.jvp(f, (x, y), (t, np.zeros(3)))
    np.testing.assert_allclose(t1, np.cos(x) * y * t, rtol=1e-13)
    np.testing.assert_allclose(t2, 0.0)
    np.testing.assert_allclose(o1, np.sin(x) * y, rtol=1e-13)


def test_jit_under_grad_is_one_equation_and_never_retraced() -> None:
    calls = []

    @fungrad.jit
    def f(x: Any) -> Any:
        calls.append(1)
        return fnp.sin(x) * x

    jaxpr = fungrad.make_jaxpr(lambda x: f(x) + 1.0)(np.ones(3))
    assert [e.primitive.name for e in jaxpr.eqns] == ["jit", "add"]
    g = fungrad.grad(lambda x: fnp.sum(f(x)))
    for _ in range(3):
        np.testing.assert_allclose(g(np.ones(3)), np.cos(1.0) + np.sin(1.0))
    assert len(calls) == 1 and f.cache_info().misses == 1


def test_linear_transpose_and_closure_over_tracer() -> None:
    f = fungrad.jit(lambda x: 3.0 * x)
    np.testing.assert_allclose(fungrad.linear_transpose(f, np.ones(2))(np.ones(2))[0], 3.0)

    def outer(a: Any) -> Any:
        return fnp.sum(fungrad.jit(lambda x: x * a)(np.arange(3.0)))
    np.testing.assert_allclose(fungrad.grad(outer)(2.0), 3.0)


# ---------------------------------------------------------------- the cache

def test_one_trace_per_signature() -> None:
    traces = []
    f = fungrad.jit(lambda x: traces.append(x.shape) or x * 2.0)
    f(np.ones(3)); f(np.ones(3) * 5); f(np.ones(4)); f(np.ones(3, np.float32))
    assert traces == [(3,), (4,), (3,)]
    assert tuple(f.cache_info()) == (1, 3, 3)
    f(2.0); f(3.0)  # Python scalars share the trace of 0-d float64 arrays
    assert f.cache_info().misses == 4


def test_static_args() -> None:
    @functools.partial(fungrad.jit, static_argnums=1)
    def power(x: Any, n: int) -> Any:
        out = x
        for _ in range(n - 1):
            out = out * x
        return out

    np.testing.assert_allclose(power(np.full(2, 2.0), 3), 8.0)
    np.testing.assert_allclose(power(np.full(2, 2.0), 4), 16.0)
    np.testing.assert_allclose(power(np.full(2, 2.0), n=3), 8.0)
    assert power.cache_info().misses == 2

    @fungrad.jit(static_argnames="mode")
    def g(x: Any, mode: str = "sin") -> Any:
        return fnp.sin(x) if mode == "sin" else fnp.cos(x)
    np.testing.assert_allclose(g(0.0, mode="cos"), 1.0)
    np.testing.assert_allclose(g(0.0, "sin"), 0.0)


def test_unhashable_static_arg_is_a_clear_error() -> None:
    f = fungrad.jit(lambda x, axes: fnp.sum(x, axis=axes), static_argnums=1)
    with pytest.raises(TypeError, match="static argument 'axes'.*unhashable.*list"):
        f(np.ones((2, 2)), [0])


def test_python_control_flow_on_traced_values() -> None:
    def f(x: Any) -> Any:
        if x > 0:
            return x
        return -x
    with pytest.raises(ConcretizationError, match=r"(?s)lax.cond.*static_argnums.*test_jit.py"):
        fungrad.jit(f)(1.0)
    assert fungrad.jit(f, static_argnums=0)(-2.0) == 2.0


def test_explain_cache_misses(caplog: Any) -> None:
    f = fungrad.jit(lambda x, y: x * fnp.sum(y))
    fungrad.config.update("explain_cache_misses", True)
    try:
        with caplog.at_level(logging.WARNING, logger="fungrad.jit"):
            f(np.ones(3), np.ones(3)); f(np.ones(3), np.ones(4)); f(np.ones(3), np.ones(3))
    finally:
        fungrad.config.update("explain_cache_misses", False)
    msgs = [r.getMessage() for r in caplog.records if r.name == "fungrad.jit"]
    assert len(msgs) == 2 and "first call" in msgs[0]
    assert "'y'" in msgs[1] and "f64[3]" in msgs[1] and "f64[4]" in msgs[1]


def test_lru_bound_and_no_leak() -> None:
    fungrad.config.update("jit_cache_size", 2)
    try:
        f = fungrad.jit(lambda x: x + 1.0)
    finally:
        fungrad.config.update("jit_cache_size", 64)
    for n in (1, 2, 3, 1):
        f(np.ones(n))
    assert tuple(f.cache_info()) == (0, 4, 2)
    ref = weakref.ref(f)
    del f
    gc.collect()
    assert ref() is None


def test_side_effects_once_per_trace() -> None:
    seen: list[Any] = []

    @fungrad.jit
    def f(x: Any) -> Any:
        seen.append("traced")
        return x + 1.0
    for _ in range(3):
        f(np.ones(2))
    assert seen == ["traced"]


def test_outputs_are_fresh_writable_arrays() -> None:
    x = np.arange(3.0)
    f = fungrad.jit(lambda x: (x, lax.broadcast_to(x, (2, 3)), fnp.reshape(x, (3, 1)), 1.0,
                               fnp.sum(x)))
    a, b, c, d, e = f(x)
    for o in (a, b, c, d, e):
        assert type(o) is fungrad.Array and o.flags.writeable
        assert not np.shares_memory(o, x)
    a[0] = 10.0
    assert x[0] == 0.0 and d == 1.0 and e == 3.0


def test_pytrees_and_lower() -> None:
    @fungrad.jit
    def f(params: Any, x: Any) -> Any:
        return {"y": fnp.tanh(params["w"] * x + params["b"]), "n": x * 0.0}
    p = {"w": np.ones(3) * 2, "b": np.ones(3)}
    out = f(p, np.ones(3))
    np.testing.assert_allclose(out["y"], np.tanh(3.0))
    low = f.lower(p, fungrad.ShapeDtypeStruct((3,), np.float64))
    assert "def jitted(a0, a1, a2):" in low.source and "tanh" in str(low.jaxpr)


def test_source_never_embeds_user_values() -> None:
    secret = np.full(3, 7.25)
    f = fungrad.jit(lambda x: x * secret + 123.5)
    src = f.lower(np.ones(3)).source
    assert "7.25" not in src and "123.5" not in src and "lambda" not in src
    np.testing.assert_allclose(f(np.ones(3)), 130.75)


@pytest.mark.parametrize("index", [
    0, -1, (1, 2), (slice(None), 0), (slice(1, None, 2), -2), (None, Ellipsis, slice(3, 0, -1)),
    (Ellipsis, 1), (slice(5, 9),), (slice(None), slice(2, 2)),
])
def test_static_indexing_compiles_to_numpy_indexing(index: Any) -> None:
    """A gather with a static index is emitted as ``x[index]`` and gives NumPy's result; the
    output (a view of the input) is not overwritten by a later in-place operation."""
    x = rand((4, 5), 7)
    f = fungrad.jit(lambda x: (x[index] * 2.0 + 1.0, fnp.exp(x)[index]))
    got = f(x)
    np.testing.assert_array_equal(got[0], x[index] * 2.0 + 1.0)
    np.testing.assert_allclose(got[1], np.exp(x)[index], rtol=1e-15)
    assert "]" in f.lower(x).source.split("return")[0]
    np.testing.assert_array_equal(x, rand((4, 5), 7))


# ---------------------------------------------------------------- buffers

def test_donated_buffers_are_reused_correctly() -> None:
    f = fungrad.jit(lambda x, y: fnp.exp(x) * y + x, donate_argnums=0)
    x, y = rand((5,), 0), rand((5,), 1)
    want = np.exp(x) * y + x
    np.testing.assert_allclose(f(x.copy(), y), want, rtol=1e-14)
    np.testing.assert_allclose(f(x, x), np.exp(x) * x + x, rtol=1e-14)  # aliased: not donated
    src = f.lower(x, y).source
    assert "out=a0" not in src  # lower shows the non-donating version


def test_in_place_reuse_on_programs_full_of_views() -> None:
    def f(x: Any) -> Any:
        a = fnp.exp(x)
        v = fnp.transpose(a)  # a view of a: a must not be overwritten while v lives
        b = fnp.sin(a)
        c = fnp.reshape(b, (-1,))
        d = fnp.tanh(b) + 1.0
        return v * 2.0, fnp.reshape(c, x.shape) * d, lax.broadcast_to(fnp.sum(d), (2,)) + 0.5
    x = rand((3, 4), 4)
    jf = fungrad.jit(f)
    for got, want in zip(jf(x), f(x)):
        np.testing.assert_allclose(got, want, rtol=1e-14)
    assert "out=" in jf.lower(x).source
