"""Tracer array behaviour (operators, properties, methods) inside transforms, against NumPy arrays.

Every function below is written once and run on NumPy arrays and on tracers (values through
``jvp``/``vmap``, types through ``make_jaxpr``); each line can fail on its own.
"""
from __future__ import annotations

import copy
import operator
from typing import Any, Callable

import math

import numpy as np
import pytest

import fungrad
from fungrad.errors import ConcretizationError, TracedAssignmentError, TracerArrayConversionError
from test_numpy_util import assert_like_numpy

A = np.array([[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]])
B = np.array([1.5, 2.0, -0.5])
I = np.array([[3, -2, 7], [0, 5, -4]])
J = np.array([2, 3, 1])

BINARY = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lt", "le", "gt", "ge",
          "eq", "ne"]
FLOAT_FUNCS: list[tuple[str, Callable[..., Any]]] = [
    *((op, (lambda f: lambda x, y: f(x, y))(getattr(operator, op))) for op in BINARY),
    *(("r" + op, (lambda f: lambda x, y: f(2.5, x))(getattr(operator, op))) for op in BINARY),
    ("matmul", lambda x, y: x @ y), ("rmatmul", lambda x, y: B[:2] @ x),
    ("neg_pos_abs", lambda x, y: (-x, +x, abs(x))),
    ("divmod", lambda x, y: divmod(x, y)), ("rdivmod", lambda x, y: divmod(5.0, y)),
    ("T", lambda x, y: x.T), ("mT", lambda x, y: x.mT),
    ("real_imag_conj", lambda x, y: (x.real, x.imag, x.conj(), x.conjugate())),
    ("sum", lambda x, y: (x.sum(), x.sum(0), x.sum(axis=1, keepdims=True))),
    ("mean_prod", lambda x, y: (x.mean(1), x.prod(0))),
    ("max_min", lambda x, y: (x.max(), x.min(axis=0, keepdims=True))),
    ("argmax_argmin", lambda x, y: (x.argmax(), x.argmin(axis=1))),
    ("any_all", lambda x, y: (x.any(), x.all(axis=0))),
    ("std_var", lambda x, y: (x.std(), x.var(axis=1, ddof=1))),
    ("cumsum_cumprod", lambda x, y: (x.cumsum(), x.cumprod(axis=1))),
    ("reshape", lambda x, y: (x.reshape(3, 2), x.reshape((-1,)), x.reshape(-1, 1),
                              x.reshape([np.int64(2), 3]), x.reshape(np.int64(6)))),
    ("transpose", lambda x, y: (x.transpose(), x.transpose(1, 0), x.transpose((1, 0)),
                                x.transpose(None), x.transpose(np.int64(1), 0))),
    ("swapaxes", lambda x, y: x.swapaxes(0, 1)),
    ("astype", lambda x, y: (x.astype(np.float32), x.astype(np.int64))),
    ("ravel_flatten", lambda x, y: (x.ravel(), x.flatten())),
    ("squeeze", lambda x, y: x[None].squeeze()),
    ("dot", lambda x, y: x.dot(y)),
    ("clip", lambda x, y: (x.clip(-1, 1), x.clip(max=0.5))),
    ("round", lambda x, y: (x.round(), x.round(1))),
    ("argsort", lambda x, y: (x.argsort(), x.argsort(axis=0))),
    ("trace_diagonal", lambda x, y: (x.trace(), x.diagonal(1))),
    ("repeat_take", lambda x, y: (x.repeat(2, axis=0), x.take([0, 2], axis=1))),
    ("getitem", lambda x, y: (x[1], x[:, ::-1], x[..., None], x[[1, 0, 1]])),
    ("iter_len", lambda x, y: (list(x)[1], np.asarray(len(x)))),
    ("copy", lambda x, y: (x.copy(), copy.copy(x), copy.deepcopy(x))),
]

INT_FUNCS: list[tuple[str, Callable[..., Any]]] = [
    ("and_or_xor", lambda i, j: (i & j, i | j, i ^ j, 6 & i, 6 | i, 6 ^ i)),
    ("invert", lambda i, j: ~i),
    ("shifts", lambda i, j: (i << j, i >> j, 1 << j, 64 >> j)),
    ("int_arith", lambda i, j: (i + j, i - 1, i * 3, i // j, i % j, -i, i ** 2, 2 ** j)),
    ("int_div", lambda i, j: (i / j, 1 / j)),
    ("bool_ops", lambda i, j: ((i > 0) & (j > 1), ~(i > 0), (i > 0) | (j < 2))),
]


def _values_via_vmap(fn: Callable[..., Any], x: Any, y: Any) -> Any:
    """``fn`` run on BatchTracers (a batch of two identical examples), first example."""
    out = fungrad.vmap(fn)(np.stack([x, x]), np.stack([y, y]))
    return fungrad.tree_util.tree_map(lambda o: o[0], out)


@pytest.mark.parametrize("name,fn", FLOAT_FUNCS, ids=[f[0] for f in FLOAT_FUNCS])
def test_float_tracer_behaviour(name: str, fn: Callable[..., Any]) -> None:
    want = fn(A, B)
    primal, _ = fungrad.jvp(fn, (A, B), (np.ones_like(A), np.ones_like(B)))
    assert_like_numpy(primal, want)
    assert_like_numpy(_values_via_vmap(fn, A, B), want)
    jaxpr = fungrad.make_jaxpr(fn)(A, B)
    leaves = fungrad.tree_util.tree_leaves(want)
    assert [(a.shape, a.dtype) for a in jaxpr.out_avals] == \
        [(np.shape(w), np.asarray(w).dtype) for w in leaves]


@pytest.mark.parametrize("name,fn", INT_FUNCS, ids=[f[0] for f in INT_FUNCS])
def test_int_tracer_behaviour(name: str, fn: Callable[..., Any]) -> None:
    want = fn(I, J)
    assert_like_numpy(_values_via_vmap(fn, I, J), want)
    jaxpr = fungrad.make_jaxpr(fn)(I, J)
    assert [(a.shape, a.dtype) for a in jaxpr.out_avals] == \
        [(np.shape(w), np.asarray(w).dtype) for w in fungrad.tree_util.tree_leaves(want)]


def test_operator_gradients() -> None:
    def f(x: Any) -> Any:
        y = (x * 2.0 + 1.0) / (x - 5.0) - 3.0 ** x + x ** 2 + (2.0 - x) @ x
        return (-y).sum() + abs(x).mean()
    x = np.array([0.5, 1.5, -2.0])
    g = fungrad.grad(f)(x)
    fd = np.array([(f(x + e) - f(x - e)) / 2e-6 for e in np.eye(3) * 1e-6])
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_properties() -> None:
    def check(x: Any) -> Any:
        assert (x.shape, x.ndim, x.size, x.dtype) == (A.shape, 2, 6, A.dtype)
        assert (x.itemsize, x.nbytes) == (8, 48)
        return x
    fungrad.make_jaxpr(check)(A)
    fungrad.grad(lambda x: check(x).sum())(A)


def test_conversions_are_concrete_only_where_possible() -> None:
    # without jit, primal values are concrete during grad: Python control flow works
    g = fungrad.grad(lambda x: x * 2.0 if x > 0 else x * 3.0)
    assert g(1.0) == 2.0 and g(-1.0) == 3.0
    # a Python number would drop the derivative silently: refused, as in JAX
    for convert in (float, int, complex, lambda x: x.item(), lambda x: x.tolist(), np.float64,
                    math.sin):
        with pytest.raises((ConcretizationError, TracerArrayConversionError),
                           match="test_array_methods.py"):
            fungrad.grad(lambda x: x * convert(x))(2.0)
    const = fungrad.grad(lambda x: x * float(fungrad.lax.stop_gradient(x)))(2.0)
    assert const == 2.0
    n = fungrad.grad(lambda x, n: x * int(n), argnums=(0, 1), allow_int=True)(2.0, 3)
    assert n[0] == 3.0
    with pytest.raises(ConcretizationError, match="test_array_methods.py"):
        fungrad.make_jaxpr(lambda x: x * 2.0 if x > 0 else x)(1.0)
    with pytest.raises(TracerArrayConversionError, match="fungrad.numpy"):
        fungrad.make_jaxpr(lambda x: np.sin(np.asarray(x)))(A)


def test_immutability_and_hashing() -> None:
    def assign(x: Any) -> Any:
        x[0] = 1.0
        return x
    with pytest.raises(TracedAssignmentError, match=r"\.at\[idx\]\.set"):
        fungrad.make_jaxpr(assign)(A)
    with pytest.raises(TypeError):
        fungrad.make_jaxpr(lambda x: hash(x))(A)


def test_at_property_on_tracers() -> None:
    f = lambda x: x.at[0, 1].set(9.0).at[1].add(1.0).at[:, 0].multiply(2.0)  # noqa: E731
    want = A.copy()
    want[0, 1] = 9.0
    want[1] += 1.0
    want[:, 0] *= 2.0
    assert_like_numpy(fungrad.jvp(f, (A,), (A,))[0], want)
    assert_like_numpy(fungrad.vmap(f)(np.stack([A, A]))[1], want)
    g = fungrad.grad(lambda x: f(x).sum())(A)
    assert_like_numpy(g, np.array([[2.0, 0.0, 1.0], [2.0, 1.0, 1.0]]))


def test_methods_numpy_lacks_or_does_in_place() -> None:
    # ndarray.sort sorts in place and NumPy 2 dropped ndarray.ptp; tracers follow JAX
    out = fungrad.jvp(lambda x: (x.sort(), x.sort(axis=0), x.ptp(axis=1)), (A,), (A,))[0]
    assert_like_numpy(out, (np.sort(A), np.sort(A, axis=0), np.ptp(A, axis=1)))
