"""Optimizers over pytrees: optax-style gradient transformations, curvature operators, least squares.

This is the top layer of fungrad: it builds only on the public transforms (``grad``, ``jvp``, ``vjp``,
``vmap``, ``jit``) and ``fungrad.numpy``; nothing below imports it.
"""
from fungrad.optim import curvature
