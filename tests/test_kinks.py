"""Derivatives at kinks and singular points follow JAX's conventions (checked against JAX when
installed, and against the convention written out here)."""
import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import grad, jit
from fungrad.test_util import check_grads

inf = np.inf
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])

# name, fungrad function, jax.numpy function, args, argnums, expected gradient (JAX's value)
CASES = [
    ("abs0", fnp.abs, lambda m: m.abs, (0.0,), 0, 1.0),
    ("abs-0", fnp.abs, lambda m: m.abs, (-0.0,), 0, 1.0),
    ("norm1_0", lambda x: fnp.linalg.norm(x, 1), lambda m: lambda x: m.linalg.norm(x, 1),
     (np.zeros(2),), 0, np.ones(2)),
    ("norm2_0", fnp.linalg.norm, lambda m: m.linalg.norm, (np.zeros(2),), 0, np.full(2, np.nan)),
    ("cbrt0", fnp.cbrt, lambda m: m.cbrt, (0.0,), 0, inf),
    ("hypot00", fnp.hypot, lambda m: m.hypot, (0.0, 0.0), (0, 1), (0.5, 0.5)),
    ("hypot_tie", fnp.hypot, lambda m: m.hypot, (3.0, -3.0), (0, 1),
     (1 / np.sqrt(2), -1 / np.sqrt(2))),
    ("logaddexp-inf-inf", fnp.logaddexp, lambda m: m.logaddexp, (-inf, -inf), (0, 1),
     (np.nan, np.nan)),
    ("logaddexp+inf+inf", fnp.logaddexp, lambda m: m.logaddexp, (inf, inf), (0, 1), (1.0, 1.0)),
    ("logaddexp+inf-inf", fnp.logaddexp, lambda m: m.logaddexp, (inf, -inf), (0, 1), (1.0, 0.0)),
    ("logaddexp-inf0", fnp.logaddexp, lambda m: m.logaddexp, (-inf, 0.0), (0, 1), (0.0, 1.0)),
    ("logaddexp00", fnp.logaddexp, lambda m: m.logaddexp, (0.0, 0.0), (0, 1), (0.5, 0.5)),
    ("det0", fnp.linalg.det, lambda m: m.linalg.det, (np.zeros((2, 2)),), 0, np.zeros((2, 2))),
    ("det_rank1", fnp.linalg.det, lambda m: m.linalg.det, (SINGULAR,), 0,
     np.array([[4.0, -2.0], [-2.0, 1.0]])),
    ("inv_singular", lambda a: fnp.linalg.inv(a).sum(), lambda m: lambda a: m.linalg.inv(a).sum(),
     (np.zeros((2, 2)),), 0, np.full((2, 2), np.nan)),
    ("solve_singular", lambda a: fnp.linalg.solve(a, np.ones(2)).sum(),
     lambda m: lambda a: m.linalg.solve(a, np.ones(2)).sum(), (np.zeros((2, 2)),), 0,
     np.full((2, 2), np.nan)),
    ("cholesky_npd", lambda a: fnp.linalg.cholesky(a).sum(),
     lambda m: lambda a: m.linalg.cholesky(a).sum(), (-np.eye(2),), 0, np.full((2, 2), np.nan)),
]
IDS = [c[0] for c in CASES]


def _same(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and np.allclose(a, b, equal_nan=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name,f,jf,args,argnums,expected", CASES, ids=IDS)
def test_convention(name, f, jf, args, argnums, expected):
    for transform in (lambda g: g, jit):
        g = transform(grad(f, argnums=argnums))(*args)
        if isinstance(argnums, tuple):
            assert all(_same(a, b) for a, b in zip(g, expected)), (name, g)
        else:
            assert _same(g, expected), (name, g)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name,f,jf,args,argnums,expected", CASES, ids=IDS)
def test_against_jax(name, f, jf, args, argnums, expected):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    ours = grad(f, argnums=argnums)(*args)
    theirs = jax.grad(jf(jnp), argnums=argnums)(*args)
    if isinstance(argnums, tuple):
        assert all(_same(a, b) for a, b in zip(ours, theirs)), (name, ours, theirs)
    else:
        assert _same(ours, theirs), (name, ours, theirs)


def test_det_derivative_is_the_adjugate_away_from_singularity():
    a = np.random.default_rng(0).standard_normal((4, 3, 3))
    g = fungrad.vmap(grad(fnp.linalg.det))(a)
    np.testing.assert_allclose(g, np.linalg.det(a)[:, None, None]
                               * np.swapaxes(np.linalg.inv(a), -1, -2), rtol=1e-10)
    check_grads(fnp.linalg.det, (a[0],), order=2)
