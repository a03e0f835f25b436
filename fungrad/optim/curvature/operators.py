"""Hessian, generalized Gauss-Newton, Fisher, empirical Fisher and Jacobian operators over parameter pytrees.

Every constructor traces nothing up front: it wraps one product function in ``jit`` once (so each operator
compiles its product on first use and reuses it; products never retrace for batches of one shape), and
averages it over ``data=`` batches when given. Examples sit on the leading axis of ``inputs``/``targets``.

When GGN and Fisher coincide. For a loss that is the negative log-likelihood of an exponential family whose
natural parameter is the model's output (a *canonical link*: softmax cross-entropy on logits, squared error
on a Gaussian mean), the loss Hessian with respect to the outputs does not depend on the targets and equals
the Fisher of the predictive distribution, so ``J^T H_L J`` is the Fisher: ``ggn_operator`` with
``mean(softmax_cross_entropy)`` equals ``fisher_operator(likelihood="categorical")``, and with
``0.5 * mean over examples of sum((f - y)**2)`` equals ``fisher_operator(likelihood="gaussian")``.
The scale follows the loss: ``mean((f - y)**2)`` over all ``N * C`` entries has Hessian ``2 I / (N C)`` in
output space, so its GGN is ``(2 / C)`` times the Gaussian Fisher (which is a mean over the ``N`` examples of
``J_n^T J_n``). Without a canonical link (e.g. a squared error on softmax probabilities) the two differ.

Why the empirical Fisher is not the Fisher. The Fisher takes the expectation of ``g g^T`` over targets drawn
from the *model*; the empirical Fisher plugs in the observed targets. Only when the model's predictive
distribution matches the data does it approach the Fisher; far from that (early in training, or at a
poor fit) it is a different matrix, scaled by the residuals: it vanishes where the loss gradient vanishes
example by example and grows with the errors, so it mis-measures curvature (Kunstner et al., 2019).

>>> import fungrad.numpy as fnp
>>> model = lambda w, x: x @ w
>>> x, y = np.array([[1.0, 0.0], [1.0, 2.0]]), np.array([1.0, -1.0])
>>> G = ggn_operator(model, lambda f, y: 0.5 * fnp.mean((f - y) ** 2), np.zeros(2), x, y)
>>> G.to_dense()            # x^T x / 2
array([[1., 1.],
       [1., 2.]])
>>> np.allclose(fisher_operator(model, np.zeros(2), x, likelihood="gaussian").to_dense(), G.to_dense())
True
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.api import jvp, vjp
from fungrad.flatten_util import ravel_pytree
from fungrad.jit import jit
from fungrad.optim.curvature import products
from fungrad.optim.curvature.likelihoods import check_likelihood, sample_residuals
from fungrad.optim.curvature.operator import LinearOperator, Space
from fungrad.tree_util import PyTree, tree_leaves

__all__ = ["hessian_operator", "ggn_operator", "fisher_operator", "empirical_fisher_operator",
           "jacobian_operator", "ProductOperator", "JacobianOperator"]

Batch = tuple[Any, ...]


def _example_count(batch: Batch) -> int:
    leaves = tree_leaves(batch[0]) if batch else []
    return int(np.shape(leaves[0])[0]) if leaves and np.ndim(leaves[0]) else 1


def _batches(given: Batch, data: Sequence[Any] | None, arity: int, what: str) -> list[Batch]:
    """The batches to average over: ``given`` alone, or each element of ``data`` as a tuple of ``arity``."""
    if data is None:
        if any(a is None for a in given):
            raise TypeError(f"{what}: pass the batch arguments, or data= a sequence of batches")
        return [given]
    if any(a is not None for a in given):
        raise TypeError(f"{what}: pass either the batch arguments or data=, not both")
    batches = [tuple(b) if isinstance(b, (tuple, list)) else (b,) for b in data]
    if not batches:
        raise ValueError(f"{what}: data= is empty")
    if arity >= 0 and any(len(b) != arity for b in batches):
        raise ValueError(f"{what}: every data= batch must be a tuple of {arity} arrays "
                         f"(got lengths {sorted({len(b) for b in batches})})")
    return batches


def input_batches(inputs: Any, data: Sequence[Any] | None, what: str) -> list[Any]:
    """The input batches: ``[inputs]``, or the first element of each ``data=`` batch (targets unused).

    >>> input_batches(None, [(np.ones(2), 0), (np.zeros(2), 1)], "demo")
    [array([1., 1.]), array([0., 0.])]
    """
    given = [(b[0] if isinstance(b, (tuple, list)) else b,) for b in data] if data is not None else None
    return [b[0] for b in _batches((inputs,), given, 1, what)]


class ProductOperator(LinearOperator):
    """A symmetric operator over the parameters from a product ``product(params, batch, v) -> pytree``.

    The product is compiled once (``jit`` of the flat map) and averaged over the batches, each weighted by
    its share of the examples (the leading axis of its first array), so that a loss written as a mean over
    examples gives the operator of the whole data set.

    >>> import fungrad.numpy as fnp
    >>> A = ProductOperator(lambda p, batch, v: batch[0] * v, np.zeros(2), [(np.array([1.0, 3.0]),)])
    >>> A @ np.ones(2)
    array([1., 3.])
    """

    symmetric = True

    def __init__(self, product: Callable[[PyTree, Batch, PyTree], PyTree], params: PyTree,
                 batches: Sequence[Batch]):
        space = Space(params)
        super().__init__(space, space)
        self.params, self.batches = params, list(batches)
        counts = np.array([_example_count(b) for b in self.batches], dtype=np.float64)
        self.weights = counts / counts.sum()

        def flat_product(p: PyTree, batch: Batch, v: Any) -> Any:
            return ravel_pytree(product(p, batch, space.unravel(v)))[0]
        self.compiled = jit(flat_product)

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.compiled(self.params, self.batches[0], v)
        if len(self.batches) == 1:
            return out               # one batch: the compiled product's fresh array, untouched
        out *= self.weights[0]
        for w, batch in zip(self.weights[1:], self.batches[1:]):
            out += w * self.compiled(self.params, batch, v)
        return out


def hessian_operator(loss: Callable[..., Any], params: PyTree, *args: Any,
                     data: Sequence[Any] | None = None) -> ProductOperator:
    """The Hessian of ``loss(params, *args)`` (a scalar) with respect to ``params``: forward-over-reverse.

    With ``data=`` (a sequence of argument tuples) instead of ``args``, the example-weighted mean of the
    batches' Hessians.

    >>> import fungrad.numpy as fnp
    >>> H = hessian_operator(lambda w, a: fnp.sum(a * w ** 2), np.ones(2), np.array([1.0, 3.0]))
    >>> H @ np.ones(2)
    array([2., 6.])
    """
    batches = _batches(args, data, -1, "hessian_operator") if data is not None else [args]
    return ProductOperator(lambda p, batch, v: products.hessian_product(loss, p, batch, v), params, batches)


def ggn_operator(model: Callable[[PyTree, Any], Any], loss_of_output: Callable[[Any, Any], Any],
                 params: PyTree, inputs: Any = None, targets: Any = None, *,
                 data: Sequence[Any] | None = None) -> ProductOperator:
    """The generalized Gauss-Newton matrix ``J^T H_L J`` of ``loss_of_output(model(params, inputs), targets)``.

    ``J`` is the Jacobian of the outputs with respect to ``params`` and ``H_L`` the Hessian of the loss with
    respect to the outputs; one ``jvp``, one loss-Hessian product and one ``vjp`` per product. It is positive
    semi-definite whenever the loss is convex in the outputs. See the module docstring for when it equals
    the Fisher.

    >>> import fungrad.numpy as fnp
    >>> G = ggn_operator(lambda w, x: x @ w, lambda f, y: fnp.sum((f - y) ** 2), np.zeros(2), np.eye(2),
    ...                  np.zeros(2))
    >>> G @ np.array([1.0, 2.0])
    array([2., 4.])
    """
    batches = _batches((inputs, targets), data, 2, "ggn_operator")
    return ProductOperator(
        lambda p, batch, v: products.ggn_product(model, loss_of_output, p, batch[0], batch[1], v),
        params, batches)


def fisher_operator(model: Callable[[PyTree, Any], Any], params: PyTree, inputs: Any = None,
                    likelihood: str = "categorical", mc_samples: int | None = None, seed: int = 0, *,
                    data: Sequence[Any] | None = None) -> ProductOperator:
    """The Fisher information of the model's predictive distribution, a mean over examples.

    ``likelihood="categorical"``: ``softmax(outputs)`` over the last axis; ``"gaussian"``: a unit-variance
    Gaussian around the outputs. Exact by default (``mean_n J_n^T F_n J_n`` with the output-space Fisher
    ``F_n``); with ``mc_samples=S``, the Monte-Carlo estimate ``mean_{n,s} g_ns g_ns^T`` with targets drawn
    from the model once, at construction, by ``numpy.random.default_rng(seed)`` (so the operator is a fixed,
    symmetric matrix). ``data=`` is a sequence of input batches (or ``(inputs, targets)`` pairs, whose
    targets are ignored: the Fisher needs none).

    >>> F = fisher_operator(lambda w, x: x * w, np.zeros(2), np.array([[1.0, 2.0]]))
    >>> F.to_dense()             # diag(p) - p p^T with p = (1/2, 1/2), scaled by x
    array([[ 0.25, -0.5 ],
           [-0.5 ,  1.  ]])
    """
    check_likelihood(likelihood)
    batches = [(x,) for x in input_batches(inputs, data, "fisher_operator")]
    if mc_samples is None:
        exact = products.categorical_fisher_product if likelihood == "categorical" else \
            products.gaussian_fisher_product
        return ProductOperator(lambda p, batch, v: exact(model, p, batch[0], v), params, batches)
    rng = np.random.default_rng(seed)
    forward = jit(model)
    sampled = [(b[0], sample_residuals(likelihood, forward(params, b[0]), mc_samples, rng)) for b in batches]
    return ProductOperator(lambda p, batch, v: products.sampled_fisher_product(model, p, batch[0], batch[1], v),
                           params, sampled)


def empirical_fisher_operator(per_example_loss: Callable[[PyTree, Any, Any], Any], params: PyTree,
                              inputs: Any = None, targets: Any = None, *,
                              data: Sequence[Any] | None = None) -> ProductOperator:
    """The empirical Fisher ``mean_n g_n g_n^T``, ``g_n`` the gradient of ``per_example_loss(params, x_n, y_n)``.

    Products go through ``jvp``/``vjp`` of ``vmap(per_example_loss)`` (no per-example gradients stored);
    ``to_dense`` builds ``G^T G / N`` from ``vmap(grad(per_example_loss))``. It is *not* the Fisher: see the
    module docstring.

    >>> import fungrad.numpy as fnp
    >>> E = empirical_fisher_operator(lambda w, x, y: (x @ w - y) ** 2, np.zeros(2),
    ...                               np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 2.0]))
    >>> E.to_dense()             # g_1 = (-2, 0), g_2 = (0, -4)
    array([[2., 0.],
           [0., 8.]])
    """
    batches = _batches((inputs, targets), data, 2, "empirical_fisher_operator")
    return ProductOperator(
        lambda p, batch, v: products.empirical_fisher_product(per_example_loss, p, batch[0], batch[1], v),
        params, batches)


class JacobianOperator(LinearOperator):
    """The Jacobian of ``model(params, inputs)`` with respect to ``params`` (see :func:`jacobian_operator`).

    >>> JacobianOperator(lambda w, x: x * w, np.ones(2), [np.array([2.0, 3.0])]).to_dense()
    array([[2., 0.],
           [0., 3.]])
    """

    def __init__(self, model: Callable[[PyTree, Any], Any], params: PyTree, batches: Sequence[Any]):
        forward = jit(model)
        outputs = [forward(params, x) for x in batches]
        space = Space(params)
        super().__init__(space, Space(outputs[0] if len(outputs) == 1 else outputs))
        self.params, self.batches = params, list(batches)
        self.sizes = [Space(o).size for o in outputs]

        def flat_jvp(p: PyTree, x: Any, v: Any) -> Any:
            return ravel_pytree(jvp(lambda q: model(q, x), (p,), (space.unravel(v),))[1])[0]

        def flat_vjp(p: PyTree, x: Any, u: Any) -> Any:
            out, pullback = vjp(lambda q: model(q, x), p)
            return ravel_pytree(pullback(ravel_pytree(out)[1](u))[0])[0]
        self.compiled_jvp, self.compiled_vjp = jit(flat_jvp), jit(flat_vjp)

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        return np.concatenate([self.compiled_jvp(self.params, x, v) for x in self.batches])

    def _rmatvec(self, u: np.ndarray) -> np.ndarray:
        pieces = np.split(u, np.cumsum(self.sizes)[:-1])
        return sum((self.compiled_vjp(self.params, x, piece) for x, piece in zip(self.batches, pieces)),
                   np.zeros(self.in_space.size))


def jacobian_operator(model: Callable[[PyTree, Any], Any], params: PyTree, inputs: Any = None, *,
                      data: Sequence[Any] | None = None) -> JacobianOperator:
    """The Jacobian ``J`` of ``model(params, inputs)``: ``J @ v`` is output-shaped, ``J.T @ u`` params-shaped.

    As for every operator, a flat vector in gives a flat vector out (the outputs raveled), and a pytree in
    (params-shaped for ``J``, output-shaped for ``J.T``) gives a pytree out.

    With ``data=`` (a sequence of input batches, or of ``(inputs, targets)`` pairs) the output space is the
    list of the batches' outputs (the Jacobian of the stacked model), which is what a Jacobian over a data
    set means; there is nothing to average.

    >>> J = jacobian_operator(lambda w, x: x @ w, np.zeros(2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> J @ np.array([1.0, 0.0]), J.T @ np.array([1.0, 1.0])
    (array([1., 3.]), array([4., 6.]))
    """
    return JacobianOperator(model, params, input_batches(inputs, data, "jacobian_operator"))
