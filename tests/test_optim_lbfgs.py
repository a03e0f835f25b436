"""L-BFGS and its zoom line search: the direction against the L-BFGS formula by hand (dense inverse
Hessian recursion), the line search's step against the strong Wolfe conditions, convergence on a
quadratic and on Rosenbrock, and iterates / step sizes against optax."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
import fungrad.optim as optim


def rosenbrock(xp: Any) -> Callable[[Any], Any]:
    return lambda w: xp.sum(100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)


def quartic(xp: Any) -> Callable[[Any], Any]:
    return lambda w: xp.sum(w ** 4) + 0.1 * xp.sum(w)


def log_barrier(xp: Any) -> Callable[[Any], Any]:
    return lambda w: xp.sum(w ** 2) - xp.sum(xp.log(1.5 - w))


def flat_valley(xp: Any) -> Callable[[Any], Any]:
    """Near its minimum under a large offset, where rounding hides the decrease the Armijo test asks
    for and only the approximate Wolfe test (approx_dec_rtol) accepts a step."""
    return lambda w: 1e6 + xp.sum((w - 1.0) ** 2 * xp.asarray([1.0, 3.0, 10.0, 0.5])) * 1e-12


W0 = np.array([-1.2, 1.0, -0.5, 0.8])
A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
B = np.array([1.0, -2.0, 0.5])


def quadratic(w: Any) -> Any:
    return 0.5 * fnp.dot(w, fnp.dot(A, w)) - fnp.dot(B, w)


def minimize(opt: Any, f: Callable[[Any], Any], w: Any, steps: int) -> tuple[list[np.ndarray], Any]:
    state = opt.init(w)
    value_and_grad = optim.value_and_grad_from_state(f)
    path = [np.asarray(w)]
    for _ in range(steps):
        value, grad = value_and_grad(w, state=state)
        updates, state = opt.update(grad, state, w, value=value, grad=grad, value_fn=f)
        w = optim.apply_updates(w, updates)
        path.append(np.asarray(w))
    return path, state


# ----------------------------------------------------------------------------- the direction by hand

def lbfgs_direction_by_hand(g: np.ndarray, s_list: list[np.ndarray], y_list: list[np.ndarray], first: bool,
                            memory: int) -> np.ndarray:
    """``H g`` with H from the BFGS inverse update applied to the last ``memory`` pairs, as a dense matrix."""
    n = g.size
    if first:
        return min(1.0, 1.0 / np.linalg.norm(g)) * g
    s_list, y_list = s_list[-memory:], y_list[-memory:]
    H = (s_list[-1] @ y_list[-1]) / (y_list[-1] @ y_list[-1]) * np.eye(n)
    for s, y in zip(s_list, y_list):
        rho = 1.0 / (s @ y)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H @ g


@pytest.mark.parametrize("memory", [1, 3, 10])
def test_lbfgs_direction_against_dense_formula(memory: int) -> None:
    rng = np.random.default_rng(memory)
    opt = optim.scale_by_lbfgs(memory_size=memory)
    w = rng.standard_normal(5)
    state = opt.init(w)
    grad_fn = fungrad.grad(rosenbrock(fnp))
    s_list: list[np.ndarray] = []
    y_list: list[np.ndarray] = []
    prev_w = prev_g = None
    for k in range(8):
        g = grad_fn(w)
        if prev_w is not None:
            s_list.append(w - prev_w)
            y_list.append(g - prev_g)
        direction, state = opt.update(g, state, w)
        np.testing.assert_allclose(direction, lbfgs_direction_by_hand(g, s_list, y_list, k == 0, memory),
                                   rtol=1e-9, atol=1e-12)
        prev_w, prev_g = w, g
        w = w - 1e-3 * direction


# ----------------------------------------------------------------------------- the line search

@pytest.mark.parametrize("scale", [1e-3, 0.3, 1.0, 30.0])
@pytest.mark.parametrize("make_f", [rosenbrock, quartic, log_barrier])
def test_zoom_step_meets_strong_wolfe(make_f: Any, scale: float) -> None:
    f = make_f(fnp)
    search = optim.scale_by_zoom_linesearch(max_linesearch_steps=30, initial_guess_strategy="one")
    value, grad = fungrad.value_and_grad(f)(W0)
    direction = -scale * grad
    with np.errstate(invalid="ignore"):
        updates, state = search.update(direction, search.init(W0), W0, value=value, grad=grad, value_fn=f)
    eta = float(state.learning_rate)
    slope0 = float(grad @ direction)
    new_value, new_grad = fungrad.value_and_grad(f)(W0 + eta * direction)
    np.testing.assert_allclose(updates, eta * direction)
    assert float(state.value) == pytest.approx(float(new_value), rel=1e-12)
    np.testing.assert_allclose(state.grad, new_grad, rtol=1e-12)
    armijo = new_value <= value + 1e-4 * eta * slope0
    approx_wolfe = (float(new_grad @ direction) <= (2 * 1e-4 - 1) * slope0) and new_value <= value + 1e-6 * abs(value)
    assert armijo or approx_wolfe
    assert abs(float(new_grad @ direction)) <= 0.9 * abs(slope0)
    assert float(state.info.decrease_error) == 0.0 and float(state.info.curvature_error) == 0.0


def test_zoom_takes_the_exact_step_on_a_quadratic() -> None:
    search = optim.scale_by_zoom_linesearch(max_linesearch_steps=20, curv_rtol=1e-6)
    w = np.array([3.0, -1.0, 2.0])
    value, grad = fungrad.value_and_grad(quadratic)(w)
    _, state = search.update(-grad, search.init(w), w, value=value, grad=grad, value_fn=quadratic)
    assert float(state.learning_rate) == pytest.approx(float(grad @ grad / (grad @ A @ grad)), rel=1e-8)


def test_zoom_passes_extra_args_to_value_fn_and_rejects_unknown_ones() -> None:
    f = lambda w, target: fnp.sum((w - target) ** 2)  # noqa: E731
    search = optim.scale_by_zoom_linesearch(max_linesearch_steps=10)
    w, target = np.zeros(2), np.array([1.0, 2.0])
    value, grad = fungrad.value_and_grad(f)(w, target)
    updates, _ = search.update(-grad, search.init(w), w, value=value, grad=grad, value_fn=f, target=target)
    np.testing.assert_allclose(w + updates, target)
    with pytest.raises(TypeError, match="does not take the extra arguments"):
        search.update(-grad, search.init(w), w, value=value, grad=grad, value_fn=f, target=target, other=1)


# ----------------------------------------------------------------------------- convergence

def test_lbfgs_minimizes_a_quadratic() -> None:
    path, _ = minimize(optim.lbfgs(), quadratic, np.zeros(3), 12)
    np.testing.assert_allclose(path[-1], np.linalg.solve(A, B), rtol=1e-10)


def lbfgs_step(lib: Any, jit: Any, opt: Any, f: Callable[[Any], Any]) -> Any:
    """One jitted L-BFGS step ``(w, state) -> (w, state)`` written with ``lib`` (fungrad.optim or optax)."""
    value_and_grad = lib.value_and_grad_from_state(f)

    def step(w: Any, state: Any) -> Any:
        value, grad = value_and_grad(w, state=state)
        updates, state = opt.update(grad, state, w, value=value, grad=grad, value_fn=f)
        return lib.apply_updates(w, updates), state
    return jit(step)


def test_lbfgs_minimizes_rosenbrock_under_jit() -> None:
    opt = optim.lbfgs()
    step = lbfgs_step(optim, fungrad.jit, opt, rosenbrock(fnp))
    w, state = W0, opt.init(W0)
    for _ in range(60):
        w, state = step(w, state)
    np.testing.assert_allclose(w, np.ones(4), atol=1e-8)
    assert step.cache_info().misses == 1


def test_jitted_and_eager_lbfgs_agree() -> None:
    f = rosenbrock(fnp)
    opt = optim.lbfgs(memory_size=4)
    w, state = W0, opt.init(W0)
    eager_path, _ = minimize(opt, f, W0, 10)
    update = fungrad.jit(lambda g, s, w, v: opt.update(g, s, w, value=v, grad=g, value_fn=f))
    for k in range(10):
        value, grad = fungrad.value_and_grad(f)(w)
        updates, state = update(grad, state, w, value)
        w = optim.apply_updates(w, updates)
        np.testing.assert_allclose(w, eager_path[k + 1], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- against optax


@pytest.mark.parametrize("memory,scale_init", [(10, True), (3, False)])
def test_lbfgs_iterates_match_optax(optax: Any, memory: int, scale_init: bool) -> None:
    import jax
    import jax.numpy as jnp
    steps = 30
    ours, state = minimize(optim.lbfgs(memory_size=memory, scale_init_precond=scale_init), rosenbrock(fnp), W0,
                           steps)
    theirs_opt = optax.lbfgs(memory_size=memory, scale_init_precond=scale_init)
    step = lbfgs_step(optax, jax.jit, theirs_opt, rosenbrock(jnp))
    w, s = jnp.asarray(W0), theirs_opt.init(jnp.asarray(W0))
    for k in range(steps):
        w, s = step(w, s)
        # The two paths part only by rounding, which Rosenbrock's curved valley amplifies slowly.
        np.testing.assert_allclose(ours[k + 1], np.asarray(w), rtol=1e-8, atol=1e-10, err_msg=f"step {k + 1}")
    assert int(state[-1].info.num_linesearch_steps) == int(s[-1].info.num_linesearch_steps)


@pytest.mark.parametrize("make_f", [rosenbrock, quartic, log_barrier, flat_valley])
def test_zoom_linesearch_matches_optax(optax: Any, make_f: Any) -> None:
    """Growing, zooming, hitting the step cap, failing (Rosenbrock with the largest scale) and leaving
    the domain (log_barrier): the same step, evaluations and errors as optax."""
    import jax
    import jax.numpy as jnp

    def search_once(xp: Any, lib: Any, vag: Any, strategy: str, max_lr: Any) -> Callable[[Any, Any], Any]:
        f = make_f(xp)
        search = lib.scale_by_zoom_linesearch(max_linesearch_steps=15, initial_guess_strategy=strategy,
                                              max_learning_rate=max_lr)

        def run(w: Any, scale: Any) -> Any:
            value, grad = vag(f)(w)
            state = search.init(w)._replace(learning_rate=xp.asarray(0.7))
            _, state = search.update(-scale * grad, state, w, value=value, grad=grad, value_fn=f)
            info = state.info
            return state.learning_rate, info.num_linesearch_steps, state.value, info.decrease_error, \
                info.curvature_error
        return run

    for strategy, max_lr in (("one", None), ("keep", 0.5)):
        ours = search_once(fnp, optim, fungrad.value_and_grad, strategy, max_lr)
        theirs = jax.jit(search_once(jnp, optax, jax.value_and_grad, strategy, max_lr))
        for scale in (1e-4, 0.3, 1.0, 10.0, 1e3):
            with np.errstate(invalid="ignore"):
                got = [float(x) for x in ours(W0, scale)]
            want = [float(x) for x in theirs(jnp.asarray(W0), scale)]
            np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"{strategy}, {max_lr}, {scale}")


def test_value_and_grad_from_state_errors() -> None:
    fetch = optim.value_and_grad_from_state(quadratic)
    with pytest.raises(ValueError, match="exactly one value and gradient"):
        fetch(np.zeros(3), state=optim.adam(0.1).init(np.zeros(3)))
    with pytest.raises(ValueError, match="needs the params"):
        optim.lbfgs().update(np.zeros(3), optim.lbfgs().init(np.zeros(3)), None, value=0.0, grad=np.zeros(3),
                             value_fn=quadratic)


def test_vmapped_lbfgs_matches_one_run_per_start() -> None:
    """vmap over starting points: every element takes its own line-search path (different numbers of zoom
    iterations), and each must equal the same minimization run alone."""
    f = rosenbrock(fnp)
    opt = optim.lbfgs(memory_size=5)
    step = lbfgs_step(optim, lambda g: g, opt, f)

    def run(w: Any) -> Any:
        state = opt.init(w)
        for _ in range(15):
            w, state = step(w, state)
        return w

    starts = np.array([W0, [0.5, -0.3, 2.0, 1.5], [-2.0, 2.0, 0.0, 1.0]])
    batched = fungrad.vmap(run)(starts)
    for start, got in zip(starts, batched):
        np.testing.assert_allclose(got, run(start), rtol=1e-12, atol=1e-14)
    assert not np.allclose(batched[0], batched[1])
