"""K-FAC: a Kronecker-factored, block-diagonal approximation of the Fisher for dense-layer networks.

Dense layers are found in the traced program, with no change to the model: a layer is a ``dot_general``
``h @ W`` contracting the last axis of a 2-D activation ``h`` (examples, fan_in) with the first axis of a 2-D
parameter leaf ``W``, optionally followed by an ``add`` of a 1-D parameter leaf ``b`` (the bias). Every
parameter leaf must belong to exactly one such layer (other leaves, or a weight used twice, are an error).

For each layer, with inputs ``a_n`` (augmented by a 1 when there is a bias) and the gradients ``g_n`` of the
negative log-likelihood with respect to the layer's output, the Fisher block
``mean_n E_y[(a_n a_n^T) kron (g_n g_n^T)]`` is approximated by ``A kron G`` with ``A = mean_n a_n a_n^T`` and
``G = mean_n E_y[g_n g_n^T]``, so a product is ``A V G`` per layer (``V`` the layer's ``[W; b]``). The
expectation over targets is exact (every class weighted by its probability, or every output unit for the
Gaussian) or a Monte-Carlo average with ``mc_samples`` (as in :func:`fisher_operator`). With a single example
the blocks are exactly the Fisher's diagonal blocks.

>>> import fungrad.numpy as fnp
>>> model = lambda p, x: x @ p["W"] + p["b"]
>>> K = kfac_operator(model, {"W": np.zeros((2, 3)), "b": np.zeros(3)}, np.ones((4, 2)))
>>> K.shape
(9, 9)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

import fungrad.numpy as fnp
from fungrad.api import make_jaxpr, vjp, vmap
from fungrad.ir import Jaxpr, Literal, Var
from fungrad.jit import jit
from fungrad.optim.curvature.likelihoods import check_likelihood, sample_residuals
from fungrad.optim.curvature.operator import LinearOperator, Space
from fungrad.optim.curvature.operators import input_batches
from fungrad.tree_util import PyTree, tree_flatten, tree_leaves

__all__ = ["DenseLayer", "find_dense_layers", "kfac_operator", "KFACOperator"]


@dataclass(frozen=True)
class DenseLayer:
    """A dense layer of the traced model: indices of its weight and bias among the parameter leaves.

    >>> import fungrad
    >>> jaxpr = fungrad.make_jaxpr(lambda p, x: x @ p)(np.ones((2, 3)), np.ones((4, 2)))
    >>> layer, = find_dense_layers(jaxpr, 1)
    >>> layer.weight, layer.bias
    (0, None)
    """

    weight: int
    bias: int | None
    activation: Var      # the layer's input h
    output: Var          # h @ W, or h @ W + b


def _is_dense(eqn: Any, leaf_of: dict[Var, int]) -> bool:
    if eqn.primitive.name != "dot_general" or eqn.params["dimension_numbers"] != (((1,), (0,)), ((), ())):
        return False
    h, W = eqn.inputs
    return type(W) is Var and W in leaf_of and W.aval.ndim == 2 and h.aval.ndim == 2 and h not in leaf_of


def find_dense_layers(jaxpr: Jaxpr, num_param_leaves: int) -> list[DenseLayer]:
    """The dense layers of ``jaxpr``, whose first ``num_param_leaves`` inputs are the parameter leaves.

    >>> import fungrad
    >>> jaxpr = fungrad.make_jaxpr(lambda p, x: x @ p[0] + p[1])((np.ones((2, 3)), np.ones(3)), np.ones((4, 2)))
    >>> [(l.weight, l.bias) for l in find_dense_layers(jaxpr, 2)]
    [(0, 1)]
    """
    leaf_of = {v: i for i, v in enumerate(jaxpr.invars[:num_param_leaves])}
    uses: dict[Var, list[Any]] = {}
    for eqn in jaxpr.eqns:
        for a in eqn.inputs:
            if type(a) is Var:
                uses.setdefault(a, []).append(eqn)
    layers = []
    for eqn in jaxpr.eqns:
        if not _is_dense(eqn, leaf_of):
            continue
        h, W = eqn.inputs
        out, bias = eqn.outvars[0], None
        consumers = uses.get(out, [])
        if len(consumers) == 1 and consumers[0].primitive.name == "add":
            other = [a for a in consumers[0].inputs if a is not out]
            if len(other) == 1 and type(other[0]) is Var and other[0] in leaf_of and other[0].aval.ndim == 1:
                bias, out = leaf_of[other[0]], consumers[0].outvars[0]
        assert type(W) is Var and type(h) is Var
        layers.append(DenseLayer(leaf_of[W], bias, h, out))
    claimed = [i for layer in layers for i in (layer.weight, layer.bias) if i is not None]
    if len(set(claimed)) != len(claimed):
        raise ValueError("kfac_operator: a parameter leaf is used by more than one dense layer (weight sharing "
                         "is not supported)")
    if sorted(claimed) != list(range(num_param_leaves)):
        missing = sorted(set(range(num_param_leaves)) - set(claimed))
        raise ValueError(f"kfac_operator handles networks of dense layers only: parameter leaves {missing} "
                         "(in tree_leaves order) are not the weight (h @ W) or bias (+ b) of a dense layer")
    return layers


def _tapped_forward(jaxpr: Jaxpr, layers: Sequence[DenseLayer], args: Sequence[Any],
                    perturbations: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Run ``jaxpr`` adding ``perturbations[l]`` to layer ``l``'s output; also return the layers' inputs."""
    env: dict[Var, Any] = dict(zip(jaxpr.constvars, jaxpr.consts))
    env.update(zip(jaxpr.invars, args))
    tap = {layer.output: i for i, layer in enumerate(layers)}

    def read(a: Any) -> Any:
        return a.val if type(a) is Literal else env[a]

    for eqn in jaxpr.eqns:
        outs = eqn.primitive.bind(*map(read, eqn.inputs), **eqn.params)
        for v, x in zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]):
            env[v] = x + perturbations[tap[v]] if v in tap else x
    return [read(v) for v in jaxpr.outvars], [env[layer.activation] for layer in layers]


def _exact_residuals(likelihood: str, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output-space gradients ``r_nk`` and weights ``w_nk`` with ``sum_k w_nk r_nk r_nk^T`` = the Fisher."""
    n, c = outputs.shape[0], int(np.prod(outputs.shape[1:]))
    if likelihood == "gaussian":
        eye = np.broadcast_to(np.eye(c).reshape((1, c) + outputs.shape[1:]), (n, c) + outputs.shape[1:])
        return np.array(eye), np.ones((n, c))
    p = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return p[:, None, :] - np.eye(c)[None], p


class KFACOperator(LinearOperator):
    """Block-diagonal ``A_l kron G_l`` over dense layers (see :func:`kfac_operator`); ``factors`` holds them.

    >>> K = kfac_operator(lambda p, x: x @ p, np.zeros((2, 1)), np.eye(2), likelihood="gaussian")
    >>> K @ np.array([[1.0], [1.0]])
    array([[0.5],
           [0.5]])
    """

    symmetric = True

    def __init__(self, params: PyTree, layers: Sequence[DenseLayer], factors: Sequence[tuple[Any, Any]]):
        space = Space(params)
        super().__init__(space, space)
        self.layers, self.factors = list(layers), [(np.asarray(A), np.asarray(G)) for A, G in factors]

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        leaves, treedef = tree_flatten(self.in_space.to_tree(v))
        out = list(leaves)
        for layer, (A, G) in zip(self.layers, self.factors):
            V = leaves[layer.weight] if layer.bias is None else \
                np.vstack([leaves[layer.weight], leaves[layer.bias][None, :]])
            AVG = A @ V @ G
            out[layer.weight] = AVG[: leaves[layer.weight].shape[0]]
            if layer.bias is not None:
                out[layer.bias] = AVG[-1]
        return self.in_space.to_flat(treedef.unflatten(out))

    def inverse(self, damping: float) -> KFACOperator:
        """``(A + sqrt(damping) I)^{-1} kron (G + sqrt(damping) I)^{-1}`` per layer: K-FAC's preconditioner.

        (Factored Tikhonov damping: the inverse of a damped approximation, not of ``K + damping I``.)

        >>> model = lambda p, x: x @ p
        >>> K = kfac_operator(model, np.zeros((2, 2)), np.eye(2), likelihood="gaussian")
        >>> np.allclose(K.inverse(1e-12).to_dense() @ K.to_dense(), np.eye(4))
        True
        """
        root = float(np.sqrt(damping))
        inv = [(np.linalg.inv(A + root * np.eye(len(A))), np.linalg.inv(G + root * np.eye(len(G))))
               for A, G in self.factors]
        return KFACOperator(self.in_space.to_tree(np.zeros(self.in_space.size)), self.layers, inv)


def kfac_operator(model: Callable[[PyTree, Any], Any], params: PyTree, inputs: Any = None,
                  likelihood: str = "categorical", mc_samples: int | None = None, seed: int = 0, *,
                  data: Sequence[Any] | None = None) -> KFACOperator:
    """K-FAC approximation of ``fisher_operator(model, params, inputs, likelihood, mc_samples, seed)``.

    The model must be a network of dense layers (see the module docstring for how they are found); the
    factors are computed once, here, by one compiled forward and backward pass per batch (``K`` backward
    cotangents: every class, every output unit, or ``mc_samples`` samples), averaged over ``data=`` batches
    by example count.

    >>> model = lambda p, x: x @ p
    >>> K = kfac_operator(model, np.zeros((2, 1)), np.array([[1.0, 0.0], [0.0, 2.0]]), likelihood="gaussian")
    >>> K.factors[0][0]          # A = x^T x / N
    array([[0.5, 0. ],
           [0. , 2. ]])
    """
    check_likelihood(likelihood)
    batches = input_batches(inputs, data, "kfac_operator")
    leaves, treedef = tree_flatten(params)
    jaxpr = make_jaxpr(lambda p, x: model(treedef.unflatten(p), x))(leaves, batches[0])
    layers = find_dense_layers(jaxpr, len(leaves))
    if len(jaxpr.outvars) != 1 or jaxpr.outvars[0].aval.ndim < 1:
        raise ValueError("kfac_operator: the model must return one array with examples on its leading axis")

    def layer_factors(p: list[Any], x: Any, residuals: Any, weights: Any) -> list[tuple[Any, Any]]:
        n = weights.shape[0]
        zeros = [fnp.zeros((n, layer.output.aval.shape[1])) for layer in layers]

        def outputs_and_inputs(eps: list[Any]) -> tuple[Any, list[Any]]:
            outs, acts = _tapped_forward(jaxpr, layers, p + tree_leaves(x), eps)
            return outs[0], acts
        _, pullback, acts = vjp(outputs_and_inputs, zeros, has_aux=True)
        grads = vmap(lambda r: pullback(r)[0], in_axes=1)(residuals)    # per layer: (K, N, fan_out)
        factors = []
        for i, (layer, a) in enumerate(zip(layers, acts)):
            if layer.bias is not None:
                a = fnp.concatenate([a, fnp.ones((n, 1))], axis=1)
            G = fnp.einsum("nk,kni,knj->ij", weights, grads[i], grads[i])
            factors.append((a.T @ a / n, G / n))
        return factors

    compiled, forward = jit(layer_factors), jit(model)
    rng = np.random.default_rng(seed)
    total: list[tuple[Any, Any]] | None = None
    counts = [int(np.shape(tree_leaves(x)[0])[0]) for x in batches]
    for x, count in zip(batches, counts):
        outputs = np.asarray(forward(params, x))
        if mc_samples is None:
            residuals, weights = _exact_residuals(likelihood, outputs)
        else:
            residuals = sample_residuals(likelihood, outputs, mc_samples, rng)
            weights = np.full(residuals.shape[:2], 1.0 / mc_samples)
        share = count / sum(counts)
        got = [(share * A, share * G) for A, G in compiled(leaves, x, residuals, weights)]
        total = got if total is None else [(A0 + A, G0 + G) for (A0, G0), (A, G) in zip(total, got)]
    assert total is not None
    return KFACOperator(params, layers, total)
