"""``fungrad.jit``: trace once per signature, optimize the jaxpr, compile it to NumPy code."""
from fungrad.jit.api import JitFunction, Lowered, jit
from fungrad.compiler.codegen import EmitContext, buffer_rules, codegen_rules, compile_jaxpr, defcodegen
from fungrad.jit.primitive import jit_p

__all__ = ["JitFunction", "Lowered", "jit", "EmitContext", "codegen_rules", "compile_jaxpr",
           "buffer_rules", "defcodegen", "jit_p"]
