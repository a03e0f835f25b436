"""Backpropagation written out by hand (the delta rule, layer by layer) next to ``fungrad.grad``.

The textbook derivation for an MLP with tanh hidden layers and a softmax cross-entropy loss:

    forward:   a_0 = x,   z_l = a_{l-1} W_l + b_l,   a_l = tanh(z_l),   p = softmax(z_L)
    output:    delta_L = (p - y) / N                        (softmax and cross-entropy together)
    backward:  dW_l = a_{l-1}^T delta_l,   db_l = sum over the batch of delta_l,
               delta_{l-1} = (delta_l W_l^T) * (1 - a_{l-1}^2)   (tanh' = 1 - tanh^2)

``backprop`` below is exactly that, in NumPy. ``fungrad.grad`` of the loss, written only as the
forward pass, must give the same numbers; ``jit`` compiles it to NumPy code of about the same
speed. This is what the library automates: you write the forward pass, it derives the rest.

Run: python examples/backprop_by_hand.py [--fast]
"""
from __future__ import annotations

import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import nn

from example_util import init_mlp, load_digits, median_seconds, mlp_logits, parse_args


def loss(params, x, y):
    """Mean cross-entropy of the MLP: only the forward pass, written with fungrad.numpy."""
    return -fnp.mean(fnp.sum(y * nn.log_softmax(mlp_logits(params, x)), axis=-1))


def backprop(params, x, y):
    """The gradient of ``loss`` by the delta rule, in plain NumPy: forward pass, then layer by layer back."""
    activations = [x]
    for w, b in params[:-1]:
        activations.append(np.tanh(activations[-1] @ w + b))
    w, b = params[-1]
    logits = activations[-1] @ w + b
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    delta = (p - y) / len(x)                                  # d loss / d logits
    grads = []
    for layer in reversed(range(len(params))):
        a = activations[layer]
        grads.append((a.T @ delta, delta.sum(axis=0)))        # dW_l, db_l
        if layer > 0:
            delta = (delta @ params[layer][0].T) * (1.0 - a ** 2)
    return grads[::-1]


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(__doc__, argv)
    x, labels, _, _ = load_digits()
    y = np.eye(10)[labels]
    rng = np.random.default_rng(0)
    params = init_mlp(rng, [64, 64, 32, 10])

    by_hand = backprop(params, x, y)
    by_grad = fungrad.grad(loss)(params, x, y)
    jitted = fungrad.jit(fungrad.grad(loss))
    by_jit = jitted(params, x, y)
    print(f"MLP 64-64-32-10, tanh, softmax cross-entropy, batch of {len(x)} digits")
    print("layer  shape     |hand - grad|   |hand - jit(grad)|")
    worst = 0.0
    for i, ((hw, hb), (gw, gb), (jw, jb)) in enumerate(zip(by_hand, by_grad, by_jit)):
        d_grad = max(np.max(np.abs(hw - gw)), np.max(np.abs(hb - gb)))
        d_jit = max(np.max(np.abs(hw - jw)), np.max(np.abs(hb - jb)))
        worst = max(worst, d_grad, d_jit)
        print(f"W{i + 1},b{i + 1}  {str(hw.shape):9s} {d_grad:12.1e}   {d_jit:12.1e}")

    repeats = 5 if args.fast else 50
    eager_grad = fungrad.grad(loss)
    rows = []
    for _ in range(3):  # alternate blocks, so a busy machine slows every variant alike
        rows.append([median_seconds(f, (params, x, y), repeats) for f in (backprop, jitted, eager_grad)])
    hand, jit_time, eager = np.median(np.array(rows), axis=0)
    print(f"\nmedian time per gradient ({3 * repeats} calls each, interleaved):")
    print(f"  by hand (NumPy)      {hand * 1e3:7.3f} ms")
    print(f"  jit(grad(loss))      {jit_time * 1e3:7.3f} ms   ({jit_time / hand:.2f}x by hand)")
    print(f"  grad(loss), eager    {eager * 1e3:7.3f} ms   ({eager / hand:.2f}x by hand)")
    return {"max_difference": worst, "hand_seconds": hand, "jit_seconds": jit_time,
            "eager_seconds": eager}


if __name__ == "__main__":
    main()
