"""Every gradient transformation and alias over 25 steps: against its formula written out in NumPy
below (an independent loop over the leaves), and against optax on the same pytrees (float64)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fungrad.optim as optim
from fungrad.tree_util import tree_leaves, tree_map, tree_structure

STEPS = 25
rng = np.random.default_rng(0)
PARAMS = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2), "layers": [rng.standard_normal(4)]}
GRADS = [tree_map(lambda p: rng.standard_normal(p.shape) * rng.choice([0.1, 1.0, 5.0]), PARAMS)
         for _ in range(STEPS)]
GRADS[3]["b"][0] = 0.0                      # exact zeros: sign(0), adagrad's 0/0 guard
PARAMS_SEQ = [tree_map(lambda p: p + 0.1 * k, PARAMS) for k in range(STEPS)]


def run(opt: Any, grads: list[Any] = GRADS, params: list[Any] = PARAMS_SEQ) -> list[list[np.ndarray]]:
    """The updates of every step, each flattened to its list of leaves."""
    state = opt.init(params[0])
    out = []
    for g, p in zip(grads, params):
        updates, state = opt.update(g, state, p)
        assert tree_structure(updates) == tree_structure(g)
        out.append([np.asarray(u) for u in tree_leaves(updates)])
    return out


# ----------------------------------------------------------------------------- closed forms, by hand

def leafwise(step: Callable[..., np.ndarray], n_state: int) -> Callable[[], list[list[np.ndarray]]]:
    """Run ``step(g, p, t, *state) -> (update, *state)`` on every leaf for every step (t from 1)."""
    def reference() -> list[list[np.ndarray]]:
        leaves_g = [tree_leaves(g) for g in GRADS]
        leaves_p = [tree_leaves(p) for p in PARAMS_SEQ]
        states = [[np.zeros_like(x) for _ in range(n_state)] for x in leaves_g[0]]
        out = []
        for t in range(1, STEPS + 1):
            row = []
            for i, (g, p) in enumerate(zip(leaves_g[t - 1], leaves_p[t - 1])):
                u, *states[i] = step(g, p, t, *states[i])
                row.append(u)
            out.append(row)
        return out
    return reference


def ref_sgd(lr: float) -> Any:
    return leafwise(lambda g, p, t: (-lr * g,), 0)


def ref_momentum(lr: float, mu: float, nesterov: bool) -> Any:
    def step(g: Any, p: Any, t: int, m: Any) -> Any:
        m = g + mu * m
        return (-lr * (g + mu * m) if nesterov else -lr * m), m
    return leafwise(step, 1)


def ref_adam(lr: float, b1: float, b2: float, eps: float, eps_root: float = 0.0, wd: float = 0.0,
             nesterov: bool = False) -> Any:
    def step(g: Any, p: Any, t: int, m: Any, v: Any) -> Any:
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        if nesterov:
            m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
        else:
            m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        return -lr * (m_hat / (np.sqrt(v_hat + eps_root) + eps) + wd * p), m, v
    return leafwise(step, 2)


def ref_rmsprop(lr: float, decay: float, eps: float, momentum: float | None = None, centered: bool = False,
                eps_in_sqrt: bool = True, bias_correction: bool = False, initial_scale: float = 0.0) -> Any:
    def step(g: Any, p: Any, t: int, nu: Any, mu: Any, trace: Any) -> Any:
        if t == 1:
            nu = nu + initial_scale
        nu = decay * nu + (1 - decay) * g ** 2
        mu = decay * mu + (1 - decay) * g
        nu_hat = nu / (1 - decay ** t) if bias_correction else nu
        if centered:
            u = g / np.sqrt(nu_hat - mu ** 2 + eps)
        else:
            u = g / np.sqrt(nu_hat + eps) if eps_in_sqrt else g / (np.sqrt(nu_hat) + eps)
        u = -lr * u
        if momentum is not None:
            trace = u + momentum * trace
            u = trace
        return u, nu, mu, trace
    return leafwise(step, 3)


def ref_adagrad(lr: float, init: float, eps: float) -> Any:
    def step(g: Any, p: Any, t: int, s: Any) -> Any:
        if t == 1:
            s = s + init
        s = s + g ** 2
        scaled = np.zeros_like(g)
        pos = s > 0
        scaled[pos] = g[pos] / np.sqrt(s[pos] + eps)
        return -lr * scaled, s
    return leafwise(step, 1)


def ref_lion(lr: float, b1: float, b2: float, wd: float) -> Any:
    def step(g: Any, p: Any, t: int, m: Any) -> Any:
        direction = np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
        return -lr * (direction + wd * p), m
    return leafwise(step, 1)


def ref_clip(delta: float) -> Any:
    return leafwise(lambda g, p, t: (np.minimum(np.maximum(g, -delta), delta),), 0)


def ref_clip_by_global_norm(max_norm: float) -> Any:
    def reference() -> list[list[np.ndarray]]:
        out = []
        for g in GRADS:
            leaves = tree_leaves(g)
            norm = np.sqrt(sum(float(np.sum(x ** 2)) for x in leaves))
            out.append([x if norm < max_norm else x * (max_norm / norm) for x in leaves])
        return out
    return reference


def ref_decayed(wd: float) -> Any:
    return leafwise(lambda g, p, t: (g + wd * p,), 0)


def ref_schedule_sgd(schedule: Callable[[int], float]) -> Any:
    return leafwise(lambda g, p, t: (-schedule(t - 1) * g,), 0)


# (id, fungrad optimizer, the same in optax (a function of the optax module), the closed form)
CASES: list[tuple[str, Any, Callable[[Any], Any], Any]] = [
    ("sgd", optim.sgd(0.1), lambda o: o.sgd(0.1), ref_sgd(0.1)),
    ("sgd_momentum", optim.sgd(0.1, momentum=0.9), lambda o: o.sgd(0.1, momentum=0.9),
     ref_momentum(0.1, 0.9, False)),
    ("sgd_nesterov", optim.sgd(0.05, momentum=0.8, nesterov=True), lambda o: o.sgd(0.05, 0.8, nesterov=True),
     ref_momentum(0.05, 0.8, True)),
    ("adam", optim.adam(0.01), lambda o: o.adam(0.01), ref_adam(0.01, 0.9, 0.999, 1e-8)),
    ("adam_eps_root", optim.adam(0.02, b1=0.8, b2=0.95, eps=1e-3, eps_root=1e-4),
     lambda o: o.adam(0.02, b1=0.8, b2=0.95, eps=1e-3, eps_root=1e-4), ref_adam(0.02, 0.8, 0.95, 1e-3, 1e-4)),
    ("nadam", optim.adam(0.01, nesterov=True), lambda o: o.adam(0.01, nesterov=True),
     ref_adam(0.01, 0.9, 0.999, 1e-8, nesterov=True)),
    ("adamw", optim.adamw(0.01, weight_decay=0.1), lambda o: o.adamw(0.01, weight_decay=0.1),
     ref_adam(0.01, 0.9, 0.999, 1e-8, wd=0.1)),
    ("rmsprop", optim.rmsprop(0.01), lambda o: o.rmsprop(0.01), ref_rmsprop(0.01, 0.9, 1e-8)),
    ("rmsprop_options", optim.rmsprop(0.01, decay=0.8, eps=1e-4, eps_in_sqrt=False, bias_correction=True,
                                      momentum=0.5, initial_scale=0.5),
     lambda o: o.rmsprop(0.01, decay=0.8, eps=1e-4, eps_in_sqrt=False, bias_correction=True, momentum=0.5,
                         initial_scale=0.5),
     ref_rmsprop(0.01, 0.8, 1e-4, momentum=0.5, eps_in_sqrt=False, bias_correction=True, initial_scale=0.5)),
    ("rmsprop_centered", optim.rmsprop(0.01, centered=True, eps=1e-3), lambda o: o.rmsprop(0.01, centered=True,
                                                                                          eps=1e-3),
     ref_rmsprop(0.01, 0.9, 1e-3, centered=True)),
    ("adagrad", optim.adagrad(0.1), lambda o: o.adagrad(0.1), ref_adagrad(0.1, 0.1, 1e-7)),
    ("adagrad_zero_init", optim.adagrad(0.1, initial_accumulator_value=0.0),
     lambda o: o.adagrad(0.1, initial_accumulator_value=0.0), ref_adagrad(0.1, 0.0, 1e-7)),
    ("lion", optim.lion(0.001, weight_decay=0.01), lambda o: o.lion(0.001, weight_decay=0.01),
     ref_lion(0.001, 0.9, 0.99, 0.01)),
    ("clip", optim.clip(0.7), lambda o: o.clip(0.7), ref_clip(0.7)),
    ("clip_by_global_norm", optim.clip_by_global_norm(6.0), lambda o: o.clip_by_global_norm(6.0),
     ref_clip_by_global_norm(6.0)),
    ("add_decayed_weights", optim.add_decayed_weights(0.3), lambda o: o.add_decayed_weights(0.3), ref_decayed(0.3)),
    ("scale", optim.scale(-2.5), lambda o: o.scale(-2.5), leafwise(lambda g, p, t: (-2.5 * g,), 0)),
    ("scale_by_learning_rate_noflip", optim.scale_by_learning_rate(0.3, flip_sign=False),
     lambda o: o.scale_by_learning_rate(0.3, flip_sign=False), leafwise(lambda g, p, t: (0.3 * g,), 0)),
    ("identity", optim.identity(), lambda o: o.identity(), leafwise(lambda g, p, t: (g,), 0)),
    ("sgd_schedule", optim.sgd(optim.exponential_decay(0.5, 3, 0.7)), lambda o: o.sgd(o.exponential_decay(0.5, 3, 0.7)),
     ref_schedule_sgd(lambda n: 0.5 * 0.7 ** (n / 3))),
    ("trace", optim.trace(0.6), lambda o: o.trace(0.6), leafwise(lambda g, p, t, m: (g + 0.6 * m,) * 2, 1)),
    ("scale_by_adam", optim.scale_by_adam(), lambda o: o.scale_by_adam(), ref_adam(-1.0, 0.9, 0.999, 1e-8)),
    ("scale_by_rms", optim.scale_by_rms(), lambda o: o.scale_by_rms(), ref_rmsprop(-1.0, 0.9, 1e-8)),
    ("scale_by_rss", optim.scale_by_rss(), lambda o: o.scale_by_rss(), ref_adagrad(-1.0, 0.1, 1e-7)),
    ("scale_by_lion", optim.scale_by_lion(b1=0.5, b2=0.7), lambda o: o.scale_by_lion(b1=0.5, b2=0.7),
     ref_lion(-1.0, 0.5, 0.7, 0.0)),
    ("chain", optim.chain(optim.clip_by_global_norm(6.0), optim.scale_by_adam(), optim.add_decayed_weights(0.3),
                          optim.scale(-0.1)),
     lambda o: o.chain(o.clip_by_global_norm(6.0), o.scale_by_adam(), o.add_decayed_weights(0.3), o.scale(-0.1)),
     None),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,opt,_,reference", CASES, ids=IDS)
def test_against_closed_form(name: str, opt: Any, _: Any, reference: Any) -> None:
    if reference is None:
        pytest.skip("a chain of the cases above (checked against optax)")
    got, want = run(opt), reference()
    assert len(got) == len(want) == STEPS
    for step, (g_row, w_row) in enumerate(zip(got, want)):
        for g, w in zip(g_row, w_row):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=f"{name}, step {step + 1}")



@pytest.mark.parametrize("name,opt,make_optax,_", CASES, ids=IDS)
def test_against_optax(optax: Any, name: str, opt: Any, make_optax: Any, _: Any) -> None:
    import jax.numpy as jnp
    to_jax = lambda tree: tree_map(jnp.asarray, tree)  # noqa: E731
    want = run(make_optax(optax), [to_jax(g) for g in GRADS], [to_jax(p) for p in PARAMS_SEQ])
    got = run(opt)
    # optax divides its int32 step count in float32 inside schedules, even with x64 on.
    rtol = 1e-6 if "schedule" in name else 1e-10
    for step, (g_row, w_row) in enumerate(zip(got, want)):
        for g, w in zip(g_row, w_row):
            assert w.dtype == np.float64
            np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-13, err_msg=f"{name}, step {step + 1}")


def test_states_have_optax_fields(optax: Any) -> None:
    """The state of each stage has optax's type name and fields, so code reading them ports unchanged."""
    pairs = [(optim.scale_by_adam(), optax.scale_by_adam()), (optim.trace(0.9), optax.trace(0.9)),
             (optim.scale_by_rss(), optax.scale_by_rss()), (optim.scale_by_lion(), optax.scale_by_lion()),
             (optim.scale_by_rms(), optax.scale_by_rms()), (optim.scale_by_lbfgs(), optax.scale_by_lbfgs())]
    for ours, theirs in pairs:
        s, t = ours.init(PARAMS), theirs.init(PARAMS)
        assert type(s).__name__ == type(t).__name__
        assert set(t._fields) <= set(s._fields)
        assert np.asarray(s[0]).dtype == np.asarray(t[0]).dtype


def test_count_is_int32_and_saturates() -> None:
    opt = optim.scale_by_adam()
    state = opt.init(PARAMS)._replace(count=np.asarray(np.iinfo(np.int32).max, np.int32))
    _, state = opt.update(GRADS[0], state, PARAMS)
    assert state.count.dtype == np.int32 and int(state.count) == np.iinfo(np.int32).max


def test_apply_updates_keeps_param_dtypes() -> None:
    params = {"a": np.ones(2, np.float32), "b": np.ones(2)}
    out = optim.apply_updates(params, {"a": np.full(2, 0.5), "b": np.full(2, 0.5)})
    assert out["a"].dtype == np.float32 and out["b"].dtype == np.float64
    np.testing.assert_array_equal(out["a"], 1.5)


def test_chain_state_is_a_tuple_of_stage_states() -> None:
    opt = optim.chain(optim.trace(0.5), optim.scale_by_adam())
    state = opt.init(PARAMS)
    assert isinstance(state, tuple) and isinstance(state[0], optim.TraceState)
    assert isinstance(state[1], optim.ScaleByAdamState)

