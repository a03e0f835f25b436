"""First-call cost of loss+grad for the mlp_small problem, in a fresh process.

Usage: ``python bench/coldstart.py {numpy,fungrad,jax}``.  Prints one number:
seconds from building ``jit(value_and_grad(loss))`` to having its first result
(tracing, optimisation and compilation included).  Imports and input creation
happen before the clock starts.  ``numpy`` times the hand-written version's
first call, the cold baseline.
"""
import functools
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench import handwritten, models, peers  # noqa: E402


def main(impl):
    params, x, y = models.mlp_inputs(**models.MLP_SMALL)
    if impl == "numpy":
        t0 = time.perf_counter()
        handwritten.mlp_value_and_grad(params, x, y)
        return time.perf_counter() - t0
    fe = {"fungrad": peers.fungrad_frontend, "jax": peers.jax_frontend}[impl]()
    loss = functools.partial(models.mlp_loss, fe.xp, fe.nn)
    params, x, y = fe.put((params, x, y))
    jit, value_and_grad, block = fe.jit, fe.value_and_grad, fe.block
    t0 = time.perf_counter()
    block(jit(value_and_grad(loss))(params, x, y))
    return time.perf_counter() - t0


if __name__ == "__main__":
    print(repr(main(sys.argv[1])))
