"""jit folds element moves on known values while it traces (``passes.fold_while_tracing``):
those equations are never staged, the values are right, and the optimized programs come out as
without it (same primitives, same consts, bit-identical results)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.compiler import passes
from fungrad.compiler.codegen import compile_jaxpr
from fungrad.core import get_aval
from fungrad.interpreters.staging import trace_to_jaxpr
from fungrad.ir import Jaxpr
from fungrad.typecheck import typecheck_jaxpr

c23 = np.arange(6.0).reshape(2, 3) - 2.5


def traced(f: Callable[..., Any], args: tuple[Any, ...], fold: Any) -> Jaxpr:
    jaxpr = trace_to_jaxpr(lambda *xs: list(f(*xs)), [get_aval(a) for a in args], fold=fold)
    typecheck_jaxpr(jaxpr)
    return jaxpr


def prims(jaxpr: Jaxpr) -> list[str]:
    return [e.primitive.name for e in jaxpr.eqns]


def moves(x: Any) -> tuple[Any, ...]:
    """Known values through every element move, then into the traced ``x``."""
    k = lax.rev(lax.transpose(lax.neg(c23), (1, 0)), (0,))           # (3, 2)
    k = lax.reshape(lax.slice(k, (1, 0), (3, 2)), (4,))               # gather, reshape
    return (x * k, x + fnp.take(k, np.array([3, 0, 1, 2])))


def test_element_moves_of_known_values_are_not_staged() -> None:
    x = np.array([0.5, -1.0, 2.0, 4.0])
    folded = traced(moves, (x,), passes.fold_while_tracing)
    assert prims(folded) == ["mul", "add"]
    assert len(prims(traced(moves, (x,), None))) > 6   # make_jaxpr's way: every operation
    assert "neg" in prims(fungrad.make_jaxpr(moves)(x))
    want = [np.asarray(v) for v in moves(x)]
    for got in (compile_jaxpr(folded).fn(x), fungrad.jit(moves)(x)):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_what_is_left_to_the_passes() -> None:
    """Arithmetic, scalars, big results and an outer transform's values stay equations."""
    x = np.array([1.0, 2.0])
    kept = traced(lambda x: (x * lax.mul(c23[0, :2], 2.0), x * lax.reshape(c23[:1, :1], ())),
                  (x,), passes.fold_while_tracing)
    assert prims(kept) == ["mul", "mul", "reshape", "mul"]
    rows, cols = np.zeros((40, 1), np.int64), np.arange(40).reshape(1, 40) % 3
    big = traced(lambda x: (x[0] * lax.gather(c23, (rows, cols)),), (x,), passes.fold_while_tracing)
    assert "gather" in prims(big) and all(np.size(c) < 1600 for c in big.consts)
    g = fungrad.grad(lambda y: fungrad.jit(lambda x: (x * lax.neg(lax.reshape(y, (2,)))).sum())(x))
    np.testing.assert_array_equal(g(np.array([[3.0], [4.0]])), -x.reshape(2, 1))


def nist_like() -> list[tuple[str, Callable[..., Any], np.ndarray]]:
    """Residuals of the shapes the NIST problems have, with their Jacobians both ways."""
    xs = np.linspace(0.5, 3.0, 7)
    models: list[tuple[Callable[..., Any], np.ndarray]] = [
        (lambda b: b[0] * (1.0 - fnp.exp(-b[1] * xs)), np.array([2.0, 0.3])),
        (lambda b: b[0] * xs ** b[1], np.array([1.5, 2.5])),
        (lambda b: (b[0] + b[1] * xs + b[2] * xs ** 2) / (1.0 + b[3] * xs), np.array([1.0, 2.0, 0.5, 0.1])),
        (lambda b: b[0] * fnp.exp(-(xs - b[1]) ** 2 / b[2] ** 2), np.array([3.0, 1.0, 0.7])),
        (lambda b: b[0] - b[1] * fnp.cos(2.0 * np.pi * xs / b[2]), np.array([1.0, 0.5, 12.0])),
        (lambda b: b * lax.reshape(np.array([2.0]), ()), np.array([1.0, 2.0])),
    ]
    out = []
    for i, (f, b) in enumerate(models):
        out += [(f"fwd{i}", fungrad.jacfwd(f), b), (f"rev{i}", fungrad.jacrev(f), b),
                (f"value{i}", f, b)]
    return out


@pytest.mark.parametrize("name,f,b", nist_like(), ids=[n for n, _, _ in nist_like()])
def test_programs_come_out_as_without_folding(name: str, f: Any, b: np.ndarray) -> None:
    plain, folded = (passes.optimize(traced(lambda b: (f(b),), (b,), fold))
                     for fold in (None, passes.fold_while_tracing))
    assert prims(folded) == prims(plain)
    assert sorted((c.shape, c.tobytes()) for c in map(np.asarray, folded.consts)) == \
        sorted((c.shape, c.tobytes()) for c in map(np.asarray, plain.consts))
    for bb in (b, b * 1.7 - 0.2):
        np.testing.assert_array_equal(compile_jaxpr(folded).fn(bb)[0],
                                      compile_jaxpr(plain).fn(bb)[0])
        np.testing.assert_array_equal(fungrad.jit(f)(bb), compile_jaxpr(plain).fn(bb)[0])
