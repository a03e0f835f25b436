"""argnums checks and integer inputs: JAX's float0 convention in grad, vjp, jvp and linearize."""
import numpy as np
import pytest

import fungrad
from fungrad import grad, jit, jvp, linearize, vjp
from fungrad.dtypes import float0


def f(x, n):
    return x * n


def _is_float0_zero(g, shape=()):
    return isinstance(g, np.ndarray) and g.dtype == float0 and g.shape == shape


@pytest.mark.parametrize("argnums", [(0, 0), (1, -1)])
def test_repeated_argnums_raise(argnums):
    with pytest.raises(ValueError, match="more than once"):
        grad(f, argnums=argnums)(2.0, 3.0)


@pytest.mark.parametrize("argnums", [1.0, "x", (0, 1.5), True, None])
def test_argnums_of_the_wrong_type_raise(argnums):
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        grad(f, argnums=argnums)(2.0, 3.0)


def test_negative_argnums():
    assert grad(f, argnums=-1)(2.0, 3.0) == 2.0


def test_allow_int_gives_float0_never_a_truncated_gradient():
    gx, gn = grad(f, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert gx == 3.0 and _is_float0_zero(gn)
    gx, gn = jit(grad(f, argnums=(0, 1), allow_int=True))(2.0, 3)
    assert gx == 3.0 and _is_float0_zero(gn)
    _, pb = vjp(f, 2.0, np.arange(3))
    gx, gn = pb(np.ones(3))
    assert gx == 3.0 and _is_float0_zero(gn, (3,))


def test_jvp_and_linearize_take_and_give_float0():
    t0 = np.zeros((), float0)
    (y, m), (ty, tm) = jvp(lambda x, n: (x * n, n * 2), (2.0, 3), (1.0, t0))
    assert (y, ty) == (6.0, 3.0) and m == 6 and _is_float0_zero(tm)
    with pytest.raises(TypeError, match="float0"):
        jvp(f, (2.0, 3), (1.0, 1))
    _, f_jvp = linearize(lambda x, n: (x * n, n), 2.0, 3)
    ty, tn = f_jvp(1.0, t0)
    assert ty == 3.0 and _is_float0_zero(tn)


def test_python_control_flow_on_an_int_input_under_grad():
    g = grad(lambda x, n: x * int(n) if n > 1 else x, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert g[0] == 3.0


def test_float0_matches_jax():
    jax = pytest.importorskip("jax")
    assert np.dtype(jax.dtypes.float0) == float0
    jg = jax.grad(f, argnums=(0, 1), allow_int=True)(2.0, 3)
    fg = grad(f, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert np.asarray(jg[1]).dtype == fg[1].dtype and np.asarray(jg[1]).shape == fg[1].shape
    assert float(jg[0]) == float(fg[0])
