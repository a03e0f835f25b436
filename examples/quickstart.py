"""A tour of fungrad in one run: trace, differentiate, vectorize, compile, and fit a model.

Run: python examples/quickstart.py
"""
import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import grad, hessian, jit, make_jaxpr, value_and_grad, vmap


def tanh_layer(params, x):
    w, b = params
    return fnp.tanh(x @ w + b)


def main() -> None:
    # 1. Tracing: the program a function stages.
    f = lambda x: fnp.sum(fnp.sin(x) * x)
    x = np.array([0.5, 1.0, 1.5])
    print("jaxpr of f:\n", make_jaxpr(f)(x), sep="")

    # 2. Derivatives compose to any order.
    print("grad f      :", grad(f)(x))
    print("closed form :", np.cos(x) * x + np.sin(x))
    print("hessian diag:", np.diag(hessian(f)(x)))
    d3 = grad(grad(grad(fnp.sin)))(0.3)
    print(f"d3/dx3 sin(0.3) = {d3:.12f} (closed form {-np.cos(0.3):.12f})")

    # 3. vmap: per-example gradients of a least-squares loss.
    rng = np.random.default_rng(0)
    xs, w_true = rng.standard_normal((64, 3)), np.array([1.0, -2.0, 0.5])
    ys = xs @ w_true + 0.1 * rng.standard_normal(64)
    loss = lambda w, x, y: (fnp.dot(x, w) - y) ** 2
    per_example = vmap(grad(loss), in_axes=(None, 0, 0))(np.zeros(3), xs, ys)
    print("per-example gradients:", per_example.shape)

    # 4. jit: fit the model by gradient descent, one compiled step per iteration.
    mean_loss = lambda w: fnp.mean((xs @ w - ys) ** 2)
    step = jit(value_and_grad(mean_loss))
    w = np.zeros(3)
    for i in range(200):
        value, g = step(w)
        w = w - 0.1 * g
    print(f"fitted w = {np.round(w, 3)} (true {w_true}), loss {value:.5f}")
    print("jit cache:", step.cache_info())
    assert np.allclose(w, np.linalg.lstsq(xs, ys, rcond=None)[0], atol=1e-6)
    print("fungrad", fungrad.__version__, "ok")


if __name__ == "__main__":
    main()
