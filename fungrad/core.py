"""Primitives, ``bind``, traces and tracers, the eval interpreter and ``eval_jaxpr``.

Dispatch is context based: one *current trace* at a time, each trace knowing its parent.
``bind`` hands a primitive to the current trace; a trace that has nothing to do for an
operation (none of the inputs are its own tracers) rebinds it on its parent.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.array_methods import ArrayMethods
from fungrad.errors import InvalidArgumentError, UnexpectedTracerError
from fungrad.ir import Jaxpr, Literal, ShapedArray, Var
from fungrad.source_info import at_user_line


class Primitive:
    """An operation every interpreter knows by name; its rules live in the interpreters' tables."""

    __slots__ = ("name", "multiple_results")

    def __init__(self, name: str, multiple_results: bool = False) -> None:
        self.name = name
        self.multiple_results = multiple_results

    def bind(self, *args: Any, **params: Any) -> Any:
        return _ctx.trace.process_primitive(self, args, params)

    def __repr__(self) -> str:
        return self.name


# The two rule tables of this module; the other interpreters keep theirs beside them.
impl_rules: dict[Primitive, Callable[..., Any]] = {}
abstract_eval_rules: dict[Primitive, Callable[..., Any]] = {}


def bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Apply ``prim`` under the current trace."""
    return _ctx.trace.process_primitive(prim, args, params)


# ---------------------------------------------------------------- abstract values

_SCALAR_DTYPES = {bool: np.dtype(bool), int: np.dtype(np.int64), float: np.dtype(np.float64),
                  complex: np.dtype(np.complex128)}


def get_aval(x: Any) -> ShapedArray:
    """The abstract value of an array, a scalar or a tracer."""
    if isinstance(x, np.ndarray):
        return ShapedArray(x.shape, x.dtype)
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, np.generic):
        return ShapedArray((), x.dtype)
    dtype = _SCALAR_DTYPES.get(type(x))
    if dtype is not None:
        return ShapedArray((), dtype)
    raise InvalidArgumentError(
        f"{type(x).__name__} is not a valid fungrad value: expected an array, a scalar or a "
        f"pytree of them{at_user_line()}")


# ---------------------------------------------------------------- traces and tracers

class Trace:
    """An interpreter. ``process_primitive`` gets the raw arguments of ``bind``."""

    __slots__ = ("parent", "alive", "__weakref__")

    def __init__(self, parent: Trace | None) -> None:
        self.parent = parent
        self.alive = True

    def process_primitive(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def is_ancestor_of(self, other: Trace) -> bool:
        t: Trace | None = other
        while t is not None:
            if t is self:
                return True
            t = t.parent
        return False


class Tracer(ArrayMethods):
    """A value seen by a trace. Behaves like an array (see ``ArrayMethods``)."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000
    _trace: Trace

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    def concrete_value(self) -> Any:
        """The concrete NumPy value behind this tracer, or a ``ConcretizationError``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self.aval}>"


class _Context:
    __slots__ = ("trace",)

    def __init__(self, trace: Trace) -> None:
        self.trace = trace


class EvalTrace(Trace):
    """The root interpreter: runs each primitive's NumPy implementation."""

    __slots__ = ()

    def process_primitive(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        for a in args:
            if isinstance(a, Tracer):
                raise escaped_tracer_error(a)
        return impl_rules[prim](*args, **params)


def escaped_tracer_error(t: Tracer) -> UnexpectedTracerError:
    return UnexpectedTracerError(
        f"A traced value ({t.aval}) was used after the transform that created it "
        f"({type(t._trace).__name__}) had finished. It leaked out, perhaps through a global "
        f"variable, a closure or a side effect; return it from the transformed function "
        f"instead{at_user_line()}")


EVAL_TRACE = EvalTrace(None)
_ctx = _Context(EVAL_TRACE)


def current_trace() -> Trace:
    return _ctx.trace


class set_current_trace:
    """``with set_current_trace(t):`` makes ``t`` the current trace."""

    __slots__ = ("trace", "prev")

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        self.prev = _ctx.trace
        _ctx.trace = self.trace

    def __exit__(self, *exc: object) -> None:
        _ctx.trace = self.prev


class new_trace:
    """``with new_trace(T, ...) as t:`` runs a transform's trace; afterwards its tracers are dead."""

    __slots__ = ("trace", "prev")

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> Any:
        self.prev = _ctx.trace
        _ctx.trace = self.trace
        return self.trace

    def __exit__(self, *exc: object) -> None:
        _ctx.trace = self.prev
        self.trace.alive = False


# ---------------------------------------------------------------- evaluating jaxprs

def eval_jaxpr(jaxpr: Jaxpr, consts: Sequence[Any], *args: Any) -> list[Any]:
    """Run ``jaxpr`` by binding each equation, so it is traced again under any transform.

    >>> import fungrad, fungrad.numpy as fnp
    >>> jaxpr = fungrad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.zeros(2))
    >>> eval_jaxpr(jaxpr, jaxpr.consts, np.array([0.0, np.pi / 2]))
    [array([0., 2.])]
    """
    env: dict[Var, Any] = {}

    def read(a: Var | Literal) -> Any:
        return a.val if type(a) is Literal else env[a]  # type: ignore[index]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    for eqn in jaxpr.eqns:
        outs = eqn.primitive.bind(*map(read, eqn.inputs), **eqn.params)
        if eqn.primitive.multiple_results:
            env.update(zip(eqn.outvars, outs))
        else:
            env[eqn.outvars[0]] = outs
    return [read(v) for v in jaxpr.outvars]


def call_jaxpr(jaxpr: Jaxpr, *args: Any) -> list[Any]:
    """Evaluate a jaxpr with its own consts."""
    return eval_jaxpr(jaxpr, jaxpr.consts, *args)


def concrete_or_none(x: Any) -> Any:
    """The concrete value of ``x`` if it has one (an array, or a tracer over one), else None."""
    if isinstance(x, Tracer):
        try:
            return x.concrete_value()
        except Exception:
            return None
    return x
