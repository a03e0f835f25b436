"""``fungrad.jit``: trace once per signature, optimize the jaxpr, compile it to NumPy code."""
from fungrad.jit.api import JitFunction, Lowered, jit
from fungrad.compiler.codegen import EmitContext, codegen_rules, compile_jaxpr, fresh_outputs
from fungrad.jit.primitive import jit_p

__all__ = ["JitFunction", "Lowered", "jit", "EmitContext", "codegen_rules", "compile_jaxpr",
           "fresh_outputs", "jit_p"]
