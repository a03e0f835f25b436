"""autograd's gradient checks, over fungrad's ``jvp``/``vjp`` (JAX's complex convention).

``check_grads(f, argnum=0, modes=None, order=2)(*args)`` checks forward mode against central
differences and reverse mode against forward mode through ``Re<u, J v> == Re<J^T u, v>``,
recursing on the directional derivatives up to ``order``.
"""
from __future__ import annotations

from itertools import product
from typing import Any, Callable

import numpy as onp

import fungrad
from fungrad.tree_util import tree_leaves, tree_map

TOL = 1e-6
RTOL = 1e-6
EPS = 1e-6


def scalar_close(a: Any, b: Any) -> bool:
    return bool(abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL)


def _randn(x: Any) -> Any:
    def leaf(a: Any) -> Any:
        a = onp.asarray(a)
        if onp.iscomplexobj(a):
            return onp.random.randn(*a.shape) + 1j * onp.random.randn(*a.shape)
        return onp.random.randn(*a.shape)
    return tree_map(leaf, x)


def _pair(x: Any, y: Any) -> float:
    """The real pairing ``Re sum(x * y)`` under which JAX's vjp is the transpose of its jvp."""
    return float(sum(onp.real(onp.sum(onp.asarray(a) * onp.asarray(b)))
                     for a, b in zip(tree_leaves(x), tree_leaves(y))))


def _axpy(a: float, x: Any, y: Any) -> Any:
    return tree_map(lambda u, v: onp.asarray(v) + a * onp.asarray(u), x, y)


def _as_float(x: Any) -> Any:
    return tree_map(lambda a: onp.asarray(a, onp.result_type(a, float)), x)


def _numerical_jvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    return tree_map(lambda p, m: (onp.asarray(p) - onp.asarray(m)) / EPS,
                    f(_axpy(EPS / 2, v, x)), f(_axpy(-EPS / 2, v, x)))


def check_jvp(f: Callable[..., Any], x: Any) -> None:
    v = _randn(x)
    _, exact = fungrad.jvp(f, (x,), (v,))
    check_equivalent(exact, _numerical_jvp(f, x, v))


def check_vjp(f: Callable[..., Any], x: Any) -> None:
    y, pullback = fungrad.vjp(f, x)
    u, v = _randn(y), _randn(x)
    (vjp_u,) = pullback(u)
    exact, numeric = _pair(vjp_u, v), _pair(u, _numerical_jvp(f, x, v))
    assert scalar_close(numeric, exact), (
        f"Derivative (VJP) check of {getattr(f, '__name__', 'f')} failed with arg {x}:\n"
        f"analytic: {exact}\nnumeric:  {numeric}")


def check_equivalent(x: Any, y: Any) -> None:
    v = _randn(x)
    a = _pair(tree_map(onp.conj, x), v)
    b = _pair(tree_map(onp.conj, y), v)
    assert scalar_close(a, b), f"Value mismatch:\nx: {x}\ny: {y}"


def check_grads(f: Callable[..., Any], argnum: Any = 0, modes: Any = None,
                order: int = 2) -> Callable[..., None]:
    """``check_grads(f, argnum, modes, order)(*args, **kwargs)`` as in autograd."""
    modes = ["fwd", "rev"] if modes is None else modes
    assert all(m in ["fwd", "rev"] for m in modes)

    def check(*args: Any, **kwargs: Any) -> None:
        nums = argnum if isinstance(argnum, (tuple, list)) else (argnum,)
        x0 = _as_float(tuple(args[i] for i in nums))

        def unary(x: Any) -> Any:
            full = list(args)
            for i, xi in zip(nums, x):
                full[i] = xi
            return f(*full, **kwargs)

        if not isinstance(argnum, (tuple, list)):
            x0 = x0[0]
            fun = lambda x: unary((x,))
        else:
            fun = unary
        fun.__name__ = getattr(f, "__name__", "f")
        _check(fun, x0, modes, order)
    return check


def _check(f: Callable[..., Any], x: Any, modes: Any, order: int) -> None:
    if "fwd" in modes:
        check_jvp(f, x)
        if order > 1:
            _check(lambda xv: fungrad.jvp(f, (xv[0],), (xv[1],))[1], (x, _randn(x)), modes, order - 1)
    if "rev" in modes:
        check_vjp(f, x)
        if order > 1:
            y = f(x)
            _check(lambda xv: fungrad.vjp(f, xv[0])[1](xv[1])[0], (x, _randn(y)), modes, order - 1)


def combo_check(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., None]:
    """Check every combination of the given argument and keyword values."""
    def _combo_check(*arg_lists: Any, **kwarg_lists: Any) -> None:
        kwarg_key_vals = [[(k, x) for x in xs] for k, xs in kwarg_lists.items()]
        for _args in product(*arg_lists):
            for _kwargs in product(*kwarg_key_vals):
                check_grads(fun, *args, **kwargs)(*_args, **dict(_kwargs))
    return _combo_check
