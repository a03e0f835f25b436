"""The L-BFGS direction (optax's ``scale_by_lbfgs``): the update times an inverse-Hessian estimate
built from the last ``memory_size`` differences of params and updates.

The memory is kept oldest first: each step shifts the newest pair in at the end, so the two-loop
recursion below runs over static positions. (optax keeps a circular buffer instead; the directions
are the same.)

    >>> import numpy as np
    >>> opt = scale_by_lbfgs(memory_size=3)
    >>> state = opt.init(np.zeros(2))
    >>> direction, state = opt.update(np.array([3.0, 4.0]), state, np.zeros(2))
    >>> direction          # the first step is the update scaled to norm at most 1
    array([0.6, 0.8])
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import fungrad.numpy as fnp
from fungrad.lax import stop_gradient
from fungrad.optim.base import GradientTransformation
from fungrad.optim.tree import (
    global_norm, safe_increment, tree_add_scale, tree_map_same, tree_scale, tree_sub, tree_vdot, tree_where,
    tree_zeros_like, zero_count,
)

__all__ = ["ScaleByLBFGSState", "scale_by_lbfgs"]


class ScaleByLBFGSState(NamedTuple):
    """The step count, the last params and updates, and the memory of differences (oldest first):
    ``diff_params_memory`` and ``diff_updates_memory`` stack ``memory_size`` params-shaped
    differences on a leading axis, ``weights_memory`` holds ``1 / <dparams, dupdates>``.

        >>> import numpy as np
        >>> scale_by_lbfgs(memory_size=3).init(np.ones(2)).diff_params_memory.shape
        (3, 2)
    """

    count: Any
    params: Any
    updates: Any
    diff_params_memory: Any
    diff_updates_memory: Any
    weights_memory: Any


def _push(memory: Any, newest: Any) -> Any:
    """Drop the oldest entry of a stacked memory leaf and append ``newest`` at the end."""
    return fnp.concatenate([memory[1:], fnp.expand_dims(newest, 0)], axis=0)


def _entry(memory: Any, i: int) -> Any:
    return tree_map_same(lambda m: m[i], memory)


def _two_loop(updates: Any, dparams: Any, dupdates: Any, weights: Any, gamma: Any, memory_size: int) -> Any:
    """Nocedal and Wright's algorithm 7.4: ``H @ updates`` with ``H`` the L-BFGS inverse-Hessian estimate."""
    q, alphas = updates, []
    for i in reversed(range(memory_size)):
        alpha = weights[i] * tree_vdot(_entry(dparams, i), q)
        q = tree_add_scale(q, -alpha, _entry(dupdates, i))
        alphas.append(alpha)
    r = tree_scale(gamma, q)
    for i, alpha in zip(range(memory_size), reversed(alphas)):
        beta = weights[i] * tree_vdot(_entry(dupdates, i), r)
        r = tree_add_scale(r, alpha - beta, _entry(dparams, i))
    return r


def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True) -> GradientTransformation:
    """Multiply the updates by the L-BFGS estimate of the inverse Hessian.

    With ``s_k`` the params differences, ``y_k`` the updates differences and ``rho_k = 1 / <s_k, y_k>``
    (0 when that product is 0), the estimate starts from ``gamma I`` with ``gamma = <s, y> / <y, y>`` of
    the newest pair (``scale_init_precond``; else 1); on the first step ``gamma = min(1, 1/|updates|)``.
    Chain it with a sign flip and a line search (``lbfgs``).

        >>> import numpy as np
        >>> opt = scale_by_lbfgs()
        >>> state = opt.init(np.zeros(1))
        >>> _, state = opt.update(np.array([2.0]), state, np.array([0.0]))
        >>> opt.update(np.array([1.0]), state, np.array([-0.5]))[0]    # a 1-d secant step: 1 / 2
        array([0.5])
    """
    if memory_size < 1:
        raise ValueError(f"scale_by_lbfgs needs memory_size >= 1, got {memory_size}.")

    def init(params: Any) -> ScaleByLBFGSState:
        memory = tree_map_same(lambda p: fnp.zeros((memory_size,) + fnp.shape(p), dtype=fnp.result_type(p)), params)
        return ScaleByLBFGSState(zero_count(), tree_zeros_like(params), tree_zeros_like(params),
                                 memory, memory, np.zeros(memory_size))

    def update(updates: Any, state: ScaleByLBFGSState, params: Any = None) -> tuple[Any, ScaleByLBFGSState]:
        if params is None:
            raise ValueError("scale_by_lbfgs.update needs the params: call opt.update(grads, state, params).")
        started = state.count > 0
        dparams = tree_sub(params, state.params)
        dupdates = tree_map_same(lambda u, v: u - v, updates, state.updates,
                                 what="scale_by_lbfgs.update: the updates and the optimizer state")
        curvature = tree_vdot(dupdates, dparams)
        weight = fnp.where(curvature == 0, 0.0, 1.0 / fnp.where(curvature == 0, 1.0, curvature))
        dparams, dupdates = tree_where(started, (dparams, dupdates), tree_zeros_like((dparams, dupdates)))
        weight = fnp.where(started, weight, 0.0)
        memories = (tree_map_same(_push, state.diff_params_memory, dparams),
                    tree_map_same(_push, state.diff_updates_memory, dupdates),
                    _push(state.weights_memory, weight))
        if scale_init_precond:
            yy = tree_vdot(dupdates, dupdates)
            gamma = fnp.where(yy > 0, tree_vdot(dupdates, dparams) / fnp.where(yy > 0, yy, 1.0), 1.0)
            norm = global_norm(stop_gradient(updates))
            first = fnp.minimum(1.0, 1.0 / fnp.where(norm > 0, norm, 1.0))
            first = fnp.where(norm > 0, first, 1.0)
            gamma = fnp.where(started, gamma, first)
        else:
            gamma = 1.0
        direction = _two_loop(updates, *memories, gamma, memory_size)
        return direction, ScaleByLBFGSState(safe_increment(state.count), params, updates, *memories)
    return GradientTransformation(init, update)
