"""Stepwise Levenberg-Marquardt for networks: Hessian-free steps on Gauss-Newton or Fisher curvature.

Each step solves the damped system ``(C + lambda I) d = -g`` by conjugate gradients on matrix-free
products of the curvature ``C`` (the generalized Gauss-Newton matrix of the loss, or the Fisher of the
model's predictive distribution) at the current mini-batch, then adapts ``lambda`` by Levenberg-Marquardt's
rule as Martens (2010) uses it in Hessian-free optimization: with the reduction ratio

    rho = (L(theta + d) - L(theta)) / (g . d + 1/2 d^T C d),

the actual change of the batch loss over the change the (undamped) quadratic model predicts,
``lambda *= boost`` when ``rho < 1/4`` and ``lambda *= drop`` when ``rho > 3/4``. A step that does not
lower the batch loss (or makes it non-finite) is rejected: the update is zero and only ``lambda`` grows.
``d^T C d`` costs no extra product: every CG iterate from zero has ``d^T (C + lambda I) d = -g . d`` (its
residual is orthogonal to the Krylov space that contains it), even when CG stops early.

The whole step (the linearization, the CG loop as one ``lax.while_loop``, the trial loss, the damping
update) is one traceable function: ``jit(opt.update)`` or a jitted training step compiles it once.

API, in the style of optax's gradient transformations with extra arguments::

    opt = hessian_free(model, loss_of_output, curvature="ggn", likelihood="categorical", damping=1.0, ...)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params, inputs=x, targets=y)   # value=loss optional
    params = tree_map(lambda p, u: p + u, params, updates)

``model(params, inputs) -> outputs`` and ``loss_of_output(outputs, targets) -> scalar`` are the network and
its batch loss (a mean over examples); ``grads`` is the gradient of that loss at ``params`` on the same
batch. ``curvature="fisher"`` uses the exact Fisher of ``likelihood`` ("categorical": softmax over the last
axis of the outputs; "gaussian": unit-variance Gaussian around them), which equals the GGN for
softmax cross-entropy and for ``0.5 * mean over examples of sum((f - y)**2)`` (see
``fungrad.optim.curvature.operators``); it assumes the loss is the mean negative log-likelihood.

>>> import fungrad, fungrad.numpy as fnp
>>> model = lambda w, x: x @ w
>>> loss = lambda f, y: 0.5 * fnp.mean((f - y) ** 2)
>>> x, y = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]), np.array([1.0, 2.0, 3.0])
>>> opt = hessian_free(model, loss, damping=1e-6)
>>> w = np.zeros(2); state = opt.init(w)
>>> for _ in range(2):
...     g = fungrad.grad(lambda w: loss(model(w, x), y))(w)
...     d, state = opt.update(g, state, w, inputs=x, targets=y)
...     w = w + d
>>> w.round(6)
array([1., 1.])
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

import fungrad.numpy as fnp
from fungrad.optim.base import GradientTransformationExtraArgs
from fungrad.optim.curvature import products
from fungrad.optim.curvature.cg import cg_loop, tree_vdot
from fungrad.optim.curvature.likelihoods import check_likelihood
from fungrad.tree_util import PyTree, tree_map

__all__ = ["HessianFreeState", "hessian_free"]


class HessianFreeState(NamedTuple):
    """The state: the damping ``lambda``, the step count, and the last step's diagnostics.

    >>> HessianFreeState(1.0, 0, 0.0, True, 0).damping
    1.0
    """

    damping: Any
    count: Any
    ratio: Any            # rho of the last step (actual / predicted reduction)
    accepted: Any         # whether the last step was taken
    cg_iterations: Any


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float, np.floating)) and np.isfinite(value) and value > 0):
        raise ValueError(f"hessian_free: {name} must be a positive finite number, got {value!r}")
    return float(value)


def hessian_free(model: Callable[[PyTree, Any], Any], loss_of_output: Callable[[Any, Any], Any],
                 curvature: str = "ggn", likelihood: str = "categorical", damping: float = 1.0,
                 cg_maxiter: int = 8, cg_tol: float = 1e-4, boost: float = 1.5, drop: float = 2.0 / 3.0,
                 min_damping: float = 1e-8, max_damping: float = 1e8) -> GradientTransformationExtraArgs:
    """A stepwise Levenberg-Marquardt (Hessian-free) optimizer; see the module docstring for the rule.

    ``damping`` is the initial ``lambda``; ``cg_maxiter`` and ``cg_tol`` (relative to ``||g||``) bound each
    step's CG solve (a few iterations per mini-batch, as in stochastic Hessian-free practice); ``boost`` and
    ``drop`` are the factors of Martens' rule and ``lambda`` stays within ``[min_damping, max_damping]``.
    The update is jit-able as a whole (one trace: the damping is a traced value); the state is a pytree
    of arrays.

    >>> import fungrad.numpy as fnp
    >>> opt = hessian_free(lambda w, x: x * w, lambda f, y: fnp.mean((f - y) ** 2), damping=0.5)
    >>> opt.init(np.zeros(3)).damping
    array(0.5)
    """
    if curvature not in ("ggn", "fisher"):
        raise ValueError(f"hessian_free: curvature must be 'ggn' or 'fisher', got {curvature!r}")
    check_likelihood(likelihood)
    damping, boost = _positive("damping", damping), _positive("boost", boost)
    drop, min_damping, max_damping = (_positive(n, v) for n, v in
                                      (("drop", drop), ("min_damping", min_damping), ("max_damping", max_damping)))
    if not (isinstance(cg_maxiter, (int, np.integer)) and cg_maxiter >= 1):
        raise ValueError(f"hessian_free: cg_maxiter must be a positive int, got {cg_maxiter!r}")
    if not drop < 1 < boost:
        raise ValueError(f"hessian_free: need drop < 1 < boost, got drop={drop}, boost={boost}")

    def init(params: PyTree) -> HessianFreeState:
        del params
        return HessianFreeState(np.asarray(damping), np.asarray(0), np.asarray(0.0), np.asarray(True),
                                np.asarray(0))

    def update(grads: PyTree, state: HessianFreeState, params: PyTree, *, inputs: Any, targets: Any,
               value: Any = None) -> tuple[PyTree, HessianFreeState]:
        outputs, push, pull = products.linearize_model(model, params, inputs)
        output_map = products.loss_hessian_map(loss_of_output, targets) if curvature == "ggn" else \
            products.FISHER_MAPS[likelihood]
        lam = state.damping

        def damped_product(v: PyTree) -> PyTree:
            return tree_map(lambda cv, vi: cv + lam * vi, pull(output_map(outputs, push(v))), v)

        d, iterations = cg_loop(damped_product, tree_map(lambda gi: -gi, grads), cg_maxiter, cg_tol)
        gd = tree_vdot(grads, d)
        dCd = -gd - lam * tree_vdot(d, d)                 # d^T (C + lam I) d = -g.d for every CG iterate from zero
        predicted = gd + 0.5 * dCd
        before = loss_of_output(outputs, targets) if value is None else value
        trial = tree_map(lambda p, s: p + s, params, d)
        actual = loss_of_output(model(trial, inputs), targets) - before
        finite = fnp.isfinite(actual)
        ratio = fnp.where(finite & (predicted < 0), actual / fnp.where(predicted < 0, predicted, -1.0), -np.inf)
        new_lam = fnp.where(ratio < 0.25, lam * boost, fnp.where(ratio > 0.75, lam * drop, lam))
        accepted = finite & (actual < 0)
        updates = tree_map(lambda di: fnp.where(accepted, di, fnp.zeros_like(di)), d)
        return updates, HessianFreeState(fnp.clip(new_lam, min_damping, max_damping), state.count + 1,
                                         ratio, accepted, iterations)

    return GradientTransformationExtraArgs(init, update)
