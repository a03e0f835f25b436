"""Train the digits MLP data-parallel over MPI: each process takes its shard of every batch, the
gradients are averaged across processes with ``lax.pmean``, and every process applies the same
update (SGD with momentum), so the parameters stay equal everywhere.

Run: mpiexec -n 4 python examples/data_parallel.py [--steps N] [--compare]
     [--checkpoint PATH [--save-every K]] [--out PATH]

--compare also trains on one process with the whole batch (no collectives) and prints how far the
two sets of final parameters are apart: rounding only. --checkpoint saves params, momentum and the
step to PATH (from process 0) and resumes from it when it exists, so an interrupted run continues
exactly where it stopped.
"""
import argparse
import os

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import distributed, lax, nn
from fungrad.tree_util import tree_leaves, tree_map

DATA = os.path.join(os.path.dirname(__file__), "data", "digits.npz")
TRAIN, BATCH = 1680, 840        # both divisible by every process count from 1 to 8


def load():
    data = np.load(DATA)
    x = data["images"].reshape(len(data["images"]), -1).astype(np.float64) / 16.0
    labels = data["target"].astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:TRAIN], order[TRAIN:]
    return x[train], np.eye(10)[labels[train]], x[test], labels[test]


def init_params(rng, sizes):
    return [(rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.tanh(h @ w + b)
    w, b = params[-1]
    return -fnp.mean(fnp.sum(y * nn.log_softmax(h @ w + b), axis=-1))


def sgd_momentum(state, grads, lr=0.5, beta=0.9):
    params, velocity = state
    velocity = tree_map(lambda v, g: beta * v + g, velocity, grads)
    return tree_map(lambda p, v: p - lr * v, params, velocity), velocity


def parallel_step(state, x, y):
    """One step on this process's shard; the gradient is the mean over all processes."""
    value, grads = fungrad.value_and_grad(loss)(state[0], x, y)
    grads = distributed.global_norm_clip(lax.pmean(grads, "dp"), 5.0)
    return sgd_momentum(state, grads), lax.pmean(value, "dp")


def single_step(state, x, y):
    """The same step on one process with the whole batch."""
    value, grads = fungrad.value_and_grad(loss)(state[0], x, y)
    return sgd_momentum(state, distributed.global_norm_clip(grads, 5.0)), value


def batch_indices(step):
    """The batch of a step depends only on the step: a resumed run sees the same batches."""
    return np.random.default_rng(1000 + step).choice(TRAIN, BATCH, replace=False)


def train(step_fn, params, steps, x, y, shard=True, checkpoint=None, save_every=10, log=print):
    state, start = (params, tree_map(np.zeros_like, params)), 0
    if checkpoint:
        restored = distributed.restore_checkpoint(checkpoint, state)
        if restored is not None:
            state, start = restored
            log(f"resumed from {checkpoint} at step {start}")
    for i in range(start, steps):
        idx = batch_indices(i)
        xb, yb = (distributed.shard((x[idx], y[idx])) if shard else (x[idx], y[idx]))
        state, value = step_fn(state, xb, yb)
        if i % 50 == 0:
            log(f"step {i:4d}  loss {float(value):.4f}")
        if checkpoint and ((i + 1) % save_every == 0 or i + 1 == steps):
            distributed.save_checkpoint(checkpoint, state, i + 1)
    return state[0]


def accuracy(params, x, labels):
    h = x
    for w, b in params[:-1]:
        h = np.tanh(h @ w + b)
    w, b = params[-1]
    return float(np.mean(np.argmax(h @ w + b, axis=-1) == labels))


def main(steps=200, compare=False, checkpoint=None, save_every=10, out=None):
    distributed.initialize()
    me, n = distributed.process_index(), distributed.process_count()
    log = print if me == 0 else (lambda *a: None)
    x, y, x_test, labels_test = load()
    log(f"{n} processes, {BATCH // n} examples each per step")
    step = fungrad.jit(distributed.pmap(parallel_step, axis_name="dp"))
    # Process 0 draws the initial parameters; everyone starts from its copy.
    start = distributed.broadcast_one_to_all(init_params(np.random.default_rng(me), [64, 32, 10]))
    params = train(step, start, steps, x, y, checkpoint=checkpoint, save_every=save_every, log=log)
    log(f"test accuracy after {steps} steps: {accuracy(params, x_test, labels_test):.3f}")
    if out and me == 0:
        np.savez(out, *tree_leaves(params))
    if compare and me == 0:
        alone = train(fungrad.jit(single_step), start, steps, x, y, shard=False,
                      log=lambda *a: None)
        diff = max(float(np.max(np.abs(a - b)))
                   for a, b in zip(tree_leaves(params), tree_leaves(alone)))
        log(f"max |params difference| from single-process full-batch training: {diff:.3g}")
    return params


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--checkpoint")
    parser.add_argument("--save-every", type=int, default=10)
    parser.add_argument("--out")
    a = parser.parse_args()
    main(a.steps, a.compare, a.checkpoint, a.save_every, a.out)
