"""Control flow, primitive by primitive: results against Python loops, shape rules, errors, and a
derivative table (``check_grads`` to order 2, forward and reverse) over hypothesis-drawn sizes."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.errors import NotDifferentiableError, ShapeError
from fungrad.lax.control_flow import cond_p, scan_p, while_p
from fungrad.test_util import check_grads

seeds = st.integers(0, 2**16)
lengths = st.integers(0, 5)
widths = st.integers(1, 3)


def rand(shape: Any, seed: int, dtype: Any = np.float64) -> Any:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(dtype)


def py_scan(f: Callable[..., Any], init: Any, xs: Any, length: int, reverse: bool = False) -> Any:
    """The reference: a Python loop, stacking with NumPy."""
    carry, ys = init, []
    steps = range(length - 1, -1, -1) if reverse else range(length)
    for i in steps:
        x = None if xs is None else fungrad.tree_util.tree_map(lambda a: a[i], xs)
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    return carry, ys


# ---------------------------------------------------------------- evaluation
@given(n=lengths, w=widths, seed=seeds, reverse=st.booleans())
def test_scan_matches_python_loop(n: int, w: int, seed: int, reverse: bool) -> None:
    W, h0, xs, bs = rand((w, w), seed), rand(w, seed + 1), rand((n, w), seed + 2), rand(n, seed + 3)

    def step(carry: Any, x: Any) -> Any:
        h, t = carry
        h = fnp.tanh(fnp.dot(W, h) + x["a"] * x["b"])
        return (h, t + 1), {"h": h, "s": fnp.sum(h)}

    (h, t), ys = lax.scan(step, (h0, np.int64(0)), {"a": xs, "b": bs[:, None]}, reverse=reverse)
    (h_ref, t_ref), ys_ref = py_scan(step, (h0, np.int64(0)), {"a": xs, "b": bs[:, None]}, n,
                                     reverse)
    np.testing.assert_allclose(h, h_ref, rtol=1e-14, atol=1e-14)
    assert t == t_ref == n
    assert ys["h"].shape == (n, w) and ys["s"].shape == (n,)
    for k in ("h", "s"):
        want = np.stack([y[k] for y in ys_ref]) if n else np.zeros((0,) + ys[k].shape[1:])
        np.testing.assert_allclose(ys[k], want, rtol=1e-14, atol=1e-14)


def test_scan_without_xs_and_without_ys() -> None:
    carry, ys = lax.scan(lambda c, _: (c * 2.0, None), np.float64(1.0), None, length=5)
    assert carry == 32.0 and ys is None
    long_carry, _ = lax.scan(lambda c, _: (c + 1.0, None), np.float64(0.0), None, length=1000)
    assert long_carry == 1000.0  # the compiled eager path


@given(index=st.integers(-3, 6), seed=seeds)
def test_switch_clamps_like_jax(index: int, seed: int) -> None:
    x = rand(3, seed)
    branches = [lambda x: fnp.sin(x), lambda x: x * 2.0, lambda x: (x, x)[0] - 1.0]
    want = [np.sin(x), x * 2.0, x - 1.0][min(max(index, 0), 2)]
    np.testing.assert_allclose(lax.switch(index, branches, x), want, rtol=1e-15)
    np.testing.assert_allclose(fungrad.jit(lax.switch, static_argnums=1)(index, tuple(branches), x),
                               want, rtol=1e-15)


@given(seed=seeds)
def test_cond_pytrees_and_operand_kinds(seed: int) -> None:
    x, y = rand(3, seed), rand((2, 2), seed + 1)
    out = lax.cond(x[0] > 0, lambda a: {"s": a[0] + 1.0, "t": a[1]}, lambda a: {"s": a[0] - 1.0,
                   "t": a[1] * 2.0}, (x, y))
    want = (x + 1.0, y) if x[0] > 0 else (x - 1.0, y * 2.0)
    np.testing.assert_allclose(out["s"], want[0])
    np.testing.assert_allclose(out["t"], want[1])
    assert lax.cond(np.int32(3), lambda: 1.0, lambda: 2.0) == 1.0  # integer pred, no operands


@given(n=st.integers(0, 6), seed=seeds)
def test_while_and_fori_match_python(n: int, seed: int) -> None:
    x = rand(2, seed)

    def body(i: Any, c: Any) -> Any:
        return fnp.sin(c) * 1.5 + i

    want = x
    for i in range(2, 2 + n):
        want = np.sin(want) * 1.5 + i
    np.testing.assert_allclose(lax.fori_loop(2, 2 + n, body, x), want, rtol=1e-14)
    traced = fungrad.jit(lambda hi, x: lax.fori_loop(2, hi, body, x))(2 + n, x)
    np.testing.assert_allclose(traced, want, rtol=1e-14)
    count, val = lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, fnp.cos(c[1])),
                                (0, x))
    want = x
    for _ in range(n):
        want = np.cos(want)
    assert count == n
    np.testing.assert_allclose(val, want, rtol=1e-14)


def test_map_and_fori_choose_their_primitive() -> None:
    np.testing.assert_allclose(lax.map(lambda x: x ** 2, np.arange(4.0)), np.arange(4.0) ** 2)
    static = fungrad.make_jaxpr(lambda x: lax.fori_loop(0, 3, lambda i, c: c * 2.0, x))(1.0)
    traced = fungrad.make_jaxpr(lambda n, x: lax.fori_loop(0, n, lambda i, c: c * 2.0, x))(3, 1.0)
    assert [e.primitive for e in static.eqns] == [scan_p]
    assert while_p in [e.primitive for e in traced.eqns]


# ---------------------------------------------------------------- shape rules and jaxprs
@given(n=lengths, w=widths)
def test_scan_shape_rule_through_make_jaxpr(n: int, w: int) -> None:
    jaxpr = fungrad.make_jaxpr(lambda c, xs: lax.scan(lambda c, x: (c + x, (x * 2.0, c[0])), c,
                                                      xs))(np.zeros(w), np.zeros((n, w)))
    (eqn,) = jaxpr.eqns
    assert eqn.primitive is scan_p and eqn.params["length"] == n
    assert [v.aval.shape for v in eqn.outvars] == [(w,), (n, w), (n,)]


def test_closed_over_values_become_operands() -> None:
    W = np.arange(4.0).reshape(2, 2)
    jaxpr = fungrad.make_jaxpr(lambda x: lax.cond(x[0] > 0, lambda v: fnp.dot(W, v),
                                                  lambda v: v, x))(np.ones(2))
    eqn = next(e for e in jaxpr.eqns if e.primitive is cond_p)
    assert all(not b.constvars for b in eqn.params["branches"])
    assert any(v.aval.shape == (2, 2) for v in eqn.inputs)  # W travels as an operand


# ---------------------------------------------------------------- errors
def test_branch_mismatch_shows_both_sides() -> None:
    with pytest.raises(ShapeError, match=r"(?s)true_fun.*f64\[3\].*f64\[2\]"):
        lax.cond(True, lambda x: x, lambda x: x[:2], np.ones(3))
    with pytest.raises(ShapeError, match=r"(?s)structures differ.*\(f64\[3\], f64\[3\]\)"):
        lax.cond(True, lambda x: (x, x), lambda x: x, np.ones(3))
    with pytest.raises(ShapeError, match=r"(?s)i64\[\].*f64\[\]"):
        lax.switch(0, [lambda: 1, lambda: 1.0])
    with pytest.raises(ShapeError, match=r"test_control_flow.py"):
        lax.cond(True, lambda x: x, lambda x: x.astype(np.float32), np.ones(3))


def test_scan_and_while_errors() -> None:
    with pytest.raises(ShapeError, match=r"(?s)carry returned by f.*f64\[2\].*init carry"):
        lax.scan(lambda c, x: (c[:2], x), np.zeros(3), np.zeros((4, 1)))
    with pytest.raises(ShapeError, match="disagree"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: c, 0.0, np.zeros(3))
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c, 1.0)
    with pytest.raises(TypeError, match="scalar"):
        lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)


def test_reverse_mode_through_while_loop_says_what_to_use() -> None:
    def f(x: Any) -> Any:
        return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x), (0, x))[1]

    assert fungrad.grad(lambda x: lax.fori_loop(0, 2, lambda i, c: c * x, x))(2.0) == 12.0
    np.testing.assert_allclose(fungrad.jvp(f, (2.0,), (1.0,))[1], 32.0)
    with pytest.raises(NotDifferentiableError, match="(?s)while_loop.*scan.*fori_loop"):
        fungrad.grad(f)(2.0)


# ---------------------------------------------------------------- the derivative table
def _rnn(W: Any, h0: Any, xs: Any) -> Any:
    h, hs = lax.scan(lambda h, x: (fnp.tanh(fnp.dot(W, h) + x), h * x), h0, xs)
    return h, hs


def _scan_reverse(c: Any, xs: Any) -> Any:
    return lax.scan(lambda c, x: (c * fnp.sin(x) + x, fnp.exp(c * 0.1)), c, xs, reverse=True)


def _cond(x: Any, y: Any) -> Any:
    return lax.cond(fnp.sum(x) > 0, lambda a, b: fnp.sin(a) * b, lambda a, b: a * a - b, x, y)


def _switch(x: Any, y: Any) -> Any:
    i = (fnp.sum(x) > 0).astype(np.int32) + (fnp.sum(y) > 0).astype(np.int32)
    return lax.switch(i, [lambda a, b: a * b, lambda a, b: fnp.cos(a) + b, lambda a, b: b / 2.0],
                      x, y)


def _fori(x: Any, y: Any) -> Any:
    return lax.fori_loop(0, 3, lambda i, c: fnp.sin(c) * y + x * i.astype(x.dtype), x)


def _while(x: Any, y: Any) -> Any:
    return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, fnp.sin(c[1]) * y), (0, x))[1]


def _nested(x: Any, y: Any) -> Any:
    def outer(c: Any, yi: Any) -> Any:
        inner = lax.scan(lambda d, z: (d * fnp.cos(z), d + z), c, x)
        return lax.cond(yi > 0, lambda c: inner[0] * yi, lambda c: c + yi, c), inner[1][0]
    return lax.scan(outer, x, y)


def _map(x: Any, y: Any) -> Any:
    return lax.map(lambda xy: fnp.sin(xy[0]) * xy[1], (x, y))


# name, function, argument shapes as functions of (n, w), modes
TABLE: list[tuple[str, Callable[..., Any], Callable[[int, int], list[Any]], tuple[str, ...]]] = [
    ("rnn", _rnn, lambda n, w: [(w, w), (w,), (n, w)], ("fwd", "rev")),
    ("scan_reverse", _scan_reverse, lambda n, w: [(w,), (n, w)], ("fwd", "rev")),
    ("cond", _cond, lambda n, w: [(w,), (w,)], ("fwd", "rev")),
    ("switch", _switch, lambda n, w: [(w,), (w,)], ("fwd", "rev")),
    ("fori", _fori, lambda n, w: [(w,), (w,)], ("fwd", "rev")),
    ("while", _while, lambda n, w: [(w,), (w,)], ("fwd",)),
    ("map", _map, lambda n, w: [(n, w), (n, w)], ("fwd", "rev")),
]


@pytest.mark.parametrize("name,f,shapes,modes", TABLE, ids=[t[0] for t in TABLE])
@given(n=st.integers(1, 3), w=st.integers(1, 3), seed=seeds)
def test_check_grads_order_2(name: str, f: Callable[..., Any], shapes: Any, modes: Any, n: int,
                             w: int, seed: int) -> None:
    args = [rand(s, seed + i) for i, s in enumerate(shapes(n, w))]
    check_grads(f, args, order=2, modes=modes)


@settings(max_examples=5)  # second derivatives of a scan of cond-and-scan: slow to trace
@given(n=st.integers(1, 3), w=st.integers(1, 3), seed=seeds)
def test_check_grads_nested_loops(n: int, w: int, seed: int) -> None:
    check_grads(_nested, [rand(w, seed), rand(n, seed + 1)], order=2)


@pytest.mark.parametrize("name,f,shapes,modes", TABLE, ids=[t[0] for t in TABLE])
def test_check_grads_float32(name: str, f: Callable[..., Any], shapes: Any, modes: Any) -> None:
    args = [rand(s, i, np.float32) for i, s in enumerate(shapes(2, 2))]
    out = f(*args)
    assert all(np.asarray(o).dtype == np.float32 for o in fungrad.tree_util.tree_leaves(out))
    check_grads(f, args, order=1, modes=modes)


@given(seed=seeds, flag=st.booleans())
def test_grad_through_an_unused_branch_output(seed: int, flag: bool) -> None:
    x = rand(3, seed)

    def f(x: Any) -> Any:
        a, b = lax.cond(flag, lambda v: (fnp.sin(v), v * 2.0), lambda v: (v * v, fnp.exp(v)), x)
        return fnp.sum(a)

    want = np.cos(x) if flag else 2.0 * x
    np.testing.assert_allclose(fungrad.grad(f)(x), want, rtol=1e-14)
    np.testing.assert_allclose(fungrad.jit(fungrad.grad(f))(x), want, rtol=1e-14)
