"""``fungrad.numpy``: NumPy's API on fungrad values, like ``jax.numpy``.

NumPy arrays go in and come out; inside transforms the same functions trace. Dtype promotion
follows NumPy 2 (float64 by default, float32 stays float32, Python scalars are weak).

>>> import fungrad, fungrad.numpy as fnp
>>> fungrad.grad(lambda x: fnp.sum(fnp.tanh(x) ** 2))(np.zeros(3))
array([0., 0., 0.])
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.array_type import Array as _Array
from fungrad.core import Tracer
from fungrad.dtypes import issubdtype  # NumPy's, and it knows typed PRNG key dtypes

from fungrad.numpy.creation import (
    arange, array, diag, diagflat, empty, empty_like, eye, full, full_like, identity, indices,
    linspace, logspace, meshgrid, ones, ones_like, tri, tril, tril_indices, triu,
    triu_indices, vander, zeros, zeros_like,
)
from fungrad.numpy.creation import asarray_ as asarray
from fungrad.numpy.indexing import (
    IndexUpdateHelper, IndexUpdateRef, argwhere, at, bincount, compress, digitize, extract,
    flatnonzero,
    nonzero, searchsorted, select, take, take_along_axis, where,
)
from fungrad.numpy.linear import (
    cross, diagonal, dot, inner, kron, matmul, outer, tensordot, trace, vdot, vecdot,
)
from fungrad.numpy.einsum import einsum
from fungrad.numpy.scalar_types import scalar_type
from fungrad.numpy.manipulation import (
    append, array_split, astype, atleast_1d, atleast_2d, atleast_3d, broadcast_arrays,
    broadcast_shapes, broadcast_to, column_stack, concat, concatenate, copy, dsplit, dstack,
    expand_dims, flip, fliplr, flipud, hsplit, hstack, moveaxis, ndim, pad, permute_dims, ravel,
    repeat, reshape, roll, rollaxis, rot90, shape, size, split, squeeze, stack, swapaxes, tile,
    transpose,
    vsplit, vstack,
)
from fungrad.numpy.predicates import (
    allclose, array_equal, array_equiv, iscomplex, isreal, isscalar,
)
from fungrad.numpy.promotion import result_type
from fungrad.numpy.reductions import (
    all, amax, amin, any, argmax, argmin, average, count_nonzero, cumprod, cumsum,
    cumulative_prod, cumulative_sum, max, mean, median, min, nanmax, nanmean, nanmin, nanprod,
    nansum, percentile, prod, ptp, quantile, std, sum, var,
)
from fungrad.numpy.sorting import argpartition, argsort, partition, sort, unique
from fungrad.numpy.ufuncs import (
    BINARY, UNARY, add, angle, around, clip, divide, divmod, imag, isclose, multiply, nan_to_num,
    power, real, subtract,
)
from fungrad.numpy.numeric import convolve, correlate, diff, gradient, interp, trapezoid
from fungrad.numpy.index_tricks import c_, r_

from fungrad.numpy import linalg as linalg
from fungrad.numpy import fft as fft

# ---------------------------------------------------------------- elementwise functions
sin, cos, tan = UNARY["sin"], UNARY["cos"], UNARY["tan"]
arcsin, arccos, arctan = UNARY["arcsin"], UNARY["arccos"], UNARY["arctan"]
sinh, cosh, tanh = UNARY["sinh"], UNARY["cosh"], UNARY["tanh"]
arcsinh, arccosh, arctanh = UNARY["arcsinh"], UNARY["arccosh"], UNARY["arctanh"]
exp, expm1, exp2 = UNARY["exp"], UNARY["expm1"], UNARY["exp2"]
log, log1p, log2, log10 = UNARY["log"], UNARY["log1p"], UNARY["log2"], UNARY["log10"]
sqrt, cbrt, square, reciprocal = UNARY["sqrt"], UNARY["cbrt"], UNARY["square"], UNARY["reciprocal"]
deg2rad, rad2deg, sinc = UNARY["deg2rad"], UNARY["rad2deg"], UNARY["sinc"]
radians, degrees = deg2rad, rad2deg
negative, positive, absolute = UNARY["negative"], UNARY["positive"], UNARY["absolute"]
abs, fabs, sign = absolute, UNARY["fabs"], UNARY["sign"]
floor, ceil, trunc, fix, rint = UNARY["floor"], UNARY["ceil"], UNARY["trunc"], UNARY["fix"], \
    UNARY["rint"]
round = around
isnan, isinf, isfinite = UNARY["isnan"], UNARY["isinf"], UNARY["isfinite"]
isposinf, isneginf, signbit = UNARY["isposinf"], UNARY["isneginf"], UNARY["signbit"]
logical_not, invert, bitwise_not = UNARY["logical_not"], UNARY["invert"], UNARY["invert"]
conjugate = conj = UNARY["conjugate"]

true_divide, floor_divide = divide, BINARY["floor_divide"]
remainder, fmod = BINARY["remainder"], BINARY["fmod"]
mod = remainder
float_power = BINARY["float_power"]
pow = power
maximum, minimum, fmax, fmin = BINARY["maximum"], BINARY["minimum"], BINARY["fmax"], \
    BINARY["fmin"]
arctan2, hypot = BINARY["arctan2"], BINARY["hypot"]
logaddexp, logaddexp2 = BINARY["logaddexp"], BINARY["logaddexp2"]
copysign, heaviside, nextafter = BINARY["copysign"], BINARY["heaviside"], BINARY["nextafter"]
equal, not_equal = BINARY["equal"], BINARY["not_equal"]
less, less_equal, greater, greater_equal = BINARY["less"], BINARY["less_equal"], \
    BINARY["greater"], BINARY["greater_equal"]
logical_and, logical_or, logical_xor = BINARY["logical_and"], BINARY["logical_or"], \
    BINARY["logical_xor"]
bitwise_and, bitwise_or, bitwise_xor = BINARY["bitwise_and"], BINARY["bitwise_or"], \
    BINARY["bitwise_xor"]
left_shift, right_shift = BINARY["left_shift"], BINARY["right_shift"]

# array-API spellings
acos, asin, atan, atan2 = arccos, arcsin, arctan, arctan2
acosh, asinh, atanh = arccosh, arcsinh, arctanh

# ---------------------------------------------------------------- constants and dtypes
pi, e, euler_gamma = np.pi, np.e, np.euler_gamma
inf, nan, newaxis = np.inf, np.nan, None
float16, float32, float64 = map(scalar_type, (np.float16, np.float32, np.float64))
int8, int16, int32, int64 = map(scalar_type, (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = map(scalar_type, (np.uint8, np.uint16, np.uint32, np.uint64))
bool_, complex64, complex128 = map(scalar_type, (np.bool_, np.complex64, np.complex128))
integer, floating, inexact, number = np.integer, np.floating, np.inexact, np.number
signedinteger, unsignedinteger, complexfloating = np.signedinteger, np.unsignedinteger, \
    np.complexfloating
dtype = np.dtype
finfo, iinfo = np.finfo, np.iinfo
promote_types, can_cast = np.promote_types, np.can_cast


def iscomplexobj(x: Any) -> bool:
    """Whether ``x`` has a complex dtype."""
    return bool(result_type(x).kind == "c")


def isrealobj(x: Any) -> bool:
    """Whether ``x`` has a non-complex dtype."""
    return not iscomplexobj(x)


from fungrad.numpy import array_methods as _array_methods  # noqa: E402  (it uses the names above)

_array_methods.install(Tracer, {"__add__": add, "__sub__": subtract, "__mul__": multiply,
                                "__truediv__": true_divide})
at = _array_methods.at
# Concrete results are fungrad.Arrays (tracers count as Arrays too), as jax.numpy's are.
_array_methods.wrap_namespace(globals())
_array_methods.wrap_namespace(vars(linalg))
_array_methods.wrap_namespace(vars(fft))
ndarray = Array = _Array
