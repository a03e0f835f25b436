"""``fungrad.jit``: trace once per signature, optimize the jaxpr, compile it to NumPy code."""
from fungrad.jit.codegen import EmitContext, codegen_rules, compile_jaxpr, fresh_outputs

__all__ = ["EmitContext", "codegen_rules", "compile_jaxpr", "fresh_outputs"]
