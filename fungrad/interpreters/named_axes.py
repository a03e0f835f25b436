"""Named axes: which axis names are bound where, and how big they are.

A named axis is bound by ``vmap(f, axis_name=...)`` (the axis is a batch axis, handled by a
``BatchTrace``) or by ``fungrad.distributed.pmap`` (the axis runs across processes). While ``f``
runs, the name sits on a stack of frames; collectives look their axis names up here when they
are bound, so an unknown name is an error at the user's line, and record the sizes they need.

Primitives that act over named axes say which (``axis_name_rules``), so a batching trace can
tell that an operation concerns its axis even when none of its operands is batched.

>>> with extend_axis_env("i", 4):
...     axis_size("i")
4
>>> axis_size("i")
Traceback (most recent call last):
...
fungrad.interpreters.named_axes.UnboundAxisError: unbound axis name 'i': no vmap(...
"""
from __future__ import annotations

import contextvars
import weakref
from typing import Any, Callable, Iterator, NamedTuple

from contextlib import contextmanager

from fungrad.core import Primitive
from fungrad.errors import FungradError
from fungrad.ir import Jaxpr
from fungrad.source_info import at_user_line


class UnboundAxisError(FungradError, NameError):
    """A collective named an axis that no enclosing ``vmap``/``pmap`` binds."""


class AxisFrame(NamedTuple):
    """A bound axis: its name, size and kind ("batch" for vmap, "process" for pmap)."""

    name: Any
    size: int
    kind: str


# The bound axes of the running thread / asyncio task, innermost last.
_frames: contextvars.ContextVar[tuple[AxisFrame, ...]] = contextvars.ContextVar(
    "fungrad_axes", default=())

# ``axis_name_rules[prim](params)``: the axis names an equation of ``prim`` acts over.
axis_name_rules: dict[Primitive, Callable[[dict[str, Any]], tuple[Any, ...]]] = {}


@contextmanager
def extend_axis_env(name: Any, size: int, kind: str = "batch") -> Iterator[None]:
    """Bind axis ``name`` of ``size`` while the block runs (an inner binding shadows an outer)."""
    token = _frames.set(_frames.get() + (AxisFrame(name, int(size), kind),))
    try:
        yield
    finally:
        _frames.reset(token)


def _frame(name: Any) -> AxisFrame:
    frames = _frames.get()
    found = [f for f in frames if f.name == name]
    if found:
        return found[-1]
    bound = ", ".join(repr(f.name) for f in frames) or "none"
    raise UnboundAxisError(
        f"unbound axis name {name!r}: no vmap(..., axis_name={name!r}) or "
        f"distributed.pmap(..., axis_name={name!r}) encloses this collective "
        f"(bound here: {bound}){at_user_line()}")


def axis_size(name: Any) -> int:
    """The size of the innermost axis called ``name``; ``UnboundAxisError`` if none is bound."""
    return _frame(name).size


def axis_kind(name: Any) -> str:
    """``"batch"`` for a vmap axis, ``"process"`` for an axis across processes."""
    return _frame(name).kind


def env_key() -> tuple[AxisFrame, ...]:
    """The bound axes, hashable: part of jit's cache key, since collectives depend on them."""
    return _frames.get()


def normalize_axis_name(axis_name: Any, fname: str) -> tuple[Any, ...]:
    """A name or a tuple of names, as a tuple of distinct, bound, hashable names."""
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    if not names:
        raise ValueError(f"{fname}: axis_name is empty; give a name or a tuple of names"
                         f"{at_user_line()}")
    for n in names:
        if isinstance(n, int) and not isinstance(n, bool):
            raise TypeError(f"{fname}: positional axes ({n}) are not supported; name the axis "
                            f"with vmap(..., axis_name=...){at_user_line()}")
        axis_size(n)
    if len(set(names)) != len(names):
        raise ValueError(f"{fname}: axis names {names} repeat a name{at_user_line()}")
    return names


# ---------------------------------------------------------------- which equations use an axis

_jaxpr_axes: weakref.WeakKeyDictionary[Jaxpr, frozenset[Any]] = weakref.WeakKeyDictionary()


def jaxpr_axis_names(jaxpr: Jaxpr) -> frozenset[Any]:
    """Every axis name a collective in ``jaxpr`` (or a jaxpr nested in its params) acts over."""
    names = _jaxpr_axes.get(jaxpr)
    if names is None:
        found: set[Any] = set()
        for eqn in jaxpr.eqns:
            found |= eqn_axis_names(eqn.primitive, eqn.params)
        names = _jaxpr_axes[jaxpr] = frozenset(found)
    return names


def eqn_axis_names(prim: Primitive, params: dict[str, Any]) -> frozenset[Any]:
    """The axis names an operation acts over, directly or through the jaxprs in its params."""
    rule = axis_name_rules.get(prim)
    found = set(rule(params)) if rule is not None else set()
    for p in params.values():
        for j in (p if isinstance(p, (tuple, list)) else (p,)):
            if isinstance(j, Jaxpr):
                found |= jaxpr_axis_names(j)
    return frozenset(found)


def acts_over(prim: Primitive, params: dict[str, Any], name: Any) -> bool:
    """Does binding ``prim`` with ``params`` involve a collective over axis ``name``?"""
    if prim in axis_name_rules:
        return name in axis_name_rules[prim](params)
    return any(isinstance(p, (Jaxpr, tuple, list)) for p in params.values()) and \
        name in eqn_axis_names(prim, params)

