"""NumPy's dispatch protocols on tracers: ``np.sum(x)`` and ``np.sin(x)`` run ``fungrad.numpy``.

``array_function`` and ``array_ufunc`` become ``Tracer.__array_function__`` and
``Tracer.__array_ufunc__`` (installed with the other array methods), so a NumPy function
called on a traced value runs the ``fungrad.numpy`` function of the same name. Plain NumPy
arrays are untouched: the protocols live on tracers only. What fungrad.numpy cannot do
(a function it lacks, ufunc methods such as ``np.add.reduce``, ``out=`` buffers) raises a
``TypeError`` that says so.

>>> import numpy as np, fungrad
>>> fungrad.grad(lambda x: np.sum(np.sin(x)))(np.zeros(2))
array([1., 1.])
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import fungrad.numpy as fnp
from fungrad.core import Tracer
from fungrad.source_info import at_user_line

_USE_FNP = "use fungrad.numpy (`import fungrad.numpy as fnp`) on traced values"


def array_function(self: Any, func: Callable[..., Any], types: Any, args: Any,
                   kwargs: Any) -> Any:
    """NumPy's ``__array_function__`` hook: run ``func``'s namesake in ``fungrad.numpy``."""
    if not all(issubclass(t, (Tracer, np.ndarray)) for t in types):
        return NotImplemented
    target = fungrad_counterpart(func)
    if target is func:  # a NumPy function fungrad.numpy re-exports (metadata only)
        return func._implementation(*args, **kwargs)  # type: ignore[attr-defined]
    return target(*args, **kwargs)


def array_ufunc(self: Any, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """NumPy's ``__array_ufunc__`` hook: ``np.sin(x)`` runs ``fnp.sin(x)``."""
    if method == "__call__" and not kwargs:  # the hot path: `ndarray * tracer` lands here
        target = _ufunc_targets.get(ufunc)
        if target is None:
            target = _ufunc_targets[ufunc] = fungrad_counterpart(ufunc)
        return target(*inputs)
    name = f"np.{ufunc.__name__}"
    if method != "__call__":
        raise TypeError(f"{name}.{method} was called on a traced value: ufunc methods are not "
                        f"supported; {_USE_FNP} (e.g. fnp.sum for np.add.reduce){at_user_line()}")
    if kwargs.pop("out", None) is not None:
        raise TypeError(f"{name}(..., out=...) was called with a traced value: fungrad arrays "
                        "are immutable, so results cannot be written into a buffer; assign the "
                        f"result instead (`y = fnp.{ufunc.__name__}(...)`){at_user_line()}")
    return fungrad_counterpart(ufunc)(*inputs, **kwargs)


# The fungrad.numpy function of each NumPy ufunc met so far (ufuncs are few and long-lived).
_ufunc_targets: dict[np.ufunc, Callable[..., Any]] = {}


def fungrad_counterpart(func: Any) -> Callable[..., Any]:
    """The ``fungrad.numpy`` function named like the NumPy function ``func``, or a TypeError.

    >>> fungrad_counterpart(np.linalg.norm) is fnp.linalg.norm
    True
    """
    module = getattr(func, "__module__", None) or "numpy"
    path = module.split(".")[1:] if module.startswith("numpy") else []
    owner: Any = fnp
    for part in [p for p in path if not p.startswith("_")]:
        owner = getattr(owner, part, None)
    target = getattr(owner, func.__name__, None)
    if not callable(target):
        where = ".".join(["np", *[p for p in path if not p.startswith("_")], func.__name__])
        raise TypeError(f"{where} was called on a traced value, and fungrad.numpy has no "
                        f"{func.__name__}: {_USE_FNP}, or compute it outside the "
                        f"transform{at_user_line()}")
    return target  # type: ignore[no-any-return]
