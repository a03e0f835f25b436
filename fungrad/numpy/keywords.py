"""NumPy call keywords that fungrad accepts but cannot honour: ``out=`` and ``where=``.

NumPy's own functions pass ``out=None`` (and others) when they forward a call to an array's
method, so these are accepted; a real output buffer or mask raises a clear error instead of
being ignored.

>>> check_out("sum", None)
>>> check_out("sum", np.zeros(2))
Traceback (most recent call last):
    ...
TypeError: sum: out= is not supported (fungrad arrays are immutable): use the returned value
"""
from __future__ import annotations

from typing import Any


def check_out(name: str, out: Any) -> None:
    """Raise unless ``out`` is None."""
    if out is not None:
        raise TypeError(f"{name}: out= is not supported (fungrad arrays are immutable): use the "
                        "returned value")


def check_where(name: str, where: Any) -> None:
    """Raise unless ``where`` is None or True (no mask)."""
    if where is not None and where is not True:
        raise NotImplementedError(f"{name}: where= masks are not supported; apply "
                                  "fungrad.numpy.where to the operand first")
