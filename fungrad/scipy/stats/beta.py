"""The beta distribution with shapes ``a`` and ``b`` (its ``cdf`` needs the incomplete beta
function, which fungrad does not have yet).

>>> round(float(pdf(0.5, 2.0, 2.0)), 12)
1.5
"""
from __future__ import annotations

from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import betaln, xlog1py, xlogy


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density (``-inf`` outside ``[loc, loc + scale]``)."""
    x, a, b, loc, scale = promote_inexact(x, a, b, loc, scale)
    y = (x - loc) / scale
    inside = fnp.logical_and(lax.ge(y, 0.0), lax.le(y, 1.0))
    y = fnp.where(inside, y, 0.5 * fnp.ones_like(y))
    value = xlogy(a - 1.0, y) + xlog1py(b - 1.0, -y) - betaln(a, b) - lax.log(scale)
    return fnp.where(inside, value, -fnp.inf)


def pdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Density."""
    return lax.exp(logpdf(x, a, b, loc, scale))
