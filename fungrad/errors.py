"""Exceptions raised for bad input, each naming the user's line where it can."""
from __future__ import annotations

from typing import Iterable


class FungradError(Exception):
    """Base class of fungrad's own errors."""


class ShapeError(FungradError, TypeError):
    """A primitive got operands whose shapes or dtypes do not fit (caught by its shape rule)."""


class BroadcastError(ShapeError, ValueError):
    """Operand shapes that do not broadcast together (a ``ValueError`` too, as in NumPy)."""


def broadcast_error(name: str, shapes: Iterable[tuple[int, ...]], where: str = "") -> BroadcastError:
    """The error for ``name`` applied to operands of ``shapes`` that do not broadcast.

    >>> print(broadcast_error("add", [(3,), (4,)]))
    add: operand shapes (3,) and (4,) do not broadcast together
    """
    return BroadcastError(f"{name}: operand shapes {' and '.join(map(str, shapes))} "
                          f"do not broadcast together{where}")


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
