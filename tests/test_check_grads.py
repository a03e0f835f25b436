"""``check_grads`` must catch wrong rules: each throwaway primitive here has one deliberate bug."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fungrad import lax
from fungrad.lax.registry import (
    defjvp, defjvp_zero, deflinear, deftranspose, elementwise_shape, primitive,
)
from fungrad.test_util import check_grads

X = np.array([[0.3, -1.2, 2.0], [0.7, 1.1, -0.4]])


def unary(name: str, impl: Any) -> Any:
    return primitive(name, impl, elementwise_shape(name))


# sin whose derivative has the wrong sign.
bad_sin_p = unary("bad_sin", np.sin)
defjvp(bad_sin_p, lambda t, ans, x: lax.neg(lax.mul(t, lax.cos(x))))

# 2x whose JVP is right but whose transpose scales by 3: reverse mode disagrees with forward.
double_p = unary("double_badT", lambda x: 2 * x)
deflinear(double_p)
deftranspose(double_p, lambda ct, x: lax.mul(ct, 3.0))

# exp whose derivative is exp, but computed by a primitive whose own derivative is zero:
# right to first order, wrong to second.
flat_exp_p = unary("flat_exp", np.exp)
defjvp_zero(flat_exp_p)
bad_exp_p = unary("bad_exp2", np.exp)
defjvp(bad_exp_p, lambda t, ans, x: lax.mul(t, flat_exp_p.bind(x)))

# A correct one, to show the checker is not merely always failing.
good_double_p = unary("good_double", lambda x: 2 * x)
deflinear(good_double_p)
deftranspose(good_double_p, lambda ct, x: lax.mul(ct, 2.0))


def test_wrong_jvp_is_caught_in_forward_mode() -> None:
    with pytest.raises(AssertionError, match="finite differences"):
        check_grads(bad_sin_p.bind, (X,), order=1, modes=("fwd",))


def test_wrong_transpose_is_caught_in_reverse_mode() -> None:
    check_grads(double_p.bind, (X,), order=1, modes=("fwd",))  # forward mode is right
    with pytest.raises(AssertionError, match="VJP vs JVP"):
        check_grads(double_p.bind, (X,), order=1, modes=("rev",))


def test_wrong_second_derivative_needs_order_2() -> None:
    check_grads(bad_exp_p.bind, (X,), order=1)
    with pytest.raises(AssertionError):
        check_grads(bad_exp_p.bind, (X,), order=2, modes=("fwd",))
    with pytest.raises(AssertionError):
        check_grads(bad_exp_p.bind, (X,), order=2, modes=("rev",))


def test_correct_rules_pass() -> None:
    check_grads(good_double_p.bind, (X,), order=3)
    check_grads(lambda x, y: (lax.mul(lax.sin(x), y), lax.exp(y)), (X, X[::-1]), order=3)


def test_float32_tolerances() -> None:
    x32 = X.astype(np.float32)
    check_grads(lax.tanh, (x32,), order=2)
    with pytest.raises(AssertionError):
        check_grads(bad_sin_p.bind, (x32,), order=1)
