"""Optimizers as pure functions: jit (no retrace after the first step), vmap over a batch of param
sets, grad through an update, and clear errors for mismatched inputs."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
import fungrad.optim as optim
from fungrad.tree_util import tree_leaves, tree_map

rng = np.random.default_rng(2)
PARAMS = {"w1": rng.standard_normal((4, 8)) / 2, "b1": np.zeros(8), "w2": rng.standard_normal((8, 1)) / 3}
X, Y = rng.standard_normal((16, 4)), rng.standard_normal((16, 1))


def loss(p: Any, x: Any, y: Any) -> Any:
    h = fnp.tanh(x @ p["w1"] + p["b1"])
    return fnp.mean((h @ p["w2"] - y) ** 2)


OPTIMIZERS = {
    "sgd_momentum": lambda: optim.sgd(0.1, momentum=0.9),
    "nesterov": lambda: optim.sgd(0.1, momentum=0.9, nesterov=True),
    "adam_schedule": lambda: optim.adam(optim.warmup_cosine_decay_schedule(0.0, 0.1, 3, 20)),
    "adamw_mask": lambda: optim.adamw(0.01, mask={"w1": True, "b1": False, "w2": True}),
    "rmsprop_centered": lambda: optim.rmsprop(0.01, centered=True, momentum=0.5),
    "adagrad": lambda: optim.adagrad(0.1),
    "lion": lambda: optim.lion(0.01),
    "clip_chain": lambda: optim.chain(optim.clip(0.5), optim.clip_by_global_norm(1.0), optim.sgd(0.1)),
    "inject": lambda: optim.inject_hyperparams(optim.adam)(learning_rate=optim.exponential_decay(0.1, 5, 0.5)),
    "multisteps": lambda: optim.MultiSteps(optim.adam(0.1), 3),
    "apply_if_finite": lambda: optim.apply_if_finite(optim.sgd(0.1), 3),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_jitted_training_step_matches_eager_without_retrace(name: str) -> None:
    opt = OPTIMIZERS[name]()
    if isinstance(opt, optim.MultiSteps):
        opt = opt.gradient_transformation()

    def step(p: Any, s: Any, x: Any, y: Any) -> Any:
        value, grads = fungrad.value_and_grad(loss)(p, x, y)
        updates, s = opt.update(grads, s, p)
        return optim.apply_updates(p, updates), s, value

    jitted = fungrad.jit(step)
    p_jit, s_jit = PARAMS, opt.init(PARAMS)
    p_eager, s_eager = PARAMS, opt.init(PARAMS)
    for _ in range(6):
        p_jit, s_jit, v_jit = jitted(p_jit, s_jit, X, Y)
        p_eager, s_eager, v_eager = step(p_eager, s_eager, X, Y)
        assert float(v_jit) == pytest.approx(float(v_eager), rel=1e-12)
    for a, b in zip(tree_leaves((p_jit, s_jit)), tree_leaves((p_eager, s_eager))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        assert np.asarray(a).dtype == np.asarray(b).dtype
    assert jitted.cache_info().misses == 1, jitted.cache_info()


@pytest.mark.parametrize("name", ["sgd_momentum", "adam_schedule", "lion", "inject"])
def test_jit_of_update_alone(name: str) -> None:
    opt = OPTIMIZERS[name]()
    update = fungrad.jit(opt.update)
    state = opt.init(PARAMS)
    grads = fungrad.grad(loss)(PARAMS, X, Y)
    for _ in range(4):
        updates, state = update(grads, state, PARAMS)
    assert update.cache_info().misses == 1
    counts = [np.asarray(x) for x in tree_leaves(state) if np.asarray(x).dtype.kind in "iu"]
    assert all(c.dtype == np.int32 and c.shape == () for c in counts)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam_schedule", "adamw_mask", "lion", "multisteps",
                                  "apply_if_finite", "inject"])
def test_vmap_over_a_batch_of_param_sets(name: str) -> None:
    opt = OPTIMIZERS[name]()
    batch = [tree_map(lambda p, k=k: p + 0.1 * k, PARAMS) for k in range(3)]
    stacked = tree_map(lambda *ps: np.stack(ps), *batch)
    grads = [fungrad.grad(loss)(p, X, Y) for p in batch]
    stacked_grads = tree_map(lambda *gs: np.stack(gs), *grads)
    init, update = fungrad.vmap(opt.init), fungrad.vmap(opt.update)
    states = init(stacked)
    singles = [opt.init(p) for p in batch]
    for _ in range(3):
        updates, states = update(stacked_grads, states, stacked)
        outs = [opt.update(g, s, p) for g, s, p in zip(grads, singles, batch)]
        singles = [s for _, s in outs]
        for k, (u, _) in enumerate(outs):
            for a, b in zip(tree_leaves(updates), tree_leaves(u)):
                np.testing.assert_allclose(a[k], b, rtol=1e-12, atol=1e-15)


def test_grad_through_an_update() -> None:
    """Updates are differentiable functions of the gradients (meta-learning of a learning rate)."""
    def unrolled(lr: Any) -> Any:
        opt = optim.sgd(lr, momentum=0.5)
        p, s = PARAMS, opt.init(PARAMS)
        for _ in range(3):
            updates, s = opt.update(fungrad.grad(loss)(p, X, Y), s, p)
            p = optim.apply_updates(p, updates)
        return loss(p, X, Y)
    eps = 1e-6
    numeric = (unrolled(0.1 + eps) - unrolled(0.1 - eps)) / (2 * eps)
    assert float(fungrad.grad(unrolled)(0.1)) == pytest.approx(float(numeric), rel=1e-6)


def test_mismatched_structures_raise_clear_errors() -> None:
    opt = optim.adam(0.1)
    state = opt.init(PARAMS)
    missing = {"w1": PARAMS["w1"], "b1": PARAMS["b1"]}
    with pytest.raises(ValueError, match="pytree structures differ"):
        opt.update(missing, state, PARAMS)
    with pytest.raises(ValueError, match="pytree structures differ"):
        optim.sgd(0.1, momentum=0.9).update([PARAMS["w1"]], optim.sgd(0.1, momentum=0.9).init(PARAMS))
    with pytest.raises(ValueError, match="apply_updates"):
        optim.apply_updates(PARAMS, missing)
    with pytest.raises(ValueError, match="needs the params"):
        optim.adamw(0.1).update(PARAMS, optim.adamw(0.1).init(PARAMS))
    with pytest.raises(ValueError, match="state of 2 chained"):
        opt.update(PARAMS, state[0], PARAMS)
    with pytest.raises(TypeError, match="not a GradientTransformation"):
        optim.chain(optim.sgd(0.1), 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="memory_size"):
        optim.scale_by_lbfgs(memory_size=0)
    with pytest.raises(ValueError, match="initial_guess_strategy"):
        optim.scale_by_zoom_linesearch(10, initial_guess_strategy="two")
    with pytest.raises(ValueError, match="centered"):
        optim.rmsprop(0.1, centered=True, bias_correction=True)
