"""Train a small MLP on the 8x8 handwritten digits with jit(value_and_grad) and plain SGD.

Run: python examples/digits_mlp.py [--steps N]
"""
import argparse
import os

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import nn

DATA = os.path.join(os.path.dirname(__file__), "data", "digits.npz")


def init_params(rng, sizes):
    return [(rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = fnp.tanh(h @ w + b)
    w, b = params[-1]
    logits = h @ w + b
    return -fnp.mean(fnp.sum(y * nn.log_softmax(logits), axis=-1))


def accuracy(params, x, labels):
    h = x
    for w, b in params[:-1]:
        h = np.tanh(h @ w + b)
    w, b = params[-1]
    return float(np.mean(np.argmax(h @ w + b, axis=-1) == labels))


def main(steps: int = 300, lr: float = 0.5) -> float:
    data = np.load(DATA)
    x = data["images"].reshape(len(data["images"]), -1).astype(np.float64) / 16.0
    labels = data["target"].astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1400], order[1400:]
    y = np.eye(10)[labels]
    params = init_params(rng, [64, 32, 10])
    step = fungrad.jit(fungrad.value_and_grad(loss))
    for i in range(steps):
        batch = rng.choice(train, 128, replace=False)
        value, grads = step(params, x[batch], y[batch])
        params = fungrad.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        if i % 100 == 0:
            print(f"step {i:4d}  loss {value:.4f}")
    acc = accuracy(params, x[test], labels[test])
    print(f"test accuracy after {steps} steps: {acc:.3f}")
    return acc


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    main(parser.parse_args().steps)
