"""``checkpoint`` (alias ``remat``): recompute a function's forward pass during the backward pass.

``checkpoint(f)`` stages ``f`` into one ``checkpoint`` equation. Its rules:

- JVP: a ``checkpoint`` of the JVP program (primals and tangents in, both out), so the
  boundary survives differentiation.
- partial evaluation (the split ``linearize`` makes): the known outputs are computed now from
  the known inputs, and the unknown ones are staged as a ``checkpoint`` that takes the known
  *inputs* (not the intermediates) and recomputes what it needs. The residuals reverse mode
  keeps are the inputs, plus whatever a ``policy`` says may be saved.
- transpose: re-run the program with the linear inputs unknown (the forward recomputation
  happens here, on the backward pass), then transpose the linear part.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

from fungrad import core
from fungrad.api_util import StaticArgs, flatten_fun, flatten_leaves
from fungrad.core import Primitive, Tracer, get_aval, set_current_trace
from fungrad.interpreters.ad import Zero, jvp_flat, jvp_rules
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.staging import StagingTrace, partial_eval_rules
from fungrad.interpreters.transpose import backward_pass, is_undefined, transpose_rules
from fungrad.ir import Eqn, Jaxpr, Literal, ShapedArray, Var
from fungrad.lax.jaxpr_util import batch_front, batch_jaxpr, trace_closed
from fungrad.lax.registry import primitive
from fungrad.tree_util import tree_unflatten

__all__ = ["checkpoint", "remat", "checkpoint_policies"]

Policy = Callable[..., bool]


def _impl(*args: Any, jaxpr: Jaxpr, **_: Any) -> list[Any]:
    return core.call_jaxpr(jaxpr, *args)


def _shape(*avals: ShapedArray, jaxpr: Jaxpr, **_: Any) -> list[ShapedArray]:
    return jaxpr.out_avals


checkpoint_p = primitive("checkpoint", _impl, _shape, multiple_results=True)


def checkpoint(fun: Callable[..., Any], *, prevent_cse: bool = True, policy: Policy | None = None,
               static_argnums: int | Sequence[int] = (),
               static_argnames: str | Sequence[str] = ()) -> Callable[..., Any]:
    """``fun``, but reverse mode saves only its inputs and recomputes the rest when needed.

    ``policy(prim, *avals, **params) -> bool`` may name intermediate results worth saving
    instead (see ``checkpoint_policies``).

    >>> import fungrad, fungrad.lax as lax
    >>> f = fungrad.checkpoint(lambda x: lax.sin(lax.sin(x)))
    >>> float(fungrad.grad(f)(0.0))
    1.0
    """
    static = StaticArgs(fun, static_argnums, static_argnames)

    @functools.wraps(fun)
    def remat_f(*args: Any, **kwargs: Any) -> Any:
        dyn, _ = static.split(args, kwargs)
        leaves, in_tree = flatten_leaves(dyn, "a checkpointed argument")
        if core.current_trace() is core.EVAL_TRACE and not any(
                isinstance(x, Tracer) for x in leaves):
            return fun(*args, **kwargs)
        flat, out_tree = flatten_fun(fun, in_tree, lambda d: static.merge(args, kwargs, d),
                                     "the output of a checkpointed function")
        jaxpr, consts = trace_closed(flat, [get_aval(x) for x in leaves])
        outs = checkpoint_p.bind(*consts, *leaves, jaxpr=jaxpr, prevent_cse=prevent_cse,
                                 policy=policy)
        return tree_unflatten(out_tree(), outs)

    return remat_f


remat = checkpoint


class checkpoint_policies:
    """Ready-made policies, JAX's: which intermediate results reverse mode may keep.

    A policy is called as ``policy(prim, *avals, **params)`` for each equation of the
    checkpointed function and returns whether its output may be saved. Names come from
    ``fungrad.ad_checkpoint.checkpoint_name``. JAX's host-offloading policies
    (``offload_dot_with_no_batch_dims``, ``save_and_offload_only_these_names``) have no meaning
    without devices: they raise.

    >>> import fungrad, fungrad.numpy as fnp
    >>> from fungrad.ad_checkpoint import checkpoint_name
    >>> f = lambda x: fnp.sin(checkpoint_name(fnp.sin(x), "h"))
    >>> g = fungrad.checkpoint(f, policy=checkpoint_policies.save_only_these_names("h"))
    >>> float(fungrad.grad(g)(0.0))
    1.0
    """

    @staticmethod
    def nothing_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
        """Recompute everything (the default)."""
        return False

    @staticmethod
    def everything_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
        """Save everything: no recomputation, as without checkpoint."""
        return True

    @staticmethod
    def dots_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
        """Save the results of matrix products, recompute the cheap elementwise work."""
        return prim.name == "dot_general"

    checkpoint_dots = dots_saveable

    @staticmethod
    def dots_with_no_batch_dims_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
        """Save the results of matrix products without batch dimensions only."""
        return prim.name == "dot_general" and not params["dimension_numbers"][1][0]

    checkpoint_dots_with_no_batch_dims = dots_with_no_batch_dims_saveable

    @staticmethod
    def save_only_these_names(*names: str) -> Policy:
        """Save the values labelled with one of ``names`` by ``checkpoint_name``, nothing else."""
        keep = frozenset(names)
        return lambda prim, *avals, **params: prim.name == "name" and params["name"] in keep

    @staticmethod
    def save_any_names_but_these(*names: str) -> Policy:
        """Save every labelled value except those labelled with one of ``names``."""
        drop = frozenset(names)
        return lambda prim, *avals, **params: prim.name == "name" and params["name"] not in drop

    @staticmethod
    def save_anything_except_these_names(*names: str) -> Policy:
        """Save every value except those labelled with one of ``names`` (JAX 0.10 documents
        this but saves everything; here the labelled values are recomputed)."""
        drop = frozenset(names)
        return lambda prim, *avals, **params: not (prim.name == "name" and params["name"] in drop)

    @staticmethod
    def save_from_both_policies(policy_1: Policy, policy_2: Policy) -> Policy:
        """Save what either policy saves."""
        return lambda prim, *avals, **params: (policy_1(prim, *avals, **params)
                                               or policy_2(prim, *avals, **params))

    @staticmethod
    def offload_dot_with_no_batch_dims(*args: Any, **kwargs: Any) -> Policy:
        """Not available: fungrad has no device or host memory spaces to offload between."""
        raise NotImplementedError("offload_dot_with_no_batch_dims: fungrad has no device memory "
                                  "to offload from; use dots_with_no_batch_dims_saveable")

    @staticmethod
    def save_and_offload_only_these_names(*args: Any, **kwargs: Any) -> Policy:
        """Not available: fungrad has no device or host memory spaces to offload between."""
        raise NotImplementedError("save_and_offload_only_these_names: fungrad has no device "
                                  "memory to offload from; use save_only_these_names")


# ---------------------------------------------------------------- JVP

def _checkpoint_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: Jaxpr,
                    **params: Any) -> tuple[list[Any], list[Any]]:
    nonzero = [type(t) is not Zero for t in tangents]
    n_in, n_out = len(primals), len(jaxpr.outvars)
    out_nonzero: list[bool] = []

    def jvp_fun(*xs: Any) -> list[Any]:
        ts = iter(xs[n_in:])
        t_in = [next(ts) if nz else Zero(a) for nz, a in zip(nonzero, jaxpr.in_avals)]
        outs, out_ts = jvp_flat(lambda *ys: core.call_jaxpr(jaxpr, *ys), xs[:n_in], t_in)
        out_nonzero[:] = [type(t) is not Zero for t in out_ts]
        return [*outs, *[t for t in out_ts if type(t) is not Zero]]

    t_avals = [a for a, nz in zip(jaxpr.in_avals, nonzero) if nz]
    jvp_jaxpr, consts = trace_closed(jvp_fun, [*jaxpr.in_avals, *t_avals])
    res = checkpoint_p.bind(*consts, *primals, *[t for t in tangents if type(t) is not Zero],
                            jaxpr=jvp_jaxpr, **params)
    ts_out = iter(res[n_out:])
    return res[:n_out], [next(ts_out) if nz else Zero(a)
                         for nz, a in zip(out_nonzero, jaxpr.out_avals)]


# ---------------------------------------------------------------- partial evaluation

def _dce(jaxpr: Jaxpr, outvars: Sequence[Any], invars: Sequence[Var]) -> tuple[Jaxpr, list[bool]]:
    """The equations of ``jaxpr`` needed for ``outvars``, as a jaxpr over the used ``invars``."""
    live = {v for v in outvars if type(v) is Var}
    eqns: list[Eqn] = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in live for v in eqn.outvars):
            eqns.append(eqn)
            live.update(a for a in eqn.inputs if type(a) is Var)
    used = [v in live for v in invars]
    return Jaxpr([], [v for v, u in zip(invars, used) if u], eqns[::-1], outvars), used


KnownBuilder = Callable[[Sequence[Any]], tuple[Jaxpr, list[Any]]]


def _split_known(jaxpr: Jaxpr, known_args: Sequence[bool]) -> tuple[set[Var], KnownBuilder]:
    """Which variables of ``jaxpr`` depend on the known inputs only, and a way to stage the
    known part.

    The jaxpr is run under a partial evaluator whose known operations are *staged* (not run):
    nested checkpoints and other calls split themselves by their own rules, so the answer is
    exact even where one equation has both known and unknown outputs. ``build(outvars)``
    returns the known part computing ``outvars``, closure-converted (consts first, then the
    known inputs).
    """
    known_stage = StagingTrace(core.current_trace(), record_source=False)
    pe = StagingTrace(known_stage, forward_known=True, record_source=False)
    env: dict[Any, Any] = {}
    with core.new_trace(known_stage):
        with core.new_trace(pe):
            for v, k in zip(jaxpr.invars, known_args):
                env[v] = (known_stage if k else pe).new_arg(v.aval)
            for eqn in jaxpr.eqns:
                outs = eqn.primitive.bind(*[a.val if type(a) is Literal else env[a]
                                            for a in eqn.inputs], **eqn.params)
                env.update(zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]))
    known = {v for v, x in env.items() if pe.is_known(x)}

    def build(outvars: Sequence[Any]) -> tuple[Jaxpr, list[Any]]:
        j = known_stage.build([v.val if type(v) is Literal else env[v] for v in outvars])
        j, _ = _dce(j, j.outvars, j.invars)
        return Jaxpr([], [*j.constvars, *known_stage.invars], j.eqns, j.outvars), known_stage.consts
    return known, build


def _checkpoint_partial_eval(trace: StagingTrace, args: Sequence[Any],
                             params: dict[str, Any]) -> list[Any]:
    jaxpr: Jaxpr = params["jaxpr"]
    policy: Policy | None = params["policy"]
    known_args = [trace.is_known(a) for a in args]
    with set_current_trace(trace.parent):  # type: ignore[arg-type]
        known, build_known = _split_known(jaxpr, known_args)
    saved: list[Var] = []  # known intermediates the policy lets us keep as residuals
    if policy is not None:
        for eqn in jaxpr.eqns:
            if all(v in known for v in eqn.outvars) and policy(
                    eqn.primitive, *[a.aval for a in eqn.inputs], **eqn.params):
                saved.extend(eqn.outvars)
    known_outs = [v for v in jaxpr.outvars if type(v) is not Var or v in known]
    unknown_outs = [v for v in jaxpr.outvars if type(v) is Var and v not in known]
    # The unknown program: recompute from the inputs, except for the saved values.
    cut = set(saved)
    body = Jaxpr([], jaxpr.invars, [e for e in jaxpr.eqns if not cut.intersection(e.outvars)],
                 unknown_outs)
    unknown_jaxpr, used = _dce(body, unknown_outs, [*jaxpr.invars, *saved])
    residuals = [v for v, u in zip(saved, used[len(jaxpr.invars):]) if u]
    # The known program runs now, on the parent trace (as a checkpoint, so outer transforms
    # keep the boundary), and also hands out the saved residuals.
    known_jaxpr, consts = build_known([*known_outs, *residuals])
    known_in = [*consts, *[a for a, k in zip(args, known_args) if k]]
    with set_current_trace(trace.parent):  # type: ignore[arg-type]
        if known_jaxpr.eqns:
            known_vals = checkpoint_p.bind(*known_in, **{**params, "jaxpr": known_jaxpr})
        else:
            known_vals = core.call_jaxpr(known_jaxpr, *known_in)
    env: dict[Any, Any] = dict(zip(jaxpr.invars, args))
    env.update(zip([*known_outs, *residuals], known_vals))
    if unknown_outs:
        in_atoms = [v for v, u in zip([*jaxpr.invars, *saved], used) if u]
        staged = trace.add_eqn(checkpoint_p, [trace.to_atom(env[v]) for v in in_atoms],
                               {**params, "jaxpr": unknown_jaxpr}, unknown_jaxpr.out_avals)
        env.update(zip(unknown_outs, staged))
    return [v.val if type(v) is Literal else env[v] for v in jaxpr.outvars]


# ---------------------------------------------------------------- transpose and batching

def _checkpoint_transpose(cts: Sequence[Any], *args: Any, jaxpr: Jaxpr,
                          **params: Any) -> list[Any]:
    partial = StagingTrace(core.current_trace(), forward_known=True, record_source=False)
    with core.new_trace(partial):
        ins = [partial.new_arg(a.aval) if is_undefined(a) else a for a in args]
        linear = partial.build(core.call_jaxpr(jaxpr, *ins))
    in_cts = iter(backward_pass(linear, linear.consts, cts))
    return [next(in_cts) if is_undefined(a) else None for a in args]


def _checkpoint_batch(vals: Sequence[Any], dims: Sequence[int | None], *, jaxpr: Jaxpr,
                      **params: Any) -> tuple[list[Any], list[int]]:
    vals, dims, size = batch_front(vals, dims)
    outs = checkpoint_p.bind(*vals, jaxpr=batch_jaxpr(jaxpr, dims, size, True)[0], **params)
    return outs, [0] * len(outs)


jvp_rules[checkpoint_p] = _checkpoint_jvp
partial_eval_rules[checkpoint_p] = _checkpoint_partial_eval
transpose_rules[checkpoint_p] = _checkpoint_transpose
batch_rules[checkpoint_p] = _checkpoint_batch
