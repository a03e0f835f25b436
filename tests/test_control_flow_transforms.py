"""Control flow under every transform and their compositions, against the same program written
with plain Python loops and ``if`` (unrolled, so it uses none of the control-flow rules).

Each case is a pair (program with lax control flow, the unrolled reference); each transform
composition is applied to both and the results compared.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.errors import NotDifferentiableError

N, B = 3, 4
RNG = np.random.default_rng(0)
W = RNG.uniform(-0.8, 0.8, (N, N))
XS = RNG.uniform(-1.0, 1.0, (5, N))


def _rnn(x: Any) -> Any:
    def step(h: Any, xt: Any) -> Any:
        h = fnp.tanh(fnp.dot(W, h) * x[0] + xt)
        return h, fnp.sum(h * x)
    h, ys = lax.scan(step, x, XS)
    return fnp.sum(h) + fnp.sum(ys * ys)


def _rnn_ref(x: Any) -> Any:
    h, total = x, 0.0
    for xt in XS:
        h = fnp.tanh(fnp.dot(W, h) * x[0] + xt)
        total = total + fnp.sum(h * x) ** 2
    return fnp.sum(h) + total


def _scan_rev(x: Any) -> Any:
    c, ys = lax.scan(lambda c, xt: ((c[0] * fnp.sin(xt), c[1] + 1), c[0] * xt), (x, 0), XS,
                     reverse=True)
    return fnp.sum(c[0]) + fnp.sum(fnp.cos(ys))


def _scan_rev_ref(x: Any) -> Any:
    c, total = x, 0.0
    for xt in XS[::-1]:
        total = total + fnp.sum(fnp.cos(c * xt))
        c = c * fnp.sin(xt)
    return fnp.sum(c) + total


def _cond(x: Any) -> Any:
    return lax.cond(fnp.sum(x) > 0.2, lambda v: fnp.sum(fnp.sin(v) * v), lambda v: fnp.prod(v), x)


def _cond_ref(x: Any) -> Any:
    return fnp.sum(fnp.sin(x) * x) if fnp.sum(x) > 0.2 else fnp.prod(x)


BRANCHES = [lambda v: fnp.sum(v * v), lambda v: fnp.sum(fnp.exp(v)), lambda v: v[0] * v[1]]


def _switch(x: Any) -> Any:
    return lax.switch((fnp.sum(x) * 2.0).astype(np.int32), BRANCHES, x)


def _switch_ref(x: Any) -> Any:
    return BRANCHES[min(max(int(float(lax.stop_gradient(fnp.sum(x))) * 2.0), 0), 2)](x)


def _fori(x: Any) -> Any:
    return fnp.sum(lax.fori_loop(1, 4, lambda i, c: fnp.sin(c * x) + c / i, x))


def _fori_ref(x: Any) -> Any:
    c = x
    for i in range(1, 4):
        c = fnp.sin(c * x) + c / i
    return fnp.sum(c)


def _while(x: Any) -> Any:
    return fnp.sum(lax.while_loop(lambda c: fnp.sum(c) < 4.0, lambda c: c * 1.5 + x * x, x + 2.0))


def _while_ref(x: Any) -> Any:
    c = x + 2.0
    while fnp.sum(c) < 4.0:
        c = c * 1.5 + x * x
    return fnp.sum(c)


def _nested(x: Any) -> Any:
    def outer(c: Any, xt: Any) -> Any:
        c = lax.cond(xt[0] > 0, lambda c: c * fnp.cos(xt), lambda c: fnp.tanh(c + xt), c)
        inner, _ = lax.scan(lambda d, y: (d * y + x, None), c, XS[:2])
        return inner, fnp.sum(inner)
    c, ys = lax.scan(outer, x, XS)
    return fnp.sum(c) + fnp.sum(ys)


def _nested_ref(x: Any) -> Any:
    c, total = x, 0.0
    for xt in XS:
        c = c * fnp.cos(xt) if xt[0] > 0 else fnp.tanh(c + xt)
        for y in XS[:2]:
            c = c * y + x
        total = total + fnp.sum(c)
    return fnp.sum(c) + total


def _map(x: Any) -> Any:
    return fnp.sum(lax.map(lambda r: fnp.sin(fnp.dot(r, x)), W))


def _map_ref(x: Any) -> Any:
    return fnp.sum(fnp.sin(fnp.stack([fnp.dot(r, x) for r in W])))


CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], bool]] = [
    # name, program, reference, reverse-differentiable
    ("rnn", _rnn, _rnn_ref, True),
    ("scan_reverse", _scan_rev, _scan_rev_ref, True),
    ("cond", _cond, _cond_ref, True),
    ("switch", _switch, _switch_ref, True),
    ("fori", _fori, _fori_ref, True),
    ("while", _while, _while_ref, False),
    ("nested", _nested, _nested_ref, True),
    ("map", _map, _map_ref, True),
]


def _loop(f: Callable[..., Any]) -> Callable[..., Any]:
    """The reference for vmap: a Python loop over the batch."""
    return lambda xs: np.stack([np.asarray(f(x)) for x in xs])


J = fungrad.jit
V = fungrad.vmap
G = fungrad.grad
TRANSFORMS: list[tuple[str, Callable[..., Any], Callable[..., Any], bool]] = [
    # name, transform of the program, transform of the reference, needs reverse mode
    ("eval", lambda f: f, lambda f: f, False),
    ("jit", J, lambda f: f, False),
    ("jvp", lambda f: lambda x: fungrad.jvp(f, (x,), (x * 0.5 + 1.0,))[1],
     lambda f: lambda x: fungrad.jvp(f, (x,), (x * 0.5 + 1.0,))[1], False),
    ("jacfwd", fungrad.jacfwd, fungrad.jacfwd, False),
    ("jit_jacfwd", lambda f: J(fungrad.jacfwd(f)), fungrad.jacfwd, False),
    ("vmap", lambda f: V(f), _loop, False),
    ("jit_vmap", lambda f: J(V(f)), _loop, False),
    ("vmap_jit", lambda f: V(J(f)), _loop, False),
    ("grad", G, G, True),
    ("jit_grad", lambda f: J(G(f)), G, True),
    ("grad_jit", lambda f: G(J(f)), G, True),
    ("vmap_grad", lambda f: V(G(f)), lambda f: _loop(G(f)), True),
    ("grad_vmap", lambda f: G(lambda xs: fnp.sum(V(f)(xs))),
     lambda f: G(lambda xs: sum(f(x) for x in xs)), True),
    ("jacrev", fungrad.jacrev, fungrad.jacrev, True),
    ("hessian", fungrad.hessian, fungrad.hessian, True),
    ("grad_grad", lambda f: G(lambda x: fnp.sum(G(f)(x) ** 2)),
     lambda f: G(lambda x: fnp.sum(G(f)(x) ** 2)), True),
]


def _input(case: str, batched: bool) -> Any:
    rng = np.random.default_rng(sum(map(ord, case)))
    shape = (B, N) if batched else (N,)
    return rng.uniform(0.1, 0.6, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("tname,tf,tref,rev", TRANSFORMS, ids=[t[0] for t in TRANSFORMS])
@pytest.mark.parametrize("case,f,ref,has_rev", CASES, ids=[c[0] for c in CASES])
def test_transform_matches_unrolled(case: str, f: Any, ref: Any, has_rev: bool, tname: str,
                                    tf: Any, tref: Any, rev: bool) -> None:
    x = _input(case, batched=tname.startswith(("vmap", "jit_vmap", "grad_vmap")))
    if rev and not has_rev:
        with pytest.raises(NotDifferentiableError, match="scan"):
            tf(f)(x)
        return
    np.testing.assert_allclose(tf(f)(x), tref(ref)(x), rtol=1e-11, atol=1e-12)


def test_vmap_of_cond_with_batched_predicate_selects() -> None:
    xs = np.array([[1.0, 2.0], [-1.0, -2.0], [0.5, -3.0]])
    out = V(lambda v: lax.cond(v[0] > 0, lambda u: u * 10.0, lambda u: u - 1.0, v))(xs)
    np.testing.assert_allclose(out, np.where(xs[:, :1] > 0, xs * 10.0, xs - 1.0))
    jaxpr = fungrad.make_jaxpr(V(lambda v: lax.cond(v[0] > 0, lambda u: u, lambda u: -u, v)))(xs)
    assert "select" in str(jaxpr) and "cond" not in str(jaxpr)


def test_vmap_of_while_with_batched_predicate_runs_each_example_to_its_end() -> None:
    ns = np.array([0, 3, 1, 5])

    def count_doublings(n: Any, x: Any) -> Any:
        return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))

    steps, vals = V(count_doublings)(ns, np.ones(4))
    np.testing.assert_array_equal(steps, ns)
    np.testing.assert_allclose(vals, 2.0 ** ns)
    steps, vals = V(count_doublings, in_axes=(None, 0))(3, np.arange(4.0))
    np.testing.assert_allclose(vals, np.arange(4.0) * 8.0)


def test_vmap_scan_with_batched_xs_on_any_axis() -> None:
    xs = RNG.uniform(-1, 1, (5, B, N))  # time-major, batch in axis 1
    def f(h: Any, x: Any) -> Any:
        return lax.scan(lambda c, xt: (fnp.tanh(c + xt), c * xt), h, x)

    h, ys = V(f, in_axes=(None, 1), out_axes=(0, 1))(np.zeros(N), xs)
    for b in range(B):
        hb, ysb = f(np.zeros(N), xs[:, b])
        np.testing.assert_allclose(h[b], hb, rtol=1e-14)
        np.testing.assert_allclose(ys[:, b], ysb, rtol=1e-14)


def test_reverse_mode_saves_loop_invariants_once() -> None:
    """Residuals that are consts of the body (big) or computed from consts alone (tanh(big)) are
    computed once and passed to the backward loop, not stacked per step."""
    big = RNG.uniform(-1, 1, (6, 6))

    def f(h: Any, steps: int = 50) -> Any:
        def body(c: Any, _: Any) -> Any:
            return fnp.tanh(fnp.dot(big, c)) + fnp.dot(fnp.tanh(big), c) * 0.1, None
        return fnp.sum(lax.scan(body, h, None, length=steps)[0])

    def f_ref(h: Any) -> Any:
        for _ in range(50):
            h = fnp.tanh(fnp.dot(big, h)) + fnp.dot(fnp.tanh(big), h) * 0.1
        return fnp.sum(h)

    jaxpr = fungrad.make_jaxpr(G(f))(np.ones(6))
    shapes = [v.aval.shape for e in jaxpr.eqns for v in list(e.inputs) + list(e.outvars)]
    assert (50, 6, 6) not in shapes and (50, 6) in shapes
    x = RNG.uniform(-0.1, 0.1, 6)
    np.testing.assert_allclose(G(f)(x), G(f_ref)(x), rtol=1e-12)
    np.testing.assert_allclose(J(G(f))(x), G(f_ref)(x), rtol=1e-12)


@given(axis_x=st.integers(0, 2), axis_c=st.sampled_from([None, 0, 1]), seed=st.integers(0, 99),
       reverse=st.booleans())
def test_vmap_scan_and_cond_with_drawn_axes_match_a_loop(axis_x: int, axis_c: int | None,
                                                         seed: int, reverse: bool) -> None:
    rng = np.random.default_rng(seed)
    xs = np.moveaxis(rng.normal(size=(B, 5, N)), 0, axis_x)  # batch axis at axis_x
    c0 = rng.normal(size=(N,)) if axis_c is None else np.moveaxis(rng.normal(size=(B, N)), 0,
                                                                    axis_c)

    def f(c: Any, x: Any) -> Any:
        def step(c: Any, xt: Any) -> Any:
            c = lax.cond(fnp.sum(xt) > 0, lambda a: fnp.sin(a) + xt, lambda a: a * xt, c)
            return c, fnp.sum(c)
        return lax.scan(step, c, x, reverse=reverse)

    h, ys = V(f, in_axes=(axis_c, axis_x))(c0, xs)
    for b in range(B):
        cb = c0 if axis_c is None else np.take(c0, b, axis=axis_c)
        hb, ysb = f(cb, np.take(xs, b, axis=axis_x))
        np.testing.assert_allclose(h[b], hb, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(ys[b], ysb, rtol=1e-14, atol=1e-15)
