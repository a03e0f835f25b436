"""fungrad: composable function transforms (grad, jit, vmap) for NumPy programs."""
from fungrad.array_type import Array as Array, block_until_ready as block_until_ready
from fungrad import lax as lax
from fungrad import tree_util as tree_util
from fungrad import tree as tree
from fungrad import numpy as numpy
from fungrad import nn as nn
from fungrad import dtypes as dtypes
from fungrad import random as random
from fungrad import debug as debug
from fungrad.api import (
    ShapeDtypeStruct, grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, linear_transpose,
    linearize, make_jaxpr, value_and_grad, vjp, vmap,
)
from fungrad.core import eval_jaxpr
from fungrad.ir import Jaxpr
from fungrad.jit import jit as jit
from fungrad.config import config as config
from fungrad.version import __version__
from fungrad.custom_derivatives import custom_jvp, custom_vjp
from fungrad.checkpoint import checkpoint, checkpoint_policies, remat
from fungrad import ad_checkpoint as ad_checkpoint
from fungrad.lax.ad_prims import stop_gradient
from fungrad.residuals import print_saved_residuals
