"""What mutation safety costs: ``vjp`` with its residuals protected against in-place edits of
the caller's arrays, against the same linearization without the protection.

The protection copies only residuals whose memory belongs to an input, a closed-over array or an
output. For the MLP loss those are the weights and the batch (saved for the weight gradients);
the activations, computed inside, are not copied. Blocks of the two variants alternate and the
medians of the per-block times are reported with their ratio.

    python bench/mutation_cost.py
"""
import functools
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import fungrad.nn as fnn  # noqa: E402
import fungrad.numpy as fnp  # noqa: E402
from bench.models import mlp_loss  # noqa: E402
from fungrad.interpreters.reverse import linearize_flat  # noqa: E402
from fungrad.interpreters.transpose import backward_pass  # noqa: E402


def _params(sizes, rng):
    return [rng.standard_normal((m, n)) / np.sqrt(m) for m, n in zip(sizes[:-1], sizes[1:])]


def _case(sizes, batch):
    rng = np.random.default_rng(0)
    ws = _params(sizes, rng)
    bs = [np.zeros(n) for n in sizes[1:]]
    x = rng.standard_normal((batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    loss = functools.partial(mlp_loss, fnp, fnn)
    leaves = [*ws, *bs]
    k = len(ws)

    def flat(*ps):
        return [loss(list(zip(ps[:k], ps[k:])), x, y)]

    def run(keep):
        outs, linear = linearize_flat(flat, leaves, keep=keep)
        return backward_pass(linear, linear.consts, [np.ones(())])
    return run


def _block(fn, loops):
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t0) / loops


def main(blocks=21):
    for name, sizes, batch in [("MLP 784-256-256-10, batch 128", (784, 256, 256, 10), 128),
                               ("MLP 64-32-10, batch 32", (64, 32, 10), 32)]:
        run = _case(sizes, batch)
        for keep in (False, True):
            run(keep)
        t1 = time.perf_counter()
        run(False)
        loops = max(1, int(0.02 / max(time.perf_counter() - t1, 1e-6)))
        plain, kept = [], []
        for _ in range(blocks):
            plain.append(_block(lambda: run(False), loops))
            kept.append(_block(lambda: run(True), loops))
        p, q = statistics.median(plain), statistics.median(kept)
        print(f"{name}: eager vjp+pullback unprotected {p * 1e6:.0f} us, "
              f"protected {q * 1e6:.0f} us, ratio {q / p:.3f}")


if __name__ == "__main__":
    main()
