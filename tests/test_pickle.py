"""Copies and pickles of jaxprs evaluate, and jitted functions pickle by reference."""
import copy
import pickle

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.core import Primitive, eval_jaxpr, primitive_named


def program(x):
    scanned, _ = lax.scan(lambda c, _: (c * 1.5, c), x, None, length=3)
    return lax.cond(x.sum() > 0, lambda y: fnp.sin(y) * 2.0, lambda y: y, scanned)


def scaled_sin(x):
    return fnp.sin(x) * 3.0


@fungrad.jit
def decorated(x):
    return fnp.cos(x) + 1.0


jitted_scaled_sin = fungrad.jit(scaled_sin)
jitted_static = fungrad.jit(lambda x, n: x * n, static_argnums=1)


@pytest.mark.parametrize("roundtrip", [copy.deepcopy, lambda j: pickle.loads(pickle.dumps(j))],
                         ids=["deepcopy", "pickle"])
def test_copied_jaxpr_evaluates_and_transforms(roundtrip):
    x = np.array([0.5, -0.1, 0.9])
    jaxpr = fungrad.make_jaxpr(program)(x)
    copied = roundtrip(jaxpr)
    assert copied is not jaxpr
    for old, new in zip(jaxpr.eqns, copied.eqns):
        assert new.primitive is old.primitive
    run = lambda x: eval_jaxpr(copied, copied.consts, x)[0]  # noqa: E731
    np.testing.assert_allclose(run(x), program(x), rtol=1e-14)
    np.testing.assert_allclose(fungrad.jit(run)(x), np.sin(x * 1.5 ** 3) * 2.0, rtol=1e-14)
    np.testing.assert_allclose(fungrad.grad(lambda x: run(x).sum())(x),
                               np.cos(x * 1.5 ** 3) * 2.0 * 1.5 ** 3, rtol=1e-12)


def test_primitive_roundtrip_is_identity_and_clashing_names_refuse():
    sin = primitive_named("sin")
    assert pickle.loads(pickle.dumps(sin)) is sin and copy.deepcopy(sin) is sin
    impostor = Primitive("sin")
    with pytest.raises(pickle.PicklingError, match="unique name"):
        pickle.dumps(impostor)
    with pytest.raises(LookupError, match="no primitive is named 'no_such_op'"):
        primitive_named("no_such_op")


@pytest.mark.parametrize("fn, expected", [(jitted_scaled_sin, lambda x: np.sin(x) * 3.0),
                                          (decorated, lambda x: np.cos(x) + 1.0)],
                         ids=["jit(f)", "@jit"])
def test_jitted_function_pickles_by_reference(fn, expected):
    x = np.array([0.2, 1.3])
    fn(x)
    data = pickle.dumps(fn)
    assert len(data) < 200  # a reference, not the traces or code
    again = pickle.loads(data)
    np.testing.assert_allclose(again(x), expected(x), rtol=1e-15)
    assert copy.deepcopy(fn) is fn or callable(copy.deepcopy(fn))


def test_jit_of_module_function_keeps_its_options():
    f = fungrad.jit(scaled_sin, donate_argnums=0)
    again = pickle.loads(pickle.dumps(f))
    assert again is not f and again._options == f._options
    np.testing.assert_allclose(again(np.ones(2)), np.sin(np.ones(2)) * 3.0, rtol=1e-15)


def test_jit_of_lambda_refuses_to_pickle_clearly():
    with pytest.raises(pickle.PicklingError, match="define <lambda> at the top level|lambda"):
        pickle.dumps(jitted_static)
    with pytest.raises(pickle.PicklingError, match="function defined inside another"):
        pickle.dumps(fungrad.jit(lambda x: x))
