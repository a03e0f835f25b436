"""Schedules: functions from the step count to a hyperparameter value (optax's names and formulas).

A schedule is any ``count -> value`` function built from ``fungrad.numpy``, so it runs on a Python int,
a NumPy integer, or a traced counter inside ``jit``. Every ``learning_rate`` argument in
``fungrad.optim`` takes a number or a schedule; the optimizer keeps the count in its state (int32).
As in optax, a non-positive ``transition_steps`` makes ``linear_schedule`` and ``exponential_decay``
constant at ``init_value``, and a negative ``transition_begin`` counts as 0.

    >>> lr = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=110)
    >>> [round(float(lr(n)), 3) for n in (0, 5, 10, 60, 110, 200)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import fungrad.numpy as fnp

Schedule = Callable[[Any], Any]

__all__ = [
    "constant_schedule", "cosine_decay_schedule", "exponential_decay", "join_schedules", "linear_schedule",
    "piecewise_constant_schedule", "warmup_cosine_decay_schedule",
]


def _constant(value: Any) -> Schedule:
    return lambda count: value


def constant_schedule(value: Any) -> Schedule:
    """The schedule that is always ``value``.

        >>> constant_schedule(0.1)(1000)
        0.1
    """
    return _constant(value)


def linear_schedule(init_value: Any, end_value: Any, transition_steps: int, transition_begin: int = 0) -> Schedule:
    """Constant ``init_value`` until ``transition_begin``, then linear to ``end_value`` over
    ``transition_steps`` steps, then constant ``end_value``.

        >>> s = linear_schedule(1.0, 0.0, transition_steps=4, transition_begin=2)
        >>> [float(s(n)) for n in range(8)]
        [1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    if transition_steps <= 0:
        return _constant(init_value)
    begin = max(transition_begin, 0)

    def schedule(count: Any) -> Any:
        progress = fnp.clip(count - begin, 0, transition_steps) / transition_steps
        return init_value + (end_value - init_value) * progress
    return schedule


def exponential_decay(init_value: Any, transition_steps: int, decay_rate: float, transition_begin: int = 0,
                      staircase: bool = False, end_value: Any = None) -> Schedule:
    """``init_value * decay_rate ** ((count - transition_begin) / transition_steps)`` after
    ``transition_begin`` (``init_value`` before it); ``staircase`` floors the exponent; ``end_value``
    bounds the result (from below when decaying, from above when growing).

        >>> s = exponential_decay(1.0, transition_steps=2, decay_rate=0.5, staircase=True, end_value=0.2)
        >>> [float(s(n)) for n in range(7)]
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2]
    """
    if transition_steps <= 0 or decay_rate == 0:
        return _constant(init_value)
    begin = max(transition_begin, 0)

    def schedule(count: Any) -> Any:
        elapsed = count - begin
        exponent = elapsed / transition_steps
        if staircase:
            exponent = fnp.floor(exponent)
        value = fnp.where(elapsed <= 0, init_value, init_value * fnp.power(decay_rate, exponent))
        if end_value is None:
            return value
        return fnp.maximum(value, end_value) if decay_rate < 1 else fnp.minimum(value, end_value)
    return schedule


def cosine_decay_schedule(init_value: Any, decay_steps: int, alpha: Any = 0.0, exponent: Any = 1.0) -> Schedule:
    """``init_value * ((1 - alpha) * c ** exponent + alpha)`` with ``c = (1 + cos(pi * t / decay_steps)) / 2``
    and ``t = min(count, decay_steps)``: from ``init_value`` down to ``alpha * init_value``.

        >>> s = cosine_decay_schedule(2.0, decay_steps=4, alpha=0.5)
        >>> [round(float(s(n)), 4) for n in (0, 2, 4, 9)]
        [2.0, 1.5, 1.0, 1.0]
    """
    if not decay_steps > 0:
        raise ValueError(f"cosine_decay_schedule needs a positive decay_steps, got {decay_steps}.")

    def schedule(count: Any) -> Any:
        t = fnp.minimum(count, decay_steps)
        cosine = 0.5 * (1 + fnp.cos(fnp.pi * t / decay_steps))
        return init_value * ((1 - alpha) * cosine ** exponent + alpha)
    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` counted from that boundary, and so on.

        >>> s = join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 2)], [3])
        >>> [float(s(n)) for n in range(6)]
        [1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    """
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"join_schedules: {len(schedules)} schedules need {len(schedules) - 1} boundaries, "
                         f"got {len(boundaries)}.")

    def schedule(count: Any) -> Any:
        value = schedules[0](count)
        for boundary, later in zip(boundaries, schedules[1:]):
            value = fnp.where(count < boundary, value, later(count - boundary))
        return value
    return schedule


def warmup_cosine_decay_schedule(init_value: Any, peak_value: Any, warmup_steps: int, decay_steps: int,
                                 end_value: Any = 0.0, exponent: Any = 1.0) -> Schedule:
    """Linear warm-up from ``init_value`` to ``peak_value`` over ``warmup_steps``, then cosine decay to
    ``end_value``, reached at step ``decay_steps`` (which counts the warm-up).

        >>> s = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=6, end_value=0.2)
        >>> [round(float(s(n)), 2) for n in range(8)]
        [0.0, 0.5, 1.0, 0.88, 0.6, 0.32, 0.2, 0.2]
    """
    alpha = 0.0 if peak_value == 0.0 else end_value / peak_value
    return join_schedules([linear_schedule(init_value, peak_value, warmup_steps),
                           cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent)],
                          [warmup_steps])


def piecewise_constant_schedule(init_value: Any, boundaries_and_scales: dict[int, float] | None = None) -> Schedule:
    """``init_value`` times every scale whose boundary the count has reached (``count >= boundary``).

        >>> s = piecewise_constant_schedule(1.0, {2: 0.5, 4: 0.1})
        >>> [round(float(s(n)), 3) for n in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
    """
    items = sorted((boundaries_and_scales or {}).items())
    if any(scale < 0 for _, scale in items):
        raise ValueError(f"piecewise_constant_schedule needs non-negative scales, got {dict(items)}.")

    def schedule(count: Any) -> Any:
        value = init_value
        for boundary, scale in items:
            value = fnp.where(count >= boundary, value * scale, value)
        return value
    return schedule
