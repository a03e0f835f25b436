"""Operands that do not broadcast: one error, in the user's shapes, naming the user's line and
saying what to do, whichever transform is running (under vmap: the shapes of one example)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad import grad, jit, jvp, vjp, vmap
from fungrad.errors import BroadcastError
from fungrad.lax.registry import broadcast_shapes

A, B = np.ones(3), np.ones(4)
XS = np.ones((5, 3))

PLAIN: dict[str, Callable[[], Any]] = {
    "numpy_add": lambda: fnp.add(A, B),
    "numpy_where": lambda: fnp.where(A > 0, A, B),
    "grad": lambda: grad(lambda x: (x * B).sum())(A),
    "vjp": lambda: vjp(lambda x: x + B, A),
    "jvp": lambda: jvp(lambda x: x - B, (A,), (A,)),
    "hessian": lambda: fungrad.hessian(lambda x: (fnp.sin(x) * B).sum())(A),
    "jit": lambda: jit(lambda x: x * B)(A),
}

BATCHED: dict[str, Callable[[], Any]] = {
    "vmap": lambda: vmap(lambda x: x * B)(XS),
    "vmap_two_mapped": lambda: vmap(lambda x, y: x + y)(XS, np.ones((5, 4))),
    "vmap_in_axes_1": lambda: vmap(lambda x, y: x + y, in_axes=(0, 1))(XS, np.ones((4, 5))),
    "vmap_of_grad": lambda: vmap(grad(lambda x: (x * B).sum()))(XS),
    "grad_of_vmap": lambda: grad(lambda x: vmap(lambda r: r * B)(x).sum())(XS),
    "jit_of_vmap": lambda: jit(vmap(lambda x: x * B))(XS),
    "vmap_of_vmap": lambda: vmap(vmap(lambda x: x * B))(np.ones((2, 5, 3))),
}


def _error(program: Callable[[], Any]) -> str:
    with pytest.raises(BroadcastError) as info:
        program()
    assert isinstance(info.value, ValueError)   # as NumPy's own error is
    return str(info.value)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_broadcast_error_names_shapes_line_and_remedy(name: str) -> None:
    message = _error(PLAIN[name])
    assert "(3,)" in message and "(4,)" in message and "do not broadcast" in message
    assert "expand_dims" in message                        # what to do
    assert message.splitlines()[-1].startswith(f"  at {__file__}:")
    assert "vmap" not in message


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_under_vmap_the_error_shows_the_shapes_of_one_example(name: str) -> None:
    message = _error(BATCHED[name])
    assert "(3,) and (4,)" in message, message
    assert "(5, 3)" not in message and "(5, 4)" not in message and "(4, 5)" not in message
    assert "vmap maps operand" in message and "of size" in message
    assert message.splitlines()[-1].startswith(f"  at {__file__}:")


def test_the_batch_axis_and_its_name_are_reported() -> None:
    message = _error(lambda: vmap(lambda x, y: x + y, axis_name="batch")(XS, np.ones((5, 4))))
    assert "vmap maps operands 0 and 1 over the axis 'batch' of size 5" in message
    message = _error(lambda: vmap(lambda x: B * x)(XS))
    assert "vmap maps operand 1 over an axis of size 5" in message


def test_an_error_inside_a_nested_rule_keeps_its_own_operation() -> None:
    """The vmap of a custom rule rewrites the failing multiply, not the custom call around it."""
    @fungrad.custom_jvp
    def f(x: Any) -> Any:
        return x * 2.0

    f.defjvp(lambda p, t: (f(p[0]), t[0] * B))
    message = _error(lambda: jvp(vmap(f), (XS,), (XS,)))
    assert message.startswith("mul: operand shapes (3,) and (4,)"), message


@pytest.mark.parametrize("name", sorted(PLAIN) + sorted(BATCHED))
def test_jax_refuses_the_same_programs(name: str) -> None:
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    programs = {
        "numpy_add": lambda: jnp.add(A, B), "numpy_where": lambda: jnp.where(A > 0, A, B),
        "grad": lambda: jax.grad(lambda x: (x * B).sum())(A),
        "vjp": lambda: jax.vjp(lambda x: x + B, A),
        "jvp": lambda: jax.jvp(lambda x: x - B, (A,), (A,)),
        "hessian": lambda: jax.hessian(lambda x: (jnp.sin(x) * B).sum())(A),
        "jit": lambda: jax.jit(lambda x: x * B)(A),
        "vmap": lambda: jax.vmap(lambda x: x * B)(XS),
        "vmap_two_mapped": lambda: jax.vmap(lambda x, y: x + y)(XS, np.ones((5, 4))),
        "vmap_in_axes_1": lambda: jax.vmap(lambda x, y: x + y, in_axes=(0, 1))(
            XS, np.ones((4, 5))),
        "vmap_of_grad": lambda: jax.vmap(jax.grad(lambda x: (x * B).sum()))(XS),
        "grad_of_vmap": lambda: jax.grad(lambda x: jax.vmap(lambda r: r * B)(x).sum())(XS),
        "jit_of_vmap": lambda: jax.jit(jax.vmap(lambda x: x * B))(XS),
        "vmap_of_vmap": lambda: jax.vmap(jax.vmap(lambda x: x * B))(np.ones((2, 5, 3))),
    }
    with pytest.raises((TypeError, ValueError)):
        programs[name]()


@given(st.lists(st.lists(st.integers(0, 3), max_size=4).map(tuple), min_size=1, max_size=3))
def test_shape_rules_broadcast_as_numpy_does(shapes: list[tuple[int, ...]]) -> None:
    """The shape rules' own broadcasting (in Python, for speed) agrees with NumPy's, refusals
    included; sizes 0 and 1 are drawn often, where the rules differ."""
    try:
        want: Any = np.broadcast_shapes(*shapes)
    except ValueError:
        want = BroadcastError
    try:
        got: Any = broadcast_shapes("add", *shapes)
    except BroadcastError:
        got = BroadcastError
    assert got == want, shapes
