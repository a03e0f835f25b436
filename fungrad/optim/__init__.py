"""Optimizers over pytrees: optax-style gradient transformations, curvature operators, least squares.

This is the top layer of fungrad: it builds only on the public transforms (``grad``, ``jvp``, ``vjp``,
``vmap``, ``jit``) and ``fungrad.numpy``; nothing below imports it.
"""
from fungrad.optim import curvature

# Least squares: MINPACK's Levenberg-Marquardt (least_squares) and SciPy's curve_fit on top of it.
from fungrad.optim.levenberg_marquardt import LeastSquaresResult as LeastSquaresResult
from fungrad.optim.levenberg_marquardt import least_squares as least_squares
from fungrad.optim.curve_fitting import OptimizeWarning as OptimizeWarning
from fungrad.optim.curve_fitting import curve_fit as curve_fit
