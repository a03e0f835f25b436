"""``fungrad.optim.least_squares`` and ``curve_fit``: API, MINPACK's counts and stopping tests, bad
input, non-finite trial points, the options, against closed forms and SciPy's ``lm`` (live)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad.jit import JitFunction
from fungrad.optim import LeastSquaresResult, OptimizeWarning, curve_fit, least_squares
from fungrad.optim.levenberg_marquardt import _ExactHessian, _GaussNewton
from fungrad.optim import minpack
from fungrad.optim.minpack import qr_pivoted

T = np.linspace(0.0, 3.0, 12)
Y = 2.0 * np.exp(-1.3 * T) + 0.05 * np.cos(5.0 * T)     # not exactly the model: a nonzero residual


def decay(p, t, y):
    return p["a"] * fnp.exp(-p["k"] * t) - y


def rosenbrock(x):
    return fnp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def test_pytree_params_and_result_fields():
    res = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y)
    assert isinstance(res, LeastSquaresResult) and res.success and res.status in (2, 3, 4)
    assert set(res.params) == {"a", "k"} and res.x is res.params
    a, k = float(res.params["a"]), float(res.params["k"])
    r = a * np.exp(-k * T) - Y
    np.testing.assert_allclose(res.fun, r, atol=1e-12)
    assert res.residuals is res.fun
    assert res.cost == pytest.approx(0.5 * np.sum(r ** 2), rel=1e-12)
    # jac is d fun / d (a, k) in ravel_pytree order (keys sorted: a, k).
    jac = np.stack([np.exp(-k * T), -a * T * np.exp(-k * T)], axis=1)
    np.testing.assert_allclose(res.jac, jac, rtol=1e-12)
    np.testing.assert_allclose(res.grad, jac.T @ r, atol=1e-12)
    assert np.abs(res.grad).max() < 1e-9 and res.optimality == np.abs(res.grad).max()
    h = res.history
    assert len(h["cost"]) == len(h["damping"]) == len(h["step_norm"]) == len(h["accepted"])
    assert len(h["cost"]) == res.nfev - 1          # one trial per evaluation after the first
    # A Jacobian follows every accepted step, except when the step ends the iteration.
    assert h["accepted"].dtype == bool and res.njev - 1 <= h["accepted"].sum() <= res.njev
    accepted_costs = h["cost"][h["accepted"]]
    assert np.all(np.diff(accepted_costs) <= 0) and accepted_costs[-1] == pytest.approx(res.cost)


def test_rosenbrock_counts_match_minpack(monkeypatch):
    """MINPACK's driver on Rosenbrock from the standard start: 21 evaluations, 16 Jacobians, exact
    zero residual, exit on the gradient test (info 4, SciPy's status 1), with MINPACK's lmpar
    tolerance; ours (2%) gets there in fewer."""
    tol = np.sqrt(np.finfo(float).eps)
    ours = least_squares(rosenbrock, np.array([-1.2, 1.0]), ftol=tol, xtol=tol, gtol=0.0)
    monkeypatch.setattr(minpack, "LMPAR_RTOL", 0.1)
    res = least_squares(rosenbrock, np.array([-1.2, 1.0]), ftol=tol, xtol=tol, gtol=0.0)
    assert (res.nfev, res.njev, res.status) == (21, 16, 1)
    for r in (res, ours):
        assert r.cost == 0.0 and np.array_equal(r.params, [1.0, 1.0])
        assert r.message == "`gtol` termination condition is satisfied."
    assert ours.nfev < res.nfev


def test_linear_problem_converges_in_one_step():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    b = np.array([1.0, 0.0, 2.0])
    res = least_squares(lambda x: a @ x - b, np.zeros(2))
    np.testing.assert_allclose(res.params, np.linalg.lstsq(a, b, rcond=None)[0], rtol=1e-12)
    assert res.njev <= 3


def test_max_nfev_is_a_hard_budget():
    res = least_squares(rosenbrock, np.array([-1.2, 1.0]), max_nfev=5)
    assert res.nfev == 5 and res.status == 0 and not res.success
    assert res.message == "The maximum number of function evaluations is exceeded."


def test_gtol_stop_and_status_mapping():
    res = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y, gtol=1e-3)
    assert res.status == 1
    loose = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y, ftol=1e-3, xtol=1e-20)
    assert loose.status == 2 and "ftol" in loose.message
    step = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y, ftol=1e-20, xtol=1e-3)
    assert step.status == 3 and "xtol" in step.message


def test_zero_tolerances_stop_at_float64_resolution():
    res = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y, ftol=0.0, xtol=0.0, gtol=0.0)
    assert res.success and ("float64" in res.message or "machine precision" in res.message)


def test_non_finite_trial_points_are_rejected_steps():
    """sqrt(p) - 2 from p = 100: the Gauss-Newton step lands at p = -60 where the residual is NaN.
    That trial is a rejected step, the region shrinks by 10, and the fit converges to p = 4."""
    res = least_squares(lambda p: fnp.sqrt(p) - 2.0, np.array([100.0]))
    bad = np.isinf(res.history["cost"])
    assert bad[0] and not res.history["accepted"][bad].any()
    assert res.history["step_norm"][1] <= 0.1 * res.history["step_norm"][0] * 1.1
    assert np.all(np.isfinite(res.fun)) and res.success
    np.testing.assert_allclose(res.params, [4.0], rtol=1e-12)


def test_x_scale_array_is_minpack_diag():
    res = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y, x_scale=np.array([1.0, 0.1]))
    ref = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y)
    np.testing.assert_allclose(res.params["k"], ref.params["k"], rtol=1e-9)


def test_eager_mode_allows_python_control_flow():
    def piecewise(p, t, y):
        scale = 2.0 if p[0] > 0 else 1.0       # needs a concrete value
        return scale * (p[0] * fnp.exp(-p[1] * t) - y)
    with pytest.raises(fungrad.errors.ConcretizationError, match="jit=False"):
        least_squares(piecewise, np.array([1.0, 0.5]), T, Y)
    res = least_squares(piecewise, np.array([1.0, 0.5]), T, Y, jit=False)
    jitted = least_squares(lambda p, t, y: 2.0 * (p[0] * fnp.exp(-p[1] * t) - y),
                           np.array([1.0, 0.5]), T, Y)
    np.testing.assert_allclose(res.params, jitted.params, rtol=1e-10)
    assert res.nfev == jitted.nfev


def test_a_second_solve_of_the_same_function_compiles_nothing():
    traces = []

    def counted(p, t, y):          # under jit the body runs only while tracing
        traces.append(1)
        return decay(p, t, y)
    first = least_squares(counted, {"a": 1.0, "k": 0.5}, T, Y)
    assert len(traces) == 1        # residuals and Jacobian: one program, traced once
    again = least_squares(counted, {"a": 3.0, "k": 2.0}, T, Y)
    assert len(traces) == 1
    np.testing.assert_allclose(again.params["k"], first.params["k"], rtol=1e-8)
    # New shapes of the data, or another params structure: traced again, never a stale program.
    fewer = least_squares(counted, {"a": 1.0, "k": 0.5}, T[:6], Y[:6])
    assert len(traces) == 2
    ref = least_squares(decay, {"a": 1.0, "k": 0.5}, T[:6], Y[:6])
    np.testing.assert_allclose(fewer.params["k"], ref.params["k"], rtol=1e-12)
    def either(p, t, y):           # params as a dict {"a", "k"} or as a tuple (k, a)
        traces.append(1)
        a, k = (p["a"], p["k"]) if isinstance(p, dict) else (p[1], p[0])
        return decay({"a": a, "k": k}, t, y)
    least_squares(either, {"a": 1.0, "k": 0.5}, T, Y)
    swapped = least_squares(either, (0.5, 1.0), T, Y)
    np.testing.assert_allclose(swapped.params, (first.params["k"], first.params["a"]), rtol=1e-8)
    # Another function with the same shapes is its own entry, whatever its code.
    doubled = least_squares(lambda p, t, y: 2.0 * decay(p, t, y), {"a": 1.0, "k": 0.5}, T, Y)
    assert doubled.cost == pytest.approx(4.0 * first.cost, rel=1e-8)


def test_python_scalars_and_lists_as_args_give_what_arrays_give():
    def scaled(p, t, y, w):
        return w * decay(p, t, y)
    ref = least_squares(scaled, {"a": 1.0, "k": 0.5}, T, Y, np.float64(2.0) * np.ones(()))
    res = least_squares(scaled, {"a": 1.0, "k": 0.5}, T.tolist(), Y, 2.0)
    np.testing.assert_allclose(res.params["k"], ref.params["k"], rtol=1e-12)
    assert res.nfev == ref.nfev and res.cost == pytest.approx(ref.cost, rel=1e-12)


def test_the_program_cache_does_not_keep_the_function_alive():
    import gc
    import weakref

    def residual(p, t, y):
        return decay(p, t, y)
    least_squares(residual, {"a": 1.0, "k": 0.5}, T, Y)
    ref = weakref.ref(residual)
    del residual
    gc.collect()
    assert ref() is None


def test_geodesic_acceleration_converges_and_rejects_by_its_test():
    res = least_squares(rosenbrock, np.array([-1.2, 1.0]), geodesic_acceleration=True)
    np.testing.assert_allclose(res.params, [1.0, 1.0], atol=1e-10)
    # A step whose acceleration fails 2|a| <= 0.75 |v| is recorded as rejected (cost inf) without
    # an evaluation: the history has more entries than trial evaluations.
    h = res.history
    by_test = len(h["cost"]) - (res.nfev - 1)
    assert by_test > 0 and np.sum(np.isinf(h["cost"]) & ~h["accepted"]) >= by_test
    # The first trial from p = 3 on p² - 4 is v + a/2: v = -5/6 (Gauss-Newton, inside the large
    # first region), a = -(JᵀJ)⁻¹ Jᵀ r''(v, v) = -2v² / (2p).
    seen = []

    def square(p):
        if isinstance(p, np.ndarray):
            seen.append(float(p[0]))
        return p * p - 4.0
    least_squares(square, np.array([3.0]), geodesic_acceleration=True, factor=1e3, jit=False)
    v = -5.0 / 6.0
    assert seen[1] == pytest.approx(3.0 + v - 0.5 * v * v / 3.0, rel=1e-12)
    # On Bard's function from 10x the accelerated steps reach the global minimum (0.0906),
    # where plain LM stops in the valley at 4.17 (MINPACK does too).
    f = lambda x, u, v, w, y: y - (x[0] + u / (v * x[1] + w * x[2]))  # noqa: E731
    u = np.arange(1.0, 16.0)
    y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34,
                  2.10, 4.39])
    args = (u, 16.0 - u, np.minimum(u, 16.0 - u), y)
    plain = least_squares(f, np.full(3, 10.0), *args)
    accelerated = least_squares(f, np.full(3, 10.0), *args, geodesic_acceleration=True)
    assert np.sqrt(2 * plain.cost) > 4.0 and np.sqrt(2 * accelerated.cost) < 0.0907


def test_hessian_curvature_on_a_large_residual_problem():
    """Large residuals make JᵀJ a poor model (Gauss-Newton converges linearly); the exact Hessian
    converges faster to the same minimum."""
    t = np.array([1.0, 2.0, 3.0])
    y = np.array([2.0, 4.0, -8.0])

    def f(k, t, y):
        return fnp.exp(k * t) - y
    res_h = least_squares(f, np.array([1.0]), t, y, curvature="hessian")
    res_g = least_squares(f, np.array([1.0]), t, y)
    grid = np.linspace(-2.0, 1.0, 300001)
    best = grid[np.argmin([np.sum((np.exp(k * t) - y) ** 2) for k in grid])]
    for res in (res_h, res_g):
        assert res.success and abs(res.params[0] - best) < 2e-5
    assert res_h.nfev < res_g.nfev
    # At the minimum, the exact Hessian of the cost (JᵀJ + Σ r_i r_i'') is positive.
    k = res_h.params[0]
    e = np.exp(k * t)
    assert np.sum((t * e) ** 2 + (e - y) * t ** 2 * e) > 0


@pytest.mark.parametrize("call, error, match", [
    (lambda: least_squares(lambda p: (p, p), np.ones(2)), TypeError, "must return an array"),
    (lambda: least_squares(lambda p: p[0] * np.ones(1), np.ones(2)), ValueError,
     "at least as many residuals"),
    (lambda: least_squares(lambda p: fnp.log(p), np.array([1.0, -1.0])), ValueError,
     "not finite"),
    (lambda: least_squares(lambda p: p, np.array([1, 2])), TypeError, "floating point"),
    (lambda: least_squares(lambda p: p, np.array([1.0, np.nan])), ValueError, "not finite"),
    (lambda: least_squares(lambda p: fnp.sqrt(p), np.array([0.0, 1.0])), ValueError,
     "Jacobian .* not finite"),
    (lambda: least_squares(lambda p: p, np.ones(2), method="trf"), ValueError, "method='lm'"),
    (lambda: least_squares(lambda p: p, np.ones(2), ftol=-1.0), ValueError, "ftol"),
    (lambda: least_squares(lambda p: p, np.ones(2), max_nfev=0), ValueError, "max_nfev"),
    (lambda: least_squares(lambda p: p, np.ones(2), x_scale="auto"), ValueError, "x_scale"),
    (lambda: least_squares(lambda p: p, np.ones(2), x_scale=-1.0), ValueError, "x_scale"),
    (lambda: least_squares(lambda p: p, np.ones(2), curvature="fisher"), ValueError, "curvature"),
    (lambda: least_squares(lambda p: p, np.ones(2), curvature="hessian",
                           geodesic_acceleration=True), ValueError, "gauss-newton"),
])
def test_bad_input_is_reported_before_iterating(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_shape_changing_residual_is_an_error():
    calls = []

    def growing(p):
        calls.append(None)
        return fnp.concatenate([p, fnp.zeros(len(calls))])
    with pytest.raises(ValueError, match="same shape"):
        least_squares(growing, np.ones(2), jit=False)


@given(st.integers(0, 2 ** 16))
def test_matches_scipy_lm(seed):
    """Same algorithm, same tolerances: same solution, and the same counts to within a few."""
    scipy_opt = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 4.0, 15)
    truth = np.array([2.0, 1.1, 0.7, 0.2]) * np.exp(rng.uniform(-0.3, 0.3, 4))
    y = truth[0] * np.exp(-truth[1] * t) + truth[2] * np.exp(-truth[3] * t)
    y = y + 1e-3 * rng.standard_normal(t.size)
    p0 = truth * np.exp(rng.uniform(-0.4, 0.4, 4))

    def r(p, t, y):
        return p[0] * fnp.exp(-p[1] * t) + p[2] * fnp.exp(-p[3] * t) - y
    tol = 1e-10
    ours = least_squares(r, p0, t, y, ftol=tol, xtol=tol, gtol=tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = scipy_opt.least_squares(fungrad.jit(r), p0, jac=fungrad.jit(fungrad.jacfwd(r)),
                                      args=(t, y), method="lm", ftol=tol, xtol=tol, gtol=tol)
    assert ours.cost <= ref.cost * (1 + 1e-9) + 1e-30
    if ref.success and ours.success:
        np.testing.assert_allclose(ours.params, ref.x, rtol=1e-5)
        assert abs(ours.nfev - ref.nfev) <= max(3, ref.nfev // 5)


def test_curve_fit_matches_scipy_with_sigma_and_absolute_sigma():
    scipy_opt = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 4.0, 30)
    sigma = 0.02 + 0.05 * rng.uniform(size=x.size)
    y = 2.5 * np.exp(-1.3 * x) + 0.5 + sigma * rng.standard_normal(x.size)
    cov = np.diag(sigma ** 2) + 1e-4 * np.exp(-np.abs(x[:, None] - x[None, :]))
    for s in (None, 0.1, sigma, cov):
        for absolute in (False, True):
            popt, pcov = curve_fit(lambda x, a, k, c: a * fnp.exp(-k * x) + c, x, y, [1.0, 1.0, 0.0],
                                   sigma=s, absolute_sigma=absolute)
            rp, rc = scipy_opt.curve_fit(lambda x, a, k, c: a * np.exp(-k * x) + c, x, y,
                                         [1.0, 1.0, 0.0], sigma=s, absolute_sigma=absolute,
                                         ftol=1e-12, xtol=1e-12)
            # SciPy differentiates by forward differences: agreement to ~1e-8 is all there is.
            np.testing.assert_allclose(popt, rp, rtol=1e-7)
            np.testing.assert_allclose(pcov, rc, rtol=1e-5)


def test_curve_fit_of_the_same_model_compiles_once_and_keeps_no_model_alive():
    import gc
    import weakref
    traces = []

    def model(x, a, k):
        traces.append(1)
        return a * fnp.exp(-k * x)
    first = curve_fit(model, T, Y, p0=[1.0, 0.5])[0]
    second = curve_fit(model, T, 2.0 * Y, p0=[1.0, 0.5])[0]
    assert len(traces) == 1
    np.testing.assert_allclose(second, [2.0 * first[0], first[1]], rtol=1e-7)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


SHIFT = np.zeros(())


def test_curve_fit_never_reuses_a_program_whose_model_data_changed():
    """curve_fit hands least_squares a residual object wrapping the model; the program cache
    reads the model's data through it (``__wrapped__``): editing an array the model reads, in
    place, between two fits makes the second fit see it, as a fresh model would."""
    def model(x, a, b):
        return a * x + b + SHIFT
    x = np.linspace(0.0, 1.0, 20)
    y = 2.0 * x + 1.0
    try:
        np.testing.assert_allclose(curve_fit(model, x, y, p0=[1.0, 0.0])[0], [2.0, 1.0])
        SHIFT[...] = 1.0
        np.testing.assert_allclose(curve_fit(model, x, y, p0=[1.0, 0.0])[0], [2.0, 0.0],
                                   atol=1e-12)
    finally:
        SHIFT[...] = 0.0


def test_curve_fit_p0_default_full_output_and_errors():
    x = np.arange(6.0)
    y = 3.0 * x - 2.0
    popt, pcov, res = curve_fit(lambda x, a, b: a * x + b, x, y, full_output=True)
    np.testing.assert_allclose(popt, [3.0, -2.0], atol=1e-10)
    assert isinstance(res, LeastSquaresResult)
    with pytest.raises(ValueError, match="NaN"):
        curve_fit(lambda x, a: a * x, x, np.where(x > 2, np.nan, y))
    with pytest.raises(ValueError, match="sigma"):
        curve_fit(lambda x, a: a * x, x, y, sigma=np.ones(3))
    with pytest.raises(ValueError, match="positive definite"):
        curve_fit(lambda x, a: a * x, x, y, sigma=-np.eye(6))
    with pytest.raises(RuntimeError, match="not found"):
        curve_fit(lambda x, a, k: a * fnp.exp(-k * x), x, y, max_nfev=2)
    with pytest.warns(OptimizeWarning):
        _, pcov = curve_fit(lambda x, a, b: (a + b) * x, x, y)       # a + b only: singular
    assert np.all(np.isinf(pcov))


@given(st.integers(0, 2 ** 16))
def test_predicted_reduction_is_the_model_decrease(seed):
    """Both models' predicted relative reduction of ||f||² is the decrease of the quadratic model,
    and MINPACK's closed form for an lmpar step agrees with it."""
    rng = np.random.default_rng(seed)
    jac = rng.standard_normal((6, 3))
    f = rng.standard_normal(6)
    fnorm = np.linalg.norm(f)
    diag = np.linalg.norm(jac, axis=0)
    gn = _GaussNewton(qr_pivoted(jac, f), diag)
    par, step, pnorm = gn.step(0.3 * np.linalg.norm(diag * np.linalg.lstsq(jac, f, rcond=None)[0]), 0.0)
    assert pnorm == pytest.approx(np.linalg.norm(diag * step), rel=1e-14)
    decrease = (fnorm ** 2 - np.linalg.norm(f + jac @ step) ** 2) / fnorm ** 2
    for exact in (True, False):
        prered, dirder = gn.predicted(step, par, np.linalg.norm(diag * step), fnorm, exact)
        assert prered == pytest.approx(decrease, rel=1e-9)
        assert dirder == pytest.approx((jac.T @ f) @ step / fnorm ** 2, rel=1e-9)
    h = jac.T @ jac + np.diag(rng.uniform(-1, 1, 3))
    model = _ExactHessian(h, jac.T @ f, diag)
    prered, dirder = model.predicted(step, par, 0.0, fnorm, False)
    assert prered == pytest.approx(-(2 * (jac.T @ f) @ step + step @ h @ step) / fnorm ** 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_residuals_of_any_shape_and_real_dtype_become_a_float64_vector(dtype):
    """residual_fn may return any shape and floating dtype: the iteration sees them flattened,
    in float64 (the compiled program skips the conversions that would do nothing)."""
    t = np.linspace(0.0, 1.0, 6).reshape(3, 2)
    res = least_squares(lambda p, t: fnp.astype(p[0] * t - 2.0 * t, dtype), np.array([1.0]), t)
    assert res.fun.shape == (6,) and res.fun.dtype == np.float64
    assert res.jac.shape == (6, 1) and res.jac.dtype == np.float64
    np.testing.assert_allclose(res.params, [2.0], rtol=1e-6)


def test_the_iteration_runs_the_compiled_program_without_jits_dispatch(monkeypatch):
    """Every evaluation of a solve, the first included, calls the compiled residual-and-Jacobian
    function directly, for NumPy arrays and fungrad Arrays alike: jit's per-call dispatch is never
    entered (the results are those of plain arrays, bit for bit)."""
    calls = []
    original = JitFunction.__call__

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)
    want = least_squares(decay, {"a": 1.0, "k": 0.5}, T, Y)
    monkeypatch.setattr(JitFunction, "__call__", counting)
    for t, y in ((T, Y), (fnp.asarray(T), fnp.asarray(Y))):
        got = least_squares(decay, {"a": 1.0, "k": 0.5}, t, y)
        assert got.nfev == want.nfev and got.cost == want.cost and not calls

    def fresh(p, t, y):
        return decay(p, t, y)
    least_squares(fresh, {"a": 1.0, "k": 0.5}, fnp.asarray(T), fnp.asarray(Y))
    assert not calls


def test_a_finite_jacobian_whose_column_norm_overflows_is_not_taken_for_a_non_finite_one():
    """The iteration reads J's finiteness off its column norms (a NaN or inf entry makes its
    column's norm NaN) and checks J itself only when a norm is not finite: here every entry is
    finite but the norm, sqrt(2) * 1.5e308, overflows. The iteration goes on (MINPACK would too)
    and stops on xtol, instead of reporting a non-finite Jacobian."""
    res = least_squares(lambda p: 1.5e308 * p * np.ones(2) - 1.0, np.array([1e-308]))
    with np.errstate(over="ignore"):
        assert np.isinf(minpack.column_norms(res.jac)).all() and np.isfinite(res.jac).all()
    assert res.status == 3 and res.njev == 1


def test_non_finite_jacobian_during_the_iteration_stops_with_status_minus_one():
    """A residual whose derivative (by a custom rule) is infinite below p = 2: the first step lands
    at p = 1 and the iteration stops there with status -1, returning that finite point."""
    @fungrad.custom_jvp
    def shifted(p):
        return p - 1.0

    @shifted.defjvp
    def shifted_jvp(primals, tangents):
        (p,), (t,) = primals, tangents
        return shifted(p), t * fnp.where(p < 2.0, np.inf, 1.0)

    res = least_squares(shifted, np.array([3.0]))
    assert res.status == -1 and not res.success and "not finite" in res.message
    np.testing.assert_allclose(res.params, [1.0])


Y_SHIFTED = Y + 0.5


def test_a_cached_program_never_serves_changed_data():
    """The program kept for a function is dropped when the data it reads directly changed: an
    array of its closure edited in place, a global it reads rebound, or one read by a function it
    calls. Each solve must equal a solve of a fresh function on the same data."""
    data = Y.copy()

    def closing_over(p):
        return decay(p, T, data)
    first = least_squares(closing_over, {"a": 1.0, "k": 0.5})
    data += 0.5                          # edited in place after the first solve
    edited = least_squares(closing_over, {"a": 1.0, "k": 0.5})
    fresh = least_squares(lambda p: decay(p, T, Y_SHIFTED), {"a": 1.0, "k": 0.5})
    np.testing.assert_allclose(edited.params["k"], fresh.params["k"], rtol=1e-12)
    assert edited.cost == pytest.approx(fresh.cost, rel=1e-12) and edited.cost != first.cost

    global Y_SHIFTED
    saved = Y_SHIFTED
    try:
        reads_global = lambda p: decay(p, T, Y_SHIFTED)   # noqa: E731
        calls_reader = lambda p: 2.0 * reads_global(p)     # noqa: E731
        before = least_squares(reads_global, {"a": 1.0, "k": 0.5})
        before2 = least_squares(calls_reader, {"a": 1.0, "k": 0.5})
        Y_SHIFTED = Y - 0.25                               # rebound
        after = least_squares(reads_global, {"a": 1.0, "k": 0.5})
        after2 = least_squares(calls_reader, {"a": 1.0, "k": 0.5})
        want = least_squares(lambda p: decay(p, T, Y - 0.25), {"a": 1.0, "k": 0.5})
    finally:
        Y_SHIFTED = saved
    np.testing.assert_allclose(after.params["k"], want.params["k"], rtol=1e-12)
    np.testing.assert_allclose(after2.cost, 4.0 * want.cost, rtol=1e-10)
    assert after.cost != before.cost and after2.cost != before2.cost


def test_params_of_a_start_already_optimal_are_not_the_callers_array() -> None:
    """No step is accepted, so the result is the start: as a new array, not the caller's
    (editing the start afterwards must not change the result)."""
    x = np.linspace(0.0, 1.0, 10)
    p0 = np.array([2.0, 1.0])
    res = least_squares(lambda p: p[0] * x + p[1] - (2.0 * x + 1.0), p0)
    assert res.nfev == 1 and not np.shares_memory(res.params, p0)
    p0[:] = 5.0
    np.testing.assert_array_equal(res.params, [2.0, 1.0])
