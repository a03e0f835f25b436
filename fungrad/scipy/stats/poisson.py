"""The Poisson distribution with mean ``mu``.

>>> round(float(pmf(2, 3.0)), 12), round(float(cdf(2, 3.0)), 12)
(0.224041807655, 0.423190081127)
"""
from __future__ import annotations

from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import gammaincc, gammaln, xlogy
from fungrad.numpy.array_methods import wrap_namespace


def logpmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """Log probability of ``k`` (``-inf`` for negative or non-integer ``k``)."""
    k, mu, loc = promote_inexact(k, mu, loc)
    x = k - loc
    valid = fnp.logical_and(lax.ge(x, 0.0), lax.eq(x, fnp.round(x)))
    return fnp.where(valid, xlogy(x, mu) - gammaln(x + 1.0) - mu, -fnp.inf)


def pmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """Probability of ``k``."""
    return lax.exp(logpmf(k, mu, loc))


def cdf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """``P(X <= k) = Q(floor(k - loc) + 1, mu)``, the upper incomplete gamma function (0 below
    ``loc``; differentiable in ``mu``).

    >>> round(float(cdf(0, 2.0)), 12)   # exp(-2)
    0.135335283237
    """
    k, mu, loc = promote_inexact(k, mu, loc)
    x = k - loc
    return fnp.where(lax.lt(x, 0.0), 0.0, gammaincc(lax.floor(x + 1.0), mu))


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())
