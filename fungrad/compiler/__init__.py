"""The compiler jit uses: jaxpr passes, buffer liveness, and code generation to NumPy source.

It sits below ``fungrad.lax`` so that primitives (control flow included) register their
emitters and simplifications beside their other rules, without importing ``fungrad.jit``.
"""
