"""Complex-number primitives: ``real``, ``imag``, ``conj`` and ``complex``, each with all its rules.

All four are linear over the reals, so their JVP applies the primitive to the tangent. Their
transposes follow JAX's convention for complex cotangents: a cotangent ``w`` of a complex value
pairs with a tangent ``dz`` as ``Re(w * dz)`` (no conjugation), the convention the holomorphic
rules (``mul``'s ``ct * y``) already follow. Hence ``real`` transposes to ``complex(ct, 0)``,
``imag`` to ``complex(0, -ct)``, ``conj`` to ``conj(ct)`` and ``complex`` to
``(real(ct), -imag(ct))``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fungrad.core import Primitive
from fungrad.errors import ShapeError
from fungrad.lax.registry import (
    as_operand, broadcast_batcher, deflinear, deftranspose, elementwise_shape, primitive,
    unbroadcast, vectorized_batcher,
)
from fungrad.interpreters.transpose import aval_of
from fungrad.ir import ShapedArray
from fungrad.lax.elementwise import neg
from fungrad.lax.shape_ops import full


def real_dtype(dtype: Any) -> np.dtype[Any]:
    """The dtype of the real and imaginary parts of ``dtype`` (complex128 -> float64)."""
    part: np.dtype[Any] = np.finfo(dtype).dtype
    return part


def complex_dtype(dtype: Any) -> np.dtype[Any]:
    """The complex dtype with parts of ``dtype`` (float32 -> complex64, float64 -> complex128)."""
    return np.result_type(dtype, np.complex64)


def _needs_complex(name: str, x: ShapedArray) -> None:
    if x.dtype.kind != "c":
        raise ShapeError(f"{name} requires a complex operand, got {x.dtype} "
                         "(fungrad.numpy's version also takes real arrays)")


def _part_shape(name: str) -> Callable[[ShapedArray], ShapedArray]:
    def rule(x: ShapedArray) -> ShapedArray:
        _needs_complex(name, x)
        return ShapedArray(x.shape, real_dtype(x.dtype))
    return rule


def _conj_shape(x: ShapedArray) -> ShapedArray:
    _needs_complex("conj", x)
    return x


def _complex_shape(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    out = elementwise_shape("complex")(x, y)
    if out.dtype.kind != "f":
        raise ShapeError(f"complex requires floating-point parts, got {x.dtype} and {y.dtype}")
    return ShapedArray(out.shape, complex_dtype(out.dtype))


def _complex(x: Any, y: Any) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    out = np.empty(np.broadcast_shapes(x.shape, y.shape), complex_dtype(x.dtype))
    out.real = x
    out.imag = y
    return out


def _real(x: Any) -> Any:
    return np.real(x)


def _imag(x: Any) -> Any:
    return np.imag(x)


def _zeros_like(x: Any) -> Any:
    a = aval_of(x)
    return full(a.shape, 0, a.dtype)


# ---------------------------------------------------------------- the table
# name, NumPy implementation, shape rule, transpose of each operand ``rule(ct, *operands)``.
_TABLE: list[tuple[str, Callable[..., Any], Callable[..., ShapedArray],
                   tuple[Callable[..., Any], ...]]] = [
    ("real", _real, _part_shape("real"), (lambda ct, x: complex(ct, _zeros_like(ct)),)),
    ("imag", _imag, _part_shape("imag"), (lambda ct, x: complex(_zeros_like(ct), neg(ct)),)),
    ("conj", np.conjugate, _conj_shape, (lambda ct, x: conj(ct),)),
    ("complex", _complex, _complex_shape,
     (lambda ct, x, y: unbroadcast(real(ct), aval_of(x)),
      lambda ct, x, y: unbroadcast(neg(imag(ct)), aval_of(y)))),
]


def _register(name: str, impl: Callable[..., Any], shape_rule: Callable[..., ShapedArray],
              transposes: tuple[Callable[..., Any], ...]) -> Primitive:
    prim = primitive(name, impl, shape_rule)
    deflinear(prim)
    deftranspose(prim, *transposes)
    (vectorized_batcher if len(transposes) == 1 else broadcast_batcher)(prim)
    return prim


real_p, imag_p, conj_p, complex_p = (_register(*row) for row in _TABLE)


# ---------------------------------------------------------------- functions binding them
def real(x: Any) -> Any:
    """The real part of a complex array (the primitive: complex operands only)."""
    return real_p.bind(x)


def imag(x: Any) -> Any:
    """The imaginary part of a complex array (the primitive: complex operands only)."""
    return imag_p.bind(x)


def conj(x: Any) -> Any:
    """The complex conjugate of a complex array (the primitive: complex operands only)."""
    return conj_p.bind(x)


def complex(x: Any, y: Any) -> Any:  # noqa: A001 - JAX's name
    """``x + i y`` from real and imaginary parts of one float dtype (broadcasting).

    >>> import numpy as np
    >>> from fungrad import lax
    >>> lax.complex(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array([1.+3.j, 2.+4.j])
    """
    return complex_p.bind(as_operand(x, y), as_operand(y, x))
