"""Hand-written NumPy baselines: what a careful engineer writes without a library.

Each function computes exactly what the matching program in models.py (plus its
transform) computes, with the derivative worked out by hand.  Elementwise work
happens in place in buffers the function owns; inputs are never modified.
"""
import numpy as np


# --------------------------------------------------------------------------- MLP

def _mlp_forward(params, x):
    """Activations [x, h1, ..., h_{L-1}] (tanh outputs, owned) and the logits (owned)."""
    acts = [x]
    h = x
    last = len(params) - 1
    for i, (W, b) in enumerate(params):
        z = h @ W
        z += b
        if i < last:
            np.tanh(z, out=z)
            acts.append(z)
        h = z
    return acts, h


def _softmax_xent(logits, y):
    """Per-row loss terms summed, and dloss/dlogits (unscaled), reusing ``logits``.

    With s = logits - max: loss_i = ysum_i * log(sum exp s_i) - sum_k y_ik s_ik and
    dloss_i/dlogits_i = ysum_i * softmax(s_i) - y_i.
    """
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    se = e.sum(axis=-1, keepdims=True)
    ysum = y.sum(axis=-1, keepdims=True)
    total = np.vdot(ysum, np.log(se)) - np.vdot(y, logits)
    e *= ysum / se
    e -= y
    return total, e


def _backprop(params, acts, delta, per_example):
    """Walk the layers backwards; ``acts`` (except x) are overwritten by 1 - h^2."""
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        h = acts[i]
        if per_example:
            gW = np.einsum("bi,bo->bio", h, delta)   # measured faster than h[:, :, None] * delta[:, None, :]
            gb = delta
        else:
            gW = h.T @ delta
            gb = delta.sum(axis=0)
        grads[i] = (gW, gb)
        if i:
            delta = delta @ params[i][0].T
            np.multiply(h, h, out=h)
            np.subtract(1.0, h, out=h)
            delta *= h
    return grads


def mlp_value_and_grad(params, x, y):
    """(mean softmax cross-entropy, [(dW, db), ...]) for models.mlp_loss."""
    acts, logits = _mlp_forward(params, x)
    total, delta = _softmax_xent(logits, y)
    inv_b = 1.0 / x.shape[0]
    delta *= inv_b
    return total * inv_b, _backprop(params, acts, delta, per_example=False)


def mlp_value_and_grad_labels(params, x, labels):
    """models.mlp_loss_labels by hand: the labels' entries picked and corrected by indexing."""
    acts, logits = _mlp_forward(params, x)
    rows = np.arange(x.shape[0])
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    se = e.sum(axis=-1, keepdims=True)
    total = np.log(se).sum() - logits[rows, labels].sum()
    e /= se
    e[rows, labels] -= 1.0
    inv_b = 1.0 / x.shape[0]
    e *= inv_b
    return total * inv_b, _backprop(params, acts, e, per_example=False)


def mlp_per_example_grads(params, x, y):
    """Per-example gradients [(dW (B, in, out), db (B, out)), ...] of models.mlp_loss."""
    acts, logits = _mlp_forward(params, x)
    _, delta = _softmax_xent(logits, y)
    return _backprop(params, acts, delta, per_example=True)


# --------------------------------------------------------------------------- elementwise chain
# Each rule: forward(x, c) -> (y, saved) and backward(g, saved, c) -> scalar factor.
# backward multiplies g in place by the array part of dy/dx and returns the
# constant part, which the sweep folds into one Python float (scalar multiplies
# and signs cost no array operation).  Ops whose derivative is constant save
# nothing and put only their constant on the tape.

def _sin_f(x, c):
    return np.sin(x), x


def _sin_b(g, x, c):
    g *= np.cos(x)
    return 1.0


def _cos_f(x, c):
    return np.cos(x), x


def _cos_b(g, x, c):
    g *= np.sin(x)
    return -1.0


def _tanh_f(x, c):
    y = np.tanh(x)
    return y, y


def _tanh_b(g, y, c):
    d = y * y
    d -= 1.0                      # -(1 - y^2): the sign goes to the scalar
    g *= d
    return -1.0


CHAIN_RULES = {"sin": (_sin_f, _sin_b), "cos": (_cos_f, _cos_b), "tanh": (_tanh_f, _tanh_b)}
CHAIN_LINEAR = {"mul": (np.multiply, lambda c: c), "add": (np.add, lambda c: 1.0),
                "sub": (np.subtract, lambda c: 1.0)}


def chain_value_and_grad(ops, x):
    """(sum(chain(x)), d/dx) for models.chain_loss: a tape of saved values, then a reverse sweep."""
    tape = []
    scale = 1.0
    for name, c in ops:
        if name in CHAIN_LINEAR:
            ufunc, slope = CHAIN_LINEAR[name]
            x = ufunc(x, c)
            scale *= slope(c)
        else:
            fwd, bwd = CHAIN_RULES[name]
            x, saved = fwd(x, c)
            tape.append((bwd, saved, c))
    value = x.sum()
    g = np.ones_like(x)
    for bwd, saved, c in reversed(tape):
        scale *= bwd(g, saved, c)
    g *= scale
    return value, g


# --------------------------------------------------------------------------- Hessian

def tanh_sq_grad(A, x):
    """grad of sum(tanh(A x)^2) = A^T (2 t (1 - t^2)), t = tanh(A x)."""
    t = np.tanh(A @ x)
    return A.T @ (2.0 * t * (1.0 - t * t))


def tanh_sq_hessian(A, x):
    """Hessian of sum(tanh(A x)^2) = A^T diag(d) A with d = 2 (1 - t^2)(1 - 3 t^2)."""
    t = np.tanh(A @ x)
    t *= t                       # t^2
    d = 1.0 - t
    t *= -3.0
    t += 1.0                     # 1 - 3 t^2
    d *= t
    d *= 2.0
    return A.T @ (A * d[:, None])


# --------------------------------------------------------------------------- scan

def rnn_scan(W, h0, xs):
    """(h_T, hs) for models.rnn_scan: h_t = tanh(W h_{t-1} + x_t), one preallocated output."""
    hs = np.empty_like(xs)
    h = h0
    for t in range(xs.shape[0]):
        out = hs[t]
        np.dot(W, h, out=out)
        out += xs[t]
        np.tanh(out, out=out)
        h = out
    return h, hs


# --------------------------------------------------------------------------- tiny op

def add4(a, b, c, d):
    return a + b + c + d


# --------------------------------------------------------------------------- training steps

def _momentum_update(p, g, t, lr, mu):
    """(new param, new trace) for one leaf. ``g`` (owned: a fresh gradient) becomes the new trace,
    and the one temporary becomes the new param."""
    tmp = t * mu
    g += tmp
    new = np.multiply(g, -lr, out=tmp)
    new += p
    return new, g


def _adam_update(p, g, m, v, lr, b1, b2, eps, c1, c2):
    """(new param, new mu, new nu) for one leaf. ``g`` (owned) becomes the new mu; three
    allocations, two of them outputs."""
    nu = g * g
    nu *= 1 - b2
    tmp = v * b2
    nu += tmp
    g *= 1 - b1
    np.multiply(m, b1, out=tmp)
    g += tmp
    np.multiply(nu, 1 / c2, out=tmp)
    np.sqrt(tmp, out=tmp)
    tmp += eps
    new = g * (-lr / c1)
    new /= tmp
    new += p
    return new, g, nu


def mlp_train_step_momentum(params, trace, x, y, learning_rate, momentum):
    """(loss, new params, new trace): the MLP gradient, then heavy-ball momentum SGD."""
    loss, grads = mlp_value_and_grad(params, x, y)
    new_params, new_trace = [], []
    for (W, b), (gW, gb), (tW, tb) in zip(params, grads, trace):
        (W2, tW2), (b2, tb2) = (_momentum_update(W, gW, tW, learning_rate, momentum),
                                _momentum_update(b, gb, tb, learning_rate, momentum))
        new_params.append((W2, b2))
        new_trace.append((tW2, tb2))
    return loss, new_params, new_trace


def mlp_train_step_adam(params, state, x, y, learning_rate, b1, b2, eps):
    """(loss, new params, (count, mu, nu)): the MLP gradient, then Adam with bias correction."""
    loss, grads = mlp_value_and_grad(params, x, y)
    count, mu, nu = state
    count = count + 1
    c1, c2 = 1 - b1 ** float(count), 1 - b2 ** float(count)
    new_params, new_mu, new_nu = [], [], []
    for (W, b), (gW, gb), (mW, mb), (vW, vb) in zip(params, grads, mu, nu):
        W2, mW2, vW2 = _adam_update(W, gW, mW, vW, learning_rate, b1, b2, eps, c1, c2)
        b2_, mb2, vb2 = _adam_update(b, gb, mb, vb, learning_rate, b1, b2, eps, c1, c2)
        new_params.append((W2, b2_))
        new_mu.append((mW2, mb2))
        new_nu.append((vW2, vb2))
    return loss, new_params, (count, new_mu, new_nu)
