"""NumPy's dtype promotion for fungrad values: float64 by default, Python scalars are weak.

The rules are NumPy 2's (NEP 50): ``np.result_type`` sees the dtype of arrays and tracers and
the *value* of Python scalars, so ``float32_array * 2.0`` stays float32.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.dtypes import checked_input
from fungrad.core import Tracer, get_aval
from fungrad.lax import convert_element_type

_PY_SCALARS = (bool, int, float, complex)
_WEAK_STANDINS = {"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}
FLOAT64 = np.dtype(np.float64)


def is_array(x: Any) -> bool:
    """Is ``x`` an array-valued fungrad value (an ndarray or a tracer)?"""
    return isinstance(x, (np.ndarray, Tracer))


def asarray(x: Any, dtype: Any = None) -> Any:
    """``x`` as an ndarray or tracer (lists, tuples, scalars become ndarrays)."""
    if isinstance(x, (np.ndarray, Tracer)):
        x = _checked(x)
        return x if dtype is None else convert_element_type(x, dtype)
    if isinstance(x, (list, tuple)) and any(_has_tracer(e) for e in x):
        from fungrad.numpy.manipulation import stack  # cycle within the layer: that module imports this one
        return stack([asarray(e, dtype) for e in x])
    return np.asarray(x, dtype)


def _checked(x: Any) -> Any:
    """An ndarray subclass or a non-numeric array goes through ``checked_input``."""
    if isinstance(x, np.ndarray) and (type(x) is not np.ndarray or x.dtype.kind not in "fiubc"):
        return checked_input(x)
    return x


def _has_tracer(x: Any) -> bool:
    if isinstance(x, Tracer):
        return True
    return isinstance(x, (list, tuple)) and any(_has_tracer(e) for e in x)


def dtype_of(x: Any) -> Any:
    """What ``np.result_type`` should see: the dtype of arrays, the value of Python scalars."""
    if isinstance(x, (np.ndarray, Tracer, np.generic)):
        aval = get_aval(x)
        if aval.weak_type:   # a Python scalar argument of jit: promotes like the scalar
            return _WEAK_STANDINS[aval.dtype.kind]
        return aval.dtype
    if isinstance(x, _PY_SCALARS):
        return x
    if isinstance(x, (list, tuple)):
        return asarray(x).dtype
    if isinstance(x, (np.dtype, type, str)):
        return np.dtype(x)
    return get_aval(x).dtype


def result_type(*args: Any) -> np.dtype[Any]:
    """The dtype NumPy gives an operation on ``args`` (arrays, scalars or dtypes).

    >>> result_type(np.float32, 2.0)
    dtype('float32')
    """
    return np.result_type(*[dtype_of(a) for a in args])


def asarray_of(x: Any, dtype: np.dtype[Any]) -> Any:
    """``x`` as a fungrad value of ``dtype`` (tracers are converted with a primitive)."""
    if isinstance(x, (np.ndarray, Tracer)):
        return convert_element_type(x, dtype)
    if isinstance(x, (list, tuple)):
        return asarray(x, dtype)
    return np.asarray(x, dtype)


def promote(*args: Any) -> list[Any]:
    """Convert operands to their common dtype, as a NumPy ufunc would."""
    args = tuple(_checked(a) for a in args)
    first = args[0]
    if isinstance(first, (np.ndarray, Tracer)):
        dtype = first.dtype   # (read directly: no abstract value is built on this hot path)
        if all(isinstance(a, (np.ndarray, Tracer)) and a.dtype == dtype for a in args):
            return list(args)
    dtype = result_type(*args)
    return [asarray_of(a, dtype) for a in args]


def inexact_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The floating dtype NumPy's ``sin``/``sqrt``... give for ``dtype`` (int64 -> float64)."""
    if dtype.kind in "fc":
        return dtype
    return np.result_type(dtype, np.float16)


def promote_inexact(*args: Any) -> list[Any]:
    """Like ``promote``, then integers and booleans go to a float type (``true_divide``, ``sin``)."""
    out = promote(*args)
    dtype = out[0].dtype
    if dtype.kind not in "fc":
        dtype = inexact_dtype(dtype)
        out = [asarray_of(a, dtype) for a in out]
    return out
