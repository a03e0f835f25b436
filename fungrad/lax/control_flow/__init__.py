"""Structured control flow: ``cond``, ``switch``, ``scan``, ``while_loop``, ``fori_loop``, ``map``.

Each is a primitive whose params are jaxprs (the traced branches or loop body), with rules for
every interpreter: evaluation, staging, JVP, partial evaluation, transpose, batching and jit.
"""
from fungrad.lax.control_flow.cond import cond, cond_p, switch
from fungrad.lax.control_flow.loops import fori_loop, map, while_loop, while_p
from fungrad.lax.control_flow.scan import scan, scan_p

__all__ = ["cond", "cond_p", "switch", "fori_loop", "map", "while_loop", "while_p", "scan",
           "scan_p"]
