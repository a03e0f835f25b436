#!/usr/bin/env python
"""Curvature products and Lanczos on the 784-256-256-10 MLP (batch 128), against one training step.

    python bench/curvature.py [--rounds N] [--peers] [--only ggn,hvp,lanczos,lm_step]

``lm_step`` times one jitted ``hessian_free`` update (default CG budget) and states it in GGN-products.

Rows are timed *interleaved* (``timing.measure_interleaved``: one sample of each in turn, the order reversed
every round), so the load of a shared machine falls on all of them alike; medians are over rounds, and each ratio is
taken against the ``jit(value_and_grad)`` step of the same run. Every product is checked first (the HVP
against central differences of the gradient, the GGN against its defining jvp/vjp computed eagerly).
With ``--peers``, curvlinops (PyTorch) products of the same model join when installed.
"""
import argparse
import functools
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import fungrad  # noqa: E402
import fungrad.numpy as fnp  # noqa: E402
from bench import models, timing  # noqa: E402
from bench.blas_info import lines as blas_lines  # noqa: E402
from fungrad import nn  # noqa: E402
from fungrad.flatten_util import ravel_pytree  # noqa: E402
from fungrad.optim import curvature as cv  # noqa: E402
from fungrad.optim.curvature import products  # noqa: E402
from fungrad.optim.hessian_free import hessian_free  # noqa: E402


def mlp_logits(params, x):
    h = x
    for W, b in params[:-1]:
        h = fnp.tanh(h @ W + b)
    W, b = params[-1]
    return h @ W + b


def cross_entropy(logits, y):
    return -fnp.mean(fnp.sum(y * nn.log_softmax(logits, axis=-1), axis=-1))


def loss(params, x, y):
    return cross_entropy(mlp_logits(params, x), y)


def report(title, results, base, limits=None):
    print(f"\n{title}")
    b = results[base].median
    for name, t in results.items():
        limit = "" if not limits or name not in limits else f"   (target <= {limits[name]}x)"
        print(f"  {name:<56} {t.median * 1e3:9.3f} ms  IQR {t.iqr * 1e3:7.3f}  {t.median / b:6.2f}x{limit}")


def check(name, got, want, rtol):
    err = np.max(np.abs(got - want)) / np.max(np.abs(want))
    status = "ok" if err <= rtol else "FAIL"
    print(f"  check {name}: max rel err {err:.1e} ({status})")


def to_torch_order(params, flat):
    """A flat vector in fungrad's (W, b) order, rearranged to torch.nn.Linear's (weight = W^T, bias) order."""
    leaves, start = [], 0
    for W, b in params:
        leaves.append(flat[start:start + W.size].reshape(W.shape).T.ravel())
        leaves.append(flat[start + W.size:start + W.size + b.size])
        start += W.size + b.size
    return np.concatenate(leaves)


def curvlinops_calls(params, x, y, v, want):
    """GGN and Hessian products of the same model in curvlinops + PyTorch, or {} when not installed.

    ``want`` maps each name to fungrad's product of ``v``, which the peer's result is checked against.
    """
    try:
        import torch
        from curvlinops import GGNLinearOperator, HessianLinearOperator
    except ImportError as e:
        print(f"  curvlinops peer skipped ({e})")
        return {}
    torch.set_default_dtype(torch.float64)
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    layers = []
    for i, (W, b) in enumerate(params):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers += [lin] + ([torch.nn.Tanh()] if i < len(params) - 1 else [])
    model = torch.nn.Sequential(*layers)
    tp = [p for p in model.parameters() if p.requires_grad]
    data = [(torch.from_numpy(x), torch.from_numpy(y.argmax(1)))]
    loss_fn = torch.nn.CrossEntropyLoss(reduction="mean")
    tv = to_torch_order(params, v)
    calls = {}
    for name, cls in (("GGN", GGNLinearOperator), ("Hessian", HessianLinearOperator)):
        op = cls(model, loss_fn, tp, data, check_deterministic=False)
        op = op.to_scipy() if hasattr(op, "to_scipy") else op
        check(f"curvlinops {name} product vs fungrad's", op @ tv, to_torch_order(params, want[name]), 1e-8)
        calls[f"curvlinops {name}-vector product"] = lambda op=op: op @ tv
    return calls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--peers", action="store_true")
    ap.add_argument("--only", default="ggn,hvp,lanczos,lm_step")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    print("\n".join(blas_lines()))
    print("MLP 784-256-256-10, batch 128, tanh, softmax cross-entropy (mean), float64")
    params, x, y = models.mlp_inputs(**models.MLP_LARGE)
    flat, unravel = ravel_pytree(params)
    v = np.random.default_rng(5).standard_normal(flat.size)
    step = fungrad.jit(fungrad.value_and_grad(loss))
    G = cv.ggn_operator(mlp_logits, cross_entropy, params, x, y)
    H = cv.hessian_operator(loss, params, x, y)

    grad_flat = lambda p: ravel_pytree(step(unravel(p), x, y)[1])[0]
    eps = 1e-5
    check("Hessian-vector product vs central differences of the gradient", H @ v,
          (grad_flat(flat + eps * v) - grad_flat(flat - eps * v)) / (2 * eps), 1e-5)
    check("GGN-vector product vs eager jvp/loss-Hessian/vjp",
          G @ v, ravel_pytree(products.ggn_product(mlp_logits, cross_entropy, params, x, y, unravel(v)))[0],
          1e-10)

    calls = {"jit(value_and_grad) step": lambda: step(params, x, y)}
    limits = {}
    if "ggn" in only:
        calls["GGN-vector product (G @ v)"] = lambda: G @ v
        limits["GGN-vector product (G @ v)"] = 3
    if "hvp" in only:
        calls["Hessian-vector product (H @ v)"] = lambda: H @ v
        limits["Hessian-vector product (H @ v)"] = 4
    if "lm_step" in only:
        opt = hessian_free(mlp_logits, cross_entropy)
        state, (value, grads) = opt.init(params), step(params, x, y)
        lm_update = fungrad.jit(opt.update)
        iterations = int(lm_update(grads, state, params, inputs=x, targets=y, value=value)[1].cg_iterations)
        name = f"stepwise LM update (hessian_free defaults, {iterations} CG its)"
        calls[name] = lambda: lm_update(grads, state, params, inputs=x, targets=y, value=value)
    if args.peers:
        calls.update(curvlinops_calls(params, x, y, v, {"GGN": G @ v, "Hessian": H @ v}))
    if len(calls) > 1:
        settings = timing.Settings(target=0.05, repeat=args.rounds, warmup=2, max_time=60.0)
        results = dict(zip(calls, timing.measure_interleaved(list(calls.values()), settings)))
        report("products, interleaved (median over rounds, IQR)", results, "jit(value_and_grad) step",
               limits)
        lm = [k for k in results if k.startswith("stepwise LM")]
        if lm and "GGN-vector product (G @ v)" in results:
            print(f"  stepwise LM update = {results[lm[0]].median / results['GGN-vector product (G @ v)'].median:.2f} "
                  "GGN-vector products (target <= 10)")
        print(f"  GGN compiled {G.compiled.cache_info().misses} time(s), Hessian {H.compiled.cache_info().misses}")

    if "lanczos" in only:
        times = []
        for seed in range(3):
            t0 = time.perf_counter()
            vals, _ = cv.eigsh(G, k=10, seed=seed)
            times.append(time.perf_counter() - t0)
        print(f"\nLanczos top-10 eigenvalues of the GGN (eigsh, k=10, tol 1e-10): "
              f"median {statistics.median(times):.2f} s "
              f"over 3 seeds [{min(times):.2f}-{max(times):.2f}] (target < 10 s)")
        print("  eigenvalues:", np.array2string(vals[::-1], precision=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
