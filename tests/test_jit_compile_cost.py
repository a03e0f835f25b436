"""What keeps compiling cheap, and that it changes nothing: long programs compile as chunks of
functions (``fungrad.compiler.chunks``) with the single function's statements and results, buffers
still freed where the program stops using them; the collector pause; the code cache; equations
without params share one dict."""
import re

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.compiler import chunks, codegen, passes

x3 = np.array([0.3, -1.2, 2.0])
# The lines of a chunked program that the single function does not have.
plumbing = re.compile(r"^\s*(def |s\[\d+\] = |[av]\d+ = s\[|s = \[|f_\d+\(s\)|return f_|pass$)")


def chain(x, n=60):
    """Values that live long (kept for the sum at the end) and short, branches and loops."""
    kept = []
    for i in range(n):
        x = fnp.sin(x) if i % 3 == 0 else (x * 1.01 if i % 3 == 1 else x + 0.5)
        if i % 7 == 0:
            kept.append(fnp.cos(x))
        if i % 20 == 5:
            x = lax.cond(x.sum() > 0, lambda y: y * 2.0, lambda y: -y, x)
        if i % 20 == 12:
            x = lax.fori_loop(0, 2, lambda j, y: y * 0.9, x)
    return x.sum() + sum(k.sum() for k in kept), x, 3.0


PROGRAMS = {
    "chain": chain,
    "grad": fungrad.grad(lambda x: chain(x)[0]),
    "value_and_grad": fungrad.value_and_grad(lambda x: chain(x)[0]),
    "identity_and_literal": lambda x: (x, 2.0, x * 2.0),
    # a dead buffer reused by a later equation (not one of its inputs), possibly in a later chunk
    "buffer_reuse": lambda x: fnp.cos(x * 3.0) * fnp.sum(fnp.sin(x)) + fnp.exp(x) * 2.0,
}


@pytest.mark.parametrize("size", [1, 4, 25])
@pytest.mark.parametrize("name", PROGRAMS)
def test_chunked_programs_agree_with_the_single_function(monkeypatch, name, size):
    jaxpr = passes.optimize(fungrad.make_jaxpr(PROGRAMS[name])(x3))
    whole = codegen.compile_jaxpr(jaxpr)
    monkeypatch.setattr(chunks, "CHUNK_LINES", size)
    split = codegen.compile_jaxpr(jaxpr)
    assert split.source.count("\ndef f_") >= 2 or len(whole.source.splitlines()) <= size + 2
    # the same statements, plus the slot traffic and the chunk calls
    assert ([line.strip() for line in split.source.splitlines() if not plumbing.match(line)]
            == [line.strip() for line in whole.source.splitlines() if not plumbing.match(line)])
    for got, want in zip(split.fn(x3.copy()), whole.fn(x3.copy())):
        np.testing.assert_array_equal(got, want)


def test_donated_arguments_are_overwritten_in_place_across_chunks(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_LINES", 2)
    f = fungrad.jit(lambda a: fnp.sin(a * 2.0) * 3.0 + 1.0, donate_argnums=0)
    a = np.linspace(0.0, 1.0, 5).copy()
    buf = a.__array_interface__["data"][0]
    out = f(a)
    np.testing.assert_allclose(out, np.sin(np.linspace(0.0, 1.0, 5) * 2.0) * 3.0 + 1.0)
    assert out.__array_interface__["data"][0] == buf


def test_a_value_is_freed_in_the_chunk_that_reads_it_last(monkeypatch):
    # The slot of a value is cleared when it is loaded for the last time, so the buffer goes
    # where the single function would delete it, not when the whole program returns.
    monkeypatch.setattr(chunks, "CHUNK_LINES", 2)
    def f(x):
        big = fnp.exp(x) + 1.0
        y = big.sum()
        for _ in range(6):
            y = fnp.sin(y)
        return y

    jaxpr = passes.optimize(fungrad.make_jaxpr(f)(np.ones(1000)))
    c = codegen.compile_jaxpr(jaxpr)
    assert c.source.count("\ndef f_") >= 3
    loads = re.findall(r"(v\d+) = s\[(\d+)\]\n\s*s\[(\d+)\] = None", c.source)
    assert loads and all(i == j for _, i, j in loads), c.source
    np.testing.assert_allclose(c.fn(np.ones(1000))[0], f(np.ones(1000)))


def test_long_programs_are_split_and_short_ones_are_not():
    short = fungrad.jit(lambda x: fnp.sin(x) * 2.0).lower(x3).source
    assert "f_0" not in short
    long_src = fungrad.jit(lambda x: chain(x, 2000)).lower(x3).source
    n_chunks = long_src.count("\ndef f_")
    assert n_chunks >= len(long_src.splitlines()) // (2 * chunks.CHUNK_LINES)
    longest = max(sum(not plumbing.match(line) for line in f.splitlines())
                  for f in long_src.split("\ndef "))
    assert longest <= chunks.CHUNK_LINES + 10


def test_the_collector_is_paused_while_jit_traces_and_restored_after_errors():
    import gc
    seen = []

    def f(x):
        seen.append(gc.isenabled())
        return x * 2.0

    assert gc.isenabled()
    fungrad.jit(f)(x3)
    assert seen == [False] and gc.isenabled()

    def bad(x):
        raise RuntimeError("user error")
    with pytest.raises(RuntimeError, match="user error"):
        fungrad.jit(bad)(x3)
    assert gc.isenabled()
    gc.disable()
    try:
        fungrad.jit(lambda x: x + 1.0)(x3)
        assert not gc.isenabled()   # a user's choice is left alone
    finally:
        gc.enable()


def test_a_program_traced_again_reuses_its_code_with_its_own_constants():
    def make(c):
        return fungrad.jit(lambda x: fnp.sin(x) * c + c)   # a new function each time
    c1, c2 = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 4.0])
    f1, f2 = make(c1), make(c2)
    np.testing.assert_allclose(f1(x3), np.sin(x3) * c1 + c1)
    np.testing.assert_allclose(f2(x3), np.sin(x3) * c2 + c2)
    l1, l2 = f1.lower(x3).compiled, f2.lower(x3).compiled
    assert l1.source == l2.source and l1.fn.__code__ is l2.fn.__code__
    assert l1.globals is not l2.globals


def test_equations_without_params_share_one_dict_that_nothing_edits():
    from fungrad.interpreters.staging import NO_PARAMS
    jaxpr = fungrad.make_jaxpr(PROGRAMS["value_and_grad"])(x3)
    bare = [e for e in jaxpr.eqns if not e.params]
    assert bare and all(e.params is NO_PARAMS for e in bare)
    fungrad.jit(PROGRAMS["value_and_grad"])(x3)
    fungrad.jit(fungrad.vmap(PROGRAMS["grad"]))(np.stack([x3, x3]))
    assert NO_PARAMS == {}


@pytest.mark.parametrize("call", [False, True])
def test_a_dropped_program_is_freed_without_the_cyclic_collector(call):
    """No reference cycle holds a traced program or its code: dropping the jitted function frees
    them at once (left to the cyclic collector, they would be scanned again and again first)."""
    import gc
    import weakref
    f = fungrad.jit(lambda x: fnp.sin(x) * 2.0 + x)
    lowered = f.lower(x3)
    if call:
        f(x3)
    program, code = weakref.ref(lowered.jaxpr), weakref.ref(lowered.compiled.fn)
    gc.disable()
    try:
        del f, lowered
        assert program() is None and code() is None
    finally:
        gc.enable()
