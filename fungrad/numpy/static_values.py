"""Arguments that must be known while tracing (sizes, counts, shapes), with a clear error.

>>> import fungrad, fungrad.numpy as fnp
>>> try:
...     fungrad.jit(lambda n: fnp.ones(n))(3)
... except fungrad.errors.ConcretizationError as e:
...     print(str(e)[:60])
ones: the shape must be known when the function is traced, b
"""
from __future__ import annotations

from typing import Any

from fungrad.core import Tracer
from fungrad.errors import ConcretizationError
from fungrad.source_info import at_user_line


def static(x: Any, fname: str, what: str) -> Any:
    """``x`` with any tracer in it (a scalar, or a list/tuple entry) replaced by its concrete
    value; a traced value that has none raises an error saying to make the argument static."""
    if isinstance(x, (list, tuple)):
        return type(x)(static(e, fname, what) for e in x)
    if not isinstance(x, Tracer):
        return x
    try:
        return x.concrete_value()
    except ConcretizationError:
        raise ConcretizationError(
            f"{fname}: {what} must be known when the function is traced, but it is a traced "
            f"value ({x.aval}). Under jit, pass it as a static argument (jit(f, "
            f"static_argnums=...) or static_argnames=...), or compute it from shapes "
            f"(x.shape[0]), which are static{at_user_line()}") from None
