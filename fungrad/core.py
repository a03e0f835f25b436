"""Primitives, ``bind``, traces and tracers, the eval interpreter and ``eval_jaxpr``.

Dispatch is context based: one *current trace* at a time, each trace knowing its parent.
``bind`` hands a primitive to the current trace; a trace that has nothing to do for an
operation (none of the inputs are its own tracers) rebinds it on its parent.

The current trace belongs to the running thread and asyncio task (a ``contextvars`` variable),
and this module is its only writer: the seam is ``new_trace`` (run a transform),
``set_current_trace`` / ``call_with_trace`` (run code on another trace), and the two ``Trace``
methods ``process_on_parent`` / ``call_on_parent`` with which interpreters hand work one level
down.
"""
from __future__ import annotations

import contextvars
import pickle
import weakref
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from fungrad.errors import (
    InvalidArgumentError, TracedAssignmentError, TracerArrayConversionError, UnexpectedTracerError,
    broadcast_error,
)
from fungrad.ir import Jaxpr, Literal, ShapedArray, Var
from fungrad.source_info import at_user_line


class Primitive:
    """An operation every interpreter knows by name; its rules live in the interpreters' tables.

    The rule tables key on the primitive object, so a copied or unpickled jaxpr must hold the
    same objects: a primitive copies and pickles as a lookup of its (unique) name.

    >>> import copy, pickle
    >>> p = Primitive("example_op")
    >>> copy.deepcopy(p) is p and pickle.loads(pickle.dumps(p)) is p
    True
    """

    __slots__ = ("name", "multiple_results", "__weakref__")

    def __init__(self, name: str, multiple_results: bool = False) -> None:
        self.name = name
        self.multiple_results = multiple_results
        _primitives.setdefault(name, self)

    def __reduce__(self) -> tuple[Callable[[str], Primitive], tuple[str]]:
        if _primitives.get(self.name) is not self:
            raise pickle.PicklingError(
                f"primitive {self.name!r} cannot be copied or pickled: another primitive took its "
                f"name first, so it would not be found again by name; give it a unique name")
        return primitive_named, (self.name,)

    def bind(self, *args: Any, **params: Any) -> Any:
        return _state.get().trace.process_primitive(self, args, params)

    def __repr__(self) -> str:
        return self.name


# Primitives with side effects (debug printing), with what the effect is: compiler passes never drop,
# merge or fold them.
effect_rules: dict[Primitive, str] = {}

# Every primitive by its name (the first one created with that name), for copies and pickles.
_primitives: weakref.WeakValueDictionary[str, Primitive] = weakref.WeakValueDictionary()


def primitive_named(name: str) -> Primitive:
    """The primitive called ``name`` (how copied and unpickled jaxprs find theirs; unpickling
    imports ``fungrad.core``, hence the whole package with all its primitives).

    >>> primitive_named("sin")
    sin
    """
    try:
        return _primitives[name]
    except KeyError:
        raise LookupError(f"no primitive is named {name!r}: import the module that defines it "
                          f"before unpickling a jaxpr that uses it") from None


# The two rule tables of this module; the other interpreters keep theirs beside them.
impl_rules: dict[Primitive, Callable[..., Any]] = {}
abstract_eval_rules: dict[Primitive, Callable[..., Any]] = {}


def bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Apply ``prim`` under the current trace."""
    return _state.get().trace.process_primitive(prim, args, params)


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

    def process_on_parent(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        """``prim`` processed by this (current) trace's parent, the parent current meanwhile."""
        st = _state.get()
        parent = self.parent
        st.trace = parent  # type: ignore[assignment]
        try:
            return parent.process_primitive(prim, args, params)  # type: ignore[union-attr]
        finally:
            st.trace = self

    def call_on_parent(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with this (current) trace's parent current: how a rule runs,
        so that what it binds is interpreted one level down."""
        st = _state.get()
        st.trace = self.parent  # type: ignore[assignment]
        try:
            return fn(*args, **kwargs)
        finally:
            st.trace = self

    def is_ancestor_of(self, other: Trace) -> bool:
        t: Trace | None = other
        while t is not None:
            if t is self:
                return True
            t = t.parent
        return False


class Tracer:
    """A value seen by a trace: its type, and its concrete value where it has one.

    The rest of an array's behaviour (operators, ``.sum()``, indexing...) is installed by the
    numpy layer (``fungrad.numpy.array_methods``), which builds it from ``fungrad.numpy``.
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000
    __array_ufunc__ = None  # make NumPy defer to our reflected operators
    __hash__ = None  # type: ignore[assignment]
    _trace: Trace

    if TYPE_CHECKING:  # the methods the numpy layer installs
        def __getattr__(self, name: str) -> Any: ...

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    def concrete_value(self) -> Any:
        """The concrete NumPy value behind this tracer, or a ``ConcretizationError``."""
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> Any:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return len(self.aval.shape)

    @property
    def size(self) -> int:
        return self.aval.size

    # -- conversions to Python values: only where the value is concrete
    # ``bool`` (``if x > 0``) loses nothing; the other conversions would drop a derivative,
    # so a tracer may refuse them (``python_value``).
    def __bool__(self) -> bool: return bool(self.concrete_value())
    def __int__(self) -> int: return int(self.python_value("int()"))
    def __float__(self) -> float: return float(self.python_value("float()"))
    def __complex__(self) -> complex: return complex(self.python_value("complex()"))

    def __index__(self) -> int:
        return int(self.python_value("__index__").__index__())

    def item(self) -> Any:
        return self.python_value(".item()").item()

    def tolist(self) -> Any:
        return self.python_value(".tolist()").tolist()

    def python_value(self, conversion: str) -> Any:
        """The concrete value for a conversion to Python numbers (``float(x)``...)."""
        return self.concrete_value()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise TracerArrayConversionError(
            f"np.asarray() (or another NumPy conversion) was called on a traced value {self.aval}: "
            "inside a transform, use fungrad.numpy instead of numpy on traced values. If this is "
            "a NumPy array indexed with a traced index (`arr[i]`), gather with fungrad.numpy "
            "instead: `fnp.take(arr, i, axis=0)` (traced and differentiable; `fnp.asarray(arr)` "
            "of a NumPy array stays a NumPy array, so indexing it does not help)"
            f"{at_user_line()}")

    def __setitem__(self, idx: Any, value: Any) -> None:
        raise TracedAssignmentError(
            "fungrad arrays are immutable: `x[idx] = v` cannot work on a traced value. "
            f"Use `x = x.at[idx].set(v)` (or .add, .multiply, .min, .max){at_user_line()}")

    def __copy__(self) -> Any:
        return self  # values are immutable

    def __deepcopy__(self, memo: Any) -> Any:
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}<{self.aval}>"


class EvalTrace(Trace):
    """The root interpreter: runs each primitive's NumPy implementation."""

    __slots__ = ()

    def process_primitive(self, prim: Primitive, args: Sequence[Any],
                          params: dict[str, Any]) -> Any:
        for a in args:
            if isinstance(a, Tracer):
                raise escaped_tracer_error(a)
        try:
            return impl_rules[prim](*args, **params)
        except ValueError as e:  # NumPy's bare message becomes one naming the operation and line
            if "could not be broadcast" not in str(e):
                raise
            shapes = [np.shape(a) for a in args]
            raise broadcast_error(prim.name, shapes, at_user_line()) from None


def escaped_tracer_error(t: Tracer) -> UnexpectedTracerError:
    return UnexpectedTracerError(
        f"A traced value ({t.aval}) was used after the transform that created it "
        f"({type(t._trace).__name__}) had finished. It leaked out, perhaps through a global "
        f"variable, a closure or a side effect; return it from the transformed function "
        f"instead{at_user_line()}")


EVAL_TRACE = EvalTrace(None)


# ---------------------------------------------------------------- the current trace

class _State:
    """The current trace of one context. Transforms get a fresh one (``new_trace``), so that
    interpreters can switch traces in place, cheaply, without ever touching another thread's."""

    __slots__ = ("trace",)

    def __init__(self, trace: Trace) -> None:
        self.trace = trace


# Shared by every context that runs no transform; never written to (see ``set_current_trace``).
_BASE = _State(EVAL_TRACE)
_state: contextvars.ContextVar[_State] = contextvars.ContextVar("fungrad_trace", default=_BASE)


def current_trace() -> Trace:
    """The trace that ``bind`` hands primitives to, in this thread / asyncio task."""
    return _state.get().trace


# For the hottest paths (an operator on arrays): ``current_state().trace`` is ``current_trace()``
# without a Python call. Read it only; ``.trace`` is written by this module alone (the
# architecture test checks).
current_state = _state.get


class set_current_trace:
    """``with set_current_trace(t):`` makes ``t`` the current trace of this context."""

    __slots__ = ("trace", "state", "prev", "token")

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        st = _state.get()
        if st is _BASE:   # shared: take a private state for the duration
            self.token: contextvars.Token[_State] | None = _state.set(_State(self.trace))
        else:
            self.token = None
            self.state = st
            self.prev = st.trace
            st.trace = self.trace

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            _state.reset(self.token)
        else:
            self.state.trace = self.prev


def call_with_trace(trace: Trace, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with ``trace`` current (``set_current_trace``, in one call)."""
    st = _state.get()
    if st is _BASE:
        with set_current_trace(trace):
            return fn(*args)
    prev = st.trace
    st.trace = trace
    try:
        return fn(*args)
    finally:
        st.trace = prev


class new_trace:
    """``with new_trace(t) as t:`` runs a transform's trace; afterwards its tracers are dead.

    The transform gets a state of its own in this context, so threads and asyncio tasks that
    trace at the same time never see each other's traces.
    """

    __slots__ = ("trace", "token")

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> Any:
        self.token = _state.set(_State(self.trace))
        return self.trace

    def __exit__(self, *exc: object) -> None:
        _state.reset(self.token)
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
