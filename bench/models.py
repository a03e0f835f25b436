"""The benchmark programs, written once against an array-API module.

Every program takes the array namespace as its first argument(s): ``xp`` is
``fungrad.numpy``, ``jax.numpy``, ``autograd.numpy``, ``torch`` or plain
``numpy``; ``nn`` provides ``log_softmax``; ``lax`` provides ``scan``.  Bind
them with ``functools.partial`` and hand the result to the transforms.

``numpy_nn`` / ``numpy_lax`` below let the same programs run forward on plain
NumPy, which is the reference the self-check compares against.

The input makers at the bottom are deterministic (fixed seeds), float64.
"""
import types

import numpy as np


# --------------------------------------------------------------------------- programs

def mlp_loss(xp, nn, params, x, y):
    """Softmax cross-entropy of a tanh MLP, mean over the batch.

    params: list of (W, b) with W of shape (fan_in, fan_out); x: (batch, fan_in)
    or (fan_in,); y: one-hot (or any non-negative weights) of shape (..., classes).
    """
    h = x
    for W, b in params[:-1]:
        h = xp.tanh(h @ W + b)
    W, b = params[-1]
    logits = h @ W + b
    return -xp.mean(xp.sum(y * nn.log_softmax(logits, axis=-1), axis=-1))


def mlp_loss_labels(xp, nn, form, params, x, labels):
    """``mlp_loss`` with integer class labels, picked the two common JAX ways: ``form`` is
    "take_along_axis" or "arange" (``log_softmax(z)[arange(B), labels]``)."""
    h = x
    for W, b in params[:-1]:
        h = xp.tanh(h @ W + b)
    W, b = params[-1]
    logp = nn.log_softmax(h @ W + b, axis=-1)
    if form == "take_along_axis":
        return -xp.mean(xp.take_along_axis(logp, labels[:, None], axis=1))
    return -xp.mean(logp[xp.arange(logp.shape[0]), labels])


# One period of the elementwise chain: values stay within about [-2.2, 2.2] and the
# gradient of the whole 200-op chain stays between about 1e-2 and 2 (no vanishing,
# no blow-up), so a comparison at tight tolerance means something.
CHAIN_CYCLE = (("sin", None), ("mul", 1.9), ("tanh", None), ("mul", 1.5),
               ("add", 0.1), ("cos", None), ("mul", 2.2), ("sub", 0.5))

CHAIN_OPS = {
    "sin": lambda xp, x, c: xp.sin(x),
    "cos": lambda xp, x, c: xp.cos(x),
    "tanh": lambda xp, x, c: xp.tanh(x),
    "mul": lambda xp, x, c: x * c,
    "add": lambda xp, x, c: x + c,
    "sub": lambda xp, x, c: x - c,
}


def chain_ops(n=200):
    return [CHAIN_CYCLE[i % len(CHAIN_CYCLE)] for i in range(n)]


def chain_loss(xp, ops, x):
    """sum(op_n(...op_1(x))) for a list of (name, constant) elementwise ops."""
    for name, c in ops:
        x = CHAIN_OPS[name](xp, x, c)
    return xp.sum(x)


def tanh_sq_sum(xp, A, x):
    """f(x) = sum(tanh(A x)^2)."""
    return xp.sum(xp.tanh(A @ x) ** 2)


def rnn_scan(xp, lax, W, h0, xs):
    """A 1-layer tanh RNN over xs (time-major); returns (h_T, all h_t)."""
    def step(h, x_t):
        h = xp.tanh(W @ h + x_t)
        return h, h
    return lax.scan(step, h0, xs)


def add4(a, b, c, d):
    return a + b + c + d


# Optimizer steps written out (no optimizer library), for the train_step case. The state is a
# pytree like the params: the momentum buffer, or Adam's (count, mu, nu).
MOMENTUM = dict(learning_rate=0.1, momentum=0.9)
ADAM = dict(learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8)


def momentum_step(xp, params, grads, trace):
    """Heavy ball: trace = g + momentum * trace; params - lr * trace."""
    lr, mu = MOMENTUM["learning_rate"], MOMENTUM["momentum"]
    trace = [(gW + mu * tW, gb + mu * tb) for (gW, gb), (tW, tb) in zip(grads, trace)]
    params = [(W - lr * tW, b - lr * tb) for (W, b), (tW, tb) in zip(params, trace)]
    return params, trace


def adam_step(xp, params, grads, state):
    """Adam with bias correction: params - lr * m_hat / (sqrt(v_hat) + eps)."""
    lr, b1, b2, eps = ADAM["learning_rate"], ADAM["b1"], ADAM["b2"], ADAM["eps"]
    count, mu, nu = state
    count = count + 1
    c1, c2 = 1 - b1 ** count, 1 - b2 ** count
    moment = lambda m, g: b1 * m + (1 - b1) * g          # noqa: E731
    second = lambda v, g: b2 * v + (1 - b2) * g * g      # noqa: E731
    mu = [(moment(mW, gW), moment(mb, gb)) for (mW, mb), (gW, gb) in zip(mu, grads)]
    nu = [(second(vW, gW), second(vb, gb)) for (vW, vb), (gW, gb) in zip(nu, grads)]
    step = lambda p, m, v: p - lr * (m / c1) / (xp.sqrt(v / c2) + eps)  # noqa: E731
    params = [(step(W, mW, vW), step(b, mb, vb)) for (W, b), (mW, mb), (vW, vb) in zip(params, mu, nu)]
    return params, (count, mu, nu)


def train_step(xp, nn, optimizer_step, params, opt_state, x, y, value_and_grad):
    """One training step: loss and gradient, then the optimizer step; returns (loss, params, state)."""
    loss, grads = value_and_grad(lambda p: mlp_loss(xp, nn, p, x, y))(params)
    params, opt_state = optimizer_step(xp, params, grads, opt_state)
    return loss, params, opt_state


# --------------------------------------------------------------------------- plain-NumPy shims

def _np_log_softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _np_scan(f, init, xs):
    carry, ys = init, []
    for x in xs:
        carry, y = f(carry, x)
        ys.append(y)
    return carry, np.stack(ys)


numpy_nn = types.SimpleNamespace(log_softmax=_np_log_softmax)
numpy_lax = types.SimpleNamespace(scan=_np_scan)


# --------------------------------------------------------------------------- inputs

MLP_LARGE = dict(sizes=(784, 256, 256, 10), batch=128)
MLP_SMALL = dict(sizes=(64, 32, 10), batch=32)
MLP_XL = dict(sizes=(1024, 1024, 1024, 10), batch=512)
PER_EXAMPLE = dict(sizes=(64, 32, 10), batch=256)


def mlp_inputs(sizes, batch, seed=0):
    """params (list of (W, b)), x (batch, sizes[0]), one-hot y (batch, sizes[-1])."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        W = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        b = 0.1 * rng.standard_normal(fan_out)
        params.append((W, b))
    x = rng.standard_normal((batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=batch)]
    return params, x, y


def optimizer_state(name, params, seed=6):
    """A mid-training optimizer state (nonzero buffers) for ``momentum`` or ``adam``."""
    rng = np.random.default_rng(seed)
    like = lambda scale: [(scale * rng.standard_normal(W.shape), scale * rng.standard_normal(b.shape))  # noqa: E731
                          for W, b in params]
    if name == "momentum":
        return like(0.01)
    nu = [(W * W, b * b) for W, b in like(0.01)]
    return (np.asarray(10, np.int32), like(0.01), nu)


def chain_inputs(n=8, seed=1):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, n)


def hessian_inputs(n=500, seed=2):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    return A, x


def scan_inputs(steps=1000, units=16, seed=3):
    rng = np.random.default_rng(seed)
    W = 0.9 * rng.standard_normal((units, units)) / np.sqrt(units)
    h0 = 0.1 * rng.standard_normal(units)
    xs = 0.5 * rng.standard_normal((steps, units))
    return W, h0, xs


def add4_inputs(n=3, seed=4):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(n) for _ in range(4))
