"""``check_grads``: derivatives checked against central finite differences, to any order.

Forward mode is compared with finite differences along random directions; reverse mode with
forward mode through the adjoint identity ``<u, J v> == <J^T u, v>``. Each order recurses on the
directional derivative, so ``order=2`` checks the second derivatives of every mode.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.api import jvp, vjp
from fungrad.tree_util import tree_leaves, tree_map

_DEFAULT_EPS = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 3e-3}
_DEFAULT_TOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 2e-2}


def _inner(xs: Sequence[Any], ys: Sequence[Any]) -> float:
    return float(sum(np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64))
                     for x, y in zip(xs, ys)))


def _flat(tree: Any) -> list[Any]:
    return [np.asarray(x) for x in tree_leaves(tree)]


def _random_like(x: Any, rng: np.random.Generator) -> Any:
    x = np.asarray(x)
    return rng.standard_normal(x.shape).astype(x.dtype)


def _close(a: Any, b: Any, tol: float, what: str) -> None:
    for x, y in zip(_flat(a), _flat(b)):
        x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
        scale = max(1.0, float(np.max(np.abs(y64), initial=0.0)))
        err = float(np.max(np.abs(x64 - y64), initial=0.0))
        if not err <= tol * scale:
            raise AssertionError(f"{what}: max error {err:.3g} > tolerance {tol * scale:.3g}\n"
                                 f"got      {x}\nexpected {y}")


def _numerical_jvp(f: Callable[..., Any], args: Sequence[Any], v: Sequence[Any],
                   eps: float) -> list[Any]:
    plus = f(*[np.asarray(a + eps * d, np.asarray(a).dtype) for a, d in zip(args, v)])
    minus = f(*[np.asarray(a - eps * d, np.asarray(a).dtype) for a, d in zip(args, v)])
    return [(np.asarray(p, np.float64) - np.asarray(m, np.float64)) / (2 * eps)
            for p, m in zip(_flat(plus), _flat(minus))]


def check_jvp(f: Callable[..., Any], args: Sequence[Any], eps: float, tol: float,
              rng: np.random.Generator) -> None:
    """Forward mode against central differences along a random direction."""
    v = [_random_like(a, rng) for a in args]
    _, tangent = jvp(f, tuple(args), tuple(v))
    _close(tangent, _numerical_jvp(f, args, v, eps), tol, "JVP vs finite differences")


def check_vjp(f: Callable[..., Any], args: Sequence[Any], tol: float,
              rng: np.random.Generator, eps: float | None = None) -> None:
    """Reverse mode against forward mode: <u, J v> == <J^T u, v>.

    With ``eps`` (reverse mode checked alone, e.g. for a ``custom_vjp`` function, which has no
    forward mode) ``J v`` comes from central differences instead.
    """
    v = [_random_like(a, rng) for a in args]
    if eps is None:
        out, tangent = jvp(f, tuple(args), tuple(v))
    else:
        out, tangent = f(*args), _numerical_jvp(f, args, v, eps)
    out2, pullback = vjp(f, *args)
    u = tree_map(lambda o: _random_like(o, rng), out)
    _close(out2, out, tol, "vjp primal output vs jvp primal output")
    cts = pullback(u)
    lhs, rhs = _inner(_flat(u), _flat(tangent)), _inner(_flat(cts), v)
    if not abs(lhs - rhs) <= tol * max(1.0, abs(lhs), abs(rhs)):
        raise AssertionError(f"VJP vs JVP: <u, Jv> = {lhs!r} but <J^T u, v> = {rhs!r}")


def check_grads(f: Callable[..., Any], args: Sequence[Any], order: int = 2,
                modes: Sequence[str] = ("fwd", "rev"), atol: float | None = None,
                rtol: float | None = None, eps: float | None = None, seed: int = 0) -> None:
    """Check ``f``'s derivatives at ``args`` up to ``order`` in the given ``modes``.

    >>> import fungrad.numpy as fnp, numpy as np
    >>> check_grads(fnp.sin, (np.array([0.3, 1.2]),), order=2)
    """
    args = [np.asarray(a) for a in args]
    dtype = np.result_type(*args)
    eps = eps or _DEFAULT_EPS.get(dtype, 1e-5)
    tol = max(atol or 0.0, rtol or 0.0) or _DEFAULT_TOL.get(dtype, 1e-5)
    rng = np.random.default_rng(seed)
    if "fwd" in modes:
        check_jvp(f, args, eps, tol, rng)
    if "rev" in modes:
        check_vjp(f, args, tol, rng, None if "fwd" in modes else eps)
    if order > 1:
        v = [_random_like(a, rng) for a in args]
        if "fwd" in modes:
            def f_jvp(*xs: Any) -> Any:
                return jvp(f, tuple(xs), tuple(v))[1]
            check_grads(f_jvp, args, order - 1, modes, atol, rtol, eps, seed + 1)
        if "rev" in modes:
            u = tree_map(lambda o: _random_like(o, rng), f(*args))

            def f_vjp(*xs: Any) -> Any:
                return vjp(f, *xs)[1](u)
            check_grads(f_vjp, args, order - 1, modes, atol, rtol, eps, seed + 1)
