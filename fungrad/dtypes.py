"""Dtypes fungrad adds to NumPy's: ``float0``, the dtype of tangents of integer values.

An integer or boolean value has no derivative. Following JAX, its tangent (in ``jvp``) and its
cotangent (from ``grad(..., allow_int=True)`` and ``vjp``) is an array of dtype ``float0``: a
NumPy structured dtype with no bytes, which no arithmetic accepts, so it can never be mistaken
for a truncated integer derivative.

>>> zeros_like_tangent = np.zeros((2,), float0)
>>> zeros_like_tangent.dtype == float0, zeros_like_tangent.nbytes
(True, 0)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.array_type import plain
from fungrad.errors import InvalidArgumentError

float0: np.dtype[Any] = np.dtype([("float0", np.void, 0)])


def has_tangent_space(dtype: np.dtype[Any]) -> bool:
    """Is ``dtype`` differentiable (floating point or complex)? Others get ``float0`` tangents.

    >>> has_tangent_space(np.dtype(np.float32)), has_tangent_space(np.dtype(np.int64))
    (True, False)
    """
    return dtype.kind in "fc"


def float0_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """The tangent of an integer or boolean array of ``shape``.

    >>> float0_zeros((3,)).shape
    (3,)
    """
    return np.zeros(shape, float0)


_NUMERIC_KINDS = "biufc"


def checked_input(x: np.ndarray, where: str = "an argument") -> np.ndarray:
    """``x`` as an array fungrad computes with, or a clear error saying what to do.

    Masked arrays (whose mask fungrad would ignore), ``np.matrix`` (whose ``*`` is a matrix
    product) and non-numeric dtypes (object, strings, structured, datetimes) are refused;
    big-endian data is converted to native byte order. A ``fungrad.Array`` becomes the plain
    ``ndarray`` it views, which fungrad computes with.

    >>> checked_input(np.arange(3, dtype=">f8")).dtype.isnative
    True
    >>> try:
    ...     checked_input(np.ma.masked_array([1.0, 2.0], mask=[0, 1]))
    ... except InvalidArgumentError as e:
    ...     print(str(e)[:35])
    an argument is a masked array: fung
    """
    x = plain(x)
    if isinstance(x, np.ma.MaskedArray):
        raise InvalidArgumentError(
            f"{where} is a masked array: fungrad would ignore its mask. Pass x.filled(value) (or "
            f"the data with a weights array) instead")
    if isinstance(x, np.matrix):
        raise InvalidArgumentError(
            f"{where} is an np.matrix, whose `*` is a matrix product and whose results stay 2-d: "
            f"pass np.asarray(m) and use `@` for matrix products")
    dtype = x.dtype
    if dtype.kind not in _NUMERIC_KINDS and dtype != float0:
        raise InvalidArgumentError(
            f"{where} has dtype {dtype}, which is not numeric: fungrad computes with bool, "
            f"integer, floating-point and complex arrays. Convert it first (for datetimes, "
            f"for example, to float seconds)")
    if not dtype.isnative:
        return x.astype(dtype.newbyteorder("="))
    return x


class extended:
    """The abstract base of dtypes NumPy does not have (``jax.dtypes.extended``): typed PRNG keys.

    >>> issubdtype(prng_key, extended), issubdtype(np.float32, extended)
    (True, False)
    """


class prng_key(extended):
    """The abstract dtype of typed PRNG key arrays (``jax.dtypes.prng_key``): test with
    ``issubdtype(keys.dtype, prng_key)``."""


class KeyDType:
    """The dtype of a typed key array made by ``fungrad.random.key`` (printed ``key<fry>`` for
    the threefry generator, as in JAX); its ``type`` is ``prng_key``.

    >>> KeyDType("threefry2x32"), issubdtype(KeyDType("threefry2x32"), prng_key)
    (key<fry>, True)
    """

    type = prng_key

    def __init__(self, impl: str) -> None:
        self.impl = impl
        self.name = "key<fry>" if impl == "threefry2x32" else f"key<{impl}>"

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyDType) and other.impl == self.impl

    def __hash__(self) -> int:
        return hash((KeyDType, self.impl))


def issubdtype(arg1: Any, arg2: Any) -> bool:
    """NumPy's ``issubdtype`` that also knows the key dtypes (``jax.dtypes.issubdtype``).

    >>> issubdtype(np.float32, np.floating), issubdtype(KeyDType("threefry2x32"), np.integer)
    (True, False)
    """
    types = [a.type if isinstance(a, KeyDType) else a for a in (arg1, arg2)]
    if any(isinstance(t, type) and issubclass(t, extended) for t in types):
        return all(isinstance(t, type) for t in types) and issubclass(types[0], types[1])
    return bool(np.issubdtype(arg1, arg2))
