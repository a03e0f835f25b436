"""``jit``: trace once per abstract signature, optimize, compile to NumPy code, call that.

The cache key of a call is the pytree structure of the dynamic arguments, the shape and dtype of
each leaf, and the values of the static arguments. Each jitted function keeps its own bounded LRU
cache, so dropping the function frees its traces.
"""
from __future__ import annotations

import functools
import inspect
import logging
import pickle
import sys
import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, NamedTuple, Sequence, cast

import numpy as np

from fungrad import core
from fungrad.array_type import Array, as_array
from fungrad.api_util import StaticArgs, abstractify, as_leaf, flatten_fun
from fungrad.config import config
from fungrad.core import EVAL_TRACE, Tracer
from fungrad.interpreters import named_axes
from fungrad.interpreters.aliasing import memory_owner
from fungrad.interpreters.staging import trace_to_jaxpr
from fungrad.ir import Jaxpr, ShapedArray
from fungrad.compiler.codegen import Compiled, compile_jaxpr
from fungrad.compiler.gc_pause import gc_paused
from fungrad.compiler.passes import fold_while_tracing, optimize
from fungrad.jit.donation import any_used_up, check_not_used_up, donatable, use_up
from fungrad.jit.primitive import call
from fungrad.lax.jaxpr_util import split_consts
from fungrad.tree_util import PyTreeDef, tree_flatten, tree_unflatten

logger = logging.getLogger("fungrad.jit")
_ndarray = np.ndarray
_PY_SCALARS = (bool, int, float, complex)


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int


class _NotFast(Exception):
    """A leaf the fast path does not handle (scalar, tracer, anything but an ndarray)."""


def _not_fast(x: Any) -> Any:
    raise _NotFast


def _buffer(raw: Any, leaf: Any) -> Any:
    """What a donating call passes for the argument ``raw``: an ``Array`` that views the whole
    of a buffer (a result of an earlier call) stands for that buffer, which may be taken."""
    if type(raw) is Array:
        owner = memory_owner(raw)
        if type(owner) is _ndarray and owner.shape == raw.shape and owner.dtype == raw.dtype \
                and owner.flags.c_contiguous and raw.flags.c_contiguous:
            return owner
    return leaf


class Lowered:
    """What ``jit(f).lower(*args)`` gives: the optimized ``jaxpr`` and the generated ``source``."""

    def __init__(self, jaxpr: Jaxpr, compiled: Compiled, in_tree: PyTreeDef,
                 out_tree: PyTreeDef) -> None:
        self.jaxpr = jaxpr
        self.compiled = compiled
        self.source = compiled.source
        self.in_tree = in_tree
        self.out_tree = out_tree

    def as_text(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"Lowered(\n{self.jaxpr}\n{self.source})"


class _Entry:
    """One trace: the optimized jaxpr, its compiled code (made on first use) and output tree."""

    __slots__ = ("jaxpr", "out_tree", "fn", "_compiled", "_donating", "_call")

    def __init__(self, jaxpr: Jaxpr, out_tree: PyTreeDef) -> None:
        self.jaxpr = jaxpr
        self.out_tree = out_tree
        self._compiled: Compiled | None = None
        self._donating: dict[tuple[bool, ...], Compiled] = {}
        self._call: tuple[Jaxpr, list[Any]] | None = None
        self.fn: Callable[..., Any] = self._first_call

    def _first_call(self, *args: Any) -> Any:
        return self.compiled().fn(*args)

    def compiled(self, donated: tuple[bool, ...] = ()) -> Compiled:
        if any(donated):
            c = self._donating.get(donated)
            if c is None:
                c = self._donating[donated] = compile_jaxpr(self.jaxpr, donated)
            return c
        if self._compiled is None:
            self._compiled = compile_jaxpr(self.jaxpr)
            # The compiled function replaces the bound method, and with it the reference cycle
            # (entry -> method -> entry) that would leave the program to the cyclic collector.
            self.fn = self._compiled.fn
        return self._compiled

    def closed_call(self) -> tuple[Jaxpr, list[Any]]:
        if self._call is None:
            self._call = split_consts(self.jaxpr)
        return self._call


# The trace caches of jitted functions, per function (held weakly) and jit options: ``jit(f)``
# called again on the same ``f`` (a ``jit`` inside a loop) finds what earlier ones traced.
# The lock guards a cache's order and size, and is never held while tracing.
_Cache = tuple[OrderedDict[Any, _Entry], threading.Lock]
_caches: weakref.WeakKeyDictionary[Any, dict[Any, _Cache]] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def shared_cache(fun: Callable[..., Any], options: Any) -> _Cache:
    """The trace cache of ``jit(fun, **options)`` and its lock, shared by every such jit."""
    fresh: _Cache = (OrderedDict(), threading.Lock())
    try:
        with _caches_lock:
            return _caches.setdefault(fun, {}).setdefault(options, fresh)
    except TypeError:  # not weakly referenceable or not hashable: a cache of its own
        return fresh


class JitFunction:
    """A jitted function: call it like the original; see ``jit``."""

    def __init__(self, fun: Callable[..., Any], static_argnums: tuple[int, ...],
                 static_argnames: tuple[str, ...], donate_argnums: tuple[int, ...]) -> None:
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._options = (static_argnums, static_argnames, donate_argnums)
        self._name = getattr(fun, "__name__", type(fun).__name__)
        self._static = StaticArgs(fun, static_argnums, static_argnames)
        self._static_nums = self._static.nums
        self._donate = tuple(sorted(set(donate_argnums)))
        self._donated_leaves: dict[Any, list[bool]] = {}
        self._simple = not self._static
        self._cache, self._lock = shared_cache(
            fun, (self._static_nums, tuple(static_argnames), self._donate))
        self._maxsize = int(config.jit_cache_size)
        self._hits = 0
        self._misses = 0

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Pickled by reference: as its module's global of that name (``@jit def f``), else as
        ``jit`` of its function, itself pickled by reference (so not a lambda or local function).

        >>> import pickle, fungrad
        >>> pickle.loads(pickle.dumps(fungrad.jit(abs)))(-2.0)
        array(2.)
        """
        found = cast(Any, sys.modules.get(getattr(self, "__module__", None) or ""))
        qualname = getattr(self, "__qualname__", "")
        for name in qualname.split("."):
            found = getattr(found, name, None)
        if found is self:
            return qualname
        if "<" in qualname:   # <lambda>, <locals>
            raise pickle.PicklingError(
                f"cannot pickle jit({qualname}): pickle stores a function by its module and name, "
                f"and a lambda or a function defined inside another has none; define "
                f"{self._name} at the top level of a module")
        return JitFunction, (self._fun, *self._options)

    # ------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._simple and not kwargs:
            raw, treedef = tree_flatten(args)
            try:  # the compiled code gets plain ndarrays (an Array is viewed as one)
                leaves = [x if type(x) is _ndarray else
                          x.view(_ndarray) if type(x) is Array else _not_fast(x) for x in raw]
            except _NotFast:
                return self._call_general(args, kwargs)
            key = (treedef, *[(x.shape, x.dtype) for x in leaves])
            entry = self._cache.get(key)
            if entry is not None and core.current_trace() is EVAL_TRACE:
                if any_used_up():
                    check_not_used_up(raw, self._name)
                self._hits += 1
                if len(self._cache) > 1:
                    self._touch(key)
                outs = self._call_donating(entry, args, raw, leaves, (treedef, ())) \
                    if self._donate else entry.fn(*leaves)
                return tree_unflatten(entry.out_tree, [
                    o.view(Array) if type(o) is _ndarray else as_array(o) for o in outs])
        return self._call_general(args, kwargs)

    def _call_general(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raw, treedef, statics = self._split(args, kwargs)
        weak = tuple(type(x) in _PY_SCALARS for x in raw)
        leaves = [as_leaf(x, f"an argument of jit({self._name})") for x in raw]
        if any(weak):
            statics += (("weak", weak),)
        if any_used_up():
            check_not_used_up(raw, self._name)
        key = self._key(treedef, [core.get_aval(x) for x in leaves], statics)
        entry = self._lookup(key, args, kwargs, treedef, statics)
        staged = core.current_trace() is not EVAL_TRACE or any(
            isinstance(x, Tracer) for x in leaves)
        if staged:
            jaxpr, consts = entry.closed_call()
            outs = call(jaxpr, consts, leaves, self._name)
        elif self._donate:
            outs = self._call_donating(entry, args, raw, leaves, (treedef, statics))
        else:
            outs = entry.fn(*leaves)
        return tree_unflatten(entry.out_tree, [as_array(o) for o in outs])

    def _split(self, args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> tuple[list[Any], PyTreeDef, tuple[Any, ...]]:
        """Dynamic leaves, their structure, and the static arguments as part of the key."""
        if not self._static:
            tree: Any = (args, kwargs) if kwargs else args
            leaves, treedef = tree_flatten(tree)
            return leaves, treedef, ()
        dyn, named = self._static.split(args, kwargs)
        statics = tuple((k, _hashable(v, repr(k) if isinstance(k, str) else self._label(k),
                                      self._name))
                        for k, v in sorted(named.items(), key=lambda kv: str(kv[0])))
        leaves, treedef = tree_flatten(dyn)
        return leaves, treedef, statics

    def _key(self, treedef: PyTreeDef, avals: Sequence[ShapedArray],
             statics: tuple[Any, ...]) -> Any:
        key = (treedef, *[(a.shape, a.dtype) for a in avals])
        key = key + (("static", statics),) if statics else key
        axes = named_axes.env_key()  # collectives inside depend on the bound axes
        return key + (("axes", axes),) if axes else key

    def _lookup(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                treedef: PyTreeDef, statics: tuple[Any, ...]) -> _Entry:
        entry = self._cache.get(key)
        if entry is not None:
            self._hits += 1
            self._touch(key)
            return entry
        with self._lock:
            self._misses += 1
            if config.explain_cache_misses:
                logger.warning("jit(%s): tracing because %s", self._name, self._explain(key))
        # Traced without the lock (a traced function may call other jitted functions): threads
        # missing at once each trace, and the first entry stored is the one every caller keeps.
        entry, cacheable = self._trace(args, kwargs, treedef, key)
        if cacheable:
            with self._lock:
                entry = self._cache.setdefault(key, entry)
                while len(self._cache) > self._maxsize:
                    self._cache.popitem(last=False)
        return entry

    def _touch(self, key: Any) -> None:
        """Mark ``key`` most recently used (another thread may have evicted it meanwhile)."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)

    def _trace(self, args: tuple[Any, ...], kwargs: dict[str, Any], treedef: PyTreeDef,
               key: Any) -> tuple[_Entry, bool]:
        last = key[-1]
        weak = dict(last[1]).get("weak", ()) if type(last) is tuple and last[:1] == ("static",) \
            else ()
        avals = [ShapedArray(s, d, bool(weak) and weak[i])
                 for i, (s, d) in enumerate(key[1:1 + treedef.num_leaves])]

        def rebuild(dyn: Any) -> tuple[Sequence[Any], dict[str, Any]]:
            if self._static:
                return self._static.merge(args, kwargs, dyn)
            return (dyn[0], dyn[1]) if kwargs else (dyn, {})

        flat, out_tree = flatten_fun(self._fun, treedef, rebuild,
                                     f"the output of jit({self._name})")
        with gc_paused():
            optimizing = bool(config.jit_optimize)
            jaxpr = trace_to_jaxpr(flat, avals, fold=fold_while_tracing if optimizing else None)
            cacheable = not any(isinstance(c, Tracer) for c in jaxpr.consts)
            if optimizing:
                jaxpr = optimize(jaxpr)
            # Arrays the function closes over are captured as they are now (JAX's rule): editing
            # them later changes nothing until the cache is cleared. (Copied once the optimizer
            # has dropped the consts it folded away: what it folded used them as they are now.)
            jaxpr.consts[:] = [np.array(c) if isinstance(c, np.ndarray) else c for c in jaxpr.consts]
        return _Entry(jaxpr, out_tree()), cacheable

    def _call_donating(self, entry: _Entry, args: tuple[Any, ...], raw: Sequence[Any],
                       leaves: Sequence[Any], structure: Any) -> list[Any]:
        """Run the code compiled for the leaves that may be overwritten; those are used up, and
        so are the caller's ``raw`` objects they came from (an ``Array`` stands for its buffer)."""
        leaves = [_buffer(r, x) for r, x in zip(raw, leaves)]
        donated = self._donated(args, leaves, structure)
        outs = use_up([x for x, d in zip(leaves, donated) if d],
                      entry.compiled(donated).fn(*leaves))
        use_up([r for r, x, d in zip(raw, leaves, donated) if d and r is not x], [])
        return outs

    def _donated(self, args: tuple[Any, ...], leaves: Sequence[Any], structure: Any) -> tuple[bool, ...]:
        """Per leaf: may the compiled code overwrite it? (donated, writable, not aliased).
        Which leaves are donated depends only on the arguments' ``structure``: kept per structure."""
        mark = self._donated_leaves.get(structure)
        if mark is None:
            mark = []
            for i, a in enumerate(args):
                if i not in self._static_nums:
                    mark += [i in self._donate] * tree_flatten(a)[1].num_leaves
            mark += [False] * (len(leaves) - len(mark))
            self._donated_leaves[structure] = mark
        return donatable(leaves, mark)

    # ------------------------------------------------------------ introspection
    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """The optimized jaxpr and generated source for these arguments (shapes/dtypes suffice).

        >>> import fungrad, fungrad.numpy as fnp, numpy as np
        >>> print(fungrad.jit(lambda x: fnp.sin(x) + 1.0).lower(np.ones(3)).source)
        def jitted(a0):
            v0 = g0(a0)
            g2(v0, g1, out=v0)
            return (v0,)
        <BLANKLINE>
        """
        leaves, treedef, statics = self._split(args, kwargs)
        key = self._key(treedef, [abstractify(x) for x in leaves], statics)
        entry = self._lookup(key, args, kwargs, treedef, statics)
        return Lowered(entry.jaxpr, entry.compiled(), treedef, entry.out_tree)

    def cache_info(self) -> CacheInfo:
        """``(hits, misses, size)`` of this function's trace cache."""
        return CacheInfo(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        self._cache.clear()

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<jitted function {self._name}>"

    # ------------------------------------------------------------ explaining misses
    def _label(self, i: int) -> str:
        params = self._static.params
        return f"{params[i]!r}" if i < len(params) else f"#{i}"

    def _explain(self, key: Any) -> str:
        if not self._cache:
            return "it is the first call"
        best = min(self._cache, key=lambda k: _distance(k, key))
        old_tree, new_tree = best[0], key[0]
        if old_tree != new_tree:
            return (f"the structure of the arguments changed from {old_tree} to {new_tree} "
                    f"(closest of {len(self._cache)} cached signatures)")
        changes = []
        names = self._leaf_names(new_tree)
        for i, (a, b) in enumerate(zip(best[1:], key[1:])):
            if a == b:
                continue
            if "axes" in (a[0], b[0]):
                changes.append(f"the bound named axes changed from {a} to {b}")
            elif isinstance(a, tuple) and a and a[0] == "static":
                for (name, va), (_, vb) in zip(a[1], b[1]):
                    if va != vb:
                        label = repr(name) if isinstance(name, str) else self._label(name)
                        changes.append(f"static argument {label} changed from {va[1]!r} "
                                       f"to {vb[1]!r}")
            else:
                changes.append(f"argument {names[i]} changed from {ShapedArray(*a)} "
                               f"to {ShapedArray(*b)}")
        return "; ".join(changes) or "the arguments differ"

    def _leaf_names(self, treedef: PyTreeDef) -> list[str]:
        """A label per leaf: the parameter it belongs to (the tree is ``(args, kwargs)`` when
        there are static or keyword arguments, else ``args``)."""
        kids = treedef.children()
        wrapped = bool(self._static) or (
            len(kids) == 2 and treedef.num_leaves == sum(k.num_leaves for k in kids)
            and _is_kwargs_split(treedef))
        positions = [i for i in range(len(self._static.params) + treedef.num_leaves)
                     if i not in self._static_nums]
        groups = kids[0].children() + kids[1].children() if wrapped else kids
        names: list[str] = []
        for k, kid in enumerate(groups):
            label = self._label(positions[k]) if k < len(positions) else f"#{k}"
            n = kid.num_leaves
            names += [label] if n == 1 else [f"{label} (leaf {j})" for j in range(n)]
        return names + [f"leaf {k}" for k in range(len(names), treedef.num_leaves)]


def _is_kwargs_split(treedef: PyTreeDef) -> bool:
    return repr(treedef).startswith("PyTreeDef(((") and "{" in repr(treedef)


def _distance(a: Any, b: Any) -> int:
    if a[0] != b[0] or len(a) != len(b):
        return 1 << 30
    return sum(x != y for x, y in zip(a, b))


def _hashable(value: Any, label: str, fname: str) -> tuple[type, Any]:
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"jit({fname}): static argument {label} has unhashable type "
            f"{type(value).__name__}; static arguments must be hashable (use a tuple instead "
            f"of a list, or pass arrays as ordinary, non-static arguments)") from None
    return (type(value), value)


def _argnums(x: int | Sequence[int] | None) -> tuple[int, ...]:
    if x is None:
        return ()
    return (int(x),) if isinstance(x, int) else tuple(int(i) for i in x)


def jit(fun: Callable[..., Any] | None = None, *, static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (),
        donate_argnums: int | Sequence[int] = ()) -> Any:
    """Compile ``fun``: trace it once per argument signature, optimize, generate NumPy code.

    The signature is the pytree structure of the arguments, each leaf's shape and dtype, and the
    values of the static arguments (``static_argnums``/``static_argnames``, which must be
    hashable). Inside ``fun`` values are abstract, so Python control flow on them raises a
    ``ConcretizationError``: use ``fungrad.lax.cond`` or make the argument static.
    Python side effects (printing, appending to a list) happen once per trace, not per call.
    ``donate_argnums`` lets the compiled code overwrite those arguments' buffers.
    Use as ``jit(f)``, ``@jit`` or ``@jit(static_argnums=1)``.

    >>> import fungrad, fungrad.numpy as fnp, numpy as np
    >>> f = fungrad.jit(lambda x, y: fnp.sin(x) * y)
    >>> f(np.zeros(2), 3.0)
    array([0., 0.])
    >>> f.cache_info()
    CacheInfo(hits=0, misses=1, size=1)
    """
    kw = dict(static_argnums=_argnums(static_argnums),
              static_argnames=(static_argnames,) if isinstance(static_argnames, str)
              else tuple(static_argnames),
              donate_argnums=_argnums(donate_argnums))
    if fun is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames,
                             donate_argnums=donate_argnums)
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {type(fun).__name__}")
    if any(kw.values()):   # (reading the signature costs more than the rest of jit(f))
        _check_arguments_exist(fun, kw)
    return JitFunction(fun, **kw)  # type: ignore[arg-type]


def _check_arguments_exist(fun: Callable[..., Any], kw: dict[str, Any]) -> None:
    """``static_argnums``/``donate_argnums`` in range and ``static_argnames`` known, for a
    function whose signature says how many arguments it takes (JAX checks the same)."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return
    kinds = {p.kind for p in params}
    name = getattr(fun, "__name__", "the function")
    if inspect.Parameter.VAR_POSITIONAL not in kinds:
        n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
        for what in ("static_argnums", "donate_argnums"):
            for i in kw[what]:
                if not -n <= i < n:
                    raise ValueError(f"jit({name}): {what} {i} is out of range: the function "
                                     f"takes {n} positional argument{'s' if n != 1 else ''}")
    if inspect.Parameter.VAR_KEYWORD not in kinds:
        names = {p.name for p in params}
        for a in kw["static_argnames"]:
            if a not in names:
                raise ValueError(f"jit({name}): static_argnames {a!r} is not a parameter of "
                                 f"the function (it has {sorted(names)})")
