"""Train an MLP on the bundled 8x8 handwritten digits with a jitted step and ``fungrad.optim``.

The whole training step, ``value_and_grad`` of the loss, the optimizer's update and applying it,
is one ``jit``-compiled function: traced once (batches keep one shape, so it never retraces), then
run as generated NumPy code. The optimizer is ``optim.sgd`` with momentum (``--optimizer adam`` for
Adam), with optax's interface: ``init``, ``update``, ``apply_updates``.

Prints one line per epoch (loss, train and test accuracy, elapsed time), shows a progress bar when
tqdm is installed, and saves the loss curve when matplotlib is.

Run: python examples/train_mlp.py [--fast] [--optimizer sgd|adam] [--epochs N] [--out DIR]
"""
from __future__ import annotations

import sys
import time

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import nn, optim

from example_util import init_mlp, load_digits, make_parser, mlp_logits, output_dir, pyplot, save

try:
    from tqdm import tqdm
except ImportError:  # no progress bar, the same training
    tqdm = None

BATCH = 64
SIZES = [64, 64, 10]


def loss(params, x, labels):
    """Mean softmax cross-entropy of the MLP's logits against integer labels."""
    log_p = nn.log_softmax(mlp_logits(params, x))
    return -fnp.mean(fnp.take_along_axis(log_p, labels[:, None], axis=1))


def make_step(optimizer):
    @fungrad.jit
    def step(params, opt_state, x, labels):
        value, grads = fungrad.value_and_grad(loss)(params, x, labels)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optim.apply_updates(params, updates), opt_state, value
    return step


@fungrad.jit
def accuracy(params, x, labels):
    return fnp.mean(fnp.argmax(mlp_logits(params, x), axis=-1) == labels)


def batches(rng, n):
    """Shuffled index batches of BATCH examples; the last, smaller batch is dropped (one jit signature)."""
    order = rng.permutation(n)
    return [order[i:i + BATCH] for i in range(0, n - BATCH + 1, BATCH)]


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = make_parser(__doc__)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--epochs", type=int, default=None, help="default 25 (--fast: 4)")
    args = parser.parse_args(argv)
    epochs = args.epochs or (4 if args.fast else 25)

    x_train, y_train, x_test, y_test = load_digits()
    rng = np.random.default_rng(0)
    params = init_mlp(rng, SIZES)
    optimizer = optim.sgd(0.1, momentum=0.9) if args.optimizer == "sgd" else optim.adam(3e-3)
    opt_state = optimizer.init(params)
    step = make_step(optimizer)
    print(f"MLP {'-'.join(map(str, SIZES))} on {len(x_train)} training digits, batch {BATCH}, "
          f"{args.optimizer}{' with momentum 0.9' if args.optimizer == 'sgd' else ''}")

    losses, test_accuracies = [], []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        epoch_batches = batches(rng, len(x_train))
        if tqdm is not None and sys.stderr.isatty():  # a bar for people, not for logs
            epoch_batches = tqdm(epoch_batches, desc=f"epoch {epoch}", leave=False, unit="batch")
        for idx in epoch_batches:
            params, opt_state, value = step(params, opt_state, x_train[idx], y_train[idx])
            losses.append(float(value))
        train_acc = float(accuracy(params, x_train, y_train))
        test_acc = float(accuracy(params, x_test, y_test))
        test_accuracies.append(test_acc)
        n = len(epoch_batches)
        print(f"epoch {epoch:3d}  loss {np.mean(losses[-n:]):.4f}  train acc {train_acc:.3f}  "
              f"test acc {test_acc:.3f}  {time.perf_counter() - start:6.2f} s")
    seconds = time.perf_counter() - start
    print(f"test accuracy {test_accuracies[-1]:.3f} after {epochs} epochs ({len(losses)} steps) in "
          f"{seconds:.1f} s; the step was traced {step.cache_info().misses} time(s)")

    plt = pyplot()
    if plt is not None:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
        left.semilogy(losses, lw=0.8)
        left.set(xlabel="step", ylabel="training loss (batch)", title="loss")
        right.plot(range(1, epochs + 1), test_accuracies, "o-")
        right.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
        save(fig, output_dir(args.out, "train_mlp"), "train_mlp_loss.png")
    return {"test_accuracy": test_accuracies[-1], "losses": losses, "seconds": seconds,
            "traces": step.cache_info().misses}


if __name__ == "__main__":
    main()
