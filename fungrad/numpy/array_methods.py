"""Array behaviour: for tracers, operators, properties and methods, all routed to
``fungrad.numpy``; for ``fungrad.Array``, JAX's ``x.at[...]``; results of ``fungrad.numpy`` as
``fungrad.Array``.

``Tracer`` (in ``fungrad.core``) knows only what a trace knows: its abstract value and how to
become concrete. The numpy layer gives it the rest of ``ndarray``'s face: ``install`` copies the
methods below onto ``Tracer`` when ``fungrad.numpy`` is imported, so nothing below this layer
ever imports it (late binding done once, on purpose). The same step registers ``Tracer`` as a
``fungrad.Array`` and gives ``Array`` its ``.at``; ``returning_arrays`` wraps the public
functions of ``fungrad.numpy`` so that their concrete results are ``Array`` values.

>>> import fungrad, fungrad.numpy as fnp
>>> fungrad.grad(lambda x: (x * 2.0 + 1.0).sum())(np.ones(3))
array([2., 2., 2.])
>>> type(fnp.sum(np.ones(3))).__name__, fnp.zeros(2).at[1].add(5.0)
('Array', array([0., 5.]))
"""
from __future__ import annotations

import functools
import types
from typing import Any, Callable, TypeVar

import numpy as np

import fungrad.numpy as _package
from fungrad.array_type import Array, as_array
from fungrad.core import Tracer
from fungrad.errors import TracerArrayConversionError
from fungrad.custom_derivatives import custom_jvp, custom_vjp
from fungrad.numpy.indexing import IndexUpdateHelper, IndexUpdateRef, getitem
from fungrad.numpy.protocols import array_function, array_ufunc

F = TypeVar("F", bound=Callable[..., Any])
_ndarray = np.ndarray

# The functions the methods below call: fungrad.numpy's, as they are before ``wrap_namespace``
# (a tracer's methods give tracers, so they skip the wrapper's check).
fnp: Any = _package


def install(cls: type, operators: dict[str, Any]) -> None:
    """Give ``cls`` every method of ``ArrayMethods``, and bind the forward ``operators``
    (``__add__``...) straight to their ``fungrad.numpy`` functions: ``x * y`` costs one call.
    Make ``cls`` count as a ``fungrad.Array`` and give ``Array`` its ``.at``."""
    global fnp
    fnp = types.SimpleNamespace(**vars(_package))
    for name, value in vars(ArrayMethods).items():
        if name not in _NOT_METHODS:
            setattr(cls, name, value)
    for name, fn in operators.items():
        setattr(cls, name, fn)
    Array.register(cls)
    setattr(Array, "at", property(ArrayUpdateHelper, doc=ArrayUpdateHelper.__doc__))
    setattr(Array, "__getitem__", _array_getitem)


def _array_getitem(x: Any, index: Any) -> Any:
    """``x[index]`` of an ``Array``: NumPy's, or, when the index holds a traced value (``array[i]``
    in a loop body), ``fungrad.numpy``'s indexing of ``x`` as a constant, as in JAX."""
    try:
        return _ndarray_getitem(x, index)
    except TracerArrayConversionError:
        return getitem(x.view(_ndarray), index)


_ndarray_getitem = _ndarray.__getitem__


def _result(out: Any) -> Any:
    """``out`` with its NumPy arrays and scalars as ``Array`` values (through tuples and lists)."""
    if isinstance(out, (tuple, list)):
        items = [_result(o) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    return as_array(out)


def returning_arrays(fn: F) -> F:
    """``fn`` with its concrete results as ``fungrad.Array`` values (tracers pass as they are).

    >>> f = returning_arrays(lambda: (np.ones(2), np.float64(1.0), 3))
    >>> [type(r).__name__ for r in f()]
    ['Array', 'Array', 'int']
    """
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if type(out) is _ndarray:
            return out.view(Array)
        if isinstance(out, Tracer):
            return out
        return _result(out)
    return wrapped  # type: ignore[return-value]


def wrap_namespace(namespace: dict[str, Any]) -> None:
    """Every public function of fungrad in ``namespace`` (a module's globals) replaced by its
    ``returning_arrays`` version."""
    for name, value in list(namespace.items()):
        if (not name.startswith("_") and isinstance(value, (types.FunctionType, custom_jvp, custom_vjp))
                and getattr(value, "__module__", "").startswith("fungrad.")):
            namespace[name] = returning_arrays(value)


class ArrayUpdateRef(IndexUpdateRef):
    """``x.at[idx]`` of a concrete ``Array``: the same updates, results as ``Array`` values."""

    __slots__ = ()


for _name in ("get", "set", "add", "multiply", "mul", "min", "max", "divide", "power",
              "subtract", "apply"):
    setattr(ArrayUpdateRef, _name, returning_arrays(getattr(IndexUpdateRef, _name)))


class ArrayUpdateHelper(IndexUpdateHelper):
    """``x.at`` of a ``fungrad.Array``: ``x.at[idx].set(v)`` (``.add``, ``.multiply``,
    ``.divide``, ``.power``, ``.min``, ``.max``, ``.apply``, ``.get``) returns a new array;
    ``x`` itself is never changed. Out-of-bounds updates are dropped, as in JAX.

    >>> import fungrad.numpy as fnp
    >>> x = fnp.arange(4.0)
    >>> x.at[[0, 0, 9]].add(1.0), x
    (array([2., 1., 2., 3.]), array([0., 1., 2., 3.]))
    """

    __slots__ = ()

    def __getitem__(self, index: Any) -> ArrayUpdateRef:
        return ArrayUpdateRef(self.array, index)


def at(x: Any) -> Any:
    """``x.at`` for any array, NumPy arrays included: ``fnp.at(x)[i].set(v)``.

    >>> import fungrad.numpy as fnp
    >>> fnp.at(np.zeros(2))[0].set(1.0)
    array([1., 0.])
    """
    return x.at if isinstance(x, Tracer) else ArrayUpdateHelper(_package.asarray(x))


class ArrayMethods:
    """What ``install`` copies onto ``Tracer``: everything an ``ndarray`` offers beyond its type."""

    aval: Any

    def concrete_value(self) -> Any:
        raise NotImplementedError

    # -- properties
    @property
    def T(self) -> Any:
        return fnp.transpose(self)

    @property
    def mT(self) -> Any:
        return fnp.swapaxes(self, -1, -2)

    @property
    def real(self) -> Any:
        return fnp.real(self)

    @property
    def imag(self) -> Any:
        return fnp.imag(self)

    @property
    def itemsize(self) -> int:
        return int(self.aval.dtype.itemsize)

    @property
    def nbytes(self) -> int:
        return int(self.aval.dtype.itemsize * self.aval.size)

    @property
    def at(self) -> Any:
        return IndexUpdateHelper(self)

    # -- arithmetic
    def __add__(self, o: Any) -> Any: return fnp.add(self, o)
    def __radd__(self, o: Any) -> Any: return fnp.add(o, self)
    def __sub__(self, o: Any) -> Any: return fnp.subtract(self, o)
    def __rsub__(self, o: Any) -> Any: return fnp.subtract(o, self)
    def __mul__(self, o: Any) -> Any: return fnp.multiply(self, o)
    def __rmul__(self, o: Any) -> Any: return fnp.multiply(o, self)
    def __truediv__(self, o: Any) -> Any: return fnp.true_divide(self, o)
    def __rtruediv__(self, o: Any) -> Any: return fnp.true_divide(o, self)
    def __floordiv__(self, o: Any) -> Any: return fnp.floor_divide(self, o)
    def __rfloordiv__(self, o: Any) -> Any: return fnp.floor_divide(o, self)
    def __mod__(self, o: Any) -> Any: return fnp.mod(self, o)
    def __rmod__(self, o: Any) -> Any: return fnp.mod(o, self)
    def __divmod__(self, o: Any) -> Any: return fnp.divmod(self, o)
    def __rdivmod__(self, o: Any) -> Any: return fnp.divmod(o, self)
    def __pow__(self, o: Any) -> Any: return fnp.power(self, o)
    def __rpow__(self, o: Any) -> Any: return fnp.power(o, self)
    def __matmul__(self, o: Any) -> Any: return fnp.matmul(self, o)
    def __rmatmul__(self, o: Any) -> Any: return fnp.matmul(o, self)
    def __neg__(self) -> Any: return fnp.negative(self)
    def __pos__(self) -> Any: return self
    def __abs__(self) -> Any: return fnp.abs(self)
    def __invert__(self) -> Any: return fnp.invert(self)
    def __and__(self, o: Any) -> Any: return fnp.bitwise_and(self, o)
    def __rand__(self, o: Any) -> Any: return fnp.bitwise_and(o, self)
    def __or__(self, o: Any) -> Any: return fnp.bitwise_or(self, o)
    def __ror__(self, o: Any) -> Any: return fnp.bitwise_or(o, self)
    def __xor__(self, o: Any) -> Any: return fnp.bitwise_xor(self, o)
    def __rxor__(self, o: Any) -> Any: return fnp.bitwise_xor(o, self)
    def __lshift__(self, o: Any) -> Any: return fnp.left_shift(self, o)
    def __rlshift__(self, o: Any) -> Any: return fnp.left_shift(o, self)
    def __rshift__(self, o: Any) -> Any: return fnp.right_shift(self, o)
    def __rrshift__(self, o: Any) -> Any: return fnp.right_shift(o, self)
    def __round__(self, ndigits: int | None = None) -> Any:
        return fnp.round(self, ndigits or 0)

    # -- comparisons
    def __lt__(self, o: Any) -> Any: return fnp.less(self, o)
    def __le__(self, o: Any) -> Any: return fnp.less_equal(self, o)
    def __gt__(self, o: Any) -> Any: return fnp.greater(self, o)
    def __ge__(self, o: Any) -> Any: return fnp.greater_equal(self, o)
    def __eq__(self, o: Any) -> Any: return fnp.equal(self, o)
    def __ne__(self, o: Any) -> Any: return fnp.not_equal(self, o)
    __hash__ = None  # type: ignore[assignment]

    # -- NumPy's protocols: ``np.sum(x)``, ``np.sin(x)`` on a tracer run fungrad.numpy
    __array_function__ = array_function
    __array_ufunc__ = array_ufunc

    # -- indexing
    def __getitem__(self, idx: Any) -> Any:
        return getitem(self, idx)

    def __len__(self) -> int:
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a 0-d array)")
        return self.aval.shape[0]  # type: ignore[no-any-return]

    def __iter__(self) -> Any:
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.aval.shape[0]))

    # -- methods
    # NumPy's functions call these methods with NumPy's keywords (``np.sum(x)`` passes
    # ``out=None``...): all are accepted, and fungrad.numpy rejects what it cannot honour.
    def sum(self, axis: Any = None, dtype: Any = None, out: None = None, keepdims: bool = False,
            initial: Any = None, where: Any = None) -> Any:
        return fnp.sum(self, axis, dtype, out, keepdims, initial, where)

    def mean(self, axis: Any = None, dtype: Any = None, out: None = None,
             keepdims: bool = False, *, where: Any = None) -> Any:
        return fnp.mean(self, axis, dtype, out, keepdims, where=where)

    def prod(self, axis: Any = None, dtype: Any = None, out: None = None, keepdims: bool = False,
             initial: Any = None, where: Any = None) -> Any:
        return fnp.prod(self, axis, dtype, out, keepdims, initial, where)

    def max(self, axis: Any = None, out: None = None, keepdims: bool = False,
            initial: Any = None, where: Any = None) -> Any:
        return fnp.max(self, axis, None, out, keepdims, initial, where)

    def min(self, axis: Any = None, out: None = None, keepdims: bool = False,
            initial: Any = None, where: Any = None) -> Any:
        return fnp.min(self, axis, None, out, keepdims, initial, where)

    def argmax(self, axis: Any = None, out: None = None, *, keepdims: bool = False) -> Any:
        return fnp.argmax(self, axis, out, keepdims=keepdims)

    def argmin(self, axis: Any = None, out: None = None, *, keepdims: bool = False) -> Any:
        return fnp.argmin(self, axis, out, keepdims=keepdims)

    def any(self, axis: Any = None, out: None = None, keepdims: bool = False, *,
            where: Any = None) -> Any:
        return fnp.any(self, axis, None, out, keepdims, where=where)

    def all(self, axis: Any = None, out: None = None, keepdims: bool = False, *,
            where: Any = None) -> Any:
        return fnp.all(self, axis, None, out, keepdims, where=where)

    def std(self, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
            keepdims: bool = False, *, where: Any = None) -> Any:
        return fnp.std(self, axis, dtype, out, ddof, keepdims, where=where)

    def var(self, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
            keepdims: bool = False, *, where: Any = None) -> Any:
        return fnp.var(self, axis, dtype, out, ddof, keepdims, where=where)

    def cumsum(self, axis: Any = None, dtype: Any = None, out: None = None) -> Any:
        return fnp.cumsum(self, axis, dtype, out)

    def cumprod(self, axis: Any = None, dtype: Any = None, out: None = None) -> Any:
        return fnp.cumprod(self, axis, dtype, out)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        return fnp.reshape(self, shape, order=order)

    def transpose(self, *axes: Any) -> Any:
        perm: Any = axes
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (list, tuple))):
            perm = axes[0]
        return fnp.transpose(self, perm or None)

    def swapaxes(self, a: int, b: int) -> Any:
        return fnp.swapaxes(self, a, b)

    def astype(self, dtype: Any) -> Any:
        return fnp.astype(self, dtype)

    def ravel(self) -> Any:
        return fnp.ravel(self)

    def flatten(self) -> Any:
        return fnp.ravel(self)

    def squeeze(self, axis: Any = None) -> Any:
        return fnp.squeeze(self, axis=axis)

    def dot(self, other: Any) -> Any:
        return fnp.dot(self, other)

    def clip(self, min: Any = None, max: Any = None, out: None = None) -> Any:
        return fnp.clip(self, min, max, out)

    def round(self, decimals: int = 0, out: None = None) -> Any:
        return fnp.round(self, decimals, out)

    def conj(self) -> Any:
        return fnp.conj(self)

    conjugate = conj

    def copy(self) -> Any:
        return fnp.copy(self)

    def sort(self, axis: int = -1, kind: Any = None, order: Any = None) -> Any:
        return fnp.sort(self, axis, kind, order)

    def argsort(self, axis: int = -1, kind: Any = None, order: Any = None) -> Any:
        return fnp.argsort(self, axis, kind, order)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
              out: None = None) -> Any:
        return fnp.trace(self, offset, axis1, axis2, dtype, out)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return fnp.diagonal(self, offset, axis1, axis2)

    def nonzero(self) -> Any:
        return fnp.nonzero(self)

    def repeat(self, repeats: Any, axis: Any = None) -> Any:
        return fnp.repeat(self, repeats, axis=axis)

    def take(self, indices: Any, axis: Any = None, out: None = None, mode: Any = None) -> Any:
        return fnp.take(self, indices, axis, out, mode)

    def ptp(self, axis: Any = None, keepdims: bool = False) -> Any:
        return fnp.ptp(self, axis=axis, keepdims=keepdims)

    def searchsorted(self, v: Any, side: str = "left", sorter: Any = None) -> Any:
        return fnp.searchsorted(self, v, side=side, sorter=sorter)


_NOT_METHODS = {"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__",
                "__annotations__", "concrete_value", "aval"}
