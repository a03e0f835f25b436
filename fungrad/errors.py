"""Exceptions raised for bad input, each naming the user's line where it can."""
from __future__ import annotations

from typing import Iterable


class FungradError(Exception):
    """Base class of fungrad's own errors."""


class ShapeError(FungradError, TypeError):
    """A primitive got operands whose shapes or dtypes do not fit (caught by its shape rule)."""


class BroadcastError(ShapeError, ValueError):
    """Operand shapes that do not broadcast together (a ``ValueError`` too, as in NumPy)."""


def broadcast_error(name: str, shapes: Iterable[tuple[int, ...]], where: str = "",
                    context: str = "") -> BroadcastError:
    """The error for ``name`` applied to operands of ``shapes`` that do not broadcast
    (``context``: how those shapes relate to the user's, ``where``: the user's line).

    >>> print(broadcast_error("add", [(3,), (4,)]))
    add: operand shapes (3,) and (4,) do not broadcast together. Shapes line up from the last axis and each pair of sizes must be equal or one of them 1: reshape or transpose an operand (x[:, None], fungrad.numpy.expand_dims, .T) so that they do
    """
    *most, last = map(str, shapes)
    listed = f"{', '.join(most)} and {last}" if most else last
    return BroadcastError(f"{name}: operand shapes {listed} "
                          f"do not broadcast together{context}. Shapes line up from the last "
                          f"axis and each pair of sizes must be equal or one of them 1: reshape "
                          f"or transpose an operand (x[:, None], fungrad.numpy.expand_dims, .T) "
                          f"so that they do{where}")


class ConcretizationError(FungradError, TypeError):
    """A traced, abstract value was used where a concrete Python value is needed."""


class TracerArrayConversionError(FungradError, TypeError):
    """``np.asarray`` (or another NumPy conversion) was called on a traced value."""


class UnexpectedTracerError(FungradError):
    """A tracer escaped the transform that created it and was used afterwards."""


class TracedAssignmentError(FungradError, TypeError):
    """``x[i] = v`` on a traced array: arrays are immutable, use ``x.at[i].set(v)``."""


class NotDifferentiableError(FungradError, TypeError):
    """Differentiation was asked of an integer/boolean input or a non-scalar output."""


class InvalidArgumentError(FungradError, TypeError):
    """An argument is not an array, a scalar or a pytree of them."""
