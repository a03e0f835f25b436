"""``name``: the identity that labels a value, so ``checkpoint`` policies can refer to it.

``checkpoint_name(x, "h")`` marks ``x``; ``checkpoint_policies.save_only_these_names("h")``
then lets reverse mode keep it instead of recomputing it. The tangent is passed through
unlabelled (only forward values are residuals). After differentiation jit drops the label.

>>> import fungrad
>>> fungrad.make_jaxpr(lambda x: checkpoint_name(x * 2.0, "h"))(1.0).eqns[1].params
{'name': 'h'}
"""
from __future__ import annotations

from typing import Any, Sequence

from fungrad.compiler.passes import defsimplify
from fungrad.interpreters.ad import jvp_rules
from fungrad.ir import ShapedArray
from fungrad.lax.registry import primitive, vectorized_batcher
from fungrad.tree_util import tree_map


def _identity(x: Any, *, name: str) -> Any:
    return x


def _same_aval(x: ShapedArray, *, name: str) -> ShapedArray:
    return x


name_p = primitive("name", _identity, _same_aval)
vectorized_batcher(name_p)
defsimplify(name_p, lambda rw, eqn: eqn.inputs[0])


def _name_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, name: str) -> tuple[Any, Any]:
    return name_p.bind(primals[0], name=name), tangents[0]


jvp_rules[name_p] = _name_jvp


def checkpoint_name(x: Any, name: str) -> Any:
    """``x``, labelled ``name`` for ``checkpoint`` policies (every leaf of a pytree).

    >>> float(checkpoint_name(3.0, "h"))
    3.0
    """
    return tree_map(lambda v: name_p.bind(v, name=str(name)), x)
