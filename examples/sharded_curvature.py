"""A sharded curvature study: the top eigenvalues of the generalized Gauss-Newton matrix of the
digits MLP over 1,680 examples split across processes.

Each process holds its shard; one GGN-vector product is the local product (jvp, loss Hessian,
vjp, compiled by jit) followed by ``lax.pmean`` across the processes (one MPI Allreduce in the
generated code), and Lanczos (``optim.curvature.eigsh``) runs on every process alike on top of it.
Process 0 then repeats the study alone on the whole data set and prints both spectra.

Run: mpiexec -n 4 python examples/sharded_curvature.py [--k 5]
"""
import argparse
import os
import sys

import numpy as np

import fungrad.numpy as fnp
from fungrad import distributed, lax, nn
from fungrad.optim.curvature import ProductOperator, eigsh, ggn_operator
from fungrad.optim.curvature.products import ggn_product

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_parallel import init_params, load  # noqa: E402  (the same data and model)


def model(params, x):
    h = x
    for w, b in params[:-1]:
        h = fnp.tanh(h @ w + b)
    w, b = params[-1]
    return h @ w + b


def cross_entropy(logits, y):
    return -fnp.mean(fnp.sum(y * nn.log_softmax(logits), axis=-1))


def sharded_ggn(params, x_shard, y_shard, axis_name="dp"):
    """The GGN of the whole data set from this process's (equal) shard: mean of the shards' GGNs."""
    def product(p, batch, v):
        return lax.pmean(ggn_product(model, cross_entropy, p, batch[0], batch[1], v), axis_name)
    return ProductOperator(product, params, [(x_shard, y_shard)])


def main(k=5):
    distributed.initialize()
    me = distributed.process_index()
    x, y, _, _ = load()
    params = init_params(np.random.default_rng(0), [64, 16, 10])
    xs, ys = distributed.shard((x, y))
    top = distributed.pmap(lambda: eigsh(sharded_ggn(params, xs, ys), k=k)[0], axis_name="dp")()
    if me == 0:
        alone = eigsh(ggn_operator(model, cross_entropy, params, x, y), k=k)[0]
        print("top GGN eigenvalues, sharded:     ", np.array2string(top[::-1], precision=10))
        print("top GGN eigenvalues, one process: ", np.array2string(alone[::-1], precision=10))
        print(f"max relative difference: {np.max(np.abs(top - alone) / np.abs(alone)):.3g}")
    return top


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=5)
    main(parser.parse_args().k)
