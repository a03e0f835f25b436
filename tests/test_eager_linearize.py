"""The one-step eager linearization rules build exactly what the JVP rules build.

For every primitive with a rule in ``linearize_rules``, on hypothesis-drawn shapes, dtypes and
operand kinds (our tracer, a plain array, a 0-d constant), linearizing with the rules on and off
must give the same primal outputs bit for bit, the same printed linear jaxpr and the same
residuals. The cases the rules decline (0-d primals, broadcasting, integers) are covered too.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
import fungrad.numpy as fnp
from fungrad import config, lax
from fungrad.core import Primitive
from fungrad.interpreters.ad import linearize_rules
from fungrad.interpreters.reverse import linearize_flat
from fungrad.lax import bessel, elementwise, special

# Each unary primitive with a one-step rule, on a domain where it is smooth.
UNARY_DOMAINS = {
    "exp": (-2, 2), "log": (0.2, 3), "log1p": (-0.5, 2), "expm1": (-2, 2), "sin": (-3, 3),
    "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
    "atan": (-3, 3), "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-2, 2), "asinh": (-3, 3),
    "acosh": (1.2, 3), "atanh": (-0.9, 0.9), "sqrt": (0.2, 3), "rsqrt": (0.2, 3),
    "abs": (0.2, 3), "logistic": (-3, 3), "erf": (-2, 2), "cbrt": (0.2, 3),
}
SPECIAL_DOMAINS = {"erf_inv": (-0.9, 0.9), "erfc": (-2, 2), "lgamma": (0.3, 3), "digamma": (0.3, 3),
                   "ndtri": (0.05, 0.95)}
UNARY = {getattr(elementwise, name + "_p"): getattr(lax, name) for name in UNARY_DOMAINS}
UNARY.update({getattr(special, name + "_p"): getattr(lax, name) for name in SPECIAL_DOMAINS})
BESSEL_DOMAINS = {"bessel_i0e": (-3, 3), "bessel_i1e": (-3, 3)}
UNARY.update({getattr(bessel, name + "_p"): getattr(lax, name) for name in BESSEL_DOMAINS})
UNARY_DOMAINS.update(BESSEL_DOMAINS)
UNARY_DOMAINS.update(SPECIAL_DOMAINS)
BINARY = {elementwise.add_p: lax.add, elementwise.sub_p: lax.sub, elementwise.mul_p: lax.mul}


class eager_rules:
    """``with eager_rules(False):`` linearizes with every primitive's JVP rule."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __enter__(self) -> None:
        self.prev = config.eager_linearize
        config.update("eager_linearize", self.on)

    def __exit__(self, *exc: object) -> None:
        config.update("eager_linearize", self.prev)


def linearized(fun: Callable[..., Any], args: list[Any], on: bool) -> tuple[list[Any], Any]:
    with eager_rules(on):
        return linearize_flat(lambda *xs: [fun(*xs)], args)


class counting_rules:
    """Counts the equations the one-step rules took (rules that did not decline)."""

    def __enter__(self) -> counting_rules:
        self.taken = 0
        self.by_prim: dict[str, int] = {}
        self.saved = dict(linearize_rules)
        for prim, rule in self.saved.items():
            linearize_rules[prim] = self.counted(prim.name, rule)
        return self

    def counted(self, name: str, rule: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            out = rule(*args)
            if out is not NotImplemented:
                self.taken += 1
                self.by_prim[name] = self.by_prim.get(name, 0) + 1
            return out
        return wrapper

    def __exit__(self, *exc: object) -> None:
        linearize_rules.update(self.saved)


def assert_same_linearization(fun: Callable[..., Any], args: list[Any],
                              fast_path: bool = True) -> None:
    with counting_rules() as counter:
        fast_outs, fast = linearized(fun, args, True)
    assert (counter.taken > 0) == fast_path, counter.taken
    slow_outs, slow = linearized(fun, args, False)
    for a, b in zip(fast_outs, slow_outs):
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype
    assert str(fast) == str(slow)
    assert len(fast.consts) == len(slow.consts)
    for a, b in zip(fast.consts, slow.consts):
        np.testing.assert_array_equal(a, b)


def test_every_rule_is_covered() -> None:
    """Every primitive with a one-step rule is exercised by a table below."""
    covered = {p.name for p in UNARY} | {p.name for p in BINARY} | set(LINEAR_CASES)
    ours = {v for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith(
        "fungrad.lax") for v in vars(m).values() if isinstance(v, Primitive)}
    uncovered = {p.name for p in linearize_rules if p in ours} - covered - NOT_PLAIN
    assert not uncovered, uncovered


dtypes = st.sampled_from([np.dtype(np.float64), np.dtype(np.float32)])
shapes = st.sampled_from([(3,), (2, 3), (4, 1)])


@st.composite
def in_domain(draw: st.DrawFn, lo: float, hi: float, shape: Any, dtype: Any) -> Any:
    return draw(arrays(np.float64, shape, elements=st.floats(lo, hi))).astype(dtype)


@pytest.mark.parametrize("prim", list(UNARY), ids=str)
@given(data=st.data(), shape=shapes, dtype=dtypes)
def test_unary_rule_matches_jvp_rule(prim: Any, data: Any, shape: Any, dtype: Any) -> None:
    x = data.draw(in_domain(*UNARY_DOMAINS[prim.name], shape, dtype))
    f = UNARY[prim]
    assert_same_linearization(lambda v: f(v) * 0.5 - f(v * 0.9), [x])
    # The same input twice: log's coefficient is x itself, a residual only once (a bug once).
    assert_same_linearization(lambda v: f(v) + f(v) * v, [x])


# How the second operand of a binary primitive is given: our tracer (the same one or another
# input), a plain array of the same shape, a 0-d constant, a Python float, or broadcast.
OPERANDS: dict[str, Callable[[Any, Any], Any]] = {
    "same_tracer": lambda v, w: v,
    "other_tracer": lambda v, w: w,
    "array": lambda v, w: np.linspace(0.5, 1.5, v.size).reshape(v.shape).astype(v.dtype),
    "scalar_0d": lambda v, w: np.asarray(1.25, v.dtype),
    "python_float": lambda v, w: 0.75,
    "broadcast": lambda v, w: np.ones((1,) * v.ndim, v.dtype) * 1.5,
}


@pytest.mark.parametrize("prim", list(BINARY), ids=str)
@pytest.mark.parametrize("kind", list(OPERANDS))
@pytest.mark.parametrize("swap", [False, True])
@given(data=st.data(), shape=shapes, dtype=dtypes)
def test_binary_rule_matches_jvp_rule(prim: Any, kind: str, swap: bool, data: Any,
                                      shape: Any, dtype: Any) -> None:
    x = data.draw(in_domain(-2, 2, shape, dtype))
    w = data.draw(in_domain(-2, 2, shape, dtype))
    f = BINARY[prim]

    def fun(v: Any, u: Any) -> Any:
        other = OPERANDS[kind](v, u)
        return f(other, v) if swap else f(v, other)
    assert_same_linearization(fun, [x, w], fast_path=kind != "broadcast")


def declined_cases() -> Iterator[tuple[str, Callable[..., Any], list[Any]]]:
    yield "0-d primal", lambda v: fnp.sin(v) * 2.0, [np.asarray(0.3)]
    yield "mixed shapes", lambda v, u: v * u, [np.ones((2, 3)), np.ones(3) * 2.0]
    yield "int operand", lambda v: lax.mul(fnp.arange(3), lax.convert_element_type(v, int)), \
        [np.ones(3)]
    yield "known tangent", lambda v: lax.sin(lax.mul(fungrad.lax.stop_gradient(v), 3.0)), \
        [np.ones(3)]
    yield "under jit", fungrad.jit(lambda v: fnp.tanh(v) * v), [np.ones((2, 3))]


@pytest.mark.parametrize("case", list(declined_cases()), ids=lambda c: c[0])
def test_declined_cases_match(case: Any) -> None:
    _, fun, args = case
    assert_same_linearization(fun, args, fast_path=False)


def test_vmap_inside_grad_takes_the_rules() -> None:
    """A vmap inside the differentiated function binds on concrete batched values."""
    assert_same_linearization(lambda v: fungrad.vmap(lambda r: fnp.tanh(r) * r)(v),
                              [np.linspace(-1, 1, 6).reshape(2, 3)])


def test_grad_with_and_without_rules_agree() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (5, 4))

    def loss(v: Any) -> Any:
        h = fnp.tanh(v * 1.5 + 0.1) - fnp.cos(v) * v
        return fnp.sum(fnp.exp(-h * h) + fnp.sqrt(h * h + 1.0))
    with eager_rules(True):
        fast = fungrad.value_and_grad(loss)(x)
        fast2 = fungrad.hessian(lambda v: loss(v.reshape(5, 4)))(x.ravel())
    with eager_rules(False):
        slow = fungrad.value_and_grad(loss)(x)
        slow2 = fungrad.hessian(lambda v: loss(v.reshape(5, 4)))(x.ravel())
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    np.testing.assert_array_equal(fast2, slow2)


def test_rules_off_inside_jit_and_nested_transforms() -> None:
    """Under jit, and for the inner grad of grad(grad(f)), primals are not concrete: the
    rules must stay out of the way, and derivatives keep composing."""
    f = lambda v: fnp.sin(v) * v  # noqa: E731
    d3 = fungrad.grad(fungrad.grad(fungrad.grad(lambda v: fnp.sum(f(v)))))
    x = np.asarray(0.7)
    want = -3 * np.sin(x) - x * np.cos(x)  # third derivative of x sin x
    np.testing.assert_allclose(d3(x), want, rtol=1e-13)
    np.testing.assert_allclose(fungrad.jit(d3)(x), want, rtol=1e-13)


def test_rules_resume_after_a_primitive_without_one() -> None:
    """Outputs of the general JVP path (here ``max``) are marked for the rules again."""
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    f = lambda v: fnp.sin(fnp.maximum(v, 0.1)) * 2.0  # noqa: E731
    with counting_rules() as counter:
        linearized(f, [x], True)
    assert counter.by_prim == {"sin": 1, "mul": 1}
    assert_same_linearization(f, [x])


def test_log_used_twice_matches_closed_form() -> None:
    """Found by tests/test_against_jax.py: the coefficient of log is x itself."""
    x = np.array([0.7, 1.2])
    g = fungrad.grad(lambda v: fnp.sum(fnp.log(v) + fnp.log(v) / v))(x)
    np.testing.assert_allclose(g, 1 / x + (1 - np.log(x)) / x ** 2, rtol=1e-14)


# Primitives linear in some operands (``deflinear``) and ``dot_general`` (bilinear): a use of each,
# on a plain float tracer ``v`` of shape (3, 4) and another input ``w`` of shape (4, 3).
LINEAR_CASES: dict[str, Callable[[Any, Any], Any]] = {
    "broadcast_in_dim": lambda v, w: fnp.broadcast_to(v, (2, 3, 4)),
    "reshape": lambda v, w: v.reshape(-1) * 1.0,
    "transpose": lambda v, w: v.T - w,
    "reduce_sum": lambda v, w: fnp.sum(v, axis=0) + fnp.sum(v),
    "concatenate": lambda v, w: fnp.concatenate([v, v * 2.0]),
    "rev": lambda v, w: lax.rev(v, (0,)),
    "cumsum": lambda v, w: fnp.cumsum(v, axis=1),
    "select": lambda v, w: fnp.where(np.arange(12).reshape(3, 4) % 2 == 0, v, v * 3.0),
    "dynamic_slice": lambda v, w: lax.dynamic_slice(v, (1, 0), (2, 4)),
    "dynamic_update_slice": lambda v, w: lax.dynamic_update_slice(v, v[:1] * 2.0, (2, 0)),
    "scatter_add": lambda v, w: v.at[np.array([0, 2])].add(v[1:]),
    "dot_general": lambda v, w: fnp.tanh(v @ w) + (v @ np.ones((4, 3))) + np.ones((3, 3)) @ w.T @ v.T,
}
# Rules that never see plain operands: the complex primitives (plain tracers are real floats),
# ``pad`` (its padding value is a constant), ``scatter`` (``set`` drops the tangent it replaces),
# ``fft`` (complex operands, or for ``rfft`` a complex result).
NOT_PLAIN = {"real", "imag", "conj", "complex", "pad", "scatter", "fft"}


@pytest.mark.parametrize("name", list(LINEAR_CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_rule_matches_jvp_rule(name: str, dtype: Any) -> None:
    rng = np.random.default_rng(0)
    v, w = rng.uniform(-1, 1, (3, 4)).astype(dtype), rng.uniform(-1, 1, (4, 3)).astype(dtype)
    with counting_rules() as counter:
        linearized(LINEAR_CASES[name], [v, w], True)
    assert counter.by_prim.get(name, 0) > 0, counter.by_prim
    assert_same_linearization(LINEAR_CASES[name], [v, w])
