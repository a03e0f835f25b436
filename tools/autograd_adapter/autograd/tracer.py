"""``autograd.tracer``: ``primitive`` (see autograd.extend); a "box" is a fungrad Tracer."""
from typing import Any

from autograd.extend import primitive  # noqa: F401
from fungrad.core import Tracer


def isbox(x: Any) -> bool:
    return isinstance(x, Tracer)
