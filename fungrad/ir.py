"""The IR: abstract values, variables, literals, equations and jaxprs.

A jaxpr is a typed, first-order, single-assignment program::

    { lambda ; a:f64[3]. let b:f64[3] = sin a; c:f64[3] = mul b 2.0:f64[] in (c,) }
"""
from __future__ import annotations

import math

from typing import Any, Sequence

import numpy as np

_SHORT_DTYPES = {
    "float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64", "int32": "i32",
    "int16": "i16", "int8": "i8", "uint64": "u64", "uint32": "u32", "uint16": "u16",
    "uint8": "u8", "bool": "bool", "complex128": "c128", "complex64": "c64",
}


def short_dtype(dtype: np.dtype[Any]) -> str:
    """``float64`` -> ``f64``, as jaxprs print it."""
    return _SHORT_DTYPES.get(dtype.name, str(dtype.name))


class ShapedArray:
    """The abstract value of an array: its shape and dtype.

    >>> ShapedArray((2, 3), np.dtype("float64"))
    f64[2,3]
    """

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype[Any],
                 weak_type: bool = False) -> None:
        self.shape = shape
        self.dtype = dtype
        # A Python scalar passed to jit: it promotes like one (``f32 * 2.0`` stays f32). Only
        # arguments carry it; every operation's result is strongly typed.
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"{short_dtype(self.dtype)}[{','.join(map(str, self.shape))}]"


class Var:
    """A variable of a jaxpr; named only when printed."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    def __repr__(self) -> str:
        return f"Var({self.aval})"


class Literal:
    """A scalar constant written inline in a jaxpr."""

    __slots__ = ("val", "aval")

    def __init__(self, val: Any) -> None:
        val = self.val = val if type(val) is np.ndarray else np.asarray(val)
        dtype = val.dtype
        aval = _SCALAR_AVALS.get(dtype) if not val.ndim else None
        if aval is None:
            aval = ShapedArray(val.shape, dtype)
        self.aval = aval

    def __repr__(self) -> str:
        v = self.val.item()
        return f"{v}:{self.aval}"


# Python scalars in operations (``x * 0.5``) become read-only 0-d arrays of the other operand's
# dtype, made once and shared, with their literal: a loop body does not allocate them again.
_weak: dict[tuple[Any, Any], np.ndarray[Any, Any]] = {}
_literal_of: dict[int, Literal] = {}   # by id of an array in _weak (kept alive there)


def weak_scalar(y: float | int | complex | bool, dtype: Any) -> np.ndarray[Any, Any]:
    """``np.asarray(y, dtype)``, read-only and cached."""
    key = (y, dtype)
    a = _weak.get(key)
    if a is None:
        a = np.asarray(y, dtype)
        if y != 0.0 and y == y:   # 0.0 == -0.0 and nan != nan: keep those out of the cache
            a.flags.writeable = False
            if len(_weak) >= 1024:
                _weak.clear()
                _literal_of.clear()
            _weak[key] = a
            _literal_of[id(a)] = Literal(a)
    return a


def literal(x: Any) -> Literal:
    """``Literal(x)``, shared for the cached weak scalars."""
    lit = _literal_of.get(id(x))
    return Literal(x) if lit is None else lit


# Avals are immutable: scalar literals of one dtype share theirs.
_SCALAR_AVALS = {np.dtype(t): ShapedArray((), np.dtype(t)) for t in
                 (np.float64, np.float32, np.float16, np.int64, np.int32, np.bool_, np.complex128)}

Atom = Var | Literal


class Eqn:
    """``outvars = primitive[params] inputs``, with the user's source line."""

    __slots__ = ("primitive", "inputs", "params", "outvars", "source")

    def __init__(self, primitive: Any, inputs: list[Atom], params: dict[str, Any],
                 outvars: list[Var], source: str | None) -> None:
        self.primitive = primitive
        self.inputs = inputs
        self.params = params
        self.outvars = outvars
        self.source = source

    @property
    def invars(self) -> list[Atom]:
        """The inputs, under JAX's name for them."""
        return self.inputs

    def __repr__(self) -> str:
        from fungrad.pretty import pp_eqn  # pretty imports this module
        return pp_eqn(self)


class Jaxpr:
    """A closed program: ``constvars`` bound to ``consts``, then ``invars``, ``eqns``, ``outvars``.

    Jaxprs compare and hash by identity, so they can serve as primitive params and cache keys.

    >>> import fungrad, fungrad.numpy as fnp
    >>> jaxpr = fungrad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.zeros(3))
    >>> [eqn.primitive.name for eqn in jaxpr.eqns], jaxpr.in_avals, jaxpr.out_avals
    (['sin', 'mul'], [f64[3]], [f64[3]])
    """

    __slots__ = ("constvars", "invars", "eqns", "outvars", "consts", "__weakref__")

    def __init__(self, constvars: Sequence[Var], invars: Sequence[Var], eqns: Sequence[Eqn],
                 outvars: Sequence[Atom], consts: Sequence[Any] = ()) -> None:
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.eqns = list(eqns)
        self.outvars = list(outvars)
        self.consts = list(consts)

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.outvars]

    @property
    def jaxpr(self) -> Jaxpr:
        """Itself: JAX's ``make_jaxpr`` returns a ``ClosedJaxpr`` whose ``.jaxpr`` is the open
        program; a fungrad ``Jaxpr`` carries its constants, so code written for either works."""
        return self

    def __str__(self) -> str:
        from fungrad.pretty import pp_jaxpr  # pretty imports this module
        return pp_jaxpr(self)

    __repr__ = __str__
