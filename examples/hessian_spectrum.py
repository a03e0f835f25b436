"""The curvature of a trained network: top eigenvalues (Lanczos) and the spectral density (SLQ).

Train a small MLP on the digits, then look at two curvature matrices of its training loss, never
formed, only multiplied with vectors (``fungrad.optim.curvature``):

- the Hessian ``H`` (forward-over-reverse products), which can have negative eigenvalues;
- the generalized Gauss-Newton ``G = J^T H_L J``, positive semi-definite for cross-entropy.

``eigsh`` finds the largest eigenvalues by Lanczos iteration; ``spectral_density`` estimates the
whole eigenvalue density by stochastic Lanczos quadrature. Typical of trained networks: a bulk
near zero and a few outliers (about one per class), with H and G agreeing on the outliers. The
largest eigenvalue also bounds gradient descent's stable step size, 2 / lambda_max.

Run: python examples/hessian_spectrum.py [--fast] [--out DIR]
"""
from __future__ import annotations

import time

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import nn
from fungrad.flatten_util import ravel_pytree
from fungrad.optim import curvature

from example_util import init_mlp, load_digits, mlp_logits, output_dir, parse_args, pyplot, save


def cross_entropy(logits, y):
    """Mean softmax cross-entropy against one-hot targets: the loss as a function of the outputs."""
    return -fnp.mean(fnp.sum(y * nn.log_softmax(logits), axis=-1))


def loss(params, x, y):
    return cross_entropy(mlp_logits(params, x), y)


def train(params, x, y, steps, lr):
    """Full-batch gradient descent, one compiled step per iteration."""
    step = fungrad.jit(fungrad.value_and_grad(loss))
    for _ in range(steps):
        value, grads = step(params, x, y)
        params = fungrad.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, float(value)


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = parse_args(__doc__, argv)
    x, labels, x_test, labels_test = load_digits()
    y = np.eye(10)[labels]
    hidden, steps, k, probes, lanczos_steps = (16, 300, 4, 3, 30) if args.fast else (32, 1000, 10, 6, 60)
    rng = np.random.default_rng(0)
    lr = 0.5
    params, value = train(init_mlp(rng, [64, hidden, 10]), x, y, steps, lr)
    n = ravel_pytree(params)[0].size
    accuracy = np.mean(np.argmax(np.asarray(mlp_logits(params, x_test)), axis=-1) == labels_test)
    print(f"MLP 64-{hidden}-10 ({n} parameters) after {steps} steps of gradient descent (lr {lr}): "
          f"training loss {value:.4f}, test accuracy {accuracy:.3f}")

    if args.fast:  # the curvature of the loss on a subset of the training set
        x, y = x[:300], y[:300]
    H = curvature.hessian_operator(loss, params, x, y)
    G = curvature.ggn_operator(mlp_logits, cross_entropy, params, x, y)
    top = {}
    for name, op in (("Hessian", H), ("GGN", G)):
        start = time.perf_counter()
        values, _ = curvature.eigsh(op, k=k)
        top[name] = values[::-1]
        print(f"\ntop {k} eigenvalues of the {name} on {len(x)} examples "
              f"(Lanczos, {time.perf_counter() - start:.2f} s):")
        print("  " + " ".join(f"{v:8.4f}" for v in top[name]))
    # The smallest eigenvalues sit in a cluster near zero: Lanczos needs more steps, a looser tolerance.
    smallest = curvature.eigsh(H, k=1, which="SA", tol=1e-6, maxiter=500)[0][0]
    print(f"\nsmallest Hessian eigenvalue {smallest:.2e} (the GGN is positive semi-definite); "
          f"2 / lambda_max = {2 / top['Hessian'][0]:.2f} (the step size used: {lr})")

    span = 1.1 * top["Hessian"][0]
    grid = np.linspace(-0.1 * span, span, 600)
    densities = {}
    for name, op in (("Hessian", H), ("GGN", G)):
        start = time.perf_counter()
        densities[name] = curvature.spectral_density(op, probes, lanczos_steps, grid, sigma=0.01 * span)
        near_zero = np.abs(grid) < 0.01 * span
        print(f"{name} spectral density: {probes} probes x {lanczos_steps} Lanczos steps "
              f"({time.perf_counter() - start:.2f} s); share of eigenvalues within 1% of lambda_max "
              f"of zero: {np.trapezoid(densities[name][near_zero], grid[near_zero]):.2f}")

    plt = pyplot()
    if plt is not None:
        out = output_dir(args.out, "hessian_spectrum")
        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
        for i, name in enumerate(("Hessian", "GGN")):
            left.plot(np.arange(1, k + 1) + 0.1 * i, top[name], "o", label=name)
            right.semilogy(grid, np.maximum(densities[name], 1e-6), label=name)
        left.set(xlabel="rank", ylabel="eigenvalue", title=f"top {k} eigenvalues (Lanczos)")
        right.set(xlabel="eigenvalue", ylabel="density", ylim=(1e-5, None),
                  title="spectral density (stochastic Lanczos quadrature)")
        left.legend()
        right.legend()
        save(fig, out, "hessian_spectrum.png")
    return {"params": params, "x": x, "y": y, "top": top, "smallest": smallest, "grid": grid,
            "densities": densities, "accuracy": accuracy}


if __name__ == "__main__":
    main()
