"""Curvature-vector products as pure functions of traced values (what the operators compile with ``jit``).

Each product takes the parameters, the batch and a tangent pytree ``v`` shaped like the parameters and
returns a pytree of the same shape. They are plain fungrad programs, so a training step can call them inside
its own ``jit`` (the Hessian-free optimizer does).

The Gauss-Newton and Fisher products share one form, ``J^T M J v``: a ``jvp`` of the model, a map ``M`` in
output space, and a ``vjp`` back. Only ``M`` differs:

- GGN: ``M`` is the Hessian of ``loss_of_output`` at the model's outputs (a ``jvp`` of its gradient);
- exact categorical Fisher: ``M = (diag(p) - p p^T) / N`` per example, ``p = softmax(outputs)``;
- exact Gaussian (unit variance) Fisher: ``M = I / N``;
- Monte-Carlo Fisher: ``M = sum_s r_s r_s^T / (N S)`` with ``r_s`` the gradient of ``-log p(y_s | f)`` with
  respect to the outputs ``f`` for sampled targets ``y_s`` (precomputed, see ``likelihoods``);
- empirical Fisher: the "model" is the vector of per-example losses and ``M = I / N``.

>>> import fungrad.numpy as fnp
>>> model = lambda w, x: x @ w
>>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
>>> gaussian_fisher_product(model, np.zeros(2), x, np.array([1.0, 0.0]))  # x^T x e_1 / 2
array([5., 7.])
"""
from __future__ import annotations

from typing import Any, Callable

import fungrad.numpy as fnp
from fungrad import nn
from fungrad.api import grad, jvp, linearize, vjp, vmap
from fungrad.tree_util import PyTree

__all__ = ["hessian_product", "linearize_model", "jtmj_product", "ggn_product", "loss_hessian_map", "FISHER_MAPS",
           "categorical_fisher_product", "gaussian_fisher_product", "sampled_fisher_product", "empirical_fisher_product"]

Model = Callable[[PyTree, Any], Any]


def hessian_product(loss: Callable[..., Any], params: PyTree, args: tuple[Any, ...], v: PyTree) -> PyTree:
    """``H v`` of ``loss(params, *args)`` by forward-over-reverse.

    >>> hessian_product(lambda w: fnp.sum(w ** 3), np.array([1.0, 2.0]), (), np.ones(2))
    array([ 6., 12.])
    """
    return jvp(lambda p: grad(loss)(p, *args), (params,), (v,))[1]


def linearize_model(model: Model, params: PyTree, inputs: Any
                    ) -> tuple[Any, Callable[[PyTree], Any], Callable[[Any], PyTree]]:
    """``model(params, inputs)``, ``v -> J v`` and ``u -> J^T u``: one forward pass serves any number of products.

    >>> f, push, pull = linearize_model(lambda w, x: x * w, np.array([1.0, 2.0]), np.array([3.0, 1.0]))
    >>> push(np.ones(2)), pull(np.ones(2))
    (array([3., 1.]), array([3., 1.]))
    """
    outputs, pullback = vjp(lambda p: model(p, inputs), params)
    push = linearize(lambda p: model(p, inputs), params)[1]
    return outputs, push, lambda u: pullback(u)[0]


def jtmj_product(model: Model, output_map: Callable[[Any, Any], Any], params: PyTree, inputs: Any,
                 v: PyTree) -> PyTree:
    """``J^T M J v`` with ``J`` the Jacobian of ``model(params, inputs)`` and ``output_map(f, Jv) = M Jv``.

    >>> jtmj_product(lambda w, x: x * w, lambda f, u: 2 * u, np.array([1.0, 2.0]), np.array([3.0, 1.0]),
    ...              np.ones(2))
    array([18.,  2.])
    """
    outputs, push, pull = linearize_model(model, params, inputs)
    return pull(output_map(outputs, push(v)))


def ggn_product(model: Model, loss_of_output: Callable[[Any, Any], Any], params: PyTree, inputs: Any,
                targets: Any, v: PyTree) -> PyTree:
    """Generalized Gauss-Newton ``J^T H_L J v``, ``H_L`` the Hessian of ``loss_of_output(·, targets)``.

    >>> ggn_product(lambda w, x: x @ w, lambda f, y: fnp.sum((f - y) ** 2), np.zeros(2), np.eye(2),
    ...             np.zeros(2), np.array([1.0, 3.0]))
    array([2., 6.])
    """
    return jtmj_product(model, loss_hessian_map(loss_of_output, targets), params, inputs, v)


def loss_hessian_map(loss_of_output: Callable[[Any, Any], Any], targets: Any) -> Callable[[Any, Any], Any]:
    """``(f, u) -> H_L(f) u``, the Hessian of ``loss_of_output(·, targets)`` at ``f`` times ``u``.

    >>> loss_hessian_map(lambda f, y: fnp.sum((f - y) ** 2), np.zeros(2))(np.ones(2), np.array([1.0, 2.0]))
    array([2., 4.])
    """
    def hessian_map(outputs: Any, u: Any) -> Any:
        return jvp(lambda f: grad(loss_of_output)(f, targets), (outputs,), (u,))[1]
    return hessian_map


def _categorical_map(outputs: Any, jv: Any) -> Any:
    p = nn.softmax(outputs, axis=-1)
    pjv = p * jv
    return (pjv - p * fnp.sum(pjv, axis=-1, keepdims=True)) / outputs.shape[0]


def _gaussian_map(outputs: Any, jv: Any) -> Any:
    return jv / outputs.shape[0]


FISHER_MAPS = {"categorical": _categorical_map, "gaussian": _gaussian_map}


def categorical_fisher_product(model: Model, params: PyTree, inputs: Any, v: PyTree) -> PyTree:
    """Exact Fisher of a softmax over the last output axis, mean over examples (leading axis)."""
    return jtmj_product(model, FISHER_MAPS["categorical"], params, inputs, v)


def gaussian_fisher_product(model: Model, params: PyTree, inputs: Any, v: PyTree) -> PyTree:
    """Exact Fisher of a unit-variance Gaussian around the outputs, mean over examples: ``J^T J v / N``."""
    return jtmj_product(model, FISHER_MAPS["gaussian"], params, inputs, v)


def sampled_fisher_product(model: Model, params: PyTree, inputs: Any, residuals: Any, v: PyTree) -> PyTree:
    """Monte-Carlo Fisher from ``residuals`` of shape ``(N, S, *output_shape[1:])``: ``d(-log p(y_s|f))/df``."""
    def sampled_map(outputs: Any, jv: Any) -> Any:
        n, s = residuals.shape[:2]
        r = fnp.reshape(residuals, (n, s, -1))
        coeff = fnp.einsum("nsk,nk->ns", r, fnp.reshape(jv, (n, -1)))
        return fnp.reshape(fnp.einsum("nsk,ns->nk", r, coeff), jv.shape) / (n * s)
    return jtmj_product(model, sampled_map, params, inputs, v)


def empirical_fisher_product(per_example_loss: Callable[[PyTree, Any, Any], Any], params: PyTree,
                             inputs: Any, targets: Any, v: PyTree) -> PyTree:
    """``(1/N) sum_n g_n g_n^T v`` with ``g_n`` the gradient of example ``n``'s loss.

    Computed as ``J_l^T J_l v / N`` with ``J_l`` the Jacobian of the vector of per-example losses (a ``jvp`` and
    a ``vjp`` of ``vmap(per_example_loss)``), so the per-example gradients are never stored.
    """
    def losses(p: PyTree, batch: tuple[Any, Any]) -> Any:
        return vmap(per_example_loss, in_axes=(None, 0, 0))(p, batch[0], batch[1])
    return jtmj_product(losses, _gaussian_map, params, (inputs, targets), v)
