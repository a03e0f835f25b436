"""The gamma distribution with shape ``a`` (its ``cdf`` needs the incomplete gamma function,
which fungrad does not have yet).

>>> round(float(pdf(1.0, 2.0)), 12)
0.367879441171
"""
from __future__ import annotations

from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import gammaln, xlogy


def logpdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density (``-inf`` below ``loc``)."""
    x, a, loc, scale = promote_inexact(x, a, loc, scale)
    y = (x - loc) / scale
    inside = lax.ge(y, 0.0)
    y = fnp.where(inside, y, fnp.ones_like(y))
    return fnp.where(inside, xlogy(a - 1.0, y) - y - gammaln(a) - lax.log(scale), -fnp.inf)


def pdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Density."""
    return lax.exp(logpdf(x, a, loc, scale))
