"""First-order against second-order optimization on the same small network.

A 1-32-32-1 tanh network fits a wiggly curve (least squares, full batch). Five optimizers start
from the same weights and run jitted steps until the loss drops below a threshold:

- gradient descent, momentum and Adam (``optim.sgd``, ``optim.sgd(momentum=0.9)``, ``optim.adam``),
  each with the best learning rate of a small grid (each rate is a separate run);
- stepwise Levenberg-Marquardt (``optim.hessian_free``), which solves ``(C + lambda I) d = -g`` by a few
  conjugate-gradient steps on matrix-free curvature products, ``C`` being the generalized
  Gauss-Newton matrix or the Fisher, and adapts ``lambda`` by how well its quadratic model
  predicted the decrease. It runs with its default settings: no learning rate to tune.

The table gives steps and seconds to the threshold (compilation excluded); the plot shows the
loss curves against steps and against time. A second-order step costs more than a gradient step,
so the fair comparison is the seconds column.

Run: python examples/second_order.py [--fast] [--threshold T] [--out DIR]
"""
from __future__ import annotations

import time

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import optim
from fungrad.optim import hessian_free

from example_util import init_mlp, make_parser, mlp_logits, output_dir, pyplot, save


def mean_squared_error(outputs, targets):
    return fnp.mean((outputs - targets) ** 2)


def curve(n):
    x = np.linspace(-3.0, 3.0, n)[:, None]
    return x, np.sin(2.0 * x) * np.exp(-0.1 * x ** 2) + 0.3 * x


def first_order_step(optimizer, x, y):
    """One jitted step of an optax-style optimizer: (params, state) -> (params, state, loss)."""
    loss = lambda params: mean_squared_error(mlp_logits(params, x), y)

    @fungrad.jit
    def step(params, state):
        value, grads = fungrad.value_and_grad(loss)(params)
        updates, state = optimizer.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value
    return step


def levenberg_marquardt_step(optimizer, x, y):
    """One jitted Levenberg-Marquardt step; its update takes the batch to build curvature products."""
    loss = lambda params: mean_squared_error(mlp_logits(params, x), y)

    @fungrad.jit
    def step(params, state):
        value, grads = fungrad.value_and_grad(loss)(params)
        updates, state = optimizer.update(grads, state, params, inputs=x, targets=y, value=value)
        return optim.apply_updates(params, updates), state, value
    return step


def run(step, params, state, threshold, budget):
    """Step until the loss is below ``threshold``: (steps or None, seconds, loss history, time stamps)."""
    step(params, state)                     # compile before the clock starts
    losses, stamps, start = [], [], time.perf_counter()
    for k in range(1, budget + 1):
        params, state, value = step(params, state)
        losses.append(float(value))
        stamps.append(time.perf_counter() - start)
        if not np.isfinite(losses[-1]):
            break
        if losses[-1] < threshold:
            return k, stamps[-1], losses, stamps
    return None, stamps[-1], losses, stamps


def main(argv: list[str] | None = None) -> dict[str, tuple]:
    parser = make_parser(__doc__)
    parser.add_argument("--threshold", type=float, default=None, help="default 1e-4 (--fast: 3e-3)")
    args = parser.parse_args(argv)
    threshold, budget = (3e-3, 1500) if args.fast else (1e-4, 10000)
    threshold = args.threshold or threshold
    x, y = curve(128)
    params = init_mlp(np.random.default_rng(0), [1, 32, 32, 1])
    print(f"1-32-32-1 tanh network, {len(x)} points, initial loss "
          f"{float(mean_squared_error(mlp_logits(params, x), y)):.3f}; steps to loss < {threshold:g} "
          f"(budget {budget})")
    np.seterr(all="ignore")  # the largest learning rates of each grid may diverge, on purpose
    grids = {"gradient descent": (lambda lr: optim.sgd(lr), (0.03, 0.1, 0.3)),
             "momentum 0.9": (lambda lr: optim.sgd(lr, momentum=0.9), (0.01, 0.03, 0.1)),
             "Adam": (lambda lr: optim.adam(lr), (0.01, 0.03, 0.1))}
    results = {}
    for name, (make, rates) in grids.items():
        runs = []
        for lr in rates:
            opt = make(lr)
            runs.append((lr, run(first_order_step(opt, x, y), params, opt.init(params), threshold, budget)))
        # The best rate: fewest steps to the threshold, else the lowest final loss.
        lr, best = min(runs, key=lambda r: (r[1][0] or budget + 1, r[1][2][-1] if np.isfinite(r[1][2][-1])
                                            else np.inf))
        results[f"{name} (lr {lr:g})"] = best
    for curvature, label in (("ggn", "GGN"), ("fisher", "Fisher")):
        opt = hessian_free(mlp_logits, mean_squared_error, curvature=curvature, likelihood="gaussian")
        results[f"Levenberg-Marquardt, {label}"] = run(
            levenberg_marquardt_step(opt, x, y), params, opt.init(params), threshold, budget)

    print(f"\n{'method':<36}{'steps':>7}{'seconds':>10}{'ms/step':>9}{'final loss':>12}")
    for name, (steps, seconds, losses, _) in results.items():
        shown = str(steps) if steps else f">{len(losses)}"
        print(f"{name:<36}{shown:>7}{seconds:>10.3f}{1e3 * seconds / len(losses):>9.3f}{losses[-1]:>12.2e}")

    plt = pyplot()
    if plt is not None:
        fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 3.8))
        for name, (_, _, losses, stamps) in results.items():
            by_step.loglog(np.arange(1, len(losses) + 1), losses, label=name)
            by_time.loglog(stamps, losses, label=name)
        for ax, label in ((by_step, "step"), (by_time, "seconds (compilation excluded)")):
            ax.axhline(threshold, color="gray", ls="--", lw=0.8)
            ax.set(xlabel=label, ylabel="training loss", title=f"loss against {label.split()[0]}")
        by_step.legend(fontsize=8)
        save(fig, output_dir(args.out, "second_order"), "second_order.png")
    return results


if __name__ == "__main__":
    main()
