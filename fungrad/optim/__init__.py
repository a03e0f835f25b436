"""Optimizers over pytrees: optax-style gradient transformations, curvature operators, least squares.

This is the top layer of fungrad: it builds only on the public transforms (``grad``, ``jvp``, ``vjp``,
``vmap``, ``jit``) and ``fungrad.numpy``; nothing below imports it.
"""
from fungrad.optim import curvature

# Stepwise Levenberg-Marquardt for networks (Hessian-free: CG on GGN or Fisher products).
from fungrad.optim.hessian_free import HessianFreeState as HessianFreeState
from fungrad.optim.hessian_free import hessian_free as hessian_free

# Least squares: MINPACK's Levenberg-Marquardt (least_squares) and SciPy's curve_fit on top of it.
from fungrad.optim.levenberg_marquardt import LeastSquaresResult as LeastSquaresResult
from fungrad.optim.levenberg_marquardt import least_squares as least_squares
from fungrad.optim.curve_fitting import OptimizeWarning as OptimizeWarning
from fungrad.optim.curve_fitting import curve_fit as curve_fit

# --- first order (optax's API): gradient transformations, wrappers, schedules, aliases
from fungrad.optim import tree as tree
from fungrad.optim.base import (
    EmptyState as EmptyState,
    GradientTransformation as GradientTransformation,
    GradientTransformationExtraArgs as GradientTransformationExtraArgs,
    apply_updates as apply_updates,
    chain as chain,
    identity as identity,
    init_empty_state as init_empty_state,
    with_extra_args_support as with_extra_args_support,
)
from fungrad.optim.transforms import (
    ScaleByAdamState as ScaleByAdamState,
    ScaleByLionState as ScaleByLionState,
    ScaleByRmsState as ScaleByRmsState,
    ScaleByRssState as ScaleByRssState,
    ScaleByScheduleState as ScaleByScheduleState,
    ScaleByStddevState as ScaleByStddevState,
    TraceState as TraceState,
    add_decayed_weights as add_decayed_weights,
    clip as clip,
    clip_by_global_norm as clip_by_global_norm,
    scale as scale,
    scale_by_adam as scale_by_adam,
    scale_by_learning_rate as scale_by_learning_rate,
    scale_by_lion as scale_by_lion,
    scale_by_rms as scale_by_rms,
    scale_by_rss as scale_by_rss,
    scale_by_schedule as scale_by_schedule,
    scale_by_stddev as scale_by_stddev,
    trace as trace,
)
from fungrad.optim.wrappers import (
    ApplyIfFiniteState as ApplyIfFiniteState,
    InjectHyperparamsState as InjectHyperparamsState,
    MaskedNode as MaskedNode,
    MaskedState as MaskedState,
    MultiSteps as MultiSteps,
    MultiStepsState as MultiStepsState,
    apply_if_finite as apply_if_finite,
    inject_hyperparams as inject_hyperparams,
    masked as masked,
)
from fungrad.optim.lbfgs import ScaleByLBFGSState as ScaleByLBFGSState, scale_by_lbfgs as scale_by_lbfgs
from fungrad.optim.linesearch import (
    ScaleByZoomLinesearchState as ScaleByZoomLinesearchState,
    ZoomLinesearchInfo as ZoomLinesearchInfo,
    scale_by_zoom_linesearch as scale_by_zoom_linesearch,
    value_and_grad_from_state as value_and_grad_from_state,
)
from fungrad.optim.schedules import (
    constant_schedule as constant_schedule,
    cosine_decay_schedule as cosine_decay_schedule,
    exponential_decay as exponential_decay,
    join_schedules as join_schedules,
    linear_schedule as linear_schedule,
    piecewise_constant_schedule as piecewise_constant_schedule,
    warmup_cosine_decay_schedule as warmup_cosine_decay_schedule,
)
from fungrad.optim.alias import (
    adagrad as adagrad,
    adam as adam,
    adamw as adamw,
    lbfgs as lbfgs,
    lion as lion,
    rmsprop as rmsprop,
    sgd as sgd,
)
from fungrad.optim.tree import global_norm as global_norm
