"""What fungrad sees: the program (jaxpr) of a function, of its gradient, of its vmap, and of its jit.

fungrad traces a pure function into a small typed program, a *jaxpr*. Every transform is an
interpreter over such programs, and its result is again a program you can print. This tour prints
them for a one-layer least-squares loss, then shows what ``jit`` makes of the gradient: the optimized
jaxpr, the NumPy source it generates, and what reverse mode saves for the backward pass.

Run: python examples/jaxpr_tour.py   (no plots; ``--fast`` is the same run)
"""
from __future__ import annotations

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import grad, jit, lax, make_jaxpr, vmap

from example_util import parse_args


def predict(w, x):
    return fnp.tanh(x @ w)


def loss(w, x, y):
    return fnp.mean((predict(w, x) - y) ** 2)


def double_or_negate(x):
    """Python ``if`` on a traced value is an error under jit; lax.cond stages both branches."""
    return lax.cond(fnp.sum(x) > 0, lambda v: v * 2.0, lambda v: -v, x)


def section(title: str) -> None:
    print(f"\n=== {title}")


def main(argv: list[str] | None = None) -> dict[str, object]:
    parse_args(__doc__, argv)
    rng = np.random.default_rng(0)
    w, x, y = 0.1 * rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(4)

    section("make_jaxpr(loss): the forward program, one equation per primitive")
    forward = make_jaxpr(loss)(w, x, y)
    print(forward)

    section("make_jaxpr(grad(loss)): forward and backward in one program (reverse mode is jvp, "
            "partial evaluation and transposition)")
    backward = make_jaxpr(grad(loss))(w, x, y)
    print(backward)

    section("make_jaxpr(vmap(grad(loss), in_axes=(None, 0, 0))): per-example gradients; the batch "
            "axis rides through dot_general")
    print(make_jaxpr(vmap(grad(loss), in_axes=(None, 0, 0)))(w, x, y))

    section("jit(grad(loss)).lower(...).jaxpr: after DCE, CSE, constant folding and simplification")
    lowered = jit(grad(loss)).lower(w, x, y)
    print(lowered.jaxpr)
    n_before, n_after = len(backward.eqns), len(lowered.jaxpr.eqns)
    print(f"{n_before} equations traced, {n_after} after optimization")

    section("... and the NumPy source it compiles to (out= writes in place into dead buffers; "
            "del frees them)")
    print(lowered.source)
    names = sorted(n for n in lowered.compiled.globals if n.startswith("g") and n[1:].isdigit())
    for name in names:
        value = lowered.compiled.globals[name]
        shown = getattr(value, "__name__", None) or np.array2string(np.asarray(value), precision=3)
        print(f"  {name} = {shown}")

    section("print_saved_residuals(loss, ...): what reverse mode keeps for the backward pass")
    fungrad.print_saved_residuals(loss, w, x, y)

    section("make_jaxpr(jit(loss)): a jitted function is one `jit` equation inside an outer program")
    print(make_jaxpr(jit(loss))(w, x, y))

    section("make_jaxpr(double_or_negate): control flow is a primitive whose parameters are jaxprs")
    print(make_jaxpr(double_or_negate)(x[0]))

    g_jit = jit(grad(loss))(w, x, y)
    g_eager = grad(loss)(w, x, y)
    print(f"\njit(grad) and eager grad agree to {np.max(np.abs(g_jit - g_eager)):.1e}")
    return {"equations_traced": n_before, "equations_optimized": n_after,
            "grad_jit": g_jit, "grad_eager": g_eager}


if __name__ == "__main__":
    main()
