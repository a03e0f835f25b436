"""The parts of ``autograd.core`` the adapter can honour (fungrad has no VJP table to edit)."""
from typing import Any

import autograd


def make_vjp(fun: Any, x: Any) -> Any:
    """autograd.core's unary form: ``make_vjp(f, x) -> (vjp, f(x))``."""
    return autograd.make_vjp(fun)(x)


def make_jvp(fun: Any, x: Any) -> Any:
    """autograd.core's unary form: ``make_jvp(f, x)(v) -> (f(x), J v)``."""
    return autograd.make_jvp(fun)(x)
from autograd.extend import defjvp, defvjp, primitive  # noqa: F401


class _NoTable(dict):  # type: ignore[type-arg]
    def pop(self, *args: Any) -> Any:
        raise NotImplementedError("autograd internals: fungrad has no table of VJPs to edit")


primitive_vjps = _NoTable()
