"""Aux data of registered pytree nodes: unhashable containers work (as in JAX), arrays are refused
with an error naming the node type and the user's line where a structure is hashed or compared.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import fungrad
from fungrad import tree_util


class Node:
    """One child, ``x``, and aux data of any kind."""

    def __init__(self, x: Any, aux: Any) -> None:
        self.x, self.aux = x, aux


def _register(tu: Any) -> None:
    try:
        tu.register_pytree_node(Node, lambda n: ((n.x,), n.aux), lambda a, ch: Node(ch[0], a))
    except ValueError:  # registered already (a second call of this helper)
        pass


_register(tree_util)

CONTAINERS: dict[str, Callable[[int], Any]] = {
    "dict": lambda k: {"k": k, "name": "a"},
    "list": lambda k: [k, "a"],
    "set": lambda k: {k, "a"},
    "nested": lambda k: ({"k": [k]}, "a"),
}


def _k(aux: Any) -> int:
    """The integer a CONTAINERS value was made from."""
    if isinstance(aux, dict):
        return int(aux["k"])
    if isinstance(aux, tuple):
        return int(aux[0]["k"][0])
    return next(v for v in aux if isinstance(v, int))


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_unhashable_container_aux_data_works_everywhere(kind: str) -> None:
    make = CONTAINERS[kind]
    traces: list[int] = []

    def f(n: Node) -> Any:
        traces.append(1)
        return n.x * _k(n.aux)

    jf = fungrad.jit(f)
    assert jf(Node(2.0, make(3))) == 6.0
    assert jf(Node(5.0, make(3))) == 15.0          # equal aux data: a cache hit
    assert len(traces) == 1
    assert jf(Node(2.0, make(4))) == 8.0           # different aux data: traced again
    assert len(traces) == 2
    assert tree_util.tree_structure(Node(1.0, make(3))) == tree_util.tree_structure(
        Node(2.0, make(3)))
    assert tree_util.tree_structure(Node(1.0, make(3))) != tree_util.tree_structure(
        Node(2.0, make(4)))
    assert fungrad.grad(lambda n: n.x ** 2)(Node(3.0, make(1))).x == 6.0
    np.testing.assert_allclose(fungrad.vmap(f)(Node(np.arange(3.0), make(2))), [0.0, 2.0, 4.0])
    summed = tree_util.tree_map(lambda a, b: a + b, Node(1.0, make(1)), Node(2.0, make(1)))
    assert summed.x == 3.0 and summed.aux == make(1)
    out = fungrad.jit(lambda x: Node(x, make(7)))(1.0)
    assert out.aux == make(7)


def test_aux_data_edited_in_place_after_a_jit_call_is_seen() -> None:
    """A jit cache keyed on aux data keeps its own copy (JAX keeps the caller's object, so an
    edit in place silently reuses the old trace there)."""
    aux = {"k": 1}
    f = fungrad.jit(lambda n: n.x * n.aux["k"])
    node = Node(1.0, aux)
    assert f(node) == 1.0
    aux["k"] = 5
    assert f(node) == 5.0
    lst = [1]
    g = fungrad.jit(lambda n: n.x * len(n.aux))
    assert g(Node(1.0, lst)) == 1.0
    lst.append(2)
    assert g(Node(1.0, lst)) == 2.0


@pytest.mark.parametrize("aux", [np.ones(3), np.ones(1), {"mask": np.ones(2)}, [np.zeros(2)]],
                         ids=["array", "array1", "dict_of_array", "list_of_array"])
def test_array_aux_data_under_jit_is_a_clear_error(aux: Any) -> None:
    with pytest.raises(ValueError, match=r"pytree node type Node holds an array.*\n  at .*"
                                         r"test_tree_aux_data"):
        fungrad.jit(lambda n: n.x * 2.0)(Node(1.0, aux))
    # Transforms that never compare structures take it, as in JAX.
    assert fungrad.grad(lambda n: n.x * 2.0)(Node(1.0, aux)).x == 2.0
    np.testing.assert_allclose(fungrad.vmap(lambda n: n.x * 2.0)(Node(np.ones(2), aux)), [2, 2])


def test_comparing_structures_with_array_aux_data_names_the_node() -> None:
    a, b = (tree_util.tree_structure(Node(1.0, np.arange(3.0))) for _ in range(2))
    with pytest.raises(ValueError, match="node type Node holds an array.*children"):
        _ = a == b
    with pytest.raises(ValueError, match="node type Node holds an array"):
        tree_util.tree_map(lambda u, v: u + v, Node(1.0, np.arange(3.0)),
                           Node(1.0, np.arange(3.0)))
    same = np.arange(3.0)   # the same array object: identical, so equal without comparing
    assert tree_util.tree_structure(Node(1.0, same)) == tree_util.tree_structure(Node(2.0, same))


def test_jax_agrees_on_what_works() -> None:
    jax = pytest.importorskip("jax")
    _register(jax.tree_util)
    for make in CONTAINERS.values():
        assert float(jax.jit(lambda n: n.x * _k(n.aux))(Node(2.0, make(3)))) == 6.0
    # JAX takes an array as aux data until a second call compares two of them; fungrad refuses
    # it at the first call, so the outcome does not depend on the call history.
    jf = jax.jit(lambda n: n.x * 2.0)
    jf(Node(1.0, np.ones(3)))
    with pytest.raises(ValueError, match="arrays cannot be passed as metadata"):
        jf(Node(1.0, np.ones(3)))
    assert float(jax.grad(lambda n: n.x * 2.0)(Node(1.0, np.ones(3))).x) == 2.0
