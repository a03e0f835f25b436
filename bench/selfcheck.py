"""Self-check of the hand-written baselines (``python bench/run.py --check``).

No fungrad and no peer is needed: each hand-written value is compared with the
models.py program run forward on plain NumPy, and each hand-written derivative
with central finite differences of that forward program (or of the hand-written
gradient, for the Hessian).  Exits non-zero if anything disagrees.
"""
import functools

import numpy as np

from bench import handwritten as hw, models, peers

FD_RTOL = 1e-6       # finite differences at step 1e-5 are good to ~1e-9 relative here
EXACT_RTOL = 1e-10   # same arithmetic, different order of operations


class Checker:
    def __init__(self):
        self.failed = 0

    def __call__(self, name, got, want, rtol):
        g = np.concatenate([np.ravel(a) for a in peers.leaves(got)])
        w = np.concatenate([np.ravel(a) for a in peers.leaves(want)])
        scale = max(float(np.max(np.abs(w))), 1e-300)
        err = float(np.max(np.abs(g - w))) / scale
        ok = g.shape == w.shape and err <= rtol
        self.failed += not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {name:<58} max err {err:.1e} (tol {rtol:.0e})")


def tree_axpy(a, x, y):
    return [(a * xw + yw, a * xb + yb) for (xw, xb), (yw, yb) in zip(x, y)]


def directional_fd(f, params, direction, eps=1e-5):
    return (f(tree_axpy(eps, direction, params)) - f(tree_axpy(-eps, direction, params))) / (2 * eps)


def tree_vdot(a, b):
    return sum(float(np.vdot(u, v)) for u, v in zip(peers.leaves(a), peers.leaves(b)))


def check_mlp(check, name, spec, n_dirs=4):
    params, x, y = models.mlp_inputs(**spec)
    loss = functools.partial(models.mlp_loss, np, models.numpy_nn)
    value, grads = hw.mlp_value_and_grad(params, x, y)
    check(f"{name}: loss vs models.mlp_loss on NumPy", value, loss(params, x, y), EXACT_RTOL)
    rng = np.random.default_rng(10)
    fd, an = [], []
    for _ in range(n_dirs):
        d = [(rng.standard_normal(W.shape), rng.standard_normal(b.shape)) for W, b in params]
        fd.append(directional_fd(lambda p: loss(p, x, y), params, d))
        an.append(tree_vdot(grads, d))
    check(f"{name}: grad . v vs finite differences ({n_dirs} directions)", an, fd, FD_RTOL)
    # single coordinates of the last bias and the first weight
    for (li, part, idx) in ((len(params) - 1, 1, (3,)), (0, 0, (5, 7))):
        d = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
        d[li][part][idx] = 1.0
        check(f"{name}: d loss / d params[{li}][{part}]{list(idx)} vs finite differences",
              grads[li][part][idx], directional_fd(lambda p: loss(p, x, y), params, d), FD_RTOL)
    # the inputs are left untouched
    p2, x2, y2 = models.mlp_inputs(**spec)
    check(f"{name}: inputs unmodified", (params, x, y), (p2, x2, y2), 0.0)


def check_per_example(check):
    params, x, y = models.mlp_inputs(**models.PER_EXAMPLE)
    per = hw.mlp_per_example_grads(params, x, y)
    _, mean_grads = hw.mlp_value_and_grad(params, x, y)
    check("per_example: mean of per-example grads = batch grad",
          [(gW.mean(0), gb.mean(0)) for gW, gb in per], mean_grads, EXACT_RTOL)
    for i in (0, 17, x.shape[0] - 1):
        _, gi = hw.mlp_value_and_grad(params, x[i:i + 1], y[i:i + 1])
        check(f"per_example: example {i} = grad of a batch of one",
              [(gW[i], gb[i]) for gW, gb in per], gi, EXACT_RTOL)


def check_chain(check):
    ops = models.chain_ops(200)
    x = models.chain_inputs()
    value, grad = hw.chain_value_and_grad(ops, x)
    f = functools.partial(models.chain_loss, np, ops)
    check("chain200: value vs models.chain_loss on NumPy", value, f(x), EXACT_RTOL)
    eps, fd = 1e-6, np.empty_like(x)
    for i in range(x.size):       # f is a sum of independent elementwise chains
        e = np.zeros_like(x)
        e[i] = eps
        fd[i] = (f(x + e) - f(x - e)) / (2 * eps)
    check("chain200: grad vs finite differences", grad, fd, FD_RTOL)
    mag = np.abs(grad)
    print(f"       (chain gradient magnitudes {mag.min():.1e} .. {mag.max():.1e})")


def check_hessian(check):
    A, x = models.hessian_inputs()
    f = functools.partial(models.tanh_sq_sum, np, A)
    g = hw.tanh_sq_grad(A, x)
    eps = 1e-5
    rng = np.random.default_rng(11)
    dirs = rng.standard_normal((4, x.size))
    check("hessian500: grad . v vs finite differences of f",
          dirs @ g, [(f(x + eps * d) - f(x - eps * d)) / (2 * eps) for d in dirs], FD_RTOL)
    H = hw.tanh_sq_hessian(A, x)
    fd = np.empty_like(H)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        fd[:, i] = (hw.tanh_sq_grad(A, x + e) - hw.tanh_sq_grad(A, x - e)) / (2 * eps)
    check("hessian500: Hessian vs finite differences of the gradient", H, fd, FD_RTOL)
    check("hessian500: Hessian symmetric", H, H.T, EXACT_RTOL)
    t = np.tanh(A @ x)
    d = 2 * (1 - t**2) ** 2 - 4 * t**2 * (1 - t**2)
    check("hessian500: d = 2(1-t^2)(1-3t^2) equals 2(1-t^2)^2 - 4t^2(1-t^2)",
          H, A.T @ np.diag(d) @ A, EXACT_RTOL)


def check_scan(check):
    W, h0, xs = models.scan_inputs()
    check("scan1000: hand-written loop vs models.rnn_scan on NumPy",
          hw.rnn_scan(W, h0, xs), models.rnn_scan(np, models.numpy_lax, W, h0, xs), EXACT_RTOL)


def check_add4(check):
    a, b, c, d = models.add4_inputs()
    check("add4: hand-written vs models.add4", hw.add4(a, b, c, d), models.add4(a, b, c, d), 0.0)


def check_train_steps(check):
    """The hand-written optimizer steps against the formulas written out in models.py, on NumPy."""
    params, x, y = models.mlp_inputs(**models.MLP_LARGE)
    _, grads = hw.mlp_value_and_grad(params, x, y)
    for name, by_hand, written, hyper in (("momentum", hw.mlp_train_step_momentum, models.momentum_step,
                                           models.MOMENTUM),
                                          ("adam", hw.mlp_train_step_adam, models.adam_step, models.ADAM)):
        state = models.optimizer_state(name, params)
        _, new_params, new_state = by_hand(params, state, x, y, **hyper)
        check(f"train_step/{name}: params and state vs models.{name}_step", (new_params, new_state),
              written(np, params, grads, state), EXACT_RTOL)


def check_mlp_labels(check):
    """The integer-label baseline against the checked one-hot baseline and both loss forms."""
    params, x, onehot = models.mlp_inputs(**models.MLP_SMALL)
    labels = onehot.argmax(axis=1)
    got = hw.mlp_value_and_grad_labels(params, x, labels)
    check("mlp_labels: value and grads vs the one-hot baseline", got,
          hw.mlp_value_and_grad(params, x, onehot), EXACT_RTOL)
    for form in ("take_along_axis", "arange"):
        check(f"mlp_labels: loss vs models.mlp_loss_labels ({form}) on NumPy", got[0],
              models.mlp_loss_labels(np, models.numpy_nn, form, params, x, labels), EXACT_RTOL)


def main():
    check = Checker()
    print("self-check of the hand-written NumPy baselines")
    check_mlp(check, "mlp_small", models.MLP_SMALL)
    check_mlp(check, "mlp_large", models.MLP_LARGE)
    check_mlp(check, "mlp_xl (memory)", models.MLP_XL, n_dirs=2)
    check_mlp_labels(check)
    check_per_example(check)
    check_chain(check)
    check_hessian(check)
    check_scan(check)
    check_add4(check)
    check_train_steps(check)
    print(f"{'FAILED' if check.failed else 'all passed'}: {check.failed} failure(s)")
    return 1 if check.failed else 0
