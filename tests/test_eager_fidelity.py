"""Eager fidelity: custom rules run on concrete values under eager differentiation, as in JAX.

Without ``jit``, a ``custom_jvp``/``custom_vjp`` function under ``grad``/``vjp``/``jvp`` (any order)
is never traced abstractly: the function runs on concrete values, the JVP rule on concrete
primals and tangent tracers, ``fwd``/``bwd`` on concrete values and residuals, so Python control
flow works inside all of them. Each program runs in fungrad and in JAX (same code, through a
namespace) and against closed forms; the rules are deliberately not the true derivative, so the
tests can tell that the rule was used.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad.errors import ConcretizationError, NotDifferentiableError


def _namespace(np_mod: Any, lib: Any) -> SimpleNamespace:
    """The custom-rule functions of the tests, defined by the same code for each library."""
    L = SimpleNamespace(np=np_mod, lib=lib)

    @lib.custom_jvp
    def branchy(x: Any) -> Any:            # Python `if` on the value, in function and rule
        if x > 0:
            return np_mod.sin(x)
        return x ** 3

    @branchy.defjvp
    def _branchy_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        if x > 0:
            return branchy(x), 2.0 * np_mod.cos(x) * t     # twice the true derivative
        return branchy(x), 3.0 * x ** 2 * t

    @lib.custom_vjp
    def looped(x: Any, n: int) -> Any:      # a Python loop whose count is a static argument
        for _ in range(n):
            x = np_mod.sin(x)
        return x

    def _looped_fwd(x: Any, n: int) -> Any:
        return looped(x, n), (x, n)

    def _looped_bwd(res: Any, ct: Any) -> Any:
        x, n = res
        d = 1.0
        for _ in range(int(n)):
            d, x = d * np_mod.cos(x), np_mod.sin(x)
        if res[0] > 0:                        # `if` on a residual: concrete in bwd
            d = 2.0 * d
        return (d * ct, None)

    looped.defvjp(_looped_fwd, _looped_bwd)
    L.branchy, L.looped = branchy, looped
    return L


FG = _namespace(fnp, fungrad)


def _jax() -> SimpleNamespace:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return _namespace(jax.numpy, jax)


def _branchy_d(x: float) -> float:
    return 2.0 * np.cos(x) if x > 0 else 3.0 * x ** 2


def _branchy_d2(x: float) -> float:
    return -2.0 * np.sin(x) if x > 0 else 6.0 * x


PROGRAMS: dict[str, Callable[[SimpleNamespace, float], Any]] = {
    "grad": lambda L, x: L.lib.grad(L.branchy)(x),
    "value_and_grad": lambda L, x: L.lib.value_and_grad(L.branchy)(x),
    "jvp": lambda L, x: L.lib.jvp(L.branchy, (x,), (1.5,)),
    "vjp": lambda L, x: L.lib.vjp(L.branchy, x)[1](2.0),
    "linearize": lambda L, x: L.lib.linearize(L.branchy, x)[1](0.5),
    "grad_grad": lambda L, x: L.lib.grad(L.lib.grad(L.branchy))(x),
    "grad3": lambda L, x: L.lib.grad(L.lib.grad(L.lib.grad(L.branchy)))(x),
    "hessian": lambda L, x: L.lib.hessian(L.branchy)(x),
    "jacfwd": lambda L, x: L.lib.jacfwd(L.branchy)(x),
    "jacrev": lambda L, x: L.lib.jacrev(L.branchy)(x),
    "python_loop_of_calls": lambda L, x: L.lib.grad(
        lambda v: sum(L.branchy(v[i]) * (i + 1) for i in range(3)))(x * L.np.array([1.0, -1, 2])),
    "vmap_unbatched_argument": lambda L, x: L.lib.vmap(
        lambda a: L.branchy(x) * a)(L.np.array([1.0, 2.0])),
    "grad_of_vmap_unbatched": lambda L, x: L.lib.grad(
        lambda y: L.lib.vmap(lambda a: L.branchy(y) * a)(L.np.array([1.0, 2.0])).sum())(x),
    "vjp_loop": lambda L, x: L.lib.grad(L.looped)(x, 3),
    "vjp_loop_value": lambda L, x: L.lib.vjp(lambda v: L.looped(v, 2), x)[1](1.0),
    "vjp_loop_second_order": lambda L, x: L.lib.grad(L.lib.grad(lambda v: L.looped(v, 1) * v))(x),
}


def _same(a: Any, b: Any) -> None:
    la, lb = fungrad.tree_util.tree_leaves(a), fungrad.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("x", [0.7, -0.4])
def test_python_control_flow_in_custom_rules_agrees_with_jax(name: str, x: float) -> None:
    JX = _jax()
    _same(PROGRAMS[name](FG, x), PROGRAMS[name](JX, x))


@given(st.floats(-2.0, 2.0).filter(lambda v: abs(v) > 1e-3))
def test_custom_rules_with_control_flow_against_closed_forms(x: float) -> None:
    np.testing.assert_allclose(fungrad.grad(FG.branchy)(x), _branchy_d(x), rtol=1e-14)
    np.testing.assert_allclose(fungrad.jvp(FG.branchy, (x,), (1.0,))[1], _branchy_d(x),
                               rtol=1e-14)
    np.testing.assert_allclose(fungrad.hessian(FG.branchy)(x), _branchy_d2(x), rtol=1e-13,
                               atol=1e-15)
    d = np.cos(x) * np.cos(np.sin(x))        # looped(x, 2) = sin(sin(x))
    np.testing.assert_allclose(fungrad.grad(FG.looped)(x, 2), d * (2.0 if x > 0 else 1.0),
                               rtol=1e-14)


def test_the_function_is_never_traced_abstractly_under_eager_differentiation() -> None:
    seen: list[type] = []

    @fungrad.custom_jvp
    def f(x: Any) -> Any:
        seen.append(type(x))
        return fnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), fnp.cos(p[0]) * t[0]))
    fungrad.grad(f)(0.3)
    fungrad.grad(fungrad.grad(f))(0.3)
    fungrad.jvp(f, (0.3,), (1.0,))
    fungrad.vjp(f, np.ones(2))[1](np.ones(2))
    assert seen and all(issubclass(t, (np.ndarray, float)) for t in seen), seen
    seen.clear()
    fungrad.jit(fungrad.grad(f))(0.3)    # under jit it is traced (as in JAX)
    assert seen and not any(issubclass(t, (np.ndarray, float)) for t in seen)


def test_under_jit_control_flow_is_a_clear_error_naming_the_line() -> None:
    with pytest.raises(ConcretizationError, match="lax.cond.*\n  at .*test_eager_fidelity"):
        fungrad.jit(fungrad.grad(FG.branchy))(0.5)
    with pytest.raises(ConcretizationError, match="vmap"):
        fungrad.vmap(fungrad.grad(FG.branchy))(np.array([0.5, -0.5]))


def test_closing_over_a_differentiated_value_is_still_an_error() -> None:
    def loss(w: Any, x: Any) -> Any:
        @fungrad.custom_jvp
        def f(x: Any) -> Any:
            return fnp.sin(x) * w

        f.defjvp(lambda p, t: (f(p[0]), fnp.cos(p[0]) * w * t[0]))
        return f(x)

    for argnums in [0, (0, 1)]:
        with pytest.raises(NotDifferentiableError, match="closes over"):
            fungrad.grad(loss, argnums)(1.7, 0.3)
    np.testing.assert_allclose(fungrad.grad(loss, 1)(1.7, 0.3), 1.7 * np.cos(0.3), rtol=1e-15)


def test_residuals_a_rule_closes_over_are_safe_from_later_edits() -> None:
    """The rule's saved values are copied only where they alias a caller's array."""
    w = np.array([1.0, 2.0, 3.0])

    @fungrad.custom_jvp
    def f(x: Any) -> Any:
        return x * w

    f.defjvp(lambda p, t: (f(p[0]), t[0] * w))

    @fungrad.custom_vjp
    def g(x: Any) -> Any:
        return x * w

    g.defvjp(lambda x: (x * w, w), lambda r, ct: (ct * r,))
    pulls = [fungrad.vjp(f, np.ones(3))[1], fungrad.vjp(g, np.ones(3))[1]]
    f_jvp = fungrad.linearize(f, np.ones(3))[1]
    w[:] = 0.0
    for pb in pulls:
        np.testing.assert_allclose(pb(np.ones(3))[0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(f_jvp(np.ones(3)), [1.0, 2.0, 3.0])
