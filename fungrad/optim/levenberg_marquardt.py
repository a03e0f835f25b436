"""``least_squares``: MINPACK's Levenberg-Marquardt (lmder) with the Jacobian from fungrad.

The algorithm is Moré's (1978), as MINPACK's ``lmder`` runs it: a trust region on the scaled step
``||D p||``, with ``D`` the Jacobian's column norms (the largest seen so far, as MINPACK updates them),
the damping ``par`` from :func:`fungrad.optim.minpack.lmpar`, the step from the pivoted QR of ``J``
and MINPACK's Givens elimination of ``sqrt(par) D`` below it, MINPACK's radius update (including its quadratic interpolation after a bad
step) and MINPACK's tests for ``ftol``, ``xtol`` and ``gtol``, including the three "cannot improve in
floating point" stops. ``nfev`` counts residual evaluations and ``njev`` Jacobian evaluations exactly
as MINPACK does.

What is compiled, and why the outer loop is a NumPy loop
---------------------------------------------------------
The residual function and its Jacobian are compiled together, as one program, with
:func:`fungrad.jit`, and the iteration calls it (see ``_Problem``). The program is kept for the
function (held weakly, so the cache never keeps the function alive) and reused by later calls with
the same function and params layout, under ``jit``'s cache rules: another start or other data of
the same shapes compiles nothing. The Jacobian's mode
follows from its shape: ``lm`` needs at least as many residuals ``m`` as parameters ``n``, and then
forward mode (``jacfwd``, ``n`` tangents pushed at once) is never more work than reverse mode (``m``
cotangents), so it is always ``jacfwd``. The MINPACK iteration itself (pivoted QR, up to ten
``lmpar`` passes per step, the radius logic) runs in Python: LAPACK's QR of ``[J | f]`` (one NumPy
call), then MINPACK's pivoting and ``lmpar``'s Givens rotations on the ``n x n`` triangle as loops
over Python floats, which for a handful of parameters beat NumPy calls on slices of a few entries.
The pivot order rarely changes from one Jacobian to the next, so LAPACK factors the columns in the
previous order and the pivoting loop runs only when MINPACK's rule would reorder that triangle.
We measured the alternative, the pivoted QR written as a fungrad ``fori_loop`` program and jitted,
on NIST Jacobians from 11 x 4 to 250 x 8 (``python bench/least_squares.py --loop``, a loaded 2-core
machine): compiling it costs several milliseconds per shape, about as much as a whole small solve,
and the compiled program then runs 5-7x slower than ``qr_pivoted``. fungrad compiles to NumPy
calls, so there is no per-operation fusion to win on arrays of a few dozen entries, and a traced
loop cannot shrink its slices as the factorization proceeds (the column index is a tracer): every
step works on the whole masked matrix. ``lmpar``'s Givens rotations are worse still as traced code
(scalar work in nested loops of data-dependent length). A jitted ``while_loop`` around the whole
iteration would also have to carry ``nfev``, the history and the early input errors as traced
state.

Defaults chosen to certify the NIST problems
--------------------------------------------
The defaults are tighter than MINPACK's and SciPy's: ``ftol = xtol = 1e-12``, ``gtol = 0`` and
``max_nfev = 200 (n + 1)``. At SciPy's ``1e-8`` three NIST runs stop with fewer than four correct
digits (ENSO from both starts, MGH09 from start 2: the stopping tests fire while the parameters of
these ill-conditioned problems still move in their fifth digit); at ``1e-12`` every NIST problem in
``tests/data/nist`` is certified from both starts, the worst parameter with 5.1 correct digits (ENSO),
and it costs 1,010 residual evaluations over the 32 runs, fewer than SciPy's ``lm`` spends at ``1e-15``
(where it certifies 31 of the 32 within its default budget of ``100 n``, 1,179 evaluations).
``gtol = 0`` is MINPACK's recommended setting (the cosine test then fires only on an exact zero);
the larger budget leaves room for long valleys such as MGH09's from its far start (390 evaluations;
501 with MINPACK's lmpar tolerance). The one departure from MINPACK's iteration is that tolerance:
``lmpar`` puts the step within 2% of the trust radius instead of 10% (see
:data:`fungrad.optim.minpack.LMPAR_RTOL` for why and what it was measured to change: on the
Moré-Garbow-Hillstrom runs it turns Meyer's budget-capped crawl into convergence and saves 14% of
the evaluations).
Neither a restart from the solution nor geodesic acceleration was needed for certification; on the
NIST set geodesic acceleration saves evaluations on some problems and costs many on others
(Lanczos2/3 from start 2), so it stays an option (``tests/test_nist.py``, ``bench/least_squares.py``).

>>> import fungrad.numpy as fnp
>>> t = np.linspace(0.0, 3.0, 20)
>>> y = 2.0 * np.exp(-1.3 * t)
>>> res = least_squares(lambda p, t, y: p["a"] * fnp.exp(-p["k"] * t) - y,
...                     {"a": 1.0, "k": 0.5}, t, y)
>>> res.success, round(float(res.params["a"]), 6), round(float(res.params["k"]), 6)
(True, 2.0, 1.3)
"""
from __future__ import annotations

import dataclasses
import math
import threading
import weakref
from typing import Any, Callable, NamedTuple

import numpy as np

import fungrad.numpy as fnp
from fungrad import array_type
from fungrad.api import hessian, jacfwd, jvp
from fungrad.core import Tracer
from fungrad.errors import ConcretizationError
from fungrad.flatten_util import ravel_pytree
from fungrad.jit import JitFunction, jit as fjit
from fungrad.optim.hessian_step import hessian_trust_step
from fungrad.optim.minpack import (LMSubproblem, PivotedQR, column_norms, damped_solve, enorm,
                                   qr_pivoted)
from fungrad.tree_util import PyTree, tree_flatten, tree_leaves

__all__ = ["least_squares", "LeastSquaresResult"]

Array = np.ndarray[Any, np.dtype[np.float64]]
EPS = float(np.finfo(np.float64).eps)

# SciPy's least_squares statuses and messages; MINPACK's info 6, 7 and 8 (a tolerance below what
# float64 can resolve) keep SciPy's status of the same test, with a message that says so.
_MESSAGES = {
    -1: "The Jacobian is not finite at the current params; the last finite point is returned.",
    0: "The maximum number of function evaluations is exceeded.",
    1: "`gtol` termination condition is satisfied.",
    2: "`ftol` termination condition is satisfied.",
    3: "`xtol` termination condition is satisfied.",
    4: "Both `ftol` and `xtol` termination conditions are satisfied.",
}
_FLOOR_MESSAGES = {
    6: "`ftol` termination condition is satisfied: the sum of squares cannot decrease further "
       "in float64.",
    7: "`xtol` termination condition is satisfied: the step is at float64's resolution of params.",
    8: "`gtol` termination condition is satisfied: the gradient is orthogonal to the residuals "
       "to machine precision.",
}
_STATUS = {1: 2, 2: 3, 3: 4, 4: 1, 5: 0, 6: 2, 7: 3, 8: 1, -1: -1}
_ACCEPTANCE_ALPHA = 0.75          # geodesic acceleration: accept a step only if 2|a|/|v| <= alpha


@dataclasses.dataclass(frozen=True)
class LeastSquaresResult:
    """What :func:`least_squares` returns (SciPy's names where SciPy has one).

    ``params`` has the structure of the input params (``x`` is the same object); ``fun`` (alias
    ``residuals``) is the flattened residual vector; ``jac`` is ``d fun / d params`` with the params
    raveled in ``ravel_pytree`` order, ``grad = jacᵀ fun``; ``cost = 0.5 * sum(fun**2)``.
    ``history`` has one entry per trial step: ``cost`` at the trial point (``inf`` if its residuals
    were not finite), the ``damping`` ``par`` used, the scaled ``step_norm`` ``||D p||`` and whether
    the step was ``accepted``.

    >>> res = least_squares(lambda p: p - 3.0, np.zeros(2))
    >>> res.status, res.nfev, res.njev, res.cost
    (1, 2, 2, 0.0)
    """

    params: PyTree
    cost: float
    fun: Array
    jac: Array
    grad: Array
    optimality: float
    nfev: int
    njev: int
    status: int
    message: str
    success: bool
    history: dict[str, Array]

    @property
    def x(self) -> PyTree:
        return self.params

    @property
    def residuals(self) -> Array:
        return self.fun


class _Options(NamedTuple):
    ftol: float
    xtol: float
    gtol: float
    max_nfev: int
    diag: Array | None            # None: scale by the Jacobian's column norms (x_scale="jac")
    factor: float
    hessian: bool
    geodesic: bool


class _Programs(NamedTuple):
    """What ``least_squares`` runs for one residual function, params layout and options."""

    residual: Callable[..., Any]             # the flat residuals, uncompiled (``jit=False``)
    jac_and_residual: Callable[..., Any]
    hessian: Callable[..., Any] | None
    second_derivative: Callable[..., Any] | None


# The compiled programs of every residual function solved so far, held weakly by the function:
# a second ``least_squares`` call on the same function (another start, other data of the same
# shapes) runs what the first compiled, under ``jit``'s own cache rules (the programs are jitted,
# keyed by the arguments' shapes and dtypes). The programs reach the function only through a weak
# reference, so the cache never keeps a function alive. Each entry also keeps a copy of the data
# the function reads directly (``_data_read_by``): when that changed (edited in place, or a global
# rebound), the entry is stale and the function is compiled again.
_ProgramKey = tuple[Any, bool, bool]
_programs: weakref.WeakKeyDictionary[Callable[..., Any], dict[_ProgramKey, tuple[_Programs, Any]]] = \
    weakref.WeakKeyDictionary()
_programs_lock = threading.Lock()
_PROGRAMS_PER_FUNCTION = 8


def _data_read_by(fn: Any, depth: int = 3, seen: set[int] | None = None) -> list[tuple[str, Any]]:
    """The arrays and numbers ``fn`` reads from its closure and globals (and so do the functions it
    reads there, ``depth`` levels down; fungrad's and NumPy's own are skipped), arrays copied. A
    callable object without code of its own is read through the function it wraps, its
    ``__wrapped__`` (``functools.wraps``' convention; curve_fit's residuals of a model have one)."""
    seen = set() if seen is None else seen
    if id(fn) in seen or depth == 0:
        return []
    seen.add(id(fn))
    code = getattr(fn, "__code__", None)
    if code is None:
        wrapped = getattr(fn, "__wrapped__", None)
        return [] if wrapped is None else _data_read_by(wrapped, depth, seen)
    found = []
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            found.append((name, cell.cell_contents))
        except ValueError:   # an empty cell
            continue
    scope = getattr(fn, "__globals__", {})
    found += [(name, scope[name]) for name in code.co_names if name in scope]
    data = []
    for name, value in found:
        if isinstance(value, (np.ndarray, np.generic, int, float, complex)):
            data.append((name, np.array(value)))
        elif callable(value) and not getattr(value, "__module__", "").startswith(("fungrad", "numpy")):
            data += _data_read_by(value, depth - 1, seen)
    return data


def _same_data(a: list[tuple[str, Any]], b: list[tuple[str, Any]]) -> bool:
    return len(a) == len(b) and all(
        na == nb and va.shape == vb.shape and va.dtype == vb.dtype
        and np.array_equal(va, vb, equal_nan=va.dtype.kind in "fc")
        for (na, va), (nb, vb) in zip(a, b))


def _compiled_programs(residual_fn: Callable[..., Any], unravel: Callable[[Any], PyTree],
                       opts: _Options) -> _Programs:
    """The jitted programs of ``residual_fn`` for this params layout and these options, from the
    cache when an earlier call made them and the data the function reads is unchanged (a function
    that is not hashable or weakly referenceable, or a params layout that is not hashable, gets
    new ones every call)."""
    key = (unravel, opts.hessian, opts.geodesic)
    try:
        with _programs_lock:
            found = _programs.get(residual_fn, {}).get(key)
        weak = weakref.ref(residual_fn)
    except TypeError:
        return _make_programs(lambda: residual_fn, unravel, opts, fjit)
    data = _data_read_by(residual_fn)
    if found is not None and _same_data(found[1], data):
        return found[0]
    programs = _make_programs(weak, unravel, opts, fjit)
    with _programs_lock:
        per_function = _programs.setdefault(residual_fn, {})
        per_function.pop(key, None)
        per_function[key] = (programs, data)
        while len(per_function) > _PROGRAMS_PER_FUNCTION:
            del per_function[next(iter(per_function))]
    return programs


def _make_programs(get_fn: Callable[[], Callable[..., Any] | None],
                   unravel: Callable[[Any], PyTree], opts: _Options,
                   wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> _Programs:
    """The residual program over the flat params and its derivatives (the Jacobian with the
    residuals as one program: ``jacfwd`` computes them on its way), each passed through ``wrap``.
    ``get_fn()`` is the residual function (called when a program runs or is traced)."""
    def flat(x: Any, *a: Any) -> Any:
        residual_fn = get_fn()
        assert residual_fn is not None, "least_squares: the residual function was freed"
        out = residual_fn(unravel(x), *a)
        if not isinstance(out, (np.ndarray, np.generic, Tracer, float, int)):
            raise TypeError(f"least_squares: residual_fn must return an array, got "
                            f"{type(out).__name__}; stack the residuals into one array")
        out = fnp.asarray(out)
        if out.dtype != np.float64:
            out = fnp.astype(out, np.float64)
        return out if out.ndim == 1 else fnp.ravel(out)   # (skipped: less to trace)

    def both(x: Any, *a: Any) -> tuple[Any, Any]:
        r = flat(x, *a)
        return r, r

    def avv(x: Any, v: Any, *a: Any) -> Any:
        return jvp(lambda z: jvp(lambda w: flat(w, *a), (z,), (v,))[1], (x,), (v,))[1]

    def cost(x: Any, *a: Any) -> Any:
        r = flat(x, *a)
        return 0.5 * fnp.sum(r * r)

    return _Programs(flat, wrap(jacfwd(both, has_aux=True)),
                     wrap(hessian(cost)) if opts.hessian else None,
                     wrap(avv) if opts.geodesic else None)


class _Problem:
    """The compiled residual and Jacobian (and Hessian or second directional derivative) of one
    problem over the flat params, with MINPACK's evaluation counts.

    Compiled, the residuals and the Jacobian come from one program (``jacfwd`` computes the
    residuals on its way to the Jacobian): every evaluation gets both, and the Jacobian is kept for
    the step after it if the point is accepted. Rejected trial points' Jacobians are dropped, so
    ``njev`` counts the Jacobians the iteration uses, as MINPACK counts its calls for one. One trace
    and compilation instead of two, and one call per accepted step instead of two; and none at all
    when an earlier call compiled them for the same function (see ``_compiled_programs``). Without
    ``jit`` the residuals are evaluated alone and the Jacobian only where it is used.
    """

    def __init__(self, residual_fn: Callable[..., Any], unravel: Callable[[Any], PyTree],
                 args: tuple[Any, ...], opts: _Options, use_jit: bool) -> None:
        if use_jit:
            programs = _compiled_programs(residual_fn, unravel, opts)
        else:
            programs = _make_programs(lambda: residual_fn, unravel, opts, lambda f: f)
        self.args = args
        self._joint = use_jit
        self._residual = programs.residual
        self._jac_and_residual = programs.jac_and_residual
        self._hess = programs.hessian
        self._avv = programs.second_derivative
        self._compiled: Callable[..., Any] | None = None   # see _compiled_joint
        self._compiled_tried = not use_jit
        self._arg_leaves: list[Any] = []
        self._last: tuple[Array, Array] | None = None     # the latest evaluation's
        self._used: tuple[Array, Array] | None = None     # the latest iterate's
        self.nfev = 0
        self.njev = 0
        self.m = 0

    def start(self, x: Array) -> Array:
        """The residuals at the start, which fix their number."""
        return self.residual(x)

    def residual(self, x: Array) -> Array:
        self.nfev += 1
        if self._joint:
            jac, f = self._evaluate(x)
        else:
            f = np.asarray(self._call(self._residual, x))
        if not self.m:
            self.m = f.size
        elif f.shape != (self.m,):
            raise ValueError(f"least_squares: residual_fn returned {f.size} residuals here but "
                             f"{self.m} at the start; it must return the same shape every call")
        return f

    def jacobian(self, x: Array) -> Array:
        self.njev += 1
        jac = self._jacobian_at(x)
        self._used = (x, jac)
        return jac

    def final_jacobian(self, x: Array) -> Array:
        """The Jacobian at the solution, not counted (as in SciPy): usually one already computed."""
        if self._used is not None and self._used[0] is x:
            return self._used[1]
        return self._jacobian_at(x)

    def _jacobian_at(self, x: Array) -> Array:
        if self._last is not None and self._last[0] is x:
            return self._last[1]
        return self._evaluate(x)[0]

    def _evaluate(self, x: Array) -> tuple[Array, Array]:
        if not self._compiled_tried:
            self._compiled_tried = True
            self._compiled = self._compiled_joint(x)
        if self._compiled is not None:    # NumPy's warnings: least_squares silences them
            jac, f = self._compiled(x, *self._arg_leaves)
        else:
            jac, f = (np.asarray(v) for v in self._call(self._jac_and_residual, x))
        if self.m and jac.size != self.m * x.size:
            raise ValueError(f"least_squares: residual_fn returned {jac.size // x.size} residuals "
                             f"when differentiated but {self.m} at the start; it must return the "
                             "same shape every call")
        jac = jac.reshape(f.size, x.size)
        self._last = (x, jac)
        return jac, f

    def _compiled_joint(self, x: Array) -> Callable[..., Any] | None:
        """The compiled residual-and-Jacobian function itself (traced and compiled by ``jit`` if
        its cache does not have it), which every call of the solve (same shapes and dtypes:
        float64 params of one size, the same ``args``) runs without ``jit``'s per-call dispatch;
        None when some argument is not a NumPy array or ``Array`` (then ``jit`` converts it, call
        by call)."""
        if not isinstance(self._jac_and_residual, JitFunction):
            return None
        leaves, _ = tree_flatten(self.args)
        leaves = [v.view(np.ndarray) if type(v) is array_type.Array else v for v in leaves]
        if not all(type(v) is np.ndarray for v in leaves):
            return None
        lowered = self._call(self._jac_and_residual.lower, x)
        if lowered.out_tree.num_leaves != 2:
            return None
        self._arg_leaves = leaves
        fn: Callable[..., Any] = lowered.compiled.fn
        return fn

    def hessian(self, x: Array) -> Array:
        assert self._hess is not None
        return np.asarray(self._call(self._hess, x))

    def second_derivative(self, x: Array, v: Array) -> Array:
        assert self._avv is not None
        return np.asarray(self._call(self._avv, x, v))

    def _call(self, f: Callable[..., Any], *x: Any) -> Any:
        try:
            # A trial point may be outside the residual's domain: its NaN or inf is handled as a
            # rejected step, so NumPy's warnings about it would only be noise.
            with np.errstate(all="ignore"):
                return f(*x, *self.args)
        except ConcretizationError as e:
            raise ConcretizationError(
                f"{e}\nleast_squares compiles residual_fn with jit; pass jit=False to run it "
                "eagerly (Python control flow on values works then)") from None


class _GaussNewton:
    """MINPACK's model: ``||f + J p||²`` with the step from ``lmpar`` on the pivoted QR of J, for
    the scaling ``diag`` (fixed while the iteration tries steps on one Jacobian)."""

    def __init__(self, qr: PivotedQR, diag: Array) -> None:
        self.qr = qr
        self.subproblem = LMSubproblem(qr, diag)

    def step(self, delta: float, par: float) -> tuple[float, Array, float]:
        """``(par, p, ||D p||)``."""
        par, x, pnorm = self.subproblem.step(delta, par)
        return par, -x, pnorm

    def predicted(self, step: Array, par: float, pnorm: float, fnorm: float,
                  exact_lm_step: bool) -> tuple[float, float]:
        """(predicted relative reduction of ``||f||²``, ``g·p / ||f||²``)."""
        jp = self.qr.r @ step[self.qr.perm]
        if exact_lm_step:   # MINPACK's form, nonnegative by construction
            t1 = enorm(jp) / fnorm
            t2 = math.sqrt(par) * pnorm / fnorm
            return t1 * t1 + 2.0 * t2 * t2, -(t1 * t1 + t2 * t2)
        gp = float(np.dot(self.qr.qtf, jp)) / fnorm ** 2
        return -2.0 * gp - (enorm(jp) / fnorm) ** 2, gp


class _ExactHessian:
    """The model ``g·p + 0.5 pᵀ H p`` of the cost with the exact Hessian."""

    def __init__(self, hess: Array, grad: Array, diag: Array) -> None:
        self.hess, self.grad, self.diag = hess, grad, diag

    def step(self, delta: float, par: float) -> tuple[float, Array, float]:
        par, step = hessian_trust_step(self.hess, self.grad, self.diag, delta, par)
        return par, step, enorm(self.diag * step)

    def predicted(self, step: Array, par: float, pnorm: float, fnorm: float,
                  exact_lm_step: bool) -> tuple[float, float]:
        gp = float(np.dot(self.grad, step)) / fnorm ** 2
        return -2.0 * gp - float(step @ self.hess @ step) / fnorm ** 2, gp


class _State:
    """The iterate and the trust region between steps."""

    def __init__(self, x: Array, f: Array) -> None:
        self.x, self.f = x, f
        self.fnorm = enorm(f)
        self.par = 0.0
        self.delta = 0.0
        self.xnorm = 0.0
        self.diag: Array = np.ones_like(x)
        self.history: list[tuple[float, float, float, bool]] = []


def _lmder(problem: _Problem, state: _State, opts: _Options) -> int:
    """Run MINPACK's iteration from ``state`` (updated in place); returns MINPACK's ``info``."""
    first = True
    order = None          # the last pivot order: qr_pivoted's guess for the next
    while True:
        jac = problem.jacobian(state.x)
        # A NaN or inf in J makes its column's norm NaN: finite norms vouch for J (a norm that
        # overflows from finite entries is left to the full check).
        col_norms = column_norms(jac)
        if not math.isfinite(sum(col_norms.tolist())) and not np.isfinite(jac).all():
            return -1
        qr = qr_pivoted(jac, state.f, keep_q=opts.geodesic, order=order, col_norms=col_norms)
        order = qr.perm
        if first:
            if opts.diag is None:
                state.diag = np.where(qr.col_norms == 0.0, 1.0, qr.col_norms)
            else:
                state.diag = opts.diag
            state.xnorm = enorm(state.diag * state.x)
            state.delta = opts.factor * state.xnorm or opts.factor
        if opts.diag is None:
            state.diag = np.maximum(state.diag, qr.col_norms)
        gauss_newton = _GaussNewton(qr, state.diag)
        gnorm = gauss_newton.subproblem.scaled_gradient_norm(state.fnorm)
        if gnorm <= opts.gtol:
            return 4
        model: _GaussNewton | _ExactHessian = gauss_newton
        if opts.hessian:
            model = _ExactHessian(problem.hessian(state.x), jac.T @ state.f, state.diag)
        while True:
            info, accepted = _trial(problem, state, model, qr, gnorm, first, opts)
            if accepted:
                first = False
            if info:
                return info
            if accepted:
                break


def _trial(problem: _Problem, state: _State, model: _GaussNewton | _ExactHessian,
           qr: PivotedQR, gnorm: float, first: bool, opts: _Options) -> tuple[int, bool]:
    """One trial step: solve for it, evaluate, update the radius, test convergence."""
    par, step, pnorm = model.step(state.delta, state.par)
    state.par = par
    accelerated = False
    if opts.geodesic:
        accel = _acceleration(problem, state, qr, par, step)
        if accel is None:      # fails the acceptance test: a rejected step, no evaluation
            state.delta *= 0.5
            state.par *= 2.0
            state.history.append((np.inf, par, pnorm, False))
            if state.delta <= opts.xtol * state.xnorm:
                return 2, False
            return (7 if state.delta <= EPS * state.xnorm else 0), False
        step = step + 0.5 * accel
        accelerated = True
        pnorm = enorm(state.diag * step)
    if first:
        state.delta = min(state.delta, pnorm)
    trial = state.x + step
    f1 = problem.residual(trial)
    fnorm1 = enorm(f1)
    if not fnorm1 < np.inf:      # NaN or inf: some residual is not finite (or the norm overflows)
        fnorm1 = np.inf
    fnorm = state.fnorm
    actred = 1.0 - (fnorm1 / fnorm) ** 2 if 0.1 * fnorm1 < fnorm else -1.0
    prered, dirder = model.predicted(step, par, pnorm, fnorm, not accelerated)
    ratio = actred / prered if prered != 0.0 else 0.0
    if ratio <= 0.25:
        temp = 0.5 if actred >= 0.0 else 0.5 * dirder / (dirder + 0.5 * actred)
        if 0.1 * fnorm1 >= fnorm or temp < 0.1:
            temp = 0.1
        state.delta = temp * min(state.delta, pnorm / 0.1)
        state.par /= temp
    elif state.par == 0.0 or ratio >= 0.75:
        state.delta = pnorm / 0.5
        state.par *= 0.5
    accepted = ratio >= 1e-4
    state.history.append((0.5 * fnorm1 ** 2, par, pnorm, accepted))
    if accepted:
        state.x, state.f, state.fnorm = trial, f1, fnorm1
        state.xnorm = enorm(state.diag * trial)
    return _converged(actred, prered, ratio, gnorm, state, problem.nfev, opts), accepted


def _converged(actred: float, prered: float, ratio: float, gnorm: float, state: _State,
               nfev: int, opts: _Options) -> int:
    """MINPACK's stopping tests after a trial step, in MINPACK's order (later ones win)."""
    info = 0
    small_f = abs(actred) <= opts.ftol and prered <= opts.ftol and 0.5 * ratio <= 1.0
    small_x = state.delta <= opts.xtol * state.xnorm
    if small_f:
        info = 1
    if small_x:
        info = 3 if small_f else 2
    if info:
        return info
    if nfev >= opts.max_nfev:
        info = 5
    if abs(actred) <= EPS and prered <= EPS and 0.5 * ratio <= 1.0:
        info = 6
    if state.delta <= EPS * state.xnorm:
        info = 7
    if gnorm <= EPS:
        info = 8
    return info


def _acceleration(problem: _Problem, state: _State, qr: PivotedQR, par: float,
                  velocity: Array) -> Array | None:
    """Transtrum and Sethna's geodesic acceleration ``a = -(JᵀJ + par D²)⁻¹ Jᵀ r''(v, v)``, or None
    when it fails the acceptance test ``2 ||D a|| <= alpha ||D v||``."""
    avv = problem.second_derivative(state.x, velocity)
    if not np.all(np.isfinite(avv)):
        return None
    x, _ = damped_solve(qr, state.diag, par, qr.qt(avv))
    accel = -x
    if 2.0 * enorm(state.diag * accel) > _ACCEPTANCE_ALPHA * enorm(state.diag * velocity):
        return None
    return accel


def least_squares(residual_fn: Callable[..., Any], params: PyTree, *args: Any,
                  ftol: float = 1e-12, xtol: float = 1e-12, gtol: float = 0.0,
                  max_nfev: int | None = None, x_scale: Any = "jac", method: str = "lm",
                  curvature: str = "gauss-newton", geodesic_acceleration: bool = False,
                  factor: float = 100.0,
                  jit: bool = True) -> LeastSquaresResult:
    """Minimize ``0.5 * sum(residual_fn(params, *args)**2)`` by MINPACK's Levenberg-Marquardt.

    ``residual_fn`` returns an array of residuals (any shape; flattened), ``params`` is any pytree
    of floating-point arrays and the result's ``params`` has its structure. The Jacobian comes from
    fungrad (``jacfwd``: with at least as many residuals as parameters, forward mode is the cheaper
    one), and the residual and Jacobian are compiled once with ``jit`` (``jit=False`` runs them eagerly, for
    residual functions with Python control flow on values). The compiled program is kept for
    ``residual_fn`` as ``jit`` keeps its traces, so a later call with the same function, params
    structure and argument shapes compiles nothing. It is compiled again when the arrays and numbers
    the function reads from its closure or globals (or those of the functions it reads there) have
    changed since; data reached any other way (an object's attribute, a container) is taken as it
    was when compiled, as ``jit`` takes it: pass data that changes between fits through ``*args``. Like MINPACK, ``method="lm"`` (the only method) needs at least
    as many residuals as parameters.

    Options, with SciPy's names and MINPACK's meanings:

    - ``ftol``: stop when both the actual and the predicted relative reduction of the sum of squares
      are at most ``ftol``. ``xtol``: stop when the trust radius is at most ``xtol * ||D x||``.
      ``gtol``: stop when the largest cosine between the residuals and a Jacobian column is at most
      ``gtol`` (``0`` is allowed, as in MINPACK). Defaults ``1e-12``, ``1e-12``, ``0``: tight enough
      to certify every NIST StRD problem we test from both starts (see the module docstring).
    - ``max_nfev``: the budget of residual evaluations (default ``200 * (n + 1)``).
    - ``x_scale``: ``"jac"`` (default) scales the step by the Jacobian's column norms, updated as
      MINPACK does; an array (or scalar) is the characteristic size of each parameter (MINPACK's
      ``diag = 1 / x_scale``).
    - ``curvature``: ``"gauss-newton"`` (default) models the Hessian of the cost by ``JᵀJ``. For a
      squared loss this is the Fisher information of the Gaussian likelihood that the loss assumes
      (residuals i.i.d. normal with unit variance), so the step is a natural-gradient step damped by
      the trust region. ``"hessian"`` uses the exact Hessian of the cost (``JᵀJ`` plus the
      residuals' curvature) and solves the possibly indefinite trust-region subproblem exactly.
    - ``geodesic_acceleration``: add Transtrum and Sethna's second-order correction ``a/2`` to each
      step, with ``a`` from the residuals' second directional derivative along the step (a nested
      ``jvp``); a step whose ``2 ||D a|| > 0.75 ||D v||`` is rejected and the region shrinks.
      These second-derivative passes (each costs a few residual evaluations) are not in ``nfev``.
    - ``factor``: MINPACK's initial step bound, ``delta = factor * ||D x0||``.

    A trial point whose residuals are not finite counts as a failed step (the region shrinks by 10);
    it never becomes the iterate. Bad input (a residual that is not an array or changes shape,
    non-finite residuals or Jacobian at the start, fewer residuals than parameters, integer params)
    raises before the first step.

    >>> import fungrad.numpy as fnp
    >>> rosenbrock = lambda p: fnp.stack([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])
    >>> res = least_squares(rosenbrock, np.array([-1.2, 1.0]))
    >>> res.params, res.status, res.nfev
    (array([1., 1.]), 1, 13)
    >>> res.message
    '`gtol` termination condition is satisfied.'
    """
    opts, x0, unravel = _validate(params, ftol, xtol, gtol, max_nfev, x_scale, method, curvature,
                                  geodesic_acceleration, factor)
    n = x0.size
    problem = _Problem(residual_fn, unravel, args, opts, jit)
    # A trial point may be outside the residual's domain: its NaN or inf is handled as a rejected
    # step, so NumPy's warnings about it would only be noise (set once here, not per evaluation).
    with np.errstate(all="ignore"):
        f0 = problem.start(x0)
        if f0.size < n:
            raise ValueError(f"least_squares: method 'lm' needs at least as many residuals as "
                             f"parameters; residual_fn returned {f0.size} residuals for {n} "
                             "parameters")
        _check_finite(f0, "residuals")
        state = _State(x0, f0)
        info = _lmder(problem, state, opts)
        if info == -1 and problem.njev == 1:
            raise ValueError("least_squares: the Jacobian of residual_fn is not finite at the "
                             "start params; start where residual_fn is differentiable")
        return _result(problem, state, info, unravel)


def _validate(params: PyTree, ftol: float, xtol: float, gtol: float, max_nfev: int | None,
              x_scale: Any, method: str, curvature: str, geodesic: bool,
              factor: float) -> tuple[_Options, Array, Callable[[Any], PyTree]]:
    if method != "lm":
        raise ValueError(f"least_squares: method {method!r} is not available; use method='lm'")
    for name, tol in (("ftol", ftol), ("xtol", xtol), ("gtol", gtol)):
        if not (isinstance(tol, (int, float, np.floating)) and 0.0 <= tol < np.inf):
            raise ValueError(f"least_squares: {name} must be a finite number >= 0, got {tol!r}")
    if curvature not in ("gauss-newton", "hessian"):
        raise ValueError(f"least_squares: curvature must be 'gauss-newton' or 'hessian', "
                         f"got {curvature!r}")
    if geodesic and curvature == "hessian":
        raise ValueError("least_squares: geodesic_acceleration corrects Gauss-Newton steps; "
                         "use it with curvature='gauss-newton'")
    if not (factor > 0 and np.isfinite(factor)):
        raise ValueError(f"least_squares: factor must be a positive number, got {factor!r}")
    for leaf in tree_leaves(params):
        kind = np.result_type(leaf).kind
        if kind != "f":
            raise TypeError(f"least_squares: params must be real floating point, got a leaf of "
                            f"dtype {np.result_type(leaf)}; pass e.g. np.asarray(p, dtype=float)")
    flat, unravel = ravel_pytree(params)
    x0 = np.asarray(flat, dtype=np.float64)
    n = x0.size
    if n == 0:
        raise ValueError("least_squares: params has no entries")
    if max_nfev is None:
        max_nfev = 200 * (n + 1)
    if not (isinstance(max_nfev, (int, np.integer)) and max_nfev > 0):
        raise ValueError(f"least_squares: max_nfev must be a positive integer, got {max_nfev!r}")
    diag = None
    if not (isinstance(x_scale, str) and x_scale == "jac"):
        if isinstance(x_scale, str):
            raise ValueError(f"least_squares: x_scale must be 'jac' or positive numbers, "
                             f"got {x_scale!r}")
        scale = np.broadcast_to(np.asarray(x_scale, dtype=np.float64), (n,))
        if not np.all((scale > 0) & np.isfinite(scale)):
            raise ValueError("least_squares: x_scale must be positive and finite")
        diag = 1.0 / scale
    _check_finite(x0, "params")
    opts = _Options(float(ftol), float(xtol), float(gtol), int(max_nfev), diag, float(factor),
                    curvature == "hessian", bool(geodesic))
    return opts, x0, unravel


def _check_finite(v: Array, what: str) -> None:
    finite = np.isfinite(v)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(f"least_squares: the start {what} are not finite at flat indices "
                         f"{bad[:10].tolist()}; start from a point where residual_fn is finite")


def _result(problem: _Problem, state: _State, info: int,
            unravel: Callable[[Any], PyTree]) -> LeastSquaresResult:
    jac = problem.final_jacobian(state.x)
    grad = jac.T @ state.f
    status = _STATUS[info]
    cost, damping, step_norm, accepted = (np.array(c) for c in zip(*state.history)) \
        if state.history else (np.zeros(0),) * 4
    return LeastSquaresResult(
        params=unravel(state.x), cost=0.5 * state.fnorm ** 2, fun=state.f, jac=jac, grad=grad,
        optimality=float(np.abs(grad).max(initial=0.0)), nfev=problem.nfev, njev=problem.njev,
        status=status, message=_FLOOR_MESSAGES.get(info, _MESSAGES[status]), success=status > 0,
        history={"cost": cost, "damping": damping, "step_norm": step_norm,
                 "accepted": accepted.astype(bool)})
