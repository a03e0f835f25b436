"""masked, apply_if_finite, MultiSteps and inject_hyperparams: their semantics step by step (by hand)
and their updates against optax over 20+ steps."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import fungrad
import fungrad.optim as optim
from fungrad.tree_util import tree_leaves, tree_map

STEPS = 24
rng = np.random.default_rng(1)
PARAMS = {"w": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}
GRADS = [tree_map(lambda p: rng.standard_normal(p.shape), PARAMS) for _ in range(STEPS)]


def run(opt: Any, grads: list[Any] = GRADS, params: Any = PARAMS) -> tuple[list[Any], Any]:
    state = opt.init(params)
    out = []
    for g in grads:
        updates, state = opt.update(g, state, params)
        out.append(updates)
    return out, state


def adam_by_hand(grads: list[np.ndarray], lr: float) -> list[np.ndarray]:
    m = v = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        out.append(-lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8))
    return out


# ----------------------------------------------------------------------------- masked

def test_masked_applies_inner_to_masked_in_leaves_only() -> None:
    updates, state = run(optim.masked(optim.adam(0.1), {"w": True, "b": False}))
    want = adam_by_hand([g["w"] for g in GRADS], 0.1)
    for u, g, w in zip(updates, GRADS, want):
        np.testing.assert_allclose(u["w"], w, rtol=1e-12)
        np.testing.assert_array_equal(u["b"], g["b"])          # passed through unchanged
    assert isinstance(state.inner_state[0].mu["b"], optim.MaskedNode)   # no state for masked-out leaves


def test_masked_with_a_mask_function_and_a_prefix_mask() -> None:
    params = {"dense": {"w": np.ones((2, 2)), "b": np.ones(2)}, "norm": np.ones(2)}
    grads = tree_map(lambda p: 2 * p, params)
    by_fn = optim.masked(optim.scale(3.0), lambda p: tree_map(lambda x: x.ndim > 1, p))
    u, _ = by_fn.update(grads, by_fn.init(params), params)
    assert np.all(u["dense"]["w"] == 6.0) and np.all(u["dense"]["b"] == 2.0) and np.all(u["norm"] == 2.0)
    prefix = optim.masked(optim.scale(3.0), {"dense": True, "norm": False})
    u, _ = prefix.update(grads, prefix.init(params), params)
    assert np.all(u["dense"]["b"] == 6.0) and np.all(u["norm"] == 2.0)


def test_adamw_mask_skips_weight_decay() -> None:
    opt = optim.adamw(0.1, weight_decay=0.5, mask={"w": True, "b": False})
    plain = optim.adam(0.1)
    (u, _), (v, _) = run(opt), run(plain)
    np.testing.assert_allclose(u[-1]["b"], v[-1]["b"], rtol=1e-12)
    np.testing.assert_allclose(u[-1]["w"], v[-1]["w"] - 0.1 * 0.5 * PARAMS["w"], rtol=1e-12)


def test_masked_rejects_bad_masks() -> None:
    with pytest.raises(TypeError, match="pytree of Python bools"):
        optim.masked(optim.scale(1.0), {"w": np.array(True), "b": False}).init(PARAMS)
    with pytest.raises(ValueError, match="structure of the params"):
        optim.masked(optim.scale(1.0), {"w": True}).init(PARAMS)


# ----------------------------------------------------------------------------- apply_if_finite

def test_apply_if_finite_skips_non_finite_steps() -> None:
    opt = optim.apply_if_finite(optim.sgd(0.1, momentum=0.9), max_consecutive_errors=2)
    params = np.zeros(2)
    state = opt.init(params)
    bad = np.array([np.nan, 1.0])
    trace = np.zeros(2)
    history = [(np.ones(2), True), (bad, False), (np.array([np.inf, 0.0]), False), (np.ones(2), True),
               (bad, False), (bad, False), (bad, False), (np.ones(2), True)]
    counts = []
    for k, (g, finite) in enumerate(history):
        updates, state = opt.update(g, state, params)
        applied = finite or int(state.notfinite_count) > 2
        if applied:
            trace = g + 0.9 * trace
            np.testing.assert_array_equal(updates, -0.1 * trace)
        else:
            np.testing.assert_array_equal(updates, np.zeros(2))
            np.testing.assert_array_equal(state.inner_state[0].trace, trace)   # inner state untouched
        assert bool(state.last_finite) == finite
        counts.append((int(state.notfinite_count), int(state.total_notfinite)))
    assert counts == [(0, 0), (1, 1), (2, 2), (0, 2), (1, 3), (2, 4), (3, 5), (0, 5)]
    assert not np.all(np.isfinite(state.inner_state[0].trace))   # the third bad step in a row went through


# ----------------------------------------------------------------------------- MultiSteps

@pytest.mark.parametrize("use_grad_mean", [True, False])
def test_multisteps_accumulates_and_emits_every_k(use_grad_mean: bool) -> None:
    k = 3
    opt = optim.MultiSteps(optim.sgd(0.1, momentum=0.5), every_k_schedule=k, use_grad_mean=use_grad_mean)
    updates, state = run(opt)
    trace = tree_map(np.zeros_like, PARAMS)
    for step, u in enumerate(updates):
        if step % k == k - 1:
            window = GRADS[step - k + 1: step + 1]
            acc = tree_map(lambda *gs: sum(gs) / (k if use_grad_mean else 1), *window)
            trace = tree_map(lambda g, m: g + 0.5 * m, acc, trace)
            for a, b in zip(tree_leaves(u), tree_leaves(trace)):
                np.testing.assert_allclose(a, -0.1 * b, rtol=1e-12)
        else:
            assert all(np.all(x == 0) for x in tree_leaves(u))
    assert int(state.gradient_step) == STEPS // k and int(state.mini_step) == 0
    assert bool(opt.has_updated(state))


def test_multisteps_with_a_schedule_and_gradient_transformation() -> None:
    opt = optim.MultiSteps(optim.sgd(1.0), every_k_schedule=lambda step: fungrad.numpy.where(step < 2, 1, 4))
    tx = opt.gradient_transformation()
    updates, state = run(tx, [{"w": np.ones((2, 3)), "b": np.ones(3)}] * 10)
    emitted = [i for i, u in enumerate(updates) if np.any(u["b"] != 0)]
    assert emitted == [0, 1, 5, 9]


def test_multisteps_should_skip_update() -> None:
    skip_nan = lambda updates, step, params: (~optim.tree.tree_all_finite(updates), ())  # noqa: E731
    opt = optim.MultiSteps(optim.sgd(1.0), 2, should_skip_update_fn=skip_nan)
    grads = [np.array([1.0]), np.array([np.nan]), np.array([3.0])]
    updates, state = run(opt, grads, np.zeros(1))
    np.testing.assert_array_equal(np.concatenate(updates), [0.0, 0.0, -2.0])


# ----------------------------------------------------------------------------- inject_hyperparams

def test_inject_hyperparams_changes_between_steps_without_retrace() -> None:
    opt = optim.inject_hyperparams(optim.adam)(learning_rate=0.1, b1=0.9)
    state = opt.init(PARAMS)
    assert state.hyperparams["learning_rate"].dtype == np.float64 and state.count.dtype == np.int32
    step = fungrad.jit(opt.update)
    rates = [0.1] * 5 + [0.01] * 5 + [0.3] * 5
    got = []
    for g, lr in zip(GRADS, rates):
        state.hyperparams["learning_rate"] = np.asarray(lr)
        updates, state = step(g, state, PARAMS)
        got.append(updates["w"])
    assert step.cache_info().misses == 1
    want = adam_by_hand([g["w"] for g in GRADS[:15]], 1.0)
    for u, w, lr in zip(got, want, rates):
        np.testing.assert_allclose(u, lr * w, rtol=1e-12)


def test_inject_hyperparams_schedules_and_static_args() -> None:
    schedule = optim.linear_schedule(1.0, 0.0, 10)
    opt = optim.inject_hyperparams(optim.sgd, static_args="nesterov")(learning_rate=schedule, momentum=0.0,
                                                                      nesterov=False)
    updates, state = run(opt, [np.ones(1)] * 12, np.zeros(1))
    np.testing.assert_allclose(np.concatenate(updates), [-max(1 - n / 10, 0) for n in range(12)], rtol=1e-12)
    assert float(state.hyperparams["learning_rate"]) == 0.0 and set(state.hyperparams) == {"learning_rate",
                                                                                           "momentum"}
    with pytest.raises(ValueError, match="static_args"):
        optim.inject_hyperparams(optim.sgd, static_args=("not_a_parameter",))


# ----------------------------------------------------------------------------- against optax


CASES = [
    ("masked", lambda o: o.masked(o.adam(0.1), {"w": True, "b": False})),
    ("masked_fn", lambda o: o.masked(o.sgd(0.1, 0.9), lambda p: {"w": False, "b": True})),
    ("adamw_mask", lambda o: o.adamw(0.1, weight_decay=0.3, mask={"w": True, "b": False})),
    ("apply_if_finite", lambda o: o.apply_if_finite(o.adam(0.1), 2)),
    # optax accumulates in float32 unless told otherwise.
    ("multisteps", lambda o: o.MultiSteps(o.adam(0.1), 3, accumulator_dtype=np.float64).gradient_transformation()),
    ("multisteps_sum", lambda o: o.MultiSteps(o.sgd(0.1, 0.9), 4, use_grad_mean=False,
                                              accumulator_dtype=np.float64).gradient_transformation()),
    ("inject", lambda o: o.inject_hyperparams(o.adam)(learning_rate=o.cosine_decay_schedule(0.1, 20), b2=0.99)),
    ("inject_rmsprop", lambda o: o.inject_hyperparams(o.rmsprop)(learning_rate=0.01, momentum=0.9)),
]


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_against_optax(optax: Any, name: str, make: Any) -> None:
    import jax
    import jax.numpy as jnp
    grads = [dict(g) for g in GRADS]
    if name == "apply_if_finite":
        grads[5] = {"w": GRADS[5]["w"] * np.nan, "b": GRADS[5]["b"]}
    oracle = make(optax)
    oracle = optax.GradientTransformation(oracle.init, jax.jit(oracle.update))   # eager lax.cond is slow
    theirs, _ = run(oracle, [tree_map(jnp.asarray, g) for g in grads], tree_map(jnp.asarray, PARAMS))
    ours, _ = run(make(optim), grads)
    rtol = 2e-6 if "inject" in name else 1e-10       # optax's schedules divide in float32
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(tree_leaves(a), tree_leaves(b)):
            np.testing.assert_allclose(x, np.asarray(y), rtol=rtol, atol=1e-12, err_msg=f"{name}, step {step}")


def test_masked_masks_compatible_extra_args() -> None:
    seen = {}

    def record(updates: Any, state: Any, params: Any = None, **extra: Any) -> Any:
        seen.update(extra)
        return updates, state
    inner = optim.GradientTransformationExtraArgs(optim.init_empty_state, record)
    opt = optim.masked(inner, {"w": True, "b": False}, mask_compatible_extra_args=True)
    opt.update(PARAMS, opt.init(PARAMS), PARAMS, like_params=PARAMS, other=3.0)
    assert isinstance(seen["like_params"]["b"], optim.MaskedNode) and seen["other"] == 3.0
    np.testing.assert_array_equal(seen["like_params"]["w"], PARAMS["w"])
