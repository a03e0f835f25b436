"""Every rule table is keyed by Primitive objects, named ``*_rules``, and covers the primitives
it must: adding a primitive without one of its rules fails here, naming the table."""
import ast
import pathlib
import sys

import pytest

import fungrad  # noqa: F401  (registers every primitive)
from fungrad.compiler import codegen, passes
from fungrad.core import Primitive, abstract_eval_rules, effect_rules, impl_rules
from fungrad.interpreters.ad import jvp_rules, linearize_rules
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.named_axes import axis_name_rules
from fungrad.interpreters.staging import partial_eval_rules
from fungrad.interpreters.transpose import transpose_rules

ROOT = pathlib.Path(fungrad.__file__).parent
TABLES = {
    "impl_rules": impl_rules, "abstract_eval_rules": abstract_eval_rules,
    "jvp_rules": jvp_rules, "linearize_rules": linearize_rules, "batch_rules": batch_rules,
    "partial_eval_rules": partial_eval_rules, "transpose_rules": transpose_rules,
    "codegen_rules": codegen.codegen_rules, "buffer_rules": codegen.buffer_rules,
    "simplify_rules": passes.simplify_rules, "expand_rules": passes.expand_rules,
    "permute_rules": passes.permute_rules, "inline_rules": passes.inline_rules,
    "effect_rules": effect_rules, "axis_name_rules": axis_name_rules,
}
# fungrad's own primitives (other test modules register throwaway ones of their own).
PRIMS = sorted({v for name, mod in list(sys.modules.items())
                if name.startswith("fungrad") and mod is not None
                for v in vars(mod).values() if isinstance(v, Primitive)}, key=lambda p: p.name)


def test_every_primitive_is_found():
    assert len(PRIMS) > 90 and all(p in impl_rules for p in PRIMS)


def test_every_table_is_keyed_by_registered_primitives():
    for name, table in TABLES.items():
        for key in table:
            assert isinstance(key, Primitive), f"{name} has a key {key!r} that is not a Primitive"
            assert key in impl_rules and key in abstract_eval_rules, \
                f"{name} has a rule for {key}, which has no impl or shape rule"


def test_every_primitive_table_in_the_package_is_named_rules():
    # A module-level ``name: dict[Primitive, ...]`` is a rule table: it must be called *_rules.
    bad = []
    for path in ROOT.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                ann = ast.unparse(node.annotation)
                if ann.startswith("dict[Primitive") and not node.target.id.endswith("_rules"):
                    bad.append(f"{path.relative_to(ROOT)}: {node.target.id}")
    assert not bad, bad


# Primitives without operands (``full``, ``iota``) are never batched: vmap binds them as they
# are. ``custom_vjp_lin`` only ever appears in linear (tangent) programs, which are transposed,
# never differentiated again: its derivative is the user's bwd, reached through transposition.
NO_BATCH_RULE = {"full", "iota"}
NO_JVP_RULE = {"custom_vjp_lin"}


@pytest.mark.parametrize("prim", PRIMS, ids=lambda p: p.name)
def test_every_primitive_has_its_rules(prim):
    assert prim in jvp_rules or prim.name in NO_JVP_RULE, \
        f"{prim}: no JVP rule (defjvp, defjvp_zero, deflinear or jvp_rules)"
    assert prim in batch_rules or prim.name in NO_BATCH_RULE, \
        f"{prim}: no batching rule (a batcher helper or batch_rules)"


@pytest.mark.parametrize("prim", [p for p in PRIMS if getattr(jvp_rules.get(p), "__qualname__", "").startswith(
    "deflinear.")], ids=lambda p: p.name)
def test_linear_primitives_transpose(prim):
    assert prim in transpose_rules, f"{prim} is linear (deflinear) but has no transpose rule"


def test_a_missing_rule_is_reported():
    prim = next(p for p in PRIMS if p.name not in NO_BATCH_RULE)
    rule = batch_rules.pop(prim)
    try:
        with pytest.raises(AssertionError, match="no batching rule"):
            test_every_primitive_has_its_rules(prim)
    finally:
        batch_rules[prim] = rule
