"""Shared pieces of the control-flow primitives: tracing user functions into closed jaxprs.

A branch or loop body is traced once, on the abstract values of its arguments, into a jaxpr with
no consts: whatever it closes over (arrays, or tracers of an enclosing transform) becomes explicit
leading operands of the primitive, so every interpreter sees them as ordinary inputs.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

from fungrad.api_util import flatten_fun, flatten_leaves
from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.compiler.codegen import compile_jaxpr
from fungrad.compiler.passes import optimize
from fungrad.lax.jaxpr_util import derived, split_consts
from fungrad.core import Primitive
from fungrad.interpreters.staging import StagingTrace, abstract_eval, trace_to_jaxpr
from fungrad.ir import Eqn, Jaxpr, ShapedArray, Var
from fungrad.source_info import at_user_line
from fungrad.tree_util import PyTreeDef, tree_flatten, tree_unflatten


def trace_fun(fun: Callable[..., Any], in_tree: PyTreeDef, in_avals: Sequence[ShapedArray],
              what: str) -> tuple[Jaxpr, list[Any], PyTreeDef]:
    """Trace ``fun(*args)`` (``args`` a tuple pytree of ``in_tree``) into a const-free jaxpr.

    Returns the jaxpr (taking consts first, then the flat arguments), the consts and the
    output structure.
    """
    flat, out_tree = flatten_fun(fun, in_tree, where=f"the output of {what}")
    jaxpr, consts = split_consts(trace_to_jaxpr(flat, in_avals))
    return jaxpr, consts, out_tree()


def flatten_operands(tree: Any, what: str) -> tuple[list[Any], PyTreeDef, list[ShapedArray]]:
    """Leaves, structure and abstract values of an operand pytree."""
    leaves, treedef = flatten_leaves(tree, what)
    return leaves, treedef, [get_aval(x) for x in leaves]


def describe(tree: PyTreeDef, avals: Sequence[ShapedArray]) -> str:
    """``(f64[3], {'a': i64[]})``: a structure with the types at its leaves."""
    return str(tree_unflatten(tree, [_AvalLeaf(a) for a in avals]))


class _AvalLeaf:
    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    def __repr__(self) -> str:
        return repr(self.aval)


def check_same_types(what: str, name_a: str, tree_a: PyTreeDef, avals_a: Sequence[ShapedArray],
                     name_b: str, tree_b: PyTreeDef, avals_b: Sequence[ShapedArray]) -> None:
    """Raise a ``ShapeError`` showing both sides when structures, shapes or dtypes differ."""
    if tree_a == tree_b and list(avals_a) == list(avals_b):
        return
    if tree_a != tree_b:
        problem = "structures"
    else:
        bad = next(i for i, (a, b) in enumerate(zip(avals_a, avals_b)) if a != b)
        problem = (f"types (leaf {bad}: {avals_a[bad]} vs {avals_b[bad]}; shapes and dtypes "
                   "must match exactly, convert with .astype() if needed)")
    raise ShapeError(f"{what}: {name_a} and {name_b} must have the same structure, shapes and "
                     f"dtypes, but their {problem} differ:\n  {name_a}: "
                     f"{describe(tree_a, avals_a)}\n  {name_b}: {describe(tree_b, avals_b)}"
                     f"{at_user_line()}")


def join_consts(jaxprs: Sequence[Jaxpr], consts: Sequence[Sequence[Any]]
                ) -> tuple[list[Jaxpr], list[Any]]:
    """Branches that each take every branch's consts (ignoring the others'), and all the consts.

    Input ``jaxprs[i]`` takes ``consts[i]`` first; each output jaxpr takes all consts first.
    """
    avals = [[get_aval(c) for c in cs] for cs in consts]
    out = []
    for i, j in enumerate(jaxprs):
        n = len(consts[i])
        before = [Var(a) for cs in avals[:i] for a in cs]
        after = [Var(a) for cs in avals[i + 1:] for a in cs]
        out.append(Jaxpr([], before + j.invars[:n] + after + j.invars[n:], j.eqns, j.outvars))
    return out, [c for cs in consts for c in cs]


def reorder(jaxpr: Jaxpr, in_order: Sequence[int], out_order: Sequence[int]) -> Jaxpr:
    """``jaxpr`` with its inputs and outputs permuted: new input k is old input ``in_order[k]``."""
    return Jaxpr(jaxpr.constvars, [jaxpr.invars[i] for i in in_order], jaxpr.eqns,
                 [jaxpr.outvars[i] for i in out_order], jaxpr.consts)


def groups(sizes: Sequence[int], items: Sequence[Any]) -> list[list[Any]]:
    """Split ``items`` into consecutive groups of ``sizes``."""
    out, start = [], 0
    for n in sizes:
        out.append(list(items[start:start + n]))
        start += n
    return out


def pick(items: Sequence[Any], mask: Sequence[bool], want: bool = True) -> list[Any]:
    """The items whose flag in ``mask`` equals ``want``."""
    return [x for x, m in zip(items, mask) if bool(m) == want]


def merge(mask: Sequence[bool], when_true: Sequence[Any], when_false: Sequence[Any]) -> list[Any]:
    """Interleave two lists back into one, following ``mask`` (the inverse of two ``pick``s)."""
    t, f = iter(when_true), iter(when_false)
    return [next(t) if m else next(f) for m in mask]


def check_operand_types(name: str, what: str, expected: Sequence[ShapedArray],
                        got: Sequence[ShapedArray]) -> None:
    """Shape-rule check that a primitive's operands fit the jaxpr it carries."""
    if list(expected) != list(got):
        raise ShapeError(f"{name}: {what} have types {list(got)} but the jaxpr expects "
                         f"{list(expected)}")


def stage_whole(trace: StagingTrace, prim: Primitive, args: Sequence[Any],
                params: dict[str, Any]) -> Any:
    """Under partial evaluation: record the whole operation as unknown (what staging does)."""
    inputs = [trace.to_atom(a) for a in args]
    return trace.add_eqn(prim, inputs, params, abstract_eval(prim, [a.aval for a in inputs],
                                                             params))


_compiled: weakref.WeakKeyDictionary[Jaxpr, dict[Any, Any]] = weakref.WeakKeyDictionary()


def run_compiled(prim: Primitive, args: Sequence[Any], params: dict[str, Any]) -> list[Any]:
    """Evaluate one control-flow operation through the jit code generator (a real Python loop
    around the body's NumPy code), compiled once per body jaxpr and parameters."""
    key_jaxpr = next(v for v in params.values() if isinstance(v, Jaxpr))
    per_jaxpr = _compiled.setdefault(key_jaxpr, {})
    avals = [get_aval(a) for a in args]
    key = (tuple(sorted(params.items())), tuple(avals))
    fn = per_jaxpr.get(key)
    if fn is None:
        invars = [Var(a) for a in avals]
        out_avals = abstract_eval(prim, avals, params)
        outvars = [Var(a) for a in out_avals]
        eqn = Eqn(prim, list(invars), params, outvars, None)
        fn = per_jaxpr[key] = compile_jaxpr(Jaxpr([], invars, [eqn], outvars)).fn
    return list(fn(*args))


def optimized_body(jaxpr: Jaxpr) -> Jaxpr:
    """A branch or loop body through jit's passes (DCE, CSE, folding...), once per jaxpr, for the
    code generator: the inputs and outputs stay as they are."""
    out: Jaxpr = derived(jaxpr, "optimized body", lambda: optimize(jaxpr))
    return out


def carry_fixed_point(flags: Sequence[bool],
                      out_flags: Callable[[list[bool]], Sequence[bool]]) -> list[bool]:
    """The least set of carries with a property (a tangent, unknown, batched) that is closed
    under the loop body: ``out_flags(flags)`` says which carries the body's outputs give it to.
    """
    flags = list(flags)
    while True:
        new = [a or bool(b) for a, b in zip(flags, out_flags(flags))]
        if new == flags:
            return flags
        flags = new
