"""Optimizations on jaxprs: each pass takes a jaxpr and returns a new one meaning the same.

- ``inline_calls``: splice nested ``jit`` equations into the program, so the passes see through.
- ``simplify``: the primitives' own rules (``simplify_rules``, registered beside them):
  algebraic identities (``x*1``, ``x+0``, ``neg(neg x)``, transpose of transpose, reshape of
  reshape, casts to the same dtype), scalars broadcast into an elementwise operation, products
  computed transposed directly.
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

from fungrad import typecheck
from fungrad.core import Primitive, Tracer, effect_rules, impl_rules
from fungrad.interpreters.named_axes import axis_name_rules
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
        # Only concrete consts are known values; a const that is an outer transform's tracer
        # (an inner jit closing over it) is just an input of this program.
        self.value_of: dict[Var, Any] = {v: c for v, c in zip(jaxpr.constvars, jaxpr.consts)
                                         if not isinstance(c, Tracer)}
        self.producer: dict[Var, Eqn] = {}
        self._uses: dict[Var, int] | None = None

    def producer_of(self, a: Atom) -> Eqn | None:
        """The kept equation computing ``a``, if any."""
        return self.producer.get(a) if type(a) is Var else None

    def uses(self, v: Var) -> int:
        """How often the original jaxpr reads ``v`` (its outputs included)."""
        if self._uses is None:
            self._uses = {}
            for e in self.jaxpr.eqns:
                for a in e.inputs:
                    if type(a) is Var:
                        self._uses[a] = self._uses.get(a, 0) + 1
            for a in self.jaxpr.outvars:
                if type(a) is Var:
                    self._uses[a] = self._uses.get(a, 0) + 1
        return self._uses.get(v, 0)

    def read(self, a: Atom) -> Atom:
        return self.env.get(a, a) if type(a) is Var else a

    def walk(self) -> Iterator[Eqn]:
        """The equations, their inputs already substituted."""
        env = self.env  # atoms hash and compare by identity: one C-level test per equation
        keys = env.keys()
        for eqn in self.jaxpr.eqns:
            if env and not keys.isdisjoint(eqn.inputs):
                ins = [env.get(a, a) for a in eqn.inputs]  # type: ignore[arg-type]
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
    # Literals go into ``live`` too: they never match an outvar or a constvar.
    live: set[Atom] = set(jaxpr.outvars)
    kept: list[Eqn] = []
    for eqn in reversed(jaxpr.eqns):
        if not live.isdisjoint(eqn.outvars) or eqn.primitive in effect_rules:
            kept.append(eqn)
            live.update(eqn.inputs)
    pairs = [(v, c) for v, c in zip(jaxpr.constvars, jaxpr.consts) if v in live]
    return Jaxpr([v for v, _ in pairs], jaxpr.invars, kept[::-1], jaxpr.outvars,
                 [c for _, c in pairs])


def cse(jaxpr: Jaxpr) -> Jaxpr:
    """Compute equal equations (primitive, params, inputs) once."""
    return _cse(jaxpr, fold=False)


def fold_and_cse(jaxpr: Jaxpr) -> Jaxpr:
    """``fold_constants`` then ``cse``, in one walk: an equation is folded (as by
    ``fold_constants``), or else merged with an equal one (as by ``cse``). The same program as
    the two passes in turn: a merge maps a variable to another, neither known, so it changes
    no folding; what is folded becomes new consts and literals, as it would before ``cse``."""
    with np.errstate(all="ignore"):
        return _cse(jaxpr, fold=True)


def _cse(jaxpr: Jaxpr, fold: bool) -> Jaxpr:
    rw = Rewriter(jaxpr)
    value_of = rw.value_of
    seen: dict[Any, Eqn] = {}
    literal_keys: dict[Literal, Any] = {}   # by identity: many equations share a literal
    for eqn in rw.walk():
        if fold and _all_known(value_of, eqn.inputs) and _fold_into(rw, eqn):
            continue
        if eqn.primitive in effect_rules:  # each print happens
            rw.keep(eqn)
            continue
        ins: list[Any] = []
        for a in eqn.inputs:
            if type(a) is Literal:
                k = literal_keys.get(a)
                if k is None:
                    k = literal_keys[a] = (a.val.dtype, a.val.tobytes())
                ins.append(k)
            else:
                ins.append(a)
        params = eqn.params
        try:
            key = (eqn.primitive, tuple(sorted(params.items())) if params else (), *ins)
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
    value_of = rw.value_of
    # Folding never warns: a division by zero here is the run time's to report (or not).
    with np.errstate(all="ignore"):
        for eqn in rw.walk():
            if not (_all_known(value_of, eqn.inputs) and _fold_into(rw, eqn)):
                rw.keep(eqn)
    return rw.finish()


def _fold_into(rw: Rewriter, eqn: Eqn) -> bool:
    """Replace ``eqn``'s outputs (its inputs all known) by their values, if it folds."""
    outs = _folded(rw, eqn)
    if outs is None:
        return False
    for v, o in zip(eqn.outvars, outs):
        rw.replace(v, rw.const(np.asarray(o, v.aval.dtype)))
    return True


def _folded(rw: Rewriter, eqn: Eqn) -> list[Any] | None:
    """The values of ``eqn``'s outputs (its inputs all known), or None where it stays: a
    broadcast scalar (left to ``simplify``, which hands NumPy the scalar itself), a collective or
    an effect, a big result, or an impl that raises (it fails, or not, at run time)."""
    prim = eqn.primitive
    vals = [a.val if type(a) is Literal else rw.value_of[a]  # type: ignore[index]
            for a in eqn.inputs]
    if (prim not in impl_rules or prim in axis_name_rules or prim in effect_rules
            or any(v is None for v in vals)
            or (prim in expand_rules and vals and np.ndim(vals[0]) == 0)):
        return None
    size = max((v.aval.size for v in eqn.outvars), default=0)
    if size > FOLD_MAX_SIZE and size > sum(np.size(v) for v in vals):
        return None
    try:
        out = impl_rules[prim](*vals, **eqn.params)
    except Exception:
        return None
    return out if prim.multiple_results else [out]


# Primitives whose impl only moves, copies or negates elements (``reshape``, ``gather``,
# ``transpose``, ``neg``, registered beside them): computed on known values they cannot warn,
# round or change a dtype, so ``jit`` computes them as it traces (``fold_while_tracing``).
moves_elements: set[Primitive] = set()


def fold_while_tracing(prim: Primitive, vals: list[Any], params: dict[str, Any],
                       out_avals: list[ShapedArray]) -> list[Any] | None:
    """What ``jit`` folds as it traces (``StagingTrace``'s ``fold``): the ``moves_elements``
    operations on known values, as ``fold_constants`` would fold them (``jacfwd`` pushes an
    identity basis through gathers, reshapes and negations). The programs come out as without
    it: the passes fold the rest after ``simplify``, which may see through a broadcast first."""
    if prim not in moves_elements or out_avals[0].size > FOLD_MAX_SIZE and \
            out_avals[0].size > sum(np.size(v) for v in vals):
        return None
    try:
        out = impl_rules[prim](*vals, **params)
    except Exception:   # (it fails, or not, at run time)
        return None
    return [out] if type(out) is np.ndarray and out.dtype == out_avals[0].dtype else None


def _all_known(value_of: dict[Var, Any], inputs: list[Atom]) -> bool:
    """Is every input a literal or a known const?"""
    for a in inputs:
        if type(a) is not Literal and a not in value_of:
            return False
    return True


# ---------------------------------------------------------------- algebraic simplification
# Rules registered beside their primitives (``defsimplify``):
# ``simplify_rules[prim](rw, eqn)`` returns an atom equal to the equation's single output (the
# equation goes), a replacement equation, or ``eqn`` itself.
SimplifyRule = Callable[["Rewriter", Eqn], "Atom | Eqn"]
simplify_rules: dict[Primitive, SimplifyRule] = {}
# ``expand_rules[prim](rw, eqn)``: for an equation that only broadcasts a smaller value (``full``,
# ``broadcast_in_dim``), an atom NumPy broadcasting expands the same way, or None.
expand_rules: dict[Primitive, Callable[["Rewriter", Eqn], "Atom | None"]] = {}
# ``permute_rules[prim](eqn, permutation)``: an equation computing ``eqn``'s output with its
# axes permuted directly (``dot_general`` swaps its operands), or None.
permute_rules: dict[Primitive, Callable[[Eqn, tuple[int, ...]], "Eqn | None"]] = {}


def defsimplify(prim: Primitive, *rules: SimplifyRule) -> None:
    """Register ``prim``'s simplifications; they are tried in order until one changes the
    equation, before any registered earlier (a family's generic rule comes last)."""
    chain = rules + ((simplify_rules[prim],) if prim in simplify_rules else ())

    def rule(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
        for r in chain:
            out = r(rw, eqn)
            if out is not eqn:
                return out
        return eqn
    simplify_rules[prim] = chain[0] if len(chain) == 1 else rule


def is_scalar(rw: Rewriter, a: Atom, value: float) -> bool:
    """Is ``a`` a known scalar equal to ``value``?"""
    k = a.val if type(a) is Literal else rw.value_of.get(a)  # type: ignore[arg-type]
    if type(k) is np.ndarray:   # the usual case (a literal): compare Python numbers
        return not k.ndim and k.item() == value
    return k is not None and np.ndim(k) == 0 and bool(k == value)


def same_type(eqn: Eqn, a: Atom) -> Atom | Eqn:
    """``a`` when it has the output's type (then it can stand for the output), else ``eqn``."""
    return a if a.aval == eqn.outvars[0].aval else eqn


def unit_operand(unit: float, left: bool = True) -> SimplifyRule:
    """``x op unit`` (and ``unit op x`` when ``left``) is ``x``: ``x*1``, ``x+0``, ``x-0``..."""
    def rule(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
        x, y = eqn.inputs
        if is_scalar(rw, y, unit):
            return same_type(eqn, x)
        if left and is_scalar(rw, x, unit):
            return same_type(eqn, y)
        return eqn
    return rule


def involution(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
    """``f(f(x)) = x`` (``neg``)."""
    inner = rw.producer_of(eqn.inputs[0])
    return inner.inputs[0] if inner is not None and inner.primitive is eqn.primitive else eqn


def unbroadcast_operands(rw: Rewriter, eqn: Eqn) -> Eqn:
    """``add(x, broadcast(y))`` -> ``add(x, y')``: NumPy broadcasts, no need to materialize.
    The rule of every primitive that broadcasts its operands like NumPy."""
    ins = list(eqn.inputs)
    out_shape = eqn.outvars[0].aval.shape
    changed = False
    producers = rw.producer   # (read directly: this rule runs on most equations)
    for i, a in enumerate(ins):
        producer = producers.get(a)  # type: ignore[arg-type]
        expand = expand_rules.get(producer.primitive) if producer is not None else None
        if expand is None:
            continue
        if not any(j != i and b.aval.shape == out_shape for j, b in enumerate(ins)):
            continue  # the broadcast is what gives the result its shape
        s = expand(rw, producer)  # type: ignore[arg-type]
        if s is not None:
            ins[i], changed = s, True
    return Eqn(eqn.primitive, ins, eqn.params, eqn.outvars, eqn.source) if changed else eqn


def simplify(jaxpr: Jaxpr) -> Jaxpr:
    """Apply the primitives' simplification rules; leaves dead equations for ``dce``."""
    rw = Rewriter(jaxpr)
    rules = simplify_rules
    for eqn in rw.walk():
        rule = rules.get(eqn.primitive)
        if rule is not None and not eqn.primitive.multiple_results:
            out = rule(rw, eqn)
            if type(out) is not Eqn:
                rw.replace(eqn.outvars[0], out)  # type: ignore[arg-type]
                continue
            eqn = out
        rw.keep(eqn)
    return rw.finish()


# ---------------------------------------------------------------- inlining nested calls

# ``inline_rules[prim](eqn)``: the jaxpr a call primitive (``jit``) runs, to splice in its place.
inline_rules: dict[Primitive, Callable[[Eqn], Jaxpr]] = {}


def inline_calls(jaxpr: Jaxpr) -> Jaxpr:
    """Splice the equations of call primitives (``inline_rules``) into ``jaxpr``, recursively."""
    if not any(e.primitive in inline_rules for e in jaxpr.eqns):
        return jaxpr
    rw = Rewriter(jaxpr)
    for eqn in rw.walk():
        rule = inline_rules.get(eqn.primitive)
        if rule is None:
            rw.keep(eqn)
            continue
        inner = inline_calls(rule(eqn))
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


def _sub(env: dict[Var, Atom], a: Atom) -> Atom:
    return env.get(a, a) if isinstance(a, Var) else a


Pass = Callable[[Jaxpr], Jaxpr]
def simplify_and_fold(jaxpr: Jaxpr) -> Jaxpr:
    """``simplify``, then ``fold_constants`` again if a rule turned an equation into a constant
    (a rule may see through a value only once folding has made it known: what the constant
    feeds is then folded too)."""
    out = simplify(jaxpr)
    return fold_constants(out) if len(out.consts) > len(jaxpr.consts) else out


PIPELINE: list[Pass] = [simplify, fold_and_cse, dce, simplify_and_fold, dce]


def optimize(jaxpr: Jaxpr) -> Jaxpr:
    """Inline nested calls, then run ``PIPELINE``; type-checked when checking is on."""
    jaxpr = inline_calls(jaxpr)
    for p in PIPELINE:
        jaxpr = p(jaxpr)
    if typecheck.check_enabled:
        typecheck.typecheck_jaxpr(jaxpr)
    return jaxpr


