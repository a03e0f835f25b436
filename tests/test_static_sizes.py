"""Sizes traced under jit raise an error that says to make the argument static."""
import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad.errors import ConcretizationError

CASES = {
    "zeros": lambda x, n: fnp.zeros(n), "ones": lambda x, n: fnp.ones((n, 2)),
    "full": lambda x, n: fnp.full(n, 1.0), "arange": lambda x, n: fnp.arange(n),
    "eye": lambda x, n: fnp.eye(n), "identity": lambda x, n: fnp.identity(n),
    "linspace": lambda x, n: fnp.linspace(0.0, 1.0, n),
    "tile": lambda x, n: fnp.tile(x, n), "repeat": lambda x, n: fnp.repeat(x, n),
}


@pytest.mark.parametrize("name", CASES, ids=list(CASES))
def test_traced_size_names_the_fix(name):
    f = CASES[name]
    with pytest.raises(ConcretizationError, match=r"(?s)static_argnums.*test_static_sizes.py"):
        fungrad.jit(f)(np.ones(2), 3)
    np.testing.assert_array_equal(fungrad.jit(f, static_argnums=1)(np.ones(2), 3), f(np.ones(2), 3))


@pytest.mark.parametrize("kw,match", [
    (dict(static_argnums=3), "static_argnums 3 is out of range"),
    (dict(donate_argnums=-3), "donate_argnums -3 is out of range"),
    (dict(static_argnames="y"), "'y' is not a parameter"),
])
def test_jit_options_naming_missing_arguments_raise(kw, match):
    with pytest.raises(ValueError, match=match):
        fungrad.jit(lambda x, n: x * n, **kw)


def test_negative_static_argnums_and_varargs():
    f = fungrad.jit(lambda x, n: x * n, static_argnums=-1)
    assert f(2.0, 3) == 6.0
    assert fungrad.jit(lambda *a: a[0] * a[1], static_argnums=1)(2.0, 3) == 6.0
