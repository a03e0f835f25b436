#!/usr/bin/env python
"""The seed experiment: stepwise Levenberg-Marquardt against gradient descent and momentum.

    python bench/lm_vs_gd.py [--threshold 1e-3] [--budget 20000]

A 2-16-16-1 tanh network fits ``y = sin(2 x1) cos(x2)`` on 256 points of [-2, 2]^2 (full batch,
``mean((f - y)**2)``), from one seeded initialization. Each method runs jitted steps until the loss is below
the threshold or the step budget is spent; wall time counts the steps (compilation excluded, one warm-up
step). Gradient descent and momentum (heavy ball, 0.9) get the best learning rate of a small grid, each
rate run separately; Levenberg-Marquardt runs with its defaults (``hessian_free``: damping 1, 8 CG
iterations) on the GGN and on the Gaussian Fisher (which for this loss is the GGN halved).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import fungrad  # noqa: E402
import fungrad.numpy as fnp  # noqa: E402
from bench.curvature import mlp_logits as mlp  # noqa: E402
from fungrad.optim.hessian_free import hessian_free  # noqa: E402
from fungrad.tree_util import tree_map  # noqa: E402


def mse(f, y):
    return fnp.mean((f - y) ** 2)


def problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, (256, 2))
    y = (np.sin(2 * x[:, 0]) * np.cos(x[:, 1]))[:, None]
    params = [(rng.standard_normal((i, o)) / np.sqrt(i), np.zeros(o)) for i, o in ((2, 16), (16, 16), (16, 1))]
    return params, x, y


def run(step, state, params, threshold, budget):
    """Steps and seconds until ``loss < threshold`` (None if the budget runs out), and the final loss."""
    step(state, params)                     # compile outside the clock
    t0 = time.perf_counter()
    for k in range(1, budget + 1):
        state, params, loss = step(state, params)
        if loss < threshold:
            return k, time.perf_counter() - t0, float(loss)
    return None, time.perf_counter() - t0, float(loss)


def first_order(x, y, lr, momentum):
    value_and_grad = fungrad.value_and_grad(lambda p: mse(mlp(p, x), y))

    @fungrad.jit
    def step(velocity, params):
        loss, g = value_and_grad(params)
        velocity = tree_map(lambda v, g: momentum * v + g, velocity, g)
        return velocity, tree_map(lambda p, v: p - lr * v, params, velocity), loss
    return step


def levenberg_marquardt(x, y, curvature):
    opt = hessian_free(mlp, mse, curvature=curvature, likelihood="gaussian")
    value_and_grad = fungrad.value_and_grad(lambda p: mse(mlp(p, x), y))

    @fungrad.jit
    def step(state, params):
        loss, g = value_and_grad(params)
        updates, state = opt.update(g, state, params, inputs=x, targets=y, value=loss)
        return state, tree_map(lambda p, u: p + u, params, updates), loss
    return step, opt


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threshold", type=float, default=1e-3)
    ap.add_argument("--budget", type=int, default=20000)
    args = ap.parse_args(argv)
    np.seterr(all="ignore")                 # the largest learning rates diverge, on purpose
    params, x, y = problem()
    zeros = tree_map(np.zeros_like, params)
    print(f"2-16-16-1 tanh regression, 256 points, initial loss {float(mse(mlp(params, x), y)):.4f}, "
          f"threshold {args.threshold:g}, budget {args.budget} steps")
    print(f"{'method':<34} {'steps':>8} {'wall time':>11} {'per step':>10} {'final loss':>11}")
    rows = []
    for name, momentum, rates in (("gradient descent", 0.0, (0.03, 0.1, 0.3, 1.0)),
                                  ("momentum 0.9", 0.9, (0.003, 0.01, 0.03, 0.1))):
        results = [(lr, run(first_order(x, y, lr, momentum), zeros, params, args.threshold, args.budget))
                   for lr in rates]
        reached = [r for r in results if r[1][0] is not None]
        final = lambda r: r[1][2] if np.isfinite(r[1][2]) else np.inf
        lr, best = min(reached, key=lambda r: r[1][0]) if reached else min(results, key=final)
        rows.append((f"{name} (best lr {lr:g})", best))
    for curvature in ("ggn", "fisher"):
        step, opt = levenberg_marquardt(x, y, curvature)
        rows.append((f"stepwise LM, {curvature}", run(step, opt.init(params), params, args.threshold, args.budget)))
    for name, (steps, seconds, loss) in rows:
        shown = str(steps) if steps is not None else f">{args.budget}"
        per = seconds / (steps or args.budget)
        print(f"{name:<34} {shown:>8} {seconds:>10.3f}s {per * 1e3:>8.3f}ms {loss:>11.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
