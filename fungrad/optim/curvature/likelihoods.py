"""The two predictive distributions the Fisher operators know, and Monte-Carlo targets drawn from them.

``"categorical"``: ``p(y | f) = softmax(f)[y]`` over the last axis of the outputs ``f``.
``"gaussian"``: ``p(y | f) = N(y; f, I)``, a unit-variance Gaussian around the outputs.

A Monte-Carlo Fisher needs, for each example ``n`` and sample ``s``, the output-space gradient of the
negative log-likelihood at a target drawn from the model: ``softmax(f) - onehot(y)`` with ``y ~ softmax(f)``,
or ``f - y = -eps`` with ``eps ~ N(0, I)``. Their outer products average to the exact output-space Fisher.

>>> r = sample_residuals("gaussian", np.zeros((2, 3)), 4, np.random.default_rng(0))
>>> r.shape
(2, 4, 3)
"""
from __future__ import annotations

import numpy as np

__all__ = ["LIKELIHOODS", "check_likelihood", "sample_residuals"]

LIKELIHOODS = ("categorical", "gaussian")


def check_likelihood(likelihood: str) -> str:
    """``likelihood`` itself, or a ValueError listing the known ones."""
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return likelihood


def sample_residuals(likelihood: str, outputs: np.ndarray, mc_samples: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``d(-log p(y_s | f_n)) / df_n`` for ``mc_samples`` targets per example: shape ``(N, S, *f.shape[1:])``.

    >>> sample_residuals("categorical", np.array([[0.0, 50.0]]), 2, np.random.default_rng(0)).round(6)
    array([[[0., 0.],
            [0., 0.]]])
    """
    check_likelihood(likelihood)
    if not isinstance(mc_samples, (int, np.integer)) or isinstance(mc_samples, bool) or mc_samples < 1:
        raise ValueError(f"mc_samples must be a positive int (or None for the exact Fisher), got {mc_samples!r}")
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim < 1:
        raise ValueError("the model's outputs need a leading example axis")
    n = outputs.shape[0]
    if likelihood == "gaussian":
        return -rng.standard_normal((n, mc_samples) + outputs.shape[1:])
    if outputs.ndim != 2:
        raise ValueError(f"the categorical Fisher needs outputs of shape (examples, classes), got {outputs.shape}")
    shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    p = shifted / shifted.sum(axis=-1, keepdims=True)
    cum = np.cumsum(p, axis=-1)
    u = rng.random((n, mc_samples, 1)) * cum[:, None, -1:]
    labels = np.minimum((u > cum[:, None, :]).sum(axis=-1), p.shape[-1] - 1)
    residuals: np.ndarray = p[:, None, :] - np.eye(p.shape[-1])[labels]
    return residuals
