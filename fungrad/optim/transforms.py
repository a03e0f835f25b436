"""The building blocks of first-order optimizers (optax's names, arguments, states and formulas).

Each function returns a ``GradientTransformation``; ``chain`` them into an optimizer. ``g`` below is
the incoming update (the gradient, for the first stage), ``t`` the step count starting at 1.

    >>> import numpy as np
    >>> from fungrad.optim import chain
    >>> opt = chain(clip_by_global_norm(1.0), scale_by_adam(), scale_by_learning_rate(0.1))
    >>> params = np.array([1.0, -2.0])
    >>> state = opt.init(params)
    >>> updates, state = opt.update(np.array([3.0, -4.0]), state, params)
    >>> np.round(updates, 6)
    array([-0.1,  0.1])
"""
from __future__ import annotations

from typing import Any, NamedTuple

import fungrad.numpy as fnp
from fungrad.optim.base import (
    EmptyState, GradientTransformation, ScalarOrSchedule, init_empty_state,
)
from fungrad.optim.tree import (
    global_norm, safe_increment, tree_bias_correction, tree_map_same, tree_update_moment, tree_zeros_like,
    zero_count,
)
from fungrad.optim.wrappers import masked

__all__ = [
    "AddDecayedWeightsState", "ScaleByAdamState", "ScaleByLionState", "ScaleByRmsState", "ScaleByRssState",
    "ScaleByScheduleState", "ScaleByStddevState", "TraceState", "add_decayed_weights", "clip",
    "clip_by_global_norm", "scale", "scale_by_adam", "scale_by_learning_rate", "scale_by_lion", "scale_by_rms",
    "scale_by_rss", "scale_by_schedule", "scale_by_stddev", "trace",
]

AddDecayedWeightsState = EmptyState


def _matching(what: str) -> str:
    return f"{what}.update: the updates and the optimizer state"


def scale(step_size: Any) -> GradientTransformation:
    """``g * step_size``.

        >>> import numpy as np
        >>> scale(-0.5).update([np.array(4.0)], EmptyState())[0]
        [-2.0]
    """
    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        return tree_map_same(lambda g: step_size * g, updates), state
    return GradientTransformation(init_empty_state, update)


class ScaleByScheduleState(NamedTuple):
    """The step count of ``scale_by_schedule``.

        >>> scale_by_schedule(lambda n: 0.1).init(None)
        ScaleByScheduleState(count=array(0, dtype=int32))
    """

    count: Any


def scale_by_schedule(step_size_fn: Any) -> GradientTransformation:
    """``g * step_size_fn(count)``, with the count (from 0) kept in the state.

        >>> import numpy as np
        >>> opt = scale_by_schedule(lambda n: 1.0 / (n + 1))
        >>> state = opt.init(np.zeros(1))
        >>> for _ in range(3):
        ...     updates, state = opt.update(np.ones(1), state)
        >>> updates
        array([0.33333333])
    """
    def init(params: Any) -> ScaleByScheduleState:
        return ScaleByScheduleState(zero_count())

    def update(updates: Any, state: ScaleByScheduleState, params: Any = None) -> tuple[Any, ScaleByScheduleState]:
        step_size = step_size_fn(state.count)
        return (tree_map_same(lambda g: step_size * g, updates),
                ScaleByScheduleState(safe_increment(state.count)))
    return GradientTransformation(init, update)


def scale_by_learning_rate(learning_rate: ScalarOrSchedule, *, flip_sign: bool = True) -> GradientTransformation:
    """``-learning_rate * g`` (``+`` with ``flip_sign=False``); ``learning_rate`` a number or a schedule.

        >>> import numpy as np
        >>> opt = scale_by_learning_rate(0.1)
        >>> opt.update(np.array([1.0, 2.0]), opt.init(None))[0]
        array([-0.1, -0.2])
    """
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


class TraceState(NamedTuple):
    """The momentum buffer of ``trace``.

        >>> import numpy as np
        >>> trace(0.9).init(np.ones(2))
        TraceState(trace=array([0., 0.]))
    """

    trace: Any


def trace(decay: Any, nesterov: bool = False, accumulator_dtype: Any = None) -> GradientTransformation:
    """Momentum: ``m = g + decay * m``; the update is ``m`` (heavy ball) or ``g + decay * m`` (Nesterov).

        >>> import numpy as np
        >>> opt = trace(0.5)
        >>> state = opt.init(np.zeros(1))
        >>> for _ in range(3):
        ...     updates, state = opt.update(np.ones(1), state)
        >>> updates
        array([1.75])
    """
    def init(params: Any) -> TraceState:
        return TraceState(tree_zeros_like(params, dtype=accumulator_dtype))

    def update(updates: Any, state: TraceState, params: Any = None) -> tuple[Any, TraceState]:
        momentum = tree_map_same(lambda g, m: g + decay * m, updates, state.trace, what=_matching("trace"))
        if nesterov:
            updates = tree_map_same(lambda g, m: g + decay * m, updates, momentum)
        else:
            updates = momentum
        return updates, TraceState(momentum)
    return GradientTransformation(init, update)


class ScaleByAdamState(NamedTuple):
    """Adam's step count and first and second moment estimates.

        >>> import numpy as np
        >>> scale_by_adam().init(np.ones(1))
        ScaleByAdamState(count=array(0, dtype=int32), mu=array([0.]), nu=array([0.]))
    """

    count: Any
    mu: Any
    nu: Any


def scale_by_adam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8, eps_root: Any = 0.0, mu_dtype: Any = None, *,
                  nesterov: bool = False) -> GradientTransformation:
    """Adam: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``, update
    ``m_hat / (sqrt(v_hat + eps_root) + eps)`` with ``m_hat = m / (1 - b1**t)``, ``v_hat = v / (1 - b2**t)``.
    With ``nesterov=True`` (NAdam), ``m_hat = b1 m / (1 - b1**(t+1)) + (1 - b1) g / (1 - b1**t)``.

        >>> import numpy as np
        >>> opt = scale_by_adam()
        >>> np.round(opt.update(np.array([0.1, -3.0]), opt.init(np.zeros(2)))[0], 6)
        array([ 1., -1.])
    """
    def init(params: Any) -> ScaleByAdamState:
        return ScaleByAdamState(zero_count(), tree_zeros_like(params, dtype=mu_dtype), tree_zeros_like(params))

    def update(updates: Any, state: ScaleByAdamState, params: Any = None) -> tuple[Any, ScaleByAdamState]:
        mu = tree_update_moment(updates, state.mu, b1, 1)
        nu = tree_update_moment(updates, state.nu, b2, 2)
        count = safe_increment(state.count)
        # The bias corrections are scalars: with r = sqrt(1 - b2**t) the update is
        # (r * m_hat) / (sqrt(v + eps_root * r**2) + eps * r), two passes over the params fewer.
        r = fnp.sqrt(1 - b2 ** count)
        if nesterov:
            a, c = b1 * r / (1 - b1 ** (count + 1)), (1 - b1) * r / (1 - b1 ** count)
            numerators = tree_map_same(lambda m, g: a * m + c * g, mu, updates)
        else:
            a = r / (1 - b1 ** count)
            numerators = tree_map_same(lambda m: a * m, mu)
        if isinstance(eps_root, (int, float)) and eps_root == 0:
            updates = tree_map_same(lambda n, v: n / (fnp.sqrt(v) + eps * r), numerators, nu)
        else:
            shift = eps_root * r * r
            updates = tree_map_same(lambda n, v: n / (fnp.sqrt(v + shift) + eps * r), numerators, nu)
        return updates, ScaleByAdamState(count, mu, nu)
    return GradientTransformation(init, update)


class ScaleByRmsState(NamedTuple):
    """RMSProp's moving average of squared updates (and, with bias correction, the step count).

        >>> import numpy as np
        >>> scale_by_rms(initial_scale=1.0).init(np.ones(1))
        ScaleByRmsState(nu=array([1.]), count=None)
    """

    nu: Any
    count: Any = None


def scale_by_rms(decay: Any = 0.9, eps: Any = 1e-8, initial_scale: Any = 0.0, eps_in_sqrt: bool = True,
                 bias_correction: bool = False) -> GradientTransformation:
    """RMSProp's scaling: ``v = decay v + (1 - decay) g**2`` (from ``v = initial_scale``), update
    ``g / sqrt(v + eps)`` (or ``g / (sqrt(v) + eps)`` with ``eps_in_sqrt=False``); ``bias_correction``
    divides ``v`` by ``1 - decay**t`` first.

        >>> import numpy as np
        >>> opt = scale_by_rms(decay=0.75, eps=0.0)
        >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0]
        array([2.])
    """
    def init(params: Any) -> ScaleByRmsState:
        nu = tree_map_same(lambda p: fnp.full_like(p, initial_scale), params)
        return ScaleByRmsState(nu, zero_count() if bias_correction else None)

    def update(updates: Any, state: ScaleByRmsState, params: Any = None) -> tuple[Any, ScaleByRmsState]:
        nu = tree_update_moment(updates, state.nu, decay, 2)
        count = state.count
        nu_hat = nu
        if bias_correction:
            count = safe_increment(count)
            nu_hat = tree_bias_correction(nu, decay, count)
        if eps_in_sqrt:
            updates = tree_map_same(lambda g, v: g / fnp.sqrt(v + eps), updates, nu_hat)
        else:
            updates = tree_map_same(lambda g, v: g / (fnp.sqrt(v) + eps), updates, nu_hat)
        return updates, ScaleByRmsState(nu, count)
    return GradientTransformation(init, update)


class ScaleByStddevState(NamedTuple):
    """Centered RMSProp's moving averages of updates and squared updates.

        >>> import numpy as np
        >>> scale_by_stddev().init(np.ones(1))
        ScaleByStddevState(mu=array([0.]), nu=array([0.]))
    """

    mu: Any
    nu: Any


def scale_by_stddev(decay: Any = 0.9, eps: Any = 1e-8, initial_scale: Any = 0.0) -> GradientTransformation:
    """Centered RMSProp's scaling: ``g / sqrt(v - m**2 + eps)`` with moving averages ``m`` of ``g``
    and ``v`` of ``g**2``.

        >>> import numpy as np
        >>> opt = scale_by_stddev(decay=0.5, eps=0.0)
        >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0]
        array([2.])
    """
    def init(params: Any) -> ScaleByStddevState:
        return ScaleByStddevState(tree_zeros_like(params),
                                  tree_map_same(lambda p: fnp.full_like(p, initial_scale), params))

    def update(updates: Any, state: ScaleByStddevState, params: Any = None) -> tuple[Any, ScaleByStddevState]:
        mu = tree_update_moment(updates, state.mu, decay, 1)
        nu = tree_update_moment(updates, state.nu, decay, 2)
        updates = tree_map_same(lambda g, m, v: g / fnp.sqrt(v - m * m + eps), updates, mu, nu)
        return updates, ScaleByStddevState(mu, nu)
    return GradientTransformation(init, update)


class ScaleByRssState(NamedTuple):
    """Adagrad's running sum of squared updates.

        >>> import numpy as np
        >>> scale_by_rss().init(np.ones(1))
        ScaleByRssState(sum_of_squares=array([0.1]))
    """

    sum_of_squares: Any


def scale_by_rss(initial_accumulator_value: Any = 0.1, eps: Any = 1e-7) -> GradientTransformation:
    """Adagrad's scaling: ``s = s + g**2`` (from ``initial_accumulator_value``), update
    ``g / sqrt(s + eps)`` where ``s > 0`` and 0 where ``s == 0``.

        >>> import numpy as np
        >>> opt = scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
        >>> opt.update(np.array([-3.0, 0.0]), opt.init(np.zeros(2)))[0]
        array([-1.,  0.])
    """
    def init(params: Any) -> ScaleByRssState:
        return ScaleByRssState(tree_map_same(lambda p: fnp.full_like(p, initial_accumulator_value), params))

    def update(updates: Any, state: ScaleByRssState, params: Any = None) -> tuple[Any, ScaleByRssState]:
        total = tree_map_same(lambda g, s: s + g * g, updates, state.sum_of_squares, what=_matching("scale_by_rss"))
        updates = tree_map_same(lambda g, s: fnp.where(s > 0, g / fnp.sqrt(fnp.where(s > 0, s, 1) + eps), 0),
                                updates, total)
        return updates, ScaleByRssState(total)
    return GradientTransformation(init, update)


class ScaleByLionState(NamedTuple):
    """Lion's step count and momentum.

        >>> import numpy as np
        >>> scale_by_lion().init(np.ones(1))
        ScaleByLionState(count=array(0, dtype=int32), mu=array([0.]))
    """

    count: Any
    mu: Any


def scale_by_lion(b1: Any = 0.9, b2: Any = 0.99, mu_dtype: Any = None) -> GradientTransformation:
    """Lion: update ``sign(b1 m + (1 - b1) g)``, then ``m = b2 m + (1 - b2) g``.

        >>> import numpy as np
        >>> opt = scale_by_lion()
        >>> opt.update(np.array([0.3, -2.0, 0.0]), opt.init(np.zeros(3)))[0]
        array([ 1., -1.,  0.])
    """
    def init(params: Any) -> ScaleByLionState:
        return ScaleByLionState(zero_count(), tree_zeros_like(params, dtype=mu_dtype))

    def update(updates: Any, state: ScaleByLionState, params: Any = None) -> tuple[Any, ScaleByLionState]:
        directions = tree_map_same(lambda g, m: fnp.sign(b1 * m + (1 - b1) * g), updates, state.mu,
                                   what=_matching("scale_by_lion"))
        mu = tree_update_moment(updates, state.mu, b2, 1)
        return directions, ScaleByLionState(safe_increment(state.count), mu)
    return GradientTransformation(init, update)


def clip(max_delta: Any) -> GradientTransformation:
    """Clip every entry to ``[-max_delta, max_delta]``.

        >>> import numpy as np
        >>> clip(1.0).update(np.array([-3.0, 0.5, 2.0]), EmptyState())[0]
        array([-1. ,  0.5,  1. ])
    """
    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        return tree_map_same(lambda g: fnp.clip(g, -max_delta, max_delta), updates), state
    return GradientTransformation(init_empty_state, update)


def clip_by_global_norm(max_norm: Any) -> GradientTransformation:
    """Rescale the updates to global norm ``max_norm`` when their global norm is larger.

        >>> import numpy as np
        >>> clip_by_global_norm(1.0).update([np.array([3.0, 4.0])], EmptyState())[0]
        [array([0.6, 0.8])]
    """
    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        norm = global_norm(updates)
        keep = norm < max_norm
        return tree_map_same(lambda g: fnp.where(keep, g, g / norm * max_norm), updates), state
    return GradientTransformation(init_empty_state, update)


def add_decayed_weights(weight_decay: Any = 0.0, mask: Any = None) -> GradientTransformation:
    """``g + weight_decay * params`` (decoupled weight decay); ``mask`` (a pytree of bools like the
    params, or a function of the params returning one) limits it to some leaves.

        >>> import numpy as np
        >>> params = {'w': np.array([1.0, 2.0]), 'b': np.array(3.0)}
        >>> opt = add_decayed_weights(0.5, mask={'w': True, 'b': False})
        >>> opt.update({'w': np.zeros(2), 'b': np.array(0.0)}, opt.init(params), params)[0]
        {'b': array(0.), 'w': array([0.5, 1. ])}
    """
    def update(updates: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        if params is None:
            raise ValueError("add_decayed_weights.update needs the params: call opt.update(grads, state, params).")
        return tree_map_same(lambda g, p: g + weight_decay * p, updates, params,
                             what=_matching("add_decayed_weights") + " params"), state
    decay = GradientTransformation(init_empty_state, update)
    return decay if mask is None else masked(decay, mask)
