"""jit's buffer planning: a buffer that died earlier is reused by a later equation of its shape and
dtype (``out=``), never while a view of it lives; donated arguments are taken only when no other
argument shares their memory."""
import re

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad.compiler.codegen import compile_jaxpr


def fresh_statements(source):
    """The statements binding a new value (``v3 = ...``): each may allocate an array."""
    return re.findall(r"^\s+v\d+ = .*$", source, flags=re.M)


def sin_sum_cos(x, y):
    t = fnp.sin(x)           # a buffer
    s = fnp.sum(t)           # ... that dies here
    return fnp.cos(y) * s    # cos(y) can be written into it


def test_a_dead_buffer_is_reused_by_a_later_equation():
    x, y = np.linspace(0.0, 1.0, 5), np.linspace(1.0, 2.0, 5)
    source = fungrad.jit(sin_sum_cos).lower(x, y).source
    assert len(fresh_statements(source)) == 2, source       # sin(x), sum: cos reuses sin's buffer
    assert re.search(r"\(a1, out=v\d+\)", source), source
    out = fungrad.jit(sin_sum_cos)(x, y)
    np.testing.assert_array_equal(out, np.cos(y) * np.sum(np.sin(x)))


def test_a_buffer_is_not_reused_while_a_view_of_it_lives():
    def f(x, y):
        t = fnp.sin(x)
        v = t.reshape(x.shape[0], 1)     # a view of t's buffer, returned
        s = fnp.sum(t)                   # t's last use, but its buffer lives on in v
        return v, fnp.cos(y) * s
    x, y = np.linspace(0.0, 1.0, 4), np.linspace(1.0, 2.0, 4)
    v, u = fungrad.jit(f)(x, y)
    np.testing.assert_array_equal(v, np.sin(x).reshape(4, 1))
    np.testing.assert_array_equal(u, np.cos(y) * np.sum(np.sin(x)))


def test_buffers_are_reused_only_for_their_own_shape_and_dtype():
    def f(x, y, n):
        s = fnp.sum(fnp.exp(x))                      # a (3,) float buffer dies
        return fnp.cos(y) * s, fnp.negative(n)       # (2,) float and (3,) int: no reuse
    x, y, n = np.ones(3), np.ones(2), np.arange(3)
    source = fungrad.jit(f).lower(x, y, n).source
    assert len(fresh_statements(source)) == 4, source     # exp, sum, cos and negative: all fresh
    a, b = fungrad.jit(f)(x, y, n)
    np.testing.assert_array_equal(a, np.cos(y) * np.sum(np.exp(x)))
    np.testing.assert_array_equal(b, -n)
    assert b.dtype == n.dtype


def momentum_step(p, t, x):
    g = [fnp.sin(xi) for xi in x]             # the gradients: buffers of the step's own
    t = [gi + 0.9 * ti for gi, ti in zip(g, t)]
    return [pi - 0.1 * ti for pi, ti in zip(p, t)], t


def test_a_training_step_allocates_only_what_it_must():
    shapes = [(4, 3), (3,), (3, 2)]
    rng = np.random.default_rng(0)
    p, t, x = ([rng.standard_normal(s) for s in shapes] for _ in range(3))
    want = [np.asarray(a) for a in sum(momentum_step(p, t, x), [])]
    lowered = fungrad.jit(momentum_step).lower(p, t, x)
    # per leaf: sin(x) and 0.9 * t; the new trace goes into sin's buffer and 0.1 * trace into
    # 0.9 * t's, dead by then; p - 0.1 * trace in place
    assert len(fresh_statements(lowered.source)) == 2 * len(shapes), lowered.source
    donating = compile_jaxpr(lowered.jaxpr, [True] * (2 * len(shapes)) + [False] * len(shapes))
    assert len(fresh_statements(donating.source)) == len(shapes), donating.source   # sin(x) only
    for donate in ((), (0, 1)):
        args = [[a.copy() for a in tree] for tree in (p, t, x)]
        got = sum(fungrad.jit(momentum_step, donate_argnums=donate)(*args), [])
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def scaled_pair(x, y):
    return x * 2.0, y + 1.0      # x * 2 written into a donated x first, then y read


@pytest.mark.parametrize("alias", [
    lambda a: a,                                   # the same array twice
    lambda a: a[1:],                               # a view
    lambda a: a.reshape(2, 2)[0],                  # a view of a view
    lambda a: np.frombuffer(a, dtype=a.dtype),     # a view through the buffer protocol
    lambda a: np.asarray(memoryview(a)),           # memory owned by a memoryview
])
def test_a_donated_argument_sharing_memory_with_another_is_not_overwritten(alias):
    a = np.arange(4.0)
    y = alias(a)
    want_y = y + 1.0
    two_x, y1 = fungrad.jit(scaled_pair, donate_argnums=0)(a, y)
    np.testing.assert_array_equal(two_x, np.arange(4.0) * 2.0)
    np.testing.assert_array_equal(y1, want_y)


def test_unaliased_donated_arguments_are_taken():
    a, b = np.arange(4.0), np.arange(4.0)
    buffer = a.__array_interface__["data"][0]
    two_a, _ = fungrad.jit(scaled_pair, donate_argnums=0)(a, b)
    assert two_a.__array_interface__["data"][0] == buffer
