"""The parts of ``autograd.core`` the adapter can honour (fungrad has no VJP table to edit)."""
from typing import Any

from autograd import make_jvp, make_vjp  # noqa: F401
from autograd.extend import defjvp, defvjp, primitive  # noqa: F401


class _NoTable(dict):  # type: ignore[type-arg]
    def pop(self, *args: Any) -> Any:
        raise NotImplementedError("autograd internals: fungrad has no table of VJPs to edit")


primitive_vjps = _NoTable()
