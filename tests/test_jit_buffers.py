"""jit and buffers: donated arguments are used up (reuse raises, as in JAX); closed-over arrays are
captured when jit traces."""
import gc

import numpy as np
import pytest

import fungrad
from fungrad.errors import InvalidArgumentError


def test_reusing_a_donated_argument_raises_and_keeps_earlier_results():
    f = fungrad.jit(lambda a: a * 2.0 + 1.0, donate_argnums=0)
    a = np.ones(3)
    r = f(a)
    with pytest.raises(InvalidArgumentError, match="donated to an earlier call"):
        f(a)
    with pytest.raises(InvalidArgumentError, match="donated"):
        fungrad.jit(lambda a: a + 1.0)(a)      # any jitted function
    np.testing.assert_array_equal(r, 3.0)


def test_a_result_can_be_donated_again_and_reuses_the_buffer():
    f = fungrad.jit(lambda a: a * 2.0, donate_argnums=0)
    a = np.ones(4)
    buf = a.__array_interface__["data"][0]
    for _ in range(3):
        a = f(a)
    np.testing.assert_array_equal(a, 8.0)
    assert a.__array_interface__["data"][0] == buf


def test_without_donation_arguments_stay_usable():
    f = fungrad.jit(lambda a: a * 2.0)
    a = np.ones(2)
    f(a)
    np.testing.assert_array_equal(f(a), 2.0)


def test_collected_donated_arrays_are_forgotten():
    f = fungrad.jit(lambda a: a * 2.0, donate_argnums=0)
    f(np.ones(2))
    gc.collect()
    from fungrad.jit import donation
    assert not donation.any_used_up()


def test_closed_over_arrays_are_captured_when_jit_traces():
    import fungrad.numpy as fnp
    from fungrad import lax
    for make in (lambda w: (lambda x: x * w), lambda w: (lambda x: x * (w * 2.0)),
                 lambda w: fungrad.grad(lambda x: fnp.sum(x * w)),
                 lambda w: (lambda x: lax.cond(x[0] > 0, lambda v: v * w, lambda v: v - w, x)),
                 lambda w: (lambda x: lax.scan(lambda c, _: (c * w, None), x, None, length=2)[0]),
                 # element moves of w, computed while jit traces (views of w until copied)
                 lambda w: (lambda x: x * fnp.reshape(w, (1, 2))[0, ::-1]),
                 lambda w: (lambda x: x * -w.T)):
        w = np.array([1.0, 2.0])
        f = fungrad.jit(make(w))
        before = f(np.ones(2))
        w[:] = 5.0
        np.testing.assert_array_equal(f(np.ones(2)), before)
        f.clear_cache()
        assert not np.array_equal(f(np.ones(2)), before)
