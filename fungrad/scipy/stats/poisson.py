"""The Poisson distribution with mean ``mu`` (its ``cdf`` needs the incomplete gamma function,
which fungrad does not have yet).

>>> round(float(pmf(2, 3.0)), 12)
0.224041807655
"""
from __future__ import annotations

from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import gammaln, xlogy


def logpmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """Log probability of ``k`` (``-inf`` for negative or non-integer ``k``)."""
    k, mu, loc = promote_inexact(k, mu, loc)
    x = k - loc
    valid = fnp.logical_and(lax.ge(x, 0.0), lax.eq(x, fnp.round(x)))
    return fnp.where(valid, xlogy(x, mu) - gammaln(x + 1.0) - mu, -fnp.inf)


def pmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """Probability of ``k``."""
    return lax.exp(logpmf(k, mu, loc))
