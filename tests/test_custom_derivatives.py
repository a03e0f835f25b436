"""custom_jvp and custom_vjp: the user's rule is what every transform uses, at every order.

The rules here are often deliberately *different* from the true derivative (a factor of 2),
so a test can tell that the user's rule, not the function's own derivative, was used.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
import fungrad.numpy as fnp
from fungrad import custom_jvp, custom_vjp, lax
from fungrad.custom_derivatives import SymbolicZero
from fungrad.errors import InvalidArgumentError, NotDifferentiableError
from fungrad.test_util import check_grads

X = np.array([0.3, -1.2, 2.0])
vectors = arrays(np.float64, st.integers(1, 4), elements=st.floats(-3, 3))


# ---------------------------------------------------------------- custom_jvp

@custom_jvp
def sin2(x: Any) -> Any:
    """sin, with a JVP rule that claims twice the true derivative."""
    return fnp.sin(x)


@sin2.defjvp
def _sin2_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return sin2(x), 2.0 * fnp.cos(x) * t


@custom_jvp
def good_sin(x: Any) -> Any:
    """sin with its true derivative, written with itself: differentiable to any order."""
    return fnp.sin(x)


@good_sin.defjvp
def _good_sin_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return good_sin(x), good_sin(x + np.pi / 2) * t


@given(vectors)
def test_custom_jvp_rule_is_used_by_every_transform(x: Any) -> None:
    want = 2 * np.cos(x)
    np.testing.assert_allclose(fungrad.grad(lambda x: fnp.sum(sin2(x)))(x), want, rtol=1e-14)
    np.testing.assert_allclose(fungrad.jvp(sin2, (x,), (np.ones_like(x),))[1], want, rtol=1e-14)
    np.testing.assert_allclose(fungrad.vjp(sin2, x)[1](np.ones_like(x))[0], want, rtol=1e-14)
    np.testing.assert_allclose(fungrad.jacfwd(sin2)(x), np.diag(want), rtol=1e-14)
    np.testing.assert_allclose(fungrad.jacrev(sin2)(x), np.diag(want), rtol=1e-14)
    np.testing.assert_allclose(sin2(x), np.sin(x), rtol=1e-15)


def test_custom_jvp_stabilizes_log1pexp() -> None:
    @custom_jvp
    def log1pexp(x: Any) -> Any:
        return fnp.log1p(fnp.exp(x))

    @log1pexp.defjvp
    def _jvp(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * fungrad.nn.sigmoid(x)

    def naive(x: Any) -> Any:
        return fnp.log1p(fnp.exp(x))
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(fungrad.grad(naive)(1000.0))
        assert fungrad.grad(log1pexp)(1000.0) == 1.0
    np.testing.assert_allclose(fungrad.grad(log1pexp)(0.5), 1 / (1 + np.exp(-0.5)), rtol=1e-15)


@settings(max_examples=10)
@given(vectors)
def test_custom_jvp_higher_order(x: Any) -> None:
    d1 = fungrad.grad(lambda x: fnp.sum(good_sin(x)))
    d2 = fungrad.grad(lambda x: fnp.sum(d1(x)))
    d3 = fungrad.grad(lambda x: fnp.sum(d2(x)))
    np.testing.assert_allclose(d1(x), np.cos(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d2(x), -np.sin(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d3(x), -np.cos(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(fungrad.hessian(lambda x: fnp.sum(good_sin(x)))(x),
                               np.diag(-np.sin(x)), atol=1e-14)
    check_grads(good_sin, (x,), order=3)


def test_custom_jvp_second_order_uses_the_rule_of_the_rule() -> None:
    # d/dx [2 cos x] = -2 sin x: the second derivative differentiates the rule's own code.
    x = 0.7
    np.testing.assert_allclose(fungrad.grad(fungrad.grad(sin2))(x), -2 * np.sin(x), rtol=1e-14)


def test_defjvps_and_symbolic_zeros() -> None:
    calls: list[str] = []

    @custom_jvp
    def f(x: Any, y: Any) -> Any:
        return x * fnp.sin(y)

    def dx(g: Any, ans: Any, x: Any, y: Any) -> Any:
        calls.append("x")
        return g * fnp.sin(y)

    def dy(g: Any, ans: Any, x: Any, y: Any) -> Any:
        calls.append("y")
        return 2 * g * x * fnp.cos(y)  # twice the truth

    f.defjvps(dx, dy)
    x, y = 1.5, 0.4
    gx, gy = fungrad.grad(f, (0, 1))(x, y)
    np.testing.assert_allclose([gx, gy], [np.sin(y), 2 * x * np.cos(y)], rtol=1e-15)
    calls.clear()
    assert np.isclose(fungrad.grad(f, 0)(x, y), np.sin(y))
    assert calls == ["x"], "the rule of an argument with a zero tangent must not run"
    _, t = fungrad.jvp(lambda y: f(x, y), (y,), (1.0,))
    np.testing.assert_allclose(t, 2 * x * np.cos(y), rtol=1e-15)


def test_defjvp_symbolic_zeros_flag() -> None:
    seen: list[type] = []

    @custom_jvp
    def f(x: Any, y: Any) -> Any:
        return x * y

    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x, y), (tx, ty) = primals, tangents
        seen.extend([type(tx), type(ty)])
        out = tx * y if not isinstance(ty, SymbolicZero) else tx * y * 3.0
        return f(x, y), out

    f.defjvp(f_jvp, symbolic_zeros=True)
    assert fungrad.grad(f)(2.0, 5.0) == 15.0
    assert seen[1] is SymbolicZero and seen[0] is not SymbolicZero
    g = custom_jvp(lambda x, y: x * y)
    g.defjvp(lambda p, t: (g(*p), t[0] * p[1] + t[1] * p[0]))
    assert fungrad.grad(g)(2.0, 5.0) == 5.0  # zero tangents arrive as arrays by default


def test_custom_jvp_nondiff_argnums() -> None:
    @functools.partial(custom_jvp, nondiff_argnums=(0,))
    def app(f: Any, x: Any) -> Any:
        return f(x)

    @app.defjvp
    def _app_jvp(f: Any, primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return app(f, x), 2.0 * t

    assert fungrad.grad(lambda x: app(lambda y: y ** 3, x))(3.0) == 2.0
    assert app(lambda y: y ** 3, 2.0) == 8.0
    with pytest.raises(InvalidArgumentError, match="nondiff_argnums"):
        fungrad.grad(lambda x: app(x, x))(1.0)
    with pytest.raises(TypeError, match="nondiff_argnums"):
        app.defjvps(None)


def test_custom_jvp_pytrees_and_kwargs() -> None:
    @custom_jvp
    def f(d: Any, scale: Any = 1.0) -> Any:
        return {"s": d["a"] * d["b"] * scale, "t": (d["a"],)}

    @f.defjvp
    def _f_jvp(primals: Any, tangents: Any) -> Any:
        (d, scale), (t, ts) = primals, tangents
        out = f(d, scale)
        return out, {"s": (t["a"] * d["b"] + d["a"] * t["b"]) * scale + d["a"] * d["b"] * ts,
                     "t": (t["a"],)}

    d = {"a": 2.0, "b": 3.0}
    g = fungrad.grad(lambda d: f(d, scale=2.0)["s"] + 10 * f(d)["t"][0])(d)
    assert g == {"a": 6.0 + 10.0, "b": 4.0}


def test_custom_jvp_closures() -> None:
    def loss(w: Any, x: Any) -> Any:
        @custom_jvp
        def f(x: Any) -> Any:
            return fnp.sin(x) * w

        @f.defjvp
        def _f_jvp(p: Any, t: Any) -> Any:
            return f(p[0]), fnp.cos(p[0]) * w * t[0]
        return f(x)
    w, x = 1.7, 0.3
    # Differentiating with respect to the closed-over w: the rule cannot know (as in JAX).
    with pytest.raises(NotDifferentiableError, match="closes over"):
        fungrad.grad(loss)(w, x)
    # With respect to the argument it is fine, and so are non-autodiff transforms of w.
    np.testing.assert_allclose(fungrad.grad(loss, 1)(w, x), np.cos(x) * w, rtol=1e-15)
    ws = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fungrad.vmap(loss, (0, None))(ws, x), np.sin(x) * ws)
    np.testing.assert_allclose(fungrad.vmap(fungrad.grad(loss, 1), (0, None))(ws, x),
                               np.cos(x) * ws, rtol=1e-15)


def test_custom_jvp_vmap_matches_loop() -> None:
    xs = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(fungrad.vmap(sin2)(xs), np.sin(xs), rtol=1e-15)
    g = fungrad.grad(sin2)
    np.testing.assert_allclose(fungrad.vmap(g)(xs), [g(x) for x in xs], rtol=1e-15)
    np.testing.assert_allclose(fungrad.grad(lambda xs: fnp.sum(fungrad.vmap(sin2)(xs)))(xs),
                               2 * np.cos(xs), rtol=1e-15)

    @custom_jvp
    def scaled(x: Any, a: Any) -> Any:
        return x * a

    scaled.defjvp(lambda p, t: (scaled(*p), 3.0 * (t[0] * p[1] + p[0] * t[1])))
    f = fungrad.vmap(scaled, in_axes=(0, None))
    ga = fungrad.grad(lambda a: fnp.sum(f(xs, a)))(2.0)
    np.testing.assert_allclose(ga, sum(fungrad.grad(scaled, 1)(x, 2.0) for x in xs), rtol=1e-14)
    np.testing.assert_allclose(ga, 3 * xs.sum(), rtol=1e-14)
    hx = fungrad.vmap(fungrad.hessian(good_sin))(xs)
    np.testing.assert_allclose(hx, [fungrad.hessian(good_sin)(x) for x in xs], rtol=1e-14)


def test_custom_jvp_staged_as_one_equation() -> None:
    jaxpr = fungrad.make_jaxpr(sin2)(X)
    assert [e.primitive.name for e in jaxpr.eqns] == ["custom_jvp_call"]
    assert fungrad.jit(sin2)(X) == pytest.approx(np.sin(X))
    np.testing.assert_allclose(fungrad.jit(fungrad.grad(lambda x: fnp.sum(sin2(x))))(X),
                               2 * np.cos(X), rtol=1e-14)
    np.testing.assert_allclose(fungrad.grad(lambda x: fnp.sum(fungrad.jit(sin2)(x)))(X),
                               2 * np.cos(X), rtol=1e-14)


def test_custom_jvp_errors() -> None:
    f = custom_jvp(lambda x: x * 2.0)
    with pytest.raises(AttributeError, match="No JVP"):
        f(1.0)
    f.defjvp(lambda p, t: (f(*p), (t[0], t[0])))
    with pytest.raises(TypeError, match="structured like"):
        fungrad.grad(f)(1.0)
    g = custom_jvp(lambda x: x * 2.0)
    g.defjvp(lambda p, t: (g(*p), fnp.ones(3)))
    with pytest.raises(TypeError, match="tangent output"):
        fungrad.grad(g)(1.0)


# ---------------------------------------------------------------- custom_vjp

@custom_vjp
def cube(x: Any) -> Any:
    return x ** 3


def _cube_fwd(x: Any) -> Any:
    # x ** 3, not cube(x): forward-over-reverse (hessian) differentiates fwd in forward mode,
    # which a call of the custom_vjp function itself would not allow (as in JAX).
    return x ** 3, x


def _cube_bwd(x: Any, g: Any) -> Any:
    return (3 * x ** 2 * g,)


cube.defvjp(_cube_fwd, _cube_bwd)


@custom_vjp
def sin2v(x: Any) -> Any:
    return fnp.sin(x)


sin2v.defvjp(lambda x: (sin2v(x), fnp.cos(x)), lambda c, g: (2.0 * c * g,))


@given(vectors)
def test_custom_vjp_rule_is_used_by_reverse_mode(x: Any) -> None:
    want = 2 * np.cos(x)
    np.testing.assert_allclose(fungrad.grad(lambda x: fnp.sum(sin2v(x)))(x), want, rtol=1e-14)
    np.testing.assert_allclose(fungrad.vjp(sin2v, x)[1](np.ones_like(x))[0], want, rtol=1e-14)
    np.testing.assert_allclose(fungrad.jacrev(sin2v)(x), np.diag(want), rtol=1e-14)
    np.testing.assert_allclose(sin2v(x), np.sin(x), rtol=1e-15)


def test_custom_vjp_forward_mode_is_a_clear_error() -> None:
    with pytest.raises(NotDifferentiableError, match="forward-mode"):
        fungrad.jvp(sin2v, (X,), (X,))
    with pytest.raises(NotDifferentiableError, match="forward-mode"):
        fungrad.jacfwd(sin2v)(X)


@given(vectors)
def test_custom_vjp_higher_order(x: Any) -> None:
    d2 = fungrad.grad(lambda x: fnp.sum(fungrad.grad(lambda x: fnp.sum(cube(x)))(x)))
    np.testing.assert_allclose(d2(x), 6 * x, rtol=1e-14)
    np.testing.assert_allclose(fungrad.hessian(lambda x: fnp.sum(cube(x)))(x), np.diag(6 * x),
                               rtol=1e-14, atol=1e-300)
    d3 = fungrad.grad(lambda x: fnp.sum(d2(x)))
    np.testing.assert_allclose(d3(x), 6 * np.ones_like(x))
    check_grads(cube, (x,), order=2, modes=("rev",))


def test_custom_vjp_clip_gradient_nondiff_and_none() -> None:
    @functools.partial(custom_vjp, nondiff_argnums=(0, 1))
    def clip_gradient(lo: float, hi: float, x: Any) -> Any:
        return x

    def fwd(lo: float, hi: float, x: Any) -> Any:
        return x, None

    def bwd(lo: float, hi: float, _: Any, g: Any) -> Any:
        return (fnp.clip(g, lo, hi),)

    clip_gradient.defvjp(fwd, bwd)
    f = fungrad.grad(lambda x: fnp.sum(3.0 * clip_gradient(-1.0, 1.0, x)))
    np.testing.assert_array_equal(f(X), np.ones(3))  # the cotangent 3 is clipped to 1
    np.testing.assert_array_equal(fungrad.grad(lambda x: fnp.sum(clip_gradient(-5.0, 5.0, x * x)))(X),
                                  2 * X)

    @custom_vjp
    def first(x: Any, y: Any) -> Any:
        return x + y

    first.defvjp(lambda x, y: (first(x, y), None), lambda _, g: (g, None))
    assert fungrad.grad(first, (0, 1))(1.0, 2.0) == (1.0, 0.0)


def test_custom_vjp_pytree_residuals_and_int_args() -> None:
    @custom_vjp
    def f(d: Any, n: Any) -> Any:
        return d["a"] * fnp.sin(d["b"]) * n

    def fwd(d: Any, n: Any) -> Any:
        return f(d, n), {"sin": fnp.sin(d["b"]), "cos": fnp.cos(d["b"]), "d": d, "n": n}

    def bwd(r: Any, g: Any) -> Any:
        return {"a": g * r["sin"] * r["n"], "b": g * r["d"]["a"] * r["cos"] * r["n"]}, None

    f.defvjp(fwd, bwd)
    d = {"a": 2.0, "b": 0.5}
    g = fungrad.grad(f)(d, np.int64(3))
    np.testing.assert_allclose([g["a"], g["b"]], [3 * np.sin(0.5), 6 * np.cos(0.5)], rtol=1e-15)


def test_custom_vjp_vmap_matches_loop() -> None:
    xs = np.linspace(-2, 2, 5)

    @custom_vjp
    def scaled(x: Any, a: Any) -> Any:
        return x * a

    scaled.defvjp(lambda x, a: (scaled(x, a), (x, a)),
                  lambda r, g: (3.0 * g * r[1], 3.0 * g * r[0]))
    f = fungrad.vmap(scaled, in_axes=(0, None))
    np.testing.assert_allclose(f(xs, 2.0), 2 * xs)
    gx, ga = fungrad.grad(lambda x, a: fnp.sum(f(x, a)), (0, 1))(xs, 2.0)
    loop = [fungrad.grad(scaled, (0, 1))(x, 2.0) for x in xs]
    np.testing.assert_allclose(gx, [l[0] for l in loop], rtol=1e-15)
    np.testing.assert_allclose(ga, sum(l[1] for l in loop), rtol=1e-14)  # unbatched: summed
    g = fungrad.grad(sin2v)
    np.testing.assert_allclose(fungrad.vmap(g)(xs), [g(x) for x in xs], rtol=1e-15)
    np.testing.assert_allclose(fungrad.vmap(fungrad.hessian(cube))(xs), 6 * xs, rtol=1e-14)


def test_custom_vjp_staged_as_one_equation() -> None:
    jaxpr = fungrad.make_jaxpr(sin2v)(X)
    assert [e.primitive.name for e in jaxpr.eqns] == ["custom_vjp_call"]
    np.testing.assert_allclose(fungrad.jit(fungrad.grad(lambda x: fnp.sum(sin2v(x))))(X),
                               2 * np.cos(X), rtol=1e-14)
    np.testing.assert_allclose(fungrad.grad(lambda x: fnp.sum(fungrad.jit(sin2v)(x)))(X),
                               2 * np.cos(X), rtol=1e-14)


def test_custom_vjp_errors() -> None:
    f = custom_vjp(lambda x, y: x * y)
    with pytest.raises(AttributeError, match="No VJP"):
        f(1.0, 2.0)
    f.defvjp(lambda x, y: (f(x, y), None), lambda r, g: (g,))
    with pytest.raises(TypeError, match="one cotangent per differentiable argument"):
        fungrad.grad(f)(1.0, 2.0)
    f.defvjp(lambda x, y: (f(x, y), None), lambda r, g: (fnp.ones(2), g))
    with pytest.raises(ValueError, match="shape"):
        fungrad.grad(f)(1.0, 2.0)
    f.defvjp(lambda x, y: f(x, y), lambda r, g: (g, g))
    with pytest.raises(TypeError, match="pair"):
        fungrad.grad(f)(1.0, 2.0)

    def closes_over(w: Any) -> Any:
        g = custom_vjp(lambda x: x * w)
        g.defvjp(lambda x: (g(x), None), lambda r, ct: (ct * w,))
        return g(2.0)
    with pytest.raises(NotDifferentiableError, match="closes over"):
        fungrad.grad(closes_over)(1.0)
