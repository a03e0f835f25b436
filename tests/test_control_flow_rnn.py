"""An RNN trained with scan + grad against the same RNN unrolled in Python; the jaxpr-to-jaxpr
transforms control flow is built on; and jit turning control flow into Python statements."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.lax.jaxpr_util import batch_jaxpr, jvp_jaxpr, transpose_jaxpr
from fungrad.lax.jaxpr_util import partial_eval_jaxpr
from fungrad.tree_util import tree_leaves, tree_map

HIDDEN, STEPS, INPUTS = 8, 20, 3


def init_params(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"Wh": rng.normal(0, 0.4, (HIDDEN, HIDDEN)), "Wx": rng.normal(0, 0.5, (HIDDEN, INPUTS)),
            "b": rng.normal(0, 0.1, HIDDEN), "Wo": rng.normal(0, 0.5, HIDDEN)}


def _cell(p: dict[str, Any], h: Any, x: Any) -> Any:
    return fnp.tanh(fnp.dot(p["Wh"], h) + fnp.dot(p["Wx"], x) + p["b"])


def loss_scan(p: dict[str, Any], xs: Any, targets: Any) -> Any:
    def step(h: Any, xt: Any) -> Any:
        h = _cell(p, h, xt)
        return h, fnp.dot(p["Wo"], h)
    _, ys = lax.scan(step, np.zeros(HIDDEN), xs)
    return fnp.mean((ys - targets) ** 2)


def loss_unrolled(p: dict[str, Any], xs: Any, targets: Any) -> Any:
    h, ys = np.zeros(HIDDEN), []
    for t in range(STEPS):
        h = _cell(p, h, xs[t])
        ys.append(fnp.dot(p["Wo"], h))
    return fnp.mean((fnp.stack(ys) - targets) ** 2)


def train(loss: Any, p: dict[str, Any], xs: Any, targets: Any, steps: int = 4) -> Any:
    vg = fungrad.value_and_grad(loss)
    losses = []
    for _ in range(steps):
        value, g = vg(p, xs, targets)
        losses.append(value)
        p = tree_map(lambda w, d: w - 0.3 * d, p, g)
    return p, losses


@pytest.mark.parametrize("jit", [False, True])
def test_rnn_trained_with_scan_matches_unrolled_python(jit: bool) -> None:
    rng = np.random.default_rng(1)
    xs, targets = rng.normal(size=(STEPS, INPUTS)), np.sin(np.linspace(0, 3, STEPS))
    p0 = init_params(0)
    loss = fungrad.jit(loss_scan) if jit else loss_scan
    p_scan, l_scan = train(loss, p0, xs, targets)
    p_ref, l_ref = train(loss_unrolled, p0, xs, targets)
    np.testing.assert_allclose(l_scan, l_ref, rtol=1e-12, atol=1e-14)
    assert l_scan[-1] < l_scan[0]
    for a, b in zip(tree_leaves(p_scan), tree_leaves(p_ref)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_rnn_per_sequence_gradients_with_vmap() -> None:
    rng = np.random.default_rng(2)
    xs, targets = rng.normal(size=(5, STEPS, INPUTS)), rng.normal(size=(5, STEPS))
    p = init_params(3)
    batched = fungrad.jit(fungrad.vmap(fungrad.grad(loss_scan), in_axes=(None, 0, 0)))(p, xs,
                                                                                         targets)
    for i in range(5):
        ref = fungrad.grad(loss_unrolled)(p, xs[i], targets[i])
        for k in p:
            np.testing.assert_allclose(batched[k][i], ref[k], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- jaxpr transforms
def _program(x: Any, y: Any) -> Any:
    return fnp.sin(x) * y + fnp.exp(x), x * 2.0


@given(seed=st.integers(0, 2**16), unknown=st.sampled_from([(True, False), (False, True),
                                                            (True, True), (False, False)]))
def test_partial_eval_jaxpr_splits_and_recombines(seed: int, unknown: tuple[bool, bool]) -> None:
    rng = np.random.default_rng(seed)
    args = [rng.normal(size=3), rng.normal(size=3)]
    jaxpr = fungrad.make_jaxpr(_program)(*args)
    known, unknown_j, n_res, out_uk = partial_eval_jaxpr(jaxpr, list(unknown))
    assert out_uk == [any(unknown), unknown[0]]
    k_outs = fungrad.eval_jaxpr(known, known.consts, *[a for a, u in zip(args, unknown) if not u])
    n_known = len(k_outs) - n_res
    u_outs = fungrad.eval_jaxpr(unknown_j, [], *k_outs[n_known:],
                                *[a for a, u in zip(args, unknown) if u])
    k_iter, u_iter = iter(k_outs[:n_known]), iter(u_outs)
    outs = [next(u_iter) if u else next(k_iter) for u in out_uk]
    for got, want in zip(outs, _program(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-15)


@given(seed=st.integers(0, 2**16))
def test_jvp_batch_and_transpose_jaxpr(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y, t = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
    jaxpr = fungrad.make_jaxpr(_program)(x, y)
    jj, out_nz = jvp_jaxpr(jaxpr, [True, False])
    assert out_nz == [True, True]
    outs = fungrad.eval_jaxpr(jj, jj.consts, x, y, t)
    eps = 1e-6
    fd = [(a - b) / (2 * eps) for a, b in zip(_program(x + eps * t, y), _program(x - eps * t, y))]
    for got, want in zip(outs[2:], fd):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    xs = rng.normal(size=(4, 3))
    bj, out_b = batch_jaxpr(jaxpr, [0, None], 4)
    assert out_b == [True, True]
    got = fungrad.eval_jaxpr(bj, bj.consts, xs, y)
    for i in range(4):
        for g, w in zip(got, _program(xs[i], y)):
            np.testing.assert_allclose(g[i], w, rtol=1e-15)
    linear = fungrad.make_jaxpr(lambda a, b: (a * x + b, fnp.sum(a) * 2.0))(x, y)
    tj = transpose_jaxpr(linear, [True, True])
    u: list[Any] = [rng.normal(size=3), rng.normal()]
    ct_a, ct_b = fungrad.eval_jaxpr(tj, tj.consts, *u)
    np.testing.assert_allclose(ct_a, u[0] * x + 2.0 * u[1], rtol=1e-14)
    np.testing.assert_allclose(ct_b, u[0], rtol=1e-14)


# ---------------------------------------------------------------- jit emits Python statements
def test_jit_compiles_control_flow_to_python_statements() -> None:
    def f(x: Any, n: Any) -> Any:
        x = lax.cond(x[0] > 0, lambda v: v * 2.0, lambda v: -v, x)
        x, _ = lax.scan(lambda c, _: (fnp.sin(c), None), x, None, length=4)
        return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 0.5), (0, x))[1]

    source = fungrad.jit(f).lower(np.ones(3), 2).source
    for statement in ("if ", "else:", "for ", "while True:"):
        assert statement in source
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(fungrad.jit(f)(x, 2), f(x, 2), rtol=1e-15)
