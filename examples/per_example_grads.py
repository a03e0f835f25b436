"""Per-example gradients with ``vmap(grad)``, against a Python loop, and a use for them.

``grad`` of a loss over a batch gives one gradient, the mean. ``vmap(grad(loss_one), in_axes=(None, 0, 0))``
gives one gradient per example in a single vectorized program (and ``jit`` compiles it). The same
numbers come out of a Python loop over the examples, much more slowly.

A use: train an MLP on the digits after flipping the labels of 5% of the training set, then rank the
training examples by the norm of their own gradient. The examples the model cannot fit, mostly the
mislabelled ones, come out on top.

Run: python examples/per_example_grads.py [--fast] [--out DIR]
"""
from __future__ import annotations

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import nn
from fungrad.flatten_util import ravel_pytree

from example_util import (
    init_mlp, load_digits, median_seconds, mlp_logits, output_dir, parse_args, pyplot, save,
)

FLIPPED_FRACTION = 0.05


def loss_one(params, x, label):
    """Cross-entropy of one example (x: 64 pixels, label: an integer)."""
    return -nn.log_softmax(mlp_logits(params, x))[label]


def mean_loss(params, x, labels):
    return fnp.mean(fungrad.vmap(loss_one, in_axes=(None, 0, 0))(params, x, labels))


def flatten_rows(per_example):
    """A pytree of per-example gradients (leading axis: examples) as one matrix, a row per example."""
    return np.concatenate([leaf.reshape(len(leaf), -1)
                           for leaf in fungrad.tree_util.tree_leaves(per_example)], axis=1)


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    x, labels, _, _ = load_digits()
    rng = np.random.default_rng(1)
    flipped = rng.choice(len(x), int(FLIPPED_FRACTION * len(x)), replace=False)
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, 10, len(flipped))) % 10
    params = init_mlp(rng, [64, 32, 10])

    steps = 150 if args.fast else 600
    step = fungrad.jit(fungrad.value_and_grad(mean_loss))
    for i in range(steps):
        value, grads = step(params, x, noisy)
        params = fungrad.tree_util.tree_map(lambda p, g: p - 0.5 * g, params, grads)
    print(f"trained {steps} full-batch steps on {len(x)} digits, {len(flipped)} with a wrong label; "
          f"loss {value:.3f}")

    # The same per-example gradients three ways.
    n_loop = 100 if args.fast else len(x)
    grad_one = fungrad.grad(loss_one)
    def loop(params, x, labels):
        return np.stack([ravel_pytree(grad_one(params, x[i], labels[i]))[0] for i in range(len(x))])

    per_example = fungrad.vmap(grad_one, in_axes=(None, 0, 0))
    compiled = fungrad.jit(per_example)
    looped = loop(params, x[:n_loop], noisy[:n_loop])
    vmapped = per_example(params, x, noisy)
    rows = flatten_rows(compiled(params, x, noisy))  # the first call traces and compiles
    t_loop = median_seconds(loop, (params, x[:n_loop], noisy[:n_loop]), 1)
    t_vmap, t_jit = (median_seconds(f, (params, x, noisy), 3) for f in (per_example, compiled))
    agree = max(np.max(np.abs(flatten_rows(vmapped) - rows)), np.max(np.abs(looped - rows[:n_loop])))
    n_params = ravel_pytree(params)[0].size
    print(f"\nper-example gradients, {n_params} parameters each (loop, vmap and jit agree to {agree:.1e}):")
    per_loop = t_loop / n_loop
    print(f"  Python loop of grad     {per_loop * 1e6:8.1f} us per example")
    print(f"  vmap(grad)              {t_vmap / len(x) * 1e6:8.1f} us per example"
          f"   ({per_loop * len(x) / t_vmap:.0f}x faster)")
    print(f"  jit(vmap(grad))         {t_jit / len(x) * 1e6:8.1f} us per example"
          f"   ({per_loop * len(x) / t_jit:.0f}x faster)")

    norms = np.linalg.norm(rows, axis=1)
    suspects = np.argsort(norms)[::-1][:len(flipped)]
    hits = np.isin(suspects, flipped).sum()
    print(f"\nof the {len(flipped)} largest per-example gradient norms, {hits} are the flipped labels "
          f"({hits / len(flipped):.0%}; picking at random would find {FLIPPED_FRACTION:.0%})")
    print("the 8 largest:  index  given label  true label  |grad|")
    for i in suspects[:8]:
        print(f"               {i:5d}  {noisy[i]:11d}  {labels[i]:10d}  {norms[i]:6.2f}")

    plt = pyplot()
    if plt is not None:
        out = output_dir(args.out, "per_example_grads")
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
        clean = np.setdiff1d(np.arange(len(x)), flipped)
        bins = np.linspace(0, norms.max(), 40)
        axes[0].hist(norms[clean], bins, alpha=0.7, label="correct label")
        axes[0].hist(norms[flipped], bins, alpha=0.7, label="flipped label")
        axes[0].set(xlabel="per-example gradient norm", ylabel="examples", yscale="log",
                    title="jit(vmap(grad)) on the training set")
        axes[0].legend()
        axes[1].axis("off")
        for k, i in enumerate(suspects[:12]):
            ax = fig.add_axes((0.55 + 0.075 * (k % 6), 0.45 - 0.4 * (k // 6), 0.07, 0.33))
            ax.imshow(x[i].reshape(8, 8), cmap="gray_r")
            ax.set_title(f"{noisy[i]}->{labels[i]}", fontsize=8, color="C3" if i in flipped else "C0")
            ax.axis("off")
        fig.text(0.55, 0.88, "largest gradients: given label -> true label")
        save(fig, out, "per_example_grads.png")
    return {"agreement": float(agree), "hits": int(hits), "flipped": len(flipped),
            "loop_us": per_loop * 1e6, "vmap_us": t_vmap / len(x) * 1e6, "jit_us": t_jit / len(x) * 1e6}


if __name__ == "__main__":
    main()
