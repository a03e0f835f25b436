"""``fungrad.numpy.float32`` and the other scalar types, as JAX's are: each names its dtype
wherever NumPy takes one (``np.dtype(fnp.float32)``, ``x.astype(fnp.int32)``,
``fnp.zeros(3, fnp.float32)``, ``fnp.float32 == np.float32``), and calling it converts, traced
values included: ``fnp.int32(i)`` inside ``jit`` is ``i.astype(int32)``, where NumPy's own
``np.int32(tracer)`` cannot work. The result is an array (0-d for a scalar), as in JAX.

>>> import fungrad, fungrad.numpy as fnp
>>> fnp.float32(1.5), fnp.dtype(fnp.float32), fnp.float32 == np.float32
(array(1.5, dtype=float32), dtype('float32'), True)
>>> fungrad.jit(lambda x: fnp.int32(x) + 1)(2.7)
array(3, dtype=int32)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.array_type import as_array
from fungrad.numpy.promotion import asarray


class ScalarType(type):
    """The metaclass of fungrad's scalar types: ``cls.dtype`` is the NumPy dtype it stands for."""

    dtype: np.dtype[Any]

    def __call__(cls, x: Any = 0) -> Any:
        return as_array(asarray(x, cls.dtype))

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.dtype.type)

    def __eq__(cls, other: Any) -> bool:
        if isinstance(other, ScalarType):
            return cls.dtype == other.dtype
        if isinstance(other, type) and issubclass(other, np.generic):
            return cls.dtype.type is other
        return NotImplemented

    def __hash__(cls) -> int:
        return hash(cls.dtype.type)

    def __repr__(cls) -> str:
        return f"<class 'fungrad.numpy.{cls.__name__}'>"


def scalar_type(numpy_type: Any) -> ScalarType:
    """The fungrad scalar type standing for ``numpy_type``."""
    name = numpy_type.__name__
    return ScalarType(name, (), {"dtype": np.dtype(numpy_type), "__module__": "fungrad.numpy",
                                 "__doc__": f"``{name}``: a dtype, and ``{name}(x)`` converts "
                                            f"``x`` (traced values too) to an array of it."})
