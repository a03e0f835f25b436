"""fungrad.debug.print / callback: what JAX prints, eagerly, under jit, vmap, grad and loops."""
from __future__ import annotations

import bdb
import io
import sys
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


# ----------------------------------------------------------------------------- debug.breakpoint

def run_breakpoint(monkeypatch, capsys, commands, fn, *args):
    monkeypatch.setattr(sys, "stdin", io.StringIO(commands))
    out = fn(*args)
    return out, capsys.readouterr().out


def sin_cos(x):
    y, z = fnp.sin(x), fnp.cos(x)
    fungrad.debug.breakpoint()
    return y * z


TRANSFORMS = {"eager": (lambda f: f, np.sin(0.7) * np.cos(0.7)),
              "jit": (fungrad.jit, np.sin(0.7) * np.cos(0.7)),
              "grad": (fungrad.grad, np.cos(1.4)),
              "jit(grad)": (lambda f: fungrad.jit(fungrad.grad(f)), np.cos(1.4))}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_breakpoint_shows_run_time_values(monkeypatch, capsys, name):
    transform, want = TRANSFORMS[name]
    out, text = run_breakpoint(monkeypatch, capsys, "p y * z\nl\nc\n", transform(sin_cos), 0.7)
    assert "locals: x, y, z" in text
    assert str(np.sin(0.7) * np.cos(0.7)) in text
    assert f"y = array({np.sin(0.7):.8f})" in text
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_breakpoint_in_a_cond_branch_pauses_only_when_it_runs(monkeypatch, capsys):
    def check(x):
        def bad(x):
            fungrad.debug.breakpoint()
            return x

        return fungrad.lax.cond(fnp.isfinite(x).all(), lambda x: x, bad, x)

    f = fungrad.jit(check)
    _, text = run_breakpoint(monkeypatch, capsys, "c\n", f, np.array([1.0, 2.0]))
    assert "Entering" not in text
    _, text = run_breakpoint(monkeypatch, capsys, "p x\nc\n", f, np.array([1.0, np.nan]))
    assert "Entering" in text and "[ 1. nan]" in text


def test_breakpoint_commands(monkeypatch, capsys):
    f = fungrad.jit(sin_cos)
    _, text = run_breakpoint(monkeypatch, capsys, "p undefined_name\nw = y + 1\np w\nhelp\n", f, 0.5)
    assert "*** NameError" in text and str(np.sin(0.5) + 1) in text and "continue" in text
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
    with pytest.raises(bdb.BdbQuit):
        f(0.5)
