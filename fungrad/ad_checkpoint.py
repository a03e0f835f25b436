"""``fungrad.ad_checkpoint``: rematerialization controls, as in ``jax.ad_checkpoint``.

``checkpoint`` (``remat``) recomputes a function's forward pass during the backward pass;
``checkpoint_name`` labels values and ``checkpoint_policies`` says which results may be saved.

>>> import fungrad, fungrad.numpy as fnp
>>> from fungrad.ad_checkpoint import checkpoint, checkpoint_name, checkpoint_policies
>>> def layer(w, x):
...     h = checkpoint_name(fnp.tanh(w @ x), "hidden")
...     return fnp.sum(fnp.tanh(w @ h))
>>> f = checkpoint(layer, policy=checkpoint_policies.save_only_these_names("hidden"))
>>> fungrad.grad(f)(np.eye(2), np.ones(2)).shape
(2, 2)
"""
from fungrad.checkpoint import checkpoint, checkpoint_policies, remat
from fungrad.lax.naming import checkpoint_name
from fungrad.residuals import print_saved_residuals, saved_residuals

__all__ = ["checkpoint", "checkpoint_name", "checkpoint_policies", "print_saved_residuals",
           "remat", "saved_residuals"]
