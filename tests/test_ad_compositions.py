"""Transforms composed with each other, against closed forms: a cross-product table.

Each function f: R^n -> R comes with its gradient g, Hessian H and third-derivative tensor T
written out in NumPy. Each "view" is a composition of transforms (grad of grad, jacfwd of
jacrev, jvp of grad, hvp, third-order towers, vmap and jit around them ...) together with the
closed form it must equal. Every view is checked on every function.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
import fungrad.numpy as fnp
from fungrad import grad, hessian, jacfwd, jacrev, jvp, vjp

N = 3
W = np.array([[0.7, -1.1, 0.4], [0.2, 0.9, -0.6]])
B = np.array([0.1, -0.3])
V = np.array([1.3, -0.8])


@dataclass
class Fn:
    name: str
    f: Callable[[Any], Any]
    g: Callable[[Any], Any]
    H: Callable[[Any], Any]
    T: Callable[[Any], Any]


def diag3(d: Any) -> Any:
    t = np.zeros((len(d),) * 3)
    t[np.arange(len(d)), np.arange(len(d)), np.arange(len(d))] = d
    return t


def lse_T(x: Any) -> Any:
    p = np.exp(x - np.log(np.sum(np.exp(x))))
    I = np.eye(len(x))
    dp = np.diag(p) - np.outer(p, p)  # dp_i/dx_k
    # H_ij = p_i d_ij - p_i p_j;  T_ijk = dH_ij/dx_k
    return (np.einsum("ik,ij->ijk", dp, I) - np.einsum("ik,j->ijk", dp, p)
            - np.einsum("i,jk->ijk", p, dp))


def mlp_parts(x: Any) -> tuple[Any, Any, Any, Any]:
    t = np.tanh(W @ x + B)
    d1 = 1 - t ** 2
    return t, d1, -2 * t * d1, -2 * d1 * (1 - 3 * t ** 2)


def softmax(x: Any) -> Any:
    e = np.exp(x - x.max())
    return e / e.sum()


FNS = [
    Fn("cubic", lambda x: fnp.sum(x ** 3 + 2 * x ** 2 - x),
       lambda x: 3 * x ** 2 + 4 * x - 1, lambda x: np.diag(6 * x + 4),
       lambda x: diag3(6 * np.ones_like(x))),
    Fn("coupled_poly", lambda x: fnp.sum(x) ** 3,
       lambda x: 3 * np.sum(x) ** 2 * np.ones_like(x),
       lambda x: 6 * np.sum(x) * np.ones((N, N)), lambda x: 6 * np.ones((N, N, N))),
    Fn("sin_exp", lambda x: fnp.sum(fnp.sin(x) * fnp.exp(x)),
       lambda x: np.exp(x) * (np.sin(x) + np.cos(x)), lambda x: np.diag(2 * np.exp(x) * np.cos(x)),
       lambda x: diag3(2 * np.exp(x) * (np.cos(x) - np.sin(x)))),
    Fn("logsumexp", lambda x: fnp.log(fnp.sum(fnp.exp(x))), softmax,
       lambda x: np.diag(softmax(x)) - np.outer(softmax(x), softmax(x)), lse_T),
    Fn("mlp", lambda x: fnp.sum(fnp.tanh(W @ x + B) * V),
       lambda x: W.T @ (V * mlp_parts(x)[1]),
       lambda x: W.T @ np.diag(V * mlp_parts(x)[2]) @ W,
       lambda x: np.einsum("ai,aj,ak,a->ijk", W, W, W, V * mlp_parts(x)[3])),
]


def line(fn: Fn, x: Any, u: Any) -> Callable[[Any], Any]:
    """phi(s) = f(x + s u): a scalar function, for towers of plain ``grad``."""
    return lambda s: fn.f(x + s * u)


# Each view: (transform of fn at x, direction u) -> (got, want).
View = Callable[[Fn, Any, Any], tuple[Any, Any]]
VIEWS: dict[str, View] = {
    "grad": lambda fn, x, u: (grad(fn.f)(x), fn.g(x)),
    "grad_grad_line": lambda fn, x, u: (grad(grad(line(fn, x, u)))(0.0), u @ fn.H(x) @ u),
    "grad_grad_grad_line": lambda fn, x, u: (grad(grad(grad(line(fn, x, u))))(0.0),
                                             np.einsum("ijk,i,j,k->", fn.T(x), u, u, u)),
    "grad_of_directional_grad": lambda fn, x, u: (grad(lambda y: grad(fn.f)(y) @ u)(x),
                                                  fn.H(x) @ u),
    "jacfwd_jacrev": lambda fn, x, u: (jacfwd(jacrev(fn.f))(x), fn.H(x)),
    "jacrev_jacfwd": lambda fn, x, u: (jacrev(jacfwd(fn.f))(x), fn.H(x)),
    "jacrev_jacrev": lambda fn, x, u: (jacrev(jacrev(fn.f))(x), fn.H(x)),
    "jacfwd_jacfwd": lambda fn, x, u: (jacfwd(jacfwd(fn.f))(x), fn.H(x)),
    "hessian": lambda fn, x, u: (hessian(fn.f)(x), fn.H(x)),
    "jvp_grad": lambda fn, x, u: (jvp(grad(fn.f), (x,), (u,))[1], fn.H(x) @ u),
    "vjp_grad": lambda fn, x, u: (vjp(grad(fn.f), x)[1](u)[0], fn.H(x) @ u),
    "linearize_grad": lambda fn, x, u: (fungrad.linearize(grad(fn.f), x)[1](u), fn.H(x) @ u),
    "hvp": lambda fn, x, u: (fungrad.hvp(fn.f, (x,), (u,)), fn.H(x) @ u),
    "jacfwd_hessian": lambda fn, x, u: (jacfwd(hessian(fn.f))(x), fn.T(x)),
    "jacrev_jacrev_jacrev": lambda fn, x, u: (jacrev(jacrev(jacrev(fn.f)))(x), fn.T(x)),
    "jvp_jvp_grad": lambda fn, x, u: (
        jvp(lambda y: jvp(grad(fn.f), (y,), (u,))[1], (x,), (u,))[1],
        np.einsum("ijk,j,k->i", fn.T(x), u, u)),
    "vmap_grad": lambda fn, x, u: (fungrad.vmap(grad(fn.f))(np.stack([x, u])),
                                   np.stack([fn.g(x), fn.g(u)])),
    "vmap_hessian": lambda fn, x, u: (fungrad.vmap(hessian(fn.f))(np.stack([x, u])),
                                      np.stack([fn.H(x), fn.H(u)])),
    "jit_grad": lambda fn, x, u: (fungrad.jit(grad(fn.f))(x), fn.g(x)),
    "grad_jit": lambda fn, x, u: (grad(fungrad.jit(fn.f))(x), fn.g(x)),
    "jit_hessian": lambda fn, x, u: (fungrad.jit(hessian(fn.f))(x), fn.H(x)),
}

points = arrays(np.float64, N, elements=st.floats(-1.5, 1.5))


@pytest.mark.parametrize("view", list(VIEWS), ids=list(VIEWS))
@pytest.mark.parametrize("fn", FNS, ids=[f.name for f in FNS])
@settings(max_examples=4)
@given(x=points, u=points)
def test_composition_matches_closed_form(fn: Fn, view: str, x: Any, u: Any) -> None:
    got, want = VIEWS[view](fn, x, u)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_function_values() -> None:
    x = np.array([0.3, -0.7, 1.2])
    want = [np.sum(x ** 3 + 2 * x ** 2 - x), np.sum(x) ** 3, np.sum(np.sin(x) * np.exp(x)),
            np.log(np.sum(np.exp(x))), np.sum(np.tanh(W @ x + B) * V)]
    np.testing.assert_allclose([fn.f(x) for fn in FNS], want, rtol=1e-14)


# ---------------------------------------------------------------- perturbation confusion

@given(st.floats(-5, 5), st.floats(-5, 5))
def test_perturbation_confusion(x: float, y0: float) -> None:
    """d/dx [x * d/dy (x + y)] = 1: the inner derivative must not see the outer x's tangent."""
    assert grad(lambda x: x * grad(lambda y: x + y)(y0))(x) == 1.0
    _, t = jvp(lambda x: x * jvp(lambda y: x + y, (y0,), (1.0,))[1], (x,), (1.0,))
    assert t == 1.0
    # d/dx [x * d/dy (x y)] = d/dx x^2 = 2x
    np.testing.assert_allclose(grad(lambda x: x * grad(lambda y: x * y)(y0))(x), 2 * x,
                               rtol=1e-15, atol=1e-300)
    # mixed modes: reverse over forward and forward over reverse
    _, t = jvp(lambda x: x * grad(lambda y: x * y)(y0), (x,), (1.0,))
    np.testing.assert_allclose(t, 2 * x, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(grad(lambda x: x * jvp(lambda y: x * y, (y0,), (1.0,))[1])(x),
                               2 * x, rtol=1e-15, atol=1e-300)


def test_perturbation_confusion_vector() -> None:
    x = np.array([0.5, -1.0])
    # sum(sum(x) * d/dy sum(x * y)) = sum(x) * sum(x), whose gradient is 2 sum(x) everywhere
    g = grad(lambda x: fnp.sum(fnp.sum(x) * grad(lambda y: fnp.sum(x * y))(np.ones(2))))(x)
    np.testing.assert_allclose(g, 2 * np.sum(x) * np.ones(2), rtol=1e-15)
