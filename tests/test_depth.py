"""Programs nested deeper than Python nests: 150 levels of cond / loops compile, run and transform.

The generated code emits bodies nested more than ``MAX_INLINE_DEPTH`` deep as functions of their
own (Python allows 20 nested loops and 100 indentation levels per function), and tracing keeps
enough room on the stack for the nesting (``fungrad.stack``).
"""
import sys

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.compiler import codegen

DEPTH = 150
KINDS = ("cond", "fori", "scan", "while")


def nested(x, depth, kinds):
    """``depth`` levels of control flow (cycling through ``kinds``) around ``sin(x) * 1.01``."""
    if depth == 0:
        return fnp.sin(x) * 1.01
    kind = kinds[depth % len(kinds)]
    inner = lambda y: nested(y, depth - 1, kinds) + 0.5  # noqa: E731
    if kind == "cond":
        return lax.cond(x.sum() > -1e9, inner, lambda y: y, x)
    if kind == "fori":
        return lax.fori_loop(0, 1, lambda i, y: inner(y), x)
    if kind == "scan":
        return lax.scan(lambda c, _: (inner(c), None), x, None, length=1)[0]
    return lax.while_loop(lambda c: c[0] < 1, lambda c: (c[0] + 1, inner(c[1])), (0, x))[1]


def expected(x, depth):
    return np.sin(x) * 1.01 + 0.5 * depth


def program(depth, kinds):
    return lambda x: nested(x, depth, kinds)


@pytest.mark.parametrize("kinds", [("cond",), ("fori",), ("scan",), ("while",), KINDS],
                         ids=["cond", "fori", "scan", "while", "mix"])
def test_jit_and_vmap_of_150_nested_levels(kinds):
    x = np.array([0.3, -1.2, 2.0])
    f = program(DEPTH, kinds)
    limit = sys.getrecursionlimit()
    out = fungrad.jit(f)(x)
    np.testing.assert_allclose(out, expected(x, DEPTH), rtol=1e-12)
    np.testing.assert_allclose(out, f(x), rtol=1e-12)  # eager evaluation agrees
    xs = np.stack([x, 2 * x])
    np.testing.assert_allclose(fungrad.jit(fungrad.vmap(f))(xs), expected(xs, DEPTH), rtol=1e-12)
    assert sys.getrecursionlimit() == limit  # raised only while tracing nested bodies


@pytest.mark.parametrize("kinds", [("fori",), ("cond", "fori", "scan")], ids=["fori", "mix"])
def test_grad_of_deeply_nested_levels(kinds):
    # Reverse mode of a scan stacks its residuals, one axis per enclosing loop: NumPy allows 64;
    # and the cost of differentiating nested bodies grows faster than linearly with depth.
    depth = 24
    x = np.array([0.3, -1.2, 2.0])
    g = fungrad.jit(fungrad.grad(lambda x: program(depth, kinds)(x).sum()))(x)
    np.testing.assert_allclose(g, np.cos(x) * 1.01, rtol=1e-12)


def test_generated_functions_stay_shallow():
    jaxpr = fungrad.make_jaxpr(program(DEPTH, KINDS))(np.ones(2))
    source = codegen.compile_jaxpr(jaxpr).source
    deepest = max(len(line) - len(line.lstrip(" ")) for line in source.splitlines()) // 4
    assert deepest <= 2 * codegen.MAX_INLINE_DEPTH + 1
    assert source.count("\ndef ") >= DEPTH // codegen.MAX_INLINE_DEPTH


def test_recursion_headroom_is_restored():
    from fungrad.stack import recursion_headroom, stack_depth
    limit = sys.getrecursionlimit()
    with recursion_headroom(frames=limit):
        assert sys.getrecursionlimit() >= stack_depth() + limit - 1
        with recursion_headroom(frames=2 * limit):
            assert sys.getrecursionlimit() >= stack_depth() + 2 * limit - 1
        assert limit < sys.getrecursionlimit() < stack_depth() + 2 * limit - 1
    assert sys.getrecursionlimit() == limit
