"""``scan``: a loop over the leading axis of its inputs, carrying state; reverse mode goes through it.

``scan[jaxpr, length, reverse, num_consts, num_carry] *consts *init *xs`` runs
``carry, y = jaxpr(*consts, *carry, *x)`` for each slice ``x`` of ``xs`` and returns the final
carry and the stacked ``ys``.

- JVP: a scan of the body's JVP; which carries have a tangent is a fixed point.
- partial eval: a known scan that also emits the body's residuals, stacked per iteration (those
  that merely forward a const or an ``x`` are passed directly), and a staged scan of the
  unknown (tangent) part consuming them; which carries are unknown is a fixed point.
- transpose: a scan in the other direction of the transposed body, accumulating the cotangents
  of the linear consts in its carry.
- batching: a scan of the batched body; which carries are batched is a fixed point.
- jit: a Python ``for`` loop around the body's code.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad import core
from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, add_tangents, is_float, jvp_rules
from fungrad.lax.registry import instantiate, moveaxis, primitive
from fungrad.interpreters.batching import batch_rules
from fungrad.lax.jaxpr_util import (
    batch_jaxpr, jvp_jaxpr, moved_batch_dims, split_consts, transpose_fn,
)
from fungrad.lax.jaxpr_util import partial_eval_jaxpr, residual_sources
from fungrad.interpreters.staging import StagingTrace, abstract_eval, partial_eval_rules
from fungrad.interpreters.staging import trace_to_jaxpr
from fungrad.interpreters.transpose import aval_of, is_undefined, transpose_rules
from fungrad.ir import Eqn, Jaxpr, ShapedArray
from fungrad.compiler.codegen import EmitContext, defcodegen
from fungrad.lax.control_flow.common import (
    carry_fixed_point, check_operand_types, check_same_types, flatten_operands, groups, merge,
    optimized_body, pick, reorder, run_compiled, trace_fun,
)
from fungrad.source_info import at_user_line
from fungrad.tree_util import tree_flatten, tree_unflatten
from fungrad.lax.shape_ops import full


def _slice_aval(a: ShapedArray) -> ShapedArray:
    return ShapedArray(a.shape[1:], a.dtype)


def _stacked(a: ShapedArray, length: int) -> ShapedArray:
    return ShapedArray((length,) + a.shape, a.dtype)


# ---------------------------------------------------------------- the primitive
_COMPILE_ABOVE = 400  # equations x steps beyond which eager scans run compiled code


def _scan_impl(*args: Any, jaxpr: Jaxpr, length: int, reverse: bool, num_consts: int,
               num_carry: int) -> list[Any]:
    if length * len(jaxpr.eqns) > _COMPILE_ABOVE:
        return run_compiled(scan_p, args, dict(jaxpr=jaxpr, length=length, reverse=reverse,
                                               num_consts=num_consts, num_carry=num_carry))
    consts, carry, xs = groups([num_consts, num_carry, len(args) - num_consts - num_carry], args)
    ys = [np.empty((length,) + a.shape, a.dtype) for a in jaxpr.out_avals[num_carry:]]
    for step in range(length):
        i = length - 1 - step if reverse else step
        outs = core.eval_jaxpr(jaxpr, (), *consts, *carry, *[x[i] for x in xs])
        carry = outs[:num_carry]
        for buf, y in zip(ys, outs[num_carry:]):
            buf[i] = y
    return [np.asarray(c) for c in carry] + ys


def _scan_shape(*avals: ShapedArray, jaxpr: Jaxpr, length: int, reverse: bool, num_consts: int,
                num_carry: int) -> list[ShapedArray]:
    consts, carry, xs = groups([num_consts, num_carry, len(avals) - num_consts - num_carry], avals)
    if any(x.ndim == 0 or x.shape[0] != length for x in xs):
        raise ShapeError(f"scan: every xs needs a leading axis of length {length}, got {xs}")
    check_operand_types("scan", "the operands (consts, carry, x slices)", jaxpr.in_avals,
                        consts + carry + [_slice_aval(x) for x in xs])
    if jaxpr.out_avals[:num_carry] != carry:
        raise ShapeError(f"scan: the body returns a carry of types {jaxpr.out_avals[:num_carry]} "
                         f"for a carry of types {carry}")
    return carry + [_stacked(a, length) for a in jaxpr.out_avals[num_carry:]]


scan_p = primitive("scan", _scan_impl, _scan_shape, multiple_results=True)


# ---------------------------------------------------------------- the user-facing functions
def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False, unroll: int | bool = 1) -> Any:
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; return ``(carry, ys)``.

    ``init``, ``xs`` and the outputs are pytrees; ``ys`` stacks the ``y`` of every step. With
    ``xs=None`` give ``length``. ``reverse=True`` walks ``xs`` from the end. ``unroll`` is
    accepted for compatibility and does not change results.

    >>> import numpy as np
    >>> carry, ys = scan(lambda c, x: (c + x, c * x), np.float64(0.0), np.arange(1.0, 4.0))
    >>> float(carry), ys
    (6.0, array([0., 2., 9.]))
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {f!r}{at_user_line()}")
    if isinstance(unroll, bool):
        unroll = 1
    if not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"scan: unroll must be a positive int, got {unroll!r}")
    init_leaves, init_tree, init_avals = flatten_operands(init, "a scan init value")
    xs_leaves, _, xs_avals = flatten_operands(xs, "a scan xs value")
    n = _scan_length(xs_avals, length)
    in_tree = tree_flatten((init, xs))[1]

    def body(carry: Any, x: Any) -> Any:
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"scan: f must return a pair (carry, y), got "
                            f"{type(out).__name__}{at_user_line()}")
        return tuple(out)

    jaxpr, consts, out_tree = trace_fun(body, in_tree, init_avals +
                                        [_slice_aval(a) for a in xs_avals], "the scan body")
    carry_tree, y_tree = out_tree.children()
    n_carry = carry_tree.num_leaves
    check_same_types("scan", "the carry returned by f", carry_tree, jaxpr.out_avals[:n_carry],
                     "the init carry", init_tree, init_avals)
    outs = scan_p.bind(*consts, *init_leaves, *xs_leaves, jaxpr=jaxpr, length=n,
                       reverse=bool(reverse), num_consts=len(consts), num_carry=n_carry)
    return tree_unflatten(carry_tree, outs[:n_carry]), tree_unflatten(y_tree, outs[n_carry:])


def _scan_length(xs_avals: Sequence[ShapedArray], length: int | None) -> int:
    if any(a.ndim == 0 for a in xs_avals):
        raise ShapeError(f"scan: every leaf of xs needs a leading axis to scan over, got "
                         f"{list(xs_avals)}{at_user_line()}")
    lengths = {a.shape[0] for a in xs_avals}
    if length is not None:
        lengths.add(int(length))
    if len(lengths) > 1:
        raise ShapeError(f"scan: the leading axes of xs (and length={length}) disagree: "
                         f"{sorted(lengths)} for xs of types {list(xs_avals)}{at_user_line()}")
    if not lengths:
        raise ValueError(f"scan: with no xs, give the number of steps as length=...{at_user_line()}")
    return lengths.pop()


def _bind_scan(args: Sequence[Any], body: Jaxpr, num_consts: int, num_carry: int,
               **params: Any) -> list[Any]:
    """Bind a scan whose body may hold consts: they become leading consts of the loop."""
    body, consts = split_consts(body)
    out: list[Any] = scan_p.bind(*consts, *args, jaxpr=body, num_consts=len(consts) + num_consts,
                                 num_carry=num_carry, **params)
    return out


# ---------------------------------------------------------------- forward mode
def _scan_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: Jaxpr, length: int,
              reverse: bool, num_consts: int, num_carry: int) -> tuple[list[Any], list[Any]]:
    sizes = [num_consts, num_carry, len(primals) - num_consts - num_carry]
    ny = len(jaxpr.outvars) - num_carry
    nz = [type(t) is not Zero and is_float(get_aval(p)) for p, t in zip(primals, tangents)]
    const_nz, carry_nz, xs_nz = groups(sizes, nz)
    carry_nz = carry_fixed_point(carry_nz, lambda nz: jvp_jaxpr(
        jaxpr, const_nz + nz + xs_nz, nz + [False] * ny)[1][:num_carry])
    out_nz = jvp_jaxpr(jaxpr, const_nz + carry_nz + xs_nz, carry_nz + [False] * ny)[1]
    body = _jvp_layout(jaxpr, [const_nz, carry_nz, xs_nz], out_nz, num_carry)
    (c, k, x), (ct, kt, xt) = groups(sizes, primals), groups(sizes, tangents)
    kt = [instantiate(t) for t in pick(kt, carry_nz)]
    args = c + pick(ct, const_nz) + k + kt + x + pick(xt, xs_nz)
    outs = _bind_scan(args, body, num_consts + sum(const_nz), num_carry + len(kt),
                      length=length, reverse=reverse)
    carry, carry_t, ys, ys_t = groups([num_carry, len(kt), ny, sum(out_nz[num_carry:])], outs)
    out_avals = jaxpr.out_avals
    zeros = [Zero(_stacked(a, length) if i >= num_carry else a)
             for i, (a, f) in enumerate(zip(out_avals, out_nz)) if not f]
    return carry + ys, merge(out_nz, carry_t + ys_t, zeros)


def _jvp_layout(jaxpr: Jaxpr, nz_groups: list[list[bool]], out_nz: list[bool],
                num_carry: int) -> Jaxpr:
    """The body's JVP with inputs ``(c, ct, k, kt, x, xt)`` and outputs ``(k, kt, y, yt)``."""
    jj, _ = jvp_jaxpr(jaxpr, sum(nz_groups, []), nz_groups[1] + [False] * (len(out_nz) - num_carry))
    primal = [list(range(s, s + len(g)))
              for s, g in zip(_starts([len(g) for g in nz_groups]), nz_groups)]
    n_in = sum(len(g) for g in nz_groups)
    tangent = [list(range(n_in + s, n_in + s + sum(g)))
               for s, g in zip(_starts([sum(g) for g in nz_groups]), nz_groups)]
    in_order = [i for p, t in zip(primal, tangent) for i in p + t]
    n_out, n_kt = len(out_nz), sum(out_nz[:num_carry])
    out_order = (list(range(num_carry)) + list(range(n_out, n_out + n_kt))
                 + list(range(num_carry, n_out)) + list(range(n_out + n_kt, n_out + sum(out_nz))))
    return reorder(jj, in_order, out_order)


def _starts(sizes: Sequence[int]) -> list[int]:
    out, s = [], 0
    for n in sizes:
        out.append(s)
        s += n
    return out


jvp_rules[scan_p] = _scan_jvp


# ---------------------------------------------------------------- partial evaluation
def _scan_partial_eval(trace: StagingTrace, args: Sequence[Any], params: dict[str, Any]) -> Any:
    jaxpr: Jaxpr = params["jaxpr"]
    nc, nk = params["num_consts"], params["num_carry"]
    length, reverse = params["length"], params["reverse"]
    sizes = [nc, nk, len(args) - nc - nk]
    ny = len(jaxpr.outvars) - nk
    const_uk, carry_uk, xs_uk = groups(sizes, [not trace.is_known(a) for a in args])
    carry_uk = carry_fixed_point(carry_uk, lambda uk: partial_eval_jaxpr(
        jaxpr, const_uk + uk + xs_uk, uk + [False] * ny)[3][:nk])
    uk = const_uk + carry_uk + xs_uk
    known, unknown, nres, out_uk = partial_eval_jaxpr(jaxpr, uk, carry_uk + [False] * ny)
    known, kconsts = split_consts(known)
    known_args = kconsts + pick(args, uk, False)
    n_kc, n_kk = len(kconsts) + const_uk.count(False), carry_uk.count(False)
    n_out = len(known.outvars) - nres
    known, known_args, n_kc, hoisted = _hoist_invariants(trace, known, known_args, n_kc, n_out)
    # Where each residual comes from: computed from the consts alone (hoisted) or forwarding a
    # const ("const"), forwarding an x ("x"), or saved by the known loop at every step ("step").
    src = iter(residual_sources(known, sum(h is None for h in hoisted)))
    kinds, values = [], []
    for h in hoisted:
        s = None if h is not None else next(src)
        const = h is not None or (s is not None and s < n_kc)
        x = not const and s is not None and s >= n_kc + n_kk
        kinds.append("const" if const else "x" if x else "step")
        values.append(h if h is not None else None if s is None else known_args[s])
    per_step = [k == "step" for k, h in zip(kinds, hoisted) if h is None]
    known = Jaxpr([], known.invars, known.eqns,
                  known.outvars[:n_out] + pick(known.outvars[n_out:], per_step))
    with core.set_current_trace(trace.parent):  # type: ignore[arg-type]
        known_outs = scan_p.bind(*known_args, jaxpr=known, length=length, reverse=reverse,
                                 num_consts=n_kc, num_carry=n_kk)
    saved = iter(known_outs[n_out:])
    res_values = [next(saved) if k == "step" else v for k, v in zip(kinds, values)]
    invariant, stacked, forwarded_x = ([k == kind for k in kinds] for kind in ("const", "step", "x"))
    # Unknown loop: consts (invariant residuals, unknown consts), carries, xs (per-step
    # residuals, forwarded xs, unknown xs).
    res_idx = list(range(nres))
    n_ukc, n_ukk = sum(const_uk), sum(carry_uk)
    rest = list(range(nres, len(unknown.invars)))
    in_order = (pick(res_idx, invariant) + rest[:n_ukc] + rest[n_ukc:n_ukc + n_ukk]
                + pick(res_idx, stacked) + pick(res_idx, forwarded_x) + rest[n_ukc + n_ukk:])
    body = reorder(unknown, in_order, range(len(unknown.outvars)))
    uk_args = (pick(res_values, invariant) + pick(args[:nc], const_uk)
               + pick(args[nc:nc + nk], carry_uk) + pick(res_values, stacked)
               + pick(res_values, forwarded_x) + pick(args[nc + nk:], xs_uk))
    uk_params = dict(jaxpr=body, length=length, reverse=reverse,
                     num_consts=sum(invariant) + n_ukc, num_carry=n_ukk)
    inputs = [trace.to_atom(a) for a in uk_args]
    out_avals = abstract_eval(scan_p, [a.aval for a in inputs], uk_params)
    tracers = trace.add_eqn(scan_p, inputs, uk_params, out_avals)
    return merge(out_uk, tracers, known_outs[:n_out])


def _hoist_invariants(trace: StagingTrace, known: Jaxpr, args: list[Any], n_consts: int,
                      n_out: int) -> tuple[Jaxpr, list[Any], int, list[Any]]:
    """Compute the residuals that depend on the loop's consts alone once, before the loop.

    Returns the known body (now taking what it needs of that computation as its consts), its
    operands, its number of consts, and per residual its hoisted value or None.
    """
    nres = len(known.outvars) - n_out
    varying = [False] * n_consts + [True] * (len(known.invars) - n_consts)
    hoist, per_step, _, out_varying = partial_eval_jaxpr(known, varying,
                                                         [True] * n_out + [False] * nres)
    if all(out_varying):
        return known, args, n_consts, [None] * nres
    with core.set_current_trace(trace.parent):  # type: ignore[arg-type]
        values = core.eval_jaxpr(hoist, hoist.consts, *args[:n_consts])
    n_inv = out_varying.count(False)
    invariant = iter(values[:n_inv])
    hoisted = [None if v else next(invariant) for v in out_varying[n_out:]]
    return per_step, list(values[n_inv:]) + args[n_consts:], len(values) - n_inv, hoisted


partial_eval_rules[scan_p] = _scan_partial_eval


# ---------------------------------------------------------------- transpose
def _scan_transpose(cts: Sequence[Any], *args: Any, jaxpr: Jaxpr, length: int, reverse: bool,
                    num_consts: int, num_carry: int) -> list[Any]:
    consts, carry, xs = groups([num_consts, num_carry, len(args) - num_consts - num_carry], args)
    c_lin, x_lin = [is_undefined(c) for c in consts], [is_undefined(x) for x in xs]
    ct_carry, ct_ys = cts[:num_carry], cts[num_carry:]
    ys_nz = [type(c) is not Zero for c in ct_ys]
    backward = transpose_fn(jaxpr, c_lin + [True] * num_carry + x_lin)
    res_c, res_x = pick(consts, c_lin, False), pick(xs, x_lin, False)
    lin_c_avals = [aval_of(c) for c in pick(consts, c_lin)]
    y_avals = jaxpr.out_avals[num_carry:]
    sizes = [len(res_c), len(lin_c_avals), num_carry, len(res_x), sum(ys_nz)]

    def body(*a: Any) -> list[Any]:
        rc, acc, ct_k, rx, ct_y = groups(sizes, a)
        ct_y_all = merge(ys_nz, ct_y, [Zero(y) for y, nz in zip(y_avals, ys_nz) if not nz])
        cts_in = backward(rc + rx, ct_k + ct_y_all)
        ct_c, ct_k_in, ct_x = groups([len(acc), num_carry, sum(x_lin)], cts_in)
        acc = [instantiate(add_tangents(s, c)) for s, c in zip(acc, ct_c)]
        return acc + [instantiate(c) for c in ct_k_in + ct_x]

    carry_avals = jaxpr.in_avals[num_consts:num_consts + num_carry]
    in_avals = ([get_aval(c) for c in res_c] + lin_c_avals + carry_avals
                + [_slice_aval(get_aval(x)) for x in res_x] + pick(y_avals, ys_nz))
    body_jaxpr = trace_to_jaxpr(body, in_avals)
    acc0 = [full(a.shape, 0, a.dtype) for a in lin_c_avals]
    outs = _bind_scan(res_c + acc0 + [instantiate(c) for c in ct_carry] + res_x + pick(ct_ys, ys_nz),
                      body_jaxpr, len(res_c), len(acc0) + num_carry,
                      length=length, reverse=not reverse)
    ct_consts, ct_init, ct_xs = groups([len(acc0), num_carry, sum(x_lin)], outs)
    return (merge(c_lin, ct_consts, [None] * c_lin.count(False))
            + [c if is_undefined(k) else None for c, k in zip(ct_init, carry)]
            + merge(x_lin, ct_xs, [None] * x_lin.count(False)))


transpose_rules[scan_p] = _scan_transpose


# ---------------------------------------------------------------- batching
def _scan_batch(vals: Sequence[Any], dims: Sequence[int | None], *, jaxpr: Jaxpr, length: int,
                reverse: bool, num_consts: int, num_carry: int) -> tuple[list[Any], list[Any]]:
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    sizes = [num_consts, num_carry, len(vals) - num_consts - num_carry]
    (c, k, x), (cd, kd, xd) = groups(sizes, vals), groups(sizes, dims)
    ny = len(jaxpr.outvars) - num_carry
    x = [v if d is None else moveaxis(v, d, 1) for v, d in zip(x, xd)]
    x_dims = [None if d is None else 0 for d in xd]
    carry_b = [d is not None for d in kd]
    def body_dims(batched: list[bool]) -> list[int | None]:
        return cd + [0 if b else None for b in batched] + x_dims

    carry_b = carry_fixed_point(carry_b, lambda b: batch_jaxpr(
        jaxpr, body_dims(b), size, b + [False] * ny)[1][:num_carry])
    body, out_b = batch_jaxpr(jaxpr, body_dims(carry_b), size, carry_b + [False] * ny)
    k = moved_batch_dims(k, kd, carry_b, size)
    outs = _bind_scan(c + k + x, body, num_consts, num_carry, length=length, reverse=reverse)
    return outs, [(0 if i < num_carry else 1) if b else None for i, b in enumerate(out_b)]


batch_rules[scan_p] = _scan_batch


# ---------------------------------------------------------------- jit: a Python for loop
def _emit_scan(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    p = eqn.params
    jaxpr, length, nc, nk = p["jaxpr"], p["length"], p["num_consts"], p["num_carry"]
    consts, init, xs = groups([nc, nk, len(ins) - nc - nk], ins)
    carry, ys = outs[:nk], outs[nk:]
    i = ctx.new_name("i")
    slices = [ctx.new_name("x") for _ in xs]
    steps = f"range({length} - 1, -1, -1)" if p["reverse"] else f"range({length})"
    lines = [f"{c} = {v}" for c, v in zip(carry, init)]
    empty = ctx.ref(np.empty)
    lines += [f"{y} = {empty}({ctx.ref(_stacked(a, length).shape)}, {ctx.ref(a.dtype)})"
              for y, a in zip(ys, jaxpr.out_avals[nk:])]
    body, names = ctx.block(optimized_body(jaxpr), consts + carry + slices)
    loop = [f"{s} = {x}[{i}]" for s, x in zip(slices, xs)] + body
    loop += [f"{y}[{i}] = {n}" for y, n in zip(ys, names[nk:])]  # before carries are rebound
    if carry:
        loop.append(f"{', '.join(carry)}, = {', '.join(names[:nk])},")
    return lines + [f"for {i} in {steps}:"] + ["    " + line for line in loop or ["pass"]]


defcodegen(scan_p, _emit_scan)
