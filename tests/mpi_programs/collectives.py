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

# Outside pmap the process axis is not bound.
try:
    lax.psum(X[me], "i")
except NameError as e:
    assert "unbound axis name 'i'" in str(e), e
else:
    raise AssertionError("psum outside pmap did not fail")

if me == 0:
    print(f"collectives OK on {n} processes")
