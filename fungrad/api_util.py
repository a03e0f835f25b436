"""The toolkit for traced functions: leaves, ``flatten_fun`` and static arguments.

Every transform turns a user function of pytrees into a function of flat arrays, traces that,
and rebuilds pytrees from the results. ``flatten_fun`` does the plumbing once for all of them;
``StaticArgs`` resolves ``static_argnums`` / ``static_argnames`` (for ``make_jaxpr``, ``jit`` and
``checkpoint``) and splits a call into its static and dynamic parts.

>>> import fungrad.numpy as fnp
>>> leaves, in_tree = flatten_leaves(((1.0, {"b": 2.0}),))
>>> flat, out_tree = flatten_fun(lambda a: (a[0] + a[1]["b"], a[1]), in_tree)
>>> flat(*leaves), out_tree()
([array(3.), array(2.)], PyTreeDef((*, {'b': *})))
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.core import Tracer, get_aval
from fungrad.dtypes import checked_input
from fungrad.errors import InvalidArgumentError
from fungrad.ir import ShapedArray
from fungrad.tree_util import PyTreeDef, tree_flatten, tree_unflatten


def as_leaf(x: Any, where: str = "an argument") -> Any:
    """An array (or tracer) for a leaf; Python and NumPy scalars become 0-d arrays."""
    if type(x) is np.ndarray and x.dtype.kind in "fiubc" and x.dtype.isnative:
        return x
    if isinstance(x, np.ndarray):
        return checked_input(x, where)
    if isinstance(x, Tracer):
        return x
    if isinstance(x, (bool, int, float, complex, np.generic)):
        return checked_input(np.asarray(x), where)
    raise InvalidArgumentError(
        f"{where} has a leaf of type {type(x).__name__}, which is not an array: transformed "
        "functions take arrays, scalars and pytrees (tuples, lists, dicts, dataclasses) of them. "
        "Pass other values through static_argnums or a closure")


def flatten_leaves(tree: Any, where: str = "an argument") -> tuple[list[Any], PyTreeDef]:
    """The leaves of ``tree`` as arrays (see ``as_leaf``), and its structure."""
    leaves, treedef = tree_flatten(tree)
    return [as_leaf(x, where) for x in leaves], treedef


def abstractify(x: Any) -> ShapedArray:
    """The abstract value of an argument: an array, a scalar, or anything with .shape and .dtype."""
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        try:
            return get_aval(x)
        except TypeError:
            return ShapedArray(tuple(x.shape), np.dtype(x.dtype))
    return get_aval(as_leaf(x))


class OutTree:
    """The output structure of a flattened function, known once it has been called."""

    __slots__ = ("treedef",)

    def __init__(self) -> None:
        self.treedef: PyTreeDef | None = None

    def __call__(self) -> PyTreeDef:
        if self.treedef is None:
            raise RuntimeError("the flattened function has not been called yet")
        return self.treedef


def flatten_fun(fun: Callable[..., Any], in_tree: PyTreeDef,
                rebuild: Callable[[Any], tuple[Sequence[Any], dict[str, Any]]] | None = None,
                where: str = "the function's output") -> tuple[Callable[..., list[Any]], OutTree]:
    """``fun`` as a function of flat leaves, and its output structure (``out_tree()`` after a call).

    The leaves are unflattened with ``in_tree`` into the argument tuple, or into whatever
    ``rebuild`` turns into ``(args, kwargs)``; the output's leaves are checked with ``as_leaf``.
    """
    out_tree = OutTree()

    def flat(*leaves: Any) -> list[Any]:
        tree = tree_unflatten(in_tree, leaves)
        args, kwargs = rebuild(tree) if rebuild is not None else (tree, {})
        out_leaves, out_tree.treedef = tree_flatten(fun(*args, **kwargs))
        return [as_leaf(x, where) for x in out_leaves]

    return flat, out_tree


def _is_int(i: Any) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def normalize_argnums(argnums: int | Sequence[int], nargs: int, fname: str) -> tuple[int, ...]:
    """``argnums`` as non-negative positions; wrong types, repeats and out-of-range are errors."""
    if _is_int(argnums):
        nums: tuple[Any, ...] = (argnums,)
    elif isinstance(argnums, (tuple, list)) and all(_is_int(i) for i in argnums):
        nums = tuple(argnums)
    else:
        raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{fname}: argnums {argnums} out of range for {nargs} positional "
                             f"argument{'s' if nargs != 1 else ''}")
    out = tuple(int(i) % nargs for i in nums)
    if len(set(out)) != len(out):
        raise ValueError(f"{fname}: argnums {argnums} names an argument more than once; list each "
                         f"argument once (its gradient would otherwise be split between entries)")
    return out


def splice_args(args: Sequence[Any], argnums: Sequence[int], values: Sequence[Any]) -> list[Any]:
    """``args`` with the entries at ``argnums`` replaced by ``values``."""
    out = list(args) if args else [None] * len(argnums)
    for i, v in zip(argnums, values):
        out[i] = v
    return out


def _as_tuple(x: Any, kind: type) -> tuple[Any, ...]:
    if x is None:
        return ()
    return (kind(x),) if isinstance(x, kind) else tuple(kind(i) for i in x)


class StaticArgs:
    """Which arguments of ``fun`` are static: ``static_argnums`` and ``static_argnames``,
    each completed from the other through ``fun``'s signature (as JAX does).

    ``split`` separates a call into its dynamic part (a pytree to trace) and its static values
    keyed by parameter name where known (so ``f(x, 3)`` and ``f(x, n=3)`` agree); ``merge``
    puts traced values back among the static ones.

    >>> s = StaticArgs(lambda x, n: x * n, 1, ())
    >>> dyn, statics = s.split((2.0, 3), {})
    >>> dyn, statics, s.merge((2.0, 3), {}, dyn)
    (((2.0,), {}), {'n': 3}, ([2.0, 3], {}))
    """

    def __init__(self, fun: Callable[..., Any], static_argnums: int | Sequence[int] | None,
                 static_argnames: str | Sequence[str] | None) -> None:
        self._fun = fun
        self._params: list[str] | None = None
        nums, names = set(_as_tuple(static_argnums, int)), set(_as_tuple(static_argnames, str))
        if nums or names:
            for i, p in enumerate(self.params):
                if p in names:
                    nums.add(i)
                if i in nums:
                    names.add(p)
        self.nums = tuple(sorted(nums))
        self.names = frozenset(names)

    @property
    def params(self) -> list[str]:
        """The names of ``fun``'s positional parameters, read from its signature when first
        asked (without static arguments, only error messages ask: ``jit(f)`` stays cheap)."""
        if self._params is None:
            self._params = positional_names(self._fun)
        return self._params

    def __bool__(self) -> bool:
        return bool(self.nums or self.names)

    def split(self, args: Sequence[Any], kwargs: dict[str, Any]
              ) -> tuple[tuple[tuple[Any, ...], dict[str, Any]], dict[Any, Any]]:
        """``((dynamic args, dynamic kwargs), static values by name or position)``."""
        dyn_args = tuple(a for i, a in enumerate(args) if i not in self.nums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.names}
        statics = {self.params[i] if i < len(self.params) else i: a
                   for i, a in enumerate(args) if i in self.nums}
        statics.update((k, v) for k, v in kwargs.items() if k in self.names)
        return (dyn_args, dyn_kwargs), statics

    def merge(self, args: Sequence[Any], kwargs: dict[str, Any],
              dyn: tuple[Sequence[Any], dict[str, Any]]) -> tuple[list[Any], dict[str, Any]]:
        """The full call ``(args, kwargs)``: the static values of the original call with the
        dynamic ones (as returned by ``split``, possibly traced) in their places."""
        dyn_args, dyn_kwargs = dyn
        it = iter(dyn_args)
        full = [a if i in self.nums else next(it) for i, a in enumerate(args)]
        kw = {k: (v if k in self.names else dyn_kwargs[k]) for k, v in kwargs.items()}
        return full, kw


def positional_names(fun: Callable[..., Any]) -> list[str]:
    """The names of ``fun``'s positional parameters, in order (empty when not inspectable)."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
