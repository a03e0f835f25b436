"""Curvature as matrix-free linear operators over parameter pytrees, and the algorithms that use them.

Operators (one shared interface, :class:`LinearOperator`): :func:`hessian_operator`, :func:`ggn_operator`,
:func:`fisher_operator`, :func:`empirical_fisher_operator`, :func:`jacobian_operator`, :func:`kfac_operator`.
Algorithms: :func:`solve_cg`, :func:`eigsh`, :func:`trace`, :func:`diagonal`, :func:`spectral_density`.

>>> import fungrad.numpy as fnp
>>> H = hessian_operator(lambda w: fnp.sum(w ** 4) / 12, np.array([1.0, 2.0]))
>>> eigsh(H, k=1)[0]
array([4.])
"""
from fungrad.optim.curvature.operator import LinearOperator, MatrixOperator, Space
from fungrad.optim.curvature.operators import (
    JacobianOperator, ProductOperator, empirical_fisher_operator, fisher_operator, ggn_operator,
    hessian_operator, jacobian_operator,
)
from fungrad.optim.curvature.kfac import KFACOperator, kfac_operator
from fungrad.optim.curvature.cg import solve_cg
from fungrad.optim.curvature.lanczos import LanczosNoConvergence, eigsh, spectral_density
from fungrad.optim.curvature.estimators import diagonal, trace

__all__ = ["LinearOperator", "MatrixOperator", "Space", "JacobianOperator", "ProductOperator",
           "empirical_fisher_operator", "fisher_operator", "ggn_operator", "hessian_operator",
           "jacobian_operator", "KFACOperator", "kfac_operator", "solve_cg", "LanczosNoConvergence", "eigsh",
           "spectral_density",
           "diagonal", "trace"]
