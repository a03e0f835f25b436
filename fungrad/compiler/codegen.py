"""Code generation: a jaxpr becomes one straight-line Python function of NumPy calls.

Each equation becomes one statement: ``codegen_rules[prim]`` when the primitive has one
(registered beside the primitive: matmul for ``dot_general``, views for ``reshape``, a direct
ufunc call for ufunc primitives, real ``if``/``while`` for control flow), else a call of the
primitive's impl with its params bound. ``buffer_rules[prim]`` says how a statement treats
buffers (see ``fungrad.compiler.liveness``): "fresh", "inplace" (the emitter may be offered a
dying buffer to write into), "consume" (it is told which inputs' buffers it may work in) or
"alias" (the default), or a function of the equation giving that.

The source holds generated names only (``a0`` arguments, ``v3`` values, ``g1`` globals):
constants, literals, params, ufuncs and impls reach the function through its globals dict.

>>> import fungrad, fungrad.numpy as fnp, numpy as np
>>> jaxpr = fungrad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(np.ones(3))
>>> print(compile_jaxpr(jaxpr).source)
def jitted(a0):
    v0 = g0(a0)
    g2(v0, g1, out=v0)
    return (v0,)
<BLANKLINE>
"""
from __future__ import annotations

import functools
import itertools
import threading
from types import CodeType
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.core import Primitive, impl_rules
from fungrad.ir import Eqn, Jaxpr, Literal, Var
from fungrad.compiler.chunks import Statement, chunked
from fungrad.compiler.gc_pause import gc_paused
from fungrad.compiler.liveness import Kind, plan_buffers

Emitter = Callable[["EmitContext", Eqn, list[str], list[str]], list[str]]

# ``codegen_rules[prim] = emit(ctx, eqn, in_names, out_names) -> source lines``.
codegen_rules: dict[Primitive, Emitter] = {}
# ``buffer_rules[prim] = kind`` or ``kind_of(eqn) -> kind`` (see the module docstring).
buffer_rules: dict[Primitive, Kind | Callable[[Eqn], Kind]] = {}

_program_ids = itertools.count()

# Blocks (branch and loop bodies) nested deeper than this in one generated function are emitted
# as functions of their own: Python allows 20 nested loops and 100 indentation levels per function.
MAX_INLINE_DEPTH = 8


def _bind(outs: Sequence[str], expr: str) -> str:
    """``a, b = expr`` for an expression returning a tuple (just ``expr`` when nothing is bound)."""
    return f"{', '.join(outs)}, = {expr}" if outs else expr


def _return(names: Sequence[str]) -> str:
    return f"return ({', '.join(names)}{',' if len(names) == 1 else ''})"


class EmitContext:
    """What emitters get: fresh names, and ``ref`` to pass any Python object in as a global.

    ``inplace`` holds the name of the buffer the current equation may write its output into
    (only offered to ufunc-like emitters; it is then also the output's name), else None.
    ``consumed`` says, per input of a "consume" equation, whether it may work in that input's
    buffer (see ``fungrad.compiler.liveness``).
    """

    def __init__(self) -> None:
        self.globals: dict[str, Any] = {}
        self._ref_of: dict[int, str] = {}
        self._counts: dict[str, itertools.count[int]] = {}
        self.inplace: str | None = None
        self.consumed: tuple[bool, ...] = ()
        self.out_actions: list[str] = []  # of the last block: see liveness.Plan.out_action
        self._literal_names: dict[Any, str] = {}
        self.functions: list[list[str]] = []  # nested bodies emitted as top-level functions
        self._depth = 0  # blocks open in the function being emitted
        self.constants: dict[Var, Any] = {}  # the values of the blocks' constvars

    def _block_as_function(self, jaxpr: Jaxpr, in_names: Sequence[str],
                           owned: Sequence[bool]) -> tuple[list[str], list[str]]:
        """A call of a new top-level function computing ``jaxpr`` (see ``MAX_INLINE_DEPTH``)."""
        params = [self.new_name("a") for _ in in_names]
        depth, self._depth = self._depth, 0
        try:
            body, names = self.block(jaxpr, params, owned)
        finally:
            self._depth = depth
        name = self.new_name("f")
        self.functions.append([f"def {name}({', '.join(params)}):"]
                              + ["    " + line for line in body + [_return(names)]])
        outs = [self.new_name() for _ in names]
        return [_bind(outs, call(name, in_names))], outs

    def constant(self, atom: Any) -> Any:
        """The value of ``atom`` when it is known at compile time (a literal or a constvar), else None."""
        if type(atom) is Literal:
            return atom.val
        return self.constants.get(atom)

    def new_name(self, prefix: str = "v") -> str:
        """A fresh local name (``v0``, ``v1``...)."""
        counter = self._counts.get(prefix)
        if counter is None:
            counter = self._counts[prefix] = itertools.count()
        return f"{prefix}{next(counter)}"

    def ref(self, value: Any) -> str:
        """The global name under which the generated code sees ``value`` (one name per object)."""
        name = self._ref_of.get(id(value))
        if name is None:
            name = self._ref_of[id(value)] = self.new_name("g")
            self.globals[name] = value
        return name

    def literal(self, lit: Literal) -> str:
        """The global name of a literal's value (one per distinct value and dtype)."""
        name = self._literal_names.get(lit)   # the same literal object: most uses
        if name is None:
            key = ("literal", lit.val.dtype, lit.val.tobytes())
            name = self._literal_names.get(key)
            if name is None:
                name = self._literal_names[key] = self.ref(lit.val[()])
            self._literal_names[lit] = name
        return name

    def block(self, jaxpr: Jaxpr, in_names: Sequence[str],
              owned: Sequence[bool] = ()) -> tuple[list[str], list[str]]:
        """Lines computing ``jaxpr`` from ``in_names``, and the names holding its outputs.

        Inside the block, buffers it creates are freed and reused; the inputs (outer names)
        are never written to unless ``owned`` says so. For control-flow emitters. A block
        nested ``MAX_INLINE_DEPTH`` deep becomes a separate function, so no generated function
        nests deeper than Python's parser and compiler allow, however deep the program nests.
        """
        if self._depth >= MAX_INLINE_DEPTH:
            return self._block_as_function(jaxpr, in_names, owned)
        stmts, out_names = self.statements(jaxpr, in_names, owned)
        return [line for st in stmts for line in st.lines], out_names

    def statements(self, jaxpr: Jaxpr, in_names: Sequence[str],
                   owned: Sequence[bool] = ()) -> tuple[list[Statement], list[str]]:
        """``block``'s lines as one ``Statement`` per equation (with what it reads and binds)."""
        self._depth += 1
        try:
            return self._inline_block(jaxpr, in_names, owned)
        finally:
            self._depth -= 1

    def _inline_block(self, jaxpr: Jaxpr, in_names: Sequence[str],
                      owned: Sequence[bool]) -> tuple[list[Statement], list[str]]:
        names: dict[Var, str] = dict(zip(jaxpr.invars, in_names))
        for v, c in zip(jaxpr.constvars, jaxpr.consts):
            names[v] = self.ref(c)
            self.constants[v] = c
        plan = plan_buffers(jaxpr, kind_of, owned)
        outer = set(jaxpr.invars) | set(jaxpr.constvars)
        stmts: list[Statement] = []
        literal, rules, dies = self.literal, codegen_rules, plan.dies
        for i, eqn in enumerate(jaxpr.eqns):
            ins = [literal(a) if type(a) is Literal else names[a]  # type: ignore[index]
                   for a in eqn.inputs]
            donor = plan.donor[i]
            if donor is not None:
                self.inplace = names[donor]
                outs = [self.inplace]
            else:
                self.inplace = None
                outs = [self.new_name() for _ in eqn.outvars]
            self.consumed = plan.consumed[i]
            lines = rules.get(eqn.primitive, emit_impl)(self, eqn, ins, outs)  # emitter_of
            self.inplace = None
            names.update(zip(eqn.outvars, outs))
            if dies[i]:
                dead = [names[v] for v in dies[i] if v not in outer and v is not donor]
                if dead:
                    lines.append(f"del {', '.join(dead)}")
            # A donor that is not an input (a buffer freed earlier, kept for reuse) is read too.
            reads = ins if donor is None or outs[0] in ins else ins + outs
            stmts.append(Statement(lines, reads, outs))
        out_names = [self.literal(a) if type(a) is Literal else names[a]  # type: ignore[index]
                     for a in jaxpr.outvars]
        self.out_actions = plan.out_action
        return stmts, out_names


# ---------------------------------------------------------------- choosing a statement

def defcodegen(prim: Primitive, emit: Emitter,
               buffers: Kind | Callable[[Eqn], Kind] = "alias") -> None:
    """Register ``prim``'s statement and how it treats buffers."""
    codegen_rules[prim] = emit
    buffer_rules[prim] = buffers


def kind_of(eqn: Eqn) -> Kind:
    """How the statement of ``eqn`` treats buffers (see fungrad.compiler.liveness)."""
    kind = buffer_rules.get(eqn.primitive, "alias")
    return kind if isinstance(kind, str) else kind(eqn)


def emitter_of(eqn: Eqn) -> Emitter:
    return codegen_rules.get(eqn.primitive, emit_impl)


def call(fn: str, args: Sequence[str], out: str | None = None) -> str:
    """``fn(a, b)`` or ``fn(a, b, out=o)``."""
    return f"{fn}({', '.join(args)}{f', out={out}' if out else ''})"


def assign(outs: list[str], expr: str) -> list[str]:
    """The statement ``out = expr`` of a one-output emitter."""
    return [f"{outs[0]} = {expr}"]


def emit_ufunc(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    """A direct call of the primitive's impl, a ufunc: in place when offered a dying buffer."""
    return emit_call_inplace(ctx, impl_rules[eqn.primitive], ins, outs)


def emit_call_inplace(ctx: EmitContext, fn: Any, ins: list[str], outs: list[str]) -> list[str]:
    """``fn(*ins)``, or ``fn(*ins, out=buffer)`` when the context offers a dying buffer."""
    name = ctx.ref(fn)
    if ctx.inplace:
        return [call(name, ins, ctx.inplace)]
    return assign(outs, call(name, ins))


def emit_impl(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    """The primitive's NumPy impl, with its params bound by ``functools.partial``."""
    impl = impl_rules[eqn.primitive]
    fn = ctx.ref(functools.partial(impl, **eqn.params) if eqn.params else impl)
    target = ", ".join(outs) + ("," if eqn.primitive.multiple_results and len(outs) == 1 else "")
    if eqn.primitive.multiple_results and not outs:
        return [call(fn, ins)]
    return [f"{target} = {call(fn, ins)}"]


# ---------------------------------------------------------------- whole functions

def _owned_result(x: Any) -> Any:
    """An output of unknown provenance, made a writable array the caller owns."""
    if type(x) is np.ndarray and x.flags.writeable:
        return x
    return np.array(x)


class Compiled:
    """A compiled jaxpr: ``fn(*args) -> tuple of outputs``, with its ``source``."""

    __slots__ = ("fn", "source", "globals")

    def __init__(self, fn: Callable[..., Any], source: str, globals_: dict[str, Any]) -> None:
        self.fn = fn
        self.source = source
        self.globals = globals_


def compile_jaxpr(jaxpr: Jaxpr, donated: Sequence[bool] = ()) -> Compiled:
    """Compile ``jaxpr`` (its consts included) into one Python function of its invars
    (its chunks, when long: see ``fungrad.compiler.chunks``)."""
    with gc_paused():
        return _compile(jaxpr, donated)


def _compile(jaxpr: Jaxpr, donated: Sequence[bool]) -> Compiled:
    ctx = EmitContext()
    args = [ctx.new_name("a") for _ in jaxpr.invars]
    body, out_names = ctx.statements(jaxpr, args, donated)
    rets = []
    for a, name, action in zip(jaxpr.outvars, out_names, ctx.out_actions):
        if action == "copy":
            rets.append(f"{ctx.ref(np.array)}({name})")
        elif action == "check" or a.aval.ndim == 0:
            rets.append(f"{ctx.ref(_owned_result)}({name})")
        else:
            rets.append(name)
    ret = Statement([_return(rets)], out_names, [])
    # Each function is compiled on its own: Python's compiler holds one function at a time.
    namespace = dict(ctx.globals)
    texts = []
    for lines in chunked("jitted", args, body, ret) + ctx.functions:
        text = "\n".join(lines) + "\n"
        exec(_code_of(text), namespace)
        texts.append(text)
    # Taken out of its globals, the entry function is in no reference cycle (it never calls
    # itself), so a dropped program is freed at once, not by the cyclic collector.
    return Compiled(namespace.pop("jitted"), "".join(texts), namespace)


# Python code of recent generated functions by their text: the source names only generated names
# (the values come in through the globals), so a program traced again (a new function object of
# the same structure, a jit in a loop, one least_squares solve after another) reuses its code.
_codes: dict[str, CodeType] = {}
_codes_lock = threading.Lock()
CODE_CACHE_SIZE = 256          # functions
CODE_CACHE_MAX_CHARS = 20_000  # longer functions (rarely compiled twice) are not kept


def _code_of(text: str) -> CodeType:
    code = _codes.get(text)
    if code is None:
        code = compile(text, f"<fungrad-jit-{next(_program_ids)}>", "exec")
        if len(text) <= CODE_CACHE_MAX_CHARS:
            with _codes_lock:   # (threads compiling at once)
                while _codes and len(_codes) >= CODE_CACHE_SIZE:
                    del _codes[next(iter(_codes))]   # the oldest
                _codes[text] = code
    return code
