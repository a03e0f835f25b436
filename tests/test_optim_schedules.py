"""Schedules against their closed forms (written out here with math) and against optax, on Python
ints, NumPy int32 counts and inside jit."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.optim as optim

COUNTS = list(range(0, 60))


def linear_by_hand(init: float, end: float, steps: int, begin: int) -> Callable[[int], float]:
    def value(n: int) -> float:
        if steps <= 0:
            return init
        k = min(max(n - max(begin, 0), 0), steps)
        return init + (end - init) * k / steps
    return value


def exponential_by_hand(init: float, steps: int, rate: float, begin: int, staircase: bool,
                        end: float | None) -> Callable[[int], float]:
    def value(n: int) -> float:
        if steps <= 0 or rate == 0:
            return init
        k = n - max(begin, 0)
        if k <= 0:
            v = init
        else:
            v = init * rate ** (math.floor(k / steps) if staircase else k / steps)
        if end is not None:
            v = max(v, end) if rate < 1 else min(v, end)
        return v
    return value


def cosine_by_hand(init: float, steps: int, alpha: float, exponent: float) -> Callable[[int], float]:
    def value(n: int) -> float:
        c = 0.5 * (1 + math.cos(math.pi * min(n, steps) / steps))
        return init * ((1 - alpha) * c ** exponent + alpha)
    return value


def warmup_cosine_by_hand(init: float, peak: float, warmup: int, decay: int, end: float) -> Callable[[int], float]:
    def value(n: int) -> float:
        if n < warmup:
            return init + (peak - init) * n / warmup
        alpha = 0.0 if peak == 0 else end / peak
        return cosine_by_hand(peak, decay - warmup, alpha, 1.0)(n - warmup)
    return value


def piecewise_by_hand(init: float, table: dict[int, float]) -> Callable[[int], float]:
    def value(n: int) -> float:
        v = init
        for boundary in sorted(table):
            if n >= boundary:
                v *= table[boundary]
        return v
    return value


# (id, fungrad schedule, the same in optax, the closed form)
CASES: list[tuple[str, Any, Callable[[Any], Any], Callable[[int], float]]] = [
    ("constant", optim.constant_schedule(0.3), lambda o: o.constant_schedule(0.3), lambda n: 0.3),
    ("linear", optim.linear_schedule(1.0, 0.1, 20, 5), lambda o: o.linear_schedule(1.0, 0.1, 20, 5),
     linear_by_hand(1.0, 0.1, 20, 5)),
    ("linear_up", optim.linear_schedule(0.0, 2.0, 7), lambda o: o.linear_schedule(0.0, 2.0, 7),
     linear_by_hand(0.0, 2.0, 7, 0)),
    ("linear_zero_steps", optim.linear_schedule(0.5, 2.0, 0), lambda o: o.linear_schedule(0.5, 2.0, 0),
     linear_by_hand(0.5, 2.0, 0, 0)),
    ("exponential", optim.exponential_decay(0.5, 10, 0.3), lambda o: o.exponential_decay(0.5, 10, 0.3),
     exponential_by_hand(0.5, 10, 0.3, 0, False, None)),
    ("exponential_all", optim.exponential_decay(0.5, 4, 0.7, transition_begin=6, staircase=True, end_value=0.1),
     lambda o: o.exponential_decay(0.5, 4, 0.7, transition_begin=6, staircase=True, end_value=0.1),
     exponential_by_hand(0.5, 4, 0.7, 6, True, 0.1)),
    ("exponential_growth", optim.exponential_decay(0.1, 5, 1.5, end_value=0.6),
     lambda o: o.exponential_decay(0.1, 5, 1.5, end_value=0.6), exponential_by_hand(0.1, 5, 1.5, 0, False, 0.6)),
    ("cosine", optim.cosine_decay_schedule(0.2, 40), lambda o: o.cosine_decay_schedule(0.2, 40),
     cosine_by_hand(0.2, 40, 0.0, 1.0)),
    ("cosine_alpha_exponent", optim.cosine_decay_schedule(0.2, 30, alpha=0.1, exponent=2.0),
     lambda o: o.cosine_decay_schedule(0.2, 30, alpha=0.1, exponent=2.0), cosine_by_hand(0.2, 30, 0.1, 2.0)),
    ("warmup_cosine", optim.warmup_cosine_decay_schedule(0.0, 1.0, 10, 50, end_value=0.05),
     lambda o: o.warmup_cosine_decay_schedule(0.0, 1.0, 10, 50, end_value=0.05),
     warmup_cosine_by_hand(0.0, 1.0, 10, 50, 0.05)),
    ("piecewise", optim.piecewise_constant_schedule(1.0, {10: 0.5, 30: 0.2, 20: 3.0}),
     lambda o: o.piecewise_constant_schedule(1.0, {10: 0.5, 30: 0.2, 20: 3.0}),
     piecewise_by_hand(1.0, {10: 0.5, 30: 0.2, 20: 3.0})),
    ("join", optim.join_schedules([optim.constant_schedule(1.0), optim.linear_schedule(1.0, 0.0, 10),
                                   optim.constant_schedule(0.25)], [5, 25]),
     lambda o: o.join_schedules([o.constant_schedule(1.0), o.linear_schedule(1.0, 0.0, 10),
                                 o.constant_schedule(0.25)], [5, 25]),
     lambda n: 1.0 if n < 5 else (linear_by_hand(1.0, 0.0, 10, 0)(n - 5) if n < 25 else 0.25)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,schedule,_,by_hand", CASES, ids=IDS)
def test_closed_form(name: str, schedule: Any, _: Any, by_hand: Callable[[int], float]) -> None:
    for n in COUNTS:
        want = by_hand(n)
        assert float(schedule(n)) == pytest.approx(want, rel=1e-12, abs=1e-15), (name, n)
        assert float(schedule(np.asarray(n, np.int32))) == pytest.approx(want, rel=1e-12, abs=1e-15), (name, n)


@pytest.mark.parametrize("name,schedule,_,by_hand", CASES, ids=IDS)
def test_inside_jit(name: str, schedule: Any, _: Any, by_hand: Callable[[int], float]) -> None:
    jitted = fungrad.jit(lambda n: fungrad.numpy.asarray(schedule(n), dtype=np.float64))
    got = [float(jitted(np.asarray(n, np.int32))) for n in COUNTS]
    np.testing.assert_allclose(got, [by_hand(n) for n in COUNTS], rtol=1e-12, atol=1e-15)
    assert jitted.cache_info().misses == 1



@pytest.mark.parametrize("name,schedule,make_optax,_", CASES, ids=IDS)
def test_against_optax(optax: Any, name: str, schedule: Any, make_optax: Any, _: Any) -> None:
    import jax.numpy as jnp
    theirs = make_optax(optax)
    # optax divides its int32 count in float32 inside some schedules: agreement to float32 precision.
    for n in COUNTS:
        want = float(theirs(jnp.asarray(n, jnp.int32)))
        assert float(schedule(np.asarray(n, np.int32))) == pytest.approx(want, rel=2e-6, abs=1e-7), (name, n)


@given(init=st.floats(0.01, 10), end=st.floats(0.0, 10), steps=st.integers(-2, 50), begin=st.integers(-3, 20),
       n=st.integers(0, 100))
def test_linear_any_arguments(init: float, end: float, steps: int, begin: int, n: int) -> None:
    got = float(optim.linear_schedule(init, end, steps, begin)(n))
    assert got == pytest.approx(linear_by_hand(init, end, steps, begin)(n), rel=1e-12, abs=1e-12)


@given(init=st.floats(0.01, 10), steps=st.integers(-1, 30), rate=st.floats(0.0, 2.0), begin=st.integers(-3, 20),
       staircase=st.booleans(), end=st.none() | st.floats(0.001, 5), n=st.integers(0, 100))
def test_exponential_any_arguments(init: float, steps: int, rate: float, begin: int, staircase: bool,
                                   end: float | None, n: int) -> None:
    got = float(optim.exponential_decay(init, steps, rate, begin, staircase, end)(n))
    assert got == pytest.approx(exponential_by_hand(init, steps, rate, begin, staircase, end)(n), rel=1e-12)


@given(init=st.floats(0.01, 10), steps=st.integers(1, 50), alpha=st.floats(0.0, 1.0), exponent=st.floats(0.5, 3),
       n=st.integers(0, 100))
def test_cosine_any_arguments(init: float, steps: int, alpha: float, exponent: float, n: int) -> None:
    got = float(optim.cosine_decay_schedule(init, steps, alpha, exponent)(n))
    assert got == pytest.approx(cosine_by_hand(init, steps, alpha, exponent)(n), rel=1e-12, abs=1e-14)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="positive decay_steps"):
        optim.cosine_decay_schedule(1.0, 0)
    with pytest.raises(ValueError, match="non-negative scales"):
        optim.piecewise_constant_schedule(1.0, {3: -0.5})
    with pytest.raises(ValueError, match="need 1 boundaries"):
        optim.join_schedules([optim.constant_schedule(1.0)] * 2, [])


def test_any_learning_rate_takes_a_schedule() -> None:
    params = np.zeros(2)
    for make in (optim.sgd, optim.adam, optim.adamw, optim.rmsprop, optim.adagrad, optim.lion):
        opt = make(optim.piecewise_constant_schedule(1.0, {1: 0.0}))
        state = opt.init(params)
        first, state = opt.update(np.ones(2), state, params)
        second, state = opt.update(np.ones(2), state, params)
        assert np.all(first != 0) and np.all(second == 0), make.__name__
