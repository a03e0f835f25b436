"""``fungrad.scipy.stats``: densities and distribution functions, as ``jax.scipy.stats``.

>>> from fungrad.scipy.stats import norm
>>> round(float(norm.logpdf(0.0)), 12)
-0.918938533205
"""
from fungrad.scipy.stats import bernoulli as bernoulli
from fungrad.scipy.stats import beta as beta
from fungrad.scipy.stats import gamma as gamma
from fungrad.scipy.stats import multivariate_normal as multivariate_normal
from fungrad.scipy.stats import norm as norm
from fungrad.scipy.stats import poisson as poisson
from fungrad.scipy.stats import t as t

__all__ = ["bernoulli", "beta", "gamma", "multivariate_normal", "norm", "poisson", "t"]
