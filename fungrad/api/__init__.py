"""The public transforms."""
from fungrad.api.differentiate import grad, jvp, linear_transpose, linearize, value_and_grad, vjp
from fungrad.api.make_jaxpr import ShapeDtypeStruct, make_jaxpr
from fungrad.api.vectorize import hessian, hvp, jacfwd, jacobian, jacrev, vmap

__all__ = ["grad", "jvp", "linear_transpose", "linearize", "value_and_grad", "vjp",
           "ShapeDtypeStruct", "make_jaxpr", "hessian", "hvp", "jacfwd", "jacobian", "jacrev",
           "vmap"]
