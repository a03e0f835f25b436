"""Optimizations on jaxprs: each pass takes a jaxpr and returns a new one meaning the same.

- ``inline_calls``: splice nested ``jit`` equations into the program, so the passes see through.
- ``simplify``: algebraic identities (``x*1``, ``x+0``, ``neg(neg x)``, transpose of transpose,
  reshape of reshape, casts to the same dtype, scalars broadcast into an elementwise operation).
- ``fold_constants``: equations of literals and consts are evaluated now (unless the result is big).
- ``cse``: equations with the same primitive, params and inputs are computed once.
- ``dce``: equations whose outputs nobody uses are dropped.

>>> import fungrad, fungrad.numpy as fnp, numpy as np
>>> print(optimize(fungrad.make_jaxpr(lambda x: fnp.sin(x) * 1.0 + fnp.sin(x))(1.0)))
{ lambda ; a:f64[]. let b:f64[] = sin a; c:f64[] = add b b in (c,) }
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from fungrad.core import Primitive, impl_rules
from fungrad.interpreters.named_axes import collective_axes
from fungrad.ir import Atom, Eqn, Jaxpr, Literal, ShapedArray, Var

# Folding stops at results bigger than this (and bigger than all their inputs together).
FOLD_MAX_SIZE = 1024


class Rewriter:
    """Rebuilds a jaxpr equation by equation, with variables substituted along the way."""

    def __init__(self, jaxpr: Jaxpr) -> None:
        self.jaxpr = jaxpr
        self.env: dict[Var, Atom] = {}
        self.eqns: list[Eqn] = []
        self.constvars = list(jaxpr.constvars)
        self.consts = list(jaxpr.consts)
        self.value_of: dict[Var, Any] = dict(zip(jaxpr.constvars, jaxpr.consts))
        self.producer: dict[Var, Eqn] = {}

    def read(self, a: Atom) -> Atom:
        return self.env.get(a, a) if type(a) is Var else a

    def walk(self) -> Iterator[Eqn]:
        """The equations, their inputs already substituted."""
        for eqn in self.jaxpr.eqns:
            ins = [self.read(a) for a in eqn.inputs]
            if any(x is not y for x, y in zip(ins, eqn.inputs)):
                eqn = Eqn(eqn.primitive, ins, eqn.params, eqn.outvars, eqn.source)
            yield eqn

    def keep(self, eqn: Eqn) -> None:
        self.eqns.append(eqn)
        for v in eqn.outvars:
            self.producer[v] = eqn

    def replace(self, v: Var, a: Atom) -> None:
        self.env[v] = a

    def const(self, value: Any) -> Atom:
        """A literal for a scalar, else a new constvar bound to ``value``."""
        value = np.asarray(value)
        if value.ndim == 0:
            return Literal(value)
        v = Var(ShapedArray(value.shape, value.dtype))
        self.constvars.append(v)
        self.consts.append(value)
        self.value_of[v] = value
        return v

    def known(self, a: Atom) -> Any:
        """The concrete value of a literal or const, else None."""
        if isinstance(a, Literal):
            return a.val
        return self.value_of.get(a)

    def finish(self) -> Jaxpr:
        return Jaxpr(self.constvars, self.jaxpr.invars, self.eqns,
                     [self.read(a) for a in self.jaxpr.outvars], self.consts)


# ---------------------------------------------------------------- dce and cse

def dce(jaxpr: Jaxpr) -> Jaxpr:
    """Drop equations whose outputs are unused, and consts nobody reads."""
    live = {a for a in jaxpr.outvars if type(a) is Var}
    kept: list[Eqn] = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(a for a in eqn.inputs if isinstance(a, Var))
    pairs = [(v, c) for v, c in zip(jaxpr.constvars, jaxpr.consts) if v in live]
    return Jaxpr([v for v, _ in pairs], jaxpr.invars, kept[::-1], jaxpr.outvars,
                 [c for _, c in pairs])


def _atom_key(a: Atom) -> Any:
    if type(a) is Literal:
        return (a.val.dtype, a.val.tobytes())
    return a


def cse(jaxpr: Jaxpr) -> Jaxpr:
    """Compute equal equations (primitive, params, inputs) once."""
    rw = Rewriter(jaxpr)
    seen: dict[Any, Eqn] = {}
    for eqn in rw.walk():
        try:
            key = (eqn.primitive, tuple(sorted(eqn.params.items())),
                   tuple(_atom_key(a) for a in eqn.inputs))
            first = seen.get(key)
        except TypeError:  # an unhashable param: leave the equation alone
            rw.keep(eqn)
            continue
        if first is None:
            seen[key] = eqn
            rw.keep(eqn)
        else:
            for v, w in zip(eqn.outvars, first.outvars):
                rw.replace(v, w)
    return rw.finish()


# ---------------------------------------------------------------- constant folding

def fold_constants(jaxpr: Jaxpr) -> Jaxpr:
    """Evaluate equations whose inputs are all literals or consts, unless the result is big."""
    rw = Rewriter(jaxpr)
    for eqn in rw.walk():
        vals = [rw.known(a) for a in eqn.inputs]
        # A broadcast scalar is left to ``simplify``, which hands NumPy the scalar itself.
        if (any(v is None for v in vals) or eqn.primitive not in impl_rules
                or eqn.primitive in collective_axes  # communicates: runs when called
                or (eqn.primitive.name == "broadcast_in_dim" and np.ndim(vals[0]) == 0)):
            rw.keep(eqn)
            continue
        limit = max(FOLD_MAX_SIZE, sum(np.size(v) for v in vals))
        if any(v.aval.size > limit for v in eqn.outvars):
            rw.keep(eqn)
            continue
        try:
            with np.errstate(all="ignore"):
                out = impl_rules[eqn.primitive](*vals, **eqn.params)
        except Exception:  # leave it to fail (or not) at run time, where the user sees it
            rw.keep(eqn)
            continue
        outs = out if eqn.primitive.multiple_results else [out]
        for v, o in zip(eqn.outvars, outs):
            rw.replace(v, rw.const(np.asarray(o, v.aval.dtype)))
    return rw.finish()


# ---------------------------------------------------------------- algebraic simplification

def _is_scalar(rw: Rewriter, a: Atom, value: float) -> bool:
    k = rw.known(a)
    return k is not None and np.ndim(k) == 0 and bool(k == value)


_BROADCASTING = {"add", "sub", "mul", "div", "max", "min", "pow", "atan2", "rem", "select",
                 "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor", "nextafter"}


def _broadcast_source(rw: Rewriter, a: Atom, out_ndim: int) -> Atom | None:
    """If ``a`` is a broadcast (or a ``full``), something smaller that NumPy broadcasting
    expands the same way: the scalar, or the operand with size-1 axes where it was expanded."""
    eqn = rw.producer.get(a) if type(a) is Var else None
    if eqn is None:
        return None
    if eqn.primitive.name == "full":
        return Literal(np.asarray(eqn.params["fill_value"], eqn.params["dtype"]))
    if eqn.primitive.name != "broadcast_in_dim":
        return None
    x, dims = eqn.inputs[0], eqn.params["broadcast_dimensions"]
    if x.aval.ndim == 0:
        return x
    shape = [1] * len(eqn.params["shape"])
    for d, n in zip(dims, x.aval.shape):
        shape[d] = n
    while shape and shape[0] == 1 and len(shape) > x.aval.ndim:
        shape.pop(0)
    if tuple(shape) == x.aval.shape:
        return x
    from fungrad.lax.shape_ops import reshape_p
    v = Var(ShapedArray(tuple(shape), x.aval.dtype))
    rw.keep(Eqn(reshape_p, [x], {"new_sizes": tuple(shape)}, [v], eqn.source))
    return v


def _unbroadcast_operands(rw: Rewriter, eqn: Eqn) -> Eqn:
    """``add(x, broadcast(y))`` -> ``add(x, y')``: NumPy broadcasts, no need to materialize."""
    if eqn.primitive.name not in _BROADCASTING or len(eqn.outvars) != 1:
        return eqn
    ins = list(eqn.inputs)
    out_shape = eqn.outvars[0].aval.shape
    for i, a in enumerate(ins):
        if not any(j != i and b.aval.shape == out_shape for j, b in enumerate(ins)):
            continue  # the broadcast is what gives the result its shape
        s = _broadcast_source(rw, a, len(out_shape))
        if s is not None:
            ins[i] = s
    if all(x is y for x, y in zip(ins, eqn.inputs)):
        return eqn
    return Eqn(eqn.primitive, ins, eqn.params, eqn.outvars, eqn.source)


def _identity(rw: Rewriter, eqn: Eqn) -> Atom | None:
    """An atom equal to the output of ``eqn``, if an identity makes the equation unnecessary."""
    name, ins, p = eqn.primitive.name, eqn.inputs, eqn.params
    out = eqn.outvars[0].aval

    def same(a: Atom) -> Atom | None:
        return a if a.aval == out else None

    if name in ("reshape", "broadcast_in_dim", "transpose") and ins[0].aval == out and (
            name != "transpose" or p["permutation"] == tuple(range(out.ndim))):
        return ins[0]
    if name == "mul":
        if _is_scalar(rw, ins[1], 1):
            return same(ins[0])
        if _is_scalar(rw, ins[0], 1):
            return same(ins[1])
    elif name == "add":
        if _is_scalar(rw, ins[1], 0):
            return same(ins[0])
        if _is_scalar(rw, ins[0], 0):
            return same(ins[1])
    elif name in ("sub", "div"):
        if _is_scalar(rw, ins[1], 0 if name == "sub" else 1):
            return same(ins[0])
    elif name == "stop_gradient":  # after differentiation, only the value is left
        return ins[0]
    elif name == "integer_pow" and p["y"] == 1:
        return same(ins[0])
    elif name == "convert_element_type":
        return same(ins[0])
    elif name in ("neg", "transpose", "reshape"):
        inner = rw.producer.get(ins[0]) if type(ins[0]) is Var else None
        if inner is not None and inner.primitive is eqn.primitive:
            if name == "neg":
                return inner.inputs[0]
            if name == "reshape" or _compose(inner.params["permutation"],
                                             p["permutation"]) == tuple(range(out.ndim)):
                return same(inner.inputs[0])
    return None


def _compose(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(first[i] for i in second)


def _fuse_views(rw: Rewriter, eqn: Eqn) -> Eqn:
    """transpose(transpose x), reshape(reshape x) and reduce_sum(reduce_sum x) become one
    operation on x."""
    name = eqn.primitive.name
    if name not in ("transpose", "reshape", "reduce_sum") or type(eqn.inputs[0]) is not Var:
        return eqn
    inner = rw.producer.get(eqn.inputs[0])
    if (name == "reshape" and inner is not None and inner.primitive.name == "broadcast_in_dim"
            and inner.inputs[0].aval.ndim == 0):  # a reshaped scalar broadcast stays one
        return Eqn(inner.primitive, inner.inputs, {"shape": eqn.params["new_sizes"],
                                                   "broadcast_dimensions": ()},
                   eqn.outvars, eqn.source)
    if inner is None or inner.primitive is not eqn.primitive:
        return eqn
    params = dict(eqn.params)
    if name == "transpose":
        params["permutation"] = _compose(inner.params["permutation"], eqn.params["permutation"])
    elif name == "reduce_sum":
        first = inner.params["axes"]
        kept = [i for i in range(inner.inputs[0].aval.ndim) if i not in first]
        params["axes"] = tuple(sorted(first + tuple(kept[j] for j in eqn.params["axes"])))
    return Eqn(eqn.primitive, [inner.inputs[0]], params, eqn.outvars, eqn.source)


def simplify(jaxpr: Jaxpr) -> Jaxpr:
    """Apply the algebraic identities; leaves dead equations for ``dce``."""
    rw = Rewriter(jaxpr)
    for eqn in rw.walk():
        if not eqn.primitive.multiple_results:
            same = _identity(rw, eqn)
            if same is not None:
                rw.replace(eqn.outvars[0], same)
                continue
            eqn = _fuse_views(rw, _unbroadcast_operands(rw, eqn))
        rw.keep(eqn)
    return rw.finish()


# ---------------------------------------------------------------- inlining nested calls

def inline_calls(jaxpr: Jaxpr, call_prims: set[Primitive]) -> Jaxpr:
    """Splice the equations of ``call_prims`` (param ``jaxpr``) into ``jaxpr``, recursively."""
    if not any(e.primitive in call_prims for e in jaxpr.eqns):
        return jaxpr
    rw = Rewriter(jaxpr)
    for eqn in rw.walk():
        if eqn.primitive not in call_prims:
            rw.keep(eqn)
            continue
        inner = inline_calls(eqn.params["jaxpr"], call_prims)
        sub: dict[Var, Atom] = dict(zip(inner.invars, eqn.inputs))
        for v, c in zip(inner.constvars, inner.consts):
            sub[v] = rw.const(c) if np.ndim(c) else Literal(c)
        for e in inner.eqns:
            outs = [Var(v.aval) for v in e.outvars]
            sub.update(zip(e.outvars, outs))
            rw.keep(Eqn(e.primitive, [_sub(sub, a) for a in e.inputs], e.params, outs, e.source))
        for v, a in zip(eqn.outvars, inner.outvars):
            rw.replace(v, _sub(sub, a))
    return rw.finish()


def transposed_products(jaxpr: Jaxpr) -> Jaxpr:
    """``transpose(dot(a, b))`` that only swaps the free axes -> ``dot(b, a)``, when the product has no other use:
    the result comes out contiguous, with no transposed view to copy later."""
    uses: dict[Var, int] = {}
    for e in jaxpr.eqns:
        for a in e.inputs:
            if isinstance(a, Var):
                uses[a] = uses.get(a, 0) + 1
    for a in jaxpr.outvars:
        if isinstance(a, Var):
            uses[a] = uses.get(a, 0) + 1
    rw = Rewriter(jaxpr)
    for eqn in rw.walk():
        src = eqn.inputs[0] if eqn.inputs else None
        dot = rw.producer.get(src) if isinstance(src, Var) else None
        if (eqn.primitive.name == "transpose" and dot is not None
                and dot.primitive.name == "dot_general" and uses.get(dot.outvars[0]) == 1
                and eqn.params["permutation"] == _operand_swap(dot)):
            (lc, rc), (lb, rb) = dot.params["dimension_numbers"]
            params = dict(dot.params, dimension_numbers=((rc, lc), (rb, lb)))
            rw.keep(Eqn(dot.primitive, dot.inputs[::-1], params, eqn.outvars, eqn.source))
        else:
            rw.keep(eqn)
    return rw.finish()


def _operand_swap(eqn: Eqn) -> tuple[int, ...]:
    """The permutation of a dot_general's output (batch, lhs free, rhs free) that swapping its
    operands would produce directly (batch, rhs free, lhs free)."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    nb = len(lb)
    nl = eqn.inputs[0].aval.ndim - nb - len(lc)
    nr = eqn.inputs[1].aval.ndim - nb - len(rc)
    return (tuple(range(nb)) + tuple(range(nb + nl, nb + nl + nr))
            + tuple(range(nb, nb + nl)))


def _sub(env: dict[Var, Atom], a: Atom) -> Atom:
    return env.get(a, a) if isinstance(a, Var) else a


Pass = Callable[[Jaxpr], Jaxpr]
PIPELINE: list[Pass] = [simplify, fold_constants, cse, simplify, dce, transposed_products, dce]


def optimize(jaxpr: Jaxpr, call_prims: set[Primitive] | None = None) -> Jaxpr:
    """Inline nested calls, then run ``PIPELINE``."""
    if call_prims:
        jaxpr = inline_calls(jaxpr, call_prims)
    for p in PIPELINE:
        jaxpr = p(jaxpr)
    return jaxpr


