"""Keeping results and saved values independent of the caller's arrays.

NumPy arrays are mutable. A pullback from ``vjp`` or a ``linearize``d function runs later, so the
residuals it saved must not share memory with arrays the caller can still edit: the inputs,
arrays the function closed over, and the outputs handed back. Arrays computed inside the
transform (the common case) belong to nobody else and are kept as they are; only a value whose
memory belongs to a caller's array is copied, so the protection costs a copy of exactly what is
both saved and aliased.

>>> x = np.arange(3.0)
>>> detach(x[1:], owners([x])) is x              # a view of a caller's array: copied
False
>>> y = x + 1.0
>>> detach(y, owners([x])) is y                  # a fresh array: kept
True
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np


def memory_owner(x: np.ndarray) -> object:
    """The object that owns ``x``'s memory: ``x`` itself, or the end of its chain of bases."""
    owner: Any = x
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    return owner


def owners(values: Iterable[Any]) -> set[int]:
    """The ids of the memory owners of the arrays among ``values``."""
    return {id(memory_owner(v)) for v in values if isinstance(v, np.ndarray)}


def detach(x: Any, taken: set[int]) -> Any:
    """``x``, or a copy of it when its memory belongs to one of ``taken``."""
    if isinstance(x, np.ndarray) and id(memory_owner(x)) in taken:
        return x.copy()
    return x
