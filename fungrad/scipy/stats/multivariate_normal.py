"""The multivariate normal distribution N(mean, cov) (Cholesky-based densities).

>>> import numpy as np
>>> round(float(logpdf(np.zeros(2), np.zeros(2), np.eye(2))), 12)
-1.837877066409
"""
from __future__ import annotations

import math
from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.linalg import solve_triangular
from fungrad.numpy.array_methods import wrap_namespace


def logpdf(x: Any, mean: Any, cov: Any, allow_singular: Any = None) -> Any:
    """Log density at ``x`` (..., n) for ``mean`` (n,) and covariance ``cov`` (n, n)."""
    if allow_singular is not None:
        raise NotImplementedError("multivariate_normal.logpdf: allow_singular is not supported "
                                  "(as in JAX)")
    x, mean, cov = promote_inexact(x, mean, cov)
    n = mean.shape[-1]
    if cov.ndim < 2:
        cov = fnp.eye(n, dtype=cov.dtype) * cov
    chol = fnp.linalg.cholesky(cov)
    diff = fnp.broadcast_to(x - mean, fnp.broadcast_shapes((x - mean).shape, cov.shape[:-1]))
    y = solve_triangular(chol, diff[..., None], lower=True)[..., 0]
    log_det = fnp.sum(lax.log(fnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    return -0.5 * fnp.sum(y * y, axis=-1) - log_det - 0.5 * n * math.log(2 * math.pi)


def pdf(x: Any, mean: Any, cov: Any) -> Any:
    """Density."""
    return lax.exp(logpdf(x, mean, cov))


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())
