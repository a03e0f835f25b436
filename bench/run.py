#!/usr/bin/env python
"""fungrad against hand-written NumPy, in one process: medians and ratios.

    python bench/run.py [--quick] [--only NAME[,NAME...]] [--peers] [--check] [--json PATH]

Every row is verified against the hand-written NumPy result before it is timed;
a wrong result prints FAIL in the ratio column.  A fungrad feature that raises
prints ``n/a (Type: message)`` for its row and the run goes on.  See README.md.
"""
import argparse
import importlib
import functools
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from bench import blas_info, handwritten as hw, models, peers, timing  # noqa: E402
from bench.timing import fmt_time  # noqa: E402

RTOL = 1e-8          # relative tolerance of every correctness check
ATOL = 1e-10         # absolute tolerance, as a fraction of the largest reference entry


# --------------------------------------------------------------------------- rows and groups

@dataclass
class Row:
    impl: str
    value: float = None      # seconds per call ("time") or bytes ("mem")
    iqr: float = None
    kind: str = "time"
    note: str = ""
    error: str = None        # "n/a (...)" or "skipped (...)": printed instead of figures
    check: str = None        # "FAIL (...)" when the result disagrees with NumPy
    err: float = None        # max |got - want| / max |want| over the leaves
    baseline: bool = False
    call: object = field(default=None, repr=False)     # what is timed (see measure_group)
    note_fn: object = field(default=None, repr=False)  # median -> note, once measured


@dataclass
class Group:
    name: str
    title: str
    rows: list = field(default_factory=list)

    def base(self):
        return next((r for r in self.rows if r.baseline and r.value is not None), None)


def short(msg, n=90):
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= n else msg[: n - 3] + "..."


def na(exc):
    return f"n/a ({type(exc).__name__}: {short(exc)})"


class Unavailable:
    """Stands in for fungrad when it cannot be imported: every use re-raises."""

    def __init__(self, name, exc):
        self.name, self.exc = name, exc

    def supports(self, key):
        return True

    def __getattr__(self, key):
        raise self.__dict__["exc"]


# --------------------------------------------------------------------------- checking and measuring

def compare(got, want):
    """(None or "FAIL (...)", max relative error) of pytree ``got`` against ``want``."""
    g, w = peers.leaves(got), peers.leaves(want)
    if len(g) != len(w):
        return f"FAIL ({len(g)} outputs, expected {len(w)})", None
    worst = 0.0
    for a, b in zip(g, w):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return f"FAIL (shape {a.shape}, expected {b.shape})", None
        if a.dtype != b.dtype and a.dtype.kind == "f":
            return f"FAIL (dtype {a.dtype}, expected {b.dtype})", None
        scale = float(np.max(np.abs(b))) if b.size else 1.0
        scale = scale if scale > 0 else 1.0
        err = float(np.max(np.abs(a - b))) / scale if b.size else 0.0
        if not np.isfinite(err) or not np.allclose(a, b, rtol=RTOL, atol=ATOL * scale):
            return f"FAIL (max err {err:.1e})", err
        worst = max(worst, err)
    return None, worst


class Context:
    def __init__(self, args):
        self.quick = args.quick
        self.settings = timing.QUICK if args.quick else timing.FULL
        self.fungrad = load_fungrad()
        self.peers = peers.load_peers(log=lambda s: print("  " + s)) if args.peers else []
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
        # Fresh processes should load cached bytecode, as an installed package does; with
        # PYTHONDONTWRITEBYTECODE set every import would recompile the sources.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def frontends(self):
        return [self.fungrad] + self.peers


def load_fungrad():
    try:
        fe = peers.fungrad_frontend()
    except Exception as e:
        print(f"  fungrad: not importable: {na(e)}")
        return Unavailable("fungrad", e)
    mod = fe.module
    print(f"  fungrad {getattr(mod, '__version__', '(no __version__)')} from "
          f"{os.path.dirname(getattr(mod, '__file__', '') or '?')}")
    return fe


def baseline_row(label, call, ctx, note=None):
    """The hand-written row; timed with the group's other rows (``measure_group``)."""
    return Row(label, baseline=True, call=call, note_fn=note)


def timed_row(label, build, want, ctx, note=None):
    """``build()`` -> (call, to_numpy); check ``to_numpy(call())`` against ``want``; ``call`` is
    timed with the group's other rows (``measure_group``)."""
    try:
        call, to_numpy = build()
        check, err = compare(to_numpy(call()), want)
    except Exception as e:
        return Row(label, error=na(e))
    return Row(label, check=check, err=err, call=call, note_fn=note)


def measure_group(g, ctx):
    """Time every row of ``g`` that has a call, interleaved (alternate blocks of each), then fill
    in the notes, which may use the baseline's median."""
    rows = [r for r in g.rows if r.call is not None and r.error is None]
    try:
        timings = timing.measure_interleaved([r.call for r in rows], ctx.settings) if rows else []
    except Exception as e:
        for r in rows:
            r.error = na(e)
        timings = []
    for r, t in zip(rows, timings):
        r.value, r.iqr = t.median, t.iqr
    for r in rows:
        r.call = None
        if r.note_fn is not None and r.value is not None:
            r.note = r.note_fn(r.value)
        r.note_fn = None


def jit_label(fe, jitted):
    return f"{fe.name}.jit" if jitted else f"{fe.name} (eager)"


def blocked(fe, f, args):
    block = fe.block
    return lambda: block(f(*args))


# --------------------------------------------------------------------------- cases

def case_mlp(ctx, name, spec, eager_too=False):
    params, x, y = models.mlp_inputs(**spec)
    want = hw.mlp_value_and_grad(params, x, y)
    sizes = "-".join(map(str, spec["sizes"]))
    g = Group(name, f"MLP {sizes}, batch {spec['batch']}, tanh, softmax x-entropy: loss + gradient")
    g.rows.append(baseline_row("numpy (by hand)", lambda: hw.mlp_value_and_grad(params, x, y), ctx))
    for fe in ctx.frontends():
        modes = (True,) if fe.supports("jit") else (False,)
        if eager_too and fe.name == "fungrad":
            modes = (False, True)
        for jitted in modes:
            def build(fe=fe, jitted=jitted):
                f = fe.value_and_grad(functools.partial(models.mlp_loss, fe.xp, fe.nn))
                f = fe.jit(f) if jitted else f
                return blocked(fe, f, fe.put((params, x, y))), fe.to_numpy
            g.rows.append(timed_row(jit_label(fe, jitted), build, want, ctx))
    return [g]


def case_mlp_large(ctx):
    return case_mlp(ctx, "mlp_large", models.MLP_LARGE)


def case_mlp_small(ctx):
    # Small enough that per-operation overhead shows: fungrad eager against autograd and torch.
    return case_mlp(ctx, "mlp_small", models.MLP_SMALL, eager_too=True)


def case_mlp_labels(ctx):
    """mlp_small's loss with integer labels, picked by take_along_axis or by arange indexing, and
    (for reference, same labels) the one-hot product of mlp_small."""
    params, x, onehot = models.mlp_inputs(**models.MLP_SMALL)
    labels = onehot.argmax(axis=1)
    want = hw.mlp_value_and_grad_labels(params, x, labels)
    groups = []
    for form in ("take_along_axis", "arange"):
        g = Group(f"mlp_labels_{form}", f"MLP 64-32-10, batch 32, integer labels picked by {form}")
        g.rows.append(baseline_row("numpy (by hand)",
                                   lambda: hw.mlp_value_and_grad_labels(params, x, labels), ctx))
        for fe in ctx.frontends():
            if fe.name not in ("fungrad", "jax"):
                continue
            for loss, args, label in (
                    (functools.partial(models.mlp_loss_labels, fe.xp, fe.nn, form), labels, ""),
                    (functools.partial(models.mlp_loss, fe.xp, fe.nn), onehot, " (one-hot)")):
                def build(fe=fe, loss=loss, args=args):
                    f = fe.jit(fe.value_and_grad(loss))
                    return blocked(fe, f, fe.put((params, x, args))), fe.to_numpy
                g.rows.append(timed_row(jit_label(fe, True) + label, build, want, ctx))
        groups.append(g)
    return groups


def case_chain200(ctx):
    ops = models.chain_ops(200)
    x = models.chain_inputs()
    want = hw.chain_value_and_grad(ops, x)
    per_op = lambda s: f"{fmt_time(s / len(ops))}/op"  # noqa: E731
    g = Group("chain200", f"{len(ops)} elementwise ops on a length-{x.size} vector: value + grad of the sum")
    base = baseline_row("numpy (by hand)", lambda: hw.chain_value_and_grad(ops, x), ctx, per_op)
    g.rows.append(base)
    # The measure: per-op overhead, the time beyond the NumPy work itself.
    per_op_overhead = lambda s: (  # noqa: E731
        f"{per_op(s)}, overhead {fmt_time((s - base.value) / len(ops))}/op"
        if base.value is not None else per_op(s))
    for fe in ctx.frontends():
        for jitted in (False, True) if fe.supports("jit") else (False,):
            def build(fe=fe, jitted=jitted):
                f = fe.value_and_grad(lambda v: models.chain_loss(fe.xp, ops, v))
                f = fe.jit(f) if jitted else f
                return blocked(fe, f, fe.put((x,))), fe.to_numpy
            g.rows.append(timed_row(jit_label(fe, jitted), build, want, ctx, per_op_overhead))
    return [g]


def case_jit_call_overhead(ctx):
    a, b, c, d = models.add4_inputs()
    want = hw.add4(a, b, c, d)
    g = Group("jit_call_overhead", "jitted a + b + c + d on length-3 arrays: per call, minus the NumPy expression")
    base = baseline_row("numpy a+b+c+d", lambda: a + b + c + d, ctx)
    g.rows.append(base)
    overhead = lambda s: f"overhead {fmt_time(s - base.value)}/call"  # noqa: E731
    for fe in ctx.frontends():
        if not fe.supports("jit"):
            continue

        def build(fe=fe):
            return blocked(fe, fe.jit(models.add4), fe.put((a, b, c, d))), fe.to_numpy
        g.rows.append(timed_row(f"{fe.name}.jit", build, want, ctx, overhead))
    return [g]


def subprocess_row(label, impl, ctx, n, baseline=False):
    cmd = [sys.executable, os.path.join(HERE, "coldstart.py"), impl]
    times = []
    try:
        for _ in range(n):
            times.append(float(timing.run_subprocess(cmd, cwd=ROOT, env=ctx.env)[1].strip().splitlines()[-1]))
    except Exception as e:
        return Row(label, error=f"n/a ({short(e)})" if isinstance(e, timing.SubprocessError) else na(e))
    q1, med, q3 = timing.quartiles(times)
    return Row(label, med, q3 - q1, baseline=baseline, note=f"{n} fresh processes")


def case_first_call(ctx):
    n = 2 if ctx.quick else 5
    g = Group("first_call", "first call of jit(value_and_grad(loss)), mlp_small shapes, in a fresh process")
    g.rows.append(subprocess_row("numpy (by hand)", "numpy", ctx, n, baseline=True))
    g.rows.append(subprocess_row("fungrad.jit", "fungrad", ctx, n))
    if any(fe.name == "jax" for fe in ctx.peers):
        g.rows.append(subprocess_row("jax.jit", "jax", ctx, n))
    return [g]


def case_import_time(ctx):
    n = 3 if ctx.quick else 7
    mods = ["numpy", "fungrad"] + [fe.name for fe in ctx.peers]
    cmds = {"pass": [sys.executable, "-c", "pass"]}
    cmds.update({m: [sys.executable, "-c", f"import {m}"] for m in mods})
    for cmd in cmds.values():  # warm the bytecode cache
        subprocess.run(cmd, cwd=ROOT, env=ctx.env, capture_output=True)
    res = timing.subprocess_times(cmds, n, cwd=ROOT, env=ctx.env)
    g = Group("import_time", f"`python -c 'import M'` minus `python -c pass`, median of {n} processes")
    if isinstance(res["pass"], Exception):
        g.rows.append(Row("python -c pass", error=f"n/a ({short(res['pass'])})"))
        return [g]
    empty = statistics.median(res["pass"])
    for m in mods:
        label = f"import {m}"
        if isinstance(res[m], Exception):
            g.rows.append(Row(label, error=f"n/a ({short(res[m])})"))
            continue
        q1, med, q3 = timing.quartiles(res[m])
        g.rows.append(Row(label, med - empty, q3 - q1, baseline=(m == "numpy")))
    g.rows[0].note = f"empty interpreter: {fmt_time(empty)}"
    return [g]


def case_hessian500(ctx):
    A, x = models.hessian_inputs()
    want = hw.tanh_sq_hessian(A, x)
    g = Group("hessian500", f"Hessian of sum(tanh(A x)^2), x in R^{x.size}, against A^T diag(d) A")
    g.rows.append(baseline_row("numpy (closed form)", lambda: hw.tanh_sq_hessian(A, x), ctx))
    for fe in ctx.frontends():
        for jitted in (False, True) if fe.supports("jit") else (False,):
            def build(fe=fe, jitted=jitted):
                An, xn = fe.put((A, x))
                xp = fe.xp
                f = fe.hessian(lambda v: models.tanh_sq_sum(xp, An, v))
                f = fe.jit(f) if jitted else f
                return blocked(fe, f, (xn,)), fe.to_numpy
            g.rows.append(timed_row(jit_label(fe, jitted), build, want, ctx))
    return [g]


def peak_bytes(call, repeat):
    """Peak traced allocation (bytes) during one call, after a warm-up; median over ``repeat``."""
    call()
    peaks = []
    for _ in range(repeat):
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            out = call()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
        finally:
            tracemalloc.stop()
        del out
    return statistics.median(peaks)


def fmt_mb(b):
    return f"{b / 2**20:.2f} MB"


def case_memory(ctx):
    repeat = 1 if ctx.quick else 3
    groups = []
    for name, spec in (("mlp_large", models.MLP_LARGE), ("mlp_xl", models.MLP_XL)):
        params, x, y = models.mlp_inputs(**spec)
        want = hw.mlp_value_and_grad(params, x, y)
        sizes = "-".join(map(str, spec["sizes"]))
        g = Group(f"memory/{name}", f"peak traced memory of one loss+grad step, MLP {sizes}, batch {spec['batch']}")
        inputs = sum(a.nbytes for a in peers.leaves((params, x, y)))
        g.rows.append(Row("numpy (by hand)", peak_bytes(lambda: hw.mlp_value_and_grad(params, x, y), repeat),
                          kind="mem", baseline=True, note=f"inputs: {fmt_mb(inputs)}"))
        for fe in ctx.frontends():
            jitted = fe.supports("jit")
            label = jit_label(fe, jitted)
            if fe.name in ("jax", "torch"):
                g.rows.append(Row(label, error="skipped (its allocator is not visible to tracemalloc)"))
                continue
            try:
                f = fe.value_and_grad(functools.partial(models.mlp_loss, fe.xp, fe.nn))
                f = fe.jit(f) if jitted else f
                call = blocked(fe, f, fe.put((params, x, y)))
                check, err = compare(fe.to_numpy(call()), want)
                g.rows.append(Row(label, peak_bytes(call, repeat), kind="mem", check=check, err=err))
            except Exception as e:
                g.rows.append(Row(label, error=na(e)))
        groups.append(g)
    return groups


def case_per_example_grads(ctx):
    params, x, y = models.mlp_inputs(**models.PER_EXAMPLE)
    want = hw.mlp_per_example_grads(params, x, y)
    sizes = "-".join(map(str, models.PER_EXAMPLE["sizes"]))
    g = Group("per_example_grads", f"vmap(grad(loss), in_axes=(None, 0, 0)), MLP {sizes}, batch {x.shape[0]}")
    g.rows.append(baseline_row("numpy (by hand)", lambda: hw.mlp_per_example_grads(params, x, y), ctx))
    for fe in ctx.frontends():
        if not fe.supports("vmap"):
            continue
        jitted = fe.supports("jit")

        def build(fe=fe, jitted=jitted):
            f = fe.vmap(fe.grad(functools.partial(models.mlp_loss, fe.xp, fe.nn)), in_axes=(None, 0, 0))
            f = fe.jit(f) if jitted else f
            return blocked(fe, f, fe.put((params, x, y))), fe.to_numpy
        g.rows.append(timed_row(jit_label(fe, jitted), build, want, ctx))
    return [g]


def case_scan1000(ctx):
    W, h0, xs = models.scan_inputs()
    want = hw.rnn_scan(W, h0, xs)
    per_step = lambda s: f"{fmt_time(s / xs.shape[0])}/step"  # noqa: E731
    g = Group("scan1000", f"{xs.shape[0]} steps of h = tanh(W h + x_t), {h0.size} units (forward)")
    g.rows.append(baseline_row("numpy (for loop)", lambda: hw.rnn_scan(W, h0, xs), ctx, per_step))
    for fe in ctx.frontends():
        if not fe.supports("lax"):
            continue
        jitted = fe.supports("jit")
        label = jit_label(fe, jitted) if jitted else f"{fe.name} (python loop)"

        def build(fe=fe, jitted=jitted):
            xp, lax = fe.xp, fe.lax
            f = functools.partial(models.rnn_scan, xp, lax)
            f = fe.jit(f) if jitted else f
            return blocked(fe, f, fe.put((W, h0, xs))), fe.to_numpy
        g.rows.append(timed_row(label, build, want, ctx, per_step))
    return [g]


# --------------------------------------------------------------------------- train_step

def optimizer_library(fe):
    """fungrad.optim for fungrad, optax for JAX; None for a peer without one."""
    name = {"fungrad": "fungrad.optim", "jax": "optax"}.get(fe.name)
    return importlib.import_module(name) if name else None


def library_optimizer(lib, name, params, given_state):
    """(optimizer, its state set to ``given_state``): ``sgd(momentum=)`` or ``adam`` of ``lib``."""
    if name == "momentum":
        opt = lib.sgd(models.MOMENTUM["learning_rate"], momentum=models.MOMENTUM["momentum"])
        state = opt.init(params)
        return opt, (state[0]._replace(trace=given_state),) + tuple(state[1:])
    opt = lib.adam(models.ADAM["learning_rate"], b1=models.ADAM["b1"], b2=models.ADAM["b2"], eps=models.ADAM["eps"])
    state = opt.init(params)
    count, mu, nu = given_state
    return opt, (state[0]._replace(count=count, mu=mu, nu=nu),) + tuple(state[1:])


def library_step(fe, opt, lib):
    """The training step with the optimizer library: value_and_grad, update, apply_updates."""
    loss_fn = functools.partial(models.mlp_loss, fe.xp, fe.nn)

    def step(params, opt_state, x, y):
        loss, grads = fe.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return loss, lib.apply_updates(params, updates), opt_state
    return step


def case_train_step(ctx):
    """One jitted training step of the medium MLP, with the optimizer inside the jitted function.

    Rows: hand-written NumPy (the baseline), the loss and gradient alone (no optimizer), the step
    with the optimizer's formulas written out (models.momentum_step / adam_step), and the step with
    the optimizer library (fungrad.optim; optax for JAX), whose note compares it with the other two;
    the library step once more with the params and optimizer state donated (``donate_argnums=(0,
    1)``, JAX's idiom for a training step), called as a training loop calls it: each step's results
    are the next step's arguments, so the updates can be written into the buffers they replace.
    """
    params, x, y = models.mlp_inputs(**models.MLP_LARGE)
    want_vag = hw.mlp_value_and_grad(params, x, y)
    groups = []
    for name, by_hand, written in (("momentum", hw.mlp_train_step_momentum, models.momentum_step),
                                   ("adam", hw.mlp_train_step_adam, models.adam_step)):
        hyper = models.MOMENTUM if name == "momentum" else models.ADAM
        given = models.optimizer_state(name, params)
        want = by_hand(params, given, x, y, **hyper)[:2]
        g = Group(f"train_step/{name}", f"jit(one training step), MLP 784-256-256-10, batch 128, "
                  f"{'sgd(momentum=0.9)' if name == 'momentum' else 'adam'}: loss, params")
        g.rows.append(baseline_row("numpy (by hand)", lambda by_hand=by_hand, given=given, hyper=hyper:
                                   by_hand(params, given, x, y, **hyper), ctx))
        g.rows.append(Row("numpy (no optimizer)", call=lambda: hw.mlp_value_and_grad(params, x, y),
                          note="loss + gradient only"))
        for fe in ctx.frontends():
            if not fe.supports("jit"):
                continue
            inputs = fe.put((params, given, x, y))
            first_two = lambda out, fe=fe: fe.to_numpy(out[:2])  # noqa: E731

            def bare(fe=fe, inputs=inputs):
                f = fe.jit(fe.value_and_grad(functools.partial(models.mlp_loss, fe.xp, fe.nn)))
                return blocked(fe, f, (inputs[0], inputs[2], inputs[3])), fe.to_numpy

            def formulas(fe=fe, inputs=inputs, written=written):
                f = fe.jit(lambda p, s, a, b: models.train_step(fe.xp, fe.nn, written, p, s, a, b,
                                                                fe.value_and_grad))
                return blocked(fe, f, inputs), first_two

            def library(fe=fe, inputs=inputs, name=name):
                lib = optimizer_library(fe)
                opt, state = library_optimizer(lib, name, inputs[0], inputs[1])
                f = fe.jit(library_step(fe, opt, lib))
                return blocked(fe, f, (inputs[0], state, inputs[2], inputs[3])), first_two

            bare_row = timed_row(f"{fe.name}.jit (no opt)", bare, want_vag, ctx, lambda t: "loss + gradient only")
            formulas_row = timed_row(f"{fe.name}.jit+formulas", formulas, want, ctx)
            g.rows += [bare_row, formulas_row]
            if optimizer_library(fe) is None:
                continue

            def donating(fe=fe, name=name, given=given):
                lib = optimizer_library(fe)
                own_params, own_state = fe.put(peers.tree_map(np.copy, (params, given)))
                opt, state = library_optimizer(lib, name, own_params, own_state)
                f = fe.jit(library_step(fe, opt, lib), donate_argnums=(0, 1))
                carry = [own_params, state]

                def call():  # a training loop: each step's params and state are donated to the next
                    loss, carry[0], carry[1] = f(carry[0], carry[1], x, y)
                    return fe.block((loss, carry[0]))
                return call, fe.to_numpy

            def note(t, bare_row=bare_row, formulas_row=formulas_row):
                if bare_row.value is None or formulas_row.value is None:
                    return ""
                return (f"{t / bare_row.value:.2f}x the step without optimizer, "
                        f"{t / formulas_row.value:.2f}x the formulas written out")
            label = f"{fe.name}.jit + {'optim' if fe.name == 'fungrad' else 'optax'}"
            g.rows.append(timed_row(label, library, want, ctx, note))
            g.rows.append(timed_row(label + ", donated", donating, want, ctx, note))
        groups.append(g)
    return groups

CASES = {
    "mlp_large": case_mlp_large,
    "mlp_small": case_mlp_small,
    "mlp_labels": case_mlp_labels,
    "chain200": case_chain200,
    "jit_call_overhead": case_jit_call_overhead,
    "first_call": case_first_call,
    "import_time": case_import_time,
    "hessian500": case_hessian500,
    "memory": case_memory,
    "per_example_grads": case_per_example_grads,
    "scan1000": case_scan1000,
    "train_step": case_train_step,
}


# --------------------------------------------------------------------------- printing

def fmt_value(row):
    return fmt_mb(row.value) if row.kind == "mem" else fmt_time(row.value)


def ratio_text(row, base):
    if row.check:
        return row.check
    if base is None or row.value is None or base.value <= 0:
        return "-"
    return f"{row.value / base.value:.2f}x"


def print_group(g):
    print(f"\n{g.name}: {g.title}")
    base = g.base()
    print(f"  {'impl':<30}{'median':>11}{'IQR':>11}  {'vs NumPy':<10}{'max err':>9}  note")
    for r in g.rows:
        if r.error:
            print(f"  {r.impl:<30}{r.error}")
            continue
        iqr = "-" if r.iqr is None else (fmt_mb(r.iqr) if r.kind == "mem" else fmt_time(r.iqr))
        err = "-" if r.err is None else f"{r.err:.0e}"
        print(f"  {r.impl:<30}{fmt_value(r):>11}{iqr:>11}  {ratio_text(r, base):<10}{err:>9}  {r.note}")
    sys.stdout.flush()


def owner(impl):
    """The library a row label belongs to: "fungrad.jit" -> fungrad, "import jax" -> jax."""
    return impl[len("import "):] if impl.startswith("import ") else impl.replace(".", " ").split()[0]


def print_summary(groups, peer_names):
    print("\nsummary (ratio = implementation / hand-written NumPy; lower is better)")
    head = f"  {'case':<20}{'NumPy':>11}  {'fungrad':<18}{'median':>11}  {'ratio':<10}"
    print(head + "".join(f"{p:>12}" for p in peer_names))
    for g in groups:
        base = g.base()
        for r in (r for r in g.rows if owner(r.impl) == "fungrad"):
            value = r.error.split(" ", 1)[0] if r.error else fmt_value(r)
            ratio = "-" if r.error else ratio_text(r, base)
            line = f"  {g.name:<20}{fmt_value(base) if base else '-':>11}  {r.impl:<18}{value:>11}  {ratio:<10}"
            for p in peer_names:
                line += f"{peer_ratio(g, p, r.impl, base):>12}"
            print(line)
    if peer_names:
        print("  * the peer has no such variant (e.g. no jit): its own row is shown")


def peer_ratio(g, peer, fungrad_impl, base):
    """Ratio of the peer's row of the same variant as fungrad's (".jit", " (eager)").

    A peer without that variant shows its first row's ratio marked "*".
    """
    rows = [r for r in g.rows if owner(r.impl) == peer]
    suffix = fungrad_impl[len("fungrad"):] if fungrad_impl.startswith("fungrad") else ""
    match = [r for r in rows if r.impl.endswith(suffix)]
    mark = "" if match else "*"
    match = match or rows
    if not match:
        return "-"
    r = match[0]
    if r.error:
        return r.error.split(" ", 1)[0] + mark
    return ratio_text(r, base)[:10] + mark


# --------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few repeats: a smoke test, not a measurement")
    p.add_argument("--only", metavar="NAME", help="comma-separated case names: " + ", ".join(CASES))
    p.add_argument("--peers", action="store_true", help="also run JAX, autograd and PyTorch when installed")
    p.add_argument("--check", action="store_true",
                   help="only verify the hand-written baselines (closed forms, finite differences); no fungrad")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--cpu-time", action="store_true",
                   help="time samples by the process's CPU time instead of wall time (for a loaded machine)")
    args = p.parse_args(argv)
    args.names = list(CASES)
    if args.only:
        args.names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in args.names if n not in CASES]
        if unknown:
            p.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.check:
        from bench import selfcheck
        return selfcheck.main()
    print("configuration")
    for line in blas_info.lines():
        print("  " + line)
    ctx = Context(args)
    if args.cpu_time:
        timing.clock = time.process_time
    print(f"  timing: median of up to {ctx.settings.repeat} samples of >= {ctx.settings.target * 1e3:.0f} ms"
          f"{' of process CPU time' if args.cpu_time else ''}, the rows of a case interleaved"
          f"{' (--quick)' if args.quick else ''}; correctness rtol={RTOL:g}, atol={ATOL:g} x max|ref|")
    groups = []
    for name in args.names:
        try:
            new = CASES[name](ctx)
        except Exception as e:          # a bug in the harness itself must not stop the run either
            new = [Group(name, "harness error", [Row("(case)", error=na(e))])]
        for g in new:
            measure_group(g, ctx)
            print_group(g)
        groups.extend(new)
    print_summary(groups, [fe.name for fe in ctx.peers])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"configuration": blas_info.lines(),
                       "groups": [dict(name=g.name, title=g.title, rows=[asdict(r) for r in g.rows])
                                  for g in groups]}, f, indent=1)
    failed = [f"{g.name}/{r.impl}" for g in groups for r in g.rows if r.check]
    if failed:
        print(f"\nFAIL: results disagree with NumPy in {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
