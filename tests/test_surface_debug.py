"""fungrad.debug.print / callback: what JAX prints, eagerly, under jit, vmap, grad and loops."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from jax_oracle import load_jax

import fungrad
import fungrad.numpy as fnp


def _programs(L: Any, xp: Any) -> dict[str, Callable[[], Any]]:
    x = np.arange(3.0)
    show = L.debug.print
    return {
        "eager": lambda: show("x = {x}, sum {}", xp.sum(x), x=x),
        "jit": lambda: L.jit(lambda v: show("v {} {:.2f}", v, v[0]))(x),
        "vmap": lambda: L.vmap(lambda v: show("x={x} y={}", v * 2, x=v))(x),
        "grad": lambda: L.grad(lambda v: (show("g {}", v), v ** 2)[1])(3.0),
        "jit_grad": lambda: L.jit(L.grad(lambda v: (show("g {}", v), xp.sin(v))[1]))(0.5),
        "scan": lambda: L.jit(lambda v: L.lax.scan(
            lambda c, e: (show("c {} e {}", c, e), (c + e, None))[1], 0.0, v))(x),
        "cond": lambda: L.jit(lambda v: L.lax.cond(
            v > 0, lambda u: (show("pos {}", u), u)[1], lambda u: u, v))(2.0),
        "constant": lambda: L.jit(lambda v: (show("const {}", 2.0), v)[1])(1.0),
    }


@pytest.mark.parametrize("name", list(_programs(fungrad, fnp)))
def test_prints_what_jax_prints(name: str, capsys: Any) -> None:
    jax = load_jax()
    for _ in range(2):  # jitted functions print on every call, not once per trace
        _programs(jax, jax.numpy)[name]()
    jax.effects_barrier()
    theirs = capsys.readouterr().out
    for _ in range(2):
        _programs(fungrad, fnp)[name]()
    ours = capsys.readouterr().out
    assert ours == theirs and ours


def test_callback_and_jaxpr() -> None:
    seen: list[Any] = []
    f = fungrad.jit(lambda x: (fungrad.debug.callback(seen.append, x * 2), x)[1])
    f(np.float64(1.0))
    f(np.float64(2.0))
    assert [float(s) for s in seen] == [2.0, 4.0]
    jaxpr = fungrad.make_jaxpr(lambda x: fungrad.debug.print("{}", x))(1.0)
    assert [e.primitive.name for e in jaxpr.eqns] == ["debug_callback"]
