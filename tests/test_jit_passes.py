"""The jaxpr passes, each on its own: same results as before, still well typed, and the
rewrite it promises actually happens. Plus the code generator and its buffer plan."""
from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.core import eval_jaxpr
from fungrad.ir import Eqn, Jaxpr, Var
from fungrad.compiler import passes
from fungrad.compiler.codegen import compile_jaxpr
from fungrad.lax.elementwise import convert_element_type_p
from fungrad.typecheck import typecheck_jaxpr


def prims(jaxpr: Jaxpr) -> list[str]:
    return [e.primitive.name for e in jaxpr.eqns]


def run(jaxpr: Jaxpr, *args: Any) -> list[Any]:
    return eval_jaxpr(jaxpr, jaxpr.consts, *args)


def check_pass(p: Callable[[Jaxpr], Jaxpr], f: Callable[..., Any], *args: Any) -> Jaxpr:
    """Apply pass ``p`` to f's jaxpr: typed before and after, same values (compared with NumPy
    evaluation of the original and with compiled code of the result)."""
    before = fungrad.make_jaxpr(f)(*args)
    typecheck_jaxpr(before)
    after = p(before)
    typecheck_jaxpr(after)
    want = run(before, *args)
    for got in (run(after, *args), compile_jaxpr(after).fn(*args)):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-14, atol=0)
    return after


x3 = np.array([0.5, -1.25, 2.0])

# (pass, program, primitives that must be gone afterwards) -- one line per rewrite.
REWRITES: list[tuple[str, Callable[[Jaxpr], Jaxpr], Callable[..., Any], list[str]]] = [
    ("x*1", passes.simplify, lambda x: lax.mul(x, 1.0) + x, ["mul"]),
    ("1*x", passes.simplify, lambda x: lax.mul(1.0, x) + x, ["mul"]),
    ("x+0", passes.simplify, lambda x: lax.add(x, 0.0) * x, ["add"]),
    ("0+x", passes.simplify, lambda x: lax.add(0.0, x) * x, ["add"]),
    ("x-0", passes.simplify, lambda x: lax.sub(x, 0.0) * x, ["sub"]),
    ("x/1", passes.simplify, lambda x: lax.div(x, 1.0) * x, ["div"]),
    ("neg neg", lambda j: passes.dce(passes.simplify(j)), lambda x: -(-fnp.sin(x)), ["neg"]),
    ("x**1", passes.simplify, lambda x: lax.integer_pow(x, 1) * x, ["integer_pow"]),
    ("T(T(x))", lambda j: passes.dce(passes.simplify(j)),
     lambda x: lax.transpose(lax.transpose(lax.reshape(x, (1, 3)), (1, 0)), (1, 0)) * 2.0,
     ["transpose"]),
    ("bcast into add", lambda j: passes.dce(passes.simplify(j)),
     lambda x: x + lax.broadcast_to(np.float64(2.5), (3,)), ["broadcast_in_dim"]),
    ("full into mul", lambda j: passes.dce(passes.simplify(j)),
     lambda x: x * lax.full((3,), 4.0, np.float64), ["full"]),
    ("fold", passes.fold_constants, lambda x: x * fnp.sin(np.float64(0.5)) + fnp.exp(
        np.arange(3.0)), ["sin", "exp"]),
    ("cse", passes.cse, lambda x: fnp.sin(x) * fnp.sin(x) + fnp.sin(x), []),
    ("dce", passes.dce, lambda x: (fnp.cos(x), fnp.exp(x))[0], ["exp"]),
]


@pytest.mark.parametrize("name,p,f,gone", REWRITES, ids=[r[0] for r in REWRITES])
def test_rewrite(name: str, p: Any, f: Any, gone: list[str]) -> None:
    after = check_pass(p, f, x3)
    for g in gone:
        assert g not in prims(after), f"{name}: {g} survived\n{after}"


def test_cse_merges_and_keeps_distinct() -> None:
    after = check_pass(passes.cse, lambda x: fnp.sin(x) * fnp.sin(x) + fnp.cos(x) * 2.0
                       + fnp.cos(x) * 3.0, x3)
    assert prims(after).count("sin") == 1 and prims(after).count("cos") == 1
    assert prims(after).count("mul") == 3  # mul by 2.0 and by 3.0 differ


def test_reshape_of_reshape_becomes_one() -> None:
    after = check_pass(lambda j: passes.dce(passes.simplify(j)),
                       lambda x: lax.reshape(lax.reshape(x, (3, 1)), (1, 3)) * 2.0, x3)
    assert prims(after).count("reshape") == 1


def test_convert_to_same_dtype() -> None:
    a = Var(fungrad.core.get_aval(x3))
    b, c = Var(a.aval), Var(a.aval)
    j = Jaxpr([], [a], [Eqn(convert_element_type_p, [a], {"new_dtype": np.dtype("float64")},
                            [b], None),
                        Eqn(lax.elementwise.sin_p, [b], {}, [c], None)], [c])
    typecheck_jaxpr(j)
    after = passes.dce(passes.simplify(j))
    typecheck_jaxpr(after)
    assert prims(after) == ["sin"]
    np.testing.assert_allclose(run(after, x3)[0], np.sin(x3))


def test_no_folding_into_huge_arrays() -> None:
    after = check_pass(passes.fold_constants,
                       lambda x: lax.broadcast_to(np.float64(1.5), (200, 200)) * x[0], x3)
    assert "broadcast_in_dim" in prims(after)
    assert all(np.size(c) < 1000 for c in after.consts)


def test_broadcast_kept_when_it_shapes_the_result() -> None:
    after = check_pass(lambda j: passes.dce(passes.simplify(j)),
                       lambda x: x + lax.broadcast_to(np.float64(2.5), (2, 3)), x3)
    assert "broadcast_in_dim" in prims(after)


ops = st.lists(st.sampled_from(["sin", "mul1", "add0", "neg", "exp_dup", "dead"]),
               min_size=1, max_size=12)


@given(ops)
def test_optimize_random_programs(names: list[str]) -> None:
    def f(x: Any) -> Any:
        for n in names:
            x = {"sin": lambda v: fnp.sin(v), "mul1": lambda v: v * 1.0,
                 "add0": lambda v: 0.0 + v, "neg": lambda v: -v,
                 "exp_dup": lambda v: fnp.exp(v * 0.1) + fnp.exp(v * 0.1),
                 "dead": lambda v: (fnp.cos(v), v)[1]}[n](x)
        return x
    after = check_pass(passes.optimize, f, x3)
    assert not {"cos"} & set(prims(after))
    assert prims(after).count("exp") <= names.count("exp_dup")


FOLD_CSE_PROGRAMS = [
    lambda x: fungrad.jacfwd(lambda b: b[0] * fnp.exp(-b[1] * x) + b[0] * fnp.exp(-b[1] * x))(x[:2]),
    lambda x: fungrad.jacrev(lambda b: b[0] * (x * x + 1.0) ** b[1] / (1.0 + b[2] * x))(x),
    lambda x: (x * (np.float64(2.0) * 3.0), x * (np.float64(2.0) * 3.0), lax.neg(np.ones(3)) * x),
    lambda x: (fnp.sin(x) + fnp.sin(x)) * (np.arange(3.0) + np.arange(3.0)),
]


@pytest.mark.parametrize("f", FOLD_CSE_PROGRAMS)
def test_fold_and_cse_is_fold_then_cse(f: Any) -> None:
    """The fused pass gives the program of the two in turn (printed the same: same equations,
    same consts in the same order)."""
    for j in (fungrad.make_jaxpr(f)(x3), passes.simplify(fungrad.make_jaxpr(f)(x3))):
        fused, apart = passes.fold_and_cse(j), passes.cse(passes.fold_constants(j))
        assert str(fused) == str(apart) and len(fused.eqns) < len(j.eqns)
        for a, b in zip(fused.consts, apart.consts):
            np.testing.assert_array_equal(a, b)
        for g, w in zip(run(fused, x3), run(j, x3)):
            np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------- code generation

_ALLOWED = re.compile(r"^(def|jitted|return|del|out|reshape|transpose|astype|[agv]\d+)$")


@pytest.mark.parametrize("f", [
    lambda x: fnp.tanh(x * 3.25) + np.array([7.5, 8.5, 9.5]),
    lambda x: fnp.sum(lax.broadcast_to(x, (2, 3)) * x, axis=0) - lax.integer_pow(x, 2),
    lambda x: fnp.reshape(fnp.transpose(fnp.reshape(x, (3, 1))), (3,)) * lax.rsqrt(x * x),
])
def test_generated_source_has_generated_names_only(f: Any) -> None:
    jaxpr = fungrad.make_jaxpr(f)(x3)
    c = compile_jaxpr(passes.optimize(jaxpr))
    words = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", c.source)
    assert all(_ALLOWED.match(w) for w in words), c.source
    assert not re.search(r"\d\.\d", c.source)
    np.testing.assert_allclose(c.fn(x3)[0], f(x3), rtol=1e-14)


def test_liveness_frees_and_reuses_buffers() -> None:
    def f(x: Any) -> Any:
        a = fnp.exp(x)
        b = fnp.sin(a)      # a dies here: sin may write into it
        c = b * 2.0
        return c + x
    src = compile_jaxpr(fungrad.make_jaxpr(f)(x3)).source
    assert src.count("out=") == 3 and "= " in src.splitlines()[1]
    x = x3.copy()
    np.testing.assert_allclose(compile_jaxpr(fungrad.make_jaxpr(f)(x3)).fn(x)[0], f(x3))
    np.testing.assert_array_equal(x, x3)


def test_live_view_blocks_in_place() -> None:
    def f(x: Any) -> Any:
        a = fnp.exp(x)
        v = fnp.reshape(a, (3, 1))   # a view of a's buffer, used later
        b = fnp.sin(a)               # a dies here, but v still reads its buffer
        return b * fnp.reshape(v, (3,))
    c = compile_jaxpr(fungrad.make_jaxpr(f)(x3))
    np.testing.assert_allclose(c.fn(x3)[0], np.sin(np.exp(x3)) * np.exp(x3), rtol=1e-14)
    assert "(v0, out=v0)" not in c.source


DOTS = [  # (lhs shape, rhs shape, dimension_numbers): matmul forms and others
    ((2, 3), (3, 4), (((1,), (0,)), ((), ()))),
    ((3, 2), (3, 4), (((0,), (0,)), ((), ()))),
    ((2, 3), (4, 3), (((1,), (1,)), ((), ()))),
    ((3, 2), (4, 3), (((0,), (1,)), ((), ()))),
    ((3,), (3, 4), (((0,), (0,)), ((), ()))),
    ((3,), (4, 3), (((0,), (1,)), ((), ()))),
    ((2, 3), (3,), (((1,), (0,)), ((), ()))),
    ((3,), (3,), (((0,), (0,)), ((), ()))),
    ((5, 2, 3), (5, 3, 4), (((2,), (1,)), ((0,), (0,)))),
    ((5, 3, 2), (5, 4, 3), (((1,), (2,)), ((0,), (0,)))),
    ((2, 3, 4), (4, 3), (((2, 1), (0, 1)), ((), ()))),
]


@pytest.mark.parametrize("ls,rs,dims", DOTS)
def test_dot_general_code_matches_impl(ls: Any, rs: Any, dims: Any) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(ls), rng.standard_normal(rs)
    f = lambda a, b: lax.dot_general(a, b, dims) * 2.0
    c = compile_jaxpr(passes.optimize(fungrad.make_jaxpr(f)(a, b)))
    np.testing.assert_allclose(c.fn(a, b)[0], f(a, b), rtol=1e-13)


def test_transposed_product_is_computed_directly() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 4))
    after = check_pass(lambda j: passes.dce(passes.simplify(j)),
                       lambda a, b: lax.transpose(lax.dot_general(
                           a, b, (((0,), (0,)), ((), ()))), (1, 0)), a, b)
    assert prims(after) == ["dot_general"]
    kept = check_pass(passes.simplify, lambda a, b: (lambda d: (
        lax.transpose(d, (1, 0)), d))(lax.dot_general(a, b, (((0,), (0,)), ((), ())))), a, b)
    assert prims(kept) == ["dot_general", "transpose"]  # the product is used as is too


def test_rank_expanding_broadcast_left_to_numpy() -> None:
    m = np.arange(6.0).reshape(2, 3)
    after = check_pass(lambda j: passes.dce(passes.simplify(j)),
                       lambda m, v: m * lax.broadcast_in_dim(v, (2, 3), (0,)), m, np.ones(2))
    assert "broadcast_in_dim" not in prims(after) and "reshape" in prims(after)


def test_reductions_and_reshaped_scalar_broadcasts_fuse() -> None:
    m = np.arange(6.0).reshape(2, 3)
    after = check_pass(passes.optimize, lambda m: lax.reduce_sum(lax.reduce_sum(m, (1,)), (0,))
                       + fnp.sum(m * lax.reshape(lax.broadcast_to(np.float64(0.5), (6,)),
                                                 (2, 3))), m)
    assert prims(after).count("reduce_sum") == 2
    assert "broadcast_in_dim" not in prims(after) and "reshape" not in prims(after)
