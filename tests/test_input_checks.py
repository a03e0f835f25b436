"""Inputs fungrad cannot compute with are refused up front, eagerly and under every transform;
reductions with no identity over empty axes raise like NumPy."""
import datetime

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad.errors import InvalidArgumentError

BAD = {
    "masked": (np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "masked array"),
    "matrix": (np.matrix([[1.0, 2.0]]), "np.matrix"),
    "object": (np.array([1.0, None], dtype=object), "not numeric"),
    "string": (np.array(["a", "b"]), "not numeric"),
    "structured": (np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]), "not numeric"),
    "datetime": (np.array([datetime.datetime(2026, 1, 1)], dtype="datetime64[s]"), "not numeric"),
}
TRANSFORMS = {
    "eager": lambda f: f,
    "jit": fungrad.jit,
    "grad": lambda f: fungrad.grad(lambda x: fnp.sum(f(x))),
    "vmap": fungrad.vmap,
}


@pytest.mark.parametrize("transform", TRANSFORMS, ids=list(TRANSFORMS))
@pytest.mark.parametrize("kind", BAD, ids=list(BAD))
def test_refused_up_front(kind, transform):
    x, message = BAD[kind]
    with pytest.raises(InvalidArgumentError, match=message):
        TRANSFORMS[transform](fnp.sin)(x)


def test_big_endian_is_converted():
    x = np.arange(3.0).astype(">f8")
    np.testing.assert_array_equal(fnp.sin(x), np.sin(np.arange(3.0)))
    np.testing.assert_array_equal(fungrad.jit(fnp.sin)(x), np.sin(np.arange(3.0)))
    np.testing.assert_array_equal(fungrad.grad(lambda x: fnp.sum(x ** 2))(x), 2 * np.arange(3.0))


@pytest.mark.parametrize("fn", ["max", "min", "amax", "argmax", "argmin", "ptp"])
def test_empty_reductions_raise_like_numpy(fn):
    x = np.zeros((0, 3))
    with pytest.raises(ValueError):
        getattr(np, fn)(x, axis=0)
    for transform in (lambda f: f, fungrad.jit):
        with pytest.raises(ValueError, match="zero-size array"):
            transform(lambda x: getattr(fnp, fn)(x, axis=0))(x)
    assert getattr(fnp, fn)(x, axis=1).shape == (0,)  # reducing a non-empty axis is fine
    if fn in ("max", "min"):
        assert fnp.max(x, axis=0, initial=-1.0).tolist() == [-1.0] * 3


def test_binary_operations_refuse_masked_arrays():
    m = BAD["masked"][0]
    with pytest.raises(InvalidArgumentError, match="masked array"):
        fnp.add(m, m)
    with pytest.raises(InvalidArgumentError, match="masked array"):
        fungrad.jit(fnp.add)(m, m)
