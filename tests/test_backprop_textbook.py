"""The textbook derivation of backpropagation, worked examples as tests.

1. A linear neuron y = w1 x1 + w2 x2 with squared error E = (t - y)^2 / 2. On the training
   case (x1, x2, t) = (1, 1, 0) the error is (w1 + w2)^2 / 2, so dE/dw1 = dE/dw2 = w1 + w2.
2. A logistic neuron y = sigma(z), z = b + sum_i x_i w_i, with dy/dz = y (1 - y), so
   dE/dw_i = -sum_n x_i^n y^n (1 - y^n) (t^n - y^n).
3. The delta rule for a two-layer perceptron: output deltas, then deltas propagated back
   through the weights, layer by layer; ``grad`` must produce exactly these numbers.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
import fungrad.numpy as fnp
from fungrad import grad

weights = st.floats(-5, 5)


# ---------------------------------------------------------------- 1. the linear neuron

def linear_error(w: Any, x: Any, t: Any) -> Any:
    y = fnp.sum(w * x)
    return 0.5 * (t - y) ** 2


@given(weights, weights, st.floats(0.01, 0.5))
def test_linear_neuron_training_case(w1: float, w2: float, lr: float) -> None:
    w, x, t = np.array([w1, w2]), np.array([1.0, 1.0]), 0.0
    assert linear_error(w, x, t) == 0.5 * (w1 + w2) ** 2
    g = grad(linear_error)(w, x, t)
    np.testing.assert_array_equal(g, [w1 + w2, w1 + w2])
    # One step of gradient descent scales w1 + w2 by (1 - 2 lr): E by (1 - 2 lr)^2.
    w_new = w - lr * g
    np.testing.assert_allclose(w_new.sum(), (1 - 2 * lr) * (w1 + w2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(linear_error(w_new, x, t),
                               (1 - 2 * lr) ** 2 * 0.5 * (w1 + w2) ** 2, rtol=1e-11, atol=1e-12)


def test_linear_neuron_batch_delta_rule() -> None:
    rng = np.random.default_rng(0)
    X, t, w = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=3)

    def E(w: Any) -> Any:
        return 0.5 * fnp.sum((t - X @ w) ** 2)
    # dE/dw_i = -sum_n x_i^n (t^n - y^n)
    np.testing.assert_allclose(grad(E)(w), -X.T @ (t - X @ w), rtol=1e-13)


# ---------------------------------------------------------------- 2. the logistic neuron

def sigma(z: Any) -> Any:
    return 1 / (1 + np.exp(-z))


@given(arrays(np.float64, 7, elements=st.floats(-8, 8)))
def test_logistic_derivative_is_y_times_one_minus_y(z: Any) -> None:
    y = sigma(z)
    dy = fungrad.vmap(grad(fungrad.nn.sigmoid))(z)
    # 1 - y cancels for large z (in the rule as in this reference), leaving ~1e-16 / (1 - y)
    # of relative error: up to 3e-13 at z = 8.
    np.testing.assert_allclose(dy, y * (1 - y), rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(dy, sigma(z) * sigma(-z), rtol=1e-11, atol=1e-300)


def test_logistic_neuron_weight_derivatives() -> None:
    rng = np.random.default_rng(1)
    X, t = rng.normal(size=(5, 3)), rng.uniform(size=5)
    w, b = rng.normal(size=3), 0.3

    def E(w: Any, b: Any) -> Any:
        y = fungrad.nn.sigmoid(X @ w + b)
        return 0.5 * fnp.sum((t - y) ** 2)
    y = sigma(X @ w + b)
    gw, gb = grad(E, (0, 1))(w, b)
    np.testing.assert_allclose(gw, -X.T @ (y * (1 - y) * (t - y)), rtol=1e-13)
    np.testing.assert_allclose(gb, -np.sum(y * (1 - y) * (t - y)), rtol=1e-13)


# ---------------------------------------------------------------- 3. the delta rule for an MLP

def mlp_error(p: dict[str, Any], x: Any, t: Any) -> Any:
    """Hidden tanh layer, logistic output layer, squared error summed over the batch."""
    h = fnp.tanh(x @ p["W1"].T + p["b1"])
    y = fungrad.nn.sigmoid(h @ p["W2"].T + p["b2"])
    return 0.5 * fnp.sum((y - t) ** 2)


def hand_backprop(p: dict[str, Any], x: Any, t: Any) -> dict[str, Any]:
    """The delta rule, written out: forward pass, output deltas, hidden deltas, gradients."""
    h = np.tanh(x @ p["W1"].T + p["b1"])
    y = sigma(h @ p["W2"].T + p["b2"])
    delta_out = (y - t) * y * (1 - y)                # dE/dz at the output units
    delta_hid = (delta_out @ p["W2"]) * (1 - h ** 2)  # dE/dz at the hidden units
    return {"W2": delta_out.T @ h, "b2": delta_out.sum(0), "hidden": delta_out @ p["W2"],
            "W1": delta_hid.T @ x, "b1": delta_hid.sum(0), "delta_hid": delta_hid,
            "delta_out": delta_out}


def init(seed: int) -> tuple[dict[str, Any], Any, Any]:
    rng = np.random.default_rng(seed)
    p = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4),
         "W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=2)}
    return p, rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))


@given(st.integers(0, 2 ** 31))
def test_mlp_gradients_are_the_hand_derived_deltas(seed: int) -> None:
    p, x, t = init(seed)
    want = hand_backprop(p, x, t)
    got = grad(mlp_error)(p, x, t)
    for k in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-14)


def test_mlp_deltas_layer_by_layer() -> None:
    """The intermediate derivatives too: dE/dz_out, dE/dh, dE/dz_hidden."""
    p, x, t = init(7)
    want = hand_backprop(p, x, t)
    z_hid = x @ p["W1"].T + p["b1"]
    h = np.tanh(z_hid)
    z_out = h @ p["W2"].T + p["b2"]

    def from_z_out(z: Any) -> Any:
        return 0.5 * fnp.sum((fungrad.nn.sigmoid(z) - t) ** 2)

    def from_h(h: Any) -> Any:
        return from_z_out(h @ p["W2"].T + p["b2"])

    def from_z_hid(z: Any) -> Any:
        return from_h(fnp.tanh(z))
    np.testing.assert_allclose(grad(from_z_out)(z_out), want["delta_out"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad(from_h)(h), want["hidden"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad(from_z_hid)(z_hid), want["delta_hid"], rtol=1e-12, atol=1e-15)


def test_mlp_training_follows_the_hand_derived_trajectory() -> None:
    p, x, t = init(3)
    q = {k: v.copy() for k, v in p.items()}
    losses = []
    for _ in range(20):
        g, h = grad(mlp_error)(p, x, t), hand_backprop(q, x, t)
        p = {k: p[k] - 0.5 * g[k] for k in p}
        q = {k: q[k] - 0.5 * h[k] for k in q}
        losses.append(float(mlp_error(p, x, t)))
    for k in p:
        np.testing.assert_allclose(p[k], q[k], rtol=1e-10, atol=1e-12)
    assert losses[-1] < losses[0]
