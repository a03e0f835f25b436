"""Neural-network functions, like ``jax.nn``: activations, softmax, logsumexp, one_hot.

All are written with ``fungrad.numpy`` and are numerically stable for large and small inputs:
softmax-like functions subtract the (gradient-stopped) maximum, and branches use the "safe
where" pattern, so no NaN reaches a gradient from the branch that was not taken.

>>> import fungrad.nn as nn
>>> nn.softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from fungrad import lax
from fungrad import numpy as fnp
from fungrad.numpy.array_methods import wrap_namespace
from fungrad.numpy.promotion import asarray, promote_inexact


def _float(x: Any) -> Any:
    return promote_inexact(asarray(x))[0]


def relu(x: Any) -> Any:
    """``max(x, 0)``, with derivative 0 at 0 (as in JAX).

    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    x = asarray(x)
    return fnp.where(x > 0, x, 0)


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``, with derivative 0 at both kinks.

    >>> relu6(np.array([-1.0, 3.0, 9.0]))
    array([0., 3., 6.])
    """
    x = asarray(x)
    return fnp.where(x <= 0, 0, fnp.where(x >= 6, 6, x))


def sigmoid(x: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-x))``.

    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    return lax.logistic(_float(x))


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    >>> log_sigmoid(np.array([0.0]))
    array([-0.69314718])
    """
    return fnp.negative(softplus(fnp.negative(_float(x))))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, stable for large ``|x|``.

    >>> softplus(np.array([0.0]))
    array([0.69314718])
    """
    x = _float(x)
    return fnp.logaddexp(x, fnp.zeros_like(x))


def silu(x: Any) -> Any:
    """``x * sigmoid(x)`` (also called swish).

    >>> silu(np.array([0.0]))
    array([0.])
    """
    x = _float(x)
    return fnp.multiply(x, sigmoid(x))


swish = silu


def gelu(x: Any, approximate: bool = True) -> Any:
    """Gaussian error linear unit; the tanh approximation by default, as in JAX.

    >>> gelu(np.array([0.0]))
    array([0.])
    """
    x = _float(x)
    if approximate:
        inner = fnp.multiply(math.sqrt(2 / math.pi), x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + fnp.tanh(inner))
    return 0.5 * x * (1 + lax.erf(fnp.multiply(x, 1 / math.sqrt(2))))


def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> elu(np.array([-np.inf, 1.0]))
    array([-1.,  1.])
    """
    x = _float(x)
    pos = x > 0
    safe = fnp.where(pos, 0.0, x)
    return fnp.where(pos, x, alpha * fnp.expm1(safe))


def celu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` for ``x > 0``, else ``alpha * (exp(x / alpha) - 1)``.

    >>> celu(np.array([1.0]))
    array([1.])
    """
    x = _float(x)
    pos = x > 0
    safe = fnp.where(pos, 0.0, x)
    return fnp.where(pos, x, alpha * fnp.expm1(safe / alpha))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Any) -> Any:
    """Scaled ELU with the self-normalizing constants.

    >>> selu(np.array([0.0]))
    array([0.])
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def leaky_relu(x: Any, negative_slope: float = 1e-2) -> Any:
    """``x`` for ``x >= 0``, else ``negative_slope * x``.

    >>> leaky_relu(np.array([-1.0, 1.0]))
    array([-0.01,  1.  ])
    """
    x = _float(x)
    return fnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x: Any) -> Any:
    """``x`` clipped to ``[-1, 1]``.

    >>> hard_tanh(np.array([-2.0, 0.5]))
    array([-1. ,  0.5])
    """
    x = _float(x)
    return fnp.where(x > 1, 1.0, fnp.where(x < -1, -1.0, x))


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``.

    >>> hard_sigmoid(np.array([0.0]))
    array([0.5])
    """
    return relu6(_float(x) + 3.0) / 6.0


def hard_silu(x: Any) -> Any:
    """``x * hard_sigmoid(x)``.

    >>> hard_silu(np.array([0.0]))
    array([0.])
    """
    x = _float(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def glu(x: Any, axis: int = -1) -> Any:
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second half.

    >>> glu(np.array([1.0, 0.0]))
    array([0.5])
    """
    a, b = fnp.split(_float(x), 2, axis)
    return a * sigmoid(b)


def _shifted(x: Any, axis: Any) -> tuple[Any, Any]:
    """``x`` minus its (finite, gradient-stopped) maximum over ``axis``."""
    m = fnp.max(x, axis=axis, keepdims=True)
    m = lax.stop_gradient(fnp.where(fnp.isfinite(m), m, 0.0))
    return x - m, m


def _shifted_by_max(x: Any, axis: Any) -> Any:
    """``x`` minus its gradient-stopped maximum: what softmax needs (as in JAX, a row of only
    ``-inf`` gives NaN there; logsumexp guards that case with ``_shifted``)."""
    return x - lax.stop_gradient(fnp.max(x, axis=axis, keepdims=True))


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False) -> Any:
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably.

    Entries of ``-inf`` contribute nothing and get a zero gradient; a row of only ``-inf``
    gives ``-inf``.

    >>> float(logsumexp(np.array([1000.0, 1000.0])))
    1000.6931471805599
    """
    a = _float(a)
    shifted, m = _shifted(a, axis)
    e = fnp.exp(shifted)
    if b is not None:
        e = e * b
    s = fnp.sum(e, axis=axis, keepdims=True)
    sign = fnp.sign(s)
    out = fnp.log(fnp.abs(s)) + m
    if not keepdims:
        out = fnp.squeeze(out, axis=axis)
        sign = fnp.squeeze(sign, axis=axis)
    return (out, sign) if return_sign else out


def softmax(x: Any, axis: Any = -1) -> Any:
    """``exp(x) / sum(exp(x))`` over ``axis``, stable for large inputs.

    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    shifted = _shifted_by_max(_float(x), axis)
    e = fnp.exp(shifted)
    return e / fnp.sum(e, axis=axis, keepdims=True)


def log_softmax(x: Any, axis: Any = -1) -> Any:
    """``x - logsumexp(x)`` over ``axis``, stable for large inputs.

    >>> log_softmax(np.array([0.0, 0.0]))
    array([-0.69314718, -0.69314718])
    """
    shifted = _shifted_by_max(_float(x), axis)
    return shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True))


def standardize(x: Any, axis: Any = -1, mean: Any = None, variance: Any = None,
                epsilon: float = 1e-5) -> Any:
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axis``.

    >>> standardize(np.array([1.0, 3.0]))
    array([-0.999995,  0.999995])
    """
    x = _float(x)
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True)
    if variance is None:
        variance = fnp.mean(fnp.square(x - mean), axis=axis, keepdims=True)
    return (x - mean) * lax.rsqrt(variance + epsilon)


def one_hot(x: Any, num_classes: int, dtype: Any = np.float64, axis: int = -1) -> Any:
    """Vectors with a 1 at each integer label of ``x`` (out-of-range labels give zeros).

    >>> one_hot(np.array([0, 2]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    x = asarray(x)
    classes = np.arange(num_classes)
    hit = fnp.equal(fnp.expand_dims(x, -1), classes)
    out = fnp.astype(hit, dtype)
    return fnp.moveaxis(out, -1, axis) if axis != -1 else out


# Concrete results are fungrad.Arrays, as jax.nn's are (tracers pass through).
wrap_namespace(globals())
