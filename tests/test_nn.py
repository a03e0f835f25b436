"""fungrad.nn against NumPy closed forms (including very large and small inputs) and check_grads."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fungrad
import fungrad.nn as nn
import fungrad.numpy as fnp
from fungrad.test_util import check_grads
from test_numpy_util import assert_like_numpy, floats

_erf = np.vectorize(math.erf)


def _sigmoid(x: Any) -> Any:
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _softplus(x: Any) -> Any:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _lse(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


# name -> (fungrad function, NumPy closed form)
ACTIVATIONS: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = [
    ("relu", nn.relu, lambda x: np.maximum(x, 0)),
    ("relu6", nn.relu6, lambda x: np.minimum(np.maximum(x, 0), 6)),
    ("sigmoid", nn.sigmoid, _sigmoid),
    ("log_sigmoid", nn.log_sigmoid, lambda x: -_softplus(-x)),
    ("softplus", nn.softplus, _softplus),
    ("silu", nn.silu, lambda x: x * _sigmoid(x)),
    ("swish", nn.swish, lambda x: x * _sigmoid(x)),
    ("gelu", nn.gelu, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                        * (x + 0.044715 * x ** 3)))),
    ("gelu_exact", lambda x: nn.gelu(x, approximate=False),
     lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    ("elu", nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    ("celu", lambda x: nn.celu(x, 2.0), lambda x: np.where(x > 0, x, 2 * np.expm1(np.minimum(x, 0) / 2))),
    ("selu", nn.selu, lambda x: 1.0507009873554805 * np.where(
        x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0)))),
    ("leaky_relu", nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    ("hard_tanh", nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
    ("hard_sigmoid", nn.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    ("hard_silu", nn.hard_silu, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("softmax", nn.softmax, lambda x: np.exp(x - _lse(x, -1, True)) if x.ndim else np.ones_like(x)),
    ("log_softmax", nn.log_softmax, lambda x: x - _lse(x, -1, True) if x.ndim else 0 * x),
    ("logsumexp", nn.logsumexp, _lse),
    ("standardize", nn.standardize,
     lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)),
]
IDS = [a[0] for a in ACTIVATIONS]
ARRAYS = floats(-5, 5, shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))


@pytest.mark.parametrize("name,f,ref", ACTIVATIONS, ids=IDS)
@settings(max_examples=10)
@given(x=ARRAYS)
def test_values_match_closed_form(name: str, f: Any, ref: Any, x: Any) -> None:
    assert_like_numpy(f(x), ref(x), rtol=1e-12)
    x32 = x.astype(np.float32)
    assert_like_numpy(f(x32), ref(x32.astype(np.float64)).astype(np.float32), rtol=2e-5)


@pytest.mark.parametrize("name,f,ref", ACTIVATIONS, ids=IDS)
def test_stable_for_huge_inputs(name: str, f: Any, ref: Any) -> None:
    x = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    with np.errstate(over="ignore"):
        want = ref(x)
    got = f(x)
    assert np.all(np.isfinite(got) == np.isfinite(want))
    assert_like_numpy(got, want, rtol=1e-12)
    g = fungrad.grad(lambda v: fnp.sum(f(v)))(x)
    assert np.all(np.isfinite(g)), g


@pytest.mark.parametrize("name,f,ref", ACTIVATIONS, ids=IDS)
@settings(max_examples=3)
@given(x=ARRAYS)
def test_grads(name: str, f: Any, ref: Any, x: Any) -> None:
    x = x + 0.0137 * np.arange(x.size).reshape(x.shape) + 0.003  # away from kinks and ties
    x = np.where(np.abs(np.abs(x) - 3) < 0.01, x + 0.05, x)
    x = np.where(np.abs(x - 6) < 0.01, x + 0.05, x)
    x = np.where(np.abs(np.abs(x) - 1) < 0.01, x + 0.05, x)
    x = np.where(np.abs(x) < 0.01, x + 0.05, x)
    check_grads(f, (x,), order=2)


def test_relu_derivative_at_zero_is_zero_like_jax() -> None:
    assert fungrad.grad(nn.relu)(0.0) == 0.0
    assert fungrad.grad(nn.relu6)(6.0) == 0.0


@settings(max_examples=10)
@given(x=floats(-5, 5, shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)),
       data=st.data())
def test_logsumexp_axis_keepdims_weights(x: Any, data: Any) -> None:
    axis = data.draw(st.sampled_from([None] + list(range(-x.ndim, x.ndim))))
    keepdims = data.draw(st.booleans())
    assert_like_numpy(nn.logsumexp(x, axis=axis, keepdims=keepdims), _lse(x, axis, keepdims))
    b = np.abs(x) + 0.5
    assert_like_numpy(nn.logsumexp(x, axis=axis, b=b), _lse(x + np.log(b), axis))
    check_grads(lambda v: nn.logsumexp(v, axis=axis, keepdims=keepdims), (x,), order=2)


def test_logsumexp_at_minus_inf() -> None:
    x = np.array([[0.5, -np.inf, 1.5], [-np.inf, -np.inf, -np.inf]])
    out = nn.logsumexp(x, axis=1)
    assert_like_numpy(out, np.array([np.log(np.exp(0.5) + np.exp(1.5)), -np.inf]))
    g = fungrad.grad(lambda v: nn.logsumexp(v[0]))(x)
    e = np.exp([0.5, 1.5]) / np.exp([0.5, 1.5]).sum()
    assert_like_numpy(g, np.array([[e[0], 0.0, e[1]], [0.0, 0.0, 0.0]]))
    g2 = fungrad.grad(lambda v: fnp.sum(nn.log_softmax(v)[0]))(x[:1])
    assert_like_numpy(g2, 1 - 3 * np.array([[e[0], 0.0, e[1]]]))  # d sum_i log p_i / dx_j
    sign = nn.logsumexp(np.array([0.0, 1.0]), b=np.array([1.0, -1.0]), return_sign=True)[1]
    assert sign == -1.0


@settings(max_examples=10)
@given(x=floats(-5, 5, shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)))
def test_softmax_rows_sum_to_one_and_grad_rows_sum_to_zero(x: Any) -> None:
    s = nn.softmax(x, axis=0)
    np.testing.assert_allclose(s.sum(0), 1.0, rtol=1e-14)
    g = fungrad.grad(lambda v: fnp.sum(nn.softmax(v, axis=0) * np.arange(v.size).reshape(v.shape)))(x)
    np.testing.assert_allclose(g.sum(0), 0.0, atol=1e-12)


@settings(max_examples=10)
@given(labels=hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=4),
                         elements=st.integers(-1, 5)))
def test_one_hot(labels: Any) -> None:
    want = (labels[..., None] == np.arange(4)).astype(np.float64)
    assert_like_numpy(nn.one_hot(labels, 4), want)
    assert_like_numpy(nn.one_hot(labels, 4, dtype=np.int32), want.astype(np.int32))
    assert_like_numpy(nn.one_hot(labels, 4, axis=0), np.moveaxis(want, -1, 0))
    jaxpr = fungrad.make_jaxpr(lambda v: nn.one_hot(v, 4))(labels)
    assert jaxpr.out_avals[0].shape == want.shape


def test_vmap_and_jaxpr_of_log_softmax() -> None:
    x = np.arange(12.0).reshape(3, 4) / 5
    got = fungrad.vmap(nn.log_softmax)(x)
    assert_like_numpy(got, np.stack([r - _lse(r) for r in x]))
    jaxpr = fungrad.make_jaxpr(nn.log_softmax)(x)
    assert jaxpr.out_avals[0].shape == (3, 4)
