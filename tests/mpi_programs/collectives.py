"""Run under mpiexec: each collective over a pmap axis equals the same program under a named vmap
of the stacked data (this process's row), values and gradients, eagerly and under jit."""
import numpy as np

import fungrad
import fungrad.numpy as fnp
from fungrad import distributed, grad, jit, lax, vmap

distributed.initialize()
n, me = distributed.process_count(), distributed.process_index()
rng = np.random.default_rng(0)          # the same stacked data on every process
X = rng.normal(size=(n, 4))
SQ = rng.normal(size=(n, n, 2))
shift = [(i, (i + 1) % n) for i in range(n)]
half = [(i, i + 1) for i in range(n - 1)]   # the last member receives nothing: zeros

PROGRAMS = {
    "psum": (lambda x: lax.psum(x, "i"), X),
    "pmean": (lambda x: lax.pmean(x, "i"), X),
    "pmax": (lambda x: lax.pmax(x, "i"), X),
    "pmin": (lambda x: lax.pmin(x, "i"), X),
    "normalize": (lambda x: x / lax.psum(x * x, "i"), X),
    "all_gather": (lambda x: lax.all_gather(x, "i", axis=1), X),
    "all_gather_tiled": (lambda x: lax.all_gather(x, "i", tiled=True), X),
    "psum_scatter": (lambda x: lax.psum_scatter(x, "i", scatter_dimension=1), SQ.transpose(0, 2, 1)),
    "psum_scatter_tiled": (lambda x: lax.psum_scatter(x, "i", tiled=True), SQ.reshape(n, 2 * n)),
    "ppermute": (lambda x: lax.ppermute(x, "i", shift), X),
    "ppermute_partial": (lambda x: lax.ppermute(x, "i", half), X),
    "all_to_all": (lambda x: lax.all_to_all(x, "i", 0, 1), SQ),
    "all_to_all_tiled": (lambda x: lax.all_to_all(x, "i", 0, 0, tiled=True), SQ.reshape(n, 2 * n)),
    "axis_index": (lambda x: x * lax.axis_index("i"), X),
    "scalar": (lambda x: lax.psum(2.0, "i") * x, X),
}
SMOOTH = [k for k in PROGRAMS if k not in ("pmax", "pmin")]


def close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=what)


for name, (f, data) in PROGRAMS.items():
    expected = vmap(f, axis_name="i")(data)[me]
    on_processes = distributed.pmap(f, axis_name="i")
    close(on_processes(data[me]), expected, name)
    close(jit(on_processes)(data[me]), expected, f"jit(pmap) {name}")
    close(distributed.pmap(jit(f), axis_name="i")(data[me]), expected, f"pmap(jit) {name}")
    if name in SMOOTH:
        loss = lambda x: fnp.sum(fnp.sin(f(x)))
        expected = vmap(grad(loss), axis_name="i")(data)[me]
        close(distributed.pmap(grad(loss), axis_name="i")(data[me]), expected, f"grad {name}")
        close(distributed.pmap(jit(grad(loss)), axis_name="i")(data[me]), expected,
              f"jit(grad) {name}")
        t = np.ones_like(data[me])
        expected = vmap(lambda x, t: fungrad.jvp(f, (x,), (t,))[1], axis_name="i")(
            data, np.ones_like(data))[me]
        close(distributed.pmap(lambda x: fungrad.jvp(f, (x,), (t,))[1], axis_name="i")(data[me]),
              expected, f"jvp {name}")

# grad from outside pmap: the backward pass runs after pmap has returned (eagerly and under jit).
f = lambda x: fnp.sum(fnp.sin(lax.psum(x * x, "i")))
expected = grad(lambda x: fnp.sum(vmap(f, axis_name="i")(x)))(X)[me]
close(grad(distributed.pmap(f, axis_name="i"))(X[me]), expected, "grad of pmap")
close(jit(grad(distributed.pmap(f, axis_name="i")))(X[me]), expected, "jit(grad(pmap))")

# A named vmap axis inside the process axis; collectives over one, the other, or both.
Y = rng.normal(size=(n, 3, 2))
for axes in ("j", "dp", ("dp", "j"), ("j", "dp")):
    f = lambda y: lax.psum(y * y, axes) + lax.axis_index(axes) + lax.pmean(fnp.sin(y), axes)
    expected = vmap(vmap(f, axis_name="j"), axis_name="dp")(Y)[me]
    got = distributed.pmap(vmap(f, axis_name="j"), axis_name="dp")(Y[me])
    close(got, expected, f"nested {axes}")
    g = grad(lambda y: fnp.sum(vmap(f, axis_name="j")(y) ** 2))
    close(distributed.pmap(g, axis_name="dp")(Y[me]),
          vmap(g, axis_name="dp")(Y)[me], f"nested grad {axes}")

# Fortran-ordered operands go without a copy when every process has them so; mixed layouts too.
M = rng.normal(size=(n, 5, 3))
for layout in ("F", "C" if me % 2 else "F"):
    mine = np.asfortranarray(M[me]) if layout == "F" else M[me]
    got, = distributed.pmap(lambda m: lax.psum([m], "i"), axis_name="i")(mine)
    close(got, M.sum(0), f"psum of {layout}-ordered operands")

# A reduction packs a pytree into one buffer per dtype: mixed dtypes, layouts, a strided view, a
# scalar and an empty leaf come back right, as fresh arrays sharing memory with nothing the
# caller holds (not the operands, not each other's elements, not an earlier call's results).
T = {"f": rng.normal(size=(n, 4, 3)), "s": rng.normal(size=(n, 8)), "x": rng.normal(size=n),
     "i": rng.integers(-5, 5, size=(n, 3)), "h": rng.normal(size=(n, 2)).astype(np.float32),
     "e": np.zeros((n, 0))}
closed = {"psum": lambda a: a.sum(0), "pmean": lambda a: a.mean(0),
          "pmax": lambda a: a.max(0), "pmin": lambda a: a.min(0)}
for fname, reduce_ in closed.items():
    op = getattr(lax, fname)
    mine = {"f": np.asfortranarray(T["f"][me]), "s": T["s"][me][::2], "x": T["x"][me],
            "i": T["i"][me], "h": T["h"][me], "e": T["e"][me]}
    for how, run in (("eager", distributed.pmap(lambda t: op(t, "i"), axis_name="i")),
                     ("jit", jit(distributed.pmap(lambda t: op(t, "i"), axis_name="i")))):
        got, again = run(mine), run(mine)
        for k, v in got.items():
            want = reduce_(T[k][:, ::2] if k == "s" else T[k])
            close(v, want, f"{how} {fname} of leaf {k}")
            dtype = np.float64 if (fname, k) == ("pmean", "i") else T[k].dtype
            assert v.dtype == dtype, (how, fname, k, v.dtype)
            assert not np.may_share_memory(v, mine[k]) and not np.may_share_memory(v, again[k])
        before = {k: np.array(v) for k, v in got.items()}
        got["f"][...] = 7.0
        for k in "sxih":
            np.testing.assert_array_equal(got[k], before[k], err_msg=f"{how} {fname}: {k} changed")

# Under jit, operands whose buffers die at the reduction (a step's gradients) are reduced in their
# own buffers, with the named vmap's values (its bits on 2 processes: a sum of two, then / 2) and
# nothing the caller holds changed; an operand read later, repeated, sharing a buffer with another
# operand, or an argument is packed instead; a buffer freed there is not reused for a later value.
BIG = rng.normal(size=(n, 96, 100))      # 76.8 kB a row: reduced in its own buffer if given up
B = rng.normal(size=(n, 100))


def gives_up(w, b):
    g1 = w * 2.0                          # owned, dies at the pmean
    g2 = (w * 3.0).T                      # a view of an owned buffer, Fortran-ordered
    g3 = w + 1.0                          # read again after the pmean
    h = w * 5.0                           # two views of one buffer
    c = fnp.broadcast_to(2.0, w.shape)    # a view of a literal: no buffer of the program's
    m = lax.pmean((g1, g2, g3, g3, h[:48], h[48:], b, c), "i")
    return m, g3 * 0.5, w * 7.0           # w * 7.0: a new buffer of g1's shape


mine_w, mine_b = BIG[me].copy(), B[me].copy()
stepped = jit(distributed.pmap(gives_up, axis_name="i"))
got = stepped(mine_w, mine_b)
want = vmap(gives_up, axis_name="i")(BIG, B)
for k, (a, e) in enumerate(zip(fungrad.tree_util.tree_leaves(got),
                               fungrad.tree_util.tree_leaves(want))):
    if n == 2:
        np.testing.assert_array_equal(a, e[me], err_msg=f"given-up operand {k}")
    else:
        close(a, e[me], f"given-up operand {k}")
np.testing.assert_array_equal(mine_w, BIG[me])
np.testing.assert_array_equal(mine_b, B[me])
line, = [ln for ln in stepped.lower(mine_w, mine_b).source.splitlines() if "allreduce" in ln]
flags = stepped.lower(mine_w, mine_b).compiled.fn.__globals__[line.rsplit(", ", 1)[1].rstrip(")")]
assert flags == (True, True, False, False, False, False, False, False), (line, flags)

# Given-up operands inside loop and branch bodies (a carry, a body's own value), and a value also
# returned: the named vmap's values, the argument unchanged, the same result on a second call.
LOOPS = {
    "fori carry": lambda x: lax.fori_loop(0, 3, lambda i, c: lax.pmean(c, "i") + 1.0, x),
    "fori new": lambda x: lax.fori_loop(0, 3, lambda i, c: lax.pmean(c * 2.0, "i"), x),
    "scan": lambda x: lax.scan(lambda c, t: (lax.psum(c * t, "i"), c), x, fnp.arange(3.0))[0],
    "cond": lambda x: lax.cond(fnp.sum(x) > 0, lambda y: lax.pmean(y * 3.0, "i"),
                               lambda y: lax.pmean(y, "i"), x),
    "while": lambda x: lax.while_loop(lambda c: c[1] < 3,
                                      lambda c: (lax.pmean(c[0], "i") * 1.5, c[1] + 1), (x, 0))[0],
    "returned too": lambda x: (lax.pmean(x * 2.0, "i"), x * 2.0),
}
for name, f in LOOPS.items():
    mine_w = BIG[me].copy()
    run = jit(distributed.pmap(f, axis_name="i"))
    got, again = run(mine_w), run(mine_w)
    want = vmap(f, axis_name="i")(BIG)
    for a, b, e in zip(*(fungrad.tree_util.tree_leaves(t) for t in (got, again, want))):
        close(a, e[me], f"given up in {name}")
        np.testing.assert_array_equal(a, b, err_msg=f"given up in {name}: second call")
    np.testing.assert_array_equal(mine_w, BIG[me], err_msg=f"given up in {name}: argument changed")

# The runtime reduces a given-up operand in its own buffer, C- or Fortran-ordered, only where every
# process has it in the same layout: Fortran order on odd processes and C order on even ones make
# all of them pack.
axis = distributed.process_axis("i")
for layouts in ("CC", "FF", "CF"):
    x = (np.asfortranarray if layouts[me % 2] == "F" else np.array)(BIG[me])
    out, = axis.allreduce([x], "mean", writable=(True,))
    close(out, BIG.mean(0), f"given-up operand, layouts {layouts}")
    assert (out is x) == (layouts != "CF" or n == 1), (layouts, out is x)

# Outside pmap the process axis is not bound.
try:
    lax.psum(X[me], "i")
except NameError as e:
    assert "unbound axis name 'i'" in str(e), e
else:
    raise AssertionError("psum outside pmap did not fail")

if me == 0:
    print(f"collectives OK on {n} processes")
